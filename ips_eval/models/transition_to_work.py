"""Model 7: moving from benefits into work after the index month (discrete-time recurrent-event hazard).

Estimand: the conditional odds ratio, per month at risk, of being employed (with or without
pay subsidy) in month m + 1 given a benefit state (rehabilitation/disability or unemployment
benefit) in month m, m >= 0 months after the index month: IPS clients against comparison
persons of the same age group, gender, education, diagnosis group, pre-index employment and
benefit months, county and months since the index month. The odds ratio is assumed the same
in every month since the index month (a pooled logistic hazard; the baseline hazard varies
freely between the month groups of `MONTH_GROUPS`).

Recurrent events: a person who moved into work and came back onto a benefit is at risk again,
and every move counts (estimator `logistic_hazard`, the main one): the odds ratio is that of
any month on benefits, first spell or later. Beside it, the first move only (estimator
`logistic_hazard_first_move`): each person's months up to the first move, the classic
discrete-time time-to-first-event model. The diagnostics count the persons who moved more than
once and the months at risk after an earlier move, so a reader sees how much the two differ.

Being on a benefit in month m is itself after the index month, and IPS may change who is on
benefits then: the odds ratio compares person-months in that state, which is conditional on a
post-treatment state, not the effect of IPS on moving into work (model 6 is that; docs/models.md).

Population: every person of the register cohort with known covariates (the comparison persons
enter unweighted: the model adjusts by the covariates itself, and its odds ratio is
conditional on them, not the ATT of model 6). A person-month counts when its next month is
observed, so persons followed for a short time contribute their observed months (right
censoring at the cut-off).

Scale (ANALYSIS_PLAN; nothing person-by-month in Python): DuckDB counts each person's months
at risk and moves into work per month group (`sql/models/transition_to_work.sql`); the frame has
one row per person. The fit aggregates it to covariate pattern x month group (months at risk,
moves) and fits a binomial GLM on those counts: the same point estimates as a logistic
regression on the person-months. Variance: clustered by person (a person's months are not
independent). The per-person score is the sum over the person's months of (y - p) x; within a
month group a person's x is constant, so it is the person's (moves - months x p) per group
times x: computed from the person-level frame, and the sandwich is
bread x (sum of score outer products) x bread with statsmodels' small-sample factor
G / (G - 1) x (N - 1) / (N - K) (G persons, N person-months, K parameters), as statsmodels'
cluster-robust GLM on the person-months gives (a test checks this).
"""

from __future__ import annotations

import contextlib
import gc
import warnings

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ips_eval.definitions import AGE_GROUPS
from ips_eval.models import plots
from ips_eval.models.common import estimates_markdown, term_counts, warning_texts
from ips_eval.models.data import QUERIES, has_table
from ips_eval.models.design import Covariate, build_design, check_events
from ips_eval.models.effectiveness import DIAGNOSIS_GROUPS, OTHER_DG, load_effectiveness
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec
from ips_eval.warehouse.database import query_sql

MODEL = "transition_to_work"
QUERY = QUERIES / "transition_to_work.sql"

#: The baseline hazard's groups of months since the index month (m of the pair m -> m + 1),
#: label -> (first, last); the first is the reference.
MONTH_GROUPS: dict[str, tuple[int, int]] = {
    "0-2": (0, 2),
    "3-5": (3, 5),
    "6-11": (6, 11),
    "12-23": (12, 23),
    "24-35": (24, 35),
}
#: Pre-index employment and benefit months: months among the 12 before the index month, grouped.
PRE12_GROUPS: dict[str, tuple[int, int]] = {"none": (0, 0), "1-6": (1, 6), "7-12": (7, 12)}
#: The two fits: (estimator, months-at-risk column prefix, moves column prefix); the first is the main one.
FITS: tuple[tuple[str, str, str], ...] = (
    ("logistic_hazard", "at_risk", "moves"),
    ("logistic_hazard_first_move", "at_risk_first", "moves_first"),
)


