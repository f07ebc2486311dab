"""Layers point one way: the library never imports the Dagster layer (nor Dagster itself)."""

import pkgutil
import subprocess
import sys

import pytest

import ips_eval


def _library_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(ips_eval.__path__, prefix="ips_eval."))


@pytest.mark.slow  # a fresh interpreter imports the whole library (statsmodels, scipy, matplotlib ...)
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


def _imports(module: str) -> set[str]:
    """The `ips_eval` modules a library module imports, read from its source (any depth of the tree)."""
    import ast
    import importlib.util

    tree = ast.parse(open(importlib.util.find_spec(module).origin, encoding="utf-8").read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("ips_eval.")}


def test_the_release_sits_above_the_warehouse_and_the_site():
    """The warehouse build never reaches up into the site or the release, nor the site into the
    release: the release (lock, guard, swap, site move) reads both, neither reads it."""
    modules = _library_modules()
    assert "ips_eval.release.publish" in modules and "ips_eval.release.lock" in modules
    upward = {
        m: sorted(i for i in _imports(m) if i.startswith(forbidden))
        for m in modules
        for prefix, forbidden in (("ips_eval.warehouse", ("ips_eval.publish", "ips_eval.release")),
                                  ("ips_eval.publish", ("ips_eval.release",)))
        if m.startswith(prefix)
    }
    assert {m: i for m, i in upward.items() if i} == {}
