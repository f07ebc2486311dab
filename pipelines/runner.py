"""Run the whole asset graph in-process, exactly as the Dagster UI would, and report.

The CLI's `run` and `demo` call this; it is Dagster's `materialize` over `defs`' assets and
checks with the run's resource, and it discards the run's build file when anything failed,
so the published warehouse stays as it was. The whole run, clean-up included, holds the
warehouse's lock (`ips_eval.release.lock`): a second run waits for it, bounded, or refuses.
`refit_model` runs one model and what is downstream of it on the published warehouse, at its
cut-off: the supported partial run (docs/release.md).
"""

import datetime as dt
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dagster as dg

from ips_eval.release.guard import published_run
from ips_eval.release.lock import WarehouseBusy, warehouse_lock
from ips_eval.release.publish import settle
from ips_eval.warehouse.database import connect
from pipelines.definitions import all_assets, all_checks
from pipelines.progress import progress_logger
from pipelines.resources import StudyRun

#: The whole graph, as "Materialize all" in the UI; run in-process by the CLI.
RUN_JOB = dg.define_asset_job("ips_eval_run", selection=dg.AssetSelection.all())

#: How many runs one in-memory Dagster instance of this process records before a new one is made.
RUNS_PER_INSTANCE = 20
_instance_lock = threading.Lock()
_instance: dict = {"current": None, "runs": 0}


def _dagster_instance() -> dg.DagsterInstance:
    """The in-memory Dagster instance the next run of this process records its events in.

    `execute_in_process` would make a new one for every run, creating and stamping its storage
    each time; a process that runs the pipeline more than once (the tests, a notebook, refits)
    keeps one. Each run is deleted from it once its result is read (`_execute` reads only the
    result), and a new instance is made every RUNS_PER_INSTANCE runs, since what the runs leave
    behind besides their events (the job's snapshots) stays in it."""
    with _instance_lock:
        if _instance["current"] is None or _instance["runs"] >= RUNS_PER_INSTANCE:
            _instance["current"], _instance["runs"] = dg.DagsterInstance.ephemeral(), 0
        _instance["runs"] += 1
        return _instance["current"]


def _step_count() -> int:
    """Steps of a whole run: one per asset and one per asset check."""
    return sum(len(list(a.keys)) for a in all_assets) + len(all_checks)


class PipelineFailed(Exception):
    """The run did not publish; the message says why (the first failure of the run)."""


@dataclass
class RunSummary:
    run_id: str
    warehouse: Path
    cutoff: dt.date
    loads: list[tuple] = field(default_factory=list)  # (file, read, accepted, rejected, withdrawn, empty)
    site: Path | None = None
    figures: Path | None = None
    allowed: list[str] = field(default_factory=list)  # what the release guard let through explicitly

    @property
    def rows_accepted(self) -> int:
        return sum(r[2] for r in self.loads)

    @property
    def rows_rejected(self) -> int:
        return sum(r[3] for r in self.loads)


def run_pipeline(
    input_dir: Path,
    cutoff: dt.date,
    warehouse: Path,
    site_dir: Path | None = None,
    figures_dir: Path | None = None,
    start_from: str = "empty",
    log_level: str = "CRITICAL",
    progress: bool = False,
    on_wait: Callable[[str], None] | None = None,
    allow_shrink: bool = False,
    allow_future_cutoff: bool = False,
    allow_republish: bool = False,
) -> RunSummary:
    """Run the whole graph on one delivery; `on_wait` hears once if another run holds the warehouse.

    The release guard refuses a run that shrinks or goes back unless `allow_shrink`, and one
    whose cut-off runs ahead of today or of the delivery unless `allow_future_cutoff`; the site
    refuses to replace a quarter published from another delivery or code unless `allow_republish`."""
    study = StudyRun(
        input_dir=str(Path(input_dir).resolve()),
        cutoff=cutoff.isoformat(),
        warehouse=str(Path(warehouse).resolve()),
        start_from=start_from,
        figures_dir=str(figures_dir) if figures_dir else "",
        site_dir=str(site_dir) if site_dir else "",
        allow_shrink=allow_shrink,
        allow_future_cutoff=allow_future_cutoff,
        allow_republish=allow_republish,
    )
    return _execute(study, RUN_JOB, log_level, progress, on_wait)


