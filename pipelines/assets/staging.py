"""Staging assets: one per file of sql/staging/, in the order of ips_eval.staging."""


import dagster as dg

from ips_eval.faults import failpoint
from ips_eval.staging import STAGING_TABLES, build_table
from pipelines.assets.ingest import WITHDRAWALS_KEY
from pipelines.resources import StudyRun


def table_key(qualified: str) -> dg.AssetKey:
    return dg.AssetKey(qualified.split("."))


def _staging_asset(table: str, reads: tuple[str, ...]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["staging", table]),
        deps=[WITHDRAWALS_KEY if r.startswith("raw.") else table_key(r) for r in reads],
        group_name="staging",
        description=f"staging.{table}, built by sql/staging/{table}.sql as of the cut-off.",
        tags={"layer": "staging"},
    )
    def _asset(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        with study.build(context.run_id).connection() as con:
            rows = build_table(con, table, study.cutoff_date)
            failpoint(f"staging/{table}")
        return dg.MaterializeResult(metadata={"rows": rows, "cutoff": study.cutoff})

    _asset.__name__ = f"staging_{table}"
    return _asset


staging_assets = [_staging_asset(t, reads) for t, reads in STAGING_TABLES]
