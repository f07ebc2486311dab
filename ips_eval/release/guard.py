"""The release guard: a release never silently shrinks, goes back, or runs ahead of its data.

Before a run's warehouse replaces the published one it is compared with it
(`check_release`), right after ingest and the consent purge, so a refused run stops before it
builds anything else:

- **Shrink.** The records the sources never delete (`sql/release/figures.sql`: clients, jobs
  and survey responses per county; register persons, months of register follow-up and
  register spells) may not be fewer than in the published warehouse, beyond what this run's
  consent withdrawals removed from that export. An export (or the whole `register/` folder)
  delivered to the published warehouse and absent now is a shrink too.
- **Going back.** The cut-off may not be earlier than the published warehouse's.
- **Running ahead.** The cut-off may not be after today, nor in a later quarter than the
  delivery's newest date (`sql/release/latest_date.sql`: record updates, survey responses,
  reviews, register months and spell starts). The quarter is the unit because an export made
  right after a quarter ends may hold nothing dated on the quarter's last days.

An operator who knows a shrink (or an earlier cut-off) is right allows it with
`allow_shrink`; a cut-off ahead of the data with `allow_future_cutoff`. What was allowed is
kept in the report, so the run's log records it.

The delivery itself must not change under a run: `record_delivery` lists its files (path,
size, modification time) when the run starts and `delivery_changes` compares the folder with
that list right before the swap.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ips_eval import SQL_DIR
from ips_eval.definitions import previous_quarter_end
from ips_eval.ingest.contracts import load_contracts
from ips_eval.ingest.delivery import all_files
from ips_eval.warehouse.database import connect, query_sql, table_exists

FIGURES_SQL = SQL_DIR / "release" / "figures.sql"
LATEST_DATE_SQL = SQL_DIR / "release" / "latest_date.sql"
#: The exports whose absence together is a missing register folder.
REGISTER_FOLDER = "register/"


class ReleaseRefused(Exception):
    """The run was not published: the message names each reason; nothing was changed."""


@dataclass(frozen=True)
class Figure:
    """One compared figure: an export's records in one county (or 'ALL')."""

    export: str
    county: str
    unit: str
    published: int
    new: int
    withdrawn: int  # records this run's consent purge removed from the export: the allowed drop

    @property
    def shrinks(self) -> bool:
        return self.new + self.withdrawn < self.published


