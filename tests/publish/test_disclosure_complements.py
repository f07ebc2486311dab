"""Rule 4's complements in the audit (docs/analysis_plan.md, disclosure rules 3 and 4).

A rate's numerator is hidden when its complement (denominator minus numerator: the people
without the outcome) is under T but not 0. The audit bounds that complement like a hidden
cell: it keeps every value under T that the labels of its two cells leave it, whatever the
relations say. Hand-worked tables first, then small random tables checked against a reader's
integer programme written here independently of the module.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.publish.disclosure import (
    HIDDEN_LABEL, PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL, DisclosureError, RowsSum, TableSpec, audit,
    primary_suppression, protect,
)

SPEC = TableSpec(name="t", keys=("alue",), counts=("n", "k"), rates={"rate": ("k", "n")}, row_total="n",
                 relations=(RowsSum(by="alue", total="ALL"),))


def table(rows: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Counties' (n, k) and their ALL row, with the rate k / n."""
    df = pd.DataFrame([{"alue": a, "n": n, "k": k} for a, (n, k) in rows.items()])
    df = pd.concat([df, pd.DataFrame([{"alue": "ALL", "n": df.n.sum(), "k": df.k.sum()}])], ignore_index=True)
    df["rate"] = df.k / df.n.where(df.n > 0)
    return df


def complement_ranges(pub) -> dict[str, tuple[float, float, tuple[float, float]]]:
    return {r.row: (r.low, r.high, r.keep) for r in pub.ranges if r.label == "complement"}


# --------------------------------------------------------------------------------------
# A reader's integer programme, written independently of the module
# --------------------------------------------------------------------------------------
def readers_complement(published: pd.DataFrame, area: str) -> tuple[float, float]:
    """The smallest and largest whole n - k of `area` a reader can work out from the published
    table: every hidden count an unknown with its label's range (`<5`: 0..4, `..`: at least T,
    `:` any whole number), the counties summing to ALL in each column, k <= n in each row."""
    unknown: dict[tuple[str, str], int] = {}
    lower, upper, known = [], [], {}
    for _, r in published.iterrows():
        for c in ("n", "k"):
            v = r[c]
            if isinstance(v, str):
                unknown[(r.alue, c)] = len(unknown)
                lo, hi = {PRIMARY_LABEL: (0, T - 1), SECONDARY_LABEL: (T, math.inf),
                          WITHHELD_LABEL: (0, math.inf)}[v]
                lower.append(lo)
                upper.append(hi)
            else:
                known[(r.alue, c)] = float(v)
    rows, row_lo, row_hi = [], [], []

    def relation(terms: dict[tuple[str, str], float], lo: float, hi: float) -> None:
        a, const = np.zeros(len(unknown)), 0.0
        for cell, coef in terms.items():
            if cell in unknown:
                a[unknown[cell]] += coef
            else:
                const += coef * known[cell]
        rows.append(a)
        row_lo.append(lo - const)
        row_hi.append(hi - const)

    areas = list(published.alue)
    for c in ("n", "k"):
        relation({**{(a, c): 1.0 for a in areas if a != "ALL"}, ("ALL", c): -1.0}, 0.0, 0.0)
    for a in areas:
        relation({(a, "k"): 1.0, (a, "n"): -1.0}, -math.inf, 0.0)
    constraints = [LinearConstraint(np.array(rows), row_lo, row_hi)]
    objective, const = np.zeros(len(unknown)), 0.0
    for cell, coef in (((area, "n"), 1.0), ((area, "k"), -1.0)):
        if cell in unknown:
            objective[unknown[cell]] += coef
        else:
            const += coef * known[cell]

    def best(sign: float) -> float:
        res = milp(sign * objective, integrality=np.ones(len(unknown)), bounds=Bounds(lower, upper),
                   constraints=constraints)
        if res.status == 3 or (res.status != 0 and sign < 0):
            return math.inf
        assert res.status == 0, res.message
        return const + sign * res.fun

    return best(1.0), best(-1.0)


def labels_leave(published: pd.DataFrame, area: str) -> tuple[float, float]:
    """The values under T the page's labels alone leave n - k of `area`."""
    r = published.set_index("alue").loc[area]
    stated = {PRIMARY_LABEL: (0, T - 1), SECONDARY_LABEL: (T, math.inf), WITHHELD_LABEL: (0, math.inf)}
    n_lo, n_hi = stated.get(r.n, (r.n, r.n)) if isinstance(r.n, str) else (r.n, r.n)
    k_lo, k_hi = stated[r.k]
    return max(0, n_lo - k_hi), min(T - 1, n_hi - k_lo)


