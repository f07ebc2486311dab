"""The Examples in the library's docstrings run as written (numpy-style docstrings, doctest)."""

import doctest
import importlib
import pkgutil

import pytest

import ips_eval


def _modules_with_examples() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(ips_eval.__path__, prefix="ips_eval."):
        spec = importlib.util.find_spec(info.name)
        if spec and spec.origin and spec.origin.endswith(".py"):
            with open(spec.origin, encoding="utf-8") as f:
                if ">>> " in f.read():
                    found.append(info.name)
    return found


MODULES = _modules_with_examples()


def test_there_are_examples():
    assert {"ips_eval.definitions", "ips_eval.warehouse.tables", "ips_eval.warehouse.dialects"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{module}: {result.failed} of {result.attempted} examples failed"
