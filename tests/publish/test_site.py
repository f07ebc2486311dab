"""The public website: built from the synthetic study, its numbers, its refusals, its history.

The site is built once per module from the `synthetic_study` warehouse (read-only) into a
temporary folder; tests that change the site build their own.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.publish.site import build as site_module
from ips_eval.publish.site import charts, texts
from ips_eval.publish.disclosure import PRIMARY_LABEL, SECONDARY_LABEL
from ips_eval.definitions import quarter_label
from ips_eval.publish.site.build import build_site, snapshots
from ips_eval.publish.site.render import PAGE
from ips_eval.publish.site.scan import SiteScanError, scan_site
from ips_eval.publish.site.tables import person_ids

CUTOFF = dt.date(2024, 12, 31)
PROVENANCE = {"run_id": "test-run-1", "code_version": "0.1.0+test", "input_fingerprint": "f" * 64}
#: The time of publication given: the pages show it to the minute, and a test comparing a later
#: build with the module's site must not see two builds straddle one.
PUBLISHED_AT = {"published_at": "2025-02-14T08:30:00Z"}


@pytest.fixture(scope="module")
def site(synthetic_study, tmp_path_factory):
    """The study's 2024Q4 site, built once for the module (tests that change a site copy it)."""
    root = tmp_path_factory.mktemp("site")
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        result = build_site(con, root / "site", synthetic_study["config"].cutoff, {**PROVENANCE, **PUBLISHED_AT},
                            None)
    return result


@pytest.fixture(scope="module")
def marts(synthetic_study):
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        outcomes = con.execute("SELECT * FROM marts.employment_outcomes").df().set_index("alue")
        ids = person_ids(con)
    return {"outcomes": outcomes, "ids": ids}


# --------------------------------------------------------------------------------------
# A small HTML reader: tables with their data-value cells, cards, images, links, lang.
# --------------------------------------------------------------------------------------
VOID = {"meta", "link", "img", "br", "hr", "input", "source", "col", "wbr"}


class Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.lang = None
        self.ids: list[str] = []
        self.tables: dict[str, dict] = {}
        self.cards: dict[str, dict] = {}
        self.images: list[dict] = []
        self.links: list[str] = []
        self.th_without_scope = 0
        self.h1 = 0
        self._table = None
        self._row = None
        self._cell = None
        self._card = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed {self.stack}")

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "img":
            self.images.append(a)
        if tag in ("a", "link") and "href" in a:
            self.links.append(a["href"])
        if tag == "img" and "src" in a:
            self.links.append(a["src"])
        if tag == "table" and "data-csv" in a:
            self._table = {"csv": a["data-csv"], "columns": a["data-columns"].split(","), "rows": []}
            self.tables[a["id"]] = self._table
        if tag == "tr" and self._table is not None and "tbody" in self.stack:
            self._row = []
        if tag in ("td", "th"):
            if tag == "th" and "scope" not in a:
                self.th_without_scope += 1
            if self._row is not None:
                self._cell = {"value": a.get("data-value"), "count": a.get("data-count"), "text": ""}
        if tag == "p" and a.get("class") == "card-figure":
            self._card = self.cards.setdefault(a["data-key"], {})
            self._card.update(value=a["data-value"], count=a.get("data-count"), text="")
        if tag == "span" and a.get("class") == "card-rate":
            self._card = self.cards.setdefault(a["data-key"], {})
            self._card.update(value=a["data-value"], text="")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        if tag == "tr" and self._row is not None:
            self._table["rows"].append(self._row)
            self._row = None
        if tag == "table":
            self._table = None
        if tag in ("p", "span"):
            self._card = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._card is not None:
            self._card["text"] += data


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def all_pages(site_dir: Path) -> list[Path]:
    return sorted(p for p in site_dir.rglob("*.html") if not any(part.startswith(".") for part in p.parts))


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------
def test_quarter_names():
    assert quarter_label(dt.date(2024, 12, 31)) == "2024Q4"
    assert quarter_label(dt.date(2024, 11, 15)) == "2024Q4"
    assert quarter_label(dt.date(2025, 1, 1)) == "2025Q1"
    assert quarter_label(dt.date(2025, 6, 30)) == "2025Q2"


