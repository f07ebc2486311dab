"""The release: the guard against a shrinking or stale release, and the swap.

`release_guard` is a blocking check on `audit/consent_withdrawals`, the last step of ingest:
it compares the run with the published warehouse (`ips_eval.release.guard.check_release`)
and, when the run shrinks, goes back or runs ahead of its data, stops every later step, the
swap included. The comparison is its metadata.

`warehouse` is the last asset of a run: it depends on every other asset, so Dagster runs it
only when all of them, and every blocking check on them, succeeded. Until then the published
warehouse, figures and site are untouched. The work is `ips_eval.release.publish.publish_run`.
"""


from typing import Sequence

import dagster as dg

from ips_eval.release.guard import ReleaseRefused, check_release
from ips_eval.release.publish import publish_run
from pipelines.assets.ingest import WITHDRAWALS_KEY
from pipelines.resources import StudyRun

WAREHOUSE_KEY = dg.AssetKey(["warehouse"])


@dg.asset_check(
    asset=WITHDRAWALS_KEY,
    name="release_guard",
    blocking=True,
    description="The release guard (docs/release.md): compared with the published warehouse, the run may not have "
    "fewer clients, jobs or survey responses per county, register persons, months of register follow-up or "
    "register spells than consent withdrawals explain, nor miss an export or the register folder, nor go back to "
    "an earlier cut-off (unless allow_shrink); its cut-off may not be after today or in a later quarter than the "
    "delivery's newest date (unless allow_future_cutoff). The comparison is in the metadata.",
)
def release_guard(context: dg.AssetCheckExecutionContext, study: StudyRun) -> dg.AssetCheckResult:
    with study.build(context.run.run_id).connection() as con:
        report = check_release(con, study.build(context.run.run_id).target, study.cutoff_date,
                               allow_shrink=study.allow_shrink, allow_future_cutoff=study.allow_future_cutoff)
    for allowed in report.allowed:
        context.log.warning(f"allowed explicitly: {allowed}")
    if not report.passed:
        context.log.error(report.message())
    metadata = report.metadata()
    metadata["comparison"] = dg.MetadataValue.md(metadata["comparison"])
    return dg.AssetCheckResult(passed=report.passed, metadata=metadata,
                               description=report.message() if not report.passed else None)


def published_warehouse_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=WAREHOUSE_KEY,
        deps=list(upstream),
        group_name="publish",
        description="The published DuckDB warehouse: the run's build file, renamed over --warehouse only after "
        "every asset and blocking check of the run passed (the release guard among them) and the delivery is "
        "checked unchanged since the run started; the run's figures and staged site snapshot are moved into place "
        "right after it. Records the run in audit.runs.",
    )
    def warehouse(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        try:
            done = publish_run(study.build(context.run_id), study.cutoff_date, study.figures_path(),
                               study.site_path())
        except ReleaseRefused as e:
            context.log.error(str(e))
            raise dg.Failure(description=str(e)) from None
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
