"""Model 2: time from IPS start to the first competitive job.

- Kaplan-Meier overall and by county, with leaving the service censored (the cut-off C
  and service end both end follow-up; `core.client_outcomes.ttf_days`/`ttf_event`);
- because leaving the service without a job is not ordinary censoring (those clients are
  unlikely to get a job later through IPS), the Aalen-Johansen cumulative incidence with
  service end as a competing event is given beside 1 - KM; 1 - KM overstates the share
  that would get a job when many leave early;
- Cox proportional hazards on the covariates of model 1 (cause-specific hazard ratios,
  service end censored), hazard ratios into `models.estimates`.

If the Cox model cannot be fitted (too few events, a category without jobs), the
Kaplan-Meier and cumulative-incidence tables are still written - they are descriptive
and valid on their own - and the fit log says `warning` with the reason; no hazard
ratio is written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ips_eval.definitions import FOLLOW_UP_MONTHS
from ips_eval.models import plots
from ips_eval.models.common import estimates_markdown, fmt
from ips_eval.models.cox import fit_cox
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, empty_estimates, model_fit
from ips_eval.models.spec import ModelSpec
from ips_eval.models.survival import DAYS_PER_MONTH, aalen_johansen, km_fit, km_median, km_step_table, step_at, step_values

MODEL = "time_to_first_job"
MONTHS = FOLLOW_UP_MONTHS  # the plan's 6- and 12-month shares


@model_fit(MODEL)
def fit_time_to_first_job(df: pd.DataFrame) -> ModelResult:
    """Kaplan-Meier, Aalen-Johansen and Cox on the rows of `sql/models/time_to_first_job.sql`.

    Examples
    --------
    >>> result = fit_time_to_first_job(SPEC.load_frame(con))  # doctest: +SKIP
    """
    bad = df["ttf_days"].isna() | df["ttf_event"].isna()
    if bad.all():
        raise NotFitted("ttf_days/ttf_event are missing for every client", n=0)
    if (df.loc[~bad, "ttf_days"] < 0).any():
        raise NotFitted("negative ttf_days (job or censoring before IPS start): fix core.client_outcomes first")
    d = df.loc[~bad].copy()
    d["ttf_event"] = d["ttf_event"].astype(bool)
    d["ttf_competing"] = d["ttf_competing"].fillna(False).astype(bool) & ~d["ttf_event"]
    d["code"] = np.where(d["ttf_event"], 1, np.where(d["ttf_competing"], 2, 0))
    n = len(d)

    km_rows, cif_rows, summary_rows = [], [], []
    for group, g in [("ALL", d)] + sorted(d.groupby("alue", sort=True), key=lambda kv: kv[0]):
        kmf = km_fit(g["ttf_days"], g["ttf_event"])
        km = km_step_table(kmf, group)
        aj = aalen_johansen(g["ttf_days"], g["code"])
        aj.insert(0, "group", group)
        for src, dst in (("estimate", "one_minus_km"), ("ci_high", "one_minus_km_ci_low"), ("ci_low", "one_minus_km_ci_high")):
            aj[dst] = 1 - step_values(km, aj["time"], src)
        med, med_lo, med_hi = km_median(kmf)
        row = {"group": group, "n": len(g), "n_events": int(g["ttf_event"].sum()),
               "n_competing": int(g["ttf_competing"].sum()), "median_days": med,
               "median_ci_low": med_lo, "median_ci_high": med_hi}
        for m in MONTHS:
            t = m * DAYS_PER_MONTH
            s, lo, hi = step_at(km, t)
            f, flo, fhi = step_at(aj.rename(columns={"cif": "estimate"}), t, ("estimate", "ci_low", "ci_high"))
            row.update({f"cuminc_{m}m": 1 - s, f"cuminc_{m}m_ci_low": 1 - hi, f"cuminc_{m}m_ci_high": 1 - lo,
                        f"cif_{m}m": f, f"cif_{m}m_ci_low": flo, f"cif_{m}m_ci_high": fhi})
        km_rows.append(km)
        cif_rows.append(aj)
        summary_rows.append(row)
    km_all = pd.concat(km_rows, ignore_index=True)
    cif_all = pd.concat(cif_rows, ignore_index=True)
    summary = pd.DataFrame(summary_rows)

    figures = [
        plots.later(lambda folder: plots.curves_by_group(
            km_all, "Time to first competitive job by county\n(1 - Kaplan-Meier, 95% band; service end censored)",
            folder / f"{MODEL}_km_by_county.png", "Share with a first job", cumulative=True,
        )),
        plots.later(lambda folder: plots.cif_vs_km(cif_all, f"Time to first competitive job, all counties (n={n})",
                                                   folder / f"{MODEL}_cif.png")),
    ]

    notes = []
    if bad.any():
        notes.append(f"{int(bad.sum())} clients without ttf_days/ttf_event left out")
    try:
        est, diag, counts, cox_notes, n_cox = fit_cox(d, MODEL, "ttf_days", "ttf_event", "with a first competitive job")
        notes += cox_notes
        status = "warning" if len(cox_notes) > 1 else "ok"
        cox_md = f"Cox PH (n = {n_cox}, clustered by county):\n\n" + estimates_markdown(est, "HR")
        tables_extra = {"term_counts": counts}
    except NotFitted as e:
        est, diag, tables_extra = empty_estimates(), diagnostics_frame([]), {}
        notes.append(f"Cox model not fitted: {e.reason}; Kaplan-Meier and cumulative incidence are given")
        status = "warning"
        cox_md = f"Cox PH not fitted: {e.reason}"
    all_row = summary.iloc[0]
    md = (
        f"**{MODEL}**: n = {n} clients, {int(all_row['n_events'])} first jobs, {int(all_row['n_competing'])} left the"
        f" service without a job. Median {fmt(all_row['median_days'], 0)} days; by 6 months"
        f" {fmt(100 * all_row['cuminc_6m'], 1)} % (1-KM) / {fmt(100 * all_row['cif_6m'], 1)} % (competing risks),"
        f" by 12 months {fmt(100 * all_row['cuminc_12m'], 1)} % / {fmt(100 * all_row['cif_12m'], 1)} %.\n\n{cox_md}"
    )
    return ModelResult(
        model=MODEL, status=status, reason="; ".join(notes), n=n, converged=True if len(est) else None,
        estimates=est, diagnostics=diag, summary=md, extra={"figures": figures},
        tables={"km_time_to_first_job": km_all, "cif_time_to_first_job": cif_all,
                "km_summary_time_to_first_job": summary, **tables_extra},
    )


SPEC = ModelSpec(
    name=MODEL,
    description="Model 2: time from the IPS start to the first competitive job: Kaplan-Meier by county, the "
    "cumulative incidence with leaving the service as a competing event, and Cox hazard ratios (county-"
    "jackknife SEs).",
    queries=("time_to_first_job.sql",),
    fit=fit_time_to_first_job,
)
