"""The attacker as a test (docs/analysis_plan.md, disclosure rules 3, 5 and 8).

Four quarterly snapshots (cut-offs 2024-06-30, 2024-09-30, 2024-12-31, 2025-03-31) of the
synthetic study and of its variant with every county split in three are published into one
folder each, as the quarterly refresh would: the warehouse is built once (the session's
synthetic study), and per cut-off only what depends on the cut-off is rebuilt (the
cut-off-bound staging tables, the core and mart tables of the site, the Kaplan-Meier steps
and the paired score change), then the site is published by `build_site` with
`figures_only`: every figure computed, protected, audited, scanned and read back by the next
release as in a full build, without the charts and language downloads, which draw and
relabel those same tables and are tested with the site. Consent withdrawals are planted
between the snapshots in a county closed to new starters. Then a reader who kept every
snapshot and knows the study's structure attacks the published files only:

- an integer linear programme over every hidden count of every snapshot, with the bounds
  the page states and every relation the study tells a reader - read here from its published
  figure list (docs/figures.md) and written from the plan, independently of the suppression
  code: sums and nesting, the costs section, structural zeros (quarters before a county's
  first start, a county-year without a costs row), the calendar (eligibility at 30 June and
  31 December as sums of whole start years), counts of cohorts closed to new starters,
  which can fall only by the withdrawals, and the costs' revision sums (an area's repeated
  years as the warehouse has them now, against their sum as first shown: no reader may know
  it to differ by 1..T-1 people);
- differencing every pair of snapshots: no published count, mean or curve changes by the
  outcome of fewer than T people;
- reading the events of each step back from the time-to-first-job curve.

It must learn nothing beyond the stated ranges. Each site, the study's and the variant's, is
published at every quarter end from 2023-03-31 to 2025-03-31 (one site holding them all,
itself a test: every quarterly refresh publishes); the attacker's four snapshots are the last
four, and the earlier ones tell it which release first showed each past quarter and costs
year. And the attacker is shown to find a leak: when complementary suppression is undone in
one column of the newest county table, it reads the `<5` count left there.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.definitions import quarter_label
from ips_eval.publish.site.build import build_site
from ips_eval.synth.variants import site_marts, split_counties
from ips_eval.warehouse.tables import build_table, cutoff_bound

pytestmark = pytest.mark.slow

SNAPSHOTS = {"2024Q2": dt.date(2024, 6, 30), "2024Q3": dt.date(2024, 9, 30), "2024Q4": dt.date(2024, 12, 31),
             "2025Q1": dt.date(2025, 3, 31)}
#: Every quarter end of the long test; the attacker's four are its last four.
QUARTER_ENDS = [dt.date(y, m, d) for y in (2023, 2024) for m, d in ((3, 31), (6, 30), (9, 30), (12, 31))] \
    + [dt.date(2025, 3, 31)]
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
# The warehouse at each cut-off: built once, only the cut-off's part rebuilt
# --------------------------------------------------------------------------------------
#: What a release at another cut-off rebuilds (`cutoff_bound`): the tables behind the site's
#: marts and the models' inputs, but not the staging tables that hold the delivery as loaded
#: (the variant's moved clients and the planted withdrawals live there).
def _cutoff_tables() -> tuple:
    return cutoff_bound([*site_marts(), "core.client_outcomes", "marts.client_scores"])


def _models(con) -> None:
    """The two model outputs the site shows, at the warehouse's cut-off: the Kaplan-Meier steps
    of all counties and the paired score change (the models' own functions, without the
    Cox and mixed models the site does not show)."""
    from ips_eval.models.registry import MODELS
    from ips_eval.models.scores import SCORE_NAMES, _paired_change, load_scores
    from ips_eval.models.survival import km_fit, km_step_table

    d = MODELS["time_to_first_job"].load_frame(con).dropna(subset=["ttf_days", "ttf_event"])
    km = km_step_table(km_fit(d["ttf_days"], d["ttf_event"].astype(bool)), "ALL")
    scores = load_scores(con)
    change = pd.concat([_paired_change(scores, s) for s in SCORE_NAMES], ignore_index=True)
    for table, frame in (("models.km_time_to_first_job", km), ("models.score_change", change)):
        con.register("frame", frame)
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
        con.unregister("frame")


def _plant_withdrawals(con) -> dict[str, object]:
    """Consent withdrawals between the snapshots, in a county closed to new starters (every
    client started before 2023-06-30): one client with a job withdraws in 2024Q3 and one in
    2025Q1; a client of another such county in 2024Q4."""
    closed = [a for (a,) in con.execute(
        "SELECT alue FROM core.client_outcomes GROUP BY alue HAVING max(ips_start) < DATE '2023-06-30'"
        " AND count(*) >= 12 ORDER BY count(*) DESC, alue").fetchall()]
    assert len(closed) >= 2, closed
    planted = {}
    for county, day in ((closed[0], "2024-08-15"), (closed[0], "2025-02-10"), (closed[1], "2024-11-20")):
        person = con.execute(
            "SELECT person_id FROM core.client_outcomes WHERE alue = ? AND competitive AND person_id NOT IN"
            " (SELECT person_id FROM staging.clients WHERE suostumus_peruttu IS NOT NULL)"
            " ORDER BY person_id LIMIT 1", [county]).fetchone()[0]
        con.execute("UPDATE staging.clients SET suostumus_peruttu = CAST(? AS DATE) WHERE person_id = ?", [day, person])
        planted[person] = (county, day)
    return planted


def publish_quarters(source: Path, root: Path, cutoffs: list[dt.date], variant: bool, study_cutoff: dt.date
                     ) -> dict:
    """A copy of the warehouse (split in three counties per county for the variant), the
    withdrawals planted, and one publication per cut-off into `root / "site"`. Returns the
    site, what was planted, the warehouses at each cut-off and the seconds each step took."""
    import time

    base = root / "base.duckdb"
    shutil.copyfile(source, base)
    with duckdb.connect(str(base)) as con:
        if variant:
            split_counties(con, study_cutoff, parts=3)
        planted = _plant_withdrawals(con)
    site, warehouses, seconds = root / "site", {}, {}
    tables = _cutoff_tables()
    for cutoff in cutoffs:
        label = quarter_label(cutoff)
        wh = root / f"{label}.duckdb"
        shutil.copyfile(base, wh)
        started = time.perf_counter()
        with duckdb.connect(str(wh)) as con:
            for t in tables:
                build_table(con, t, cutoff)
            _models(con)
        built = time.perf_counter()
        with duckdb.connect(str(wh), read_only=True) as con:
            build_site(con, site, cutoff, {"run_id": f"run-{label}", "code_version": "test",
                                           "input_fingerprint": label}, None, figures_only=True)
        seconds[label] = (round(built - started, 1), round(time.perf_counter() - built, 1))
        warehouses[label] = wh
    return {"site": site, "planted": planted, "warehouses": warehouses, "seconds": seconds}


#: The studies whose sites are published at every quarter end (the attacker reads the last four).
STUDIES = ("study", "three_times_the_counties")


@pytest.fixture(scope="module", params=STUDIES)
def releases(request, synthetic_study, tmp_path_factory, worker_id):
    """`QUARTER_ENDS` published into one site, on the synthetic study and on
    its variant with every county split in three (33 counties, each about a third as large:
    many small counts, the hard case for complementary suppression). The attacker's four
    snapshots are the last four. Published once per session: under xdist the first worker to
    need them publishes, another one waits on a lock and reads them (as `synthetic_study`)."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / f"attacker-{request.param}"
    done = root / "built.json"
    with FileLock(str(root) + ".lock"):
        if not done.exists():
            root.mkdir(parents=True, exist_ok=True)
            out = publish_quarters(synthetic_study["warehouse"], root, QUARTER_ENDS,
                                   request.param != "study", synthetic_study["config"].cutoff)
            print(f"{request.param}: seconds per snapshot (rebuild, publish) {out['seconds']}")
            done.write_text(json.dumps({"planted": out["planted"], "quarters": list(out["warehouses"])}))
    built = json.loads(done.read_text())
    assert built["quarters"][-len(SNAPSHOTS):] == list(SNAPSHOTS)
    return {"site": root / "site", "planted": {k: tuple(v) for k, v in built["planted"].items()},
            "warehouses": {q: root / f"{q}.duckdb" for q in built["quarters"]}}


