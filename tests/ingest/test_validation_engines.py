"""The contract rules run inside DuckDB (the default) or through pandera, both built from the same
YAML contracts: on every case of the bad-input catalogue, and on the synthetic delivery, they reject
the same rows with the same rule, column and message, and accept the same rows.

A case of the catalogue is the minimal delivery with a fault in one or two files: each is loaded
as `bad_inputs.cases.load_case` says (the unchanged minimal delivery, the `header_only` case,
whole; any other in the exports whose files it changed, and clients.csv).
"""

import duckdb
import pytest

from bad_inputs.cases import CASES, CUTOFF, Refused, build, clear, load_case
from ips_eval.ingest.load import load_delivery, prepare

pytestmark = pytest.mark.slow  # both validation engines over every bad-input case

LOADED = [c for c in CASES if not isinstance(c.expected, Refused)]


def _tables(con):
    rejected = con.execute(
        'SELECT export, file, line, "column", rule, message, raw FROM audit.rejected_rows ORDER BY file, line, rule'
    ).fetchall()
    loads = con.execute("SELECT file, rows_read, rows_accepted, rows_rejected FROM audit.loads ORDER BY file").fetchall()
    raw = {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY _file, _line").fetchall()
           for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    return rejected, loads, raw


@pytest.fixture(scope="module")
def con():
    """One connection for every load of the module, its `ref` tables and macros made once
    (as in test_catalogue.py); each load starts from it as from a fresh one (`cases.clear`)."""
    con = duckdb.connect()
    prepare(con)
    yield con
    con.close()


def _load(con, delivery, engine, whole=False):
    try:
        if whole:
            load_delivery(con, delivery, CUTOFF, engine=engine)
        else:
            load_case(con, delivery, engine)
        return _tables(con)
    finally:
        clear(con)


@pytest.mark.parametrize("case", LOADED, ids=lambda c: c.name)
def test_both_engines_give_identical_results(tmp_path, con, case):
    delivery = build(case, tmp_path / "delivery")
    by_sql = _load(con, delivery, "sql")
    by_pandera = _load(con, delivery, "pandera")
    assert by_sql[1], "nothing was loaded"
    assert by_sql[0] == by_pandera[0]
    assert by_sql[1] == by_pandera[1]
    assert by_sql[2] == by_pandera[2]


@pytest.mark.slow
def test_the_synthetic_delivery_gives_identical_results(tmp_path, con):
    from ips_eval.synth import SynthConfig, write_delivery

    write_delivery(tmp_path / "delivery", SynthConfig(cohort=300))
    delivery = tmp_path / "delivery"
    by_sql = _load(con, delivery, "sql", whole=True)
    by_pandera = _load(con, delivery, "pandera", whole=True)
    assert len({r[1] for r in by_sql[0]}) >= 3  # the synthetic delivery plants bad rows in several exports
    assert by_sql == by_pandera
