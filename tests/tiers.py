"""The suite's tiers: which tests `make check` leaves out, found at collection.

- `pipeline`: the test runs the whole pipeline (Dagster's ~100 steps), or needs a fixture
  that does (`synthetic_study`, `minimal_run`, ...), or starts the command line's `run` or
  `demo`;
- `browser`: the test drives headless Chromium;
- `slow`: marked by hand on a test that takes long without either, and found at collection on
  a test that builds in a copy of the project (`project_copy.run_in`: a fresh interpreter that
  loads a delivery and builds, audits and writes a site).

A test is marked `pipeline` when its own code, a fixture it uses or a function of its module it
calls (followed through further calls of its module) calls `run_pipeline(`, starts
`ips-eval run`/`demo` or `dagster asset materialize`: a new test that runs the pipeline falls
into the tier without anyone marking it. Marking it by hand works too.

The run log that `pipelines.runner` writes beside every warehouse (`*.runs.jsonl`, one line per
finished run) tells how many whole runs a session made, and how many refits (a run of one
model, the site and the swap: logged with no delivery): `report` prints both, and in a session
that leaves out the `pipeline` tier, `refuse_untiered_runs` fails the session naming the
folders of the runs no marker caught (a run that the detection above missed). Runs that
Dagster's own command line makes (`dagster asset materialize`) write no such log.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
import textwrap
from pathlib import Path

import pytest

#: Calls that run the whole graph: the runner, the command line's `run`/`demo` (in a subprocess
#: or typer's runner), Dagster's own command line.
WHOLE_RUN = re.compile(r"""\brun_pipeline\(|["'](?:run|demo)["']\s*,\s*["']--|["']materialize["']""")
BROWSER = re.compile(r"\bChromium\(|\bCHROMIUM\b")
#: A build in a copy of the project (tests/project_copy.py).
IN_A_COPY = re.compile(r"\brun_in\(")

_seen: dict[object, tuple[bool, bool, bool]] = {}


def _source(obj) -> str:
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        return ""


def _called_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return _calls(tree)


def _calls(tree: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


@functools.lru_cache(maxsize=None)
def _functions_of(filename: str) -> dict[int, tuple[str, set[str]]]:
    """Each function of a file, by the line its code starts on (its first decorator's, or its
    `def`): its source with the decorators, and the names it calls. A file is parsed once, where
    `inspect.getsource` tokenizes it again for every function."""
    try:
        text = Path(filename).read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    lines = text.splitlines(keepends=True)
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            entry = ("".join(lines[start - 1:node.end_lineno]), _calls(node))
            found.setdefault(start, entry)
            found.setdefault(node.lineno, entry)
    return found


def _source_and_calls(func) -> tuple[str, set[str]]:
    code = getattr(func, "__code__", None)
    if code is not None and code.co_name != "<lambda>":
        entry = _functions_of(code.co_filename).get(code.co_firstlineno)
        if entry is not None:
            return entry
    source = _source(func)
    return source, _called_names(source)


def _scan(func) -> tuple[bool, bool, bool]:
    """(runs the whole pipeline, drives Chromium, builds in a copy of the project): from the
    function's source and the sources of the functions of its own module that it calls,
    recursively."""
    func = inspect.unwrap(func)
    if func in _seen:
        return _seen[func]
    _seen[func] = (False, False, False)  # a recursion through the module's functions ends here
    source, calls = _source_and_calls(func)
    found = (bool(WHOLE_RUN.search(source)), bool(BROWSER.search(source)), bool(IN_A_COPY.search(source)))
    module = inspect.getmodule(func)
    for name in calls:
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and inspect.getmodule(helper) is module:
            found = tuple(a or b for a, b in zip(found, _scan(helper)))
    _seen[func] = found
    return found


def mark(items) -> None:
    """Mark each item with the tiers it belongs to, then order the modules (see `order`)."""
    for item in items:
        funcs = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        for name in item.fixturenames:
            defs = info.name2fixturedefs.get(name) if info else None
            funcs += [d.func for d in defs or ()]
        found = (False, False, False)
        for func in filter(None, funcs):
            found = tuple(a or b for a, b in zip(found, _scan(func)))
        for tier, hit in zip(("pipeline", "browser", "slow"), found):
            if hit and not item.get_closest_marker(tier):
                item.add_marker(getattr(pytest.mark, tier))
    order(items)


#: Fixtures that build a whole warehouse once per session, slowest first.
SHARED_BUILDS = ("synthetic_study", "minimal_run")


def order(items) -> None:
    """Put the modules in the order the workers take them: `make check`/`make test` run
    `--dist loadfile --no-loadscope-reorder`, so a module runs whole on one worker (its module
    fixtures are built once) and the workers take the modules in collection order, two each at
    first, then one as they finish.

    The order: one module that reads the synthetic study first, a slow one (its first test
    builds the study, and the worker goes on with it), then the modules with pipeline and slow
    tests, the long before the short, which evens out the workers' ends, the other modules
    reading the study after the first few of those (so that the worker not building the study starts on modules that do not need it,
    and finds it built), then the rest. Within a module, pytest's own order."""
    def rank(item) -> int:
        if SHARED_BUILDS[0] in item.fixturenames:
            return 0
        if item.get_closest_marker("pipeline") or item.get_closest_marker("slow"):
            return 1
        return 2

    modules: dict[str, int] = {}
    slow: set[str] = set()
    for item in items:
        module = item.nodeid.split("::")[0]
        modules[module] = min(modules.get(module, 2), rank(item))
        if item.get_closest_marker("slow"):
            slow.add(module)
    study = sorted((m for m, r in modules.items() if r == 0), key=lambda m: m not in slow)
    long = [m for m, r in modules.items() if r == 1]
    rest = [m for m, r in modules.items() if r == 2]
    sequence = study[:1] + long[:3] + study[1:] + long[3:] + rest
    position = {m: i for i, m in enumerate(sequence)}
    items.sort(key=lambda item: position[item.nodeid.split("::")[0]])


# ----------------------------------------------------------------------------------------------
# Counting the whole runs of a session
# ----------------------------------------------------------------------------------------------
def _session_root(config) -> Path | None:
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or hasattr(config, "workerinput"):
        return None  # an xdist worker: the controller counts for every worker
    return factory.getbasetemp()


def whole_runs(root: Path) -> dict[str, dict]:
    """Every run logged under `root` by run_id (a copied folder carries its log along), refits
    included (`is_refit`)."""
    runs: dict[str, dict] = {}
    for log in root.rglob("*.runs.jsonl"):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            runs.setdefault(record.get("run_id"), {**record, "folder": log.parent})
    return runs


def is_refit(record: dict) -> bool:
    """A refit (`pipelines.runner.refit_model`) logs its run with no delivery."""
    return record.get("input") == ""


def _counted(runs) -> str:
    by_status: dict[str, int] = {}
    for r in runs:
        by_status[r.get("status", "?")] = by_status.get(r.get("status", "?"), 0) + 1
    detail = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
    return f"{len(runs)}" + (f" ({detail})" if detail else "")


def report(terminalreporter, config) -> None:
    root = _session_root(config)
    if root is None or not root.exists():
        return
    runs = list(whole_runs(root).values())
    whole = [r for r in runs if not is_refit(r)]
    refits = [r for r in runs if is_refit(r)]
    terminalreporter.write_line(f"whole pipeline runs: {_counted(whole)}; refits of one model: {_counted(refits)}")


def _leaves_out_pipeline(config) -> bool:
    return "not pipeline" in (config.getoption("markexpr", "") or "")


def refuse_untiered_runs(session) -> None:
    config = session.config
    root = _session_root(config)
    if root is None or not root.exists() or not _leaves_out_pipeline(config):
        return
    runs = whole_runs(root)
    if runs:
        folders = sorted({str(r["folder"].relative_to(root)) for r in runs.values()})
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(
                f"{len(runs)} pipeline run(s) (whole runs or refits) in a session that leaves out the pipeline "
                f"tier, in "
                f"{', '.join(folders)}: mark the test that made them @pytest.mark.pipeline", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
