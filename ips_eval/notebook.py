"""Helpers for the analysts' notebooks (`notebooks/*.ipynb`): one way to open the warehouse.

Every notebook starts with::

    from ips_eval import notebook as nb
    con = nb.open_warehouse()

which opens the warehouse named by the environment variable `IPS_EVAL_WAREHOUSE` (default:
the demo warehouse, `data/demo/warehouse.duckdb` of the project) read-only, so that a
notebook left open never blocks the quarterly refresh: the refresh renames a new file over
the warehouse and the notebook keeps reading the file it opened until it reconnects.

A relative `IPS_EVAL_WAREHOUSE` is taken from the current folder when a file is there, else
from the project root (Jupyter runs a notebook in `notebooks/`, `make` in the root). Figures
of the run are beside the warehouse (`<warehouse stem>.figures/`, e.g. `warehouse.figures/`) unless `IPS_EVAL_FIGURES`
names another folder, exactly as the pipeline writes them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd

from ips_eval import PROJECT_ROOT
from ips_eval.release.publish import figures_dir_for
from ips_eval.warehouse.database import open_readonly, table_exists

WAREHOUSE_ENV = "IPS_EVAL_WAREHOUSE"
FIGURES_ENV = "IPS_EVAL_FIGURES"
DEFAULT_WAREHOUSE = Path("data/demo/warehouse.duckdb")

#: What a notebook says when a table or figure the warehouse could hold is not there.
NOT_AVAILABLE = "not available in this warehouse"

_QUALIFIED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


def _resolve(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists():
        return path.resolve()
    return (PROJECT_ROOT / path).resolve()


def warehouse_path() -> Path:
    """The warehouse the notebooks read: `$IPS_EVAL_WAREHOUSE`, else the demo warehouse."""
    return _resolve(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE)


def figures_path(warehouse: str | Path | None = None) -> Path:
    """The published run's figures: `$IPS_EVAL_FIGURES`, else `<warehouse stem>.figures/` beside it."""
    configured = os.environ.get(FIGURES_ENV)
    if configured:
        return _resolve(configured)
    return figures_dir_for((Path(warehouse) if warehouse else warehouse_path()).resolve())


#: The connection `open_warehouse` last returned, per warehouse path (see there).
_opened: dict[Path, duckdb.DuckDBPyConnection] = {}


