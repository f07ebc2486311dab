"""One run at a time per warehouse: a lock file beside it, held for the whole run.

Two runs on one warehouse (the quarterly schedule and a researcher in the UI, say) would
each build, swap and publish, and the site could end up from one run and the warehouse
from the other. So a run takes the lock `<warehouse>.lock` before it writes anything and
keeps it until its swap (or its clean-up after a failure) is done.

The choice: a second run **waits**, for at most `wait_seconds` (default
`IPS_EVAL_LOCK_WAIT`, one hour), telling its caller once which run it waits for; when the
wait runs out it refuses with `WarehouseBusy`, having changed nothing. Waiting suits the
usual case (a scheduled refresh that starts while a researcher's run finishes); the bound
keeps a stuck run from holding every later run forever.

The lock is filelock's OS lock (`flock`): the operating system drops it when the holding
process ends, however it ends, so a run killed with SIGKILL never blocks the next one. The
lock file stays on disk (removing it would let two runs lock two different files); while a
run holds it, it names that run (run id, process, start), which is what a waiting run reports.

Taking the lock and naming the holder are one step for every other run: both happen under a
short second lock, an `flock` on the warehouse's folder (the gate), and a run that finds the
warehouse busy reads the holder's name under the same gate. So a waiting run never reads the
lock file in the instant between another run taking the lock and writing its name; it always
names the run it waits for. The gate is held only for those few file operations, never
while a run waits or works.

The lock is re-entrant within a process, so the CLI runner and the Dagster resource it
starts can both take it for the same run.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

#: How long a second run waits for the first, in seconds, before it refuses.
DEFAULT_WAIT_SECONDS = float(os.environ.get("IPS_EVAL_LOCK_WAIT", "3600"))


class WarehouseBusy(Exception):
    """Another run held the warehouse for longer than this run would wait; nothing was changed."""


def lock_path(warehouse: str | Path) -> Path:
    """The lock file of a warehouse: `<warehouse>.lock` beside it.

    Examples
    --------
    >>> lock_path("/data/w.duckdb").name
    'w.duckdb.lock'
    """
    warehouse = Path(warehouse)
    return warehouse.parent / f"{warehouse.name}.lock"


def _lock(warehouse: Path) -> FileLock:
    # One instance per file and process (re-entrant across the runner and the resource), not per thread.
    return FileLock(str(lock_path(warehouse)), is_singleton=True, thread_local=False)


def holder(warehouse: str | Path) -> dict:
    """Who holds (or last held, if it died) the lock: run_id, pid, started_at; {} when unknown.

    Examples
    --------
    >>> holder("/nonexistent/w.duckdb")
    {}
    """
    try:
        return json.loads(lock_path(warehouse).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def describe_holder(info: dict) -> str:
    """'run <id> (process <pid>, started <time>)', or 'another run' when the lock names no one.

    Examples
    --------
    >>> describe_holder({"run_id": "abc", "pid": 12, "started_at": "2025-01-02T03:04:05"})
    'run abc (process 12, started 2025-01-02T03:04:05 UTC)'
    >>> describe_holder({})
    'another run'
    """
    if not info.get("run_id"):
        return "another run"
    return f"run {info['run_id']} (process {info.get('pid', '?')}, started {info.get('started_at', '?')} UTC)"


#: How often a waiting run tries the lock again, in seconds.
POLL_SECONDS = 0.1


@contextmanager
def _gate(warehouse: Path) -> Iterator[None]:
    """The short lock under which the warehouse lock is taken, released and its holder read."""
    fd = os.open(warehouse.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor drops its flock


def _try_take(lock: FileLock, warehouse: Path, run_id: str) -> dict | None:
    """Take the lock and name `run_id` in it at once (None), or say who holds it (their record)."""
    with _gate(warehouse):
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return holder(warehouse)
        _write_holder(warehouse, run_id)
        return None


@contextmanager
def warehouse_lock(
    warehouse: str | Path,
    run_id: str,
    wait_seconds: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's lock for `run_id` while the block runs.

    When another process holds it, `on_wait` is called once with a sentence naming the run
    waited for, and the lock is waited for up to `wait_seconds`; after that `WarehouseBusy`.

    Examples
    --------
    >>> import tempfile
    >>> w = Path(tempfile.mkdtemp()) / "w.duckdb"
    >>> with warehouse_lock(w, "run-1"):
    ...     holder(w)["run_id"]
    'run-1'
    >>> holder(w)
    {}
    """
    warehouse = Path(warehouse).resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    wait = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    lock = _lock(warehouse)
    first = not lock.is_locked
    if first:
        held_by = _try_take(lock, warehouse, run_id)
        if held_by is not None:
            waited_for = describe_holder(held_by)
            if on_wait is not None:
                on_wait(f"the warehouse {warehouse} is in use by {waited_for}; waiting up to {wait:.0f} s for it "
                        "to finish")
            deadline = time.monotonic() + wait
            while held_by is not None:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"the warehouse {warehouse} is still in use by {describe_holder(held_by)} after waiting "
                        f"{wait:.0f} s; nothing was changed. Run again when that run has finished (or set "
                        "IPS_EVAL_LOCK_WAIT to wait longer)."
                    )
                time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
                held_by = _try_take(lock, warehouse, run_id)
    else:
        lock.acquire(timeout=0)  # re-entrant: this process already holds it
    try:
        yield
    finally:
        if first:
            with _gate(warehouse):
                _write_holder(warehouse, None)
                lock.release()
        else:
            lock.release()


def _write_holder(warehouse: Path, run_id: str | None) -> None:
    """Name the holding run in the lock file (emptied on release; a killed holder's name is
    overwritten by the next run). Called under the gate."""
    text = "" if run_id is None else json.dumps({
        "run_id": run_id, "pid": os.getpid(),
        "started_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds"),
    })
    with open(lock_path(warehouse), "r+", encoding="utf-8") as fh:
        fh.truncate(0)
        fh.write(text)
