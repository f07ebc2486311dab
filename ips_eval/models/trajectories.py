"""Trajectory types: the post-index state sequences grouped into a few types (`marts.trajectory_types`).

A step like a model (it is computed in Python from model 6's weights): `load_trajectory_types(con)`
reads one row per person of `models.person_weights` with the sequence of months 0..23
(`sql/models/trajectory_sequences.sql`); `fit_trajectory_types(frame)` draws the clustering
sample, computes the distances, clusters and describes the types; `plot_trajectory_types`
draws the index plot and a chronogram per type. Choices a reviewer can check (docs/models.md
and docs/decisions.md say the same in words):
1. Who: every IPS client analysed by model 6 and a sample of its comparison persons, each with
   all months of `TRAJECTORY_MONTHS` observed (the others are counted and left out). The
   comparison sample is `SAMPLE_COMPARISON` draws with replacement, with probability
   proportional to the ATT weight (fixed seed), so the sample stands for the weighted
   comparison group and its shares are plain shares of the draws. IPS clients beyond
   `MAX_IPS` are sampled uniformly (never at the study's scale; the fit log says so if it
   happens). The sample bounds the work: distances are quadratic in the persons clustered.
2. Distance: Hamming (months in different states). Months are aligned on the index month,
   so timing is what the types differ in; optimal matching's insertions would shift months.
3. Clustering: Ward's method on the one-hot coding of the months, whose squared Euclidean
   distance is twice the Hamming distance, so Ward works on the sequence distance itself.
4. The number of types, `K_RANGE`, is the one with the largest average silhouette width
   (ASW, computed with the Hamming distance); every ASW goes to `models.diagnostics`, the
   chosen one with Kaufman and Rousseeuw's 0.25 ("no substantial structure" below it) as a
   threshold that turns the status into 'warning'.
5. Types are numbered by their share of employed months, most employed first; the label
   is the modal state of each half-year of the window, repeated states said once.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.definitions import STATES, TRAJECTORY_MONTHS
from ips_eval.models import plots
from ips_eval.models.data import read_query
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, model_fit
from ips_eval.models.spec import ModelSpec

QUERIES = MODEL_QUERIES_DIR
QUERY = QUERIES / "trajectory_sequences.sql"

MODEL = "trajectory_types"
#: The contract table this step writes (docs/analysis_plan.md "Stable output tables").
MARTS_TABLE = "trajectory_types"
TYPE_COLUMNS = ["type", "label", "share_ips", "share_comparison_weighted", "n_ips", "n_comparison_draws",
                "employed_share"]

DEFAULT_SEED = 20240601
#: Draws of comparison persons (with replacement, probability proportional to the ATT weight).
SAMPLE_COMPARISON = 2000
#: IPS clients clustered at most (all of them below it); bounds the distance matrix with the above.
MAX_IPS = 4000
#: Candidate numbers of types.
K_RANGE = range(2, 7)
#: Average silhouette width below which a partition has "no substantial structure" (Kaufman & Rousseeuw).
MIN_ASW = 0.25
#: Months per block of the label (the modal state of each block names the type).
LABEL_BLOCK = 6
EMPLOYED_STATES = ("employed_subsidised", "employed")


def load_trajectory_types(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per person of `models.person_weights`: person_id, ips, weight, states.

    `states` is the sequence of `TRAJECTORY_MONTHS` as a string of state numbers (1 =
    `STATES[0]` ...), missing when a month of the window is not observed.

    Examples
    --------
    >>> frame = load_trajectory_types(con)  # doctest: +SKIP
    >>> result = fit_trajectory_types(frame)  # doctest: +SKIP
    """
    first, last = TRAJECTORY_MONTHS
    return read_query(con, QUERY, first=first, last=last)


def sequence_codes(states: pd.Series) -> np.ndarray:
    """The strings of state numbers as a persons x months matrix of state indices into `STATES`.

    Examples
    --------
    >>> sequence_codes(pd.Series(["126", "222"]))
    array([[0, 1, 5],
           [1, 1, 1]], dtype=int8)
    """
    s = states.to_numpy(dtype=object)
    width = len(s[0])
    raw = np.frombuffer("".join(s).encode("ascii"), dtype=np.uint8).reshape(len(s), width)
    return (raw - ord("1")).astype(np.int8)


