"""The longer follow-up of marts.register_outcomes (ANALYSIS_PLAN "Register outcomes"): the 24-
and 36-month windows, each missing unless it ends on or before the cut-off C.

Two persons, each built at two cut-offs one day apart; every expected value worked out by hand.

* CMP024, index 15.7.2023 (index month July 2023): the 24-month window is July 2023..June 2025
  and ends 30.6.2025; the 12-month window ends 30.6.2024.
* CMP036, index 1.7.2022 (index month July 2022): the 36-month window is July 2022..June 2025
  and ends 30.6.2025.

At C = 29.6.2025 both windows end one day after C: missing. At C = 30.6.2025 they end on C: counted.
"""

from __future__ import annotations

import datetime as dt

import pytest

from outcome_fixtures import staging_warehouse

DAY_BEFORE = dt.date(2025, 6, 29)
WINDOW_END = dt.date(2025, 6, 30)

COHORT = [{"person_id": "CMP024", "ips": 0, "indeksipvm": "2023-07-15"},
          {"person_id": "CMP036", "ips": 0, "indeksipvm": "2022-07-01"}]
EMPLOYMENT = [
    # CMP024: Sep 2023..Feb 2024 (rel 2..7: 6 months) and from Nov 2024, open (rel 16 onwards).
    {"person_id": "CMP024", "start_date": "2023-09-10", "end_date": "2024-02-05"},
    {"person_id": "CMP024", "start_date": "2024-11-20"},
    # CMP036: Jun 2022 and Jul 2022 (rel -1 and 0), and from 29.6.2025 (rel 35), open.
    {"person_id": "CMP036", "start_date": "2022-06-15", "end_date": "2022-07-01"},
    {"person_id": "CMP036", "start_date": "2025-06-29"},
]
EARNINGS = [
    {"person_id": "CMP024", "month": "2023-07-01", "ansiot_eur": 100.0},   # rel 0
    {"person_id": "CMP024", "month": "2024-06-01", "ansiot_eur": 200.0},   # rel 11
    {"person_id": "CMP024", "month": "2024-07-01", "ansiot_eur": 400.0},   # rel 12
    {"person_id": "CMP024", "month": "2025-06-01", "ansiot_eur": 800.0},   # rel 23
    {"person_id": "CMP024", "month": "2025-07-01", "ansiot_eur": 1600.0},  # rel 24: after both windows
    {"person_id": "CMP036", "month": "2025-05-01", "ansiot_eur": 10.0},    # rel 34
    {"person_id": "CMP036", "month": "2025-06-01", "ansiot_eur": 50.25},   # rel 35
]
BENEFITS = [
    # CMP024: rehabilitation allowance 25.6.-3.7.2024 covers June (rel 11) and July 2024 (rel 12);
    # the unemployment benefit is not a disability-group benefit.
    {"person_id": "CMP024", "etuus": "kuntoutusraha", "benefit_group": "disability",
     "start_date": "2024-06-25", "end_date": "2024-07-03"},
    {"person_id": "CMP024", "etuus": "tyottomyysturva", "benefit_group": "unemployment",
     "start_date": "2023-08-01", "end_date": "2023-08-31"},
]
COLUMNS = ("employed_months_post12", "earnings_post12", "benefit_months_post12",
           "employed_months_post24", "earnings_post24", "benefit_months_post24",
           "employed_months_post36", "earnings_post36", "benefit_months_post36")


def outcomes(cutoff: dt.date) -> dict[str, dict[str, object]]:
    con = staging_warehouse(cutoff, cohort=COHORT, employment=EMPLOYMENT, earnings=EARNINGS, benefits=BENEFITS)
    try:
        rows = con.execute(f"SELECT person_id, {', '.join(COLUMNS)} FROM marts.register_outcomes").fetchall()
    finally:
        con.close()
    return {r[0]: dict(zip(COLUMNS, r[1:])) for r in rows}


@pytest.fixture(scope="module")
def day_before():
    return outcomes(DAY_BEFORE)


@pytest.fixture(scope="module")
def window_end():
    return outcomes(WINDOW_END)


def test_a_24_month_window_ending_one_day_after_the_cutoff_is_missing(day_before, window_end):
    # C = 29.6.2025: the window ends 30.6.2025 = C + 1 day -> the three _post24 missing; the
    # 12-month window (ended 30.6.2024) is counted: employed rel 2..7 = 6; earnings
    # 100 + 200 = 300; benefit June 2024 = 1.
    got = day_before["CMP024"]
    assert (got["employed_months_post24"], got["earnings_post24"], got["benefit_months_post24"]) == (None, None, None)
    assert (got["employed_months_post12"], got["earnings_post12"], got["benefit_months_post12"]) == (6, 300.0, 1)
    # C = 30.6.2025: counted. Employed rel 2..7 (6) + Nov 2024..Jun 2025 (rel 16..23, 8) = 14;
    # earnings 100 + 200 + 400 + 800 = 1500 (July 2025 is rel 24, outside); benefit June and July 2024 = 2.
    got = window_end["CMP024"]
    assert (got["employed_months_post24"], got["earnings_post24"], got["benefit_months_post24"]) == (14, 1500.0, 2)
    # Its 36-month window ends 30.6.2026: missing at both cut-offs.
    assert (got["employed_months_post36"], got["earnings_post36"], got["benefit_months_post36"]) == (None, None, None)


def test_a_36_month_window_ending_one_day_after_the_cutoff_is_missing(day_before, window_end):
    got = day_before["CMP036"]
    assert (got["employed_months_post36"], got["earnings_post36"], got["benefit_months_post36"]) == (None, None, None)
    # Its 24-month window ended 30.6.2024: employed rel 0 only = 1; no earnings in rel 0..23 -> 0, not missing.
    assert (got["employed_months_post24"], got["earnings_post24"], got["benefit_months_post24"]) == (1, 0.0, 0)
    # C = 30.6.2025: employed rel 0 and rel 35 (from 29.6.2025) = 2; earnings 10 + 50.25; no benefit.
    got = window_end["CMP036"]
    assert (got["employed_months_post36"], got["earnings_post36"], got["benefit_months_post36"]) == (2, 60.25, 0)
