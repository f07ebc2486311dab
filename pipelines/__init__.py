"""Dagster definitions of ips-eval: thin assets over `ips_eval` functions.

Every entry point of a run (`ips-eval`, Dagster's UI and command line on
`pipelines.definitions`) imports this package before numpy, so a run has one BLAS thread
unless the environment asks for more: the run does one step at a time, the models' matrix
products are small, and a second BLAS thread spins beside them on the machine's other core
(benchmarks/RESULTS.md). The tests and the benchmarks run the same way.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
