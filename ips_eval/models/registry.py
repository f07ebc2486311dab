"""All models by name, and `fit_all` to run them in turn, each isolated from the others.

Each model is `load_<model>(con) -> DataFrame`, `fit_<model>(frame) -> ModelResult` and
`plot_<model>(result, figures_dir)`; `MODELS` holds the `run_<model>(con, figures_dir)` that
chains the three, which is what the pipeline and `fit_all` call.

Names are the analysis plan's model names (they are the `model` column of every
`models.*` table). Dagster assets may call each function directly; `fit_all` is the
door for the CLI, notebooks and tests.
"""

from __future__ import annotations

import functools
import logging
import traceback
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from ips_eval.faults import failpoint
from ips_eval.models import (cost_effectiveness, effectiveness, fidelity_outcome, job_tenure, predictors, scores,
                             time_to_first_job, trajectories, transition_to_work)
from ips_eval.models.cost_effectiveness import run_cost_effectiveness
from ips_eval.models.data import query_tables
from ips_eval.models.effectiveness import run_effectiveness
from ips_eval.models.fidelity_outcome import run_fidelity_outcome
from ips_eval.models.job_tenure import run_job_tenure
from ips_eval.models.predictors import run_employment_predictors, run_unsubsidised_predictors
from ips_eval.models.result import ModelResult, write_result
from ips_eval.models.scores import SCORE_NAMES, run_scores
from ips_eval.models.time_to_first_job import run_time_to_first_job
from ips_eval.models.trajectories import run_trajectory_types
from ips_eval.models.transition_to_work import run_transition_to_work

log = logging.getLogger(__name__)

FitFunction = Callable[..., ModelResult]

MODELS: dict[str, FitFunction] = {
    "employment_predictors": run_employment_predictors,
    "unsubsidised_predictors": run_unsubsidised_predictors,
    "time_to_first_job": run_time_to_first_job,
    "job_tenure": run_job_tenure,
    **{f"scores_{s}": functools.partial(run_scores, score=s) for s in SCORE_NAMES},
    "fidelity_outcome": run_fidelity_outcome,
    "effectiveness": run_effectiveness,
    "trajectory_types": run_trajectory_types,  # after effectiveness: it reads models.person_weights
    "cost_effectiveness": run_cost_effectiveness,
    "transition_to_work": run_transition_to_work,
}


#: The input query files each model runs (kept beside each model's code).
QUERY_FILES: dict[str, tuple[Path, ...]] = {
    "employment_predictors": predictors.QUERY_FILES,
    "unsubsidised_predictors": predictors.QUERY_FILES,
    "time_to_first_job": time_to_first_job.QUERY_FILES,
    "job_tenure": job_tenure.QUERY_FILES,
    **{f"scores_{s}": scores.QUERY_FILES for s in SCORE_NAMES},
    "fidelity_outcome": fidelity_outcome.QUERY_FILES,
    "effectiveness": effectiveness.QUERY_FILES,
    "trajectory_types": trajectories.QUERY_FILES,
    "cost_effectiveness": cost_effectiveness.QUERY_FILES,
    "transition_to_work": transition_to_work.QUERY_FILES,
}

#: Whole marts tables a step owns (ModelResult.marts), each with the empty table written when
#: the step yields none (it failed), so that no earlier run's rows survive in a copied warehouse.
MARTS_TABLES: dict[str, dict[str, Callable[[], pd.DataFrame]]] = {
    "trajectory_types": {trajectories.MARTS_TABLE: trajectories.empty_types},
}


#: The model-specific tables (`models.<table>`: columns) a model writes for other parts of the
#: warehouse to read, from the model modules' `WRITES`.
WRITES: dict[str, dict[str, str]] = {
    "effectiveness": effectiveness.WRITES,
}

#: Tables a step writes that other steps or `sql/` tables read, by the step that writes them
#: (from WRITES and MARTS_TABLES): the asset graph turns a read of one into a dependency on that step.
WRITTEN_BY: dict[str, str] = {
    **{f"models.{t}": m for m, tables in WRITES.items() for t in tables},
    **{f"marts.{t}": m for m, tables in MARTS_TABLES.items() for t in tables},
}


def table_writer(table: str) -> str:
    """The model that writes `models.<table>`: the upstream of a warehouse table reading it.

    Examples
    --------
    >>> table_writer("models.person_weights")
    'effectiveness'
    """
    if table not in WRITTEN_BY:
        raise KeyError(f"no model declares that it writes {table} (ips_eval.models.registry.WRITES)")
    return WRITTEN_BY[table]


def ensure_model_tables(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Create model `name`'s declared tables when missing, so their readers find them when it is not fitted.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> ensure_model_tables(con, "effectiveness")
    >>> con.execute("SELECT count(*) FROM models.person_weights").fetchone()
    (0,)
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS models")
    for table, columns in WRITES.get(name, {}).items():
        con.execute(f"CREATE TABLE IF NOT EXISTS models.{table} ({columns})")


def write_model(con: duckdb.DuckDBPyConnection, result: ModelResult) -> None:
    """`write_result`, after creating the model's declared tables (see `ensure_model_tables`).

    Examples
    --------
    >>> write_model(con, fit_model("effectiveness", con, "figures"))  # doctest: +SKIP
    """
    ensure_model_tables(con, result.model)
    write_result(con, result)


def model_inputs(name: str) -> set[str]:
    """The warehouse tables model `name` reads, from its query files' SQL (`ref.*` definitions aside).

    Examples
    --------
    >>> sorted(model_inputs("job_tenure"))
    ['core.competitive_jobs']
    """
    read = set().union(*(query_tables(f) for f in QUERY_FILES[name]))
    return {t for t in read if not t.startswith("ref.")}  # ref.* is written with the build, not by an asset


def fit_model(name: str, con: duckdb.DuckDBPyConnection, figures_dir: Path, seed: int | None = None,
              **kwargs) -> ModelResult:
    """Fit one model by name; an unexpected error becomes a `not_fitted` result (logged)."""
    fn = MODELS[name]
    args = {} if seed is None else {"seed": seed}
    try:
        result = fn(con, Path(figures_dir), **args, **kwargs)
    except Exception as e:  # a bug in one model must not stop the others
        log.error("model %s failed:\n%s", name, traceback.format_exc())
        result = ModelResult.not_fitted(name, f"unexpected error ({type(e).__name__}: {e}); see the run log")
    for table, empty in MARTS_TABLES.get(name, {}).items():
        result.marts.setdefault(table, empty())
    return result


def fit_and_write(name: str, con: duckdb.DuckDBPyConnection, figures_dir: Path) -> ModelResult:
    """Fit one model, write its tables and return the result: what one Dagster asset does."""
    Path(figures_dir).mkdir(parents=True, exist_ok=True)
    result = fit_model(name, con, figures_dir)
    write_model(con, result)
    failpoint(f"models/{name}")
    return result


def fit_all(con: duckdb.DuckDBPyConnection, figures_dir: Path, seed: int | None = None, write: bool = True,
            only: list[str] | None = None, options: dict[str, dict] | None = None) -> dict[str, ModelResult]:
    """Fit every model (or `only` these), write each result when `write`, return them by name.

    `options` passes extra keyword arguments per model, e.g. {"effectiveness": {"variance": "bootstrap", "n_boot": 1000}}.
    """
    results: dict[str, ModelResult] = {}
    for name in only or list(MODELS):
        res = fit_model(name, con, figures_dir, seed, **(options or {}).get(name, {}))
        if write:
            write_model(con, res)
        results[name] = res
    return results
