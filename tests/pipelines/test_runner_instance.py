"""The runs of one process record their events in one in-memory Dagster instance
(pipelines.runner `_dagster_instance`), renewed every RUNS_PER_INSTANCE runs."""

import dagster as dg

import pipelines.runner as runner


def test_one_instance_serves_a_processs_runs_and_is_renewed(monkeypatch):
    monkeypatch.setattr(runner, "_instance", {"current": None, "runs": 0})
    monkeypatch.setattr(runner, "RUNS_PER_INSTANCE", 3)
    first = [runner._dagster_instance() for _ in range(3)]
    assert isinstance(first[0], dg.DagsterInstance) and all(i is first[0] for i in first)
    then = [runner._dagster_instance() for _ in range(3)]
    assert then[0] is not first[0] and all(i is then[0] for i in then)
    assert runner._dagster_instance() is not then[0]
