"""Trajectory types: the post-index state sequences grouped into a few types (`marts.trajectory_types`).

A step like a model (it is computed in Python from model 6's weights): `load_trajectory_types(con)`
reads one row per person of `models.person_weights_post24` with the sequence of months 0..23
(`sql/models/trajectory_sequences.sql`); `fit_trajectory_types(frame)` draws the clustering
sample, computes the distances, clusters and describes the types; `plot_trajectory_types`
draws the index plot and a chronogram per type. Choices a reviewer can check (docs/models.md
and docs/decisions.md say the same in words):
1. Who: the persons of model 6's 24-month fit (their 24-month window has ended, so months 0-23
   are observed), with that fit's own ATT weights: its propensity model balances the 24-month
   population, which the 12-month weights do not. Persons with a month of `TRAJECTORY_MONTHS`
   unobserved are counted and left out. The types are formed on a clustering sample: every
   IPS client and `SAMPLE_COMPARISON` comparison draws with replacement, with probability
   proportional to the ATT weight (fixed seed), so the sample stands for the weighted
   comparison group. IPS clients beyond `MAX_IPS` are sampled uniformly (never at the study's
   scale; the fit log says so if it happens). The sample bounds the work: distances are
   quadratic in the persons clustered.
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
6. Shares: every analysed person (not only the sample) is assigned to the type whose centroid
   (the type's mean one-hot profile, Ward's own centre) is nearest; `share_ips` is the share of
   the IPS clients, `share_comparison_weighted` the ATT-weighted share of the comparison persons,
   and their difference has a 95 % Wald interval: the variance of a proportion plus that of a
   weighted proportion with the weights held fixed (the typology too is held fixed).
7. Stability: `N_STABILITY` subsamples of the clustering sample (`STABILITY_FRACTION` of it
   without replacement, at most `STABILITY_SIZE` sequences) are clustered again; the share of
   them that choose the same number of types is the diagnostic `k_stability` (status 'warning'
   below `MIN_STABILITY`). Without replacement: a resample's duplicated sequences would form
   tight spurious groups of their own and favour more types.
   A number of types at the top of `K_RANGE` is flagged (`k_at_range_edge`, status 'warning'):
   more types might have scored higher. The bottom (2) is not flagged: one type has no ASW, so 2
   is the least a typology can be.
8. Sensitivity to the distance: at most `OM_SIZE` sequences of the clustering sample (fixed seed)
   are clustered again with optimal matching (`ips_eval.models.optimal_matching`: transition-rate
   substitution costs, indel half the largest) into as many types; the adjusted Rand index and
   the share in the matched type compare them with the Hamming types of the same sequences
   (`om_adjusted_rand`, `om_type_agreement`; reported, no threshold).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats
from scipy.cluster.hierarchy import fcluster, linkage

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.definitions import STATES, TRAJECTORY_MONTHS
from ips_eval.models import optimal_matching, plots
from ips_eval.models.data import read_query
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, model_fit
from ips_eval.models.spec import ModelSpec

QUERIES = MODEL_QUERIES_DIR
QUERY = QUERIES / "trajectory_sequences.sql"

MODEL = "trajectory_types"
#: The contract table this step writes (docs/analysis_plan.md "Stable output tables").
MARTS_TABLE = "trajectory_types"
TYPE_COLUMNS = ["type", "label", "share_ips", "share_comparison_weighted", "n_ips", "n_comparison_draws",
                "employed_share", "share_difference", "share_difference_ci_low", "share_difference_ci_high"]

DEFAULT_SEED = 20240601
#: Draws of comparison persons (with replacement, probability proportional to the ATT weight).
SAMPLE_COMPARISON = 2000
#: IPS clients clustered at most (all of them below it); bounds the distance matrix with the above.
MAX_IPS = 4000
#: Candidate numbers of types.
K_RANGE = range(2, 7)
#: Average silhouette width below which a partition has "no substantial structure" (Kaufman & Rousseeuw).
MIN_ASW = 0.25
#: Subsamples of the clustering sample re-clustered for the stability of the number of types, each
#: STABILITY_FRACTION of it drawn without replacement, at most STABILITY_SIZE sequences (Ward's work
#: is quadratic in them).
N_STABILITY = 20
STABILITY_FRACTION = 0.8
STABILITY_SIZE = 1500
#: Share of the resamples choosing the same number of types below which the choice is 'warning'.
MIN_STABILITY = 0.6
#: Sequences of the clustering sample clustered again with optimal matching at most (its dynamic
#: programme is quadratic in them, and in the months).
OM_SIZE = 2000
#: Sequences assigned to their nearest type at a time (bounds the one-hot rows held).
ASSIGN_CHUNK = 50_000
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


def euclidean_distances(codes: np.ndarray, block: int = 512) -> np.ndarray:
    """The condensed Euclidean distances of the sequences' one-hot rows (`pdist(one_hot(codes))`, same bits).

    Every month is in exactly one state, so two rows' squared distance is 2 x (L - their dot
    product): the dot products come from one matrix product per block of rows, in float32, where
    counts up to L are exact, and the square roots are those of the same integers `pdist` sums,
    so Ward's tree is the same. Blocks of rows bound the products held at once.

    Examples
    --------
    >>> from scipy.spatial.distance import pdist
    >>> codes = np.array([[0, 0, 1], [0, 1, 1], [2, 1, 0], [0, 0, 1]])
    >>> bool(np.array_equal(euclidean_distances(codes, block=3), pdist(one_hot(codes))))
    True
    """
    n, width = codes.shape
    x = one_hot(codes)
    same = np.empty(n * (n - 1) // 2)
    pos = 0
    for start in range(0, n, block):
        products = x[start:start + block] @ x[start:].T
        for i in range(len(products)):
            row = products[i, i + 1:]
            same[pos:pos + len(row)] = row
            pos += len(row)
    return np.sqrt(2.0 * (width - same))


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
    tree = linkage(euclidean_distances(codes), method="ward")
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
                         sample_comparison: int = SAMPLE_COMPARISON, max_ips: int = MAX_IPS,
                         n_stability: int = N_STABILITY, om_size: int = OM_SIZE) -> ModelResult:
    """Group the post-index sequences into types; describe each by modal states and group shares.

    Parameters
    ----------
    frame : one row per person (`load_trajectory_types`): person_id, ips, weight, states.
    seed : seed of the samples.
    sample_comparison : draws of comparison persons, probability proportional to the ATT weight.
    max_ips : IPS clients clustered at most (a uniform sample above it).
    n_stability : subsamples re-clustered for the stability of the number of types.
    om_size : sequences of the sample clustered again with optimal matching at most (0: none).

    Returns
    -------
    ModelResult whose `marts["trajectory_types"]` is the contract table `marts.trajectory_types`
    (`write_result` replaces it whole), with the ASWs and the stability as diagnostics and the
    clustering sample in `extra` for the figures.

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
    notes = [f"{int((~complete).sum())} of {len(frame)} persons of model 6's 24-month fit left out: months"
             f" {TRAJECTORY_MONTHS[0]}-{TRAJECTORY_MONTHS[1]} not all observed by the cut-off"]
    all_ips = ips_rows
    if len(ips_rows) > max_ips:
        notes.append(f"{max_ips} of {len(ips_rows)} IPS clients sampled uniformly (MAX_IPS)")
        ips_rows = np.sort(rng.choice(ips_rows, max_ips, replace=False))
    w = frame["weight"].to_numpy(dtype=float)
    draws = rng.choice(cmp_rows, sample_comparison, replace=True, p=w[cmp_rows] / w[cmp_rows].sum())
    rows = np.concatenate([ips_rows, draws])
    is_ips = np.r_[np.ones(len(ips_rows), bool), np.zeros(len(draws), bool)]
    codes = sequence_codes(frame["states"].iloc[rows])

    labels, asw = cluster_sequences(codes)
    types, employed = _order_types(codes, labels)
    k = int(types.max())
    stability, chosen = k_stability(codes, k, rng, n_stability)
    om = optimal_matching.sensitivity(codes, types, len(STATES), om_size, seed) if om_size else None
    # every analysed person's type: the nearest centroid of the sample's types
    everyone = np.concatenate([all_ips, cmp_rows])
    assigned = nearest_type(sequence_codes(frame["states"].iloc[everyone]), codes, types)
    table = _describe(codes, types, is_ips, employed, assigned, np.r_[np.ones(len(all_ips), bool),
                                                                      np.zeros(len(cmp_rows), bool)],
                      w[everyone])
    at_edge = k == max(K_RANGE)
    weak = asw[k] < MIN_ASW
    unstable = stability < MIN_STABILITY
    diag = diagnostics_frame(
        [{"model": MODEL, "diagnostic": f"asw_k{kk}", "value": v, "threshold": None, "passed": None,
          "rule": "average silhouette width of the Ward partition into k types; the largest is chosen",
          "detail": "chosen" if kk == k else ""} for kk, v in asw.items()]
        + [{"model": MODEL, "diagnostic": "asw_chosen", "value": asw[k], "threshold": MIN_ASW,
            "passed": asw[k] >= MIN_ASW, "rule": "pass when >= threshold (Kaufman & Rousseeuw: below 0.25 no"
            " substantial structure)", "detail": f"{k} types"},
           {"model": MODEL, "diagnostic": "k_stability", "value": stability, "threshold": MIN_STABILITY,
            "passed": not unstable, "rule": "share of subsamples of the clustering sample choosing the"
            " same number of types; pass when >= threshold",
            "detail": ", ".join(f"k={kk}: {n}" for kk, n in sorted(chosen.items())) + f" of {n_stability}"},
           {"model": MODEL, "diagnostic": "k_at_range_edge", "value": k, "threshold": max(K_RANGE),
            "passed": not at_edge, "rule": "pass when value < threshold (the largest number of types tried)",
            "detail": f"types tried: {min(K_RANGE)}-{max(K_RANGE)}"},
           {"model": MODEL, "diagnostic": "n_ips_clustered", "value": len(ips_rows), "threshold": None,
            "passed": None, "rule": "IPS clients in the clustering sample", "detail": ""},
           {"model": MODEL, "diagnostic": "n_comparison_draws", "value": len(draws), "threshold": None,
            "passed": None, "rule": "comparison draws, probability proportional to the ATT weight",
            "detail": f"{len(np.unique(draws))} distinct persons of {len(cmp_rows)}"}]
        + (_om_diagnostics(om, len(codes), seed) if om else []))
    sample = (f"types formed on {len(ips_rows)} IPS clients and SAMPLE_COMPARISON = {len(draws)} comparison draws"
              f" with replacement, probability proportional to the 24-month ATT weight, seed {seed}"
              f" ({len(np.unique(draws))} distinct persons of {len(cmp_rows)}); shares over all {len(all_ips)}"
              f" IPS clients and the weighted {len(cmp_rows)} comparison persons")
    flags = ([f"the chosen partition's ASW {asw[k]:.3f} is below {MIN_ASW}: weak structure"] if weak else []) + (
        [f"{k} types is the largest number tried (K_RANGE {min(K_RANGE)}-{max(K_RANGE)}): more might score"
         " higher"] if at_edge else []) + (
        [f"the number of types is unstable: {stability:.0%} of {n_stability} subsamples choose {k}"
         f" (below {MIN_STABILITY:.0%})"] if unstable else [])
    reason = "; ".join([sample, *notes, "Hamming distance, Ward clustering, "
                        + ", ".join(f"ASW k={kk} {v:.3f}" for kk, v in asw.items())
                        + f": {k} types, chosen by {stability:.0%} of {n_stability} subsamples"]
                       + ([f"optimal matching on {om['n']} sequences: adjusted Rand index {om['adjusted_rand']:.3f}"
                           f" with the Hamming types, {om['agreement']:.0%} in the matched type"] if om else [])
                       + flags)
    first = TRAJECTORY_MONTHS[0]
    return ModelResult(
        model=MODEL, status="warning" if flags else "ok", reason=reason, n=len(everyone), converged=True,
        diagnostics=diag, marts={MARTS_TABLE: table},
        summary=f"**{MODEL}**: {k} trajectory types of months {first}-{TRAJECTORY_MONTHS[1]} ({reason}).\n\n"
        + table.to_markdown(index=False, floatfmt=".3f"),
        extra={"codes": codes, "types": types, "ips": is_ips, "asw": asw},
    )


