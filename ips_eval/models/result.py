"""What a model fit returns, and how it lands in the warehouse's `models` schema.

Every model returns one `ModelResult`, fitted or not, so that Dagster assets, the CLI and
notebooks handle all models the same way. A model that cannot be fitted returns a result
with `status='not_fitted'`, a reason a researcher understands and *no* estimates: a
partial or made-up estimate must never reach a published table.

`write_result` replaces the model's rows in every `models.*` table (the shared tables
`models.estimates`, `models.fit_log`, `models.diagnostics` and the model-specific ones),
so re-running one model never duplicates rows and never leaves stale estimates of an
earlier run behind, while the other models' rows stay as they are. A step computed like a
model may also own whole tables of the `marts` schema (a contract table such as
`marts.trajectory_types`, computed in Python from a model's output): those are in
`result.marts` and replaced whole, whatever the status, so they always hold this run's rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

ESTIMATE_COLUMNS = ["model", "term", "estimate", "ci_low", "ci_high", "p_value", "n", "estimator"]
DIAGNOSTIC_COLUMNS = ["model", "diagnostic", "value", "threshold", "passed", "rule", "detail"]
FIT_LOG_COLUMNS = ["model", "status", "status_reason", "reason", "n", "converged"]
STATUSES = ("ok", "warning", "not_fitted")

#: DDL of the shared tables (ANALYSIS_PLAN "Stable output tables" is the contract;
#: `rule` and `detail` in diagnostics are additions that say how `threshold` is applied).
SHARED_TABLES = {
    "estimates": "model VARCHAR, term VARCHAR, estimate DOUBLE, ci_low DOUBLE, ci_high DOUBLE,"
    " p_value DOUBLE, n BIGINT, estimator VARCHAR",
    "diagnostics": "model VARCHAR, diagnostic VARCHAR, value DOUBLE, threshold DOUBLE, passed BOOLEAN,"
    " rule VARCHAR, detail VARCHAR",
    "fit_log": "model VARCHAR, status VARCHAR, status_reason VARCHAR, reason VARCHAR, n BIGINT, converged BOOLEAN",
}


class NotFitted(Exception):
    """Raised inside a fit when the data cannot support the model; becomes a fit-log row."""

    def __init__(self, reason: str, n: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.n = n


@dataclass
class ModelResult:
    """One model's output. DataFrames follow the column lists above."""

    model: str
    status: str
    reason: str = ""
    n: int | None = None
    #: Why the status is not ok, in a few words (the fit log's `status_reason` and the first
    #: clause of its `reason`); empty: derived from the failed diagnostics (`short_reason`).
    status_reason: str = ""
    converged: bool | None = None
    estimates: pd.DataFrame = field(default_factory=lambda: empty_estimates())
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    diagnostics: pd.DataFrame = field(default_factory=lambda: empty_diagnostics())
    figures: list[Path] = field(default_factory=list)
    summary: str = ""
    #: In-memory companions of the result that are not written (e.g. the effectiveness
    #: model's person weights, which the chronogram reads).
    extra: dict = field(default_factory=dict)
    #: Whole tables of the `marts` schema this step owns (no `model` column: a contract table's
    #: columns are the contract's), replaced by `write_result` even when not fitted (then empty).
    marts: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")

    @property
    def fitted(self) -> bool:
        return self.status != "not_fitted"

    @property
    def short_reason(self) -> str:
        """Why the status is what it is, in a few words: empty when ok; for a warning the
        given `status_reason`, else the diagnostics that failed; for a model not fitted the
        first clause of its reason.

        Examples
        --------
        >>> ModelResult("m", "warning", "a long account", diagnostics=diagnostics_frame(
        ...     [{"model": "m", "diagnostic": "balance", "value": 0.3, "threshold": 0.1, "passed": False}])).short_reason
        'failed diagnostic: balance'
        """
        if self.status == "ok":
            return ""
        if self.status_reason:
            return self.status_reason
        failed = self.diagnostics[self.diagnostics["passed"].eq(False).fillna(False)]["diagnostic"].tolist()
        if self.status == "warning" and failed:
            return ("failed diagnostic: " if len(failed) == 1 else "failed diagnostics: ") + ", ".join(failed)
        return self.reason.split("; ", 1)[0]

    @property
    def fit_log(self) -> pd.DataFrame:
        """The fit-log row: the short reason apart, and again as the first clause of the full
        reason, so that the caveat is what a reader of either column sees first."""
        short = self.short_reason
        reason = self.reason if not short or self.reason.startswith(short) else f"{short}; {self.reason}"
        return pd.DataFrame(
            [[self.model, self.status, short, reason, self.n, self.converged]], columns=FIT_LOG_COLUMNS
        ).astype({"n": "Int64", "converged": "boolean"})

    @classmethod
    def not_fitted(cls, model: str, reason: str, n: int | None = None) -> "ModelResult":
        return cls(
            model=model,
            status="not_fitted",
            reason=reason,
            n=n,
            converged=None,
            summary=f"**{model}**: not fitted. {reason}",
        )


def empty_estimates() -> pd.DataFrame:
    return estimates_frame([])


def empty_diagnostics() -> pd.DataFrame:
    return diagnostics_frame([])


def estimates_frame(rows: list[dict], estimator: str | None = None) -> pd.DataFrame:
    """Tidy estimates; `estimator` fills the column for rows that do not name one (a model with one estimator)."""
    df = pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)
    if estimator is not None:
        df["estimator"] = df["estimator"].fillna(estimator)
    return df.astype(
        {"model": "object", "term": "object", "estimate": "float64", "ci_low": "float64",
         "ci_high": "float64", "p_value": "float64", "n": "Int64", "estimator": "object"}
    )


