"""The last asset of a run: record the run and swap the built warehouse in.

It depends on every other asset, so Dagster runs it only when all of them, and every
blocking check on them, succeeded. Until then the published warehouse is untouched.
"""


import datetime as dt
import shutil
from typing import Sequence

import dagster as dg

from ips_eval.faults import failpoint
from ips_eval.warehouse.provenance import code_version, input_fingerprint
from pipelines.resources import StudyRun

WAREHOUSE_KEY = dg.AssetKey(["warehouse"])


def published_warehouse_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=WAREHOUSE_KEY,
        deps=list(upstream),
        group_name="publish",
        description="The published DuckDB warehouse: the run's build file, renamed over --warehouse only after "
        "every asset and blocking check of the run passed. Records the run in audit.runs.",
    )
    def warehouse(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        build = study.build(context.run_id)
        with build.connection() as con:
            started = con.execute("SELECT max(started_at) FROM audit.current_run").fetchall()[0][0]
            fingerprint = input_fingerprint(con)
            version = code_version()
            con.execute(
                "INSERT INTO audit.runs VALUES (?, ?, ?, ?, ?, ?)",
                [context.run_id, study.cutoff_date, started, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                 version, fingerprint],
            )
            loads = con.execute(
                "SELECT file, rows_read, rows_accepted, rows_rejected FROM audit.loads ORDER BY export"
            ).fetchall()
            tables = con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('main') ORDER BY 1"
            ).fetchall()
        failpoint("warehouse/before_swap")
        target = build.publish()
        figures = _publish_figures(study, context.run_id)
        build.remove_stale()
        context.log.info(f"warehouse published at {target}")
        return dg.MaterializeResult(
            metadata={
                "path": str(target),
                "cutoff": study.cutoff,
                "code_version": version,
                "input_fingerprint": fingerprint,
                "tables": len(tables),
                "figures": str(figures) if figures else "",
                "loads": dg.MetadataValue.json([list(r) for r in loads]),
            }
        )

    return warehouse


def _publish_figures(study: StudyRun, run_id: str):
    """Move the run's figures into place beside the warehouse, replacing the previous run's."""
    built = study.figures_build_dir(run_id)
    final = study.figures_path()
    for stale in final.parent.glob(f".{final.name}.build-*"):
        if stale != built:
            shutil.rmtree(stale, ignore_errors=True)
    if not built.exists():
        return None
    old = final.parent / f".{final.name}.old-{run_id}"
    if final.exists():
        final.rename(old)
    built.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final
