"""Model 7: moving from benefits into work after the index month (discrete-time hazard).

Estimand: the conditional odds ratio, per month at risk, of being employed (with or without
pay subsidy) in month m + 1 given a benefit state (rehabilitation/disability or unemployment
benefit) in month m, m >= 0 months after the index month: IPS clients against comparison
persons of the same age group, gender, education, diagnosis group, pre-index employment,
county and months since the index month. The odds ratio is assumed the same in every month
since the index month (a pooled logistic hazard; the baseline hazard varies freely between the
month groups of `MONTH_GROUPS`).

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
#: Pre-index employment: employed months among the 12 before the index month, grouped.
PRE_EMPLOYMENT_GROUPS: dict[str, tuple[int, int]] = {"none": (0, 0), "1-6": (1, 6), "7-12": (7, 12)}


def covariates(counties: list[str]) -> tuple[Covariate, ...]:
    """The person-level terms of model 7 (the month group is added apart).

    Examples
    --------
    >>> [c.name for c in covariates(["Helsinki", "Lappi"])]
    ['ips', 'age_group', 'gender', 'education', 'diagnosis_group', 'employed_pre12', 'county']
    """
    return (
        Covariate("ips", "binary"),
        Covariate("age_group", "categorical", levels=tuple(a[0] for a in AGE_GROUPS), reference="<30"),
        Covariate("gender", "categorical", levels=("1", "2"), reference="1"),
        Covariate("education", "categorical", levels=("1", "2", "3", "4", "unknown"), reference="1"),
        Covariate("diagnosis_group", "categorical", levels=tuple(g for g, _ in DIAGNOSIS_GROUPS) + (OTHER_DG,),
                  reference=DIAGNOSIS_GROUPS[0][0]),
        Covariate("employed_pre12", "categorical", levels=tuple(PRE_EMPLOYMENT_GROUPS), reference="none"),
        Covariate("county", "categorical", levels=tuple(counties)),
    )


def _grouped(values: pd.Series, groups) -> pd.Series:
    out = pd.Series(None, index=values.index, dtype="object")
    for label, (low, high) in groups:
        out[(values >= low).fillna(False).to_numpy(dtype=bool) & (values <= high).fillna(False).to_numpy(dtype=bool)] = label
    return out


def load_transition_to_work(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per register person: model 6's covariates, and per month group the months at risk and moves.

    Columns `at_risk_<group>` and `moves_<group>` for each group of `MONTH_GROUPS` (0 when the
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
    wide = counts.pivot(index="person_id", columns="month_group", values=["months_at_risk", "moves_into_work"])
    frame = persons.copy()
    for g in MONTH_GROUPS:
        for col, name in (("months_at_risk", "at_risk"), ("moves_into_work", "moves")):
            values = wide[(col, g)] if (col, g) in wide.columns else pd.Series(dtype=float)
            frame[f"{name}_{g}"] = frame["person_id"].map(values).fillna(0).astype("int64")
    return frame


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The derived terms: age group (from `age`) and the pre-index employment group.

    Examples
    --------
    >>> d = prepare(pd.DataFrame({"age": [25, 52], "employed_months_pre12": [0, 8]}))
    >>> d[["age_group", "employed_pre12"]].values.tolist()
    [['<30', 'none'], ['50+', '7-12']]
    """
    d = frame.copy()
    d["age_group"] = _grouped(d["age"], [(a, (lo, hi)) for a, lo, hi in AGE_GROUPS])
    d["employed_pre12"] = _grouped(d["employed_months_pre12"], PRE_EMPLOYMENT_GROUPS.items())
    return d


