"""The identity-code guard: one pass over every file of a delivery before anything is written.

A Finnish personal identity code anywhere (a header, a free-text cell, a register extract,
a file the pipeline does not even read) stops the load. The error names the file, line and
column, never the code, so that the message itself can be logged and shared safely.

Large text files (the register extracts as CSV) are searched by DuckDB, each physical line as
one value, so that the regular expression runs in DuckDB's threads over every byte the
line-by-line scan would see; only candidate lines come to Python, and a file holding a real
code is scanned again line by line, which names its line and column. A file DuckDB cannot read
that way (not UTF-8, a line longer than its limit, a stray control byte) is scanned in Python.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ips_eval.ingest.delivery import all_files
from ips_eval.ingest.identity import CANDIDATE_SQL, IdentityCodeFound, find_identity_codes

CHUNK = 1 << 22
DELIMITER = ";"
#: Text files at least this large are searched by DuckDB (`scan_text_duckdb`); smaller ones, where
#: starting DuckDB costs more than it saves, line by line in Python.
DUCKDB_MIN_BYTES = CHUNK
#: DuckDB's limit on one line (bytes); a longer line makes the file go the Python way.
MAX_LINE_BYTES = 1 << 24


def scan_delivery(delivery: Path) -> int:
    """Raise IdentityCodeFound at the first code in any file; return the number of files scanned."""
    delivery = Path(delivery)
    files = all_files(delivery)
    for path in files:
        relative = path.relative_to(delivery).as_posix()
        if path.suffix.lower() == ".parquet":
            scan_parquet(path, relative)
        elif path.stat().st_size >= DUCKDB_MIN_BYTES:
            scan_text_duckdb(path, relative)
        else:
            scan_text(path, relative)
    return len(files)


def scan_text_duckdb(path: Path, relative: str) -> None:
    """`scan_text`'s search done by DuckDB: every line of the file read whole (no delimiter, no
    quoting, so each value is the line's bytes as `scan_text` reads them), the candidates
    (`CANDIDATE_SQL`) picked out in SQL and checked in Python. A real code makes `scan_text` name
    its place; a file DuckDB cannot read as UTF-8 lines is scanned by `scan_text` instead."""
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {min(2, os.cpu_count() or 1)}")
        con.execute("SET enable_progress_bar = false")
        candidates = con.execute(
            "SELECT line FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '',"
            " escape = '', header = false, auto_detect = false, comment = '', max_line_size = $max,"
            " strict_mode = true, encoding = 'utf-8') WHERE regexp_matches(line, $pattern)",
            {"path": str(path), "pattern": CANDIDATE_SQL, "max": MAX_LINE_BYTES},
        ).fetchall()
    except duckdb.Error:
        candidates = None
    finally:
        con.close()
    if candidates is None or any(line is not None and any(True for _ in find_identity_codes(line))
                                 for line, in candidates):
        scan_text(path, relative)


def scan_text(path: Path, relative: str) -> None:
    """Stream the file in blocks cut at line ends, so a code never straddles two blocks."""
    encoding = _encoding_for_scan(path)
    header: list[str] | None = None
    first_line = 1
    carry = ""
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        while True:
            block = f.read(CHUNK)
            text = carry + block
            if block:
                cut = text.rfind("\n") + 1
                part, carry = text[:cut], text[cut:]
            else:
                part, carry = text, ""
            if header is None and part:
                header = part.split("\n", 1)[0].lstrip("\ufeff").rstrip("\r").split(DELIMITER)
            for m in find_identity_codes(part):
                line_start = part.rfind("\n", 0, m.start()) + 1
                line = first_line + part.count("\n", 0, m.start())
                field = part[line_start : m.start()].count(DELIMITER)
                raise IdentityCodeFound(relative, line, _column_name(header, field))
            first_line += part.count("\n")
            if not block:
                return


def scan_parquet(path: Path, relative: str) -> None:
    con = duckdb.connect()
    try:
        cols = con.execute("SELECT name, type FROM parquet_schema(?) WHERE num_children IS NULL", [str(path)]).fetchall()
        for name, _ in cols:
            if any(True for _ in find_identity_codes(str(name))):
                raise IdentityCodeFound(relative, 1, "a column name")
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        # Only text can hold a code: a number or a date has no letter or sign after six digits.
        # Nested and binary columns are read as their text form, to be safe.
        names = [name for name, kind, *_ in described if not _cannot_hold_text(kind)]
        if not names:
            return
        cells = ", ".join(f'CAST("{n}" AS VARCHAR) AS "{n}"' for n in names)
        where = " OR ".join(f'regexp_matches(CAST("{n}" AS VARCHAR), $pattern)' for n in names)
        rows = con.execute(
            f"SELECT file_row_number, {cells} FROM read_parquet($path, file_row_number = true) "
            f"WHERE {where} ORDER BY file_row_number",
            {"path": str(path), "pattern": CANDIDATE_SQL},
        ).fetchall()
        for row_number, *values in rows:
            for name, value in zip(names, values):
                if value is not None and any(True for _ in find_identity_codes(value)):
                    raise IdentityCodeFound(relative, int(row_number) + 2, name)
    except duckdb.Error:
        # An unreadable Parquet file is refused by its reader; scan its bytes instead.
        scan_text(path, relative)
    finally:
        con.close()


_NUMERIC_OR_TEMPORAL = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                        "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "BOOLEAN", "DATE", "TIME", "TIMESTAMP")


def _cannot_hold_text(duckdb_type: str) -> bool:
    return str(duckdb_type).upper().startswith(_NUMERIC_OR_TEMPORAL)


def _encoding_for_scan(path: Path) -> str:
    """UTF-8 when it decodes, else Windows-1252 (decoding never fails: errors are replaced)."""
    with open(path, "rb") as f:
        sample = f.read(CHUNK)
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        # a cut at the end of the sample is not an error
        return "utf-8" if e.start >= len(sample) - 3 else "cp1252"


def _column_name(header: list[str] | None, field: int) -> str:
    if header and field < len(header):
        name = header[field].strip().strip('"').strip()
        if not any(True for _ in find_identity_codes(name)):
            return name
    return f"field {field + 1}"
