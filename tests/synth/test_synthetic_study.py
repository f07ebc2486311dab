"""The default synthetic delivery reproduces the published second-wave figures
(the final report of the 2023-2024 extension project, "IPS-kehittämishankkeen laajennus") through the real pipeline."""

# Published (IPS-kehittämishankkeen laajennus 2023-2024, loppuraportti): clients per county,
# and the share of them employed on the open labour market.
PUBLISHED = {
    "Varsinais-Suomi": (124, 39),
    "Keski-Suomi": (75, 29),
    "Keski-Pohjanmaa": (73, 34),
    "Kainuu": (66, None),  # "50 %" is of the clients with a severe mental illness (checked below)
    "Pohjanmaa": (46, 30),
    "Pohjois-Savo": (44, 32),
}
FIDELITY = {"Kainuu": 103, "Keski-Pohjanmaa": 108, "Keski-Suomi": 102, "Pohjanmaa": 101, "Pohjois-Savo": 98,
            "Varsinais-Suomi": 111}


def test_study_population_per_county_is_the_published_one(study_con):
    got = dict(study_con.execute(
        "SELECT alue, count(*) FROM staging.study_population WHERE aalto = '2' GROUP BY alue").fetchall())
    assert got == {county: n for county, (n, _) in PUBLISHED.items()}
    assert sum(got.values()) == 428


def test_second_wave_headline_figures(study_con):
    n, competitive, unsubsidised, other = study_con.execute(
        "SELECT n_clients, n_competitive, n_unsubsidised, n_other_activity FROM marts.employment_outcomes_by_group "
        "WHERE alue = 'ALL' AND grouping = 'wave' AND group_value = '2'").fetchall()[0]
    assert (n, competitive, other) == (428, 159, 152)
    # 159 / 428 = 37.1 %; the report rounds it to "38 %"
    assert abs(competitive / n - 0.38) < 0.01
    assert round(100 * unsubsidised / n) == 21  # "21 % ilman palkkatukea": 90 / 428


def test_county_employment_rates_are_the_published_ones(study_con):
    rows = dict((r[0], r[1:]) for r in study_con.execute(
        "SELECT alue, n_clients, rate_competitive FROM marts.employment_outcomes").fetchall())
    for county, (n, percent) in PUBLISHED.items():
        assert rows[county][0] == n
        if percent is not None:
            assert round(100 * rows[county][1]) == percent, county
    # the six counties' rows sum to the second wave
    assert sum(rows[c][0] for c in PUBLISHED) == 428


def test_kainuu_employed_half_of_its_smi_clients(study_con):
    smi_n, smi_employed = study_con.execute(
        "SELECT count(*), count(*) FILTER (competitive) FROM core.client_outcomes WHERE alue = 'Kainuu' AND smi"
    ).fetchall()[0]
    assert smi_employed / smi_n == 0.5


def test_first_wave_is_about_700_clients_46_percent_employed(study_con):
    n, competitive = study_con.execute(
        "SELECT n_clients, n_competitive FROM marts.employment_outcomes_by_group "
        "WHERE alue = 'ALL' AND grouping = 'wave' AND group_value = '1'").fetchall()[0]
    assert 650 <= n <= 750 and round(100 * competitive / n) == 46


def test_latest_fidelity_totals_are_the_published_ones(study_con):
    got = dict(study_con.execute("SELECT alue, total FROM marts.fidelity_current").fetchall())
    assert {c: got[c] for c in FIDELITY} == FIDELITY


def test_the_messiness_is_rejected_and_accounted_for(study_con, synthetic_study):
    unbalanced = study_con.execute(
        "SELECT file FROM audit.loads WHERE rows_read <> rows_accepted + rows_rejected + rows_withdrawn + rows_empty").fetchall()
    assert unbalanced == []
    rules = {r[0] for r in study_con.execute("SELECT DISTINCT rule FROM audit.rejected_rows").fetchall()}
    assert {"type", "code", "range", "orphan", "end_before_start"} <= rules
    encodings = dict(study_con.execute("SELECT file, encoding FROM audit.loads").fetchall())
    assert {"utf-8-sig", "cp1252", "utf-8", "parquet"} <= set(encodings.values())