def test_every_text_in_every_language():
    keys = set(texts.TEXTS["fi"])
    for lang in texts.LANGUAGES:
        assert set(texts.TEXTS[lang]) == keys, lang
        assert all(v.strip() for v in texts.TEXTS[lang].values()), lang


def test_site_builds_in_three_languages(site):
    root = site.site_dir
    assert site.quarter == "2024Q4" and site.latest and site.snapshots == ["2024Q4"]
    for lang in texts.LANGUAGES:
        for page in (root / PAGE[lang], root / "2024Q4" / PAGE[lang]):
            assert page.is_file(), page
            assert read_page(page).lang == lang
    assert (root / "history.html").is_file() and (root / "sv" / "history.html").is_file()
    manifest = json.loads((root / "2024Q4" / "snapshot.json").read_text())
    assert manifest["run_id"] == "test-run-1" and manifest["cutoff"] == "2024-12-31"
    assert not [p for p in root.iterdir() if p.name.startswith(".")], "build folders left behind"
    # the three versions translate the page, not the numbers
    fi, sv, en = (read_page(root / PAGE[lang]) for lang in texts.LANGUAGES)
    assert [c["value"] for c in fi.cards.values()] == [c["value"] for c in sv.cards.values()] \
        == [c["value"] for c in en.cards.values()]
    assert "Pääluvut" in (root / "index.html").read_text() and "Huvudresultat" in (root / "sv/index.html").read_text()
    assert "Headline figures" in (root / "en/index.html").read_text()


def test_pages_are_well_formed_and_accessible(site):
    for path in all_pages(site.site_dir):
        page = read_page(path)
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>"), path
        assert not page.errors, (path, page.errors[:3])
        assert page.lang in texts.LANGUAGES, path
        assert page.h1 == 1, path
        assert len(page.ids) == len(set(page.ids)), (path, "duplicate ids")
        assert page.th_without_scope == 0, path
        assert all(img.get("alt", "").strip() for img in page.images), path
        assert "http://" not in text and "https://" not in text, f"{path}: external resource"


def test_headline_numbers_equal_the_marts(site, marts):
    """A published count is the mart's count; a count under T is never shown as a number."""
    all_row = marts["outcomes"].loc["ALL"]
    for lang in texts.LANGUAGES:
        page = read_page(site.site_dir / PAGE[lang])
        assert set(page.cards) >= {"n_clients", "n_competitive", "n_unsubsidised", "n_tenure6", "n_tenure12",
                                   "n_employed6", "n_employed12"}
        for key, card in page.cards.items():
            truth = all_row[key]
            if card["value"] in (PRIMARY_LABEL, SECONDARY_LABEL):
                assert key.startswith("rate_") or card["value"] == PRIMARY_LABEL or truth >= T
                continue
            if key.startswith("rate_"):
                assert float(card["value"]) == pytest.approx(truth, abs=5e-5), key
            else:
                assert int(card["value"]) == truth, key
                assert card["count"] == card["value"]
                assert re.sub(r"[\s,\u00a0]", "", card["text"]) == card["value"]
    assert int(read_page(site.site_dir / "index.html").cards["n_clients"]["value"]) == all_row["n_clients"]


def test_trend_of_all_counties_has_no_gap_county_cells_could_fill(site, synthetic_study):
    """The all-counties working count of a quarter is hidden only when it is itself under T:
    complementary suppression hides county cells rather than the trend."""
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        truth = dict(con.execute("SELECT quarter, n_working FROM marts.employment_rate_by_quarter"
                                 " WHERE alue = 'ALL'").fetchall())
    rows = read_csv(site.snapshot_dir / "data" / "employment_rate_by_quarter_all.csv")
    header = rows[0]
    shown = {r[header.index("quarter")]: r for r in rows[1:]}
    assert set(shown) == set(truth)
    for quarter, n in truth.items():
        cell = shown[quarter][header.index("n_working")]
        if n >= T:
            assert cell == str(n), quarter
            assert shown[quarter][header.index("rate_working")] not in (PRIMARY_LABEL, SECONDARY_LABEL), quarter
        else:
            assert cell == PRIMARY_LABEL, quarter


