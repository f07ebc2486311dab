"""Consent withdrawal: a withdrawn client's rows leave every table of the run.

ANALYSIS_PLAN: a client who withdraws consent disappears from every derived table and every
published figure on the next run. Here that reaches back to the raw tables and the audit of
rejected rows too, so that the new warehouse holds nothing of the person. The rows are still
accounted for, apart from bad data: each file's rows of withdrawn persons (accepted ones and
ones rejected for a fault alike) are counted in `audit.loads.rows_withdrawn`, so that rows read
= accepted + rejected + withdrawn + empty keeps holding and `audit.rejected_rows` holds only
rows that were wrong.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from ips_eval.ingest.contracts import load_contracts
from ips_eval.warehouse.database import load_macros, run_sql

DDL = (
    "CREATE OR REPLACE TABLE audit.consent_withdrawals (export VARCHAR, rows_removed BIGINT, "
    "rejected_rows_erased BIGINT, rows_remaining BIGINT)"
)


def purge_withdrawn(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> dict[str, tuple[int, int, int]]:
    """Remove the rows of persons whose consent was withdrawn by the cut-off.

    Returns, per export, (rows removed from raw, rejected rows erased, rows still remaining);
    the same counts go to audit.consent_withdrawals, where a blocking check reads them.
    """
    load_macros(con)
    run_sql(con, "audit/withdrawn_persons", cutoff=cutoff)
    con.execute(DDL)
    summary: dict[str, tuple[int, int, int]] = {}
    contracts = [c for c in load_contracts().values() if c.person_column]
    for contract in contracts:
        person = f'"{contract.person_column}"'
        table = contract.table
        hit = f"{person} IN (SELECT person_id FROM withdrawn_persons)"
        by_file = con.execute(f"SELECT _file, count(*) FROM {table} WHERE {hit} GROUP BY _file").fetchall()
        con.execute(f"DELETE FROM {table} WHERE {hit}")
        for file, n in by_file:
            con.execute(
                "UPDATE audit.loads SET rows_accepted = rows_accepted - ?, rows_withdrawn = rows_withdrawn + ? "
                "WHERE export = ? AND file = ?",
                [n, n, contract.export, file],
            )
        # rows of the person rejected for a fault go too: counted as withdrawn, no longer as rejected.
        # A line that could not be split into fields has no person column: its text is searched.
        in_rejected = (
            "export = ? AND raw IS NOT NULL AND EXISTS (SELECT 1 FROM withdrawn_persons w WHERE CASE"
            " WHEN json_valid(raw) THEN json_extract_string(raw, '$.person_id') = w.person_id"
            " ELSE contains(raw, w.person_id) END)"
        )
        erased_by_file = con.execute(
            f"SELECT file, count(*) FROM audit.rejected_rows WHERE {in_rejected} GROUP BY file", [contract.export]
        ).fetchall()
        con.execute(f"DELETE FROM audit.rejected_rows WHERE {in_rejected}", [contract.export])
        for file, n in erased_by_file:
            con.execute(
                "UPDATE audit.loads SET rows_rejected = rows_rejected - ?, rows_withdrawn = rows_withdrawn + ? "
                "WHERE export = ? AND file = ?",
                [n, n, contract.export, file],
            )
        erased = sum(n for _, n in erased_by_file)
        remaining = con.execute(f"SELECT count(*) FROM {table} WHERE {hit}").fetchall()[0][0]
        remaining += con.execute(f"SELECT count(*) FROM audit.rejected_rows WHERE {in_rejected}", [contract.export]).fetchall()[0][0]
        removed = sum(n for _, n in by_file)
        summary[contract.export] = (removed, erased, remaining)
        con.execute("INSERT INTO audit.consent_withdrawals VALUES (?, ?, ?, ?)", [contract.export, removed, erased, remaining])
    con.execute("DROP TABLE withdrawn_persons")
    return summary


def purge_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Problems (empty = pass): a table that still held a withdrawn person's row after the purge."""
    return [
        f"{export}: {n} row(s) of withdrawn persons remain"
        for export, n in con.execute(
            "SELECT export, rows_remaining FROM audit.consent_withdrawals WHERE rows_remaining > 0"
        ).fetchall()
    ]
