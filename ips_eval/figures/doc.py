"""`docs/figures.md`: the figure catalogue as a page, generated, never edited.

    python -m ips_eval.figures.doc > docs/figures.md
"""

from __future__ import annotations

from ips_eval import definitions
from ips_eval.figures.catalogue import LANGUAGES, TABLES, Figure, figures
from ips_eval.figures.catalogue import rates
from ips_eval.figures.relations import HEADLINE_WITHIN, QUARTER_IN_HEADLINE, QUARTERLY_WITHIN, SUMS, within_columns
from ips_eval.figures.within import Within

HEADER = """# Published figures (generated)

Every figure of the study as its catalogue declares it (`ips_eval/figures/catalogue.yaml`):
where it is counted, what it is a share of, the relations a reader of the website knows
between it and the others (checked on the warehouse by the outcome checks and assumed of the
reader by disclosure control), and where the website shows it, with its labels. `T` is the
disclosure threshold ({T}). Do not edit: run `python -m ips_eval.figures.doc > docs/figures.md`
(a test fails while this page and the catalogue disagree). Adding a figure:
[how-to/add-a-figure.md](how-to/add-a-figure.md).
"""

TABLE_TITLES = {
    "headline": "Headline figures (`marts.employment_figures`, its slices `marts.employment_outcomes`, "
                "`marts.employment_outcomes_by_group`, `marts.employment_outcomes_quarterly`)",
    "quarterly": "Quarterly employment rate (`marts.employment_rate_by_quarter`)",
    "coaching": "The coaching process (`marts.coaching`, per county and ALL; site query `sql/site/coaching_process.sql`)",
    "survey": "A survey item's answers in three parts (`marts.survey_items`, all counties; "
              "`sql/site/survey_answers.sql`)",
    "yes_no": "A yes/no survey item (`marts.survey_items`, all counties; `sql/site/survey_answers.sql`)",
    "employer_profile": "Employers by industry, size class and sector (`marts.employer_profile`, all counties; "
                        "`sql/site/employer_profile.sql`)",
    "care_staff": "Care staff per survey round (`marts.care_staff_scales`, all counties; "
                  "`sql/site/care_staff_rounds.sql`)",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _where(f: Figure) -> str:
    if not f.published:
        return "warehouse only"
    parts = [f"section `{f.section}`"]
    if f.card:
        parts.append("a card")
    if f.chart:
        parts.append(f"chart `{f.chart}`")
    return ", ".join(parts)


def render() -> str:
    """The page.

    Examples
    --------
    >>> "| `employed12` |" in render()
    True
    """
    parts = [HEADER.format(T=definitions.DISCLOSURE_THRESHOLD)]
    for table in TABLES:
        fs = figures(table)
        parts.append(f"\n## {TABLE_TITLES[table]}\n\n")
        parts.append("| figure | count | counted from | share of | rate | follow-up | on the website |\n"
                     "|---|---|---|---|---|---|---|\n")
        for f in fs:
            den = f"`{f.denominator}`" + (f" (`{f.denominator_source}`)" if f.denominator_source else "") \
                if f.denominator else "–"
            months = (f"{f.follow_up_months} months (`{f.months}()`)" if f.months
                      else f"{f.day_limit} days (`{f.days}`)" if f.days else "–")
            if f.mean:
                den = f"mean `{f.mean}` over `{f.count}`"
            parts.append(f"| `{f.name}` | `{f.count}` | `{f.source}` | {den} | "
                         f"{'`' + f.rate + '`' if f.rate else '–'} | {months} | {_where(f)} |\n")
        parts.append("\nWhat each counts:\n\n")
        parts += [f"- `{f.name}`: {_cell(f.description)}\n" for f in fs]
        counts = {c for f in fs for c in f.counts}
        if table in ("headline", "quarterly"):
            relations = within_columns(HEADLINE_WITHIN if table == "headline" else QUARTERLY_WITHIN, counts)
        else:
            relations = tuple(Within((num,), den) for num, den in rates(table).values())
            relations += tuple(w for f in fs for w in f.relations if w not in relations)
        parts.append("\nRelations in every row (same area, group and date):\n\n")
        parts += [f"- `{w}`\n" for w in relations]
        if table == "quarterly":
            parts.append("\nA county's quarterly count is at most its headline count as of the same date:\n\n")
            parts += [f"- `{w.parts[0]}` <= headline `{w.whole}`\n" for w in QUARTER_IN_HEADLINE]
        elif any(f.in_headline for f in fs):
            parts.append("\nA county's count is at most its headline count as of the same date:\n\n")
            parts += [f"- `{f.count}` <= headline `{f.in_headline}`\n" for f in fs if f.in_headline]
        published = [f for f in fs if f.published]
        if published:
            parts.append("\nLabels on the website (title; table column):\n\n| figure | "
                         + " | ".join(LANGUAGES) + " |\n|---|" + "---|" * len(LANGUAGES) + "\n")
            for f in published:
                parts.append(f"| `{f.name}` | " + " | ".join(
                    _cell(f"{f.label(lang, 'title')}; {f.label(lang, 'column')}") for lang in LANGUAGES) + " |\n")
    parts.append("\n## Additive relations\n\n")
    parts += [f"- `{name}`: {text}\n" for name, text in SUMS.items()]
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
