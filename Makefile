# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs the pinned dependencies first.
# `make check` is the fast loop (no whole pipeline run, no browser); `make chromium` is the
# one setup step that needs root (the browser tests' Chromium, and jemalloc for the test runs;
# `make test` runs it beside the venv's setup).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

# The test runs write bytecode (__pycache__, ignored by git) even where PYTHONDONTWRITEBYTECODE
# is set: without it each xdist worker, and each interpreter a test starts, compiles the
# project's modules and rewrites the tests' asserts again on every run.
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE=

# The test runs' C allocator is jemalloc where Debian's libjemalloc2 is installed (`make
# chromium` installs it beside the browser): the suite's processes allocate and free a great
# many mid-sized blocks (pandas frames, Dagster's events, parsed SQL), which glibc's allocator
# serves more slowly. No result depends on the allocator; without the library the tests run on
# glibc's. Looked up when the tests start, since `make test` may have just installed it.
JEMALLOC = $$(ls /usr/lib/*/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 2>/dev/null | head -n 1)
TEST_ENV = $(KEEP_BYTECODE) LD_PRELOAD="$(JEMALLOC)$${LD_PRELOAD:+ $$LD_PRELOAD}"

.PHONY: setup demo check test chromium bench dev clean

# The pinned dependencies go in with uv (itself pinned in requirements.lock), which installs the
# same versions as pip in a fraction of its time; pip does it where uv cannot be had.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	{ $(PY) -m pip install -q --disable-pip-version-check -c requirements.lock uv && \
	  $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -c requirements.lock -e '.[test]'; } || \
	  $(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/ips-eval demo

# The fast tier: unit tests, SQL rules on small frames, contracts, docs currency. The tiers are
# pytest markers (pyproject.toml), applied at collection by tests/tiers.py, which also orders the
# modules: `--dist loadfile` runs a module whole on one worker, so that its fixtures (a
# warehouse built from a small delivery, a model fitted once, a module's own run) are built
# once, and the workers take the modules in that order (--no-loadscope-reorder).
check: setup
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not pipeline and not browser and not slow" $(PYTEST_ARGS)

# Everything, the browser tests included. The two setup steps download from different places
# (PyPI, Debian) and run side by side.
test:
	@$(MAKE) --no-print-directory -j2 setup chromium
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Debian's chromium for the browser tests: nothing to do when it is on PATH; installed with
# apt-get when run as root (as CI is), without its recommended packages (a desktop's printing,
# network discovery and Perl helpers, which a headless browser does not use), together with
# libjemalloc2 (the test runs' allocator, above: optional, so never asked for on its own);
# otherwise it says what to run.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && apt-get install -y --no-install-recommends chromium libjemalloc2; \
	  else \
	    echo "chromium is not installed and installing it needs root: run 'sudo make chromium'" \
	         "(or 'sudo apt-get install -y --no-install-recommends chromium libjemalloc2'), then 'make test' again." >&2; \
	    exit 1; \
	  fi; }

# National-scale register benchmark (benchmarks/register.py, results in benchmarks/RESULTS.md):
# the targets' table (both formats, 20 000 / 200 000 / 1 000 000 people; BENCH_SCALES="20000 200000"
# make bench for fewer). Then the effectiveness
# model at 20 000 and 300 000 comparison persons and its coverage simulation
# (benchmarks/effectiveness.py). Both with one BLAS thread: the machine's two cores are shared,
# and the models' small matrix products only lose time to BLAS threads competing for them.
BENCH_SCALES ?= 20000 200000 1000000
BENCH_REPEAT ?= 1
BENCH_RUN_REPEAT ?= 1
# BENCH_TARGETS_ONLY=1: only the whole runs in both formats and the scans (the targets table)
BENCH_TARGETS_ONLY ?=
BENCH_EFFECTIVENESS_SCALES ?= 20000 300000
BENCH_COVERAGE_SEEDS ?= 200

bench: setup
	OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/register.py --scales $(BENCH_SCALES) --repeat $(BENCH_REPEAT) --run-repeat $(BENCH_RUN_REPEAT) $(if $(BENCH_TARGETS_ONLY),--targets-only)
	OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/effectiveness.py --scales $(BENCH_EFFECTIVENESS_SCALES) --seeds $(BENCH_COVERAGE_SEEDS)

# Dagster's UI on the same graph. Its instance folder is created here when missing (Dagster
# refuses a DAGSTER_HOME that is not a folder); DEV_ARGS passes options on (e.g. "-p 3001").
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
DEV_ARGS ?=

dev: setup
	mkdir -p "$(DAGSTER_HOME)"
	DAGSTER_HOME="$(DAGSTER_HOME)" $(VENV)/bin/dagster dev -m pipelines.definitions $(DEV_ARGS)

clean:
	rm -rf data/demo .pytest_cache
