"""The website's tables: read from the warehouse, put through disclosure control, ready to show.

Which figures the employment tables hold, in which order and under which headers, comes
from the catalogue (`ips_eval.figures`): a figure added there is read, protected, shown and
audited here with no change to this module.

Why a module of its own: this is the only place where numbers for the site are chosen, so a
reviewer checking that nothing bypasses `disclosure` reads this file and nothing else. Every
query is a file of `sql/site/`; every count table goes through one `disclosure.protect`
call that knows how the tables are linked (the same clients are in the county table, the
group tables and the quarterly table); curves go through `publishable_curve`; model tables
through `check_model_table`.

A `SiteTable` holds the published values *as the CSV download writes them* (strings:
numbers, or the labels `<5` and `..`). The HTML is rendered from the same strings, so a
download always matches its table.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping

import duckdb
import pandas as pd

from ips_eval import SITE_QUERIES_DIR
from ips_eval.definitions import DISCLOSURE_THRESHOLD, FOLLOW_UP_MONTHS, year_completed
from ips_eval.figures import (
    ALL, AREA, Within, figure, BREAKDOWNS, COSTS_IN_HEADLINE, COSTS_WITHIN, HEADLINE_RATES, HEADLINE_WITHIN, QUARTER_IN_HEADLINE,
    QUARTERLY_RATES, QUARTERLY_WITHIN, WAVE, Figure, across_columns, figures, published_columns, published_counts,
    wave_counties, within_columns,
)
from ips_eval.figures.reader import (
    BY_START_DATE, MONOTONE, calendar_sums, closed_cohort, monotone_holds, small_revision, structural_zero_quarters,
)
from ips_eval.publish.disclosure import (
    HIDDEN_LABEL, PRIMARY_LABEL, SECONDARY_LABEL, CrossLinear, CrossSum, DisclosureError, Publication, RowLinear, RowsSum, TableSpec,
    check_model_table, curve_value_at, protect, publishable_curve, within,
)
from ips_eval.publish.disclosure import AT_RISK_ROUNDING
from ips_eval.ingest.contracts import code_lists
from ips_eval.publish.site.sections import KEYS, SECTIONS, SUMMED_KEYS, Section, SectionTable
from ips_eval.warehouse.database import query_sql, table_exists

#: The queries this module runs: sql/site/ (they build no warehouse table).
QUERIES = SITE_QUERIES_DIR

T = DISCLOSURE_THRESHOLD
GROUPINGS: tuple[str, ...] = BREAKDOWNS
#: Model tables of public interest, in page order.
PUBLIC_MODELS: tuple[str, ...] = ("employment_predictors", "unsubsidised_predictors", "effectiveness",
                                  "fidelity_outcome")
#: Read-outs of the time-to-first-job curve, in months (k months = k x 365.25/12 days, as the model).
#: The follow-up lengths are among them (the chart's text reads the long one).
READOUT_MONTHS: tuple[int, ...] = tuple(sorted({3, 18, 24, *FOLLOW_UP_MONTHS}))
DAYS_PER_MONTH = 365.25 / 12


# --------------------------------------------------------------------------------------
# What a published table is
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A column: its CSV name and how the page shows it.

    kind: 'key' (a code the page translates with `label`), 'count', 'rate' (a proportion,
    shown in percent), 'number' (decimals), 'money' (euros, `decimals` places), 'p'
    (p-value), 'date', 'int' (a whole number that is not a count of people, e.g. days)."""

    name: str
    kind: str
    decimals: int = 1
    label: str | None = None  # key kinds: which label function (render.label), e.g. 'county'
    group: str | None = None  # text key of a header spanning this and neighbouring columns
    sub: str | None = None  # text key of the column's own header under `group`
    header: str | None = None  # text key of its header when not `col_<name>`
    unit: str | None = None  # 'days': a duration the charts (and the language downloads) show in months
    source: str | None = None  # its column in the source table's contract, when named otherwise




@dataclass
class SiteTable:
    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, str]]
    #: The warehouse table its columns come from (its contract describes them in the data
    #: dictionary); None: `marts.<name>` or `models.<name>`.
    source: str | None = None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=[c.name for c in self.columns])

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass
class ModelTable:
    """A model of public interest: published only when rule 6 allows (`status` says why not)."""

    model: str
    status: str  # 'published', 'not_available', 'not_fitted', 'not_publishable'
    table: SiteTable | None = None
    n: str | None = None  # the model's n, as a published count; None: per row (`populations`)
    reasons: tuple[str, ...] = ()
    #: What a reader must know beside the estimates: text keys of `texts` ('caveat_...'), from
    #: the fit's status, its failed diagnostics and fits of different populations.
    caveats: tuple[str, ...] = ()


@dataclass
class SiteData:
    """Everything the site shows, already disclosure-controlled."""

    county: SiteTable
    groups: dict[str, SiteTable]
    quarterly: SiteTable
    fidelity: SiteTable | None
    scores: SiteTable | None
    scores_kind: str | None  # 'change' (models.score_change) or 'means' (marts.client_scores)
    ttf_readouts: SiteTable | None
    ttf_curve: SiteTable | None
    models: dict[str, ModelTable]
    specs: list[TableSpec] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)
    costs: SiteTable | None = None  # None: the delivery reported no costs
    cost_effectiveness: SiteTable | None = None  # model 8's ratio; None unless it is shown (fitted, gain above 0)
    transitions: SiteTable | None = None  # None: no transition rates in the warehouse
    sections: list["SectionData"] = field(default_factory=list)  # the declared sections (sections.yaml)

    def tables(self) -> list[SiteTable]:
        """Every table with a CSV download."""
        out = [self.county, *self.groups.values(), self.quarterly]
        out += [t for t in (self.fidelity, self.costs, self.cost_effectiveness, self.transitions, self.scores,
                            self.ttf_readouts,
                            self.ttf_curve) if t is not None]
        out += [m.table for m in self.models.values() if m.table is not None]
        out += [t for s in self.sections for _, t in s.tables]
        return out


@dataclass
class SectionData:
    """A declared section (`sections.Section`) with its published tables, in declaration
    order; a table with no rows in this delivery (an optional export not delivered) is left
    out, and a section whose `requires` table is absent has none (`available` False)."""

    section: Section
    tables: list[tuple[SectionTable, SiteTable]]
    available: bool


# --------------------------------------------------------------------------------------
# Employment tables: one linked publication
# --------------------------------------------------------------------------------------
#: The published count columns of the headline tables (county, groups), from the catalogue.
OUTCOME_COUNTS: tuple[str, ...] = published_counts("headline")
#: Their rates: rate -> (numerator, denominator).
OUTCOME_RATES: dict[str, tuple[str, str]] = {r: nd for r, nd in HEADLINE_RATES.items() if nd[0] in OUTCOME_COUNTS}


def figure_columns(figure: Figure) -> tuple[Column, ...]:
    """A figure's columns in a table: its count alone, or under one spanning header (its
    column label) its count, its own denominator and its rate.

    Examples
    --------
    >>> from ips_eval.figures import figure
    >>> [(c.name, c.sub) for c in figure_columns(figure("tenure6"))]
    [('n_tenure6', 'sub_n'), ('n_tenure6_eligible', 'sub_eligible'), ('rate_tenure6', 'sub_rate')]
    """
    if not figure.rate:
        return (Column(figure.count, "count"),)
    group = f"col_{figure.count}"
    own = (Column(figure.own_denominator, "count", group=group, sub="sub_eligible"),) if figure.own_denominator else ()
    return (Column(figure.count, "count", group=group, sub="sub_n"), *own,
            Column(figure.rate, "rate", group=group, sub="sub_rate"))


#: Display order of the outcome columns (count, its denominator, its rate), by the catalogue.
OUTCOME_COLUMNS: tuple[Column, ...] = tuple(c for f in figures("headline", published=True) for c in figure_columns(f))

#: A 95% confidence interval under one spanning header.
CI_COLUMNS = (Column("ci_low", "number", 2, group="col_ci", sub="sub_low"),
              Column("ci_high", "number", 2, group="col_ci", sub="sub_high"))

COUNTY = "employment_outcomes"
QUARTERLY = "employment_rate_by_quarter"
#: The published count columns of the quarterly table and their rates, from the catalogue.
QUARTER_COUNTS: tuple[str, ...] = published_counts("quarterly")
QUARTER_RATES: dict[str, tuple[str, str]] = {r: nd for r, nd in QUARTERLY_RATES.items() if nd[0] in QUARTER_COUNTS}
#: What hiding a cell costs, by table (x100 in an ALL row, x10 in a row total: see
#: `disclosure.cell_cost`): a county's quarter is the cheapest, a breakdown of all counties
#: the dearest of the small cells.
COSTS = {QUARTERLY: 1.0, COUNTY: 2.0, "group": 5.0}
QUARTER_COLUMNS: tuple[Column, ...] = tuple(c for f in figures("quarterly", published=True) for c in figure_columns(f))


def group_table_name(grouping: str) -> str:
    return f"employment_outcomes_by_{grouping}"


