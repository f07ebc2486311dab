"""Checks that every delivered row is accounted for; they back blocking Dagster checks."""

from __future__ import annotations

import duckdb


def rows_accounted(con: duckdb.DuckDBPyConnection, export: str) -> list[str]:
    """Problems (empty = pass): rows_read = accepted + rejected + withdrawn + empty lines, and
    the accepted and rejected counts agree with the tables.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE SCHEMA audit; CREATE SCHEMA raw; CREATE TABLE raw.jobs (_file VARCHAR)")
    >>> _ = con.execute("CREATE TABLE audit.rejected_rows (export VARCHAR, file VARCHAR)")
    >>> _ = con.execute("CREATE TABLE audit.loads AS SELECT 'jobs' AS export, 'jobs.csv' AS file, 3 AS rows_read,"
    ...                 " 0 AS rows_accepted, 0 AS rows_rejected, 2 AS rows_withdrawn, 0 AS rows_empty")
    >>> rows_accounted(con, "jobs")
    ['jobs.csv: 3 rows read but 0 accepted + 0 rejected + 2 withdrawn + 0 empty lines']
    """
    problems = []
    loads = con.execute(
        "SELECT file, rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty FROM audit.loads"
        " WHERE export = ?", [export]
    ).fetchall()
    for file, read, accepted, rejected, withdrawn, empty in loads:
        if read != accepted + rejected + withdrawn + empty:
            problems.append(f"{file}: {read} rows read but {accepted} accepted + {rejected} rejected + {withdrawn}"
                            f" withdrawn + {empty} empty lines")
        in_raw = con.execute(f"SELECT count(*) FROM raw.{export} WHERE _file = ?", [file]).fetchall()[0][0]
        if in_raw != accepted:
            problems.append(f"{file}: audit says {accepted} accepted, raw.{export} holds {in_raw}")
        kept = con.execute(
            "SELECT count(*) FROM audit.rejected_rows WHERE export = ? AND file = ?", [export, file]
        ).fetchall()[0][0]
        if kept != rejected:
            problems.append(f"{file}: audit says {rejected} rejected, audit.rejected_rows keeps {kept}")
    return problems
