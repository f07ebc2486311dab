"""The whole-run benchmark's step times from a run's events (benchmarks/whole_run.py)."""

from types import SimpleNamespace

import pytest

from scripts import load_script


def _record(kind, step, at):
    return SimpleNamespace(dagster_event=SimpleNamespace(event_type_value=kind), step_key=step, timestamp=at)


def test_a_step_takes_from_its_start_to_its_success_and_a_failed_step_has_no_time():
    bench = load_script("benchmarks/whole_run.py")
    records = [
        _record("PIPELINE_START", None, 0.0),
        _record("STEP_START", "raw__clients", 1.0),
        _record("STEP_OUTPUT", "raw__clients", 1.5),
        _record("STEP_START", "core__x", 2.0),
        _record("STEP_SUCCESS", "raw__clients", 3.25),
        _record("STEP_FAILURE", "core__x", 4.0),
        SimpleNamespace(dagster_event=None, step_key=None, timestamp=5.0),  # a log message
    ]
    took, kinds = bench.step_times(records)
    assert took == {"raw__clients": pytest.approx(2.25)}
    assert kinds == {"PIPELINE_START": 1, "STEP_START": 2, "STEP_OUTPUT": 1, "STEP_SUCCESS": 1, "STEP_FAILURE": 1}