def open_warehouse(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only (`ips_eval.warehouse.open_readonly`); never blocks a refresh.

    Calling it again reconnects: the connection it returned before for the same path is
    closed first. Otherwise DuckDB, which shares one database per path within a process,
    would hand back the file as first opened, and re-running a notebook's first cell after
    a refresh would still show the old run.
    """
    path = _resolve(path) if path else warehouse_path()
    previous = _opened.pop(path, None)
    if previous is not None:
        previous.close()
    con = open_readonly(path)
    _opened[path] = con
    return con


def about(con: duckdb.DuckDBPyConnection) -> str:
    """One line saying which warehouse and which run the notebook reads (from `audit.runs`)."""
    paths = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    where = paths[0][0] if paths and paths[0][0] else "(in memory)"
    if not table_exists(con, "audit.runs"):
        return f"warehouse {where}: audit.runs {NOT_AVAILABLE}"
    runs = con.execute(
        "SELECT run_id, cutoff, finished_at, code_version, count(*) OVER () FROM audit.runs"
        " ORDER BY finished_at DESC NULLS LAST LIMIT 1"
    ).fetchall()
    if not runs:
        return f"warehouse {where}: no run recorded in audit.runs"
    run_id, cutoff, finished, version, n_runs = runs[0]
    finished = f"{finished:%Y-%m-%d %H:%M} UTC" if finished else "not recorded"
    return (f"warehouse {where}\ncut-off {cutoff}, run {run_id} (finished {finished}, code {version}); "
            f"{n_runs} run(s) recorded")


def has_tables(con: duckdb.DuckDBPyConnection, *tables: str) -> bool:
    """True when every `schema.table` exists."""
    return all(table_exists(con, _checked(t)) for t in tables)


def available(con: duckdb.DuckDBPyConnection, *tables: str) -> bool:
    """Like `has_tables`, but prints which tables are missing ("not available in this warehouse")."""
    missing = [t for t in tables if not table_exists(con, _checked(t))]
    for t in missing:
        print(f"{t}: {NOT_AVAILABLE}")
    return not missing


def model_rows(con: duckdb.DuckDBPyConnection, table: str, models: str | Iterable[str]) -> pd.DataFrame:
    """The rows of `models.<table>` for one model or several (`scores_` prefix: all score models).

    Returns an empty frame (and prints "not available") when the table is missing.
    """
    qualified = _checked(table if "." in table else f"models.{table}")
    if not available(con, qualified):
        return pd.DataFrame()
    names = [models] if isinstance(models, str) else list(models)
    conditions = " OR ".join("starts_with(model, ?)" if n.endswith("_") else "model = ?" for n in names)
    return con.execute(f"SELECT * FROM {qualified} WHERE {conditions}", names).df()


def pass_fail(diagnostics: pd.DataFrame) -> pd.DataFrame:
    """Diagnostics with a readable `result` beside `passed`: pass, FAIL, or info (no threshold)."""
    out = diagnostics.copy()
    result = ["info" if pd.isna(p) else "pass" if p else "FAIL" for p in out["passed"]]
    out.insert(out.columns.get_loc("passed") + 1, "result", result)
    return out


def figure_files(model: str, folder: str | Path | None = None) -> list[Path]:
    """The PNG figures a model saved (`<model>_*.png`; `scores_` matches every score model)."""
    folder = Path(folder) if folder else figures_path()
    pattern = f"{model}*.png" if model.endswith("_") else f"{model}_*.png"
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def show_figures(model: str, folder: str | Path | None = None, width: int = 720) -> list[Path]:
    """Display the model's saved figures; say so when there are none."""
    from IPython.display import Image, Markdown, display

    folder = Path(folder) if folder else figures_path()
    files = figure_files(model, folder)
    if not files:
        print(f"figures of {model}: {NOT_AVAILABLE} (none in {folder})")
    for f in files:
        display(Markdown(f"`{f.name}`"))
        display(Image(filename=str(f), width=width))
    return files


def _checked(qualified: str) -> str:
    if not _QUALIFIED.match(qualified):
        raise ValueError(f"not a schema.table name: {qualified!r}")
    return qualified


def show_model(con: duckdb.DuckDBPyConnection, model: str, folder: str | Path | None = None) -> list[Path]:
    """One model (or every `scores_` model) as the walkthrough shows it: its fit-log line,
    tidy estimates, diagnostics with pass/fail and saved figures. Returns the figures shown."""
    from IPython.display import Markdown, display

    if not has_tables(con, "models.fit_log"):
        print(f"{model}: model tables {NOT_AVAILABLE}")
        return []
    log = model_rows(con, "fit_log", model)
    if log.empty:
        print(f"{model}: not in models.fit_log (the run did not fit it)")
    for r in log.itertuples():
        n = "" if pd.isna(r.n) else f", n = {r.n}"
        display(Markdown(f"**{r.model}**: `{r.status}`{n}. {r.reason or ''}"))
    estimates = model_rows(con, "estimates", model)
    if estimates.empty:
        print(f"{model}: no estimates" + (" (not fitted: see the reason above)" if
                                          (log.status == "not_fitted").any() else ""))
    else:
        display(estimates.drop(columns="model") if estimates.model.nunique() == 1 else estimates)
    diagnostics = model_rows(con, "diagnostics", model)
    if not diagnostics.empty:
        display(pass_fail(diagnostics).drop(columns="model" if diagnostics.model.nunique() == 1 else []))
    return show_figures(model, folder)
