"""`defs`: the whole asset graph, as `dagster dev -m pipelines.definitions` and the CLI see it.

Warehouse assets share one DuckDB file and DuckDB allows one writer, so runs use the
in-process executor: steps run one after another in one process.
"""


import dagster as dg

from pipelines.assets.ingest import consent_withdrawals, delivery_guard, raw_assets, withdrawals_check
from pipelines.assets.models import model_assets
from pipelines.assets.outcomes import outcome_checks
from pipelines.assets.publish import publish_assets, publish_checks
from pipelines.assets.tables import assets as table_assets
from pipelines.assets.warehouse import published_warehouse_asset, release_guard
from pipelines.resources import StudyRun
from pipelines.schedules import quarterly_refresh_schedule

_pipeline_assets = [
    delivery_guard, *raw_assets, consent_withdrawals, *table_assets, *model_assets,
    *publish_assets,
]
warehouse_asset = published_warehouse_asset([k for a in _pipeline_assets for k in a.keys])

all_assets = [*_pipeline_assets, warehouse_asset]
all_checks = [withdrawals_check, release_guard, *outcome_checks, *publish_checks]


def asset_graph() -> dict[str, set[str]]:
    """Every asset of the graph and the assets it reads, by name ('models/scores'): what a run
    of part of the graph is checked against (`ips_eval.release.selection`)."""
    return {key.to_user_string(): {d.to_user_string() for d in deps}
            for a in all_assets for key, deps in a.asset_deps.items()}

#: Everything, as "Materialize all" in the UI: the job the quarterly schedule runs.
refresh_job = dg.define_asset_job(
    "quarterly_refresh_job",
    selection=dg.AssetSelection.all(),
    description="Materialise the whole graph: ingest, staging, outcomes, models, publish, warehouse swap.",
)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[refresh_job],
    schedules=[quarterly_refresh_schedule(refresh_job)],
    resources={"study": StudyRun()},
    executor=dg.in_process_executor,
)