def test_a_release_at_every_quarter_end_publishes_into_one_site(releases):
    """The quarterly refresh at each of the study's quarter ends publishes (no refusal, no stuck search), and
    the one site holds every snapshot, its history lists them all, the root shows the newest."""
    site = releases["site"]
    quarters = list(releases["warehouses"])
    assert sorted(p.name for p in site.iterdir() if re.fullmatch(r"\d{4}Q\d", p.name)) == quarters
    history = (site / "history.html").read_text(encoding="utf-8")
    for q in quarters:
        assert (site / q / "index.html").is_file() and (site / q / "data" / "employment_outcomes.csv").is_file()
        assert f"{q}/index.html" in history
    assert f"{quarters[-1]}/" in (site / "index.html").read_text(encoding="utf-8")


def read_release(site: Path, quarter: str) -> dict[str, pd.DataFrame]:
    data = site / quarter / "data"
    names = ["employment_outcomes", *(f"employment_outcomes_by_{g}" for g in GROUPINGS), "employment_rate_by_quarter",
             "county_costs", "score_change", "time_to_first_job_curve"]
    return {n: pd.read_csv(data / f"{n}.csv", dtype=str, keep_default_na=False) for n in names
            if (data / f"{n}.csv").is_file()}


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
        self.empty: set[tuple] = set()  # counts of a row with nobody in it: they tell of no one
        self.revisions: dict[tuple, float] = {}  # a sum of current counts -> the same sum as first shown

    def cell(self, key: tuple, shown: str) -> None:
        if shown in ("<5", "..", ":"):  # ":": withheld, the page states nothing about its size
            if key not in self.var:
                self.var[key] = len(self.var)
                self.label[key] = shown
        else:
            self.known[key] = float(shown)

    def hidden(self, key: tuple, small: bool, running: bool = False, empty: bool = False) -> None:
        """A count the page does not state (a hidden cost per client, or a count of a year the
        page does not show); `small`: the truth, for judging the result only. `running`: a
        count of the year still running, which the plan protects only when under T."""
        self.var[key] = len(self.var)
        self.label[key] = "hidden"
        self.small[key] = small
        if running:
            self.running.add(key)
        if empty:  # nobody started in that county and year: a count of no one
            self.empty.add(key)

    def revision(self, key: tuple, first_shown: float) -> None:
        """A sum of counts as the warehouse has them now whose sum as first shown the page
        states (`first_shown`): the difference is the people withdrawn or delivered late since."""
        self.var[key] = len(self.var)
        self.label[key] = "revision"
        self.revisions[key] = first_shown

    def learns_nothing(self, key: tuple, lo: float, hi: float) -> bool:
        """A `<5` cell keeps 0..4, any other unknown a range at least T wide, except a hidden
        count under T, which must keep 0..4 too. A revision may be 0 as far as the reader
        knows, or T or more: it must not be known to be 1..T-1 people either way."""
        if key in self.revisions:
            lo, hi = lo - self.revisions[key], hi - self.revisions[key]
            return lo <= 0 <= hi or hi >= T or lo <= -T
        if key in self.empty:
            return lo <= 0
        if self.label[key] == "<5" or self.small.get(key):
            return lo <= 0 and hi >= T - 1
        if self.label[key] == ":":  # either reading: it might be under T, or not
            return (lo <= 0 and hi >= T - 1) or hi - lo >= T
        return key in self.running or hi - lo >= T

    def relation(self, coefs: dict, sense: str) -> None:
        self.rows.append((coefs, sense))

    def ranges(self, of: tuple | None = None) -> dict[tuple, tuple[float, float]]:
        """Smallest and largest whole value of every unknown, one linked group at a time (`of`:
        of the unknowns linked to that one only)."""
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
            if of is None or of in keys:
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

        def unproven() -> np.ndarray:
            return np.array([not self.learns_nothing(k, seen_lo[j], seen_hi[j]) for k, j in var.items()])

        # probes push many unknowns at once: every unknown down, then (within a cap above that
        # table, so that the optimum is finite; a table within tighter bounds is still one the
        # reader cannot rule out) every unknown up, then those not yet seen wide enough down
        # and up, then in mixed directions (a fixed draw)
        first = linprog(np.ones(n), method="highs", **lp)
        cap = np.minimum(upper, np.maximum(lower, first.x if first.status == 0 else lower) + 3 * T)
        draw = np.random.default_rng(0)
        for round_ in range(PROBES if first.status == 0 else 0):
            todo = np.ones(n, dtype=bool) if round_ < 2 else unproven()
            if not todo.any():
                break
            sign = 1 if round_ % 2 == 0 else -1
            objective = np.where(todo, sign if round_ < 4 else draw.choice([-1.0, 1.0], n), 0.0)
            res = first if round_ == 0 else linprog(objective, method="highs", **{**lp, "bounds": list(zip(lower, cap))})
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


