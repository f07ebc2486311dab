"""Model 1: predictors of competitive (and of unsubsidised) employment.

Logistic GEE (Binomial, exchangeable working correlation, clusters = counties), so that
the standard errors allow for clients of one county being alike - the county fidelity
total is a county-level covariate, and a naive logistic model would overstate its
precision. Estimates are population-averaged odds ratios. With a dozen counties or fewer
the plain sandwich is too small, so the covariance is CR2 (Bell & McCaffrey; Pustejovsky &
Tipton 2018; `ips_eval.models.cluster_robust`) and each term's interval and p-value use the t
distribution with its Bell-McCaffrey degrees of freedom, often far fewer than G - 1 for the
county-level fidelity total.

The final report's two process predictors, the coach's `trust` and `care_cooperation` ratings
of the client's first coach response within 3 months of the start (`sql/models/predictors.sql`),
are linear terms per point when the delivery has coach responses (otherwise left out). Two fits
are reported (`estimator`):
- `mi` (the main one): missing covariates multiply imputed by chained equations with
  predictive mean matching, the outcome and the county in every imputation model
  (`ips_eval.models.imputation`), `N_IMPUTATIONS` imputations; each completed data set is fitted
  as above, and Rubin's rules combine them with each fit's CR2 covariance as the
  within-imputation variance and Barnard-Rubin degrees of freedom built on the Bell-McCaffrey
  ones, so the small-cluster correction is kept;
- `complete_case`: the same GEE on the clients with every covariate known.
The rows are sorted by person before anything is drawn, so the reported numbers do not depend
on the input's row order.
"""

from __future__ import annotations

import warnings
import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.genmod.generalized_estimating_equations import GEE

from ips_eval.definitions import AGE_GROUPS
from ips_eval.models import imputation as MI
from ips_eval.models import plots
from ips_eval.models.cluster_robust import MIN_COUNTIES, WARN_COUNTIES, gee_cr2
from ips_eval.models.common import estimates_markdown, term_counts, warning_texts
from ips_eval.models.design import CLIENT_COVARIATES, Covariate, build_design, check_events, check_separation
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec

#: The coach's first ratings (1-5), per point (ANALYSIS_PLAN model 1).
PROCESS_COVARIATES: tuple[Covariate, ...] = (Covariate("trust", "numeric"), Covariate("care_cooperation", "numeric"))
#: The seed of the imputations when the run gives none.
MI_SEED = 20240601
#: How each covariate enters the chained equations (ordered categories are matched as ordinal codes).
IMPUTATION_COLUMNS: dict[str, MI.Column] = {
    "age_group": MI.Column("age_group", "categorical", tuple(a[0] for a in AGE_GROUPS)),
    "gender": MI.Column("gender", "categorical", ("1", "2")),
    "education": MI.Column("education", "categorical", ("1", "2", "3", "4")),
    "work_history": MI.Column("work_history", "categorical", ("0", "1", "2", "3")),
    "smi": MI.Column("smi", "numeric"),
    "fidelity_total": MI.Column("fidelity_total", "numeric"),
    "trust": MI.Column("trust", "numeric"),
    "care_cooperation": MI.Column("care_cooperation", "numeric"),
}

OUTCOME_LABEL = {"competitive": "a competitive job", "unsubsidised": "an unsubsidised competitive job"}


@model_fit("employment_predictors")
def fit_employment_predictors(frame: pd.DataFrame, *, seed: int = MI_SEED, n_imputations: int = MI.N_IMPUTATIONS,
                              iterations: int = MI.N_ITERATIONS) -> ModelResult:
    """Odds ratios of having had a competitive job (any, subsidised or not).

    Examples
    --------
    >>> result = fit_employment_predictors(EMPLOYMENT.load_frame(con))  # doctest: +SKIP
    """
    return _fit(frame, "employment_predictors", "competitive", seed, n_imputations, iterations)


@model_fit("unsubsidised_predictors")
def fit_unsubsidised_predictors(frame: pd.DataFrame, *, seed: int = MI_SEED, n_imputations: int = MI.N_IMPUTATIONS,
                                iterations: int = MI.N_ITERATIONS) -> ModelResult:
    """Odds ratios of having had a competitive job without pay subsidy.

    Examples
    --------
    >>> result = fit_unsubsidised_predictors(UNSUBSIDISED.load_frame(con))  # doctest: +SKIP
    """
    return _fit(frame, "unsubsidised_predictors", "unsubsidised", seed, n_imputations, iterations)


