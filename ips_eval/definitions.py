"""The study's analysis definitions (docs/analysis_plan.md), each in exactly one place.

Python reads these constants directly; SQL reads them from the `ref` schema, which
`reference_tables()` builds from the same constants at the start of every run, so a
definition changed here changes everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ips_eval import YAML_LOADER, CONTRACTS_DIR

#: Disclosure threshold T: published counts under T are suppressed.
DISCLOSURE_THRESHOLD = 5

#: SMI = primary diagnosis in F20-F29, F30-F31, or F32.2, F32.3, F33.2, F33.3.
#: Expressed as ICD-10 prefixes matched against the code without its dot.
SMI_PREFIXES: tuple[str, ...] = tuple(
    [f"F2{i}" for i in range(10)] + ["F30", "F31", "F322", "F323", "F332", "F333"]
)

#: Age groups by age at IPS start (year of S minus birth year): (label, min, max inclusive).
AGE_GROUPS: tuple[tuple[str, int, int], ...] = (
    ("<30", 0, 29),
    ("30-39", 30, 39),
    ("40-49", 40, 49),
    ("50+", 50, 200),
)

#: IPS-25 fidelity categories by total score: (category, min, max inclusive).
FIDELITY_CATEGORIES: tuple[tuple[str, int, int], ...] = (
    ("exemplary", 115, 125),
    ("good", 100, 114),
    ("fair", 74, 99),
    ("not_ips", 25, 73),
)

#: Survey waves: wave name -> export name.
SURVEY_WAVES: dict[str, str] = {
    "baseline": "survey_baseline",
    "midpoint": "survey_midpoint",
    "final": "survey_final",
}

@dataclass(frozen=True)
class Scale:
    """A questionnaire scale of data_contracts/scales.yaml (see the comments there)."""

    name: str
    description: str
    source: str  # client, coach or care_staff
    waves: tuple[str, ...]
    items: tuple[str, ...]
    min: int
    max: int
    reverse: tuple[str, ...]
    rule: str  # item, sum or mean
    min_answered: int
    score: bool
    reliability: bool


SCALE_RULES = ("item", "sum", "mean")
SCALE_SOURCES = ("client", "coach", "care_staff")


def load_scales(path: Path | None = None) -> dict[str, Scale]:
    """The scales of data_contracts/scales.yaml, in file order, checked for consistency.

    Examples
    --------
    >>> scales = load_scales()
    >>> scales["stigma"].reverse, scales["stigma"].min_answered
    (('stigma_9', 'stigma_10'), 8)
    """
    raw = yaml.load((path or CONTRACTS_DIR / "scales.yaml").read_text(encoding="utf-8"), Loader=YAML_LOADER)["scales"]
    scales = {}
    for name, s in raw.items():
        scale = Scale(name=name, description=s["description"], source=s["source"], waves=tuple(s["waves"]),
                      items=tuple(s["items"]), min=int(s["min"]), max=int(s["max"]),
                      reverse=tuple(s.get("reverse") or ()), rule=s["rule"], min_answered=int(s["min_answered"]),
                      score=bool(s["score"]), reliability=bool(s["reliability"]))
        problems = []
        if scale.rule not in SCALE_RULES:
            problems.append(f"rule {scale.rule!r} is not one of {SCALE_RULES}")
        if scale.source not in SCALE_SOURCES:
            problems.append(f"source {scale.source!r} is not one of {SCALE_SOURCES}")
        if not set(scale.reverse) <= set(scale.items):
            problems.append("a reverse-keyed item is not an item of the scale")
        if not 1 <= scale.min_answered <= len(scale.items):
            problems.append("min_answered must be between 1 and the number of items")
        if scale.rule == "item" and len(scale.items) != 1:
            problems.append("rule 'item' needs exactly one item")
        if scale.score and scale.source != "client":
            problems.append("only client scales are client scores")
        if problems:
            raise ValueError(f"scales.yaml, scale {name}: " + "; ".join(problems))
        scales[name] = scale
    return scales


#: Every questionnaire scale: items, range, reverse keys, minimum answered, scoring rule.
SCALES: dict[str, Scale] = load_scales()

#: The client scores of marts.client_scores and model 4 (`scores_<score>`), in column order.
CLIENT_SCORES: tuple[str, ...] = tuple(name for name, s in SCALES.items() if s.score)

#: An answer is positive at this value or above on a 1-5 item (a `K` on a yes/no item); the
#: shares of answers 1-2, 3 and 4-5 are what the website shows.
POSITIVE_FROM = 4

#: The items of marts.survey_items: source -> (item, kind), kind `likert` (1-5) or `yes_no`
#: (K/E, counted as 5/1). Care staff's tyo_3 and tyo_4 are reported as answered, not reversed.
SURVEY_ITEMS: dict[str, tuple[tuple[str, str], ...]] = {
    "client": tuple((i, "likert") for i in ("tyytyvaisyys", "tuki_oikea_aikainen", "tuki_kesto",
                                             "luottamus_valmentaja", *[f"koettu_{d}" for d in range(1, 9)])),
    "coach": tuple((i, "likert") for i in ("luottamus", "yhteistyo_hoitotaho", *[f"hyoty_{d}" for d in range(1, 9)])),
    "care_staff": (*((i, "likert") for i in (*[f"toipumis_{d}" for d in range(1, 9)],
                                               *[f"tyo_{d}" for d in range(1, 5)], "yhteistyo_valmentaja")),
                   ("ips_osaksi_hoitoa", "yes_no")),
    "employer": (("tyytyvaisyys", "likert"), ("tuki_tyoyhteisolle", "likert"), ("tyontekija", "likert"),
                 ("palkkaisi_uudelleen", "yes_no")),
}

#: Day limits of the coaching process (ANALYSIS_PLAN "The coaching process ..."): the IPS
#: standard of a first face-to-face employer meeting within 30 days of the start, and the
#: bands of the time from referral to start (within 7 and within 30 days).
COACHING_DAYS: dict[str, int] = {"employer_contact": 30, "referral_fast": 7, "referral_month": 30}

#: Activity types of jobs.csv (`tyyppi`): (type, is a paid job, counts as "other activity").
#: A paid job on the open market is a competitive job; any other counted activity (a work
#: trial, studies, volunteering, `muu` (other activity), a paid job off the open market) is
#: an "other activity" (docs/analysis_plan.md, `n_other_activity`).
ACTIVITY_TYPES: tuple[tuple[str, bool, bool], ...] = (
    ("tyo", True, True),
    ("tyokokeilu", False, True),
    ("opiskelu", False, True),
    ("vapaaehtoistyo", False, True),
    ("muu", False, True),
)

#: Psychiatric care types (`hoitomuoto`): (type, is an inpatient period).
CARE_TYPES: tuple[tuple[str, bool], ...] = (("osasto", True), ("avo", False))

#: Benefits counted in benefit_months_post12 (rehabilitation / disability benefits).
DISABILITY_BENEFITS: tuple[str, ...] = ("tkel", "kuntoutustuki", "sairauspaivaraha", "kuntoutusraha")
UNEMPLOYMENT_BENEFITS: tuple[str, ...] = ("tyottomyysturva",)

#: Monthly states of the state sequence, highest priority first.
STATES: tuple[str, ...] = (
    "employed_subsidised",
    "employed",
    "disability_benefit",
    "unemployment_benefit",
    "psychiatric_inpatient",
    "other",
)

#: The kind of each state that the headline transitions name (ANALYSIS_PLAN "Transitions in
#: services and benefits"): from a benefit state into employment (with or without subsidy),
#: and from employment back to a benefit state. The other states are of no kind.
STATE_KINDS: dict[str, str] = {
    "employed_subsidised": "employment",
    "employed": "employment",
    "disability_benefit": "benefit",
    "unemployment_benefit": "benefit",
}

#: The headline transitions (the website shows them for IPS clients and the weighted comparison
#: group, post12): name -> (kind of the from state, kind of the to state), kinds of STATE_KINDS.
HEADLINE_TRANSITIONS: dict[str, tuple[str, str]] = {
    "benefit_to_work": ("benefit", "employment"),
    "work_to_benefit": ("employment", "benefit"),
}

#: The periods of marts.transition_rates: the relative months (inclusive) a month pair's
#: first month falls in; the pair is that month and the next.
TRANSITION_PERIODS: dict[str, tuple[int, int]] = {
    "pre12": (-12, -1),
    "post12": (0, 11),
    "post24": (0, 23),
}

#: Relative months of the state sequence around the index month (0 = the month of the index
#: date I): first and last, inclusive. The register month sets hold one bit per month of this
#: window in a BIGINT (bit = rel_month - first), so it may span at most 62 months: bit 63 is the
#: sign, and month_set (sql/macros.sql) shifts 1 by up to the width.
SEQUENCE_MONTHS = (-24, 36)

#: Relative months of the post-index sequences that are grouped into trajectory types
#: (ANALYSIS_PLAN "Transitions in services and benefits"), first and last, inclusive.
TRAJECTORY_MONTHS = (0, 23)

#: International IPS benchmarks of the quarterly employment rate (IPS Employment Center).
IPS_BENCHMARKS: dict[str, float] = {"minimal": 0.31, "average": 0.41, "excellent": 0.50}

def quarter_label(day: dt.date) -> str:
    """The calendar quarter holding `day`, as the warehouse and the site name it.

    sql/core/quarters.sql writes the same label in SQL; a test ties the two.

    Examples
    --------
    >>> quarter_label(dt.date(2024, 11, 15))
    '2024Q4'
    """
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def previous_quarter_end(day: dt.date) -> dt.date:
    """The last day of the quarter before the one `day` is in: the quarterly refresh's cut-off.

    Examples
    --------
    >>> previous_quarter_end(dt.date(2025, 1, 1))
    datetime.date(2024, 12, 31)
    """
    first_of_quarter = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return first_of_quarter - dt.timedelta(days=1)


def year_completed(year: int | str, cutoff: dt.date) -> bool:
    """Whether the calendar year `year` had ended by the cut-off (its last day on or before it):
    the website's costs section shows a year only then, and repeats it as first shown after.

    Examples
    --------
    >>> year_completed(2024, dt.date(2024, 12, 31)), year_completed("2024", dt.date(2024, 9, 30))
    (True, False)
    """
    return dt.date(int(year), 12, 31) <= cutoff


#: The two follow-up lengths of the headline figures, in months: the 6 and 12 of n_tenure6/12
#: (a first job lasting that long) and n_employed6/12 (in a job that long after IPS start).
FOLLOW_UP_MONTHS: tuple[int, int] = (6, 12)

#: The programme's longer follow-up, in months (docs/analysis_plan.md "Longer follow-up": the
#: month of I and the 23 after it), for figures followed that long.
LONGER_FOLLOW_UP_MONTHS = 24

#: The constants the SQL reads, each as a macro of the same name without arguments
#: (`follow_up_short_months()`), made by ips_eval.warehouse.database.load_macros. A figure of
#: the catalogue (ips_eval/figures/catalogue.yaml) names its follow-up length by one of them.
SQL_CONSTANTS: dict[str, int] = {
    "follow_up_short_months": FOLLOW_UP_MONTHS[0],
    "follow_up_long_months": FOLLOW_UP_MONTHS[1],
    "follow_up_longer_months": LONGER_FOLLOW_UP_MONTHS,
}


def reference_tables() -> dict[str, pd.DataFrame]:
    """The `ref` schema: one table per definition, read by the SQL in sql/."""
    return {
        "smi_prefixes": pd.DataFrame({"prefix": list(SMI_PREFIXES)}),
        "age_groups": pd.DataFrame(AGE_GROUPS, columns=["age_group", "min_age", "max_age"]),
        "fidelity_categories": pd.DataFrame(FIDELITY_CATEGORIES, columns=["category", "min_total", "max_total"]),
        "benefit_groups": pd.DataFrame(
            [(b, "disability") for b in DISABILITY_BENEFITS] + [(b, "unemployment") for b in UNEMPLOYMENT_BENEFITS],
            columns=["etuus", "benefit_group"],
        ),
        "states": pd.DataFrame({"state": list(STATES), "priority": range(1, len(STATES) + 1),
                                "kind": [STATE_KINDS.get(s) for s in STATES]}),
        "headline_transitions": pd.DataFrame(
            [(t, a, b) for t, (a, b) in HEADLINE_TRANSITIONS.items()], columns=["transition", "from_kind", "to_kind"]),
        "transition_periods": pd.DataFrame(
            [(p, a, b) for p, (a, b) in TRANSITION_PERIODS.items()], columns=["period", "first_month", "last_month"]),
        "survey_waves": pd.DataFrame(
            {"wave": list(SURVEY_WAVES), "wave_order": range(1, len(SURVEY_WAVES) + 1)}
        ),
        **scale_tables(),
        "survey_items": pd.DataFrame(
            [(source, item, i + 1, kind == "yes_no") for source, items in SURVEY_ITEMS.items()
             for i, (item, kind) in enumerate(items)], columns=["source", "item", "item_order", "yes_no"]),
        "survey_answer_levels": pd.DataFrame({"positive_from": [POSITIVE_FROM]}),
        "coaching_days": pd.DataFrame(list(COACHING_DAYS.items()), columns=["limit_name", "days"]),
        "ips_benchmarks": pd.DataFrame(list(IPS_BENCHMARKS.items()), columns=["benchmark", "rate"]),
        "activity_types": pd.DataFrame(ACTIVITY_TYPES, columns=["tyyppi", "paid_job", "other_activity"]),
        "care_types": pd.DataFrame(CARE_TYPES, columns=["hoitomuoto", "inpatient"]),
        "sequence_months": sequence_months(),
    }


def scale_tables() -> dict[str, pd.DataFrame]:
    """`ref.scales`, `ref.scale_items` and `ref.scale_waves`: the scales for the SQL.

    Examples
    --------
    >>> t = scale_tables()
    >>> t["scale_items"].query("scale == 'stigma' and reverse")["item"].tolist()
    ['stigma_9', 'stigma_10']
    """
    scales = pd.DataFrame(
        [(s.name, i + 1, s.source, s.rule, len(s.items), s.min_answered, s.min, s.max, s.score, s.reliability)
         for i, s in enumerate(SCALES.values())],
        columns=["scale", "scale_order", "source", "rule", "n_items", "min_answered", "min_value", "max_value",
                 "score", "reliability"])
    items = pd.DataFrame(
        [(s.name, item, k + 1, item in s.reverse) for s in SCALES.values() for k, item in enumerate(s.items)],
        columns=["scale", "item", "item_order", "reverse"])
    waves = pd.DataFrame([(s.name, w, k + 1) for s in SCALES.values() for k, w in enumerate(s.waves)],
                         columns=["scale", "wave", "wave_order"])
    return {"scales": scales, "scale_items": items, "scale_waves": waves}


def sequence_months() -> pd.DataFrame:
    """The months of SEQUENCE_MONTHS, each with its bit in a register month set.

    `ref.sequence_months` in the warehouse: the macros of sql/macros.sql and the views that
    unpack the month sets read the window from it, so SQL and Python share one definition.

    Examples
    --------
    >>> months = sequence_months()
    >>> months.iloc[0].tolist(), months.iloc[-1].tolist()
    ([-24, 0], [36, 60])
    """
    first, last = SEQUENCE_MONTHS
    if not 0 <= last - first <= 61:
        raise ValueError(f"SEQUENCE_MONTHS {SEQUENCE_MONTHS}: a month set holds 1 to 62 months (bits 0..61 of a BIGINT)")
    return pd.DataFrame({"rel_month": range(first, last + 1), "bit": range(0, last - first + 1)})
