"""Model 3: how long the first competitive job lasts (Kaplan-Meier).

Time = `job_days` of the client's first competitive job (`core.competitive_jobs.is_first`),
counted end - start + 1; the event is the job's end, and a job ongoing at the cut-off is
censored at C. The share lasting at least k months is S just before k x 365.25/12 days -
unlike the table counts `n_tenure6/12`, it uses every first job, also those too recent
to have reached 6 or 12 months, through censoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ips_eval.definitions import FOLLOW_UP_MONTHS
from ips_eval.models import plots
from ips_eval.models.common import estimates_markdown, fmt
from ips_eval.models.result import ModelResult, NotFitted, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec
from ips_eval.models.survival import DAYS_PER_MONTH, km_fit, km_median, km_step_table, step_at

MODEL = "job_tenure"
MONTHS = FOLLOW_UP_MONTHS  # the plan's 6- and 12-month shares


@model_fit(MODEL)
def fit_job_tenure(jobs: pd.DataFrame) -> ModelResult:
    """Kaplan-Meier of the first job's length on the rows of `sql/models/job_tenure.sql`.

    Examples
    --------
    >>> result = fit_job_tenure(SPEC.load_frame(con))  # doctest: +SKIP
    """
    jobs = jobs.copy()
    if jobs["person_id"].duplicated().any():
        raise NotFitted("core.competitive_jobs has more than one first job (is_first) for some clients")
    jobs = jobs.dropna(subset=["job_days", "ongoing"])
    if (jobs["job_days"] < 1).any():
        raise NotFitted("first jobs with job_days < 1: fix core.competitive_jobs first")
    if jobs.empty:
        raise NotFitted("no first competitive job with a known length", n=0)
    jobs["ended"] = ~jobs["ongoing"].astype(bool)
    n = len(jobs)
    km_rows, summary_rows = [], []
    for group, g in [("ALL", jobs)] + sorted(jobs.groupby("alue"), key=lambda kv: kv[0]):
        kmf = km_fit(g["job_days"], g["ended"])
        km = km_step_table(kmf, group)
        med, lo, hi = km_median(kmf)
        row = {"group": group, "n": len(g), "n_ended": int(g["ended"].sum()), "n_ongoing": int((~g["ended"]).sum()),
               "median_days": med, "median_ci_low": lo, "median_ci_high": hi}
        for m in MONTHS:
            s, slo, shi = step_at(km, m * DAYS_PER_MONTH, before=True)
            row.update({f"share_{m}m": s, f"share_{m}m_ci_low": slo, f"share_{m}m_ci_high": shi})
        km_rows.append(km)
        summary_rows.append(row)
    km_all = pd.concat(km_rows, ignore_index=True)
    summary = pd.DataFrame(summary_rows)
    a = summary.iloc[0]
    est = estimates_frame(
        [
            {"model": MODEL, "term": f"share_lasting_{m}m", "estimate": a[f"share_{m}m"],
             "ci_low": a[f"share_{m}m_ci_low"], "ci_high": a[f"share_{m}m_ci_high"], "p_value": np.nan, "n": n}
            for m in MONTHS
        ]
        + [{"model": MODEL, "term": "median_days", "estimate": a["median_days"], "ci_low": a["median_ci_low"],
            "ci_high": a["median_ci_high"], "p_value": np.nan, "n": n}], estimator="kaplan_meier"
    )
    # An unreached median is infinite in lifelines; the warehouse gets NULL, not inf.
    est[["estimate", "ci_low", "ci_high"]] = est[["estimate", "ci_low", "ci_high"]].replace([np.inf, -np.inf], np.nan)
    fig = plots.later(lambda folder: plots.survival_curve(
        km_all, f"Length of the first competitive job (Kaplan-Meier, 95% band; n={n}, {int(a['n_ongoing'])} ongoing)",
        folder / f"{MODEL}_km.png", "Share of first jobs still going on",
        {f"{m} months": m * DAYS_PER_MONTH for m in MONTHS},
    ))
    md = (
        f"**{MODEL}**: n = {n} first jobs, {int(a['n_ended'])} ended, {int(a['n_ongoing'])} ongoing at C (censored)."
        f" Median length {fmt(a['median_days'], 0)} days.\n\n" + estimates_markdown(est, "share")
    )
    return ModelResult(
        model=MODEL, status="ok", reason=f"{n} first jobs; ongoing jobs censored at the cut-off", n=n,
        converged=True, estimates=est, tables={"km_job_tenure": km_all, "km_summary_job_tenure": summary},
        summary=md, extra={"figures": [fig]},
    )


SPEC = ModelSpec(
    name=MODEL,
    description="Model 3: how long the first competitive job lasts (Kaplan-Meier, jobs ongoing at the cut-off"
    " censored), with the shares lasting 6 and 12 months.",
    queries=("job_tenure.sql",),
    fit=fit_job_tenure,
)
