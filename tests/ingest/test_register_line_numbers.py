"""Every register row keeps the line it came from, whichever lines around it were rejected.

Register extracts are numbered in SQL (one record a line, pushed down by each rejected line
before it); the property is checked against the file itself: each row carries its own
physical line in a text column, and the loaded `_line` must equal it.
"""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deliveries import csv_text, load_exports, row, write_delivery
from ips_eval.ingest.validate_sql import LISTED_LINES



@settings(max_examples=10, deadline=None, database=None, derandomize=True)
@example(n=7, broken={3, 4, 7})  # consecutive rejected lines, and the last line
@given(n=st.integers(min_value=1, max_value=12), broken=st.sets(st.integers(min_value=2, max_value=13)))
def test_accepted_and_rejected_register_rows_keep_their_file_lines(n, broken):
    broken = {b for b in broken if b <= n + 1}  # physical lines 2..n+1 hold the records
    folder = Path(tempfile.mkdtemp())
    try:
        write_delivery(folder, {"clients": [row("clients")]})
        lines = csv_text("register_employment", [
            row("register_employment", tyonantaja=f"L{k}", alkupvm="2021-01-01", loppupvm="2021-02-01")
            for k in range(2, n + 2)]).splitlines()
        lines = [line + ";extra" if k in broken else line for k, line in enumerate(lines, start=1)]
        (folder / "register" / "employment.csv").write_text("\n".join(lines) + "\n")
        con = duckdb.connect()
        load_exports(con, folder, "register_employment")
        accepted = con.execute("SELECT tyonantaja, _line FROM raw.register_employment").fetchall()
        # in file order without sorting: the warehouse keeps the order rows were read in
        assert [line for _, line in accepted] == [k for k in range(2, n + 2) if k not in broken]
        assert all(tag == f"L{line}" for tag, line in accepted)
        rejected = con.execute("SELECT line, rule FROM audit.rejected_rows WHERE export = 'register_employment'"
                               " ORDER BY line").fetchall()
        assert rejected == [(k, "structure") for k in sorted(broken)]
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("rejected", [0, 3, LISTED_LINES + 500], ids=["none rejected", "a few rejected", "many rejected"])
def test_a_parquet_extract_of_many_row_groups_is_loaded_in_file_order(tmp_path, rejected):
    # Read by two threads in row groups of 2 000: the rows must still land in file order,
    # each with its own row number (file row r is "line" r + 2, as if the header were line 1),
    # whether a few rows are rejected or more than are named one by one (LISTED_LINES).
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_delivery(tmp_path, {"clients": [row("clients")]})
    (tmp_path / "register" / "employment.csv").unlink()
    n = 60_000
    base = row("register_employment")
    bad = set(range(7, n, n // rejected)) if rejected else set()  # file rows ending before they start
    table = pa.table({
        "person_id": [base["person_id"]] * n,
        "tyonantaja": [f"L{k}" for k in range(2, n + 2)],
        "alkupvm": pa.array([dt.date(2021, 1, 1)] * n, pa.date32()),
        "loppupvm": pa.array([dt.date(2020, 2, 1) if k in bad else dt.date(2021, 2, 1) for k in range(n)], pa.date32()),
    })
    pq.write_table(table, tmp_path / "register" / "employment.parquet", row_group_size=2_000)
    con = duckdb.connect()
    load_exports(con, tmp_path, "register_employment")
    got = con.execute("SELECT tyonantaja, _line FROM raw.register_employment").fetchall()
    assert [line for _, line in got] == [k + 2 for k in range(n) if k not in bad]
    assert all(tag == f"L{line}" for tag, line in got)
    assert sorted(line for (line,) in con.execute("SELECT line FROM audit.rejected_rows").fetchall()) \
        == sorted(k + 2 for k in bad)
