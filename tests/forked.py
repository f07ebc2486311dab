"""Run a function, or the command line, in a process of its own forked from the test's process.

A test that needs a second process (a run killed with SIGKILL, two runs racing for one
warehouse, a process with a file size limit or without the capability to ignore file modes)
would start `ips-eval` afresh, and a fresh interpreter imports the pipeline again (Dagster and
the project: several seconds of CPU each time). A fork has it imported already. The forked
process writes its standard output and error to files of its own, as a started command would
to its pipes, and what it does never returns into pytest: it ends with `os._exit`.

Only in the forked process: its own session (so it can be killed with everything it started),
its environment variables, its descriptors 1 and 2 and Python's `sys.stdout`/`sys.stderr`, the
log handlers that wrote to the test's streams, and pytest's log capture taken off.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence


@dataclass
class Forked:
    """A forked process: its pid and the folder holding its `stdout` and `stderr`."""

    pid: int
    folder: Path
    args: Sequence[str] = ()
    status: int | None = None  # its wait status, once it has ended and been reaped

    def _reap(self, block: bool) -> bool:
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                pid, status = self.pid, -1
            if pid:
                self.status = status
        return self.status is not None

    def running(self) -> bool:
        return not self._reap(block=False)

    def kill(self) -> None:
        """SIGKILL the process and everything it started (its session), and reap it."""
        if self.status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # not yet the leader of its own session
                os.kill(self.pid, signal.SIGKILL)
        self._reap(block=True)

    def wait(self, timeout: float = 300) -> subprocess.CompletedProcess:
        """Wait for the process to end (killed after `timeout` s, then TimeoutError): its exit
        code and what it wrote, as `subprocess.run(..., capture_output=True, text=True)` gives."""
        deadline = time.monotonic() + timeout
        while not self._reap(block=False):
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"the forked process {list(self.args) or self.pid} ran longer than {timeout} s")
            time.sleep(0.05)
        code = os.waitstatus_to_exitcode(self.status) if self.status >= 0 else -1
        read = lambda name: (self.folder / name).read_text(encoding="utf-8", errors="replace")  # noqa: E731
        return subprocess.CompletedProcess(list(self.args), code, read("stdout"), read("stderr"))


def start(fn: Callable[[], object], folder: Path, env: Mapping[str, str] | None = None,
          prepare: Callable[[], None] | None = None, args: Sequence[str] = ()) -> Forked:
    """Call `fn` in a forked process and return at once. Its exit code is 0 when `fn` returns,
    a `SystemExit`'s code, or 1 on any other exception (its traceback on its standard error).
    `prepare` runs in the process first (a resource limit, say)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("stdout", "stderr"):
        (folder / name).write_bytes(b"")  # there even if the process is killed before it writes
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered in this process is written twice
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setsid()
            os.environ.update(env or {})
            _own_output(folder)
            if prepare is not None:
                prepare()
            try:
                fn()
                code = 0
            except SystemExit as e:
                if e.code is None or isinstance(e.code, int):
                    code = e.code or 0
                else:
                    print(e.code, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    return Forked(pid, folder, args)


def cli(args: Sequence[str], folder: Path, env: Mapping[str, str] | None = None,
        prepare: Callable[[], None] | None = None) -> Forked:
    """Start `ips-eval ARGS` (the console script's `app`) in a forked process."""
    import pipelines.runner  # noqa: F401  (the commands import it when they run: here once, not in every fork)
    from pipelines.cli import app

    return start(lambda: app(list(args), prog_name="ips-eval"), folder, env, prepare, ["ips-eval", *args])


def run_cli(args: Sequence[str], folder: Path, env: Mapping[str, str] | None = None,
            prepare: Callable[[], None] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`ips-eval ARGS` in a forked process, waited for."""
    return cli(args, folder, env, prepare).wait(timeout)


def _own_output(folder: Path) -> None:
    streams = {id(s): name for name, pair in [("stdout", (sys.stdout, sys.__stdout__)),
                                              ("stderr", (sys.stderr, sys.__stderr__))]
               for s in pair if s is not None}
    for fd, name in ((1, "stdout"), (2, "stderr")):
        f = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    new = {"stdout": sys.stdout, "stderr": sys.stderr}
    loggers = [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values()
                                      if isinstance(v, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if type(handler).__module__.startswith("_pytest"):
                logger.removeHandler(handler)  # pytest's log capture: a started command has none
            elif isinstance(handler, logging.StreamHandler) and id(handler.stream) in streams:
                handler.stream = new[streams[id(handler.stream)]]
