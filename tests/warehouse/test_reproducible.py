"""A re-run of the same delivery gives the same warehouse and the same published data, to the bit.

Two full runs of one small synthetic delivery into two warehouses and two sites: every table
of every schema hashes the same, and every CSV download of the site is byte-identical.
Left out, because they are legitimately the run's own: `audit.runs.run_id`, `started_at` and
`finished_at` (the run's identity and clock). Nothing else is.

A third run validates the delivery with the other engine (pandera on pandas batches instead
of SQL in DuckDB): the engine is an implementation detail, so every table is the same too.
"""

import dataclasses
import datetime as dt
import hashlib

import duckdb
import pytest

from ips_eval.ingest import load as ingest_load
from ips_eval.synth import SynthConfig, write_delivery
from pipelines.runner import run_pipeline

PER_RUN = {"audit.runs": {"run_id", "started_at", "finished_at"}}
CONFIG = dataclasses.replace(SynthConfig(), cohort=300)

def _table_hashes(path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        hashes = {}
        for name in names:
            columns = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall() if r[0] not in PER_RUN.get(name, ())]
            cols = ", ".join(f'"{c}"' for c in columns)
            # rows in a fixed order, every value as its exact text (a DOUBLE's text round-trips its bits)
            rows = con.execute(f"SELECT {cols} FROM {name} ORDER BY ALL").fetchall()
            hashes[name] = hashlib.sha256(repr((columns, rows)).encode()).hexdigest()
    return hashes


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("reproducible")
    write_delivery(root / "delivery", CONFIG)
    runs = []
    for name in ("a", "b"):
        run_pipeline(root / "delivery", CONFIG.cutoff, root / name / "w.duckdb", site_dir=root / name / "site")
        runs.append(root / name)
    return runs


@pytest.fixture(scope="module")
def pandera_run(two_runs):
    root = two_runs[0].parent
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_load, "VALIDATION_ENGINE", "pandera")
        run_pipeline(root / "delivery", CONFIG.cutoff, root / "pandera" / "w.duckdb")
    return root / "pandera"


def test_every_table_of_every_schema_is_identical(two_runs):
    a, b = (_table_hashes(r / "w.duckdb") for r in two_runs)
    assert a.keys() == b.keys() and len(a) > 50
    assert {"raw.register_earnings", "marts.register_outcomes", "models.estimates", "audit.loads"} <= a.keys()
    assert [name for name in a if a[name] != b[name]] == []



def test_both_validation_engines_give_the_same_warehouse(two_runs, pandera_run):
    a, p = _table_hashes(two_runs[0] / "w.duckdb"), _table_hashes(pandera_run / "w.duckdb")
    assert a.keys() == p.keys()
    with duckdb.connect(str(pandera_run / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT sum(rows_rejected) FROM audit.loads").fetchall()[0][0] > 0  # rules were at work
    assert [name for name in a if a[name] != p[name]] == []
