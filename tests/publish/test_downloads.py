"""The downloads as a researcher opens them, the caveats beside the estimates, the release notes.

The site is built once per module from the `synthetic_study` warehouse (the demo's study);
tests that change a site copy it first.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ips_eval.publish.disclosure import HIDDEN_LABEL, PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL
from ips_eval.publish.site import downloads, texts
from ips_eval.publish.site.build import RepublishRefused, build_site
from ips_eval.publish.site.render import PAGE
from ips_eval.publish.site.scan import COLUMNS_FILE, check_output
from ips_eval.publish.site.tables import DAYS_PER_MONTH

PROVENANCE = {"run_id": "dl-run-1", "code_version": "0.1.0+test", "input_fingerprint": "d" * 64}
LABELS = {PRIMARY_LABEL, SECONDARY_LABEL, HIDDEN_LABEL, WITHHELD_LABEL}
NUMERIC = {"count", "int", "rate", "number", "money", "p"}


@pytest.fixture(scope="module")
def site(study_site):
    return study_site


def declared(folder: Path) -> dict:
    import json

    return json.loads((folder / COLUMNS_FILE).read_text(encoding="utf-8"))["tables"]


def as_finnish_excel(path: Path) -> list[list[str]]:
    """A CSV as Finnish Excel reads it on a double-click: UTF-8 only with its BOM, fields at `;`."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no byte-order mark, Excel would read it as ANSI"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=";"))


def excel_number(text: str) -> float:
    """A number as Finnish Excel parses it: a decimal comma, no point."""
    assert "." not in text, text
    return float(text.replace(",", "."))


# --------------------------------------------------------------------------------------
# Every download opens
# --------------------------------------------------------------------------------------
def test_every_download_opens_in_excel_with_numbers_labels_and_umlauts_intact(site):
    for lang in texts.LANGUAGES:
        folder = site.snapshot_dir / "data" / lang
        kinds = declared(folder)
        tables = [t for t in kinds if t != downloads.DICTIONARY]
        assert len(tables) >= 10, tables
        for name in [*tables, downloads.DICTIONARY]:
            book = openpyxl.load_workbook(folder / f"{name}.xlsx", read_only=True)
            sheet_rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
            if lang == "en":
                raw = (folder / f"{name}.csv").read_bytes()
                assert raw.startswith(b"\xef\xbb\xbf")
                rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
            else:
                rows = as_finnish_excel(folder / f"{name}.csv")
            header, body = rows[0], rows[1:]
            assert len(header) > 1 and all(len(r) == len(header) for r in body), (lang, name)
            assert [str(h) for h in sheet_rows[0]] == header, (lang, name)
            assert len(sheet_rows) == len(rows), (lang, name)
            assert list(kinds[name]["columns"]) == header, (lang, name)
            for j, column in enumerate(header):
                kind = kinds[name]["columns"][column]
                for r, cells in zip(body, sheet_rows[1:]):
                    text, value = r[j], cells[j]
                    if kind in NUMERIC and text and text not in LABELS:
                        number = excel_number(text) if lang != "en" else float(text)
                        assert isinstance(value, (int, float)) and abs(value - number) < 1e-9, (lang, name, column)
                    elif text in LABELS and text:
                        assert kind in NUMERIC and value == text, (lang, name, column)


def test_values_are_labelled_in_the_page_language(site):
    rows = {lang: as_finnish_excel(site.snapshot_dir / "data" / lang / "employment_outcomes.csv")
            for lang in ("fi", "sv")}
    fi_names = {r[0] for r in rows["fi"][1:]}
    sv_names = {r[0] for r in rows["sv"][1:]}
    assert "Etelä-Pohjanmaa" in fi_names and "Södra Österbotten" in sv_names
    assert "Kaikki alueet" in fi_names and "ALL" not in fi_names
    gender = as_finnish_excel(site.snapshot_dir / "data" / "fi" / "employment_outcomes_by_gender.csv")
    assert gender[0][0] == "Sukupuoli" and {r[0] for r in gender[1:]} <= {"mies", "nainen", "ei tietoa"}
    assert not any(h.startswith(("n_", "rate_")) or h == "alue" for h in rows["fi"][0])