def covariates(counties: list[str]) -> tuple[Covariate, ...]:
    """The person-level terms of model 7 (the month group is added apart).

    Examples
    --------
    >>> [c.name for c in covariates(["Helsinki", "Lappi"])]
    ['ips', 'age_group', 'gender', 'education', 'diagnosis_group', 'employed_pre12', 'benefit_pre12', 'county']
    """
    return (
        Covariate("ips", "binary"),
        Covariate("age_group", "categorical", levels=tuple(a[0] for a in AGE_GROUPS), reference="<30"),
        Covariate("gender", "categorical", levels=("1", "2"), reference="1"),
        Covariate("education", "categorical", levels=("1", "2", "3", "4", "unknown"), reference="1"),
        Covariate("diagnosis_group", "categorical", levels=tuple(g for g, _ in DIAGNOSIS_GROUPS) + (OTHER_DG,),
                  reference=DIAGNOSIS_GROUPS[0][0]),
        Covariate("employed_pre12", "categorical", levels=tuple(PRE12_GROUPS), reference="none"),
        Covariate("benefit_pre12", "categorical", levels=tuple(PRE12_GROUPS), reference="none"),
        Covariate("county", "categorical", levels=tuple(counties)),
    )


def _grouped(values: pd.Series, groups) -> pd.Series:
    out = pd.Series(None, index=values.index, dtype="object")
    for label, (low, high) in groups:
        out[(values >= low).fillna(False).to_numpy(dtype=bool) & (values <= high).fillna(False).to_numpy(dtype=bool)] = label
    return out


