"""ips-eval: check a data delivery, build the study's warehouse and website from it, and check
any outputs before they are released. (The same steps as Dagster's UI, `make dev`.)

    ips-eval check --input DIR [--cutoff YYYY-MM-DD]     what a run would reject; builds nothing
    ips-eval run --input DIR --cutoff YYYY-MM-DD --warehouse FILE [--site DIR]
                 [--allow-shrink] [--allow-future-cutoff] [--allow-republish]
    ips-eval refit --model NAME --warehouse FILE [--site DIR]
    ips-eval check-output PATH                           disclosure check of files to release
    ips-eval synth --out DIR [--seed N] [--cohort N]     a synthetic delivery to try things on
    ips-eval demo                                        synth + run into data/demo/
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

DEMO_DIR = Path("data/demo")


def _cutoff(value: str) -> dt.date:
    """The cut-off as a date; a Finnish date (31.12.2024) is refused with its ISO form suggested.

    Examples
    --------
    >>> _cutoff("2024-12-31")
    datetime.date(2024, 12, 31)
    >>> _cutoff("31.12.2024")
    Traceback (most recent call last):
    click.exceptions.BadParameter: '31.12.2024' is not a date in the form YYYY-MM-DD: write it as 2024-12-31
    """
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    m = re.fullmatch(r"\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*", value)
    if m:
        try:
            day = dt.date(int(m[3]), int(m[2]), int(m[1]))
        except ValueError:
            day = None
        if day is not None:
            raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD: write it as {day.isoformat()}")
    raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD (e.g. 2024-12-31, the last day of "
                             "the data)")


def _delivery_folder(path: Path) -> Path:
    """The delivery folder given as --input, or what is wrong with it and what to give instead.

    Examples
    --------
    >>> _delivery_folder(Path("/nonexistent/delivery"))
    Traceback (most recent call last):
    click.exceptions.BadParameter: the folder /nonexistent/delivery does not exist: --input takes the folder the exports were delivered in (clients.csv, jobs.csv, ..., register/)
    """
    from ips_eval.ingest.contracts import load_contracts

    what = "the folder the exports were delivered in (clients.csv, jobs.csv, ..., register/)"
    if not path.exists():
        raise typer.BadParameter(f"the folder {path} does not exist: --input takes {what}")
    if path.is_file():
        raise typer.BadParameter(f"{path} is a file: --input takes {what}, here probably --input {path.parent}")
    files = {c.file for c in load_contracts().values()}
    if not any((path / f).exists() for f in files):
        inside = sorted(p for p in path.iterdir() if p.is_dir() and any((p / f).exists() for f in files))
        if inside:
            raise typer.BadParameter(f"{path} holds no export files, but its folder {inside[0]} does: "
                                     f"use --input {inside[0]}")
        raise typer.BadParameter(f"{path} holds none of the export files (clients.csv, jobs.csv, ...): --input "
                                 f"takes {what}")
    return path


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the synthetic delivery into."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default: the calibrated default study)."),
    cohort: Optional[int] = typer.Option(None, help="Register comparison persons (default 20 000)."),
) -> None:
    """Write a synthetic delivery in exactly the docs/exports.md formats."""
    from dataclasses import replace

    from ips_eval.synth import SynthConfig, write_delivery

    config = SynthConfig()
    if seed is not None:
        config = replace(config, seed=seed)
    if cohort is not None:
        config = replace(config, cohort=cohort)
    manifest = write_delivery(out, config)
    typer.echo(f"synthetic delivery written to {out} ({_describe(manifest)})")


@app.command()
def check(
    input: Path = typer.Option(..., "--input", help="The delivery folder (holding clients.csv, jobs.csv, ...)."),
    cutoff: Optional[str] = typer.Option(None, "--cutoff", help="The last day of data, YYYY-MM-DD: consent "
                                         "withdrawals up to it are applied as a run would."),
) -> None:
    """Check a delivery before running it: every line a run would reject, and why. Builds nothing."""
    from ips_eval.ingest.check import check_delivery
    from ips_eval.ingest.delivery import DeliveryRefused
    from ips_eval.ingest.identity import IdentityCodeFound

    day = _cutoff(cutoff) if cutoff else None
    try:
        result = check_delivery(_delivery_folder(input), day)
    except (DeliveryRefused, IdentityCodeFound) as e:
        typer.echo(f"ips-eval: the delivery would be refused: {e}", err=True)
        raise typer.Exit(code=1)
    _print_loads([tuple(r) for r in result.loads.itertuples(index=False)])
    for r in result.rejected.itertuples(index=False):
        column = f", column {r.column}" if isinstance(r.column, str) else ""
        typer.echo(f"{r.file}, line {r.line}{column}: {r.rule}: {r.message}")


@app.command()
def run(
    input: Path = typer.Option(..., "--input", help="The delivery folder (holding clients.csv, jobs.csv, ...)."),
    cutoff: str = typer.Option(..., "--cutoff", help="The last day of data, YYYY-MM-DD (e.g. 2024-12-31)."),
    warehouse: Path = typer.Option(..., "--warehouse", help="The warehouse file (DuckDB) the figures go to; "
                                   "replaced only when the whole run succeeds."),
    site: Optional[Path] = typer.Option(None, "--site", help="Also build the public website into this folder."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Dagster's step logs."),
    allow_shrink: bool = typer.Option(
        False, "--allow-shrink", help="Publish even with fewer records than the published warehouse, a missing export "
        "or an earlier cut-off (docs/release.md); the run log records it."),
    allow_future_cutoff: bool = typer.Option(
        False, "--allow-future-cutoff", help="Publish with a cut-off after today or after the delivery's data."),
    allow_republish: bool = typer.Option(
        False, "--allow-republish", help="Correct a quarter already published from another delivery: its page "
        "then says it was corrected and when."),
) -> None:
    """Build the warehouse (and with --site the website) from a delivery: every figure, model and table.

    The published warehouse and site change only when everything succeeded and passed the checks."""
    day = _cutoff(cutoff)  # before importing Dagster: a mistyped date is told at once
    from pipelines.runner import PipelineFailed, run_pipeline

    try:
        summary = run_pipeline(_delivery_folder(input), day, warehouse, site_dir=site,
                               log_level="INFO" if verbose else "CRITICAL", progress=_show_progress(verbose),
                               on_wait=_say_waiting, allow_shrink=allow_shrink,
                               allow_future_cutoff=allow_future_cutoff, allow_republish=allow_republish)
    except PipelineFailed as e:
        typer.echo(f"ips-eval: the delivery was not published: {e}", err=True)
        typer.echo(f"ips-eval: the warehouse {warehouse} was left as it was.", err=True)
        raise typer.Exit(code=1)
    _print_summary(summary)


@app.command()
def refit(
    model: str = typer.Option(..., "--model", help="The model to refit (a name of ips_eval.models)."),
    warehouse: Path = typer.Option(..., "--warehouse", help="The published warehouse to refit it on."),
    site: Optional[Path] = typer.Option(None, "--site", help="The website folder, rebuilt with the new results."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Dagster's step logs."),
) -> None:
    """Refit one model on the published warehouse, at its cut-off, and publish it with the site."""
    from pipelines.runner import PipelineFailed, refit_model

    try:
        summary = refit_model(model, warehouse, site_dir=site, log_level="INFO" if verbose else "CRITICAL",
                              progress=_show_progress(verbose), on_wait=_say_waiting)
    except PipelineFailed as e:
        typer.echo(f"ips-eval: {model} was not refitted: {e}", err=True)
        typer.echo(f"ips-eval: the warehouse {warehouse} was left as it was.", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"refitted {model} at the published cut-off {summary.cutoff}, run {summary.run_id}")
    typer.echo(f"warehouse: {summary.warehouse}")


@app.command()
def demo(
    out: Path = typer.Option(DEMO_DIR, "--out", help="Where the demo delivery, warehouse and site go."),
) -> None:
    """Try it out: write a synthetic study and build its warehouse and website in data/demo/."""
    from ips_eval.synth import SynthConfig, write_delivery
    from pipelines.runner import PipelineFailed, run_pipeline

    config = SynthConfig()
    delivery = out / "delivery"
    typer.echo(f"writing the synthetic delivery to {delivery} ...")
    write_delivery(delivery, config)
    try:
        # the demo's own quarter is rebuilt freely: nobody reads its earlier snapshot
        summary = run_pipeline(delivery, config.cutoff, out / "warehouse.duckdb", site_dir=out / "site",
                               progress=_show_progress(False), on_wait=_say_waiting, allow_republish=True)
    except PipelineFailed as e:
        typer.echo(f"ips-eval: the demo run failed: {e}", err=True)
        raise typer.Exit(code=1)
    _print_summary(summary)


def _say_waiting(message: str) -> None:
    typer.echo(f"ips-eval: {message}", err=True)


@app.command("check-output")
def check_output(
    path: Path = typer.Argument(..., help="A folder (or one file) of outputs: CSV, TSV, XLSX, HTML, SVG, JSON, "
                                "Markdown, text, logs."),
) -> None:
    """Check outputs before releasing them: every visible number, by the disclosure rules.

    Prints each problem with its file, place and rule; exits with 1 when there is one."""
    from ips_eval.publish.site.scan import check_output as find_problems

    if not path.exists():
        typer.echo(f"ips-eval: {path} does not exist", err=True)
        raise typer.Exit(code=2)
    problems = find_problems(path)
    for p in problems:
        typer.echo(f"{p.file} {p.location}: {p.what}")
    if problems:
        typer.echo(f"{len(problems)} problem(s): do not release these outputs as they are.")
        raise typer.Exit(code=1)
    typer.echo(f"{path}: no problems found")


def _show_progress(verbose: bool) -> bool:
    """A progress bar when a person watches the terminal (and the step logs are not shown)."""
    return sys.stderr.isatty() and not verbose


def _print_loads(loads) -> None:
    """One line per file: rows read = accepted + rejected + withdrawn + empty lines."""
    typer.echo(f"{'file':<38}{'read':>10}{'accepted':>10}{'rejected':>10}{'withdrawn':>10}{'empty':>8}")
    for file, read, accepted, rejected, withdrawn, empty in loads:
        typer.echo(f"{file:<38}{read:>10}{accepted:>10}{rejected:>10}{withdrawn:>10}{empty:>8}")


def _print_summary(summary) -> None:
    typer.echo(f"cut-off {summary.cutoff}, run {summary.run_id}")
    for allowed in summary.allowed:
        typer.echo(f"published although (allowed explicitly): {allowed}")
    _print_loads(summary.loads)
    typer.echo(
        f"{len(summary.loads)} files: {summary.rows_accepted} rows accepted, {summary.rows_rejected} rejected "
        "(see audit.rejected_rows)"
    )
    typer.echo(f"warehouse: {summary.warehouse}")
    if summary.figures and summary.figures.exists():
        typer.echo(f"figures: {summary.figures}")
    if summary.site and (summary.site / "index.html").exists():
        typer.echo(f"site: {(summary.site / 'index.html').resolve()}  (opens from disk)")


def _describe(manifest) -> str:
    if isinstance(manifest, dict) and "files" in manifest:
        return f"{len(manifest['files'])} files"
    return "done"


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