def test_county_table_has_a_row_per_county_and_matches_the_marts(site, marts):
    outcomes = marts["outcomes"]
    page = read_page(site.snapshot_dir / "index.html")
    table = page.tables["employment_outcomes"]
    keys = [row[0]["value"] for row in table["rows"]]
    assert sorted(keys) == sorted(outcomes.index) and keys[-1] == "ALL"
    for row in table["rows"]:
        alue = row[0]["value"]
        for col, cell in zip(table["columns"][1:], row[1:]):
            truth = outcomes.at[alue, col]
            if cell["value"] == PRIMARY_LABEL:
                assert truth < T
            elif cell["value"] == SECONDARY_LABEL:
                assert col.startswith("rate_") or truth >= T
            elif col.startswith("n_"):
                assert int(cell["value"]) == truth >= T
            else:
                assert float(cell["value"]) == pytest.approx(truth, abs=5e-5)


def test_every_csv_download_matches_its_html_table(site):
    checked = 0
    for path in all_pages(site.site_dir):
        page = read_page(path)
        for table_id, table in page.tables.items():
            csv_path = (path.parent / table["csv"]).resolve()
            assert csv_path.is_file(), (path, table["csv"])
            rows = read_csv(csv_path)
            assert rows[0] == table["columns"], (path, table_id)
            assert [[c["value"] for c in r] for r in table["rows"]] == rows[1:], (path, table_id)
            for r in table["rows"]:
                for c in r:
                    if c["count"] is not None:
                        assert c["count"] == c["value"]
                        shown = re.sub(r"[\s,\u00a0]", "", c["text"])
                        assert shown == c["value"], (path, table_id, c)
            checked += 1
    assert checked >= 3 * 10


def test_no_file_holds_a_pseudonym_or_a_small_count(site, marts):
    ids = marts["ids"]
    assert len(ids) > 1000
    report = scan_site(site.site_dir, known_ids=ids)
    assert report.counts_checked > 500
    assert not report.skipped, "every file of the site should be readable text (SVG charts, no PNG)"
    pattern = re.compile(r"[0-9A-Za-z]+")
    for path in site.site_dir.rglob("*"):
        if path.is_file():
            tokens = set(pattern.findall(_xlsx_text(path) if path.suffix == ".xlsx" else
                                         path.read_text(encoding="utf-8")))
            assert not tokens & ids, path


def _xlsx_text(path: Path) -> str:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for v in row if v is not None)


def test_no_person_level_columns_in_downloads(site):
    for path in (site.snapshot_dir / "data").glob("*.csv"):
        header = read_csv(path)[0]
        assert "person_id" not in header and not any(re.search(r"(^|_)(min|max)(_|$)", h) for h in header), path


def test_models_present_or_said_to_be_absent(site, synthetic_study):
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        has_estimates = bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                                         "'models' AND table_name = 'estimates'").fetchone()[0])
    text = (site.site_dir / "en" / "index.html").read_text(encoding="utf-8")
    if has_estimates:
        assert site.models["employment_predictors"] in ("published", "not_publishable", "not_fitted")
    else:
        assert set(site.models.values()) == {"not_available"}
        assert "Not available" in text


# --------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------
def _leak_small_count(snap: Path) -> None:
    (snap / "data" / "leak.csv").write_text("alue,n_clients\nKainuu,3\n", encoding="utf-8")


def _leak_pseudonym(snap: Path, pseudonym: str) -> None:
    page = snap / "en" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</main>", f"<p>{pseudonym}</p></main>"),
                    encoding="utf-8")


