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
