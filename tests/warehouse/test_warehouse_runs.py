"""Real Dagster materialisations into a real DuckDB file: the warehouse is built beside the
published one and swapped in only when every blocking check passed."""

import datetime as dt
import hashlib
import shutil
import subprocess
import sys
import textwrap

import duckdb
import pytest

from deliveries import minimal_delivery, row, write_csv
from ips_eval.warehouse.audit_checks import rows_accounted
import pipelines.runner as runner
from pipelines.runner import PipelineFailed, run_pipeline

C = dt.date(2024, 12, 31)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tables(path):
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names if n != "audit.runs"}


def test_a_run_holds_raw_staging_and_audit_tables(minimal_run):
    # the shared minimal run: one client with a job, and one client row rejected (Lahti is no county)
    tables = _tables(minimal_run["warehouse"])
    for name in ["raw.clients", "raw.jobs", "raw.register_cohort", "staging.clients", "staging.study_population",
                 "staging.register_spells", "audit.loads", "audit.rejected_rows", "ref.codes"]:
        assert name in tables, name
    assert [r[0] for r in tables["staging.study_population"]] == ["P000001"]
    with duckdb.connect(str(minimal_run["warehouse"]), read_only=True) as con:
        runs = con.execute("SELECT run_id, cutoff, code_version, input_fingerprint FROM audit.runs").fetchall()
        assert runs[0][0] == minimal_run["run_id"] and runs[0][1] == C and len(runs[0][3]) == 64
        assert con.execute("SELECT rows_read, rows_accepted, rows_rejected FROM audit.loads WHERE file='clients.csv'"
                           ).fetchall() == [(2, 1, 1)]
    assert (minimal_run["rows_accepted"], minimal_run["rows_rejected"]) == (2, 1)


def test_a_refused_delivery_leaves_the_previous_warehouse_byte_for_byte(tmp_path, published_minimal):
    warehouse = published_minimal
    before = _sha(warehouse)
    bad = minimal_delivery(tmp_path / "bad")
    (bad / "jobs.csv").write_text("person_id,tyyppi\nP000001,tyo\n", encoding="utf-8")
    with pytest.raises(PipelineFailed, match="jobs.csv: the header has no ';' delimiter"):
        run_pipeline(bad, C, warehouse)
    assert _sha(warehouse) == before
    assert [p.name for p in warehouse.parent.iterdir() if p.name.startswith(".")] == []


def test_a_failing_blocking_check_stops_the_swap(tmp_path, published_minimal, monkeypatch):
    warehouse = published_minimal
    before = _sha(warehouse)
    import ips_eval.warehouse.audit_checks as audit_checks

    monkeypatch.setattr(audit_checks, "rows_accounted", lambda con, export: ["jobs.csv: 3 rows read but 2 + 0"])
    with pytest.raises(PipelineFailed, match="blocking check rows_accounted on raw/.* failed"):
        run_pipeline(minimal_delivery(tmp_path / "again"), C, warehouse)
    assert _sha(warehouse) == before


def test_rows_accounted_fails_when_a_row_goes_missing(tmp_path, con):
    from ips_eval.ingest.load import load_delivery

    load_delivery(con, minimal_delivery(tmp_path / "d", jobs=[row("jobs", alkupvm="2.6.2023")]), C)
    assert rows_accounted(con, "jobs") == []
    con.execute("DELETE FROM raw.jobs WHERE _line = 3")
    assert rows_accounted(con, "jobs") == ["jobs.csv: audit says 2 accepted, raw.jobs holds 1"]
    con.execute("UPDATE audit.loads SET rows_read = 5 WHERE export = 'jobs'")
    assert "jobs.csv: 5 rows read but 2 accepted + 0 rejected + 0 withdrawn + 0 empty lines" in rows_accounted(con, "jobs")


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(*) FROM raw.clients").fetchall()[0][0], flush=True)
    sys.stdin.readline()
    print(con.execute("SELECT count(*) FROM raw.clients").fetchall()[0][0], flush=True)
""")


@pytest.fixture(scope="module")
def refreshed(minimal_run, tmp_path_factory):
    """One rebuild on top of a copy of the published minimal run, with a second client, while a
    reader (a notebook) holds the warehouse open: the warehouse, and what the reader counted in
    raw.clients before and after the refresh. Two tests read it."""
    out = tmp_path_factory.mktemp("refreshed") / "out"
    shutil.copytree(minimal_run["out"], out)
    warehouse = out / "w.duckdb"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(warehouse)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        seen = [reader.stdout.readline().strip()]
        two = minimal_delivery(out.parent / "two", clients=[row("clients", person_id="P000002")])
        summary = run_pipeline(two, C, warehouse)
        instance = runner._instance["current"]  # the one the run recorded in
        left = [r.run_id for r in instance.get_runs()]
        reader.stdin.write("\n")
        reader.stdin.flush()
        seen.append(reader.stdout.readline().strip())
    finally:
        reader.kill()
        reader.wait()
    return {"warehouse": warehouse, "seen": seen, "run_ids": [minimal_run["run_id"], summary.run_id],
            "left_in_dagster": left}


def test_a_rebuild_keeps_the_history_of_runs(refreshed):
    # (that a re-run reproduces every table is tests/warehouse/test_reproducible.py)
    with duckdb.connect(str(refreshed["warehouse"]), read_only=True) as con:
        assert [r[0] for r in con.execute("SELECT run_id FROM audit.runs ORDER BY finished_at").fetchall()] == \
            refreshed["run_ids"]


def test_a_run_leaves_nothing_in_the_process_dagster_instance(refreshed):
    """The runs of a process share one in-memory Dagster instance (pipelines.runner), and each is
    deleted from it once its result is read: nothing of it piles up in a long-lived process."""
    assert refreshed["left_in_dagster"] == []


def test_a_reader_holding_the_warehouse_does_not_block_a_refresh_and_keeps_its_view(refreshed):
    assert refreshed["seen"] == ["1", "1"]  # the notebook's view is unchanged
    with duckdb.connect(str(refreshed["warehouse"]), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.clients").fetchall() == [(2,)]


def test_a_step_that_asks_for_memory_closes_the_held_build_only_when_its_cache_is_large(tmp_path, monkeypatch):
    from ips_eval.warehouse import database

    build = database.WarehouseBuild(tmp_path / "w.duckdb", "r1")
    try:
        with build.connection() as con:
            con.execute("CREATE TABLE raw.t AS SELECT 1 AS x")
        held = database._HELD[build.path]
        with build.connection(hold=False) as con:
            assert con.execute("SELECT x FROM raw.t").fetchall() == [(1,)]
        assert database._HELD.get(build.path) is held  # a small cache stays: reopening costs more
        monkeypatch.setattr(database, "HELD_CACHE_LIMIT", 0)
        with build.connection(hold=False) as con:
            assert con.execute("SELECT x FROM raw.t").fetchall() == [(1,)]
        assert build.path not in database._HELD
    finally:
        build.discard()
