"""The column contracts of the warehouse tables: `sql/<schema>/*.yml`, beside the SQL.

Each table built from `sql/<schema>/<table>.sql` has its columns declared in
`sql/<schema>/<table>.yml`, in the spirit of dbt's `schema.yml`: each column's DuckDB type,
its description and its tests. The tables that Python writes (the models' tables, the
ingest's audit tables) are declared likewise, several to a file (`sql/models/tables.yml`,
`sql/audit/tables.yml`). A test builds the warehouse and compares every declared table with
the built one, names and types, so a contract cannot drift from its SQL; `docs/warehouse.md`
and the Dagster asset checks of the table assets are generated from the contracts.

    tables:
      - name: marts.employment_outcomes
        tests:                                     # table tests
          - unique: [alue]
        columns:
          - name: alue
            type: VARCHAR
            description: County, or ALL for all counties together.
            tests: [not_null]
          - figures: headline                      # the catalogue's columns (below)
          - name: median_job_days
            type: DOUBLE
            tests:
              - range: {min: 0}

The columns the figure catalogue decides (`ips_eval/figures/catalogue.yaml`: each figure's
count `n_<x>`, its own denominator `n_<x>_eligible` and its rate) are not typed into a
contract: the entry `- figures: headline` (or `quarterly`) among the columns stands for them
(`figure_columns`), so that a figure is its SQL rule and its catalogue entry.

A SQL-built table's description is its SQL file's header comment; a table written by Python
has a `description` in its contract. The tests are generic: their SQL is `sql/tests/<test>.sql`,
with the table and columns bound as parameters:

    not_null                       no NULL
    unique                         no value twice (a table test: no combination of the columns twice)
    accepted_values: [a, b]        every non-NULL value, as text, is one of these; or
    accepted_values: {codes: genders}          one of a code list of data_contracts/codes.yaml
    accepted_values: {ref: ref.states.state}   one of a column of a ref table (ips_eval.definitions)
    range: {min: 0, max: 1}        every non-NULL value within the bounds (either may be left out)
    at_most: other_column          at most `other_column` in every row (a numerator and its denominator)

Examples
--------
>>> c = table_contract("marts.employment_outcomes")
>>> c.column("alue").type
'VARCHAR'
>>> [t.check_name for t in c.tests][:1]
['alue_not_null']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import duckdb
import yaml

from ips_eval import YAML_LOADER, SQL_DIR

#: The generic tests, each run by `sql/tests/<name>.sql`.
TEST_KINDS: tuple[str, ...] = ("not_null", "unique", "accepted_values", "range", "at_most")
#: What each test asserts, in words (the asset check's description and the docs).
TEST_TEXT: dict[str, str] = {
    "not_null": "not null",
    "unique": "unique",
    "accepted_values": "one of {}",
    "range": "in {}",
    "at_most": "at most `{}`",
}
_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


class ContractError(ValueError):
    """A contract file that cannot be read, or one that contradicts the SQL it sits beside."""


@dataclass(frozen=True)
class ColumnTest:
    """One declared test: its kind, the column(s) it is on and its argument."""

    kind: str
    columns: tuple[str, ...]
    argument: Any = None

    @property
    def check_name(self) -> str:
        """Its name, unique within its table: the table's `contract` asset check reports it by this name."""
        return f"{'_'.join(self.columns)}_{self.kind}"

    @property
    def text(self) -> str:
        """The test in words, e.g. 'in [0, 1]', '>= 0', 'one of the code list `genders`'."""
        arg = self.argument
        if self.kind == "range":
            low, high = arg.get("min"), arg.get("max")
            return (f">= {_bound(low)}" if high is None else f"<= {_bound(high)}" if low is None
                    else f"in [{_bound(low)}, {_bound(high)}]")
        elif self.kind == "accepted_values":
            arg = (f"the code list `{arg['codes']}`" if "codes" in arg else f"`{arg['ref']}`" if "ref" in arg
                   else ", ".join(f"'{v}'" for v in arg["values"]))
        return TEST_TEXT[self.kind].format(arg)

    def parameters(self, table: str) -> dict[str, Any]:
        """The parameters `sql/tests/<kind>.sql` binds."""
        if self.kind == "unique":
            return {"table": table, "columns": list(self.columns)}
        params: dict[str, Any] = {"table": table, "column": self.columns[0]}
        if self.kind == "accepted_values":
            params["accepted"] = accepted_values(self.argument)
        elif self.kind == "range":
            params["min"], params["max"] = self.argument.get("min"), self.argument.get("max")
        elif self.kind == "at_most":
            params["other"] = self.argument
        return params


