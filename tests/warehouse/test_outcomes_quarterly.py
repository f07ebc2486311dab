"""Headline figures, by group and by quarter, on a tiny hand-written delivery.

Cut-off C = 15.5.2024: the quarter 2024Q2 is not complete, so the last quarter is 2024Q1.

  client  county     S          consent     service end  jobs / activities
  QRT001  Kainuu     20.8.2023  = S         -            competitive 10.9.-5.10.2023 (unsubsidised);
                                                         competitive 15.1.2024- (subsidised, ongoing)
  QRT002  Kainuu     2.11.2023  = S         31.12.2023   work trial 20.11.2023-
  QRT003  Pohjanmaa  1.2.2024   = S         -            competitive 31.3.-10.4.2024 (unsubsidised)
  QRT004  Pohjanmaa  5.4.2024   = S         -            studies 1.3.2024 (before S: not counted)
  QRT005  Kainuu     10.7.2023  20.1.2024   -            -
Waves: QRT001 '1', the others '2'. Birth years: QRT003 1994 (age 30), QRT004 1995 (age 29), others 1985.
"""

from __future__ import annotations

import datetime as dt

import pytest

from outcome_fixtures import delivered_warehouse


C = dt.date(2024, 5, 15)

CLIENTS = [
    {"person_id": "QRT001", "alue": "Kainuu", "aloituspvm": "2023-08-20", "aalto": "1"},
    {"person_id": "QRT002", "alue": "Kainuu", "aloituspvm": "2023-11-02", "lopetuspvm": "2023-12-31",
     "lopetussyy": "keskeytti"},
    {"person_id": "QRT003", "alue": "Pohjanmaa", "aloituspvm": "2024-02-01", "syntymavuosi": 1994},
    {"person_id": "QRT004", "alue": "Pohjanmaa", "aloituspvm": "2024-04-05", "syntymavuosi": 1995},
    {"person_id": "QRT005", "alue": "Kainuu", "aloituspvm": "2023-07-10", "tutkimussuostumus": "2024-01-20"},
]
JOBS = [
    {"person_id": "QRT001", "tyonantaja": "EMP1", "alkupvm": "2023-09-10", "loppupvm": "2023-10-05"},
    {"person_id": "QRT001", "tyonantaja": "EMP2", "alkupvm": "2024-01-15", "palkkatuki": True},
    {"person_id": "QRT002", "tyyppi": "tyokokeilu", "tyonantaja": None, "avoimet_markkinat": None,
     "palkkatuki": None, "alkupvm": "2023-11-20"},
    {"person_id": "QRT003", "tyonantaja": "EMP3", "alkupvm": "2024-03-31", "loppupvm": "2024-04-10"},
    {"person_id": "QRT004", "tyyppi": "opiskelu", "tyonantaja": None, "avoimet_markkinat": None,
     "palkkatuki": None, "alkupvm": "2024-03-01"},
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    con = delivered_warehouse(tmp_path_factory.mktemp("quarterly"), C, clients=CLIENTS, jobs=JOBS)
    assert con.execute("SELECT count(*) FROM audit.rejected_rows").fetchone()[0] == 0
    yield con
    con.close()


HEADLINE = (
    "n_clients, n_competitive, rate_competitive, n_unsubsidised, rate_unsubsidised,"
    " n_tenure6, n_tenure6_eligible, rate_tenure6, n_tenure12, n_tenure12_eligible, rate_tenure12,"
    " n_employed6, n_employed6_eligible, rate_employed6, n_employed12, n_employed12_eligible, rate_employed12,"
    " n_jobs, median_job_days, n_other_activity"
)


def approx_row(row):
    return tuple(pytest.approx(v) if isinstance(v, float) else v for v in row)


def test_headline_figures_per_county_and_all(wh):
    # Jobs at C: QRT001 EMP1 10.9.-5.10.2023 = 21 + 5 = 26 days; EMP2 15.1.2024- ongoing to C:
    # 17 + 29 + 31 + 30 + 15 = 122 days; QRT003 31.3.-10.4.2024 = 1 + 10 = 11 days.
    # Tenure6 eligible (start + 6 months <= 16.5.2024): QRT001 (10.9.2023 -> 10.3.2024), not
    # QRT003 (31.3. -> 30.9.2024); QRT001's first job ended 5.10.2023: not lasted.
    # Tenure12: 10.9.2024 > 16.5.2024: nobody eligible. Employed6 eligible (S + 6 <= C):
    # QRT001 20.2.2024 (in EMP2 then: yes), QRT002 2.5.2024 (no job), QRT005 10.1.2024 (no job);
    # QRT003 1.8.2024 and QRT004 5.10.2024 not. Employed12: 20.8.2024, 10.7.2024 > C: nobody.
    # Other activity: QRT002 (work trial); QRT004's studies began before S.
    rows = {r[0]: r[1:] for r in wh.execute(f"SELECT alue, {HEADLINE} FROM marts.employment_outcomes").fetchall()}
    assert set(rows) == {"Kainuu", "Pohjanmaa", "ALL"}
    #                                  clients comp  rate   unsub rate   ten6 el rate ten12 el rate emp6 el rate  emp12 el rate jobs med  other
    assert rows["Kainuu"] == approx_row((3, 1, 1 / 3, 1, 1 / 3, 0, 1, 0.0, 0, 0, None, 1, 3, 1 / 3, 0, 0, None, 2, 74.0, 1))
    assert rows["Pohjanmaa"] == approx_row((2, 1, 0.5, 1, 0.5, 0, 0, None, 0, 0, None, 0, 0, None, 0, 0, None, 1, 11.0, 0))
    # ALL: median of 11, 26, 122 = 26
    assert rows["ALL"] == approx_row((5, 2, 0.4, 2, 0.4, 0, 1, 0.0, 0, 0, None, 1, 3, 1 / 3, 0, 0, None, 3, 26.0, 1))


def test_headline_figures_by_group(wh):
    # Wave 1 = QRT001 only: 1 client, competitive, jobs of 26 and 122 days -> median 74.
    # Wave 2 = QRT002-5: 4 clients, competitive QRT003, one job of 11 days.
    # Age group: QRT004 2024 - 1995 = 29 -> '<30'; QRT003 2024 - 1994 = 30 -> '30-39'.
    got = {(r[0], r[1]): r[2:] for r in wh.execute(
        "SELECT grouping, group_value, n_clients, n_competitive, n_jobs, median_job_days"
        " FROM marts.employment_outcomes_by_group WHERE alue = 'ALL'"
    ).fetchall()}
    assert got[("wave", "1")] == (1, 1, 2, 74.0)
    assert got[("wave", "2")] == (4, 1, 1, 11.0)
    assert got[("age_group", "<30")] == (1, 0, 0, None)
    assert got[("age_group", "30-39")] == (4, 2, 3, 26.0)
    # county rows exist for every group value seen, with zeros where nobody is
    assert wh.execute(
        "SELECT n_clients FROM marts.employment_outcomes_by_group"
        " WHERE alue = 'Kainuu' AND grouping = 'age_group' AND group_value = '<30'"
    ).fetchone() == (0,)


def test_quarterly_employment_rate_on_a_tiny_case(wh):
    # Served in [qs, qe]: S <= qe and service end blank or >= qs (study population at C, so
    # QRT005 counts from 2023Q3 although its consent came in 2024).
    # 2023Q3 Kainuu: QRT001, QRT005 served; QRT001 working (EMP1 10.9.-5.10.) unsubsidised -> 1/2.
    # 2023Q4 Kainuu: + QRT002 (S 2.11., end 31.12.) = 3 served; QRT001's EMP1 ends 5.10. >= 1.10. -> 1.
    # 2024Q1 Kainuu: QRT002 ended 31.12. < 1.1. -> 2 served; QRT001 in EMP2 (subsidised) -> 1 working,
    #                0 unsubsidised.
    # 2024Q1 Pohjanmaa: QRT003 (S 1.2.) served, EMP3 starts 31.3. <= qe -> working, unsubsidised;
    #                QRT004 (S 5.4.2024) is not served in 2024Q1. Pohjanmaa starts at 2024Q1.
    # ALL: 2023Q3 2/1/1, 2023Q4 3/1/1, 2024Q1 3/2/1. 2024Q2 is not complete by C.
    got = wh.execute(
        "SELECT alue, quarter, n_served, n_working, rate_working, n_working_unsubsidised, rate_working_unsubsidised"
        " FROM marts.employment_rate_by_quarter ORDER BY alue, quarter"
    ).fetchall()
    assert [approx_row(r) for r in got] == [
        ("ALL", "2023Q3", 2, 1, 0.5, 1, 0.5),
        ("ALL", "2023Q4", 3, 1, 1 / 3, 1, 1 / 3),
        ("ALL", "2024Q1", 3, 2, 2 / 3, 1, 1 / 3),
        ("Kainuu", "2023Q3", 2, 1, 0.5, 1, 0.5),
        ("Kainuu", "2023Q4", 3, 1, 1 / 3, 1, 1 / 3),
        ("Kainuu", "2024Q1", 2, 1, 0.5, 0, 0.0),
        ("Pohjanmaa", "2024Q1", 1, 1, 1.0, 1, 1.0),
    ]
    assert wh.execute(
        "SELECT quarter_start, quarter_end FROM marts.employment_rate_by_quarter WHERE alue = 'ALL' AND quarter = '2023Q4'"
    ).fetchone() == (dt.date(2023, 10, 1), dt.date(2023, 12, 31))


def test_quarterly_headline_reapplies_every_rule_at_each_quarter_end(wh):
    # At qe = 30.9.2023: population QRT001 only (QRT005 consented 20.1.2024 > qe); EMP1 ends
    # 5.10.2023 > qe -> ongoing at qe, 10.9.-30.9. = 21 days.
    # At qe = 31.12.2023: QRT001, QRT002; jobs: EMP1 (26 days); EMP2 starts after qe.
    # At qe = 31.3.2024: + QRT003, QRT005 = 4 clients; competitive QRT001, QRT003; jobs EMP1 26,
    # EMP2 15.1.-31.3. = 17 + 29 + 31 = 77, EMP3 31.3. (end 10.4. > qe) = 1 -> median 26;
    # employed6 eligible: QRT001 (20.2.2024) in EMP2 then -> 1/1 (QRT005: 10.1.2024 eligible -> 1/2).
    # tenure6 eligible: QRT001's first job 10.9.2023 + 6 months = 10.3.2024 <= 1.4.2024 -> 0/1.
    got = wh.execute(
        "SELECT quarter, quarter_end, n_clients, n_competitive, n_jobs, median_job_days, n_employed6,"
        " n_employed6_eligible, n_tenure6, n_tenure6_eligible, n_other_activity"
        " FROM marts.employment_outcomes_quarterly WHERE alue = 'ALL' ORDER BY quarter"
    ).fetchall()
    assert got == [
        ("2023Q3", dt.date(2023, 9, 30), 1, 1, 1, 21.0, 0, 0, 0, 0, 0),
        ("2023Q4", dt.date(2023, 12, 31), 2, 1, 1, 26.0, 0, 0, 0, 0, 1),
        ("2024Q1", dt.date(2024, 3, 31), 4, 2, 3, 26.0, 1, 2, 0, 1, 1),
    ]
    # Pohjanmaa's quarters start at 2024Q1 (its first IPS start, 1.2.2024)
    assert wh.execute(
        "SELECT list(quarter ORDER BY quarter) FROM marts.employment_outcomes_quarterly WHERE alue = 'Pohjanmaa'"
    ).fetchone()[0] == ["2024Q1"]


def test_a_quarter_with_nobody_in_service_counts_zero_and_has_no_rate(tmp_path):
    # Lappi's one client is served in 2023Q3 only (S 1.7., end 31.8.); Lappi's quarters run on
    # to the last complete one, 2024Q1: nobody is served in 2023Q4 and 2024Q1, so every count
    # is 0 (a count, never missing: the column's contract is not null) and every rate missing.
    con = delivered_warehouse(tmp_path, C, clients=[
        {"person_id": "QRT101", "alue": "Lappi", "aloituspvm": "2023-07-01", "lopetuspvm": "2023-08-31",
         "lopetussyy": "keskeytti"}], jobs=[])
    got = con.execute(
        "SELECT quarter, n_served, n_working, n_working_unsubsidised, rate_working, rate_working_unsubsidised"
        " FROM marts.employment_rate_by_quarter WHERE alue = 'Lappi' ORDER BY quarter").fetchall()
    con.close()
    assert got == [("2023Q3", 1, 0, 0, 0.0, 0.0), ("2023Q4", 0, 0, 0, None, None), ("2024Q1", 0, 0, 0, None, None)]
