"""How a staged site goes public: the snapshot is moved into place after the warehouse swap.

A run writes its snapshot to `<site>/.build-<run id>/` (the quarter's folder and the root
pages under `root/`; `ips_eval.publish.site.staging`) and scans it there. Nothing in it is
public until `publish_staged` moves it: the quarter's folder in one rename, then the root pages file by file (each
rename is atomic, so no reader sees half a page). The pipeline calls `publish_staged` only
after the warehouse swap, so the newest snapshot and the warehouse come from the same run.

A run killed between the warehouse swap and the end of the move leaves its staged build;
`settle` (at the start of the next run, under the warehouse lock) finishes the move when
that run's warehouse is the published one, and otherwise removes what dead runs left.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

import duckdb

from ips_eval.publish.site.build import SiteResult, snapshots, stage_site
from ips_eval.publish.site.staging import BUILD_PREFIX as _BUILD
from ips_eval.publish.site.staging import QUARTER_DIR, safe_run_id, staging_dir

_OLD = ".old-"

__all__ = ["build_site", "leftovers", "publish_staged", "settle", "staging_dir"]


def build_site(con: duckdb.DuckDBPyConnection, site_dir: Path, cutoff: dt.date, provenance: Mapping[str, Any],
               figures_dir: Path | None = None) -> SiteResult:
    """Build, scan and publish the quarter's snapshot at once (`stage_site`, then
    `publish_staged`), for a site built outside a pipeline run. Raises `DisclosureError`
    (the audit refused a table) or `SiteScanError` (the built files hold something they must
    not); either way nothing under `site_dir` has changed.

    The pipeline does not call this: it stages the site in its `publish/site` asset and
    moves it into place only with the warehouse swap (`ips_eval.release.publish`).

    Examples
    --------
    >>> import duckdb, tempfile
    >>> con = duckdb.connect()  # doctest: +SKIP
    >>> build_site(con, Path(tempfile.mkdtemp()), dt.date(2024, 12, 31), {"run_id": "r1"})  # doctest: +SKIP
    """
    staged = stage_site(con, site_dir, cutoff, provenance, figures_dir)
    publish_staged(site_dir, staged.provenance["run_id"] or "manual")
    final = Path(site_dir) / staged.quarter
    return SiteResult(
        site_dir=staged.site_dir, snapshot_dir=final, quarter=staged.quarter, provenance=staged.provenance,
        pages=[final / p.relative_to(staged.snapshot_dir) for p in staged.pages],
        csv_files=sorted((final / "data").glob("*.csv")), scan=staged.scan, latest=staged.latest,
        snapshots=snapshots(site_dir), models=staged.models, suppressed_cells=staged.suppressed_cells,
    )


def publish_staged(site_dir: str | Path, run_id: str) -> bool:
    """Move the run's staged snapshot and root pages into place; False when nothing was staged.

    The quarter's previous snapshot is renamed aside first and removed after; if the move
    fails it is put back.

    Examples
    --------
    >>> import tempfile
    >>> site = Path(tempfile.mkdtemp())
    >>> (staging_dir(site, "r1") / "2024Q4").mkdir(parents=True)
    >>> (staging_dir(site, "r1") / "root").mkdir()
    >>> _ = (staging_dir(site, "r1") / "root" / "index.html").write_text("x")
    >>> publish_staged(site, "r1"), sorted(p.name for p in site.iterdir())
    (True, ['2024Q4', 'index.html'])
    """
    site_dir = Path(site_dir)
    build = staging_dir(site_dir, run_id)
    if not build.is_dir():
        return False
    for snap in sorted(p for p in build.iterdir() if p.is_dir() and QUARTER_DIR.match(p.name)):
        _swap_in(snap, site_dir / snap.name, site_dir / f"{_OLD}{snap.name}-{build.name}")
    root = build / "root"
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            dest = site_dir / path.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
    shutil.rmtree(build, ignore_errors=True)
    return True


def _swap_in(new: Path, target: Path, aside: Path) -> None:
    shutil.rmtree(aside, ignore_errors=True)
    had_old = target.exists()
    if had_old:
        os.replace(target, aside)
    try:
        os.replace(new, target)
    except OSError:
        if had_old and not target.exists():
            os.replace(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def leftovers(site_dir: str | Path, keep_run_id: str | None = None) -> list[Path]:
    """Staged builds and set-aside snapshots under `site_dir`, except those of `keep_run_id`.

    Examples
    --------
    >>> leftovers("/nonexistent")
    []
    """
    site_dir = Path(site_dir)
    if not site_dir.is_dir():
        return []
    keep = f"{_BUILD}{safe_run_id(keep_run_id)}" if keep_run_id else None
    return sorted(p for p in site_dir.iterdir()
                  if p.name.startswith((_BUILD, _OLD)) and not (keep and p.name.endswith(keep)))


def settle(site_dir: str | Path, published_run_id: str | None, keep_run_id: str | None = None) -> list[Path]:
    """Finish the move of the published run's staged site, restore a snapshot left aside by a
    move that died, and remove every other leftover but `keep_run_id`'s; returns what was removed.

    Examples
    --------
    >>> settle("/nonexistent", None)
    []
    """
    site_dir = Path(site_dir)
    if not site_dir.is_dir():
        return []
    if published_run_id:
        publish_staged(site_dir, published_run_id)
    for aside in [p for p in leftovers(site_dir) if p.name.startswith(_OLD)]:
        quarter = aside.name[len(_OLD):].split("-", 1)[0]
        if QUARTER_DIR.match(quarter) and not (site_dir / quarter).exists():
            os.replace(aside, site_dir / quarter)
    removed = leftovers(site_dir, keep_run_id)
    for p in removed:
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    return removed