def one_hot(codes: np.ndarray, n_states: int = len(STATES)) -> np.ndarray:
    """Persons x (months x states) indicators: the Hamming distance of two rows is half their
    squared Euclidean distance, and L minus their dot product.

    Examples
    --------
    >>> one_hot(np.array([[0, 2]]), 3).astype(int).tolist()
    [[1, 0, 0, 0, 0, 1]]
    """
    n, width = codes.shape
    x = np.zeros((n, width * n_states), dtype=np.float32)
    x[np.repeat(np.arange(n), width), (np.arange(width) * n_states)[None, :].repeat(n, 0).ravel() + codes.ravel()] = 1
    return x


def hamming_distances(codes: np.ndarray) -> np.ndarray:
    """Square matrix of the number of months in which two sequences are in different states.

    Examples
    --------
    >>> hamming_distances(np.array([[0, 0, 1], [0, 1, 1], [2, 1, 0]]))
    array([[0, 1, 3],
           [1, 0, 2],
           [3, 2, 0]])
    """
    x = one_hot(codes, int(codes.max()) + 1)
    return (codes.shape[1] - np.rint(x @ x.T)).astype(int)


def silhouette_widths(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Silhouette width of each sequence under `labels`, with the Hamming distance.

    s(i) = (b - a) / max(a, b), a = mean distance to the others of its type, b = the smallest
    mean distance to another type; 0 for a type of one. Computed from each type's one-hot
    sums (distance = months - matches), so no persons x persons matrix is held.

    Examples
    --------
    >>> codes = np.array([[0, 0], [0, 1], [1, 1]])
    >>> silhouette_widths(codes, np.array([1, 1, 2])).round(3).tolist()
    [0.5, 0.0, 0.0]
    """
    x = one_hot(codes, int(codes.max()) + 1).astype(np.float64)
    width = codes.shape[1]
    types, idx = np.unique(labels, return_inverse=True)
    members = np.bincount(idx, minlength=len(types)).astype(float)
    sums = np.zeros((len(types), x.shape[1]))
    np.add.at(sums, idx, x)
    dist_sum = width * members[None, :] - x @ sums.T  # persons x types: summed distances
    own = dist_sum[np.arange(len(idx)), idx]
    a = np.divide(own, members[idx] - 1, out=np.zeros_like(own), where=members[idx] > 1)
    other = dist_sum / members[None, :]
    other[np.arange(len(idx)), idx] = np.inf
    b = other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.divide(b - a, denom, out=np.zeros_like(a), where=denom > 0)
    s[members[idx] == 1] = 0.0
    return s


def cluster_sequences(codes: np.ndarray, k_range=K_RANGE) -> tuple[np.ndarray, dict[int, float]]:
    """Ward clustering of the sequences and the number of types with the largest ASW.

    Returns the labels (1..k) of the chosen partition and the ASW of every candidate k
    (ties go to the fewer types).

    Examples
    --------
    >>> codes = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [1, 1, 1, 1], [1, 1, 1, 0]])
    >>> labels, asw = cluster_sequences(codes, range(2, 4))
    >>> labels.tolist(), round(asw[2], 4)
    ([2, 2, 2, 1, 1], 0.6105)
    """
    tree = linkage(one_hot(codes), method="ward")
    asw, cuts = {}, {}
    for k in k_range:
        if k >= len(codes):
            break
        cuts[k] = fcluster(tree, k, criterion="maxclust")
        asw[k] = float(silhouette_widths(codes, cuts[k]).mean())
    if not asw:
        raise NotFitted(f"{len(codes)} sequences: too few to form {min(k_range)} types")
    best = max(asw, key=lambda k: (asw[k], -k))
    return cuts[best], asw


@model_fit(MODEL)
def fit_trajectory_types(frame: pd.DataFrame, *, seed: int = DEFAULT_SEED,
                         sample_comparison: int = SAMPLE_COMPARISON, max_ips: int = MAX_IPS) -> ModelResult:
    """Group the post-index sequences into types; describe each by modal states and group shares.

    Parameters
    ----------
    frame : one row per person (`load_trajectory_types`): person_id, ips, weight, states.
    seed : seed of the samples.
    sample_comparison : draws of comparison persons, probability proportional to the ATT weight.
    max_ips : IPS clients clustered at most (a uniform sample above it).

    Returns
    -------
    ModelResult whose `marts["trajectory_types"]` is the contract table `marts.trajectory_types`
    (`write_result` replaces it whole), with the ASWs as diagnostics and the clustering sample
    in `extra` for the figures.

    Examples
    --------
    >>> result = fit_trajectory_types(load_trajectory_types(con))  # doctest: +SKIP
    >>> result.marts["trajectory_types"][["type", "label", "share_ips", "share_comparison_weighted"]]  # doctest: +SKIP
    """
    rng = np.random.default_rng(seed)
    complete = frame["states"].notna()
    ips = frame["ips"].astype(bool)
    ips_rows = np.flatnonzero((ips & complete).to_numpy())
    cmp_rows = np.flatnonzero((~ips & complete).to_numpy())
    if len(ips_rows) < max(K_RANGE) or len(cmp_rows) < max(K_RANGE):
        raise NotFitted(f"{len(ips_rows)} IPS clients and {len(cmp_rows)} comparison persons with months"
                        f" {TRAJECTORY_MONTHS[0]}-{TRAJECTORY_MONTHS[1]} observed: too few to form types",
                        n=int(complete.sum()))
    notes = [f"{int((~complete).sum())} of {len(frame)} persons of models.person_weights left out: months"
             f" {TRAJECTORY_MONTHS[0]}-{TRAJECTORY_MONTHS[1]} not all observed by the cut-off"]
    if len(ips_rows) > max_ips:
        notes.append(f"{max_ips} of {len(ips_rows)} IPS clients sampled uniformly (MAX_IPS)")
        ips_rows = np.sort(rng.choice(ips_rows, max_ips, replace=False))
    w = frame["weight"].to_numpy(dtype=float)[cmp_rows]
    draws = rng.choice(cmp_rows, sample_comparison, replace=True, p=w / w.sum())
    rows = np.concatenate([ips_rows, draws])
    is_ips = np.r_[np.ones(len(ips_rows), bool), np.zeros(len(draws), bool)]
    codes = sequence_codes(frame["states"].iloc[rows])

    labels, asw = cluster_sequences(codes)
    types, employed = _order_types(codes, labels)
    table = _describe(codes, types, is_ips, employed)
    k = len(table)
    diag = diagnostics_frame(
        [{"model": MODEL, "diagnostic": f"asw_k{kk}", "value": v, "threshold": None, "passed": None,
          "rule": "average silhouette width of the Ward partition into k types; the largest is chosen",
          "detail": "chosen" if kk == k else ""} for kk, v in asw.items()]
        + [{"model": MODEL, "diagnostic": "asw_chosen", "value": asw[k], "threshold": MIN_ASW,
            "passed": asw[k] >= MIN_ASW, "rule": "pass when >= threshold (Kaufman & Rousseeuw: below 0.25 no"
            " substantial structure)", "detail": f"{k} types"},
           {"model": MODEL, "diagnostic": "n_ips_clustered", "value": len(ips_rows), "threshold": None,
            "passed": None, "rule": "IPS clients in the clustering sample", "detail": ""},
           {"model": MODEL, "diagnostic": "n_comparison_draws", "value": len(draws), "threshold": None,
            "passed": None, "rule": "comparison draws, probability proportional to the ATT weight",
            "detail": f"{len(np.unique(draws))} distinct persons of {len(cmp_rows)}"}])
    weak = asw[k] < MIN_ASW
    sample = (f"{len(ips_rows)} IPS clients and a sample of comparison persons: SAMPLE_COMPARISON = {len(draws)}"
              f" draws with replacement, probability proportional to the ATT weight, seed {seed}"
              f" ({len(np.unique(draws))} distinct persons of {len(cmp_rows)})")
    reason = "; ".join([sample, *notes, "Hamming distance, Ward clustering, "
                        + ", ".join(f"ASW k={kk} {v:.3f}" for kk, v in asw.items()) + f": {k} types"]
                       + ([f"the chosen partition's ASW {asw[k]:.3f} is below {MIN_ASW}: weak structure"] if weak else []))
    first = TRAJECTORY_MONTHS[0]
    return ModelResult(
        model=MODEL, status="warning" if weak else "ok", reason=reason, n=len(rows), converged=True,
        diagnostics=diag, marts={MARTS_TABLE: table},
        summary=f"**{MODEL}**: {k} trajectory types of months {first}-{TRAJECTORY_MONTHS[1]} ({reason}).\n\n"
        + table.to_markdown(index=False, floatfmt=".3f"),
        extra={"codes": codes, "types": types, "ips": is_ips, "asw": asw},
    )


def _order_types(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber types 1..k by their share of employed months, most employed first."""
    employed_codes = [STATES.index(s) for s in EMPLOYED_STATES]
    emp = np.isin(codes, employed_codes).mean(axis=1)
    found = np.unique(labels)
    share = np.array([emp[labels == t].mean() for t in found])
    order = found[np.lexsort((found, -share))]
    renumber = {old: new for new, old in enumerate(order, start=1)}
    return np.array([renumber[t] for t in labels]), np.array([share[found == t][0] for t in order])