def diagnostics_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=DIAGNOSTIC_COLUMNS)
    return df.astype(
        {"model": "object", "diagnostic": "object", "value": "float64", "threshold": "float64",
         "passed": "boolean", "rule": "object", "detail": "object"}
    )


def model_fit(model: str) -> Callable:
    """Decorator: turn the expected ways a fit fails into a `not_fitted` result.

    Expected failures are `NotFitted` (raised by our own checks, with a readable reason),
    missing warehouse tables, singular matrices and the libraries' own separation and
    convergence errors. Anything else is a bug and propagates (`fit_all` still isolates it).
    """

    def wrap(fn: Callable[..., ModelResult]) -> Callable[..., ModelResult]:
        @functools.wraps(fn)
        def inner(*args, **kwargs) -> ModelResult:
            from lifelines.exceptions import ConvergenceError
            from statsmodels.tools.sm_exceptions import PerfectSeparationError

            name = kwargs.pop("_model_name", model)
            try:
                return fn(*args, **kwargs)
            except NotFitted as e:
                return ModelResult.not_fitted(name, e.reason, e.n)
            except PerfectSeparationError as e:
                return ModelResult.not_fitted(name, f"perfect separation: {e}")
            except ConvergenceError as e:
                return ModelResult.not_fitted(name, f"the fit did not converge: {str(e).splitlines()[0]}")
            except np.linalg.LinAlgError as e:
                return ModelResult.not_fitted(
                    name, f"singular design (a covariate is constant or collinear with others): {e}"
                )
            except duckdb.CatalogException as e:
                return ModelResult.not_fitted(name, f"input table missing from the warehouse: {e}")

        return inner

    return wrap


# ----------------------------------------------------------------------------- writing


def write_result(con: duckdb.DuckDBPyConnection, result: ModelResult) -> None:
    """Replace `result.model`'s rows in the `models` schema with this result.

    Shared tables get the model's rows replaced; a model-specific table
    `models.<name>` (from `result.tables`) gets a `model` column and likewise only
    this model's rows replaced (several models may share one table, e.g. the six
    `scores_*` models share `models.score_change`). Rows of this model in any other
    `models.*` table with a `model` column are deleted too, so a model that is no
    longer fitted leaves no stale curves behind. All in one transaction.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS models")
    for name, ddl in SHARED_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS models.{name} ({ddl})")
    shared = {
        "estimates": result.estimates if result.fitted else empty_estimates(),
        "diagnostics": result.diagnostics,
        "fit_log": result.fit_log,
    }
    for key, df in shared.items():
        if len(df) and (df["model"] != result.model).any():
            raise ValueError(f"{key} of {result.model} holds rows of another model")
    con.execute("BEGIN TRANSACTION")
    try:
        for table in _tables_with_model_column(con):
            con.execute(f'DELETE FROM models."{table}" WHERE model = ?', [result.model])
        for key, df in shared.items():
            if len(df):
                _insert(con, f"models.{key}", df[_columns(key)])
        if result.fitted:
            for name, df in result.tables.items():
                _replace_model_rows(con, name, _with_model(df, result.model))
        if result.marts:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        for name, df in result.marts.items():
            _replace_marts_table(con, name, df)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _columns(key: str) -> list[str]:
    return {"estimates": ESTIMATE_COLUMNS, "diagnostics": DIAGNOSTIC_COLUMNS, "fit_log": FIT_LOG_COLUMNS}[key]


def _tables_with_model_column(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT c.table_name FROM duckdb_columns() c"
        " JOIN duckdb_tables() t USING (database_name, schema_name, table_name)"
        " WHERE c.schema_name = 'models' AND c.column_name = 'model'"
    ).fetchall()
    return [r[0] for r in rows]


def _with_model(df: pd.DataFrame, model: str) -> pd.DataFrame:
    df = df.copy()
    if "model" in df.columns:
        df["model"] = model
        return df[["model"] + [c for c in df.columns if c != "model"]]
    df.insert(0, "model", model)
    return df


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    con.register("_ips_model_rows", df)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _ips_model_rows")
    finally:
        con.unregister("_ips_model_rows")


def _replace_marts_table(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> None:
    if not name.isidentifier():
        raise ValueError(f"marts table name {name!r} is not a plain identifier")
    con.register("_ips_marts_rows", df)
    try:
        con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM _ips_marts_rows")
    finally:
        con.unregister("_ips_marts_rows")


def _replace_model_rows(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame) -> None:
    """Create `models.<name>` or add this model's rows; adapt when the columns changed.

    The model's old rows were already deleted; when the existing table's columns differ
    from this result's (code changed between runs on a copied warehouse), the table is
    rebuilt as the union by name of the other models' rows and these rows.
    """
    if not name.isidentifier():
        raise ValueError(f"model table name {name!r} is not a plain identifier")
    con.register("_ips_model_rows", df)
    try:
        existing = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='models' AND table_name=?"
            " ORDER BY ordinal_position",
            [name],
        ).fetchall()
        cols = [r[0] for r in existing]
        if not cols:
            con.execute(f"CREATE TABLE models.{name} AS SELECT * FROM _ips_model_rows")
        elif cols == list(df.columns):
            con.execute(f"INSERT INTO models.{name} BY NAME SELECT * FROM _ips_model_rows")
        else:
            con.execute(
                f"CREATE OR REPLACE TABLE models.{name} AS SELECT * FROM models.{name}"
                " UNION ALL BY NAME SELECT * FROM _ips_model_rows"
            )
    finally:
        con.unregister("_ips_model_rows")
