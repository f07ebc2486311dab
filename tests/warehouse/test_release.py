"""The release guard (docs/release.md): against a published warehouse, a delivery that is valid
but incomplete, a cut-off that goes back or runs ahead of the data, a delivery that changes
under the run and a disk that fills up are refused, leaving warehouse, figures and site byte
for byte as they were; an operator can allow a shrink; a withdrawal is not one. Also: partial
runs, refitting one model, and two warehouses in one folder.

The guard's rules are tested on the smallest sub-graph that shows them (the delivery loaded
without Dagster, then `check_release`); each refusal of a whole run is tested once on a copy
of one published warehouse.
"""

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from deliveries import row, write_delivery
from ips_eval.ingest.load import load_delivery
from ips_eval.release.guard import check_release, delivery_changes, quarter_end, record_delivery
from ips_eval.release.publish import figures_dir_for
from ips_eval.release.selection import selection_problems
from ips_eval.warehouse.database import ensure_schemas
from pipelines.runner import PipelineFailed, refit_model, run_pipeline

C = dt.date(2024, 12, 31)
TODAY = dt.date(2026, 12, 6)
N = 4


def _delivery(folder: Path, clients: int = N, register: bool = True, withdrawn: tuple[str, ...] = ()) -> Path:
    """`clients` clients of Kainuu, each with a job, a baseline response and register data."""
    ids = [f"P{i:06d}" for i in range(1, clients + 1)]
    rows = {
        "clients": [row("clients", person_id=p, suostumus_peruttu="1.11.2024" if p in withdrawn else "")
                    for p in ids],
        "jobs": [row("jobs", person_id=p) for p in ids],
        "survey_baseline": [row("survey_baseline", asiakastunnus=p) for p in ids],
        "register_cohort": [row("register_cohort", person_id=p) for p in ids],
        "register_earnings": [row("register_earnings", person_id=p, kuukausi="2024-11") for p in ids],
    }
    return write_delivery(folder, rows, register=register)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _published_state(out: Path) -> dict[str, str]:
    """Every public file of a published folder (warehouse, figures, site) and its hash; dot files
    (builds, staged sites) are not public, the lock and the run log change with every run."""
    return {p.relative_to(out).as_posix(): _sha(p) for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
            and not p.name.endswith((".lock", ".runs.jsonl"))}


def _leftovers(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob(".*"))


def _build(tmp_path: Path, delivery: Path, cutoff: dt.date = C) -> duckdb.DuckDBPyConnection:
    """A run's build after ingest and the consent purge: what the guard reads."""
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    ensure_schemas(con)
    load_delivery(con, delivery, cutoff)
    return con


# --- the published warehouse, once per module ------------------------------------------------

@pytest.fixture(scope="module")
def first_release(tmp_path_factory):
    """A warehouse, its figures and its site published from a complete delivery of N clients."""
    root = tmp_path_factory.mktemp("release")
    out = root / "out"
    summary = run_pipeline(_delivery(root / "full"), C, out / "w.duckdb", site_dir=out / "site")
    return out, summary.run_id


@pytest.fixture
def published(tmp_path, first_release):
    """A copy of the published folder for a test that runs against it."""
    out, run_id = first_release
    shutil.copytree(out, tmp_path / "out")
    return tmp_path / "out", run_id


# --- the rules, on the smallest sub-graph ------------------------------------------------------

