"""The warehouse tables found from sql/: their inputs and order read from the SQL, built one at a time."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from ips_eval import SQL_DIR
from ips_eval.models.registry import ensure_model_tables, table_writer
from ips_eval.warehouse.tables import (
    BUILT_SCHEMAS,
    SqlFileError,
    build_outcomes,
    build_table,
    sql_table,
    sql_tables,
    upstream_tables,
)
from outcome_fixtures import staging_warehouse, unfiltered_register_population

C = dt.date(2024, 6, 30)

CONTRACT_COLUMNS = {  # ANALYSIS_PLAN "Stable output tables" and the brief
    "marts.employment_outcomes": ["alue", "n_clients", "n_competitive", "rate_competitive", "n_unsubsidised",
                                  "rate_unsubsidised", "n_tenure6", "n_tenure6_eligible", "n_tenure12",
                                  "n_tenure12_eligible", "n_employed6", "n_employed6_eligible", "n_employed12",
                                  "n_employed12_eligible", "n_jobs", "median_job_days", "n_other_activity",
                                  "rate_tenure6", "rate_tenure12", "rate_employed6", "rate_employed12"],
    "marts.client_scores": ["person_id", "wave", "work_ability", "swemwbs", "eurohis", "inclusion",
                            "self_efficacy", "rtw_readiness", "stigma"],
    "marts.coaching": ["alue", "n_clients", "n_coach_rated", "n_contact30_eligible", "n_contact30", "rate_contact30",
                       "employer_contacts", "client_months", "contacts_per_client_month", "n_trust", "mean_trust",
                       "n_cooperation", "mean_cooperation", "n_referred", "median_days_referral_to_start",
                       "n_referral7", "n_referral30"],
    "marts.survey_items": ["source", "alue", "round", "item", "n_answered", "n_positive", "rate_positive", "mean",
                           "n_1", "n_2", "n_3", "n_4", "n_5"],
    "marts.care_staff_scales": ["alue", "round", "n_respondents", "n_recovery_orientation",
                                "mean_recovery_orientation", "n_employment_expectations",
                                "mean_employment_expectations"],
    "marts.scale_reliability": ["scale", "wave", "n_complete", "alpha"],
    "marts.fidelity": ["alue", "arviointipvm", "total", "category"],
    "marts.transition_rates": ["group", "period", "from_state", "to_state", "n_from", "rate"],
    "marts.register_outcomes": ["person_id", "ips", "employed_months_pre12", "employed_months_post12",
                                "earnings_post12", "benefit_months_post12", "employed_months_post24",
                                "earnings_post24", "benefit_months_post24", "employed_months_post36",
                                "earnings_post36", "benefit_months_post36"],
    "marts.employment_rate_by_quarter": ["alue", "quarter", "n_served", "n_working", "rate_working",
                                         "n_working_unsubsidised", "rate_working_unsubsidised",
                                         "quarter_start", "quarter_end"],
    "marts.state_sequences": ["person_id", "ips", "rel_month", "state"],
    "marts.costs": ["alue", "vuosi", "cost_eur", "coach_fte", "client_years", "cost_per_client_year",
                    "cost_per_client", "cost_per_employed", "cost_per_unsubsidised"],
    "core.competitive_jobs": ["person_id", "alue", "ips_start", "job_start", "job_end", "ongoing", "end_observed",
                              "subsidised", "job_days", "is_first", "lasted6", "lasted12"],
    "core.client_outcomes": ["person_id", "alue", "aalto", "ips_start", "service_end", "age", "age_group", "gender",
                             "education", "work_history", "smi", "competitive", "unsubsidised", "other_activity",
                             "first_job_start", "first_job_days", "first_job_ongoing", "tenure6_eligible", "tenure6",
                             "tenure12_eligible", "tenure12", "employed6_eligible", "employed6",
                             "employed12_eligible", "employed12", "days_to_first_job", "ttf_days", "ttf_event",
                             "ttf_competing", "fidelity_total"],
    "core.register_months": ["person_id", "ips", "rel_month", "month", "employed", "subsidised",
                             "disability_benefit", "unemployment_benefit", "inpatient", "earnings"],
    "core.register_month_sets": ["person_key", "person_id", "ips", "index_month", "observed", "employed",
                                 "subsidised", "disability_benefit", "unemployment_benefit", "inpatient"],
}


def test_every_sql_file_is_a_table_in_a_build_order():
    tables = sql_tables()
    files = sorted(f"{p.parent.name}.{p.stem}" for s in BUILT_SCHEMAS for p in (SQL_DIR / s).glob("*.sql"))
    assert sorted(t.name for t in tables) == files
    seen: set[str] = set()
    for table in tables:
        assert set(upstream_tables(table)) <= seen, table.name
        seen.add(table.name)


def test_inputs_are_read_from_the_sql():
    t = sql_table("core/client_quarters")
    assert t.reads == ("core.client_outcomes", "core.competitive_jobs", "core.quarters")
    assert t.summary.startswith("Client x quarter in service")
    assert sql_table("marts.state_sequences").kind == "VIEW"
    with pytest.raises(KeyError):
        sql_table("core.nope")


def _copy_sql(tmp_path):
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    return copy


def test_a_cycle_or_a_misnamed_file_is_refused(tmp_path):
    sql = _copy_sql(tmp_path)
    (sql / "marts" / "loop.sql").write_text("-- Reads itself through core.\nCREATE OR REPLACE TABLE marts.loop AS SELECT * FROM core.loop2")
    (sql / "core" / "loop2.sql").write_text("-- Reads marts.loop.\nCREATE OR REPLACE TABLE core.loop2 AS SELECT * FROM marts.loop")
    with pytest.raises(SqlFileError, match="cycle"):
        sql_tables(sql)
    (sql / "core" / "loop2.sql").write_text("-- Wrong name.\nCREATE OR REPLACE TABLE core.other AS SELECT 1 AS x")
    with pytest.raises(SqlFileError, match="expected CREATE OR REPLACE"):
        sql_tables(sql)
    (sql / "core" / "loop2.sql").write_text("CREATE OR REPLACE TABLE core.loop2 AS SELECT 1 AS x")
    with pytest.raises(SqlFileError, match="no header comment"):
        sql_tables(sql)


def test_tables_one_at_a_time_and_contract_columns():
    con = staging_warehouse(C, clients=[{"person_id": "ONE001", "aloituspvm": "2023-01-10"}], build=False)
    for table in sql_tables():  # what one Dagster asset per table does
        for writer in {table_writer(t) for t in table.model_inputs}:  # its upstream model asset ran first
            ensure_model_tables(con, writer)
        if table.schema != "staging":
            build_table(con, table, C.isoformat())
    for name, columns in CONTRACT_COLUMNS.items():
        schema, tbl = name.split(".")
        have = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?", [schema, tbl]
        ).fetchall()]
        assert set(columns) <= set(have), (name, set(columns) - set(have))


def test_empty_population_gives_an_all_row_of_zeros():
    con = staging_warehouse(C)
    row = con.execute("SELECT alue, n_clients, n_jobs, rate_competitive, median_job_days FROM marts.employment_outcomes").fetchall()
    assert row == [("ALL", 0, 0, None, None)]
    assert con.execute("SELECT count(*) FROM marts.employment_rate_by_quarter").fetchone() == (0,)


def test_build_outcomes_only_some_tables():
    con = staging_warehouse(C, clients=[{"person_id": "ONE001", "aloituspvm": "2023-01-10"}], build=False)
    built = build_outcomes(con, C, only=["core.quarters", "core.evaluation_dates"])
    assert built == ["core.quarters", "core.evaluation_dates"]


def test_register_persons_guard_even_if_staging_lets_them_through():
    # Staging (as a stand-in, deliberately wrong) lets every cohort person through: REG001 has no
    # register consent, REG002 withdrew, CMP009 has its index date after C, CLI003 is a client
    # listed as a comparison person. Only CMP001 and REG004 (consent K) may be used.
    cohort = [
        {"person_id": "REG001", "ips": 1, "indeksipvm": "2023-01-10"},
        {"person_id": "REG002", "ips": 1, "indeksipvm": "2023-01-10"},
        {"person_id": "CMP009", "ips": 0, "indeksipvm": "2024-07-01"},
        {"person_id": "CLI003", "ips": 0, "indeksipvm": "2023-01-10"},
        {"person_id": "CMP001", "ips": 0, "indeksipvm": "2023-01-10"},
        {"person_id": "REG004", "ips": 1, "indeksipvm": "2023-01-10"},
    ]
    con = staging_warehouse(
        C,
        clients=[
            {"person_id": "REG001", "aloituspvm": "2023-01-10", "rekisterisuostumus": None},
            {"person_id": "REG002", "aloituspvm": "2023-01-10", "suostumus_peruttu": "2024-02-01"},
            {"person_id": "CLI003", "aloituspvm": "2023-01-10", "suostumus_peruttu": "2024-02-01"},
            {"person_id": "REG004", "aloituspvm": "2023-01-10"},
        ],
        build=False,
    )
    unfiltered_register_population(con, cohort)
    build_outcomes(con, C)
    kept = [r[0] for r in con.execute("SELECT person_id FROM marts.register_outcomes ORDER BY 1").fetchall()]
    assert kept == ["CMP001", "REG004"]


def test_withdrawn_client_in_staging_reaches_no_core_or_marts_table():
    # The outcome SQL itself keeps a withdrawn client out, whatever staging still holds:
    # WDR001 withdrew 1.2.2024 <= C but has a job, a survey response and register data.
    con = staging_warehouse(
        C,
        clients=[{"person_id": "WDR001", "aloituspvm": "2023-01-10", "suostumus_peruttu": "2024-02-01"},
                 {"person_id": "KEP001", "aloituspvm": "2023-01-10"}],
        jobs=[{"person_id": "WDR001", "alkupvm": "2023-02-01"}, {"person_id": "KEP001", "alkupvm": "2023-02-01"}],
        surveys=[{"person_id": "WDR001", "vastauspvm": "2023-01-15", "tyokyky": 6}],
        cohort=[{"person_id": "WDR001", "ips": 1, "indeksipvm": "2023-01-10"}],
        employment=[{"person_id": "WDR001", "start_date": "2023-02-01"}],
        build=False,
    )
    unfiltered_register_population(con, [{"person_id": "WDR001", "ips": 1, "indeksipvm": "2023-01-10"}])
    build_outcomes(con, C)
    tables = [r[0] for r in con.execute(
        "SELECT DISTINCT table_schema || '.' || table_name FROM information_schema.columns"
        " WHERE table_schema IN ('core', 'marts') AND column_name = 'person_id'"
    ).fetchall()]
    assert len(tables) >= 10
    for t in tables:
        assert con.execute(f"SELECT count(*) FROM {t} WHERE person_id = 'WDR001'").fetchone() == (0,), t
    assert con.execute("SELECT n_clients, n_jobs FROM marts.employment_outcomes WHERE alue = 'ALL'").fetchone() == (1, 1)


def test_the_sql_names_quarters_as_quarter_label_does():
    from ips_eval.definitions import quarter_label

    con = staging_warehouse(C, clients=[{"person_id": "ONE001", "aloituspvm": "2023-01-10"}])
    rows = con.execute("SELECT quarter, quarter_start, quarter_end FROM core.quarters WHERE alue = 'ALL'").fetchall()
    assert [r[0] for r in rows] == ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    assert all(label == quarter_label(start) == quarter_label(end) for label, start, end in rows)


def test_the_follow_up_lengths_reach_the_sql_from_the_definitions():
    import re

    import duckdb

    from ips_eval.definitions import FOLLOW_UP_MONTHS, SQL_CONSTANTS
    from ips_eval.ingest.load import prepare

    con = duckdb.connect()
    prepare(con)  # the ref tables and the macros
    assert [con.execute(f"SELECT {name}()").fetchone()[0] for name in SQL_CONSTANTS] == list(SQL_CONSTANTS.values())
    assert (SQL_CONSTANTS["follow_up_short_months"], SQL_CONSTANTS["follow_up_long_months"]) == FOLLOW_UP_MONTHS
    for path in sorted((SQL_DIR / "core").glob("*_asof.sql")):
        literal = re.findall(r"INTERVAL\s+\(?\s*(\d+)\s*\)?\s+MONTHS?", path.read_text(encoding="utf-8"), re.I)
        assert not set(literal) & {str(m) for m in FOLLOW_UP_MONTHS}, f"{path.name} writes a follow-up length itself"
