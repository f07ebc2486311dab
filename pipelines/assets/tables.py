"""One asset per warehouse table of `sql/`, found from the files (ips_eval.warehouse.tables).

A table's key is its qualified name, its upstream assets are the tables its SQL reads (the
ingest's consent purge stands for every `raw.*` table, `ref.*` tables are written with the
build and are not assets, a `models.*` table stands for the model asset that writes it), and
its description is the file's header comment. Adding a file to `sql/staging`, `sql/core` or
`sql/marts` adds an asset; nothing here lists tables.

Its columns (shown in the Dagster UI) and its asset check come from its contract
(`sql/<schema>/<table>.yml`, ips_eval.warehouse.table_contracts): the one check `contract`
holds that the built columns and types are the declared ones and that every declared test
passes, and reports each test by its name (`<column>_<test>`) with its failing rows. It runs
in the asset's own step, right after the build, and is blocking: a failure fails the step, so
nothing that reads the table is built and the run publishes nothing. One check per table
rather than one per test: each check is an event of the run, and a run of one-check-per-test
spent more of its time recording evaluations than building tables.
"""

from pathlib import Path

import dagster as dg

from ips_eval.models.registry import table_writer
from ips_eval.warehouse.table_contracts import TableContract, column_differences, run_tests, table_contracts
from ips_eval.warehouse.tables import SqlTable, build_table, sql_tables, upstream_tables
from pipelines.assets.ingest import WITHDRAWALS_KEY
from pipelines.resources import StudyRun

#: The Dagster group of each built schema.
GROUPS = {"staging": "staging", "core": "outcomes", "marts": "outcomes"}
#: The one asset check of every table: its contract (declared columns and types, declared tests).
CONTRACT_CHECK = "contract"


def table_key(qualified: str) -> dg.AssetKey:
    return dg.AssetKey(qualified.split("."))


def _deps(table: SqlTable, sql_dir: Path | None) -> list[dg.AssetKey]:
    deps = [table_key(r) for r in upstream_tables(table, sql_dir)]
    # a models.* table is written by a model's asset (models/<name>), not by a table asset
    deps += [dg.AssetKey(["models", w]) for w in sorted({table_writer(r) for r in table.model_inputs})]
    if any(r.startswith("raw.") for r in table.reads):
        deps.insert(0, WITHDRAWALS_KEY)
    return deps


def _check_spec(table: SqlTable, contract: TableContract) -> dg.AssetCheckSpec:
    where = f"sql/{table.schema}/{contract.path.name}"
    tests = "; ".join(f"{t.check_name} ({'/'.join(t.columns)}: {t.text})" for t in contract.tests)
    return dg.AssetCheckSpec(
        CONTRACT_CHECK, asset=table_key(table.name), blocking=True,
        description=f"The built columns and their types are those declared in {where}, and its declared "
                    f"tests pass: {tests or 'none declared'}.")


def _check_result(con, table: SqlTable, contract: TableContract) -> dg.AssetCheckResult:
    """The contract check: the columns first (the tests name columns that may not be there),
    then every declared test, each reported by name with its count of failing rows."""
    differences = column_differences(con, contract)
    if differences:
        return dg.AssetCheckResult(check_name=CONTRACT_CHECK, passed=False, metadata={
            "problems": "; ".join(differences), "tests": "not run: the columns differ from the contract"})
    results = run_tests(con, contract)
    failed = [r for r in results if not r.passed]
    return dg.AssetCheckResult(check_name=CONTRACT_CHECK, passed=not failed, metadata={
        "problems": "; ".join(f"{r.test.check_name}: {r.message(table.name)}" for r in failed) or "none",
        "tests": dg.MetadataValue.json({r.test.check_name: r.failures for r in results})})


def _table_asset(table: SqlTable, contract: TableContract, sql_dir: Path | None) -> dg.AssetsDefinition:
    @dg.asset(
        key=table_key(table.name),
        deps=_deps(table, sql_dir),
        group_name=GROUPS[table.schema],
        description=f"{table.description}\n\nBuilt by sql/{table.schema}/{table.path.name} as of the cut-off"
        f"{' (a view)' if table.kind == 'VIEW' else ''}.",
        tags={"layer": table.schema},
        metadata={"dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(c.name, c.type, description=c.description or None) for c in contract.columns])},
        check_specs=[_check_spec(table, contract)],
    )
    def _asset(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        with study.build(context.run_id).connection() as con:
            rows = build_table(con, table, study.cutoff_date)
            check = _check_result(con, table, contract)
        return dg.MaterializeResult(metadata={"rows": rows, "cutoff": study.cutoff}, check_results=[check])

    _asset.__name__ = table.name.replace(".", "_")
    return _asset


def table_assets(sql_dir: Path | str | None = None) -> list[dg.AssetsDefinition]:
    """The assets of every table of `sql_dir` (default: the project's `sql/`), in build order."""
    sql_dir = Path(sql_dir) if sql_dir else None
    contracts = table_contracts(sql_dir)
    return [_table_asset(t, contracts[t.name], sql_dir) for t in sql_tables(sql_dir)]


assets = table_assets()
TABLE_KEYS = [k for a in assets for k in a.keys]
