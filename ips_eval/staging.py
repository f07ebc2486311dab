"""Staging: current record versions, cleaned register spells and the two populations.

The order of STAGING_TABLES is the dependency order; each name is a file in sql/staging/.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from ips_eval.warehouse import load_macros, run_sql

#: (table, the tables it reads), in dependency order; each name is a file sql/staging/<table>.sql.
STAGING_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clients", ("raw.clients",)),
    ("jobs", ("raw.jobs",)),
    ("survey_responses", ("raw.survey_baseline", "raw.survey_midpoint", "raw.survey_final")),
    ("fidelity_reviews", ("raw.fidelity_reviews",)),
    ("study_population", ("staging.clients",)),
    ("register_population", ("raw.register_cohort", "staging.study_population")),
    (
        "register_spells",
        ("raw.register_employment", "raw.register_pay_subsidy", "raw.register_benefits", "staging.register_population"),
    ),
    ("employment_spells", ("staging.register_spells",)),
    ("pay_subsidy_spells", ("staging.register_spells",)),
    ("benefit_spells", ("staging.register_spells",)),
    ("psychiatric_care", ("raw.register_psychiatric_care", "staging.register_population")),
    ("earnings", ("raw.register_earnings", "staging.register_population")),
)


def build_table(con: duckdb.DuckDBPyConnection, table: str, cutoff: dt.date) -> int:
    """Build one staging table and return its row count."""
    load_macros(con)
    run_sql(con, f"staging/{table}", cutoff=cutoff)
    return con.execute(f"SELECT count(*) FROM staging.{table}").fetchall()[0][0]


def build_staging(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> dict[str, int]:
    """Every staging table in dependency order (what tests and the library use without Dagster)."""
    return {table: build_table(con, table, cutoff) for table, _ in STAGING_TABLES}
