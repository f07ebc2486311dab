"""Where a site build waits before it goes public, `<site>/.build-<run id>/`, and the move
that makes it public (`publish_staged`).

The site is built and scanned in its staging folder (the quarter's folder, and the root
pages under `root/`). When the move happens is the release's decision
(`ips_eval.release.site`): in a pipeline run, right after the warehouse swap.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

#: A published quarter's folder name, e.g. `2024Q4`.
QUARTER_DIR = re.compile(r"^\d{4}Q[1-4]$")
#: The prefix of a staged build's folder name.
BUILD_PREFIX = ".build-"
#: The prefix of a published snapshot set aside while its replacement is moved in.
OLD_PREFIX = ".old-"


def safe_run_id(run_id: str) -> str:
    """A run id as a file name part.

    Examples
    --------
    >>> safe_run_id("a1/b2")
    'a1_b2'
    """
    return re.sub(r"[^A-Za-z0-9_-]", "_", run_id) or "manual"


def staging_dir(site_dir: str | Path, run_id: str) -> Path:
    """Where the run's site is built and waits for the warehouse swap.

    Examples
    --------
    >>> staging_dir("/site", "r1").as_posix()
    '/site/.build-r1'
    """
    return Path(site_dir) / f"{BUILD_PREFIX}{safe_run_id(run_id)}"


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
        _swap_in(snap, site_dir / snap.name, site_dir / f"{OLD_PREFIX}{snap.name}-{build.name}")
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
