"""Cox proportional hazards on the client covariates, with the proportional-hazards check.

Shared by `time_to_first_job`. Standard errors are clustered by county (as in model 1),
ties handled by Efron's method (lifelines' default). The proportional-hazards check is
lifelines' `proportional_hazard_test` (scaled Schoenfeld residuals against rank of time);
a term with p < 0.01 is recorded as a failed diagnostic and turns the fit into a warning:
its hazard ratio is then an average over follow-up, not a constant.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph = CoxPHFitter().fit(d, "_T", "_E", cluster_col="_county")
    texts = warning_texts(caught)
    conv = [t for t in texts if "converge" in t.lower() or "collinear" in t.lower() or "variance" in t.lower()]
    if conv:
        raise NotFitted(f"the Cox model did not fit cleanly: {conv[0]}", n=n)
    s = cph.summary
    if not np.all(np.isfinite(s["coef"])) or (s["coef"].abs() > 15).any():
        raise NotFitted("the Cox model gave infinite or extreme coefficients", n=n)
    est = estimates_frame(
        [
            {"model": model, "term": t, "estimate": s.loc[t, "exp(coef)"], "ci_low": s.loc[t, "exp(coef) lower 95%"],
             "ci_high": s.loc[t, "exp(coef) upper 95%"], "p_value": s.loc[t, "p"], "n": n}
            for t in s.index
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = proportional_hazard_test(cph, d, time_transform="rank").summary
    rows = [
        {"model": model, "diagnostic": f"ph_test[{t}]", "value": float(ph.loc[t, "p"]), "threshold": PH_ALPHA,
         "passed": bool(ph.loc[t, "p"] >= PH_ALPHA), "rule": "p-value >= threshold (proportional hazards not rejected)",
         "detail": f"Schoenfeld residuals vs rank of time, chi2 = {ph.loc[t, 'test_statistic']:.2f}"}
        for t in ph.index
    ]
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
