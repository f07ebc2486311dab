"""A model as one declaration: `ModelSpec`, and `run_spec`, the one runner of every model.

A model module declares its model(s) as module-level `ModelSpec` values (or a tuple of them,
as the six score models do); `ips_eval.models.registry` finds them, so adding a model is its
module and its input query in `sql/models/`, nothing else (docs/how-to/add-a-model.md). In the
spirit of lifelines' fitters: one estimator per file, `fit(frame)` returning a tidy result.

`run_spec` chains what every model does - load the frame, fit, complete the result from the
warehouse when the model needs to (model 6's chronogram), draw the figures - so no model
writes its own `run_` wrapper. Expected failures anywhere in the chain become a `not_fitted`
result with the reason (`model_fit`); the model's marts tables are always in the result
(empty when not fitted), so no earlier run's rows survive.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import duckdb
import pandas as pd

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.models import plots
from ips_eval.models.data import read_query
from ips_eval.models.result import ModelResult, model_fit

Loader = Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]
Fitter = Callable[..., ModelResult]
Plotter = Callable[[ModelResult, Path], list[Path]]
Completer = Callable[[duckdb.DuckDBPyConnection, pd.DataFrame, ModelResult], None]


@dataclass(frozen=True)
class ModelSpec:
    """Everything the pipeline knows of one model.

    Parameters
    ----------
    name : the model's name: its Dagster asset `models/<name>` and the `model` column of every
        `models.*` table (the analysis plan's model names).
    description : one or two sentences for the asset catalogue (what is estimated, how).
    queries : its input queries, file names in `sql/models/`; the tables they read are the
        model's upstream assets (lineage read from the SQL, never listed by hand).
    fit : frame -> `ModelResult` (decorated with `model_fit`); may take `seed` and options.
    load : connection -> frame; by default the rows of the first query (`read_query`, which
        names a missing table or column).
    plot : draws the figures of a fitted result into a folder; by default the figures the fit
        described (`result.extra["figures"]`).
    complete : adds to a fitted result what needs the warehouse again (model 6's chronogram).
    writes : tables `models.<table>` (with their columns) that other parts of the warehouse read;
        they are created empty when the model is not fitted, so their readers always find them.
    marts : whole `marts` tables the model owns, each with the empty table written when not fitted.
    queries_dir : where `queries` live (a test points it at a temporary copy of `sql/models/`).

    Examples
    --------
    >>> spec = ModelSpec("share_employed", "Share of clients employed.", ("share_employed.sql",),
    ...                  fit=lambda frame: ModelResult("share_employed", "ok"))
    >>> spec.query_paths[0].name
    'share_employed.sql'
    """

    name: str
    description: str
    queries: tuple[str, ...]
    fit: Fitter
    load: Loader | None = None
    plot: Plotter = plots.draw_figures
    complete: Completer | None = None
    writes: Mapping[str, str] = field(default_factory=dict)
    marts: Mapping[str, Callable[[], pd.DataFrame]] = field(default_factory=dict)
    queries_dir: Path = MODEL_QUERIES_DIR

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"model name {self.name!r} is not a plain identifier (it names tables and assets)")
        if not self.queries:
            raise ValueError(f"model {self.name} declares no input query (sql/models/<name>.sql)")
        if len(self.description.strip()) < 20:
            raise ValueError(f"model {self.name}: describe it in a sentence (the asset catalogue shows it)")

    @property
    def query_paths(self) -> tuple[Path, ...]:
        """The input query files."""
        return tuple(Path(self.queries_dir) / q for q in self.queries)

    def load_frame(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        """The model's input frame: its `load`, or the rows of its first query.

        Examples
        --------
        >>> frame = MODELS["job_tenure"].load_frame(con)  # doctest: +SKIP
        """
        return self.load(con) if self.load is not None else read_query(con, self.query_paths[0])


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def run_spec(spec: ModelSpec, con: duckdb.DuckDBPyConnection, figures_dir: Path, seed: int | None = None,
             **options) -> ModelResult:
    """Load, fit, complete and draw one model: what the pipeline, `fit_all` and the CLI run.

    `seed` goes to a fit that takes one (others have nothing random); `options` go to the fit
    (e.g. `n_boot=200`). An expected failure of the load (a missing table or column) is a
    `not_fitted` result naming it, like one of the fit.

    Examples
    --------
    >>> result = run_spec(MODELS["job_tenure"], con, Path("figures"))  # doctest: +SKIP
    >>> result.status  # doctest: +SKIP
    'ok'
    """
    if seed is not None and _accepts(spec.fit, "seed"):
        options = {"seed": seed, **options}

    @model_fit(spec.name)
    def chain() -> ModelResult:
        frame = spec.load_frame(con)
        result = spec.fit(frame, **options)
        if result.fitted:
            if spec.complete is not None:
                spec.complete(con, frame, result)
            result.figures = spec.plot(result, Path(figures_dir))
        return result

    result = chain()
    for table, empty in spec.marts.items():
        result.marts.setdefault(table, empty())
    return result
