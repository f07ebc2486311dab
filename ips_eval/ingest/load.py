"""Ingest: one delivered file -> `raw.<export>` plus its audit rows, every row accounted for.

Rows that break the contract are rejected whole into `audit.rejected_rows` (file, line,
column, rule, message, raw row) and count nowhere; the rest are written typed. A file that
cannot be read as a whole raises DeliveryRefused and writes nothing. `audit.loads` accounts
for every line after the header: rows_read = rows_accepted + rows_rejected + rows_withdrawn
(set by `ingest.withdrawals`) + rows_empty (lines holding nothing).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd
import pandera.errors
import pyarrow as pa

from ips_eval.ingest.contracts import RULES, Contract, codes_table, describe_rule, load_contracts, pandera_schema
from ips_eval.definitions import reference_tables
from ips_eval.faults import failpoint
from ips_eval.ingest.delivery import DeliveredFile, locate, sha256
from ips_eval.ingest.readers import ReadResult, read_file
from ips_eval.ingest.validate_sql import (
    CONFLICT, checked_sql, delivered_sql, lines_sql, rejected_sql, sql_literal, typed_sql,
)
from ips_eval.warehouse.database import SCHEMAS, load_macros

#: Where the contract rules run: "sql", inside DuckDB over the whole file (only the failing rows
#: reach Python), or "pandera", in pandas batches. Both come from the same YAML contracts, and a
#: test demands identical results on the bad-input catalogue (docs/decisions.md).
VALIDATION_ENGINES = ("sql", "pandera")
VALIDATION_ENGINE = os.environ.get("IPS_EVAL_VALIDATION", "sql")

#: Rows validated at a time by the pandera engine: bounds memory on national-scale register extracts (the size that
#: benchmarks/register.py found lowest in peak memory at no cost in time; see RESULTS.md).
CHUNK_ROWS = 100_000

#: Text columns reach pandas as Arrow-backed strings, not Python objects, and dates as datetime64:
#: pandera's pattern, code and null checks then run in Arrow's and numpy's kernels instead of
#: looping over Python objects.
#: A missing text is then pd.NA, not None.
_ARROW_TEXT = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}

AUDIT_DDL = (
    "CREATE TABLE IF NOT EXISTS audit.loads (export VARCHAR, file VARCHAR, sha256 VARCHAR, format VARCHAR,"
    " encoding VARCHAR, rows_read BIGINT, rows_accepted BIGINT, rows_rejected BIGINT, rows_withdrawn BIGINT,"
    " rows_empty BIGINT, notes VARCHAR)",
    "CREATE TABLE IF NOT EXISTS audit.rejected_rows (export VARCHAR, file VARCHAR, line BIGINT, \"column\" VARCHAR,"
    " rule VARCHAR, message VARCHAR, raw VARCHAR)",
)


@dataclass
class LoadResult:
    export: str
    file: str | None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_empty: int = 0
    rejected_by_rule: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Schemas, audit tables, the format parsers and the `ref` tables.

    Every ingest step prepares its connection, so a `ref` table is written only when it does
    not already hold this very frame: its comment carries a stamp of the frame it was made
    from (`_REF_STAMP`): writing the tables costs far more than reading their comments.
    """
    # A database's first look at duckdb_tables() costs many statements' worth: a database
    # without the schema has no ref table to look at.
    had_ref = con.execute("SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database()"
                          " AND schema_name = 'ref'").fetchall()[0][0]
    con.execute("; ".join([*(f"CREATE SCHEMA IF NOT EXISTS {schema}" for schema in SCHEMAS), *AUDIT_DDL]))
    written = dict(con.execute(
        "SELECT table_name, comment FROM duckdb_tables()"
        " WHERE database_name = current_database() AND schema_name = 'ref'").fetchall()) if had_ref else {}
    for name, frame in {**reference_tables(), "codes": codes_table()}.items():
        stamp = _REF_STAMP.format(_frame_stamp(frame))
        if written.get(name) == stamp:
            continue
        con.register("_ref_frame", _as_arrow(frame))
        con.execute(f"CREATE OR REPLACE TABLE ref.{name} AS SELECT * FROM _ref_frame;"
                    f" COMMENT ON TABLE ref.{name} IS '{stamp}'")
        con.unregister("_ref_frame")
    load_macros(con)


