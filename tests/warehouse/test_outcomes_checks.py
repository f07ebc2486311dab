"""The outcome checks pass on a sound warehouse and fail on deliberately corrupted tables."""

from __future__ import annotations

import datetime as dt

import pytest

from ips_eval.warehouse.outcome_checks import (
    CHECKS,
    counties_sum_to_all,
    no_withdrawn_or_nonconsenting,
    numerators_within_denominators,
    population_exactly_once,
    rates_are_their_ratios,
    run_checks,
)
from outcome_fixtures import open_copy, save_copy, staging_warehouse

C = dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def sound_warehouse(tmp_path_factory):
    """The sound warehouse, built once; each test changes a copy of its own (`wh`)."""
    con = staging_warehouse(
        C,
        clients=[
            {"person_id": "CHK001", "alue": "Kainuu", "aloituspvm": "2023-01-10"},
            {"person_id": "CHK002", "alue": "Kainuu", "aloituspvm": "2023-03-01"},
            {"person_id": "CHK003", "alue": "Pohjanmaa", "aloituspvm": "2023-05-01", "aalto": "1"},
            {"person_id": "CHK004", "alue": "Pohjanmaa", "aloituspvm": "2023-05-01", "suostumus_peruttu": "2024-01-01"},
            {"person_id": "CHK005", "alue": "Pohjanmaa", "aloituspvm": "2023-05-01", "tutkimussuostumus": None},
        ],
        jobs=[
            {"person_id": "CHK001", "alkupvm": "2023-02-01", "loppupvm": "2023-12-31"},
            {"person_id": "CHK003", "alkupvm": "2023-06-01", "palkkatuki": True},
            {"person_id": "CHK004", "alkupvm": "2023-06-01"},
        ],
        surveys=[{"person_id": "CHK001", "vastauspvm": "2023-01-15", "tyokyky": 6}],
        cohort=[{"person_id": "CHK001", "ips": 1, "indeksipvm": "2023-01-10"},
                {"person_id": "CMP001", "ips": 0, "indeksipvm": "2023-01-10"}],
    )
    path = save_copy(con, tmp_path_factory.mktemp("outcome_checks") / "sound.duckdb")
    con.close()
    return path


@pytest.fixture
def wh(sound_warehouse):
    con = open_copy(sound_warehouse)
    yield con
    con.close()


def test_every_check_passes_on_a_sound_warehouse(wh):
    assert run_checks(wh, C) == {name: [] for name in CHECKS}
    assert no_withdrawn_or_nonconsenting(wh) == []  # the cut-off read from core.evaluation_dates


def test_numerator_above_denominator_fails(wh):
    wh.execute("UPDATE marts.employment_outcomes SET n_tenure6 = n_tenure6_eligible + 1 WHERE alue = 'Kainuu'")
    wh.execute("UPDATE marts.employment_rate_by_quarter SET n_working = n_served + 2 WHERE alue = 'ALL'")
    violations = numerators_within_denominators(wh)
    assert any("marts.employment_outcomes [alue=Kainuu]: n_tenure6" in v for v in violations)
    assert any(v.startswith("marts.employment_rate_by_quarter [alue=ALL") and "n_working" in v for v in violations)


def test_costs_counts_outside_their_relations_fail(wh):
    if not wh.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'costs'"
                      ).fetchone()[0]:
        wh.execute("CREATE TABLE marts.costs (alue VARCHAR, vuosi VARCHAR, n_started BIGINT, n_employed BIGINT,"
                   " n_unsubsidised BIGINT)")
    wh.execute("DELETE FROM marts.costs")
    # over all years one client more than Kainuu's headline n_clients; 2023: 2 unsubsidised of 1 employed
    kainuu = wh.execute("SELECT n_clients, n_competitive, n_unsubsidised FROM marts.employment_outcomes"
                        " WHERE alue = 'Kainuu'").fetchone()
    wh.execute("INSERT INTO marts.costs (alue, vuosi, n_started, n_employed, n_unsubsidised) VALUES"
               " ('Kainuu', '2023', 2, 1, 2), ('Kainuu', 'ALL', ?, ?, ?)",
               [kainuu[0] + 1, kainuu[1], kainuu[2]])
    violations = numerators_within_denominators(wh)
    # 2 without pay subsidy among 1 employed; 3 started over all years, 2 clients in the headline
    assert any(v.startswith("marts.costs [alue=Kainuu vuosi=2023]: n_unsubsidised <= n_employed") for v in violations)
    assert any(v.startswith("marts.costs [alue=Kainuu vuosi=ALL]: n_started <= n_clients") for v in violations)
    assert not any("n_competitive" in v and "marts.costs" in v for v in violations)


