"""The Dagster project as users meet it: `pipelines.definitions:defs` loads, every asset has a
group and a description, the schedule is quarterly, and the asset graph matches its snapshot
(so an accidental change to the graph shows up in review).

To accept an intended change of the graph: UPDATE_SNAPSHOTS=1 pytest tests/test_definitions.py
"""

import pytest
import datetime as dt
import os
from pathlib import Path

import dagster as dg

from pipelines.definitions import defs
from ips_eval.definitions import previous_quarter_end, quarter_label

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"
GROUPS = {"ingest", "staging", "outcomes", "models", "publish"}


def _graph():
    return defs.resolve_asset_graph()


def test_every_asset_has_a_known_group_and_a_description():
    graph = _graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in GROUPS, f"{key.to_user_string()}: group {node.group_name}"
        assert node.description and len(node.description) > 20, key.to_user_string()
    used = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"ingest", "staging", "outcomes", "publish"} <= used
    # each its own: no description shared by two assets, none a helper's docstring (functools.partial)
    descriptions = [graph.get(k).description for k in graph.get_all_asset_keys()]
    assert len(set(descriptions)) == len(descriptions)
    assert not any("partial(func" in d or "functools" in d for d in descriptions)


def test_the_schedule_runs_quarterly_with_the_previous_quarter_end_as_cutoff():
    schedule = defs.resolve_schedule_def("quarterly_refresh")
    assert schedule.cron_schedule == "0 0 1 1,4,7,10 *"
    for day, cutoff in [(dt.datetime(2025, 1, 1), "2024-12-31"), (dt.datetime(2025, 4, 1), "2025-03-31"),
                        (dt.datetime(2025, 7, 1), "2025-06-30"), (dt.datetime(2025, 10, 1), "2025-09-30")]:
        result = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=day))
        request = result.run_requests[0]
        assert request.run_config["resources"]["study"]["config"]["cutoff"] == cutoff
        assert request.run_key == quarter_label(dt.date.fromisoformat(cutoff))


def test_previous_quarter_end():
    assert previous_quarter_end(dt.date(2024, 2, 29)) == dt.date(2023, 12, 31)
    assert previous_quarter_end(dt.date(2024, 6, 30)) == dt.date(2024, 3, 31)
    assert quarter_label(dt.date(2024, 12, 31)) == "2024Q4"


def _snapshot_text() -> str:
    graph = _graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        deps = ", ".join(sorted(k.to_user_string() for k in node.parent_keys))
        lines.append(f"{key.to_user_string()} [{node.group_name}] <- {deps}")
        for check in sorted(node.check_keys, key=lambda c: c.name):
            lines.append(f"    check {check.name}")
    return "\n".join(lines) + "\n"


def test_the_asset_graph_matches_its_snapshot():
    text = _snapshot_text()
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), "the asset graph changed: review it, then UPDATE_SNAPSHOTS=1"


def test_warehouse_swap_depends_on_every_other_asset():
    graph = _graph()
    others = {k for k in graph.get_all_asset_keys() if k != dg.AssetKey(["warehouse"])}
    assert set(graph.get(dg.AssetKey(["warehouse"])).parent_keys) == others


SERVED_BY_WAVE_YML = """tables:
  - name: marts.served_by_wave
    tests:
      - unique: [aalto, quarter]
    columns:
      - name: aalto
        type: VARCHAR
        description: The wave.
        tests:
          - accepted_values: {codes: waves}
      - name: quarter
        type: VARCHAR
        description: The quarter.
      - name: n
        type: BIGINT
        description: Clients in service.
        tests:
          - not_null
          - range: {min: 1}
"""


@pytest.mark.slow
def test_the_table_assets_follow_the_sql_files(tmp_path):
    """Adding (or removing) a file of sql/ changes the graph, with no Python touched: the
    table a researcher adds (docs/how-to/add-a-table.md) is an asset with the checks its
    contract declares, is built, passes them, and is documented in docs/warehouse.md."""
    import shutil

    from deliveries import minimal_delivery
    from ips_eval import SQL_DIR
    from ips_eval.warehouse.tables_doc import render
    from pipelines.assets.tables import table_assets

    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    (sql / "marts" / "served_by_wave.sql").write_text(
        "-- Clients in service per wave and quarter (a table a researcher adds).\n"
        "CREATE OR REPLACE TABLE marts.served_by_wave AS\n"
        "SELECT p.aalto, q.quarter, count(*) AS n\n"
        "FROM core.client_quarters AS q JOIN staging.study_population AS p USING (person_id)\n"
        "JOIN ref.age_groups AS a ON p.age_group = a.age_group GROUP BY ALL\n"
    )
    (sql / "marts" / "served_by_wave.yml").write_text(SERVED_BY_WAVE_YML)
    (sql / "marts" / "fidelity.sql").unlink()
    (sql / "marts" / "fidelity.yml").unlink()
    assets = {k: a for a in table_assets(sql) for k in a.keys}
    added = dg.AssetKey(["marts", "served_by_wave"])
    assert added in assets
    spec = assets[added].specs_by_key[added]
    assert {d.asset_key for d in spec.deps} == {dg.AssetKey(["core", "client_quarters"]),
                                                 dg.AssetKey(["staging", "study_population"])}
    assert spec.group_name == "outcomes" and spec.description.startswith("Clients in service per wave")
    columns = spec.metadata["dagster/column_schema"].columns
    assert [(c.name, c.type, c.description) for c in columns] == [
        ("aalto", "VARCHAR", "The wave."), ("quarter", "VARCHAR", "The quarter."), ("n", "BIGINT", "Clients in service.")]
    (check,) = assets[added].check_specs
    assert check.name == "contract" and check.blocking
    for test in ("aalto_quarter_unique (aalto/quarter: unique)", "aalto_accepted_values", "n_not_null", "n_range"):
        assert test in check.description
    assert dg.AssetKey(["marts", "fidelity"]) not in assets
    assert dg.AssetKey(["marts", "fidelity"]) in {k for a in table_assets() for k in a.keys}
    # a table read from raw waits for the consent purge of the ingest
    raw_reader = assets[dg.AssetKey(["staging", "clients"])].specs_by_key[dg.AssetKey(["staging", "clients"])]
    assert {d.asset_key for d in raw_reader.deps} == {dg.AssetKey(["audit", "consent_withdrawals"])}
    # built on a small delivery, it passes the checks its asset runs
    con = _built(minimal_delivery(tmp_path / "delivery"), sql, ["core.client_quarters", "marts.served_by_wave"])
    assert con.execute("SELECT DISTINCT aalto, n FROM marts.served_by_wave").fetchall() == [("2", 1)]
    assert _table_check(con, sql, "marts.served_by_wave") == (
        True, {"aalto_quarter_unique": 0, "aalto_accepted_values": 0, "n_not_null": 0, "n_range": 0})
    # and documented: docs/warehouse.md is generated from the same files
    page = render(sql)
    assert "#### `marts.served_by_wave`\n\nClients in service per wave and quarter" in page
    assert "| `n` | BIGINT | Clients in service. | not null; >= 1 |" in page
    assert "#### `marts.fidelity`\n" not in page


