"""Model 5: does a county's IPS fidelity go with its competitive-employment rate?

County-level weighted least squares of `rate_competitive` on the current fidelity total,
weights `n_clients` (a rate from more clients is more precise: its variance is about
p(1-p)/n). The slope is reported per 10 fidelity points, in rate units (0.05 = five
percentage points). With a handful of counties this is descriptive, and the fit log
says so; an ecological association, not the effect of fidelity on a client.
"""

from __future__ import annotations

import warnings
import pandas as pd
import statsmodels.api as sm

from ips_eval.models import plots
from ips_eval.models.common import estimates_markdown, warning_texts
# n in models.estimates and the fit log is the number of counties (the unit of analysis).
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec

MODEL = "fidelity_outcome"
MIN_COUNTIES = 4  # at least 2 residual degrees of freedom
SCALE = 10.0


@model_fit(MODEL)
def fit_fidelity_outcome(d: pd.DataFrame) -> ModelResult:
    """Weighted regression of the county rate on the fidelity total (rows of `sql/models/fidelity_outcome.sql`).

    Examples
    --------
    >>> result = fit_fidelity_outcome(SPEC.load_frame(con))  # doctest: +SKIP
    """
    no_review = d.loc[d["total"].isna(), "alue"].tolist()
    d = d[d["total"].notna() & d["n_clients"].gt(0) & d["rate_competitive"].notna()].reset_index(drop=True)
    k = len(d)
    if k < MIN_COUNTIES:
        raise NotFitted(
            f"only {k} counties with clients and a fidelity review (at least {MIN_COUNTIES} needed)",
            n=int(d["n_clients"].sum()) if k else 0,
        )
    if d["total"].nunique() < 2:
        raise NotFitted(f"all {k} counties have the same fidelity total ({d['total'].iloc[0]:g}): no variation to relate")
    X = sm.add_constant(pd.DataFrame({"fidelity_total_per10": d["total"].astype(float) / SCALE}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sm.WLS(d["rate_competitive"].astype(float), X, weights=d["n_clients"].astype(float)).fit()
    ci = res.conf_int()
    n_clients = int(d["n_clients"].sum())
    est = estimates_frame(
        [{"model": MODEL, "term": "fidelity_total_per10", "estimate": res.params["fidelity_total_per10"],
          "ci_low": ci.loc["fidelity_total_per10", 0], "ci_high": ci.loc["fidelity_total_per10", 1],
          "p_value": res.pvalues["fidelity_total_per10"], "n": k}], estimator="wls"
    )
    diag = diagnostics_frame(
        [
            {"model": MODEL, "diagnostic": "n_counties", "value": k, "threshold": 10.0, "passed": k >= 10,
             "rule": "value >= threshold (fewer counties: descriptive only)", "detail": None},
            {"model": MODEL, "diagnostic": "residual_df", "value": k - 2, "threshold": 10.0, "passed": k - 2 >= 10,
             "rule": "value >= threshold (disclosure rule 6)", "detail": None},
            {"model": MODEL, "diagnostic": "weighted_r_squared", "value": res.rsquared, "threshold": None,
             "passed": None, "rule": None, "detail": None},
        ]
    )
    notes = warning_texts(caught)
    if k < 10:
        notes.append(f"only {k} counties: the association is descriptive")
    if no_review:
        notes.append(f"left out for want of a fidelity review: {', '.join(map(str, no_review))}")
    slope_raw = res.params["fidelity_total_per10"] / SCALE
    intercept = res.params["const"]
    fig = plots.later(lambda folder: plots.fidelity_scatter(
        d, (intercept, slope_raw),
        f"Fidelity and competitive employment by county\n({k} counties, weighted by clients)",
        folder / f"{MODEL}_scatter.png",
    ))
    table = d[["alue", "total", "n_clients", "n_competitive", "rate_competitive"]].rename(columns={"total": "fidelity_total"})
    md = (
        f"**{MODEL}**: WLS of rate_competitive on fidelity total, {k} counties ({n_clients} clients), weights n_clients;"
        f" slope per 10 fidelity points in rate units.\n\n" + estimates_markdown(est, "difference", 3)
    )
    return ModelResult(
        model=MODEL, status="warning" if notes else "ok", reason="; ".join([f"{k} counties, {n_clients} clients"] + notes), n=k,
        converged=True, estimates=est, tables={"fidelity_outcome_counties": table}, diagnostics=diag,
        summary=md, extra={"figures": [fig]},
    )


SPEC = ModelSpec(
    name=MODEL,
    description="Model 5: does a county's IPS fidelity go with its competitive-employment rate? Weighted least "
    "squares over the counties (weights: clients), slope per 10 fidelity points; descriptive, ecological.",
    queries=("fidelity_outcome.sql",),
    fit=fit_fidelity_outcome,
)
