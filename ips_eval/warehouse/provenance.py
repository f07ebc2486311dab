"""Provenance of a run: which code, which cut-off, which input. Stamped on everything published."""

from __future__ import annotations

import hashlib
import subprocess

import duckdb

from ips_eval import PROJECT_ROOT, __version__


def code_version() -> str:
    """The package version and, in a git checkout, the commit (with '+dirty' for local edits)."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    if not sha:
        return __version__
    return f"{__version__}+{sha}{'.dirty' if dirty else ''}"


def input_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """One hash of the loaded delivery: sorted (file, sha256) pairs of audit.loads."""
    digest = hashlib.sha256()
    for file, sha in con.execute("SELECT file, sha256 FROM audit.loads ORDER BY file").fetchall():
        digest.update(f"{file}\t{sha}\n".encode())
    return digest.hexdigest()