@dataclass(frozen=True)
class ColumnContract:
    name: str
    type: str
    description: str = ""
    tests: tuple[ColumnTest, ...] = ()


@dataclass(frozen=True)
class TableContract:
    """The declared columns of one table, with the tests on them."""

    name: str  # "marts.employment_outcomes"
    path: Path  # the YAML file declaring it
    columns: tuple[ColumnContract, ...]
    table_tests: tuple[ColumnTest, ...] = ()
    description: str = ""  # only for tables no SQL file builds
    written_by: str = ""  # who writes a table no SQL file builds

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def types(self) -> dict[str, str]:
        """column -> declared DuckDB type."""
        return {c.name: c.type for c in self.columns}

    @property
    def tests(self) -> tuple[ColumnTest, ...]:
        """Every test: the columns' in column order, then the table's."""
        return tuple(t for c in self.columns for t in c.tests) + self.table_tests

    def column(self, name: str) -> ColumnContract:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} declares no column {name!r} ({self.path})")


@dataclass(frozen=True)
class ColumnTestResult:
    test: ColumnTest
    failures: int
    examples: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return self.failures == 0

    def message(self, table: str) -> str:
        shown = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        what = "key value(s)" if self.test.kind == "unique" else "row(s)"
        broken = "null" if self.test.kind == "not_null" else f"not {self.test.text}"
        return f"{table}.{'/'.join(self.test.columns)}: {self.failures} {what} {broken}{shown}"


