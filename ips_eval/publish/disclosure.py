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
`audit` (rule 3, raises `DisclosureError`); rule 4 is applied by `Publication.published`
(and min/max columns are refused when the table is described). Rule 5 is
`publishable_curve`, rule 6 `check_model_table`; the site scan is `site_scan.scan_site`.

Labels (what a reader sees):
- `PRIMARY_LABEL` ("<5") for a count under T;
- `SECONDARY_LABEL` ("..") for a count of T or more hidden so that a small count cannot be
  derived. It is not shown as "<5" because that would publish a false figure; the price is
  that a reader knows a ".." cell is at least T, so the audit gives such cells the lower
  bound T (it models every label it publishes, except that "<5" cells are not capped at
  T - 1: revealing "under T" is what rule 1 allows, and with the cap every "<5" cell's
  range would be narrower than T by construction);
- `HIDDEN_LABEL` ("..") for a rate, mean or median whose people are not publishable.

Relations are linear (sum of coefficient x cell, == 0 or <= 0), cells are non-negative
integers: `RowsSum`, `ColumnsSum`, `AtMost`, `RowLinear` within a table, `CrossSum` across
tables (with `by`, e.g. a county x wave table's rows of each county sum to that county's row;
with `parts_rows`/`sense="<="`, e.g. each quarter's n_served per county <= its n_clients). Rates are proportions (numerator a subset of the denominator): each declared rate
adds the relation numerator <= denominator.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from ips_eval.definitions import DISCLOSURE_THRESHOLD

T = DISCLOSURE_THRESHOLD
PRIMARY_LABEL = f"<{T}"
SECONDARY_LABEL = ".."
HIDDEN_LABEL = ".."

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
        part_rows = par.select(self.parts_rows)
        by_values = sorted({par.key_values(r, self.by) for r in part_rows}, key=repr) if self.by else [()]
        for bv in by_values:
            where = dict(zip(self.by, bv))
            totals = tot.select({**self.total_row, **where})
            if len(totals) != 1:
                raise DisclosureError(f"link {self.total} <- {self.parts}: expected one total row for "
                                      f"{ {**self.total_row, **where} }, found {len(totals)}", table=self.total)
            rows = [r for r in part_rows if par.key_values(r, self.by) == bv]
            for pc, tc in cols.items():
                coefs = {(self.parts, r, pc): 1.0 for r in rows}
                coefs[(self.total, totals[0], tc)] = coefs.get((self.total, totals[0], tc), 0.0) - 1.0
                yield coefs, self.sense, f"{self.parts} rows sum {self.sense} {self.total} {where or ''} ({pc})"


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
        for col in spec.counts:
            v = pd.to_numeric(df[col], errors="coerce")
            if v.isna().any() or (v < 0).any() or (v != np.floor(v)).any():
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
        return [r for r in self.rows if self.key_values(r, list(where)) == tuple(where.values())]

    def describe(self, row: tuple) -> str:
        return ", ".join(f"{k}={v}" for k, v in zip(self.spec.keys, row))


@dataclass
class _Model:
    """All count cells of all tables, their values, and the linear constraints between them."""

    tables: dict[str, _Table]
    cells: list[Cell]
    value: dict[Cell, float]
    order: dict[Cell, int]
    constraints: list[_Constraint]
    of_cell: dict[Cell, list[int]]

    def where(self, cell: Cell) -> str:
        table, row, col = cell
        return f"table {table}, row {self.tables[table].describe(row)}, column {col}"


def _build(tables: Mapping[str, pd.DataFrame], specs: Sequence[TableSpec], links: Sequence[CrossSum]) -> _Model:
    specs_by = {s.name: s for s in specs}
    if len(specs_by) != len(specs):
        raise DisclosureError("two table descriptions share a name")
    if set(tables) != set(specs_by):
        raise DisclosureError(f"tables {sorted(tables)} do not match descriptions {sorted(specs_by)}")
    ts = {name: _Table.of(specs_by[name], df) for name, df in tables.items()}
    cells, value = [], {}
    for name, t in ts.items():
        for i, row in enumerate(t.rows):
            for col in t.spec.counts:
                cell = (name, row, col)
                cells.append(cell)
                value[cell] = float(t.frame.at[i, col])
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
        lhs = sum(a * value[c] for c, a in coefs.items())
        if (sense == "==" and abs(lhs) > 1e-9) or (sense == "<=" and lhs > 1e-9):
            raise DisclosureError(f"declared relation '{what}' does not hold in the data; "
                                  "the audit cannot prove anything about a wrong description")
        for c in coefs:
            of_cell[c].append(i)
    return _Model(ts, cells, value, {c: i for i, c in enumerate(cells)}, constraints, of_cell)


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

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class Publication:
    """Tables with their suppression pattern. `published()` works only after `audit`."""

    model: _Model = field(repr=False)
    suppressed: frozenset
    ranges: tuple[CellRange, ...] | None = None

    @property
    def audited(self) -> bool:
        return self.ranges is not None

    def is_suppressed(self, table: str, row: Mapping[str, Any], column: str) -> bool:
        t = self.model.tables[table]
        [r] = t.select(row)
        return (table, r, column) in self.suppressed

    def status(self, table: str) -> pd.DataFrame:
        """Per cell: 'published', 'primary' (count under T), 'secondary' (count hidden to
        protect another), 'hidden' (rate/summary whose people are not publishable)."""
        t = self.model.tables[table]
        out = pd.DataFrame(index=t.frame.index, columns=t.frame.columns, dtype=object)
        out[list(t.spec.keys)] = t.frame[list(t.spec.keys)]
        for i, row in enumerate(t.rows):
            hidden = {c for c in t.spec.counts if (table, row, c) in self.suppressed}
            for c in t.spec.counts:
                out.at[i, c] = ("primary" if self.model.value[(table, row, c)] < T else "secondary") \
                    if c in hidden else "published"
            for c, pair in [*t.spec.rates.items(), *t.spec.summaries.items()]:
                out.at[i, c] = "hidden" if hidden & set(pair) else "published"
            for c in t.spec.as_is:
                out.at[i, c] = "published"
        return out

    def published(self, table: str) -> pd.DataFrame:
        """The table as the website shows it: numbers, `PRIMARY_LABEL`, `SECONDARY_LABEL`,
        `HIDDEN_LABEL`. Refused unless the publication passed `audit`."""
        if not self.audited:
            raise DisclosureError(f"{table}: not audited; run audit() (or protect()) first", table=table)
        t = self.model.tables[table]
        status = self.status(table)
        out = t.frame.astype(object).copy()
        labels = {"primary": PRIMARY_LABEL, "secondary": SECONDARY_LABEL, "hidden": HIDDEN_LABEL}
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
    """Rule 1: every count under T, zero included, is suppressed. Validates the descriptions
    and checks every declared relation against the data."""
    model = _build(tables, specs, links)
    return Publication(model, frozenset(c for c in model.cells if model.value[c] < T))


def complementary_suppression(pub: Publication, *, integer: bool = True) -> Publication:
    """Rule 2: suppress more cells until no suppressed cell can be narrowed below T.

    1. a row whose `row_total` is under T is suppressed whole;
    2. an equality relation (a "line": a margin, an ALL row, a cross-table sum) with
       exactly one suppressed cell gets a second;
    3. the LP audit is run; for each cell it still finds too narrow, a published cell
       sharing an equality with it is suppressed (else one sharing any relation, else one
       further along the chain of suppressed cells); back to 2 until the audit passes.
    The cell chosen is the smallest count of at least 2T, else the smallest: small counts
    cost readers least, but a ".." cell of v is known to be >= T, so it can hide at most
    v - T of its partner, and a partner under 2T usually forces a third cell anyway.
    Every step adds a cell, so this ends; if a cell cannot be protected even with everything
    linked to it suppressed, it raises.
    """
    m = pub.model
    sup = set(pub.suppressed)
    for name, t in m.tables.items():
        if t.spec.row_total is not None:
            for row in t.rows:
                if m.value[(name, row, t.spec.row_total)] < T:
                    sup.update((name, row, c) for c in t.spec.counts)
    key = lambda c: (m.value[c] < 2 * T, m.value[c], m.order[c])  # noqa: E731
    cache: dict = {}
    while True:
        _second_cell_in_lines(m, sup, key)
        ranges = _ranges(m, sup, integer, exact=False, cache=cache)
        failing = sorted((c for c, (lo, hi) in ranges.items() if hi - lo < T), key=key)
        if not failing:
            return Publication(m, frozenset(sup))
        touched: set[int] = set()
        added = False
        for cell in failing:
            if touched & set(m.of_cell[cell]):
                continue  # a cell added this round may already protect it; the next audit tells
            extra = _next_candidate(m, cell, sup, key)
            if extra is not None:
                sup.add(extra)
                touched.update(m.of_cell[extra])
                added = True
        if not added:
            cell = failing[0]
            raise DisclosureError(f"cannot protect {m.where(cell)}: every linked cell is already suppressed",
                                  table=cell[0], row=m.tables[cell[0]].describe(cell[1]), column=cell[2])


def _second_cell_in_lines(m: _Model, sup: set, key) -> None:
    changed = True
    while changed:
        changed = False
        for coefs, sense, _ in m.constraints:
            if sense == "==" and sum(c in sup for c in coefs) == 1:
                published = [c for c in coefs if c not in sup]
                if published:
                    sup.add(min(published, key=key))
                    changed = True


def _next_candidate(m: _Model, cell: Cell, sup: set, key) -> Cell | None:
    def published_in(ids: Iterable[int]) -> list[Cell]:
        return [c for i in ids for c in m.constraints[i][0] if c not in sup]

    equalities = [i for i in m.of_cell[cell] if m.constraints[i][1] == "=="]
    if cands := published_in(equalities):
        return min(cands, key=key)
    frontier, seen = {cell}, set()
    while frontier:
        ids = {i for c in frontier for i in m.of_cell[c]} - seen
        seen |= ids
        if cands := published_in(ids):
            return min(cands, key=key)
        frontier = {c for i in ids for c in m.constraints[i][0]}
    return None


def _ranges(m: _Model, sup: set | frozenset, integer: bool, exact: bool = True,
            cache: dict | None = None) -> dict[Cell, tuple[float, float]]:
    """Smallest and largest value of each suppressed cell given every published cell and
    every declared relation, by linear programming (HiGHS). Unknowns are non-negative, and
    at least T for cells labelled as secondary (the label says so). Bounds are whole
    numbers: with `integer`, an LP optimum that is not whole is re-solved as an integer
    program, so the bounds are those of whole-number tables (the tightest a reader can get).

    With `exact=False` (the search in `complementary_suppression`) a cell is settled as soon
    as known feasible tables - the true one, and every optimum found on the way - already
    span T; only the pass/fail answer is then exact. Components of suppressed cells linked
    by relations are solved separately, and `cache` keeps their answers between rounds.
    """
    cells = sorted(sup, key=m.order.__getitem__)
    parent = {c: c for c in cells}

    def find(c):
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for coefs, _, _ in m.constraints:
        hidden = [c for c in coefs if c in parent]
        for c in hidden[1:]:
            parent[find(c)] = find(hidden[0])
    components: dict[Cell, list[Cell]] = {}
    for c in cells:
        components.setdefault(find(c), []).append(c)
    out: dict[Cell, tuple[float, float]] = {}
    for comp in components.values():
        key = (frozenset(comp), integer, exact)
        if cache is None or key not in cache:
            result = _component_ranges(m, comp, integer, exact)
            if cache is None:
                out.update(result)
                continue
            cache[key] = result
        out.update(cache[key])
    return out


def _component_ranges(m: _Model, comp: list[Cell], integer: bool, exact: bool) -> dict[Cell, tuple[float, float]]:
    n = len(comp)
    var = {c: j for j, c in enumerate(comp)}
    eq, beq, ub, bub = [], [], [], []
    for i in sorted({i for c in comp for i in m.of_cell[c]}):
        coefs, sense, _ = m.constraints[i]
        row, rhs = np.zeros(n), 0.0
        for c, a in coefs.items():
            if c in var:
                row[var[c]] += a
            else:
                rhs -= a * m.value[c]
        (eq if sense == "==" else ub).append(row)
        (beq if sense == "==" else bub).append(rhs)
    floor_ = np.array([T if m.value[c] >= T else 0 for c in comp], dtype=float)
    problem = dict(
        A_eq=np.array(eq) if eq else None, b_eq=np.array(beq) if eq else None,
        A_ub=np.array(ub) if ub else None, b_ub=np.array(bub) if ub else None,
        bounds=[(b, None) for b in floor_], method="highs",
    )
    # feasible whole-number tables seen so far: the true one to begin with
    seen_lo = np.array([m.value[c] for c in comp])
    seen_hi = seen_lo.copy()

    def optimum(j: int, sign: int) -> float:
        objective = np.zeros(n)
        objective[j] = sign
        res = linprog(objective, **problem)
        if res.status == 0 and integer and not np.allclose(res.x, np.round(res.x), atol=1e-6):
            res = linprog(objective, integrality=np.ones(n), **problem)
        if res.status == 3:  # unbounded (only ever the maximum)
            return math.inf
        if res.status != 0:
            raise DisclosureError(f"audit: the linear program for {m.where(comp[j])} failed ({res.message})")
        if np.allclose(res.x, np.round(res.x), atol=1e-6) or not integer:
            np.minimum(seen_lo, res.x, out=seen_lo)
            np.maximum(seen_hi, res.x, out=seen_hi)
        return sign * res.fun

    out = {}
    for j, c in enumerate(comp):
        if not exact and seen_hi[j] - seen_lo[j] >= T - 1e-6:
            out[c] = (seen_lo[j], seen_hi[j])
            continue
        lo = floor_[j] if seen_lo[j] <= floor_[j] + 1e-9 else optimum(j, +1)
        if not exact and seen_hi[j] - lo >= T - 1e-6:
            out[c] = (lo, seen_hi[j])
            continue
        hi = optimum(j, -1)
        out[c] = (math.ceil(lo - 1e-6), math.floor(hi + 1e-6) if math.isfinite(hi) else math.inf)
    return out


def audit(pub: Publication, *, integer: bool = True) -> Publication:
    """Rule 3, the blocking check: every count under T is suppressed, and every suppressed
    cell's feasible range (smallest to largest value given everything published and every
    declared relation) is at least T wide. Raises `DisclosureError` naming each failing
    table, row and column; returns the publication with its ranges, ready to publish."""
    m = pub.model
    for c in m.cells:
        if m.value[c] < T and c not in pub.suppressed:
            raise DisclosureError(f"{m.where(c)}: a count under {T} is published",
                                  table=c[0], row=m.tables[c[0]].describe(c[1]), column=c[2])
    ranges = []
    for c, (lo, hi) in _ranges(m, pub.suppressed, integer).items():
        ranges.append(CellRange(c[0], m.tables[c[0]].describe(c[1]), c[2], lo, hi))
    narrow = [r for r in ranges if r.width < T]
    if narrow:
        # the width, not the bounds: the message may reach logs, the bounds would be the leak
        lines = [f"table {r.table}, row {r.row}, column {r.column}: derivable to a range of width {r.width}"
                 for r in narrow]
        first = narrow[0]
        raise DisclosureError(f"publication refused: {len(narrow)} suppressed cell(s) can be narrowed to a "
                              f"range under {T}:\n  " + "\n  ".join(lines),
                              table=first.table, row=first.row, column=first.column)
    return replace(pub, ranges=tuple(ranges))


def protect(tables: Mapping[str, pd.DataFrame], specs: Sequence[TableSpec],
            links: Sequence[CrossSum] = (), *, integer: bool = True) -> Publication:
    """Rules 1-4 for a set of linked tables: primary, complementary, audit. The result's
    `published(name)` is what the website may show."""
    pub = complementary_suppression(primary_suppression(tables, specs, links), integer=integer)
    return audit(pub, integer=integer)


# --------------------------------------------------------------------------------------
# Rule 5: Kaplan-Meier and cumulative-incidence curves
# --------------------------------------------------------------------------------------
CURVE_COLUMNS = ("time", "n_at_risk", "n_events", "n_censored", "estimate", "ci_low", "ci_high")


def round_to_base(n: float, base: int = AT_RISK_ROUNDING) -> int:
    """Nearest multiple of `base` (halves up; whole numbers have no halves when base is odd)."""
    return int(base * math.floor(n / base + 0.5))


def publishable_curve(steps: pd.DataFrame) -> pd.DataFrame:
    """A curve whose every step pools at least T events or censorings.

    Consecutive steps are merged until their events + censorings reach T; a last group
    short of T joins the step before it. A pooled step is shown at its end: its time and
    estimate/CI are those of its last step (the curve is exact there), its number at risk
    the number at risk at its first step (who was at risk when the pooled interval began),
    rounded to the nearest multiple of `AT_RISK_ROUNDING`. Per-step event and censoring
    counts are not returned (they are small counts). Returns columns time, n_at_risk,
    estimate, ci_low, ci_high. Raises `DisclosureError` when the whole curve has fewer than
    T events and censorings.
    """
    missing = [c for c in CURVE_COLUMNS if c not in steps.columns]
    if missing:
        raise ValueError(f"curve steps lack columns {missing}")
    s = steps.sort_values("time", kind="stable").reset_index(drop=True)
    groups: list[list[int]] = []
    current: list[int] = []
    pooled = 0
    for i in s.index:
        current.append(i)
        pooled += int(s.at[i, "n_events"]) + int(s.at[i, "n_censored"])
        if pooled >= T:
            groups.append(current)
            current, pooled = [], 0
    if current:
        if not groups:
            raise DisclosureError(f"curve: fewer than {T} events and censorings in all; not publishable")
        groups[-1].extend(current)
    return pd.DataFrame({
        "time": [s.at[g[-1], "time"] for g in groups],
        "n_at_risk": [round_to_base(s.at[g[0], "n_at_risk"]) for g in groups],
        "estimate": [s.at[g[-1], "estimate"] for g in groups],
        "ci_low": [s.at[g[-1], "ci_low"] for g in groups],
        "ci_high": [s.at[g[-1], "ci_high"] for g in groups],
    })


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
