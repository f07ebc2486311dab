"""The Dagster asset `publish/site` and its blocking check `disclosure_scan`."""

from __future__ import annotations

import shutil

import dagster as dg

from ips_eval.publish.site.staging import staging_dir
from ips_eval.release.site import publish_staged
from pipelines.assets.publish import SITE_KEY, disclosure_scan, publish_assets, publish_checks, publish_site
from pipelines.resources import StudyRun


def _study(minimal_run, tmp_path, site_dir: str) -> StudyRun:
    """The two steps on a copy of the session's minimal warehouse: what the site holds does not
    matter here, only where it is staged and what the check scans."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(minimal_run["warehouse"], warehouse)
    return StudyRun(input_dir=str(minimal_run["delivery"]), cutoff=minimal_run["cutoff"].isoformat(),
                    warehouse=str(warehouse), start_from="current", site_dir=site_dir,
                    figures_dir=str(tmp_path / "figures"))


def _run(study: StudyRun) -> dg.ExecuteInProcessResult:
    result = dg.materialize([publish_site, disclosure_scan], resources={"study": study}, raise_on_error=False)
    study.build(result.run_id).discard()  # the run's warehouse build file (nothing swaps it in here)
    return result


def test_exports():
    assert publish_assets == [publish_site] and publish_checks == [disclosure_scan]
    assert publish_site.group_names_by_key[SITE_KEY] == "publish"
    assert publish_site.descriptions_by_key[SITE_KEY]
    deps = {k.to_user_string() for k in publish_site.asset_deps[SITE_KEY]}
    assert "marts/employment_outcomes" in deps and "marts/employment_rate_by_quarter" in deps
    [spec] = list(disclosure_scan.check_specs)
    assert spec.name == "disclosure_scan" and spec.blocking


def test_asset_builds_and_scans_the_site_beside_the_published_one(minimal_run, tmp_path):
    """The asset stages the snapshot; only the warehouse swap moves it into place."""
    site = tmp_path / "site"
    result = _run(_study(minimal_run, tmp_path, str(site)))
    assert result.success
    [mat] = result.asset_materializations_for_node(publish_site.op.name)
    assert mat.metadata["quarter"].value == "2024Q4" and mat.metadata["skipped"].value is False
    [check] = result.get_asset_check_evaluations()
    assert check.passed and check.check_name == "disclosure_scan"
    staged = staging_dir(site, result.run_id)
    assert (staged / "root" / "index.html").is_file() and (staged / "2024Q4" / "en" / "index.html").is_file()
    assert result.run_id in (staged / "2024Q4" / "snapshot.json").read_text()
    assert sorted(p.name for p in site.iterdir()) == [staged.name], "nothing is public before the swap"


def test_asset_skips_without_a_site_folder(minimal_run, tmp_path):
    result = _run(_study(minimal_run, tmp_path, ""))
    assert result.success
    [mat] = result.asset_materializations_for_node(publish_site.op.name)
    assert mat.metadata["skipped"].value is True
    assert not (tmp_path / "site").exists()


def test_check_fails_when_the_site_to_be_published_leaks(minimal_run, tmp_path):
    """The check scans the site as it will be after the swap: the run's staged snapshot and
    everything already public. A file slipped into the published site is caught."""
    site = tmp_path / "site"
    study = _study(minimal_run, tmp_path, str(site))
    first = _run(study)
    assert first.success
    assert publish_staged(site, first.run_id)  # what the warehouse swap does
    (site / "2024Q4" / "data" / "extra.csv").write_text("alue,n_clients\nKainuu,2\n", encoding="utf-8")
    result = _run(study)
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert "extra.csv" in check.metadata["problems"].value