#: The probes of a group's programme before one programme per unknown (`Attack._solve`).
PROBES = 24


#: The costs download: per-client figure -> the count it divides by (the page shows the cost,
#: so a shown figure gives the count away as cost / figure).
COST_FIGURES = {"cost_per_client": "n_started", "cost_per_employed": "n_employed",
                "cost_per_unsubsidised": "n_unsubsidised"}
#: A county's costs counts over all years are its headline counts (every start year has costs).
COSTS_IN_HEADLINE = {"n_started": "n_clients", "n_employed": "n_competitive", "n_unsubsidised": "n_unsubsidised"}


def read_costs(atk: Attack, quarter: str, costs: pd.DataFrame, truth: dict[tuple, int],
               first_shown: dict[str, str], cutoff: dt.date) -> dict[tuple, tuple]:
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
                atk.hidden(key, truth[(r["alue"], r["vuosi"], count)] < T,
                           empty=truth[(r["alue"], r["vuosi"], "n_started")] == 0)
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
                atk.hidden(now[(a, v, count)], truth[(a, v, count)] < T, running=dt.date(int(v), 12, 31) > cutoff,
                           empty=truth[(a, v, "n_started")] == 0)
    for count in COST_FIGURES.values():
        for v in {v for _, v in rows}:
            atk.relation({**{now[(a, v, count)]: 1 for a, w in rows if w == v and a != "ALL"},
                          now[("ALL", v, count)]: -1}, "==")
        for a in {a for a, _ in rows}:
            atk.relation({**{now[(a, v, count)]: 1 for b, v in rows if b == a},
                          (quarter, "C", a, COSTS_IN_HEADLINE[count]): -1}, "==")
    # the revision sums: an area's repeated years as the warehouse has them now against the
    # same years as first shown (withdrawals and late clients since they were shown)
    for a in dict.fromkeys(a for a, _ in rows):
        repeated = [v for b, v in dict.fromkeys(rows) if b == a and v in first_shown and first_shown[v] != quarter
                    and dt.date(int(v), 12, 31) <= cutoff]
        for count in COST_FIGURES.values():
            shown = [("K", a, v, count) for v in repeated]
            if repeated and all(k in atk.known for k in shown):
                key = (quarter, "revision", a, count)
                atk.revision(key, sum(atk.known[k] for k in shown))
                atk.relation({key: 1, **{now[(a, v, count)]: -1 for v in repeated}}, "==")
    for a, v in dict.fromkeys(rows):
        for cell in (now, {(a, v, c): ("K", a, v, c) for c in COST_FIGURES.values()}):
            if cell[(a, v, "n_started")] in atk.var or cell[(a, v, "n_started")] in atk.known:
                atk.relation({cell[(a, v, "n_employed")]: 1, cell[(a, v, "n_started")]: -1}, "<=")
                atk.relation({cell[(a, v, "n_unsubsidised")]: 1, cell[(a, v, "n_employed")]: -1}, "<=")
    return now


