"""docs/how-to/add-a-figure.md, done by a test: in a copy of the project, the figure "employed
at 24 months" is added as its SQL rule (its columns in sql/core/client_outcomes_asof.sql, and
their lines in the contract beside it) and one catalogue entry, nothing else; a small
warehouse is built and published, and the figure is found in the marts and their contracts,
on the website in three languages, in the CSV downloads, in the disclosure audit, in the
outcome checks and in docs/figures.md."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from project_copy import edit, project_copy, run_in

#: The SQL rule: the day 24 months after the IPS start, whether a competitive job covers it,
#: and the two columns (NULL until the day has come), beside those of employed12.
SQL_RULE = (
    ("           CAST(ips_start + INTERVAL (follow_up_long_months()) MONTH AS DATE)  AS day12\n",
     "           CAST(ips_start + INTERVAL (follow_up_long_months()) MONTH AS DATE)  AS day12,\n"
     "           CAST(ips_start + INTERVAL (follow_up_longer_months()) MONTH AS DATE) AS day24\n"),
    ("           bool_or(j.job_start <= m.day12 AND j.end_observed >= m.day12) AS in_job_day12\n",
     "           bool_or(j.job_start <= m.day12 AND j.end_observed >= m.day12) AS in_job_day12,\n"
     "           bool_or(j.job_start <= m.day24 AND j.end_observed >= m.day24) AS in_job_day24\n"),
    ("           CASE WHEN m.day12 <= p.as_of THEN coalesce(ij.in_job_day12, FALSE) END AS employed12,\n",
     "           CASE WHEN m.day12 <= p.as_of THEN coalesce(ij.in_job_day12, FALSE) END AS employed12,\n"
     "           m.day24 <= p.as_of                                AS employed24_eligible,\n"
     "           CASE WHEN m.day24 <= p.as_of THEN coalesce(ij.in_job_day24, FALSE) END AS employed24,\n"),
)

#: The SQL rule's two columns in the contract beside it, after those of employed12.
CONTRACT_LINES = (
    """      - name: employed12
        type: BOOLEAN
        description: In a competitive job on S + 12 months; NULL when not eligible.
""",
    """      - name: employed12
        type: BOOLEAN
        description: In a competitive job on S + 12 months; NULL when not eligible.
      - name: employed24_eligible
        type: BOOLEAN
        description: S + 24 months is on or before the as-of date.
      - name: employed24
        type: BOOLEAN
        description: In a competitive job on S + 24 months; NULL when not eligible.
""")

ENTRY = """
- name: employed24
  table: headline
  count: n_employed24
  source: core.client_outcomes_asof.employed24
  denominator: n_employed24_eligible
  denominator_source: core.client_outcomes_asof.employed24_eligible
  rate: rate_employed24
  relations: ["n_employed24_eligible <= n_employed12_eligible", "n_employed24 <= n_competitive"]
  months: follow_up_longer_months
  site: {section: headline, card: true}
  description: as employed6, for the longer follow-up
  labels:
    fi: {title: "Työssä {months} kuukauden kohdalla aloituksesta", column: "Työssä {months} kk kohdalla"}
    sv: {title: "I arbete {months} månader efter start", column: "I arbete vid {months} mån"}
    en: {title: "In work {months} months after starting", column: "In work at {months} months"}
