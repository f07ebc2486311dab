"""Staging: record versions, duplicates, the latest survey answer, the populations and
register spells, each on a small delivery written here."""

import datetime as dt

from deliveries import row, write_delivery
from ips_eval.ingest.load import load_delivery
from ips_eval.warehouse.tables import build_staging, build_table

C = dt.date(2024, 12, 31)


def _load(con, tmp_path, rows):
    write_delivery(tmp_path, rows)
    load_delivery(con, tmp_path, C)
    build_staging(con, C)


def test_the_latest_version_wins_and_exact_duplicates_are_one_row(tmp_path, con):
    old = row("clients", lopetuspvm="", paivitetty="5.4.2023 10:00")
    new = row("clients", lopetuspvm="30.9.2024", lopetussyy="tyollistyi", paivitetty="1.10.2024 8:30")
    job_v1 = row("jobs", loppupvm="", tunnit_viikossa="20", paivitetty="2.6.2023 9:00")
    job_v2 = row("jobs", loppupvm="31.8.2024", tunnit_viikossa="25", paivitetty="1.9.2024 9:00")
    _load(con, tmp_path, {"clients": [new, old, new], "jobs": [job_v1, job_v2, job_v1]})
    assert con.execute("SELECT count(*) FROM raw.clients").fetchall() == [(3,)]
    assert con.execute("SELECT lopetuspvm, lopetussyy FROM staging.clients").fetchall() == [
        (dt.date(2024, 9, 30), "tyollistyi")]
    assert con.execute("SELECT loppupvm, tunnit_viikossa FROM staging.jobs").fetchall() == [(dt.date(2024, 8, 31), 25.0)]


def test_versions_with_equal_timestamps_but_different_values_are_both_rejected(tmp_path, con):
    a = row("clients", person_id="P000002", alue="Kainuu", paivitetty="5.4.2023 10:00")
    b = row("clients", person_id="P000002", alue="Lappi", paivitetty="5.4.2023 10:00")
    _load(con, tmp_path, {"clients": [row("clients"), a, b]})
    assert con.execute(
        "SELECT line, \"column\", rule FROM audit.rejected_rows ORDER BY line").fetchall() == [
        (3, "paivitetty", "conflicting_versions"), (4, "paivitetty", "conflicting_versions")]
    assert con.execute("SELECT person_id FROM staging.clients").fetchall() == [("P000001",)]


def test_the_latest_survey_response_of_a_wave_counts(tmp_path, con):
    first = row("survey_baseline", vastauspvm="10.4.2023", tyokyky="3")
    second = row("survey_baseline", vastauspvm="20.4.2023", tyokyky="6")
    after_cutoff = row("survey_baseline", vastauspvm="2.1.2025", tyokyky="9")
    final = row("survey_final", vastauspvm="5.4.2024", tyokyky="8")
    _load(con, tmp_path, {"clients": [row("clients")], "survey_baseline": [second, first, after_cutoff],
                          "survey_final": [final]})
    assert con.execute("SELECT wave, vastauspvm, tyokyky FROM staging.survey_responses ORDER BY wave").fetchall() == [
        ("baseline", dt.date(2023, 4, 20), 6), ("final", dt.date(2024, 4, 5), 8)]


def test_study_population_is_exactly_who_is_counted(tmp_path, con):
    clients = [
        row("clients", person_id="IN000001"),
        row("clients", person_id="NOCONS01", tutkimussuostumus=""),
        row("clients", person_id="LATECONS", tutkimussuostumus="2.1.2025"),
        row("clients", person_id="LATESTRT", aloituspvm="2.1.2025", tutkimussuostumus="2.1.2024"),
        row("clients", person_id="WITHDRWN", suostumus_peruttu="31.12.2024"),
        row("clients", person_id="WDLATER1", suostumus_peruttu="1.1.2025"),
        row("clients", person_id="AGE29SMI", syntymavuosi="1994", dg="F31.1", aloituspvm="3.4.2023"),
        row("clients", person_id="AGE30NOT", syntymavuosi="1993", dg="F32.1"),
        row("clients", person_id="SEVEREDP", syntymavuosi="1973", dg="F33.2"),
    ]
    _load(con, tmp_path, {"clients": clients})
    got = dict((r[0], r[1:]) for r in con.execute(
        "SELECT person_id, age, age_group, smi FROM staging.study_population").fetchall())
    # withdrawal on C excludes; a withdrawal after C does not (ANALYSIS_PLAN: "on or before C")
    assert set(got) == {"IN000001", "WDLATER1", "AGE29SMI", "AGE30NOT", "SEVEREDP"}
    assert got["AGE29SMI"] == (2023 - 1994, "<30", True)  # 29
    assert got["AGE30NOT"] == (2023 - 1993, "30-39", False)  # 30; F32.1 is not severe
    assert got["SEVEREDP"] == (2023 - 1973, "50+", True)  # 50; F33.2 is severe depression


