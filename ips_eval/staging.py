"""Staging: current record versions, cleaned register spells and the two populations.

The order of STAGING_TABLES is the dependency order; each name is a file in sql/staging/.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from ips_eval.warehouse import load_macros, run_sql

#: (table, the staging tables it reads). Raw tables are always read from `raw`.
STAGING_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clients", ()),
    ("jobs", ()),
    ("survey_responses", ()),
    ("fidelity_reviews", ()),
    ("study_population", ("clients",)),
    ("register_population", ("study_population",)),
    ("register_spells", ("register_population",)),
    ("employment_spells", ("register_spells",)),
    ("pay_subsidy_spells", ("register_spells",)),
    ("benefit_spells", ("register_spells",)),
    ("psychiatric_care", ("register_population",)),
    ("earnings", ("register_population",)),
)


def build_table(con: duckdb.DuckDBPyConnection, table: str, cutoff: dt.date) -> int:
    """Build one staging table and return its row count."""
    load_macros(con)
    run_sql(con, f"staging/{table}", cutoff=cutoff)
    return con.execute(f"SELECT count(*) FROM staging.{table}").fetchall()[0][0]


def build_staging(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> dict[str, int]:
    """Every staging table in dependency order (what tests and the library use without Dagster)."""
    return {table: build_table(con, table, cutoff) for table, _ in STAGING_TABLES}