#: The plan's calendar: k-month eligibility is S + k months <= the cut-off, so at 31 December
#: the 12-month and at 30 June the 6-month eligibility count the clients who started in the
#: years before the cut-off's year.
CALENDAR = {(12, 31): "n_employed12_eligible", (6, 30): "n_employed6_eligible"}
#: Counts of people defined by their start date alone (S + k months <= the cut-off).
BY_START_DATE = ("n_employed6_eligible", "n_employed12_eligible")
#: Counts that only rise for the same people (a job found stays found, an eligibility
#: reached stays reached): in a county closed to new starters they fall only by withdrawals.
MONOTONE = tuple(c for c in HEADLINE if c != "n_clients")


def structural_zeros(con, costs: pd.DataFrame) -> set[tuple[str, str]]:
    """(county, quarter) rows a reader knows to hold 0: quarters before the county's first
    start (the waves' start dates are public), and quarters of a year the published costs
    section shows with no row of the county (nobody was served)."""
    first = dict(con.execute("SELECT alue, min(quarter) FROM marts.employment_rate_by_quarter WHERE alue <> 'ALL'"
                             " GROUP BY alue").fetchall())
    quarters = [q for (q,) in con.execute("SELECT DISTINCT quarter FROM marts.employment_rate_by_quarter").fetchall()]
    counties = set(first) | {a for (a,) in con.execute("SELECT alue FROM marts.employment_outcomes"
                                                       " WHERE alue <> 'ALL'").fetchall()}
    out = {(a, q) for a in counties for q in quarters if a not in first or q < first[a]}
    rows = {(r["alue"], r["vuosi"]) for _, r in costs.iterrows() if r["vuosi"] != "ALL"}
    for year in {v for _, v in rows}:
        out |= {(a, q) for a in counties for q in quarters if q[:4] == year and (a, year) not in rows}
    return out