def _bound(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def accepted_values(argument: dict) -> list[str]:
    """The values an `accepted_values` test accepts, as text: given, a code list of
    `data_contracts/codes.yaml`, or a column of a `ref` table (`ips_eval.definitions`).

    Examples
    --------
    >>> accepted_values({"ref": "ref.survey_waves.wave"})
    ['baseline', 'midpoint', 'final']
    >>> accepted_values({"values": [True, 0]})
    ['true', '0']
    """
    if "codes" in argument:
        from ips_eval.ingest.contracts import code_lists

        return list(code_lists()[argument["codes"]])
    if "ref" in argument:
        return list(_ref_columns()[argument["ref"]])
    return [_as_text(v) for v in argument["values"]]


@lru_cache(maxsize=1)
def _ref_columns() -> dict[str, tuple[str, ...]]:
    """'ref.<table>.<column>' -> its values as text, for every ref table of ips_eval.definitions."""
    from ips_eval.definitions import reference_tables

    return {f"ref.{t}.{c}": tuple(_as_text(v) for v in frame[c].dropna())
            for t, frame in reference_tables().items() for c in frame.columns}


def _accepted(argument, where: str) -> dict:
    """An accepted_values argument as one of its three forms, checked to name what exists."""
    if isinstance(argument, list):
        return {"values": tuple(argument)}
    if isinstance(argument, dict) and len(argument) == 1 and "codes" in argument:
        from ips_eval.ingest.contracts import code_lists

        if argument["codes"] not in code_lists():
            raise ContractError(f"{where}: no code list {argument['codes']!r} in data_contracts/codes.yaml")
        return dict(argument)
    if isinstance(argument, dict) and len(argument) == 1 and "ref" in argument:
        if str(argument["ref"]) not in _ref_columns():
            raise ContractError(f"{where}: {argument['ref']!r} is not a column ref.<table>.<column> of ips_eval.definitions")
        return dict(argument)
    raise ContractError(f"{where}: accepted_values takes a list, {{codes: <code list>}} or {{ref: ref.<table>.<column>}},"
                        f" not {argument!r}")


def _as_text(value) -> str:
    """A YAML value as DuckDB casts the column's value to text (true/false, numbers as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Reading the contracts


def _test(raw, columns: tuple[str, ...], where: str) -> ColumnTest:
    if isinstance(raw, str):
        kind, argument = raw, None
    elif isinstance(raw, dict) and len(raw) == 1:
        kind, argument = next(iter(raw.items()))
    else:
        raise ContractError(f"{where}: a test is a name or a mapping of one name to its argument, not {raw!r}")
    if kind not in TEST_KINDS:
        raise ContractError(f"{where}: unknown test {kind!r} (known: {', '.join(TEST_KINDS)})")
    if kind == "unique" and argument is not None:  # a table test: the key columns
        if not (isinstance(argument, list) and argument and all(isinstance(a, str) for a in argument)):
            raise ContractError(f"{where}: unique takes a list of columns, not {argument!r}")
        return ColumnTest(kind, tuple(argument))
    if not columns:
        raise ContractError(f"{where}: the table test {kind!r} needs its columns (only `unique: [...]` is a table test)")
    if kind == "accepted_values":
        argument = _accepted(argument, where)
    needs = {"accepted_values": dict, "range": dict, "at_most": str}.get(kind)
    if needs is None and argument is not None:
        raise ContractError(f"{where}: {kind} takes no argument")
    if needs is not None and not isinstance(argument, needs):
        raise ContractError(f"{where}: {kind} takes a {needs.__name__}, not {argument!r}")
    if kind == "range" and (not argument or set(argument) - {"min", "max"}):
        raise ContractError(f"{where}: range takes `min` and/or `max`, not {argument!r}")
    return ColumnTest(kind, columns, argument)


def figure_columns(table: str) -> list[dict]:
    """The columns the figure catalogue gives a table of its `table` ('headline' or
    'quarterly'), as contract entries: each figure's count, its own denominator and its rate,
    in catalogue order, with the tests every such column has (a count is a whole number, at
    most its denominator; a rate is within [0, 1]).

    A contract names them with the entry `- figures: headline` in its `columns`, so that a
    figure is its SQL rule and its catalogue entry (docs/how-to/add-a-figure.md) and no
    contract types its columns again.

    Examples
    --------
    >>> [(c["name"], c["type"]) for c in figure_columns("quarterly")][:3]
    [('n_served', 'BIGINT'), ('n_working', 'BIGINT'), ('rate_working', 'DOUBLE')]
    >>> figure_columns("quarterly")[1]["tests"]
    ['not_null', {'range': {'min': 0}}, {'at_most': 'n_served'}]
    """
    from ips_eval.figures.catalogue import CATALOGUE_FILE, figures

    where = f"ips_eval/figures/{CATALOGUE_FILE.name}"
    count_tests: list[Any] = ["not_null", {"range": {"min": 0}}]
    out: list[dict] = []
    for f in figures(table):
        source = f"counted from `{f.source}`" if "." in f.source.split(".", 1)[1] else f"rows of `{f.source}`"
        out.append({"name": f.count, "type": "BIGINT",
                    "description": f"{f.description[:1].upper()}{f.description[1:]} (figure `{f.name}` of {where}; "
                                   f"{source}).",
                    "tests": count_tests + ([{"at_most": f.denominator}] if f.denominator else [])})
        if f.own_denominator:
            out.append({"name": f.own_denominator, "type": "BIGINT",
                        "description": f"The denominator of `{f.rate}`: clients counted from `{f.denominator_source}`.",
                        "tests": list(count_tests)})
        if f.rate:
            out.append({"name": f.rate, "type": "DOUBLE",
                        "description": f"{f.count} / {f.denominator}, unrounded; NULL when {f.denominator} is 0.",
                        "tests": [{"range": {"min": 0, "max": 1}}]})
    return out


def _with_figure_columns(columns: list, where: str) -> list:
    """The declared columns with each `- figures: <table>` entry replaced by the catalogue's columns."""
    from ips_eval.figures.catalogue import PER_CLIENT as TABLES  # the marts counted from the catalogue

    out: list = []
    for col in columns:
        if isinstance(col, dict) and "figures" in col:
            if set(col) != {"figures"} or col["figures"] not in TABLES:
                raise ContractError(f"{where}: `- figures: <table>` takes one of {list(TABLES)} and nothing else,"
                                    f" not {col!r}")
            out += figure_columns(col["figures"])
        else:
            out.append(col)
    return out


def _table(raw: dict, path: Path) -> TableContract:
    where = f"{path}"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ContractError(f"{where}: each entry of `tables` needs a `name` (schema.table)")
    name = raw["name"]
    where = f"{path}: {name}"
    if not _NAME.match(name):
        raise ContractError(f"{where}: a table name is schema.table in lower case")
    unknown = set(raw) - {"name", "description", "written_by", "columns", "tests"}
    if unknown:
        raise ContractError(f"{where}: unknown keys {sorted(unknown)}")
    columns, seen = [], set()
    for i, col in enumerate(_with_figure_columns(raw.get("columns") or [], where)):
        if not isinstance(col, dict) or not col.get("name") or not col.get("type"):
            raise ContractError(f"{where}: column {i + 1} needs a `name` and a `type`")
        cname = str(col["name"])
        if cname in seen:
            raise ContractError(f"{where}: column {cname} declared twice")
        seen.add(cname)
        extra = set(col) - {"name", "type", "description", "tests"}
        if extra:
            raise ContractError(f"{where}.{cname}: unknown keys {sorted(extra)}")
        tests = tuple(_test(t, (cname,), f"{where}.{cname}") for t in col.get("tests") or [])
        columns.append(ColumnContract(cname, str(col["type"]).upper(), " ".join(str(col.get("description") or "").split()),
                                      tests))
    if not columns:
        raise ContractError(f"{where}: no columns declared")
    table_tests = tuple(_test(t, (), f"{where} (table tests)") for t in raw.get("tests") or [])
    contract = TableContract(name, path, tuple(columns), table_tests,
                             " ".join(str(raw.get("description") or "").split()), str(raw.get("written_by") or ""))
    for t in contract.tests:
        for c in (*t.columns, *([t.argument] if t.kind == "at_most" else [])):
            if c not in seen:
                raise ContractError(f"{where}: test {t.check_name} names column {c!r}, which is not declared")
    names = [t.check_name for t in contract.tests]
    if len(names) != len(set(names)):
        raise ContractError(f"{where}: a test is declared twice ({sorted(n for n in names if names.count(n) > 1)})")
    return contract


def read_contract_file(path: Path) -> tuple[TableContract, ...]:
    """The tables one YAML file declares.

    Examples
    --------
    >>> [c.name for c in read_contract_file(SQL_DIR / "marts" / "costs.yml")]
    ['marts.costs']
    """
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as e:
        raise ContractError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), list):
        raise ContractError(f"{path}: expected a mapping with a list `tables`")
    return tuple(_table(t, path) for t in raw["tables"])


