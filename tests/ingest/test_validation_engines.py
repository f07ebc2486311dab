"""The contract rules run inside DuckDB (the default) or through pandera, both built from the same
YAML contracts: on every case of the bad-input catalogue, and on the synthetic delivery, they reject
the same rows with the same rule, column and message, and accept the same rows."""

import duckdb
import pytest

from bad_inputs.cases import CASES, CUTOFF, Refused, build
from ips_eval.ingest.load import load_delivery

LOADED = [c for c in CASES if not isinstance(c.expected, Refused)]


def _load(delivery, path, engine):
    con = duckdb.connect(str(path))
    load_delivery(con, delivery, CUTOFF, engine=engine)
    rejected = con.execute(
        'SELECT export, file, line, "column", rule, message, raw FROM audit.rejected_rows ORDER BY file, line, rule'
    ).fetchall()
    loads = con.execute("SELECT file, rows_read, rows_accepted, rows_rejected FROM audit.loads ORDER BY file").fetchall()
    raw = {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY _file, _line").fetchall()
           for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    con.close()
    return rejected, loads, raw


@pytest.mark.parametrize("case", LOADED, ids=lambda c: c.name)
def test_both_engines_give_identical_results(tmp_path, case):
    delivery = build(case, tmp_path / "delivery")
    by_sql = _load(delivery, tmp_path / "sql.duckdb", "sql")
    by_pandera = _load(delivery, tmp_path / "pandera.duckdb", "pandera")
    assert by_sql[0] == by_pandera[0]
    assert by_sql[1] == by_pandera[1]
    assert by_sql[2] == by_pandera[2]


def test_the_synthetic_delivery_gives_identical_results(tmp_path):
    from ips_eval.synth import SynthConfig, write_delivery

    write_delivery(tmp_path / "delivery", SynthConfig(cohort=300))
    delivery = tmp_path / "delivery"
    by_sql = _load(delivery, tmp_path / "sql.duckdb", "sql")
    by_pandera = _load(delivery, tmp_path / "pandera.duckdb", "pandera")
    assert len({r[1] for r in by_sql[0]}) >= 3  # the synthetic delivery plants bad rows in several exports
    assert by_sql == by_pandera
