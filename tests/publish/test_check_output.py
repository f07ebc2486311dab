"""`ips-eval check-output` reads what a person reads (docs/analysis_plan.md, disclosure rule 9).

Each case plants one problem the check used to miss (the 21 an attacker found, and the
Finnish office files an analyst saves from Excel) in a folder of its own; the check must
name it, by file and place. Then the files that hold no problem pass, and a built site of
the synthetic study holds none.
"""

from __future__ import annotations

import json

import pytest

from ips_eval.publish.site.scan import check_output

#: case -> (file, content, what the finding must say)
MISSED = {
    "prose_percent_of_count": ("report.html", "<p>33.3 % of the 3 clients found work.</p>", "'3 clients'"),
    "prose_finnish_percent": ("raportti.html", "<p>Työllistyi 33,3 % 3 asiakkaasta.</p>", "3 asiakkaasta"),
    "prose_only_three": ("page.html", "<p>Only 3 clients in Kainuu found work.</p>", "'3 clients'"),
    "rate_unknown_name": ("rates.csv", "alue,clients,employed_pct\nKainuu,10,20.0\n",
                          "column 'employed_pct': a rate that implies a count under 5"),
    "rate_unknown_name_html": ("rates.html", "<table><tr><th>alue</th><th>clients</th><th>employed_pct</th></tr>"
                               "<tr><td>Kainuu</td><td>10</td><td>20.0</td></tr></table>",
                               "column 'employed_pct': a rate that implies a count under 5 (with clients)"),
    "alt_attribute": ("chart.html", '<img src="c.png" alt="Kainuu: 3 clients found work">', "<img>, alt"),
    "title_attribute": ("cards.html", '<span title="n = 3">Kainuu</span>', "<span>, title"),
    "data_value_attribute": ("table.html", '<table data-columns="alue,n_working"><tr><th>A</th>'
                                           '<td data-value="3">&lt;5</td></tr></table>', "data-value"),
    "data_attribute_any_name": ("widget.html", '<div data-clients="3">Kainuu</div>', "<div>, data-clients"),
    "svg_title": ("trend.svg", '<svg xmlns="http://www.w3.org/2000/svg"><title>Kainuu: 3 clients</title></svg>',
                  "'3 clients'"),
    "tick_label": ("bars.svg", '<svg><g id="xtick_1"><text>Kainuu, 3 clients</text></g></svg>', "tick label"),
    "count_with_percent_in_cell": ("t.html", "<table><tr><td>Kainuu</td><td>3 (33 %)</td></tr></table>",
                                   "'3 (33 %)'"),
    "count_in_key_column": ("keys.csv", "alue,n_clients\nKainuu (n = 3),40\n", "column 'alue', 'n ='"),
    "markdown": ("notes.md", "# Results\n\nIn Kainuu 3 clients found work.\n", "notes.md line 3"),
    "text": ("notes.txt", "Lappi: only 2 participants left.\n", "notes.txt line 1"),
    "log": ("run.log", "2024-01-01 12:00 published county Lappi with 4 clients\n", "run.log line 1"),
    "tsv": ("t.tsv", "alue\tn_working\nKainuu\t3\n", "t.tsv line 2, column 'n_working'"),
    "json_any_key": ("figures.json", '{"Kainuu": {"employed": 3, "share": 0.4}}', "at $.Kainuu.employed"),
    "complement": ("c.csv", "alue,n_clients,n_competitive\nKainuu,40,37\n",
                   "a complement under 5 (n_clients - n_competitive)"),
    "margin": ("m.csv", "alue,n_clients\nKainuu,<5\nLappi,20\nALL,23\n",
               "line 2, column 'n_clients': a hidden count the total gives away"),
    "data_kind_int": ("k.html", '<table data-columns="alue,n_working"><tr><th>A</th>'
                                '<td data-kind="int">3</td></tr></table>', "table cell 'n_working'"),
}

