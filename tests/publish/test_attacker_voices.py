"""The attacker on the voices' tables (docs/analysis_plan.md, disclosure rules 3, 4 and 7).

The synthetic study's site is published once (its figures: `figures_only`, the charts and
language downloads only draw and relabel the same tables); a reader who knows the study's structure
attacks the CSV downloads of the declared sections (the coaching process per county, the
survey items in three parts, the yes/no items, the care staff per round, the employers by
industry, size class and sector) together with the county table: an integer linear
programme over every hidden count, with the bounds the labels state and the relations written
here from the plan, independently of the suppression code:

- an item's answers 1-2, 3 and 4-5 are all its answers; a yes, a score or a numerator is
  among those who answered, the respondents, the denominator;
- a shown share with its shown denominator gives its count (to the share's 4 decimals);
- counties add up to ALL; an employer characteristic's codes add up to ALL;
- a county's coaching counts are at most its clients in the county table.

It must learn nothing beyond the stated ranges: a `<5` count keeps 0..T-1, a `..` count a
range at least T wide.
"""

from __future__ import annotations

import csv
import itertools

import duckdb
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.publish.site.build import build_site

BIG = 10**6
#: The survey tables of three parts, the yes/no tables, and what each row's counts are.
PARTS = ("coaching_ratings", "client_satisfaction", "perceived_change", "care_staff_cooperation",
         "employer_satisfaction")
YES_NO = ("care_staff_ips_in_care", "employer_again")


@pytest.fixture(scope="module")
def site(synthetic_study, tmp_path_factory):
    root = tmp_path_factory.mktemp("attacker_voices")
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        result = build_site(con, root / "site", synthetic_study["config"].cutoff,
                            {"run_id": "attacker-voices", "code_version": "test", "input_fingerprint": "0" * 64},
                            figures_only=True)
    data = result.snapshot_dir / "data"

    def read(name):
        path = data / f"{name}.csv"
        return list(csv.DictReader(path.open(encoding="utf-8"))) if path.is_file() else None
    return {name: read(name) for name in (*PARTS, *YES_NO, "coaching_process", "care_staff_recovery",
                                          "employer_profile", "employment_outcomes")}


class Attack:
    """Hidden counts as integer unknowns, shown ones as constants, relations as rows."""

    def __init__(self):
        self.index: dict[tuple, int] = {}
        self.labels: list[str] = []
        self.low: list[float] = []
        self.high: list[float] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def cell(self, table: str, i: int, column: str, value: str):
        """A number, or the unknown a label stands for (with the range the label states)."""
        try:
            return float(value)
        except ValueError:
            pass
        key = (table, i, column)
        if key not in self.index:
            self.index[key] = len(self.labels)
            self.labels.append(value)
            low, high = {"<5": (0, T - 1), "..": (T, BIG)}.get(value.replace("5", str(T), 1), (0, BIG))
            self.low.append(low)
            self.high.append(high)
        return ("var", self.index[key])

    def relation(self, terms, low: float, high: float) -> None:
        """low <= sum(coefficient x term) <= high, terms of cells (constants or unknowns)."""
        coefs: dict[int, float] = {}
        const = 0.0
        for a, term in terms:
            if isinstance(term, tuple):
                coefs[term[1]] = coefs.get(term[1], 0.0) + a
            else:
                const += a * term
        if coefs:
            self.rows.append((coefs, low - const, high - const))

    def ranges(self) -> dict[tuple, tuple[float, float]]:
        n = len(self.labels)
        a = np.zeros((len(self.rows), n))
        for r, (coefs, _, _) in enumerate(self.rows):
            for j, c in coefs.items():
                a[r, j] = c
        cons = LinearConstraint(a, [lo for _, lo, _ in self.rows], [hi for _, _, hi in self.rows])
        out = {}
        for key, j in self.index.items():
            found = []
            for sign in (1, -1):
                c = np.zeros(n)
                c[j] = sign
                res = milp(c, constraints=cons, integrality=np.ones(n), bounds=Bounds(self.low, self.high))
                assert res.success, (key, res.message)
                found.append(sign * res.fun)
            out[key] = (found[0], found[1])
        return out


