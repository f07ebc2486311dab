"""The contract rules run inside DuckDB (the default) or through pandera, both built from the same
YAML contracts: on every case of the bad-input catalogue, and on the synthetic delivery, they reject
the same rows with the same rule, column and message, and accept the same rows.

A case of the catalogue is the minimal delivery with a fault in one or two files. The minimal
delivery as it is (the `header_only` case) is compared export by export in full; every other case
only in the exports whose files it changed, with clients.csv first (the others are checked
against its persons): the files it left alone are the minimal delivery's.
"""

from pathlib import Path

import duckdb
import pytest

from bad_inputs.cases import CASES, CUTOFF, Refused, build
from deliveries import minimal_delivery
from ips_eval.ingest.contracts import load_contracts
from ips_eval.ingest.load import ingest_export, load_delivery

LOADED = [c for c in CASES if not isinstance(c.expected, Refused)]


def _tables(con):
    rejected = con.execute(
        'SELECT export, file, line, "column", rule, message, raw FROM audit.rejected_rows ORDER BY file, line, rule'
    ).fetchall()
    loads = con.execute("SELECT file, rows_read, rows_accepted, rows_rejected FROM audit.loads ORDER BY file").fetchall()
    raw = {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY _file, _line").fetchall()
           for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    return rejected, loads, raw


def _load(delivery, engine, exports=None):
    """The delivery through `engine`: all of it, or only `exports` (in the contracts' order, which
    loads clients first)."""
    con = duckdb.connect()
    try:
        if exports is None:
            load_delivery(con, delivery, CUTOFF, engine=engine)
        else:
            for name, contract in load_contracts().items():
                if name in exports:
                    ingest_export(con, delivery, contract, engine)
        return _tables(con)
    finally:
        con.close()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _changed_exports(delivery: Path, baseline: Path) -> set[str]:
    """The exports whose files differ from the minimal delivery's (changed, added or removed)."""
    ours, theirs = _files(delivery), _files(baseline)
    changed = {f for f in ours.keys() | theirs.keys() if ours.get(f) != theirs.get(f)}
    exports = {name for name, contract in load_contracts().items()
               if {p.relative_to(delivery).as_posix() for p in contract.candidate_paths(delivery)} & changed}
    assert exports or not changed, f"files of no export changed: {sorted(changed)}"
    return exports


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return minimal_delivery(tmp_path_factory.mktemp("minimal") / "delivery")


@pytest.mark.parametrize("case", LOADED, ids=lambda c: c.name)
def test_both_engines_give_identical_results(tmp_path, case, baseline):
    delivery = build(case, tmp_path / "delivery")
    changed = _changed_exports(delivery, baseline)
    exports = None if not changed else changed | {"clients"}
    by_sql = _load(delivery, "sql", exports)
    by_pandera = _load(delivery, "pandera", exports)
    assert by_sql[1], "nothing was loaded"
    assert by_sql[0] == by_pandera[0]
    assert by_sql[1] == by_pandera[1]
    assert by_sql[2] == by_pandera[2]


@pytest.mark.slow
def test_the_synthetic_delivery_gives_identical_results(tmp_path):
    from ips_eval.synth import SynthConfig, write_delivery

    write_delivery(tmp_path / "delivery", SynthConfig(cohort=300))
    delivery = tmp_path / "delivery"
    by_sql = _load(delivery, "sql")
    by_pandera = _load(delivery, "pandera")
    assert len({r[1] for r in by_sql[0]}) >= 3  # the synthetic delivery plants bad rows in several exports
    assert by_sql == by_pandera
