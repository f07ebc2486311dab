"""The one resource every asset shares: which delivery, which cut-off, which warehouse."""


import datetime as dt
import os
import shutil
from pathlib import Path

import dagster as dg

from ips_eval.release.guard import ReleaseRefused, published_run, record_delivery
from ips_eval.release.lock import warehouse_lock
from ips_eval.release.publish import figures_build_dir, figures_dir_for, settle
from ips_eval.release.selection import selection_problems
from ips_eval.warehouse.database import WarehouseBuild, connect

DEMO_DIR = Path("data/demo")

#: The job `dg.materialize` builds from a hand-picked list of assets (tests of single assets):
#: it holds no `warehouse` asset, so nothing of it can be published or mislabelled.
_EPHEMERAL_JOB = "__ephemeral_asset_job__"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


class StudyRun(dg.ConfigurableResource):
    """A run of the study pipeline.

    Defaults come from environment variables so that `dagster dev` users point the UI at
    their landing folder once; the CLI and the schedule pass explicit values.

    For the length of a run the resource holds the warehouse's lock (one run at a time; a
    run started from the CLI already holds it, and the lock is re-entrant), and first puts
    away what dead runs left (`ips_eval.release.publish.settle`). A run of part of the graph
    that cannot be published consistently is refused here, before any step
    (`ips_eval.release.selection`); a run that reads the delivery lists its files first, so
    the swap can refuse a delivery that changed meanwhile.
    """

    input_dir: str = os.environ.get("IPS_EVAL_INPUT", str(DEMO_DIR / "delivery"))
    cutoff: str = os.environ.get("IPS_EVAL_CUTOFF", "2024-12-31")
    warehouse: str = os.environ.get("IPS_EVAL_WAREHOUSE", str(DEMO_DIR / "warehouse.duckdb"))
    #: "current": a run starts from a copy of the published warehouse (a UI run of some
    #: assets still ends complete); "empty": a full rebuild (the CLI).
    start_from: str = os.environ.get("IPS_EVAL_START_FROM", "current")
    figures_dir: str = os.environ.get("IPS_EVAL_FIGURES", "")
    site_dir: str = os.environ.get("IPS_EVAL_SITE", "")
    #: Publish even though the run has fewer records than the published warehouse, misses an
    #: export or goes back to an earlier cut-off (docs/release.md); the run log records it.
    allow_shrink: bool = _flag("IPS_EVAL_ALLOW_SHRINK")
    #: Publish with a cut-off after today or after the delivery's data (docs/release.md).
    allow_future_cutoff: bool = _flag("IPS_EVAL_ALLOW_FUTURE_CUTOFF")
    #: Replace a quarter's published site snapshot with one from another delivery or code: a
    #: correction, which the page then states (docs/release.md).
    allow_republish: bool = _flag("IPS_EVAL_ALLOW_REPUBLISH")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run_id = context.run_id or "manual"
        lock = warehouse_lock(Path(self.warehouse).resolve(), run_id,
                              on_wait=context.log.warning if context.log else None)
        lock.__enter__()
        _HELD[run_id] = lock
        try:
            settle(Path(self.warehouse).resolve(), self.figures_path(), self.site_path(), running=run_id)
            selected = self._check_selection(context)
            if selected is None or "audit/delivery_guard" in selected:
                if self.input_dir:  # a refit reads no delivery: "" would list the working directory
                    record_delivery(self.build(run_id).path, self.delivery)
            elif self.start_from == "current":
                self._carry_figures(run_id)
        except BaseException:
            _HELD.pop(run_id, None)
            lock.__exit__(None, None, None)
            raise

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.build(context.run_id or "manual").release()
        lock = _HELD.pop(context.run_id or "manual", None)
        if lock is not None:
            lock.__exit__(None, None, None)

    def _check_selection(self, context: dg.InitResourceContext) -> set[str] | None:
        """The run's assets when it runs part of the graph (None: all of it); refuses a part
        that cannot be published consistently, naming the assets to add."""
        run = context.dagster_run
        if run is None or not run.asset_selection or run.job_name == _EPHEMERAL_JOB:
            return None
        from pipelines.definitions import asset_graph  # the graph imports this module

        graph = asset_graph()
        selected = {k.to_user_string() for k in run.asset_selection}
        if selected >= set(graph):
            return None
        problems = selection_problems(graph, selected, self.cutoff_date, self.published_cutoff(), self.start_from)
        if problems:
            if context.log:
                for p in problems:
                    context.log.error(p)
            raise ReleaseRefused("this selection cannot be published consistently: " + "; ".join(problems))
        return selected

    def _carry_figures(self, run_id: str) -> None:
        """A partial run redraws only its own figures; the others are the published run's."""
        build, published = self.figures_build_dir(run_id), self.figures_path()
        if published.is_dir() and not build.exists():
            shutil.copytree(published, build)

    def published_cutoff(self) -> dt.date | None:
        """The cut-off of the published warehouse, None without one."""
        path = Path(self.warehouse).resolve()
        if not path.exists():
            return None
        with connect(path, read_only=True) as con:
            return published_run(con)[1]

    @property
    def cutoff_date(self) -> dt.date:
        return dt.date.fromisoformat(self.cutoff)

    @property
    def delivery(self) -> Path:
        return Path(self.input_dir)

    def build(self, run_id: str) -> WarehouseBuild:
        return WarehouseBuild(Path(self.warehouse).resolve(), run_id, self.start_from)

    def figures_path(self) -> Path:
        """Where the published run's figures are: `<warehouse stem>.figures/` beside the
        warehouse unless configured, so two warehouses in one folder keep their own."""
        if self.figures_dir:
            return Path(self.figures_dir).resolve()
        return figures_dir_for(Path(self.warehouse).resolve())

    def figures_build_dir(self, run_id: str) -> Path:
        """Figures of a run in progress; moved to figures_path() with the warehouse swap, so the
        published figures always belong to the published warehouse."""
        return figures_build_dir(self.figures_path(), run_id)

    def site_path(self) -> Path | None:
        """The public site folder, or None when this run builds no site."""
        return Path(self.site_dir).resolve() if self.site_dir else None


#: The lock each run of this process holds, by run id (a resource is a frozen model).
_HELD: dict = {}