def attack(releases_by_quarter: dict[str, dict[str, pd.DataFrame]], waves: dict[str, set[str]],
           costs_truth: dict[str, dict[tuple, int]], headline_truth: dict[str, dict[tuple, int]],
           zeros: set[tuple[str, str]], seen_before: dict[str, dict[str, pd.DataFrame]] | None = None) -> Attack:
    """The programme over the snapshots `releases_by_quarter`; `seen_before`: the snapshots the
    site published before them, which tell which release first showed each past quarter and
    each costs year (a figure repeated since is one figure; one first shown earlier is not
    linked to the attacked releases' headline)."""
    atk = Attack()
    first_published: dict[str, str] = {}
    first_shown: dict[str, str] = {}  # costs: year -> the release that first showed it
    for quarter, tables in (seen_before or {}).items():
        for qq in tables["employment_rate_by_quarter"]["quarter"]:
            first_published.setdefault(qq, quarter)
        for v in tables["county_costs"]["vuosi"]:
            if v != "ALL":
                first_shown.setdefault(v, quarter)
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
                if (r["alue"], r["quarter"]) in zeros:  # a structural zero is known
                    assert r[c] in ("<5", "0"), (quarter, r["alue"], r["quarter"], c, r[c])
                    atk.known[("Q", r["alue"], r["quarter"], c)] = 0.0
                else:
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
        now = read_costs(atk, quarter, tables["county_costs"], costs_truth[quarter], first_shown, SNAPSHOTS[quarter])
        cutoff = SNAPSHOTS[quarter]
        column = CALENDAR.get((cutoff.month, cutoff.day))
        if column in HEADLINE:  # the calendar: eligibility as a sum of whole start years
            for a in county["alue"]:
                years = [v for (b, v, c) in now if b == a and c == "n_started" and int(v) < cutoff.year]
                if sum(costs_truth[quarter][(a, v, "n_started")] for v in years) == headline_truth[quarter][(a, column)]:
                    atk.relation({(quarter, "C", a, column): 1, **{now[(a, v, "n_started")]: -1 for v in years}}, "==")
    # a count of people defined by their start date alone that is 0 (nobody started long
    # enough ago, which the public start dates tell), and one within it, tells of no one
    for quarter in releases_by_quarter:
        h = headline_truth[quarter]
        for (a, c), n in h.items():
            key = (quarter, "C", a, c)
            if n == 0 and key in atk.var and (c in BY_START_DATE or any(
                    c == small and large in BY_START_DATE and h[(a, large)] == 0 for small, large in HEADLINE_NESTING)):
                atk.empty.add(key)
    # closed cohorts across consecutive snapshots: clients only fall, the other counts fall
    # at most by the withdrawals (where the reader sees the cohort closed, and it is true)
    quarters = list(releases_by_quarter)
    for p, q in zip(quarters, quarters[1:]):
        cp, cq = (releases_by_quarter[x]["employment_outcomes"].set_index("alue") for x in (p, q))
        for a in cp.index.intersection(cq.index):
            if a == "ALL" or not all(str(t.at[a, c]).isdigit() for t in (cp, cq)
                                     for c in ("n_clients", "n_employed12_eligible")):
                continue
            if any(int(t.at[a, "n_clients"]) != int(t.at[a, "n_employed12_eligible"]) for t in (cp, cq)):
                continue
            atk.relation({(q, "C", a, "n_clients"): 1, (p, "C", a, "n_clients"): -1}, "<=")
            hp, hq = headline_truth[p], headline_truth[q]
            for c in MONOTONE:
                if hq[(a, c)] >= hp[(a, c)] - (hp[(a, "n_clients")] - hq[(a, "n_clients")]):
                    atk.relation({(p, "C", a, c): 1, (q, "C", a, c): -1, (p, "C", a, "n_clients"): -1,
                                  (q, "C", a, "n_clients"): 1}, "<=")
    return atk




