"""Disclosure control: the one module every figure on the study's website goes through.

docs/analysis_plan.md ("Published figures (website): disclosure control") is the specification;
the rule numbers below are its rule numbers. `T` is `definitions.DISCLOSURE_THRESHOLD`.

Why a declarative description: the same people appear in the county table, the group tables
and the quarterly tables, so a small count hidden in one table can be recovered by
subtraction from another. The module can only prevent that if it knows how cells are
linked, so every published table is described by a `TableSpec` (which columns are counts,
rates, medians/means, and which linear relations hold between cells), and relations across
tables are declared as `links`. Declared relations are checked against the data (a wrong
declaration refuses publication, since the audit would then prove the wrong thing).

API
---
Describe the tables::

    outcomes = TableSpec(
        name="employment_outcomes", keys=("alue",),
        counts=("n_clients", "n_competitive", "n_unsubsidised", "n_jobs"),
        rates={"rate_competitive": ("n_competitive", "n_clients"),
               "rate_unsubsidised": ("n_unsubsidised", "n_clients")},
        summaries={"median_job_days": ("n_jobs", "n_competitive")},
        row_total="n_clients",
        relations=(RowsSum(by="alue", total="ALL"),
                   AtMost("n_unsubsidised", "n_competitive"),
                   AtMost("n_competitive", "n_jobs")),
    )
    by_wave = TableSpec(name="outcomes_by_wave", keys=("aalto",), counts=outcomes.counts,
                        rates=outcomes.rates, summaries=outcomes.summaries, row_total="n_clients",
                        relations=outcomes.relations[1:])

then protect and publish::

    pub = protect({"employment_outcomes": df, "outcomes_by_wave": df_wave}, [outcomes, by_wave],
                  links=[CrossSum(total="employment_outcomes", total_row={"alue": "ALL"},
                                  parts="outcomes_by_wave")])
    pub.published("employment_outcomes")   # what the website shows: numbers, "<5", ".."

`protect` = `primary_suppression` (rule 1) -> `complementary_suppression` (rule 2) ->
`audit` (rule 3, raises `DisclosureError`). Tables an earlier snapshot published are passed
too, described with `published_before=True`: their numbers are constants and their labels
unknowns with the labels' ranges, so the audit includes what a reader already has (rule 8).
Rule 4 is applied by `Publication.published` (and min/max columns are refused when the
table is described). Rule 5 is
`publishable_curve`, rule 6 `check_model_table`; the site scan is `site.scan.scan_site`.

Rows a table holds but the page never shows (`TableSpec.withheld_rows`: a year still running;
`superseded_rows`: current values of figures the page repeats as an earlier snapshot published
them) are suppressed from the start: a reader knows them only through the relations.

Labels (what a reader sees):
- `PRIMARY_LABEL` ("<5") for a count under T;
- `SECONDARY_LABEL` ("..") for a count of T or more hidden so that a small count cannot be
  derived. It is not shown as "<5" because that would publish a false figure;
- `HIDDEN_LABEL` ("..") for a rate, mean or median whose people are not publishable;
- `WITHHELD_LABEL` (":") for a count withheld as complementary suppression's last resort,
  where no label protects (`Publication.withheld`): it states nothing about the count's size.

The audit assumes what the page states: a "<5" cell is in 0..T-1, a ".." cell at least T.
A publication passes only if every "<5" cell keeps its whole range 0..T-1 and every ".."
cell a range at least T wide (rule 3).

Relations are linear (sum of coefficient x cell, == 0 or <= 0), cells are non-negative
integers; the relations between the study's figures come from the figure catalogue, `ips_eval.figures` (`within`
turns one into a constraint): `RowsSum`, `ColumnsSum`, `AtMost`, `RowLinear` within a table, `CrossSum` across
tables (with `by`, e.g. a county x wave table's rows of each county sum to that county's row;
with `parts_rows`/`sense="<="`, e.g. each quarter's n_served per county <= its n_clients). Rates are proportions (numerator a subset of the denominator): each declared rate
adds the relation numerator <= denominator.
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.optimize import Bounds, LinearConstraint, milp
# HiGHS' own Python interface (scipy's `linprog` wraps the same solver but builds the problem
# anew for every call): one model per component, re-solved with a new objective, goes on from
# the previous optimal basis (`_LinearProgramme`)
import highspy as _highs

from ips_eval.definitions import DISCLOSURE_THRESHOLD
from ips_eval.figures import ALL, Within

T = DISCLOSURE_THRESHOLD
PRIMARY_LABEL = f"<{T}"
SECONDARY_LABEL = ".."
HIDDEN_LABEL = ".."
#: A count the page withholds (`Publication.withheld`): the last resort of complementary
#: suppression, when labels cannot protect a cell. It states nothing about the count's size
#: (`<5` says "under T", `..` "at least T"; this neither).
WITHHELD_LABEL = ":"

#: Rule 6: fewest residual degrees of freedom for a publishable model table (SACRO/ACRO).
MIN_RESIDUAL_DF = 10
#: Rule 5: numbers at risk are rounded to the nearest multiple of this. The plan says
#: "rounded to 5", which is T today; if T ever changes, decide whether this follows it
#: (it belongs in definitions.py beside T).
AT_RISK_ROUNDING = DISCLOSURE_THRESHOLD

#: A declared rate must equal numerator / denominator to within this (display rounding).
RATE_TOLERANCE = 0.005

#: Column names that look like a minimum or maximum (rule 4: never published).
_EXTREMUM_NAME = re.compile(r"(^|_)(min|max|minimum|maximum)(_|$)", re.IGNORECASE)

#: A cell: (table name, row key tuple, column).
Cell = tuple[str, tuple, str]


class DisclosureError(Exception):
    """Publication refused. Names the table, row and column; never a person or a small value."""

    def __init__(self, message: str, *, table: str | None = None, row: str | None = None,
                 column: str | None = None):
        super().__init__(message)
        self.table, self.row, self.column = table, row, column


# --------------------------------------------------------------------------------------
# Relations. Each yields constraints (coefficients by cell, sense, description).
# --------------------------------------------------------------------------------------
_Constraint = tuple[dict, str, str]


@dataclass(frozen=True)
class RowsSum:
    """Within a table: the rows whose `by` key is not `total` add up to the `total` row,
    column by column, separately for each value of the table's other keys (e.g. counties
    to `ALL` per quarter). `columns` defaults to every count column."""

    by: str
    total: Any = "ALL"
    columns: tuple[str, ...] | None = None

    def constraints(self, tables: Mapping[str, "_Table"], table: str) -> Iterator[_Constraint]:
        t = tables[table]
        t.require_keys([self.by])
        i = t.spec.keys.index(self.by)
        groups: dict[tuple, list[tuple]] = {}
        for row in t.rows:
            groups.setdefault(row[:i] + row[i + 1:], []).append(row)
        for rows in groups.values():
            totals = [r for r in rows if r[i] == self.total]
            if len(totals) != 1:
                raise DisclosureError(f"{table}: RowsSum({self.by!r}) expects one {self.total!r} row "
                                      f"per group, found {len(totals)}", table=table)
            for col in self.columns or t.spec.counts:
                coefs = {(table, r, col): 1.0 for r in rows if r[i] != self.total}
                coefs[(table, totals[0], col)] = -1.0
                yield coefs, "==", f"{table}: rows of {self.by} sum to {self.total} ({col})"


@dataclass(frozen=True)
class ColumnsSum:
    """Within every row of a table: the `parts` columns add up to the `total` column."""

    total: str
    parts: tuple[str, ...]

    def constraints(self, tables: Mapping[str, "_Table"], table: str) -> Iterator[_Constraint]:
        for row in tables[table].rows:
            coefs = {(table, row, c): 1.0 for c in self.parts}
            coefs[(table, row, self.total)] = -1.0
            yield coefs, "==", f"{table}: {' + '.join(self.parts)} = {self.total}"


@dataclass(frozen=True)
class AtMost:
    """Within every row of a table: `small` <= `large` (e.g. n_unsubsidised <= n_competitive)."""

    small: str
    large: str

    def constraints(self, tables: Mapping[str, "_Table"], table: str) -> Iterator[_Constraint]:
        for row in tables[table].rows:
            yield ({(table, row, self.small): 1.0, (table, row, self.large): -1.0}, "<=",
                   f"{table}: {self.small} <= {self.large}")


@dataclass(frozen=True)
class RowLinear:
    """Within every row of a table: sum of coefficient x column `sense` 0, for relations the
    others do not say, e.g. n_competitive + n_other_activity - n_clients <= 0."""

    coefficients: Mapping[str, float]
    sense: str = "<="

    def constraints(self, tables: Mapping[str, "_Table"], table: str) -> Iterator[_Constraint]:
        if self.sense not in ("==", "<="):
            raise ValueError(f"RowLinear sense must be '==' or '<=', not {self.sense!r}")
        what = " + ".join(f"{a:g}*{c}" for c, a in self.coefficients.items())
        for row in tables[table].rows:
            yield ({(table, row, c): float(a) for c, a in self.coefficients.items()}, self.sense,
                   f"{table}: {what} {self.sense} 0")


@dataclass(frozen=True)
class CrossSum:
    """Across tables: the rows of `parts` selected by `parts_rows` add up to the one row of
    `total` selected by `total_row` (sense "==", or "<=" for "at most"), column by column.
    `columns` maps parts column -> total column (a sequence means the same names); default:
    the count columns both tables have. With `by` (keys of both tables), one relation per
    value of `by`: e.g. a county x wave table whose rows of each county sum to that county's
    row of the county table."""

    total: str
    parts: str
    total_row: Mapping[str, Any] = field(default_factory=dict)
    parts_rows: Mapping[str, Any] = field(default_factory=dict)
    columns: Mapping[str, str] | Sequence[str] | None = None
    by: tuple[str, ...] = ()
    sense: str = "=="

    def constraints(self, tables: Mapping[str, "_Table"], table: str | None = None) -> Iterator[_Constraint]:
        if self.sense not in ("==", "<="):
            raise ValueError(f"CrossSum sense must be '==' or '<=', not {self.sense!r}")
        for name in (self.total, self.parts):
            if name not in tables:
                raise DisclosureError(f"link {self.total} <- {self.parts}: no table {name!r}", table=name)
        tot, par = tables[self.total], tables[self.parts]
        tot.require_keys(self.by)
        par.require_keys(self.by)
        if self.columns is None:
            cols = {c: c for c in par.spec.counts if c in tot.spec.counts}
        elif isinstance(self.columns, Mapping):
            cols = dict(self.columns)
        else:
            cols = {c: c for c in self.columns}
        for pc, tc in cols.items():
            if pc not in par.spec.counts or tc not in tot.spec.counts:
                raise DisclosureError(f"link {self.total} <- {self.parts}: {pc}/{tc} is not a count column",
                                      table=self.parts, column=pc)
        part_rows = par.grouped(par.select(self.parts_rows), self.by)
        by_values = sorted(part_rows, key=repr) if self.by else [()]
        # the total rows of each value of `by` (a key of both in `total_row` too: `by` decides)
        total_rows = tot.grouped(tot.select({k: v for k, v in self.total_row.items() if k not in self.by}),
                                 self.by)
        for bv in by_values:
            where = dict(zip(self.by, bv))
            totals = total_rows.get(bv, [])
            if len(totals) != 1:
                raise DisclosureError(f"link {self.total} <- {self.parts}: expected one total row for "
                                      f"{ {**self.total_row, **where} }, found {len(totals)}", table=self.total)
            rows = part_rows.get(bv, [])
            for pc, tc in cols.items():
                coefs = {(self.parts, r, pc): 1.0 for r in rows}
                coefs[(self.total, totals[0], tc)] = coefs.get((self.total, totals[0], tc), 0.0) - 1.0
                yield coefs, self.sense, f"{self.parts} rows sum {self.sense} {self.total} {where or ''} ({pc})"


@dataclass(frozen=True)
class CrossLinear:
    """Across tables, one row of each: sum of coefficient x cell `sense` 0. `terms` are
    (table, column, coefficient); each table's row is the one whose keys equal `rows` (e.g.
    ``{"alue": "Kainuu"}``). For what a reader deduces across snapshots, e.g. in a cohort
    closed to new starters a count falls at most by the withdrawals
    (`ips_eval.figures.reader.monotone_holds`).

    Examples
    --------
    >>> rel = CrossLinear((("old", "n", 1.0), ("new", "n", -1.0)), {"alue": "A"})
    >>> rel.sense, len(rel.terms)
    ('<=', 2)
    """

    terms: tuple[tuple[str, str, float], ...]
    rows: Mapping[str, Any]
    sense: str = "<="
    what: str = "a relation across tables"

    def constraints(self, tables: Mapping[str, "_Table"], table: str | None = None) -> Iterator[_Constraint]:
        if self.sense not in ("==", "<="):
            raise ValueError(f"CrossLinear sense must be '==' or '<=', not {self.sense!r}")
        coefs: dict = {}
        for name, column, a in self.terms:
            if name not in tables:
                raise DisclosureError(f"{self.what}: no table {name!r}", table=name)
            found = tables[name].select(self.rows)
            if len(found) != 1:
                raise DisclosureError(f"{self.what}: expected one row {dict(self.rows)} in {name}, found {len(found)}",
                                      table=name)
            cell = (name, found[0], column)
            coefs[cell] = coefs.get(cell, 0.0) + float(a)
        yield coefs, self.sense, f"{self.what} {dict(self.rows)}"


Relation = RowsSum | ColumnsSum | AtMost | RowLinear | CrossSum


# --------------------------------------------------------------------------------------
# Table descriptions
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableSpec:
    """What a published table is made of. Every non-key column must be declared:

    - `counts`: counts of people or jobs (suppressed under T, rule 1);
    - `rates`: column -> (numerator, denominator), both count columns of this table;
    - `summaries`: means/medians, column -> the count columns of the people (or jobs)
      behind them; shown only where all of those are published (rule 4);
    - `extrema`: minima/maxima. Declaring one refuses the table (rule 4) - the field exists
      so that a generator that wants one gets a clear refusal rather than a silent drop;
    - `as_is`: columns published as they are, not about people (rule 7: fidelity scores);
    - `row_total`: the count that is the row's total (e.g. n_clients): a row whose total is
      under T is suppressed whole (rule 2);
    - `relations`: linear relations within the table (RowsSum, ColumnsSum, AtMost, RowLinear).

    Every category must have its row, zeros included: a missing row would publish a zero.
    """

    name: str
    keys: tuple[str, ...]
    counts: tuple[str, ...]
    rates: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    summaries: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    extrema: tuple[str, ...] = ()
    as_is: tuple[str, ...] = ()
    row_total: str | None = None
    relations: tuple[Relation, ...] = ()
    #: What hiding one of this table's cells costs readers (complementary suppression hides
    #: the cheapest cells that protect); a row of all areas (`ALL`) and the `row_total`
    #: column cost more still (`cell_cost`).
    cost: float = 1.0
    #: A table already published (an earlier snapshot, or figures frozen as first
    #: published): its count cells are numbers or the labels a reader saw, never changed.
    published_before: bool = False
    #: False for a table whose counts the page does not show, only figures derived from
    #: them (a cost per client: cost / count, so a shown figure gives its count away, and a
    #: hidden one shows `..` whatever the count): a reader then knows a hidden count only as a
    #: whole number >= 0, not the range a `<T` or `..` label would state. The audit's
    #: requirement is the same (a count under T keeps 0..T-1, another a range at least T wide).
    labels_shown: bool = True
    #: Rows the page does not show at all, by key value (e.g. ``{"vuosi": frozenset({"2025"})}``
    #: for the costs of a year still running): their counts are unknowns to a reader, whole
    #: numbers >= 0, linked by the relations. One under T must keep 0..T-1; a larger one needs
    #: no range (it hides nothing, and the count it would give is publishable).
    withheld_rows: Mapping[str, frozenset] = field(default_factory=dict)
    #: Rows whose current values the page does not show because it repeats what an earlier
    #: snapshot published for them (rule 8): hidden like any suppressed count (a count under T
    #: keeps 0..T-1, a larger one a range at least T wide), so that the current value, and with
    #: it the revision since the figure was first published, cannot be worked out.
    superseded_rows: Mapping[str, frozenset] = field(default_factory=dict)
    #: Rows (key tuples) whose counts a reader knows to be 0 from the study's structure
    #: (`ips_eval.figures.reader.structural_zero_quarters`): shown `<5` like any count under T
    #: (rule 1), but constants of the audit, never a protection of another cell.
    known_zero_rows: frozenset = frozenset()
    #: Cells (row key tuple, column) hidden whatever their size because the linked-release
    #: rule (rule 8) holds them back: a count that changed by 1..T-1 since an earlier snapshot
    #: published it. Shown `..` (or `<5` when under T) and protected like a suppressed count.
    held_back: frozenset = frozenset()
    #: Counts of people defined by their start date alone (`ips_eval.figures.reader.BY_START_DATE`):
    #: one of 0, and a count within it, tells of no one (nobody started long enough ago, which
    #: the public start dates and the calendar tell), so a reader may work it out.
    by_start_date: tuple[str, ...] = ()


def within(w: Within) -> "RowLinear":
    """A relation of `ips_eval.figures` (sum of parts <= or == whole, in every row) as a constraint.

    Examples
    --------
    >>> from ips_eval.figures import Within
    >>> within(Within(("n_working",), "n_served")).coefficients
    {'n_working': 1.0, 'n_served': -1.0}
    """
    coefs: dict[str, float] = {p: 1.0 for p in w.parts}
    coefs[w.whole] = coefs.get(w.whole, 0.0) - 1.0
    return RowLinear(coefs, w.sense)


def _matches(value: Any, wanted: Any) -> bool:
    """A key value against a selection: equal, or a member when the selection is a set."""
    return value in wanted if isinstance(wanted, (set, frozenset)) else value == wanted


@dataclass
class _Table:
    spec: TableSpec
    frame: pd.DataFrame
    rows: list[tuple]

    @classmethod
    def of(cls, spec: TableSpec, df: pd.DataFrame) -> "_Table":
        name = spec.name
        if spec.extrema:
            raise DisclosureError(f"{name}: minima and maxima are never published ({', '.join(spec.extrema)})",
                                  table=name, column=spec.extrema[0])
        declared = [*spec.counts, *spec.rates, *spec.summaries, *spec.as_is]
        for col in declared:
            if _EXTREMUM_NAME.search(col):
                raise DisclosureError(f"{name}: column {col!r} looks like a minimum or maximum; "
                                      "those are never published", table=name, column=col)
        if len(set(declared)) != len(declared) or set(declared) & set(spec.keys):
            raise DisclosureError(f"{name}: a column is declared twice", table=name)
        missing = [c for c in [*spec.keys, *declared] if c not in df.columns]
        if missing:
            raise DisclosureError(f"{name}: declared columns missing from the table: {missing}", table=name)
        undeclared = [c for c in df.columns if c not in declared and c not in spec.keys]
        if undeclared:
            raise DisclosureError(f"{name}: undeclared columns {undeclared}; every published column must be "
                                  "declared as a count, rate, summary or as_is", table=name, column=undeclared[0])
        for col, pair in spec.rates.items():
            if len(pair) != 2 or any(c not in spec.counts for c in pair):
                raise DisclosureError(f"{name}: rate {col!r} needs (numerator, denominator) count columns",
                                      table=name, column=col)
            if spec.published_before:
                continue
            # a rate that is not its numerator / denominator (to display rounding) is described wrongly
            num, den = (pd.to_numeric(df[c], errors="coerce") for c in pair)
            shown = pd.to_numeric(df[col], errors="coerce")
            off = (den > 0) & ~((shown - num / den.where(den > 0)).abs() <= RATE_TOLERANCE)
            if off.any():
                raise DisclosureError(f"{name}: rate {col!r} is not {pair[0]} / {pair[1]}", table=name, column=col)
        for col, behind in spec.summaries.items():
            if not behind or any(c not in spec.counts for c in behind):
                raise DisclosureError(f"{name}: summary {col!r} needs the count columns behind it",
                                      table=name, column=col)
        if spec.row_total is not None and spec.row_total not in spec.counts:
            raise DisclosureError(f"{name}: row_total {spec.row_total!r} is not a count column", table=name)
        if df.duplicated(list(spec.keys)).any():
            raise DisclosureError(f"{name}: key {spec.keys} is not unique", table=name)
        # every count column at once: one conversion per table, not one per column
        raw = df[list(spec.counts)].to_numpy(object)
        v = pd.to_numeric(pd.Series(raw.ravel(), dtype=object), errors="coerce").to_numpy(float).reshape(raw.shape)
        with np.errstate(invalid="ignore"):
            bad = np.isnan(v) | (v < 0) | (v != np.floor(v))
        if spec.published_before:  # a label a reader saw stands for an unknown
            bad &= ~np.isin(raw.astype(str), [PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL])
        if bad.any():
            col = spec.counts[int(np.flatnonzero(bad.any(axis=0))[0])]
            raise DisclosureError(f"{name}: count column {col!r} must hold non-negative whole numbers",
                                  table=name, column=col)
        frame = df.reset_index(drop=True)
        rows = [tuple(r) for r in frame[list(spec.keys)].itertuples(index=False, name=None)]
        return cls(spec, frame, rows)

    def require_keys(self, keys: Iterable[str]) -> None:
        bad = [k for k in keys if k not in self.spec.keys]
        if bad:
            raise DisclosureError(f"{self.spec.name}: {bad} are not keys of the table", table=self.spec.name)

    def key_values(self, row: tuple, keys: Sequence[str]) -> tuple:
        return tuple(row[self.spec.keys.index(k)] for k in keys)

    def select(self, where: Mapping[str, Any]) -> list[tuple]:
        self.require_keys(where)
        at = [(self.spec.keys.index(k), w) for k, w in where.items()]
        return [r for r in self.rows if all(_matches(r[i], w) for i, w in at)]

    def grouped(self, rows: Iterable[tuple], keys: Sequence[str]) -> dict[tuple, list[tuple]]:
        """`rows` by their values of `keys`, each group in the order of `rows`."""
        at = [self.spec.keys.index(k) for k in keys]
        groups: dict[tuple, list[tuple]] = {}
        for r in rows:
            groups.setdefault(tuple(r[i] for i in at), []).append(r)
        return groups

    def describe(self, row: tuple) -> str:
        return ", ".join(f"{k}={v}" for k, v in zip(self.spec.keys, row))


@dataclass
class _Model:
    """All count cells of all tables, their values, and the linear constraints between them.

    Cells of tables published before are `fixed`: their published numbers are constants,
    and a cell a reader saw as a label is an unknown with the label's range (`given`), its
    true value not needed (None in `value`)."""

    tables: dict[str, _Table]
    cells: list[Cell]
    value: dict[Cell, float | None]
    order: dict[Cell, int]
    constraints: list[_Constraint]
    of_cell: dict[Cell, list[int]]
    fixed: frozenset = frozenset()
    given: dict[Cell, str] = field(default_factory=dict)
    cost: dict[Cell, float] = field(default_factory=dict)
    #: Cells of rows the page never shows (`TableSpec.withheld_rows`, `superseded_rows`).
    withheld: frozenset = frozenset()
    superseded: frozenset = frozenset()
    #: Cells complementary suppression withheld as a last resort (`_coarser`): also in
    #: `withheld` (no range stated), shown as `WITHHELD_LABEL`.
    dropped: frozenset = frozenset()
    #: Cells a reader knows to be 0 (`TableSpec.known_zero_rows`): constants of the audit.
    structural: frozenset = frozenset()
    #: Cells of earlier snapshots in rows of structural zeros: unknowns that may be pinned to 0.
    zero_before: frozenset = frozenset()
    #: The relations as matrices (`_relations`), built when first needed.
    incidence: Any = field(default=None, repr=False, compare=False)
    #: What the search asks of every cell again and again, by `_label` and `_cell_arrays`:
    #: built when first needed, anew for a model with other cells withheld (`_withholding`).
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def where(self, cell: Cell) -> str:
        table, row, col = cell
        return f"table {table}, row {self.tables[table].describe(row)}, column {col}"


def cell_cost(spec: TableSpec, row: tuple, column: str) -> float:
    """What hiding a cell costs: the table's `cost`, x100 in a row of all areas (`ALL`),
    x10 in the `row_total` column. The totals readers look for first are the dearest;
    small-area cells the cheapest.

    Examples
    --------
    >>> spec = TableSpec(name="t", keys=("alue",), counts=("n_clients", "n_working"), row_total="n_clients")
    >>> cell_cost(spec, ("Kainuu",), "n_working"), cell_cost(spec, ("ALL",), "n_clients")
    (1.0, 1000.0)
    """
    c = spec.cost
    if ALL in row:
        c *= 100
    if column == spec.row_total:
        c *= 10
    return c


def _build(tables: Mapping[str, pd.DataFrame], specs: Sequence[TableSpec], links: Sequence[CrossSum]) -> _Model:
    specs_by = {s.name: s for s in specs}
    if len(specs_by) != len(specs):
        raise DisclosureError("two table descriptions share a name")
    if set(tables) != set(specs_by):
        raise DisclosureError(f"tables {sorted(tables)} do not match descriptions {sorted(specs_by)}")
    ts = {name: _Table.of(specs_by[name], df) for name, df in tables.items()}
    cells, value, given, fixed, cost = [], {}, {}, set(), {}
    withheld, superseded, structural, zero_before = set(), set(), set(), set()
    # a withheld count states nothing about its size: either reading, no range from the page
    labels = {PRIMARY_LABEL: "primary", SECONDARY_LABEL: "secondary", WITHHELD_LABEL: "hidden"}
    for name, t in ts.items():
        column = {col: t.frame[col].tolist() for col in t.spec.counts}
        for i, row in enumerate(t.rows):
            not_shown = {kind: bool(rows) and all(_matches(v, rows[k]) if k in rows else True
                                                  for k, v in zip(t.spec.keys, row))
                         for kind, rows in (("withheld", t.spec.withheld_rows),
                                            ("superseded", t.spec.superseded_rows))}
            for col in t.spec.counts:
                cell = (name, row, col)
                cells.append(cell)
                raw = column[col][i]
                if not_shown["withheld"]:
                    withheld.add(cell)
                elif not_shown["superseded"]:
                    superseded.add(cell)
                if row in t.spec.known_zero_rows and t.spec.published_before:
                    # shown earlier as `<5`: an unknown of 0..T-1 here (the warehouse may have
                    # changed since), which a reader may pin to 0 without learning of anyone
                    zero_before.add(cell)
                elif row in t.spec.known_zero_rows:
                    if not (isinstance(raw, str) and raw == PRIMARY_LABEL) and float(raw) != 0:
                        raise DisclosureError(f"{m_where(name, t, row, col)}: declared a structural zero but "
                                              f"holds {raw}", table=name, column=col)
                    structural.add(cell)
                    value[cell] = 0.0
                    cost[cell] = cell_cost(t.spec, row, col)
                    if t.spec.published_before:
                        fixed.add(cell)
                    continue
                if t.spec.published_before:
                    fixed.add(cell)
                    if isinstance(raw, str) and raw in labels:
                        # a hidden figure of a table whose counts the page never states does not
                        # say whether its count is under T
                        given[cell] = labels[raw] if t.spec.labels_shown else "hidden"
                        value[cell] = None
                        continue
                value[cell] = float(raw)
                cost[cell] = cell_cost(t.spec, row, col)
    constraints: list[_Constraint] = []
    for name, t in ts.items():
        rate_relations = [AtMost(num, den) for num, den in t.spec.rates.values()]
        for rel in [*t.spec.relations, *rate_relations]:
            constraints.extend(rel.constraints(ts, name))
    for link in links:
        constraints.extend(link.constraints(ts))
    of_cell: dict[Cell, list[int]] = {c: [] for c in cells}
    for i, (coefs, sense, what) in enumerate(constraints):
        unknown = [c for c in coefs if c not in value]
        if unknown:
            raise DisclosureError(f"relation '{what}' refers to a cell that is not a count: {unknown[0][2]}",
                                  table=unknown[0][0], column=unknown[0][2])
        if all(value[c] is not None for c in coefs):
            lhs = sum(a * value[c] for c, a in coefs.items())
            if (sense == "==" and abs(lhs) > 1e-9) or (sense == "<=" and lhs > 1e-9):
                raise DisclosureError(f"declared relation '{what}' does not hold in the data; "
                                      "the audit cannot prove anything about a wrong description")
        for c in coefs:
            of_cell[c].append(i)
    return _Model(ts, cells, value, {c: i for i, c in enumerate(cells)}, constraints, of_cell,
                  frozenset(fixed), given, cost, frozenset(withheld), frozenset(superseded),
                  structural=frozenset(structural), zero_before=frozenset(zero_before))


def m_where(name: str, t: "_Table", row: tuple, col: str) -> str:
    return f"table {name}, row {t.describe(row)}, column {col}"


# --------------------------------------------------------------------------------------
# The publication: which cells are suppressed, and what the website shows
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellRange:
    """What a reader can work out about a suppressed cell: `low` <= value <= `high`."""

    table: str
    row: str
    column: str
    low: float
    high: float
    label: str = "secondary"  # what the page shows: 'primary' (<T) or 'secondary' (..)

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def ok(self) -> bool:
        """Rule 3: a `<T` cell keeps its whole range 0..T-1, a `..` cell a range at least T wide."""
        return _wide_enough(self.label, self.low, self.high)


def _wide_enough(label: str, low: float, high: float) -> bool:
    if label in ("withheld", "empty"):  # a count of T or more, or of nobody, the page does not show: it hides no one
        return True
    if label == "hidden":  # either reading of a hidden count whose size the page does not state
        return _wide_enough("primary", low, high) or _wide_enough("secondary", low, high)
    if label == "primary":
        return low <= 1e-6 and high >= T - 1 - 1e-6
    return high - low >= T - 1e-6


@dataclass(frozen=True)
class Publication:
    """Tables with their suppression pattern. `published()` works only after `audit`."""

    model: _Model = field(repr=False)
    suppressed: frozenset
    ranges: tuple[CellRange, ...] | None = None
    #: Consistent tables the suppression search found (`_Witnesses`): the audit starts from them.
    witnesses: Any = field(default=None, repr=False, compare=False)

    @property
    def audited(self) -> bool:
        return self.ranges is not None

    def withheld(self) -> dict[str, tuple[str, ...]]:
        """Table -> the count columns with a cell withheld (`WITHHELD_LABEL`): what the page
        notes as not shown because labels could not protect it."""
        out: dict[str, set[str]] = {}
        for table, _, column in self.model.dropped:
            out.setdefault(table, set()).add(column)
        return {t: tuple(c for c in self.model.tables[t].spec.counts if c in cols) for t, cols in sorted(out.items())}

    def is_suppressed(self, table: str, row: Mapping[str, Any], column: str) -> bool:
        t = self.model.tables[table]
        [r] = t.select(row)
        return (table, r, column) in self.suppressed

    def status(self, table: str) -> pd.DataFrame:
        """Per cell: 'published', 'primary' (count under T), 'secondary' (count hidden to
        protect another), 'withheld' (a count withheld as the last resort of complementary
        suppression), 'hidden' (rate/summary whose people are not publishable)."""
        t = self.model.tables[table]
        out = pd.DataFrame(index=t.frame.index, columns=t.frame.columns, dtype=object)
        out[list(t.spec.keys)] = t.frame[list(t.spec.keys)]
        for i, row in enumerate(t.rows):
            hidden = {c for c in t.spec.counts if (table, row, c) in self.suppressed}
            for c in t.spec.counts:
                cell = (table, row, c)
                out.at[i, c] = ("published" if c not in hidden else "withheld" if cell in self.model.dropped
                                else "primary" if self.model.value[cell] < T else "secondary")
            for c, pair in [*t.spec.rates.items(), *t.spec.summaries.items()]:
                out.at[i, c] = "hidden" if hidden & set(pair) else "published"
            for c in t.spec.as_is:
                out.at[i, c] = "published"
        return out

    def published(self, table: str) -> pd.DataFrame:
        """The table as the website shows it: numbers, `PRIMARY_LABEL`, `SECONDARY_LABEL`,
        `WITHHELD_LABEL`, `HIDDEN_LABEL`. Refused unless the publication passed `audit`."""
        if not self.audited:
            raise DisclosureError(f"{table}: not audited; run audit() (or protect()) first", table=table)
        t = self.model.tables[table]
        status = self.status(table)
        out = t.frame.astype(object).copy()
        labels = {"primary": PRIMARY_LABEL, "secondary": SECONDARY_LABEL, "hidden": HIDDEN_LABEL,
                  "withheld": WITHHELD_LABEL}
        for c in [*t.spec.counts, *t.spec.rates, *t.spec.summaries]:
            for i in out.index:
                s = status.at[i, c]
                if s in labels:
                    out.at[i, c] = labels[s]
                elif c in t.spec.counts:
                    out.at[i, c] = int(t.frame.at[i, c])
        return out


# --------------------------------------------------------------------------------------
# Rules 1-3
# --------------------------------------------------------------------------------------
def primary_suppression(tables: Mapping[str, pd.DataFrame], specs: Sequence[TableSpec],
                        links: Sequence[CrossSum] = ()) -> Publication:
    """Rule 1: every count under T, zero included, is suppressed, and so is the numerator of
    a rate whose complement (denominator minus numerator: 40 clients, 37 employed, 3 not) is
    a count under T other than 0 (shown as `..`: it is at least T). Validates the
    descriptions and checks every declared relation against the data. Tables described as
    `published_before` are what a reader already has: never suppressed again, only known.

    Examples
    --------
    >>> spec = TableSpec(name="t", keys=("alue",), counts=("n_clients", "n_employed"),
    ...                  rates={"rate_employed": ("n_employed", "n_clients")})
    >>> df = pd.DataFrame({"alue": ["A"], "n_clients": [40], "n_employed": [37], "rate_employed": [37 / 40]})
    >>> sorted(c[2] for c in primary_suppression({"t": df}, [spec]).suppressed)
    ['n_employed']
    """
    model = _build(tables, specs, links)
    small = {c for c in model.cells if c not in model.fixed and model.value[c] < T}
    for name, t in model.tables.items():
        if t.spec.published_before:
            continue
        for num, den in t.spec.rates.values():
            for row in t.rows:
                gap = model.value[(name, row, den)] - model.value[(name, row, num)]
                if 0 < gap < T:
                    small.add((name, row, num))
        # the same for every nesting (part <= whole: those with a job without pay subsidy
        # among those with a job, the 12-month eligible among the 6-month eligible): their
        # difference is a count of people too (rule 4's complement)
        for rel in t.spec.relations:
            if isinstance(rel, RowLinear) and rel.sense == "<=" and sorted(rel.coefficients.values()) == [-1.0, 1.0]:
                part, whole = sorted(rel.coefficients, key=rel.coefficients.__getitem__, reverse=True)
                for row in t.rows:
                    gap = model.value[(name, row, whole)] - model.value[(name, row, part)]
                    if 0 < gap < T:
                        small.add((name, row, part))
        small |= {(name, row, col) for row in t.rows for col in t.spec.counts if (row, col) in t.spec.held_back}
    return Publication(model, frozenset(small) | model.withheld | model.superseded)


#: `_label`s as numbers, for many cells at once (`_cell_arrays`, `_wide`).
_PRIMARY, _SECONDARY, _HIDDEN, _WITHHELD, _EMPTY = range(5)
_LABEL_CODES = {"primary": _PRIMARY, "secondary": _SECONDARY, "hidden": _HIDDEN, "withheld": _WITHHELD,
                "empty": _EMPTY}


@dataclass(frozen=True)
class _CellArrays:
    """Per cell of a model (by `_Model.order`): its `_label` as a code, whether the page states
    its label's range, its value (0 for a label of an earlier snapshot: those are unknowns
    wherever they are used), and whether it is a structural zero."""

    label: np.ndarray
    stated: np.ndarray
    value: np.ndarray
    structural: np.ndarray


def _cell_arrays(m: _Model) -> _CellArrays:
    arrays = m.memo.get("arrays")
    if arrays is None:
        arrays = m.memo["arrays"] = _CellArrays(
            label=np.array([_LABEL_CODES[_label(m, c)] for c in m.cells], np.int8),
            stated=np.array([m.tables[c[0]].spec.labels_shown and c not in m.withheld and c not in m.superseded
                             and m.given.get(c) != "hidden" for c in m.cells], bool),
            value=np.array([0.0 if m.value[c] is None else m.value[c] for c in m.cells]),
            structural=np.array([c in m.structural for c in m.cells], bool))
    return arrays


def _wide(codes: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """`_wide_enough` for many cells at once, their labels as codes (`_cell_arrays`)."""
    primary = (low <= 1e-6) & (high >= T - 1 - 1e-6)
    with np.errstate(invalid="ignore"):  # inf - inf: a cell no table has given a value yet
        secondary = high - low >= T - 1e-6
    return np.select([codes == _PRIMARY, codes == _SECONDARY, codes == _HIDDEN],
                     [primary, secondary, primary | secondary], True)


def _fine(m: _Model, c: Cell, lo: float, hi: float, ranges: Mapping[Cell, tuple[float, float]]) -> bool:
    """Rule 3 for one unknown cell, with the one case its label alone cannot judge: a count of
    an earlier snapshot's table whose counts the page never states, worked out to be 0 in a row
    whose base count (who started) is worked out to be 0 too, tells of no one (nobody started
    in that county and year)."""
    if _wide_enough(_label(m, c), lo, hi):
        return True
    if _fails_alone(m, c, lo, hi):
        return False
    base = (c[0], c[1], m.tables[c[0]].spec.counts[0])
    return base == c or (base in ranges and ranges[base][1] <= 1e-6) or m.value.get(base) == 0


def _fails_alone(m: _Model, c: Cell, lo: float, hi: float) -> bool:
    """Whether `c` fails rule 3 with the range lo..hi whatever the other cells' ranges: too
    narrow, and not the case of `_fine` that looks at another cell (a count never stated,
    worked out to be 0)."""
    label = _label(m, c)
    return not _wide_enough(label, lo, hi) and (label != "hidden" or m.tables[c[0]].spec.labels_shown or hi > 1e-6)


def _label(m: _Model, c: Cell) -> str:
    """What the page states about an unknown cell ('primary', 'secondary', 'hidden',
    'withheld', 'empty'), as `_wide_enough` reads it; looked up once per cell and model."""
    labels = m.memo.setdefault("label", {})
    label = labels.get(c)
    if label is None:
        label = labels[c] = _label_of(m, c)
    return label


def _label_of(m: _Model, c: Cell) -> str:
    if c in m.zero_before:
        return "empty"
    if c in m.given:
        return m.given[c]
    if m.value[c] == 0 and c not in m.dropped:
        # a row with nobody in it (its total is 0: nobody started in the county that year, or
        # was served that quarter): a reader who works out that nobody is there learns of no
        # one (the zero complement rule 4 publishes, e.g. n_clients = n_employed6_eligible)
        spec = m.tables[c[0]].spec
        total = spec.row_total or (spec.counts[0] if not spec.labels_shown else None)
        if total is not None and m.value.get((c[0], c[1], total)) == 0:
            return "empty"
        # a count of people defined by their start date alone (nobody started long enough
        # ago: the public start dates and the calendar tell it), and a count within one of 0
        if c[2] in spec.by_start_date:
            return "empty"
        for rel in spec.relations:
            if isinstance(rel, RowLinear) and rel.sense == "<=" and rel.coefficients.get(c[2]) == 1.0:
                wholes = [w for w, a in rel.coefficients.items() if a == -1.0]
                if len(rel.coefficients) == 2 and wholes and wholes[0] in spec.by_start_date \
                        and m.value.get((c[0], c[1], wholes[0])) == 0:
                    return "empty"
    if m.value[c] < T:
        return "primary"
    return "withheld" if c in m.withheld else "secondary"


def complementary_suppression(pub: Publication, *, integer: bool = True) -> Publication:
    """Rule 2: hide more cells, the cheapest first, until the audit (rule 3) passes.

    1. a row whose `row_total` is under T is suppressed whole;
    2. an equality relation (a "line": a margin, an ALL row, a cross-table sum) with
       exactly one suppressed cell gets a second, its cheapest published cell;
    3. the audit is run; for each cell it finds too narrow, the cheapest published cell
       sharing an equality with it is hidden (else one sharing any relation, else one
       further along the chain of hidden cells); back to 2 until the audit passes;
    4. then the dear cells hidden on the way (a row of all areas, a row total) are tried
       one by one, dearest first: a cell the audit passes without is published again.

    "Cheapest" is `cell_cost` (county cells before group cells before ALL rows and row
    totals); among equally cheap cells, one of at least 2T before a smaller one (a `..`
    cell is known to be >= T, so a partner under 2T rarely protects anything), then the
    smallest; a cell equal to a published cell of another table (the same figure twice)
    only when nothing else is left, since hiding it alone protects nothing. The partner is
    looked for among the cells sharing a relation with the failing cell and up to
    `_PARTNER_HOPS` relations further along the chain of hidden cells.
    5. When no such partner is left, coarser cells (`_coarser`): the failing cell's whole row,
       then its whole column, then the column withheld (`WITHHELD_LABEL`: the page states
       nothing about its counts, so a reader knows them only through the relations), then its
       whole table withheld. A cell of an earlier snapshot cannot change: the ladder is then
       climbed for the current cells linked to it.

    Every round hides or withholds at least one cell, so the search ends. It never raises for
    want of a partner: if a cell is still too narrow with everything the ladder offers, the
    audit (`audit`, run by `protect`) refuses the publication and names the cell.

    Examples
    --------
    >>> spec = TableSpec(name="t", keys=("g",), counts=("n",), relations=(RowsSum(by="g"),))
    >>> df = pd.DataFrame({"g": ["a", "b", "ALL"], "n": [3, 4, 7]})
    >>> pub = complementary_suppression(primary_suppression({"t": df}, [spec]))
    >>> list(audit(pub).published("t")["n"])  # "<5" + "<5" = ".." would say neither is 0
    [':', ':', ':']
    """
    m = pub.model
    sup = set(pub.suppressed)
    for name, t in m.tables.items():
        if t.spec.row_total is not None and not t.spec.published_before:
            for row in t.rows:
                if m.value[(name, row, t.spec.row_total)] < T:
                    sup.update((name, row, c) for c in t.spec.counts)
    forced = set(sup)  # primary cells and rows under T: never published again by step 4

    def key(c: Cell):
        return (m.cost[c], m.value[c] < 2 * T, m.value[c], m.order[c])

    def pinned(c: Cell) -> bool:
        # a cell equal to a published one (a figure repeated in another table) protects
        # nothing when hidden alone: the last resort
        return any(m.constraints[i][1] == "==" and len(m.constraints[i][0]) == 2
                   and all(d == c or _publishable(m, d, sup) for d in m.constraints[i][0])
                   for i in m.of_cell[c])

    def partner_key(c: Cell):
        return (pinned(c), *key(c))

    cache: dict = {}
    witnesses = _Witnesses(m)
    withheld: list[set] = []  # the cells each step of `_coarser` withheld, in order
    while True:
        _second_cell_in_lines(m, sup, partner_key)
        ranges = _ranges(m, sup, integer, exact=False, cache=cache, witnesses=witnesses)
        failing = sorted((c for c, (lo, hi) in ranges.items() if not _fine(m, c, lo, hi, ranges)),
                         key=lambda c: (c in m.fixed, m.order[c]))
        if not failing:
            break
        touched: set[int] = set()
        added = False
        for cell in failing:
            if touched & set(m.of_cell[cell]):
                continue  # a cell added this round may already protect it; the next audit tells
            extra = _next_candidate(m, cell, sup, key, pinned)
            if extra is not None:
                sup.add(extra)
                touched.update(m.of_cell[extra])
                added = True
        if not added:
            coarser = next((step for cell in failing if (step := _coarser(m, cell, sup)) is not None), None)
            if coarser is None:
                break  # nothing coarser is left: the audit refuses, naming the cells
            cells, withhold = coarser
            sup |= cells
            if withhold:
                withheld.append(cells - m.dropped)
                m = _withholding(m, m.dropped | cells)
                cache.clear()  # the withheld cells' ranges are no longer what the page states
                witnesses = _Witnesses(m)
    # withheld cells the final pattern protects without (a column withheld before the one that
    # protected) are shown again, with their labels: the latest withheld are tried first
    for cells in reversed(withheld):
        trial = _withholding(m, m.dropped - cells)
        ranges = _ranges(trial, sup, integer, exact=False, witnesses=_Witnesses(trial))
        if all(_fine(trial, x, lo, hi, ranges) for x, (lo, hi) in ranges.items()):
            m = trial
            cache.clear()
            witnesses = _Witnesses(m)
    forced |= m.dropped  # never published again by step 4
    for c in sorted(sup - forced, key=key, reverse=True):
        if m.cost[c] < 10:
            break  # cheap cells: not worth an audit each
        trial = sup - {c}
        ranges = _ranges(m, trial, integer, exact=False, cache=cache, witnesses=witnesses, first_failure=True)
        if all(_fine(m, x, lo, hi, ranges) for x, (lo, hi) in ranges.items()):
            sup = trial
    return Publication(m, frozenset(sup), witnesses=witnesses)


def _publishable(m: _Model, c: Cell, sup) -> bool:
    return c not in sup and c not in m.fixed


def _second_cell_in_lines(m: _Model, sup: set, key) -> None:
    """Step 2 of `complementary_suppression`: passes over the equalities in their order, each
    with exactly one unknown cell (suppressed, or a label of an earlier snapshot) getting its
    cheapest published cell hidden too, until a pass hides nothing. Only the equalities with
    one unknown are visited: the number of unknowns of each is kept as cells are hidden."""
    incidence, _, equal = _relations(m)
    unknown = np.zeros(len(m.cells), bool)
    unknown[[m.order[c] for c in (*sup, *m.given)]] = True
    count = (incidence.T @ unknown.astype(float)).round().astype(int).tolist()
    changed = True
    while changed:
        changed = False
        todo = np.flatnonzero(equal & (np.array(count) == 1)).tolist()
        while todo:
            i = heapq.heappop(todo)
            if count[i] != 1:
                continue  # a cell hidden earlier in this pass is its second
            coefs = m.constraints[i][0]
            [cell] = [c for c in coefs if c in sup or c in m.given]
            if _label(m, cell) == "withheld":
                continue
            published = [c for c in coefs if _publishable(m, c, sup)]
            if published:
                extra = min(published, key=key)
                sup.add(extra)
                changed = True
                for j in m.of_cell[extra]:
                    count[j] += 1
                    if count[j] == 1 and j > i and equal[j]:
                        heapq.heappush(todo, j)  # still ahead in this pass


#: How far along the chain of hidden cells complementary suppression looks for a partner
#: before it falls back to coarser cells (`_coarser`): further away, a partner protects
#: little and the search would hide the whole linked component one cell at a time.
_PARTNER_HOPS = 2


def _withholding(m: _Model, dropped: frozenset) -> _Model:
    """The model with `dropped` as the cells complementary suppression withholds (and the
    rows the tables themselves withhold, `TableSpec.withheld_rows`)."""
    own = frozenset(c for c in m.withheld if c not in m.dropped)
    return replace(m, withheld=own | dropped, dropped=frozenset(dropped), memo={})


def _coarser(m: _Model, cell: Cell, sup: set) -> tuple[set, bool] | None:
    """The next coarser protection for `cell` when no partner is left: (cells, withhold).

    In order: the rest of its row hidden, the rest of its column hidden, its column withheld
    (`withhold` True: the page shows `WITHHELD_LABEL` and states no range); then, since what
    pins it is a label of a cell it shares a relation with, the column of such a cell
    withheld (those sharing an equality first, other tables' before its own, cheapest first);
    then its whole table withheld. A cell of a table published before cannot change: only
    the columns of the current cells sharing a relation with it are withheld. None: nothing
    is left.

    Examples
    --------
    >>> spec = TableSpec(name="t", keys=("g",), counts=("n", "k"), relations=(RowsSum(by="g"),))
    >>> df = pd.DataFrame({"g": ["a", "b", "ALL"], "n": [3, 4, 7], "k": [9, 8, 17]})
    >>> pub = primary_suppression({"t": df}, [spec])
    >>> cells, withhold = _coarser(pub.model, ("t", ("a",), "n"), set(pub.suppressed))
    >>> sorted(c[2] for c in cells), withhold  # first the rest of the row
    (['k', 'n'], False)
    """
    def column_of(c: Cell) -> set:
        return {(c[0], r, c[2]) for r in m.tables[c[0]].rows}

    name, row, column = cell
    t = m.tables[name]
    steps: list[tuple[set, bool]] = []
    if cell not in m.fixed:
        steps += [({(name, row, c) for c in t.spec.counts}, False), (column_of(cell), False), (column_of(cell), True)]
    for equal in (True, False):
        near = {c for i in m.of_cell[cell] if (m.constraints[i][1] == "==") == equal
                for c in m.constraints[i][0] if c not in m.fixed and c != cell}
        for c in sorted(near, key=lambda c: (c[0] == name, m.cost[c], m.order[c])):
            steps.append((column_of(c), True))
    if cell not in m.fixed:
        steps.append(({(name, r, c) for r in t.rows for c in t.spec.counts}, True))
    for cells, withhold in steps:
        if (cells - m.dropped) if withhold else (cells - sup):
            return cells, withhold
    return None


def _next_candidate(m: _Model, cell: Cell, sup: set, key, pinned=lambda c: False,
                    hops: int = _PARTNER_HOPS) -> Cell | None:
    """The partner to hide for a failing cell: the cheapest published cell sharing an
    equality with it, else sharing any relation (cells that are `pinned` only after both),
    else the cheapest one further along the chain of relations (at most `hops` relations
    further)."""
    def published_in(ids: Iterable[int]) -> list[Cell]:
        return [c for i in ids for c in m.constraints[i][0] if _publishable(m, c, sup)]

    equal = published_in(i for i in m.of_cell[cell] if m.constraints[i][1] == "==")
    linked = published_in(m.of_cell[cell])
    for cands in ([c for c in equal if not pinned(c)], [c for c in linked if not pinned(c)], equal, linked):
        if cands:
            return min(cands, key=key)
    frontier, seen = {c for i in m.of_cell[cell] for c in m.constraints[i][0]}, set(m.of_cell[cell])
    for _ in range(hops):
        ids = {i for c in frontier for i in m.of_cell[c]} - seen
        seen |= ids
        if cands := published_in(ids):
            return min(cands, key=key)
        frontier = {c for i in ids for c in m.constraints[i][0]}
    return None


class _Witnesses:
    """Whole-number tables found consistent with what a reader knows, kept for a whole search.

    Why: each such table shows how far every unknown cell can move at once, so cells it
    already shows wide enough need no linear programme. A table is stored as its values where
    it differs from the true table (and on the cells of earlier snapshots, whose true values
    are not known). It stays consistent when more cells are suppressed (the new unknowns keep
    their true values, which satisfy everything) and, when a cell is published again, as long
    as it holds that cell's true value - so `seen` needs no re-solving, only that check.

    The tables are kept by the component they were solved for (`_Found`): a component asked
    about later looks only at the tables of the components it shares a cell with.
    """

    def __init__(self, m: _Model):
        self.m = m
        self.truth = np.array([np.nan if m.value[c] is None else m.value[c] for c in m.cells])
        self.found: dict[bytes, _Found] = {}

    def add(self, comp: np.ndarray, x: np.ndarray) -> None:
        """A solution over the cells `comp` (global indices, ascending), the others at their
        true values."""
        moved = ~(np.abs(x - self.truth[comp]) < 1e-9)  # NaN (a cell of an earlier snapshot) counts as moved
        key = comp.tobytes()
        found = self.found.get(key)
        if found is None:
            found = self.found[key] = _Found(comp)
        found.add(comp[moved], np.round(x[moved]))

    def seen(self, comp: np.ndarray, unknown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest value of each cell of `comp` over the true table and every stored
        table usable with the unknown cells `unknown` (a mask over all cells): one whose moved
        cells are all unknown, that moves a cell of `comp` and, when `comp` holds cells of
        earlier snapshots (no true value), gives a value to each of them."""
        truth = self.truth[comp]
        lo = np.where(np.isnan(truth), np.inf, truth)
        hi = np.where(np.isnan(truth), -np.inf, truth)
        local = np.full(len(self.truth), -1)
        local[comp] = np.arange(len(comp))
        need = int(np.isnan(truth).sum())
        for found in self.found.values():
            inside = local[found.comp] >= 0
            if not inside.any():
                continue
            if need and np.isnan(self.truth[found.comp[inside]]).sum() < need:
                continue  # its tables do not say what some earlier snapshot's cells of `comp` are
            idx, vals, owner = found.entries()
            at = local[idx]
            usable = np.bincount(owner, ~unknown[idx], found.n) == 0
            usable &= np.bincount(owner, at >= 0, found.n) > 0
            take = usable[owner] & (at >= 0)
            np.minimum.at(lo, at[take], vals[take])
            np.maximum.at(hi, at[take], vals[take])
        return lo, hi


class _Found:
    """The tables `_Witnesses` found for one component: their moved cells and values, one
    after another (`owner`: which table an entry is of), in arrays grown by doubling."""

    def __init__(self, comp: np.ndarray):
        self.comp, self.n = comp, 0
        self.idx = np.empty(64, np.int64)
        self.vals = np.empty(64)
        self.owner = np.empty(64, np.int64)
        self.size = 0

    def add(self, idx: np.ndarray, vals: np.ndarray) -> None:
        end = self.size + len(idx)
        if end > len(self.idx):
            grown = max(end, 2 * len(self.idx))
            for name in ("idx", "vals", "owner"):
                old = getattr(self, name)
                new = np.empty(grown, old.dtype)
                new[:self.size] = old[:self.size]
                setattr(self, name, new)
        self.idx[self.size:end], self.vals[self.size:end], self.owner[self.size:end] = idx, vals, self.n
        self.size, self.n = end, self.n + 1

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.idx[:self.size], self.vals[:self.size], self.owner[:self.size]


def _ranges(m: _Model, sup: set | frozenset, integer: bool, exact: bool = True,
            cache: dict | None = None, witnesses: _Witnesses | None = None,
            first_failure: bool = False) -> dict[Cell, tuple[float, float]]:
    """Smallest and largest value of each unknown cell (suppressed now, or seen as a label
    in a table published before) given what a reader knows: every published number, every
    declared relation, and the labels' own ranges (`<T`: 0..T-1; `..`: at least T).
    Whole-number bounds by integer linear programming (HiGHS): an LP optimum that is not
    whole is solved again from scratch, then if need be with `milp`, so the bounds are those
    of whole-number tables.

    With `exact=False` (the search in `complementary_suppression`, and the audit of the
    website) a cell is settled as soon as feasible whole-number tables - the true one, and
    every one found on the way - already show it wide enough; only then is the pass/fail
    answer exact, and a returned range of a passing cell is one a reader cannot narrow (its
    ends are values of consistent tables), not necessarily all a reader cannot exclude.
    Components of unknown cells linked by relations are solved separately; `cache` keeps
    their answers between calls, `witnesses` the tables found (`_Witnesses`).

    With `first_failure` (and `exact=False`) the answer may stop at the first cell shown to
    fail whatever the other cells' ranges (`_fails_alone`): for a question that is only
    "does every cell pass?", asked of a pattern that mostly does not (step 4 of
    `complementary_suppression`). Such a partial answer is not cached.
    """
    # a structural zero is a constant to a reader, whatever the page shows
    arrays = _cell_arrays(m)
    at = np.unique(np.array([m.order[c] for c in (*sup, *m.given)], dtype=np.int64))
    at = at[~arrays.structural[at]]
    # unknown cells sharing a relation are in one component: the cells x relations incidence
    # times its transpose links them
    linked = _relations(m)[0][at]
    _, which = connected_components(linked @ linked.T, directed=False)
    # the components in the order of their first cell, each cell's in the order of the cells
    firsts = np.unique(which, return_index=True)[1]
    rank = np.empty(len(firsts), np.int64)
    rank[np.argsort(firsts, kind="stable")] = np.arange(len(firsts))
    grouped = np.argsort(rank[which], kind="stable")
    components = np.split(at[grouped], np.cumsum(np.bincount(rank[which]))[:-1]) if len(at) else []
    witnesses = witnesses or _Witnesses(m)
    unknown = np.zeros(len(m.cells), bool)
    unknown[at] = True
    out: dict[Cell, tuple[float, float]] = {}
    for comp in components:
        key = (comp.tobytes(), integer, exact)
        if cache is None or key not in cache:
            result = _component_ranges(m, comp, integer, exact, witnesses, unknown,
                                       first_failure=first_failure and not exact)
            if len(result) < len(comp):  # stopped at a failing cell
                out.update(result)
                return out
            if cache is None:
                out.update(result)
                continue
            cache[key] = [result, None]
        entry = cache[key]
        out.update(entry[0])
        if first_failure and not exact:
            if entry[1] is None:  # whether a cell of it fails whatever the others' ranges
                entry[1] = any(_fails_alone(m, c, lo, hi) for c, (lo, hi) in entry[0].items())
            if entry[1]:
                return out
    return out


def _relations(m: _Model) -> tuple[sparse.csr_array, sparse.csr_array, np.ndarray]:
    """The relations as matrices, built once per model: cells x relations, 1 where a relation
    holds a cell (an incidence: which cells a relation links); relations x cells, the
    coefficients; and which relations are equalities."""
    if m.incidence is None:
        rows = [i for i, (coefs, _, _) in enumerate(m.constraints) for _ in coefs]
        cols = [m.order[c] for coefs, _, _ in m.constraints for c in coefs]
        coefs = [a for coefs, _, _ in m.constraints for a in coefs.values()]
        shape = (len(m.constraints), len(m.cells))
        # built from (row, column) pairs that never repeat, so no two coefficients are summed
        m.incidence = (sparse.csr_array((np.ones(len(rows)), (cols, rows)), shape=shape[::-1]),
                       sparse.csr_array((np.array(coefs, float), (rows, cols)), shape=shape),
                       np.array([sense == "==" for _, sense, _ in m.constraints], bool))
    return m.incidence


def _propagate(rows: np.ndarray, cols: np.ndarray, coef: np.ndarray, rhs: np.ndarray, is_eq: np.ndarray,
               low: np.ndarray, high: np.ndarray, integer: bool, sweeps: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Bounds every cell must keep, by propagating each relation's bounds to each of its
    cells (a sum of parts is at most the sum of their upper bounds, and so on): for
    relations given as nonzero entries (`rows`, `cols`, `coef`) of `A x (= or <=) rhs`.

    Why: an outer bound is cheap and never too narrow, so a cell whose outer bound is already
    narrower than its label's range is known to fail without an integer programme, and a
    value of a consistent table at an outer bound is the exact minimum or maximum.

    Examples
    --------
    >>> # x0 + x1 = 8 with x0 in 0..4 (a "<5" cell) and x1 >= 5: x1 is in 5..8, x0 in 0..3
    >>> lo, hi = _propagate(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 1.0]), np.array([8.0]),
    ...                     np.array([True]), np.array([0.0, 5.0]), np.array([4.0, np.inf]), True)
    >>> lo.tolist(), hi.tolist()
    ([0.0, 5.0], [3.0, 8.0])
    """
    low, high = low.astype(float).copy(), high.astype(float).copy()
    n_rows = len(rhs)
    pos = coef > 0
    for _ in range(sweeps):
        # smallest and largest value of each term a_i x_i; infinite ones counted apart
        tmin = np.where(pos, coef * low[cols], coef * high[cols])
        tmax = np.where(pos, coef * high[cols], coef * low[cols])
        inf_min, inf_max = np.isinf(tmin), np.isinf(tmax)
        sum_min = np.bincount(rows, np.where(inf_min, 0.0, tmin), n_rows)
        sum_max = np.bincount(rows, np.where(inf_max, 0.0, tmax), n_rows)
        n_inf_min = np.bincount(rows, inf_min, n_rows)
        n_inf_max = np.bincount(rows, inf_max, n_rows)
        # the other terms of the row: their smallest and largest sum
        rest_min = np.where(n_inf_min[rows] - inf_min > 0, -np.inf, sum_min[rows] - np.where(inf_min, 0.0, tmin))
        rest_max = np.where(n_inf_max[rows] - inf_max > 0, np.inf, sum_max[rows] - np.where(inf_max, 0.0, tmax))
        # a_j x_j <= rhs - rest_min; for equalities also a_j x_j >= rhs - rest_max
        upper_term = rhs[rows] - rest_min
        lower_term = np.where(is_eq[rows], rhs[rows] - rest_max, -np.inf)
        with np.errstate(invalid="ignore"):
            new_hi = np.where(pos, upper_term / coef, lower_term / coef)
            new_lo = np.where(pos, lower_term / coef, upper_term / coef)
        hi = high.copy()
        lo = low.copy()
        # an undefined bound (a term without one) is none; an infinite one stays infinite
        np.minimum.at(hi, cols, np.where(np.isnan(new_hi), np.inf, new_hi))
        np.maximum.at(lo, cols, np.where(np.isnan(new_lo), -np.inf, new_lo))
        if integer:
            hi = np.floor(hi + 1e-9)
            lo = np.ceil(lo - 1e-9) + 0.0  # not -0.0
        if np.array_equal(hi, high) and np.array_equal(lo, low):
            break
        low, high = lo, hi
    return low, high


#: Rounds of the linear programmes that push every unsettled cell of a component at once
#: (`_component_ranges`) before the cells left are solved one by one.
_BATCH_ROUNDS = 8


class _LinearProgramme:
    """The linear programme of one component (`_component_ranges`), built once in HiGHS and
    re-solved for each objective: only the objective and the column bounds change between
    solves, so HiGHS starts from the last optimal basis instead of from scratch (and the
    problem is not converted again). `minimise` answers like `scipy.optimize.linprog`:
    `status` 0 optimal, 3 unbounded, else failed (`message` says why)."""

    def __init__(self, a: sparse.csr_array, row_lo: np.ndarray, row_hi: np.ndarray,
                 col_lo: np.ndarray, col_hi: np.ndarray):
        self.n = a.shape[1]
        self.columns = np.arange(self.n, dtype=np.int32)
        csc = sparse.csc_array(a)
        lp = _highs.HighsLp()
        lp.num_col_ = lp.a_matrix_.num_col_ = self.n
        lp.num_row_ = lp.a_matrix_.num_row_ = a.shape[0]
        lp.a_matrix_.format_ = _highs.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = col_lo.astype(float)
        lp.col_upper_ = col_hi.astype(float)
        lp.row_lower_ = row_lo.astype(float)
        lp.row_upper_ = row_hi.astype(float)
        self.highs = _highs.Highs()
        self.highs.setOptionValue("output_flag", False)
        # a new objective leaves the last optimum feasible, so the primal simplex method goes on
        # from it; the dual method (HiGHS' default) would first repair dual feasibility
        self.highs.setOptionValue("simplex_strategy", 4)
        self.highs.passModel(lp)
        self.col_lo = col_lo.astype(float)
        self.cost, self.upper = np.zeros(self.n), col_hi.astype(float)

    def minimise(self, objective: np.ndarray, upper: np.ndarray, afresh: bool = False) -> "_Solution":
        """`afresh`: solve from scratch (presolve, the dual simplex method), as `linprog` does:
        where the optimum is not unique this often lands on a whole-number one when going on
        from the last basis did not, which is far cheaper than an integer programme."""
        h = self.highs
        # only what differs from the last solve is passed (HiGHS keeps the rest)
        changed = np.flatnonzero(objective != self.cost).astype(np.int32)
        if len(changed):
            h.changeColsCost(len(changed), changed, objective[changed].astype(float))
            self.cost = objective.astype(float)
        changed = np.flatnonzero(upper != self.upper).astype(np.int32)
        if len(changed):
            h.changeColsBounds(len(changed), changed, self.col_lo[changed], upper[changed].astype(float))
            self.upper = upper.astype(float)
        if afresh:
            h.clearSolver()
            h.setOptionValue("simplex_strategy", 1)
        h.run()
        if afresh:
            h.setOptionValue("simplex_strategy", 4)
        status = h.getModelStatus()
        if status == _highs.HighsModelStatus.kUnboundedOrInfeasible:
            # presolve may not tell the two apart; the simplex method does
            h.setOptionValue("presolve", "off")
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status == _highs.HighsModelStatus.kOptimal:
            return _Solution(0, np.array(h.getSolution().col_value), h.getInfo().objective_function_value, "")
        return _Solution(3 if status == _highs.HighsModelStatus.kUnbounded else 2, None, None,
                         h.modelStatusToString(status))


@dataclass(frozen=True)
class _Solution:
    status: int
    x: np.ndarray | None
    fun: float | None
    message: str


def _component_ranges(m: _Model, comp: np.ndarray, integer: bool, exact: bool,
                      witnesses: _Witnesses, unknown: np.ndarray, first_failure: bool = False
                      ) -> dict[Cell, tuple[float, float]]:
    """The ranges of the cells of one component (`_ranges`: `comp` their indices in the model,
    ascending); with `first_failure` only up to the first cell that fails whatever the others'
    ranges (`_fails_alone`)."""
    at = comp
    comp = [m.cells[i] for i in at]
    n = len(comp)
    arrays = _cell_arrays(m)
    codes = arrays.label[at]
    seen_lo, seen_hi = witnesses.seen(at, unknown)
    if not exact and _wide(codes, seen_lo, seen_hi).all():
        # the tables found already show every cell wide enough: nothing to solve (or build)
        return dict(zip(comp, zip(seen_lo.tolist(), seen_hi.tolist())))
    # the relations holding a cell of the component (equalities, then inequalities), over its
    # cells; the other cells are constants (published numbers, or structural zeros)
    _, coefficients, equal = _relations(m)
    rows = np.unique(_relations(m)[0][at].indices)
    n_eq = int(equal[rows].sum())
    block = coefficients[np.r_[rows[equal[rows]], rows[~equal[rows]]]]
    outside = arrays.value.copy()
    outside[at] = 0.0
    rhs = -(block @ outside)
    a_all = sparse.csr_array(block[:, at])
    beq, bub = rhs[:n_eq], rhs[n_eq:]
    primary = np.isin(codes, (_PRIMARY, _EMPTY))  # an empty count is shown `<5` too
    stated = arrays.stated[at]
    floor_ = np.where(primary | ~stated, 0.0, float(T))
    ceil_ = np.where(primary & stated, T - 1.0, np.inf)
    coo = a_all.tocoo()
    keep = coo.data != 0
    outer_lo, outer_hi = _propagate(coo.row[keep], coo.col[keep], coo.data[keep], rhs,
                                    np.arange(len(rhs)) < n_eq, floor_, ceil_, integer)

    lp = _LinearProgramme(a_all, np.r_[beq, np.full(len(bub), -np.inf)], rhs, floor_, ceil_)

    def solve(objective: np.ndarray, upper: np.ndarray | None = None, must: bool = True):
        """LP optimum (whole-number optimum if `must` and the LP's is not whole); records a
        whole-number solution as a witness. `upper`: tighter upper bounds (a batch LP)."""
        top = ceil_ if upper is None else upper
        res = lp.minimise(objective, top)
        x, fun, status = res.x, res.fun, res.status
        whole = status == 0 and _whole(x)
        if status == 0 and integer and not whole and must:
            res = lp.minimise(objective, top, afresh=True)
            x, fun, status = res.x, res.fun, res.status
            whole = status == 0 and _whole(x)
        if status == 0 and integer and not whole and must:
            res = milp(objective, integrality=np.ones(n), bounds=Bounds(floor_, ceil_),
                       constraints=[LinearConstraint(a_all, np.r_[beq, np.full(len(bub), -np.inf)], rhs)]
                       if len(rhs) else [])
            x, fun, status = res.x, res.fun, res.status
            whole = status == 0
        if status == 0 and (whole or not integer):
            witnesses.add(at, x)
            np.minimum(seen_lo, x, out=seen_lo)
            np.maximum(seen_hi, x, out=seen_hi)
        return res, x, fun, status

    def optimum(j: int, sign: int) -> float:
        objective = np.zeros(n)
        objective[j] = sign
        res, x, fun, status = solve(objective)
        if status == 3:  # unbounded (only ever the maximum)
            return math.inf
        if status != 0 or x is None:
            raise DisclosureError(f"audit: the integer program for {m.where(comp[j])} failed ({res.message})")
        return sign * fun

    # For exact ranges: the cells without an upper bound, all at once, instead of one
    # programme each that ends unbounded
    rays = exact and n > 1 and bool(np.isinf(outer_hi).any())
    if rays:
        unbounded = _unbounded(a_all, n_eq, np.isinf(outer_hi))
        rays = unbounded is not None
        if rays:
            outer_hi[~unbounded & np.isinf(outer_hi)] = np.finfo(float).max  # bounded, its bound unknown
    # a value of a consistent table at an outer bound is that bound exactly
    at_floor = lambda: seen_lo <= outer_lo + 1e-9  # noqa: E731
    at_ceil = lambda: (seen_hi >= outer_hi - 1e-9) | (rays & np.isinf(outer_hi))  # noqa: E731
    # a cell whose outer bounds are already too narrow fails without more ado
    fails = ~_wide(codes, outer_lo, outer_hi)
    if first_failure:
        for j in np.flatnonzero(fails):
            if _fails_alone(m, comp[j], outer_lo[j], outer_hi[j]):
                return {comp[j]: (outer_lo[j], outer_hi[j])}

    def unsettled() -> np.ndarray:
        if exact:
            return ~(at_floor() & at_ceil())
        return ~_wide(codes, seen_lo, seen_hi) & ~fails

    # Batches first: one LP pushes every unsettled cell down at once, one up (upper bounds a
    # little above what is seen, so that it is bounded; a solution within tighter bounds is
    # still consistent). Often most cells reach their outer bounds or a wide enough range.
    left = unsettled()
    for _ in range(_BATCH_ROUNDS if n > 1 else 0):
        if left.sum() <= 1:
            break
        down = left & ~at_floor()
        if down.any():
            solve(down.astype(float), must=False)
        up = left & ~at_ceil()
        if up.any():
            solve(-up.astype(float), np.minimum(ceil_, np.maximum(seen_hi, floor_) + T), must=False)
        now = unsettled()
        if now.sum() >= left.sum():
            break
        left = now
    # One cell at a time, in order, for the cells neither the tables found nor the outer bounds
    # settle; a cell settled before the loop reaches it is answered as it stands then (what the
    # tables found by then show), as are the cells settled from the start.
    low, high = np.empty(n), np.empty(n)
    if exact:
        low[:] = np.ceil(outer_lo - 1e-6)
        high[:] = np.where(np.isfinite(outer_hi), np.floor(outer_hi + 1e-6), math.inf)

    def settled_until(a: int, b: int) -> None:
        if not exact:
            low[a:b] = np.where(fails[a:b], outer_lo[a:b], seen_lo[a:b])
            high[a:b] = np.where(fails[a:b], outer_hi[a:b], seen_hi[a:b])

    done = 0
    for j in np.flatnonzero(unsettled()).tolist():
        settled_until(done, j)
        done = j + 1
        label = _label(m, comp[j])
        if not exact and _wide_enough(label, seen_lo[j], seen_hi[j]):
            low[j], high[j] = seen_lo[j], seen_hi[j]
            continue
        lo = outer_lo[j] if seen_lo[j] <= outer_lo[j] + 1e-9 else optimum(j, +1)
        if not exact and _wide_enough(label, lo, max(seen_hi[j], lo)):
            low[j], high[j] = lo, seen_hi[j]
            continue
        hi = outer_hi[j] if seen_hi[j] >= outer_hi[j] - 1e-9 or (rays and math.isinf(outer_hi[j])) else optimum(j, -1)
        low[j], high[j] = math.ceil(lo - 1e-6), math.floor(hi + 1e-6) if math.isfinite(hi) else math.inf
        if first_failure and _fails_alone(m, comp[j], low[j], high[j]):
            return {comp[j]: (low[j], high[j])}
    settled_until(done, n)
    return dict(zip(comp, zip(low.tolist(), high.tolist())))


def _unbounded(a: sparse.csr_array, n_eq: int, candidates: np.ndarray) -> np.ndarray | None:
    """Which `candidates` (cells without an upper bound from `_propagate`) a component's
    programme (`a`: its first `n_eq` rows equalities, the others `<=`) lets grow for ever: those
    moved by a direction d, zero on the other cells (they are bounded) and >= 0 on these (every
    cell has a lower bound), with A_eq d = 0 and A_ub d <= 0. One programme finds them all:
    maximise the sum of t, t <= d, 0 <= t <= 1 - a sum of directions is one, so every cell
    moved by one reaches t = 1 at once. A whole-number table moves along a whole-number
    direction for ever too, so these are the cells whose whole-number maximum is infinite.
    None if the programme fails (each cell is then solved by itself)."""
    d = sparse.csr_array(a[:, candidates])
    k = d.shape[1]
    used = np.flatnonzero(np.diff(d.indptr))  # rows moving no candidate hold anyway
    is_eq = used < n_eq
    link = sparse.hstack([-sparse.eye_array(k), sparse.eye_array(k)])  # t - d <= 0
    matrix = sparse.vstack([sparse.hstack([d[used], sparse.csr_array((len(used), k))]), link], format="csr")
    row_lo = np.r_[np.where(is_eq, 0.0, -np.inf), np.full(k, -np.inf)]
    lp = _LinearProgramme(matrix, row_lo, np.zeros(len(used) + k), np.zeros(2 * k),
                          np.r_[np.full(k, np.inf), np.ones(k)])
    res = lp.minimise(np.r_[np.zeros(k), -np.ones(k)], np.r_[np.full(k, np.inf), np.ones(k)], afresh=True)
    if res.status != 0:
        return None
    out = np.zeros(len(candidates), bool)
    out[np.flatnonzero(candidates)] = res.x[k:] > 0.5
    return out


def _whole(x: np.ndarray) -> bool:
    """Whether a solution is whole numbers (an absolute tolerance only: a relative one would
    let a large count pass a fraction)."""
    return bool(np.all(np.abs(x - np.round(x)) <= 1e-6))


def audit(pub: Publication, *, integer: bool = True, exact: bool = True) -> Publication:
    """Rule 3, the blocking check: every count under T is suppressed, and every unknown cell
    (suppressed now, or a label of a table published before) keeps the range its label
    states: a `<T` cell the whole 0..T-1, a `..` cell a range at least T wide, given
    everything published and every declared relation. Raises `DisclosureError` naming each
    failing table, row and column; returns the publication with its ranges, ready to publish.

    The answer (passes or refuses) is exact either way. With `exact=True` each range is the
    smallest and largest value a reader can work out; with `exact=False` (for many cells:
    far fewer integer programmes) a passing cell's range is one a reader cannot narrow, its
    ends values of whole-number tables consistent with everything published, which may be
    narrower than all a reader cannot exclude.

    Examples
    --------
    >>> spec = TableSpec(name="t", keys=("alue",), counts=("n",), relations=(RowsSum(by="alue"),))
    >>> df = pd.DataFrame({"alue": ["A", "B", "C", "ALL"], "n": [2, 30, 40, 72]})
    >>> try:  # A = 72 - 30 - 40 = 2 exactly
    ...     audit(primary_suppression({"t": df}, [spec]))
    ... except DisclosureError as e:
    ...     print(str(e).splitlines()[1].strip())
    table t, row alue=A, column n: narrower than 0..4
    """
    m = pub.model
    for c in m.cells:
        if c not in m.fixed and m.value[c] < T and c not in pub.suppressed:
            raise DisclosureError(f"{m.where(c)}: a count under {T} is published",
                                  table=c[0], row=m.tables[c[0]].describe(c[1]), column=c[2])
    ranges = []
    found = pub.witnesses if pub.witnesses is not None and pub.witnesses.m is m else None
    for c, (lo, hi) in _ranges(m, pub.suppressed, integer, exact=exact, witnesses=found).items():
        ranges.append(CellRange(c[0], m.tables[c[0]].describe(c[1]), c[2], lo, hi, _label(m, c)))
    by_cell = {(r.table, r.row, r.column): (r.low, r.high) for r in ranges}
    row_of = {(c[0], m.tables[c[0]].describe(c[1]), c[2]): c for c in m.cells}
    found_ranges = {row_of[k]: v for k, v in by_cell.items()}
    narrow = [r for r in ranges if not r.ok and not _fine(m, row_of[(r.table, r.row, r.column)], r.low, r.high,
                                                           found_ranges)]
    if narrow:
        # what is wrong, not the bounds: the message may reach logs, the bounds would be the leak
        lines = [f"table {r.table}, row {r.row}, column {r.column}: "
                 + (f"narrower than 0..{T - 1}" if r.label == "primary" else f"derivable to a range under {T}")
                 for r in narrow]
        first = narrow[0]
        earlier = any(t.spec.published_before for t in m.tables.values())
        advice = ("a figure an earlier snapshot published may pin them (rule 8): check that the snapshots on the "
                  "site are this study's, and withdraw the one that cannot stand with this release; else check"
                  if earlier else "check") + (" the relations declared between the tables (ips_eval.figures), which "
                                              "complementary suppression and the audit must both assume")
        raise DisclosureError(f"publication refused: {len(narrow)} hidden cell(s) can be narrowed beyond what "
                              "the page states:\n  " + "\n  ".join(lines) + f"\nWhat to do: {advice}.",
                              table=first.table, row=first.row, column=first.column)
    return replace(pub, ranges=tuple(ranges))


def protect(tables: Mapping[str, pd.DataFrame], specs: Sequence[TableSpec],
            links: Sequence[CrossSum] = (), *, integer: bool = True, exact: bool = True) -> Publication:
    """Rules 1-4 for a set of linked tables: primary, complementary, audit. The result's
    `published(name)` is what the website may show. Tables described as `published_before`
    (earlier snapshots) take part as what a reader already knows. `exact`: as in `audit`
    (False: the answer without every range, for callers that need only pass or fail).

    Examples
    --------
    >>> spec = TableSpec(name="t", keys=("alue",), counts=("n",), relations=(RowsSum(by="alue"),))
    >>> df = pd.DataFrame({"alue": ["A", "B", "C", "ALL"], "n": [2, 30, 40, 72]})
    >>> list(protect({"t": df}, [spec]).published("t")["n"])  # B alone would be 28..32
    ['<5', '..', '..', 72]
    """
    pub = complementary_suppression(primary_suppression(tables, specs, links), integer=integer)
    return audit(pub, integer=integer, exact=exact)


# --------------------------------------------------------------------------------------
# Rule 5: Kaplan-Meier and cumulative-incidence curves
# --------------------------------------------------------------------------------------
CURVE_COLUMNS = ("time", "n_at_risk", "n_events", "n_censored", "estimate", "ci_low", "ci_high")


def round_to_base(n: float, base: int = AT_RISK_ROUNDING) -> int:
    """Nearest multiple of `base` (halves up; whole numbers have no halves when base is odd)."""
    return int(base * math.floor(n / base + 0.5))


def publishable_curve(steps: pd.DataFrame, at: Sequence[float] = ()) -> pd.DataFrame:
    """Rule 5: a Kaplan-Meier or cumulative-incidence curve whose every step holds at least
    T events.

    A reader recovers the events of a step as the number at risk times the drop of the
    curve, so only events count (censorings do not). The curve ends at the last time with
    at least T people at risk (the longest follow-up of one person is never shown); up to
    there, consecutive steps are pooled until their events reach T, and a last group short
    of T joins the step before it. A pooled step is shown at its end: its time and
    estimate/CI are those of its last step (the curve is exact there), its number at risk
    the number at risk at its first step, rounded to the nearest multiple of
    `AT_RISK_ROUNDING`. Per-step event and censoring counts are not returned. Returns
    columns time, n_at_risk, estimate, ci_low, ci_high. Raises `DisclosureError` when fewer
    than T events happen while T or more are at risk.

    `at`: times the curve should be exact at (read-outs): no pooled step spans one of them,
    unless the events between it and the time before (or after) are fewer than T, when the
    steps on both sides are pooled. The curve is then exact at a time of `at` exactly when no
    event falls between its last step at or before that time and the time (`curve_value_at`).

    Examples
    --------
    >>> steps = pd.DataFrame({"time": [1, 2, 3, 4], "n_at_risk": [30, 24, 12, 4], "n_events": [3, 4, 5, 1],
    ...                       "n_censored": [3, 8, 2, 3], "estimate": [0.9, 0.75, 0.44, 0.33],
    ...                       "ci_low": [0.8, 0.6, 0.3, 0.1], "ci_high": [1.0, 0.9, 0.6, 0.6]})
    >>> publishable_curve(steps)[["time", "n_at_risk", "estimate"]].values.tolist()
    [[2.0, 30.0, 0.75], [3.0, 10.0, 0.44]]
    """
    missing = [c for c in CURVE_COLUMNS if c not in steps.columns]
    if missing:
        raise ValueError(f"curve steps lack columns {missing}")
    s = steps.sort_values("time", kind="stable").reset_index(drop=True)
    s = s[s["n_at_risk"] >= T].reset_index(drop=True)  # at risk only falls: a prefix
    # the steps between consecutive times of `at` are pooled apart, so that a pooled step
    # never spans one of those times; a stretch with fewer than T events joins the next
    cuts = sorted(float(t) for t in at)
    stretch = np.searchsorted(cuts, s["time"].to_numpy(float), side="left") if cuts else np.zeros(len(s), int)
    groups: list[list[int]] = []
    carry: list[int] = []
    for k in (sorted(set(stretch.tolist())) if len(s) else []):
        current: list[int] = list(carry)
        events = sum(int(s.at[i, "n_events"]) for i in carry)
        formed: list[list[int]] = []
        for i in s.index[stretch == k]:
            current.append(i)
            events += int(s.at[i, "n_events"])
            if events >= T:
                formed.append(current)
                current, events = [], 0
        if not formed:
            carry = current
            continue
        formed[-1].extend(current)  # a short rest joins the step before it, within the stretch
        groups += formed
        carry = []
    if carry:
        if not groups:
            raise DisclosureError(f"curve: fewer than {T} events while {T} or more are at risk; not publishable")
        groups[-1].extend(carry)
    return pd.DataFrame({
        "time": [s.at[g[-1], "time"] for g in groups],
        "n_at_risk": [round_to_base(s.at[g[0], "n_at_risk"]) for g in groups],
        "estimate": [s.at[g[-1], "estimate"] for g in groups],
        "ci_low": [s.at[g[-1], "ci_low"] for g in groups],
        "ci_high": [s.at[g[-1], "ci_high"] for g in groups],
    })


def curve_value_at(steps: pd.DataFrame, curve: pd.DataFrame, time: float) -> int | None:
    """The row of the published `curve` (from `publishable_curve(steps, at=...)`) that is the
    curve's true value at `time`, or None when the published curve is not exact there (an
    event falls between its last step at or before `time` and `time`, pooled into a later
    step) or does not reach `time`.

    Examples
    --------
    >>> steps = pd.DataFrame({"time": [1, 2, 3, 4, 5], "n_at_risk": [40, 34, 28, 22, 16],
    ...                       "n_events": [6, 6, 2, 5, 6], "n_censored": [0] * 5,
    ...                       "estimate": [0.85, 0.7, 0.65, 0.5, 0.3], "ci_low": [0.0] * 5, "ci_high": [1.0] * 5})
    >>> curve = publishable_curve(steps, at=[2.5])
    >>> curve["time"].tolist(), curve_value_at(steps, curve, 2.5), curve_value_at(steps, curve, 3.5)
    ([1, 2, 4, 5], 1, None)
    """
    before = curve.index[curve["time"] <= time]
    if len(before) == 0 or curve["time"].max() < time:
        return None
    row = before[-1]
    between = steps[(steps["time"] > curve.at[row, "time"]) & (steps["time"] <= time)]
    return None if between["n_events"].sum() > 0 else int(row)


# --------------------------------------------------------------------------------------
# Rule 6: model tables
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelCheck:
    """Whether a model table may be published, and why not. Truthy when publishable."""

    publishable: bool
    reasons: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.publishable

    def require(self, model: str) -> None:
        if not self.publishable:
            raise DisclosureError(f"model {model}: table not publishable: " + "; ".join(self.reasons),
                                  table=model)


def check_model_table(residual_df: float, category_counts: Mapping[str, Mapping[Any, int]]) -> ModelCheck:
    """Rule 6: at least `MIN_RESIDUAL_DF` residual degrees of freedom, and at least T people
    in every category of every term. `category_counts` maps each categorical term (and, for
    a binary outcome, the outcome too if it should count) to {category: people}; continuous
    terms have no categories and are left out."""
    reasons = []
    if not (residual_df >= MIN_RESIDUAL_DF):  # also refuses NaN
        reasons.append(f"residual degrees of freedom {residual_df} < {MIN_RESIDUAL_DF}")
    for term, counts in category_counts.items():
        for category, n in counts.items():
            if not (n >= T):
                reasons.append(f"term {term!r}, category {category!r}: fewer than {T} people")
    return ModelCheck(not reasons, tuple(reasons))
