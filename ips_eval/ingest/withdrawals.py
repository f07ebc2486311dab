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
from ips_eval.ingest.validate_sql import sql_literal
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
    contracts = [c for c in load_contracts().values() if c.person_column]
    exports = ", ".join(sql_literal(c.export) for c in contracts)
    hit = {c.export: f'"{c.person_column}" IN (SELECT person_id FROM withdrawn_persons)' for c in contracts}
    # rows of the person rejected for a fault go too: counted as withdrawn, no longer as rejected.
    # A line that could not be split into fields has no person column: its text is searched.
    in_rejected = (
        "raw IS NOT NULL AND EXISTS (SELECT 1 FROM withdrawn_persons w WHERE CASE"
        " WHEN json_valid(raw) THEN json_extract_string(raw, '$.person_id') = w.person_id"
        " ELSE contains(raw, w.person_id) END)"
    )
    # Per file: the rows to remove from raw and the rejected rows to erase; then every delete,
    # and each file's counts moved to rows_withdrawn, in one script.
    counted = " UNION ALL ".join(
        [f"SELECT {sql_literal(c.export)} AS export, _file AS file, count(*) AS removed, 0 AS erased FROM {c.table}"
         f" WHERE {hit[c.export]} GROUP BY _file" for c in contracts]
        + [f"SELECT export, file, 0, count(*) FROM audit.rejected_rows WHERE export IN ({exports}) AND {in_rejected}"
           " GROUP BY export, file"])
    con.execute(
        f"{DDL};"
        f" CREATE OR REPLACE TEMP TABLE _withdrawn_rows AS SELECT export, file, sum(removed)::BIGINT AS removed,"
        f" sum(erased)::BIGINT AS erased FROM ({counted}) GROUP BY export, file;"
        + "".join(f" DELETE FROM {c.table} WHERE {hit[c.export]};" for c in contracts)
        + f" DELETE FROM audit.rejected_rows WHERE export IN ({exports}) AND {in_rejected};"
        " UPDATE audit.loads AS l SET rows_accepted = rows_accepted - w.removed, rows_rejected = rows_rejected - w.erased,"
        " rows_withdrawn = rows_withdrawn + w.removed + w.erased FROM _withdrawn_rows w"
        " WHERE l.export = w.export AND l.file = w.file"
    )
    removed = dict.fromkeys((c.export for c in contracts), (0, 0))
    for export, n_removed, n_erased in con.execute(
            "SELECT export, sum(removed), sum(erased) FROM _withdrawn_rows GROUP BY export").fetchall():
        removed[export] = (int(n_removed), int(n_erased))
    remaining = dict(con.execute(" UNION ALL ".join(
        f"SELECT {sql_literal(c.export)}, (SELECT count(*) FROM {c.table} WHERE {hit[c.export]})"
        f" + (SELECT count(*) FROM audit.rejected_rows WHERE export = {sql_literal(c.export)} AND {in_rejected})"
        for c in contracts)).fetchall())
    summary = {c.export: (*removed[c.export], int(remaining[c.export])) for c in contracts}
    if summary:
        con.execute("INSERT INTO audit.consent_withdrawals VALUES " + ", ".join("(?, ?, ?, ?)" for _ in summary),
                    [v for export, counts in summary.items() for v in (export, *counts)])
    con.execute("DROP TABLE withdrawn_persons; DROP TABLE _withdrawn_rows")
    return summary


def purge_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Problems (empty = pass): a table that still held a withdrawn person's row after the purge."""
    return [
        f"{export}: {n} row(s) of withdrawn persons remain"
        for export, n in con.execute(
            "SELECT export, rows_remaining FROM audit.consent_withdrawals WHERE rows_remaining > 0"
        ).fetchall()
    ]