def _om_diagnostics(om: dict, n_sample: int, seed: int) -> list[dict]:
    sample = (f"{om['n']} sequences ({om['distinct']} distinct) of the {n_sample} of the clustering sample"
              + (f", drawn with seed {seed} (OM_SIZE)" if om["n"] < n_sample else "") + f"; indel {om['indel']:.3f}")
    return [
        {"model": MODEL, "diagnostic": "om_adjusted_rand", "value": om["adjusted_rand"], "threshold": None,
         "passed": None, "rule": "adjusted Rand index of the Hamming types and the optimal-matching types (transition-"
         "rate substitution costs, indel half the largest; Ward on the square root) of the same sequences, as many"
         " types; 1 = the same partition, about 0 = unrelated", "detail": sample},
        {"model": MODEL, "diagnostic": "om_type_agreement", "value": om["agreement"], "threshold": None,
         "passed": None, "rule": "share of the same sequences whose optimal-matching type is matched to their Hamming"
         " type, the types matched one to one to maximise it",
         "detail": ", ".join(f"OM {a} = type {b}" for a, b in sorted(om["matching"].items()))}]


def k_stability(codes: np.ndarray, k: int, rng: np.random.Generator, n_boot: int = N_STABILITY,
                size: int = STABILITY_SIZE, fraction: float = STABILITY_FRACTION) -> tuple[float, dict[int, int]]:
    """Share of subsamples of the sequences whose own ASW choice is `k` types, and the choices' counts.

    Each subsample draws `fraction` of the sequences (at most `size`) without replacement and
    clusters them as `cluster_sequences` does.

    Examples
    --------
    >>> codes = np.array([[0] * 4] * 10 + [[1] * 4] * 10)
    >>> k_stability(codes, 2, np.random.default_rng(1), n_boot=5)
    (1.0, {2: 5})
    """
    chosen: dict[int, int] = {}
    m = min(int(fraction * len(codes)), size)
    for _ in range(n_boot):
        sample = codes[rng.choice(len(codes), m, replace=False)]
        if len(np.unique(sample, axis=0)) < min(K_RANGE):
            continue  # a resample of one distinct sequence has no types
        labels, _ = cluster_sequences(sample)
        kk = len(np.unique(labels))
        chosen[kk] = chosen.get(kk, 0) + 1
    return (chosen.get(k, 0) / n_boot if n_boot else float("nan")), chosen


