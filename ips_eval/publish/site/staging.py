"""Where a site build waits before it goes public: `<site>/.build-<run id>/`.

The site is built and scanned in its staging folder (the quarter's folder, and the root
pages under `root/`); moving it into place is the release's work
(`ips_eval.release.site.publish_staged`), done right after the warehouse swap.
"""

from __future__ import annotations

import re
from pathlib import Path

#: A published quarter's folder name, e.g. `2024Q4`.
QUARTER_DIR = re.compile(r"^\d{4}Q[1-4]$")
#: The prefix of a staged build's folder name.
BUILD_PREFIX = ".build-"


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
