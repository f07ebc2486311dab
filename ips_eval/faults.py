"""Fail points: named places where a test can stop a real run mid-stage.

A run is killed with SIGKILL at a fail point to show that the published warehouse survives
any interruption. Off unless IPS_EVAL_FAILPOINT names the point; then the process writes the
point's name to IPS_EVAL_FAILPOINT_MARKER and sleeps, waiting to be killed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def failpoint(name: str) -> None:
    if os.environ.get("IPS_EVAL_FAILPOINT") != name:
        return
    marker = os.environ.get("IPS_EVAL_FAILPOINT_MARKER")
    if marker:
        Path(marker).write_text(name)
    time.sleep(float(os.environ.get("IPS_EVAL_FAILPOINT_SECONDS", "300")))
