"""Model 11: time from the IPS start to the first face-to-face meeting with an employer.

The IPS standard asks for a first employer contact within a month of the start. Kaplan-Meier
overall and by county of the days from `S` to the first employer contact the coach survey states
(`core.coaching_clients.first_employer_contact`), over the clients with at least one coach
response (for the others nothing is known of their contacts, so they are not counted as
without one); a client without a contact is censored at the end of follow-up (service end, or
C), and a contact after the service end is no contact of the service (censored at the end).
Read-outs: the median with its interval and the share meeting an employer within 30 days
(`1 - S(30)`, the contact on or before `S + 30 days`, as `marts.coaching` counts it), with
lifelines' log(-log) Greenwood interval. Unlike `marts.coaching.rate_contact30` (clients whose
30 days have passed, without a stated contact counted as none) the curve also uses clients
followed for less than 30 days, censored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ips_eval.definitions import COACHING_DAYS
from ips_eval.models import plots
from ips_eval.models.common import estimates_markdown, fmt
from ips_eval.models.result import ModelResult, NotFitted, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec
from ips_eval.models.survival import km_fit, km_median, km_step_table, step_at

MODEL = "time_to_employer_contact"
#: The IPS standard: a first employer meeting within this many days of the start.
CONTACT_DAYS = COACHING_DAYS["employer_contact"]
#: The figure's time axis: the first year, where first contacts happen (the curve is flat after).
XMAX_DAYS = 365
SUMMARY_COLUMNS = ["group", "n", "n_events", "n_censored", "median_days", "median_ci_low", "median_ci_high",
                   f"share_{CONTACT_DAYS}d", f"share_{CONTACT_DAYS}d_ci_low", f"share_{CONTACT_DAYS}d_ci_high"]


def contact_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Days from S to the first employer contact (event) or to the end of follow-up (censored).

    Examples
    --------
    >>> d = pd.to_datetime(pd.Series(["2024-01-01", "2024-03-01", "2024-02-15"]))
    >>> f = pd.DataFrame({"ips_start": [d[0]] * 3, "followed_to": [d[1], d[1], d[2]],
    ...                   "first_employer_contact": [d[0] + pd.Timedelta(days=12), None, d[1]]})
    >>> contact_times(f)[["days", "event"]].values.tolist()
    [[12, True], [60, False], [45, False]]
    """
    start = pd.to_datetime(frame["ips_start"])
    end = pd.to_datetime(frame["followed_to"])
    contact = pd.to_datetime(frame["first_employer_contact"])
    event = contact.notna() & (contact <= end)
    days = (contact.where(event, end) - start).dt.days
    return frame.assign(days=days.astype("int64"), event=event.to_numpy(dtype=bool))


@model_fit(MODEL)
def fit_time_to_employer_contact(frame: pd.DataFrame) -> ModelResult:
    """Kaplan-Meier of the time to the first employer contact on the rows of
    `sql/models/time_to_employer_contact.sql`.

    Examples
    --------
    >>> result = fit_time_to_employer_contact(SPEC.load_frame(con))  # doctest: +SKIP
    """
    rated = frame[frame["n_coach_responses"].fillna(0) > 0]
    if rated.empty:
        raise NotFitted("no client has a coach response (coach_survey.csv not delivered or empty)", n=0)
    d = contact_times(rated)
    if (d["days"] < 0).any():
        raise NotFitted("a first employer contact or a follow-up end before S: fix core.coaching_clients first")
    n = len(d)
    km_rows, rows = [], []
    for group, g in [("ALL", d)] + sorted(d.groupby("alue", sort=True), key=lambda kv: kv[0]):
        kmf = km_fit(g["days"], g["event"])
        km = km_step_table(kmf, group)
        med, lo, hi = km_median(kmf)
        s, slo, shi = step_at(km, CONTACT_DAYS)
        rows.append({"group": group, "n": len(g), "n_events": int(g["event"].sum()),
                     "n_censored": int((~g["event"]).sum()), "median_days": med, "median_ci_low": lo,
                     "median_ci_high": hi, f"share_{CONTACT_DAYS}d": 1 - s, f"share_{CONTACT_DAYS}d_ci_low": 1 - shi,
                     f"share_{CONTACT_DAYS}d_ci_high": 1 - slo})
        km_rows.append(km)
    km_all = pd.concat(km_rows, ignore_index=True)
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    # An unreached median is infinite in lifelines; the warehouse gets NULL, not inf.
    summary = summary.replace([np.inf, -np.inf], np.nan)
    a = summary.iloc[0]
    est = estimates_frame([
        {"model": MODEL, "term": f"share_within_{CONTACT_DAYS}_days", "estimate": a[f"share_{CONTACT_DAYS}d"],
         "ci_low": a[f"share_{CONTACT_DAYS}d_ci_low"], "ci_high": a[f"share_{CONTACT_DAYS}d_ci_high"],
         "p_value": np.nan, "n": n},
        {"model": MODEL, "term": "median_days", "estimate": a["median_days"], "ci_low": a["median_ci_low"],
         "ci_high": a["median_ci_high"], "p_value": np.nan, "n": n},
    ], estimator="kaplan_meier")
    figures = [plots.later(lambda folder: plots.curves_by_group(
        km_all, f"Time to the first employer contact by county\n(1 - Kaplan-Meier, 95% band; n={n} coach-rated"
        f" clients; the IPS standard: within {CONTACT_DAYS} days)",
        folder / f"{MODEL}_km_by_county.png", "Share who met an employer", cumulative=True, xmax=XMAX_DAYS))]
    left_out = len(frame) - n
    reason = (f"{n} clients with a coach response, {int(a['n_events'])} with a first employer contact"
              + (f"; {left_out} clients without a coach response left out" if left_out else ""))
    md = (f"**{MODEL}**: n = {n} coach-rated clients, {int(a['n_events'])} met an employer. Median"
          f" {fmt(a['median_days'], 0)} days; within {CONTACT_DAYS} days"
          f" {fmt(100 * a[f'share_{CONTACT_DAYS}d'], 1)} %.\n\n" + estimates_markdown(est, "estimate"))
    return ModelResult(model=MODEL, status="ok", reason=reason, n=n, converged=True, estimates=est,
                       tables={MODEL: summary, f"km_{MODEL}": km_all}, summary=md, extra={"figures": figures})


SPEC = ModelSpec(
    name=MODEL,
    description="Model 11: time from the IPS start to the first employer contact (Kaplan-Meier by county over the"
    " coach-rated clients, follow-up censored at service end or the cut-off), its median and the share within"
    " 30 days (the IPS standard).",
    queries=("time_to_employer_contact.sql",),
    fit=fit_time_to_employer_contact,
)