def _share(atk, table, i, row, count, share, den):
    """A shown share of a shown denominator: the count to the share's rounding."""
    try:
        s, n = float(row[share]), float(row[den])
    except ValueError:
        return
    c = atk.cell(table, i, count, row[count])
    atk.relation([(1, c)], (s - 5e-5) * n, (s + 5e-5) * n)


def attack(site) -> tuple[Attack, dict[tuple, tuple[float, float]]]:
    atk = Attack()
    for table in PARTS:
        for i, r in enumerate(site[table] or []):
            n, low, mid, high = (atk.cell(table, i, c, r[c]) for c in ("n_answered", "n_low", "n_mid", "n_high"))
            atk.relation([(1, low), (1, mid), (1, high), (-1, n)], 0, 0)
            for part in ("low", "mid", "high"):
                _share(atk, table, i, r, f"n_{part}", f"share_{part}", "n_answered")
    for table in YES_NO:
        for i, r in enumerate(site[table] or []):
            n, yes = atk.cell(table, i, "n_yes_no_answered", r["n_yes_no_answered"]), atk.cell(table, i, "n_yes", r["n_yes"])
            atk.relation([(1, yes), (-1, n)], -BIG, 0)
            _share(atk, table, i, r, "n_yes", "share_yes", "n_yes_no_answered")
    for i, r in enumerate(site["care_staff_recovery"] or []):
        atk.relation([(1, atk.cell("care_staff_recovery", i, "n_recovery_orientation", r["n_recovery_orientation"])),
                      (-1, atk.cell("care_staff_recovery", i, "n_respondents", r["n_respondents"]))], -BIG, 0)
    profile = site["employer_profile"] or []
    for ch, rows in itertools.groupby(enumerate(profile), key=lambda ir: ir[1]["characteristic"]):
        rows = list(rows)
        total = [atk.cell("employer_profile", i, "n_employers", r["n_employers"]) for i, r in rows if r["code"] == "ALL"]
        parts = [atk.cell("employer_profile", i, "n_employers", r["n_employers"]) for i, r in rows if r["code"] != "ALL"]
        atk.relation([(1, p) for p in parts] + [(-1, total[0])], 0, 0)
    counties = {r["alue"]: (i, r) for i, r in enumerate(site["employment_outcomes"])}
    coaching = site["coaching_process"] or []
    counts = ("n_contact30_eligible", "n_contact30", "n_trust", "n_cooperation")
    for col in counts:
        cells = [atk.cell("coaching_process", i, col, r[col]) for i, r in enumerate(coaching)]
        alls = [k for k, r in enumerate(coaching) if r["alue"] == "ALL"]
        atk.relation([(1, c) for k, c in enumerate(cells) if k not in alls] + [(-1, cells[alls[0]])], 0, 0)
    for i, r in enumerate(coaching):
        atk.relation([(1, atk.cell("coaching_process", i, "n_contact30", r["n_contact30"])),
                      (-1, atk.cell("coaching_process", i, "n_contact30_eligible", r["n_contact30_eligible"]))], -BIG, 0)
        _share(atk, "coaching_process", i, r, "n_contact30", "rate_contact30", "n_contact30_eligible")
        j, county = counties[r["alue"]]
        clients = atk.cell("employment_outcomes", j, "n_clients", county["n_clients"])
        for col in counts:
            atk.relation([(1, atk.cell("coaching_process", i, col, r[col])), (-1, clients)], -BIG, 0)
    return atk, atk.ranges()


def test_the_voices_tables_reveal_nothing_beyond_their_labels(site):
    assert all(site[t] for t in (*PARTS, *YES_NO, "coaching_process", "care_staff_recovery", "employer_profile"))
    atk, ranges = attack(site)
    hidden = {k: v for k, v in ranges.items() if k[0] != "employment_outcomes"}
    assert len(hidden) >= 10  # the employers' rare industries at least
    for key, (low, high) in hidden.items():
        label = atk.labels[atk.index[key]]
        if label.startswith("<"):
            assert (low, high) == (0, T - 1), (key, low, high)
        else:
            assert high - low >= T, (key, label, low, high)
