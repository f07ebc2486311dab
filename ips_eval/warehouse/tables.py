"""The warehouse tables built from `sql/`: found from the files, ordered by what they read.

Each file `sql/<schema>/<table>.sql` is one `CREATE OR REPLACE TABLE|VIEW <schema>.<table>`
statement with the cut-off bound as `$cutoff` (and the figure catalogue's column lists as
`$headline_flags`, ... : `ips_eval.figures.catalogue.sql_parameters`). The file is the single place that names its
table, its inputs (the tables its SQL reads, parsed with sqlglot) and its description (its
header comment). Adding a table is adding a file, with its column contract beside it
(`sql/<schema>/<table>.yml`, ips_eval.warehouse.table_contracts): the build order, the
Dagster assets and `docs/warehouse.md` follow from them.

    >>> from ips_eval.warehouse.tables import sql_table
    >>> sql_table("marts.employment_rate_by_quarter").reads
    ('core.client_quarters', 'core.quarters')
"""

from __future__ import annotations

import datetime as dt
import graphlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import duckdb

from ips_eval import SQL_DIR
from ips_eval.faults import failpoint
from ips_eval.figures.catalogue import sql_parameters
from ips_eval.warehouse import lineage
from ips_eval.warehouse.database import is_table, is_view, load_macros, uses_macros

#: The schemas whose SQL files are warehouse builds, in the order of the data path. `raw`
#: and `audit` are written by ingest (audit's SQL is run by the withdrawal purge), `ref`
#: from ips_eval.definitions.
BUILT_SCHEMAS: tuple[str, ...] = ("staging", "core", "marts")
#: The schema the models write (ips_eval.models). A table whose SQL reads a table of it is
#: built after the model that writes it (`build_after_models`; in Dagster the model's asset
#: is its upstream, ips_eval.models.registry.table_writer says which).
MODEL_SCHEMA = "models"


@dataclass(frozen=True)
class SqlTable:
    """One table (or view) of the warehouse as its SQL file defines it."""

    name: str  # "core.competitive_jobs"
    path: Path
    reads: tuple[str, ...]  # every qualified table the SQL reads: raw.*, ref.*, staging.*, ...
    description: str  # the file's header comment
    kind: str  # "TABLE" or "VIEW"

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def model_inputs(self) -> tuple[str, ...]:
        """The `models.*` tables it reads: a model writes them, so it is built after the models."""
        return tuple(r for r in self.reads if r.split(".", 1)[0] == MODEL_SCHEMA)

    @property
    def summary(self) -> str:
        """The first paragraph of the description."""
        return self.description.split("\n\n", 1)[0]

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


class SqlFileError(ValueError):
    """A file of `sql/` that does not define the table its path names."""


def read_sql_table(path: Path) -> SqlTable:
    """The table a SQL file builds, read from the file itself."""
    text = path.read_text(encoding="utf-8")
    expected = f"{path.parent.name}.{path.stem}"
    try:
        statement = lineage.parse(text)
    except Exception as e:  # sqlglot's ParseError and friends: report the file, not the parser
        raise SqlFileError(f"{path}: cannot be parsed as one DuckDB statement ({e})") from None
    made = lineage.created_name(statement)
    if made != expected:
        raise SqlFileError(f"{path}: creates {made or 'no table'}, expected CREATE OR REPLACE ... {expected}")
    description = lineage.header_comment(text)
    if not description:
        raise SqlFileError(f"{path}: no header comment describing {expected}")
    return SqlTable(
        name=expected,
        path=path,
        reads=tuple(sorted(lineage.tables_read(text))),
        description=description,
        kind=lineage.created_kind(statement) or "TABLE",
    )


def sql_tables(sql_dir: Path | str | None = None) -> tuple[SqlTable, ...]:
    """Every table of `sql/<schema>/` for the built schemas, in a build order.

    Dependencies first; among tables that could be built at the same point, by schema along
    the data path and then by name, so that the order is the same on every machine.
    """
    return _sql_tables(Path(sql_dir or SQL_DIR).resolve())


