"""docs/how-to/add-a-site-section.md, done by a test: in a copy of the project, the section
"time from referral to start" is added as the rate's SQL rule (one column of
sql/marts/coaching.sql and its contract line), two catalogue entries and one section entry,
nothing else; a small warehouse is built and published, and the section is found on the
website in three languages, in the CSV downloads, in the disclosure audit (with the link to
the county table) and in docs/site-sections.md and docs/figures.md."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest

from project_copy import edit, project_copy, run_in

#: A copy of the project and a small warehouse built and published in a subprocess: `make test`,
#: not the fast loop.
pytestmark = pytest.mark.slow

SQL_RULE = ("       n_referral30\nFROM figures",
            "       n_referral30,\n       n_referral30 / nullif(n_referred, 0) AS rate_referral30\nFROM figures")
CONTRACT = """      - name: rate_referral30
        type: DOUBLE
        description: n_referral30 / n_referred; NULL when n_referred is 0.
        tests:
          - range: {min: 0, max: 1}
"""

FIGURES = """
- name: referred
  table: coaching
  count: n_referred
  source: marts.coaching.n_referred
  in_headline: n_clients
  site: {section: coaching}
  description: clients with a referral date on or before their start
  labels:
    fi: {title: Lähetteen saaneita, column: Lähetteen saaneita}
    sv: {title: Med remiss, column: Med remiss}
    en: {title: Referred, column: Referred}

- name: referral30
  table: coaching
  count: n_referral30
  source: marts.coaching.n_referral30
  denominator: n_referred
  rate: rate_referral30
  in_headline: n_clients
  days: referral_month
  site: {section: coaching}
  description: of them, clients who started within the day limit of their referral
  labels:
    fi: {title: "Aloitti {days} päivän kuluessa lähetteestä", column: "Aloitti {days} päivässä"}
    sv: {title: "Började inom {days} dagar efter remissen", column: "Började inom {days} dagar"}
    en: {title: "Started within {days} days of referral", column: "Started within {days} days"}
"""

SECTION = """  - name: timeliness
    requires: marts.coaching
    labels:
      fi: {title: Aika lähetteestä aloitukseen, intro: "Kuinka moni aloitti {days_referral_month} päivän kuluessa lähetteestä."}
      sv: {title: Tid från remiss till start, intro: "Hur många började inom {days_referral_month} dagar efter remissen."}
      en: {title: Time from referral to start, intro: "How many started within {days_referral_month} days of referral."}
    tables:
      - name: referral_to_start
        query: coaching_process.sql
        keys: [alue]
        figures: [referred, referral30]
        caption:
          fi: Aloitus lähetteen jälkeen alueittain
          sv: Start efter remissen per område
          en: Start after referral by county

