"""Checks that every delivered row is accounted for; they back blocking Dagster checks."""

from __future__ import annotations

import duckdb


def rows_accounted(con: duckdb.DuckDBPyConnection, export: str) -> list[str]:
    """Problems (empty = pass): rows_read = accepted + rejected, and both agree with the tables."""
    problems = []
    loads = con.execute(
        "SELECT file, rows_read, rows_accepted, rows_rejected FROM audit.loads WHERE export = ?", [export]
    ).fetchall()
    for file, read, accepted, rejected in loads:
        if read != accepted + rejected:
            problems.append(f"{file}: {read} rows read but {accepted} accepted + {rejected} rejected")
        in_raw = con.execute(f"SELECT count(*) FROM raw.{export} WHERE _file = ?", [file]).fetchall()[0][0]
        if in_raw != accepted:
            problems.append(f"{file}: audit says {accepted} accepted, raw.{export} holds {in_raw}")
        kept = con.execute(
            "SELECT count(*) FROM audit.rejected_rows WHERE export = ? AND file = ?", [export, file]
        ).fetchall()[0][0]
        if kept != rejected:
            problems.append(f"{file}: audit says {rejected} rejected, audit.rejected_rows keeps {kept}")
    return problems
