"""Cox proportional hazards on the client covariates, with the proportional-hazards check.

Shared by `time_to_first_job`. Ties handled by Efron's method (lifelines' default).

Clients of one county are alike, and there are few counties (about a dozen, fewer in a
wave), where the plain cluster sandwich is too small. The standard errors are therefore
the delete-one-county jackknife (CV3 of MacKinnon, Nielsen & Webb 2023, the jackknife form
of the CR3 small-cluster correction): the model is refitted G times, each time without one
county, V = (G-1)/G sum_g (b_(g) - b)(b_(g) - b)'; intervals and p-values use the t
distribution with G - 1 degrees of freedom.

The proportional-hazards check is lifelines' `proportional_hazard_test` (scaled Schoenfeld
residuals against rank of time) on the fit with the model-based variance, as the
Grambsch-Therneau test requires (not the clustered one); a term with p < 0.01 is recorded as
a failed diagnostic and turns the fit into a warning: its hazard ratio is then an average
over follow-up, not a constant.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from scipy import stats
from lifelines.statistics import proportional_hazard_test

from ips_eval.models.cluster_robust import MIN_COUNTIES, WARN_COUNTIES
from ips_eval.models.common import term_counts, warning_texts
from ips_eval.models.design import CLIENT_COVARIATES, build_design, check_events
from ips_eval.models.result import NotFitted, diagnostics_frame, estimates_frame

PH_ALPHA = 0.01  # per term, as lifelines check_assumptions: 12 terms at 0.05 would flag one by chance half the time


def fit_cox(df: pd.DataFrame, model: str, duration: str, event: str, event_label: str):
    """Returns (estimates, diagnostics, term_counts, notes, n); raises NotFitted."""
    design = build_design(df, CLIENT_COVARIATES, extra=[duration, event, "alue"])
    X = design.X
    d = X.copy()
    d["_T"] = df.loc[design.rows, duration].astype(float).to_numpy()
    d["_E"] = df.loc[design.rows, event].astype(bool).to_numpy(dtype=int)
    d["_county"] = df.loc[design.rows, "alue"].astype(str).to_numpy()
    n = len(d)
    n_events = int(d["_E"].sum())
    notes = [design.note()]
    epv = check_events(n_events, X.shape[1], event_label)
    if epv:
        notes.append(epv)
    counts = term_counts(design, d["_E"].to_numpy())
    empty = counts[counts["n"].gt(0) & counts["n_events"].eq(0)]
    if len(empty):
        raise NotFitted(
            f"no {event_label.replace('with ', '')} among the clients in {', '.join(empty['term'])}:"
            " their hazard ratio would be 0 (monotone likelihood)",
            n=n,
        )
    counties = sorted(d["_county"].unique())
    G = len(counties)
    if G < MIN_COUNTIES:
        raise NotFitted(f"only {G} counties: standard errors clustered by county need at least {MIN_COUNTIES}", n=n)
    if G < WARN_COUNTIES:
        notes.append(f"only {G} counties: the county-jackknife intervals rest on few clusters")
    data = d.drop(columns="_county")
    cph, texts, conv = _cox(data)
    if conv:
        raise NotFitted(f"the Cox model did not fit cleanly: {conv[0]}", n=n)
    s = cph.summary
    if not np.all(np.isfinite(s["coef"])) or (s["coef"].abs() > 15).any():
        raise NotFitted("the Cox model gave infinite or extreme coefficients", n=n)
    beta = cph.params_
    se = _county_jackknife_se(data, d["_county"].to_numpy(), counties, beta, n)
    q = stats.t.ppf(0.975, G - 1)
    est = estimates_frame(
        [
            {"model": model, "term": t, "estimate": float(np.exp(beta[t])), "ci_low": float(np.exp(beta[t] - q * se[t])),
             "ci_high": float(np.exp(beta[t] + q * se[t])), "p_value": float(2 * stats.t.sf(abs(beta[t] / se[t]), G - 1)),
             "n": n}
            for t in beta.index
        ], estimator="cox"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = proportional_hazard_test(cph, data, time_transform="rank").summary
    rows = [
        {"model": model, "diagnostic": f"ph_test[{t}]", "value": float(ph.loc[t, "p"]), "threshold": PH_ALPHA,
         "passed": bool(ph.loc[t, "p"] >= PH_ALPHA), "rule": "p-value >= threshold (proportional hazards not rejected)",
         "detail": f"Schoenfeld residuals vs rank of time, model-based variance, chi2 = {ph.loc[t, 'test_statistic']:.2f}"}
        for t in ph.index
    ]
    rows.append(
        {"model": model, "diagnostic": "n_counties", "value": G, "threshold": WARN_COUNTIES,
         "passed": G >= WARN_COUNTIES, "rule": "value >= threshold (clusters for robust SEs)",
         "detail": f"delete-one-county jackknife standard errors, t({G - 1}) intervals"})
    rows.append(
        {"model": model, "diagnostic": "events_per_parameter", "value": n_events / X.shape[1], "threshold": 10.0,
         "passed": n_events / X.shape[1] >= 10, "rule": "value >= threshold",
         "detail": f"{n_events} events, {X.shape[1]} parameters"}
    )
    failed = [r["diagnostic"][8:-1] for r in rows if r["diagnostic"].startswith("ph_test") and not r["passed"]]
    if failed:
        notes.append(f"proportional hazards rejected (p < {PH_ALPHA}) for " + ", ".join(failed))
    notes += [t for t in texts if t not in conv]
    return est, diagnostics_frame(rows), counts, notes, n


def _cox(data: pd.DataFrame):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph = CoxPHFitter().fit(data, "_T", "_E")
    texts = warning_texts(caught)
    conv = [t for t in texts if "converge" in t.lower() or "collinear" in t.lower() or "variance" in t.lower()]
    return cph, texts, conv


def _county_jackknife_se(data: pd.DataFrame, county: np.ndarray, counties: list[str], beta: pd.Series,
                         n: int) -> pd.Series:
    """Delete-one-county jackknife standard errors (CV3), centred at the full-sample estimate."""
    G = len(counties)
    dev = []
    for g in counties:
        part = data.loc[county != g]
        if part["_E"].sum() == 0:
            raise NotFitted(f"without county {g} no events remain: the county jackknife cannot be computed", n=n)
        constant = [c for c in part.columns if c not in ("_T", "_E") and part[c].nunique() < 2]
        if constant:
            raise NotFitted(f"without county {g}, {', '.join(constant)} is constant: the county jackknife"
                            " cannot be computed (a category lives in one county only)", n=n)
        cph, _, conv = _cox(part)
        if conv:
            raise NotFitted(f"the Cox model without county {g} did not fit cleanly: {conv[0]}", n=n)
        dev.append(cph.params_.reindex(beta.index).to_numpy() - beta.to_numpy())
    dev = np.asarray(dev)
    var = (G - 1) / G * (dev**2).sum(axis=0)
    return pd.Series(np.sqrt(var), index=beta.index)