def test_register_population_and_merged_spells(tmp_path, con):
    clients = [row("clients", person_id="IPSCONS1"), row("clients", person_id="IPSNOREG", rekisterisuostumus="E")]
    cohort = [
        row("register_cohort", person_id="IPSCONS1", ips="1"),
        row("register_cohort", person_id="IPSNOREG", ips="1"),
        row("register_cohort", person_id="COMP0001", ips="0", indeksipvm="2024-12-31"),
        row("register_cohort", person_id="COMP0002", ips="0", indeksipvm="2025-01-01"),
    ]
    emp = [
        # overlapping, touching and repeated spells of one person become one, open stays open
        row("register_employment", person_id="COMP0001", alkupvm="2020-01-01", loppupvm="2020-03-31"),
        row("register_employment", person_id="COMP0001", alkupvm="2020-03-01", loppupvm="2020-05-31"),
        row("register_employment", person_id="COMP0001", alkupvm="2020-06-01", loppupvm="2020-06-30"),
        row("register_employment", person_id="COMP0001", alkupvm="2020-06-01", loppupvm="2020-06-30"),
        row("register_employment", person_id="COMP0001", alkupvm="2020-07-02", loppupvm=None),
        row("register_employment", person_id="COMP0001", alkupvm="2021-01-01", loppupvm="2021-02-01"),
        row("register_employment", person_id="IPSNOREG", alkupvm="2020-01-01", loppupvm="2020-03-31"),
        row("register_employment", person_id="COMP0002", alkupvm="2020-01-01", loppupvm="2020-03-31"),
        row("register_employment", person_id="STRANGER", alkupvm="2020-01-01", loppupvm="2020-03-31"),
    ]
    _load(con, tmp_path, {"clients": clients, "register_cohort": cohort, "register_employment": emp})
    assert [r[0] for r in con.execute(
        "SELECT person_id FROM staging.register_population ORDER BY 1").fetchall()] == ["COMP0001", "IPSCONS1"]
    assert con.execute("SELECT person_id, start_date, end_date FROM staging.employment_spells ORDER BY 2").fetchall() == [
        ("COMP0001", dt.date(2020, 1, 1), dt.date(2020, 6, 30)),
        ("COMP0001", dt.date(2020, 7, 2), None),
    ]


def test_repeated_spells_after_a_gap_stay_after_it_whatever_the_order_of_ties(con):
    """Each of many persons has a spell, a gap, then the same open spell twice, the repeat far
    down the extract: two merged spells each, the gap kept, in every build with DuckDB's
    parallel sort (two threads). Rows that tie in the merge's order were once taken in one
    order by one window and in another by the next, and a closed spell came out open."""
    n = 20000
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE SCHEMA staging")
    con.execute(f"CREATE TABLE staging.register_population AS SELECT CAST(k AS INTEGER) AS person_key,"
                f" 'C' || k AS person_id FROM range({n}) t(k)")
    con.execute(f"""CREATE TABLE raw.register_employment AS
        SELECT person_id, alkupvm, loppupvm FROM (
            SELECT 1 AS o, 'C' || k AS person_id, DATE '2015-09-17' AS alkupvm, DATE '2018-01-30' AS loppupvm
            FROM range({n}) t(k)
            UNION ALL SELECT 2, 'C' || k, DATE '2019-08-02', NULL FROM range({n}) t(k)
            UNION ALL SELECT 3, 'C' || k, DATE '2019-08-02', NULL FROM range({n}) t(k))
        ORDER BY o, person_id""")
    con.execute("CREATE TABLE raw.register_pay_subsidy AS SELECT * FROM raw.register_employment LIMIT 0")
    con.execute("CREATE TABLE raw.register_benefits AS SELECT '' AS etuus, * FROM raw.register_employment LIMIT 0")
    con.execute("SET threads = 2")
    for _ in range(5):
        build_table(con, "staging.register_spells", C)
        got = con.execute("SELECT start_date, end_date, count(*) FROM staging.register_spells"
                          " GROUP BY ALL ORDER BY 1").fetchall()
        assert got == [(dt.date(2015, 9, 17), dt.date(2018, 1, 30), n), (dt.date(2019, 8, 2), None, n)]
