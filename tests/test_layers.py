"""Layers point one way: the library never imports the Dagster layer (nor Dagster itself)."""

import pkgutil
import subprocess
import sys

import ips_eval


def _library_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(ips_eval.__path__, prefix="ips_eval."))


def test_every_library_module_imports_without_the_dagster_layer():
    modules = _library_modules()
    assert len(modules) > 30 and "ips_eval.warehouse.tables" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "    bad = sorted(k for k in sys.modules if k.split('.')[0] in ('pipelines', 'dagster'))\n"
        "    assert not bad, (m, bad[:3])\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
