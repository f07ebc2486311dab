"""What one whole pipeline run on the tests' minimal delivery costs, run after run in one process.

    .venv/bin/python benchmarks/whole_run.py [--runs 3] [--steps]

The first run of a process pays the imports and draws every chart and workbook; the later
ones are what a test session's further runs cost (charts, workbooks and scan results are
remembered per process). Prints each run's CPU time of the process (`time.process_time`:
on a shared machine the wall time swings with the load, the CPU time far less) and wall
time; `--steps` adds, for the last run, the time between each step's STEP_START and
STEP_SUCCESS events by asset layer, the slowest steps and the number of events stored.
Run without a profiler: cProfile roughly doubles the time of Dagster's own code.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from deliveries import minimal_delivery, row

    from dagster import DagsterInstance
    from dagster._core.definitions.job_definition import JobDefinition
    from pipelines.runner import run_pipeline

    instances: list = []
    if args.steps:  # keep the run's instance, to read its events back
        execute = JobDefinition.execute_in_process

        def keeping(self, *a, **kw):
            kw["instance"] = DagsterInstance.ephemeral()
            instances.append(kw["instance"])
            return execute(self, *a, **kw)

        JobDefinition.execute_in_process = keeping

    base = Path(tempfile.mkdtemp(prefix="whole_run_"))
    try:
        for i in range(args.runs):
            root = base / str(i)
            delivery = minimal_delivery(root / "delivery", clients=[row("clients", person_id="P000002", alue="Lahti")])
            cpu, wall = time.process_time(), time.perf_counter()
            summary = run_pipeline(delivery, dt.date(2024, 12, 31), root / "out" / "w.duckdb",
                                   site_dir=root / "out" / "site")
            print(f"run {i + 1}: CPU {time.process_time() - cpu:.2f} s, wall {time.perf_counter() - wall:.2f} s, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
            shutil.rmtree(root)
        if args.steps:
            _steps(instances[-1], summary.run_id)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def step_times(records) -> tuple[dict[str, float], collections.Counter]:
    """Each step's seconds from its STEP_START to its STEP_SUCCESS event (a step that did not
    succeed has none), and how many events of each kind the run stored."""
    started, took = {}, {}
    kinds: collections.Counter = collections.Counter()
    for r in records:
        if r.dagster_event is None:
            continue
        kind = r.dagster_event.event_type_value
        kinds[kind] += 1
        if kind == "STEP_START":
            started[r.step_key] = r.timestamp
        elif kind == "STEP_SUCCESS" and r.step_key in started:
            took[r.step_key] = r.timestamp - started[r.step_key]
    return took, kinds


def _steps(instance, run_id: str) -> None:
    records = instance.all_logs(run_id)
    took, kinds = step_times(records)
    layers: dict[str, list[float]] = collections.defaultdict(list)
    for step, s in took.items():
        layers[step.split("__")[0]].append(s)
    print(f"{len(records)} events stored, {len(took)} steps, {sum(took.values()):.2f} s within steps, "
          f"{records[-1].timestamp - records[0].timestamp:.2f} s from first to last event")
    for layer, times in sorted(layers.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {layer:<12} {len(times):>3} steps {sum(times):6.2f} s")
    print("slowest steps:")
    for step, s in sorted(took.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {s:6.3f} s {step}")
    print("events:", ", ".join(f"{k} {n}" for k, n in kinds.most_common()))


if __name__ == "__main__":
    main()