def _truth(warehouses: dict[str, Path]) -> tuple[dict, dict]:
    costs, headline = {}, {}
    for q in SNAPSHOTS:
        with duckdb.connect(str(warehouses[q]), read_only=True) as con:
            rows = con.execute("SELECT alue, vuosi, n_started, n_employed, n_unsubsidised FROM marts.costs").fetchall()
            costs[q] = {(a, v, c): n for a, v, *ns in rows for c, n in zip(COST_FIGURES.values(), ns)}
            h = con.execute(f"SELECT alue, {', '.join(HEADLINE)} FROM marts.employment_outcomes").fetchall()
            headline[q] = {(r[0], c): n for r in h for c, n in zip(HEADLINE, r[1:])}
    return costs, headline


def test_no_pair_of_snapshots_gives_a_change_of_fewer_than_T(releases):
    """Differencing, over every pair of the site's snapshots: a count two snapshots both publish as a number is the same or differs by
    at least T; a mean is repeated or its pairs differ by at least T; a curve is repeated or
    its people differ by at least T. The planted withdrawals did reach the warehouse."""
    site = releases["site"]
    published = {q: read_release(site, q) for q in releases["warehouses"]}  # every snapshot a reader holds
    changes = {"counts": 0, "held": 0}
    for a, b in itertools.combinations(published, 2):
        for name in ["employment_outcomes", *(f"employment_outcomes_by_{g}" for g in GROUPINGS)]:
            key = "alue" if name == "employment_outcomes" else "group_value"
            ta, tb = (published[x][name].set_index(key) for x in (a, b))
            for k in ta.index.intersection(tb.index):
                for c in HEADLINE:
                    va, vb = ta.at[k, c], tb.at[k, c]
                    if va.isdigit() and vb.isdigit():
                        d = abs(int(va) - int(vb))
                        changes["counts"] += d > 0
                        assert d == 0 or d >= T, (a, b, name, k, c, va, vb)
                    elif va.isdigit() != vb.isdigit():
                        changes["held"] += 1
        sa, sb = (published[x]["score_change"].set_index("score") for x in (a, b))
        for k in sa.index.intersection(sb.index):
            same = sa.loc[k].equals(sb.loc[k])
            na, nb = sa.at[k, "n_pairs"], sb.at[k, "n_pairs"]
            assert same or not (na.isdigit() and nb.isdigit()) or abs(int(na) - int(nb)) >= T, (a, b, k, na, nb)
        ca, cb = (published[x]["time_to_first_job_curve"] for x in (a, b))
        if not ca.equals(cb):
            people = []
            for x in (a, b):
                with duckdb.connect(str(releases["warehouses"][x]), read_only=True) as con:
                    people.append(con.execute("SELECT max(n_at_risk) FROM models.km_time_to_first_job"
                                              " WHERE \"group\" = 'ALL'").fetchone()[0])
            assert abs(people[0] - people[1]) >= T, (a, b, people)
    print(f"changed counts published {changes['counts']}, cells published in one snapshot and hidden in another "
          f"{changes['held']}")
    # the withdrawals reached the warehouse: the county lost its clients between the snapshots
    county, _ = next(iter(releases["planted"].values()))
    n = {}
    for q in ("2024Q2", "2025Q1"):
        with duckdb.connect(str(releases["warehouses"][q]), read_only=True) as con:
            n[q] = con.execute("SELECT n_clients FROM marts.employment_outcomes WHERE alue = ?", [county]).fetchone()[0]
    assert n["2025Q1"] <= n["2024Q2"] - 2, n