def employment_specs(quarters: list[str], waves: Mapping[str, tuple[str, ...]] | None = None, *,
                     prefix: str = "", published_before: bool = False) -> tuple[list[TableSpec], list[CrossSum]]:
    """The county table, the group tables (all counties) and the quarterly table, described
    with the relations of `ips_eval.figures` that a reader knows: counties add up to ALL
    (per quarter in the quarterly table), each grouping's rows add up to the county table's
    ALL row, a wave's row is the sum of its counties (`waves`: wave -> counties), every
    `Within` of the headline and quarterly figures, and each quarter's counts per county
    within that county's headline counts.

    Examples
    --------
    >>> specs, links = employment_specs(["2024Q4"], {"1": ("Helsinki",)})
    >>> [s.name for s in specs][:2], len(links)
    (['employment_outcomes', 'employment_outcomes_by_wave'], 6)

    With `prefix` and `published_before`, the same tables of an earlier snapshot (as its
    CSV files show them), named `prefix + name`.
    """
    row_within = tuple(within(w) for w in within_columns(HEADLINE_WITHIN, OUTCOME_COUNTS))
    by_start = tuple(c for c in BY_START_DATE if c in OUTCOME_COUNTS)
    county = TableSpec(name=COUNTY, keys=(AREA,), counts=OUTCOME_COUNTS, rates=OUTCOME_RATES, row_total="n_clients",
                       relations=(RowsSum(by=AREA, total=ALL), *row_within), cost=COSTS[COUNTY],
                       by_start_date=by_start)
    groups = [TableSpec(name=group_table_name(g), keys=("group_value",), counts=OUTCOME_COUNTS, rates=OUTCOME_RATES,
                        row_total="n_clients", relations=row_within, cost=COSTS["group"], by_start_date=by_start)
              for g in GROUPINGS]
    quarterly = TableSpec(
        name=QUARTERLY, keys=(AREA, "quarter"), counts=QUARTER_COUNTS, rates=QUARTER_RATES, row_total="n_served",
        relations=(RowsSum(by=AREA, total=ALL),
                   *(within(w) for w in within_columns(QUARTERLY_WITHIN, QUARTER_COUNTS))),
        cost=COSTS[QUARTERLY],
    )
    links = [CrossSum(total=COUNTY, total_row={AREA: ALL}, parts=group_table_name(g)) for g in GROUPINGS]
    links += [CrossSum(total=group_table_name(WAVE), total_row={"group_value": w}, parts=COUNTY,
                       parts_rows={AREA: frozenset(counties)})
              for w, counties in sorted((waves or {}).items())]
    in_headline = {w.parts[0]: w.whole for w in across_columns(QUARTER_IN_HEADLINE, QUARTER_COUNTS, OUTCOME_COUNTS)}
    links += [CrossSum(total=COUNTY, parts=QUARTERLY, parts_rows={"quarter": q}, by=(AREA,), sense="<=",
                       columns=in_headline) for q in quarters]
    tables = [county, *groups, quarterly]
    if not (prefix or published_before):
        return tables, links
    tables = [replace(t, name=prefix + t.name, published_before=published_before) for t in tables]
    links = [replace(k, total=prefix + k.total, parts=prefix + k.parts) for k in links]
    return tables, links


def employment_table_names() -> list[str]:
    """The linked employment tables (their CSV downloads are named alike)."""
    return [COUNTY, *(group_table_name(g) for g in GROUPINGS), QUARTERLY]


@dataclass
class Snapshot:
    """What an earlier release published: its quarter, its employment tables and its costs
    table (`COSTS_TABLE`, when it had one) as the CSV downloads show them (strings: numbers
    and labels), and its cut-off when its manifest states one."""

    quarter: str
    tables: dict[str, pd.DataFrame]
    cutoff: dt.date | None = None


def _as_published(df: pd.DataFrame, counts: tuple[str, ...]) -> pd.DataFrame:
    """A downloaded table with its count cells as numbers, labels as they are."""
    df = df.copy()
    for c in counts:
        df[c] = [int(v) if str(v).isdigit() else str(v) for v in df[c]]
    return df


def _history(history: list[Snapshot], waves: Mapping[str, tuple[str, ...]],
             zeros: set[tuple[str, str]] = frozenset()
             ) -> tuple[dict[str, pd.DataFrame], list[TableSpec], list[CrossSum], pd.DataFrame | None]:
    """The earlier snapshots as a reader has them: their tables, described with the same
    relations, each quarterly row under the snapshot that first published it (later
    snapshots repeat it unchanged); and the quarterly rows to repeat (the newest snapshot's)."""
    frames: dict[str, pd.DataFrame] = {}
    specs: list[TableSpec] = []
    links: list[CrossSum] = []
    seen: set[str] = set()
    frozen = None
    for snap in sorted(history, key=lambda h: h.quarter):
        missing = [n for n in employment_table_names() if n not in snap.tables]
        if missing:
            raise DisclosureError(f"snapshot {snap.quarter}: its published tables {missing} cannot be read, so the "
                                  "audit cannot include what it showed", table=missing[0])
        prefix = f"{snap.quarter}/"
        f = {n: _as_published(snap.tables[n], QUARTER_COUNTS if n == QUARTERLY else OUTCOME_COUNTS)
             for n in employment_table_names()}
        q = f[QUARTERLY]
        frozen = q
        f[QUARTERLY] = q[~q["quarter"].isin(seen)].reset_index(drop=True)
        seen |= set(q["quarter"])
        present = set(f[COUNTY][AREA])
        snap_waves = {w: tuple(c for c in counties if c in present) for w, counties in waves.items()
                      if w in set(f[group_table_name(WAVE)]["group_value"])}
        sp, ln = employment_specs(sorted(f[QUARTERLY]["quarter"].unique()), snap_waves, prefix=prefix,
                                  published_before=True)
        shown_zero = _zero_rows(f[QUARTERLY], zeros)
        sp = [replace(t, known_zero_rows=shown_zero) if t.name == prefix + QUARTERLY else t for t in sp]
        frames.update({prefix + n: df for n, df in f.items()})
        specs += sp
        links += ln
    return frames, specs, links, frozen


def _employment(con: duckdb.DuckDBPyConnection, history: list[Snapshot] | None = None,
                cutoff: dt.date | None = None,
                sections: tuple[dict[str, pd.DataFrame], list[TableSpec], list[CrossSum]] | None = None,
                ) -> tuple[dict[str, SiteTable], list[TableSpec], Publication]:
    """The linked employment tables, protected together with what earlier snapshots showed
    (rule 8): the quarters an earlier snapshot published are repeated as first published,
    only the new quarters come from the warehouse. The costs section (when the delivery
    reported costs) is protected in the same publication: its counts are of the same
    clients (`costs_links`); its years are shown once completed by `cutoff` and repeated as
    first shown after (`costs_history`). So are the declared sections' tables (`sections`:
    their frames, descriptions and links, `section_frames`): the coaching counts are of the
    same clients as the county table."""
    headline, quarterly = list(published_columns("headline")), list(published_columns("quarterly"))
    frames = {COUNTY: query_sql(con, QUERIES / "county_outcomes.sql", columns=headline)}
    for g in GROUPINGS:
        frames[group_table_name(g)] = query_sql(con, QUERIES / "group_outcomes.sql", grouping=g, columns=headline)
    frames[QUARTERLY] = query_sql(con, QUERIES / "rate_by_quarter.sql", counts=list(QUARTER_COUNTS),
                                  rates=list(QUARTER_RATES))
    membership = query_sql(con, QUERIES / "wave_counties.sql")
    waves = wave_counties(membership[[AREA, "wave", "n_clients"]].itertuples(index=False, name=None))
    zeros = _structural_zeros(con, frames)
    before, before_specs, before_links, frozen = _history(history or [], waves, zeros)
    if frozen is not None:
        frames[QUARTERLY] = frames[QUARTERLY][~frames[QUARTERLY]["quarter"].isin(set(frozen["quarter"]))]
        frames[QUARTERLY] = frames[QUARTERLY].reset_index(drop=True)
    quarters = sorted(frames[QUARTERLY]["quarter"].unique())
    waves = {w: c for w, c in waves.items() if w in set(frames[group_table_name(WAVE)]["group_value"])}
    specs, links = employment_specs(quarters, waves)
    held = held_back(frames, history or [])
    specs = [replace(t, held_back=held.get(t.name, frozenset()),
                     known_zero_rows=_zero_rows(frames[QUARTERLY], zeros) if t.name == QUARTERLY else frozenset())
             for t in specs]
    links += closed_cohort_links(frames[COUNTY], history or [])
    costs = _costs_frame(con)
    shown_before: dict[str, pd.DataFrame] = {}
    revised_frames: dict[str, pd.DataFrame] = {}
    revised_specs: list[TableSpec] = []
    revised_links: list[CrossSum] = []
    if costs is not None:  # the costs section's counts are the same people: one publication
        costs_before, costs_specs, costs_before_links, shown_before = costs_history(history or [])
        before.update(costs_before)
        before_specs += costs_specs
        before_links += costs_before_links
        years = sorted(set(costs["vuosi"]) - {ALL})
        running = frozenset(y for y in years if cutoff is not None and not year_completed(y, cutoff))
        frames[COSTS_TABLE] = costs[costs["vuosi"] != ALL].reset_index(drop=True)
        superseded = frozenset(shown_before) - running
        specs.append(costs_spec(all_years=False, withheld=running, superseded=superseded))
        links += costs_links(costs, frames[COUNTY])
        links += calendar_links(frames[COSTS_TABLE], frames[COUNTY], cutoff)
        # never shown, so not among the tables the page describes (`specs`): only protected
        revised_frames, revised_specs, revised_links = revision_sums(frames[COSTS_TABLE], shown_before, superseded)
    # exact ranges in the audit (every hidden cell's smallest and largest value a reader can
    # work out): the search has already found tables at most bounds, so they cost little more
    extra_frames, extra_specs, extra_links = sections or ({}, [], [])
    pub = protect({**frames, **before, **extra_frames, **revised_frames},
                  [*specs, *before_specs, *extra_specs, *revised_specs],
                  [*links, *before_links, *extra_links, *revised_links])
    tables = {COUNTY: _site_table(pub, COUNTY, (Column("alue", "key", label="county"), *OUTCOME_COLUMNS))}
    for g in GROUPINGS:
        name = group_table_name(g)
        tables[name] = _site_table(pub, name, (Column("group_value", "key", label=g), *OUTCOME_COLUMNS),
                                   source="marts.employment_outcomes_by_group")
    quarter_columns = (Column("alue", "key", label="county"), Column("quarter", "key"), *QUARTER_COLUMNS)
    tables[QUARTERLY] = _site_table(pub, QUARTERLY, quarter_columns)
    if frozen is not None:
        repeated = [{c.name: str(r[c.name]) for c in quarter_columns} for _, r in frozen.iterrows()]
        rows = repeated + tables[QUARTERLY].rows
        rows.sort(key=lambda r: (r[AREA] == ALL, r[AREA], r["quarter"]))
        tables[QUARTERLY] = SiteTable(QUARTERLY, quarter_columns, rows, tables[QUARTERLY].source)
    if costs is not None:
        shown = pub.published(COSTS_TABLE)
        fresh = shown[~shown["vuosi"].isin(running | set(shown_before))]
        tables[COSTS_TABLE] = _costs_table(fresh, list(shown_before.values()))
    return tables, specs, pub