def _covariates(df: pd.DataFrame) -> tuple[Covariate, ...]:
    """Model 1's covariates, with the process predictors when the delivery has coach responses."""
    coached = ("n_coach_responses" in df.columns and {"trust", "care_cooperation"} <= set(df.columns)
               and bool((df["n_coach_responses"].fillna(0) > 0).any()))
    return CLIENT_COVARIATES + (PROCESS_COVARIATES if coached else ())


def _gee(X: pd.DataFrame, y: np.ndarray, county: np.ndarray, n: int, start: pd.Series | None = None):
    """The logistic GEE (exchangeable within county) and its CR2 covariance; NotFitted when it fails.

    `start`: coefficients to start from (by term, the constant included), such as the
    complete-case fit's for an imputed data set; without them statsmodels first fits a GLM,
    which costs more than the GEE itself. The GEE's solution does not depend on where it starts
    beyond its convergence tolerance."""
    exog = sm.add_constant(X, has_constant="add")
    start_params = None
    if start is not None and list(start.index) == list(exog.columns):
        start_params = start.to_numpy(dtype=float)
    order = np.argsort(county, kind="stable")  # GEE wants each cluster's rows together
    gee = GEE(
        y[order], exog.iloc[order], groups=county[order],
        family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable(),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = gee.fit(maxiter=100, start_params=start_params)
    if not res.converged:
        raise NotFitted(f"the GEE did not converge in 100 iterations ({n} clients)", n=n)
    robust = gee_cr2(res)
    names = list(res.params.index)
    keep = [i for i, t in enumerate(names) if t != "const"]
    params, bse = robust.params[keep], robust.bse[keep]
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(bse))) or np.any(np.abs(params) > 15):
        raise NotFitted("the GEE gave infinite or extreme coefficients (near-separation)", n=n)
    return res, robust, keep, [names[i] for i in keep], warning_texts(caught)


