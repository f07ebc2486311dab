"""Read one delivered file, as it comes, into a temporary DuckDB table of text columns.

DuckDB parses the CSV (`;`, quotes, line ends) and Parquet; this module checks the header
against the contract, keeps the lines DuckDB could not parse as structural rejects, and
numbers every record with its line in the file (header = 1) so that a rejected row can be
found by whoever fixes the source.

Every physical line is accounted for: the lines are counted from the bytes first
(`ingest.lines`); a line over 1 MiB is taken out before DuckDB reads the file and rejected
as `line_too_long`; empty lines are counted as such; and if DuckDB's records, its rejects
and the empty lines do not add up to the lines of the file, the file is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ips_eval.ingest.contracts import Contract, normalise_header
from ips_eval.ingest.delivery import DeliveredFile, DeliveryRefused
from ips_eval.ingest.encoding import as_utf8, detect
from ips_eval.ingest.lines import original_lines, scan_lines, without_lines
from ips_eval.ingest.validate_sql import sql_literal

DELIMITER = ";"
MAX_LINE_BYTES = 1 << 20

#: Parquet physical types each contract type accepts; anything else refuses the file.
PARQUET_TYPES = {
    "pseudonym": ("VARCHAR",),
    "text": ("VARCHAR",),
    "icd10": ("VARCHAR",),
    "code": ("VARCHAR", "TINYINT", "SMALLINT", "INTEGER", "BIGINT"),
    "integer": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "VARCHAR"),
    "decimal": ("FLOAT", "DOUBLE", "DECIMAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "VARCHAR"),
    "date": ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "VARCHAR"),
    "timestamp": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "VARCHAR"),
    "month": ("VARCHAR", "DATE"),
    "yes_no": ("VARCHAR",),
}


@dataclass
class ReadResult:
    """The records of one file in temp table `table` (canonical VARCHAR columns + _line)."""

    table: str
    encoding: str
    header: dict[str, str]  # canonical column -> header as delivered
    structural_rejects: pd.DataFrame  # line, rule, message, raw
    notes: list[str] = field(default_factory=list)
    temp_files: list[Path] = field(default_factory=list)
    empty_lines: int = 0  # lines holding nothing (skipped, counted in audit.loads.rows_empty)
    last_line_cut: int | None = None  # the last line, when the file ends without a line break
    records: int = 0  # rows of `table`
    kind: str = "TABLE"  # what `table` is: a TABLE, or a VIEW (over the delivered file, or `records_table`)
    records_table: str | None = None  # the temporary table a VIEW `table` numbers, dropped with it

    def drop_sql(self) -> str:
        """The statement that drops what the read left in the connection."""
        return f"DROP {self.kind} {self.table}" + (f"; DROP TABLE {self.records_table}" if self.records_table else "")


def read_file(con: duckdb.DuckDBPyConnection, f: DeliveredFile, contract: Contract, workdir: Path) -> ReadResult:
    if f.format == "parquet":
        return _read_parquet(con, f, contract)
    return _read_csv(con, f, contract, workdir)


def _read_csv(con, f: DeliveredFile, contract: Contract, workdir: Path) -> ReadResult:
    if f.path.stat().st_size == 0:
        raise DeliveryRefused(f.relative, "the file is empty (not even a header line)")
    encoding = detect(f.path, f.relative)
    src = as_utf8(f.path, encoding, workdir, normalise_line_ends=not contract.is_register)
    temp = [src] if src != f.path else []
    with open(src, encoding="utf-8-sig", newline="") as fh:
        first = fh.readline(MAX_LINE_BYTES)
    if len(first) >= MAX_LINE_BYTES:
        raise DeliveryRefused(f.relative, "the first line is longer than 1 MiB (no line breaks?): not a CSV export")
    headers = first.rstrip("\r\n").split(DELIMITER)
    if not first.strip():
        raise DeliveryRefused(f.relative, "the first line is empty: no header")
    mapping, notes = _match_header(headers, contract, f.relative)
    lines = scan_lines(src, MAX_LINE_BYTES)
    readable = src
    if lines.too_long:  # DuckDB may drop such a line unseen (at the end of a file): take it out first
        readable = without_lines(src, lines.too_long, workdir)
        temp.append(readable)
    table = f"_in_{uuid.uuid4().hex[:8]}"
    rejects = f"_rej_{table}"
    columns = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    select = ", ".join(f'NULLIF(trim(c{i}), \'\') AS "{name}"' for name, i in mapping.items())
    for missing in (c.name for c in contract.columns if c.name not in mapping):
        select += f', NULL::VARCHAR AS "{missing}"'
    try:
        [(n,)] = con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM read_csv(?, delim = ';', header = true,"
            f" columns = {_struct(columns)}, quote = '\"', escape = '\"', auto_detect = false, all_varchar = true,"
            f" store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{rejects}_scan',"
            f" max_line_size = {MAX_LINE_BYTES}, null_padding = false)",
            [str(readable)],
        ).fetchall()
    except duckdb.Error:
        raise DeliveryRefused(f.relative, "the file cannot be read as ';'-separated text (is it a CSV export?)") from None
    bad = con.execute(
        f"SELECT line, min(error_type) AS error_type, any_value(csv_line) AS raw FROM {rejects} GROUP BY line ORDER BY line"
    ).df()
    con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {rejects}_scan")
    # numbered by a view over the records, unless lines too long for DuckDB were taken out and
    # the lines must be moved back (`_renumber` updates them in place)
    bad, records_table = _number_lines(con, table, n, readable, bad, project=not contract.is_register,
                                       as_view=not lines.too_long)
    bad["rule"] = "structure"
    bad["message"] = [_structure_message(t, len(headers)) for t in bad.pop("error_type")]
    if lines.too_long:
        _renumber(con, table, lines.too_long)
        bad["line"] = original_lines(bad["line"].to_numpy(), lines.too_long)
        bad = pd.concat([bad, _too_long(src, lines.too_long)], ignore_index=True).sort_values("line", ignore_index=True)
    _reconcile(con, table, n, bad, lines, f.relative)
    result = ReadResult(table, encoding, {v: headers[i].strip() for v, i in mapping.items()}, bad, notes, temp,
                        empty_lines=len(lines.empty), records=n, kind="VIEW" if records_table else "TABLE",
                        records_table=records_table)
    if lines.ends_without_newline:
        result.last_line_cut = lines.lines + 1
    return result


_STRUCTURE = {
    "MISSING COLUMNS": "the line has fewer fields than the header's {n} (a ';' missing, or the line cut short)",
    "TOO MANY COLUMNS": "the line has more fields than the header's {n} (a ';' too many, or one inside an "
                        "unquoted value)",
    "UNQUOTED VALUE": "a value is badly quoted (text after a closing quote)",
    "INVALID UNICODE": "the line holds bytes that are not text",
}


def _structure_message(error_type: str, n_fields: int) -> str:
    """The reader's complaint about a line, in the project's words (never DuckDB's)."""
    what = _STRUCTURE.get(str(error_type), "a quote is not closed, or the line cannot be split into fields")
    return "the line is not a well-formed record: " + what.format(n=n_fields)


def _too_long(src: Path, numbers: list[int]) -> pd.DataFrame:
    """Rejects for lines over the limit, with the start of each line as its raw text."""
    wanted, heads = set(numbers), {}
    with open(src, "rb") as fh:
        for number, text in enumerate(fh, start=1):
            if number in wanted:
                heads[number] = text[:200].decode("utf-8", errors="replace") + "..."
    return pd.DataFrame({
        "line": pd.Series(sorted(wanted), dtype="int64"),
        "raw": [heads.get(n, "") for n in sorted(wanted)],
        "rule": "line_too_long",
        "message": f"the line is longer than {MAX_LINE_BYTES // (1 << 20)} MiB (no line break, or a huge value): "
                   "it cannot be a record of this export",
    })


def _renumber(con, table: str, dropped: list[int]) -> None:
    """Give the records their lines in the delivered file (the read copy lacked `dropped`)."""
    lines = con.execute(f"SELECT _line FROM {table} ORDER BY _line").fetchnumpy()["_line"]
    con.register("_renumbered", pd.DataFrame({"old": lines, "new": original_lines(lines, dropped)}))
    con.execute(f"UPDATE {table} SET _line = r.new FROM _renumbered r WHERE {table}._line = r.old")
    con.unregister("_renumbered")


def _reconcile(con, table: str, n: int, bad: pd.DataFrame, lines, relative: str) -> None:
    """Records (`n`) + rejected lines + empty lines must cover every line of the file; else refuse it."""
    covered = n + len(bad) + len(lines.empty)
    if covered == lines.lines:
        return
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "_line"]
    concat = " || ".join(f"coalesce(\"{c}\", '')" for c in cols) or "''"
    extra = con.execute(f"SELECT coalesce(sum(len({concat}) - len(replace({concat}, chr(10), ''))), 0) FROM {table}"
                        ).fetchall()[0][0]
    extra += sum(str(r or "").count("\n") for r in bad["raw"])
    if covered + extra != lines.lines:
        raise DeliveryRefused(
            relative, f"the file has {lines.lines} lines after the header, but only {covered + extra} could be "
            "read as records, rejected lines or empty lines; the file is refused rather than load part of it")