#: Finnish office files as they are saved from Excel.
OFFICE = {
    "title_line_above_header": ("tulos.csv", "Tulostaulukko raportille\nAlue;Asiakkaita;Työllistyneitä\nKainuu;66;2\n",
                                "column 'Työllistyneitä': a published count under 5"),
    "decimal_comma_rate": ("osuus.csv", "Alue;Asiakkaita;Osuus\nKainuu;40;0,05\n",
                           "column 'Osuus': a rate that implies a count under 5"),
    "percent_with_comma": ("pros.csv", "Alue;Asiakkaita;Työllistyneet %\nKainuu;40;5,0 %\n",
                           "column 'Työllistyneet %': a rate that implies a count under 5"),
    "windows_1252": ("ansi.csv", "Alue;Asiakkaita;Työllistyneitä\nKainuu;66;2\n".encode("cp1252"),
                     "column 'Työllistyneitä': a published count under 5"),
    "xlsx_cell_reference": ("raportti.xlsx", None, "Taul1!C4 ('Työllistyneitä'): a published count under 5"),
}


def _plant(folder, file, content):
    path = folder / file
    if content is None:  # a workbook with a title row, as an analyst saves it
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Taul1"
        for row in (["Tulostaulukko"], [], ["Alue", "Asiakkaita", "Työllistyneitä"], ["Kainuu", 66, 2]):
            sheet.append(row)
        book.save(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.mark.parametrize("case", [*MISSED, *OFFICE])
def test_a_planted_problem_is_found(tmp_path, case):
    file, content, expected = {**MISSED, **OFFICE}[case]
    _plant(tmp_path, file, content)
    found = [str(f) for f in check_output(tmp_path)]
    assert any(expected in f for f in found), found
    assert all(f.startswith(file) for f in found), found


def test_the_same_files_without_the_problem_pass(tmp_path):
    # the clean twins of the cases above, and what a reader does not take for people: a
    # score column holding 3, a rate that implies 5 or more, a total with two hidden parts,
    # durations, years, quarters, "1. aalto"
    files = {
        "report.html": "<p>33.3 % of the 30 clients found work in the 1. aalto, 12 kuukautta, 2024Q1.</p>",
        "tulos.csv": "Tulostaulukko raportille\nAlue;Asiakkaita;Työllistyneitä\nKainuu;66;20\n",
        "pisteet.csv": "Mittari;Pisteet\nSWEMWBS;3\nTyökyky;4\n",
        "osuus.csv": "Alue;Asiakkaita;Osuus\nKainuu;40;0,25\n",
        "m.csv": "alue,n_clients\nKainuu,<5\nLappi,..\nPohjanmaa,20\nALL,29\n",
        "c.csv": "alue,n_clients,n_competitive\nKainuu,40,30\n",
        "notes.md": "# Results\n\nIn Kainuu 30 clients found work within 3 months.\n",
        "figures.json": '{"Kainuu": {"employed": 30, "share": 0.4, "year": 2024}}',
        "ansi.csv": "Alue;Asiakkaita;Työllistyneitä\nKainuu;66;20\n".encode("cp1252"),
    }
    for file, content in files.items():
        _plant(tmp_path, file, content)
    assert check_output(tmp_path) == []


def test_a_column_it_cannot_classify_is_listed_never_passed(tmp_path):
    _plant(tmp_path, "x.csv", "alue;painokerroin\nKainuu;0,37\n")
    found = [str(f) for f in check_output(tmp_path)]
    assert found == ["x.csv line 1, column 'painokerroin': a column of numbers the check could not classify "
                     "(count, rate, score?): check it by hand"]


def test_a_file_that_passed_is_read_again_when_what_it_is_read_with_changes(tmp_path):
    # a file scanned clean is not read again unchanged: a change of its folder's declarations,
    # of those of a page's table's CSV, or of the ids looked for must still be seen
    data = tmp_path / "data"
    data.mkdir()
    _plant(tmp_path, "data/t.csv", "alue,value\nKainuu,3\n")
    _plant(tmp_path, "page.html", '<table data-csv="data/t.csv" data-columns="alue,value">'
                                  "<tr><td>Kainuu</td><td>3</td></tr></table>")
    _plant(tmp_path, "notes.txt", "client AB12CD34EF\n")
    declare = lambda kind: _plant(tmp_path, "data/columns.json",  # noqa: E731
                                  json.dumps({"tables": {"t": {"columns": {"alue": "key", "value": kind}}}}))
    declare("int")
    assert check_output(tmp_path) == []
    assert check_output(tmp_path) == []  # again, unchanged
    declare("count")
    found = [str(f) for f in check_output(tmp_path)]
    assert any(f.startswith("data/t.csv") and "count under 5" in f for f in found), found
    assert any(f.startswith("page.html") and "count under 5" in f for f in found), found
    found = [str(f) for f in check_output(tmp_path, known_ids={"AB12CD34EF"})]
    assert any(f.startswith("notes.txt") and "pseudonym" in f for f in found), found


@pytest.mark.pipeline
def test_the_real_site_passes(synthetic_study):
    """The site the synthetic study's run published, every file of it."""
    site = synthetic_study["site"]
    assert len([p for p in site.rglob("*") if p.is_file()]) > 50
    assert [str(f) for f in check_output(site)] == []


class _Events:
    """What a reader of the scan is told, in order: each call with its tag, attributes, text
    and position."""

    @staticmethod
    def read(text: str, plain: bool) -> list:
        from ips_eval.publish.site import scan

        events = []

        class Recorder(scan._Reader):
            def handle_starttag(self, tag, attrs):
                events.append(("start", tag, dict(attrs), self.getpos()))

            def handle_startendtag(self, tag, attrs):
                events.append(("startend", tag, dict(attrs), self.getpos()))

            def handle_endtag(self, tag):
                events.append(("end", tag, self.getpos()))

            def handle_data(self, data):
                events.append(("data", data, self.getpos()))

        reader = Recorder(None, "page.html", text)
        if plain:
            reader.run()
        else:  # HTMLParser itself
            reader.feed(text)
            reader.close()
        return events


#: Markup as the site writes it, and what it might: references in text and values, names
#: alone and empty values, upper case, line breaks inside a tag, text after the last tag.
PLAIN = ('<!DOCTYPE html>\n<HTML lang="fi">\n<head><title>Tulokset 2024Q4 – IPS</title>\n<meta charset="utf-8">'
         '</head>\n<body><p class="lead" Data-Note="a &amp; b" hidden data-empty="">3 &lt; 5 &#39;x&#39;</p>\n'
         '<table id="t" data-csv="data/t.csv"\n data-columns="alue,n_x"><tbody>\n<tr><th scope="row" '
         'data-value="A">A</th><td data-value="&lt;5" data-column="n_x" data-kind="count" data-count="&lt;5" '
         'class="num">&lt;5</td></tr>\n</tbody></table><br/><img src="a.svg" alt="x > y" />\n</body></HTML>\n'
         'tail &amp;')


@pytest.mark.parametrize("text", [PLAIN, *(c for _, c, _ in MISSED.values() if "<" in c)])
def test_the_plain_reading_of_markup_is_what_htmlparser_reads(text):
    from ips_eval.publish.site.scan import _plain_tokens

    if text == PLAIN:
        assert _plain_tokens(text) is not None
    assert _Events.read(text, plain=True) == _Events.read(text, plain=False)


@pytest.mark.parametrize("text", ['<p>1 < 2</p>', '<!-- 3 clients --><p>x</p>', '<script>var n = "<5";</script>',
                                  '<style>p::after{content:"3"}</style>', "<p class=num>3</p>",
                                  "<title>A &amp; B</title>", "<p data-x='3'>y</p>", "<svg:rect/>"])
def test_other_markup_is_left_to_htmlparser(text):
    from ips_eval.publish.site.scan import _plain_tokens

    assert _plain_tokens(text) is None


@pytest.mark.pipeline
def test_the_sites_pages_are_read_the_plain_way_as_htmlparser_reads_them(minimal_run):
    from ips_eval.publish.site.scan import _plain_tokens

    pages = sorted((minimal_run["out"] / "site").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert _plain_tokens(text) is not None, page
        assert _Events.read(text, plain=True) == _Events.read(text, plain=False), page
