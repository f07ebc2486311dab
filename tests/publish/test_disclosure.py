"""Disclosure control (docs/analysis_plan.md, "Published figures (website): disclosure control").

Hand-worked tables first (each says why the expected pattern is right), then property-based
tests on random linked tables, checked against an attacker's LP written here independently
of the module's own audit.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.ingest.identity import make_identity_code
from ips_eval.publish.disclosure import (
    HIDDEN_LABEL, MIN_RESIDUAL_DF, PRIMARY_LABEL, SECONDARY_LABEL, AtMost, CrossSum, DisclosureError,
    WITHHELD_LABEL, RowLinear, RowsSum, TableSpec, audit, check_model_table, complementary_suppression, primary_suppression, protect,
    publishable_curve, round_to_base,
)
from ips_eval.publish.site.scan import ScanReport, SiteScanError, check_output, scan_site

COUNTS = ("n_clients", "n_competitive", "n_unsubsidised", "n_jobs")
RATES = {"rate_competitive": ("n_competitive", "n_clients"), "rate_unsubsidised": ("n_unsubsidised", "n_clients")}
SUMMARIES = {"median_job_days": ("n_jobs", "n_competitive")}
ROW_RELATIONS = (AtMost("n_unsubsidised", "n_competitive"), AtMost("n_competitive", "n_jobs"))


def outcomes_spec(name: str = "employment_outcomes") -> TableSpec:
    return TableSpec(name=name, keys=("alue",), counts=COUNTS, rates=RATES, summaries=SUMMARIES,
                     row_total="n_clients", relations=(RowsSum(by="alue", total="ALL"), *ROW_RELATIONS))


def group_spec(name: str, key: str) -> TableSpec:
    return TableSpec(name=name, keys=(key,), counts=COUNTS, rates=RATES, summaries=SUMMARIES,
                     row_total="n_clients", relations=ROW_RELATIONS)


def with_derived(df: pd.DataFrame) -> pd.DataFrame:
    """Add the rates and a median column (its value is irrelevant to disclosure)."""
    df = df.copy()
    for col, (num, den) in RATES.items():
        df[col] = df[num] / df[den].where(df[den] > 0)
    df["median_job_days"] = 100.0
    return df


def county_table(rows: dict[str, tuple[int, int, int, int]]) -> pd.DataFrame:
    """Counties -> (n_clients, n_competitive, n_unsubsidised, n_jobs); adds the ALL row."""
    df = pd.DataFrame([(k, *v) for k, v in rows.items()], columns=["alue", *COUNTS])
    total = df[list(COUNTS)].sum()
    df = pd.concat([df, pd.DataFrame([{"alue": "ALL", **total.to_dict()}])], ignore_index=True)
    return with_derived(df)


def cell(df: pd.DataFrame, key: str, value, column: str):
    return df.loc[df[key] == value, column].item()


# ------------------------------------------------------------------------------------------
# Rules 1-4 on hand-worked tables
# ------------------------------------------------------------------------------------------
def test_small_count_gets_a_second_suppression_so_all_row_cannot_reveal_it():
    # county A has 3 competitively employed clients, 2 of them in an unsubsidised job.
    #            n_clients  n_competitive  n_unsubsidised  n_jobs
    # A              40          3               2            9
    # B              30         14              12           18
    # C              25         11              10           15
    # ALL            95         28              24           42
    df = county_table({"A": (40, 3, 2, 9), "B": (30, 14, 12, 18), "C": (25, 11, 10, 15)})
    pub = protect({"employment_outcomes": df}, [outcomes_spec()])
    out = pub.published("employment_outcomes")
    # Primary: A's 3 is "<5". Alone it would be useless: ALL - B - C = 28 - 14 - 11 = 3.
    # The n_competitive line (A + B + C = ALL) has one suppressed cell, so it gets a second,
    # its cheapest: a county (an ALL row is dear), of at least 2T, the smallest: C (11).
    # That is not enough: a reader knows A + C = 28 - 14 = 14 and A <= 4 ("<5"), so C would be
    # in [10, 14], a range of 4 < T. So B goes too. Now A + B + C = 28 with B, C >= 5 (".."),
    # B <= its 18 jobs and C <= its 15 jobs: A keeps 0..4, B is in [28 - 4 - 15, 18] = [9, 18],
    # C in [28 - 4 - 18, 15] = [6, 15].
    assert cell(out, "alue", "A", "n_competitive") == PRIMARY_LABEL == f"<{T}"
    assert cell(out, "alue", "B", "n_competitive") == SECONDARY_LABEL
    assert cell(out, "alue", "C", "n_competitive") == SECONDARY_LABEL
    assert cell(out, "alue", "ALL", "n_competitive") == 28
    ranges = {(r.row, r.column): (r.low, r.high) for r in pub.ranges}
    assert ranges[("alue=A", "n_competitive")] == (0, 4)
    assert ranges[("alue=B", "n_competitive")] == (9, 18)
    assert ranges[("alue=C", "n_competitive")] == (6, 15)
    # Same for n_unsubsidised (A 2, C 10 first: C would be in [8, 12]; then B)
    assert [cell(out, "alue", k, "n_unsubsidised") for k in "ABC"] == [PRIMARY_LABEL, SECONDARY_LABEL,
                                                                         SECONDARY_LABEL]
    assert ranges[("alue=A", "n_unsubsidised")] == (0, 4)
    assert len(pub.suppressed) == 6  # nothing else was needed
    # rule 4: rates and the median behind a suppressed count are hidden, others shown
    assert cell(out, "alue", "A", "rate_competitive") == HIDDEN_LABEL
    assert cell(out, "alue", "C", "rate_competitive") == HIDDEN_LABEL
    assert cell(out, "alue", "A", "median_job_days") == HIDDEN_LABEL
    assert cell(out, "alue", "B", "rate_competitive") == HIDDEN_LABEL
    assert cell(out, "alue", "ALL", "rate_competitive") == pytest.approx(28 / 95)
    # the n_clients column had nothing small and stays whole
    assert list(out["n_clients"]) == [40, 30, 25, 95]


def test_row_whose_total_is_under_T_is_suppressed_whole():
    # county D has 4 clients: its whole row goes, even its 6 jobs (>= T, hence "..").
    #            n_clients  n_competitive  n_unsubsidised  n_jobs
    # A              40         15              13           18
    # B              30         12              11           15
    # D               4          2               1            6
    # ALL            74         29              25           39
    df = county_table({"A": (40, 15, 13, 18), "B": (30, 12, 11, 15), "D": (4, 2, 1, 6)})
    pub = protect({"employment_outcomes": df}, [outcomes_spec()])
    status = pub.status("employment_outcomes").set_index("alue")
    assert list(status.loc["D", list(COUNTS)]) == ["primary", "primary", "primary", "secondary"]
    assert list(status.loc["D", [*RATES, *SUMMARIES]]) == ["hidden"] * 3
    out = pub.published("employment_outcomes").set_index("alue")
    assert out.loc["D", "n_jobs"] == SECONDARY_LABEL and out.loc["D", "n_clients"] == PRIMARY_LABEL
    # each column line now has D suppressed, so a second county goes in every column: the
    # cheapest of at least 2T, B. In the columns where D is "<5" that is not enough: e.g. for
    # n_unsubsidised a reader would know B + D = 25 - 13 = 12 and D <= 4, so B in [8, 12].
    # A goes too, and the ALL row (the dearest) stays published.
    assert all(status.loc["ALL", c] == "published" for c in COUNTS)
    assert all(status.loc["B", c] == "secondary" for c in COUNTS)
    ranges = {(r.row, r.column): (r.low, r.high) for r in pub.ranges}
    assert ranges[("alue=D", "n_unsubsidised")] == (0, 4)
    assert all(r.ok for r in pub.ranges)


def test_rate_hidden_when_numerator_or_denominator_is_suppressed():
    # A's n_unsubsidised (2) goes, with C's (14, the smallest of at least 2T; B's 9 is not);
    # A + C = 25 - 9 = 16 would put C in [12, 16], so B's goes too
    df = county_table({"A": (40, 12, 2, 15), "B": (30, 14, 9, 18), "C": (50, 20, 14, 25)})
    pub = protect({"employment_outcomes": df}, [outcomes_spec()])
    out = pub.published("employment_outcomes").set_index("alue")
    status = pub.status("employment_outcomes").set_index("alue")
    # numerator n_unsubsidised = 2 suppressed -> rate_unsubsidised hidden, rate_competitive shown
    assert out.loc["A", "rate_unsubsidised"] == HIDDEN_LABEL == out.loc["C", "rate_unsubsidised"]
    assert out.loc["B", "rate_unsubsidised"] == HIDDEN_LABEL
    assert out.loc["ALL", "rate_unsubsidised"] == pytest.approx(25 / 120)
    assert out.loc["A", "rate_competitive"] == pytest.approx(12 / 40)
    for alue in out.index:
        for rate, (num, den) in RATES.items():
            hidden = status.loc[alue, num] != "published" or status.loc[alue, den] != "published"
            assert (out.loc[alue, rate] == HIDDEN_LABEL) == hidden
    # denominator suppressed (a row under T) hides every rate of the row: see the test above


def test_audit_refuses_primary_suppression_alone():
    df = county_table({"A": (40, 3, 3, 9), "B": (30, 12, 8, 15), "C": (25, 9, 6, 11)})
    primary_only = primary_suppression({"employment_outcomes": df}, [outcomes_spec()])
    with pytest.raises(DisclosureError) as err:
        audit(primary_only)
    # A's 3 = ALL - B - C exactly: narrower than the 0..4 its label states
    assert err.value.table == "employment_outcomes"
    assert err.value.row == "alue=A"
    assert err.value.column in ("n_competitive", "n_unsubsidised")
    assert "alue=A, column n_competitive: narrower than 0..4" in str(err.value)
    assert "3" not in str(err.value).split("alue=A")[1].splitlines()[0]  # never the value
    # and an unaudited publication cannot be published
    with pytest.raises(DisclosureError, match="not audited"):
        primary_only.published("employment_outcomes")
    # complementary suppression is what makes it pass
    assert audit(complementary_suppression(primary_only)).audited


def test_audit_uses_the_pages_labels_and_inequalities():
    # n_b <= n_a in every row. A's and B's n_b (2 and 3) are primary. The published ALL = 5
    # gives A + B = 5, and each is "<5", so A = 5 - B >= 1: A is in [1, 4], not the whole 0..4.
    spec = TableSpec(name="t", keys=("alue",), counts=("n_a", "n_b"),
                     relations=(RowsSum("alue"), AtMost("n_b", "n_a")))
    df = pd.DataFrame({"alue": ["A", "B", "ALL"], "n_a": [7, 9, 16], "n_b": [2, 3, 5]})
    with pytest.raises(DisclosureError, match="alue=A, column n_b: narrower than 0..4"):
        audit(primary_suppression({"t": df}, [spec]))
    # Hiding ALL (5, "..") does not help: A + B >= 5 still gives A >= 1; nor does hiding the
    # rest of A's row. No label protects it, so the column is withheld: the page states
    # nothing about its counts, and A is in 0..11 (at most its n_a, hidden in 5..11).
    pub = protect({"t": df}, [spec])
    out = pub.published("t").set_index("alue")
    assert list(out["n_b"]) == [WITHHELD_LABEL] * 3
    assert pub.withheld() == {"t": ("n_b",)}
    ranges = {(r.row, r.column): (r.low, r.high) for r in pub.ranges}
    assert ranges[("alue=A", "n_b")] == (0, 11) and ranges[("alue=B", "n_b")] == (0, 11)
    # With ALL = 9 (A 2, B 7): hiding B (>= 5) leaves B = 9 - A in [5, 9], width 4, so ALL
    # goes; B is still capped by its n_a = 9, so B's n_a goes, and with it A's (the n_a
    # line). Then A's n_a and B's n_a are in [5, 11] (they sum to 16), B's n_b in [5, 11]
    # (at most its n_a), ALL's n_b = A + B in [5, 15], and A keeps 0..4.
    df2 = pd.DataFrame({"alue": ["A", "B", "ALL"], "n_a": [7, 9, 16], "n_b": [2, 7, 9]})
    pub = protect({"t": df2}, [spec])
    out = pub.published("t").set_index("alue")
    assert list(out["n_b"]) == [PRIMARY_LABEL, SECONDARY_LABEL, SECONDARY_LABEL]
    assert list(out["n_a"]) == [SECONDARY_LABEL, SECONDARY_LABEL, 16]
    ranges = {(r.row, r.column): (r.low, r.high) for r in pub.ranges}
    assert ranges == {("alue=A", "n_b"): (0, 4), ("alue=B", "n_b"): (5, 11), ("alue=ALL", "n_b"): (5, 15),
                      ("alue=A", "n_a"): (5, 11), ("alue=B", "n_a"): (5, 11)}


def test_row_linear_relation_is_used_by_the_audit():
    # n_competitive + n_other_activity <= n_clients: with 9 clients and 6 employed shown,
    # the 3 in other activities are known to be at most 3: not the whole 0..4.
    spec = TableSpec(name="t", keys=("alue",), counts=("n_clients", "n_competitive", "n_other_activity"),
                     relations=(RowLinear({"n_competitive": 1, "n_other_activity": 1, "n_clients": -1}),))
    df = pd.DataFrame({"alue": ["A"], "n_clients": [9], "n_competitive": [6], "n_other_activity": [3]})
    with pytest.raises(DisclosureError, match="n_other_activity: narrower than 0..4"):
        audit(primary_suppression({"t": df}, [spec]))
    # hiding n_competitive (".." >= 5) makes other <= 4, but then n_competitive is in [5, 9],
    # width 4: n_clients goes too
    pub = protect({"t": df}, [spec])
    assert len(pub.suppressed) == 3 and all(r.ok for r in pub.ranges)
    # without the relation the audit cannot know, and would let it through
    assert audit(primary_suppression({"t": df}, [replace(spec, relations=())])).audited
    # with 10 clients the relation says other <= 4: the whole 0..4, nothing learnt
    assert audit(primary_suppression({"t": df.assign(n_clients=10, n_other_activity=4)}, [spec])).audited


def test_links_across_tables_protect_the_group_table():
    county = county_table({"A": (40, 12, 7, 15), "B": (30, 12, 6, 14)})
    # the wave table: wave 1 has 2 competitively employed, wave 2 has 22; ALL (county) = 24,
    # so publishing wave 2 and the county ALL row would give wave 1 = 24 - 22 = 2.
    waves = with_derived(pd.DataFrame({"aalto": ["1", "2"], "n_clients": [20, 50], "n_competitive": [2, 22],
                                       "n_unsubsidised": [1, 12], "n_jobs": [3, 26]}))
    tables = {"employment_outcomes": county, "by_wave": waves}
    specs = [outcomes_spec(), group_spec("by_wave", "aalto")]
    link = CrossSum(total="employment_outcomes", total_row={"alue": "ALL"}, parts="by_wave")
    # without the link the group table looks safe on its own ...
    unlinked = complementary_suppression(primary_suppression(tables, specs))
    assert audit(unlinked).audited
    # ... but the linked audit refuses that very pattern
    linked = primary_suppression(tables, specs, [link])
    with pytest.raises(DisclosureError, match="by_wave, row aalto=1, column n_competitive"):
        audit(replace(linked, suppressed=unlinked.suppressed))
    # protected with the link: the line wave 1 + wave 2 = ALL gets a second cell, wave 2
    # (cheaper than ALL); but wave 2 = 24 - wave 1 would be in [20, 24], so ALL's 24 goes
    # too, and then the county line A + B = ALL needs a second cell: a county
    pub = protect(tables, specs, [link])
    out = pub.published("by_wave").set_index("aalto")
    assert out.loc["1", "n_competitive"] == PRIMARY_LABEL
    assert out.loc["2", "n_competitive"] == SECONDARY_LABEL
    county_out = pub.published("employment_outcomes").set_index("alue")["n_competitive"]
    assert county_out["ALL"] == SECONDARY_LABEL and list(county_out[["A", "B"]]).count(SECONDARY_LABEL) == 1
    assert all(r.ok for r in pub.ranges)


def test_descriptions_are_checked():
    df = county_table({"A": (40, 12, 7, 15), "B": (30, 9, 6, 11)})
    with pytest.raises(DisclosureError, match="minima and maxima"):
        protect({"e": df}, [TableSpec(name="e", keys=("alue",), counts=COUNTS, extrema=("max_job_days",))])
    with pytest.raises(DisclosureError, match="minimum or maximum"):
        protect({"e": df.assign(max_job_days=400)},
                [TableSpec(name="e", keys=("alue",), counts=COUNTS, rates=RATES,
                           summaries={**SUMMARIES, "max_job_days": ("n_jobs",)})])
    with pytest.raises(DisclosureError, match="undeclared"):
        protect({"e": df}, [TableSpec(name="e", keys=("alue",), counts=COUNTS)])
    bad = df.copy()
    bad.loc[bad.alue == "ALL", "n_jobs"] += 1
    with pytest.raises(DisclosureError, match="does not hold"):
        protect({"employment_outcomes": bad}, [outcomes_spec()])


def test_quarterly_table_counties_sum_to_all_within_each_quarter():
    rows = []
    for q, (a, b) in {"2024Q1": ((20, 3), (30, 11)), "2024Q2": ((22, 9), (31, 12))}.items():
        rows += [("A", q, *a), ("B", q, *b), ("ALL", q, a[0] + b[0], a[1] + b[1])]
    df = pd.DataFrame(rows, columns=["alue", "quarter", "n_served", "n_working"])
    df["rate_working"] = df.n_working / df.n_served
    spec = TableSpec(name="q", keys=("alue", "quarter"), counts=("n_served", "n_working"),
                     rates={"rate_working": ("n_working", "n_served")}, row_total="n_served",
                     relations=(RowsSum(by="alue", total="ALL"),))
    st_ = protect({"q": df}, [spec]).status("q").set_index(["alue", "quarter"])
    # 2024Q1: A's 3 is primary; the quarter's line has two counties, so B goes too; then
    # B = ALL - A would be in [10, 14], so the quarter's ALL goes as well
    assert st_.loc[("A", "2024Q1"), "n_working"] == "primary"
    assert st_.loc[("B", "2024Q1"), "n_working"] == "secondary"
    assert st_.loc[("ALL", "2024Q1"), "n_working"] == "secondary"
    # 2024Q2 has nothing small and is untouched
    assert (st_.xs("2024Q2", level="quarter")[["n_served", "n_working"]] == "published").all().all()


# ------------------------------------------------------------------------------------------
# Rule 5: curves
# ------------------------------------------------------------------------------------------
def test_curve_steps_hold_T_events_and_end_while_T_are_at_risk():
    steps = pd.DataFrame(
        [  # time, at risk, events, censored, estimate
            (1, 22, 2, 0, 0.91),
            (2, 20, 1, 4, 0.86),  # 2 + 1 events (and 4 censorings, which do not count)
            (3, 18, 3, 0, 0.72),  # 2 + 1 + 3 = 6 events >= 5: first published step ends here
            (4, 15, 0, 2, 0.72),
            (5, 13, 1, 0, 0.66),
            (6, 12, 2, 3, 0.55),
            (7, 7, 2, 0, 0.39),  # 0 + 1 + 2 + 2 = 5: the second step ends here
            (8, 5, 1, 1, 0.31),  # 1 event: joins the second step (the last time with 5 at risk)
            (9, 4, 1, 0, 0.23),  # under 5 at risk: never shown
            (10, 3, 0, 3, 0.23),
        ],
        columns=["time", "n_at_risk", "n_events", "n_censored", "estimate"],
    )
    steps["ci_low"], steps["ci_high"] = steps.estimate - 0.1, steps.estimate + 0.05
    curve = publishable_curve(steps)
    # step 1: times 1-3, shown at t=3 with its estimate; at risk at its start 22 -> 20
    # step 2: times 4-8, shown at t=8 with its estimate; at risk at its start 15 -> 15
    assert list(curve.columns) == ["time", "n_at_risk", "estimate", "ci_low", "ci_high"]
    assert list(curve.time) == [3, 8]
    assert list(curve.n_at_risk) == [20, 15]
    assert list(curve.estimate) == [0.72, 0.31]
    assert list(curve.ci_low) == pytest.approx([0.62, 0.21])
    # pooling censorings (the old rule) would have ended step 1 at t=2 (2 + 1 + 4 = 7)


def test_round_to_nearest_multiple_of_five():
    assert [round_to_base(n) for n in (0, 2, 3, 12, 13, 15, 22, 23)] == [0, 0, 5, 10, 15, 15, 20, 25]


def test_curve_with_too_few_events_is_refused():
    # 4 events and 6 censorings: enough people, too few events
    steps = pd.DataFrame({"time": [1, 2, 3], "n_at_risk": [16, 12, 5], "n_events": [1, 2, 1],
                          "n_censored": [3, 3, 0], "estimate": [0.9, 0.7, 0.6], "ci_low": [0.5, 0.3, 0.2],
                          "ci_high": [0.9, 0.8, 0.8]})
    with pytest.raises(DisclosureError, match="fewer than"):
        publishable_curve(steps)


# ------------------------------------------------------------------------------------------
# Rule 6: model tables
# ------------------------------------------------------------------------------------------
def test_model_table_rule():
    ok = {"gender": {"1": 40, "2": 35}, "age_group": {"<30": 10, "30-39": 12, "40-49": 9, "50+": T}}
    assert check_model_table(MIN_RESIDUAL_DF, ok)
    assert check_model_table(120.0, ok).reasons == ()
    few_df = check_model_table(MIN_RESIDUAL_DF - 1, ok)
    assert not few_df and "residual degrees of freedom" in few_df.reasons[0]
    small = check_model_table(120, {**ok, "gender": {"1": 40, "2": 35, "9": T - 1}})
    assert not small and small.reasons == (f"term 'gender', category '9': fewer than {T} people",)
    assert not check_model_table(float("nan"), ok)
    with pytest.raises(DisclosureError, match="employment_predictors"):
        small.require("employment_predictors")


# ------------------------------------------------------------------------------------------
# Site scan
# ------------------------------------------------------------------------------------------
PSEUDONYMS = {"K7Q2M9XA", "ZP31LL08", "A1B2C3D4E5"}


def build_site(root):
    (root / "data").mkdir(parents=True)
    (root / "index.html").write_text(
        "<html><body><h1>Sijoita ja valmenna!</h1><table>"
        '<tr><td>Uusimaa</td><td data-count="42">42</td><td data-count="&lt;5">&lt;5</td>'
        '<td data-count="..">..</td><td>31 %</td></tr></table>'
        '<p>Päivitetty 2024-03-31, aineisto 1234 henkilöä.</p></body></html>', encoding="utf-8")
    (root / "data" / "employment_outcomes.csv").write_text(
        "alue,n_clients,n_competitive,rate_competitive,median_job_days\n"
        "Uusimaa,42,<5,..,120\nPirkanmaa,30,..,..,3\nALL,72,15,0.21,99\n", encoding="utf-8")
    (root / "data" / "curve.json").write_text(
        json.dumps({"time": [3, 8], "n_at_risk": [20, 15], "estimate": [0.7, 0.5]}), encoding="utf-8")
    (root / "chart.svg").write_text('<svg><rect data-count="15" height="3"/><text>3 months</text></svg>')
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")


def test_clean_site_passes_with_a_report(tmp_path):
    build_site(tmp_path)
    report = scan_site(tmp_path, known_ids=PSEUDONYMS, specs=[outcomes_spec()])
    assert isinstance(report, ScanReport)
    assert report.scanned == ("chart.svg", "data/curve.json", "data/employment_outcomes.csv", "index.html")
    assert report.skipped == ("logo.png",)
    # 3 data-count in html, 1 in svg, 6 CSV cells (n_clients, n_competitive), 2 at risk in JSON,
    # 1 in prose ("1234 henkilöä")
    assert report.counts_checked == 13
    assert report.known_ids == len(PSEUDONYMS)


@pytest.mark.parametrize(
    "file, content, expected",
    [
        ("data/small.csv", "alue,n_working\nA,3\n", "small.csv line 2, column 'n_working': a published count under"),
        ("data/small.csv", "alue,n_working\nA,0\n", "a published count under"),
        ("data/small.csv", "alue,n_working\nA,3 (12 %)\n", "neither a number nor a label"),
        ("data/excel.csv", "\ufeffn_working;alue\n12;A\n2;B\n", "excel.csv line 3, column 'n_working'"),
        ("county.html", '<p>\n<span data-count="2">2</span></p>', "county.html line 2, column 7, data-count"),
        ("app.js", 'const data = {"n_served": 4, "rate": 0.3};', "'n_served': a published count under"),
        ("data/x.json", '{"rows": [{"alue": "A", "n_clients": 4}]}', "at $.rows[0].n_clients"),
        ("people.html", "<p>Asiakas ZP31LL08 aloitti</p>", "people.html line 1, column 12: a study pseudonym"),
        ("p/k7q2m9xa.html", "<p>hello</p>", "in its path: a study pseudonym"),
        ("notes.txt", "ref:clientA1B2C3D4E5x", "a study pseudonym"),
        ("notes.txt", f"id {make_identity_code(dt.date(1985, 6, 15), 123)}", "a Finnish personal identity code"),
    ],
)
def test_site_scan_finds_planted_problems(tmp_path, file, content, expected):
    build_site(tmp_path)
    path = tmp_path / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SiteScanError) as err:
        scan_site(tmp_path, known_ids=PSEUDONYMS)
    assert expected in str(err.value)
    assert len(err.value.findings) == 1
    # the message names the place, never the person
    assert "ZP31LL08" not in str(err.value) and "A1B2C3D4E5" not in str(err.value)


def test_site_scan_uses_the_table_description_for_count_columns(tmp_path):
    (tmp_path / "t.csv").write_text("alue,tyossa\nA,2\n")
    # a whole number in a column nothing declares is taken to be people
    with pytest.raises(SiteScanError, match="'tyossa'"):
        scan_site(tmp_path, known_ids=set())
    with pytest.raises(SiteScanError, match="'tyossa'"):
        scan_site(tmp_path, known_ids=set(), specs=[TableSpec(name="t", keys=("alue",), counts=("tyossa",))])
    # declared as something else (columns.json beside it), it is not a count
    (tmp_path / "columns.json").write_text(json.dumps({"tables": {"t": {"columns": {"tyossa": "int"}}}}))
    assert scan_site(tmp_path, known_ids=set())


# ------------------------------------------------------------------------------------------
# Rule 9: every visible number (the planted cases of the issue), and the check-output command
# ------------------------------------------------------------------------------------------
PLANTED = {
    "svg_text": ("chart.svg", '<svg xmlns="http://www.w3.org/2000/svg"><g id="xtick_1"><text>2</text></g>'
                              '<text x="5">3</text></svg>', "chart.svg line 1, column 75, text: a published count"),
    "svg_n_equals": ("trend.svg", '<svg><text>Kainuu, n = 3</text></svg>', "trend.svg line 1, column 6, text"),
    "html_cell": ("page.html", "<table><tr><th>Kainuu</th><td>3</td></tr></table>",
                  "page.html line 1, column 27, table cell: a published count under 5"),
    "html_count_column": ("page.html", '<table data-columns="alue,n_working"><tr><th>A</th><td class="num">3</td>'
                                       "</tr></table>", "table cell 'n_working': a published count under 5"),
    "rate_with_denominator": ("q.csv", "alue,quarter,n_served,rate_working\nA,2024Q1,12,0.2500\n",
                              "q.csv line 2, column 'rate_working': a rate that implies a count under 5 "
                              "(with n_served)"),
    "html_rate_with_denominator": (
        "rates.html", '<table data-columns="alue,n_served,rate_working"><tr><th>A</th>'
                      '<td data-value="12" data-column="n_served" data-kind="count">12</td>'
                      '<td data-value="0.2500" data-column="rate_working" data-kind="rate">25,0 %</td></tr></table>',
        "column 'rate_working': a rate that implies a count under 5 (with n_served)"),
    "label_replaced": ("employment_outcomes.csv", "alue,n_clients,n_competitive\nA,40,3\nB,30,..\nC,20,..\nALL,90,25\n",
                       "employment_outcomes.csv line 2, column 'n_competitive': a published count under 5"),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_every_visible_number_is_read(tmp_path, case):
    file, content, expected = PLANTED[case]
    (tmp_path / file).write_text(content, encoding="utf-8")
    with pytest.raises(SiteScanError) as err:
        scan_site(tmp_path, known_ids=set())
    assert any(expected in str(f) for f in err.value.findings), str(err.value)
    assert len(err.value.findings) == 1, str(err.value)


def test_what_is_not_a_count_passes(tmp_path):
    # axis ticks, percentages, quarters, years, durations; a rate whose implied numerator is
    # at least T; a rate beside a denominator that is hidden
    (tmp_path / "chart.svg").write_text(
        '<svg><g id="ytick_2"><text>1</text></g><text>31 % minimal</text><text>2024Q1</text>'
        "<text>2023</text><text>3 months</text></svg>", encoding="utf-8")
    (tmp_path / "q.csv").write_text("alue,n_served,rate_working\nA,12,0.4167\nB,..,0.25\n", encoding="utf-8")
    (tmp_path / "p.html").write_text("<p>1. aalto, 12 kuukautta</p><table><tr><td>31,0 %</td></tr></table>",
                                     encoding="utf-8")
    assert scan_site(tmp_path, known_ids=set())


def test_check_output_reads_xlsx_sheets(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "county_outcomes"
    for r in (["alue", "n_clients", "n_competitive"], ["Kainuu", 40, 12], ["Pohjanmaa", 25, 3]):
        sheet.append(r)
    book.save(tmp_path / "report.xlsx")
    found = [f"{f.file} {f.location}: {f.what}" for f in check_output(tmp_path)]
    assert len(found) == 1 and found[0].startswith("report.xlsx county_outcomes!C3"), found  # sheet!cell
    assert "n_competitive" in found[0]


def test_check_output_command_lists_every_problem_and_exits_non_zero(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    for file, content, _ in PLANTED.values():
        (tmp_path / file).write_text(content, encoding="utf-8")
    (tmp_path / "report.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    result = CliRunner().invoke(app, ["check-output", str(tmp_path)])
    assert result.exit_code == 1
    for file, _, _ in PLANTED.values():
        assert file in result.output
    # every problem names its file, place and rule; a workbook that cannot be read is named
    assert "q.csv line 2, column 'rate_working': a rate that implies a count under 5" in result.output
    assert "report.xlsx whole file: an XLSX file that could not be read as a workbook" in result.output
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "t.csv").write_text("alue,n_clients\nA,40\n", encoding="utf-8")
    ok = CliRunner().invoke(app, ["check-output", str(clean)])
    assert ok.exit_code == 0 and "no problems" in ok.output


# ------------------------------------------------------------------------------------------
# Property-based: random linked county / group tables
# ------------------------------------------------------------------------------------------
@st.composite
def fine_cells(draw):
    """(number of counties, counts per county x wave x SMI cell): small counts and zeros
    often, larger ones too; n_unsubsidised <= n_competitive <= n_clients, n_jobs >= n_competitive."""
    n_counties = draw(st.integers(1, 4))
    size = draw(st.sampled_from([6, 15, 40]))  # tiny, small or mid-sized populations
    rows = []
    for county in range(n_counties):
        for wave in range(3):
            for smi in (False, True):
                n = draw(st.integers(0, size))
                competitive = draw(st.integers(0, n))
                unsubsidised = draw(st.integers(0, competitive))
                jobs = draw(st.integers(competitive, 2 * competitive))
                rows.append((county, wave, smi, n, competitive, unsubsidised, jobs))
    return n_counties, rows


def tables_from_cells(n_counties: int, rows) -> dict[str, pd.DataFrame]:
    """County table (+ ALL), wave, SMI and county x wave tables summed from the fine cells,
    so that every relation holds by construction; every category has its row, zeros included."""
    p = pd.DataFrame(rows, columns=["county", "wave", "smi", *COUNTS])
    p["alue"] = "K" + p.county.astype(str)
    p["aalto"] = (p.wave + 1).astype(str)
    p["smi"] = np.where(p.smi, "yes", "no")

    def agg(*by):
        return p.groupby(list(by), as_index=False)[list(COUNTS)].sum()

    county = agg("alue")
    county = pd.concat([county, pd.DataFrame([{"alue": "ALL", **county[list(COUNTS)].sum()}])], ignore_index=True)
    return {"employment_outcomes": with_derived(county), "by_wave": with_derived(agg("aalto")),
            "by_smi": with_derived(agg("smi")), "by_county_wave": with_derived(agg("alue", "aalto"))}


KEYS = {"employment_outcomes": ("alue",), "by_wave": ("aalto",), "by_smi": ("smi",),
        "by_county_wave": ("alue", "aalto")}
SPECS = [outcomes_spec(), group_spec("by_wave", "aalto"), group_spec("by_smi", "smi"),
         TableSpec(name="by_county_wave", keys=KEYS["by_county_wave"], counts=COUNTS, rates=RATES,
                   summaries=SUMMARIES, row_total="n_clients", relations=ROW_RELATIONS)]
LINKS = [
    CrossSum(total="employment_outcomes", total_row={"alue": "ALL"}, parts="by_wave"),
    CrossSum(total="employment_outcomes", total_row={"alue": "ALL"}, parts="by_smi"),
    CrossSum(total="employment_outcomes", parts="by_county_wave", by=("alue",)),  # each county's waves
    CrossSum(total="by_wave", parts="by_county_wave", by=("aalto",)),  # each wave's counties
]


def rowkey(t: str, r: pd.Series):
    keys = KEYS[t]
    return r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)


def attackers_ranges(published: dict[str, pd.DataFrame]) -> list[tuple[str, object, str, float, float]]:
    """What a reader can derive, written independently of the module: unknowns are the
    labelled count cells (>= 0; >= T when labelled "..", 0..T-1 when "<5", any whole number
    when withheld), known cells are constants, and the reader knows every relation of these
    tables. Whole-number bounds by HiGHS."""
    var, bounds, known = {}, [], {}
    for t, df in published.items():
        for _, r in df.iterrows():
            for c in COUNTS:
                if isinstance(r[c], str):
                    var[(t, rowkey(t, r), c)] = len(var)
                    bounds.append({SECONDARY_LABEL: (T, None), PRIMARY_LABEL: (0, T - 1)}.get(r[c], (0, None)))
                else:
                    known[(t, rowkey(t, r), c)] = float(r[c])
    eq, ub = [], []

    def add(target, positives, negatives):
        row, rhs = np.zeros(len(var)), 0.0
        for sign, cells in ((1, positives), (-1, negatives)):
            for cl in cells:
                if cl in var:
                    row[var[cl]] += sign
                else:
                    rhs -= sign * known[cl]
        target.append((row, rhs))

    counties = [a for a in published["employment_outcomes"].alue if a != "ALL"]
    waves, cw = list(published["by_wave"].aalto), "by_county_wave"
    for c in COUNTS:
        add(eq, [("employment_outcomes", a, c) for a in counties], [("employment_outcomes", "ALL", c)])
        for g in ("by_wave", "by_smi"):
            add(eq, [(g, k, c) for k in published[g][KEYS[g][0]]], [("employment_outcomes", "ALL", c)])
        for a in counties:
            add(eq, [(cw, (a, w), c) for w in waves], [("employment_outcomes", a, c)])
        for w in waves:
            add(eq, [(cw, (a, w), c) for a in counties], [("by_wave", w, c)])
    for t, df in published.items():
        for _, r in df.iterrows():
            k = rowkey(t, r)
            for small, large in [("n_unsubsidised", "n_competitive"), ("n_competitive", "n_clients"),
                                 ("n_unsubsidised", "n_clients"), ("n_competitive", "n_jobs")]:
                add(ub, [(t, k, small)], [(t, k, large)])
    eq = [(r, b) for r, b in eq if r.any()]
    ub = [(r, b) for r, b in ub if r.any()]
    problem = dict(A_eq=np.array([r for r, _ in eq]) if eq else None, b_eq=[b for _, b in eq] or None,
                   A_ub=np.array([r for r, _ in ub]) if ub else None, b_ub=[b for _, b in ub] or None,
                   bounds=bounds, method="highs")

    def solve(obj):
        res = linprog(obj, **problem)
        assert res.status in (0, 3)
        if res.status == 3:
            return -math.inf
        if not np.allclose(res.x, np.round(res.x), atol=1e-6):  # a fractional optimum: whole numbers
            res = linprog(obj, integrality=np.ones(len(var)), **problem)
            assert res.status == 0
        return res.fun

    out = []
    for (t, k, c), j in var.items():
        obj = np.zeros(len(var))
        obj[j] = 1
        label = published[t].set_index(list(KEYS[t])).loc[k, c]
        out.append((t, k, c, solve(obj), -solve(-obj), label))
    return out


def learns_nothing(lo: float, hi: float, label: str, true: float | None = None) -> bool:
    """What the page states and no more: "<5" keeps 0..4, ".." a range at least T wide; a
    withheld count keeps 0..4 when it is under T (a larger one hides nothing)."""
    if label == WITHHELD_LABEL:
        return true >= T or (lo <= 1e-6 and hi >= T - 1 - 1e-6)
    if label == PRIMARY_LABEL:
        return lo <= 1e-6 and hi >= T - 1 - 1e-6
    return hi - lo >= T - 1e-6


@pytest.mark.slow
@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(cells=fine_cells())
def test_random_linked_tables_are_protected(cells):
    tables = tables_from_cells(*cells)
    # never refused: where no label protects (a breakdown of two "<5" cells whose total is 5
    # or more tells that each is at least 1), the search withholds the column or the table
    pub = protect(tables, SPECS, LINKS)
    published = {t: pub.published(t) for t in tables}
    for t, df in published.items():
        for _, r in df.iterrows():
            # (a) no published count under T, and published counts are the true ones
            for c in COUNTS:
                if not isinstance(r[c], str):
                    assert r[c] >= T
                else:
                    assert r[c] in (PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL)
            # (c) a published rate or median has publishable people behind it
            for col, behind in [*RATES.items(), *SUMMARIES.items()]:
                if r[col] != HIDDEN_LABEL:
                    assert all(not isinstance(r[b], str) and r[b] >= T for b in behind)
        for i, r in df.iterrows():
            for c in COUNTS:
                if not isinstance(r[c], str):
                    assert r[c] == tables[t].at[i, c]
    # (b) the module's audit passed, and so does an attacker's LP written independently
    assert all(r.ok for r in pub.ranges)
    for t, k, c, lo, hi, label in attackers_ranges(published):
        row = tables[t].set_index(list(KEYS[t])).loc[k]
        true = row[c]
        assert lo - 1e-6 <= true <= hi + 1e-6
        # a row with nobody in it tells of no one: the plan lets a reader work it out
        assert row["n_clients"] == 0 or learns_nothing(lo, hi, label, true), (t, k, c, lo, hi)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(cells=fine_cells())
def test_primary_suppression_alone_is_caught_whenever_it_leaks(cells):
    """The audit refuses exactly when the attacker's LP can narrow a cell below T."""
    tables = tables_from_cells(*cells)
    primary = primary_suppression(tables, SPECS, LINKS)
    shown = {t: replace(primary, ranges=()).published(t) for t in tables}  # as if published
    leaks = any(not learns_nothing(lo, hi, label) for *_, lo, hi, label in attackers_ranges(shown))
    if leaks:
        with pytest.raises(DisclosureError):
            audit(primary)
    else:
        audit(primary)


