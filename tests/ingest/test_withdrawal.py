"""Consent withdrawal end to end: after a withdrawal appears in a new delivery, nothing of the
person is left in any table of the new warehouse, and every row is still accounted for.

The person who withdraws is the one client of the session's published minimal run
(tests/conftest.py), which holds them in its tables; the new delivery brings their withdrawal
and another client who stays. That a withdrawal dated after the cut-off removes nothing yet is
shown where withdrawals are applied: the ingest and its consent purge."""

import datetime as dt

import duckdb

from deliveries import row, write_delivery
from ips_eval.ingest.load import load_delivery
from ips_eval.warehouse.database import ensure_schemas
from pipelines.runner import run_pipeline

C = dt.date(2024, 12, 31)
#: The minimal run's client (tests/deliveries.py's default person).
GONE = "P000001"
STAY = "P000009"


def _delivery(folder, withdrawn_on=""):
    stay = row("clients", person_id=STAY)
    leave_v1 = row("clients", person_id=GONE, paivitetty="5.4.2023 10:00")
    leave_v2 = row("clients", person_id=GONE, suostumus_peruttu=withdrawn_on, paivitetty="1.11.2024 12:00")
    return write_delivery(folder, {
        "clients": [stay, leave_v1, leave_v2],
        "jobs": [row("jobs", person_id=STAY), row("jobs", person_id=GONE),
                 row("jobs", person_id=GONE, alkupvm="31.2.2024")],
        "survey_baseline": [row("survey_baseline", asiakastunnus=GONE)],
        "register_cohort": [row("register_cohort", person_id=STAY), row("register_cohort", person_id=GONE)],
        "register_employment": [row("register_employment", person_id=GONE)],
    })


def _everything(path):
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()]
        text = "\n".join(str(con.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)
        balance = con.execute("SELECT bool_and(rows_read = rows_accepted + rows_rejected + rows_withdrawn + rows_empty) FROM audit.loads").fetchall()
    return text, balance[0][0]


def test_a_withdrawal_after_the_cutoff_does_not_remove_the_person_yet(tmp_path):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    ensure_schemas(con)
    load_delivery(con, _delivery(tmp_path / "d", withdrawn_on="2.1.2025"), C)
    for table in ["raw.clients", "raw.jobs", "raw.survey_baseline", "raw.register_cohort", "raw.register_employment"]:
        assert con.execute(f"SELECT count(*) FROM {table} WHERE person_id = ?", [GONE]).fetchall() != [(0,)], table
    assert con.execute("SELECT sum(rows_removed + rejected_rows_erased) FROM audit.consent_withdrawals").fetchall() == [(0,)]
    assert con.execute("SELECT sum(rows_withdrawn) FROM audit.loads").fetchall() == [(0,)]


def test_a_withdrawn_person_is_gone_from_every_table(tmp_path, published_minimal):
    warehouse = published_minimal
    text, _ = _everything(warehouse)
    assert GONE in text

    site = tmp_path / "site"
    run_pipeline(_delivery(tmp_path / "q4", withdrawn_on="1.11.2024"), C, warehouse, site_dir=site)
    after, balanced = _everything(warehouse)
    published = [p for p in site.rglob("*") if p.is_file()]
    assert published and not any(GONE in p.read_text(errors="replace") or GONE in str(p) for p in published)
    assert GONE not in after
    assert balanced
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # 2 client versions, 2 valid jobs... 1 valid job + 1 invalid, 1 survey, 1 cohort row, 1 spell
        assert con.execute("SELECT export, rows_removed, rejected_rows_erased FROM audit.consent_withdrawals "
                           "WHERE rows_removed + rejected_rows_erased > 0 ORDER BY export").fetchall() == [
            ("clients", 2, 0), ("jobs", 1, 1), ("register_cohort", 1, 0), ("register_employment", 1, 0),
            ("survey_baseline", 1, 0)]
        # the withdrawn rows are counted apart from the rejected ones: the invalid job of the
        # withdrawn person (31.2.2024) left audit.rejected_rows and counts as withdrawn
        assert con.execute("SELECT file, rows_withdrawn FROM audit.loads WHERE rows_withdrawn > 0 ORDER BY file"
                           ).fetchall() == [("clients.csv", 2), ("jobs.csv", 2), ("register/cohort.csv", 1),
                                            ("register/employment.csv", 1), ("survey_baseline.csv", 1)]
        assert con.execute("SELECT count(*) FROM audit.rejected_rows WHERE file = 'jobs.csv'").fetchall() == [(0,)]
        assert con.execute("SELECT person_id FROM staging.study_population").fetchall() == [(STAY,)]
