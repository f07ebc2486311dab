"""Fault injection on real runs: SIGKILL mid-stage, a disk that fills up, a folder that
cannot be written. The published warehouse survives each, and the next run succeeds.

Each stage is killed on the smallest run that reaches it: a whole run (a new delivery) in the
ingest, its first stage; a run of the stage's killed asset and everything downstream of it
(as the UI's "Materialize selected" starts it, on a copy of the published warehouse) in
staging, core and the marts; a refit of one model (`refit_model`: the model, the site and the
swap) in the models, the site and the swap. A killed run repeats everything before its point,
and each of these passes through the same step and the same publication as a whole run would.

The runs here are processes forked from the test's (tests/forked.py), which has imported the
pipeline already: the command line's runs are its `app` in such a process."""

import datetime as dt
import hashlib
import json
import resource
import signal
import time
from pathlib import Path
from typing import Callable

import dagster as dg
import duckdb
import pytest

import forked
from deliveries import minimal_delivery, row
from ips_eval.release.publish import settle
from pipelines.runner import refit_model, run_pipeline

C = dt.date(2024, 12, 31)


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
    """Start a run (`start`: `run_pipeline`, as `ips-eval run` calls it, a run of part of the
    graph, or `refit_model`) in a process of its own, and SIGKILL that process once it reaches
    `point`."""
    marker = tmp_path / f"reached-{point.replace('/', '_')}"
    run = forked.start(start, tmp_path / "killed" / point.replace("/", "_"),
                       env={"IPS_EVAL_FAILPOINT": point, "IPS_EVAL_FAILPOINT_MARKER": str(marker)})
    deadline = time.time() + 240
    try:
        while not marker.exists():
            assert run.running(), f"the run ended before reaching {point}: {run.wait().stderr[-2000:]}"
            assert time.time() < deadline, "the run never reached the fail point"
            time.sleep(0.1)
    finally:
        run.kill()


def _run_from(asset: str, warehouse: Path, site: Path, delivery: Path) -> None:
    """Materialise `asset` and everything downstream of it, as the UI does for a selection: a run
    that starts from a copy of the published warehouse, at its cut-off."""
    from ips_eval.release.selection import downstream
    from pipelines.definitions import asset_graph, defs

    defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[dg.AssetKey.from_user_string(a) for a in sorted(downstream(asset_graph(), [asset]))],
        run_config={"resources": {"study": {"config": {
            "input_dir": str(delivery), "cutoff": C.isoformat(), "warehouse": str(warehouse), "site_dir": str(site),
            "start_from": "current"}}}})


#: A fail point in every stage before the swap, each run killed there in turn: in the ingest a
#: whole run of the second delivery, in staging, core and the marts a run from the point's asset
#: on, in the models, the site and the swap a refit. A stage's later steps write the build file
#: as the one killed does.
WHOLE_RUN_BEFORE_SWAP = ["raw/clients"]
RUN_FROM_BEFORE_SWAP = ["staging/clients", "core/fidelity_reviews", "marts/employer_profile"]
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
    runs += [(point, lambda point=point: _run_from(point, warehouse, site, second)) for point in RUN_FROM_BEFORE_SWAP]
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


def _limit_file_size(limit: int) -> Callable[[], None]:
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_file_size


def test_a_full_disk_while_writing_is_reported_clearly(tmp_path, published):
    """A refit whose files may not grow past the published warehouse's size: the copy it starts
    from fits, the checkpoint before the swap (where DuckDB stops with a fatal error) does not.
    A refit is the smallest run that writes its build to the end; this model's results take
    several blocks more than the copy's free ones, so the checkpoint has to grow the file."""
    warehouse, _ = published
    before = _sha(warehouse)
    out = forked.run_cli(["refit", "--model", "time_to_first_job", "--warehouse", str(warehouse)],
                         tmp_path / "cli", prepare=_limit_file_size(warehouse.stat().st_size))
    assert out.returncode == 1, out.stdout
    assert "cannot write the warehouse build file" in out.stderr
    assert "is the disk full, or the folder not writable?" in out.stderr
    assert _sha(warehouse) == before


def test_a_folder_that_cannot_be_written_is_reported_clearly(tmp_path):
    """Through the command line in-process (typer's runner)."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    delivery = minimal_delivery(tmp_path / "d")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the warehouse folder should be")
    out = CliRunner().invoke(app, ["run", "--input", str(delivery), "--cutoff", str(C), "--warehouse",
                                   str(blocked / "w.duckdb")])
    assert out.exit_code == 1
    assert f"cannot write the warehouse build file {blocked}" in out.stderr


#: The capabilities that let root read and write whatever the file modes say (linux/capability.h).
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _respect_file_modes() -> None:
    """Drop this process's capabilities to ignore file modes, as `setpriv
    --bounding-set=-dac_override,-dac_read_search` does for a command it starts (a process
    without them, root or not, is held to the modes as any user is)."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        for field in ("effective", "permitted", "inheritable"):
            setattr(data[0], field, getattr(data[0], field) & ~(1 << cap))
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def test_a_permission_error_is_reported_clearly(tmp_path):
    """Root ignores file modes, so the run drops the capability that lets it (as a service
    account without write access to the warehouse folder would be)."""
    delivery = minimal_delivery(tmp_path / "d")
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = forked.run_cli(["run", "--input", str(delivery), "--cutoff", str(C), "--warehouse",
                              str(folder / "w.duckdb")], tmp_path / "cli", prepare=_respect_file_modes)
    finally:
        folder.chmod(0o755)
    assert out.returncode == 1, out.stderr
    assert f"cannot write the warehouse build file {folder}" in out.stderr
    assert "Permission denied" in out.stderr
    assert list(folder.iterdir()) == []
