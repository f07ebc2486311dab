"""The time-to-first-job read-outs are the curve's true values at 3, 6, 12, 18 and 24 months
(docs/analysis_plan.md, disclosure rule 5), not the last pooled step before them."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.publish.disclosure import curve_value_at, publishable_curve
from ips_eval.publish.site.tables import DAYS_PER_MONTH, _time_to_first_job


def km_steps(times: list[int], events: list[int], n: int = 400) -> pd.DataFrame:
    """Kaplan-Meier steps (no censoring) of `n` people with `events[i]` first jobs on day `times[i]`."""
    at_risk = n - np.r_[0, np.cumsum(events)[:-1]]
    estimate = np.cumprod(1 - np.array(events) / at_risk)
    return pd.DataFrame({"time": times, "n_at_risk": at_risk, "n_events": events, "n_censored": 0,
                         "estimate": estimate, "ci_low": estimate - 0.05, "ci_high": estimate + 0.05})


def readouts(steps: pd.DataFrame) -> dict[str, float]:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA models")
    con.register("s", steps.assign(group="ALL"))
    con.execute('CREATE TABLE models.km_time_to_first_job AS SELECT * FROM s')
    table, _ = _time_to_first_job(con)
    return {r["months"]: float(r["share"]) for r in table.rows}


def true_share(steps: pd.DataFrame, day: float) -> float:
    return 1 - steps.loc[steps["time"] <= day, "estimate"].iloc[-1]


def test_readouts_after_day_242_are_the_true_values():
    # 6 events on day 242 and then a few in each half-year: before, the events after day 242
    # were pooled into the last step and 12, 18 and 24 months all read the value of day 242
    steps = km_steps([30, 90, 150, 242, 300, 400, 500, 600, 700, 800],
                     [8, 7, 6, 6, 5, 5, 6, 5, 5, 6])
    got = readouts(steps)
    for months in ("12", "18", "24"):
        assert got[months] == round(true_share(steps, int(months) * DAYS_PER_MONTH), 4), (months, got)
    assert len({got["12"], got["18"], got["24"]}) == 3


def test_a_readout_the_curve_cannot_show_exactly_is_left_out():
    # between 6 and 12 months only 2 events (day 300): showing the true value at 12 months
    # would show those 2; the curve pools them with the next ones and the read-out is not shown
    steps = km_steps([30, 90, 150, 180, 300, 400, 500, 600], [8, 7, 6, 6, 2, 6, 5, 6])
    got = readouts(steps)
    assert "12" not in got and "18" in got
    curve = publishable_curve(steps, at=[m * DAYS_PER_MONTH for m in (3, 6, 12, 18, 24)])
    # every published step still holds at least T events
    shown = set(curve["time"])
    events = steps.assign(step=[min(t for t in shown if t >= x) for x in steps["time"]])
    assert events.groupby("step")["n_events"].sum().min() >= T
    assert curve_value_at(steps, curve, 12 * DAYS_PER_MONTH) is None
