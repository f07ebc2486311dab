"""marts.transition_rates (ANALYSIS_PLAN "Transitions in services and benefits"), worked out by hand.

Three analysed persons, index date 15.1.2024 (index month January 2024 = rel 0), cut-off
C = 30.6.2024: months rel 0..5 (January-June 2024) are observed, rel 6 (July) starts after C
and is NULL, so the pair 5 -> 6 does not count. Before 2024 no spell: state 'other'.

* IPS001 (IPS client, weight 1): unemployment benefit January-March (rel 0-2), employed from
  1.4.2024, open (rel 3-5). post12 pairs: U->U, U->U, U->E, E->E, E->E.
* CMP001 (comparison, ATT weight 2): unemployment benefit January-April (rel 0-3), employed in
  May (rel 4), unemployment benefit in June (rel 5). Pairs: U->U x3, U->E, E->U.
* CMP002 (comparison, ATT weight 0.5): unemployment benefit from January, open. Pairs: U->U x5.
* CMP003 (comparison, employed throughout) has no row in models.person_weights (not analysed):
  it is in no group.
* IPS002 (IPS client, employed throughout) has no row in models.person_weights either (model 6
  left it out, e.g. trimmed): it is in no group, so no 'ips' rate starts from E -> E but IPS001's.

post12, ips: from U 3 person-months, rate U->U 2/3, U->E 1/3; from E 2, E->E 1.
post12, comparison_weighted: from U 2*4 + 0.5*5 = 10.5 weighted person-months; U->U
(2*3 + 0.5*5)/10.5 = 8.5/10.5; U->E 2/10.5; from E 2*1 = 2, E->U 1.
pre12 (pairs -12->-11 .. -1->0), ips: 12 pairs from 'other', 11 stay, 1 (rel -1 -> 0) into U.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ips_eval.warehouse.tables import build_after_models, build_table, sql_table
from outcome_fixtures import staging_warehouse

C = dt.date(2024, 6, 30)
INDEX = "2024-01-15"
COHORT = [{"person_id": p, "ips": int(p.startswith("IPS")), "indeksipvm": INDEX}
          for p in ("IPS001", "IPS002", "CMP001", "CMP002", "CMP003")]
CLIENTS = [{"person_id": "IPS001", "aloituspvm": INDEX}, {"person_id": "IPS002", "aloituspvm": INDEX}]
EMPLOYMENT = [
    {"person_id": "IPS001", "start_date": "2024-04-01"},
    {"person_id": "CMP001", "start_date": "2024-05-01", "end_date": "2024-05-31"},
    {"person_id": "CMP003", "start_date": "2020-01-01"},
    {"person_id": "IPS002", "start_date": "2020-01-01"},
]
UNEMPLOYMENT = {"etuus": "tyottomyysturva", "benefit_group": "unemployment"}
BENEFITS = [
    {"person_id": "IPS001", **UNEMPLOYMENT, "start_date": "2024-01-01", "end_date": "2024-03-31"},
    {"person_id": "CMP001", **UNEMPLOYMENT, "start_date": "2024-01-01", "end_date": "2024-04-30"},
    {"person_id": "CMP001", **UNEMPLOYMENT, "start_date": "2024-06-01", "end_date": "2024-06-30"},
    {"person_id": "CMP002", **UNEMPLOYMENT, "start_date": "2024-01-01"},
]
WEIGHTS = [("IPS001", True, 1.0), ("CMP001", False, 2.0), ("CMP002", False, 0.5)]
U, E = "unemployment_benefit", "employed"


def _warehouse(weights):
    con = staging_warehouse(C, clients=CLIENTS, cohort=COHORT, employment=EMPLOYMENT, benefits=BENEFITS)
    con.execute("CREATE SCHEMA IF NOT EXISTS models")
    con.execute("CREATE TABLE models.person_weights (model VARCHAR, person_id VARCHAR, ips BOOLEAN, weight DOUBLE)")
    for person, ips, w in weights:
        con.execute("INSERT INTO models.person_weights VALUES ('effectiveness', ?, ?, ?)", [person, ips, w])
    return con


def _rates(con) -> dict[tuple, tuple]:
    rows = con.execute('SELECT "group", period, from_state, to_state, n_from, rate, n_persons_from, n_persons_moved'
                       " FROM marts.transition_rates").fetchall()
    return {r[:4]: r[4:] for r in rows}


@pytest.fixture(scope="module")
def rates():
    con = _warehouse(WEIGHTS)
    try:
        assert build_after_models(con, C) == ["marts.transition_rates"]
        return _rates(con)
    finally:
        con.close()


def test_ips_rates_by_hand(rates):
    assert rates[("ips", "post12", U, U)] == pytest.approx((3, 2 / 3, 1, 1))
    assert rates[("ips", "post12", U, E)] == pytest.approx((3, 1 / 3, 1, 1))
    assert rates[("ips", "post12", E, E)] == pytest.approx((2, 1.0, 1, 1))
    assert rates[("ips", "post12", U, "other")] == pytest.approx((3, 0.0, 1, 0))
    # The unobserved month (rel 6, after C) ends the pairs: post24 sees the same five pairs.
    assert rates[("ips", "post24", U, E)] == pytest.approx((3, 1 / 3, 1, 1))
    assert rates[("ips", "post24", E, E)] == pytest.approx((2, 1.0, 1, 1))
    # pre12: the pairs -12 -> -11 .. -1 -> 0; the last one crosses into the index month.
    assert rates[("ips", "pre12", "other", "other")] == pytest.approx((12, 11 / 12, 1, 1))
    assert rates[("ips", "pre12", "other", U)] == pytest.approx((12, 1 / 12, 1, 1))


def test_weighted_comparison_rates_by_hand(rates):
    g = "comparison_weighted"
    assert rates[(g, "post12", U, U)] == pytest.approx((10.5, 8.5 / 10.5, 2, 2))
    assert rates[(g, "post12", U, E)] == pytest.approx((10.5, 2 / 10.5, 2, 1))
    assert rates[(g, "post12", E, U)] == pytest.approx((2, 1.0, 1, 1))
    # CMP003 (employed throughout, not analysed) is in no group: nothing else starts from E.
    assert rates[(g, "post12", E, E)] == pytest.approx((2, 0.0, 1, 0))


def test_grain_and_rates_sum_to_one(rates):
    from_states = {}
    for (group, period, frm, to), (n_from, rate, *_) in rates.items():
        from_states.setdefault((group, period, frm), []).append(rate)
    assert all(len(v) == 6 and sum(v) == pytest.approx(1.0) for v in from_states.values())
    assert {k[:2] for k in from_states} == {(g, p) for g in ("ips", "comparison_weighted")
                                             for p in ("pre12", "post12", "post24")}


def test_an_ips_client_model_6_left_out_is_in_no_group(rates):
    # IPS002 was employed throughout: counted, it would add 5 pairs E -> E and 12 pre12 pairs from E
    assert rates[("ips", "post12", E, E)] == pytest.approx((2, 1.0, 1, 1))
    assert ("ips", "pre12", E, E) not in rates


def test_without_the_effectiveness_weights_the_table_is_empty():
    con = _warehouse([])
    try:
        build_table(con, "marts.transition_rates", C)
        n = con.execute("SELECT count(*) FROM marts.transition_rates").fetchone()[0]
    finally:
        con.close()
    assert n == 0


def test_the_table_reads_the_models_output_and_is_left_for_after_the_models():
    table = sql_table("marts.transition_rates")
    assert table.model_inputs == ("models.person_weights",)
    con = staging_warehouse(C, clients=CLIENTS, cohort=COHORT, employment=EMPLOYMENT, benefits=BENEFITS)
    try:  # staging_warehouse ran build_outcomes without any models.* table: it did not fail
        present = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'transition_rates'")
        assert present.fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM marts.state_sequences").fetchone()[0] == 5 * 61
    finally:
        con.close()