def test_four_releases_reveal_nothing_beyond_their_labels(releases):
    site = releases["site"]
    published = {q: read_release(site, q) for q in SNAPSHOTS}
    last = releases["warehouses"][list(SNAPSHOTS)[-1]]
    with duckdb.connect(str(last), read_only=True) as con:
        membership = con.execute("SELECT alue, group_value FROM marts.employment_outcomes_by_group"
                                 " WHERE grouping = 'wave' AND alue <> 'ALL' AND n_clients > 0").fetchall()
        zeros = structural_zeros(con, published[list(SNAPSHOTS)[-1]]["county_costs"])
    waves: dict[str, set[str]] = {}
    for area, wave in membership:
        waves.setdefault(wave, set()).add(area)

    # every figure of a past quarter two releases both show is the same in both (rule 8)
    for a, b in itertools.combinations(SNAPSHOTS, 2):
        qa = published[a]["employment_rate_by_quarter"].set_index(["alue", "quarter"])
        qb = published[b]["employment_rate_by_quarter"].set_index(["alue", "quarter"])
        common = qa.index.intersection(qb.index)
        assert len(common) > 0
        pd.testing.assert_frame_equal(qa.loc[common], qb.loc[common], obj=f"{a} vs {b}")

    costs_truth, headline_truth = _truth(releases["warehouses"])
    earlier = {q: read_release(site, q) for q in releases["warehouses"] if q < min(SNAPSHOTS)}
    atk = attack(published, waves, costs_truth, headline_truth, zeros, earlier)
    assert len(atk.var) > 50 and len(atk.small) > 10
    ranges = atk.ranges()
    narrowed = [(key, atk.label[key], lo, hi) for key, (lo, hi) in ranges.items()
                if not atk.learns_nothing(key, lo, hi)]
    print(f"unknowns {len(atk.var)}, relations {len(atk.rows)}, structural zeros {len(zeros)}, "
          f"narrowed {len(narrowed)}")
    assert not narrowed, narrowed[:10]


def test_the_curves_hide_each_event(releases):
    """Reading the curve back: between two published times at least T first jobs happen,
    numbers at risk are multiples of 5, and the curve stops while T are still at risk."""
    for quarter in SNAPSHOTS:
        path = releases["site"] / quarter / "data" / "time_to_first_job_curve.csv"
        curve = pd.read_csv(path)
        # a curve repeated from an earlier snapshot is read against that snapshot's steps
        for earlier in [q for q in releases["warehouses"] if q <= quarter][::-1]:
            with duckdb.connect(str(releases["warehouses"][earlier]), read_only=True) as con:
                steps = con.execute("SELECT time, n_at_risk, n_events FROM models.km_time_to_first_job"
                                    " WHERE \"group\" = 'ALL' ORDER BY time").df()
            if round(steps["n_at_risk"].max() / 5) * 5 == curve["n_at_risk"].iloc[0] or earlier == min(releases["warehouses"]):
                break
        assert len(curve) >= 2
        assert (curve["n_at_risk"] % 5 == 0).all() and (curve["n_at_risk"] >= T).all()
        last_with_T = steps.loc[steps["n_at_risk"] >= T, "time"].max()
        assert curve["time"].max() <= round(last_with_T)
        previous = -np.inf
        for t in curve["time"]:
            events = steps.loc[(steps["time"].round() > previous) & (steps["time"].round() <= t), "n_events"].sum()
            assert events >= T, (quarter, t, events)
            previous = t


