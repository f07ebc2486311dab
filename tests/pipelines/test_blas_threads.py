"""A run has one BLAS thread unless the environment asks for more (pipelines/__init__.py)."""

import os
import subprocess
import sys

import pytest

#: Imports an entry point, then numpy, and prints the threads numpy's OpenBLAS (the wheel's
#: scipy-openblas, pinned in requirements.lock) runs with, and whether the entry point alone
#: had loaded numpy.
PROBE = """
import ctypes, sys
import {module}
before = 'numpy' in sys.modules
import numpy
lib = sorted({{line.split()[-1] for line in open('/proc/self/maps') if 'openblas' in line.lower()}})[0]
print(ctypes.CDLL(lib).scipy_openblas_get_num_threads64_(), before)
"""


# Dagster's definitions take seconds to load in a fresh interpreter: that case is in the slow tier
@pytest.mark.parametrize("module, given, expected", [("pipelines.cli", None, "1"),
                                                     pytest.param("pipelines.definitions", None, "1",
                                                                  marks=pytest.mark.slow),
                                                     ("pipelines.cli", "2", "2")],
                         ids=["command line", "Dagster's definitions", "set by the user"])
def test_an_entry_point_runs_with_one_blas_thread_unless_told_otherwise(module, given, expected):
    # OpenBLAS also takes its threads from these (tests/conftest.py sets OMP_NUM_THREADS)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                            "GOTO_NUM_THREADS")}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    threads, numpy_before = done.stdout.split()
    assert threads == expected
    if module == "pipelines.cli":  # a command's numpy comes later, with the setting
        assert numpy_before == "False"
