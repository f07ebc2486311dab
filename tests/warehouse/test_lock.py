"""One run at a time per warehouse: the lock, a waiting run, a refusing run, a dead holder,
and two real runs (refits of one model) started together on one warehouse and site.

The command line's runs here are processes forked from the test's (tests/forked.py): each a
process of its own, holding or waiting for the lock as `ips-eval` started from a shell does,
without importing the pipeline again."""

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

import forked
from deliveries import minimal_delivery
from ips_eval.release import lock
from ips_eval.release.lock import WarehouseBusy, holder, lock_path, warehouse_lock

C = dt.date(2024, 12, 31)
EXCEPTION_NAME = r"\w+(Error|Exception)\b"


def _hold_in_another_process(warehouse: Path, run_id: str, ready: Path) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from ips_eval.release.lock import warehouse_lock
        with warehouse_lock({str(warehouse)!r}, {run_id!r}):
            Path({str(ready)!r}).write_text("held")
            time.sleep(300)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.time() + 60
    while not ready.exists():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    return proc


def test_the_lock_names_its_run_and_is_reentrant_in_one_process(tmp_path):
    w = tmp_path / "w.duckdb"
    with warehouse_lock(w, "run-a"):
        assert holder(w)["run_id"] == "run-a" and holder(w)["pid"] == os.getpid()
        with warehouse_lock(w, "run-a", wait_seconds=0):  # the runner and the resource of one run
            assert holder(w)["run_id"] == "run-a"
        assert holder(w)["run_id"] == "run-a", "the inner release must not free the outer hold"
    assert holder(w) == {}
    assert lock_path(w).name == "w.duckdb.lock"


def test_a_second_run_waits_bounded_naming_the_first_then_refuses(tmp_path):
    w = tmp_path / "w.duckdb"
    proc = _hold_in_another_process(w, "first-run", tmp_path / "ready")
    heard = []
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseBusy) as busy:
            with warehouse_lock(w, "second-run", wait_seconds=1, on_wait=heard.append):
                pass
        assert time.monotonic() - started >= 1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(heard) == 1 and "first-run" in heard[0] and f"process {proc.pid}" in heard[0]
    assert "first-run" in str(busy.value) and "nothing was changed" in str(busy.value)


#: How many times the lock found busy is enough: about what 5 s of churning gives on the shared
#: 2-core machine under load.
BUSY_SEEN = 100


@pytest.mark.slow
def test_a_busy_lock_always_names_its_holder(tmp_path):
    """Another process takes and releases the lock as fast as it can; every time this one finds
    it busy, the message names the holding run: the name is written together with the lock.
    Up to BUSY_SEEN findings or 5 s, whichever comes first."""
    w = tmp_path / "w.duckdb"
    code = textwrap.dedent(f"""
        from pathlib import Path
        from ips_eval.release.lock import warehouse_lock
        Path({str(tmp_path / "ready")!r}).write_text("go")
        for i in range(100000):
            with warehouse_lock({str(w)!r}, f"churn-{{i}}"):
                pass
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    busy = 0
    try:
        while not (tmp_path / "ready").exists():
            time.sleep(0.01)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and busy < BUSY_SEEN and proc.poll() is None:
            heard = []
            try:
                with warehouse_lock(w, "probe", wait_seconds=0, on_wait=heard.append):
                    pass
            except WarehouseBusy as e:
                busy += 1
                assert "in use by run churn-" in heard[0] and "still in use by run churn-" in str(e), (heard, str(e))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert busy > 0, "the lock was never found busy: the test showed nothing"


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    w = tmp_path / "w.duckdb"
    proc = _hold_in_another_process(w, "killed-run", tmp_path / "ready")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert holder(w)["run_id"] == "killed-run"  # its name is still in the file, its lock is gone
    with warehouse_lock(w, "next-run", wait_seconds=0):
        assert holder(w)["run_id"] == "next-run"


def test_the_cli_refuses_plainly_when_the_warehouse_stays_busy(tmp_path):
    """`IPS_EVAL_LOCK_WAIT` sets how long a process started with it waits (read when the lock's
    module is imported, so a fresh interpreter shows it); the run then refuses plainly."""
    started_with = subprocess.run(
        [sys.executable, "-c", "from ips_eval.release.lock import DEFAULT_WAIT_SECONDS; print(DEFAULT_WAIT_SECONDS)"],
        capture_output=True, text=True, env={**os.environ, "IPS_EVAL_LOCK_WAIT": "1"}, check=True)
    wait = float(started_with.stdout)
    assert wait == 1
    warehouse = tmp_path / "out" / "w.duckdb"
    delivery = minimal_delivery(tmp_path / "d")
    proc = _hold_in_another_process(warehouse, "scheduled-refresh", tmp_path / "ready")
    try:
        # the forked run has the lock's module imported already: it is given the wait it would read
        out = forked.run_cli(["run", "--input", str(delivery), "--cutoff", str(C), "--warehouse", str(warehouse)],
                             tmp_path / "cli", prepare=lambda: setattr(lock, "DEFAULT_WAIT_SECONDS", wait))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert out.returncode == 1
    assert "waiting up to 1 s" in out.stderr and "scheduled-refresh" in out.stderr
    assert "still in use by run scheduled-refresh" in out.stderr and "nothing was changed" in out.stderr
    assert not (warehouse.exists() or list(warehouse.parent.glob(".*")))
    assert not re.search(EXCEPTION_NAME, out.stderr), out.stderr


#: The model the two refits below fit: a cheap one (on the minimal delivery it finds no
#: survey scores and records that it was not fitted; its step, the site and the swap run as ever).
MODEL = "scores_swemwbs"


def test_two_runs_at_once_end_with_site_and_warehouse_from_the_same_run(published_minimal):
    """Two refits started together on one published warehouse and site (`ips-eval refit`: a run
    of one model, the site and the swap, under the same lock as a whole run): one waits for the
    other, then starts from the warehouse the other published, so both are in its history."""
    out = published_minimal.parent
    warehouse, site = published_minimal, out / "site"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(first,)] = con.execute("SELECT run_id FROM audit.runs").fetchall()
    procs = [forked.cli(["refit", "--model", MODEL, "--warehouse", str(warehouse), "--site", str(site)],
                        out.parent / f"refit-{i}") for i in range(2)]
    done = [p.wait(timeout=600) for p in procs]
    results = [(d.stdout, d.stderr) for d in done]
    assert [d.returncode for d in done] == [0, 0], results
    waited = [i for i, (_, err) in enumerate(results) if "waiting up to" in err]
    assert len(waited) == 1, "exactly one run waited for the other"
    run_ids = [next(line.split("run ")[-1] for line in o.splitlines() if line.startswith("refitted"))
               for o, _ in results]
    assert f"in use by run {run_ids[1 - waited[0]]}" in results[waited[0]][1], "the message names the run waited for"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = [r[0] for r in con.execute("SELECT run_id FROM audit.runs ORDER BY finished_at").fetchall()]
    # the run that waited started from the other's warehouse, not from the one both found
    assert runs == [first, run_ids[1 - waited[0]], run_ids[waited[0]]], "both runs were published, one after the other"
    last = runs[-1]
    assert json.loads((site / "2024Q4" / "snapshot.json").read_text())["run_id"] == last
    assert last in (site / "index.html").read_text(encoding="utf-8")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob(".*")) == [], "a half-built file was left"
