import json
import os
import shutil
import sys
from pathlib import Path

# One BLAS thread per test process: the suite runs as two xdist workers on two cores, and
# multi-threaded BLAS in each of them oversubscribes the cores (set before numpy is imported;
# the workers inherit it).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# DuckDB likewise: a warehouse connection's threads (ips_eval.warehouse.database) are the
# project's default of two, and two workers each running two threads on two cores spend more
# in switching between them than the second thread gains on the suite's small deliveries.
# tests/warehouse/test_reproducible.py runs the study again in the other number of threads.
os.environ.setdefault("IPS_EVAL_DUCKDB_THREADS", "1")

import duckdb  # noqa: E402
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("MPLBACKEND", "Agg")

import tiers  # noqa: E402  (tests/tiers.py: the markers of the suite's tiers, applied at collection)


def pytest_collection_modifyitems(config, items):
    tiers.mark(items)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tiers.report(terminalreporter, config)


def pytest_sessionfinish(session, exitstatus):
    tiers.refuse_untiered_runs(session)


@pytest.fixture
def con():
    """An in-memory warehouse for library-level tests (no Dagster)."""
    c = duckdb.connect()
    yield c
    c.close()


def _shared(tmp_path_factory, worker_id, name: str, build) -> Path:
    """A folder built once per test session and shared by every xdist worker: the first worker
    to come builds it, the others wait on a lock. `build(root)` returns what to remember (JSON)."""
    from filelock import FileLock

    if worker_id == "master":
        root = tmp_path_factory.getbasetemp() / name
    else:
        root = tmp_path_factory.getbasetemp().parent / name
    with FileLock(str(root) + ".lock"):
        done = root / "built.json"
        if not done.exists():
            root.mkdir(parents=True, exist_ok=True)
            done.write_text(json.dumps(build(root)))
    return root


@pytest.fixture(scope="session")
def synthetic_study(tmp_path_factory, worker_id):
    """The default synthetic delivery, run through the whole pipeline once per test session,
    with its figures and site.

    Under pytest-xdist the workers share one build (the first to come builds it, the others
    wait on a lock), since the run with every model takes a minute or two on two cores.
    Tests only read it.
    """
    from ips_eval.synth import SynthConfig, write_delivery
    from pipelines.runner import run_pipeline

    config = SynthConfig()

    def build(root):
        manifest = write_delivery(root / "delivery", config)
        summary = run_pipeline(root / "delivery", config.cutoff, root / "warehouse.duckdb",
                               figures_dir=root / "warehouse.figures", site_dir=root / "site")
        return {"manifest": manifest, "run_id": summary.run_id}

    root = _shared(tmp_path_factory, worker_id, "synthetic_study", build)
    built = json.loads((root / "built.json").read_text())
    return {"config": config, "manifest": built["manifest"], "run_id": built["run_id"], "root": root,
            "warehouse": root / "warehouse.duckdb", "figures": root / "warehouse.figures", "site": root / "site"}


@pytest.fixture(scope="session")
def study_site(synthetic_study):
    """The site the session's synthetic study published: its folder, the snapshot's folder and
    quarter. Tests read it and never write it (a test that builds on it takes a copy)."""
    from types import SimpleNamespace

    from ips_eval.definitions import quarter_label

    quarter = quarter_label(synthetic_study["config"].cutoff)
    return SimpleNamespace(site_dir=synthetic_study["site"], snapshot_dir=synthetic_study["site"] / quarter,
                           quarter=quarter)


@pytest.fixture
def study_con(synthetic_study):
    c = duckdb.connect(str(synthetic_study["warehouse"]), read_only=True)
    yield c
    c.close()


#: The cut-off of the minimal run.
MINIMAL_CUTOFF = "2024-12-31"


@pytest.fixture(scope="session")
def minimal_run(tmp_path_factory, worker_id):
    """The minimal delivery (tests/deliveries.py: one client with one job) and one client row the
    contracts reject (a county that is none), run through the whole pipeline once per test
    session with its figures and site, shared by the workers like `synthetic_study`.

    `out` holds exactly what a run leaves beside its warehouse (w.duckdb, its lock file and run
    log, figures/, site/). Tests only read it; a test that runs on top of a published warehouse
    takes its own copy (`published_minimal`).
    """
    import datetime as dt

    from deliveries import minimal_delivery, row
    from pipelines.runner import run_pipeline

    cutoff = dt.date.fromisoformat(MINIMAL_CUTOFF)

    def build(root):
        delivery = minimal_delivery(root / "delivery", clients=[row("clients", person_id="P000002", alue="Lahti")])
        out = root / "out"
        summary = run_pipeline(delivery, cutoff, out / "w.duckdb", site_dir=out / "site")
        return {"run_id": summary.run_id, "loads": summary.loads,
                "rows": [summary.rows_accepted, summary.rows_rejected]}

    root = _shared(tmp_path_factory, worker_id, "minimal_run", build)
    built = json.loads((root / "built.json").read_text())
    out = root / "out"
    return {"cutoff": cutoff, "delivery": root / "delivery", "out": out, "warehouse": out / "w.duckdb",
            "site": out / "site", "figures": out / "w.figures", "run_id": built["run_id"],
            "loads": [tuple(r) for r in built["loads"]], "rows_accepted": built["rows"][0],
            "rows_rejected": built["rows"][1]}


@pytest.fixture
def published_minimal(minimal_run, tmp_path):
    """This test's own copy of the minimal run's published folder (tmp_path/out): a warehouse,
    figures and site as a previous run left them, for a test that runs again on top."""
    out = tmp_path / "out"
    shutil.copytree(minimal_run["out"], out)
    return out / "w.duckdb"


def pytest_collection_finish(session):
    """After collection, every test module and the library they import are loaded: those
    objects live as long as the worker, so the cycle collector is told to leave them alone
    (`gc.freeze`) and to run less often, since each of its passes would otherwise walk them
    all again, in processes that allocate millions of short-lived objects (Dagster's events,
    pandas frames). Only when garbage is collected changes, not what is."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def pytest_unconfigure(config):
    """The frozen objects are the collector's again before the interpreter exits, so that its
    final clean-up frees them (DuckDB's bindings otherwise report them as leaked)."""
    import gc

    gc.unfreeze()