def test_rates_in_percent_and_time_in_the_charts_months(site):
    data = site.snapshot_dir / "data"
    code = list(csv.DictReader((data / "employment_outcomes.csv").open(encoding="utf-8")))
    fi = as_finnish_excel(data / "fi" / "employment_outcomes.csv")
    rate_col = fi[0].index(texts.text("fi", "col_n_competitive") + ": %")
    shown = [excel_number(r[rate_col]) for r in fi[1:] if r[rate_col] not in LABELS]
    expected = [float(Decimal(r["rate_competitive"]) * 100) for r in code if r["rate_competitive"] not in LABELS]
    assert shown == pytest.approx(expected) and shown
    curve_code = list(csv.DictReader((data / "time_to_first_job_curve.csv").open(encoding="utf-8")))
    curve = as_finnish_excel(data / "fi" / "time_to_first_job_curve.csv")
    assert curve[0][0] == texts.text("fi", "chart_ttf_x")
    months = [excel_number(r[0]) for r in curve[1:]]
    assert months == pytest.approx([int(r["time"]) / DAYS_PER_MONTH for r in curve_code], abs=0.006)


def test_the_dictionary_lists_every_column_of_every_file(site):
    for lang in texts.LANGUAGES:
        folder = site.snapshot_dir / "data" / lang
        book = openpyxl.load_workbook(folder / "dictionary.xlsx", read_only=True)
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        header = rows[0]
        t = texts.TEXTS[lang]
        files, columns = header.index(t["dict_file"]), header.index(t["dict_column"])
        listed = {(f, c) for r in rows[1:] for f in str(r[files]).split(" / ") for c in [r[columns]]}
        csvs = sorted(folder.glob("*.csv"))
        assert len(csvs) >= 11
        for path in csvs:
            head = (as_finnish_excel(path) if lang != "en"
                    else list(csv.reader(io.StringIO(path.read_bytes()[3:].decode("utf-8")))))[0]
            for column in head:
                assert (path.name, column) in listed, (lang, path.name, column)
                assert (path.with_suffix(".xlsx").name, column) in listed, (lang, path.name, column)
        # generated from the declarations: the county table's competitive count names its warehouse column
        source = header.index(t["dict_source"])
        assert any(r[source] == "marts.employment_outcomes.n_competitive" for r in rows[1:]), lang


def test_the_disclosure_check_reads_the_language_downloads_and_passes_them(site, tmp_path):
    for lang in texts.LANGUAGES:
        assert check_output(site.snapshot_dir / "data" / lang) == [], lang
    # the same check finds a small count planted in a Finnish CSV and in a workbook
    copy = tmp_path / "fi"
    shutil.copytree(site.snapshot_dir / "data" / "fi", copy)
    rows = as_finnish_excel(copy / "employment_outcomes.csv")
    j = rows[0].index(texts.text("fi", "h_clients"))
    rows[1][j] = "3"
    text = "\r\n".join(";".join(r) for r in rows) + "\r\n"
    (copy / "employment_outcomes.csv").write_bytes(text.encode("utf-8-sig"))
    book = openpyxl.load_workbook(copy / "employment_outcomes.xlsx")
    book.worksheets[0].cell(row=2, column=j + 1).value = 2
    book.save(copy / "employment_outcomes.xlsx")
    found = [f"{f.file} {f.location}: {f.what}" for f in check_output(copy)]
    assert any(f.startswith("employment_outcomes.csv line 2") and "count under 5" in f for f in found), found
    assert any(f.startswith("employment_outcomes.xlsx") and "!" in f and "count under 5" in f for f in found), found


def test_each_page_links_its_own_language_downloads(site):
    for lang in texts.LANGUAGES:
        text = (site.snapshot_dir / PAGE[lang]).read_text(encoding="utf-8")
        links = re.findall(r'href="([^"]+\.(?:xlsx|csv))"', text)
        assert links and all(f"data/{lang}/" in h for h in links if h.endswith(".xlsx")), lang
        assert f"data/{lang}/dictionary.xlsx" in text
        assert texts.text(lang, "download_xlsx") in text


