"""Reading the warehouse tables a model needs, failing with a reason a researcher reads.

Models read `core`, `marts` and `staging` tables through these helpers so that a missing
table, a missing column or an empty table becomes a `not_fitted` fit-log row naming
exactly what is missing, instead of a DuckDB stack trace.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from sqlglot import exp

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.models.result import NotFitted
from ips_eval.warehouse.database import query_sql
from ips_eval.warehouse.lineage import parse, tables_read

#: The models' input queries (they build no warehouse table): `sql/models/<name>.sql`.
QUERIES = MODEL_QUERIES_DIR


def query_tables(path: Path) -> set[str]:
    """The warehouse tables a model's query file reads (its inputs in the asset graph)."""
    return tables_read(Path(path).read_text(encoding="utf-8"))


def read_query(con: duckdb.DuckDBPyConnection, path: Path, allow_empty: bool = False, **params) -> pd.DataFrame:
    """Run a model's input query, or NotFitted naming the missing table or column.

    Examples
    --------
    >>> frame = read_query(con, QUERIES / "job_tenure.sql")  # doctest: +SKIP
    """
    sql = Path(path).read_text(encoding="utf-8")
    statement = parse(sql)
    tables = sorted(tables_read(sql))
    aliases = {t.alias_or_name: f"{t.db}.{t.name}" for t in statement.find_all(exp.Table) if t.db}
    present = {}
    for table in tables:
        present[table] = set(columns_of(con, table))
        if not present[table]:
            raise NotFitted(f"input table {table} is missing from the warehouse")
    missing: dict[str, list[str]] = {}
    for col in statement.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            continue
        owners = [aliases[col.table]] if col.table in aliases else tables
        if not any(col.name in present[t] for t in owners):
            missing.setdefault(" or ".join(owners), []).append(col.name)
    if missing:
        raise NotFitted("; ".join(f"input table {t} lacks column(s) {', '.join(dict.fromkeys(c))}"
                                  for t, c in missing.items()))
    df = query_sql(con, path, **params)
    if df.empty and not allow_empty:
        raise NotFitted(f"input table {', '.join(tables)} has no rows for {Path(path).stem}", n=0)
    return df


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".", 1)
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
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
