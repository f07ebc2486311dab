"""One asset per warehouse table of `sql/`, found from the files (ips_eval.warehouse.tables).

A table's key is its qualified name, its upstream assets are the tables its SQL reads (the
ingest's consent purge stands for every `raw.*` table, `ref.*` tables are written with the
build and are not assets, a `models.*` table stands for the model asset that writes it), and its description is the file's header comment. Adding a file
to `sql/staging`, `sql/core` or `sql/marts` adds an asset; nothing here lists tables.
"""

from pathlib import Path

import dagster as dg

from ips_eval.models.registry import table_writer
from ips_eval.warehouse.tables import SqlTable, build_table, sql_tables, upstream_tables
from pipelines.assets.ingest import WITHDRAWALS_KEY
from pipelines.resources import StudyRun

#: The Dagster group of each built schema.
GROUPS = {"staging": "staging", "core": "outcomes", "marts": "outcomes"}


def table_key(qualified: str) -> dg.AssetKey:
    return dg.AssetKey(qualified.split("."))


def _deps(table: SqlTable, sql_dir: Path | None) -> list[dg.AssetKey]:
    deps = [table_key(r) for r in upstream_tables(table, sql_dir)]
    # a models.* table is written by a model's asset (models/<name>), not by a table asset
    deps += [dg.AssetKey(["models", w]) for w in sorted({table_writer(r) for r in table.model_inputs})]
    if any(r.startswith("raw.") for r in table.reads):
        deps.insert(0, WITHDRAWALS_KEY)
    return deps


def _table_asset(table: SqlTable, sql_dir: Path | None) -> dg.AssetsDefinition:
    @dg.asset(
        key=table_key(table.name),
        deps=_deps(table, sql_dir),
        group_name=GROUPS[table.schema],
        description=f"{table.description}\n\nBuilt by sql/{table.schema}/{table.path.name} as of the cut-off"
        f"{' (a view)' if table.kind == 'VIEW' else ''}.",
        tags={"layer": table.schema},
    )
    def _asset(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        with study.build(context.run_id).connection() as con:
            rows = build_table(con, table, study.cutoff_date)
        return dg.MaterializeResult(metadata={"rows": rows, "cutoff": study.cutoff})

    _asset.__name__ = table.name.replace(".", "_")
    return _asset


def table_assets(sql_dir: Path | str | None = None) -> list[dg.AssetsDefinition]:
    """The assets of every table of `sql_dir` (default: the project's `sql/`), in build order."""
    sql_dir = Path(sql_dir) if sql_dir else None
    return [_table_asset(t, sql_dir) for t in sql_tables(sql_dir)]


assets = table_assets()
TABLE_KEYS = [k for a in assets for k in a.keys]
