"""Complementary suppression always finds a protection (docs/analysis_plan.md, disclosure rule 2).

Small studies are generated person by person (a few small counties in two waves, cohorts
open or closed to new starters, a release at any quarter end) and counted into the site's
employment tables exactly as described by `employment_specs` (the real relations). The whole
suppression and audit must publish every one of them: where labels cannot protect a cell the
search withholds a column or a table, and it never stops for want of a partner.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.figures import HEADLINE_RATES, QUARTERLY_RATES
from ips_eval.figures import wave_counties
from ips_eval.publish.disclosure import (
    PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL, DisclosureError, RowsSum, TableSpec, protect,
)
from ips_eval.publish.site.tables import (
    COUNTY, GROUPINGS, OUTCOME_COUNTS, QUARTER_COUNTS, QUARTERLY, employment_specs, group_table_name,
)

COUNTIES = {"Kainuu": "2", "Lappi": "1", "Pohjanmaa": "2", "Helsinki": "1"}
GROUP_VALUES = {"wave": ("1", "2"), "smi": ("0", "1"), "gender": ("1", "2"), "age_group": ("18-29", "30-")}
FLAGS = ("competitive", "unsubsidised", "tenure6", "tenure12", "employed6", "employed12", "working")


@st.composite
def studies(draw):
    """(people, number of quarters up to the release): each person's county, groups, start
    quarter and outcome draws. Closed cohorts start in the first two quarters only."""
    counties = draw(st.lists(st.sampled_from(sorted(COUNTIES)), min_size=2, max_size=4, unique=True))
    quarters = draw(st.integers(1, 8))  # a release at the end of the 1st..8th quarter of the study
    closed = draw(st.booleans())
    people = []
    for county in counties:
        for _ in range(draw(st.integers(0, 14))):
            people.append({
                "alue": county, "wave": COUNTIES[county],
                **{g: draw(st.sampled_from(v)) for g, v in GROUP_VALUES.items() if g != "wave"},
                "start": draw(st.integers(0, min(1, quarters - 1) if closed else quarters - 1)),
                **{f: draw(st.booleans()) for f in FLAGS},
                "served_every_quarter": draw(st.booleans()),
            })
    return people, quarters


def tables_of(people: list[dict], quarters: int) -> dict[str, pd.DataFrame]:
    """The county, group and quarterly tables counted from the people, every relation true."""
    rows = []
    for p in people:
        f = quarters - 1 - p["start"]  # whole quarters followed up after the start quarter
        comp = p["competitive"]
        t6e = comp and f >= 2
        t12e = t6e and f >= 4
        rows.append({**p, "n_clients": 1, "n_competitive": comp, "n_unsubsidised": comp and p["unsubsidised"],
                     "n_tenure6_eligible": t6e, "n_tenure6": t6e and p["tenure6"],
                     "n_tenure12_eligible": t12e, "n_tenure12": t12e and p["tenure6"] and p["tenure12"],
                     "n_employed6_eligible": f >= 2, "n_employed6": f >= 2 and comp and p["employed6"],
                     "n_employed12_eligible": f >= 4, "n_employed12": f >= 4 and comp and p["employed12"]})
    people_df = pd.DataFrame(rows, columns=["alue", *GROUP_VALUES, "start", *OUTCOME_COUNTS])

    def counts(frame: pd.DataFrame, key: str, values) -> pd.DataFrame:
        out = frame.groupby(key)[list(OUTCOME_COUNTS)].sum().reindex(list(values), fill_value=0).astype(int)
        for rate, (num, den) in HEADLINE_RATES.items():
            out[rate] = (out[num] / out[den].where(out[den] > 0)).astype(float)
        return out.reset_index(names=key)

    areas = sorted(set(people_df["alue"])) or ["Kainuu"]
    county = counts(people_df, "alue", areas)
    total = county[list(OUTCOME_COUNTS)].sum()
    all_row = {"alue": "ALL", **{c: int(total[c]) for c in OUTCOME_COUNTS}}
    all_row.update({r: (all_row[n] / all_row[d] if all_row[d] else float("nan"))
                    for r, (n, d) in HEADLINE_RATES.items()})
    frames = {COUNTY: pd.concat([county, pd.DataFrame([all_row])], ignore_index=True)}
    for g, values in GROUP_VALUES.items():
        frames[group_table_name(g)] = counts(people_df, g, values).rename(columns={g: "group_value"})
    quarter_rows = []
    for q in range(quarters):
        label = f"2023Q{q % 4 + 1}" if q < 4 else f"2024Q{q % 4 + 1}"
        per_area = {a: [0, 0, 0] for a in areas}
        for p, r in zip(people, rows):
            if p["start"] <= q and (p["served_every_quarter"] or q == p["start"]):
                working = r["n_competitive"] and p["working"]
                per_area[p["alue"]][0] += 1
                per_area[p["alue"]][1] += working
                per_area[p["alue"]][2] += working and r["n_unsubsidised"]
        per_area["ALL"] = [sum(v[i] for v in per_area.values()) for i in range(3)]
        for a, v in per_area.items():
            row = {"alue": a, "quarter": label, **dict(zip(QUARTER_COUNTS, v))}
            row.update({r: (row[n] / row[d] if row[d] else float("nan")) for r, (n, d) in QUARTERLY_RATES.items()})
            quarter_rows.append(row)
    frames[QUARTERLY] = pd.DataFrame(quarter_rows)
    return frames


def publish(people: list[dict], quarters: int):
    frames = tables_of(people, quarters)
    membership = [(p["alue"], p["wave"], 1) for p in people]
    waves = wave_counties(membership)
    specs, links = employment_specs(sorted(frames[QUARTERLY]["quarter"].unique()), waves)
    return frames, protect(frames, specs, links, exact=False)


@pytest.mark.slow  # twelve whole suppressions and audits, as test_disclosure's property tests
@settings(max_examples=12, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(study=studies())
def test_every_generated_study_publishes(study):
    people, quarters = study
    frames, pub = publish(people, quarters)  # never "cannot protect": the search always finds one
    assert all(r.ok for r in pub.ranges)
    for name, frame in frames.items():
        shown = pub.published(name)
        counts = QUARTER_COUNTS if name == QUARTERLY else OUTCOME_COUNTS
        for c in counts:
            for true, value in zip(frame[c], shown[c]):
                if isinstance(value, str):
                    assert value in (PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL)
                    assert value != PRIMARY_LABEL or true < T  # a label never states a false range
                    assert value != SECONDARY_LABEL or true >= T
                else:
                    assert value == true and value >= T


def test_two_small_parts_of_a_larger_total_are_withheld_not_refused():
    # a + b = 7 with both "<5" would tell each is at least 1: no label protects them, and
    # before the fallback the search stopped with "every linked cell is already suppressed"
    spec = TableSpec(name="t", keys=("g",), counts=("n", "k"), relations=(RowsSum(by="g"),))
    df = pd.DataFrame({"g": ["a", "b", "ALL"], "n": [3, 4, 7], "k": [20, 30, 50]})
    pub = protect({"t": df}, [spec])
    shown = pub.published("t")
    assert list(shown["n"]) == [WITHHELD_LABEL] * 3
    assert list(shown["k"]) == [SECONDARY_LABEL, SECONDARY_LABEL, 50]
    assert pub.withheld() == {"t": ("n",)}
    a = next(r for r in pub.ranges if r.row == "g=a" and r.column == "n")
    assert a.low == 0 and a.high > 50  # its total withheld too: nothing bounds it


def test_a_refused_publication_says_what_to_do():
    # a figure an earlier snapshot published (2, fixed) equals the current cell: nothing the
    # current table can withhold protects it, so the audit refuses, and says what to do
    before = TableSpec(name="old", keys=("g",), counts=("n",), published_before=True)
    now = TableSpec(name="t", keys=("g",), counts=("n",))
    from ips_eval.publish.disclosure import CrossSum
    link = CrossSum(total="old", parts="t", total_row={"g": "ALL"}, parts_rows={"g": "A"}, columns=("n",))
    old = pd.DataFrame({"g": ["ALL"], "n": [2]})
    with pytest.raises(DisclosureError, match="What to do: a figure an earlier snapshot published may pin them"):
        protect({"old": old, "t": pd.DataFrame({"g": ["A"], "n": [2]})}, [before, now], [link])


@pytest.mark.pipeline
def test_the_cutoff_that_stopped_the_release_now_publishes(tmp_path):
    """The synthetic study of 500 clients (seed 2) whose release at 2023-09-30 stopped with
    "cannot protect table employment_outcomes, row alue=Kainuu, column n_tenure12"."""
    import duckdb

    from ips_eval.ingest.load import load_delivery, prepare
    from ips_eval.publish.site.tables import _employment
    from ips_eval.synth import SynthConfig, write_delivery
    from ips_eval.synth.variants import split_counties
    from ips_eval.warehouse.tables import build_staging

    cutoff = dt.date(2023, 9, 30)
    config = SynthConfig(calibrate=False, n_clients_wave1=250, n_clients_wave2=250, cohort=0, register=False,
                         seed=2, messy=False)
    write_delivery(tmp_path / "delivery", config)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        prepare(con)
        load_delivery(con, tmp_path / "delivery")
        build_staging(con, cutoff)
        split_counties(con, cutoff, parts=1)  # parts=1: the marts of the site at this cut-off
        tables, _, pub = _employment(con, cutoff=cutoff)
    assert pub.audited and all(r.ok for r in pub.ranges)
    shown = {r["alue"]: r for r in tables[COUNTY].rows}
    # the coarser protection is a withheld column, not the county table
    assert pub.withheld().get(COUNTY, ()) != OUTCOME_COUNTS
    assert shown["ALL"]["n_clients"] not in (PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL)
    assert any(WITHHELD_LABEL in r.values() for t in tables.values() for r in t.rows)


def test_a_release_after_one_that_withheld_a_column_reads_it_as_unknown():
    # the earlier snapshot withheld n (":"): a reader knows nothing of its size, and the
    # next release takes it in as an unknown (not a "count that must be a number")
    spec = TableSpec(name="t", keys=("g",), counts=("n", "k"), relations=(RowsSum(by="g"),))
    df = pd.DataFrame({"g": ["a", "b", "ALL"], "n": [3, 4, 7], "k": [20, 30, 50]})
    first = protect({"t": df}, [spec]).published("t")
    assert list(first["n"]) == [WITHHELD_LABEL] * 3
    before = TableSpec(name="2024Q1/t", keys=("g",), counts=("n", "k"), relations=(RowsSum(by="g"),),
                       published_before=True)
    later = pd.DataFrame({"g": ["a", "b", "ALL"], "n": [13, 14, 27], "k": [20, 31, 51]})
    pub = protect({"t": later, "2024Q1/t": first[["g", "n", "k"]]}, [spec, before])
    assert list(pub.published("t")["n"]) == [13, 14, 27]
    old = next(r for r in pub.ranges if r.table == "2024Q1/t" and r.row == "g=a" and r.column == "n")
    assert old.low == 0 and old.high > 50