def type_label(codes: np.ndarray, block: int = LABEL_BLOCK) -> str:
    """The modal state of each block of months, a state repeated in the next block said once.

    Examples
    --------
    >>> type_label(np.array([[3] * 6 + [1] * 6, [3] * 6 + [1] * 6, [5] * 12]))
    'unemployment_benefit → employed'
    """
    modal = []
    for start in range(0, codes.shape[1], block):
        counts = np.bincount(codes[:, start:start + block].ravel(), minlength=len(STATES))
        state = STATES[int(np.argmax(counts))]  # ties: the state first in STATES
        if not modal or modal[-1] != state:
            modal.append(state)
    return " → ".join(modal)


def _describe(codes, types, is_ips, employed) -> pd.DataFrame:
    rows = []
    for t in range(1, int(types.max()) + 1):
        members = types == t
        rows.append({
            "type": t, "label": type_label(codes[members]),
            "share_ips": float((members & is_ips).sum() / is_ips.sum()),
            "share_comparison_weighted": float((members & ~is_ips).sum() / (~is_ips).sum()),
            "n_ips": int((members & is_ips).sum()), "n_comparison_draws": int((members & ~is_ips).sum()),
            "employed_share": float(employed[t - 1]),
        })
    return pd.DataFrame(rows, columns=TYPE_COLUMNS).astype({"type": "int64", "n_ips": "int64",
                                                            "n_comparison_draws": "int64"})