def nearest_type(codes: np.ndarray, sample_codes: np.ndarray, types: np.ndarray) -> np.ndarray:
    """The type (1..k) whose centroid, the mean one-hot profile of its sample members, is nearest each sequence.

    Examples
    --------
    >>> sample = np.array([[0, 0], [0, 1], [2, 2]])
    >>> nearest_type(np.array([[0, 0], [2, 1]]), sample, np.array([1, 1, 2])).tolist()
    [1, 2]
    """
    n_states = len(STATES)
    x = one_hot(sample_codes, n_states).astype(np.float64)
    found = np.arange(1, int(types.max()) + 1)
    centroids = np.stack([x[types == t].mean(axis=0) for t in found])
    # squared distance to a centroid = |x|^2 + |c|^2 - 2 x.c, and |x|^2 is the same for every centroid;
    # in chunks, so the one-hot rows of a national cohort are never held at once
    norms = (centroids ** 2).sum(axis=1)[None, :]
    out = np.empty(len(codes), dtype=found.dtype)
    for start in range(0, len(codes), ASSIGN_CHUNK):
        part = one_hot(codes[start:start + ASSIGN_CHUNK], n_states).astype(np.float64)
        out[start:start + ASSIGN_CHUNK] = found[np.argmin(norms - 2 * part @ centroids.T, axis=1)]
    return out


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


