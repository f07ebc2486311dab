"""A first run that just works: on a fresh clone, README's commands as written and `make dev`.

The clone is the project's tracked files copied to a temporary folder (what `git clone` gives,
with this tree's edits), sharing this tree's `.venv` (installing it again would only time pip).
`make dev` is started there with no `.dagster_home/` and stopped once Dagster's web server
answers: it starts the UI, it runs nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: How long Dagster may take to load the definitions and answer on the shared machine.
START_TIMEOUT = 240


def fresh_clone(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_commands() -> list[str]:
    """The command lines of README.md's code blocks that start the command line tool."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    return [line.split("#")[0].strip() for b in blocks for line in b.splitlines() if "ips-eval " in line]


def test_readme_spells_out_where_the_command_is():
    commands = readme_commands()
    assert commands, "README.md shows no ips-eval command"
    assert all(c.startswith(".venv/bin/ips-eval ") for c in commands), commands
    assert "Python 3.11 or newer" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_make_dev_starts_on_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    # README's next command after `make demo`, as written, works in the clone (its help: no run)
    first = readme_commands()[0].split()
    done = subprocess.run([first[0], first[1], "--help"], cwd=clone, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (clone / ".dagster_home").exists()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    # -o: the shared .venv is installed; make must not reinstall it for the copied files' dates
    proc = subprocess.Popen(["make", "-o", ".venv/.installed-stamp", "dev", f"DEV_ARGS=-p {port} -h 127.0.0.1"],
                            cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        answered = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as r:
                    answered = r.status == 200
                    break
            except OSError:
                time.sleep(0.25)
        alive = proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a user stops it: Dagster stops its processes
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert alive and answered, out[-3000:]
    assert (clone / ".dagster_home").is_dir()
    assert "is not a directory" not in out
