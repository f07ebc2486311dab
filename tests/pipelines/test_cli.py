"""The console script as a researcher uses it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from deliveries import minimal_delivery, row

IPS_EVAL = str(Path(sys.executable).parent / "ips-eval")


def test_run_prints_a_summary_and_builds_the_warehouse(tmp_path):
    delivery = minimal_delivery(tmp_path / "d", jobs=[row("jobs", alkupvm="1.1.2025")])
    (tmp_path / "d" / "jobs.csv").write_text(
        (tmp_path / "d" / "jobs.csv").read_text() + "P000001;tyo;T002;K;E;31.2.2024;;;;1.3.2024 8:00\n")
    warehouse = tmp_path / "w.duckdb"
    out = subprocess.run([IPS_EVAL, "run", "--input", str(delivery), "--cutoff", "2024-12-31", "--warehouse",
                          str(warehouse)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"warehouse: {warehouse}" in out.stdout
    assert "jobs.csv" in out.stdout and "3 rows accepted, 1 rejected" in out.stdout
    assert warehouse.exists()


def test_a_refused_delivery_exits_non_zero_with_the_reason_on_stderr(tmp_path):
    """In-process (typer's runner: the same command, its exit code and its stderr); the console
    script itself is started by the test above."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    delivery = minimal_delivery(tmp_path / "d")
    (delivery / "fidelity_reviews.csv").unlink()
    out = CliRunner().invoke(app, ["run", "--input", str(delivery), "--cutoff", "2024-12-31", "--warehouse",
                                   str(tmp_path / "w.duckdb")])
    assert out.exit_code == 1
    assert "fidelity_reviews.csv: the file is missing from the delivery" in out.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_a_bad_cutoff_is_a_usage_error(tmp_path):
    """In-process, as the refused delivery above."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    out = CliRunner().invoke(app, ["run", "--input", str(tmp_path), "--cutoff", "31.12.2024", "--warehouse",
                                   str(tmp_path / "w.duckdb")])
    said = " ".join(out.stderr.replace("│", " ").split())  # the message as one line, out of its box
    assert out.exit_code == 2 and "is not a date in the form YYYY-MM-DD: write it as 2024-12-31" in said
    assert not (tmp_path / "w.duckdb").exists()


def test_a_wrong_input_says_what_is_wrong_and_what_to_give(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    delivery = minimal_delivery(tmp_path / "parent" / "delivery")

    def check(path):
        out = CliRunner().invoke(app, ["check", "--input", str(path)])
        assert out.exit_code == 2, out.output
        return squeeze(out.output)

    def squeeze(text):  # the message without the box and the line breaks the terminal's width puts in it
        return re.sub(r"[\s│]", "", text)

    assert squeeze(f"the folder {tmp_path / 'missing'} does not exist") in check(tmp_path / "missing")
    assert squeeze("is a file: --input takes the folder") in check(delivery / "clients.csv")
    assert squeeze(f"here probably --input {delivery}") in check(delivery / "clients.csv")
    assert squeeze(f"holds no export files, but its folder {delivery} does: use --input {delivery}") in \
        check(tmp_path / "parent")
    assert squeeze("the file is missing from the delivery") not in check(tmp_path / "parent")


def test_the_help_says_what_each_command_does_for_the_user():
    from typer.testing import CliRunner

    from pipelines.cli import app

    top = CliRunner().invoke(app, ["--help"]).output
    assert "check-output" in top and "thin door" not in top and "asset" not in top
    for command in ("run", "check", "demo", "refit", "check-output", "synth"):
        text = CliRunner().invoke(app, [command, "--help"]).output
        assert "swap" not in text and "materialise" not in text.lower(), command


def test_dagster_asset_materialize_builds_the_same_warehouse(tmp_path):
    """What a researcher types in a terminal with a Dagster instance: `dagster asset materialize`."""
    delivery = minimal_delivery(tmp_path / "d")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "IPS_EVAL_INPUT": str(delivery), "IPS_EVAL_CUTOFF": "2024-12-31",
           "IPS_EVAL_WAREHOUSE": str(tmp_path / "w.duckdb")}
    dagster = str(Path(sys.executable).parent / "dagster")
    out = subprocess.run([dagster, "asset", "materialize", "-m", "pipelines.definitions", "--select", "*"],
                         capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "RUN_SUCCESS" in out.stderr
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT n_clients FROM marts.employment_outcomes WHERE alue = 'ALL'").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM audit.runs").fetchall() == [(1,)]


def test_run_and_refit_offer_the_release_options():
    """The release guard's allowances and the refit command are on the CLI (docs/release.md)."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    run_help = CliRunner().invoke(app, ["run", "--help"], terminal_width=200).output
    assert "--allow-shrink" in run_help and "--allow-future-cutoff" in run_help and "--allow-republish" in run_help
    refit_help = CliRunner().invoke(app, ["refit", "--help"], terminal_width=200).output
    assert "--model" in refit_help and "--warehouse" in refit_help
    missing = CliRunner().invoke(app, ["refit", "--model", "no_such_model", "--warehouse", "/nonexistent/w.duckdb"])
    assert missing.exit_code == 1 and "no model 'no_such_model'; the models are:" in missing.output