@lru_cache(maxsize=8)
def _sql_tables(sql_dir: Path) -> tuple[SqlTable, ...]:
    found = {
        t.name: t
        for schema in BUILT_SCHEMAS
        for t in (read_sql_table(p) for p in sorted((sql_dir / schema).glob("*.sql")))
    }
    rank = {name: (BUILT_SCHEMAS.index(t.schema), name) for name, t in found.items()}
    sorter = graphlib.TopologicalSorter({n: [d for d in t.reads if d in found] for n, t in found.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as e:
        raise SqlFileError(f"the SQL files of {sql_dir} read each other in a cycle: {' -> '.join(e.args[1])}") from None
    order = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=rank.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return tuple(found[n] for n in order)


def sql_table(name: str, sql_dir: Path | str | None = None) -> SqlTable:
    """The table called `name` ('core.x' or 'core/x')."""
    key = name.replace("/", ".")
    tables = {t.name: t for t in sql_tables(sql_dir)}
    if key not in tables:
        raise KeyError(f"no SQL table {name!r}; known: {', '.join(tables)}")
    return tables[key]


def upstream_tables(table: SqlTable, sql_dir: Path | str | None = None) -> tuple[str, ...]:
    """The inputs of `table` that are themselves built from `sql/`."""
    built = {t.name for t in sql_tables(sql_dir)}
    return tuple(r for r in table.reads if r in built)


def cutoff_bound(names: Iterable[str], sql_dir: Path | str | None = None) -> tuple[SqlTable, ...]:
    """What a build at another cut-off rebuilds for the tables `names`, in build order: of them and
    the tables they are built from, every core and mart table, and each staging table that binds
    the cut-off or reads one that is rebuilt. The other staging tables hold the delivery as
    loaded, the same at any cut-off.

    Examples
    --------
    >>> [t.name for t in cutoff_bound(["staging.register_spells"])]
    ['staging.study_population', 'staging.register_population', 'staging.register_spells']
    """
    needed: set[str] = set()
    todo = [sql_table(n, sql_dir).name for n in names]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(upstream_tables(sql_table(name, sql_dir), sql_dir))
    bound: list[SqlTable] = []
    for table in sql_tables(sql_dir):
        if table.name in needed and (table.schema != "staging" or "cutoff" in lineage.parameters(table.sql)
                                     or any(r in {t.name for t in bound} for r in table.reads)):
            bound.append(table)
    return tuple(bound)


def build_table(con: duckdb.DuckDBPyConnection, name: str | SqlTable, cutoff, sql_dir=None) -> int:
    """Build one table (its inputs must exist) and return its row count: what one Dagster asset does."""
    table = name if isinstance(name, SqlTable) else sql_table(name, sql_dir)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
    _drop_if_other_kind(con, table)
    sql = table.sql
    if uses_macros(sql):
        load_macros(con)  # temporary macros: once per connection
    used = lineage.parameters(sql)
    params = {"cutoff": as_cutoff(cutoff), **sql_parameters()}
    if used - set(params):
        raise SqlFileError(f"{table.path} binds unknown parameters {sorted(used - set(params))}")
    try:
        con.execute(sql, {k: params[k] for k in used} if used else None)
    except duckdb.Error as exc:
        exc.add_note(f"while building {table.name} from {table.path}")
        raise
    rows = con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
    failpoint(f"{table.schema}/{table.table}")
    return rows


def build_tables(
    con: duckdb.DuckDBPyConnection,
    cutoff,
    schemas: Iterable[str] | None = None,
    only: Iterable[str] | None = None,
    sql_dir=None,
) -> dict[str, int]:
    """Build every table (of `schemas`, or those named in `only`) in build order; return row counts."""
    wanted_schemas = set(schemas) if schemas is not None else set(BUILT_SCHEMAS)
    wanted = None if only is None else {sql_table(n, sql_dir).name for n in only}
    built = {}
    for table in sql_tables(sql_dir):
        if table.schema in wanted_schemas and (wanted is None or table.name in wanted):
            built[table.name] = build_table(con, table, cutoff, sql_dir)
    return built


def build_staging(con: duckdb.DuckDBPyConnection, cutoff) -> dict[str, int]:
    """Every staging table (what tests and the library use without Dagster)."""
    return build_tables(con, cutoff, schemas=["staging"])


def build_outcomes(con: duckdb.DuckDBPyConnection, cutoff, only: Iterable[str] | None = None) -> list[str]:
    """Every outcome table (`core` and `marts`), or those named in `only`; return their names.

    Without `only`, the tables that read a model's output (`SqlTable.model_inputs`) are left
    for `build_after_models`, since the models read the tables built here.
    """
    if only is None:
        only = [t.name for t in sql_tables() if t.schema in ("core", "marts") and not t.model_inputs]
    return list(build_tables(con, cutoff, schemas=["core", "marts"], only=only))


def build_after_models(con: duckdb.DuckDBPyConnection, cutoff) -> list[str]:
    """The outcome tables that read a model's output, once the models are written; return their names.

    Examples
    --------
    >>> build_outcomes(con, cutoff)  # doctest: +SKIP
    >>> fit_all(con, figures_dir)  # doctest: +SKIP
    >>> build_after_models(con, cutoff)  # doctest: +SKIP
    ['marts.transition_rates']
    """
    later = [t.name for t in sql_tables() if t.schema in ("core", "marts") and t.model_inputs]
    return list(build_tables(con, cutoff, schemas=["core", "marts"], only=later)) if later else []


def as_cutoff(cutoff: dt.date | dt.datetime | str) -> dt.date:
    """The cut-off as a date (accepts a date, a datetime or an ISO string)."""
    if isinstance(cutoff, dt.datetime):
        return cutoff.date()
    if isinstance(cutoff, dt.date):
        return cutoff
    return dt.date.fromisoformat(str(cutoff))


def _drop_if_other_kind(con: duckdb.DuckDBPyConnection, table: SqlTable) -> None:
    """A run that starts from a copy of the published warehouse may find a table where its SQL
    now makes a view (or the reverse); CREATE OR REPLACE cannot change the kind, so drop it."""
    # only the other kind is looked for: most builds are tables, and a view is the cheaper look-up
    other, exists = ("TABLE", is_table) if table.kind == "VIEW" else ("VIEW", is_view)
    if exists(con, table.name):
        con.execute(f"DROP {other} {table.name}")
