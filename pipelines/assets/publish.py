"""The public website as a Dagster asset, with the disclosure scan as its blocking check.

`publish/site` runs after the marts (and the models, when `pipelines.assets.models` offers
`model_assets`) and calls `ips_eval.publish.site.build.stage_site`, which builds the
snapshot beside the site and refuses anything its own scan does not pass. The snapshot
waits there: the `warehouse` asset moves it into place right after the warehouse swap, so
the site and the warehouse always come from the same run. The check `disclosure_scan`
scans the site as it will be (the staged snapshot and everything already public), so the
run (and the swap that depends on everything) stops if those files hold a small count or
a pseudonym.

Wiring (pipelines/definitions.py): add `publish_assets` to the assets before the warehouse
asset is made (it depends on every asset's key) and `publish_checks` to `all_checks`.
"""

from pathlib import Path

import dagster as dg

from ips_eval.warehouse.provenance import code_version, input_fingerprint
from ips_eval.publish.disclosure import DisclosureError
from ips_eval.definitions import quarter_label
from ips_eval.publish.site.build import scan_published, stage_site
from ips_eval.publish.site.staging import staging_dir
from pipelines.assets.tables import TABLE_KEYS
from pipelines.resources import StudyRun

SITE_KEY = dg.AssetKey(["publish", "site"])

from pipelines.assets.models import model_assets as _model_assets

_UPSTREAM = [k for k in TABLE_KEYS if k.path[0] == "marts"] + [k for a in _model_assets for k in a.keys]


@dg.asset(
    key=SITE_KEY,
    deps=_UPSTREAM,
    group_name="publish",
    description=(
        "The public project website (fi/sv/en): headline figures, county table, quarterly trend with the IPS "
        "benchmarks, time to first job, fidelity, client-reported change, model results and provenance. Every "
        "count goes through disclosure control; the site is built beside --site and scanned; the warehouse swap "
        "then moves it into <site>/<quarter>/ (every quarter kept) with the root pages pointing at the newest "
        "snapshot. A quarter already published from another delivery or code is refused unless allow_republish "
        "(then the page says it was corrected and when). "
        "Skipped when no site folder is set."
    ),
    tags={"layer": "publish"},
)
def publish_site(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
    if not study.site_dir:
        context.log.info("no site folder set (--site / IPS_EVAL_SITE): the website is not built")
        return dg.MaterializeResult(metadata={"skipped": True, "reason": "no site folder set (study.site_dir)"})
    with study.build(context.run_id).connection() as con:
        provenance = {"run_id": context.run_id, "cutoff": study.cutoff, "code_version": code_version(),
                      "input_fingerprint": input_fingerprint(con)}
        result = stage_site(con, dg_path(study.site_dir), study.cutoff_date, provenance, study.figures_path(),
                            allow_republish=study.allow_republish)
    return dg.MaterializeResult(
        metadata={
            "skipped": False,
            "path": str(result.snapshot_dir),
            "quarter": result.quarter,
            "latest": result.latest,
            "snapshots": ", ".join(result.snapshots),
            "files_scanned": len(result.scan.scanned),
            "counts_checked": result.scan.counts_checked,
            "suppressed_cells": result.suppressed_cells,
            "models": ", ".join(f"{m}: {s}" for m, s in result.models.items()),
        }
    )


@dg.asset_check(
    asset=SITE_KEY,
    name="disclosure_scan",
    blocking=True,
    description="Scan the website as it will be published (the run's staged snapshot and every published "
    "snapshot and root page) for counts under the disclosure threshold, study pseudonyms and personal identity "
    "codes.",
)
def disclosure_scan(context: dg.AssetCheckExecutionContext, study: StudyRun) -> dg.AssetCheckResult:
    if not study.site_dir:
        return dg.AssetCheckResult(passed=True, metadata={"skipped": True, "problems": "none"})
    site = dg_path(study.site_dir)
    snapshot = staging_dir(site, context.run.run_id) / quarter_label(study.cutoff_date)
    if not snapshot.is_dir():
        return dg.AssetCheckResult(passed=False, metadata={"problems": f"no staged snapshot at {snapshot}"})
    with study.build(context.run.run_id).connection() as con:
        try:
            report = scan_published(con, site)
        except DisclosureError as e:  # SiteScanError lists files and places, never the values
            return dg.AssetCheckResult(passed=False, metadata={"problems": str(e)[:2000]})
    return dg.AssetCheckResult(
        passed=True,
        metadata={"problems": "none", "files_scanned": len(report.scanned), "counts_checked": report.counts_checked,
                  "not_readable": ", ".join(report.skipped) or "none"},
    )


def dg_path(value: str) -> Path:
    return Path(value).resolve()


publish_assets = [publish_site]
publish_checks = [disclosure_scan]