# --------------------------------------------------------------------------------------
# Caveats beside the estimates
# --------------------------------------------------------------------------------------
def test_the_24_month_effects_carry_their_caveat_in_three_languages(site, synthetic_study):
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        failed = [r[0] for r in con.execute("SELECT diagnostic FROM models.diagnostics WHERE model = 'effectiveness' "
                                            "AND passed = FALSE").fetchall()]
        status, short, reason = con.execute("SELECT status, status_reason, reason FROM models.fit_log "
                                            "WHERE model = 'effectiveness'").fetchone()
    post24 = [d for d in failed if d.startswith("post24_negative_control")]
    assert post24, "the demo study's 24-month negative control fails (the case this caveat is for)"
    assert status == "warning" and short.startswith("24-month effects: failed diagnostic") and post24[0] in short
    assert reason.startswith(short + ";"), "the caveat is the fit log's first clause"
    for lang in texts.LANGUAGES:
        text = html.unescape((site.snapshot_dir / PAGE[lang]).read_text(encoding="utf-8"))
        section = text[text.index('id="model-effectiveness"'):]
        section = section[:section.index("</section>")]
        assert texts.text(lang, "caveat_negative_control_post24") in section, lang
        # the 12- and 24-month fits have different populations: n per row, no single n
        assert texts.text(lang, "caveat_populations") in section, lang
        assert f"{texts.text(lang, 'model_n')}: " not in section, lang


def test_hidden_cells_say_which_group_forces_them(site):
    rows = list(csv.DictReader((site.snapshot_dir / "data" / "employment_outcomes_by_gender.csv").open()))
    small = [texts.group_value("fi", "gender", r["group_value"]) for r in rows if PRIMARY_LABEL in r.values()]
    assert any(SECONDARY_LABEL in r.values() for r in rows) and small, "the demo's gender table hides cells"
    text = (site.snapshot_dir / PAGE["fi"]).read_text(encoding="utf-8")
    table = text[text.index('id="employment_outcomes_by_gender"'):]
    note = re.search(r'<p class="table-note">(.*?)</p>', table[:table.index('class="download"')], re.S)
    assert note and all(group in note[1] for group in small), small
    # a table with nothing hidden as .. has no such line
    county = text[text.index('id="employment_outcomes"'):]
    county = county[:county.index('class="download"')]
    assert ('class="table-note"' in county) == (f">{SECONDARY_LABEL}<" in county)


# --------------------------------------------------------------------------------------
# Release notes, corrections
# --------------------------------------------------------------------------------------
def test_release_notes_citation_licence_and_local_time(site):
    for lang in texts.LANGUAGES:
        text = html.unescape((site.snapshot_dir / PAGE[lang]).read_text(encoding="utf-8"))
        for key in ("release_first", "release_contact", "release_licence"):
            assert texts.text(lang, key) in text, (lang, key)
        assert "2024Q4" in text and not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), lang


def test_a_published_quarter_is_corrected_only_when_allowed(site, synthetic_study, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site.site_dir, copy)
    before = (copy / "2024Q4" / "index.html").read_bytes()
    other = {**PROVENANCE, "run_id": "dl-run-2", "input_fingerprint": "e" * 64}
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        with pytest.raises(RepublishRefused, match="2024Q4 is already published.*--allow-republish"):
            build_site(con, copy, dt.date(2024, 12, 31), other, None)
        assert (copy / "2024Q4" / "index.html").read_bytes() == before
        build_site(con, copy, dt.date(2024, 12, 31), other, None, allow_republish=True)
    for lang in texts.LANGUAGES:
        text = html.unescape((copy / "2024Q4" / PAGE[lang]).read_text(encoding="utf-8"))
        corrected = texts.TEXTS[lang]["release_corrected"].split("{")[0]
        assert corrected in text, lang
        history = (copy / ("history.html" if lang == "fi" else f"{lang}/history.html")).read_text(encoding="utf-8")
        assert texts.text(lang, "history_corrected") in history


def test_a_workbook_made_again_from_another_cell_or_title_holds_it(tmp_path):
    """Workbooks are made once per process for the same download: the same download gives the
    same bytes, another cell or title a workbook that holds it."""
    def made(name, title, cell):
        d = downloads.Download("t", title, ("Alue", "Asiakkaita"), ("key", "count"), [["Kainuu", cell]])
        downloads.write_xlsx(tmp_path / name, d)
        return tmp_path / name

    first = made("a.xlsx", "Taulukko", 40).read_bytes()
    assert made("b.xlsx", "Taulukko", 40).read_bytes() == first
    sheet = openpyxl.load_workbook(made("c.xlsx", "Taulukko", 41)).active
    assert sheet["B2"].value == 41
    assert openpyxl.load_workbook(made("d.xlsx", "Toinen", 40)).active.title == "Toinen"
