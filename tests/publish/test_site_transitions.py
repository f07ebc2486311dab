"""The website's headline transitions: from benefits into work and back (post12), IPS clients
beside the weighted comparison group, each rate shown only when the persons behind it (those
who moved and those in the from states, unweighted) are at least T; no count is published.

The small example below is worked out by hand (marts.transition_rates rows as the mart makes
them: every from_state with a row to each state, its own included).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.definitions import STATES, reference_tables
from ips_eval.publish.disclosure import HIDDEN_LABEL
from ips_eval.publish.site.tables import _transitions

D, U, E, S = "disability_benefit", "unemployment_benefit", "employed", "employed_subsidised"

# (group, from_state, n_from, n_persons_from, {to_state: (rate, n_persons_moved)}); the rest stays
MART = [
    # ips: benefit months 10 (D) + 30 (U) = 40; into work 10 * (0.2 + 0.1) + 30 * 0.1 = 6 -> 6/40 = 0.15;
    # persons: moved max(2, 1, 5) = 5 >= T, from max(6, 12) = 12: shown.
    ("ips", D, 10.0, 6, {E: (0.2, 2), S: (0.1, 1)}),
    ("ips", U, 30.0, 12, {E: (0.1, 5)}),
    # ips: work months 20 (E) + 5 (S) = 25, onto a benefit 20 * 0.1 + 5 * 0.2 = 3 -> 0.12; moved max(2, 1) = 2 < T: hidden.
    ("ips", E, 20.0, 9, {U: (0.1, 2)}),
    ("ips", S, 5.0, 5, {D: (0.2, 1)}),
    # comparison (weighted): benefit months 50.5, into work 50.5 * 0.08 = 4.04 -> 0.08; moved 4 < T: hidden.
    ("comparison_weighted", U, 50.5, 20, {E: (0.08, 4)}),
    # comparison: work months 12.5, onto a benefit 12.5 * 0.4 = 5 -> 0.4; moved 6, from 7: shown.
    ("comparison_weighted", E, 12.5, 7, {D: (0.4, 6)}),
]


def _mart_rows(period: str = "post12") -> pd.DataFrame:
    rows = []
    for group, frm, n_from, persons_from, moves in MART:
        stay = 1.0 - sum(r for r, _ in moves.values())
        for to in STATES:
            rate, moved = moves.get(to, (stay if to == frm else 0.0, persons_from if to == frm else 0))
            rows.append({"group": group, "period": period, "from_state": frm, "to_state": to, "n_from": n_from,
                         "rate": rate, "n_persons_from": persons_from, "n_persons_moved": moved})
    return pd.DataFrame(rows)


def _con(mart: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("ref", "marts"):
        con.execute(f"CREATE SCHEMA {schema}")
    ref = reference_tables()
    for name in ("states", "headline_transitions"):
        con.register("f", ref[name])
        con.execute(f"CREATE TABLE ref.{name} AS SELECT * FROM f")
        con.unregister("f")
    con.register("f", mart)
    con.execute("CREATE TABLE marts.transition_rates AS SELECT * FROM f")
    return con


@pytest.fixture(scope="module")
def shown():
    # a pre12 copy with other numbers must not count: the headline is post12
    mart = pd.concat([_mart_rows(), _mart_rows("pre12").assign(rate=0.5)], ignore_index=True)
    table, spec, pub = _transitions(_con(mart))
    return {r["transition"]: r for r in table.rows}, table, spec


def test_rates_worked_out_by_hand(shown):
    rows, _, _ = shown
    assert rows["benefit_to_work"]["rate_ips"] == "0.1500"
    assert rows["work_to_benefit"]["rate_comparison_weighted"] == "0.4000"


def test_rate_with_fewer_than_t_persons_behind_it_is_hidden(shown):
    rows, _, _ = shown
    assert rows["work_to_benefit"]["rate_ips"] == HIDDEN_LABEL  # 2 persons moved
    assert rows["benefit_to_work"]["rate_comparison_weighted"] == HIDDEN_LABEL  # 4 persons moved
    assert T == 5  # the example's counts 4 / 5 sit on either side of the threshold


def test_no_count_is_published(shown):
    _, table, spec = shown
    assert [c.name for c in table.columns] == ["transition", "rate_ips", "rate_comparison_weighted"]
    assert set(spec.counts) == {"persons_moved_ips", "persons_from_ips", "persons_moved_comparison",
                                "persons_from_comparison"}


def test_without_weights_the_comparison_column_is_hidden():
    table, _, _ = _transitions(_con(_mart_rows().query("group == 'ips'")))
    rows = {r["transition"]: r for r in table.rows}
    assert rows["benefit_to_work"]["rate_ips"] == "0.1500"
    assert {r["rate_comparison_weighted"] for r in rows.values()} == {HIDDEN_LABEL}


def test_no_transition_rates_gives_no_table():
    con = duckdb.connect()
    assert _transitions(con) == (None, None, None)


def test_site_section_in_three_languages(study_site):
    snap = study_site.snapshot_dir
    for page, title in (("index.html", "Siirtymät etuuksilta työhön ja takaisin"),
                        ("sv/index.html", "Övergångar från förmåner till arbete och tillbaka"),
                        ("en/index.html", "Moving from benefits into work, and back")):
        text = (snap / page).read_text(encoding="utf-8")
        assert 'id="transitions"' in text and title in text
    csv = pd.read_csv(snap / "data" / "headline_transitions.csv", dtype=str, keep_default_na=False)
    assert list(csv.columns) == ["transition", "rate_ips", "rate_comparison_weighted"]
    assert set(csv["transition"]) == {"benefit_to_work", "work_to_benefit"}
    # the synthetic study's planted effect: IPS clients move from benefits into work more often
    row = csv.set_index("transition").loc["benefit_to_work"]
    assert float(row["rate_ips"]) > float(row["rate_comparison_weighted"])
    en = (snap / "en" / "index.html").read_text(encoding="utf-8")
    assert "From a benefit into work" in en[en.index('id="transitions"'):en.index('id="scores"')]
