"""A workaround the benchmark applies only when it is needed (and records that it did).

With DuckDB 2.0, passing `enable_progress_bar` in `duckdb.connect(config=...)` fails ("Could
not set option "enable_progress_bar" as a global option"); an earlier `ips_eval.warehouse.connect`
did that, so every `ips-eval run` failed at its first asset. When the project's `connect`
still fails that way, the benchmark's subprocesses wrap `duckdb.connect`: the option is taken
out of the config and set on the connection instead (what the current warehouse.py does).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

_LOCAL_ONLY = ("enable_progress_bar",)


def connect_broken() -> bool:
    """True when ips_eval.warehouse.connect fails on this DuckDB because of a connection-local option."""
    from ips_eval.warehouse.database import connect

    with tempfile.TemporaryDirectory() as tmp:
        try:
            connect(Path(tmp) / "probe.duckdb").close()
            return False
        except duckdb.Error as e:
            return any(option in str(e) for option in _LOCAL_ONLY)


def apply() -> bool:
    """Patch duckdb.connect when needed; True when the patch was applied."""
    if getattr(duckdb.connect, "_ips_bench_patched", False) or not connect_broken():
        return False
    original = duckdb.connect

    def connect(database=":memory:", read_only=False, config=None, **kwargs):
        config = dict(config or {})
        local = {k: config.pop(k) for k in _LOCAL_ONLY if k in config}
        con = original(database, read_only=read_only, config=config, **kwargs)
        for key, value in local.items():
            con.execute(f"SET {key} = {'true' if value else 'false'}")
        return con

    connect._ips_bench_patched = True  # type: ignore[attr-defined]
    duckdb.connect = connect
    return True
