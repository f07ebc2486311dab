"""benchmarks/compare_warehouses.py: the table hashes tell a changed value, a changed row order does not."""

from pathlib import Path

import duckdb
import pytest

from scripts import load_script



@pytest.fixture(scope="module")
def cmp():
    return load_script("benchmarks/compare_warehouses.py")


def _warehouse(path: Path, rows, extra: str | None = None) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.t (k VARCHAR, x DOUBLE, run_id VARCHAR)")
        con.executemany("INSERT INTO marts.t VALUES (?, ?, ?)", rows)
        if extra:
            con.execute(extra)
    return path


def test_same_rows_in_another_order_and_another_run_id_are_the_same(cmp, tmp_path):
    a = _warehouse(tmp_path / "a.duckdb", [("a", 1.0, "r1"), ("b", 2.0, "r1"), ("b", 2.0, "r1")])
    b = _warehouse(tmp_path / "b.duckdb", [("b", 2.0, "r2"), ("a", 1.0, "r2"), ("b", 2.0, "r2")])
    report = cmp.compare(a, b)
    assert report["same"] == ["marts.t"] and not report["differs"]


def test_a_changed_value_a_lost_duplicate_or_a_missing_table_is_reported(cmp, tmp_path):
    a = _warehouse(tmp_path / "a.duckdb", [("a", 1.0, "r"), ("b", 2.0, "r"), ("b", 2.0, "r")],
                   "CREATE TABLE marts.u (y INTEGER)")
    b = _warehouse(tmp_path / "b.duckdb", [("a", 1.0 + 1e-12, "r"), ("b", 2.0, "r")])
    report = cmp.compare(a, b)
    assert list(report["differs"]) == ["marts.t"]
    detail = report["differs"]["marts.t"]
    assert detail[0] == "rows 3 vs 2" and "k" in detail and any(d.startswith("x") for d in detail)
    assert report["only_a"] == ["marts.u"]
    assert list(cmp.compare(a, b, expect=("marts.t",))["expected"]) == ["marts.t"]
