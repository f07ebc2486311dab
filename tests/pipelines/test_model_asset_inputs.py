"""A model asset's upstream assets are the tables its query files read, not a list kept by hand."""

from dataclasses import replace

import dagster as dg

from ips_eval.models import registry
from pipelines.assets.models import _model_asset
from pipelines.definitions import defs


def test_model_asset_deps_follow_its_query_files(tmp_path):
    query = tmp_path / "job_tenure.sql"
    query.write_text("-- test\nSELECT j.person_id FROM core.competitive_jobs AS j"
                     " JOIN marts.fidelity_current AS f ON f.alue = j.alue\n")
    models = {**registry.MODELS, "job_tenure": replace(registry.MODELS["job_tenure"], queries_dir=tmp_path)}
    asset = _model_asset("job_tenure", models)
    deps = {key for key in asset.asset_deps[dg.AssetKey(["models", "job_tenure"])]}
    assert deps == {dg.AssetKey(["core", "competitive_jobs"]), dg.AssetKey(["marts", "fidelity_current"])}


def test_every_model_reads_only_tables_of_the_warehouse():
    for name in registry.MODELS:
        tables = registry.model_inputs(name)
        assert tables and all(t.split(".")[0] in {"staging", "core", "marts", "ref"} or t in registry.WRITTEN_BY
                              for t in tables), (name, tables)


def test_a_model_reading_another_steps_table_depends_on_that_step():
    asset = _model_asset("trajectory_types")
    deps = set(asset.asset_deps[dg.AssetKey(["models", "trajectory_types"])])
    assert deps == {dg.AssetKey(["models", "effectiveness"]), dg.AssetKey(["marts", "state_sequences"])}


def test_each_model_asset_has_its_own_description():
    graph = defs.resolve_asset_graph()
    descriptions = {name: graph.get(dg.AssetKey(["models", name])).description for name in registry.MODELS}
    for name, text in descriptions.items():
        assert text.startswith(registry.MODELS[name].description), name
        assert "partial" not in text, name  # not a library's docstring
    assert len(set(descriptions.values())) == len(descriptions)