def _built(delivery, sql, tables):
    """A small warehouse: the delivery loaded, staging built, then `tables` (and what they read
    of core) from the SQL folder `sql`."""
    import datetime as dt

    import duckdb

    from ips_eval.ingest.load import load_delivery
    from ips_eval.warehouse.tables import build_staging, build_tables

    cutoff = dt.date(2024, 6, 30)
    con = duckdb.connect()
    load_delivery(con, delivery, cutoff)
    build_staging(con, cutoff)
    build_tables(con, cutoff, schemas=["core", "marts"], only=[
        "core.quarters", "core.evaluation_dates", "core.population_asof", "core.job_records",
        "core.activities_asof", "core.competitive_jobs_asof", "core.competitive_jobs", "core.fidelity_reviews",
        "core.fidelity_asof", "core.client_outcomes_asof", "core.client_outcomes", *tables], sql_dir=sql)
    return con


def _table_check(con, sql, name):
    """What the table's asset check says on `con`: (passed, failing rows per declared test)."""
    from ips_eval.warehouse.table_contracts import table_contract
    from ips_eval.warehouse.tables import sql_table
    from pipelines.assets.tables import _check_result

    result = _check_result(con, sql_table(name, sql), table_contract(name, sql))
    tests = result.metadata["tests"]
    return result.passed, tests.value if isinstance(tests, dg.JsonMetadataValue) else tests.text


@pytest.mark.slow
def test_a_column_added_to_a_table_reaches_its_asset_checks_and_the_docs(tmp_path):
    """The done-when of the contracts: a column added to a built table's SQL, with its contract
    entry, is built, checked by an asset check of the table's asset and listed in docs/warehouse.md;
    without its contract entry that check fails on the columns."""
    import shutil

    from deliveries import minimal_delivery
    from ips_eval import SQL_DIR
    from ips_eval.warehouse.tables_doc import render
    from pipelines.assets.tables import table_assets

    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    path = sql / "core" / "client_quarters.sql"
    text = path.read_text(encoding="utf-8")
    last_select = "SELECT s.quarter,\n       s.quarter_start,"
    assert text.count(last_select) == 1
    path.write_text(text.replace(last_select, "SELECT s.quarter,\n       year(s.quarter_start) AS quarter_year,\n"
                                              "       s.quarter_start,"), encoding="utf-8")
    con = _built(minimal_delivery(tmp_path / "delivery"), sql, ["core.client_quarters"])
    passed, tests = _table_check(con, sql, "core.client_quarters")
    assert passed is False and tests == "not run: the columns differ from the contract"  # not declared yet

    contract = sql / "core" / "client_quarters.yml"
    contract.write_text(contract.read_text(encoding="utf-8").replace(
        "      - name: quarter_start\n",
        "      - name: quarter_year\n        type: BIGINT\n        description: The year of the quarter.\n"
        "        tests:\n          - range: {min: 2000, max: 2100}\n      - name: quarter_start\n", 1))
    key = dg.AssetKey(["core", "client_quarters"])
    asset = next(a for a in table_assets(sql) if key in a.keys)
    (check,) = asset.check_specs
    assert check.blocking and "quarter_year_range (quarter_year: in [2000, 2100])" in check.description
    passed, tests = _table_check(con, sql, "core.client_quarters")
    assert passed and tests["quarter_year_range"] == 0
    assert "| `quarter_year` | BIGINT | The year of the quarter. | in [2000, 2100] |" in render(sql)


def test_a_table_reading_a_model_output_waits_for_the_model_that_writes_it():
    # sql/marts/transition_rates.sql reads models.person_weights, which the effectiveness model writes
    graph = _graph()
    rates = graph.get(dg.AssetKey(["marts", "transition_rates"]))
    assert dg.AssetKey(["models", "effectiveness"]) in rates.parent_keys
    assert rates.group_name == "outcomes"
    assert graph.get(dg.AssetKey(["models", "transition_to_work"])).group_name == "models"
    selected = set(defs.resolve_job_def("quarterly_refresh_job").asset_layer.selected_asset_keys)
    assert {dg.AssetKey(["marts", "transition_rates"]), dg.AssetKey(["models", "transition_to_work"])} <= selected