@pytest.mark.parametrize("b, rows, shown, b_range", [
    # B (not shown, 7 >= T) is 17 - 10 = 7 exactly: a publishable count, it hides nothing
    (7, "withheld_rows", [10, "..", 17], (7, 7)),
    # B = 3 < T must keep 0..4: A is hidden too (ALL costs more); the page states no count, so
    # a hidden A is any whole number >= 0 and A + B = 17 leaves B in 0..17
    (3, "withheld_rows", ["..", "<5", 17], (0, 17)),
    # B repeated from an earlier snapshot instead (7 now): its current value, hence its revision,
    # must not be derivable, so A is hidden as well: B in 0..17
    (7, "superseded_rows", ["..", "..", 17], (0, 17)),
])
def test_rows_the_page_does_not_show(b, rows, shown, b_range):
    """Rows a table holds but the page never shows: a reader knows them only through the
    relations (a whole number >= 0); one of a withheld row is protected only under T, one of
    a superseded row like any hidden count."""
    spec = TableSpec(name="t", keys=("alue",), counts=("n",), relations=(RowsSum(by="alue"),),
                     labels_shown=False, **{rows: {"alue": frozenset({"B"})}})
    df = pd.DataFrame({"alue": ["A", "B", "ALL"], "n": [17 - b, b, 17]})
    pub = protect({"t": df}, [spec])
    assert list(pub.published("t")["n"]) == shown
    [r] = [r for r in pub.ranges if r.row == "alue=B"]
    assert (r.low, r.high) == b_range