def test_a_leak_refuses_publication_and_keeps_the_previous_snapshot(site, marts, synthetic_study, tmp_path,
                                                                    monkeypatch):
    """Two leaks slipped into one build, a small count in a download and a pseudonym on a page:
    the refusal lists every finding, so each leak is shown found on its own file, and neither
    the published site nor a build folder is changed or left."""
    target = tmp_path / "site"
    shutil.copytree(site.site_dir, target)
    before = tree_digest(target)
    pseudonym = sorted(marts["ids"])[0]
    original = site_module._write_snapshot

    def leaky(snap, *args, **kwargs):
        pages = original(snap, *args, **kwargs)
        _leak_small_count(snap)
        _leak_pseudonym(snap, pseudonym)
        return pages

    monkeypatch.setattr(site_module, "_write_snapshot", leaky)
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        with pytest.raises(SiteScanError) as refused:
            build_site(con, target, CUTOFF, {**PROVENANCE, "run_id": "leaky-run"}, None)
    assert pseudonym not in str(refused.value)
    found = {f.file for f in refused.value.findings}
    assert any(f.endswith("leak.csv") for f in found) and any(f.endswith("en/index.html") for f in found), found
    assert all(f.endswith(("leak.csv", "en/index.html")) for f in found), found
    assert tree_digest(target) == before, "the published site changed"
    assert not [p for p in target.iterdir() if p.name.startswith(".")], "build folder left behind"


# --------------------------------------------------------------------------------------
# Snapshots and history
# --------------------------------------------------------------------------------------
def test_quarter_snapshots_and_history(site, synthetic_study, tmp_path):
    target = tmp_path / "site"
    shutil.copytree(site.site_dir, target)  # the module's site: a published 2024Q4
    q4 = site
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        q1 = build_site(con, target, dt.date(2025, 2, 10), {**PROVENANCE, "run_id": "run-q1"}, None)
        assert (q4.quarter, q1.quarter) == ("2024Q4", "2025Q1") and q1.latest
        assert snapshots(target) == ["2024Q4", "2025Q1"]
        root_en = (target / "en" / "index.html").read_text(encoding="utf-8")
        assert "run-q1" in root_en and 'src="../2025Q1/assets/trend-en.svg"' in root_en
        # a re-run of an earlier quarter replaces that snapshot, and the root stays on the newest
        again = build_site(con, target, dt.date(2024, 12, 31), {**PROVENANCE, "run_id": "run-q4-again"}, None)
    assert not again.latest
    # rule 8: the later snapshot repeats the earlier one's quarters as they were published
    assert (target / "2025Q1" / "data" / "employment_rate_by_quarter.csv").read_bytes() == \
        (target / "2024Q4" / "data" / "employment_rate_by_quarter.csv").read_bytes()
    assert json.loads((target / "2024Q4" / "snapshot.json").read_text())["run_id"] == "run-q4-again"
    assert "run-q4-again" in (target / "2024Q4" / "index.html").read_text(encoding="utf-8")
    assert "run-q1" in (target / "index.html").read_text(encoding="utf-8")
    for lang in texts.LANGUAGES:
        hist_path = target / ("history.html" if lang == "fi" else f"{lang}/history.html")
        hist = read_page(hist_path)
        assert hist.lang == lang and not hist.errors
        quarters = [h for h in hist.links if re.match(r"^(\.\./)?\d{4}Q\d/", h)]
        assert len(quarters) == 2 and all((hist_path.parent / h).resolve().is_file() for h in quarters)
        assert "run-q4-again" in hist_path.read_text(encoding="utf-8")
    assert not [p for p in target.iterdir() if p.name.startswith(".")]


def test_local_links_resolve(site):
    for path in all_pages(site.site_dir):
        for href in read_page(path).links:
            if href.startswith("#"):
                continue
            assert not re.match(r"^[a-z]+:", href), (path, href)
            assert (path.parent / href.split("#")[0]).resolve().exists(), (path, href)