def test_no_two_curves_differ_by_fewer_than_T_first_jobs(releases):
    """Differencing the curves of two snapshots: a reader who holds two different published
    curves learns the first jobs one holds and the other could not. Counted here from the
    newer curve's people (its warehouse): those who found a first job after the older curve's
    cut-off or started after it. Each such pair is 0 or at least T first jobs apart, and so
    is the net change of the two curves' events (withdrawals take events away)."""
    site, quarters = releases["site"], list(releases["warehouses"])
    shown = {q: pd.read_csv(site / q / "data" / "time_to_first_job_curve.csv", dtype=str) for q in quarters}
    # the snapshot that first showed each distinct curve holds its data
    fresh = [q for i, q in enumerate(quarters) if i == 0 or not shown[q].equals(shown[quarters[i - 1]])]
    assert len(fresh) >= 2, fresh  # the attack compares something

    first_jobs = {}
    for q in fresh:
        with duckdb.connect(str(releases["warehouses"][q]), read_only=True) as con:
            first_jobs[q] = con.execute("SELECT ips_start, ips_start + CAST(ttf_days AS INTEGER) AS found"
                                        " FROM core.client_outcomes WHERE ttf_event").df()
    cutoff = {quarter_label(d): pd.Timestamp(d) for d in QUARTER_ENDS}

    pairs = 0
    for older, newer in itertools.combinations(fresh, 2):
        if shown[older].equals(shown[newer]):
            continue
        jobs, then = first_jobs[newer], cutoff[older]
        added = int(((jobs["ips_start"] > then) | (jobs["found"] > then)).sum())
        net = len(jobs) - len(first_jobs[older])
        assert added == 0 or added >= T, (older, newer, added)
        assert net == 0 or abs(net) >= T, (older, newer, net)
        pairs += 1
    assert pairs >= 1


def test_the_attacker_finds_a_leak(releases):
    """The attack is not blind: in the newest snapshot, one county's `<5` count is left with its
    column's other hidden counts published as their numbers (as if complementary suppression
    had not run on that column), and the attacker reads the count off the ALL row."""
    site, newest = releases["site"], list(SNAPSHOTS)[-1]
    published = {newest: read_release(site, newest)}
    county = published[newest]["employment_outcomes"]
    with duckdb.connect(str(releases["warehouses"][newest]), read_only=True) as con:
        truth = con.execute(f"SELECT alue, {', '.join(HEADLINE)} FROM marts.employment_outcomes").df().set_index("alue")
        zeros = structural_zeros(con, published[newest]["county_costs"])
        membership = con.execute("SELECT alue, group_value FROM marts.employment_outcomes_by_group"
                                 " WHERE grouping = 'wave' AND alue <> 'ALL' AND n_clients > 0").fetchall()
    waves: dict[str, set[str]] = {}
    for area, wave in membership:
        waves.setdefault(wave, set()).add(area)
    target = next((r["alue"], c) for _, r in county.iterrows() for c in HEADLINE
                  if r[c] == "<5" and r["alue"] != "ALL" and truth.at[r["alue"], c] > 0
                  and by_alue(county, "ALL")[c].isdigit())
    area, column = target
    leaky = county.copy()
    for i, r in leaky.iterrows():
        if r["alue"] not in ("ALL", area) and not r[column].isdigit():
            leaky.at[i, column] = str(truth.at[r["alue"], column])
    published[newest]["employment_outcomes"] = leaky
    costs_truth, headline_truth = _truth(releases["warehouses"])
    earlier = {q: read_release(site, q) for q in releases["warehouses"] if q < newest}
    atk = attack(published, waves, costs_truth, headline_truth, zeros, earlier)
    lo, hi = atk.ranges(of=(newest, "C", area, column))[(newest, "C", area, column)]
    assert lo == hi == truth.at[area, column], (target, lo, hi)
    assert not atk.learns_nothing((newest, "C", area, column), lo, hi)


def by_alue(table: pd.DataFrame, area: str) -> pd.Series:
    return table.set_index("alue").loc[area]
