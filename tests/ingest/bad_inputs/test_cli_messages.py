"""Every case of the catalogue through the command line: no message a user sees names a
Python exception or quotes a library's internal text.

`ips-eval check` reads a delivery with the run's own ingest (guard, contracts, withdrawals)
and prints every refusal and every rejected line; it runs in-process here (typer's runner)
so that the whole catalogue takes seconds. The two cases of issue 13 (a 40 MB line, a last
line cut inside a date) also go through a full `ips-eval run`, together in one delivery.
"""

import re

import duckdb
import pytest
from typer.testing import CliRunner

from bad_inputs.cases import CASES, CUTOFF, Refused, build
from pipelines.cli import app

#: A Python exception class name, or DuckDB's internals (its module, its error headings).
INTERNAL = re.compile(r"\w+(Errors?|Exception)\b|_duckdb|Invalid Input Error|Conversion Error|Traceback")


def test_the_pattern_catches_what_it_must():
    assert INTERNAL.search("_duckdb.InvalidInputException: Invalid Input Error: Malformed JSON")
    assert INTERNAL.search("ValueError: x") and INTERNAL.search("pandera.errors.SchemaErrors")
    assert not INTERNAL.search("jobs.csv, line 3: truncated_line: the file ends in the middle of this line")


@pytest.mark.slow  # the whole ingest of every case, through the command line
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_message_names_an_exception(tmp_path, case):
    delivery = build(case, tmp_path / "delivery")
    result = CliRunner().invoke(app, ["check", "--input", str(delivery), "--cutoff", CUTOFF.isoformat()])
    printed = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), printed
    assert result.exit_code == (1 if isinstance(case.expected, Refused) else 0), printed
    assert case.expected.file in printed
    assert not INTERNAL.search(printed), printed


def test_a_run_accounts_for_the_broken_lines_in_audit_loads(tmp_path):
    """One run of a delivery carrying both cases of issue 13: jobs.csv's last line cut inside a
    date (the catalogue's case as it is), and the 40 MB line appended to clients.csv (the line
    has no delimiter, so nothing of it belongs to one export more than another). Each file's
    broken line is rejected with its own rule and counted in its own audit.loads row."""
    [cut] = [c for c in CASES if c.name == "date_cut_short_last_line"]
    delivery = build(cut, tmp_path / "delivery")
    with open(delivery / "clients.csv", "ab") as f:
        f.write(("x" * 40_000_000).encode())  # as the catalogue's case appends it to jobs.csv
    warehouse = tmp_path / "w.duckdb"
    # in-process, as the catalogue above (tests/pipelines/test_cli.py starts the console script itself)
    out = CliRunner().invoke(app, ["run", "--input", str(delivery), "--cutoff", CUTOFF.isoformat(), "--warehouse",
                                   str(warehouse)])
    assert out.exception is None and out.exit_code == 0, out.stdout + out.stderr
    assert not INTERNAL.search(out.stdout + out.stderr)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # minimal delivery: one good row (line 2) in each file, then the broken line 3
        loads = con.execute("SELECT file, rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty "
                            "FROM audit.loads WHERE file IN ('jobs.csv', 'clients.csv') ORDER BY file").fetchall()
        assert loads == [("clients.csv", 2, 1, 1, 0, 0), ("jobs.csv", 2, 1, 1, 0, 0)]
        assert con.execute("SELECT file, line, rule FROM audit.rejected_rows ORDER BY file").fetchall() == [
            ("clients.csv", 3, "line_too_long"), ("jobs.csv", 3, "truncated_line")]
