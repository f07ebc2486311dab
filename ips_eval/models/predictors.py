"""Model 1: predictors of competitive (and of unsubsidised) employment.

Logistic GEE (Binomial, exchangeable working correlation, clusters = counties), so that
the standard errors allow for clients of one county being alike - the county fidelity
total is a county-level covariate, and a naive logistic model would overstate its
precision. Estimates are population-averaged odds ratios. With a dozen counties or fewer
the plain sandwich is too small, so the covariance is CR2 (Bell & McCaffrey; Pustejovsky &
Tipton 2018; `ips_eval.models.cluster_robust`) and each term's interval and p-value use the t
distribution with its Bell-McCaffrey degrees of freedom, often far fewer than G - 1 for the
county-level fidelity total.
"""

from __future__ import annotations

import warnings
import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.genmod.generalized_estimating_equations import GEE

from ips_eval.models import plots
from ips_eval.models.cluster_robust import MIN_COUNTIES, WARN_COUNTIES, gee_cr2
from ips_eval.models.common import estimates_markdown, term_counts, warning_texts
from ips_eval.models.design import CLIENT_COVARIATES, build_design, check_events, check_separation
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec



OUTCOME_LABEL = {"competitive": "a competitive job", "unsubsidised": "an unsubsidised competitive job"}


@model_fit("employment_predictors")
def fit_employment_predictors(frame: pd.DataFrame) -> ModelResult:
    """Odds ratios of having had a competitive job (any, subsidised or not).

    Examples
    --------
    >>> result = fit_employment_predictors(EMPLOYMENT.load_frame(con))  # doctest: +SKIP
    """
    return _fit(frame, "employment_predictors", "competitive")


@model_fit("unsubsidised_predictors")
def fit_unsubsidised_predictors(frame: pd.DataFrame) -> ModelResult:
    """Odds ratios of having had a competitive job without pay subsidy.

    Examples
    --------
    >>> result = fit_unsubsidised_predictors(UNSUBSIDISED.load_frame(con))  # doctest: +SKIP
    """
    return _fit(frame, "unsubsidised_predictors", "unsubsidised")


def _fit(df: pd.DataFrame, model: str, outcome: str) -> ModelResult:
    design = build_design(df, CLIENT_COVARIATES, extra=[outcome, "alue"])
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

    exog = sm.add_constant(X, has_constant="add")
    order = np.argsort(county, kind="stable")  # GEE wants each cluster's rows together
    gee = GEE(
        y[order], exog.iloc[order], groups=county[order],
        family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable(),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = gee.fit(maxiter=100)
    if not res.converged:
        raise NotFitted(f"the GEE did not converge in 100 iterations ({n} clients)", n=n)
    robust = gee_cr2(res)
    names = list(res.params.index)
    keep = [i for i, t in enumerate(names) if t != "const"]
    params, bse = robust.params[keep], robust.bse[keep]
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(bse))) or np.any(np.abs(params) > 15):
        raise NotFitted("the GEE gave infinite or extreme coefficients (near-separation)", n=n)
    notes += warning_texts(caught)

    ci, p_values, df_bm = robust.conf_int()[keep], robust.pvalues()[keep], robust.df[keep]
    terms = [names[i] for i in keep]
    est = estimates_frame(
        [
            {"model": model, "term": t, "estimate": np.exp(params[k]), "ci_low": np.exp(ci[k, 0]),
             "ci_high": np.exp(ci[k, 1]), "p_value": p_values[k], "n": n}
            for k, t in enumerate(terms)
        ], estimator="gee"
    )
    rho = float(np.atleast_1d(res.cov_struct.dep_params)[0])
    diag = diagnostics_frame(
        [
            {"model": model, "diagnostic": "n_counties", "value": n_counties, "threshold": WARN_COUNTIES,
             "passed": n_counties >= WARN_COUNTIES, "rule": "value >= threshold (clusters for robust SEs)",
             "detail": None},
            {"model": model, "diagnostic": "events_per_parameter", "value": minority / n_params, "threshold": 10.0,
             "passed": minority / n_params >= 10, "rule": "value >= threshold",
             "detail": f"{minority} in the smaller outcome group, {n_params} parameters"},
            {"model": model, "diagnostic": "residual_df", "value": n - n_params, "threshold": 10.0,
             "passed": n - n_params >= 10, "rule": "value >= threshold (disclosure rule 6)", "detail": None},
            {"model": model, "diagnostic": "exchangeable_correlation", "value": rho, "threshold": None,
             "passed": None, "rule": None, "detail": "within-county working correlation"},
            {"model": model, "diagnostic": "t_degrees_of_freedom", "value": float(df_bm.min()), "threshold": None,
             "passed": None, "rule": None,
             "detail": f"the smallest Bell-McCaffrey degrees of freedom of a term ({terms[int(df_bm.argmin())]});"
             f" CR2 covariance clustered by {n_counties} counties"},
        ]
        + [{"model": model, "diagnostic": f"bm_df[{t}]", "value": float(df_bm[k]), "threshold": None, "passed": None,
            "rule": None, "detail": "Bell-McCaffrey degrees of freedom of the term's t interval (CR2)"}
           for k, t in enumerate(terms)]
    )
    counts = term_counts(design, y)
    fig = plots.later(lambda folder: plots.forest_plot(
        est, f"{model}: odds ratios of {OUTCOME_LABEL[outcome]}\n(GEE, CR2 SEs clustered by county, Bell-McCaffrey t;"
        f" n={n}, {n_counties} counties)",
        folder / f"{model}_forest.png",
    ))
    reason = "; ".join([design.note()] + notes)
    status = "warning" if notes else "ok"
    summary = (
        f"**{model}**: logistic GEE of `{outcome}`, exchangeable within county. n = {n} clients in"
        f" {n_counties} counties, {int(y.sum())} with {OUTCOME_LABEL[outcome]}; converged: yes. {reason}.\n\n"
        + estimates_markdown(est, "OR")
    )
    return ModelResult(
        model=model, status=status, reason=reason, n=n, converged=True, estimates=est,
        tables={"term_counts": counts}, diagnostics=diag, summary=summary, extra={"figures": [fig]},
    )


#: Both predictor models read one input query (`sql/models/predictors.sql`).
EMPLOYMENT = ModelSpec(
    name="employment_predictors",
    description="Model 1: predictors of having had a competitive job (subsidised or not): odds ratios of a"
    " logistic GEE, exchangeable within county, bias-reduced SEs clustered by county.",
    queries=("predictors.sql",),
    fit=fit_employment_predictors,
)
UNSUBSIDISED = ModelSpec(
    name="unsubsidised_predictors",
    description="Model 1: predictors of having had a competitive job without pay subsidy: odds ratios of a"
    " logistic GEE, exchangeable within county, bias-reduced SEs clustered by county.",
    queries=("predictors.sql",),
    fit=fit_unsubsidised_predictors,
)