def _fit(df: pd.DataFrame, model: str, outcome: str, seed: int = MI_SEED, n_imputations: int = MI.N_IMPUTATIONS,
         iterations: int = MI.N_ITERATIONS) -> ModelResult:
    df = df.sort_values("person_id", kind="stable").reset_index(drop=True)
    covariates = _covariates(df)
    design = build_design(df, covariates, extra=[outcome, "alue"])
    X = design.X
    y = df.loc[design.rows, outcome].astype(bool).to_numpy(dtype=float)
    county = df.loc[design.rows, "alue"].astype(str).to_numpy()
    n = len(y)
    notes: list[str] = []

    n_counties = len(np.unique(county))
    if n_counties < MIN_COUNTIES:
        raise NotFitted(
            f"only {n_counties} county/counties with complete data; standard errors clustered by county"
            f" need at least {MIN_COUNTIES}",
            n=n,
        )
    if n_counties < WARN_COUNTIES:
        notes.append(f"only {n_counties} counties: cluster-robust CIs may be too narrow")
    n_params = X.shape[1] + 1
    minority = int(min(y.sum(), n - y.sum()))
    side = "with" if minority == int(y.sum()) else "without"
    epv_note = check_events(minority, n_params, f"{side} {OUTCOME_LABEL[outcome]}")
    if epv_note:
        notes.append(epv_note)
    check_separation(X, y, design, outcome)

    res, robust, keep, terms, fit_warnings = _gee(X, y, county, n)
    notes += fit_warnings
    params = robust.params[keep]
    ci, p_values, df_bm = robust.conf_int()[keep], robust.pvalues()[keep], robust.df[keep]
    est = estimates_frame(
        [
            {"model": model, "term": t, "estimate": np.exp(params[k]), "ci_low": np.exp(ci[k, 0]),
             "ci_high": np.exp(ci[k, 1]), "p_value": p_values[k], "n": n}
            for k, t in enumerate(terms)
        ], estimator="complete_case"
    )
    rho = float(np.atleast_1d(res.cov_struct.dep_params)[0])
    diag_rows = [
        {"model": model, "diagnostic": "n_counties", "value": n_counties, "threshold": WARN_COUNTIES,
         "passed": n_counties >= WARN_COUNTIES, "rule": "value >= threshold (clusters for robust SEs)",
         "detail": None},
        {"model": model, "diagnostic": "events_per_parameter", "value": minority / n_params, "threshold": 10.0,
         "passed": minority / n_params >= 10, "rule": "value >= threshold",
         "detail": f"{minority} in the smaller outcome group, {n_params} parameters"},
        {"model": model, "diagnostic": "residual_df", "value": n - n_params, "threshold": 10.0,
         "passed": n - n_params >= 10, "rule": "value >= threshold (disclosure rule 6)", "detail": None},
        {"model": model, "diagnostic": "exchangeable_correlation", "value": rho, "threshold": None,
         "passed": None, "rule": None, "detail": "within-county working correlation (complete cases)"},
        {"model": model, "diagnostic": "t_degrees_of_freedom", "value": float(df_bm.min()), "threshold": None,
         "passed": None, "rule": None,
         "detail": f"the smallest Bell-McCaffrey degrees of freedom of a term ({terms[int(df_bm.argmin())]});"
         f" CR2 covariance clustered by {n_counties} counties (complete cases)"},
    ] + [{"model": model, "diagnostic": f"bm_df[{t}]", "value": float(df_bm[k]), "threshold": None, "passed": None,
          "rule": None, "detail": "Bell-McCaffrey degrees of freedom of the term's t interval (CR2, complete cases)"}
         for k, t in enumerate(terms)]
    info = [] if any(c.column == "trust" for c in covariates) else [
        "no coach responses: trust and care_cooperation left out"]

    mi_note = ""
    try:
        mi_est, mi_diag, mi_note = _multiple_imputation(df, covariates, outcome, model, seed, n_imputations,
                                                        iterations, start=res.params)
        est = pd.concat([mi_est, est], ignore_index=True)
        diag_rows += mi_diag
    except NotFitted as e:
        notes.append(f"multiple imputation not fitted ({e.reason}); the complete-case fit only")
    diag = diagnostics_frame(diag_rows)
    counts = term_counts(design, y)
    shown = est[est["estimator"] == "mi"] if (est["estimator"] == "mi").any() else est
    label = "multiple imputation" if (est["estimator"] == "mi").any() else "complete cases"
    fig = plots.later(lambda folder: plots.forest_plot(
        shown, f"{model}: odds ratios of {OUTCOME_LABEL[outcome]}, {label}\n(GEE, CR2 SEs clustered by county,"
        f" Bell-McCaffrey t; n={int(shown['n'].iloc[0])}, {n_counties} counties)",
        folder / f"{model}_forest.png",
    ))
    reason = "; ".join([design.note()] + ([mi_note] if mi_note else []) + info + notes)
    status = "warning" if notes else "ok"
    summary = (
        f"**{model}**: logistic GEE of `{outcome}`, exchangeable within county. Complete cases: n = {n} clients in"
        f" {n_counties} counties, {int(y.sum())} with {OUTCOME_LABEL[outcome]}; converged: yes. {reason}.\n\n"
        + "\n\n".join(f"{e}:\n\n" + estimates_markdown(est[est["estimator"] == e], "OR")
                       for e in est["estimator"].unique())
    )
    return ModelResult(
        model=model, status=status, reason=reason, n=int(est["n"].max()), converged=True, estimates=est,
        tables={"term_counts": counts}, diagnostics=diag, summary=summary, extra={"figures": [fig]},
    )


