"""Every case of the catalogue (cases.py, README.md) behaves as it says."""

import re
from pathlib import Path

import duckdb
import pytest

from bad_inputs.cases import CASES, HETU, Accepted, Refused, Rejected, build, clear, load_case
from ips_eval.ingest.delivery import DeliveryRefused
from ips_eval.ingest.identity import IdentityCodeFound
from ips_eval.ingest.load import prepare

HERE = Path(__file__).parent
BALANCE = "rows_read = rows_accepted + rows_rejected + rows_withdrawn + rows_empty"


def test_the_catalogue_has_at_least_30_distinct_cases_and_readme_lists_each():
    names = [c.name for c in CASES]
    assert len(names) >= 30 and len(set(names)) == len(names)
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", readme, flags=re.M)
    assert listed == names


@pytest.fixture(scope="module")
def prepared():
    """One connection for every case, its `ref` tables and macros made once: a run's steps
    share them in the same way (prepare leaves what already holds the same frame alone)."""
    con = duckdb.connect()
    prepare(con)
    yield con
    con.close()


@pytest.fixture
def con(prepared):
    """The shared connection as a fresh one after `prepare` (`cases.clear` after the case)."""
    yield prepared
    clear(prepared)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(tmp_path, con, case):
    delivery = build(case, tmp_path / "delivery")
    expected = case.expected
    if isinstance(expected, Refused):
        with pytest.raises((DeliveryRefused, IdentityCodeFound)) as e:
            load_case(con, delivery)
        message = str(e.value)
        assert message.startswith(f"{expected.file}: "), message
        assert re.search(expected.reason, message), message
        assert HETU not in message
        return
    load_case(con, delivery)
    loads = {f: (r, a, j) for f, r, a, j, w, e in con.execute(
        "SELECT file, rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty FROM audit.loads").fetchall()}
    assert con.execute(f"SELECT bool_and({BALANCE}) FROM audit.loads").fetchall() == [(True,)]
    if isinstance(expected, Accepted):
        assert loads[expected.file][1] == expected.rows
        assert loads[expected.file][2] == 0
        assert con.execute("SELECT rows_empty FROM audit.loads WHERE file = ?", [expected.file]).fetchall() == [
            (expected.empty,)]
    else:
        got = con.execute('SELECT line, "column", rule FROM audit.rejected_rows WHERE file = ? ORDER BY line',
                          [expected.file]).fetchall()
        assert got == expected.rows
        messages = con.execute("SELECT message FROM audit.rejected_rows WHERE file = ?", [expected.file]).fetchall()
        assert all(m[0] for m in messages)