def _match_header(headers: list[str], contract: Contract, relative: str) -> tuple[dict[str, int], list[str]]:
    """Delivered header -> canonical column position; refuses what the contract cannot accept."""
    normalised = [normalise_header(h) for h in headers]
    expected = contract.header_map()
    if len(headers) == 1 and any(d in headers[0] for d in (",", "\t", "|")):
        raise DeliveryRefused(relative, "the header has no ';' delimiter (wrong delimiter?)")
    seen: dict[str, int] = {}
    for i, h in enumerate(normalised):
        if h in seen:
            raise DeliveryRefused(relative, f"the header names column '{headers[i].strip()}' twice")
        seen[h] = i
    unknown = [headers[i].strip() for i, h in enumerate(normalised) if h not in expected]
    if unknown:
        raise DeliveryRefused(
            relative,
            f"unknown column(s) {', '.join(repr(_short(u)) for u in unknown)}; the contract's columns are "
            + ", ".join(c.header for c in contract.columns),
        )
    missing_required = [c.header for h, c in expected.items() if h not in seen and c.required]
    if missing_required:
        raise DeliveryRefused(relative, f"required column(s) missing: {', '.join(missing_required)}")
    notes = [f"column {c.header} absent (optional): read as blank" for h, c in expected.items() if h not in seen]
    return {expected[h].name: i for h, i in seen.items()}, notes