def _multiple_imputation(df: pd.DataFrame, covariates: tuple[Covariate, ...], outcome: str, model: str, seed: int,
                         m: int, iterations: int, start: pd.Series | None = None
                         ) -> tuple[pd.DataFrame, list[dict], str]:
    """The `mi` rows: chained-equation imputations of the covariates, each fitted (from the
    coefficients `start`, the complete-case fit's, where the terms are the same), pooled by
    Rubin's rules."""
    rows = df[df[outcome].notna() & df["alue"].notna()].reset_index(drop=True)
    columns = [IMPUTATION_COLUMNS[c.column] for c in covariates]
    frame = rows[[c.name for c in columns]].copy()
    frame["smi"] = frame["smi"].astype("boolean").astype("Float64").astype(float)
    frame["gender"] = frame["gender"].astype("string").where(frame["gender"].astype("string").isin(["1", "2"]))
    for c in ("age_group", "education", "work_history"):
        frame[c] = frame[c].astype("string").str.strip()
    frame = frame.astype(object).where(frame.notna(), None)
    incomplete = frame.isna().any(axis=1)
    y = rows[outcome].astype(bool).to_numpy(dtype=float)
    county = rows["alue"].astype(str).to_numpy()
    fixed = pd.get_dummies(pd.Series(county), drop_first=True, dtype=float)
    fixed.insert(0, "outcome", y)
    n = len(rows)
    if not incomplete.any():
        completed = [frame]
        m_used = 1
    else:
        try:
            completed = MI.impute_chained(frame, columns, fixed, m=m, iterations=iterations, seed=seed)
        except ValueError as e:
            raise NotFitted(str(e), n=n) from e
        m_used = m
    params, variances, dfs, terms = [], [], [], None
    for k, done in enumerate(completed):
        d = rows.drop(columns=[c.name for c in columns]).join(done)
        design = build_design(d, covariates, extra=[outcome, "alue"])
        if terms is not None and list(design.X.columns) != terms:
            raise NotFitted(f"imputation {k + 1} has other terms than the first ({', '.join(design.X.columns)})", n=n)
        _, robust, keep, terms, _ = _gee(design.X, y, county, n, start)
        params.append(robust.params[keep])
        variances.append(np.diag(robust.cov)[keep])
        dfs.append(robust.df[keep])
    pooled = MI.pool(np.array(params), np.array(variances), np.mean(dfs, axis=0))
    ci, p = pooled.conf_int(), pooled.pvalues()
    est = estimates_frame([
        {"model": model, "term": t, "estimate": np.exp(pooled.params[k]), "ci_low": np.exp(ci[k, 0]),
         "ci_high": np.exp(ci[k, 1]), "p_value": p[k], "n": n} for k, t in enumerate(terms)], estimator="mi")
    missing = {c.name: int(frame[c.name].isna().sum()) for c in columns if frame[c.name].isna().any()}
    detail = ", ".join(f"{c} {k}" for c, k in missing.items()) or "none"
    diag = [
        {"model": model, "diagnostic": "mi_imputations", "value": m_used, "threshold": MI.N_IMPUTATIONS,
         "passed": m_used >= MI.N_IMPUTATIONS or not incomplete.any(), "rule": "value >= threshold (or nothing missing)",
         "detail": f"chained equations (predictive mean matching, outcome and county in every imputation model),"
                   f" {iterations} rounds, seed {seed}"},
        {"model": model, "diagnostic": "mi_incomplete_clients", "value": int(incomplete.sum()), "threshold": None,
         "passed": None, "rule": None, "detail": f"clients with at least one covariate imputed, of {n}; missing: {detail}"},
    ] + [{"model": model, "diagnostic": f"mi_fmi[{t}]", "value": float(pooled.fmi[k]), "threshold": None,
          "passed": None, "rule": None, "detail": "fraction of missing information (Rubin's rules)"}
         for k, t in enumerate(terms)] + [
        {"model": model, "diagnostic": f"mi_df[{t}]", "value": float(pooled.df[k]), "threshold": None,
         "passed": None, "rule": None,
         "detail": "Barnard-Rubin degrees of freedom of the term's t interval (complete-data df: Bell-McCaffrey)"}
        for k, t in enumerate(terms)]
    note = (f"multiple imputation: {n} clients, {int(incomplete.sum())} with an imputed covariate ({detail}),"
            f" {m_used} imputations" if incomplete.any() else f"multiple imputation: nothing missing among {n} clients")
    return est, diag, note


#: Both predictor models read one input query (`sql/models/predictors.sql`).
EMPLOYMENT = ModelSpec(
    name="employment_predictors",
    description="Model 1: predictors of having had a competitive job (subsidised or not), the coach's trust and"
    " care-cooperation ratings among them: odds ratios of a logistic GEE, exchangeable within county, CR2 SEs"
    " clustered by county with Bell-McCaffrey t intervals; missing covariates multiply imputed (chained"
    " equations, Rubin's rules) beside the complete-case fit.",
    queries=("predictors.sql",),
    fit=fit_employment_predictors,
)
UNSUBSIDISED = ModelSpec(
    name="unsubsidised_predictors",
    description="Model 1: predictors of having had a competitive job without pay subsidy, the coach's trust and"
    " care-cooperation ratings among them: odds ratios of a logistic GEE, exchangeable within county, CR2 SEs"
    " clustered by county with Bell-McCaffrey t intervals; missing covariates multiply imputed (chained"
    " equations, Rubin's rules) beside the complete-case fit.",
    queries=("predictors.sql",),
    fit=fit_unsubsidised_predictors,
)
