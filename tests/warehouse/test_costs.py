"""Costs (ANALYSIS_PLAN "Costs", docs/exports.md "costs.csv"): the contract and ingest of the
optional costs.csv, its current versions in staging.costs, and marts.costs. Every expected
value is worked out by hand in the test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from deliveries import load_exports, minimal_delivery, row
from ips_eval.ingest.load import load_delivery
from ips_eval.warehouse.tables import build_outcomes, build_staging
from outcome_fixtures import staging_warehouse

YEAR = 365.25


def cost(**values):
    return row("costs", **values)


# --- ingest and staging ----------------------------------------------------------------------


@pytest.fixture
def delivered(tmp_path):
    """One client (P000001: Kainuu, S = 3.4.2023, a competitive job from 1.6.2023 without pay
    subsidy), C = 31.12.2023, and costs.csv lines 2-8."""
    rows = [
        cost(kustannuslaji="henkilosto", euroa="110000,00", htv="2", paivitetty="15.1.2024 10:00"),  # 2
        cost(kustannuslaji="henkilosto", euroa="104000,50", htv="1,9", paivitetty="1.3.2024 9:00"),  # 3: correction
        cost(kustannuslaji="koulutus", euroa="5000", htv=""),                                        # 4
        cost(kustannuslaji="matkat", euroa="1200,555", htv=""),                                     # 5: a tenth of a cent
        cost(kustannuslaji="muut", euroa="300", htv="0,5"),                                         # 6: htv on `muut`
        cost(kustannuslaji="matkat", euroa="-5,00", htv="", vuosi="2022"),                          # 7: negative euros
        cost(vuosi="2019"),                                                                         # 8: year out of range
    ]
    delivery = minimal_delivery(tmp_path / "d", costs=rows)
    return delivery


def test_a_cost_correction_replaces_the_earlier_row(con, delivered):
    C = dt.date(2023, 12, 31)
    load_delivery(con, delivered, C)
    build_staging(con, C)
    # Kainuu 2023 henkilosto came twice: 110 000,00 (15.1.2024) and 104 000,50 (1.3.2024): the later counts.
    assert con.execute(
        "SELECT alue, vuosi, kustannuslaji, euroa, htv FROM staging.costs ORDER BY kustannuslaji").fetchall() == [
        ("Kainuu", 2023, "henkilosto", Decimal("104000.50"), Decimal("1.90")),
        ("Kainuu", 2023, "koulutus", Decimal("5000.00"), None)]
    build_outcomes(con, C)
    # 2023: cost 104 000,50 + 5 000 = 109 000,50; 1,9 coaches. P000001 in service 3.4.-31.12.2023:
    # 28 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31 = 273 days. One client started, employed, unsubsidised.
    got = con.execute(
        "SELECT cost_eur, coach_fte, client_years, cost_per_client_year, cost_per_client, cost_per_employed,"
        " cost_per_unsubsidised FROM marts.costs WHERE alue = 'Kainuu' AND vuosi = '2023'").fetchone()
    assert [float(x) for x in got] == pytest.approx((109000.5, 1.9, 273 / YEAR, 109000.5 * YEAR / 273, 109000.5, 109000.5, 109000.5))


def test_cost_rows_breaking_the_contract_are_rejected_and_accounted_for(con, delivered):
    load_exports(con, delivered, "costs")
    assert con.execute(
        "SELECT rows_read, rows_accepted, rows_rejected FROM audit.loads WHERE file = 'costs.csv'").fetchone() == (7, 3, 4)
    rejected = con.execute(
        "SELECT line, \"column\", rule, message FROM audit.rejected_rows WHERE file = 'costs.csv' ORDER BY line").fetchall()
    assert [r[:3] for r in rejected] == [(5, "euroa", "type"), (6, "htv", "only_for"), (7, "euroa", "range"),
                                         (8, "vuosi", "range")]
    assert rejected[0][3] == "euroa must be a number with decimal comma (at most 2 decimals) (found '1200,555')"
    assert rejected[1][3] == "htv is only for kustannuslaji henkilosto; leave it blank otherwise (found '0,5')"


@pytest.mark.slow
def test_a_delivery_without_costs_runs_and_gives_empty_tables(con, tmp_path):
    C = dt.date(2023, 12, 31)
    load_delivery(con, minimal_delivery(tmp_path / "d"), C)
    build_staging(con, C)
    build_outcomes(con, C)
    assert con.execute("SELECT count(*) FROM raw.costs").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM audit.loads WHERE export = 'costs'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM staging.costs").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM marts.costs").fetchone() == (0,)


# --- marts.costs -----------------------------------------------------------------------------

C = dt.date(2024, 6, 30)
CLIENTS = [
    # Kainuu: in service 1.7.2023-31.3.2024, no job.
    {"person_id": "KAI001", "alue": "Kainuu", "aloituspvm": "2023-07-01", "lopetuspvm": "2024-03-31"},
    # Pohjanmaa: in service from 1.1.2023 through C, no job; from 1.2.2024 with a subsidised job.
    {"person_id": "POH001", "alue": "Pohjanmaa", "aloituspvm": "2023-01-01"},
    {"person_id": "POH002", "alue": "Pohjanmaa", "aloituspvm": "2024-02-01"},
]
JOBS = [{"person_id": "POH002", "alkupvm": "2024-03-01", "palkkatuki": True}]
COSTS = [
    {"alue": "Kainuu", "vuosi": 2023, "kustannuslaji": "henkilosto", "euroa": 60000.0, "htv": 1.0},
    {"alue": "Kainuu", "vuosi": 2024, "kustannuslaji": "henkilosto", "euroa": 30000.0, "htv": 1.0},
    {"alue": "Kainuu", "vuosi": 2025, "kustannuslaji": "henkilosto", "euroa": 99999.0, "htv": 2.0},  # after C's year
    {"alue": "Pohjanmaa", "vuosi": 2023, "kustannuslaji": "henkilosto", "euroa": 50000.0, "htv": 1.0},
    {"alue": "Pohjanmaa", "vuosi": 2023, "kustannuslaji": "matkat", "euroa": 1000.5},
    # Pohjanmaa has no row for 2024.
]
FIGURES = ("cost_eur", "coach_fte", "client_years", "cost_per_client_year", "cost_per_client",
           "cost_per_employed", "cost_per_unsubsidised", "n_started", "n_employed", "n_unsubsidised")


@pytest.fixture(scope="module")
def costs():
    con = staging_warehouse(C, clients=CLIENTS, jobs=JOBS, costs=COSTS)
    try:
        rows = con.execute(f"SELECT alue, vuosi, {', '.join(FIGURES)} FROM marts.costs").fetchall()
    finally:
        con.close()
    return {(r[0], r[1]): dict(zip(FIGURES, r[2:])) for r in rows}


def test_grain_is_county_and_all_by_reported_year_and_all(costs):
    # Years: those some county reported on or before the year of C (2025 is after it).
    assert sorted(costs) == sorted((a, y) for a in ("ALL", "Kainuu", "Pohjanmaa") for y in ("2023", "2024", "ALL"))


def test_a_county_with_no_cost_row_for_a_year_is_missing_not_zero(costs):
    # Pohjanmaa 2024: no cost row -> every cost figure missing; the service figures are still
    # there: POH001 1.1.-30.6.2024 (31 + 29 + 31 + 30 + 31 + 30 = 182 days), POH002
    # 1.2.-30.6.2024 (29 + 31 + 30 + 31 + 30 = 151 days); POH002 started, employed (subsidised).
    got = costs[("Pohjanmaa", "2024")]
    assert [got[k] for k in FIGURES[:2] + FIGURES[3:7]] == [None] * 6
    assert got["client_years"] == pytest.approx((182 + 151) / YEAR)
    assert (got["n_started"], got["n_employed"], got["n_unsubsidised"]) == (1, 1, 0)
    # ... and so is every total 2024 of Pohjanmaa is part of; their client-years still add up.
    for key, days in ((("Pohjanmaa", "ALL"), 365 + 333), (("ALL", "2024"), 91 + 333), (("ALL", "ALL"), 184 + 91 + 365 + 333)):
        assert costs[key]["cost_eur"] is None and costs[key]["cost_per_client_year"] is None, key
        assert costs[key]["client_years"] == pytest.approx(days / YEAR), key


def test_county_year_figures(costs):
    # Kainuu 2023: 60 000; KAI001 1.7.-31.12.2023 = 184 days; started 1, employed 0 -> per employed missing.
    k23 = costs[("Kainuu", "2023")]
    assert [k23[k] for k in FIGURES] == pytest.approx(
        [60000.0, 1.0, 184 / YEAR, 60000 * YEAR / 184, 60000.0, None, None, 1, 0, 0])
    # Kainuu 2024: 30 000; KAI001 1.1.-31.3.2024 = 91 days; nobody started in 2024 -> per client missing.
    k24 = costs[("Kainuu", "2024")]
    assert [k24[k] for k in FIGURES] == pytest.approx(
        [30000.0, 1.0, 91 / YEAR, 30000 * YEAR / 91, None, None, None, 0, 0, 0])
    # Pohjanmaa 2023: 50 000 + 1 000,50 (travel has no htv); POH001 all of 2023 = 365 days.
    p23 = costs[("Pohjanmaa", "2023")]
    assert [p23[k] for k in FIGURES] == pytest.approx(
        [51000.5, 1.0, 365 / YEAR, 51000.5 * YEAR / 365, 51000.5, None, None, 1, 0, 0])


def test_totals_over_counties_and_years(costs):
    # Kainuu over 2023-2024: 90 000 over 184 + 91 days, one client started (2023).
    k = costs[("Kainuu", "ALL")]
    assert [k[k_] for k_ in FIGURES[:5]] == pytest.approx([90000.0, 2.0, 275 / YEAR, 90000 * YEAR / 275, 90000.0])
    # All counties in 2023: 60 000 + 51 000,50 = 111 000,50; 2 coaches; 184 + 365 days; 2 started.
    a = costs[("ALL", "2023")]
    assert [a[k_] for k_ in FIGURES[:5]] == pytest.approx(
        [111000.5, 2.0, 549 / YEAR, 111000.5 * YEAR / 549, 111000.5 / 2])


def test_clients_in_service_are_each_counted_once_in_a_total():
    # n_in_service: the clients behind client_years. KAI001 is in service in 2023 and 2024 (one
    # client over all years), POH001 from 2023 on, POH002 from 2024.
    con = staging_warehouse(C, clients=CLIENTS, jobs=JOBS, costs=COSTS)
    try:
        got = dict(((a, y), n) for a, y, n in con.execute("SELECT alue, vuosi, n_in_service FROM marts.costs").fetchall())
    finally:
        con.close()
    assert got == {("Kainuu", "2023"): 1, ("Kainuu", "2024"): 1, ("Kainuu", "ALL"): 1,
                   ("Pohjanmaa", "2023"): 1, ("Pohjanmaa", "2024"): 2, ("Pohjanmaa", "ALL"): 2,
                   ("ALL", "2023"): 2, ("ALL", "2024"): 3, ("ALL", "ALL"): 3}