def refit_model(
    model: str,
    warehouse: Path,
    site_dir: Path | None = None,
    figures_dir: Path | None = None,
    log_level: str = "CRITICAL",
    progress: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> RunSummary:
    """Refit one model on the published warehouse and publish it with what depends on it.

    The run starts from a copy of the published warehouse, at its cut-off, and materialises
    `models/<model>`, everything downstream of it (the site) and the swap; the tables it does
    not touch stay the published run's, so the recorded cut-off is the tables' own.
    """
    from ips_eval.models.registry import MODELS

    if model not in MODELS:
        raise PipelineFailed(f"no model {model!r}; the models are: {', '.join(sorted(MODELS))}")
    warehouse = Path(warehouse).resolve()
    if not warehouse.exists():
        raise PipelineFailed(f"no published warehouse at {warehouse} to refit {model} on: run `ips-eval run` first")
    with connect(warehouse, read_only=True) as con:
        cutoff = published_run(con)[1]
    if cutoff is None:
        raise PipelineFailed(f"the warehouse {warehouse} records no published run to refit {model} on")
    study = StudyRun(
        input_dir="", cutoff=cutoff.isoformat(), warehouse=str(warehouse), start_from="current",
        figures_dir=str(figures_dir) if figures_dir else "", site_dir=str(site_dir) if site_dir else "",
        allow_republish=True,  # a refit is asked for to correct the published quarter; its page says so
    )
    job = dg.define_asset_job(
        "ips_eval_refit", selection=dg.AssetSelection.assets(dg.AssetKey(["models", model])).downstream())
    return _execute(study, job, log_level, progress, on_wait)


def _execute(study: StudyRun, job_def, log_level: str, progress: bool,
             on_wait: Callable[[str], None] | None) -> RunSummary:
    cutoff = study.cutoff_date
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    definitions = dg.Definitions(
        assets=all_assets,
        asset_checks=all_checks,
        jobs=[job_def],
        resources={"study": study},
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
        executor=dg.in_process_executor,
    )
    job = definitions.resolve_job_def(job_def.name)
    loggers: dict = {"console": {"config": {"log_level": log_level}}}
    if progress:
        loggers["progress"] = {"config": {"total": len(job.get_execution_plan().step_keys_to_execute)
                                          if hasattr(job, "get_execution_plan") else _step_count()}}
    run_id = str(uuid.uuid4())
    instance = _dagster_instance()
    try:
        with warehouse_lock(study.warehouse, run_id, on_wait=on_wait):
            settle(Path(study.warehouse), study.figures_path(), study.site_path())
            try:
                result = job.execute_in_process(
                    run_config={"loggers": loggers},
                    instance=instance,
                    tags={"ips_eval/cutoff": cutoff.isoformat()},
                    raise_on_error=False,
                    run_id=run_id,
                )
            finally:
                instance.delete_run(run_id)
            if not result.success or not _published(result):
                study.build(result.run_id).discard()
                settle(Path(study.warehouse), study.figures_path(), study.site_path())
    except WarehouseBusy as e:
        _log_run(study, run_id, started, "refused", str(e))
        raise PipelineFailed(str(e)) from None
    except OSError as e:  # the lock file cannot be written where the warehouse should go
        from ips_eval.warehouse.database import WarehouseWriteError

        raise PipelineFailed(str(WarehouseWriteError(Path(study.warehouse), e))) from None
    allowed = _allowed(result)
    if not result.success or not _published(result):
        reason = _first_failure(result)
        _log_run(study, result.run_id, started, "failed", reason, allowed)
        raise PipelineFailed(reason)
    _log_run(study, result.run_id, started, "published", "", allowed)
    # read from the run's own record, not by reopening the file: a process that still holds the
    # previous warehouse open would be handed that one by DuckDB
    loads = [tuple(r) for r in _published(result).metadata["loads"].value]
    return RunSummary(
        result.run_id,
        Path(study.warehouse),
        cutoff,
        loads,
        study.site_path(),
        study.figures_path(),
        allowed,
    )


#: Errors whose text says everything a researcher needs (a refused publication names the
#: table, row and column and what to do): passed on as they are.
_OWN_ERRORS = {"WarehouseWriteError", "DeliveryRefused", "IdentityCodeFound", "ReleaseRefused", "DisclosureError",
               "SiteScanError", "RepublishRefused"}


def _log_run(study: StudyRun, run_id: str, started: dt.datetime, status: str, reason: str,
             allowed: list[str] | None = None) -> None:
    """Every CLI run, published or not, in a log beside the warehouse: audit.runs of the warehouse
    holds the published runs, and a failed run must leave the warehouse untouched, so its record
    goes here (one JSON line per run)."""
    from ips_eval.warehouse.provenance import code_version

    path = Path(study.warehouse).resolve()
    record = {
        "run_id": run_id, "cutoff": study.cutoff, "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds"),
        "status": status, "reason": reason, "code_version": code_version(), "input": study.input_dir,
        "allowed": allowed or [],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f"{path.name}.runs.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError:
        pass  # an unwritable folder was already reported as the run's failure


def _published(result):
    """The materialisation of the `warehouse` asset (the swap), or None when it did not happen."""
    for e in result.all_events:
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and e.asset_key == dg.AssetKey(["warehouse"]):
            return e.event_specific_data.materialization
    return None


def _allowed(result) -> list[str]:
    """What the release guard let through because the run allowed it explicitly."""
    for e in result.all_events:
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION and e.event_specific_data.check_name == "release_guard":
            value = e.event_specific_data.metadata.get("allowed")
            if value is not None and value.value != "none":
                return value.value.split("; ")
    return []


def _first_failure(result) -> str:
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE:
            error = event.event_specific_data.error
            cause = error.cause if error is not None and error.cause is not None else error
            if cause is not None:
                head, _, rest = cause.message.strip().partition(": ")
                return rest if head.rsplit(".", 1)[-1] in _OWN_ERRORS and rest else cause.message.strip()
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            user = event.step_failure_data.user_failure_data
            if user is not None and user.description:
                return user.description
            cause = error.cause if error is not None and error.cause is not None else error
            if cause is None:
                return f"step {event.step_key} failed"
            message = cause.message.strip()
            # "module.ClassName: text" -> "text": the project's own errors say everything in their text;
            # anything else is named as unexpected, never by its class
            head, _, rest = message.partition(": ")
            name = head.rsplit(".", 1)[-1]
            if name in _OWN_ERRORS and rest:
                return rest
            if rest and re.fullmatch(r"\w+(Errors?|Exception|Interrupt)", name):
                return f"step {event.step_key} stopped on an unexpected problem: {rest.splitlines()[0]}"
            return message
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                if evaluation.description:
                    return evaluation.description
                problems = evaluation.metadata.get("problems")
                detail = f": {problems.value}" if problems is not None else ""
                return f"blocking check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed{detail}"
    return "the run did not reach the warehouse swap (a step was skipped after a failure)"


logging.getLogger("dagster").setLevel(logging.WARNING)
