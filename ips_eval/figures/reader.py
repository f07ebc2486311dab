"""What a reader deduces beyond the figures' own relations (docs/analysis_plan.md, rule 3).

`relations.py` states what the definitions of the figures imply within one snapshot. A
reader who knows the study (the waves' start dates, the calendar, that the costs section
has a row for every county-year someone was served in) and keeps every snapshot knows
more. These are written here once; the suppression and the audit of the website
(`ips_eval.publish.site.tables`) assume them of the reader, and the attacker test
(tests/publish/test_attacker.py) uses the plan's wording of them, not this module.

1. **Structural zeros.** A county's quarter before its first start, and a quarter of a
   county-year the costs section has no row for (nobody was served), holds 0 in every
   quarterly count. Such a `<5` cell hides nothing: it is a constant of the audit, never
   a protection of another cell.
2. **The calendar.** `k`-month eligibility is `S + k months <= cut-off`. At a cut-off on
   31 December of year Y, `n_employed12_eligible` is the clients who started in the years
   up to Y-1; at 30 June of year Y, `n_employed6_eligible` is the same. Both are then the
   sum of the costs section's current `n_started` of those years (`calendar_sums`).
3. **Closed cohorts across snapshots.** In a county with no clients who started within
   the last 12 months (`n_employed12_eligible = n_clients`, in both snapshots), the next
   snapshot's people are the earlier ones minus the withdrawn: `n_clients` can only fall,
   and every count of `MONOTONE` can fall only by the withdrawals,
   `x_later >= x_earlier - (n_clients_earlier - n_clients_later)` (`closed_cohort`).
4. **Costs revision sums.** A county's headline counts are the sums over start years of
   the costs section's *current* counts (`relations.COSTS_IN_HEADLINE`, equal when every
   start year has a costs row), and the `ALL` row of every year the sum of the counties.
   The repeated years' current counts are unknowns a reader links to the headline, so
   headline minus the years shown is the net revision, a hidden count of the audit. Where
   the current sum of an area's repeated years differs from their sum as first shown by
   1..T-1 people (a few withdrawals or late clients since), that sum is protected like a
   held-back count (`small_revision`); otherwise it tells of nobody, or of T or more.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping

from ips_eval.definitions import DISCLOSURE_THRESHOLD
from ips_eval.figures.catalogue import published_counts

#: Headline counts that, for the same people, can only rise as the cut-off moves on (a job
#: found stays found, an eligibility reached stays reached): in a cohort closed to new
#: starters they fall only by withdrawals. Not `n_clients` (it is what falls) and not
#: `n_other_activity` (a client who finds a job leaves it).
MONOTONE: tuple[str, ...] = tuple(c for c in published_counts("headline")
                                  if c not in ("n_clients", "n_other_activity"))

#: Counts of people defined by their start date alone (S + k months <= cut-off): how many
#: there are follows from the start dates, so one of 0 (nobody started long enough ago) tells
#: of no one, nor does a count within it.
BY_START_DATE: tuple[str, ...] = ("n_employed6_eligible", "n_employed12_eligible")

#: The eligibility a whole-year cut-off turns into a sum of start years: column ->
#: (month, day) of the cut-off at which it counts exactly the clients who started in the
#: years before the cut-off's year.
CALENDAR: dict[str, tuple[int, int]] = {"n_employed12_eligible": (12, 31), "n_employed6_eligible": (6, 30)}


def calendar_sums(cutoff: dt.date | None) -> dict[str, int]:
    """Headline column -> the last start year it sums (whole years 1..Y-1), at `cutoff`.

    Examples
    --------
    >>> calendar_sums(dt.date(2024, 12, 31))
    {'n_employed12_eligible': 2023}
    >>> calendar_sums(dt.date(2024, 6, 30))
    {'n_employed6_eligible': 2023}
    >>> calendar_sums(dt.date(2024, 9, 30))
    {}
    """
    if cutoff is None:
        return {}
    return {c: cutoff.year - 1 for c, (m, d) in CALENDAR.items() if (cutoff.month, cutoff.day) == (m, d)
            if c in published_counts("headline")}


def structural_zero_quarters(first_quarter: Mapping[str, str], quarters: Iterable[str],
                             costs_rows: Iterable[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """(county, quarter) rows whose quarterly counts are 0 by the study's structure: before
    the county's first quarter with a start (`first_quarter`: county -> 'YYYYQn'; a county
    without one has only zeros), or in a year the costs section has no row of the county
    for (`costs_rows`: its (county, year) pairs; None: no costs section, nothing known).

    Examples
    --------
    >>> sorted(structural_zero_quarters({"A": "2023Q2"}, ["2022Q4", "2023Q1", "2023Q2"]))
    [('A', '2022Q4'), ('A', '2023Q1')]
    >>> sorted(structural_zero_quarters({"A": "2022Q4"}, ["2022Q4", "2023Q1"], [("A", "2022"), ("B", "2023")]))
    [('A', '2023Q1'), ('B', '2022Q4')]
    """
    quarters = list(quarters)
    out = {(a, q) for a, first in first_quarter.items() for q in quarters if first is None or q < first}
    if costs_rows is not None:
        rows = set(costs_rows)
        counties = {a for a, _ in rows} | set(first_quarter)
        years = {y for _, y in rows}
        out |= {(a, q) for a in counties for q in quarters if q[:4] in years and (a, q[:4]) not in rows}
    return out


def closed_cohort(earlier: Mapping[str, int], later: Mapping[str, int]) -> bool:
    """Whether a county's row (column -> count, true values) shows a cohort closed to new
    starters in both snapshots: every client started at least 12 months before each cut-off.

    Examples
    --------
    >>> closed_cohort({"n_clients": 30, "n_employed12_eligible": 30}, {"n_clients": 29, "n_employed12_eligible": 29})
    True
    >>> closed_cohort({"n_clients": 30, "n_employed12_eligible": 28}, {"n_clients": 29, "n_employed12_eligible": 29})
    False
    """
    return all(r["n_clients"] == r["n_employed12_eligible"] for r in (earlier, later)) \
        and later["n_clients"] <= earlier["n_clients"]


def monotone_holds(earlier: Mapping[str, int], later: Mapping[str, int], column: str) -> bool:
    """The closed-cohort relation of `column` between two rows (true values):
    `later >= earlier - (n_clients_earlier - n_clients_later)`.

    Examples
    --------
    >>> monotone_holds({"n_clients": 30, "n_competitive": 12}, {"n_clients": 29, "n_competitive": 11}, "n_competitive")
    True
    >>> monotone_holds({"n_clients": 30, "n_competitive": 12}, {"n_clients": 29, "n_competitive": 10}, "n_competitive")
    False
    """
    return later[column] >= earlier[column] - (earlier["n_clients"] - later["n_clients"])


def small_revision(current: int, first_shown: int) -> bool:
    """Whether a sum of counts as the warehouse has them now differs from the same sum as the
    page first showed it by 1..T-1 people: a revision a reader must not be able to work out.

    Examples
    --------
    >>> small_revision(899, 901), small_revision(901, 901), small_revision(896, 901)
    (True, False, False)
    """
    return 0 < abs(current - first_shown) < DISCLOSURE_THRESHOLD