# --------------------------------------------------------------------------------------
# Linked releases (rule 8) and what a reader deduces (ips_eval.figures.reader)
# --------------------------------------------------------------------------------------
def held_back(frames: Mapping[str, pd.DataFrame], history: list[Snapshot]) -> dict[str, frozenset]:
    """The linked-release rule for the recomputed headline tables (county and groups): a count
    that an earlier snapshot published as a number and that has changed since by 1..T-1 (a
    few people withdrew, started or reached an outcome) is held back, hidden and protected
    like a suppressed count, so that no pair of snapshots gives the change. Table -> cells
    (row key tuple, column).

    Examples
    --------
    >>> now = {COUNTY: pd.DataFrame({"alue": ["A"], **{c: [40] for c in OUTCOME_COUNTS}})}
    >>> was = pd.DataFrame({"alue": ["A"], **{c: ["40"] for c in OUTCOME_COUNTS}})
    >>> was["n_competitive"] = "38"
    >>> sorted(held_back(now, [Snapshot("2024Q3", {COUNTY: was})])[COUNTY])
    [(('A',), 'n_competitive')]
    """
    out: dict[str, set] = {}
    for name in [COUNTY, *(group_table_name(g) for g in GROUPINGS)]:
        if name not in frames:
            continue
        key = AREA if name == COUNTY else "group_value"
        now = frames[name].set_index(key)
        for snap in history:
            was = snap.tables.get(name)
            if was is None:
                continue
            for _, r in was.iterrows():
                if r[key] not in now.index:
                    continue
                for col in OUTCOME_COUNTS:
                    shown = str(r.get(col, ""))
                    if shown.isdigit() and 0 < abs(int(now.at[r[key], col]) - int(shown)) < T:
                        out.setdefault(name, set()).add(((r[key],), col))
    return {k: frozenset(v) for k, v in out.items()}


def closed_cohort_links(county: pd.DataFrame, history: list[Snapshot]) -> list[CrossLinear]:
    """What a reader deduces across consecutive snapshots (the earlier ones and this one) in a
    county closed to new starters (`reader.closed_cohort`, seen in the published numbers): its
    clients can only fall, and every `reader.MONOTONE` count falls at most by the withdrawals.
    A count shown as a label in either snapshot is linked too (the relation bounds it); one
    shown as numbers in both is linked where the relation holds."""
    out: list[CrossLinear] = []
    chain = [(f"{h.quarter}/{COUNTY}", h.tables[COUNTY].set_index(AREA))
             for h in sorted(history, key=lambda h: h.quarter) if COUNTY in h.tables]
    chain.append((COUNTY, county.set_index(AREA).astype({c: str for c in OUTCOME_COUNTS})))

    def number(df, a, c):
        v = str(df.at[a, c])
        return int(v) if v.isdigit() else None

    for (prev, was), (cur, now) in zip(chain, chain[1:]):
        for a in was.index.intersection(now.index):
            if a == ALL:
                continue
            head = {k: {c: number(df, a, c) for c in ("n_clients", "n_employed12_eligible")} for k, df in
                    (("was", was), ("now", now))}
            if any(v is None for h in head.values() for v in h.values()) or not closed_cohort(head["was"], head["now"]):
                continue
            out.append(CrossLinear(((cur, "n_clients", 1.0), (prev, "n_clients", -1.0)), {AREA: a},
                                   what="closed cohort: clients can only fall"))
            for c in MONOTONE:
                x, y = number(was, a, c), number(now, a, c)
                if x is not None and y is not None and not monotone_holds(
                        {**head["was"], c: x}, {**head["now"], c: y}, c):
                    continue
                out.append(CrossLinear(((prev, c, 1.0), (cur, c, -1.0), (prev, "n_clients", -1.0),
                                        (cur, "n_clients", 1.0)), {AREA: a},
                                       what=f"closed cohort: {c} falls at most by the withdrawals"))
    return out


def calendar_links(costs: pd.DataFrame, county: pd.DataFrame, cutoff: dt.date | None) -> list[CrossSum]:
    """The calendar (`reader.calendar_sums`): at 31 December (30 June) the 12-month (6-month)
    eligibility of a county is the sum of the costs section's current clients who started in
    the earlier years. Declared for the counties where the costs rows cover every such start."""
    out = []
    rows = costs[(costs["vuosi"] != ALL)]
    for col, last in calendar_sums(cutoff).items():
        years = frozenset(y for y in rows["vuosi"] if int(y) <= last)
        if not years:
            continue
        sums = rows[rows["vuosi"].isin(years)].groupby(AREA)["n_started"].sum()
        heads = county.set_index(AREA)[col]
        areas = frozenset(a for a in sums.index if a in heads.index and int(sums[a]) == int(heads[a]))
        if areas:
            out.append(CrossSum(total=COUNTY, parts=COSTS_TABLE, parts_rows={"vuosi": years, AREA: areas},
                                by=(AREA,), columns={"n_started": col}, sense="=="))
    return out


