"""Outcome assets: one per table of ips_eval.outcomes.OUTCOME_TABLES, plus blocking checks."""

import dagster as dg

from ips_eval.faults import failpoint
from ips_eval.outcome_checks import CHECKED_TABLES, CHECKS
from ips_eval.outcomes import OUTCOME_TABLES, OutcomeTable, build_outcome_table
from pipelines.assets.staging import table_key
from pipelines.resources import StudyRun

OUTCOME_KEYS = [table_key(t.name) for t in OUTCOME_TABLES]


def _outcome_asset(table: OutcomeTable) -> dg.AssetsDefinition:
    deps = [table_key(d) for d in table.depends_on if not d.startswith("ref.")]

    @dg.asset(
        key=table_key(table.name),
        deps=deps,
        group_name="outcomes",
        description=f"{table.description} Built by sql/{table.sql_name}.sql as of the cut-off.",
        tags={"layer": table.schema},
    )
    def _asset(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        with study.build(context.run_id).connection() as con:
            build_outcome_table(con, table.name, study.cutoff_date)
            rows = con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
            failpoint(table.sql_name)
        return dg.MaterializeResult(metadata={"rows": rows, "cutoff": study.cutoff})

    _asset.__name__ = table.name.replace(".", "_")
    return _asset


def _covered(check: str) -> list[str]:
    names = [t.name for t in OUTCOME_TABLES]
    covered = []
    for pattern in CHECKED_TABLES[check]:
        if pattern.endswith(".*"):
            covered += [n for n in names if n.startswith(pattern[:-1])]
        else:
            covered.append(pattern)
    return sorted(set(covered), key=names.index)


def _outcome_check(check: str) -> dg.AssetChecksDefinition:
    covered = _covered(check)
    fn = CHECKS[check]

    @dg.asset_check(
        asset=table_key(covered[-1]),
        name=check,
        blocking=True,
        additional_deps=[table_key(t) for t in covered[:-1]],
        description=(fn.__doc__ or check).strip().splitlines()[0] + f" Covers: {', '.join(covered)}.",
    )
    def _check(context: dg.AssetCheckExecutionContext, study: StudyRun) -> dg.AssetCheckResult:
        with study.build(context.run.run_id).connection() as con:
            if check == "no_withdrawn_or_nonconsenting":
                problems = fn(con, study.cutoff_date)
            else:
                problems = fn(con)
        return dg.AssetCheckResult(
            passed=not problems, metadata={"problems": "; ".join(problems[:20]) or "none", "n_problems": len(problems)}
        )

    _check.__name__ = f"check_{check}"
    return _check


outcome_assets = [_outcome_asset(t) for t in OUTCOME_TABLES]
outcome_checks = [_outcome_check(c) for c in CHECKS]