def _as_arrow(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """The frame as Arrow, which DuckDB reads far sooner than pandas, with the same types; a
    column that only pandas' reading can type (all None, or mixed) leaves the frame as it is."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return frame
    return frame if any(pa.types.is_null(t) for t in table.schema.types) else table


#: The comment of a `ref` table: where it comes from, and a stamp of the frame it holds.
_REF_STAMP = "Written from ips_eval.definitions by ingest (frame {})"


def _frame_stamp(frame: pd.DataFrame) -> str:
    """A digest of a frame's columns, types and values (as CSV, so floats keep every digit)."""
    text = f"{list(frame.columns)}\n{[str(t) for t in frame.dtypes]}\n{frame.to_csv(index=False)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_export(
    con: duckdb.DuckDBPyConnection,
    delivery: Path,
    contract: Contract,
    known_persons: Iterable[str] | None = None,
    engine: str | None = None,
    prepared: bool = False,
) -> LoadResult:
    """Load one export into raw.<export>, replacing what an earlier load of it wrote.

    `engine` says where the contract rules run (VALIDATION_ENGINES; default VALIDATION_ENGINE);
    `prepared` when the caller already ran `prepare` on this connection.
    """
    if not prepared:
        prepare(con)
    delivered = locate(Path(delivery), contract)
    export = sql_literal(contract.export)
    con.execute(f"{contract.raw_table_ddl()}; DELETE FROM audit.loads WHERE export = {export};"
                f" DELETE FROM audit.rejected_rows WHERE export = {export}")
    if delivered is None:
        return LoadResult(contract.export, None, notes=["not delivered (optional): empty table"])
    workdir = Path(tempfile.mkdtemp(prefix="ips-eval-ingest-"))
    try:
        read = read_file(con, delivered, contract, workdir)
        return _validate_and_write(con, delivered, contract, read, known_persons, engine or VALIDATION_ENGINE)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


#: One rejected row, as audit.rejected_rows holds it.
Rejected = tuple  # (export, file, line, column, rule, message, raw)

_REJECTED_SCHEMA = pa.schema([("export", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                              ("column", pa.string()), ("rule", pa.string()), ("message", pa.string()),
                              ("raw", pa.string())])


def _validate_and_write(
    con, f: DeliveredFile, contract: Contract, read: ReadResult, known_persons, engine: str = "sql"
) -> LoadResult:
    if engine not in VALIDATION_ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; one of {', '.join(VALIDATION_ENGINES)}")
    known = set(known_persons) if known_persons is not None else None
    if read.records == 0:
        # a header alone (or only broken lines): no record for the rules, nothing to write, and
        # planning the rules' statement would cost more than the rest of the file's load
        source, kind, found = None, None, []
    elif engine == "sql":
        source, kind = f"{read.table}_checked", "TABLE"
        found = _sql_rejects(con, source, contract, f, read, known)
    else:
        source, kind = f"{read.table}_typed", "VIEW"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {source} AS {typed_sql(contract, read.table)}")
        found = _pandera_rejects(con, source, contract, f, read, known)
    rejected = _mark_cut_last_line(_structural(read, f, contract) + found, read.last_line_cut)
    if rejected:
        con.register("_rejected", pa.Table.from_pylist(
            [dict(zip(_REJECTED_SCHEMA.names, r)) for r in rejected], schema=_REJECTED_SCHEMA))
        con.execute("INSERT INTO audit.rejected_rows SELECT * FROM _rejected")
        con.unregister("_rejected")
    accepted = 0
    if source is not None:
        cols = ", ".join(f'"{c.name}"' for c in contract.columns)
        lines = sorted({r[2] for r in rejected})
        where, params = lines_sql(lines, keep=False)
        # in file order, as read: a condition with parameters is a join, which does not keep it
        order = " ORDER BY _line" if params else ""
        [(accepted,)] = con.execute(
            f"INSERT INTO {contract.table} SELECT {cols}, ? AS _file, _line FROM {source} WHERE {where}{order}",
            [f.relative, *params],
        ).fetchall()
        con.execute(f"DROP {kind} {source}")
    con.execute(read.drop_sql())
    rows_read = read.records + len(read.structural_rejects) + read.empty_lines
    by_rule = dict(sorted(Counter(r[4] for r in rejected).items()))
    con.execute(
        "INSERT INTO audit.loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [contract.export, f.relative, sha256(f.path), f.format, read.encoding, rows_read, accepted, len(rejected),
         read.empty_lines, "; ".join(read.notes) or None],
    )
    for p in read.temp_files:
        p.unlink(missing_ok=True)
    return LoadResult(contract.export, f.relative, rows_read, accepted, len(rejected), read.empty_lines, by_rule,
                      read.notes)


