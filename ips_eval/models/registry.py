"""All models by name, found from their declarations, and `fit_all` to run them in turn.

Each model module declares its model(s) as module-level `ModelSpec` values (`ips_eval.models.spec`):
name, description, input queries, fit, and what it writes. `find_models` collects them from the
modules of this package, so the registry lists nothing by hand: a new model is its module and
its input query in `sql/models/` (docs/how-to/add-a-model.md). `run_spec` is the one runner
(load -> fit -> complete -> plot); `fit_and_write` adds the write, which is what one Dagster
asset does.

Names are the analysis plan's model names (they are the `model` column of every `models.*`
table). `fit_all` is the door for the CLI, notebooks and tests; it runs a model after the models
whose tables it reads (trajectory types after effectiveness: they read `models.person_weights`).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
import pkgutil
import traceback
from pathlib import Path
from types import ModuleType
from typing import Mapping

import duckdb

from ips_eval.faults import failpoint
from ips_eval.models.data import query_tables
from ips_eval.models.result import ModelResult, write_result
from ips_eval.models.spec import ModelSpec, run_spec

log = logging.getLogger(__name__)

PACKAGE = __name__.rsplit(".", 1)[0]
PACKAGE_DIR = Path(__file__).resolve().parent

Models = Mapping[str, ModelSpec]


def _module(name: str, models_dir: Path) -> ModuleType:
    """The module `name` of `models_dir`: this package's own, or (a file only a copy has) loaded from its path."""
    qualified = f"{PACKAGE}.{name}"
    path = models_dir / f"{name}.py"
    if models_dir.resolve() == PACKAGE_DIR or not path.exists() or (PACKAGE_DIR / f"{name}.py").exists():
        return importlib.import_module(qualified)
    spec = importlib.util.spec_from_file_location(qualified, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_models(models_dir: Path = PACKAGE_DIR, queries_dir: Path | None = None) -> dict[str, ModelSpec]:
    """Every `ModelSpec` declared at module level (alone or in a tuple) in the modules of `models_dir`.

    `queries_dir` points every model at another copy of `sql/models/` (a test's temporary copy).
    Two declarations of one name are refused, naming both modules.

    Examples
    --------
    >>> models = find_models()
    >>> "job_tenure" in models and models["job_tenure"].queries
    ('job_tenure.sql',)
    """
    found: dict[str, tuple[ModelSpec, str]] = {}
    for info in sorted(pkgutil.iter_modules([str(models_dir)]), key=lambda i: i.name):
        if info.ispkg:
            continue
        module = _module(info.name, Path(models_dir))
        for value in list(vars(module).values()):
            for spec in value if isinstance(value, tuple) else (value,):
                if not isinstance(spec, ModelSpec):
                    continue
                if spec.name in found and found[spec.name][0] is not spec:
                    raise ValueError(f"model {spec.name} is declared twice: in {found[spec.name][1]} and {info.name}")
                found.setdefault(spec.name, (spec, info.name))
    specs = {name: spec for name, (spec, _) in found.items()}
    if queries_dir is not None:
        specs = {name: dataclasses.replace(s, queries_dir=Path(queries_dir)) for name, s in specs.items()}
    return specs


MODELS: dict[str, ModelSpec] = find_models()


def written_by(models: Models | None = None) -> dict[str, str]:
    """Tables a model writes that other steps or `sql/` tables read (`writes`, `marts`), by the model writing them.

    The asset graph turns a read of one into a dependency on that model.

    Examples
    --------
    >>> written_by()["marts.trajectory_types"]
    'trajectory_types'
    """
    models = MODELS if models is None else models
    return {
        **{f"models.{t}": m for m, s in models.items() for t in s.writes},
        **{f"marts.{t}": m for m, s in models.items() for t in s.marts},
    }


WRITTEN_BY: dict[str, str] = written_by()


def table_writer(table: str, models: Models | None = None) -> str:
    """The model that writes `models.<table>`: the upstream of a warehouse table reading it.

    Examples
    --------
    >>> table_writer("models.person_weights")
    'effectiveness'
    """
    writers = written_by(models)
    if table not in writers:
        raise KeyError(f"no model declares that it writes {table} (ModelSpec.writes or ModelSpec.marts)")
    return writers[table]


def model_inputs(name: str, models: Models | None = None) -> set[str]:
    """The warehouse tables model `name` reads, from its query files' SQL (`ref.*` definitions aside).

    Examples
    --------
    >>> sorted(model_inputs("job_tenure"))
    ['core.competitive_jobs']
    """
    spec = (MODELS if models is None else models)[name]
    read = set().union(*(query_tables(f) for f in spec.query_paths))
    return {t for t in read if not t.startswith("ref.")}  # ref.* is written with the build, not by an asset


def run_order(models: Models | None = None) -> list[str]:
    """The models' names, each after the models whose tables it reads; otherwise by name.

    Examples
    --------
    >>> order = run_order()
    >>> order.index("effectiveness") < order.index("trajectory_types")
    True
    """
    models = MODELS if models is None else models
    writers = written_by(models)
    needs = {m: {writers[t] for t in model_inputs(m, models) if t in writers} - {m} for m in models}
    order: list[str] = []
    while len(order) < len(models):
        ready = sorted(m for m in models if m not in order and needs[m] <= set(order))
        if not ready:
            raise ValueError(f"models read each other's tables in a cycle: {sorted(set(models) - set(order))}")
        order += ready
    return order


def ensure_model_tables(con: duckdb.DuckDBPyConnection, name: str, models: Models | None = None) -> None:
    """Create model `name`'s declared tables when missing, so their readers find them when it is not fitted.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> ensure_model_tables(con, "effectiveness")
    >>> con.execute("SELECT count(*) FROM models.person_weights").fetchone()
    (0,)
    """
    spec = (MODELS if models is None else models).get(name)
    con.execute("CREATE SCHEMA IF NOT EXISTS models")
    for table, columns in (spec.writes if spec else {}).items():
        con.execute(f"CREATE TABLE IF NOT EXISTS models.{table} ({columns})")


def write_model(con: duckdb.DuckDBPyConnection, result: ModelResult, models: Models | None = None) -> None:
    """`write_result`, after creating the model's declared tables (see `ensure_model_tables`).

    Examples
    --------
    >>> write_model(con, fit_model("effectiveness", con, "figures"))  # doctest: +SKIP
    """
    ensure_model_tables(con, result.model, models)
    write_result(con, result)


def fit_model(name: str, con: duckdb.DuckDBPyConnection, figures_dir: Path, seed: int | None = None,
              models: Models | None = None, **options) -> ModelResult:
    """Fit one model by name (`run_spec`); an unexpected error becomes a `not_fitted` result (logged).

    Examples
    --------
    >>> result = fit_model("job_tenure", con, Path("figures"))  # doctest: +SKIP
    """
    spec = (MODELS if models is None else models)[name]
    try:
        result = run_spec(spec, con, Path(figures_dir), seed, **options)
    except Exception as e:  # a bug in one model must not stop the others
        log.error("model %s failed:\n%s", name, traceback.format_exc())
        result = ModelResult.not_fitted(name, f"unexpected error ({type(e).__name__}: {e}); see the run log")
        for table, empty in spec.marts.items():
            result.marts.setdefault(table, empty())
    return result


def fit_and_write(name: str, con: duckdb.DuckDBPyConnection, figures_dir: Path,
                  models: Models | None = None) -> ModelResult:
    """Fit one model, write its tables and return the result: what one Dagster asset does."""
    Path(figures_dir).mkdir(parents=True, exist_ok=True)
    result = fit_model(name, con, figures_dir, models=models)
    write_model(con, result, models)
    failpoint(f"models/{name}")
    return result


def fit_all(con: duckdb.DuckDBPyConnection, figures_dir: Path, seed: int | None = None, write: bool = True,
            only: list[str] | None = None, options: dict[str, dict] | None = None) -> dict[str, ModelResult]:
    """Fit every model (or `only` these), write each result when `write`, return them by name.

    `options` passes extra keyword arguments per model, e.g. {"effectiveness": {"variance": "bootstrap", "n_boot": 1000}}.
    """
    unknown = sorted(set(only or ()) - set(MODELS))
    if unknown:
        raise KeyError(f"no model named {', '.join(unknown)}; known: {', '.join(sorted(MODELS))}")
    results: dict[str, ModelResult] = {}
    for name in [m for m in run_order() if only is None or m in only]:
        res = fit_model(name, con, figures_dir, seed, **(options or {}).get(name, {}))
        if write:
            write_model(con, res)
        results[name] = res
    return results
