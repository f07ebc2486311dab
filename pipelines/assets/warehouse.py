"""The last asset of a run: record the run, swap the built warehouse in, then its figures and site.

It depends on every other asset, so Dagster runs it only when all of them, and every
blocking check on them, succeeded. Until then the published warehouse, figures and site
are untouched. The work is `ips_eval.warehouse.publish.publish_run`.
"""


from typing import Sequence

import dagster as dg

from ips_eval.warehouse.publish import publish_run
from pipelines.resources import StudyRun

WAREHOUSE_KEY = dg.AssetKey(["warehouse"])


def published_warehouse_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=WAREHOUSE_KEY,
        deps=list(upstream),
        group_name="publish",
        description="The published DuckDB warehouse: the run's build file, renamed over --warehouse only after "
        "every asset and blocking check of the run passed; the run's figures and staged site snapshot are moved "
        "into place right after it. Records the run in audit.runs.",
    )
    def warehouse(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        done = publish_run(study.build(context.run_id), study.cutoff_date, study.figures_path(), study.site_path())
        return dg.MaterializeResult(
            metadata={
                "path": str(done.warehouse),
                "cutoff": study.cutoff,
                "code_version": done.code_version,
                "input_fingerprint": done.input_fingerprint,
                "tables": done.tables,
                "figures": str(done.figures) if done.figures else "",
                "site_published": done.site,
                "loads": dg.MetadataValue.json([list(r) for r in done.loads]),
            }
        )

    return warehouse
