"""The relations between figures are written once (ips_eval.figures) and read by both the
outcome checks of the warehouse and disclosure control of the site.

For every relation: a table that breaks it (and nothing else) is caught by the outcome check
AND refused by disclosure control (which can only prove what a reader derives from relations
it was told about), while the same table unbroken passes both. If one of the two stopped
reading a relation, its half of the test would fail.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ips_eval.figures import HEADLINE_WITHIN, QUARTER_IN_HEADLINE, QUARTERLY_WITHIN, SUMS, Within
from ips_eval.publish.disclosure import DisclosureError, primary_suppression
from ips_eval.publish.site.tables import (
    COUNTY, GROUPINGS, OUTCOME_COUNTS, OUTCOME_RATES, QUARTER_COUNTS, QUARTERLY, employment_specs, group_table_name,
)
from ips_eval.figures import QUARTERLY_RATES
from ips_eval.warehouse.outcome_checks import counties_sum_to_all, numerators_within_denominators

# One county's headline figures, every relation holding with room to spare (checked below).
COUNTY_ROW = {"n_clients": 100, "n_jobs": 80, "n_competitive": 60, "n_unsubsidised": 30, "n_other_activity": 20,
              "n_tenure6_eligible": 50, "n_tenure6": 40, "n_tenure12_eligible": 35, "n_tenure12": 25,
              "n_employed6_eligible": 90, "n_employed6": 45, "n_employed12_eligible": 70, "n_employed12": 30}
QUARTER_ROW = {"n_served": 40, "n_working": 20, "n_working_unsubsidised": 10}
QUARTER = "2024Q4"


def headline(a: dict, b: dict) -> pd.DataFrame:
    rows = [{"alue": "A", **a}, {"alue": "B", **b}, {"alue": "ALL", **{k: a[k] + b[k] for k in a}}]
    return pd.DataFrame(rows)


def with_rates(df: pd.DataFrame, rates) -> pd.DataFrame:
    df = df.copy()
    for col, (num, den) in rates.items():
        df[col] = df[num] / df[den].where(df[den] > 0)
    return df


def by_group(county: pd.DataFrame) -> pd.DataFrame:
    """The breakdown mart: in every grouping, value '1' holds county A's clients and '2' B's
    (so wave 1 is county A, wave 2 county B)."""
    rows = []
    zero = {c: 0 for c in COUNTY_ROW}
    a, b = (county.set_index("alue").loc[k, list(COUNTY_ROW)].to_dict() for k in ("A", "B"))
    every = county.set_index("alue").loc["ALL", list(COUNTY_ROW)].to_dict()
    for g in GROUPINGS:
        rows += [{"alue": "A", "grouping": g, "group_value": "1", **a},
                 {"alue": "A", "grouping": g, "group_value": "2", **zero},
                 {"alue": "B", "grouping": g, "group_value": "1", **zero},
                 {"alue": "B", "grouping": g, "group_value": "2", **b},
                 {"alue": "ALL", "grouping": g, "group_value": "1", **a},
                 {"alue": "ALL", "grouping": g, "group_value": "2",
                  **{k: every[k] - a[k] for k in COUNTY_ROW}}]
    return pd.DataFrame(rows)


def marts(county: pd.DataFrame, groups: pd.DataFrame, quarterly: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    for name, df in (("employment_outcomes", county), ("employment_outcomes_by_group", groups),
                     ("employment_rate_by_quarter", quarterly)):
        con.register("frame", df)
        con.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM frame")
        con.unregister("frame")
    return con


def site_frames(county: pd.DataFrame, groups: pd.DataFrame, quarterly: pd.DataFrame) -> dict[str, pd.DataFrame]:
    frames = {COUNTY: with_rates(county[["alue", *OUTCOME_COUNTS]], OUTCOME_RATES)}
    for g in GROUPINGS:
        rows = groups[(groups.alue == "ALL") & (groups.grouping == g)]
        frames[group_table_name(g)] = with_rates(rows[["group_value", *OUTCOME_COUNTS]].reset_index(drop=True),
                                                 OUTCOME_RATES)
    frames[QUARTERLY] = with_rates(quarterly[["alue", "quarter", *QUARTER_COUNTS]], QUARTERLY_RATES)
    return frames


def build(county: pd.DataFrame | None = None, groups: pd.DataFrame | None = None,
          quarterly: pd.DataFrame | None = None):
    county = headline(COUNTY_ROW, COUNTY_ROW) if county is None else county
    groups = by_group(county) if groups is None else groups
    if quarterly is None:
        quarterly = headline(QUARTER_ROW, QUARTER_ROW).assign(quarter=QUARTER)
    return county, groups, quarterly


def outcome_violations(county, groups, quarterly) -> list[str]:
    con = marts(county, groups, quarterly)
    found = numerators_within_denominators(con) + counties_sum_to_all(con)
    return [v for v in found if "table is missing" not in v]


def disclosure_refuses(county, groups, quarterly) -> bool:
    specs, links = employment_specs([QUARTER], {"1": ("A",), "2": ("B",)})
    try:
        primary_suppression(site_frames(county, groups, quarterly), specs, links)
    except DisclosureError as e:
        assert "does not hold" in str(e)
        return True
    return False


def test_the_unbroken_tables_pass_both():
    assert all(w.holds(COUNTY_ROW) for w in HEADLINE_WITHIN)
    assert all(w.holds(QUARTER_ROW) for w in QUARTERLY_WITHIN)
    assert outcome_violations(*build()) == []
    assert not disclosure_refuses(*build())


def _break_within(row: dict, w: Within) -> dict:
    """Break `w` alone among the relations the site publishes: raise a part that is a part
    of no other relation, else lower the whole to one under the sum of the parts (then only
    relations with this whole can break, and with these numbers only `w` does)."""
    others = [v for v in (*HEADLINE_WITHIN, *QUARTERLY_WITHIN) if v != w]
    free = [p for p in w.parts if not any(p in v.parts for v in others)]
    if free:
        rest = sum(row[p] for p in w.parts if p != free[0])
        return {**row, free[0]: row[w.whole] - rest + 1}
    return {**row, w.whole: sum(row[p] for p in w.parts) - 1}


@pytest.mark.parametrize("w", HEADLINE_WITHIN, ids=str)
def test_every_headline_relation_is_checked_and_assumed(w):
    county, groups, quarterly = build(headline(_break_within(COUNTY_ROW, w), COUNTY_ROW))
    assert any(str(w) in v for v in outcome_violations(county, groups, quarterly)), w
    published = all(c in OUTCOME_COUNTS for c in w.columns)
    # a relation between figures the site does not publish (n_jobs, n_other_activity) is
    # not the reader's knowledge; every other one must be
    assert disclosure_refuses(county, groups, quarterly) == published, w


@pytest.mark.parametrize("w", QUARTERLY_WITHIN, ids=str)
def test_every_quarterly_relation_is_checked_and_assumed(w):
    quarterly = headline(_break_within(QUARTER_ROW, w), QUARTER_ROW).assign(quarter=QUARTER)
    county, groups, quarterly = build(quarterly=quarterly)
    assert any(str(w) in v for v in outcome_violations(county, groups, quarterly)), w
    assert disclosure_refuses(county, groups, quarterly), w


@pytest.mark.parametrize("w", QUARTER_IN_HEADLINE, ids=str)
def test_every_quarter_within_headline_relation_is_checked_and_assumed(w):
    # county A's quarterly count one above its headline count; the other quarterly counts
    # raised with it so that the quarterly table's own relations still hold
    part = w.parts[0]
    a = dict(QUARTER_ROW)
    bump = COUNTY_ROW[w.whole] + 1 - a[part]
    for c in QUARTER_COUNTS[:QUARTER_COUNTS.index(part) + 1]:
        a[c] += bump
    county, groups, quarterly = build(quarterly=headline(a, QUARTER_ROW).assign(quarter=QUARTER))
    assert all(v.holds(a) for v in QUARTERLY_WITHIN)
    assert any(f"quarterly {w}" in v for v in outcome_violations(county, groups, quarterly)), w
    assert disclosure_refuses(county, groups, quarterly), w


def test_counties_sum_to_all_is_checked_and_assumed():
    county, groups, quarterly = build()
    county.loc[county.alue == "ALL", "n_clients"] += 1
    groups = by_group(headline(COUNTY_ROW, COUNTY_ROW))  # the breakdowns still match A and B
    assert any("counties sum to" in v for v in outcome_violations(county, groups, quarterly))
    assert disclosure_refuses(county, groups, quarterly)


def test_breakdowns_sum_to_all_is_checked_and_assumed():
    county, groups, quarterly = build()
    for alue in ("A", "ALL"):  # the counties still add up within the breakdown
        groups.loc[(groups.alue == alue) & (groups.grouping == "smi") & (groups.group_value == "1"),
                   "n_clients"] += 1
    found = outcome_violations(county, groups, quarterly)
    assert any(SUMS["breakdowns_sum_to_all"] in v for v in found)
    assert disclosure_refuses(county, groups, quarterly)


def test_wave_is_the_sum_of_its_counties_is_checked_and_assumed():
    # wave 1 one client more and wave 2 one fewer than their counties: each breakdown still
    # adds up to ALL, but wave 1 is no longer county A
    county, groups, quarterly = build()
    ones = (groups.alue == "ALL") & (groups.grouping == "wave")
    groups.loc[ones & (groups.group_value == "1"), "n_clients"] += 1
    groups.loc[ones & (groups.group_value == "2"), "n_clients"] -= 1
    found = outcome_violations(county, groups, quarterly)
    assert any(SUMS["wave_is_sum_of_its_counties"] in v for v in found)
    assert not any(SUMS["breakdowns_sum_to_all"] in v and "alue=ALL" in v for v in found)
    assert disclosure_refuses(county, groups, quarterly)