def test_a_rate_outside_the_unit_interval_or_a_negative_count_fails_its_contract(wh):
    """The column facts of the marts are their contracts' tests (sql/marts/*.yml), which the
    table assets run as blocking checks; the ratio check names the same rate as well."""
    from ips_eval.warehouse.table_contracts import run_tests, table_contract

    contract = table_contract("marts.employment_outcomes_by_group")
    assert all(r.passed for r in run_tests(wh, contract))
    wh.execute("UPDATE marts.employment_outcomes_by_group SET rate_competitive = 1.5 WHERE alue = 'ALL' AND grouping = 'wave'")
    wh.execute("UPDATE marts.employment_outcomes_by_group SET n_jobs = -1 WHERE alue = 'Kainuu' AND grouping = 'smi'")
    failed = {r.test.check_name: r for r in run_tests(wh, contract) if not r.passed}
    assert set(failed) == {"rate_competitive_range", "n_jobs_range"}
    assert failed["rate_competitive_range"].examples == ("1.5",)
    assert any("grouping=wave" in v and "rate_competitive" in v for v in rates_are_their_ratios(wh))


def test_rate_set_with_zero_denominator_or_wrong_fails(wh):
    # Kainuu at 31.3.2023: CHK001's job 1.2.2023 + 6 months = 1.8.2023 > 1.4.2023 -> nobody
    # tenure6-eligible, so its rate must be NULL; set it to 0.
    assert wh.execute(
        "SELECT n_tenure6_eligible, rate_tenure6 FROM marts.employment_outcomes_quarterly"
        " WHERE alue = 'Kainuu' AND quarter = '2023Q1'"
    ).fetchone() == (0, None)
    wh.execute("UPDATE marts.employment_outcomes_quarterly SET rate_tenure6 = 0.0 WHERE alue = 'Kainuu' AND quarter = '2023Q1'")
    wh.execute("UPDATE marts.employment_outcomes SET rate_competitive = rate_competitive / 2 WHERE alue = 'ALL'")
    violations = rates_are_their_ratios(wh)
    assert any("set although the denominator is 0" in v for v in violations)
    assert any("rate_competitive" in v and "not numerator / denominator" in v for v in violations)


def test_client_twice_or_missing_in_client_outcomes_fails(wh):
    wh.execute("INSERT INTO core.client_outcomes SELECT * FROM core.client_outcomes WHERE person_id = 'CHK001'")
    wh.execute("DELETE FROM core.client_outcomes WHERE person_id = 'CHK002'")
    violations = population_exactly_once(wh)
    assert "core.client_outcomes: person CHK001 appears 2 times (in staging.study_population 1 times)" in violations
    assert "core.client_outcomes: person CHK002 appears 0 times (in staging.study_population 1 times)" in violations


def test_withdrawn_or_nonconsenting_person_in_a_mart_fails(wh):
    # CHK004 withdrew on 1.1.2024 <= C; CHK005 never consented; CMP001 is a comparison person.
    wh.execute("INSERT INTO marts.client_scores (person_id, wave) VALUES ('CHK004', 'baseline'), ('CHK005', 'final')")
    wh.execute("INSERT INTO core.register_month_sets (person_id, ips) VALUES ('CHK004', 1), ('CMP001', 0)")
    violations = no_withdrawn_or_nonconsenting(wh, C)
    assert "marts.client_scores: person CHK004: consent withdrawn on 2024-01-01" in violations
    assert "marts.client_scores: person CHK005: no research consent" in violations
    assert "core.register_month_sets: person CHK004: consent withdrawn on 2024-01-01" in violations
    assert not any("CMP001" in v for v in violations)


def test_register_person_without_register_consent_fails(wh):
    wh.execute("UPDATE staging.clients SET rekisterisuostumus = FALSE WHERE person_id = 'CHK001'")
    violations = no_withdrawn_or_nonconsenting(wh, C)
    assert "marts.register_outcomes: person CHK001: no register consent" in violations
    assert not any(v.startswith("marts.client_scores") for v in violations)  # survey data needs no register consent


def test_county_counts_not_summing_to_all_fails(wh):
    wh.execute("UPDATE marts.employment_outcomes SET n_jobs = n_jobs + 1 WHERE alue = 'Pohjanmaa'")
    wh.execute("UPDATE marts.employment_outcomes_quarterly SET n_clients = n_clients + 3 WHERE alue = 'ALL' AND quarter = '2024Q1'")
    violations = counties_sum_to_all(wh)
    # Pohjanmaa has CHK003 with 1 job, Kainuu CHK001 with 1: counties 1 + 2 = 3, ALL = 2
    assert "marts.employment_outcomes [all rows]: n_jobs: counties sum to 3, ALL = 2" in violations
    # 2024Q1: Kainuu CHK001, CHK002 + Pohjanmaa CHK003 = 3, ALL corrupted to 6
    assert "marts.employment_outcomes_quarterly [quarter=2024Q1]: n_clients: counties sum to 3, ALL = 6" in violations


def test_missing_table_is_a_violation(wh):
    wh.execute("DROP TABLE marts.employment_outcomes_by_group")
    assert "marts.employment_outcomes_by_group: table is missing" in counties_sum_to_all(wh)
