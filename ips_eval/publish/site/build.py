"""The public project website: build it, scan it, and only then publish it.

`build_site(con, site_dir, cutoff, provenance, figures_dir)` writes a static site (HTML,
CSS, SVG charts, CSV downloads; no server, no external resources, relative links only) in
Finnish (`index.html`), Swedish (`sv/index.html`) and English (`en/index.html`).

Why it is built the way it is:

- **Nothing unsafe goes out.** Every number comes from `tables.read_site_data`
  (disclosure control); the whole site is first written to `site_dir/.build-<run id>/`,
  scanned with `scan.scan_site` (small counts, pseudonyms, identity codes) and moved
  into place only when the scan passes (`stage_site`, then `staging.publish_staged`; the
  pipeline moves it only after the warehouse swap, `ips_eval.release`). A refused build is deleted and the
  published site is left exactly as it was.
- **Past figures are frozen (rule 8).** A quarter's figures are published once: the next
  snapshot repeats the quarterly figures of every earlier quarter exactly as the snapshot
  before it showed them and adds only the new quarters, and the audit includes every earlier
  snapshot, so differencing two releases reveals nothing about withdrawals or late data.
  The costs section likewise: a year is shown once completed, then repeated as first shown.
  The warehouse still recomputes everything.
- **Every quarter is kept.** A build is the snapshot `site_dir/<quarter>/` (cut-off
  2024-12-31 -> `2024Q4`; a cut-off inside a quarter names that quarter).
  `site_dir/index.html` (and `sv/`, `en/`) is the newest snapshot's page with links into that
  snapshot; `history.html` lists every snapshot.
- **A published quarter is not replaced silently.** A re-run of a published quarter on the
  same delivery with the same code reproduces its snapshot and goes through; with another
  delivery or code it would revise what readers already have, and is refused
  (`RepublishRefused`) unless allowed (`allow_republish`); then the page says the release was
  corrected and when, and the history keeps when it was first published.
- **Release notes on every page**: what changed since the previous release (the new
  quarters; earlier quarters are repeated as first published, never revised; a withdrawal is
  never named), how to cite it, the contact and the licence; times in Finnish local time.
- **Provenance on every page**: cut-off, run id, code version, input fingerprint.

`figures_only=True` writes the snapshot's figures without their drawings and language files:
the pages, the code-keyed `data/<table>.csv` with `columns.json` and the manifest, scanned as
always, but no SVG charts and no per-language XLSX/CSV downloads (the pages' links to them
lead nowhere). The figures are computed, protected and audited by the same code as a full
build, and the next release reads them back the same way (rule 8): it is for replaying a
series of quarterly releases to study what they publish (the attacker test does), never for
a site readers get.

`figures_dir` (the models' own PNG figures) is accepted for the pipeline's sake but nothing
from it is copied: those figures are drawn from unprotected numbers (every Kaplan-Meier
step, means of small groups). The site draws its own charts from published tables.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import duckdb
import pandas as pd
from markupsafe import Markup, escape

from ips_eval import SITE_QUERIES_DIR
from ips_eval.definitions import DISCLOSURE_THRESHOLD, FOLLOW_UP_MONTHS, quarter_label
from ips_eval.faults import failpoint
from ips_eval.figures import figures
from ips_eval.publish.disclosure import PRIMARY_LABEL, SECONDARY_LABEL
from ips_eval.publish.site import charts, downloads, texts
from ips_eval.publish.site.render import (
    HISTORY, PAGE, Links, count_attr, css, page_links, render, table_view, up,
)
from ips_eval.publish.site.staging import QUARTER_DIR, publish_staged, staging_dir
from ips_eval.publish.site.scan import COLUMNS_FILE, ScanReport, scan_site
from ips_eval.publish.site.tables import (
    COSTS_TABLE, GROUPINGS, LINKED_SUMMARIES, QUARTERLY, SiteData, SiteTable, Snapshot, by_key, employment_table_names, person_ids,
    read_site_data,
)
from ips_eval.warehouse.database import query_sql, table_exists

#: The queries this module runs: sql/site/ (they build no warehouse table).
QUERIES = SITE_QUERIES_DIR

MANIFEST = "snapshot.json"
PROVENANCE_FIELDS = ("run_id", "cutoff", "code_version", "input_fingerprint")
#: What makes two builds of a quarter the same release: the same delivery and the same code.
RELEASE_IDENTITY = ("input_fingerprint", "code_version")


class RepublishRefused(Exception):
    """A published quarter would be replaced by a different release; nothing was changed."""


@dataclass(frozen=True)
class ReleaseNotes:
    """What a snapshot says about itself beside its figures."""

    previous: str | None  # the quarter of the release before this one
    new_quarters: tuple[str, ...]  # quarters of the trend this release adds
    first_published: str  # when this quarter was first published (UTC, ISO)
    corrected_at: str | None = None  # when a revision replaced the first release (UTC, ISO)


@dataclass
class SiteResult:
    """What a publication wrote and what the scan saw."""

    site_dir: Path
    snapshot_dir: Path
    quarter: str
    provenance: dict[str, str]
    pages: list[Path]
    csv_files: list[Path]
    scan: ScanReport
    latest: bool  # the root pages now show this snapshot
    snapshots: list[str]
    models: dict[str, str] = field(default_factory=dict)  # model -> published / not_available / ...
    suppressed_cells: int = 0


def snapshots(site_dir: Path) -> list[str]:
    """The published quarters under `site_dir`, oldest first."""
    if not Path(site_dir).is_dir():
        return []
    return sorted(p.name for p in Path(site_dir).iterdir()
                  if p.is_dir() and QUARTER_DIR.match(p.name) and (p / PAGE["fi"]).is_file())


def build_site(con: duckdb.DuckDBPyConnection, site_dir: Path, cutoff: dt.date, provenance: Mapping[str, Any],
               figures_dir: Path | None = None, *, allow_republish: bool = False,
               figures_only: bool = False) -> SiteResult:
    """Build, scan and publish the quarter's snapshot at once (`stage_site`, then
    `staging.publish_staged`). Raises `DisclosureError` (the audit refused a table) or
    `SiteScanError` (the built files hold something they must not); either way nothing
    under `site_dir` has changed. `figures_only`: the figures without charts and language
    downloads (see the module's docstring).

    The pipeline does not call this: it stages the site in its `publish/site` asset and
    moves it into place only with the warehouse swap (`ips_eval.release.publish`).

    Examples
    --------
    >>> import duckdb, tempfile
    >>> con = duckdb.connect()  # doctest: +SKIP
    >>> build_site(con, Path(tempfile.mkdtemp()), dt.date(2024, 12, 31), {"run_id": "r1"})  # doctest: +SKIP
    """
    staged = stage_site(con, site_dir, cutoff, provenance, figures_dir, allow_republish=allow_republish,
                        figures_only=figures_only)
    publish_staged(site_dir, staged.provenance["run_id"] or "manual")
    final = Path(site_dir) / staged.quarter
    return SiteResult(
        site_dir=staged.site_dir, snapshot_dir=final, quarter=staged.quarter, provenance=staged.provenance,
        pages=[final / p.relative_to(staged.snapshot_dir) for p in staged.pages],
        csv_files=sorted((final / "data").glob("*.csv")), scan=staged.scan, latest=staged.latest,
        snapshots=snapshots(site_dir), models=staged.models, suppressed_cells=staged.suppressed_cells,
    )


def stage_site(con: duckdb.DuckDBPyConnection, site_dir: Path, cutoff: dt.date, provenance: Mapping[str, Any],
               figures_dir: Path | None = None, *, allow_republish: bool = False,
               figures_only: bool = False) -> SiteResult:
    """Build and scan the quarter's snapshot in `staging.staging_dir(site_dir, run id)`, beside
    the published site, where it waits to be moved into place. Raises as `build_site`, and
    `RepublishRefused` when the quarter is published from another delivery or code and
    `allow_republish` is not set; a refused build is removed. The result's paths point into
    the staging folder.

    Examples
    --------
    >>> import duckdb, tempfile
    >>> con = duckdb.connect()  # doctest: +SKIP
    >>> stage_site(con, Path(tempfile.mkdtemp()), dt.date(2024, 12, 31), {"run_id": "r1"})  # doctest: +SKIP
    """
    site_dir = Path(site_dir)
    quarter = quarter_label(cutoff)
    prov = _provenance(con, cutoff, provenance)
    published = _manifest(site_dir / quarter) if (site_dir / quarter / PAGE["fi"]).is_file() else None
    revision = published is not None and any(published.get(k, "") != prov[k] for k in RELEASE_IDENTITY)
    if revision and not allow_republish:
        raise RepublishRefused(
            f"the quarter {quarter} is already published (run {published.get('run_id') or '?'}, "
            f"{published.get('published_at') or 'time not recorded'}) from another delivery or code version; "
            "its readers have those figures. To correct it, run again with --allow-republish (Dagster: "
            "allow_republish); the page will then say it was corrected and when.")
    data = read_site_data(con, history=published_history(site_dir, quarter), cutoff=cutoff)
    if published is not None:  # the quarter's first publication stays its date; a revision adds its own
        prov["first_published"] = published.get("first_published") or published.get("published_at", "")
        prov["corrected_at"] = prov["published_at"] if revision else published.get("corrected_at", "")
    notes = _release_notes(site_dir, quarter, data, prov)
    known_ids = person_ids(con)
    site_dir.mkdir(parents=True, exist_ok=True)
    build = staging_dir(site_dir, prov["run_id"] or "manual")
    shutil.rmtree(build, ignore_errors=True)
    try:
        snap = build / quarter
        pages = _write_snapshot(snap, data, prov, quarter, notes, drawn=not figures_only)
        all_quarters = sorted(set(snapshots(site_dir)) | {quarter})
        latest = quarter == all_quarters[-1]
        root = build / "root"
        _write_root(root, site_dir, all_quarters, quarter, data, prov, latest, notes)
        report = scan_site(build, known_ids=known_ids, specs=data.specs, columns=_column_kinds(data))
        failpoint("publish/site")
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return SiteResult(
        site_dir=site_dir, snapshot_dir=snap, quarter=quarter, provenance=prov, pages=pages,
        csv_files=sorted((snap / "data").glob("*.csv")), scan=report, latest=latest,
        snapshots=sorted(set(snapshots(site_dir)) | {quarter}), models={m: t.status for m, t in data.models.items()},
        suppressed_cells=sum(len(p.suppressed) for p in data.publications),
    )


def published_history(site_dir: Path, quarter: str) -> list[Snapshot]:
    """The snapshots published before `quarter`, as their CSV downloads show them: what a
    reader who kept every release knows (rule 8). A re-run of a quarter leaves its own
    earlier version out: it is replaced, not followed.

    Examples
    --------
    >>> published_history(Path("/nonexistent"), "2024Q4")
    []
    """
    out = []
    for q in snapshots(site_dir):
        if q >= quarter:
            continue
        data = Path(site_dir) / q / "data"
        tables = {}
        for name in [*employment_table_names(), COSTS_TABLE, *LINKED_SUMMARIES]:
            path = data / f"{name}.csv"
            if path.is_file():
                tables[name] = pd.read_csv(path, dtype=str, keep_default_na=False)
        manifest = Path(site_dir) / q / MANIFEST
        cutoff = json.loads(manifest.read_text(encoding="utf-8")).get("cutoff") if manifest.is_file() else None
        out.append(Snapshot(q, tables, dt.date.fromisoformat(cutoff) if cutoff else None))
    return out


def scan_published(con: duckdb.DuckDBPyConnection, site_dir: Path) -> ScanReport:
    """The blocking check after publication: scan everything under `site_dir` again
    (every snapshot and the root pages: all of it is public)."""
    data = read_site_data(con)
    return scan_site(site_dir, known_ids=person_ids(con), specs=data.specs, columns=_column_kinds(data))


# --------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------
def _provenance(con, cutoff: dt.date, given: Mapping[str, Any]) -> dict[str, str]:
    """The caller's provenance; fields it lacks come from the latest run in audit.runs."""
    prov = {k: str(v) for k, v in given.items() if v is not None and v != ""}
    prov["cutoff"] = cutoff.isoformat()
    if any(f not in prov for f in PROVENANCE_FIELDS) and table_exists(con, "audit.runs"):
        last = query_sql(con, QUERIES / "latest_run.sql")
        if len(last):
            for f in PROVENANCE_FIELDS:
                if f not in prov and last.at[0, f] is not None:
                    prov[f] = str(last.at[0, f])[:10] if f == "cutoff" else str(last.at[0, f])
    for f in PROVENANCE_FIELDS:
        prov.setdefault(f, "")
    prov.setdefault("run_id", "")
    prov["published_at"] = prov.get("published_at") or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return prov


# --------------------------------------------------------------------------------------
# The snapshot
# --------------------------------------------------------------------------------------
def _release_notes(site_dir: Path, quarter: str, data: SiteData, prov: dict) -> ReleaseNotes:
    """What changed since the previous release: the quarters of the trend it did not show."""
    earlier = [q for q in snapshots(site_dir) if q < quarter]
    previous = earlier[-1] if earlier else None
    shown_before: set[str] = set()
    if previous:
        path = Path(site_dir) / previous / "data" / f"{QUARTERLY}.csv"
        if path.is_file():
            shown_before = set(pd.read_csv(path, dtype=str, keep_default_na=False)["quarter"])
    new = tuple(sorted({r["quarter"] for r in data.quarterly.rows} - shown_before))
    return ReleaseNotes(previous, new, prov.get("first_published") or prov["published_at"],
                        prov.get("corrected_at") or None)


def _release_view(lang: str, notes: ReleaseNotes, quarter: str, prov: dict) -> dict:
    """The release notes as the page says them."""
    t = texts.TEXTS[lang]
    changes = [texts.text(lang, "release_first") if notes.previous is None
               else texts.text(lang, "release_since", previous=notes.previous)]
    if notes.previous is not None and notes.new_quarters:
        changes.append(texts.text(lang, "release_new_quarters", quarters=", ".join(notes.new_quarters)))
    if notes.previous is not None:
        changes.append(t["release_frozen"])
    if notes.corrected_at:
        changes.append(texts.text(lang, "release_corrected", first=texts.fmt_time(lang, notes.first_published),
                                  corrected=texts.fmt_time(lang, notes.corrected_at)))
    return {
        "changes": changes,
        "citation": texts.text(lang, "release_citation", quarter=quarter,
                               cutoff=texts.fmt_date(lang, prov["cutoff"]),
                               published=texts.fmt_date(lang, notes.first_published[:10])
                               if notes.first_published[:10] else ""),
        "contact": t["release_contact"], "licence": t["release_licence"],
        "corrected": bool(notes.corrected_at),
    }


def _write_snapshot(snap: Path, data: SiteData, prov: dict, quarter: str, notes: ReleaseNotes,
                    drawn: bool = True) -> list[Path]:
    """The snapshot's files; `drawn=False` leaves out the charts and the language downloads."""
    (snap / "assets").mkdir(parents=True)
    (snap / "data").mkdir()
    (snap / "assets" / "site.css").write_text(css(), encoding="utf-8")
    for table in _downloads(data):  # code-keyed: what the next release reads back (rule 8)
        table.frame().to_csv(snap / "data" / f"{table.name}.csv", index=False, lineterminator="\n")
    # what each column holds, so that the scan (and any reader's tool) classifies every number
    declared = {"tables": {name: {"columns": kinds} for name, kinds in _column_kinds(data).items()}}
    (snap / "data" / COLUMNS_FILE).write_text(json.dumps(declared, indent=1, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
    for lang in texts.LANGUAGES if drawn else ():
        for narrow in (False, True):  # the page's width and a phone's
            charts.trend_chart(data.quarterly, lang, snap / "assets" / f"trend-{lang}.svg", narrow)
            if data.ttf_curve is not None:
                charts.ttf_chart(data.ttf_curve, lang, snap / "assets" / f"ttf-{lang}.svg", narrow)
            for declared, table in (pair for s in data.sections for pair in s.tables):
                if declared.chart:
                    SECTION_CHARTS[declared.chart](table, lang, snap / "assets" / f"{table.name}-{lang}.svg",
                                                   narrow)
    manifest = {"quarter": quarter, **{k: prov[k] for k in (*PROVENANCE_FIELDS, "published_at")},
                **{k: prov[k] for k in ("first_published", "corrected_at") if prov.get(k)}}
    (snap / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    pages = []
    titles: dict[str, dict[str, str]] = {}  # lang -> table -> the caption its page shows it under
    for lang in texts.LANGUAGES:
        path = snap / PAGE[lang]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_page(data, prov, quarter, lang, page_links(lang, None), snap, notes,
                              titles.setdefault(lang, {})), encoding="utf-8")
        pages.append(path)
    if drawn:
        downloads.write_downloads(snap, _downloads(data), titles)
    return pages


def _quarterly_all(data: SiteData) -> SiteTable:
    """The quarterly table of all counties together (the chart's numbers), its own download."""
    cols = tuple(c for c in data.quarterly.columns if c.name != "alue")
    rows = [{c.name: r[c.name] for c in cols} for r in data.quarterly.rows if r["alue"] == "ALL"]
    return SiteTable(f"{QUARTERLY}_all", cols, rows, data.quarterly.source or f"marts.{QUARTERLY}")


def _column_kinds(data: SiteData) -> dict[str, dict[str, str]]:
    """Every download's columns and what they hold (`Column.kind`)."""
    return {t.name: {c.name: c.kind for c in t.columns} for t in _downloads(data)}


def _downloads(data: SiteData) -> list[SiteTable]:
    return [*data.tables(), _quarterly_all(data)]


def _svg_size(path: Path) -> tuple[int, int]:
    """Pixel size of a matplotlib SVG (its width/height are in pt), for the img element; a
    chart not drawn (`figures_only`) gets the default size."""
    if not path.is_file():
        return (800, 400)
    head = path.read_text(encoding="utf-8")[:2000]
    w = re.search(r'width="([\d.]+)pt"', head)
    h = re.search(r'height="([\d.]+)pt"', head)
    return (round(float(w[1]) * 4 / 3), round(float(h[1]) * 4 / 3)) if w and h else (800, 400)


def _page(data: SiteData, prov: dict, quarter: str, lang: str, links: Links, snap: Path, notes: ReleaseNotes,
          titles: dict[str, str] | None = None) -> str:
    """A language's page; `titles` collects each table's caption (the downloads' titles)."""
    t = texts.TEXTS[lang]
    data_href = f"{links.snapshot}data/"

    def view(table: SiteTable, caption: str, **kw):
        if titles is not None:
            titles.setdefault(table.name, caption)
        files = [(fmt, links.snapshot + downloads.href(lang, table.name, fmt)) for fmt in downloads.FORMATS]
        return table_view(table, lang, caption, f"{data_href}{table.name}.csv", downloads=files,
                          dictionary=links.snapshot + downloads.href(lang, downloads.DICTIONARY, "xlsx"), **kw)

    all_row = by_key(data.county, alue="ALL")
    q_all = _quarterly_all(data)
    last = q_all.rows[-1] if q_all.rows else None
    trend_img = snap / "assets" / f"trend-{lang}.svg"
    tw, th = _svg_size(trend_img)
    trend = {
        "img": f"{links.snapshot}assets/trend-{lang}.svg", "width": tw, "height": th,
        "narrow": f"{links.snapshot}assets/trend-{lang}-narrow.svg",
        "alt": texts.text(lang, "chart_trend_alt", first=q_all.rows[0]["quarter"] if q_all.rows else "",
                          last=last["quarter"] if last else "",
                          last_rate=_rate_text(lang, last["rate_working"]) if last else ""),
        "table": view(q_all, texts.text(lang, "chart_trend_title"), compact=True),
        "by_county": view(data.quarterly, texts.text(lang, "trend_by_county")),
    }
    ttf = None
    if data.ttf_curve is not None and data.ttf_readouts is not None:
        img = snap / "assets" / f"ttf-{lang}.svg"
        w, h = _svg_size(img)
        at_long = by_key(data.ttf_readouts, months=str(FOLLOW_UP_MONTHS[-1]))
        ttf = {
            "img": f"{links.snapshot}assets/ttf-{lang}.svg", "width": w, "height": h,
            "narrow": f"{links.snapshot}assets/ttf-{lang}-narrow.svg",
            "alt": texts.text(lang, "chart_ttf_alt", share=_rate_text(lang, at_long["share"]) if at_long else "–"),
            "readouts": view(data.ttf_readouts, texts.text(lang, "chart_ttf_title"), compact=True),
            "curve": view(data.ttf_curve, texts.text(lang, "ttf_curve"), compact=True),
        }
    scores = None
    if data.scores is not None:
        scores = {"intro": t["scores_intro_change" if data.scores_kind == "change" else "scores_intro_means"],
                  "table": view(data.scores, t["scores"], compact=True)}
    models = []
    for name, mt in data.models.items():
        models.append({
            "model": name, "title": t[f"model_{name}"], "status": mt.status,
            "status_text": t.get(f"model_{mt.status}", t["not_available"]),
            "table": view(mt.table, t[f"model_{name}"], compact=True) if mt.table else None,
            "n": mt.n or "", "n_text": _count_text(lang, mt.n or ""),
            "caveats": [t[c] for c in mt.caveats],
        })
    voices = _sections(data, lang, links, snap, view)
    toc = [("headline", t["headline"]), ("counties", t["counties"]), ("trend", t["trend"]), ("groups", t["groups"]),
           ("ttf", t["ttf"]), ("fidelity", t["fidelity"]), ("costs", t["costs"]), ("transitions", t["transitions"]),
           ("scores", t["scores"]), *((v["id"], v["title"]) for v in voices), ("models", t["models"]),
           ("release", t["release"]), ("provenance", t["provenance"])]
    return render(
        "page.html", lang=lang, t=t, quarter=quarter, links=links,
        languages=_languages(lang, links.home, PAGE), home_href=links.home + PAGE[lang],
        history_href=links.site_root + HISTORY[lang],
        cutoff_phrase=texts.text(lang, "cutoff_phrase", cutoff=texts.fmt_date(lang, prov["cutoff"])),
        toc=toc, cards=_cards(lang, all_row), suppression_text=_suppression_text(lang, data),
        county=view(data.county, t["counties"], key_header=t["col_alue"]),
        groups=[view(data.groups[g], t[f"grouping_{g}"], key_header=t[f"grouping_{g}"]) for g in GROUPINGS],
        trend=trend, ttf=ttf,
        fidelity=view(data.fidelity, t["fidelity"], compact=True) if data.fidelity is not None else None,
        costs=view(data.costs, t["costs"], compact=True) if data.costs is not None else None,
        cost_effectiveness=(view(data.cost_effectiveness, t["cost_effectiveness"], compact=True)
                            if data.cost_effectiveness is not None else None),
        transitions=view(data.transitions, t["transitions"], compact=True) if data.transitions is not None else None,
        scores=scores, voices=voices, models=models, release=_release_view(lang, notes, quarter, prov),
        provenance=[(t["prov_cutoff"], texts.fmt_date(lang, prov["cutoff"])), (t["prov_quarter"], quarter),
                    (t["prov_run"], prov["run_id"]), (t["prov_code"], prov["code_version"]),
                    (t["prov_input"], prov["input_fingerprint"]), (t["prov_published"], texts.fmt_time(lang, prov["published_at"])),
                    (t["prov_threshold"], str(DISCLOSURE_THRESHOLD))],
    )


#: The charts a declared section's table may have (sections.yaml `chart`).
SECTION_CHARTS = {"likert": charts.likert_chart, "forest": charts.forest_chart}


def _sections(data: SiteData, lang: str, links: Links, snap: Path, view) -> list[dict]:
    """The declared sections (sections.yaml) as the page shows them: title, introduction and
    each published table with its chart; a section without its warehouse table, or with no
    table in this delivery, says so."""
    out = []
    for sd in data.sections:
        name = sd.section.name
        tables = []
        for declared, table in sd.tables:
            caption = texts.text(lang, f"caption_{declared.name}")
            entry = {"view": view(table, caption, compact=True), "img": None}
            if declared.chart:
                img = snap / "assets" / f"{table.name}-{lang}.svg"
                w, h = _svg_size(img)
                entry.update(img=f"{links.snapshot}assets/{table.name}-{lang}.svg", width=w, height=h,
                             narrow=f"{links.snapshot}assets/{table.name}-{lang}-narrow.svg",
                             caption=caption, alt=texts.text(lang, f"chart_{declared.chart}_alt", caption=caption))
            tables.append(entry)
        out.append({"id": name, "title": texts.text(lang, f"section_{name}"),
                    "intro": texts.text(lang, f"section_{name}_intro"), "tables": tables,
                    "none_text": texts.text(lang, "section_none" if sd.available else "not_available")})
    return out


def _languages(current: str, home: str, pages: Mapping[str, str]) -> list[dict]:
    return [{"code": l, "name": texts.LANGUAGE_NAMES[l], "href": home + pages[l], "current": l == current}
            for l in texts.LANGUAGES]


def _count_text(lang: str, value: str) -> str:
    try:
        return texts.fmt_number(lang, float(value))
    except ValueError:
        return value


def _rate_text(lang: str, value: str) -> str:
    try:
        return texts.fmt_percent(lang, float(value))
    except ValueError:
        return value


#: The headline cards, from the catalogue's figures with a card: (text key, count column,
#: rate column or None, its own denominator or None = a share of the clients).
CARDS: tuple[tuple[str, str, str | None, str | None], ...] = tuple(
    (f"h_{f.name}", f.count, f.rate, f.own_denominator) for f in figures("headline", published=True) if f.card)


def _of_eligible(lang: str, value: str) -> Markup:
    """'of 428 followed up', the count marked with data-count like every count on the site."""
    before, _, after = texts.text(lang, "of_eligible").partition("{n}")
    return Markup("{}<span{}>{}</span>{}").format(before, count_attr(value), _count_text(lang, value), after)


def _suppression_text(lang: str, data: SiteData) -> Markup:
    """How many counts the employment tables show as `<5` and as `..`, and why; the numbers
    are cells, not people (`data-kind="int"` tells the scan so)."""
    shown = [r[c.name] for t in (data.county, *data.groups.values(), data.quarterly)
             for c in t.columns if c.kind == "count" for r in t.rows]
    primary, secondary = shown.count(PRIMARY_LABEL), shown.count(SECONDARY_LABEL)
    values = {"{primary}": primary, "{secondary}": secondary}
    out = Markup("")
    for piece in re.split(r"(\{primary\}|\{secondary\})", texts.text(lang, "suppression_summary")):
        out += (Markup('<span data-kind="int">{}</span>').format(texts.fmt_number(lang, values[piece]))
                if piece in values else escape(piece))
    return out


def _cards(lang: str, row: dict[str, str] | None) -> list[dict]:
    """The headline figures of all counties: the published ALL row of the county table."""
    if row is None:
        return []
    cards = []
    for key, count, rate, den in CARDS:
        card = {"key": count, "title": texts.text(lang, key), "value": row[count],
                "text": _count_text(lang, row[count]), "rate_key": rate}
        if rate:
            card.update(rate_value=row[rate], rate_text=_rate_text(lang, row[rate]),
                        rate_of=texts.text(lang, "of_clients") if den is None else _of_eligible(lang, row[den]))
        cards.append(card)
    return cards


# --------------------------------------------------------------------------------------
# The site root: the newest snapshot's pages and the history
# --------------------------------------------------------------------------------------
def _write_root(root: Path, site_dir: Path, quarters: list[str], quarter: str, data: SiteData, prov: dict,
                latest: bool, notes: ReleaseNotes) -> None:
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "site.css").write_text(css(), encoding="utf-8")
    manifests = {q: _manifest(site_dir / q) for q in quarters}
    manifests[quarter] = {"quarter": quarter, **prov}
    newest = quarters[-1]
    for lang in texts.LANGUAGES:
        links = page_links(lang, newest)
        if latest:
            page = root / PAGE[lang]
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(_page(data, prov, quarter, lang, links, root.parent / quarter, notes), encoding="utf-8")
        rows = []
        for q in reversed(quarters):
            m = manifests[q]
            rows.append({"quarter": q, "href": f"{up(lang)}{q}/{PAGE[lang]}", "latest": q == newest,
                         "cutoff": texts.fmt_date(lang, m["cutoff"]) if m.get("cutoff") else "",
                         "published": texts.fmt_time(lang, m.get("first_published") or m.get("published_at", ""))
                         if m.get("published_at") else "",
                         "corrected": texts.fmt_time(lang, m["corrected_at"]) if m.get("corrected_at") else "",
                         "run_id": m.get("run_id", "")})
        hist = root / HISTORY[lang]
        hist.parent.mkdir(parents=True, exist_ok=True)
        hist.write_text(render(
            "history.html", lang=lang, t=texts.TEXTS[lang], links=links, snapshots=rows,
            languages=_languages(lang, up(lang), HISTORY), home_href=up(lang) + PAGE[lang],
            history_href=up(lang) + HISTORY[lang],
        ), encoding="utf-8")


def _manifest(snap: Path) -> dict:
    try:
        return json.loads((snap / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