"""

TITLES = {"fi": "Aika lähetteestä aloitukseen", "sv": "Tid från remiss till start", "en": "Time from referral to start"}
INTROS = {"fi": "Kuinka moni aloitti 30 päivän kuluessa lähetteestä.",
          "sv": "Hur många började inom 30 dagar efter remissen.",
          "en": "How many started within 30 days of referral."}
COLUMNS = {"fi": "Aloitti 30 päivässä", "sv": "Började inom 30 dagar", "en": "Started within 30 days"}
NEW = ["alue", "n_referred", "n_referral30", "rate_referral30"]


class _Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.columns: dict[str, list[str]] = {}
        self.toc: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("class") == "declared":
            self.sections.append(a["id"])
        if tag == "table" and a.get("data-columns"):
            self.columns[a["id"]] = a["data-columns"].split(",")
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.toc.append(a["href"][1:])

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    root = project_copy(tmp_path_factory.mktemp("add_a_site_section"))
    edit(root / "sql" / "marts" / "coaching.sql", *SQL_RULE)
    contract = root / "sql" / "marts" / "coaching.yml"
    contract.write_text(contract.read_text(encoding="utf-8") + CONTRACT, encoding="utf-8")
    catalogue = root / "ips_eval" / "figures" / "catalogue.yaml"
    catalogue.write_text(catalogue.read_text(encoding="utf-8") + FIGURES, encoding="utf-8")
    edit(root / "ips_eval" / "publish" / "site" / "sections.yaml", "  - name: for_whom\n", SECTION + "  - name: for_whom\n")
    return run_in(root, """
        import json
        from ips_eval.figures.doc import render as figures_doc
        from ips_eval.publish.site.sections import render_doc
        from ips_eval.warehouse.table_contracts import column_differences, run_tests, table_contracts
        con, result = small_site(Path("."))
        data = read_site_data(con)
        spec = next(s for s in data.specs if s.name == "referral_to_start")
        pub = data.publications[0]
        contract = table_contracts()["marts.coaching"]
        print(json.dumps({
            "pages": {p.parent.name if p.parent.name in ("sv", "en") else "fi": p.read_text(encoding="utf-8")
                      for p in result.pages},
            "csv": (result.snapshot_dir / "data" / "referral_to_start.csv").read_text(encoding="utf-8"),
            "counties": (result.snapshot_dir / "data" / "employment_outcomes.csv").read_text(encoding="utf-8"),
            "mart": con.execute("SELECT alue, n_referred, n_referral30 FROM marts.coaching").fetchall(),
            "spec": {"counts": list(spec.counts), "rates": {k: list(v) for k, v in spec.rates.items()},
                     "relations": [type(r).__name__ for r in spec.relations]},
            "audited": sorted(pub.status("referral_to_start").columns),
            "contract_problems": column_differences(con, contract)
                                 + [r.message("marts.coaching") for r in run_tests(con, contract) if not r.passed],
            "site_doc": render_doc(), "figures_doc": figures_doc(),
        }, default=str))
    """)


def test_the_section_is_on_the_website_in_three_languages(added):
    for lang, html in added["pages"].items():
        page = _Page(html)
        words = " ".join(" ".join(page.text).split())
        assert "timeliness" in page.sections and "timeliness" in page.toc, lang
        assert page.sections.index("timeliness") == page.sections.index("for_whom") - 1, lang  # where it was put
        assert TITLES[lang] in words and INTROS[lang] in words and COLUMNS[lang] in words, lang
        assert page.columns["referral_to_start"] == NEW, lang


def test_the_section_is_downloadable_and_its_numbers_are_the_marts(added):
    rows = list(csv.DictReader(io.StringIO(added["csv"])))
    assert list(rows[0]) == NEW
    counties = [r["alue"] for r in csv.DictReader(io.StringIO(added["counties"]))]
    assert [r["alue"] for r in rows] == counties  # the small study's three counties and ALL
    everyone = rows[-1]
    # the small study's 90 clients were referred 30 days before starting (tests/project_copy.py),
    # the minimal delivery's one client 33 days (1.3.2023 -> 3.4.2023): 90 of 91 within 30 days,
    # and the one who was not is a complement under T, so the count is hidden with its rate (rule 4)
    assert everyone == {"alue": "ALL", "n_referred": "91", "n_referral30": "..", "rate_referral30": ".."}
    # every number shown is the mart's, every other cell a label, every shown rate its ratio
    mart = {a: (str(n), str(k)) for a, n, k in added["mart"]}
    for r in rows:
        for column, value in zip(("n_referred", "n_referral30"), mart[r["alue"]]):
            assert r[column] in (value, "<5", ".."), (r, column)
        if r["rate_referral30"] not in ("..", "", "<5"):
            assert float(r["rate_referral30"]) == round(int(r["n_referral30"]) / int(r["n_referred"]), 4)


def test_the_section_is_in_the_disclosure_audit_linked_to_the_county_table(added):
    assert added["spec"]["counts"] == ["n_referred", "n_referral30"]
    assert added["spec"]["rates"] == {"rate_referral30": ["n_referral30", "n_referred"]}
    assert added["spec"]["relations"] == ["RowsSum", "RowLinear"]  # counties to ALL, numerator within
    assert {"n_referred", "n_referral30"} <= set(added["audited"])
    assert added["contract_problems"] == []


def test_the_docs_list_the_section_and_its_figures(added):
    assert "## `timeliness`: Time from referral to start" in added["site_doc"]
    assert "| `referral_to_start` | `sql/site/coaching_process.sql` | `alue` | `referred`, `referral30` |" in added["site_doc"]
    assert "| `referral30` | `n_referral30` | `marts.coaching.n_referral30` | `n_referred` |" in added["figures_doc"]
