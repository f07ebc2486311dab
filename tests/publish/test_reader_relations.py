"""What a reader deduces (ips_eval.figures.reader), each relation on a table worked out by hand,
and the linked-release rule (rule 8) on small frames."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from ips_eval.figures.reader import calendar_sums, closed_cohort, monotone_holds, structural_zero_quarters
from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.publish.disclosure import (
    CrossLinear, DisclosureError, RowsSum, TableSpec, audit, primary_suppression, protect, within,
)
from ips_eval.figures import Within
from ips_eval.publish.site.tables import (
    COSTS_TABLE, COUNTY, OUTCOME_COUNTS, Snapshot, calendar_links, closed_cohort_links, costs_links, costs_spec,
    held_back, revision_sums,
)


def _one_column(**kw) -> TableSpec:
    return TableSpec(name="t", keys=("alue",), counts=("n",), relations=(RowsSum(by="alue"),), **kw)


def test_a_structural_zero_protects_nothing():
    """A=3 and B=0 are `<5`, C=10 is held back (`..`), D=50 and ALL=63 are shown: A+B+C = 13.
    If B might be 0..4, C is 5..13 (9 values); a reader who knows B is 0 (the county had not
    started) has C = 13 - A in 9..13, narrower than T."""
    df = pd.DataFrame({"alue": ["A", "B", "C", "D", "ALL"], "n": [3, 0, 10, 50, 63]})
    held = frozenset({(("C",), "n")})
    ranges = {r.row: (r.low, r.high) for r in audit(primary_suppression({"t": df}, [_one_column(held_back=held)]))
              .ranges}
    assert ranges["alue=C"] == (5, 13) and ranges["alue=B"] == (0, 4)
    with pytest.raises(DisclosureError, match="row alue=C, column n: derivable"):
        audit(primary_suppression({"t": df}, [_one_column(held_back=held, known_zero_rows=frozenset({("B",)}))]))


def test_structural_zero_quarters_by_hand():
    # A starts in 2023Q2; B has costs rows for 2022 only, so its 2023 quarters are zero
    zeros = structural_zero_quarters({"A": "2023Q2", "B": "2022Q3"}, ["2022Q4", "2023Q1", "2023Q2"],
                                     [("A", "2023"), ("B", "2022")])
    assert zeros == {("A", "2022Q4"), ("A", "2023Q1"), ("B", "2023Q1"), ("B", "2023Q2")}


def test_the_calendar_by_hand():
    """A started 10 in 2022, 12 in 2023 and 3 in 2024: at 31 December 2024 the 12-month
    eligible are the 22 who started by 31 December 2023."""
    assert calendar_sums(dt.date(2024, 12, 31)) == {"n_employed12_eligible": 2023}
    assert calendar_sums(dt.date(2025, 6, 30)) == {"n_employed6_eligible": 2024}
    assert calendar_sums(dt.date(2025, 3, 31)) == {}
    costs = pd.DataFrame({"alue": ["A", "A", "A"], "vuosi": ["2022", "2023", "2024"], "n_started": [10, 12, 3]})
    county = pd.DataFrame({"alue": ["A"], "n_employed12_eligible": [22]})
    [link] = calendar_links(costs, county, dt.date(2024, 12, 31))
    assert link.parts_rows["vuosi"] == {"2022", "2023"} and link.sense == "=="
    assert link.columns == {"n_started": "n_employed12_eligible"}
    # a county whose starts the costs rows do not cover (one started before the first year) gets no link
    assert calendar_links(costs, county.assign(n_employed12_eligible=23), dt.date(2024, 12, 31)) == []


def test_closed_cohort_by_hand():
    earlier = {"n_clients": 30, "n_employed12_eligible": 30, "n_competitive": 12}
    later = {"n_clients": 29, "n_employed12_eligible": 29, "n_competitive": 11}
    assert closed_cohort(earlier, later)
    assert monotone_holds(earlier, later, "n_competitive")  # 11 >= 12 - (30 - 29)
    assert not closed_cohort({**earlier, "n_employed12_eligible": 27}, later)  # 3 started within 12 months
    was = pd.DataFrame({"alue": ["A", "ALL"], **{c: ["30", "30"] for c in OUTCOME_COUNTS}})
    was["n_competitive"] = "12"
    now = pd.DataFrame({"alue": ["A", "ALL"], **{c: [29, 29] for c in OUTCOME_COUNTS}})
    now["n_competitive"] = 11
    links = closed_cohort_links(now, [Snapshot("2024Q3", {COUNTY: was})])
    clients = [k for k in links if k.what.startswith("closed cohort: clients")]
    competitive = [k for k in links if "n_competitive" in k.what]
    assert len(clients) == 1 and clients[0].rows == {"alue": "A"}  # not ALL
    assert {(t, c, a) for t, c, a in competitive[0].terms} == {
        ("2024Q3/employment_outcomes", "n_competitive", 1.0), (COUNTY, "n_competitive", -1.0),
        ("2024Q3/employment_outcomes", "n_clients", -1.0), (COUNTY, "n_clients", 1.0)}


def test_a_closed_cohort_pins_a_held_back_count():
    """The earlier snapshot showed A: 30 clients, 12 employed; B: 40 clients, 19 employed. Now
    A has 29 clients (one withdrew), B 40, and the employed A and B are hidden with ALL = 31
    shown. Alone, A is 12..26 (B at least T); knowing both cohorts closed, A >= 12 - 1 and
    B >= 19, so A is 11..12."""
    spec = TableSpec(name="now", keys=("alue",), counts=("n_clients", "n_competitive"),
                     relations=(RowsSum(by="alue"), within(Within(("n_competitive",), "n_clients"))))
    before = TableSpec(name="was", keys=("alue",), counts=spec.counts, relations=spec.relations,
                       published_before=True)
    now = pd.DataFrame({"alue": ["A", "B", "ALL"], "n_clients": [29, 40, 69], "n_competitive": [11, 20, 31]})
    was = pd.DataFrame({"alue": ["A", "B", "ALL"], "n_clients": [30, 40, 70], "n_competitive": [12, 19, 31]})
    held = frozenset({(("A",), "n_competitive"), (("B",), "n_competitive")})
    tables, specs = {"now": now, "was": was}, [replace(spec, held_back=held), before]
    ranges = {r.row: (r.low, r.high) for r in audit(primary_suppression(tables, specs)).ranges}
    assert ranges["alue=A"] == (5, 26)
    links = [CrossLinear((("was", "n_competitive", 1.0), ("now", "n_competitive", -1.0), ("was", "n_clients", -1.0),
                          ("now", "n_clients", 1.0)), {"alue": a}) for a in ("A", "B")]
    with pytest.raises(DisclosureError, match="row alue=A, column n_competitive: derivable"):
        audit(primary_suppression(tables, specs, links))


def test_a_nesting_complement_under_T_hides_the_part():
    """40 clients, 37 of them followed up 6 months: 3 started in the last 6 months."""
    spec = TableSpec(name="t", keys=("alue",), counts=("n_clients", "n_employed6_eligible"),
                     relations=(within(Within(("n_employed6_eligible",), "n_clients")),))
    df = pd.DataFrame({"alue": ["A", "B"], "n_clients": [40, 40], "n_employed6_eligible": [37, 30]})
    hidden = {(c[1], c[2]) for c in primary_suppression({"t": df}, [spec]).suppressed}
    assert hidden == {(("A",), "n_employed6_eligible")}


def test_a_change_under_T_is_held_back_against_every_earlier_snapshot():
    def county(n):
        return pd.DataFrame({"alue": ["A"], **{c: [n] for c in OUTCOME_COUNTS}})

    shown = {q: county(n).astype(str) for q, n in (("2024Q2", 40), ("2024Q3", 46))}
    history = [Snapshot(q, {COUNTY: df}) for q, df in shown.items()]
    # 48 is 2 from 2024Q3's 46: held back; 51 is 5 and 11 away: published; 45 is 5 from 40, 1 from 46
    assert held_back({COUNTY: county(48)}, history)[COUNTY] == {(("A",), c) for c in OUTCOME_COUNTS}
    assert held_back({COUNTY: county(51)}, history) == {}
    assert held_back({COUNTY: county(45)}, history)[COUNTY] == {(("A",), c) for c in OUTCOME_COUNTS}
    assert held_back({COUNTY: county(46)}, history) == {}  # unchanged since 2024Q3, 6 from 2024Q2


def test_a_count_of_nobody_may_be_worked_out():
    """A (a county that has not started) has 0 clients, B 30, ALL 30: a reader works out A = 0,
    which tells of no one (its row total is 0), and its eligible with it."""
    spec = TableSpec(name="t", keys=("alue",), counts=("n_clients", "n_employed6_eligible"), row_total="n_clients",
                     relations=(RowsSum(by="alue"), within(Within(("n_employed6_eligible",), "n_clients"))),
                     by_start_date=("n_employed6_eligible",))
    df = pd.DataFrame({"alue": ["A", "B", "ALL"], "n_clients": [0, 30, 30], "n_employed6_eligible": [0, 0, 0]})
    pub = audit(primary_suppression({"t": df}, [spec]))
    assert {(r.row, r.column): (r.low, r.high) for r in pub.ranges}[("alue=A", "n_clients")] == (0, 0)


# --------------------------------------------------------------------------------------
# Rule 8 for the time-to-first-job curve: its people and its first jobs
# --------------------------------------------------------------------------------------
def _curve(share: str, at_risk: str = "100"):
    from ips_eval.publish.site.tables import CURVE, Column, SiteTable

    cols = (Column("time", "int"), Column("n_at_risk", "count"), Column("share", "rate"))
    rows = [{"time": "0", "n_at_risk": at_risk, "share": "0.0000"}, {"time": "90", "n_at_risk": "80", "share": share}]
    return SiteTable(CURVE, cols, rows), pd.DataFrame(rows)


def _shown(snapshots, people, since):
    from ips_eval.publish.site.tables import linked_curve

    now, _ = _curve("0.3000")
    return linked_curve(now, now, people, snapshots, since)[0].rows[1]["share"]


def test_a_curve_is_repeated_while_fewer_than_T_first_jobs_came_since():
    """Q3's curve (cut-off 30 September) had 100 people; at 31 December 120 people are behind
    the curve (20 more: the people rule lets it change). Had 2 first jobs come since 30
    September, the difference of the two curves would be those 2 people's jobs: Q3's curve is
    shown again. With none, or 5, the new curve is shown."""
    from ips_eval.publish.site.tables import CURVE

    _, q3 = _curve("0.2000")
    history = [Snapshot("2024Q3", {CURVE: q3}, dt.date(2024, 9, 30))]
    asked = []

    def since(counts):
        return lambda cutoff: asked.append(cutoff) or counts
    assert _shown(history, 120, since(2)) == "0.2000"
    assert asked == [dt.date(2024, 9, 30)]
    assert _shown(history, 120, since(0)) == "0.3000"
    assert _shown(history, 120, since(5)) == "0.3000"
    # the people rule still holds on its own: 3 more people, however many first jobs
    assert _shown(history, 103, since(5)) == "0.2000"
    # a cut-off the warehouse has no count for: the people decide
    assert _shown(history, 120, lambda cutoff: None) == "0.3000"


def test_a_repeated_curve_counts_its_first_jobs_from_the_snapshot_that_first_showed_it():
    """Q2 showed a curve (cut-off 30 June) and Q3 repeated it. Its data are as of 30 June: the
    first jobs counted since are those since 30 June (7: the new curve is shown), not since
    30 September (2). And 3 since 30 June keeps the old curve, though 2 since September would
    too."""
    from ips_eval.publish.site.tables import CURVE

    _, q2 = _curve("0.2000")
    history = [Snapshot("2024Q2", {CURVE: q2}, dt.date(2024, 6, 30)),
               Snapshot("2024Q3", {CURVE: q2.copy()}, dt.date(2024, 9, 30))]
    counts = {dt.date(2024, 6, 30): 7, dt.date(2024, 9, 30): 2}
    assert _shown(history, 130, counts.get) == "0.3000"
    counts = {dt.date(2024, 6, 30): 3, dt.date(2024, 9, 30): 9}
    assert _shown(history, 130, counts.get) == "0.2000"


def test_first_jobs_since_an_earlier_cutoff_from_the_as_of_outcomes(con):
    """The count the rule reads: the curve's first jobs at the run's cut-off minus those as of
    the earlier date, from core's evaluation dates (a person who starts after 30 September
    and one whose first job comes after it are both new; one whose job came before is not)."""
    from ips_eval.publish.site.tables import _first_jobs_since

    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.evaluation_dates AS SELECT * FROM (VALUES"
                " (DATE '2024-09-30', FALSE), (DATE '2024-12-31', TRUE)) t(as_of, is_cutoff)")
    con.execute("CREATE TABLE core.client_outcomes_asof AS SELECT * FROM (VALUES"
                " (DATE '2024-09-30', 'a', TRUE), (DATE '2024-09-30', 'b', FALSE),"
                " (DATE '2024-12-31', 'a', TRUE), (DATE '2024-12-31', 'b', TRUE), (DATE '2024-12-31', 'c', TRUE),"
                " (DATE '2024-12-31', 'd', FALSE)) t(as_of, person_id, ttf_event)")
    since = _first_jobs_since(con)
    assert since(dt.date(2024, 9, 30)) == 2
    assert since(dt.date(2024, 12, 31)) == 0
    assert since(dt.date(2024, 8, 31)) is None


def _costs_rows(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    """marts.costs by (area, year): 100 euros per client, the employed none (they play no part here)."""
    return pd.DataFrame([{"alue": a, "vuosi": v, "n_started": n, "n_employed": 0, "n_unsubsidised": 0,
                          "n_in_service": n, "cost_eur": 100.0 * n, "coach_fte": 1.0, "cost_per_client_year": 100.0,
                          "cost_per_client": 100.0, "cost_per_employed": None, "cost_per_unsubsidised": None}
                         for (a, v), n in counts.items()])


def test_a_revision_of_fewer_than_T_in_the_repeated_years_is_protected():
    """2022 and 2023 were first shown with A: 20 and 30 started, B: 25 and 25 (each read off
    as cost / cost per client; the other figures hidden). At 31 December 2024 A's current
    counts are 20 and 28 (two withdrew), B's unchanged, and 2024 is shown fresh (A 12, B 10).
    A reader takes A's 60 clients minus its 12 of 2024: 48 = 50 - 2, two withdrawals; the
    same for ALL (120 - 22 = 98 = 100 - 2). B's sum is as shown, and a hidden figure gives no
    sum to compare with. The sums of A and ALL are counts of the audit: as the page stands
    they are derivable; protected, each keeps a range at least T wide."""
    shown = {("A", "2022"): 20, ("A", "2023"): 30, ("B", "2022"): 25, ("B", "2023"): 25}
    shown |= {("ALL", y): shown[("A", y)] + shown[("B", y)] for y in ("2022", "2023")}
    first = {y: pd.DataFrame([{"alue": a, "vuosi": y, "cost_eur": f"{100 * n}.00", "cost_per_client": "100",
                               "cost_per_employed": "..", "cost_per_unsubsidised": ".."}
                              for (a, v), n in shown.items() if v == y]) for y in ("2022", "2023")}
    now = {**shown, ("A", "2023"): 28, ("ALL", "2023"): 53, ("A", "2024"): 12, ("B", "2024"): 10, ("ALL", "2024"): 22}
    costs = _costs_rows(now)
    repeated = frozenset({"2022", "2023"})
    frames, specs, links = revision_sums(costs, first, repeated)
    assert {n: df.to_dict("records") for n, df in frames.items()} == {
        "costs_revision_n_started": [{"alue": "A", "n_started": 48}, {"alue": "ALL", "n_started": 98}]}
    assert links[0].parts_rows == {"vuosi": repeated, "alue": frozenset({"A", "ALL"})}
    # B's sum changed by T: told; a year shown hidden: no sum to compare with
    assert revision_sums(_costs_rows({**now, ("B", "2023"): 20}), first, repeated)[0][
        "costs_revision_n_started"]["alue"].tolist() == ["A", "ALL"]
    hidden = {**first, "2022": first["2022"].assign(cost_per_client=["..", "100", "100"])}
    assert revision_sums(costs, hidden, repeated)[0]["costs_revision_n_started"]["alue"].tolist() == ["ALL"]

    county = pd.DataFrame({"alue": ["A", "B", "ALL"], "n_clients": [60, 60, 120], "n_competitive": [0, 0, 0],
                           "n_unsubsidised": [0, 0, 0]})
    county_spec = TableSpec(name=COUNTY, keys=("alue",), counts=("n_clients", "n_competitive", "n_unsubsidised"),
                            relations=(RowsSum(by="alue"),))
    all_years = _costs_rows({(a, "ALL"): 60 if a != "ALL" else 120 for a in ("A", "B", "ALL")})
    tables = {COUNTY: county, COSTS_TABLE: costs, **frames}
    described = [county_spec, costs_spec(all_years=False, superseded=repeated), *specs]
    linked = [*costs_links(pd.concat([costs, all_years]), county), *links]
    with pytest.raises(DisclosureError, match="costs_revision_n_started, row alue=A, column n_started: derivable"):
        audit(primary_suppression(tables, described, linked))
    ranges = {(r.table, r.row): (r.low, r.high) for r in protect(tables, described, linked).ranges}
    for area in ("A", "ALL"):
        low, high = ranges[("costs_revision_n_started", f"alue={area}")]
        assert high - low >= T
    # without the revision sums the same page passes and shows every count: each repeated year
    # alone keeps its range
    unguarded = audit(primary_suppression({COUNTY: county, COSTS_TABLE: costs}, described[:2], linked[:-1]))
    assert unguarded.published(COUNTY)["n_clients"].tolist() == [60, 60, 120]
