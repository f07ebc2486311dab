import os
import sys
from pathlib import Path

import duckdb
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
def synthetic_study(tmp_path_factory):
    """The default synthetic delivery, run through the whole pipeline once per test worker."""
    from ips_eval.synth import SynthConfig, write_delivery
    from pipelines.runner import run_pipeline

    root = tmp_path_factory.mktemp("synthetic_study")
    config = SynthConfig()
    manifest = write_delivery(root / "delivery", config)
    summary = run_pipeline(root / "delivery", config.cutoff, root / "warehouse.duckdb", figures_dir=root / "figures")
    return {"config": config, "manifest": manifest, "summary": summary, "root": root,
            "warehouse": summary.warehouse}


@pytest.fixture
def study_con(synthetic_study):
    c = duckdb.connect(str(synthetic_study["warehouse"]), read_only=True)
    yield c
    c.close()
