"""The attacker as a test (docs/analysis_plan.md, disclosure rules 3, 5 and 8).

Three consecutive quarterly snapshots of the synthetic study's site are published into one
folder, with a consent withdrawal and late data arriving between them (the warehouse's
marts are recomputed as the pipeline would: the withdrawn client leaves every past quarter,
a late job raises a past quarter's working count). Then a reader who kept every snapshot
and knows the study's structure attacks the published files only:

- an integer linear programme over every hidden count of every snapshot, with the bounds
  the page states and every relation the study tells a reader - read here from its published
  figure list (docs/figures.md) and written from the plan, independently of the suppression
  code;
- differencing every pair of snapshots;
- reading the events of each step back from the time-to-first-job curve.

It must learn nothing beyond the stated ranges.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.publish.site.build import build_site
from ips_eval.synth.variants import split_counties

SNAPSHOTS = {"2024Q2": dt.date(2024, 6, 30), "2024Q3": dt.date(2024, 9, 30), "2024Q4": dt.date(2024, 12, 31)}
GROUPINGS = ("wave", "smi", "gender", "age_group")
def public_structure(page: Path) -> dict[str, dict]:
    """What the study tells a reader of its figures, read from the published figure list
    (docs/figures.md), per table (headline, quarterly): the published counts, the rates
    (rate -> numerator, denominator), the relations in a row between published counts
    (small <= large), and each quarterly count's headline count."""
    out: dict[str, dict] = {}
    table = None
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            table = "headline" if line.startswith("## Headline") else "quarterly" if line.startswith("## Quarterly") \
                else None
            if table:
                out[table] = {"counts": [], "rates": {}, "nesting": [], "in_headline": []}
            continue
        if table is None:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| `") else []
        if len(cells) == 7 and cells[6] != "warehouse only":  # a figure on the website
            count, den, rate = cells[1].strip("`"), cells[3], cells[4].strip("`")
            own = re.match(r"`(\w+)` \(", den)
            out[table]["counts"] += [count, *([own[1]] if own else [])]
            if rate != "–":
                out[table]["rates"][rate] = (count, re.match(r"`(\w+)`", den)[1])
        m = re.match(r"^- `(\w+) <= (\w+)`$", line)
        if m:
            out[table]["nesting"].append((m[1], m[2]))
        m = re.match(r"^- `(\w+)` <= headline `(\w+)`$", line)
        if m:
            out[table]["in_headline"].append((m[1], m[2]))
    for t in out.values():  # a relation helps a reader only between figures the page shows
        t["nesting"] = [(a, b) for a, b in t["nesting"] if a in t["counts"] and b in t["counts"]]
    return out


STRUCTURE = public_structure(Path(__file__).resolve().parents[2] / "docs" / "figures.md")
HEADLINE = tuple(STRUCTURE["headline"]["counts"])
QUARTERLY = tuple(STRUCTURE["quarterly"]["counts"])
#: What the plan tells a reader about one row of the headline figures (small <= large).
HEADLINE_NESTING = tuple(STRUCTURE["headline"]["nesting"])
QUARTER_NESTING = tuple(STRUCTURE["quarterly"]["nesting"])
QUARTER_IN_HEADLINE = tuple(STRUCTURE["quarterly"]["in_headline"])
RATES = STRUCTURE["headline"]["rates"]
QUARTER_RATES = STRUCTURE["quarterly"]["rates"]


# --------------------------------------------------------------------------------------
# The warehouse at three cut-offs
# --------------------------------------------------------------------------------------
def _copy_marts(source: Path, target: Path) -> None:
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        for schema, table in [("ref", t) for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' AND schema_name = 'ref'"
        ).fetchall()] + [("marts", "employment_outcomes"), ("marts", "employment_outcomes_by_group"),
                         ("marts", "employment_rate_by_quarter"), ("marts", "costs"),
                         ("models", "km_time_to_first_job")]:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM src.{schema}.{table}")
        con.execute("DETACH src")


def _recompute_rates(con) -> None:
    for table, rates in (("marts.employment_outcomes", RATES), ("marts.employment_outcomes_by_group", RATES),
                         ("marts.employment_rate_by_quarter", QUARTER_RATES)):
        for rate, (num, den) in rates.items():
            con.execute(f"UPDATE {table} SET {rate} = CASE WHEN {den} > 0 THEN {num} / {den} END")


def _withdraw(con) -> str:
    """A client who never had a job withdraws: one fewer client in their county, in every
    breakdown and in every quarter they were served. Returns the county."""
    county, wave = con.execute(
        "SELECT alue, group_value FROM marts.employment_outcomes_by_group WHERE grouping = 'wave' AND alue <> 'ALL'"
        " AND n_clients > 0 ORDER BY n_clients - n_employed6_eligible - n_competitive - n_other_activity DESC,"
        " alue LIMIT 1").fetchone()
    for area in (county, "ALL"):
        con.execute("UPDATE marts.employment_outcomes SET n_clients = n_clients - 1 WHERE alue = ?", [area])
        for grouping in ("smi", "gender", "age_group", "wave"):
            value = wave if grouping == "wave" else con.execute(
                "SELECT group_value FROM marts.employment_outcomes_by_group WHERE alue = ? AND grouping = ?"
                " ORDER BY n_clients - n_employed6_eligible - n_competitive - n_other_activity DESC LIMIT 1",
                [county, grouping]).fetchone()[0]
            con.execute("UPDATE marts.employment_outcomes_by_group SET n_clients = n_clients - 1"
                        " WHERE alue = ? AND grouping = ? AND group_value = ?", [area, grouping, value])
    served = [q for (q,) in con.execute(
        "SELECT quarter FROM marts.employment_rate_by_quarter WHERE alue = ? AND quarter BETWEEN '2023Q3' AND"
        " '2024Q2' AND n_served > n_working ORDER BY quarter", [county]).fetchall()]
    for area in (county, "ALL"):
        con.execute("UPDATE marts.employment_rate_by_quarter SET n_served = n_served - 1 WHERE alue = ? AND"
                    f" quarter IN ({', '.join('?' for _ in served)})", [area, *served])
    # ... and the clients who started in a year (of the costs section), in a year with one without a job
    year = con.execute("SELECT vuosi FROM marts.costs WHERE alue = ? AND vuosi <> 'ALL' AND n_started > n_employed"
                       " ORDER BY n_started - n_employed DESC, vuosi LIMIT 1", [county]).fetchone()[0]
    con.execute("UPDATE marts.costs SET n_started = n_started - 1, cost_per_client = cost_eur / (n_started - 1)"
                " WHERE alue IN (?, 'ALL') AND vuosi IN (?, 'ALL')", [county, year])
    return county


def _late_job(con) -> tuple[str, str]:
    """A job reported late: a client already counted as employed was working in 2024Q1 too."""
    county = con.execute(
        "SELECT q.alue FROM marts.employment_rate_by_quarter q JOIN marts.employment_outcomes h USING (alue)"
        " WHERE q.quarter = '2024Q1' AND q.alue <> 'ALL' AND q.n_working < q.n_served"
        " AND q.n_working < h.n_competitive ORDER BY q.alue LIMIT 1").fetchone()[0]
    con.execute("UPDATE marts.employment_rate_by_quarter SET n_working = n_working + 1"
                " WHERE alue IN (?, 'ALL') AND quarter = '2024Q1'", [county])
    return county, "2024Q1"


@pytest.fixture(scope="module", params=["study", "three_times_the_counties"])
def releases(request, synthetic_study, tmp_path_factory):
    """The site published three times into one folder; returns it and what changed. On the
    synthetic study, and on its variant with every county split in three (33 counties, each
    about a third as large: many small counts, the hard case for complementary suppression)."""
    root = tmp_path_factory.mktemp("attacker")
    base = root / "base.duckdb"
    source = synthetic_study["warehouse"]
    if request.param == "three_times_the_counties":
        source = root / "variant.duckdb"
        source.write_bytes(synthetic_study["warehouse"].read_bytes())
        with duckdb.connect(str(source)) as con:
            split_counties(con, synthetic_study["config"].cutoff, parts=3)
            counties = con.execute("SELECT alue, n_clients, n_competitive FROM marts.employment_outcomes").fetchall()
        with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
            whole = con.execute("SELECT n_clients, n_competitive FROM marts.employment_outcomes WHERE alue = 'ALL'"
                                ).fetchone()
        # the same people in three times as many counties
        assert len(counties) == 34 and {r[1:] for r in counties if r[0] == "ALL"} == {whole}
    _copy_marts(source, base)
    site = root / "site"
    changed: dict[str, object] = {}
    warehouses = {}
    for quarter, cutoff in SNAPSHOTS.items():
        wh = root / f"{quarter}.duckdb"
        wh.write_bytes(base.read_bytes())
        with duckdb.connect(str(wh)) as con:
            con.execute("DELETE FROM marts.employment_rate_by_quarter WHERE quarter > ?", [quarter])
            if quarter >= "2024Q3":
                changed["withdrawn_from"] = _withdraw(con)
            if quarter >= "2024Q4":
                changed["late"] = _late_job(con)
            _recompute_rates(con)
        with duckdb.connect(str(wh), read_only=True) as con:
            build_site(con, site, cutoff, {"run_id": f"run-{quarter}", "code_version": "test",
                                           "input_fingerprint": quarter}, None)
        warehouses[quarter] = wh
    return {"site": site, "changed": changed, "warehouses": warehouses}


def read_release(site: Path, quarter: str) -> dict[str, pd.DataFrame]:
    data = site / quarter / "data"
    names = ["employment_outcomes", *(f"employment_outcomes_by_{g}" for g in GROUPINGS), "employment_rate_by_quarter",
             "county_costs"]
    return {n: pd.read_csv(data / f"{n}.csv", dtype=str, keep_default_na=False) for n in names}


# --------------------------------------------------------------------------------------
# The attacker
# --------------------------------------------------------------------------------------
class Attack:
    """Unknowns are the labelled counts, and the counts behind hidden per-client costs (no
    label: a whole number >= 0, `hidden`); published numbers are constants."""

    def __init__(self):
        self.var: dict[tuple, int] = {}
        self.label: dict[tuple, str] = {}
        self.known: dict[tuple, float] = {}
        self.rows: list[tuple[dict, str]] = []  # ({cell: coefficient}, "==" or "<=")
        self.small: dict[tuple, bool] = {}  # hidden counts: whether the true count is under T
        self.running: set[tuple] = set()  # counts of a year still running: only a small one is protected

    def cell(self, key: tuple, shown: str) -> None:
        if shown in ("<5", "..", ":"):  # ":": withheld, the page states nothing about its size
            if key not in self.var:
                self.var[key] = len(self.var)
                self.label[key] = shown
        else:
            self.known[key] = float(shown)

    def hidden(self, key: tuple, small: bool, running: bool = False) -> None:
        """A count the page does not state (a hidden cost per client, or a count of a year the
        page does not show); `small`: the truth, for judging the result only. `running`: a
        count of the year still running, which the plan protects only when under T."""
        self.var[key] = len(self.var)
        self.label[key] = "hidden"
        self.small[key] = small
        if running:
            self.running.add(key)

    def learns_nothing(self, key: tuple, lo: float, hi: float) -> bool:
        """A `<5` cell keeps 0..4, any other unknown a range at least T wide, except a hidden
        count under T, which must keep 0..4 too."""
        if self.label[key] == "<5" or self.small.get(key):
            return lo <= 0 and hi >= T - 1
        if self.label[key] == ":":  # either reading: it might be under T, or not
            return (lo <= 0 and hi >= T - 1) or hi - lo >= T
        return key in self.running or hi - lo >= T

    def relation(self, coefs: dict, sense: str) -> None:
        self.rows.append((coefs, sense))

    def ranges(self) -> dict[tuple, tuple[float, float]]:
        """Smallest and largest whole value of every unknown, one linked group at a time."""
        parent = list(range(len(self.var)))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for coefs, _ in self.rows:
            linked = [self.var[k] for k in coefs if k in self.var]
            for j in linked[1:]:
                parent[find(j)] = find(linked[0])
        groups: dict[int, list[tuple]] = {}
        for key, j in self.var.items():
            groups.setdefault(find(j), []).append(key)
        out = {}
        for keys in groups.values():
            out.update(self._solve(keys))
        return out

    def _solve(self, keys: list[tuple]) -> dict[tuple, tuple[float, float]]:
        var = {k: j for j, k in enumerate(keys)}
        n = len(var)
        # sparse rows (row, column, coefficient): a relation names a handful of the unknowns
        entries = {"==": ([], [], []), "<=": ([], [], [])}
        rhs_of = {"==": [], "<=": []}
        for coefs, sense in self.rows:
            if not any(k in var for k in coefs):
                continue
            rows, cols, vals = entries[sense]
            i, rhs = len(rhs_of[sense]), 0.0
            for key, a in coefs.items():
                if key in var:
                    rows.append(i), cols.append(var[key]), vals.append(a)
                elif key in self.var:
                    raise AssertionError("a relation across two groups")
                else:
                    rhs -= a * self.known[key]
            rhs_of[sense].append(rhs)

        def matrix(sense):
            rows, cols, vals = entries[sense]
            return sparse.csr_array((vals, (rows, cols)), shape=(len(rhs_of[sense]), n))

        a_eq, a_ub = matrix("=="), matrix("<=")
        b_eq, b_ub = rhs_of["=="], rhs_of["<="]
        lower = np.array([float(T) if self.label[k] == ".." else 0.0 for k in var])
        upper = np.array([T - 1.0 if self.label[k] == "<5" else np.inf for k in var])
        lp = dict(A_eq=a_eq if b_eq else None, b_eq=b_eq or None, A_ub=a_ub if b_ub else None,
                  b_ub=b_ub or None, bounds=list(zip(lower, [None if math.isinf(u) else u for u in upper])))
        both = sparse.vstack([a_eq, a_ub], format="csr")
        ilp = dict(constraints=[LinearConstraint(both, np.r_[b_eq, np.full(len(b_ub), -np.inf)], np.r_[b_eq, b_ub])]
                   if both.shape[0] else [], integrality=np.ones(n), bounds=Bounds(lower, upper))

        # every whole-number table found is one the reader cannot rule out: a cell it already
        # shows wide enough needs no more programmes (the reader cannot narrow it further)
        seen_lo, seen_hi = np.full(n, np.inf), np.full(n, -np.inf)

        def best(objective):
            res = linprog(objective, method="highs", **lp)
            if res.status == 3:
                return -math.inf
            assert res.status == 0, res.message
            if not np.allclose(res.x, np.round(res.x), atol=1e-7):
                res = milp(objective, **ilp)
                assert res.status == 0, res.message
            np.minimum(seen_lo, res.x, out=seen_lo)
            np.maximum(seen_hi, res.x, out=seen_hi)
            return res.fun

        # two probes push every unknown down, then up (within a cap, so that the optimum is
        # finite; a table within tighter bounds is still one the reader cannot rule out)
        for sign in (1, -1):
            cap = upper if sign == 1 else np.minimum(upper, lower + 3 * T)
            res = linprog(sign * np.ones(n), method="highs", **{**lp, "bounds": list(zip(lower, cap))})
            if res.status == 0 and np.allclose(res.x, np.round(res.x), atol=1e-7):
                np.minimum(seen_lo, res.x, out=seen_lo)
                np.maximum(seen_hi, res.x, out=seen_hi)
        out = {}
        for key, j in var.items():
            if self.learns_nothing(key, seen_lo[j], seen_hi[j]):
                out[key] = (round(seen_lo[j]), round(seen_hi[j]))
                continue
            objective = np.zeros(n)
            objective[j] = 1
            lo = best(objective)
            if self.learns_nothing(key, lo, seen_hi[j]):
                out[key] = (round(lo), round(seen_hi[j]))
                continue
            negative_max = best(-objective)
            out[key] = (round(lo), math.inf if math.isinf(negative_max) else round(-negative_max))
        return out


#: The costs download: per-client figure -> the count it divides by (the page shows the cost,
#: so a shown figure gives the count away as cost / figure).
COST_FIGURES = {"cost_per_client": "n_started", "cost_per_employed": "n_employed",
                "cost_per_unsubsidised": "n_unsubsidised"}
#: A county's costs counts over all years are its headline counts (every start year has costs).
COSTS_IN_HEADLINE = {"n_started": "n_clients", "n_employed": "n_competitive", "n_unsubsidised": "n_unsubsidised"}


def read_costs(atk: Attack, quarter: str, costs: pd.DataFrame, truth: dict[tuple, int],
               first_shown: dict[str, str], cutoff: dt.date) -> None:
    """The counts behind the costs section, with what the plan tells a reader. A year is shown
    once completed by the cut-off and repeated as first shown, so its counts are one figure across snapshots
    ("K", county, year); the all-years rows are sums of the years shown and add nothing. Per
    snapshot, the counts of every year as the warehouse had them then ("now": the year first
    shown in it, or unknowns for a year repeated or still running) add up over the years to
    that snapshot's headline counts and over the counties to ALL, and the employed are among
    those who started and the unsubsidised among the employed."""
    years = costs[costs["vuosi"] != "ALL"]
    for _, r in years.iterrows():
        first_shown.setdefault(r["vuosi"], quarter)
        for figure, count in COST_FIGURES.items():
            key = ("K", r["alue"], r["vuosi"], count)
            if key in atk.var or key in atk.known:
                continue
            if r[figure] == "..":
                atk.hidden(key, truth[(r["alue"], r["vuosi"], count)] < T)
            else:
                assert r[figure] != "" and r["cost_eur"] != ""
                atk.known[key] = round(float(r["cost_eur"]) / float(r[figure]))
    rows = [(a, v) for a, v, _ in truth if v != "ALL"]
    now = {}
    for a, v in dict.fromkeys(rows):
        for count in COST_FIGURES.values():
            if first_shown.get(v) == quarter:
                now[(a, v, count)] = ("K", a, v, count)
            else:
                now[(a, v, count)] = (quarter, "now", a, v, count)
                atk.hidden(now[(a, v, count)], truth[(a, v, count)] < T, running=dt.date(int(v), 12, 31) > cutoff)
    for count in COST_FIGURES.values():
        for v in {v for _, v in rows}:
            atk.relation({**{now[(a, v, count)]: 1 for a, w in rows if w == v and a != "ALL"},
                          now[("ALL", v, count)]: -1}, "==")
        for a in {a for a, _ in rows}:
            atk.relation({**{now[(a, v, count)]: 1 for b, v in rows if b == a},
                          (quarter, "C", a, COSTS_IN_HEADLINE[count]): -1}, "==")
    for a, v in dict.fromkeys(rows):
        for cell in (now, {(a, v, c): ("K", a, v, c) for c in COST_FIGURES.values()}):
            if cell[(a, v, "n_started")] in atk.var or cell[(a, v, "n_started")] in atk.known:
                atk.relation({cell[(a, v, "n_employed")]: 1, cell[(a, v, "n_started")]: -1}, "<=")
                atk.relation({cell[(a, v, "n_unsubsidised")]: 1, cell[(a, v, "n_employed")]: -1}, "<=")


def attack(releases_by_quarter: dict[str, dict[str, pd.DataFrame]], waves: dict[str, set[str]],
           costs_truth: dict[str, dict[tuple, int]]) -> Attack:
    atk = Attack()
    first_published: dict[str, str] = {}
    first_shown: dict[str, str] = {}  # costs: year -> the release that first showed it
    for quarter, tables in releases_by_quarter.items():
        county = tables["employment_outcomes"]
        for _, r in county.iterrows():
            for c in HEADLINE:
                atk.cell((quarter, "C", r["alue"], c), r[c])
        for g in GROUPINGS:
            for _, r in tables[f"employment_outcomes_by_{g}"].iterrows():
                for c in HEADLINE:
                    atk.cell((quarter, g, r["group_value"], c), r[c])
        q = tables["employment_rate_by_quarter"]
        for _, r in q.iterrows():
            first_published.setdefault(r["quarter"], quarter)
            for c in QUARTERLY:
                atk.cell(("Q", r["alue"], r["quarter"], c), r[c])  # one figure across snapshots
        areas = [a for a in county["alue"] if a != "ALL"]
        for c in HEADLINE:
            atk.relation({**{(quarter, "C", a, c): 1 for a in areas}, (quarter, "C", "ALL", c): -1}, "==")
            for g in GROUPINGS:
                values = list(tables[f"employment_outcomes_by_{g}"]["group_value"])
                atk.relation({**{(quarter, g, v, c): 1 for v in values}, (quarter, "C", "ALL", c): -1}, "==")
            for w in tables["employment_outcomes_by_wave"]["group_value"]:
                if w in waves:
                    atk.relation({**{(quarter, "C", a, c): 1 for a in waves[w] if a in areas},
                                  (quarter, "wave", w, c): -1}, "==")
        for small, large in HEADLINE_NESTING:
            for a in county["alue"]:
                atk.relation({(quarter, "C", a, small): 1, (quarter, "C", a, large): -1}, "<=")
            for g in GROUPINGS:
                for v in tables[f"employment_outcomes_by_{g}"]["group_value"]:
                    atk.relation({(quarter, g, v, small): 1, (quarter, g, v, large): -1}, "<=")
        for qq, rows in q.groupby("quarter"):
            for c in QUARTERLY:
                parts = [a for a in rows["alue"] if a != "ALL"]
                atk.relation({**{("Q", a, qq, c): 1 for a in parts}, ("Q", "ALL", qq, c): -1}, "==")
            for a in rows["alue"]:
                for small, large in QUARTER_NESTING:
                    atk.relation({("Q", a, qq, small): 1, ("Q", a, qq, large): -1}, "<=")
                if first_published[qq] == quarter:  # within the headline of the release that published it
                    for small, large in QUARTER_IN_HEADLINE:
                        atk.relation({("Q", a, qq, small): 1, (quarter, "C", a, large): -1}, "<=")
        read_costs(atk, quarter, tables["county_costs"], costs_truth[quarter], first_shown, SNAPSHOTS[quarter])
    return atk


def test_three_releases_reveal_nothing_beyond_their_labels(releases, synthetic_study):
    site = releases["site"]
    published = {q: read_release(site, q) for q in SNAPSHOTS}
    with duckdb.connect(str(releases["warehouses"]["2024Q4"]), read_only=True) as con:
        membership = con.execute("SELECT alue, group_value FROM marts.employment_outcomes_by_group"
                                 " WHERE grouping = 'wave' AND alue <> 'ALL' AND n_clients > 0").fetchall()
    waves: dict[str, set[str]] = {}
    for area, wave in membership:
        waves.setdefault(wave, set()).add(area)

    # differencing: every figure two releases both show is the same in both
    for a, b in itertools.combinations(SNAPSHOTS, 2):
        qa = published[a]["employment_rate_by_quarter"].set_index(["alue", "quarter"])
        qb = published[b]["employment_rate_by_quarter"].set_index(["alue", "quarter"])
        common = qa.index.intersection(qb.index)
        assert len(common) > 0
        pd.testing.assert_frame_equal(qa.loc[common], qb.loc[common], obj=f"{a} vs {b}")
        # the costs section: every year both show is the same, and so are the all-years rows
        # when both show the same years (they are sums of the years shown)
        ca = published[a]["county_costs"].set_index(["alue", "vuosi"])
        cb = published[b]["county_costs"].set_index(["alue", "vuosi"])
        common = ca.index.intersection(cb.index)
        years_a, years_b = (set(c.index.get_level_values("vuosi")) for c in (ca, cb))
        if years_a != years_b:
            common = common[common.get_level_values("vuosi") != "ALL"]
        assert len(common) > 0
        pd.testing.assert_frame_equal(ca.loc[common], cb.loc[common], obj=f"costs {a} vs {b}")
    # ... although the warehouse did change them (the withdrawal and the late job)
    county = releases["changed"]["withdrawn_from"]
    late_county, late_quarter = releases["changed"]["late"]
    served = {}
    for q in ("2024Q2", "2024Q4"):
        with duckdb.connect(str(releases["warehouses"][q]), read_only=True) as con:
            served[q] = con.execute("SELECT n_served FROM marts.employment_rate_by_quarter WHERE alue = ?"
                                    " AND quarter = '2024Q1'", [county]).fetchone()[0]
    assert served["2024Q4"] == served["2024Q2"] - 1

    # the linear programme over everything ever published, the costs section included
    costs_truth = {}
    for q in SNAPSHOTS:
        with duckdb.connect(str(releases["warehouses"][q]), read_only=True) as con:
            rows = con.execute("SELECT alue, vuosi, n_started, n_employed, n_unsubsidised FROM marts.costs").fetchall()
        costs_truth[q] = {(a, v, c): n for a, v, *ns in rows for c, n in zip(COST_FIGURES.values(), ns)}
    atk = attack(published, waves, costs_truth)
    assert len(atk.var) > 50 and len(atk.small) > 10
    narrowed = [(key, atk.label[key], lo, hi) for key, (lo, hi) in atk.ranges().items()
                if not atk.learns_nothing(key, lo, hi)]
    assert not narrowed, narrowed[:10]


def test_the_curves_hide_each_event(releases):
    """Reading the curve back: between two published times at least T first jobs happen,
    numbers at risk are multiples of 5, and the curve stops while T are still at risk."""
    for quarter in SNAPSHOTS:
        path = releases["site"] / quarter / "data" / "time_to_first_job_curve.csv"
        curve = pd.read_csv(path)
        with duckdb.connect(str(releases["warehouses"][quarter]), read_only=True) as con:
            steps = con.execute("SELECT time, n_at_risk, n_events FROM models.km_time_to_first_job"
                                " WHERE \"group\" = 'ALL' ORDER BY time").df()
        assert len(curve) >= 2
        assert (curve["n_at_risk"] % 5 == 0).all() and (curve["n_at_risk"] >= T).all()
        last_with_T = steps.loc[steps["n_at_risk"] >= T, "time"].max()
        assert curve["time"].max() <= round(last_with_T)
        previous = -np.inf
        for t in curve["time"]:
            events = steps.loc[(steps["time"].round() > previous) & (steps["time"].round() <= t), "n_events"].sum()
            assert events >= T, (quarter, t, events)
            previous = t
