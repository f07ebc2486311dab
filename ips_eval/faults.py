"""Fail points: named places where a test can stop a real run mid-stage.

Off unless IPS_EVAL_FAILPOINT names the point. Then, by IPS_EVAL_FAILPOINT_ACTION:

- `sleep` (the default): the process writes the point's name to IPS_EVAL_FAILPOINT_MARKER
  and sleeps, waiting to be killed (a run killed with SIGKILL mid-stage);
- `disk-full` or `io-error`: the point raises the OSError a full disk or a failing device
  gives (ENOSPC, EIO), as a write of the run's build would.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

_ERRORS = {"disk-full": errno.ENOSPC, "io-error": errno.EIO}


def failpoint(name: str) -> None:
    if os.environ.get("IPS_EVAL_FAILPOINT") != name:
        return
    action = os.environ.get("IPS_EVAL_FAILPOINT_ACTION", "sleep")
    marker = os.environ.get("IPS_EVAL_FAILPOINT_MARKER")
    if marker:
        Path(marker).write_text(name)
    if action in _ERRORS:
        code = _ERRORS[action]
        raise OSError(code, os.strerror(code))
    time.sleep(float(os.environ.get("IPS_EVAL_FAILPOINT_SECONDS", "300")))
