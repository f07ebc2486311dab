"""A workaround the benchmark applies only when it is needed (and says so).

DuckDB 2.0 refuses `enable_progress_bar` in `duckdb.connect(config=...)` ("Could not set
option "enable_progress_bar" as a global option"), which `ips_eval.warehouse.connect` passes,
so every `ips-eval run` fails at its first asset. Until warehouse.py is fixed (the proposed
diff is in benchmarks/RESULTS.md), the benchmark wraps `duckdb.connect` in its own
subprocesses: the option is taken out of the config and set on the connection instead,
which is exactly what the proposed fix does. Nothing else changes.
"""

from __future__ import annotations

import duckdb

_LOCAL_ONLY = ("enable_progress_bar",)


def connect_config_broken() -> bool:
    """True when this DuckDB rejects the connection options ips_eval.warehouse.connect passes."""
    try:
        duckdb.connect(":memory:", config={"enable_progress_bar": False}).close()
        return False
    except duckdb.Error:
        return True


def apply() -> bool:
    """Patch duckdb.connect when needed; True when the patch was applied."""
    if not connect_config_broken() or getattr(duckdb.connect, "_ips_bench_patched", False):
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
