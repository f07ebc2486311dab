"""Reading the warehouse tables a model needs, failing with a reason a researcher reads.

Models read `core`, `marts` and `staging` tables through these helpers so that a missing
table, a missing column or an empty table becomes a `not_fitted` fit-log row naming
exactly what is missing, instead of a DuckDB stack trace.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ips_eval.models.result import NotFitted


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".", 1)
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
        " ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(columns_of(con, table))


def read_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    where: str | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """`SELECT columns FROM table [WHERE where]`, or NotFitted naming what is missing."""
    present = columns_of(con, table)
    if not present:
        raise NotFitted(f"input table {table} is missing from the warehouse")
    missing = [c for c in columns if c not in present]
    if missing:
        raise NotFitted(f"input table {table} lacks column(s) {', '.join(missing)}")
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"SELECT {cols} FROM {table}" + (f" WHERE {where}" if where else "")
    df = con.execute(sql).df()
    if df.empty and not allow_empty:
        raise NotFitted(f"input table {table} has no rows" + (f" with {where}" if where else ""), n=0)
    return df