def test_costs_take_the_planted_correction_and_are_plausible(study_con, synthetic_study):
    # costs.csv is read whole: every row accepted.
    assert study_con.execute(
        "SELECT rows_read, rows_accepted, rows_rejected FROM audit.loads WHERE file = 'costs.csv'").fetchone() == (
        synthetic_study["manifest"]["files"]["costs.csv"]["rows"], synthetic_study["manifest"]["files"]["costs.csv"]["rows"], 0)
    # The correction sent later replaces the first report of the same county, year and cost type.
    fix = synthetic_study["manifest"]["costs"]["correction"]
    got = study_con.execute("SELECT euroa FROM staging.costs WHERE alue = ? AND vuosi = ? AND kustannuslaji = ?",
                            [fix["alue"], fix["vuosi"], fix["kustannuslaji"]]).fetchall()
    assert [float(g) for (g,) in got] == [fix["corrected_eur"]] and fix["reported_eur"] != fix["corrected_eur"]
    # Staff costs of 50 000-60 000 euros per full-time coach a year (each year's amount varies +-3 %).
    low, high = study_con.execute(
        "SELECT min(euroa / htv), max(euroa / htv) FROM staging.costs WHERE kustannuslaji = 'henkilosto'").fetchone()
    assert 48_500 <= low and high <= 61_800
    # Every county reported every year it served clients, so the totals are there and add up.
    total = study_con.execute("SELECT sum(euroa) FROM staging.costs").fetchone()[0]
    all_all = study_con.execute(
        "SELECT cost_eur, cost_per_client_year FROM marts.costs WHERE alue = 'ALL' AND vuosi = 'ALL'").fetchone()
    assert all_all[0] == total and all_all[1] > 0  # money is exact: the sums agree to the cent
    assert study_con.execute("SELECT count(*) FROM marts.costs WHERE cost_eur IS NULL").fetchone() == (0,)


def test_the_voices_of_the_synthetic_study(study_con):
    # every scale from a common factor: Cronbach's alpha about 0.8-0.9 wherever it is asked
    alpha = study_con.execute("SELECT scale, wave, n_complete, alpha FROM marts.scale_reliability").df()
    assert len(alpha) == 22 and (alpha.n_complete >= 100).all()
    assert alpha.alpha.between(0.75, 0.93).all(), alpha
    # about half meet an employer within 30 days of the start; 94 % of the professionals want IPS
    # as a fixed part of care at the end round
    assert 0.4 <= study_con.execute("SELECT rate_contact30 FROM marts.coaching WHERE alue = 'ALL'").fetchone()[0] <= 0.65
    assert 0.88 <= study_con.execute(
        "SELECT rate_positive FROM marts.survey_items WHERE source = 'care_staff' AND alue = 'ALL' AND round = 'loppu' "
        "AND item = 'ips_osaksi_hoitoa'").fetchone()[0] <= 0.99
    stigma = dict(study_con.execute("SELECT wave, count(stigma) FROM marts.client_scores GROUP BY wave").fetchall())
    assert stigma["baseline"] > 500 and stigma["final"] > 200 and stigma["midpoint"] == 0


def test_the_register_outcome_is_the_planted_untreated_plus_gained_months(study_con, synthetic_study):
    # The generator counts a gained month on the warehouse's own month rule: for every target
    # client, employed_months_post12 of marts.register_outcomes is the manifest's untreated months
    # plus the months the IPS job adds (no other spell already counted them), and the IPS clients
    # with a complete window are exactly the target clients, so the realised effect is the ATT.
    effect = synthetic_study["manifest"]["register"]["effect"]
    untreated, gained = effect["untreated_employed_months_post12"], effect["gained_employed_months_post12"]
    got = dict(study_con.execute(
        "SELECT person_id, employed_months_post12 FROM marts.register_outcomes WHERE ips = 1 AND post12_complete"
    ).fetchall())
    assert set(got) == set(gained)
    assert {p: got[p] - untreated[p] for p in got} == gained
    assert sum(gained.values()) > 0