@model_fit(MODEL)
def fit_transition_to_work(frame: pd.DataFrame) -> ModelResult:
    """Fit model 7 on the frame of `load_transition_to_work`: odds ratios with person-clustered 95% CIs.

    Parameters
    ----------
    frame : one row per person with the covariates of model 6 (`age`, `gender`, `education`,
        `diagnosis_group`, `county`, `employed_months_pre12`, `ips`) and `at_risk_<group>`,
        `moves_<group>` for every group of `MONTH_GROUPS`.

    Examples
    --------
    >>> result = fit_transition_to_work(load_transition_to_work(con))  # doctest: +SKIP
    >>> result.estimates.set_index("term").loc["ips", ["estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
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
    n_at = d.loc[design.rows, [f"at_risk_{g}" for g in labels]].to_numpy(dtype=float)
    n_ev = d.loc[design.rows, [f"moves_{g}" for g in labels]].to_numpy(dtype=float)
    present = [j for j in range(len(labels)) if n_at[:, j].sum() > 0]
    if len(present) < 1:
        raise NotFitted("no month at risk among the complete cases", n=0)
    ref = present[0]
    others = [j for j in present if j != ref]
    group_terms = [f"months_since_index[{labels[j]} vs {labels[ref]}]" for j in others]
    names = ["const"] + list(design.X.columns) + group_terms
    n_persons, n_months, n_moves = len(design.rows), int(n_at.sum()), int(n_ev.sum())
    notes = [design.note("persons")]
    epv = check_events(n_moves, len(names), "moving into work", unit="person-months")
    if epv:
        notes.append(epv)

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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sm.GLM(endog, exog, family=sm.families.Binomial()).fit()
    notes += warning_texts(caught)
    beta = np.asarray(res.params)
    if not np.all(np.isfinite(beta)) or np.any(np.abs(beta[1:]) > 15):
        raise NotFitted("the fit gave infinite or extreme coefficients (near-separation)", n=n_persons)

    cov = cluster_covariance(beta, np.asarray(res.normalized_cov_params), X, n_at, n_ev, present, ref)
    se = np.sqrt(np.diag(cov))
    z = stats.norm.ppf(0.975)
    est = estimates_frame([
        {"model": MODEL, "term": t, "estimate": np.exp(beta[i]), "ci_low": np.exp(beta[i] - z * se[i]),
         "ci_high": np.exp(beta[i] + z * se[i]), "p_value": 2 * stats.norm.sf(abs(beta[i] / se[i])), "n": n_persons}
        for i, t in enumerate(names) if i > 0], estimator="logistic_hazard")
    moved = (n_ev.sum(axis=1) > 0).astype(float)
    counts = term_counts(design, moved)
    months_per_group = pd.DataFrame({"month_group": [labels[j] for j in present],
                                     "months_at_risk": [int(n_at[:, j].sum()) for j in present],
                                     "moves_into_work": [int(n_ev[:, j].sum()) for j in present],
                                     "persons_at_risk": [int((n_at[:, j] > 0).sum()) for j in present]})
    diag = diagnostics_frame([
        {"model": MODEL, "diagnostic": "events_per_parameter", "value": n_moves / len(names), "threshold": 10.0,
         "passed": n_moves / len(names) >= 10, "rule": "value >= threshold",
         "detail": f"{n_moves} moves into work, {len(names)} parameters"},
        {"model": MODEL, "diagnostic": "residual_df", "value": n_persons - len(names), "threshold": 10.0,
         "passed": n_persons - len(names) >= 10, "rule": "value >= threshold (disclosure rule 6; persons)",
         "detail": None},
        {"model": MODEL, "diagnostic": "n_clusters", "value": n_persons, "threshold": None, "passed": None,
         "rule": None, "detail": f"persons (clusters of the variance); {n_months} person-months at risk"},
    ])
    status = "warning" if len(notes) > 1 else "ok"
    reason = "; ".join(notes + ["comparison persons unweighted (covariate-adjusted conditional odds ratios);"
                                " 95% CIs clustered by person"])
    fig = plots.later(lambda folder: plots.forest_plot(
        est, f"{MODEL}: odds ratios of moving from benefits into work in a month\n(discrete-time hazard,"
        f" person-clustered CIs; {n_persons} persons, {n_months} person-months)", folder / f"{MODEL}_forest.png"))
    summary = (f"**{MODEL}**: discrete-time logistic hazard of moving from a benefit state into work, on"
               f" {n_months} person-months at risk of {n_persons} persons ({n_moves} moves). {reason}.\n\n"
               + estimates_markdown(est, "OR"))
    return ModelResult(model=MODEL, status=status, reason=reason, n=n_persons, converged=bool(res.converged),
                       estimates=est, diagnostics=diag,
                       tables={"term_counts": counts, "transition_to_work_months": months_per_group},
                       summary=summary, extra={"figures": [fig]})


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
