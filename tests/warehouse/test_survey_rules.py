"""The survey rules of ANALYSIS_PLAN ("Client-reported outcomes"; "The coaching process and the
voices of clients, coaches, care teams and employers"), each worked out by hand.

The first tests build the tables from given staging rows (tests/outcome_fixtures.py); the last
ones go through the real ingest and staging with small deliveries (tests/deliveries.py), for the
rules that live there: the cut-off, record versions and withdrawals.

Cut-off C = 30.6.2024. County Kainuu unless said otherwise.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from deliveries import row, write_delivery
from outcome_fixtures import staging_warehouse
from ips_eval.ingest.load import load_delivery
from ips_eval.warehouse.tables import build_outcomes, build_staging

C = dt.date(2024, 6, 30)
D = dt.date.fromisoformat


def stigma(**answers):
    return {f"stigma_{i}": answers.get(f"s{i}") for i in range(1, 11)}


# --- scales: the stigma score and Cronbach's alpha --------------------------------------------


@pytest.fixture(scope="module")
def scored():
    clients = [{"person_id": p, "aloituspvm": "2024-01-01"} for p in ("ST8", "ST7", "STR")]
    surveys = [
        # 8 answered: stigma_1..7 = 2 and stigma_9 = 4, reversed to 5 - 4 = 1: (7 x 2 + 1) / 8
        {"person_id": "ST8", "wave": "baseline", "vastauspvm": "2024-01-05", **stigma(**{f"s{i}": 2 for i in range(1, 8)}, s9=4)},
        # 7 answered: too few (at least 8): missing
        {"person_id": "ST7", "wave": "baseline", "vastauspvm": "2024-01-05", **stigma(**{f"s{i}": 2 for i in range(1, 7)}, s9=4)},
        # all 10: stigma_1..8 = 3; stigma_9 = 1 -> 4 and stigma_10 = 2 -> 3: (24 + 4 + 3) / 10
        {"person_id": "STR", "wave": "final", "vastauspvm": "2024-06-01",
         **stigma(**{f"s{i}": 3 for i in range(1, 9)}, s9=1, s10=2)},
    ]
    con = staging_warehouse(C, clients=clients, surveys=surveys)
    yield con
    con.close()


def test_stigma_score_needs_8_answered_items_and_reverses_the_resistance_items(scored):
    got = dict(scored.execute("SELECT person_id, stigma FROM marts.client_scores").fetchall())
    assert got["ST8"] == pytest.approx(15 / 8)
    assert got["ST7"] is None
    assert got["STR"] == pytest.approx(3.1)


def test_client_scores_columns_are_the_declared_scores(scored):
    from ips_eval.definitions import CLIENT_SCORES

    columns = [r[0] for r in scored.execute("DESCRIBE marts.client_scores").fetchall()]
    assert columns == ["person_id", "wave", "vastauspvm", *CLIENT_SCORES] and "stigma" in CLIENT_SCORES


def staff(respondent, kierros="alku", alue="Kainuu", **items):
    return {"vastaustunnus": respondent, "kierros": kierros, "alue": alue, "vastauspvm": "2024-03-01", **items}


def test_cronbach_alpha_of_a_3_by_3_example_with_a_reverse_keyed_item():
    # The declaration is what the SQL reads: cut employment_expectations to tyo_1..3 (tyo_3
    # reverse-keyed, 6 - x). Three complete responses after reversing:
    #   R1 (2, 3, 3), R2 (4, 4, 5), R3 (3, 5, 4); R4 lacks tyo_3 and is not complete.
    # Item variances 1, 1, 1 (sum 3); item sums 8, 13, 12: variance 14 / 2 = 7.
    # alpha = 3 / 2 x (1 - 3 / 7) = 6 / 7.
    rows = [staff("R1", tyo_1=2, tyo_2=3, tyo_3=3), staff("R2", tyo_1=4, tyo_2=4, tyo_3=1),
            staff("R3", tyo_1=3, tyo_2=5, tyo_3=2), staff("R4", tyo_1=5, tyo_2=5)]
    con = staging_warehouse(C, care_staff=rows, build=False)
    con.execute("DELETE FROM ref.scale_items WHERE scale = 'employment_expectations' AND item = 'tyo_4'")
    con.execute("UPDATE ref.scales SET n_items = 3, min_answered = 3 WHERE scale = 'employment_expectations'")
    build_outcomes(con, C)
    got = con.execute("SELECT wave, n_complete, alpha FROM marts.scale_reliability "
                      "WHERE scale = 'employment_expectations' ORDER BY wave").fetchall()
    assert got[0][0] == "alku" and got[0][1] == 3 and got[0][2] == pytest.approx(6 / 7)
    assert [(w, n, a) for w, n, a in got[1:]] == [("loppu", 0, None), ("vali", 0, None)]
    # The scores of the same declaration: R1 8/3, R2 13/3, R3 4; R4 has 2 answered (< 3): none.
    scales = con.execute("SELECT n_respondents, n_employment_expectations, mean_employment_expectations "
                         "FROM marts.care_staff_scales WHERE alue = 'ALL' AND round = 'alku'").fetchone()
    assert scales[:2] == (4, 3) and scales[2] == pytest.approx(11 / 3)
    con.close()


def test_care_staff_scales_with_the_declared_keys_and_minimum():
    rows = [
        # recovery orientation: 6 of 8 answered (the minimum): mean of 4,4,4,4,5,5 = 26 / 6
        staff("A1", **{f"toipumis_{i}": 4 for i in range(1, 5)}, toipumis_5=5, toipumis_6=5,
              tyo_1=4, tyo_2=4, tyo_3=2),  # expectations: 4, 4, 6 - 2 = 4 (3 of 4 answered): 4
        # 5 of 8 answered: no recovery score; expectations 2 of 4: none
        staff("A2", **{f"toipumis_{i}": 2 for i in range(1, 6)}, tyo_1=5, tyo_4=5),
        staff("B1", alue="Pohjanmaa", kierros="loppu", **{f"toipumis_{i}": 3 for i in range(1, 9)},
              tyo_1=5, tyo_2=5, tyo_3=1, tyo_4=1),  # expectations (5 + 5 + 5 + 5) / 4 = 5
    ]
    con = staging_warehouse(C, care_staff=rows)
    got = {(a, r): v for a, r, *v in con.execute(
        "SELECT alue, round, n_respondents, n_recovery_orientation, mean_recovery_orientation, "
        "n_employment_expectations, mean_employment_expectations FROM marts.care_staff_scales").fetchall()}
    assert got[("Kainuu", "alku")][:2] == [2, 1] and got[("Kainuu", "alku")][2] == pytest.approx(26 / 6)
    assert got[("Kainuu", "alku")][3:] == [1, 4.0]
    assert got[("Pohjanmaa", "loppu")] == [1, 1, 3.0, 1, 5.0]
    assert got[("ALL", "alku")][:2] == [2, 1] and got[("ALL", "loppu")] == [1, 1, 3.0, 1, 5.0]
    # the items as answered (tyo_3 not reversed); tyo_3 was answered by A1 (2) and B1 (1)
    assert con.execute("SELECT n_answered, n_positive, mean, n_1, n_2 FROM marts.survey_items WHERE source = "
                       "'care_staff' AND alue = 'ALL' AND round = 'alku' AND item = 'tyo_3'").fetchone() == (
        1, 0, 2.0, 0, 1)
    con.close()


# --- the coaching process ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def coaching():
    clients = [
        {"person_id": "EC1", "aloituspvm": "2024-03-01", "lahetepvm": "2024-02-26"},  # referred 4 days before
        {"person_id": "EC2", "aloituspvm": "2024-03-01", "lahetepvm": "2024-01-20"},  # 41 days before
        {"person_id": "EC3", "aloituspvm": "2024-06-15", "lahetepvm": "2024-06-20"},  # referral after S: not counted
        {"person_id": "EC4", "aloituspvm": "2024-03-01", "alue": "Pohjanmaa"},  # no coach response, no referral date
    ]
    coach = [
        # EC1: the first form states 20.3.2024; a later form states a later date, which does not
        # move the first contact. The later form leaves luottamus blank: the earlier answer counts;
        # it answers hyoty_1 again: its answer counts.
        {"person_id": "EC1", "vastauspvm": "2024-04-01", "ens_tyonantajakontakti": "2024-03-20", "luottamus": 3,
         "yhteistyo_hoitotaho": 2, "hyoty_1": 2, "tyonantajakontaktit": 4},
        {"person_id": "EC1", "vastauspvm": "2024-06-01", "ens_tyonantajakontakti": "2024-05-10", "luottamus": None,
         "yhteistyo_hoitotaho": 4, "hyoty_1": 4, "tyonantajakontaktit": 6},
        # EC2: the only date is before the start: no first contact
        {"person_id": "EC2", "vastauspvm": "2024-04-01", "ens_tyonantajakontakti": "2024-02-15", "luottamus": 5,
         "tyonantajakontaktit": 2},
        # EC3: started 15.6.2024, S + 30 days is after C: not yet eligible for the 30-day figure
        {"person_id": "EC3", "vastauspvm": "2024-06-25", "ens_tyonantajakontakti": "2024-06-20", "luottamus": 4},
    ]
    con = staging_warehouse(C, clients=clients, coach=coach)
    yield con
    con.close()


def test_first_employer_contact_is_the_earliest_date_on_or_after_the_start(coaching):
    got = {p: (f, t, c) for p, f, t, c in coaching.execute(
        "SELECT person_id, first_employer_contact, trust, cooperation FROM core.coaching_clients").fetchall()}
    assert got["EC1"] == (D("2024-03-20"), 3, 4)  # trust from the earlier form; cooperation from the later
    assert got["EC2"] == (None, 5, None)
    assert got["EC3"] == (D("2024-06-20"), 4, None)
    assert got["EC4"] == (None, None, None)


def test_coaching_figures_by_hand(coaching):
    r = coaching.execute("SELECT * FROM marts.coaching WHERE alue = 'ALL'").df().iloc[0]
    assert (r.n_clients, r.n_coach_rated, r.n_contact30_eligible, r.n_contact30) == (4, 3, 3, 1)
    # eligible: EC1, EC2, EC4 (S + 30 <= C); in time: EC1 only (20.3. <= 31.3.)
    assert r.rate_contact30 == pytest.approx(1 / 3)
    # contacts 4 + 6 + 2 (EC3 none reported); the coach-rated clients' days: 122 + 122 + 16
    assert r.employer_contacts == 12
    assert r.client_months == pytest.approx(260 / (365.25 / 12))
    assert r.contacts_per_client_month == pytest.approx(12 / (260 / (365.25 / 12)))
    assert (r.n_trust, r.mean_trust, r.n_cooperation, r.mean_cooperation) == (3, 4.0, 1, 4.0)
    # referred on or before S: EC1 (4 days) and EC2 (41 days)
    assert (r.n_referred, r.median_days_referral_to_start, r.n_referral7, r.n_referral30) == (2, 22.5, 1, 1)
    poh = coaching.execute("SELECT n_clients, n_coach_rated, n_contact30_eligible, n_contact30, rate_contact30, "
                           "n_trust, mean_trust FROM marts.coaching WHERE alue = 'Pohjanmaa'").fetchone()
    assert poh == (1, 0, 1, 0, 0.0, 0, None)


def test_coach_items_take_the_latest_answer_of_each_item(coaching):
    got = {item: v for item, *v in coaching.execute(
        "SELECT item, n_answered, n_positive, rate_positive, mean, n_1, n_2, n_3, n_4, n_5 FROM marts.survey_items"
        " WHERE source = 'coach' AND alue = 'ALL' AND round = 'latest'").fetchall()}
    assert got["luottamus"][:2] == [3, 2] and got["luottamus"][2] == pytest.approx(2 / 3)
    assert got["luottamus"][3:] == [4.0, 0, 0, 1, 1, 1]
    assert got["hyoty_1"] == [1, 1, 1.0, 4.0, 0, 0, 0, 1, 0]  # the later form's 4, not the first's 2


# --- through ingest and staging: cut-off, versions, withdrawals, optional files ----------------


def fi(d: str) -> str:
    x = D(d)
    return f"{x.day}.{x.month}.{x.year}"


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surveys")
    rows = {
        "clients": [row("clients"), row("clients", person_id="P000002", suostumus_peruttu="1.5.2024")],
        "jobs": [row("jobs")],
        "coach_survey": [
            row("coach_survey", vastauspvm="3.10.2023", luottamus="2", paivitetty="3.10.2023 9:00"),
            row("coach_survey", vastauspvm="3.10.2023", luottamus="5", paivitetty="5.10.2023 9:00"),  # current
            row("coach_survey", vastauspvm="1.7.2024", luottamus="1", paivitetty="1.7.2024 9:00"),  # after C
            row("coach_survey", asiakastunnus="P000002", luottamus="3"),  # withdrawn 1.5.2024
        ],
        "care_staff_survey": [
            row("care_staff_survey", **{f"toipumis_{i}": "4" for i in range(1, 9)}),
            row("care_staff_survey", **{f"toipumis_{i}": "4" for i in range(1, 9)}),  # the same export again
            row("care_staff_survey", paivitetty="2.3.2023 9:00", **{f"toipumis_{i}": "2" for i in range(1, 9)}),
        ],
        "employer_survey": [row("employer_survey")],
    }
    path = write_delivery(folder / "delivery", rows)
    con = duckdb.connect()
    load_delivery(con, path, C)
    build_staging(con, C)
    build_outcomes(con, C)
    yield con
    con.close()


def test_a_coach_answer_after_the_cutoff_does_not_count_and_the_current_version_does(delivered):
    r = delivered.execute("SELECT n_coach_rated, n_trust, mean_trust FROM marts.coaching WHERE alue = 'ALL'").fetchone()
    assert r == (1, 1, 5.0)


def test_a_withdrawn_clients_coach_responses_disappear_and_the_audit_balances(delivered):
    assert delivered.execute("SELECT count(*) FROM raw.coach_survey WHERE person_id = 'P000002'").fetchone() == (0,)
    assert delivered.execute(
        "SELECT rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty FROM audit.loads "
        "WHERE export = 'coach_survey'").fetchone() == (4, 3, 0, 1, 0)


def test_a_staff_response_exported_twice_counts_once_in_its_latest_version(delivered):
    got = delivered.execute("SELECT n_respondents, n_recovery_orientation, mean_recovery_orientation "
                            "FROM marts.care_staff_scales WHERE alue = 'ALL' AND round = 'alku'").fetchone()
    assert got == (1, 1, 2.0)
    assert delivered.execute("SELECT n_answered, n_positive, n_5 FROM marts.survey_items WHERE source = 'care_staff' "
                             "AND alue = 'ALL' AND item = 'ips_osaksi_hoitoa'").fetchone() == (1, 1, 1)
    assert delivered.execute("SELECT n_answered, rate_positive FROM marts.survey_items WHERE source = 'employer' "
                             "AND alue = 'ALL' AND round = 'all' AND item = 'palkkaisi_uudelleen'").fetchone() == (1, 1.0)


def test_a_delivery_without_the_survey_exports_runs_and_their_tables_are_empty(tmp_path):
    path = write_delivery(tmp_path / "delivery", {"clients": [row("clients")], "jobs": [row("jobs")]})
    con = duckdb.connect()
    results = load_delivery(con, path, C)
    assert all(results[e].file is None for e in ("coach_survey", "care_staff_survey", "employer_survey"))
    build_staging(con, C)
    build_outcomes(con, C)
    assert con.execute("SELECT count(*) FROM marts.survey_items WHERE source <> 'client'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM marts.care_staff_scales").fetchone() == (0,)
    assert con.execute("SELECT count(*), sum(n_employers) FROM marts.employer_profile").fetchone() == (34, 0)
    # the register's timeliness stays: P000001 referred 1.3.2023, started 3.4.2023 (33 days)
    assert con.execute("SELECT n_clients, n_coach_rated, n_trust, n_referred, median_days_referral_to_start, "
                       "n_referral30 FROM marts.coaching WHERE alue = 'ALL'").fetchone() == (1, 0, 0, 1, 33.0, 0)
    assert con.execute("SELECT n_complete, alpha FROM marts.scale_reliability "
                       "WHERE scale = 'coach_change'").fetchall() == [(0, None)]
    con.close()


def test_employers_by_industry_size_and_sector_every_code_with_its_row(delivered):
    """The one employer (G, size class 2, private): its codes count 1, every other code of the
    three code lists 0, no unknown, and each characteristic's ALL row is the one employer."""
    got = {(c, k): n for c, k, n in delivered.execute(
        "SELECT characteristic, code, n_employers FROM marts.employer_profile").fetchall()}
    assert len(got) == 21 + 4 + 3 + 3 * 2  # industries A-U, 4 size classes, 3 sectors; unknown and ALL each
    ones = {("toimiala", "G"), ("koko", "2"), ("sektori", "yksityinen"),
            ("toimiala", "ALL"), ("koko", "ALL"), ("sektori", "ALL")}
    assert {k for k, n in got.items() if n == 1} == ones and all(n == 0 for k, n in got.items() if k not in ones)