"""

#: What a reader sees, in each language.
TITLES = {"fi": "Työssä 24 kuukauden kohdalla aloituksesta", "sv": "I arbete 24 månader efter start",
          "en": "In work 24 months after starting"}
COLUMNS = {"fi": "Työssä 24 kk kohdalla", "sv": "I arbete vid 24 mån", "en": "In work at 24 months"}
NEW = ("n_employed24", "n_employed24_eligible", "rate_employed24")


class _Page(HTMLParser):
    """Cards (data-key), table columns (data-columns), visible text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.cards: set[str] = set()
        self.columns: dict[str, list[str]] = {}
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "li" and "card" in (a.get("class") or ""):
            self.cards.add(a.get("data-key", ""))
        if tag == "table" and a.get("data-columns"):
            self.columns[a["id"]] = a["data-columns"].split(",")

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    root = project_copy(tmp_path_factory.mktemp("add_a_figure"))
    sql = root / "sql" / "core" / "client_outcomes_asof.sql"
    for old, new in SQL_RULE:
        edit(sql, old, new)
    edit(sql.with_suffix(".yml"), *CONTRACT_LINES)
    catalogue = root / "ips_eval" / "figures" / "catalogue.yaml"
    catalogue.write_text(catalogue.read_text(encoding="utf-8") + ENTRY, encoding="utf-8")
    return run_in(root, """
        import json
        from ips_eval.figures.doc import render
        from ips_eval.warehouse import outcome_checks
        from ips_eval.warehouse.table_contracts import column_differences, run_tests, table_contracts
        con, result = small_site(Path("."))
        data = read_site_data(con)
        county = next(s for s in data.specs if s.name == "employment_outcomes")
        pub = data.publications[0]
        checks = {name: getattr(outcome_checks, name)(con) for name in (
            "numerators_within_denominators", "rates_are_their_ratios", "counties_sum_to_all")}
        contracts = table_contracts()
        marts = ("marts.employment_figures", "marts.employment_outcomes", "marts.employment_outcomes_by_group",
                 "marts.employment_outcomes_quarterly")
        print(json.dumps({
            "marts": {t: [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
                      for t in ("marts.employment_outcomes", "marts.employment_outcomes_by_group")},
            "eligible": con.execute("SELECT n_employed24_eligible, n_employed24, n_employed12_eligible"
                                    " FROM marts.employment_outcomes WHERE alue = 'ALL'").fetchone(),
            "pages": {p.parent.name if p.parent.name in ("sv", "en") else "fi": p.read_text(encoding="utf-8")
                      for p in result.pages},
            "csv": (result.snapshot_dir / "data" / "employment_outcomes.csv").read_text(encoding="utf-8"),
            "spec_counts": list(county.counts), "spec_rates": {k: list(v) for k, v in county.rates.items()},
            "spec_relations": [r.coefficients for r in county.relations if hasattr(r, "coefficients")],
            "audited": sorted(pub.status("employment_outcomes").columns),
            "checks": checks,
            "contracts": {t: {c.name: [x.check_name for x in c.tests] for c in contracts[t].columns}
                          for t in ("core.client_outcomes_asof", *marts)},
            "contract_problems": [p for t in ("core.client_outcomes_asof", *marts)
                                  for p in column_differences(con, contracts[t])
                                  + [r.message(t) for r in run_tests(con, contracts[t]) if not r.passed]],
            "doc": render(),
        }, default=str))
    """)


def test_the_rule_and_the_entry_make_the_columns_of_the_marts(added):
    for table, columns in added["marts"].items():
        assert set(NEW) <= set(columns), table
    eligible, employed, eligible12 = added["eligible"]
    assert 0 < eligible <= eligible12 and 0 < employed <= eligible  # the small study has people followed 24 months


def test_the_marts_contracts_take_the_columns_from_the_catalogue(added):
    """The marts' contracts list the figure's columns with their tests without a line typed
    for them; the rule's columns are declared beside its SQL; every table built agrees."""
    assert {"employed24_eligible", "employed24"} <= set(added["contracts"]["core.client_outcomes_asof"])
    for table, columns in added["contracts"].items():
        if table.startswith("marts."):
            assert set(NEW) <= set(columns), table
            assert columns["n_employed24"] == ["n_employed24_not_null", "n_employed24_range", "n_employed24_at_most"]
            assert columns["rate_employed24"] == ["rate_employed24_range"]
    assert added["contract_problems"] == []


def test_the_figure_is_on_the_website_in_three_languages(added):
    for lang, html in added["pages"].items():
        page = _Page(html)
        words = " ".join(page.text)
        assert TITLES[lang] in words and COLUMNS[lang] in words, lang
        assert "n_employed24" in page.cards, lang
        assert set(NEW) <= set(page.columns["employment_outcomes"]), lang
        assert set(NEW) <= set(page.columns["employment_outcomes_by_wave"]), lang
    assert set(NEW) <= set(added["csv"].splitlines()[0].split(","))


def test_the_figure_is_in_the_disclosure_audit(added):
    assert {"n_employed24", "n_employed24_eligible"} <= set(added["spec_counts"])
    assert added["spec_rates"]["rate_employed24"] == ["n_employed24", "n_employed24_eligible"]
    relations = added["spec_relations"]
    assert {"n_employed24_eligible": 1.0, "n_employed12_eligible": -1.0} in relations
    assert {"n_employed24": 1.0, "n_competitive": -1.0} in relations
    assert set(NEW) <= set(added["audited"])


def test_the_outcome_checks_hold_and_the_docs_list_it(added):
    assert added["checks"] == {name: [] for name in added["checks"]}
    assert re.search(r"\| `employed24` \| `n_employed24` \|.*24 months \(`follow_up_longer_months\(\)`\)", added["doc"])
    assert "`n_employed24 <= n_competitive`" in added["doc"]
