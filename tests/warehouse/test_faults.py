"""Fault injection on real runs: SIGKILL mid-stage, a disk that fills up, a folder that
cannot be written. The published warehouse survives each, and the next run succeeds."""

import datetime as dt
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from deliveries import minimal_delivery, row
from pipelines.runner import run_pipeline

C = dt.date(2024, 12, 31)
IPS_EVAL = str(Path(sys.executable).parent / "ips-eval")


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def published(tmp_path):
    warehouse = tmp_path / "out" / "w.duckdb"
    run_pipeline(minimal_delivery(tmp_path / "first"), C, warehouse)
    second = minimal_delivery(tmp_path / "second", clients=[row("clients", person_id="P000002")])
    return warehouse, second


@pytest.mark.parametrize("point", ["raw/jobs", "staging/study_population", "warehouse/before_swap"])
def test_sigkill_mid_stage_leaves_the_warehouse_intact_and_the_next_run_succeeds(tmp_path, published, point):
    warehouse, second = published
    before = _sha(warehouse)
    marker = tmp_path / "reached"
    env = {**os.environ, "IPS_EVAL_FAILPOINT": point, "IPS_EVAL_FAILPOINT_MARKER": str(marker)}
    proc = subprocess.Popen([IPS_EVAL, "run", "--input", str(second), "--cutoff", str(C), "--warehouse",
                             str(warehouse)], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not marker.exists():
        assert proc.poll() is None, "the run ended before reaching the fail point"
        assert time.time() < deadline, "the run never reached the fail point"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _sha(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.clients").fetchall() == [(1,)]
    assert any(".build-" in p.name for p in warehouse.parent.iterdir()), "the killed run left its build file"

    run_pipeline(second, C, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.clients").fetchall() == [(2,)]
    # no build file left; the run log has the published runs (the killed one never finished)
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["figures", "w.duckdb", "w.duckdb.runs.jsonl"]
    log = [json.loads(line) for line in (warehouse.parent / "w.duckdb.runs.jsonl").read_text().splitlines()]
    assert [r["status"] for r in log] == ["published", "published"]


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_a_full_disk_while_writing_is_reported_clearly(tmp_path, published):
    warehouse, second = published
    before = _sha(warehouse)
    out = subprocess.run([IPS_EVAL, "run", "--input", str(second), "--cutoff", str(C), "--warehouse",
                          str(warehouse)], capture_output=True, text=True, preexec_fn=_limit_file_size, timeout=300)
    assert out.returncode == 1
    assert "cannot write the warehouse build file" in out.stderr
    assert "is the disk full, or the folder not writable?" in out.stderr
    assert _sha(warehouse) == before


def test_a_folder_that_cannot_be_written_is_reported_clearly(tmp_path):
    delivery = minimal_delivery(tmp_path / "d")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the warehouse folder should be")
    out = subprocess.run([IPS_EVAL, "run", "--input", str(delivery), "--cutoff", str(C), "--warehouse",
                          str(blocked / "w.duckdb")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert f"cannot write the warehouse build file {blocked}" in out.stderr


def test_a_permission_error_is_reported_clearly(tmp_path):
    """Root ignores file modes, so the run drops the capability that lets it (as a service
    account without write access to the warehouse folder would be)."""
    delivery = minimal_delivery(tmp_path / "d")
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = subprocess.run(
            ["setpriv", "--bounding-set=-dac_override,-dac_read_search", IPS_EVAL, "run", "--input", str(delivery),
             "--cutoff", str(C), "--warehouse", str(folder / "w.duckdb")],
            capture_output=True, text=True, timeout=300)
    finally:
        folder.chmod(0o755)
    assert out.returncode == 1, out.stderr
    assert f"cannot write the warehouse build file {folder}" in out.stderr
    assert "Permission denied" in out.stderr
    assert list(folder.iterdir()) == []
