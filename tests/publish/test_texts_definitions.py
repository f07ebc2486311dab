"""No number that a definition fixes is typed into the website's texts or templates: with the
disclosure threshold T changed to 7 in a copy of the project, every text that speaks of T says
7 (and none says 5), and so does a site built on a small warehouse."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ips_eval.publish.site import texts
from ips_eval.publish.site.render import TEMPLATES
from project_copy import edit, project_copy, run_in

#: The texts that speak of the threshold T (read from texts.py: the disclosure note, the
#: suppression summary, the model rule and the transitions' rule).
ABOUT_T = ("disclosure_note", "suppression_summary", "models_intro", "transitions_intro")
#: A 5 that is not T: a range such as a score scale (1–5), and the labels of coded answers
#: (work history "over 5 years" is the code's own wording in docs/exports.md).
NOT_T = re.compile(r"\d+\s*[–-]\s*\d+")
CODE_LABELS = re.compile(r"^(work_history|education|score)_")
FIVE = re.compile(r"(?<![\d,.])5(?![\d,.])|\bviisi\b|\bfem\b|\bfive\b", re.IGNORECASE)


class _Visible(HTMLParser):
    """The text a reader sees, and the values of data-count attributes."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.counts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.counts += [v for k, v in attrs if k == "data-count"]

    def handle_data(self, data):
        self.text.append(data)


def test_no_literal_threshold_months_or_benchmark_in_texts_or_templates():
    """Numbers of definitions are placeholders in texts.py; the templates hold no numbers."""
    source = Path(texts.__file__).read_text(encoding="utf-8")
    written = source[source.index("_PAGE_TEMPLATES"):source.index("COUNTY_NAMES")]
    for literal in (r"\b31\s*%", r"\b41\s*%", r"\b50\s*%", r"<5\b", r"\b5 (henkilö|personer|people)",
                    r"\b(6|12) (kuukau|kk\b|mån|months?\b)"):
        assert not re.search(literal, written), literal
    for template in TEMPLATES.glob("*.html"):  # the words between tags, Jinja taken out
        words = re.sub(r"<[^>]*>", " ", re.sub(r"\{[{%#].*?[}%#]\}", " ", template.read_text(), flags=re.S))
        assert not re.search(r"\d", words), (template, re.findall(r".{0,20}\d.{0,20}", words))


@pytest.fixture(scope="module")
def with_t7(tmp_path_factory):
    root = project_copy(tmp_path_factory.mktemp("t7"))
    edit(root / "ips_eval" / "definitions.py", "DISCLOSURE_THRESHOLD = 5", "DISCLOSURE_THRESHOLD = 7")
    return run_in(root, """
        import json
        from ips_eval.publish.site import texts
        con, result = small_site(Path("."))
        print(json.dumps({"texts": texts.TEXTS, "pages": [str(p.resolve()) for p in result.pages],
                          "csv": [str(p.resolve()) for p in result.csv_files]}))
    """)


def test_texts_say_7_wherever_they_speak_of_t(with_t7):
    for lang, by_key in with_t7["texts"].items():
        for key in ABOUT_T:
            assert re.search(r"(?<![\d,.])7(?![\d,.])", by_key[key]), (lang, key, by_key[key])
            assert not FIVE.search(by_key[key]), (lang, key, by_key[key])
        for key, value in by_key.items():
            assert CODE_LABELS.match(key) or not FIVE.search(NOT_T.sub("", value)), (lang, key, value)
    # and the copy really changed T: the real texts speak of 5
    assert all("5" in texts.TEXTS[lang]["disclosure_note"] for lang in texts.TEXTS)


def test_the_site_says_7_wherever_it_speaks_of_t(with_t7):
    for page in with_t7["pages"]:
        seen = _Visible(Path(page).read_text(encoding="utf-8"))
        words = " ".join(seen.text)
        assert "<7" in words and "<5" not in words, page
        assert "<7" in seen.counts and "<5" not in seen.counts, page  # small counts are labelled with T
        for sentence in re.split(r"(?<=[.!?])\s+", words):
            if re.search(r"<7|\b7 (henkilö|personer|people)", sentence):
                assert not FIVE.search(NOT_T.sub("", sentence)), sentence
    downloads = " ".join(Path(p).read_text(encoding="utf-8") for p in with_t7["csv"])
    assert "<7" in downloads and "<5" not in downloads


#: Phrases a native speaker marked as wrong or unclear, and what replaces them (issue 25).
REVIEWED = {
    "fi": {"avoimen työmarkkinan": "avoimilla työmarkkinoilla", "sensuroi": None, "IPS heille toi": None,
           "kaksoisvarma": "kaksinkertaisesti robusti", "Pystyvyys (": "Pystyvyyden tunne",
           "Menetelmäuskollisuus (10 pistettä)": "10 pisteen lisäys", "kuukautta aloituksesta": "kuukauden kohdalla",
           "Palvelussa olleista asiakkaista ne,": None, "Tekijä": "Tulosmuuttuja"},
    "sv": {"Av klienterna i tjänsten de som": None, "visas {primary}": None, "Självtillit": "Tilltro till egen förmåga",
           "Faktor\"": "Utfallsmått"},
}


@pytest.mark.parametrize("lang", list(REVIEWED))
def test_the_reviewed_phrases_are_replaced(lang):
    every = "\n".join(texts.TEXTS[lang].values())
    templates = "\n".join(f'{v}"' for v in texts._TEMPLATES[lang].values())
    for old, new in REVIEWED[lang].items():
        if old in ("Tekijä", "Faktor\""):  # the factor heading stays for predictors; outcomes have their own
            assert texts.TEXTS[lang]["col_term_effectiveness"] == new
            continue
        assert old not in every and old not in templates, old
        if new:
            assert new in every, new
    assert texts.group_value(lang, "age_group", "30-39").startswith("30–39")