def load_transition_to_work(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per register person: model 6's covariates, and per month group the months at risk and moves.

    Columns `at_risk_<group>` and `moves_<group>` (every spell on benefits) and `at_risk_first_<group>`,
    `moves_first_<group>` (up to the first move) for each group of `MONTH_GROUPS` (0 when the
    person had no month at risk in it).

    Examples
    --------
    >>> frame = load_transition_to_work(con)  # doctest: +SKIP
    >>> result = fit_transition_to_work(frame)  # doctest: +SKIP
    """
    persons = load_effectiveness(con)
    if not has_table(con, "marts.state_sequences"):
        raise NotFitted("input table marts.state_sequences is missing from the warehouse")
    groups = pd.DataFrame([(g, a, b) for g, (a, b) in MONTH_GROUPS.items()],
                          columns=["month_group", "first_month", "last_month"])
    con.register("hazard_month_groups", groups)
    try:
        counts = query_sql(con, QUERY)
    finally:
        con.unregister("hazard_month_groups")
    columns = {"months_at_risk": "at_risk", "moves_into_work": "moves", "months_at_risk_first": "at_risk_first",
               "first_moves": "moves_first"}
    wide = counts.pivot(index="person_id", columns="month_group", values=list(columns))
    frame = persons.copy()
    for g in MONTH_GROUPS:
        for col, name in columns.items():
            values = wide[(col, g)] if (col, g) in wide.columns else pd.Series(dtype=float)
            frame[f"{name}_{g}"] = frame["person_id"].map(values).fillna(0).astype("int64")
    return frame


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The derived terms: age group (from `age`) and the pre-index employment and benefit groups.

    Examples
    --------
    >>> d = prepare(pd.DataFrame({"age": [25, 52], "employed_months_pre12": [0, 8], "benefit_months_pre12": [3, 0]}))
    >>> d[["age_group", "employed_pre12", "benefit_pre12"]].values.tolist()
    [['<30', 'none', '1-6'], ['50+', '7-12', 'none']]
    """
    d = frame.copy()
    d["age_group"] = _grouped(d["age"], [(a, (lo, hi)) for a, lo, hi in AGE_GROUPS])
    d["employed_pre12"] = _grouped(d["employed_months_pre12"], PRE12_GROUPS.items())
    d["benefit_pre12"] = _grouped(d["benefit_months_pre12"], PRE12_GROUPS.items())
    return d


@model_fit(MODEL)
def fit_transition_to_work(frame: pd.DataFrame) -> ModelResult:
    """Fit model 7 on the frame of `load_transition_to_work`: odds ratios with person-clustered 95% CIs.

    The recurrent-event fit (every month on benefits, estimator `logistic_hazard`) is the main
    one; the first-move-only fit (estimator `logistic_hazard_first_move`) is beside it when the
    frame has the `at_risk_first_<group>` and `moves_first_<group>` columns.

    Parameters
    ----------
    frame : one row per person with the covariates of model 6 (`age`, `gender`, `education`,
        `diagnosis_group`, `county`, `employed_months_pre12`, `benefit_months_pre12`, `ips`) and
        `at_risk_<group>`, `moves_<group>` (and the `_first` pair) for every group of `MONTH_GROUPS`.

    Examples
    --------
    >>> result = fit_transition_to_work(load_transition_to_work(con))  # doctest: +SKIP
    >>> result.estimates.set_index(["term", "estimator"]).loc[("ips", "logistic_hazard"), "estimate"]  # doctest: +SKIP
    """
    labels = list(MONTH_GROUPS)
    d = prepare(frame)
    at_risk_all = d[[f"at_risk_{g}" for g in labels]].to_numpy(dtype=float)
    d = d[at_risk_all.sum(axis=1) > 0]
    if d.empty:
        raise NotFitted("no person had a month in a benefit state after the index month with the next month observed",
                        n=0)
    design = build_design(d, covariates(sorted(d["county"].dropna().astype(str).unique())))
    X = design.X.to_numpy(dtype=float)
    n_persons = len(design.rows)
    notes = [design.note("persons")]
    fits = [f for f in FITS if all(f"{f[1]}_{g}" in d.columns and f"{f[2]}_{g}" in d.columns for g in labels)]
    rows, diag_rows, per_group, n_months = [], [], None, 0
    for k, (estimator, at_col, ev_col) in enumerate(fits):
        n_at = d.loc[design.rows, [f"{at_col}_{g}" for g in labels]].to_numpy(dtype=float)
        n_ev = d.loc[design.rows, [f"{ev_col}_{g}" for g in labels]].to_numpy(dtype=float)
        main = k == 0
        try:
            names, beta, se, converged, fit_notes = _hazard_fit(X, list(design.X.columns), n_at, n_ev, labels)
        except NotFitted as e:
            if main:
                raise NotFitted(e.reason, n=n_persons)
            notes.append(f"first-move-only fit not fitted: {e.reason}")
            continue
        n_moves = int(n_ev.sum())
        if main:
            n_months, n_moves_main, converged_main = int(n_at.sum()), n_moves, converged
            epv = check_events(n_moves, len(names), "moving into work", unit="person-months")
            if epv:
                notes.append(epv)
            notes += fit_notes
            moves_pp = n_ev.sum(axis=1)
            per_group = pd.DataFrame({"month_group": labels, "months_at_risk": n_at.sum(axis=0).astype(int),
                                      "moves_into_work": n_ev.sum(axis=0).astype(int),
                                      "persons_at_risk": (n_at > 0).sum(axis=0)})
            per_group = per_group[per_group["months_at_risk"] > 0].reset_index(drop=True)
            diag_rows += [
                {"model": MODEL, "diagnostic": "events_per_parameter", "value": n_moves / len(names), "threshold": 10.0,
                 "passed": n_moves / len(names) >= 10, "rule": "value >= threshold",
                 "detail": f"{n_moves} moves into work, {len(names)} parameters"},
                {"model": MODEL, "diagnostic": "residual_df", "value": n_persons - len(names), "threshold": 10.0,
                 "passed": n_persons - len(names) >= 10, "rule": "value >= threshold (disclosure rule 6; persons)",
                 "detail": None},
                {"model": MODEL, "diagnostic": "n_clusters", "value": n_persons, "threshold": None, "passed": None,
                 "rule": None, "detail": f"persons (clusters of the variance); {n_months} person-months at risk"},
                {"model": MODEL, "diagnostic": "persons_moving_more_than_once", "value": int((moves_pp >= 2).sum()),
                 "threshold": None, "passed": None, "rule": "recurrent events: counted in the main fit",
                 "detail": f"of {int((moves_pp >= 1).sum())} persons who moved into work"},
            ]
        else:
            after = n_months - int(n_at.sum())
            diag_rows.append(
                {"model": MODEL, "diagnostic": "months_at_risk_after_a_move", "value": after, "threshold": None,
                 "passed": None, "rule": "in the main (recurrent) fit, not in the first-move-only fit",
                 "detail": f"of {n_months} person-months at risk; the first-move fit has {int(n_at.sum())}"
                           f" months and {n_moves} moves"})
        z = stats.norm.ppf(0.975)
        rows += [{"model": MODEL, "term": t, "estimate": np.exp(beta[i]), "ci_low": np.exp(beta[i] - z * se[i]),
                  "ci_high": np.exp(beta[i] + z * se[i]), "p_value": 2 * stats.norm.sf(abs(beta[i] / se[i])),
                  "n": n_persons, "estimator": estimator}
                 for i, t in enumerate(names) if i > 0]
    est = estimates_frame(rows)
    n_ev_main = d.loc[design.rows, [f"moves_{g}" for g in labels]].to_numpy(dtype=float)
    counts = term_counts(design, (n_ev_main.sum(axis=1) > 0).astype(float))
    status = "warning" if len(notes) > 1 else "ok"
    reason = "; ".join(notes + ["recurrent events (every spell on benefits; a first-move-only fit beside it);"
                                " comparison persons unweighted (covariate-adjusted conditional odds ratios);"
                                " 95% CIs clustered by person"])
    main_est = est[est["estimator"] == FITS[0][0]]
    fig = plots.later(lambda folder: plots.forest_plot(
        main_est, f"{MODEL}: odds ratios of moving from benefits into work in a month\n(discrete-time recurrent"
        f" hazard, person-clustered CIs; {n_persons} persons, {n_months} person-months)", folder / f"{MODEL}_forest.png"))
    summary = (f"**{MODEL}**: discrete-time logistic hazard of moving from a benefit state into work, on"
               f" {n_months} person-months at risk of {n_persons} persons ({n_moves_main} moves). {reason}.\n\n"
               + estimates_markdown(main_est, "OR"))
    return ModelResult(model=MODEL, status=status, reason=reason, n=n_persons, converged=converged_main,
                       estimates=est, diagnostics=diagnostics_frame(diag_rows),
                       tables={"term_counts": counts, "transition_to_work_months": per_group},
                       summary=summary, extra={"figures": [fig]})


def _hazard_fit(X: np.ndarray, columns: list[str], n_at: np.ndarray, n_ev: np.ndarray, labels: list[str]):
    """The pooled logistic hazard on covariate patterns x month group, with the person-clustered covariance.

    Returns (names, beta, se, converged, warnings); `names[0]` is the intercept.
    """
    present = [j for j in range(len(labels)) if n_at[:, j].sum() > 0]
    if not present:
        raise NotFitted("no month at risk among the complete cases", n=0)
    if n_ev.sum() == 0:
        raise NotFitted("no move into work among the months at risk", n=0)
    ref = present[0]
    others = [j for j in present if j != ref]
    names = ["const"] + columns + [f"months_since_index[{labels[j]} vs {labels[ref]}]" for j in others]
    # Covariate patterns x month group: the GLM's rows (moves, stays), same estimates as per person-month.
    pattern = pd.DataFrame(X).groupby(list(range(X.shape[1])), sort=True).ngroup().to_numpy()
    n_pat = int(pattern.max()) + 1
    Xp = np.zeros((n_pat, X.shape[1]))
    Xp[pattern] = X
    rows, endog = [], []
    for j in present:
        trials = np.bincount(pattern, weights=n_at[:, j], minlength=n_pat)
        moves = np.bincount(pattern, weights=n_ev[:, j], minlength=n_pat)
        keep = trials > 0
        dummies = np.zeros((int(keep.sum()), len(others)))
        if j != ref:
            dummies[:, others.index(j)] = 1.0
        rows.append(np.column_stack([np.ones(int(keep.sum())), Xp[keep], dummies]))
        endog.append(np.column_stack([moves[keep], trials[keep] - moves[keep]]))
    exog, endog = np.vstack(rows), np.vstack(endog)
    with warnings.catch_warnings(record=True) as caught, _cycles_collected_often():
        warnings.simplefilter("always")
        res = sm.GLM(endog, exog, family=sm.families.Binomial()).fit()
        beta, bread, converged = np.asarray(res.params), np.asarray(res.normalized_cov_params), bool(res.converged)
        del res, exog, endog
    if not np.all(np.isfinite(beta)) or np.any(np.abs(beta[1:]) > 15):
        raise NotFitted("the fit gave infinite or extreme coefficients (near-separation)")
    cov = cluster_covariance(beta, bread, X, n_at, n_ev, present, ref)
    return names, beta, np.sqrt(np.diag(cov)), converged, warning_texts(caught)


@contextlib.contextmanager
def _cycles_collected_often(threshold: int = 50):
    """Python's cycle collector run after every `threshold` new objects, not 700, while inside.

    Why: each iteration of statsmodels' IRLS leaves its weighted copy of the design in a reference
    cycle (its result is a `Bunch`, a dict that is its own `__dict__`, holding the model), which
    only the cycle collector frees; that collector counts objects, not bytes, and an iteration
    makes few objects, so with a national cohort's covariate patterns the copies of every
    iteration would be held at once. On leaving, what the fit left is collected (its results and
    its model are such a cycle too). Collecting changes no number the fit computes."""
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.collect()


def cluster_covariance(beta: np.ndarray, bread: np.ndarray, X: np.ndarray, n_at: np.ndarray, n_ev: np.ndarray,
                       present: list[int], ref: int) -> np.ndarray:
    """Person-clustered sandwich covariance of the hazard model from person-level counts.

    `X`: the persons' terms (no intercept); `n_at`, `n_ev`: months at risk and moves per month
    group (columns), `present` the groups in the model, `ref` its reference group; `bread` the
    inverse information (the GLM's normalized covariance).

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [1.0]]); n_at = np.array([[2.0], [3.0], [1.0]]); n_ev = np.array([[1.0], [1.0], [0.0]])
    >>> cov = cluster_covariance(np.zeros(2), np.eye(2), X, n_at, n_ev, [0], 0)
    >>> cov.shape
    (2, 2)
    """
    others = [j for j in present if j != ref]
    xb = beta[0] + X @ beta[1:1 + X.shape[1]]
    residual = np.zeros((len(X), len(present)))
    for k, j in enumerate(present):
        shift = 0.0 if j == ref else beta[1 + X.shape[1] + others.index(j)]
        p = 1.0 / (1.0 + np.exp(-(xb + shift)))
        residual[:, k] = n_ev[:, j] - n_at[:, j] * p
    total = residual.sum(axis=1)
    scores = np.column_stack([total, X * total[:, None]] + [residual[:, present.index(j)] for j in others])
    meat = scores.T @ scores
    g, n, k = len(X), n_at[:, present].sum(), len(beta)
    factor = g / (g - 1) * (n - 1) / (n - k)
    return factor * bread @ meat @ bread


SPEC = ModelSpec(
    name=MODEL,
    description="Model 7: the monthly odds of moving from a benefit state into work, IPS clients against comparison"
    " persons: a discrete-time logistic hazard on person-months, covariate-adjusted, person-clustered CIs.",
    queries=("transition_to_work.sql", "effectiveness.sql"),
    fit=fit_transition_to_work,
    load=load_transition_to_work,
)