def _number_lines(con, table: str, n: int, src: Path, bad: pd.DataFrame, project: bool, as_view: bool = False
                  ) -> tuple[pd.DataFrame, str | None]:
    """Give every accepted record (`n` of them) its line in the file; return the rejects with
    file lines too, and the table of the records when `table` became a view numbering them.

    DuckDB keeps the file's order (insertion order is preserved), so record k is the k-th
    record after the header. Project exports may hold blank lines and quoted line breaks,
    so their lines are walked; register extracts are machine-written, one record a line.
    Records on consecutive lines from line 2 are numbered by a view (`as_view`) rather than
    by a copy of the table with the column added.
    """
    if not project and not len(bad):
        return bad, _number_in_order(con, table, as_view)
    if not project:
        # One record a line: record k (from 1, in rowid order) is on line k + 1, pushed down by
        # every rejected line before it. Numbered in SQL: a register extract has millions of rows.
        con.register("_rejected_lines", pd.DataFrame({"line": bad["line"].astype("int64")}))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"WITH ranked AS (SELECT line - 1 - row_number() OVER (ORDER BY line) AS before, "
            f"                       row_number() OVER (ORDER BY line) AS n_before FROM _rejected_lines), "
            f"r AS (SELECT before, max(n_before) AS n_before FROM ranked GROUP BY before) "
            f"SELECT t.* EXCLUDE (_k), t._k + 1 + coalesce(r.n_before, 0) AS _line "
            f"FROM (SELECT *, rowid + 1 AS _k FROM {table}) AS t ASOF LEFT JOIN r ON t._k > r.before "
            f"ORDER BY t._k"
        )
        con.unregister("_rejected_lines")
        return bad, None
    if n == 0 or not _hassql_literal(src):
        # a line break inside a record is a quoted one: without a quote, every record is one line
        # (the query below, over every column of a wide survey, costs far more than this look)
        breaks = np.zeros(n, dtype=np.int64)
    else:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        concat = " || ".join(f"coalesce(\"{c}\", '')" for c in cols) or "''"
        breaks = con.execute(
            f"SELECT len({concat}) - len(replace({concat}, chr(10), '')) AS n FROM {table} ORDER BY rowid"
        ).fetchnumpy()["n"]
    lines, bad = _walk_lines(src, n, breaks, bad)
    if n == 0 or lines[-1] == n + 1:  # increasing from line 2: record k on line k + 1
        return bad, _number_in_order(con, table, as_view)
    con.register("_line_numbers", pd.DataFrame({"_line": np.asarray(lines, dtype=np.int64)}))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT t.*, l._line FROM "
        f"(SELECT *, row_number() OVER (ORDER BY rowid) AS _k FROM {table}) t "
        f"JOIN (SELECT _line, row_number() OVER () AS _k FROM _line_numbers) l USING (_k) ORDER BY l._line"
    )
    con.execute(f"ALTER TABLE {table} DROP COLUMN _k")
    con.unregister("_line_numbers")
    return bad, None


