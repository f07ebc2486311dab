"""The relations between the study's figures, derived from the catalogue (catalogue.yaml).

A reader of the website knows how the published figures are defined, and so knows how they
relate: a numerator is at most its denominator, the counties add up to `ALL`, each breakdown
(wave, SMI, gender, age group) adds up to `ALL`, a wave is the sum of its counties (which
county is in which wave is public), and a quarterly count of a county is at most the
matching headline count of that county. The figures' own relations are declared with each
figure in the catalogue; the additive ones and the costs section's are stated here. They
are read by

- the outcome checks (`ips_eval.warehouse.outcome_checks`), which verify them on the marts;
- disclosure control (`ips_eval.publish.site.tables` describes the published tables with
  them), whose suppression and audit assume that a reader uses every one of them.

So a relation added to the catalogue is at once checked on the warehouse and assumed of the
reader.

Examples
--------
>>> [str(w) for w in HEADLINE_WITHIN if w.whole == "n_clients"][:2]
['n_competitive <= n_clients', 'n_unsubsidised <= n_clients']
>>> within_columns(QUARTERLY_WITHIN, {"n_served", "n_working"})
(Within(parts=('n_working',), whole='n_served', sense='<='),)
"""

from __future__ import annotations

from typing import Collection, Iterable

from ips_eval.figures.catalogue import figures, rates
from ips_eval.figures.within import Within

#: The area key of every employment figure, and the row of all areas together.
AREA = "alue"
ALL = "ALL"
#: The breakdowns of the headline figures; each one's values add up to the row they break down.
BREAKDOWNS: tuple[str, ...] = ("wave", "smi", "gender", "age_group")
#: The breakdown whose values are groups of whole counties (a county starts in one wave).
WAVE = "wave"


def _within(table: str) -> tuple[Within, ...]:
    """Every rate's numerator within its denominator, then the relations the catalogue's
    figures of `table` declare, each once."""
    out: list[Within] = [Within((num,), den) for num, den in rates(table).values()]
    for f in figures(table):
        out += [w for w in f.relations if w not in out]
    return tuple(out)


#: Headline figures (marts.employment_outcomes and its breakdowns, and the published county
#: and group tables): every rate's numerator within its denominator, and the nesting of the
#: definitions (an unsubsidised job is a competitive job; a client followed up 12 months was
#: followed up 6; ...).
HEADLINE_WITHIN: tuple[Within, ...] = _within("headline")

#: The quarterly employment rate (marts.employment_rate_by_quarter): served, working,
#: working unsubsidised nest.
QUARTERLY_WITHIN: tuple[Within, ...] = _within("quarterly")

#: A county's quarterly count (parts, of the quarterly table) is at most the matching
#: headline count (whole, of the headline table) of the same county, as of the same cut-off:
#: everyone served in a quarter is a client, working means a competitive job, ...
QUARTER_IN_HEADLINE: tuple[Within, ...] = tuple(
    Within((f.count,), f.in_headline) for f in figures("quarterly") if f.in_headline)

#: rate column -> (numerator, denominator) of the headline table and of the quarterly rate.
HEADLINE_RATES: dict[str, tuple[str, str]] = rates("headline")
QUARTERLY_RATES: dict[str, tuple[str, str]] = rates("quarterly")

#: The costs section (marts.costs): of the clients who started in a year, the employed, and
#: of those the employed without pay subsidy.
COSTS_WITHIN: tuple[Within, ...] = (
    Within(("n_employed",), "n_started"),
    Within(("n_unsubsidised",), "n_employed"),
)
#: A county's costs counts over all years (parts, of marts.costs, vuosi = ALL) and its
#: headline counts (whole, of the headline table): the clients who started in a year with
#: reported costs are clients, and so on. Equal when every year a client started in has
#: reported costs, which a reader who knows the study's years also knows.
COSTS_IN_HEADLINE: tuple[Within, ...] = (
    Within(("n_started",), "n_clients"),
    Within(("n_employed",), "n_competitive"),
    Within(("n_unsubsidised",), "n_unsubsidised"),
)

#: The additive relations, by name -> what holds (the outcome check and the disclosure
#: control name them alike).
SUMS: dict[str, str] = {
    "counties_sum_to_all": "the county rows add up to the ALL row, for every count (per group and quarter)",
    "breakdowns_sum_to_all": "the values of each breakdown add up to the row they break down, for every count",
    "wave_is_sum_of_its_counties": "a wave's row is the sum of the rows of the counties that form it",
}


def within_columns(relations: Iterable[Within], columns: Collection[str]) -> tuple[Within, ...]:
    """The relations whose every column is among `columns` (a table holds only some figures).

    Examples
    --------
    >>> within_columns(HEADLINE_WITHIN, {"n_clients", "n_competitive"})
    (Within(parts=('n_competitive',), whole='n_clients', sense='<='),)
    """
    return tuple(w for w in relations if all(c in columns for c in w.columns))


def across_columns(relations: Iterable[Within], parts_columns: Collection[str],
                   whole_columns: Collection[str]) -> tuple[Within, ...]:
    """Relations between two tables: parts from one, whole from the other."""
    return tuple(w for w in relations if all(p in parts_columns for p in w.parts) and w.whole in whole_columns)


def wave_counties(county_wave_clients: Iterable[tuple[str, str, int]]) -> dict[str, tuple[str, ...]]:
    """Which counties form each wave, from (county, wave, clients) rows: wave -> counties.

    A wave is the sum of its counties only when each of those counties has clients in that
    wave alone; a wave that shares a county with another wave is left out (no such relation
    holds for it). A wave without clients maps to no counties (its row is then zero).

    Examples
    --------
    >>> wave_counties([("A", "1", 10), ("B", "2", 7), ("B", "1", 0), ("C", "2", 3)])
    {'1': ('A',), '2': ('B', 'C')}
    >>> wave_counties([("A", "1", 10), ("A", "2", 1), ("B", "2", 7)])
    {}
    """
    rows = [(c, w, int(n)) for c, w, n in county_wave_clients]
    waves_of: dict[str, set[str]] = {}
    for c, w, n in rows:
        if n > 0:
            waves_of.setdefault(c, set()).add(w)
    out: dict[str, tuple[str, ...]] = {}
    for w in sorted({w for _, w, _ in rows}):
        counties = sorted(c for c, ws in waves_of.items() if w in ws)
        if all(len(waves_of[c]) == 1 for c in counties):
            out[w] = tuple(counties)
    return out