def test_a_count_of_nobody_keeps_the_range_of_its_label():
    """A count of a row with nobody in it (its total 0) is shown `<5` like any count under T,
    and the audit's programme gives it that label's bounds, 0..T-1: not those of `..` (at
    least T), which no table consistent with the page meets (here a + b = ALL < T)."""
    spec = TableSpec(name="t", keys=("g",), counts=("n_clients", "n_working"), row_total="n_clients",
                     relations=(RowsSum(by="g"), AtMost("n_working", "n_clients")))
    df = pd.DataFrame({"g": ["a", "b", "ALL"], "n_clients": [0, 3, 3], "n_working": [0, 1, 1]})
    pub = protect({"t": df}, [spec])
    shown = pub.published("t")
    assert all(v == PRIMARY_LABEL for c in ("n_clients", "n_working") for v in shown[c])
    ranges = {(r.row, r.column): (r.low, r.high) for r in pub.ranges}
    # a reader knows only that every count is under T: a 0..4, b 0..4 as well
    assert ranges[("g=a", "n_clients")] == (0, T - 1)
    assert ranges[("g=b", "n_clients")] == (0, T - 1)
    assert all(r.ok for r in pub.ranges)


def test_the_exact_audit_finds_a_cell_without_upper_bound_beside_bounded_ones():
    """A held-back count (40, shown `..`) bounded only from below by the small count within it
    (3, `<5`): a reader knows 5 <= n, nothing more. In one component with a bounded cell, the
    unbounded one is found as such (infinite maximum) and the bounded one keeps its range."""
    spec = TableSpec(name="t", keys=("g",), counts=("n", "k"), relations=(AtMost("k", "n"),),
                     held_back=frozenset({(("a",), "n")}))
    df = pd.DataFrame({"g": ["a"], "n": [40], "k": [3]})
    pub = protect({"t": df}, [spec])
    ranges = {r.column: (r.low, r.high) for r in pub.ranges}
    assert ranges == {"n": (T, math.inf), "k": (0, T - 1)}
    assert list(pub.published("t").loc[0, ["n", "k"]]) == [SECONDARY_LABEL, PRIMARY_LABEL]