def table_contracts(sql_dir: Path | str | None = None) -> dict[str, TableContract]:
    """Every declared table of `sql_dir` (default `sql/`): name -> contract.

    A table built from `sql/<schema>/<table>.sql` must be declared in `sql/<schema>/<table>.yml`
    beside it (and that file declares only it); a table may be declared once. Raises
    `ContractError` naming the file when a contract cannot be read or does not hold together.

    Examples
    --------
    >>> contracts = table_contracts()
    >>> contracts["models.fit_log"].written_by
    'every model'
    >>> [t.check_name for t in contracts["marts.employment_outcomes"].table_tests]
    ['alue_unique']
    """
    sql_dir = Path(sql_dir or SQL_DIR).resolve()
    # read again when a contract file changed (an edit in a running `dagster dev`, a test's copy)
    stamp = tuple((p.name, p.parent.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(sql_dir.glob("*/*.yml")))
    return _table_contracts(sql_dir, stamp)


@lru_cache(maxsize=8)
def _table_contracts(sql_dir: Path, stamp: tuple = ()) -> dict[str, TableContract]:
    found: dict[str, TableContract] = {}
    for path in sorted(sql_dir.glob("*/*.yml")):
        declared = read_contract_file(path)
        beside = path.with_suffix(".sql")
        if beside.exists():
            expected = f"{path.parent.name}.{path.stem}"
            if [c.name for c in declared] != [expected]:
                raise ContractError(f"{path}: the contract beside {beside.name} declares "
                                    f"{', '.join(c.name for c in declared)}, expected {expected} alone")
        for c in declared:
            if c.name in found:
                raise ContractError(f"{c.name} is declared twice: {found[c.name].path} and {path}")
            if not beside.exists() and not c.description:
                raise ContractError(f"{path}: {c.name} is built by no SQL file, so its contract needs a description")
            found[c.name] = c
    for name, sql_file in sql_files(sql_dir).items():
        if name not in found:
            raise ContractError(f"{sql_file}: no contract declares {name}: add {sql_file.with_suffix('.yml')}"
                                " with its columns (docs/how-to/add-a-table.md)")
    return found


def sql_files(sql_dir: Path | str | None = None) -> dict[str, Path]:
    """Every table a SQL file builds -> the file: the warehouse builds (`ips_eval.warehouse.tables`)
    and the audit's (`sql/audit/`, run by the ingest).

    Examples
    --------
    >>> sql_files()["audit.withdrawn_persons"].name
    'withdrawn_persons.sql'
    """
    from ips_eval.warehouse.tables import sql_tables

    sql_dir = Path(sql_dir or SQL_DIR)
    return {**{t.name: t.path for t in sql_tables(sql_dir)},
            **{f"audit.{p.stem}": p for p in sorted((sql_dir / "audit").glob("*.sql"))}}


def table_contract(name: str, sql_dir: Path | str | None = None) -> TableContract:
    """The contract of table `name` ('marts.x' or 'marts/x')."""
    key = name.replace("/", ".")
    contracts = table_contracts(sql_dir)
    if key not in contracts:
        raise KeyError(f"no contract declares {name!r}")
    return contracts[key]


# ---------------------------------------------------------------------------------------------
# Checking a built table against its contract


def built_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """column -> DuckDB type of a built table or view (empty when it does not exist).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE SCHEMA s; CREATE TABLE s.t (a INTEGER, b DECIMAL(18,2))")
    >>> built_columns(con, "s.t")
    {'a': 'INTEGER', 'b': 'DECIMAL(18,2)'}
    """
    # rows, not a DataFrame: the frame cost more to make than the query to answer
    return dict(con.execute(_test_sql("columns").read_text(encoding="utf-8"), {"table": table}).fetchall())


def column_differences(con: duckdb.DuckDBPyConnection, contract: TableContract) -> list[str]:
    """How the built table differs from its declared columns (empty: names and types agree).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE SCHEMA marts; CREATE TABLE marts.fidelity_current (alue VARCHAR, extra INTEGER)")
    >>> column_differences(con, table_contract("marts.fidelity_current"))[:2]  # doctest: +ELLIPSIS
    ['marts.fidelity_current: column extra is built but not declared (sql/marts/fidelity_current.yml)', ...]
    """
    built = built_columns(con, contract.name)
    where = _relative(contract.path)
    if not built:
        return [f"{contract.name}: table is missing"]
    out = [f"{contract.name}: column {c} is built but not declared ({where})" for c in built if c not in contract.types]
    for c, declared in contract.types.items():
        if c not in built:
            out.append(f"{contract.name}: column {c} is declared ({where}) but not built")
        elif built[c] != declared:
            out.append(f"{contract.name}: column {c} is built as {built[c]}, declared {declared} ({where})")
    return out


def run_test(con: duckdb.DuckDBPyConnection, table: str, test: ColumnTest) -> ColumnTestResult:
    """Run one declared test on a built table with its SQL of `sql/tests/`.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE SCHEMA s; CREATE TABLE s.t AS SELECT * FROM (VALUES (1), (2), (2), (NULL)) v(x)")
    >>> print(run_test(con, "s.t", ColumnTest("unique", ("x",))).message("s.t"))
    s.t.x: 1 key value(s) not unique (e.g. {'x': 2} x2)
    >>> run_test(con, "s.t", ColumnTest("range", ("x",), {"min": 0, "max": 1})).failures
    2
    """
    return _run(con, table, [test])[0]


def run_tests(con: duckdb.DuckDBPyConnection, contract: TableContract,
              tests: Iterable[ColumnTest] | None = None) -> list[ColumnTestResult]:
    """Every declared test of a table (or those given), in declaration order.

    Examples
    --------
    >>> results = run_tests(con, table_contract("marts.fidelity_current"))  # doctest: +SKIP
    >>> [r.message("marts.fidelity_current") for r in results if not r.passed]  # doctest: +SKIP
    []
    """
    return _run(con, contract.name, list(contract.tests if tests is None else tests))


def _run(con: duckdb.DuckDBPyConnection, table: str, tests: list[ColumnTest]) -> list[ColumnTestResult]:
    """The tests in one statement: each test's query as a numbered branch of a UNION ALL, its
    parameters renamed apart. A query costs far more to send and plan than to run on a table of
    a few rows, and a table declares several tests."""
    if not tests:
        return []
    branches, params = [], {}
    for i, test in enumerate(tests):
        sql = re.sub(r"\$(\w+)", lambda m: f"${m.group(1)}_{i}", _test_sql(test.kind).read_text(encoding="utf-8"))
        branches.append(f"SELECT {i} AS test, failures, examples FROM (\n{sql}\n)")
        params.update({f"{k}_{i}": v for k, v in test.parameters(table).items()})
    rows = {i: (failures, examples) for i, failures, examples
            in con.execute("\nUNION ALL\n".join(branches), params).fetchall()}
    return [ColumnTestResult(t, int(rows[i][0]), tuple(str(e) for e in rows[i][1] or ()))
            for i, t in enumerate(tests)]


def _test_sql(kind: str) -> Path:
    return SQL_DIR / "tests" / f"{kind}.sql"


def _relative(path: Path) -> str:
    try:
        return path.relative_to(path.parent.parent.parent).as_posix()
    except ValueError:
        return str(path)