@dataclass
class GuardReport:
    """What `check_release` found; `problems` refuse the release, `allowed` were let through."""

    cutoff: dt.date
    published_run: str | None = None
    published_cutoff: dt.date | None = None
    latest_date: dt.date | None = None
    latest_source: str = ""
    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def message(self) -> str:
        """The refusal as one text, each reason on its own line."""
        how = []
        if any(_is_shrink(p) for p in self.problems):
            how.append("--allow-shrink (Dagster: allow_shrink) if the shrink is right")
        if any(not _is_shrink(p) for p in self.problems):
            how.append("--allow-future-cutoff (Dagster: allow_future_cutoff) if the cut-off is right")
        return ("the release was refused, the published warehouse and site are as they were:\n  "
                + "\n  ".join(self.problems) + "\nRun again with " + " or ".join(how) + ".")

    def metadata(self) -> dict:
        """The comparison as plain values, for the Dagster check's metadata and the run log."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "published_run": self.published_run or "(none)",
            "published_cutoff": self.published_cutoff.isoformat() if self.published_cutoff else "(none)",
            "latest_date": f"{self.latest_date} ({self.latest_source})" if self.latest_date else "(none)",
            "problems": "; ".join(self.problems) or "none",
            "allowed": "; ".join(self.allowed) or "none",
            "comparison": comparison_table(self.figures),
        }


_SHRINK_MARK = "in the published warehouse"


def _is_shrink(problem: str) -> bool:
    return _SHRINK_MARK in problem or "earlier than the published" in problem


def check_release(
    con: duckdb.DuckDBPyConnection,
    published: Path | None,
    cutoff: dt.date,
    today: dt.date | None = None,
    allow_shrink: bool = False,
    allow_future_cutoff: bool = False,
) -> GuardReport:
    """Compare a run's build (after ingest and the consent purge) with the published warehouse.

    `published` is the warehouse file the run would replace (None or absent: a first release,
    only the cut-off is checked). Returns the report; the caller refuses when it did not pass.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> report = check_release(con, None, dt.date(2030, 1, 1), today=dt.date(2026, 12, 6))
    >>> report.problems
    ['the cut-off 2030-01-01 is after today, 2026-12-06']
    >>> check_release(con, None, dt.date(2030, 1, 1), today=dt.date(2026, 12, 6), allow_future_cutoff=True).passed
    True
    """
    report = GuardReport(cutoff=cutoff)
    today = today or dt.date.today()
    ahead: list[str] = []
    if cutoff > today:
        ahead.append(f"the cut-off {cutoff} is after today, {today}")
    report.latest_date, report.latest_source = latest_date(con)
    if report.latest_date is not None and cutoff > quarter_end(report.latest_date):
        ahead.append(f"the cut-off {cutoff} is after the delivery's data: its newest date is {report.latest_date} "
                     f"({report.latest_source}), in an earlier quarter")
    shrinks: list[str] = []
    if published is not None and Path(published).exists():
        with connect(published, read_only=True) as old:
            report.published_run, report.published_cutoff = published_run(old)
            run = f"run {report.published_run}" if report.published_run else "no recorded run"
            if report.published_cutoff and cutoff < report.published_cutoff:
                shrinks.append(f"the cut-off {cutoff} is earlier than the published warehouse's "
                               f"{report.published_cutoff} ({run})")
            shrinks += _missing_exports(con, old, run)
            try:
                report.figures = compare_figures(con, old)
            except duckdb.Error as e:  # a warehouse of an older layout: refuse rather than guess
                reason = str(e).strip().splitlines()[0]
                shrinks.append(f"the published warehouse ({run}) cannot be compared with this run ({reason}): allow "
                               f"it only if this run is known to hold every record {_SHRINK_MARK}")
        shrinks += [_describe(f, run) for f in report.figures if f.shrinks]
    for problems, allowed in ((shrinks, allow_shrink), (ahead, allow_future_cutoff)):
        (report.allowed if allowed else report.problems).extend(problems)
    return report


def latest_date(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, str]:
    """The delivery's newest date and where it comes from ('clients.csv paivitetty'); (None, '') without one.

    Examples
    --------
    >>> latest_date(duckdb.connect())
    (None, '')
    """
    if not table_exists(con, "raw.clients"):
        return None, ""
    rows = query_sql(con, LATEST_DATE_SQL).dropna(subset=["latest"])
    if rows.empty:
        return None, ""
    top = rows.sort_values(["latest", "export"], ascending=[False, True]).iloc[0]
    return pd_date(top["latest"]), f"{_file(top['export'])} {top['column']}"


def quarter_end(day: dt.date) -> dt.date:
    """The last day of the quarter holding `day`.

    Examples
    --------
    >>> quarter_end(dt.date(2025, 1, 20))
    datetime.date(2025, 3, 31)
    """
    next_quarter_start = dt.date(day.year + (day.month > 9), (3 * ((day.month - 1) // 3) + 3) % 12 + 1, 1)
    return previous_quarter_end(next_quarter_start)


def published_run(con: duckdb.DuckDBPyConnection) -> tuple[str | None, dt.date | None]:
    """(run id, cut-off) of the last published run of a warehouse; (None, None) without one."""
    if not table_exists(con, "audit.runs"):
        return None, None
    rows = con.execute("SELECT run_id, cutoff FROM audit.runs ORDER BY finished_at DESC, run_id DESC LIMIT 1"
                       ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else (None, None)


def compare_figures(new: duckdb.DuckDBPyConnection, old: duckdb.DuckDBPyConnection) -> list[Figure]:
    """Each figure of `sql/release/figures.sql` in the published warehouse and in the run."""
    if not table_exists(old, "raw.clients"):
        return []
    before = {(r.export, r.county, r.unit): int(r.n) for r in query_sql(old, FIGURES_SQL).itertuples()}
    after = {(r.export, r.county, r.unit): int(r.n) for r in query_sql(new, FIGURES_SQL).itertuples()}
    withdrawn = _withdrawn(new)
    return [Figure(e, c, u, before.get((e, c, u), 0), after.get((e, c, u), 0), withdrawn.get(e, 0))
            for (e, c, u) in sorted(set(before) | set(after))]


def comparison_table(figures: list[Figure]) -> str:
    """The comparison as a Markdown table (the Dagster check shows it).

    Examples
    --------
    >>> print(comparison_table([Figure("clients", "Kainuu", "clients", 4, 2, 0)]))
    | export | county | unit | published | this run | withdrawn | shrinks |
    |---|---|---|---:|---:|---:|---|
    | clients.csv | Kainuu | clients | 4 | 2 | 0 | yes |
    """
    lines = ["| export | county | unit | published | this run | withdrawn | shrinks |", "|---|---|---|---:|---:|---:|---|"]
    lines += [f"| {_file(f.export)} | {f.county} | {f.unit} | {f.published} | {f.new} | {f.withdrawn} | "
              f"{'yes' if f.shrinks else 'no'} |" for f in figures]
    return "\n".join(lines)


def _describe(f: Figure, run: str) -> str:
    where = "" if f.county == "ALL" else f", {f.county}"
    withdrawn = f" (consent withdrawals explain {f.withdrawn})" if f.withdrawn else ""
    return f"{_file(f.export)}{where}: {f.new} {f.unit}, {f.published} {_SHRINK_MARK} ({run}){withdrawn}"


def _missing_exports(new: duckdb.DuckDBPyConnection, old: duckdb.DuckDBPyConnection, run: str) -> list[str]:
    def delivered(con) -> set[str]:
        if not table_exists(con, "audit.loads"):
            return set()
        return {r[0] for r in con.execute("SELECT DISTINCT export FROM audit.loads").fetchall()}

    contracts = load_contracts()
    gone = sorted(delivered(old) - delivered(new))
    register = [e for e in gone if contracts[e].is_register]
    all_register = {e for e, c in contracts.items() if c.is_register} & delivered(old)
    problems = []
    if register and set(register) == all_register:
        problems.append(f"{REGISTER_FOLDER}: the register folder is not in this delivery; {len(register)} register "
                        f"extract(s) {_SHRINK_MARK} ({run})")
        gone = [e for e in gone if e not in register]
    problems += [f"{_file(e)}: not in this delivery, delivered {_SHRINK_MARK} ({run})" for e in gone]
    return problems


def _withdrawn(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    if not table_exists(con, "audit.consent_withdrawals"):
        return {}
    return {e: int(n) for e, n in con.execute("SELECT export, rows_removed FROM audit.consent_withdrawals").fetchall()}


def _file(export: str) -> str:
    contract = load_contracts().get(export)
    return contract.file if contract else export


def pd_date(value) -> dt.date:
    """A date read back from pandas (a Timestamp or a date) as a date."""
    return value.date() if hasattr(value, "date") and callable(value.date) else value


# --- the delivery must not change under a run --------------------------------------------------

def delivery_listing(delivery: Path) -> dict[str, list[int]]:
    """Every file of the delivery: relative path -> [size, modification time in ns].

    Size and modification time, not a hash: the listing is taken twice per run, and hashing a
    national register extract twice would cost as much as reading it.

    Examples
    --------
    >>> delivery_listing(Path("/nonexistent"))
    {}
    """
    delivery = Path(delivery)
    if not delivery.is_dir():
        return {}
    return {p.relative_to(delivery).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns] for p in all_files(delivery)}


def listing_path(build_path: Path) -> Path:
    """Where a run keeps its delivery listing: beside its build file (removed with it).

    Examples
    --------
    >>> listing_path(Path("/w/.w.duckdb.build-r1")).name
    '.w.duckdb.build-r1.delivery.json'
    """
    return Path(build_path).parent / f"{Path(build_path).name}.delivery.json"


def record_delivery(build_path: Path, delivery: Path) -> None:
    """List the delivery's files as the run starts (see `delivery_changes`)."""
    path = listing_path(build_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"delivery": str(Path(delivery).resolve()), "files": delivery_listing(delivery)}),
                    encoding="utf-8")


def delivery_changes(build_path: Path) -> list[str]:
    """What changed in the delivery since the run started: files changed, added or removed.

    Empty when nothing did, or when the run did not read a delivery (no listing recorded).
    """
    path = listing_path(build_path)
    if not path.exists():
        return []
    recorded = json.loads(path.read_text(encoding="utf-8"))
    before, now = recorded["files"], delivery_listing(Path(recorded["delivery"]))
    return ([f"{f} changed" for f in sorted(set(before) & set(now)) if before[f] != now[f]]
            + [f"{f} added" for f in sorted(set(now) - set(before))]
            + [f"{f} removed" for f in sorted(set(before) - set(now))])
