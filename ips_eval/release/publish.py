"""The end of a run: record it, swap the warehouse in, then move its figures and site after it.

The order is what keeps the warehouse and the public site in step:

0. the delivery is checked against the listing taken when the run started
   (`ips_eval.release.guard.delivery_changes`): a file changed, added or removed refuses the
   release;
1. the run is recorded in `audit.runs` of its build file;
2. the build file is renamed over the warehouse (one atomic rename): the run is published;
3. the run's figures folder is moved into place (one rename);
4. the run's staged site snapshot is moved into place (one rename for the quarter's folder,
   then the root pages file by file);
5. what dead runs left behind is removed.

A run that dies before step 2 changed nothing that anyone reads. A run that dies between
step 2 and the end of step 4 has published its warehouse but not all of its site; the next
run, under the warehouse lock, finishes that move before it starts (`settle`), so the
newest snapshot never stays on an older run than the warehouse.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ips_eval.faults import failpoint
from ips_eval.release import site as place
from ips_eval.release.guard import ReleaseRefused, delivery_changes
from ips_eval.warehouse.database import WarehouseBuild, connect, stale_builds
from ips_eval.warehouse.provenance import code_version, input_fingerprint


@dataclass
class PublishedRun:
    """What `publish_run` did, for the run's report."""

    warehouse: Path
    run_id: str
    code_version: str
    input_fingerprint: str
    tables: int
    loads: list[tuple] = field(default_factory=list)  # (file, read, accepted, rejected, withdrawn, empty)
    figures: Path | None = None
    site: bool = False  # a staged site snapshot was moved into place


def figures_dir_for(warehouse: Path) -> Path:
    """Where a warehouse's figures are published: `<warehouse stem>.figures/` beside it, so two
    warehouses in one folder keep their own.

    Examples
    --------
    >>> figures_dir_for(Path("/data/warehouse.duckdb")).as_posix()
    '/data/warehouse.figures'
    """
    warehouse = Path(warehouse)
    return warehouse.parent / f"{warehouse.stem}.figures"


def figures_build_dir(figures: Path, run_id: str) -> Path:
    """Where a run draws its figures before they are moved to `figures` with the swap.

    Examples
    --------
    >>> figures_build_dir(Path("/w/figures"), "r1").as_posix()
    '/w/.figures.build-r1'
    """
    figures = Path(figures)
    return figures.parent / f".{figures.name}.build-{run_id}"


def publish_run(build: WarehouseBuild, cutoff: dt.date, figures: Path, site_dir: Path | None = None) -> PublishedRun:
    """Record the run in `audit.runs`, swap its build in, then move its figures and its staged
    site into place and remove what dead runs left (see the module's docstring for the order).

    The caller holds the warehouse lock (`ips_eval.release.lock.warehouse_lock`). Raises
    `ReleaseRefused` when the delivery changed since the run started; nothing is changed then.

    Examples
    --------
    >>> from ips_eval.warehouse.database import WarehouseBuild
    >>> build = WarehouseBuild(Path("/data/w.duckdb"), "run-1")  # doctest: +SKIP
    >>> publish_run(build, dt.date(2024, 12, 31), Path("/data/figures"), Path("/data/site"))  # doctest: +SKIP
    """
    changed = delivery_changes(build.path)
    if changed:
        raise ReleaseRefused(f"the delivery changed during the run ({', '.join(changed)}); nothing was published. "
                             "Run again once the delivery is complete.")
    with build.connection() as con:
        started = con.execute("SELECT max(started_at) FROM audit.current_run").fetchall()[0][0]
        fingerprint = input_fingerprint(con)
        version = code_version()
        con.execute(
            "INSERT INTO audit.runs VALUES (?, ?, ?, ?, ?, ?)",
            [build.run_id, cutoff, started, _now(), version, fingerprint],
        )
        loads = [tuple(r) for r in con.execute(
            "SELECT file, rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty FROM audit.loads"
            " ORDER BY export"
        ).fetchall()]
        tables = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('main')"
        ).fetchall()[0][0]
    failpoint("warehouse/before_swap")
    target = build.publish()
    failpoint("warehouse/after_swap")
    moved_figures = _move_figures(figures_build_dir(figures, build.run_id), Path(figures))
    failpoint("warehouse/after_figures")
    site = place.publish_staged(site_dir, build.run_id) if site_dir else False
    settle(build.target, figures, site_dir)
    return PublishedRun(target, build.run_id, version, fingerprint, tables, loads, moved_figures, site)


def settle(warehouse: Path, figures: Path, site_dir: Path | None = None, running: str | None = None) -> None:
    """Put the published run's outputs in place and remove every other run's leftovers.

    Called when a run starts (under the lock, before it writes anything) and after a swap.
    The published run is the last one in the warehouse's `audit.runs`: if it died after its
    swap, its figures and staged site are moved into place now. Build files, WAL files,
    spill folders, figure builds and staged sites of any other run are dead and go; those of
    `running` (the run that is settling, if it has begun) are kept.

    Examples
    --------
    >>> settle(Path("/nonexistent/w.duckdb"), Path("/nonexistent/figures"))
    """
    warehouse, figures = Path(warehouse), Path(figures)
    published = last_published_run(warehouse)
    if published:
        _move_figures(figures_build_dir(figures, published), figures)
    if site_dir:
        place.settle(site_dir, published, keep_run_id=running)
    for p in stale_builds(warehouse, keep_run_id=running):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    if figures.parent.exists():
        for stale in figures.parent.glob(f".{figures.name}.*"):
            if running is None or running not in stale.name:
                shutil.rmtree(stale, ignore_errors=True)


def last_published_run(warehouse: Path) -> str | None:
    """The run id of the published warehouse (the last row of `audit.runs`), None without one.

    Examples
    --------
    >>> last_published_run(Path("/nonexistent/w.duckdb")) is None
    True
    """
    if not Path(warehouse).exists():
        return None
    try:
        with connect(warehouse, read_only=True) as con:
            rows = con.execute(
                "SELECT run_id FROM audit.runs ORDER BY finished_at DESC, run_id DESC LIMIT 1"
            ).fetchall()
    except duckdb.Error:
        return None  # no audit.runs (an older file) or unreadable: nothing to finish
    return rows[0][0] if rows else None


def _move_figures(built: Path, final: Path) -> Path | None:
    """Replace the published figures by a run's (the old folder is renamed aside, then removed)."""
    if not built.exists():
        return None
    old = final.parent / f".{final.name}.old-{built.name}"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    built.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
