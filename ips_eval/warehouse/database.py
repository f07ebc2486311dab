"""The DuckDB warehouse: open it, run a `sql/` file, build a run's copy and swap it in.

The warehouse is rebuilt, not patched: a run writes into a private build file beside
the published one and renames it over the published file only when every blocking check
has passed. A failed or killed run therefore leaves the published file byte-for-byte as
it was, and analysts who hold it open read-only keep their view (the rename replaces the
directory entry, not the inode they are reading).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import duckdb

from ips_eval import SQL_DIR
from ips_eval.definitions import SQL_CONSTANTS
from ips_eval.warehouse.lineage import parameters

SCHEMAS = ("ref", "raw", "audit", "staging", "core", "marts", "models", "publish")

#: DuckDB may use at most this much memory per connection; beyond it, it spills to disk.
#: Half of the 2 GB a run may use, so that pandas and the models have the other half.
DEFAULT_MEMORY_LIMIT = os.environ.get("IPS_EVAL_DUCKDB_MEMORY", "1GB")
DEFAULT_THREADS = int(os.environ.get("IPS_EVAL_DUCKDB_THREADS", "2"))


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection with the project's memory limit and a spill directory beside the file."""
    path = Path(path)
    # jemalloc (DuckDB's allocator) purges freed pages in background threads: without them a large
    # query's freed memory stays resident for seconds, beside the pandas frame it produced, which
    # another allocator holds; a model step reading a national cohort then peaks at both together
    config: dict[str, Any] = {"threads": DEFAULT_THREADS, "allocator_background_threads": True}
    if not read_only:
        config["memory_limit"] = DEFAULT_MEMORY_LIMIT
        config["temp_directory"] = str(path.parent / f".{path.name}.spill")
        config["preserve_insertion_order"] = True
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    try:
        con.execute("SET enable_progress_bar = false")  # the CLI draws its own progress bar
    except duckdb.Error:
        pass  # in a Jupyter kernel DuckDB refuses the setting (it wants ipywidgets); it is off there
    return con


def open_readonly(path: str | Path) -> duckdb.DuckDBPyConnection:
    """How analysts and notebooks open the warehouse: read-only, never blocking a refresh."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `ips-eval run` or `ips-eval demo` first")
    return connect(path, read_only=True)


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The format parsers and study macros of sql/macros.sql, and one macro per constant of
    ips_eval.definitions.SQL_CONSTANTS (temporary: once per connection).

    Creating them costs far more than a query, so a table build asks for them only when its
    SQL calls one (`uses_macros`), and a connection that already holds these very macros (its
    stamp macro says which text and constants made them) is left as it is. A macro binds its tables when it is called, so
    tables replaced since (prepare rewrites `ref`) need no new macros.
    """
    text = sql_text("macros")
    constants = "".join(f"CREATE OR REPLACE TEMP MACRO {name}() AS {int(value)};\n"
                        for name, value in SQL_CONSTANTS.items())
    stamp = hashlib.sha256(f"{text}\n{constants}".encode()).hexdigest()
    try:
        if con.execute(f"SELECT {_MACROS_STAMP}()").fetchone()[0] == stamp:
            return
    except duckdb.CatalogException:
        pass  # no macros yet on this connection
    con.execute(text)
    con.execute(constants)
    # Made last, so that a load that failed half-way is made again in full.
    con.execute(f"CREATE OR REPLACE TEMP MACRO {_MACROS_STAMP}() AS '{stamp}'")


#: The temporary macro by which `load_macros` knows a connection that already holds the macros.
_MACROS_STAMP = "_ips_eval_macros_stamp"


def uses_macros(sql: str) -> bool:
    """Whether `sql` calls one of the macros `load_macros` makes (a macro of sql/macros.sql or
    a constant's): a statement that calls none need not pay for making them.

    Examples
    --------
    >>> uses_macros("SELECT is_smi(code) FROM raw.diagnoses"), uses_macros("SELECT is_smi FROM t")
    (True, False)
    """
    return bool(_macro_call_pattern(sql_text("macros")).search(sql))


