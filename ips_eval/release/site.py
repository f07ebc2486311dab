"""When a staged site goes public: right after the warehouse swap, or when the next run settles.

A run writes its snapshot to `<site>/.build-<run id>/` (the quarter's folder and the root
pages under `root/`; `ips_eval.publish.site.staging`) and scans it there. Nothing in it is
public until `publish_staged` moves it: the quarter's folder in one rename, then the root
pages file by file (each rename is atomic, so no reader sees half a page). The release calls
it only after the warehouse swap (`ips_eval.release.publish`), so the newest snapshot and the
warehouse come from the same run.

A run killed between the warehouse swap and the end of the move leaves its staged build;
`settle` (at the start of the next run, under the warehouse lock) finishes the move when
that run's warehouse is the published one, and otherwise removes what dead runs left.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ips_eval.publish.site.staging import BUILD_PREFIX as _BUILD
from ips_eval.publish.site.staging import OLD_PREFIX as _OLD
from ips_eval.publish.site.staging import QUARTER_DIR, publish_staged, safe_run_id, staging_dir

__all__ = ["leftovers", "publish_staged", "settle", "staging_dir"]


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