# --------------------------------------------------------------------------------------
# No models in the warehouse: every model section says "not available"
# --------------------------------------------------------------------------------------
def test_site_without_models_says_not_available(synthetic_study, tmp_path):
    small = tmp_path / "no_models.duckdb"
    with duckdb.connect(str(small)) as con:
        con.execute(f"ATTACH '{synthetic_study['warehouse']}' AS src (READ_ONLY)")
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'src' AND ("
            "schema_name IN ('ref', 'audit') OR (schema_name = 'marts' AND table_name <> 'state_sequences')"
            " OR (schema_name = 'staging' AND table_name IN ('clients', 'register_population')))"
        ).fetchall():
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM src.{schema}.{table}")
        con.execute("DETACH src")
    with duckdb.connect(str(small), read_only=True) as con:
        result = build_site(con, tmp_path / "site", CUTOFF, PROVENANCE, None)
    assert set(result.models.values()) == {"not_available"}
    text = (tmp_path / "site" / "en" / "index.html").read_text(encoding="utf-8")
    assert text.count("Not available") >= 5  # time to first job and four models
    assert (result.snapshot_dir / "data" / "score_means.csv").is_file()
    means = pd.read_csv(result.snapshot_dir / "data" / "score_means.csv", dtype=str)
    assert set(means.columns) == {"score", "wave", "n_responses", "mean"}


def test_a_rerun_of_a_quarter_reproduces_its_snapshot(site, synthetic_study, tmp_path):
    """Re-running a past quarter on the same delivery gives the same published figures: every
    CSV download, chart and page is identical but for the run's own provenance. The first run
    is the module's site (run `test-run-1`), the re-run another build of the same quarter."""
    assert site.quarter == "2024Q4" and site.provenance["run_id"] == "test-run-1"
    charts.forget_drawn()  # the re-run draws its charts itself, not the first build's again
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        build_site(con, tmp_path / "b", dt.date(2024, 12, 31),
                   {**PROVENANCE, **PUBLISHED_AT, "run_id": "test-run-2"}, None)
    first, rerun = site.snapshot_dir, tmp_path / "b" / "2024Q4"
    a, b = tree_digest(first), tree_digest(rerun)
    assert a.keys() == b.keys()
    differing = sorted(name for name in a if a[name] != b[name])
    data = [name for name in a if name.endswith((".csv", ".svg", ".xlsx"))]
    assert data and not any(name in differing for name in data)
    for name in differing:  # pages differ only where they name the run
        text_a = (first / name).read_text(encoding="utf-8")
        text_b = (rerun / name).read_text(encoding="utf-8")
        assert text_a.replace("test-run-1", "run-X") == text_b.replace("test-run-2", "run-X"), name


def test_a_figures_only_build_publishes_the_same_figures(site, synthetic_study, tmp_path):
    """`figures_only` leaves out the charts and the language downloads and nothing else: its
    code-keyed CSV downloads, their declarations and its pages' tables are those of the full
    build."""
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        result = build_site(con, tmp_path / "site", synthetic_study["config"].cutoff, PROVENANCE, None,
                            figures_only=True)
    full, figures = site.snapshot_dir / "data", result.snapshot_dir / "data"
    assert sorted(p.name for p in figures.iterdir()) == sorted(p.name for p in full.iterdir() if p.is_file())
    for path in figures.iterdir():
        assert path.read_bytes() == (full / path.name).read_bytes(), path.name
    assert not list(result.snapshot_dir.rglob("*.svg")) and not list(result.snapshot_dir.rglob("*.xlsx"))
    assert [p.relative_to(result.snapshot_dir) for p in result.pages] == \
        [p.relative_to(site.snapshot_dir) for p in site.pages]
    for page, own in zip(site.pages, result.pages):
        assert Page(page.read_text(encoding="utf-8")).tables == Page(own.read_text(encoding="utf-8")).tables
