"""The register benchmark's own arithmetic and its CSV copy of a delivery (benchmarks/register.py)."""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scripts import ROOT, load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/register.py")


def _result(scale, run, scan, run_csv, scan_csv):
    return {"scale": scale, "run": {"wall": run}, "scan": {"all_columns": {"seconds": scan}},
            "run_csv": {"wall": run_csv}, "scan_csv": {"all_columns": {"seconds": scan_csv}}}


def test_marginal_ratio_is_run_growth_over_scan_growth_from_the_smallest_scale(bench):
    results = [_result(50_000, 70.0, 1.5, 100.0, 6.0),
               _result(20_000, 40.0, 0.5, 55.0, 1.0),
               _result(200_000, 130.0, 5.5, 255.0, 21.0)]
    ratios = {(x["scale"], x["format"]): x for x in bench.marginal_ratios(results)}
    # by hand: Parquet (70-40)/(1.5-0.5) = 30, (130-40)/(5.5-0.5) = 18;
    #          CSV (100-55)/(6-1) = 9, (255-55)/(21-1) = 10
    assert ratios[(50_000, "Parquet")]["ratio"] == pytest.approx(30.0)
    assert ratios[(200_000, "Parquet")]["ratio"] == pytest.approx(18.0)
    assert ratios[(50_000, "CSV")]["ratio"] == pytest.approx(9.0)
    assert ratios[(200_000, "CSV")]["ratio"] == pytest.approx(10.0)
    assert (20_000, "Parquet") not in ratios
    assert bench.marginal_ratios(results[:1]) == []


def test_marginal_ratio_undefined_when_the_scan_did_not_grow(bench):
    ratios = bench.marginal_ratios([_result(1, 10.0, 2.0, 10.0, 2.0), _result(2, 12.0, 2.0, 12.0, 1.0)])
    assert [x["ratio"] for x in ratios] == [None, None]


def test_csv_delivery_writes_register_extracts_as_exports_md_says(bench, tmp_path):
    delivery = tmp_path / "delivery"
    (delivery / "register").mkdir(parents=True)
    (delivery / "clients.csv").write_text("a;b\n1;2\n")
    pq.write_table(pa.table({
        "person_id": pa.array(["P1", "P2"], pa.string()),
        "alkupvm": pa.array([dt.date(2020, 1, 2), dt.date(2021, 12, 31)], pa.date32()),
        "loppupvm": pa.array([dt.date(2020, 3, 1), None], pa.date32()),
    }), delivery / "register" / "employment.parquet")
    pq.write_table(pa.table({"person_id": ["P1"], "kuukausi": ["2020-01"], "ansiot_eur": [1234.5]}),
                   delivery / "register" / "earnings.parquet")

    out = bench.csv_delivery(delivery, tmp_path / "csv")

    assert sorted(p.name for p in (out / "register").iterdir()) == ["earnings.csv", "employment.csv"]
    assert (out / "clients.csv").read_text() == "a;b\n1;2\n"
    assert (out / "register" / "employment.csv").read_text().splitlines() == [
        "person_id;alkupvm;loppupvm", "P1;2020-01-02;2020-03-01", "P2;2021-12-31;"]
    assert (out / "register" / "earnings.csv").read_text().splitlines() == [
        "person_id;kuukausi;ansiot_eur", "P1;2020-01;1234.5"]


def test_every_step_of_the_run_has_a_stage(bench):
    stages = bench._stage_of()
    assert stages["audit__delivery_guard"] == "guard"
    for name in bench.EXTRACTS:
        assert stages[f"raw__register_{name}"] == f"ingest raw__register_{name}"
    assert {s for s in stages.values() if not s.startswith("ingest ")} == {
        "guard", "staging", "outcomes", "models", "publish", "checks"}


def test_pandas_baseline_inpatient_days_before_the_index_worked_by_hand():
    import sys

    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from pandas_baseline import inpatient_days

    C = pd.Timestamp("2019-06-30")
    persons = pd.DataFrame({"person_id": ["P", "Q"], "index_month": pd.to_datetime(["2020-01-01", "2020-01-01"])})
    care = pd.DataFrame({
        "person_id": ["P", "P", "P", "P", "P"],
        "hoitomuoto": ["osasto", "osasto", "avo", "osasto", "osasto"],
        "alkupvm": pd.to_datetime(["2017-12-30", "2018-01-03", "2018-05-01", "2018-12-30", "2019-01-01"]),
        "loppupvm": pd.to_datetime(["2018-01-05", "2018-01-10", None, None, "2019-01-03"]),
    })
    # window 2018-01-01..2018-12-31: Jan 1-5 and Jan 3-10 overlap (10 distinct days), the open
    # episode from Dec 30 gives 2, the outpatient visit and the 2019 episode nothing; Q has none
    assert inpatient_days(care, persons, C).to_dict() == {"P": 12}


@pytest.mark.pipeline  # the command line's whole run, in the benchmark's own child process
def test_a_measured_run_reports_every_step_and_stage(bench, tmp_path):
    """The whole run as the targets' table measures it: its steps' times come from Dagster's
    own statistics of the run, read before the runner lets go of the run, and sum per stage."""
    from deliveries import minimal_delivery

    delivery = minimal_delivery(tmp_path / "delivery")
    run = bench._measure("run", ["--input", str(delivery), "--cutoff", bench.CUTOFF.isoformat(), "--warehouse",
                                 str(tmp_path / "w.duckdb")], tmp_path)
    stages = bench._stage_of()
    assert set(run["steps"]) == set(stages), set(stages) ^ set(run["steps"])
    assert all(seconds >= 0 for seconds in run["steps"].values())
    assert 0 < run["steps_seconds"] <= run["wall"]
    assert {"guard", "ingest", "staging", "outcomes", "models", "publish", "checks"} <= set(run["stages"])