def _decimals_as_float(batch: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
    """Decimal columns as floats for the checks only (a range check on floats is exact enough
    for values of two decimals); what is written to raw stays DECIMAL."""
    if not any(pa.types.is_decimal(f.type) for f in batch.schema):
        return batch
    return type(batch).from_arrays(
        [c.cast(pa.float64()) if pa.types.is_decimal(c.type) else c for c in batch.columns],
        names=batch.schema.names)


def _sql_rejects(con, checked: str, contract: Contract, f: DeliveredFile, read: ReadResult,
                 known) -> list[Rejected]:
    """The rules evaluated by DuckDB over the whole file into the temporary table `checked`
    (every row with the rules it breaks); only the rows to reject come to Python, with their
    delivered text: those breaking a rule, then those of conflicting versions."""
    known_table = None
    if known is not None and contract.references:
        con.register("_known_persons", pa.table({"person_id": pa.array(sorted(known), pa.string())}))
        known_table = "_known_persons"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {checked} AS {checked_sql(contract, read.table, known_table)}")
    finally:
        if known_table:
            con.unregister(known_table)
    to_reject = con.execute(rejected_sql(contract, checked)).fetchall()
    if not to_reject:
        return []
    delivered = {line: values for line, *values in
                 con.execute(*delivered_sql(contract, read.table, [line for line, _ in to_reject])).fetchall()}
    rows, per_row, conflicting = {}, {}, []
    for i, (line, failures) in enumerate(to_reject):
        # the text as the rules saw it (`raw_expression`): a missing-value marker as NULL
        row = {f"{c.name}__raw": None if v in c.missing_values else v for c, v in zip(contract.columns, delivered[line])}
        row["_line"] = line
        if failures[0].startswith(CONFLICT + ":"):
            conflicting.append(row)
        else:
            rows[i], per_row[i] = row, [tuple(x.split(":", 1)) for x in failures]
    return (_rejected_records(rows, per_row, contract, f, read)
            + [_conflict_record(row, contract, f, read) for row in conflicting])


def _pandera_rejects(con, typed_view: str, contract: Contract, f: DeliveredFile, read: ReadResult,
                     known) -> list[Rejected]:
    """The rules evaluated by pandera in batches of CHUNK_ROWS rows, then the conflicting versions."""
    schema = pandera_schema(contract, known)
    # The batches stream from this connection; nothing else runs on it until they are read.
    reader = con.sql(f"SELECT * FROM {typed_view} ORDER BY _line").to_arrow_reader(CHUNK_ROWS)
    rejected: list[Rejected] = []
    kept_for_versions = []
    for batch in reader:
        frame = _arrow_frame(batch)
        bad = _violations(schema, frame, contract, f, read)
        rejected += bad
        if contract.version and contract.key:
            kept_for_versions.append(frame[~frame["_line"].isin([r[2] for r in bad])])
    if contract.version and contract.key and kept_for_versions:
        rejected += _conflicting_versions(pd.concat(kept_for_versions, ignore_index=True), contract, f, read)
    return rejected


def _arrow_frame(arrow) -> pd.DataFrame:
    """A typed batch as pandas (for the pandera engine): texts Arrow-backed, dates datetime64."""
    if hasattr(arrow, "read_all"):
        arrow = arrow.read_all()
    return _decimals_as_float(arrow).to_pandas(types_mapper=_ARROW_TEXT.get, date_as_object=False)


def _violations(schema, frame: pd.DataFrame, contract: Contract, f: DeliveredFile, read: ReadResult) -> list[Rejected]:
    """One row per rejected record: its first failure (in column order) and all of them in the message."""
    try:
        schema.validate(frame, lazy=True)
        return []
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
    order = {c.name: i for i, c in enumerate(contract.columns)}
    found = []
    for case in cases.itertuples(index=False):
        if case.index is None or pd.isna(case.index):
            raise RuntimeError(f"{f.relative}: contract check failed on the whole frame: {case.check}")
        rule, column = _rule_and_column(str(case.check), case.column)
        row = frame.loc[int(case.index)]
        if rule == "required" and not _blank(row.get(f"{column}__raw")):
            continue  # present but unreadable: reported by its type check
        found.append((int(case.index), order.get(column, 99), RULES.index(rule), rule, column))
    per_row: dict[int, list[tuple[str, str]]] = {}
    for idx, _, _, rule, column in sorted(set(found)):
        per_row.setdefault(idx, []).append((rule, column))
    return _rejected_records({idx: frame.loc[idx] for idx in per_row}, per_row, contract, f, read)


def _rejected_records(rows: dict, per_row: dict, contract: Contract, f: DeliveredFile,
                      read: ReadResult) -> list[Rejected]:
    """One rejected row per entry of `per_row` (key -> its failures in report order), the row
    itself (`_line` and the delivered text of each column, `<column>__raw`) under the same key
    in `rows`."""
    records = []
    for idx, failures in per_row.items():
        row = rows[idx]
        rule, column = failures[0]
        messages = [_message(contract, read, row, r, c) for r, c in failures]
        records.append((contract.export, f.relative, int(row["_line"]), column, rule, "; ".join(messages),
                        _raw_json(row, contract, read)))
    return records


def _rule_and_column(check: str, column) -> tuple[str, str]:
    if check == "not_nullable":
        return "required", column
    if ":" in check:
        rule, col = check.split(":", 1)
        return rule, col
    return check, column


def _message(contract: Contract, read: ReadResult, row, rule: str, column: str) -> str:
    value = row.get(f"{column}__raw")
    shown = "blank" if _blank(value) else f"'{value}'"
    return f"{describe_rule(contract, column, rule)} (found {shown})"


def _blank(value) -> bool:
    """No value: None, NaN/NaT, or pandas' NA (Arrow-backed columns)."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _raw_json(row, contract: Contract, read: ReadResult) -> str:
    """The delivered values by the contract's column names (blank and EOS as null)."""
    values = {}
    for c in contract.columns:
        v = row.get(f"{c.name}__raw")
        values[c.name] = None if _blank(v) else str(v)
    return json.dumps(values, ensure_ascii=False)


def _structural(read: ReadResult, f: DeliveredFile, contract: Contract) -> list[Rejected]:
    bad = read.structural_rejects
    if not len(bad):
        return []
    return [(contract.export, f.relative, int(line), None, str(rule), str(message), str(raw))
            for line, rule, message, raw in zip(bad["line"], bad["rule"], bad["message"], bad["raw"])]


def _mark_cut_last_line(rejected: list[Rejected], last_line: int | None) -> list[Rejected]:
    """A rejected last line with no line break after it: the file was most likely cut short
    (a copy or an export that stopped), which the source must hear, not a value's fault."""
    if last_line is None:
        return rejected
    return [(*r[:4], "truncated_line", _CUT_SHORT + str(r[5]), r[6])
            if r[2] == last_line and r[4] != "line_too_long" else r for r in rejected]


_CUT_SHORT = "the file ends in the middle of this line (no line break after it: was the file cut short?); "


def _conflicting_versions(frame: pd.DataFrame, contract: Contract, f: DeliveredFile, read: ReadResult) -> list[Rejected]:
    """Two rows with the same key and version timestamp but different values: neither can be
    told to be the current one, so both are rejected rather than one picked by chance.
    (The pandera engine's; the SQL engine finds them in `rejected_sql`.)"""
    if frame.empty:
        return []
    cols = [c.name for c in contract.columns]
    group = list(contract.key) + [contract.version]
    distinct = frame.drop_duplicates(subset=cols)
    counts = distinct.groupby(group, dropna=False).size()
    clashing = counts[counts > 1].index
    if len(clashing) == 0:
        return []
    keyed = frame.set_index(group)
    bad = frame[keyed.index.isin(clashing)]
    return [_conflict_record(row, contract, f, read) for _, row in bad.iterrows()]


def _conflict_record(row, contract: Contract, f: DeliveredFile, read: ReadResult) -> Rejected:
    return (contract.export, f.relative, int(row["_line"]), contract.version, "conflicting_versions",
            describe_rule(contract, contract.version, "conflicting_versions"), _raw_json(row, contract, read))


def known_clients(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Persons of clients.csv (accepted rows, any version): jobs and surveys must refer to them."""
    return [r[0] for r in con.execute("SELECT DISTINCT person_id FROM raw.clients").fetchall()]


def ingest_export(
    con: duckdb.DuckDBPyConnection, delivery: Path, contract: Contract, engine: str | None = None,
    prepared: bool = False,
) -> LoadResult:
    """One export of a delivery into `raw.<export>`: what one ingest asset does.

    Exports that refer to clients (jobs, surveys) are checked against the clients already loaded.
    """
    known = known_clients(con) if contract.references else None
    result = load_export(con, Path(delivery), contract, known, engine, prepared)
    failpoint(f"raw/{contract.export}")
    return result


def load_delivery(
    con: duckdb.DuckDBPyConnection, delivery: Path, cutoff=None, engine: str | None = None
) -> dict[str, LoadResult]:
    """Every export of a delivery, clients first (the others are checked against it).

    The identity-code guard is the caller's first step (`ips_eval.guard.scan_delivery`);
    this function is also what tests call to load a small delivery without Dagster.
    """
    from ips_eval.ingest.guard import scan_delivery

    scan_delivery(Path(delivery))
    prepare(con)  # once for the whole delivery: it rewrites the ref tables and the macros
    results = {}
    for name, contract in load_contracts().items():
        results[name] = ingest_export(con, Path(delivery), contract, engine, prepared=True)
    if cutoff is not None:
        from ips_eval.ingest.withdrawals import purge_withdrawn

        purge_withdrawn(con, cutoff)
    return results
