"""The rules of ANALYSIS_PLAN, one test per rule, on one hand-written delivery (end to end:
load_delivery -> build_staging -> build_outcomes). Each client pins one rule; every
expected value is worked out by hand in the test.

Cut-off C = 30.6.2024 (a quarter end). County Kainuu unless said otherwise.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from outcome_fixtures import delivered_warehouse


C = dt.date(2024, 6, 30)
D = dt.date.fromisoformat


def job(person_id, start, end=None, employer="EMP1", **kw):
    return {"person_id": person_id, "tyonantaja": employer, "alkupvm": start, "loppupvm": end, **kw}


def activity(person_id, kind, start, end=None):
    return {"person_id": person_id, "tyyppi": kind, "tyonantaja": None, "avoimet_markkinat": None,
            "palkkatuki": None, "alkupvm": start, "loppupvm": end}


CLIENTS = [
    {"person_id": "MONTH1", "aloituspvm": "2023-08-31"},
    {"person_id": "MONTH2", "aloituspvm": "2023-01-31"},
    {"person_id": "MONTH3", "aloituspvm": "2023-01-31"},
    {"person_id": "LEAP04", "aloituspvm": "2020-02-29", "aalto": "1"},
    {"person_id": "ONGO05", "aloituspvm": "2023-06-15"},
    {"person_id": "LATE06", "aloituspvm": "2023-06-15"},
    {"person_id": "TIE007", "aloituspvm": "2023-03-01"},
    {"person_id": "EARLY08", "aloituspvm": "2023-04-01"},
    {"person_id": "BEFORE9", "aloituspvm": "2023-05-01"},
    {"person_id": "AFTER10", "aloituspvm": "2023-05-01"},
    {"person_id": "SUBS11", "aloituspvm": "2023-05-01"},
    {"person_id": "NONOPEN12", "aloituspvm": "2023-05-01"},
    {"person_id": "MUU013", "aloituspvm": "2023-05-01"},
    {"person_id": "BOTH14", "aloituspvm": "2023-05-01"},
    # two versions of one client record: the later paivitetty (Pohjanmaa) is current
    {"person_id": "VERS15", "aloituspvm": "2023-05-01", "alue": "Pohjanmaa", "paivitetty": "2023-06-01 10:00"},
    {"person_id": "VERS15", "aloituspvm": "2023-05-01", "alue": "Kainuu", "paivitetty": "2023-05-01 10:00"},
    # time to first job: service ended before the first job / on the day it started
    {"person_id": "ENDED16", "aloituspvm": "2023-05-01", "lopetuspvm": "2023-09-30"},
    {"person_id": "ENDED17", "aloituspvm": "2023-05-01", "lopetuspvm": "2023-09-30"},
    # who is counted
    {"person_id": "WDRAW1", "aloituspvm": "2023-05-01", "suostumus_peruttu": "2024-03-01"},
    {"person_id": "WDRAW2", "aloituspvm": "2023-05-01", "suostumus_peruttu": "2024-08-01"},
    {"person_id": "FUTURE3", "aloituspvm": "2024-07-15", "tutkimussuostumus": "2024-06-01"},
    {"person_id": "NOCONS4", "aloituspvm": "2023-05-01", "tutkimussuostumus": None},
    {"person_id": "LATECONS5", "aloituspvm": "2023-05-01", "tutkimussuostumus": "2024-07-01"},
    {"person_id": "NOREG6", "aloituspvm": "2023-05-01", "rekisterisuostumus": None},
    {"person_id": "NOREG7", "aloituspvm": "2023-05-01", "rekisterisuostumus": False},
]

JOBS = [
    job("ENDED16", "2023-11-01", "2024-01-31"),
    job("ENDED17", "2023-09-30", "2024-01-31"),
    job("MONTH1", "2023-08-31", "2024-02-28"),
    job("MONTH2", "2023-01-31", "2023-07-30"),
    job("MONTH3", "2023-01-31", "2023-07-29"),
    job("LEAP04", "2020-02-29", "2021-02-27"),
    job("ONGO05", "2023-07-01"),
    job("LATE06", "2023-07-01", "2024-12-31"),
    job("TIE007", "2023-04-01", "2023-06-30", employer="EMPA"),
    job("TIE007", "2023-04-01", "2023-12-31", employer="EMPB"),
    job("EARLY08", "2023-05-01", "2023-05-31", employer="EMPA"),
    job("EARLY08", "2023-05-02", None, employer="EMPB"),
    job("BEFORE9", "2023-04-30"),
    activity("BEFORE9", "tyokokeilu", "2023-06-01", "2023-06-30"),
    job("AFTER10", "2024-07-01"),
    activity("AFTER10", "tyokokeilu", "2024-07-02"),
    job("SUBS11", "2023-06-01", palkkatuki=True),
    job("NONOPEN12", "2023-06-01", avoimet_markkinat=False),
    activity("MUU013", "muu", "2023-06-01"),
    job("BOTH14", "2023-06-01", "2023-06-30"),
    activity("BOTH14", "opiskelu", "2023-09-01"),
    # record versions of one job (VERS15, EMPV, 1.6.2023): newest first in the file, plus an
    # exact duplicate of it; the current version ends 31.8.2023
    job("VERS15", "2023-06-01", "2023-08-31", employer="EMPV", paivitetty="2023-09-01 10:00"),
    job("VERS15", "2023-06-01", None, employer="EMPV", paivitetty="2023-06-02 09:00"),
    job("VERS15", "2023-06-01", "2023-08-31", employer="EMPV", paivitetty="2023-09-01 10:00"),
    job("WDRAW1", "2023-06-01"),
    job("WDRAW2", "2023-06-01"),
]


def items(prefix: str, values: list) -> dict:
    return {f"{prefix}_{i}": v for i, v in enumerate(values, start=1)}


# Survey responses of MONTH1. R_A: nothing missing; R_B: every score at its missing-item
# limit; R_C: every score one item past its limit.
R_OLD = {"person_id": "MONTH1", "vastauspvm": "2023-09-01", "tyokyky": 1, **items("swemwbs", [1] * 7)}
R_A = {"person_id": "MONTH1", "vastauspvm": "2023-09-15", "tyokyky": 7,
       **items("swemwbs", [1, 2, 3, 4, 5, 1, 2]), **items("eurohis", [1, 2, 3, 4, 5, 1, 2, 3]),
       **items("osallisuus", [2] * 8), **items("pystyvyys", [3] * 10), "tyohonpaluu": 2}
R_B = {"person_id": "MONTH1", "vastauspvm": "2024-03-01", "tyokyky": "EOS",
       **items("swemwbs", [1, 2, 3, 4, 5, 1, "EOS"]), **items("eurohis", [1, 2, 3, 4, 5, 1, 2, None]),
       **items("osallisuus", [1, 2, 3, 4, 5, 1, 2, "EOS"]),
       **items("pystyvyys", [1, 2, 3, 4, 1, 2, 3, 4, "EOS", None]), "tyohonpaluu": None}
R_C = {"person_id": "MONTH1", "vastauspvm": "2024-06-20", "tyokyky": 0,
       **items("swemwbs", [1, 2, 3, 4, 5, "EOS", "EOS"]), **items("eurohis", [1, 2, 3, 4, 5, 1, None, None]),
       **items("osallisuus", [1, 2, 3, 4, 5, 1, "EOS", None]),
       **items("pystyvyys", [1, 2, 3, 4, 1, 2, 3, "EOS", "EOS", None]), "tyohonpaluu": 5}
R_AFTER_C = {"person_id": "MONTH1", "vastauspvm": "2024-07-05", "tyokyky": 10, **items("swemwbs", [5] * 7)}
SURVEYS = {
    "baseline": [R_OLD, R_A, {"person_id": "WDRAW1", "vastauspvm": "2023-05-02", "tyokyky": 5}],
    "midpoint": [R_B],
    "final": [R_C, R_AFTER_C],
}


def review(alue, date, values):
    return {"alue": alue, "arviointipvm": date, **{f"k{i:02d}": v for i, v in enumerate(values, start=1)}}


FIDELITY = [
    review("Kainuu", "2023-05-01", [4] * 25),                 # 100 good
    review("Kainuu", "2024-03-01", [5] * 15 + [4] * 10),      # 75 + 40 = 115 exemplary
    review("Kainuu", "2024-08-01", [1] * 25),                 # after C: not known yet
    review("Pohjanmaa", "2023-06-01", [3] * 23 + [2] * 2),    # 69 + 4 = 73 not_ips
    review("Pohjanmaa", "2024-01-10", [3] * 25),              # 75 fair
]

REGISTER = {
    "cohort": [
        {"person_id": "CMP001", "ips": 0, "indeksipvm": "2023-03-15"},
        {"person_id": "CMP002", "ips": 0, "indeksipvm": "2024-01-10"},
        {"person_id": "CMP003", "ips": 0, "indeksipvm": "2024-08-01"},   # index date after C
        {"person_id": "ONGO05", "ips": 1, "indeksipvm": "2023-06-15"},
        {"person_id": "NOREG6", "ips": 1, "indeksipvm": "2023-05-01"},   # register consent blank
        {"person_id": "NOREG7", "ips": 1, "indeksipvm": "2023-05-01"},   # register consent E
        {"person_id": "WDRAW1", "ips": 1, "indeksipvm": "2023-05-01"},   # withdrew before C
    ],
    "employment": [
        {"person_id": "CMP001", "alkupvm": "2022-01-10", "loppupvm": "2022-03-01"},
        {"person_id": "CMP001", "alkupvm": "2022-01-10", "loppupvm": "2022-03-01"},  # repeated
        {"person_id": "CMP001", "alkupvm": "2022-02-15", "loppupvm": "2022-04-10"},  # overlapping
        {"person_id": "CMP001", "alkupvm": "2022-04-11", "loppupvm": "2022-05-31"},  # touching
        {"person_id": "CMP001", "alkupvm": "2023-06-01", "loppupvm": None},          # open
        {"person_id": "CMP002", "alkupvm": "2023-12-01", "loppupvm": "2023-12-31"},
        {"person_id": "CMP003", "alkupvm": "2023-12-01", "loppupvm": "2023-12-31"},
        {"person_id": "ONGO05", "alkupvm": "2023-07-01", "loppupvm": None},
        {"person_id": "NOREG6", "alkupvm": "2023-07-01", "loppupvm": None},
        {"person_id": "NOREG7", "alkupvm": "2023-07-01", "loppupvm": None},
        {"person_id": "WDRAW1", "alkupvm": "2023-07-01", "loppupvm": None},
        {"person_id": "STRAY99", "alkupvm": "2023-07-01", "loppupvm": None},        # not in the cohort
    ],
    "pay_subsidy": [{"person_id": "CMP001", "alkupvm": "2022-04-15", "loppupvm": "2022-04-30"}],
    "earnings": [
        {"person_id": "CMP001", "kuukausi": "2023-03", "ansiot_eur": "1000.00"},
        {"person_id": "CMP001", "kuukausi": "2023-04", "ansiot_eur": "500.50"},
        {"person_id": "CMP001", "kuukausi": "2024-03", "ansiot_eur": "999.00"},
        {"person_id": "CMP001", "kuukausi": "2022-06", "ansiot_eur": "200.00"},
        {"person_id": "CMP002", "kuukausi": "2024-01", "ansiot_eur": "300.00"},
    ],
    "benefits": [
        {"person_id": "CMP001", "etuus": "tkel", "alkupvm": "2022-02-01", "loppupvm": "2022-12-31"},
        {"person_id": "CMP001", "etuus": "kuntoutusraha", "alkupvm": "2023-02-20", "loppupvm": "2023-03-05"},
        {"person_id": "CMP001", "etuus": "sairauspaivaraha", "alkupvm": "2023-03-10", "loppupvm": "2023-04-02"},
        {"person_id": "CMP001", "etuus": "tyottomyysturva", "alkupvm": "2023-05-01", "loppupvm": "2023-05-31"},
        {"person_id": "CMP001", "etuus": "tyottomyysturva", "alkupvm": "2022-12-01", "loppupvm": "2022-12-31"},
    ],
    "psychiatric_care": [
        {"person_id": "CMP001", "hoitomuoto": "osasto", "alkupvm": "2021-06-01", "loppupvm": "2021-06-10", "dg": "F20.0"},
        {"person_id": "CMP001", "hoitomuoto": "osasto", "alkupvm": "2021-06-05", "loppupvm": "2021-06-12", "dg": "F20.0"},
        {"person_id": "CMP001", "hoitomuoto": "avo", "alkupvm": "2021-08-05", "loppupvm": None, "dg": "F20.0"},
        {"person_id": "CMP001", "hoitomuoto": "osasto", "alkupvm": "2023-05-20", "loppupvm": "2023-06-05", "dg": "F20.0"},
    ],
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    con = delivered_warehouse(
        tmp_path_factory.mktemp("delivery"), C,
        clients=CLIENTS, jobs=JOBS, surveys=SURVEYS, fidelity=FIDELITY, register=REGISTER,
    )
    # The delivery is valid: the only rows set aside are those of WDRAW1, who withdrew consent
    # (the ingest removes a withdrawn person's rows, counted in audit.loads.rows_withdrawn).
    rejected = con.execute("SELECT file, line, rule FROM audit.rejected_rows WHERE rule <> 'consent_withdrawn'").fetchall()
    assert rejected == [], rejected
    yield con
    con.close()


def client(con, person_id) -> dict:
    frame = con.execute("SELECT * FROM core.client_outcomes WHERE person_id = ?", [person_id]).df()
    assert len(frame) == 1, f"{person_id}: {len(frame)} rows in core.client_outcomes"
    return {k: (None if v is None or v != v else v) for k, v in frame.iloc[0].to_dict().items()}


def jobs_of(con, person_id) -> list[dict]:
    return con.execute(
        "SELECT * FROM core.competitive_jobs WHERE person_id = ? ORDER BY job_order", [person_id]
    ).df().to_dict("records")


# --- month arithmetic ------------------------------------------------------------------------


def test_month_end_31_january_plus_6_months_is_31_july(wh):
    # MONTH2: job 31.1.2023-30.7.2023. 31.1. + 6 months = 31.7.2023; e + 1 = 31.7. >= 31.7. -> lasted.
    # MONTH3: job 31.1.2023-29.7.2023: e + 1 = 30.7. < 31.7. -> not lasted.
    assert client(wh, "MONTH2")["tenure6"] is True
    assert client(wh, "MONTH3")["tenure6"] is False
    # employed6: S + 6 months = 31.7.2023; both jobs ended before it.
    for pid in ("MONTH2", "MONTH3"):
        c = client(wh, pid)
        assert c["day6"].date() == D("2023-07-31")
        assert c["employed6_eligible"] is True and c["employed6"] is False
        # S + 12 months = 31.1.2024 <= C: eligible, not employed (no job then)
        assert c["employed12_eligible"] is True and c["employed12"] is False


def test_month_end_31_august_plus_6_months_is_29_february(wh):
    # MONTH1: S = job start = 31.8.2023; + 6 months = 29.2.2024 (2024 is a leap year).
    # Job ends 28.2.2024: e + 1 = 29.2. >= 29.2. -> tenure6; but not in a job ON 29.2. -> not employed6.
    c = client(wh, "MONTH1")
    assert c["day6"].date() == D("2024-02-29")
    assert (c["tenure6_eligible"], c["tenure6"]) == (True, True)
    assert (c["employed6_eligible"], c["employed6"]) == (True, False)
    # 12 months: 31.8.2024 > C + 1 day = 1.7.2024 -> not eligible (NULL), also S + 12 months > C.
    assert (c["tenure12_eligible"], c["tenure12"]) == (False, None)
    assert (c["employed12_eligible"], c["employed12"]) == (False, None)
    # length: 31.8. (1) + Sep 30 + Oct 31 + Nov 30 + Dec 31 + Jan 31 + Feb 28 = 182 days
    assert c["first_job_days"] == 182


def test_29_february_plus_12_months_is_28_february(wh):
    # LEAP04: S = job start = 29.2.2020; + 12 months = 28.2.2021. Job ends 27.2.2021:
    # e + 1 = 28.2.2021 >= 28.2.2021 -> tenure12. On 28.2.2021 no longer in the job -> not employed12.
    # S + 6 months = 29.8.2020, inside the job -> employed6.
    c = client(wh, "LEAP04")
    assert c["day12"].date() == D("2021-02-28")
    assert (c["tenure12_eligible"], c["tenure12"]) == (True, True)
    assert (c["employed12_eligible"], c["employed12"]) == (True, False)
    assert (c["employed6_eligible"], c["employed6"]) == (True, True)


# --- ongoing jobs, censoring at C -------------------------------------------------------------


@pytest.mark.parametrize("person_id,recorded_end", [("ONGO05", None), ("LATE06", dt.date(2024, 12, 31))])
def test_ongoing_jobs_and_ends_after_cutoff_are_censored_at_c(wh, person_id, recorded_end):
    # Job 1.7.2023 - (blank | 31.12.2024): ongoing at C = 30.6.2024, observed to C.
    # days = 1.7.2023..30.6.2024 = 366 (the year holds 29.2.2024); + 12 months = 1.7.2024 <= C + 1
    # -> tenure12 eligible, and C + 1 = 1.7.2024 >= 1.7.2024 -> lasted 12 months.
    got = wh.execute(
        "SELECT job_end, ongoing, end_observed, job_days FROM core.competitive_jobs WHERE person_id = ?",
        [person_id],
    ).fetchall()
    assert got == [(recorded_end, True, C, 366)]
    c = client(wh, person_id)
    assert c["first_job_ongoing"] is True
    assert (c["tenure12_eligible"], c["tenure12"]) == (True, True)
    # in the job on S + 12 months = 15.6.2024 <= C
    assert (c["employed12_eligible"], c["employed12"]) == (True, True)


# --- the first job ------------------------------------------------------------------------------


def test_first_job_ties_on_start_go_to_the_longest(wh):
    # TIE007: two jobs start 1.4.2023: EMPA to 30.6. (30+31+30 = 91 days), EMPB to 31.12.
    # (91 + Jul 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31 = 275 days). First = EMPB.
    # 1.4.2023 + 6 months = 1.10.2023 <= 1.1.2024 = e + 1 -> tenure6 (EMPA would say no).
    # + 12 months = 1.4.2024 > 1.1.2024 -> not tenure12 (eligible: 1.4.2024 <= C + 1).
    js = jobs_of(wh, "TIE007")
    assert [(j["tyonantaja"], j["job_days"], j["is_first"]) for j in js] == [("EMPB", 275, True), ("EMPA", 91, False)]
    c = client(wh, "TIE007")
    assert (c["first_job_days"], c["tenure6"], c["tenure12_eligible"], c["tenure12"]) == (275, True, True, False)


def test_first_job_is_the_earliest_start_even_if_shorter(wh):
    # EARLY08: EMPA 1.5.-31.5.2023 (31 days) starts a day before EMPB (ongoing). First = EMPA:
    # 1.5.2023 + 6 months = 1.11.2023 > e + 1 = 1.6.2023 -> not tenure6 (eligible).
    c = client(wh, "EARLY08")
    assert c["first_job_start"].date() == D("2023-05-01")
    assert (c["first_job_days"], c["tenure6_eligible"], c["tenure6"]) == (31, True, False)
    assert c["days_to_first_job"] == 30  # 1.4. -> 1.5.2023


# --- which jobs count -------------------------------------------------------------------------


def test_jobs_starting_before_ips_start_or_after_cutoff_do_not_count(wh):
    # BEFORE9: competitive job 30.4.2023, S = 1.5.2023 -> not counted; its work trial in June is
    # other activity. AFTER10: job 1.7.2024 and work trial 2.7.2024, after C -> nothing counts.
    assert jobs_of(wh, "BEFORE9") == [] and jobs_of(wh, "AFTER10") == []
    b, a = client(wh, "BEFORE9"), client(wh, "AFTER10")
    assert (b["competitive"], b["other_activity"]) == (False, True)
    assert (a["competitive"], a["other_activity"]) == (False, False)
    reasons = dict(wh.execute(
        "SELECT person_id || '/' || tyyppi, at_cutoff FROM core.job_records WHERE person_id IN ('BEFORE9','AFTER10')"
    ).fetchall())
    assert reasons["BEFORE9/tyo"] == "not counted: starts before IPS start"
    assert reasons["AFTER10/tyo"] == "not counted: starts after the cut-off"


def test_subsidised_and_other_activity(wh):
    # SUBS11: one subsidised competitive job -> competitive, not unsubsidised.
    # NONOPEN12: a paid job not on the open market -> other activity only.
    # MUU013: tyyppi 'muu' only -> other activity (the corrected plan). BOTH14: a competitive job and
    # studies -> not other activity.
    s, n, m, b = (client(wh, p) for p in ("SUBS11", "NONOPEN12", "MUU013", "BOTH14"))
    assert (s["competitive"], s["unsubsidised"], s["first_job_subsidised"]) == (True, False, True)
    assert (n["competitive"], n["other_activity"]) == (False, True)
    assert (m["competitive"], m["other_activity"]) == (False, True)
    assert (b["competitive"], b["unsubsidised"], b["other_activity"]) == (True, True, False)


def test_record_versions_latest_paivitetty_wins_and_duplicates_are_one(wh):
    # VERS15's job: current version ends 31.8.2023 (the older said ongoing), an exact duplicate
    # of it is one row: one job of 30 + 31 + 31 = 92 days, not ongoing.
    (j,) = jobs_of(wh, "VERS15")
    assert (j["ongoing"], j["job_days"]) == (False, 92)
    # the client record's current version moved VERS15 to Pohjanmaa
    assert client(wh, "VERS15")["alue"] == "Pohjanmaa"


# --- who is counted ---------------------------------------------------------------------------


def test_consent_withdrawn_before_cutoff_disappears_everywhere(wh):
    # WDRAW1 withdrew 1.3.2024 <= C: in no core or marts table (job, survey and register data
    # included). WDRAW2 withdraws 1.8.2024 > C: still counted.
    tables = wh.execute(
        "SELECT DISTINCT table_schema || '.' || table_name FROM information_schema.columns"
        " WHERE table_schema IN ('core', 'marts') AND column_name = 'person_id'"
    ).fetchall()
    assert len(tables) >= 10
    for (t,) in tables:
        assert wh.execute(f"SELECT count(*) FROM {t} WHERE person_id = 'WDRAW1'").fetchone()[0] == 0, t
    assert client(wh, "WDRAW2")["competitive"] is True


@pytest.mark.parametrize("person_id", ["FUTURE3", "NOCONS4", "LATECONS5"])
def test_not_counted_ips_start_after_cutoff_no_consent_or_consent_after_cutoff(wh, person_id):
    n = wh.execute("SELECT count(*) FROM core.client_outcomes WHERE person_id = ?", [person_id]).fetchone()[0]
    assert n == 0


def test_a_first_job_after_the_service_end_is_not_a_time_to_first_job_event(wh):
    # ENDED16: S = 1.5.2023, service end 30.9.2023, first job 1.11.2023 (after the service end).
    # Not an event: censored at the service end, 1.5. -> 30.9.2023 = 30 + 30 + 31 + 31 + 30 = 152
    # days, and the service ended (<= C) without a job: the competing event.
    c = client(wh, "ENDED16")
    assert (c["ttf_event"], c["ttf_days"], c["ttf_competing"]) == (False, 152, True)
    assert c["competitive"]  # the headline figures still count the job (job window [S, C])
    # ENDED17: the same service, first job starting on the service end day: an event at day 152.
    c = client(wh, "ENDED17")
    assert (c["ttf_event"], c["ttf_days"], c["ttf_competing"]) == (True, 152, False)
    # MONTH1: no service end, job on the day of S: an event at day 0.
    c = client(wh, "MONTH1")
    assert (c["ttf_event"], c["ttf_days"], c["ttf_competing"]) == (True, 0, False)


def test_headline_all_row_counts_this_population(wh):
    # Counted: MONTH1, MONTH2, MONTH3, LEAP04, ONGO05, LATE06, TIE007, EARLY08, BEFORE9, AFTER10, SUBS11,
    # NONOPEN12, MUU013, BOTH14, VERS15, ENDED16, ENDED17, WDRAW2, NOREG6, NOREG7 = 20 clients.
    # Competitive: MONTH1-3, LEAP04, ONGO05, LATE06, TIE007, EARLY08, SUBS11, BOTH14, VERS15, ENDED16,
    # ENDED17, WDRAW2 = 14 (a job after the service end counts here); unsubsidised: the same but
    # SUBS11 = 13. Other activity: BEFORE9, NONOPEN12, MUU013 = 3.
    # Jobs: 12 clients with one job + TIE007 2 + EARLY08 2 = 16.
    row = wh.execute("SELECT * FROM marts.employment_outcomes WHERE alue = 'ALL'").df().iloc[0]
    assert (row.n_clients, row.n_competitive, row.n_unsubsidised, row.n_other_activity, row.n_jobs) == (20, 14, 13, 3, 16)
    assert row.rate_competitive == pytest.approx(14 / 20) and row.rate_unsubsidised == pytest.approx(13 / 20)
    # Pohjanmaa holds VERS15 only
    poh = wh.execute("SELECT n_clients, n_jobs, median_job_days FROM marts.employment_outcomes WHERE alue = 'Pohjanmaa'").fetchone()
    assert poh == (1, 1, 92.0)


# --- surveys ----------------------------------------------------------------------------------


def scores(con, wave):
    return con.execute(
        "SELECT work_ability, swemwbs, eurohis, inclusion, self_efficacy, rtw_readiness, vastauspvm"
        " FROM marts.client_scores WHERE person_id = 'MONTH1' AND wave = ?", [wave]
    ).fetchone()


def test_latest_survey_response_of_the_wave_counts(wh):
    # baseline: 1.9.2023 (all ones) and 15.9.2023 (R_A) -> R_A. Sums: SWEMWBS 1+2+3+4+5+1+2 = 18,
    # EUROHIS mean (1+2+3+4+5+1+2+3)/8 = 21/8, inclusion 8 x 2 = 16, self-efficacy 10 x 3 = 30.
    assert scores(wh, "baseline") == (7.0, 18.0, 21 / 8, 16.0, 30.0, 2.0, D("2023-09-15"))
    # final: the response of 5.7.2024 is after C; the one of 20.6.2024 counts.
    assert scores(wh, "final")[6] == D("2024-06-20")


def test_scores_prorated_at_each_missing_item_limit_and_eos_is_missing(wh):
    # R_B (midpoint), every score exactly at its limit (EOS and blank both missing):
    # work ability EOS -> missing; SWEMWBS one missing: (1+2+3+4+5+1)/6 x 7 = 16/6 x 7 = 18.667;
    # EUROHIS one missing: (1+2+3+4+5+1+2)/7 = 18/7; inclusion one missing: 18/7 x 8 = 144/7;
    # self-efficacy two missing: (1+2+3+4+1+2+3+4)/8 x 10 = 2.5 x 10 = 25; readiness blank -> missing.
    wa, sw, eu, inc, se, rtw, _ = scores(wh, "midpoint")
    assert wa is None and rtw is None
    assert sw == pytest.approx(16 / 6 * 7)
    assert eu == pytest.approx(18 / 7)
    assert inc == pytest.approx(144 / 7)
    assert se == pytest.approx(25.0)


def test_scores_missing_one_item_past_each_limit(wh):
    # R_C (final): SWEMWBS 2 missing, EUROHIS 2, inclusion 2, self-efficacy 3 -> all missing;
    # work ability 0 is a valid answer (not missing); readiness 5.
    assert scores(wh, "final")[:6] == (0.0, None, None, None, None, 5.0)


# --- fidelity ---------------------------------------------------------------------------------


def test_fidelity_totals_categories_and_current_review(wh):
    # Reviews by C: Kainuu 100 (25 x 4, good), 115 (15 x 5 + 10 x 4, exemplary);
    # Pohjanmaa 73 (23 x 3 + 2 x 2, not_ips), 75 (fair). Kainuu 1.8.2024 is after C.
    got = wh.execute("SELECT alue, arviointipvm, total, category FROM marts.fidelity ORDER BY alue, arviointipvm").fetchall()
    assert got == [
        ("Kainuu", D("2023-05-01"), 100, "good"),
        ("Kainuu", D("2024-03-01"), 115, "exemplary"),
        ("Pohjanmaa", D("2023-06-01"), 73, "not_ips"),
        ("Pohjanmaa", D("2024-01-10"), 75, "fair"),
    ]
    current = wh.execute("SELECT alue, arviointipvm, total, category FROM marts.fidelity_current ORDER BY alue").fetchall()
    assert current == [("Kainuu", D("2024-03-01"), 115.0, "exemplary"), ("Pohjanmaa", D("2024-01-10"), 75.0, "fair")]
    assert client(wh, "ONGO05")["fidelity_total"] == 115.0


# --- register ---------------------------------------------------------------------------------


def register(con, person_id):
    return con.execute(
        "SELECT employed_months_pre12, employed_months_post12, earnings_post12, benefit_months_post12,"
        " benefit_months_pre12, employed_months_pre24_13 FROM marts.register_outcomes WHERE person_id = ?",
        [person_id],
    ).fetchone()


def test_register_spells_overlapping_touching_repeated_and_open(wh):
    # CMP001, index 15.3.2023: index month March 2023.
    # Employment 10.1.-1.3.2022 (twice), 15.2.-10.4.2022 (overlaps), 11.4.-31.5.2022 (touches):
    # months Jan-May 2022, each once. pre12 = Mar 2022..Feb 2023 -> Mar, Apr, May = 3;
    # placebo months -24..-13 = Mar 2021..Feb 2022 -> Jan, Feb = 2.
    # Open spell from 1.6.2023 runs to C: post12 = Mar 2023..Feb 2024 -> Jun..Feb = 9.
    # Earnings in Mar 2023..Feb 2024: 1000.00 + 500.50 = 1500.50 (Jun 2022 and Mar 2024 outside).
    # Disability benefits: post12 kuntoutusraha 20.2.-5.3.2023 (Mar) and sairauspaivaraha
    # 10.3.-2.4.2023 (Mar, Apr) -> 2 months (unemployment benefit in May does not count);
    # pre12: tkel Feb-Dec 2022 -> Mar..Dec = 10, kuntoutusraha Feb 2023 -> 11.
    assert register(wh, "CMP001") == (3, 9, 1500.5, 2, 11, 2)


def test_negative_control_outcomes_24_to_13_months_before(wh):
    # CMP001, index month March 2023: months -24..-13 = 1.3.2021..28.2.2022.
    # Disability benefit: tkel from 1.2.2022 -> February 2022 = 1 month.
    # Psychiatric inpatient (osasto) 1.-10.6.2021 and 5.-12.6.2021 overlap: days 1..12 June = 12
    # (a day counts once); the outpatient (avo) visit from 5.8.2021 and the inpatient episode of
    # 20.5.2023 (after the index) do not count.
    row = wh.execute(
        "SELECT benefit_months_pre24_13, psych_inpatient_days_pre24_13 FROM marts.register_outcomes"
        " WHERE person_id = 'CMP001'").fetchone()
    assert row == (1, 12)
    # CMP002 (index January 2024) has no episode: 0 days, not missing.
    assert wh.execute("SELECT psych_inpatient_days_pre24_13 FROM marts.register_outcomes"
                      " WHERE person_id = 'CMP002'").fetchone() == (0,)


def test_register_window_not_complete_by_cutoff_is_missing(wh):
    # CMP002, index 10.1.2024: post window Jan..Dec 2024 ends 31.12.2024 > C -> all post12 missing;
    # pre12 (Jan..Dec 2023) holds December 2023 -> 1.
    assert register(wh, "CMP002")[:4] == (1, None, None, None)
    # ONGO05 (IPS client, register consent K), index 15.6.2023: window Jun 2023..May 2024 ends
    # 31.5.2024 <= C; open spell from 1.7.2023 -> Jul..May = 11 months.
    assert register(wh, "ONGO05")[:2] == (0, 11)


def test_register_persons_left_out(wh):
    # CMP003: index 1.8.2024 > C. NOREG6: register consent blank. NOREG7: register consent E.
    # WDRAW1: withdrew. STRAY99: not in the cohort.
    kept = {r[0] for r in wh.execute("SELECT person_id FROM marts.register_outcomes").fetchall()}
    assert kept == {"CMP001", "CMP002", "ONGO05"}
    months = {r[0] for r in wh.execute("SELECT DISTINCT person_id FROM core.register_months").fetchall()}
    assert months == kept


def test_state_sequence_priorities(wh):
    # CMP001, index month March 2023 (rel 0).
    states = dict(wh.execute(
        "SELECT rel_month, state FROM marts.state_sequences WHERE person_id = 'CMP001'"
    ).fetchall())
    assert len(states) == 61  # -24..+36
    assert states[-24] == "other"                  # Mar 2021: nothing
    assert states[-21] == "psychiatric_inpatient"  # Jun 2021: inpatient 1.-10.6.2021
    assert states[-19] == "other"                  # Aug 2021: an outpatient visit only
    assert states[-14] == "employed"               # Jan 2022
    assert states[-11] == "employed_subsidised"    # Apr 2022: employed + pay subsidy 15.-30.4.
    assert states[-9] == "disability_benefit"      # Jun 2022: tkel
    assert states[-3] == "disability_benefit"      # Dec 2022: tkel beats unemployment benefit
    assert states[-2] == "other"                   # Jan 2023
    assert states[2] == "unemployment_benefit"     # May 2023: beats inpatient 20.5.-5.6.
    assert states[3] == "employed"                 # Jun 2023: open spell beats inpatient
    assert states[15] == "employed"                # Jun 2024: the month of C, observed
    assert states[16] is None and states[24] is None  # Jul 2024 on: after C, not observed


# --- quarterly = main at C --------------------------------------------------------------------


def test_quarterly_row_at_cutoff_equals_the_headline_table(wh):
    # C = 30.6.2024 is a quarter end: the 2024Q2 rows are the headline figures at C.
    q = wh.execute(
        "SELECT * EXCLUDE (quarter, quarter_start, quarter_end) FROM marts.employment_outcomes_quarterly"
        " WHERE quarter = '2024Q2' ORDER BY alue"
    ).df()
    h = wh.execute("SELECT * EXCLUDE (cutoff) FROM marts.employment_outcomes ORDER BY alue").df()
    pd.testing.assert_frame_equal(q, h[q.columns])
