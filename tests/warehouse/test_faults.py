"""Fault injection on real runs: SIGKILL mid-stage, a disk that fills up, a folder that
cannot be written. The published warehouse survives each, and the next run succeeds.

The runs killed in the stages before the models are whole runs (a new delivery); those killed
in the models, the site and the swap are refits of one model (`refit_model`: the model, the
site and the swap on a copy of the published warehouse), which pass through the same steps of
those stages and the same publication, and cost a fraction of a whole run."""

import contextlib
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
from typing import Callable

import duckdb
import pytest

from deliveries import minimal_delivery, row
from ips_eval.release.publish import settle
from pipelines.runner import refit_model, run_pipeline

C = dt.date(2024, 12, 31)
IPS_EVAL = str(Path(sys.executable).parent / "ips-eval")


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _public_tree(site: Path) -> dict[str, str]:
    """Every public file of the site (staged builds are dot folders, not public) and its hash."""
    return {p.relative_to(site).as_posix(): _sha(p) for p in sorted(site.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(site).parts)}


def _published_run(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT run_id FROM audit.runs ORDER BY finished_at DESC LIMIT 1").fetchall()[0][0]


def _snapshot_run(site: Path) -> str:
    return json.loads((site / "2024Q4" / "snapshot.json").read_text())["run_id"]


def _leftovers(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob(".*"))


@pytest.fixture
def published(tmp_path, published_minimal):
    """A copy of the session's published minimal run (warehouse, figures and site) for this test,
    and a second delivery to run on top."""
    return published_minimal, minimal_delivery(tmp_path / "second", clients=[row("clients", person_id="P000002")])


#: The model the refits here fit: a cheap one (on the minimal delivery it finds no survey
#: scores and records that it was not fitted; its step, the site and the swap run as ever).
MODEL = "scores_swemwbs"


def _kill_at(point: str, tmp_path: Path, start: Callable[[], object]) -> None:
    """Start a run (`start`: `run_pipeline`, as `ips-eval run` calls it, or `refit_model`) in a
    process of its own, forked from this one, which has imported the pipeline already (a fresh
    `ips-eval` would import it again for each point), and SIGKILL that process once it reaches
    `point`."""
    marker = tmp_path / f"reached-{point.replace('/', '_')}"
    pid = os.fork()
    if pid == 0:  # the run's process: nothing of it returns into pytest
        try:
            os.setsid()
            os.environ.update(IPS_EVAL_FAILPOINT=point, IPS_EVAL_FAILPOINT_MARKER=str(marker))
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            start()
        finally:
            os._exit(1)
    deadline = time.time() + 240
    try:
        while not marker.exists():
            assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the run ended before reaching the fail point"
            assert time.time() < deadline, "the run never reached the fail point"
            time.sleep(0.1)
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:  # not yet the leader of its own group
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


#: A fail point in every stage before the swap, each run killed there in turn: in the stages
#: before the models a whole run of the second delivery, in the models, the site and the swap a
#: refit. Each is a step that comes early in its stage, since a killed run repeats everything
#: before its point, and a stage's later steps write the build file as its first one does.
WHOLE_RUN_BEFORE_SWAP = ["raw/clients", "staging/clients", "core/fidelity_reviews", "marts/employer_profile"]
REFIT_BEFORE_SWAP = [f"models/{MODEL}", "publish/site", "warehouse/before_swap"]


def test_sigkill_before_the_swap_leaves_warehouse_and_site_intact_and_the_next_run_succeeds(tmp_path, published):
    """Runs killed one after another, each at the next fail point, on one published warehouse
    and site: after each, both are as they were; then one run (a refit) succeeds and leaves
    nothing half-built of any of them."""
    warehouse, second = published
    site = warehouse.parent / "site"
    before, site_before = _sha(warehouse), _public_tree(site)
    first_id = _published_run(warehouse)
    runs = [(point, lambda: run_pipeline(second, C, warehouse, site_dir=site, allow_republish=True))
            for point in WHOLE_RUN_BEFORE_SWAP]
    runs += [(point, lambda: refit_model(MODEL, warehouse, site_dir=site)) for point in REFIT_BEFORE_SWAP]
    left = set()
    for point, start in runs:
        _kill_at(point, tmp_path, start)
        assert _sha(warehouse) == before, f"killed at {point}: the warehouse changed"
        assert _public_tree(site) == site_before, f"killed at {point}: the public site changed"
        assert _snapshot_run(site) == first_id, point
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM raw.clients").fetchall() == [(1,)], point
        new = set(_leftovers(warehouse.parent)) - left
        assert any(".build-" in name for name in new), f"killed at {point}: no build of its own left"
        left |= new

    summary = refit_model(MODEL, warehouse, site_dir=site)
    assert _published_run(warehouse) == _snapshot_run(site) == summary.run_id != first_id
    # no half-built file of any killed run left; the lock file stays (it holds no lock once its process is gone)
    assert _leftovers(warehouse.parent) == []
    assert sorted(p.name for p in warehouse.parent.iterdir()) == [
        "site", "w.duckdb", "w.duckdb.lock", "w.duckdb.runs.jsonl", "w.figures"]
    log = [json.loads(line) for line in (warehouse.parent / "w.duckdb.runs.jsonl").read_text().splitlines()]
    assert [(r["run_id"], r["status"]) for r in log] == [(first_id, "published"), (summary.run_id, "published")]


#: The fail points between the warehouse swap and the site's move.
AFTER_SWAP = ["warehouse/after_swap", "warehouse/after_figures"]


def test_sigkill_after_the_swap_is_finished_by_the_next_run_before_it_starts(tmp_path, published):
    """Refits killed between the warehouse swap and the site's move: the warehouse is the new
    run's, its site still staged. The next run first moves that site into place (`settle`), so
    the site catches up with the warehouse, then runs as usual. Each point in turn, then one
    refit."""
    warehouse, _ = published
    site = warehouse.parent / "site"
    for point in AFTER_SWAP:
        before_id = _published_run(warehouse)
        _kill_at(point, tmp_path, lambda: refit_model(MODEL, warehouse, site_dir=site))
        killed_id = _published_run(warehouse)
        assert killed_id != before_id and _snapshot_run(site) == before_id, point

        settle(warehouse, warehouse.parent / "w.figures", site)
        assert _snapshot_run(site) == killed_id, point
        assert _leftovers(warehouse.parent) == [], point
    summary = refit_model(MODEL, warehouse, site_dir=site)
    assert _published_run(warehouse) == _snapshot_run(site) == summary.run_id


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
    """Through the command line in-process (typer's runner): the two tests around it start the
    console script itself."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    delivery = minimal_delivery(tmp_path / "d")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the warehouse folder should be")
    out = CliRunner().invoke(app, ["run", "--input", str(delivery), "--cutoff", str(C), "--warehouse",
                                   str(blocked / "w.duckdb")])
    assert out.exit_code == 1
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
