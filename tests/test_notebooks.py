"""The analysts' notebooks run top to bottom against the synthetic study's warehouse, and a
notebook holding the warehouse open never blocks a refresh.

Each notebook is executed with nbclient in a kernel on this interpreter (the venv's Python,
whatever kernelspecs the machine has installed), with `IPS_EVAL_WAREHOUSE` pointing at the
warehouse, exactly as an analyst would run it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from deliveries import minimal_delivery
from ips_eval import notebook as nb

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_NAMES = ["outcomes_explorer.ipynb", "model_walkthrough.ipynb", "data_quality.ipynb"]


class ThisPythonKernels(KernelSpecManager):
    """Every kernel name resolves to ipykernel on this interpreter (the venv's), so a
    `python3` kernelspec installed elsewhere on the machine can never be picked instead."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})", language="python", env={},
        )


def execute(name: str, monkeypatch, warehouse: Path, figures: Path | None = None):
    """Run notebook `name` top to bottom (cwd notebooks/, as Jupyter does); raise on any cell error."""
    monkeypatch.setenv(nb.WAREHOUSE_ENV, str(warehouse))
    if figures is None:
        monkeypatch.delenv(nb.FIGURES_ENV, raising=False)
    else:
        monkeypatch.setenv(nb.FIGURES_ENV, str(figures))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisPythonKernels())
    NotebookClient(notebook, km=km, timeout=180, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return notebook


def outputs(notebook) -> tuple[str, int]:
    """All text the notebook showed (streams, plain text, HTML, markdown), and how many images."""
    texts, images = [], 0
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"cell {cell.id} raised {out.ename}: {out.evalue}"
            if out.output_type == "stream":
                texts.append(out.text)
            data = out.get("data", {})
            images += "image/png" in data
            texts += [data[k] for k in ("text/plain", "text/html", "text/markdown") if k in data]
    return "\n".join(texts), images


def test_helper_finds_the_warehouse_and_its_figures(monkeypatch, tmp_path):
    monkeypatch.delenv(nb.WAREHOUSE_ENV, raising=False)
    monkeypatch.delenv(nb.FIGURES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # e.g. Jupyter's cwd notebooks/: the default is still the project's demo
    assert nb.warehouse_path() == ROOT / "data" / "demo" / "warehouse.duckdb"
    assert nb.figures_path() == ROOT / "data" / "demo" / "warehouse.figures"
    (tmp_path / "w.duckdb").touch()
    monkeypatch.setenv(nb.WAREHOUSE_ENV, "w.duckdb")
    assert nb.warehouse_path() == tmp_path / "w.duckdb" and nb.figures_path() == tmp_path / "w.figures"
    monkeypatch.setenv(nb.FIGURES_ENV, str(tmp_path / "elsewhere"))
    assert nb.figures_path() == tmp_path / "elsewhere"
    monkeypatch.setenv(nb.WAREHOUSE_ENV, str(tmp_path / "missing.duckdb"))
    with pytest.raises(FileNotFoundError, match="no warehouse at"):
        nb.open_warehouse()


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebooks_are_stored_clean(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "store notebooks without outputs"
    assert notebook.cells[0].cell_type == "markdown" and "How to run it" in notebook.cells[0].source
    assert sum("nb.open_warehouse()" in c.source for c in code) == 1, "open the warehouse once, with the helper"
    assert all(len(c.source.splitlines()) <= 25 for c in code), "keep cells small"


def test_outcomes_explorer(synthetic_study, monkeypatch):
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        n_clients, n_competitive = con.execute(
            "SELECT n_clients, n_competitive FROM marts.employment_outcomes WHERE alue = 'ALL'").fetchall()[0]
        quarters = con.execute("SELECT count(*) FROM marts.employment_rate_by_quarter WHERE alue = 'ALL'").fetchall()[0][0]
    text, images = outputs(execute("outcomes_explorer.ipynb", monkeypatch, synthetic_study["warehouse"]))
    assert f"ALL counties: n_clients = {n_clients}, n_competitive = {n_competitive}" in text
    assert "in marts.employment_outcomes:" in text  # the audit trail ran (its asserts held)
    assert images >= 3  # groups, the quarterly trend with benchmarks, the county panels
    assert quarters > 0 and "benchmark_reached" in text
    # the voices: the coaching process of all counties, and the survey tables
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        met, eligible = con.execute("SELECT n_contact30, n_contact30_eligible FROM marts.coaching "
                                    "WHERE alue = 'ALL'").fetchone()
    assert f"ALL counties: {met} of {eligible} (" in text and "met an employer within 30 days" in text
    for shown in ("share_4_5", "koettu_1", "share_ips_fixed_part", "recovery_orientation", "toimiala"):
        assert shown in text, shown
    assert images >= 4  # and the perceived change, client beside coach


def test_model_walkthrough(synthetic_study, monkeypatch):
    figures = synthetic_study["figures"]
    pngs = sorted(p.name for p in figures.glob("*.png"))
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        fit_log = con.execute("SELECT model, status FROM models.fit_log").fetchall()
    text, images = outputs(execute("model_walkthrough.ipynb", monkeypatch, synthetic_study["warehouse"]))
    assert pngs and images >= len(pngs) + 1  # every saved figure, and one re-drawn from the tables
    assert all(p in text for p in pngs)
    assert all(model in text for model, _ in fit_log)
    assert nb.NOT_AVAILABLE not in text  # every table the notebook reads exists in a full run
    # the subgroup analysis with estimate_att: one row per diagnosis group, estimated for some
    assert "ips_analysed" in text and "psychosis" in text
    # the transition rates (both groups, the headline transitions) and model 7's months at risk
    assert "comparison_weighted" in text and "benefit_to_work" in text and "months_at_risk" in text
    assert "transition_to_work_forest.png" in text


def test_model_walkthrough_without_model_tables(synthetic_study, monkeypatch, tmp_path):
    """A warehouse built without the models step: the notebook still runs and says what is missing."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(synthetic_study["warehouse"], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'models'").fetchall():
            con.execute(f'DROP TABLE models."{table}"')
    text, images = outputs(execute("model_walkthrough.ipynb", monkeypatch, warehouse))
    assert "Model tables: not available in this warehouse" in text
    assert "models.fit_log: not available in this warehouse" in text
    assert "figures: not available in this warehouse's figures folder" in text
    assert images == 0


def test_data_quality(synthetic_study, monkeypatch):
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        files = [f for (f,) in con.execute("SELECT file FROM audit.loads WHERE file IS NOT NULL").fetchall()]
        rules = [r for (r,) in con.execute("SELECT DISTINCT rule FROM audit.rejected_rows").fetchall()]
        run_id = con.execute("SELECT run_id FROM audit.runs ORDER BY finished_at DESC LIMIT 1").fetchall()[0][0]
    text, _ = outputs(execute("data_quality.ipynb", monkeypatch, synthetic_study["warehouse"]))
    assert "balance: rows read = accepted + rejected + withdrawn + empty lines for every file" in text
    assert "OK: every rejected row is accounted for" in text
    assert "input fingerprint matches audit.loads" in text
    assert all(f in text for f in files) and all(r in text for r in rules) and run_id in text
    assert "none remaining" in text


def test_open_notebook_does_not_block_a_refresh(synthetic_study, monkeypatch, tmp_path):
    """A notebook's read-only connection survives a refresh and keeps reading the run it opened."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(synthetic_study["warehouse"], warehouse)
    monkeypatch.setenv(nb.WAREHOUSE_ENV, str(warehouse))
    query = "SELECT n_clients FROM marts.employment_outcomes WHERE alue = 'ALL'"

    con = nb.open_warehouse()
    try:
        before = con.execute(query).fetchall()[0][0]
        assert before > 1
        from pipelines.runner import run_pipeline

        # far fewer clients than the study it replaces: allowed explicitly (docs/release.md)
        run_pipeline(minimal_delivery(tmp_path / "delivery"), dt.date(2024, 12, 31), warehouse, allow_shrink=True)

        # the open connection still reads its old view, every layer of it
        assert con.execute(query).fetchall()[0][0] == before
        assert con.execute("SELECT count(*) FROM core.client_outcomes").fetchall()[0][0] == before
        assert con.execute("SELECT count(*) FROM audit.runs").fetchall()[0][0] == 1
        # while an analyst opening it now (another process) reads the new run
        fresh = subprocess.run(
            [sys.executable, "-c", f"from ips_eval import notebook as nb; print(nb.open_warehouse().execute({query!r}).fetchall()[0][0])"],
            capture_output=True, text=True, check=True, env=os.environ.copy(),
        )
        assert fresh.stdout.strip() == "1"

        # re-running the notebook's first cell reconnects (closing the old connection) and reads the new run
        reopened = nb.open_warehouse()
        try:
            assert reopened.execute(query).fetchall()[0][0] == 1
            assert reopened.execute("SELECT count(*) FROM audit.runs").fetchall()[0][0] == 2
            not_fitted = reopened.execute("SELECT model, status, reason FROM models.fit_log WHERE status <> 'ok'").fetchall()
        finally:
            reopened.close()
        with pytest.raises(duckdb.Error):
            con.execute(query)
    finally:
        con.close()

    # re-run, the walkthrough shows the new run: one client is too few for most models, and it says why
    assert not_fitted
    text, _ = outputs(execute("model_walkthrough.ipynb", monkeypatch, warehouse))
    assert all(f"{model}: {status}. {reason}" in text for model, status, reason in not_fitted)