@lru_cache(maxsize=4)
def _macro_call_pattern(text: str) -> re.Pattern:
    names = sorted(set(re.findall(r"\bMACRO\s+(\w+)", text, re.IGNORECASE)) | set(SQL_CONSTANTS))
    return re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\s*\(", re.IGNORECASE)


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")


def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql`, e.g. name='staging/clients'."""
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no SQL file {path}")
    return path.read_text(encoding="utf-8")


def run_sql(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> None:
    """Run one `sql/` file (a single statement), binding only the parameters it uses."""
    sql = sql_text(name)
    used = parameters(sql)
    missing = used - set(params)
    if missing:
        raise ValueError(f"sql/{name}.sql needs parameters {sorted(missing)}")
    con.execute(sql, {k: params[k] for k in used} if used else None)


def query_sql(con: duckdb.DuckDBPyConnection, path: Path, **params: Any):
    """Run a query file kept beside the code that reads it; return a pandas DataFrame."""
    sql = Path(path).read_text(encoding="utf-8")
    used = parameters(sql)
    return con.execute(sql, {k: params[k] for k in used} if used else None).df()


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether a table or view of that name exists: a table first, then a view (information_schema.tables,
    the view over both, answers far slower than either)."""
    return is_table(con, qualified) or is_view(con, qualified)


def is_table(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".", 1)
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                            {"s": schema, "t": table}).fetchall()[0][0])


def is_view(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """(duckdb_views() answers far sooner than duckdb_tables().)"""
    schema, view = qualified.split(".", 1)
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = $s AND view_name = $t",
                            {"s": schema, "t": view}).fetchall()[0][0])


#: What a failed write of the build file raises: the OS, DuckDB's I/O layer, DuckDB refusing
#: to go on after a failed checkpoint (it raises FatalException on a full disk), or a commit
#: whose write failed (TransactionException: the build file has one writer, so no commit
#: conflicts with another).
WRITE_ERRORS = (OSError, duckdb.IOException, duckdb.PermissionException, duckdb.FatalException,
                duckdb.TransactionException)


class WarehouseWriteError(Exception):
    """Writing the run's build file failed; the published warehouse is untouched."""

    def __init__(self, path: Path, cause: Exception):
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        super().__init__(
            f"cannot write the warehouse build file {path}: {reason} (is the disk full, or the folder not writable?). "
            "The published warehouse was not changed."
        )


#: Build databases held open by this process, by build file (`WarehouseBuild.connection`).
_HELD: dict[Path, duckdb.DuckDBPyConnection] = {}
#: The buffer cache a held build database may keep through a step that asked for the memory
#: (`connection(hold=False)`): a small fraction of what such a step may use.
HELD_CACHE_LIMIT = 64 * 2**20


@dataclass(frozen=True)
class WarehouseBuild:
    """One run's private build of the warehouse at `target`.

    `start` says what the build starts from: "empty" (a full rebuild, as the CLI does) or
    "current" (a copy of the published file, so that a run materialising only some assets
    in the Dagster UI still ends with a complete warehouse).
    """

    target: Path
    run_id: str
    start: str = "empty"

    @property
    def path(self) -> Path:
        return self.target.parent / f".{self.target.name}.build-{self.run_id}"

    def ensure(self) -> Path:
        """Create the build file on first use in the run."""
        if self.path.exists():
            return self.path
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.start == "current" and self.target.exists():
            shutil.copyfile(self.target, self.path)
        with connect(self.path) as con:
            ensure_schemas(con)
            con.execute(
                "CREATE TABLE IF NOT EXISTS audit.runs (run_id VARCHAR, cutoff DATE, started_at TIMESTAMP,"
                " finished_at TIMESTAMP, code_version VARCHAR, input_fingerprint VARCHAR)"
            )
            con.execute(
                "CREATE OR REPLACE TABLE audit.current_run (run_id VARCHAR, started_at TIMESTAMP)"
            )
            con.execute("INSERT INTO audit.current_run VALUES (?, ?)", [self.run_id, _now()])
            if self.start == "empty" and self.target.exists():
                _carry_run_history(con, self.target)
        return self.path

    @contextmanager
    def connection(self, hold: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the build file; a failed write (disk full, no permission) says so plainly.

        With `hold`, the build's database stays open in this process between connections
        (`_HELD`): a run's steps each take their own connection (their temporary tables stay
        their own) but do not pay for opening the file and checkpointing it on every close.
        `hold=False` first closes the held database when its buffer cache holds more than
        `HELD_CACHE_LIMIT`, so that the memory is given back before a step that needs it for
        itself (a model fit in pandas); a smaller cache stays, as closing and reopening the
        file costs more than the memory is worth.
        """
        try:
            self.ensure()
            if hold:
                self._hold()
            elif self._held_cache() > HELD_CACHE_LIMIT:
                self.release()
            con = connect(self.path)
        except WRITE_ERRORS as e:
            raise WarehouseWriteError(self.path, e) from None
        try:
            yield con
            con.close()
        except WRITE_ERRORS as e:
            raise WarehouseWriteError(self.path, e) from None
        finally:
            try:
                con.close()
            except duckdb.Error:
                pass

    def _held_cache(self) -> int:
        """Bytes the held database keeps in memory (0 when none is held)."""
        held = _HELD.get(self.path)
        if held is None:
            return 0
        try:
            # fetchall, not fetchone: a result not read to its end keeps a transaction open on the
            # held connection, and the publish checkpoint would refuse to run beside it
            return int(held.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchall()[0][0])
        except duckdb.Error:
            return HELD_CACHE_LIMIT + 1  # unknown: give it back

    def _hold(self) -> None:
        if self.path not in _HELD:
            _HELD[self.path] = connect(self.path)

    def release(self) -> None:
        """Close the database held open for this build (checkpointing it); nothing when none is."""
        held = _HELD.pop(self.path, None)
        if held is not None:
            try:
                held.close()
            except WRITE_ERRORS as e:
                raise WarehouseWriteError(self.path, e) from None
            except duckdb.Error:
                pass  # a database invalidated by a failed write: the build is discarded anyway

    def remove_stale(self) -> None:
        """Build files, WAL files and spill folders left by runs that failed or were killed."""
        for p in stale_builds(self.target, keep_run_id=self.run_id):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    def publish(self) -> Path:
        """Checkpoint the build and rename it over the target (atomic on one filesystem)."""
        try:
            with connect(self.path) as con:
                con.execute("DROP TABLE IF EXISTS audit.current_run")
                con.execute("CHECKPOINT")
            self.release()
            _fsync(self.path)
        except WRITE_ERRORS as e:
            raise WarehouseWriteError(self.path, e) from None
        os.replace(self.path, self.target)
        _fsync(self.target.parent)
        shutil.rmtree(self.target.parent / f".{self.path.name}.spill", ignore_errors=True)
        return self.target

    def discard(self) -> None:
        try:
            self.release()
        except WarehouseWriteError:
            pass  # the build is being thrown away
        for p in (self.path, Path(f"{self.path}.wal")):
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass  # nothing was written there
        shutil.rmtree(self.target.parent / f".{self.path.name}.spill", ignore_errors=True)


def stale_builds(target: Path, keep_run_id: str | None = None) -> list[Path]:
    """Build files left by runs that failed or were killed."""
    target = Path(target)
    if not target.parent.exists():
        return []
    return [
        p
        for p in target.parent.glob(f"*.{target.name}.build-*")
        if keep_run_id is None or keep_run_id not in p.name
    ]


def _carry_run_history(con: duckdb.DuckDBPyConnection, previous: Path) -> None:
    """A rebuild starts empty but keeps the history of earlier runs in audit.runs."""
    try:
        con.execute(f"ATTACH '{previous}' AS previous (READ_ONLY)")
    except duckdb.Error:
        return  # an unreadable previous file has no history to carry; the rebuild goes on
    try:
        if con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'previous' AND schema_name = 'audit'"
            " AND table_name = 'runs'"
        ).fetchall()[0][0]:
            con.execute("INSERT INTO audit.runs SELECT * FROM previous.audit.runs")
    finally:
        con.execute("DETACH previous")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (so a rename survives a power cut)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