@pytest.mark.pipeline
def test_half_a_client_register_is_a_shrink_named_with_its_figures(tmp_path, first_release):
    out, run_id = first_release
    con = _build(tmp_path, _delivery(tmp_path / "half", clients=N // 2))
    report = check_release(con, out / "w.duckdb", C, today=TODAY)
    assert not report.passed
    assert f"clients.csv, Kainuu: {N // 2} clients, {N} in the published warehouse (run {run_id})" in report.problems
    assert f"jobs.csv, Kainuu: {N // 2} jobs, {N} in the published warehouse (run {run_id})" in report.problems
    assert f"register/cohort: {N // 2} register persons, {N} in the published warehouse (run {run_id})" in report.problems
    assert "--allow-shrink" in report.message()
    assert "| clients.csv | Kainuu | clients | 4 | 2 | 0 | yes |" in report.metadata()["comparison"]
    allowed = check_release(con, out / "w.duckdb", C, today=TODAY, allow_shrink=True)
    assert allowed.passed and allowed.allowed == report.problems


@pytest.mark.pipeline
def test_a_missing_register_folder_is_named(tmp_path, first_release):
    out, run_id = first_release
    con = _build(tmp_path, _delivery(tmp_path / "noreg", register=False))
    report = check_release(con, out / "w.duckdb", C, today=TODAY)
    assert (f"register/: the register folder is not in this delivery; 6 register extract(s) in the published "
            f"warehouse (run {run_id})") in report.problems
    assert f"register/earnings: 0 months of register follow-up, {N} in the published warehouse (run {run_id})" \
        in report.problems
    assert not any(p.startswith(("clients.csv", "jobs.csv")) for p in report.problems), "the projects' files are whole"


@pytest.mark.pipeline
def test_a_withdrawal_of_consent_is_not_a_shrink(tmp_path, first_release):
    out, _ = first_release
    con = _build(tmp_path, _delivery(tmp_path / "withdrawn", withdrawn=("P000002",)))
    assert con.execute("SELECT count(DISTINCT person_id) FROM raw.clients").fetchall() == [(N - 1,)]
    report = check_release(con, out / "w.duckdb", C, today=TODAY)
    assert report.passed, report.problems
    [clients] = [f for f in report.figures if f.export == "clients"]
    assert (clients.published, clients.new, clients.withdrawn) == (N, N - 1, 1)


@pytest.mark.pipeline
def test_an_earlier_cutoff_goes_back_and_is_refused(tmp_path, first_release):
    out, run_id = first_release
    earlier = dt.date(2024, 9, 30)
    con = _build(tmp_path, _delivery(tmp_path / "d"), earlier)
    report = check_release(con, out / "w.duckdb", earlier, today=TODAY)
    assert report.problems == [f"the cut-off {earlier} is earlier than the published warehouse's {C} (run {run_id})"]
    assert check_release(con, out / "w.duckdb", earlier, today=TODAY, allow_shrink=True).passed


def test_a_cutoff_after_today_or_after_the_data_is_refused_naming_both_dates(tmp_path):
    con = _build(tmp_path, _delivery(tmp_path / "d"))
    # the delivery's newest date is the clients' update of 2.1.2025 (tests/deliveries.py)
    report = check_release(con, None, dt.date(2027, 3, 31), today=TODAY)
    assert report.problems == [
        f"the cut-off 2027-03-31 is after today, {TODAY}",
        "the cut-off 2027-03-31 is after the delivery's data: its newest date is 2025-01-02 (clients.csv paivitetty), "
        "in an earlier quarter"]
    assert check_release(con, None, dt.date(2025, 6, 30), today=TODAY).problems == [
        "the cut-off 2025-06-30 is after the delivery's data: its newest date is 2025-01-02 (clients.csv paivitetty), "
        "in an earlier quarter"]
    assert check_release(con, None, dt.date(2025, 3, 31), today=TODAY).passed, "the data reach into its quarter"
    assert check_release(con, None, C, today=TODAY).passed
    assert check_release(con, None, dt.date(2027, 3, 31), today=TODAY, allow_future_cutoff=True).passed


def test_the_demo_and_the_schedule_pass_the_cutoff_rule():
    """The synthetic delivery's newest date lies in its cut-off's quarter; the quarterly refresh's
    cut-off (the previous quarter's last day) is never after the day it runs."""
    from ips_eval.definitions import previous_quarter_end
    from ips_eval.synth import SynthConfig

    config = SynthConfig()
    assert config.cutoff <= quarter_end(config.export_date) and config.export_date > config.cutoff
    for day in (dt.date(2025, 1, 1), dt.date(2025, 4, 1), dt.date(2025, 7, 1), dt.date(2025, 10, 1)):
        assert previous_quarter_end(day) < day and quarter_end(previous_quarter_end(day)) == previous_quarter_end(day)


def test_a_delivery_changed_added_or_removed_under_the_run_is_found(tmp_path):
    delivery = _delivery(tmp_path / "d")
    build = tmp_path / ".w.duckdb.build-r1"
    record_delivery(build, delivery)
    assert delivery_changes(build) == []
    (delivery / "clients.csv").write_text((delivery / "clients.csv").read_text() + "\n")
    (delivery / "register" / "cohort.csv").unlink()
    (delivery / "late.csv").write_text("x")
    assert delivery_changes(build) == ["clients.csv changed", "late.csv added", "register/cohort.csv removed"]


def test_selections_that_cannot_be_published_consistently_say_what_to_add():
    graph = {"raw/clients": set(), "marts/m": {"raw/clients"}, "models/a": {"marts/m"}, "models/b": {"marts/m"},
             "publish/site": {"models/a", "models/b"}, "warehouse": {"publish/site", "models/a", "models/b"}}
    refit = ["models/a", "publish/site", "warehouse"]
    assert selection_problems(graph, refit, C, C) == []
    assert selection_problems(graph, ["models/a"], C, C) == [
        "a run of models/a alone publishes nothing and leaves the warehouse as it was: include publish/site, warehouse"]
    assert selection_problems(graph, ["models/a", "warehouse"], C, C) == [
        "the published warehouse would mix this run's tables with tables computed from the ones it replaces: include "
        "publish/site (everything downstream of models/a, warehouse)"]
    [problem] = selection_problems(graph, refit, dt.date(2025, 3, 31), C)
    assert "the run's cut-off 2025-03-31 is not the published warehouse's 2024-12-31" in problem
    assert selection_problems(graph, refit, C, None) == ["there is no published warehouse to start from: "
                                                         "materialise all assets"]
    assert selection_problems(graph, list(graph), dt.date(2025, 3, 31), C) == [], "the whole graph may move on"


def test_two_warehouses_in_one_folder_have_their_own_figures(tmp_path):
    from pipelines.resources import StudyRun

    a, b = StudyRun(warehouse=str(tmp_path / "a.duckdb")), StudyRun(warehouse=str(tmp_path / "b.duckdb"))
    assert a.figures_path() == tmp_path / "a.figures" == figures_dir_for(tmp_path / "a.duckdb")
    assert b.figures_path() == tmp_path / "b.figures"
    assert a.figures_build_dir("r1").parent == tmp_path and "a.figures" in a.figures_build_dir("r1").name


# --- whole runs against the published warehouse -----------------------------------------------

@pytest.mark.pipeline
def test_half_a_register_or_a_missing_register_folder_is_refused_then_published_when_allowed(tmp_path, published):
    """Each shrink alone refuses the run (through the CLI, and through the runner); one delivery
    with both is then published when the operator allows it, and the run log records what was
    allowed. (A refused run stops at the guard; only the allowed run goes all the way.)"""
    from typer.testing import CliRunner

    from pipelines.cli import app

    out, run_id = published
    before = _published_state(out)

    def command(delivery):
        return ["run", "--input", str(delivery), "--cutoff", str(C), "--warehouse", str(out / "w.duckdb"),
                "--site", str(out / "site")]

    half_clients = f"clients.csv, Kainuu: {N // 2} clients, {N} in the published warehouse (run {run_id})"
    no_register = "register/: the register folder is not in this delivery"
    refused = CliRunner().invoke(app, command(_delivery(tmp_path / "half", clients=N // 2)))
    assert refused.exit_code == 1
    assert half_clients in refused.output and no_register not in refused.output
    assert "--allow-shrink" in refused.output
    assert _published_state(out) == before and _leftovers(out) == []

    with pytest.raises(PipelineFailed, match=no_register) as refused_noreg:
        run_pipeline(_delivery(tmp_path / "noreg", register=False), C, out / "w.duckdb", site_dir=out / "site")
    assert "clients.csv, Kainuu" not in str(refused_noreg.value)
    assert _published_state(out) == before and _leftovers(out) == []

    both = _delivery(tmp_path / "both", clients=N // 2, register=False)
    allowed = CliRunner().invoke(app, command(both) + ["--allow-shrink", "--allow-republish"])
    assert allowed.exit_code == 0, allowed.output
    assert f"published although (allowed explicitly): {half_clients}" in allowed.output
    assert f"published although (allowed explicitly): {no_register}" in allowed.output
    log = [json.loads(line) for line in (out / "w.duckdb.runs.jsonl").read_text().splitlines()]
    assert [r["status"] for r in log[-3:]] == ["failed", "failed", "published"]
    assert any("clients.csv, Kainuu" in a for a in log[-1]["allowed"]), "the run log records what was allowed"
    assert any(a.startswith(no_register) for a in log[-1]["allowed"])
    with duckdb.connect(str(out / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT person_id) FROM raw.clients").fetchall() == [(N // 2,)]
        assert con.execute("SELECT count(*) FROM raw.register_cohort").fetchall() == [(0,)]


@pytest.mark.pipeline
@pytest.mark.parametrize("case", ["missing survey export", "earlier cut-off", "future cut-off"])
def test_refused_runs_leave_warehouse_and_site_byte_identical(tmp_path, published, case):
    out, run_id = published
    before = _published_state(out)
    delivery, cutoff = _delivery(tmp_path / "d"), C
    if case == "missing survey export":
        (delivery / "survey_final.csv").unlink()
        expected = "survey_final.csv: the file is missing from the delivery"
    elif case == "earlier cut-off":
        cutoff = dt.date(2024, 9, 30)
        expected = f"the cut-off 2024-09-30 is earlier than the published warehouse's {C} (run {run_id})"
    else:
        cutoff = dt.date.today() + dt.timedelta(days=120)
        expected = f"the cut-off {cutoff} is after today, {dt.date.today()}"
    with pytest.raises(PipelineFailed) as refused:
        run_pipeline(delivery, cutoff, out / "w.duckdb", site_dir=out / "site")
    assert expected in str(refused.value)
    assert _published_state(out) == before and _leftovers(out) == []


@pytest.mark.pipeline
def test_a_file_changed_during_the_run_refuses_the_swap(tmp_path, published, monkeypatch):
    out, _ = published
    before = _published_state(out)
    delivery = _delivery(tmp_path / "d", clients=N + 1)

    def change_the_delivery(name):  # as an upload still running into the landing folder would
        if name == "raw/jobs":
            with open(delivery / "clients.csv", "a", encoding="utf-8") as f:
                f.write("\n")

    monkeypatch.setattr("ips_eval.ingest.load.failpoint", change_the_delivery)
    # another delivery for a published quarter: allowed as a correction, so that the run gets
    # as far as the check of the delivery it loaded
    with pytest.raises(PipelineFailed, match=r"the delivery changed during the run \(clients.csv changed\)"):
        run_pipeline(delivery, C, out / "w.duckdb", site_dir=out / "site", allow_republish=True)
    assert _published_state(out) == before and _leftovers(out) == []


def test_the_fail_points_give_a_full_disk_or_an_io_error(monkeypatch):
    from ips_eval.faults import failpoint

    monkeypatch.setenv("IPS_EVAL_FAILPOINT", "staging/clients")
    failpoint("raw/jobs")  # another point: nothing happens
    for action, reason in [("disk-full", "No space left on device"), ("io-error", "Input/output error")]:
        monkeypatch.setenv("IPS_EVAL_FAILPOINT_ACTION", action)
        with pytest.raises(OSError, match=reason):
            failpoint("staging/clients")


@pytest.mark.pipeline
def test_a_full_disk_during_the_build(published, monkeypatch):
    """On the smallest run that writes its build: a refit, whose model step finds the disk full."""
    out, _ = published
    before = _published_state(out)
    monkeypatch.setenv("IPS_EVAL_FAILPOINT", "models/scores_swemwbs")
    monkeypatch.setenv("IPS_EVAL_FAILPOINT_ACTION", "disk-full")
    with pytest.raises(PipelineFailed) as failed:
        refit_model("scores_swemwbs", out / "w.duckdb", site_dir=out / "site")
    assert "cannot write the warehouse build file" in str(failed.value)
    assert "No space left on device (is the disk full, or the folder not writable?)" in str(failed.value)
    assert _published_state(out) == before
    assert _leftovers(out) == [], "the half-built file was removed"


@pytest.mark.pipeline
def test_a_partial_selection_is_refused_naming_the_assets_to_add(published):
    """A UI run of one model alone, and one with the swap but another cut-off: refused before any step."""
    from pipelines.definitions import defs

    out, _ = published
    before = _published_state(out)
    job = defs.resolve_implicit_global_asset_job_def()  # what the UI's "Materialize selected" runs
    for selection, cutoff, expected in [
        (["models/time_to_first_job"], C, "a run of models/time_to_first_job alone publishes nothing"),
        (["models/time_to_first_job", "publish/site", "warehouse"], dt.date(2025, 3, 31),
         "the run's cut-off 2025-03-31 is not the published warehouse's 2024-12-31"),
    ]:
        result = job.execute_in_process(
            asset_selection=[dg.AssetKey.from_user_string(s) for s in selection],
            run_config={"resources": {"study": {"config": {
                "warehouse": str(out / "w.duckdb"), "cutoff": cutoff.isoformat(), "site_dir": str(out / "site"),
                "start_from": "current"}}}},
            raise_on_error=False)
        assert not result.success
        failure = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE]
        assert failure and expected in failure[0].event_specific_data.error.message
    assert _published_state(out) == before


@pytest.mark.pipeline
def test_refitting_one_model_publishes_it_at_the_tables_cutoff_in_its_own_figures(published):
    """`ips-eval refit` on a second warehouse in the same folder: it is published with the cut-off its
    tables were built with, its figures go to its own folder, the first warehouse's stay as they were."""
    out, run_id = published
    first = _published_state(out)
    shutil.copyfile(out / "w.duckdb", out / "v.duckdb")
    from typer.testing import CliRunner

    from pipelines.cli import app

    done = CliRunner().invoke(app, ["refit", "--model", "time_to_first_job", "--warehouse", str(out / "v.duckdb")])
    assert done.exit_code == 0, done.output
    assert f"refitted time_to_first_job at the published cut-off {C}" in done.output
    with duckdb.connect(str(out / "v.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT run_id, cutoff FROM audit.runs ORDER BY finished_at").fetchall()
        assert con.execute("SELECT count(DISTINCT person_id) FROM raw.clients").fetchall() == [(N,)]
    assert runs[0] == (run_id, C) and len(runs) == 2 and runs[1][1] == C and runs[1][0] in done.output
    assert {k: v for k, v in _published_state(out).items() if not k.startswith("v.")} == first
    assert sorted(p.name for p in (out / "v.figures").iterdir()) == sorted(
        p.name for p in (out / "w.figures").iterdir() if p.name.startswith("time_to_first_job"))
    assert _leftovers(out) == []
    with pytest.raises(PipelineFailed, match="no model 'nonsense'"):
        refit_model("nonsense", out / "v.duckdb")


def test_the_guard_is_a_blocking_check_that_stops_every_table_and_the_swap():
    from ips_eval.release.selection import downstream
    from pipelines.assets.warehouse import release_guard
    from pipelines.definitions import asset_graph

    [spec] = list(release_guard.check_specs)
    assert spec.blocking and spec.asset_key.to_user_string() == "audit/consent_withdrawals"
    graph = asset_graph()
    stopped = downstream(graph, ["audit/consent_withdrawals"])
    assert "warehouse" in stopped and "publish/site" in stopped
    assert {a for a in graph if a.split("/")[0] in ("staging", "core", "marts", "models")} <= stopped
