"""The blocking checks on the outcome tables (ips_eval.warehouse.outcome_checks)."""

import dagster as dg

from ips_eval.warehouse.outcome_checks import CHECKED_TABLES, CHECKS
from ips_eval.warehouse.tables import sql_tables
from pipelines.assets.tables import table_key
from pipelines.resources import StudyRun


def _covered(check: str) -> list[str]:
    names = [t.name for t in sql_tables() if t.schema in ("core", "marts")]
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


outcome_checks = [_outcome_check(c) for c in CHECKS]