# --------------------------------------------------------------------------------------
# Hand-worked tables
# --------------------------------------------------------------------------------------
def test_a_complement_narrowed_while_every_cell_passes_is_caught_and_protected():
    #           n    k   n - k
    # A        12    9     3     k hidden `..` (rule 4: 3 not employed)
    # B        30    6    24     k hidden `..` (the second cell of the k line)
    # ALL      42   15
    # k_A + k_B = 15 with both at least 5 (`..`): k_A is in 5..10, a range of 5, so the cell
    # passes. But n_A - k_A = 12 - k_A is then in 2..7: a reader learns that at least 2 of A's
    # 12 clients are not employed, and the complement (3) is what rule 4 hid k_A for.
    df = table({"A": (12, 9), "B": (30, 6)})
    primary = primary_suppression({"t": df}, [SPEC])
    # the pattern of the cells alone: k_A and its line's cheapest partner
    assert sorted(c[1][0] for c in primary.suppressed) == ["A"]
    old_pattern = replace(primary, suppressed=primary.suppressed | {("t", ("B",), "k")})
    with pytest.raises(DisclosureError, match=r"row alue=A, column n - k: a complement under 5"):
        audit(old_pattern)

    pub = protect({"t": df}, [SPEC])
    shown = pub.published("t")
    # the only partner of A's k in its line is ALL's: hidden too, a reader knows only that
    # k_A <= n_A = 12, k_B <= 30 and k_ALL = k_A + k_B, so n_A - k_A is 0..7
    assert list(shown.k) == [SECONDARY_LABEL] * 3
    assert list(shown.n) == [12, 30, 42]
    assert list(shown.rate) == [HIDDEN_LABEL] * 3
    assert complement_ranges(pub) == {"alue=A": (0, 7, (0, T - 1))}
    assert all(r.ok for r in pub.ranges)
    # the reader's own programme over the published table agrees
    assert readers_complement(shown, "A") == (0, 7)


def test_a_complement_the_relations_leave_whole_passes_unchanged():
    #           n    k   n - k
    # A        12    9     3     k hidden `..`
    # B        30   20    10     k hidden `..`
    # ALL      42   29
    # k_A + k_B = 29, k_B <= 30: k_A can be 12 (complement 0) down to 5 (complement 7).
    df = table({"A": (12, 9), "B": (30, 20)})
    pub = protect({"t": df}, [SPEC])
    shown = pub.published("t")
    assert list(shown.k) == [SECONDARY_LABEL, SECONDARY_LABEL, 29]
    assert {(r.row, r.column): (r.low, r.high) for r in pub.ranges if r.label != "complement"} == {
        ("alue=A", "k"): (5, 12), ("alue=B", "k"): (17, 24)}
    assert complement_ranges(pub) == {"alue=A": (0, 7, (0, T - 1))}
    assert readers_complement(shown, "A") == (0, 7)


def test_a_complement_keeps_what_the_labels_leave_it_not_more():
    # 6 clients, 3 employed (`<5`): the page itself says that 6 - 4 = 2 to 6 are not employed;
    # the complement (3) keeps every value under T the labels leave it, 2..4, and nothing more
    # is hidden (the whole shown as 6 is what rule 3 accepts of any `<5` cell beside its total).
    spec = TableSpec(name="t", keys=("alue",), counts=("n", "k"), rates={"rate": ("k", "n")}, row_total="n")
    df = pd.DataFrame({"alue": ["A"], "n": [6], "k": [3], "rate": [0.5]})
    pub = protect({"t": df}, [spec])
    assert list(pub.published("t").loc[0, ["n", "k"]]) == [6, PRIMARY_LABEL]
    assert complement_ranges(pub) == {"alue=A": (2, 6, (2, T - 1))}


def test_a_complement_of_zero_or_of_t_and_more_is_not_bounded():
    """A complement of 0 is published by rule 4 and one of T or more is a publishable count: only
    1..T-1 are bounded."""
    df = table({"A": (12, 12), "B": (30, 3), "C": (40, 30)})
    pub = protect({"t": df}, [SPEC])
    assert complement_ranges(pub) == {}


# --------------------------------------------------------------------------------------
# Small random tables against the reader's programme
# --------------------------------------------------------------------------------------
def random_table(seed: int) -> dict[str, tuple[int, int]]:
    """2-4 counties of 6..29 clients, their complements 0, 1..4, just over T or all but 5..7."""
    rng = np.random.default_rng(seed)
    rows = {}
    for a in "ABCD"[: rng.integers(2, 5)]:
        n = int(rng.integers(6, 30))
        gap = int(rng.choice([0, 1, 2, 3, 4, T + int(rng.integers(0, 3)), n - int(rng.integers(T, T + 3))]))
        rows[a] = (n, n - min(max(gap, 0), n))
    return rows


#: Seeds whose tables an audit of the cells alone publishes with a complement narrowed, then a
#: few others.
LEAKED_BEFORE = (26, 41, 48, 59, 79, 88, 98, 124, 144, 152)


@pytest.mark.parametrize("seed", [*LEAKED_BEFORE, *range(6)])
def test_random_tables_keep_their_complements(seed):
    rows = random_table(seed)
    pub = protect({"t": table(rows)}, [SPEC])
    shown = pub.published("t")
    module = complement_ranges(pub)
    for a, (n, k) in rows.items():
        if not 0 < n - k < T:
            continue
        assert isinstance(shown.set_index("alue").at[a, "k"], str)  # rule 4 hid the numerator
        lo, hi = readers_complement(shown, a)
        keep = labels_leave(shown, a)
        assert lo <= keep[0] and hi >= keep[1], (a, lo, hi, keep)
        # the module's exact audit finds the reader's range
        assert module[f"alue={a}"] == (lo, hi, keep)
