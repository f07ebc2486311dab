"""`ips-eval`: a thin door to the same assets the Dagster UI runs.

    ips-eval synth --out DIR [--seed N] [--cohort N]
    ips-eval check --input DIR [--cutoff YYYY-MM-DD]
    ips-eval run --input DIR --cutoff YYYY-MM-DD --warehouse FILE [--site DIR]
                 [--allow-shrink] [--allow-future-cutoff]
    ips-eval refit --model NAME --warehouse FILE [--site DIR]
    ips-eval demo
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

DEMO_DIR = Path("data/demo")


def _cutoff(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD")


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
    input: Path = typer.Option(..., "--input", help="The delivery folder."),
    cutoff: Optional[str] = typer.Option(None, "--cutoff", help="Apply consent withdrawals up to this date."),
) -> None:
    """Read a delivery as a run would and list every rejected line; builds nothing."""
    from ips_eval.ingest.check import check_delivery
    from ips_eval.ingest.delivery import DeliveryRefused
    from ips_eval.ingest.identity import IdentityCodeFound

    try:
        result = check_delivery(input, _cutoff(cutoff) if cutoff else None)
    except (DeliveryRefused, IdentityCodeFound) as e:
        typer.echo(f"ips-eval: the delivery would be refused: {e}", err=True)
        raise typer.Exit(code=1)
    _print_loads([tuple(r) for r in result.loads.itertuples(index=False)])
    for r in result.rejected.itertuples(index=False):
        column = f", column {r.column}" if isinstance(r.column, str) else ""
        typer.echo(f"{r.file}, line {r.line}{column}: {r.rule}: {r.message}")


@app.command()
def run(
    input: Path = typer.Option(..., "--input", help="The delivery folder."),
    cutoff: str = typer.Option(..., "--cutoff", help="The last day of data, YYYY-MM-DD."),
    warehouse: Path = typer.Option(..., "--warehouse", help="The DuckDB warehouse file to (re)build."),
    site: Optional[Path] = typer.Option(None, "--site", help="Also build the public website into this folder."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Dagster's step logs."),
    allow_shrink: bool = typer.Option(
        False, "--allow-shrink", help="Publish even with fewer records than the published warehouse, a missing export "
        "or an earlier cut-off (docs/release.md); the run log records it."),
    allow_future_cutoff: bool = typer.Option(
        False, "--allow-future-cutoff", help="Publish with a cut-off after today or after the delivery's data."),
) -> None:
    """Materialise the whole asset graph in-process and swap the new warehouse in."""
    from pipelines.runner import PipelineFailed, run_pipeline

    try:
        summary = run_pipeline(input, _cutoff(cutoff), warehouse, site_dir=site,
                               log_level="INFO" if verbose else "CRITICAL", progress=_show_progress(verbose),
                               on_wait=_say_waiting, allow_shrink=allow_shrink,
                               allow_future_cutoff=allow_future_cutoff)
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
    """Write the default synthetic study and run the whole pipeline on it."""
    from ips_eval.synth import SynthConfig, write_delivery
    from pipelines.runner import PipelineFailed, run_pipeline

    config = SynthConfig()
    delivery = out / "delivery"
    typer.echo(f"writing the synthetic delivery to {delivery} ...")
    write_delivery(delivery, config)
    try:
        summary = run_pipeline(delivery, config.cutoff, out / "warehouse.duckdb", site_dir=out / "site",
                               progress=_show_progress(False), on_wait=_say_waiting)
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
