"""The one resource every asset shares: which delivery, which cut-off, which warehouse."""


import datetime as dt
import os
from pathlib import Path

import dagster as dg

from ips_eval.warehouse.database import WarehouseBuild
from ips_eval.warehouse.lock import warehouse_lock
from ips_eval.warehouse.publish import figures_build_dir, settle

DEMO_DIR = Path("data/demo")


class StudyRun(dg.ConfigurableResource):
    """A run of the study pipeline.

    Defaults come from environment variables so that `dagster dev` users point the UI at
    their landing folder once; the CLI and the schedule pass explicit values.

    For the length of a run the resource holds the warehouse's lock (one run at a time; a
    run started from the CLI already holds it, and the lock is re-entrant), and first puts
    away what dead runs left (`ips_eval.warehouse.publish.settle`).
    """

    input_dir: str = os.environ.get("IPS_EVAL_INPUT", str(DEMO_DIR / "delivery"))
    cutoff: str = os.environ.get("IPS_EVAL_CUTOFF", "2024-12-31")
    warehouse: str = os.environ.get("IPS_EVAL_WAREHOUSE", str(DEMO_DIR / "warehouse.duckdb"))
    #: "current": a run starts from a copy of the published warehouse (a UI run of some
    #: assets still ends complete); "empty": a full rebuild (the CLI).
    start_from: str = os.environ.get("IPS_EVAL_START_FROM", "current")
    figures_dir: str = os.environ.get("IPS_EVAL_FIGURES", "")
    site_dir: str = os.environ.get("IPS_EVAL_SITE", "")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run_id = context.run_id or "manual"
        lock = warehouse_lock(Path(self.warehouse).resolve(), run_id,
                              on_wait=context.log.warning if context.log else None)
        lock.__enter__()
        _HELD[run_id] = lock
        settle(Path(self.warehouse).resolve(), self.figures_path(), self.site_path(), running=run_id)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.build(context.run_id or "manual").release()
        lock = _HELD.pop(context.run_id or "manual", None)
        if lock is not None:
            lock.__exit__(None, None, None)

    @property
    def cutoff_date(self) -> dt.date:
        return dt.date.fromisoformat(self.cutoff)

    @property
    def delivery(self) -> Path:
        return Path(self.input_dir)

    def build(self, run_id: str) -> WarehouseBuild:
        return WarehouseBuild(Path(self.warehouse).resolve(), run_id, self.start_from)

    def figures_path(self) -> Path:
        """Where the published run's figures are: beside the warehouse unless configured."""
        if self.figures_dir:
            return Path(self.figures_dir).resolve()
        return Path(self.warehouse).resolve().parent / "figures"

    def figures_build_dir(self, run_id: str) -> Path:
        """Figures of a run in progress; moved to figures_path() with the warehouse swap, so the
        published figures always belong to the published warehouse."""
        return figures_build_dir(self.figures_path(), run_id)

    def site_path(self) -> Path | None:
        """The public site folder, or None when this run builds no site."""
        return Path(self.site_dir).resolve() if self.site_dir else None


#: The lock each run of this process holds, by run id (a resource is a frozen model).
_HELD: dict = {}