def _number_in_order(con, table: str, as_view: bool) -> str | None:
    """Number the records of `table` from line 2 on, one a line (nothing before or between them).
    `as_view`: `table` becomes a view over the records, renamed `<table>_records` (returned),
    so that millions of rows are not copied to add a column; otherwise the table is rewritten."""
    if not as_view:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, rowid + 2 AS _line FROM {table}")
        return None
    records = f"{table}_records"
    con.execute(f"ALTER TABLE {table} RENAME TO {records}")
    con.execute(f"CREATE TEMP VIEW {table} AS SELECT *, rowid + 2 AS _line FROM {records}")
    return records


def _hassql_literal(src: Path) -> bool:
    """Whether the file holds a '"' anywhere (read in blocks)."""
    with open(src, "rb") as fh:
        while block := fh.read(1 << 20):
            if b'"' in block:
                return True
    return False


def _walk_lines(src: Path, n: int, breaks, bad: pd.DataFrame) -> tuple[list[int], pd.DataFrame]:
    """Walk the physical lines beside DuckDB's record numbering.

    DuckDB numbers a rejected record by records and blank lines seen (a record with quoted
    line breaks counts once), so both counters advance together here: `d` in DuckDB's
    numbering, `p` in the file's lines.
    """
    with open(src, encoding="utf-8-sig", newline="") as fh:
        physical = fh.read().split("\n")
    rejected = {int(r.line): str(r.raw or "").count("\n") for r in bad.itertuples()}
    file_line: dict[int, int] = {}
    lines: list[int] = []
    p = d = 2
    k = 0
    while k < n or len(file_line) < len(rejected):
        if p > len(physical) + 1:
            break
        if d in rejected:
            file_line[d] = p
            p += 1 + rejected[d]
        elif p <= len(physical) and not physical[p - 1].strip():
            p += 1
        elif k < n:
            lines.append(p)
            p += 1 + int(breaks[k])
            k += 1
        else:
            p += 1
        d += 1
    if len(lines) < n:  # cannot happen with DuckDB's numbering; never lose a row over it
        lines += list(range(p, p + n - len(lines)))
    bad = bad.copy()
    bad["line"] = [file_line.get(int(x), int(x)) for x in bad["line"]]
    return lines, bad


def _read_parquet(con, f: DeliveredFile, contract: Contract) -> ReadResult:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(f.path)]).fetchall()
    except duckdb.Error:
        raise DeliveryRefused(f.relative, "the file cannot be read as Parquet (damaged, or not a Parquet file)") from None
    headers = [r[0] for r in described]
    types = {r[0]: r[1] for r in described}
    mapping, notes = _match_header(headers, contract, f.relative)
    for name, i in mapping.items():
        col = contract.column(name)
        actual = types[headers[i]].split("(")[0]
        if actual not in PARQUET_TYPES[col.type]:
            raise DeliveryRefused(
                f.relative, f"column {headers[i]} has Parquet type {types[headers[i]]}, expected {PARQUET_TYPES[col.type][0]}"
            )
    table = f"_in_{uuid.uuid4().hex[:8]}"
    select = ", ".join(
        f'NULLIF(trim(CAST("{headers[i]}" AS VARCHAR)), \'\') AS "{name}"' for name, i in mapping.items()
    )
    for missing in (c.name for c in contract.columns if c.name not in mapping):
        select += f', NULL::VARCHAR AS "{missing}"'
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {select}, file_row_number + 2 AS _line "
        f"FROM read_parquet({sql_literal(str(f.path))}, file_row_number = true)"  # in file order
    )
    [(n,)] = con.execute("SELECT count(*) FROM read_parquet(?)", [str(f.path)]).fetchall()
    empty = pd.DataFrame({"line": pd.Series(dtype="int64"), "rule": pd.Series(dtype=str),
                          "message": pd.Series(dtype=str), "raw": pd.Series(dtype=str)})
    return ReadResult(table, "parquet", {v: headers[i] for v, i in mapping.items()}, empty, notes, records=n,
                      kind="VIEW")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