def _describe(codes, types, is_ips, employed, assigned, assigned_ips, weights) -> pd.DataFrame:
    z = stats.norm.ppf(0.975)
    w = weights[~assigned_ips]
    rows = []
    for t in range(1, int(types.max()) + 1):
        members = types == t
        in_ips = assigned[assigned_ips] == t
        in_cmp = assigned[~assigned_ips] == t
        p_ips = float(in_ips.mean())
        p_cmp = float((w * in_cmp).sum() / w.sum())
        var = p_ips * (1 - p_ips) / len(in_ips) + float((w ** 2 * (in_cmp - p_cmp) ** 2).sum() / w.sum() ** 2)
        diff = p_ips - p_cmp
        rows.append({
            "type": t, "label": type_label(codes[members]),
            "share_ips": p_ips, "share_comparison_weighted": p_cmp,
            "n_ips": int(in_ips.sum()), "n_comparison_draws": int((members & ~is_ips).sum()),
            "employed_share": float(employed[t - 1]), "share_difference": diff,
            "share_difference_ci_low": diff - z * np.sqrt(var), "share_difference_ci_high": diff + z * np.sqrt(var),
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
        TYPE_COLUMNS, ["int64", "object", "float64", "float64", "int64", "int64", "float64", "float64", "float64",
                       "float64"])})


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
    description="Trajectory types: the monthly state sequences of months 0-23 of model 6's 24-month population"
    " grouped into a few types (Hamming distance, Ward, number of types by silhouette, its subsample stability,"
    " their agreement with optimal-matching types),"
    " with the IPS and the weighted comparison shares and their difference; writes marts.trajectory_types.",
    queries=("trajectory_sequences.sql",),
    fit=fit_trajectory_types,
    load=load_trajectory_types,
    plot=plot_trajectory_types,
    marts={MARTS_TABLE: empty_types},
)
