"""Ingest assets: the identity-code guard, then one asset per export of the delivery."""


import dagster as dg

from ips_eval.ingest.contracts import Contract, load_contracts
from ips_eval.ingest.delivery import DeliveryRefused
from ips_eval.ingest.guard import scan_delivery
from ips_eval.ingest.identity import IdentityCodeFound
from ips_eval.ingest.load import ingest_export
from pipelines.resources import StudyRun

GUARD_KEY = dg.AssetKey(["audit", "delivery_guard"])


@dg.asset(
    key=GUARD_KEY,
    group_name="ingest",
    description="Scans every file of the delivery for Finnish personal identity codes before anything is written; "
    "a code anywhere stops the run, naming file, line and column but never the code.",
)
def delivery_guard(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
    try:
        n = scan_delivery(study.delivery)
    except (IdentityCodeFound, DeliveryRefused) as e:
        raise dg.Failure(description=str(e)) from None
    return dg.MaterializeResult(metadata={"files_scanned": n, "delivery": str(study.delivery)})


#: The one asset check of every raw table, run in the asset's own step.
ACCOUNTED_CHECK = "rows_accounted"


def _accounted_spec(contract: Contract) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        ACCOUNTED_CHECK, asset=dg.AssetKey(["raw", contract.export]), blocking=True,
        description="rows read = rows accepted + rejected + withdrawn + empty lines; accepted and rejected "
        "counted from the tables themselves.")


def _raw_asset(contract: Contract) -> dg.AssetsDefinition:
    """The asset of one export, with its line-accounting check: the check runs in the asset's own
    step, right after the load, as a table's contract does (pipelines.assets.tables), and is
    blocking, so a failure fails the step. A check of its own would be a step of its own, each
    paying for the run's bookkeeping of a step."""
    deps = [GUARD_KEY] + ([dg.AssetKey(["raw", "clients"])] if contract.references else [])

    @dg.asset(
        key=dg.AssetKey(["raw", contract.export]),
        deps=deps,
        group_name="ingest",
        description=f"{contract.description} Read from `{contract.file}` as delivered, validated against "
        f"data_contracts/{contract.export}.yaml; rejected rows go to audit.rejected_rows.",
        tags={"layer": "raw"},
        check_specs=[_accounted_spec(contract)],
    )
    def _asset(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        from ips_eval.warehouse.audit_checks import rows_accounted

        try:
            with study.build(context.run_id).connection() as con:
                result = ingest_export(con, study.delivery, contract)
                problems = rows_accounted(con, contract.export)
        except DeliveryRefused as e:
            raise dg.Failure(description=str(e)) from None
        context.log.info(
            f"{result.file or contract.file}: {result.rows_read} rows read, {result.rows_accepted} accepted, "
            f"{result.rows_rejected} rejected"
        )
        return dg.MaterializeResult(
            metadata={
                "file": result.file or "(not delivered)",
                "rows_read": result.rows_read,
                "rows_accepted": result.rows_accepted,
                "rows_rejected": result.rows_rejected,
                "rejected_by_rule": dg.MetadataValue.json(result.rejected_by_rule),
                "notes": "; ".join(result.notes),
            },
            check_results=[dg.AssetCheckResult(check_name=ACCOUNTED_CHECK, passed=not problems,
                                               metadata={"problems": "; ".join(problems) or "none"})],
        )

    _asset.__name__ = f"raw_{contract.export}"
    return _asset


CONTRACTS = load_contracts()
raw_assets = [_raw_asset(c) for c in CONTRACTS.values()]


WITHDRAWALS_KEY = dg.AssetKey(["audit", "consent_withdrawals"])


@dg.asset(
    key=WITHDRAWALS_KEY,
    deps=[a.key for a in raw_assets],
    group_name="ingest",
    description="Removes every row of clients who withdrew research consent on or before the cut-off from all raw "
    "tables and from the rejected rows, so the new warehouse holds nothing of them; each removed row is "
    "counted in audit.loads.rows_withdrawn of its file, apart from the rejected rows.",
)
def consent_withdrawals(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
    from ips_eval.ingest.withdrawals import purge_withdrawn

    with study.build(context.run_id).connection() as con:
        summary = purge_withdrawn(con, study.cutoff_date)
    removed = sum(r for r, _, _ in summary.values())
    return dg.MaterializeResult(metadata={"rows_removed": removed, "by_export": dg.MetadataValue.json(
        {k: {"removed": r, "rejected_rows_erased": e} for k, (r, e, _) in summary.items()})})


@dg.asset_check(
    asset=WITHDRAWALS_KEY,
    name="nothing_of_withdrawn_persons_remains",
    blocking=True,
    description="After the purge no table holds a row of a withdrawn person, and every file still balances: "
    "rows read = accepted + rejected + withdrawn + empty lines.",
)
def withdrawals_check(context: dg.AssetCheckExecutionContext, study: StudyRun) -> dg.AssetCheckResult:
    from ips_eval.warehouse.audit_checks import rows_accounted
    from ips_eval.ingest.withdrawals import purge_problems

    with study.build(context.run.run_id).connection() as con:
        problems = purge_problems(con) + [p for c in CONTRACTS for p in rows_accounted(con, c)]
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "; ".join(problems) or "none"})
