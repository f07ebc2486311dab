"""A progress bar for long CLI runs, fed by Dagster's own step events."""

import logging

import dagster as dg
from tqdm import tqdm

DONE = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED", "STEP_UP_FOR_RETRY"}


class _StepBar(logging.Handler):
    def __init__(self, total: int):
        super().__init__(level=logging.DEBUG)
        self.total = total
        self.bar: tqdm | None = None  # made at the first step, so a logger that sees none draws nothing

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        if event is None:
            return
        if self.bar is None:
            if event.event_type_value != "STEP_START":
                return
            self.bar = tqdm(total=self.total, unit="step", desc="ips-eval", leave=True, dynamic_ncols=True)
        if event.event_type_value == "STEP_START":
            self.bar.set_description_str(event.step_key or "ips-eval")
        elif event.event_type_value in DONE:
            self.bar.update(1)
        elif event.event_type_value in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
            self.bar.set_description_str("done" if event.event_type_value == "PIPELINE_SUCCESS" else "failed")
            self.bar.total = max(self.bar.n, 1)  # skipped steps after a failure never report
            self.bar.refresh()
            self.bar.close()


@dg.logger(
    config_schema={"total": dg.Field(int, default_value=0)},
    description="A tqdm progress bar of the run's steps on stderr.",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("ips_eval.progress", level=logging.DEBUG)
    logger.addHandler(_StepBar(init_context.logger_config["total"]))
    return logger
