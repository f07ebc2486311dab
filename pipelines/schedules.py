"""The quarterly refresh: on the first day of January, April, July and October, everything is
materialised with the cut-off = the last day of the previous quarter, reading the delivery
from the landing folder. Each quarter's site snapshot is kept under `<site>/<quarter>/`, and a
re-run of a past quarter (the same cut-off, the same delivery) reproduces it.

The schedule never allows what the release guard refuses (docs/release.md): a landing folder
that is incomplete or late fails the quarter's run, and the run's log says why (the blocking
check `release_guard` logs each refusal with its figures); the published warehouse and site
stay as they were. The cut-off, the last day of the previous quarter, is never after the day the
schedule runs, and a delivery exported after the quarter has data in it.
"""

import datetime as dt
import os

import dagster as dg

from ips_eval.definitions import previous_quarter_end, quarter_label

QUARTERLY_CRON = "0 0 1 1,4,7,10 *"
TIMEZONE = "Europe/Helsinki"


def refresh_run_config(cutoff: dt.date) -> dict:
    """The run's resource config: the landing folder, the quarter's cut-off, the published paths."""
    landing = os.environ.get("IPS_EVAL_LANDING", "data/landing")
    warehouse = os.environ.get("IPS_EVAL_WAREHOUSE", "data/warehouse.duckdb")
    site = os.environ.get("IPS_EVAL_SITE", "data/site")
    return {
        "resources": {
            "study": {
                "config": {
                    "input_dir": landing,
                    "cutoff": cutoff.isoformat(),
                    "warehouse": warehouse,
                    "site_dir": site,
                    "start_from": "empty",
                }
            }
        }
    }


def quarterly_refresh_schedule(job) -> dg.ScheduleDefinition:
    @dg.schedule(
        cron_schedule=QUARTERLY_CRON,
        job=job,
        execution_timezone=TIMEZONE,
        description="Quarterly refresh: the whole graph with the cut-off = the last day of the previous quarter. "
        "A release the guard refuses fails the run, which says why in its log (docs/release.md).",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def quarterly_refresh(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.date()
        cutoff = previous_quarter_end(day)
        return dg.RunRequest(
            run_key=quarter_label(cutoff),
            run_config=refresh_run_config(cutoff),
            tags={"ips_eval/cutoff": cutoff.isoformat(), "ips_eval/quarter": quarter_label(cutoff)},
        )

    return quarterly_refresh
