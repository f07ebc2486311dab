import json
import os
import sys
from pathlib import Path

# One BLAS thread per test process: the suite runs as two xdist workers on two cores, and
# multi-threaded BLAS in each of them oversubscribes the cores (set before numpy is imported;
# the workers inherit it).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import duckdb  # noqa: E402
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def con():
    """An in-memory warehouse for library-level tests (no Dagster)."""
    c = duckdb.connect()
    yield c
    c.close()


@pytest.fixture(scope="session")
def synthetic_study(tmp_path_factory, worker_id):
    """The default synthetic delivery, run through the whole pipeline once per test session.

    Under pytest-xdist the workers share one build (the first to come builds it, the others
    wait on a lock), since the run with every model takes a minute or two on two cores.
    Tests only read it.
    """
    from filelock import FileLock

    from ips_eval.synth import SynthConfig, write_delivery
    from pipelines.runner import run_pipeline

    if worker_id == "master":
        root = tmp_path_factory.mktemp("synthetic_study")
    else:
        root = tmp_path_factory.getbasetemp().parent / "synthetic_study"
    config = SynthConfig()
    with FileLock(str(root) + ".lock"):
        done = root / "built.json"
        if not done.exists():
            manifest = write_delivery(root / "delivery", config)
            summary = run_pipeline(root / "delivery", config.cutoff, root / "warehouse.duckdb",
                                   figures_dir=root / "figures")
            done.write_text(json.dumps({"manifest": manifest, "run_id": summary.run_id}))
    built = json.loads(done.read_text())
    return {"config": config, "manifest": built["manifest"], "run_id": built["run_id"], "root": root,
            "warehouse": root / "warehouse.duckdb", "figures": root / "figures"}


@pytest.fixture
def study_con(synthetic_study):
    c = duckdb.connect(str(synthetic_study["warehouse"]), read_only=True)
    yield c
    c.close()
