"""docs/how-to/add-a-model.md, done in a temporary copy: the page's two files (a declaration and its
input query) are all a new model needs to be in the registry, an asset with its upstream assets,
and a writer of `models.estimates`."""

import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

import model_fixtures as mf
from ips_eval import MODEL_QUERIES_DIR, PROJECT_ROOT
from ips_eval.models import registry
from pipelines.assets.models import build_model_assets

HOW_TO = PROJECT_ROOT / "docs" / "how-to" / "add-a-model.md"


def _files_of_the_page() -> dict[str, str]:
    """The fenced blocks of the how-to that name a file (```python file=<path>), by path."""
    blocks = re.findall(r"```\w+ file=(\S+)\n(.*?)```", HOW_TO.read_text(encoding="utf-8"), flags=re.S)
    return dict(blocks)


def test_the_how_to_adds_a_model_with_a_declaration_and_its_query(tmp_path):
    files = _files_of_the_page()
    assert set(files) == {"sql/models/competitive_share.sql", "ips_eval/models/competitive_share.py"}
    models_dir, queries_dir = tmp_path / "ips_eval" / "models", tmp_path / "sql" / "models"
    shutil.copytree(registry.PACKAGE_DIR, models_dir, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(MODEL_QUERIES_DIR, queries_dir)
    for path, text in files.items():
        (tmp_path / path).write_text(text, encoding="utf-8")

    models = registry.find_models(models_dir, queries_dir)
    assert set(models) == set(registry.MODELS) | {"competitive_share"}  # found, not listed
    assert "competitive_share" not in registry.find_models()  # the repository itself is untouched
    spec = models["competitive_share"]
    assert registry.model_inputs("competitive_share", models) == {"core.client_outcomes"}
    assert "competitive_share" in registry.run_order(models)

    assets = {k: a for a in build_model_assets(models) for k in a.keys}
    key = dg.AssetKey(["models", "competitive_share"])
    assert set(assets[key].asset_deps[key]) == {dg.AssetKey(["core", "client_outcomes"])}
    assert assets[key].specs_by_key[key].description.startswith(spec.description)
    assert assets[key].specs_by_key[key].group_name == "models"

    con = mf.load(duckdb.connect(), mf.clients(n=300, seed=4))
    result = registry.fit_and_write("competitive_share", con, tmp_path / "figures", models)
    assert result.status == "ok", result.reason
    share = con.execute("SELECT avg(competitive::INT) FROM core.client_outcomes").fetchone()[0]
    row = con.execute("SELECT term, estimate, ci_low, ci_high, n, estimator FROM models.estimates"
                      " WHERE model = 'competitive_share'").fetchall()
    assert len(row) == 1 and row[0][0] == "share_competitive" and row[0][5] == "wilson"
    assert abs(row[0][1] - share) < 1e-12 and row[0][2] < share < row[0][3] and row[0][4] == 300
    assert con.execute("SELECT status FROM models.fit_log WHERE model = 'competitive_share'").fetchone() == ("ok",)


def test_a_model_declared_twice_is_refused(tmp_path):
    models_dir = tmp_path / "models"
    shutil.copytree(registry.PACKAGE_DIR, models_dir, ignore=shutil.ignore_patterns("__pycache__"))
    text = (models_dir / "job_tenure.py").read_text(encoding="utf-8")
    (models_dir / "job_tenure_again.py").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="job_tenure is declared twice: in job_tenure and job_tenure_again"):
        registry.find_models(models_dir)