def _structural_zeros(con, frames: Mapping[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """(county or ALL, quarter) rows of the quarterly table a reader knows to be 0
    (`reader.structural_zero_quarters`): before a county's first quarter in the mart, or in
    a year the costs section has no row of the county for."""
    q = frames[QUARTERLY]
    first = {a: None for a in set(q[AREA]) - {ALL}}
    if table_exists(con, "marts.employment_rate_by_quarter"):
        for a, f in con.execute("SELECT alue, min(quarter) FROM marts.employment_rate_by_quarter"
                                " WHERE alue <> 'ALL' GROUP BY alue").fetchall():
            if a in first:
                first[a] = f
    costs_rows = None
    if table_exists(con, "marts.costs"):
        costs_rows = [(a, v) for a, v in con.execute("SELECT alue, vuosi FROM marts.costs"
                                                     " WHERE alue <> 'ALL' AND vuosi <> 'ALL'").fetchall()]
    quarters = sorted(set(q["quarter"]))
    zeros = structural_zero_quarters(first, quarters, costs_rows)
    counties = set(first)
    zeros |= {(ALL, qq) for qq in quarters if all((a, qq) in zeros for a in counties)}
    return zeros


def _zero_rows(quarterly: pd.DataFrame, zeros: set[tuple[str, str]]) -> frozenset:
    """The rows of a quarterly table (current or as published) that are structural zeros
    and show them as such (0, or the `<5` a zero is shown as)."""
    out = set()
    for _, r in quarterly.iterrows():
        if (r[AREA], r["quarter"]) in zeros and all(str(r[c]) in ("0", PRIMARY_LABEL) for c in QUARTER_COUNTS):
            out.add((r[AREA], r["quarter"]))
    return frozenset(out)


def _site_table(pub: Publication, name: str, columns: tuple[Column, ...], source: str | None = None) -> SiteTable:
    shown = pub.published(name)
    return SiteTable(name, columns, [{c.name: csv_value(row[c.name], c) for c in columns}
                                     for _, row in shown.iterrows()], source)


def csv_value(value, column: Column) -> str:
    """How a published value is written in the CSV (and read back by the page)."""
    if isinstance(value, str) and column.kind not in ("key", "date"):
        return value  # a disclosure label
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if column.kind == "count" or column.kind == "int":
        return str(int(value))
    if column.kind == "rate":
        return f"{float(value):.4f}"
    if column.kind == "number":
        return f"{float(value):.{column.decimals + 2}f}"
    if column.kind == "money":
        return f"{float(value):.{column.decimals}f}"
    if column.kind == "p":
        return f"{float(value):.3g}"
    if column.kind == "date":
        return str(value)[:10]
    return str(value)


# --------------------------------------------------------------------------------------
# Fidelity (rule 7), client-reported change, the time-to-first-job curve
# --------------------------------------------------------------------------------------
def _fidelity(con) -> SiteTable | None:
    if not table_exists(con, "marts.fidelity_current"):
        return None
    cols = (Column("alue", "key", label="county"), Column("arviointipvm", "date"), Column("total", "number", 0),
            Column("category", "key", label="category"))
    df = query_sql(con, QUERIES / "fidelity_current.sql")
    return SiteTable("fidelity_current", cols, [{c.name: csv_value(r[c.name], c) for c in cols}
                                                for _, r in df.iterrows()])


#: The per-client cost figures and the count of people each divides by (marts.costs).
COST_PER_PERSON = {"cost_per_client": "n_started", "cost_per_employed": "n_employed",
                   "cost_per_unsubsidised": "n_unsubsidised"}
#: The costs download (not `costs`: the page's section has that id).
COSTS_TABLE = "county_costs"
#: Cost figures about the service, not people: published as they are (like fidelity).
COST_AS_IS = ("cost_eur", "coach_fte")
#: The cost per client-year and the clients behind its client-years (those with a day in
#: service in the year): shown only where they are publishable, like a per-client figure. The
#: count cannot be read off the figure (cost / figure is client-years, not people).
COST_PER_CLIENT_YEAR, IN_SERVICE = "cost_per_client_year", "n_in_service"


#: What hiding a cost cell costs readers: a per-client figure of a county and year is the
#: least read figure of the site (a county's total over all years is dearer: `cell_cost`).
COSTS_COST = 0.5


def costs_spec(*, all_years: bool = True, withheld: frozenset = frozenset(),
               superseded: frozenset = frozenset()) -> TableSpec:
    """marts.costs as disclosure control sees it: the denominators are counts of people
    (counties add up to ALL, years add up to ALL, `figures.COSTS_WITHIN`), a per-client
    figure is a summary shown only where its count is published, and the service's own costs
    are published as they are. The page never shows the counts, only per-client figures,
    hidden as `..` whatever the count, so a reader knows a hidden count only as a whole
    number >= 0 (`labels_shown=False`).

    The website's section (`all_years=False`) holds the year rows only: its all-years rows
    are sums of the year rows it shows (`_costs_table`), so they tell a reader nothing the
    year rows do not. `withheld`: years still running at the cut-off (not shown);
    `superseded`: years the page repeats as an earlier snapshot showed them (their current
    counts are not shown, and a revision must not be derivable).

    Examples
    --------
    >>> costs_spec().summaries["cost_per_employed"]
    ('n_employed',)
    >>> costs_spec(all_years=False, withheld=frozenset({"2025"})).withheld_rows
    {'vuosi': frozenset({'2025'})}
    """
    return TableSpec(
        name=COSTS_TABLE, keys=(AREA, "vuosi"), counts=(*COST_PER_PERSON.values(), IN_SERVICE),
        summaries={**{figure: (count,) for figure, count in COST_PER_PERSON.items()},
                   COST_PER_CLIENT_YEAR: (IN_SERVICE,)},
        as_is=COST_AS_IS,
        # a client served in two years is in both years' rows: the years add up for the
        # clients who started in them, not for the clients in service
        relations=(RowsSum(by=AREA), *((RowsSum(by="vuosi", columns=tuple(COST_PER_PERSON.values())),)
                                       if all_years else ()),
                   *(within(w) for w in COSTS_WITHIN)),
        cost=COSTS_COST, labels_shown=False,
        withheld_rows={"vuosi": withheld} if withheld else {},
        superseded_rows={"vuosi": superseded} if superseded else {},
    )


def costs_links(costs: pd.DataFrame, county: pd.DataFrame, *, table: str = COSTS_TABLE, total: str = COUNTY,
                years: frozenset | None = None) -> list[CrossSum]:
    """A county's costs counts summed over the years against the county table's headline
    counts (`figures.COSTS_IN_HEADLINE`), for every county both tables have and `ALL`: equal
    when the all-years rows (`vuosi` ALL) equal the headline in every such row (every start
    year has reported costs, as a reader who knows the study's years knows), otherwise at
    most. The sum runs over the year rows (`years`: those rows only, summed `<=`), so the
    link holds whether the all-years rows are published or not.

    Examples
    --------
    >>> costs = pd.DataFrame({"alue": ["A", "A", "ALL", "ALL"], "vuosi": ["2023", "ALL", "2023", "ALL"],
    ...                       "n_started": [7, 7, 7, 7], "n_employed": [3, 3, 3, 3], "n_unsubsidised": [1, 1, 1, 1]})
    >>> county = pd.DataFrame({"alue": ["A", "ALL"], "n_clients": [7, 7], "n_competitive": [3, 3],
    ...                        "n_unsubsidised": [1, 1]})
    >>> [(k.sense, sorted(k.parts_rows["vuosi"])) for k in costs_links(costs, county)]
    [('==', ['2023'])]
    """
    columns = {w.parts[0]: w.whole for w in COSTS_IN_HEADLINE}
    rows = costs[costs["vuosi"] != ALL]
    if years is not None:
        rows = rows[rows["vuosi"].isin(years)]
    areas = frozenset(rows[AREA]) & frozenset(county[AREA])
    if not areas:
        return []
    equal = False
    if years is None:
        headline = county[[AREA, *columns.values()]].rename(columns={w: f"headline_{w}" for w in columns.values()})
        overall = costs[costs["vuosi"] == ALL].merge(headline, on=AREA)
        equal = not overall.empty and set(overall[AREA]) >= areas and all(
            (overall[p].astype(int) == overall[f"headline_{w}"].astype(int)).all() for p, w in columns.items())
    return [CrossSum(total=total, parts=table, parts_rows={"vuosi": frozenset(rows["vuosi"]), AREA: areas},
                     by=(AREA,), columns=columns, sense="==" if equal else "<=")]


def costs_history(history: list[Snapshot]) -> tuple[dict[str, pd.DataFrame], list[TableSpec], list[CrossSum],
                                                      dict[str, pd.DataFrame]]:
    """The costs sections of earlier snapshots as a reader has them (rule 8): each completed
    year's rows under the snapshot that first showed them (later snapshots repeat them), with
    the counts a reader reads off them (cost / shown figure; a hidden figure, `..`, is an
    unknown), the relations of `costs_spec` and, per snapshot, the years it first showed
    summed within that snapshot's headline counts. Returns those tables, their specs and
    links, and the rows to repeat: year -> its rows as first shown (CSV strings).

    A year counts only when completed by the cut-off of the snapshot that showed it
    (snapshots published before the section was frozen also showed the running year).

    Examples
    --------
    >>> costs_history([])
    ({}, [], [], {})
    """
    frames: dict[str, pd.DataFrame] = {}
    specs: list[TableSpec] = []
    links: list[CrossSum] = []
    first: dict[str, pd.DataFrame] = {}
    for snap in sorted(history, key=lambda h: h.quarter):
        shown = snap.tables.get(COSTS_TABLE)
        if shown is None or shown.empty:
            continue
        end = snap.cutoff or dt.date(int(snap.quarter[:4]) - 1, 12, 31)
        new = sorted(y for y in set(shown["vuosi"]) - {ALL} if year_completed(y, end) and y not in first)
        if not new:
            continue
        rows = shown[shown["vuosi"].isin(new)].reset_index(drop=True)
        first.update({y: rows[rows["vuosi"] == y].reset_index(drop=True) for y in new})
        name = f"{snap.quarter}/{COSTS_TABLE}"
        frame = rows[[AREA, "vuosi", *COST_PER_PERSON, COST_PER_CLIENT_YEAR, *COST_AS_IS]].copy()
        for figure, count in COST_PER_PERSON.items():
            frame[count] = [_count_read_off(c, f) for c, f in zip(rows["cost_eur"], rows[figure])]
        frame[IN_SERVICE] = SECONDARY_LABEL  # never read off: cost / figure is client-years
        frames[name] = frame
        specs.append(replace(costs_spec(all_years=False), name=name, published_before=True))
        county = snap.tables.get(COUNTY)
        if county is not None:
            links += costs_links(frame, county, table=name, total=f"{snap.quarter}/{COUNTY}", years=frozenset(new))
    return frames, specs, links, first


def revision_sums(costs: pd.DataFrame, first: Mapping[str, pd.DataFrame], superseded: frozenset
                  ) -> tuple[dict[str, pd.DataFrame], list[TableSpec], list[CrossSum]]:
    """The costs' revision sums (`reader.small_revision`): per area (`ALL` included) and
    count, the repeated years' current counts summed, against the same years as first shown
    (`first`, from `costs_history`; `superseded`: the repeated years). A reader who knows the
    current sum (headline minus the years shown fresh, or at 31 December the 12-month
    eligibility) and the shown one learns the net withdrawals and late clients since; where
    they are 1..T-1, the sum is a count of its own table (`costs_revision_<count>`, one row
    per such area, never shown), linked to the repeated years' current counts and protected
    like a held-back count. A year shown with a hidden figure (`..`) gives no sum to compare
    with; a county missing from a year's shown rows had nobody in it then. Returns those
    tables, their descriptions and links.

    Examples
    --------
    >>> costs = pd.DataFrame({"alue": ["A", "A", "A"], "vuosi": ["2022", "2023", "2024"],
    ...                       "n_started": [20, 29, 12], "n_employed": [9, 12, 3], "n_unsubsidised": [4, 5, 1]})
    >>> first = {y: pd.DataFrame({"alue": ["A"], "vuosi": [y], "cost_eur": ["6000.00"],
    ...                           "cost_per_client": [str(6000 // n)], "cost_per_employed": [".."],
    ...                           "cost_per_unsubsidised": [".."]}) for y, n in (("2022", 20), ("2023", 30))}
    >>> frames, specs, links = revision_sums(costs, first, frozenset({"2022", "2023"}))
    >>> {name: df.to_dict("records") for name, df in frames.items()}
    {'costs_revision_n_started': [{'alue': 'A', 'n_started': 49}]}
    >>> sorted(links[0].parts_rows["vuosi"]), specs[0].superseded_rows
    (['2022', '2023'], {'alue': frozenset({'A'})})
    """
    frames: dict[str, pd.DataFrame] = {}
    specs: list[TableSpec] = []
    links: list[CrossSum] = []
    years = sorted(y for y in superseded if y in first)
    if not years:
        return frames, specs, links
    repeated = costs[costs["vuosi"].isin(years)]
    for figure, count in COST_PER_PERSON.items():
        held: dict[str, int] = {}
        for area in dict.fromkeys(repeated[AREA]):
            shown = _shown_sum(first, years, area, figure)
            current = int(repeated.loc[repeated[AREA] == area, count].sum())
            if shown is not None and small_revision(current, shown):
                held[area] = current
        if not held:
            continue
        name = f"costs_revision_{count}"
        frames[name] = pd.DataFrame({AREA: list(held), count: list(held.values())})
        specs.append(TableSpec(name=name, keys=(AREA,), counts=(count,), cost=COSTS_COST, labels_shown=False,
                               superseded_rows={AREA: frozenset(held)}))
        links.append(CrossSum(total=name, parts=COSTS_TABLE, parts_rows={"vuosi": frozenset(years),
                                                                        AREA: frozenset(held)},
                              by=(AREA,), columns={count: count}))
    return frames, specs, links


def _shown_sum(first: Mapping[str, pd.DataFrame], years: list[str], area: str, figure: str) -> int | None:
    """The count of `area` summed over `years` as first shown (each read off as cost / the
    per-person `figure`; a year without the area's row had nobody in it); None when a year
    showed the figure hidden."""
    total = 0
    for y in years:
        row = first[y][first[y][AREA] == area]
        n = _count_read_off(row["cost_eur"].iloc[0], row[figure].iloc[0]) if len(row) else 0
        if isinstance(n, str):
            return None
        total += n
    return total


def _count_read_off(cost: str, figure: str) -> int | str:
    """The count a shown per-client figure gives away (cost / figure), or the hidden label. A
    blank figure beside a shown cost is a ratio over nobody (marts.costs leaves a ratio empty
    when its count is 0): the count is 0, and a reader knows it.

    Examples
    --------
    >>> _count_read_off("1000.00", "250"), _count_read_off("1000.00", ""), _count_read_off("1000.00", "..")
    (4, 0, '..')
    """
    if str(figure) == "" and str(cost) not in ("", SECONDARY_LABEL):
        return 0
    try:
        return round(float(cost) / float(figure))
    except (TypeError, ValueError, ZeroDivisionError):
        return SECONDARY_LABEL


def _costs_frame(con) -> pd.DataFrame | None:
    """marts.costs as the site reads it; None when the delivery reported no costs."""
    if not table_exists(con, "marts.costs"):
        return None
    df = query_sql(con, QUERIES / "costs.sql")
    return None if df.empty else df


COSTS_COLUMNS = (Column(AREA, "key", label="county"), Column("vuosi", "key", label="year"),
                 Column("cost_eur", "money", 0), Column("coach_fte", "number", 1),
                 Column("cost_per_client_year", "money", 0),
                 *(Column(figure, "money", 0) for figure in COST_PER_PERSON))


def _costs_table(shown: pd.DataFrame, repeated: list[pd.DataFrame] = ()) -> SiteTable:
    """Costs per county and year as published (`shown`: rows of the costs table of the
    publication; `repeated`: rows of earlier snapshots, as their CSV shows them), and over
    all years. The counts behind the per-client figures are protected (a shown figure and
    the published cost would give its count away) but not published.

    Rows of `shown` that are over all years are shown as they are (a table protected with
    them); otherwise each county's (and ALL's) all-years row is added as the sum of the year
    rows shown: costs and FTE summed, cost per client-year over the summed client-years,
    and a per-client figure over the summed counts only where every year's figure is shown
    (else `..`). It tells a reader nothing the year rows do not, so differencing it against
    the repeated years reveals no revision.
    """
    cols = COSTS_COLUMNS
    rows = [{c.name: csv_value(r[c.name], c) for c in cols} for _, r in shown.iterrows()]
    rows += [{c.name: str(r[c.name]) for c in cols} for df in repeated for _, r in df.iterrows()]
    if not any(r["vuosi"] == ALL for r in rows):
        areas = dict.fromkeys(r[AREA] for r in rows)
        rows += [_all_years(area, [r for r in rows if r[AREA] == area]) for area in areas]
    rows.sort(key=lambda r: (r[AREA] == ALL, r[AREA], r["vuosi"] == ALL, r["vuosi"]))
    return SiteTable(COSTS_TABLE, cols, rows, "marts.costs")


def _all_years(area: str, years: list[dict[str, str]]) -> dict[str, str]:
    """One area's all-years row from its year rows as shown (strings)."""
    cols = {c.name: c for c in COSTS_COLUMNS}

    def number(v: str) -> float | None:
        try:
            return float(v)
        except ValueError:
            return None

    costs = [number(r["cost_eur"]) for r in years]
    out = {AREA: area, "vuosi": ALL, **{c: "" for c in cols if c not in (AREA, "vuosi")}}
    if not years or any(c is None for c in costs):
        return out  # a sum with an unknown part is unknown (as marts.costs)
    total = sum(costs)
    out["cost_eur"] = csv_value(total, cols["cost_eur"])
    fte = [number(r["coach_fte"]) for r in years]
    if any(f is not None for f in fte):
        out["coach_fte"] = csv_value(sum(f for f in fte if f is not None), cols["coach_fte"])
    per_year = [number(r[COST_PER_CLIENT_YEAR]) for r in years]
    if any(p is None and r[COST_PER_CLIENT_YEAR] == HIDDEN_LABEL for p, r in zip(per_year, years)):
        out[COST_PER_CLIENT_YEAR] = HIDDEN_LABEL  # a year's client-years unknown: so is their sum
    elif (client_years := sum(c / p for c, p in zip(costs, per_year) if p)) > 0:
        out[COST_PER_CLIENT_YEAR] = csv_value(total / client_years, cols[COST_PER_CLIENT_YEAR])
    for figure in COST_PER_PERSON:
        counts = [_count_read_off(r["cost_eur"], r[figure]) for r in years]
        if any(isinstance(n, str) for n in counts):
            out[figure] = HIDDEN_LABEL
        elif sum(counts) > 0:
            out[figure] = csv_value(total / sum(counts), cols[figure])
    return out


#: Model 8 and its one term (docs/analysis_plan.md "Costs", models.estimates).
COST_EFFECTIVENESS = "cost_effectiveness"
COST_EFFECTIVENESS_TERM = "cost_per_employed_month_gained"


def _cost_effectiveness(con) -> SiteTable | None:
    """Model 8's cost per employed month gained with its interval, when the model shows it.

    Shown when its interval is bounded and above 0 (the model reports the ratio whatever the
    gain's interval; the fit log and models.diagnostics say when it is unbounded); the other
    terms of model 8 (its parts, net monetary benefit) stay in models.estimates. A ratio of euros to months, not a count; it is
    shown when the clients it describes are at least T, like a model table's n.
    """
    if not (table_exists(con, "models.estimates") and table_exists(con, "models.fit_log")):
        return None
    fit = query_sql(con, QUERIES / "model_fit.sql", model=COST_EFFECTIVENESS)
    if fit.empty or fit.at[0, "status"] == "not_fitted":
        return None
    est = query_sql(con, QUERIES / "model_estimates.sql", model=COST_EFFECTIVENESS)
    est = est[est["term"] == COST_EFFECTIVENESS_TERM]
    # an interval unbounded above (the gain's interval reaches 0) is in the fit log, not on the page
    if (est.empty or est["ci_low"].isna().any() or not (est["ci_low"] > 0).all()
            or not est["ci_high"].map(math.isfinite).all() or not (est["n"] >= T).all()):
        return None
    cols = (Column(COST_EFFECTIVENESS_TERM, "money", 0, source="estimate"),
            Column("ci_low", "money", 0, group="col_ci", sub="sub_low"),
            Column("ci_high", "money", 0, group="col_ci", sub="sub_high"))
    r = est.iloc[0]
    values = {COST_EFFECTIVENESS_TERM: r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
    return SiteTable(COST_EFFECTIVENESS, cols, [{c.name: csv_value(values[c.name], c) for c in cols}],
                     "models.estimates")


#: The headline transition rates and the persons behind each (sql/site/headline_transitions.sql):
#: rate -> (persons who moved, persons in the from states), lower bounds of the distinct persons.
TRANSITION_RATES = {"rate_ips": ("persons_moved_ips", "persons_from_ips"),
                    "rate_comparison_weighted": ("persons_moved_comparison", "persons_from_comparison")}


def transitions_spec() -> TableSpec:
    """The headline transitions as disclosure control sees them: each rate is a summary of
    weighted person-months, shown only where the persons behind it (those who moved and those
    in the from states, unweighted) are both publishable; those counts are not published.

    Examples
    --------
    >>> transitions_spec().summaries["rate_ips"]
    ('persons_moved_ips', 'persons_from_ips')
    """
    return TableSpec(name="headline_transitions", keys=("transition",),
                     counts=tuple(c for pair in TRANSITION_RATES.values() for c in pair),
                     summaries=dict(TRANSITION_RATES))


def _transitions(con) -> tuple[SiteTable | None, TableSpec | None, Publication | None]:
    """From benefits into work and back (post12), IPS clients beside the weighted comparison
    group. The rates are of weighted person-months, and no count is published: a reader
    cannot recover a number of persons from them."""
    if not table_exists(con, "marts.transition_rates"):
        return None, None, None
    df = query_sql(con, QUERIES / "headline_transitions.sql")
    if df[list(TRANSITION_RATES)].isna().all().all():
        return None, None, None
    pub = protect({"headline_transitions": df}, [transitions_spec()])
    shown = pub.published("headline_transitions")
    cols = (Column("transition", "key", label="transition"), *(Column(r, "rate") for r in TRANSITION_RATES))
    rows = [{c.name: csv_value(r[c.name], c) for c in cols} for _, r in shown.iterrows()]
    table = SiteTable("headline_transitions", cols, rows, "marts.transition_rates")
    return table, transitions_spec(), pub


def _scores(con) -> tuple[SiteTable | None, str | None, TableSpec | None, Publication | None]:
    """Paired change from models.score_change when the models ran; else means per wave."""
    if table_exists(con, "models.score_change"):
        df = query_sql(con, QUERIES / "score_change.sql")
        if len(df):
            behind = ("n_pairs",)
            spec = TableSpec(name="score_change", keys=("score",), counts=behind,
                             summaries={c: behind for c in ("mean_baseline", "mean_final", "mean_change",
                                                            "ci_low", "ci_high")})
            pub = protect({"score_change": df}, [spec])
            cols = (Column("score", "key", label="score"), Column("n_pairs", "count"),
                    Column("mean_baseline", "number", 2), Column("mean_final", "number", 2),
                    Column("mean_change", "number", 2), *CI_COLUMNS)
            return _site_table(pub, "score_change", cols), "change", spec, pub
    if table_exists(con, "marts.client_scores"):
        df = query_sql(con, QUERIES / "score_means.sql")
        spec = TableSpec(name="score_means", keys=("score", "wave"), counts=("n_responses",),
                         summaries={"mean": ("n_responses",)})
        pub = protect({"score_means": df}, [spec])
        cols = (Column("score", "key", label="score"), Column("wave", "key", label="survey"),
                Column("n_responses", "count"), Column("mean", "number", 2))
        return _site_table(pub, "score_means", cols, "marts.client_scores"), "means", spec, pub
    return None, None, None, None


#: The summaries of people the linked-release rule repeats unless at least T people changed
#: (rule 8): their CSV downloads, as `published_history` reads them.
SCORE_CHANGE = "score_change"
CURVE = "time_to_first_job_curve"
READOUTS = "time_to_first_job"
LINKED_SUMMARIES: tuple[str, ...] = (SCORE_CHANGE, CURVE, READOUTS)


def linked_scores(table: SiteTable, history: list["Snapshot"]) -> SiteTable:
    """Rule 8 for means: a score's row is published afresh only when, against every earlier
    snapshot that published its mean, the pairs behind it changed by at least T (or not at
    all, with the same figures); otherwise the newest earlier snapshot's row is repeated as
    it was (repeating publishes nothing new about anyone, the withdrawn included).

    Examples
    --------
    >>> cols = (Column("score", "key"), Column("n_pairs", "count"), Column("mean_change", "number"))
    >>> now = SiteTable(SCORE_CHANGE, cols, [{"score": "s", "n_pairs": "41", "mean_change": "1.200"}])
    >>> was = pd.DataFrame({"score": ["s"], "n_pairs": ["42"], "mean_change": ["1.100"]})
    >>> linked_scores(now, [Snapshot("2024Q3", {SCORE_CHANGE: was})]).rows
    [{'score': 's', 'n_pairs': '42', 'mean_change': '1.100'}]
    >>> now.rows[0]["n_pairs"] = "47"
    >>> linked_scores(now, [Snapshot("2024Q3", {SCORE_CHANGE: was})]).rows[0]["n_pairs"]
    '47'
    """
    earlier = [(h.quarter, h.tables[SCORE_CHANGE]) for h in sorted(history, key=lambda h: h.quarter)
               if SCORE_CHANGE in h.tables]
    if not earlier:
        return table
    names = [c.name for c in table.columns]
    rows = []
    for row in table.rows:
        shown = [df[df["score"] == row["score"]] for _, df in earlier]
        shown = [d.iloc[0] for d in shown if len(d)]
        repeat = False
        for old in shown:
            if not (str(old["n_pairs"]).isdigit() and str(row["n_pairs"]).isdigit()):
                continue
            change = abs(int(row["n_pairs"]) - int(old["n_pairs"]))
            same = all(str(old.get(c, "")) == row[c] for c in names)
            if 0 < change < T or (change == 0 and not same):
                repeat = True
        rows.append({c: str(shown[-1].get(c, "")) for c in names} if repeat else row)
    return SiteTable(table.name, table.columns, rows)


def linked_curve(curve: SiteTable, readouts: SiteTable, people: int, history: list["Snapshot"],
                 first_jobs_since: Callable[[dt.date], int | None] | None = None
                 ) -> tuple[SiteTable, SiteTable]:
    """Rule 8 for the time-to-first-job curve: published afresh only when, against every
    earlier snapshot's curve that differs from it, both
    - its people (`people`, those at risk at its start) differ by at least T from that curve's
      (read from its first number at risk, rounded to 5 there: so by T plus the rounding), and
    - the first jobs it counts that that curve could not (`first_jobs_since(c)`, with `c` the
      cut-off of the snapshot that first showed that curve: people who started since, and
      first jobs found since among the people it had) are 0 or at least T;
    otherwise the newest earlier curve and its read-outs are repeated. Where `first_jobs_since`
    does not know a cut-off (None), the people alone decide.

    Examples
    --------
    >>> cols = (Column("time", "int"), Column("n_at_risk", "count"), Column("share", "rate"))
    >>> now = SiteTable(CURVE, cols, [{"time": "0", "n_at_risk": "100", "share": "0.0000"}])
    >>> was = pd.DataFrame({"time": ["0"], "n_at_risk": ["100"], "share": ["0.0100"]})
    >>> linked_curve(now, now, 101, [Snapshot("2024Q3", {CURVE: was})])[0].rows[0]["share"]
    '0.0100'
    >>> q3 = Snapshot("2024Q3", {CURVE: was}, dt.date(2024, 9, 30))
    >>> linked_curve(now, now, 120, [q3], lambda c: 3)[0].rows[0]["share"]
    '0.0100'
    >>> linked_curve(now, now, 120, [q3], lambda c: 7)[0].rows[0]["share"]
    '0.0000'
    """
    earlier = [h for h in sorted(history, key=lambda h: h.quarter) if CURVE in h.tables]
    if not earlier:
        return curve, readouts
    names = [c.name for c in curve.columns]

    def rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
        return [tuple(str(r.get(c, "")) for c in names) for _, r in frame.iterrows()]

    now = [tuple(r[c] for c in names) for r in curve.rows]
    shown = [rows(h.tables[CURVE]) for h in earlier]
    repeat = False
    for i, (h, old) in enumerate(zip(earlier, shown)):
        if old == now:
            continue
        first = old[0][names.index("n_at_risk")] if old else ""
        if first.isdigit() and abs(people - int(first)) < T + AT_RISK_ROUNDING // 2:
            repeat = True
        # the curve's data are as of the snapshot that first showed it (a repeat shows older data)
        j = i
        while j > 0 and shown[j - 1] == old:
            j -= 1
        since = first_jobs_since(earlier[j].cutoff) if first_jobs_since and earlier[j].cutoff else None
        if since is not None and 0 < since < T:
            repeat = True
    if not repeat:
        return curve, readouts
    last = earlier[-1]
    old_curve = SiteTable(curve.name, curve.columns, [dict(zip(names, r)) for r in shown[-1]], curve.source)
    old_readouts = last.tables.get(READOUTS)
    rnames = [c.name for c in readouts.columns]
    repeated = SiteTable(readouts.name, readouts.columns,
                         [] if old_readouts is None else [{c: str(r.get(c, "")) for c in rnames}
                                                          for _, r in old_readouts.iterrows()],
                         readouts.source)
    return old_curve, repeated


def _first_jobs_since(con) -> Callable[[dt.date], int | None]:
    """The first jobs the curve at the cut-off counts beyond those it would have counted at an
    earlier date (an evaluation date of core: the quarter ends); None for other dates."""
    if not table_exists(con, "core.client_outcomes_asof"):
        return lambda since: None
    counts = query_sql(con, QUERIES / "first_jobs_by_date.sql")
    by_date = {pd.Timestamp(d).date(): int(n) for d, n in zip(counts["as_of"], counts["n_first_jobs"])}
    now = next((int(n) for n, c in zip(counts["n_first_jobs"], counts["is_cutoff"]) if c), None)

    def since(cutoff: dt.date) -> int | None:
        return now - by_date[cutoff] if now is not None and cutoff in by_date else None
    return since


def _time_to_first_job(con, history: list["Snapshot"] | None = None) -> tuple[SiteTable | None, SiteTable | None]:
    """The 1 - Kaplan-Meier curve (share with a first job), published through rule 5 only,
    and repeated as an earlier snapshot showed it unless its people changed by at least T and
    its first jobs by 0 or at least T (rule 8, `linked_curve`)."""
    if not table_exists(con, "models.km_time_to_first_job"):
        return None, None
    steps = query_sql(con, QUERIES / "km_time_to_first_job.sql")
    if steps.empty:
        return None, None
    readout_days = [m * DAYS_PER_MONTH for m in READOUT_MONTHS]
    try:
        curve = publishable_curve(steps, at=readout_days)
    except DisclosureError:
        return None, None
    shown = pd.DataFrame({
        "time": curve["time"].round().astype(int),
        "n_at_risk": [PRIMARY_LABEL if n < T else int(n) for n in curve["n_at_risk"]],
        "share": 1 - curve["estimate"], "share_ci_low": 1 - curve["ci_high"], "share_ci_high": 1 - curve["ci_low"],
    })
    cols = (Column("time", "int", unit="days"), Column("n_at_risk", "count"), Column("share", "rate"),
            Column("share_ci_low", "rate", group="col_ci", sub="sub_low"),
            Column("share_ci_high", "rate", group="col_ci", sub="sub_high"))
    curve_table = SiteTable(CURVE, cols,
                            [{c.name: csv_value(r[c.name], c) for c in cols} for _, r in shown.iterrows()],
                            "models.km_time_to_first_job")
    readouts = []
    for m, day in zip(READOUT_MONTHS, readout_days):
        # the curve's true value at the read-out time, where the published curve is exact
        # there; else (it does not reach so far, or fewer than T events lie between its last
        # step and the time) the read-out is not shown
        row = curve_value_at(steps, curve, day)
        if row is None:
            continue
        r = shown.iloc[row]
        readouts.append({"months": str(m), **{c.name: csv_value(r[c.name], c) for c in cols[1:]}})
    rcols = (Column("months", "int"), *cols[1:])
    readout_table = SiteTable(READOUTS, rcols, readouts, "models.km_time_to_first_job")
    if history:
        curve_table, readout_table = linked_curve(curve_table, readout_table, int(steps["n_at_risk"].max()), history,
                                                  _first_jobs_since(con))
    return readout_table, curve_table


# --------------------------------------------------------------------------------------
# Model tables (rule 6)
# --------------------------------------------------------------------------------------
_TERM = re.compile(r"^(?P<var>[^\[]+)\[(?P<cat>.+?)(?: vs .+| \(reference\))?\]$")


def _term_categories(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    """models.term_counts -> {variable: {category: people}}, plus people with and without the
    outcome per category (the cells of the category x outcome table). Continuous terms
    (no [category]) have no categories."""
    out: dict[str, dict[str, int]] = {}
    for _, r in df.iterrows():
        m = _TERM.match(str(r["term"]))
        if not m:
            continue
        var, cat, n = m["var"], m["cat"], int(r["n"])
        out.setdefault(var, {})[cat] = n
        if not pd.isna(r.get("n_events")):
            out.setdefault(f"{var} with the outcome", {})[cat] = int(r["n_events"])
            out.setdefault(f"{var} without the outcome", {})[cat] = n - int(r["n_events"])
    return out


def _model_table(con, model: str) -> ModelTable:
    if not (table_exists(con, "models.estimates") and table_exists(con, "models.fit_log")):
        return ModelTable(model, "not_available")
    fit = query_sql(con, QUERIES / "model_fit.sql", model=model)
    if fit.empty:
        return ModelTable(model, "not_available")
    if fit.at[0, "status"] == "not_fitted":
        return ModelTable(model, "not_fitted")
    est = query_sql(con, QUERIES / "model_estimates.sql", model=model)
    if est.empty:
        return ModelTable(model, "not_fitted")
    n = int(est["n"].max()) if est["n"].notna().any() else int(fit.at[0, "n"] or 0)
    residual_df = fit.at[0, "residual_df"]
    categories: dict[str, dict[str, int]] = {}
    if model == "effectiveness":
        if table_exists(con, "models.propensity_model"):
            k = con.execute("SELECT count(*) FROM models.propensity_model WHERE model = ?", [model]).fetchone()[0]
            residual_df = n - k
        if table_exists(con, "models.effectiveness_categories"):
            cat = query_sql(con, QUERIES / "effectiveness_categories.sql")
            for _, r in cat.iterrows():
                categories.setdefault(r["term"], {})[r["category"]] = int(r["n"])
    elif table_exists(con, "models.term_counts"):
        categories = _term_categories(query_sql(con, QUERIES / "model_term_counts.sql", model=model))
    if residual_df is None or pd.isna(residual_df):
        residual_df = n - len(est) - 1  # intercept + one parameter per term
    check = check_model_table(float(residual_df), categories)
    if not check:
        return ModelTable(model, "not_publishable", reasons=check.reasons)
    # a model with sensitivity estimators (effectiveness: ipw, aipw, overlap) shows which row is which
    by_estimator = (Column("estimator", "key", label="estimator"),) if est["estimator"].nunique() > 1 else ()
    # fits of different populations (the 12- and 24-month effects): each row's own n
    per_row = est["n"].notna().all() and est["n"].nunique() > 1 and bool((est["n"] >= T).all())
    # the effectiveness model's terms are outcomes, the others' are factors
    term = Column("term", "key", label="term", header="col_term_effectiveness" if model == "effectiveness" else None)
    cols = (term, *by_estimator, Column("estimate", "number", 2), *CI_COLUMNS,
            Column("p_value", "p"), *((Column("n", "count"),) if per_row else ()))
    table = SiteTable(f"model_{model}", cols, [{c.name: csv_value(r[c.name], c) for c in cols}
                                                for _, r in est.iterrows()], "models.estimates")
    caveats = model_caveats(str(fit.at[0, "status"]), query_sql(con, QUERIES / "model_failed_diagnostics.sql",
                                                                  model=model)["diagnostic"].tolist()
                            if table_exists(con, "models.diagnostics") else [], per_row)
    return ModelTable(model, "published", table, n=None if per_row else (str(n) if n >= T else PRIMARY_LABEL),
                      caveats=caveats)


#: Diagnostics of a fit of its own, by the prefix of their names, and the text keys saying
#: which estimates they concern (`caveat_<kind>_<scope>`).
CAVEAT_SCOPES: dict[str, str] = {"post24_": "post24"}


def model_caveats(status: str, failed: list[str], per_row: bool) -> tuple[str, ...]:
    """The text keys of what a reader must know beside a model's estimates: a failed negative
    control (the comparison differed before IPS as weighting did not remove), another failed
    diagnostic, a warning with no failed diagnostic, and fits of different populations.

    Examples
    --------
    >>> model_caveats("warning", ["post24_negative_control_employed_months_pre24_13"], True)
    ('caveat_negative_control_post24', 'caveat_populations')
    >>> model_caveats("warning", [], False), model_caveats("ok", [], False)
    (('caveat_warning',), ())
    """
    keys: list[str] = []
    for name in failed:
        scope = next((s for prefix, s in CAVEAT_SCOPES.items() if name.startswith(prefix)), "all")
        kind = "negative_control" if "negative_control" in name else "diagnostic"
        keys.append(f"caveat_{kind}_{scope}")
    if status == "warning" and not keys:
        keys.append("caveat_warning")
    if per_row:
        keys.append("caveat_populations")
    return tuple(dict.fromkeys(keys))


# --------------------------------------------------------------------------------------
# The declared sections (sections.yaml): the voices of the evaluation, and for whom it works
# --------------------------------------------------------------------------------------
#: Survey rounds in page order: the client survey's final wave, the coaches' latest answers,
#: the care-staff rounds as their code list orders them, the employers' one round.
ROUNDS: tuple[str, ...] = ("final", "latest", *code_lists()["staff_survey_rounds"], "all")
#: Model 9's subgroups in page order (models.effect_by_subgroup.subgroup).
SUBGROUPS: tuple[str, ...] = ("age_group", "gender", "smi", "fidelity_category")


def section_columns(table: SectionTable) -> tuple[Column, ...]:
    """A declared table's columns: its keys, then each figure's count with its rate or its
    mean under the figure's header (the catalogue's column label).

    Examples
    --------
    >>> from ips_eval.publish.site.sections import section
    >>> [c.name for c in section_columns(section("care_teams").tables[1])]
    ['round', 'n_respondents', 'n_recovery_orientation', 'mean_recovery_orientation']
    """
    cols = [Column(k, "key", label=KEYS[k]) for k in table.keys]
    for f in (figure(name) for name in table.figures):
        if f.rate:
            cols += figure_columns(f)
        elif f.mean:
            group = f"col_{f.count}"
            cols += [Column(f.count, "count", group=group, sub="sub_n"),
                     Column(f.mean, "number", 2, group=group, sub="sub_mean")]
        else:
            cols.append(Column(f.count, "count"))
    return tuple(cols)


def section_spec(table: SectionTable) -> tuple[TableSpec, list[CrossSum]]:
    """A declared table as disclosure control sees it, from the catalogue: its counts, each
    rate a share of its denominator, each mean shown only where its count is published (rule
    4), every relation the catalogue declares between its counts (a numerator within its
    denominator, the three parts of an item's answers adding up to those who answered),
    counties (and an employer characteristic's codes) adding up to ALL; and its links: a count declared `in_headline` is at most that
    headline count of the same county (the county table).

    Examples
    --------
    >>> from ips_eval.publish.site.sections import section
    >>> spec, links = section_spec(section("employers").tables[0])
    >>> spec.counts, [r.coefficients for r in spec.relations][-1]
    (('n_answered', 'n_low', 'n_mid', 'n_high'), {'n_low': 1.0, 'n_mid': 1.0, 'n_high': 1.0, 'n_answered': -1.0})
    """
    figs = [figure(name) for name in table.figures]
    counts = tuple(f.count for f in figs)
    declared = [Within((f.count,), f.denominator) for f in figs if f.rate]
    declared += [w for f in figs for w in f.relations if w not in declared]
    relations = [within(w) for w in declared if all(c in counts for c in w.columns)]
    relations[:0] = [RowsSum(by=k, total=ALL) for k in SUMMED_KEYS if k in table.keys]
    spec = TableSpec(name=table.name, keys=table.keys, counts=counts,
                     rates={f.rate: (f.count, f.denominator) for f in figs if f.rate},
                     summaries={f.mean: (f.count,) for f in figs if f.mean},
                     row_total=table.row_total, relations=tuple(relations))
    in_headline = {f.count: f.in_headline for f in figs if f.in_headline}
    links = ([CrossSum(total=COUNTY, parts=table.name, by=(AREA,), sense="<=", columns=in_headline)]
             if in_headline and AREA in table.keys else [])
    return spec, links


def _section_frame(con, table: SectionTable) -> pd.DataFrame:
    """A declared table's rows as its query reads them, one row for every declared item of
    every round the query returns (an item nobody answered is a row of zeros: a missing row
    would publish a zero)."""
    columns = [c.name for c in section_columns(table) if c.kind != "key"]
    df = query_sql(con, table.path, columns=columns, items=list(table.items), rounds=list(ROUNDS))
    df = df[[*table.keys, *columns]]
    if table.items and len(df):
        rounds = list(dict.fromkeys(df["round"])) if "round" in table.keys else [None]
        grid = pd.DataFrame([{**({"round": r} if r is not None else {}), "item": i}
                             for r in rounds for i in table.items])
        df = grid.merge(df, how="left", on=list(table.keys))
        counts = [f.count for f in (figure(n) for n in table.figures)]
        df[counts] = df[counts].fillna(0).astype(int)
    return df.reset_index(drop=True)


def section_frames(con) -> tuple[dict[str, SectionTable | None], dict[str, pd.DataFrame], list[TableSpec],
                                 list[CrossSum]]:
    """The declared sections' tables of catalogue figures, read and described for one
    publication with the employment tables: (which sections are available, by name -> None
    when not; frames; descriptions; links). A table with no rows is left out."""
    available: dict[str, SectionTable | None] = {}
    frames: dict[str, pd.DataFrame] = {}
    specs: list[TableSpec] = []
    links: list[CrossSum] = []
    for s in SECTIONS:
        ok = table_exists(con, s.requires)
        available[s.name] = s if ok else None  # type: ignore[assignment]
        if not ok:
            continue
        for t in s.tables:
            if t.kind != "figures":
                continue
            df = _section_frame(con, t)
            if df.empty:
                continue
            spec, ln = section_spec(t)
            frames[t.name] = df
            specs.append(spec)
            links += ln
    return available, frames, specs, links


def section_tables(con, pub: Publication, available: Mapping[str, object],
                   protected: Mapping[str, pd.DataFrame]) -> list[SectionData]:
    """The declared sections with their published tables (what the audit let through)."""
    out = []
    for s in SECTIONS:
        if available.get(s.name) is None:
            out.append(SectionData(s, [], False))
            continue
        shown: list[tuple[SectionTable, SiteTable]] = []
        for t in s.tables:
            if t.kind == "subgroup_effects":
                table = subgroup_effects(con, t)
            elif t.name in protected:
                table = _site_table(pub, t.name, section_columns(t))
            else:
                table = None
            if table is not None and table.rows:
                shown.append((t, table))
        out.append(SectionData(s, shown, True))
    return out


#: Model 9's published columns: no counts (a level left out would be the model's n minus the
#: others), the estimate with its interval and the subgroup's heterogeneity test.
SUBGROUP_COLUMNS = (Column("subgroup", "key", label="subgroup"), Column("level", "key", label="level"),
                    Column("estimate", "number", 2), *CI_COLUMNS, Column("p_heterogeneity", "p"))


def subgroup_effects(con, table: SectionTable) -> SiteTable | None:
    """Model 9's effects by subgroup (the "for whom" chart), only the levels with at least T
    treated and T comparison persons; None when the model's table is absent (a warehouse
    whose models did not write it)."""
    if not table_exists(con, "models.effect_by_subgroup"):
        return None
    df = query_sql(con, table.path, threshold=T, subgroups=list(SUBGROUPS))
    return SiteTable(table.name, SUBGROUP_COLUMNS,
                     [{c.name: csv_value(r[c.name], c) for c in SUBGROUP_COLUMNS} for _, r in df.iterrows()])


# --------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------
def read_site_data(con: duckdb.DuckDBPyConnection, history: list[Snapshot] | None = None,
                   cutoff: dt.date | None = None) -> SiteData:
    """Read, protect and gate every figure the site shows. `history`: the snapshots already
    published before this one (their past quarters and completed years are repeated as they
    were, and the audit includes what they showed). `cutoff`: the snapshot's cut-off (the
    costs section shows the years it completes); by default the latest run's, and with no
    run recorded every year counts as completed. Raises `DisclosureError` when the
    employment tables cannot be published safely (the audit refuses)."""
    if cutoff is None and table_exists(con, "audit.runs"):
        last = query_sql(con, QUERIES / "latest_run.sql")
        if len(last) and last.at[0, "cutoff"] is not None and not pd.isna(last.at[0, "cutoff"]):
            cutoff = pd.Timestamp(last.at[0, "cutoff"]).date()
    declared = section_frames(con)
    tables, specs, pub = _employment(con, history, cutoff, (declared[1], declared[2], declared[3]))
    scores, kind, score_spec, score_pub = _scores(con)
    if scores is not None and kind == "change" and history:
        scores = linked_scores(scores, history)
    readouts, curve = _time_to_first_job(con, history)
    transitions, transition_spec, transition_pub = _transitions(con)
    return SiteData(
        county=tables[COUNTY],
        groups={g: tables[group_table_name(g)] for g in GROUPINGS},
        quarterly=tables[QUARTERLY],
        fidelity=_fidelity(con),
        scores=scores, scores_kind=kind,
        ttf_readouts=readouts, ttf_curve=curve,
        models={m: _model_table(con, m) for m in PUBLIC_MODELS},
        specs=specs + declared[2] + [s for s in (score_spec, transition_spec) if s],
        publications=[pub] + [p for p in (score_pub, transition_pub) if p],
        costs=tables.get(COSTS_TABLE),
        cost_effectiveness=_cost_effectiveness(con),
        transitions=transitions,
        sections=section_tables(con, pub, declared[0], declared[1]),
    )


def person_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every study pseudonym the warehouse knows (clients and register persons, accepted or
    staged), for the site scan: a leaked id anywhere in the site is then found."""
    ids: set[str] = set()
    for table in ("staging.clients", "staging.register_population", "raw.clients", "raw.register_cohort"):
        if table_exists(con, table):
            ids.update(r[0] for r in con.execute(f"SELECT DISTINCT person_id FROM {table}").fetchall() if r[0])
    return ids


def by_key(table: SiteTable, **where: str) -> dict[str, str] | None:
    """The row of `table` whose key columns equal `where` (None when absent)."""
    return next((r for r in table.rows if all(r[k] == v for k, v in where.items())), None)


LabelFunction = Callable[[str, str], str]
Labels = Mapping[str, LabelFunction]