def empty_types() -> pd.DataFrame:
    """The contract table without rows (what a run writes when the types cannot be formed).

    Examples
    --------
    >>> empty_types().columns.tolist()[:5]
    ['type', 'label', 'share_ips', 'share_comparison_weighted', 'n_ips']
    """
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        TYPE_COLUMNS, ["int64", "object", "float64", "float64", "int64", "int64", "float64"])})


def type_chronogram(result: ModelResult) -> pd.DataFrame:
    """Share of each state per month within each type (IPS clients and comparison draws together)."""
    codes, types = result.extra["codes"], result.extra["types"]
    labels = result.marts[MARTS_TABLE].set_index("type")["label"]
    first = TRAJECTORY_MONTHS[0]
    out = []
    for t in np.unique(types):
        c = codes[types == t]
        for j, state in enumerate(STATES):
            share = (c == j).mean(axis=0)
            out.append(pd.DataFrame({"group": f"Type {t}: {labels[t]}", "rel_month": np.arange(c.shape[1]) + first,
                                     "state": state, "share": share, "n": len(c)}))
    return pd.concat(out, ignore_index=True)


def plot_trajectory_types(result: ModelResult, figures_dir: Path) -> list[Path]:
    """The index plot of the clustering sample (never published) and a chronogram per type.

    Examples
    --------
    >>> plot_trajectory_types(result, Path("figures"))  # doctest: +SKIP
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    first, last = TRAJECTORY_MONTHS
    return [
        plots.index_plot(result.extra["codes"], result.extra["types"], STATES,
                         f"Sequences of months {first}-{last} by trajectory type (clustering sample; internal)",
                         figures_dir / f"{MODEL}_index_plot.png", first),
        plots.chronogram(type_chronogram(result), STATES, "Monthly states within each trajectory type",
                         figures_dir / f"{MODEL}_chronograms.png"),
    ]


SPEC = ModelSpec(
    name=MODEL,
    description="Trajectory types: the post-index monthly state sequences of model 6's analysed persons grouped"
    " into a few types (Hamming distance, Ward, number of types by silhouette); writes marts.trajectory_types.",
    queries=("trajectory_sequences.sql",),
    fit=fit_trajectory_types,
    load=load_trajectory_types,
    plot=plot_trajectory_types,
    marts={MARTS_TABLE: empty_types},
)
