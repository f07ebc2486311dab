"""The register months as sets (core.register_month_sets) and the person x month views over them.

The outcome rules themselves are tested in test_outcomes_rules.py through the views; here: the
set arithmetic of sql/macros.sql, the views as analysts open them (read-only, no macros), and a
warehouse from before the views (tables of the same names) that a run starts from.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from ips_eval.definitions import SEQUENCE_MONTHS
from ips_eval.warehouse.tables import build_table as build_outcome_table
from ips_eval.warehouse.database import load_macros, open_readonly
from outcome_fixtures import create_ref, staging_warehouse

C = dt.date(2024, 6, 30)


@pytest.fixture
def macros():
    con = duckdb.connect()
    create_ref(con)  # sql/macros.sql also holds is_smi, which reads ref.smi_prefixes
    load_macros(con)
    yield lambda expr: con.execute(f"SELECT {expr}").fetchone()[0]
    con.close()


def test_month_sets_span_exactly_the_sequence_window(macros):
    first, last = SEQUENCE_MONTHS
    assert macros("bit_count(month_set(-1000, 1000))") == last - first + 1
    assert macros(f"month_set({first}, {last})") == macros("month_set(-1000, 1000)")
    assert macros(f"bit_count(month_set({first}, {first}))") == 1
    assert macros(f"month_set({first - 10}, {first - 1})") == 0  # wholly before the window
    assert macros(f"month_set({last + 1}, {last + 10})") == 0  # wholly after it
    assert macros("month_set(5, 4)") == 0  # an empty range


def test_the_widest_set_keeps_the_sign_bit_clear(macros):
    # -24..36 is 61 months, bits 0..60: the full set is 2^61 - 1, positive, and the top month
    # is bit 60 (a set of one month, 2^60).
    assert SEQUENCE_MONTHS == (-24, 36)
    assert macros("month_set(-24, 36)") == 2**61 - 1
    assert macros("month_set(36, 36)") == 2**60
    assert macros("months_in(month_set(-24, 36), 0, 35)") == 36


def test_a_window_too_wide_for_a_bigint_is_refused(monkeypatch):
    from ips_eval import definitions

    monkeypatch.setattr(definitions, "SEQUENCE_MONTHS", (-24, 38))  # 63 months: bit 62 and the sign
    with pytest.raises(ValueError, match="1 to 62 months"):
        definitions.sequence_months()
    monkeypatch.setattr(definitions, "SEQUENCE_MONTHS", (-24, 37))  # 62 months: the widest
    assert definitions.sequence_months()["bit"].max() == 61


def test_views_unpack_exactly_the_sequence_window():
    # The views read their months from ref.sequence_months, the window of definitions.SEQUENCE_MONTHS.
    first, last = SEQUENCE_MONTHS
    con = staging_warehouse(C, cohort=[{"person_id": "CMP001", "ips": 0, "indeksipvm": "2020-01-10"}],
                            employment=[{"person_id": "CMP001", "start_date": "2017-01-01"}])
    for name in ("core.register_months", "marts.state_sequences"):
        got = con.execute(f"SELECT min(rel_month), max(rel_month), count(*) FROM {name}").fetchone()
        assert got == (first, last, last - first + 1)
    # Index month January 2020, C = 30.6.2024: every month of the window is observed and employed
    # (an open spell from 2017), month 36 = January 2023 included.
    row = con.execute("SELECT count(*) FILTER (WHERE employed), max(month) FROM core.register_months").fetchone()
    assert row == (61, dt.date(2023, 1, 1))


def test_months_in_counts_a_set_within_a_range(macros):
    # Months -3..2 and 10..14: among 0..11 that is 0, 1, 2, 10, 11.
    assert macros("months_in(month_set(-3, 2) | month_set(10, 14), 0, 11)") == 5
    assert macros("months_in(month_set(-3, 2) | month_set(10, 14), -12, -1)") == 3
    # A month covered twice is one month.
    assert macros("months_in(month_set(0, 5) | month_set(3, 8), 0, 11)") == 9


def test_a_table_left_by_an_older_warehouse_is_replaced_by_the_view():
    # A run that starts from a copy of the published warehouse may find the person-month
    # tables of an older version where the SQL now makes views.
    con = staging_warehouse(C, cohort=[{"person_id": "CMP001", "ips": 0, "indeksipvm": "2023-01-10"}],
                            employment=[{"person_id": "CMP001", "start_date": "2023-02-01"}])
    for name in ("core.register_months", "marts.state_sequences"):
        con.execute(f"DROP VIEW {name}")
        con.execute(f"CREATE TABLE {name} AS SELECT 'stale' AS person_id")
        build_outcome_table(con, name, C)
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema || '.' || table_name = ?",
                           [name]).fetchone()[0]
        assert kind == "VIEW"
        assert con.execute(f"SELECT count(*) FROM {name} WHERE person_id = 'CMP001'").fetchone()[0] == 61


def test_views_read_only_as_analysts_open_them(synthetic_study):
    con = open_readonly(synthetic_study["warehouse"])
    try:
        persons = con.execute("SELECT count(*) FROM core.register_month_sets").fetchone()[0]
        assert persons > 1000
        months = con.execute("SELECT count(*), count(DISTINCT person_id) FROM core.register_months").fetchone()
        assert months == (persons * 61, persons)
        states = con.execute(
            "SELECT count(*), count(state), count(*) FILTER (WHERE state IS NULL AND month <= ?)"
            " FROM marts.state_sequences", [synthetic_study["config"].cutoff]).fetchone()
        assert states[0] == persons * 61 and states[1] > 0
        assert states[2] == 0  # every observed month has a state
        # The mart counts the sets; the view unpacks them: both say the same.
        differ = con.execute(
            """
            SELECT count(*)
            FROM marts.register_outcomes AS o
            JOIN (SELECT person_id,
                         count(*) FILTER (WHERE employed AND rel_month BETWEEN -12 AND -1) AS pre12,
                         count(*) FILTER (WHERE employed AND rel_month BETWEEN 0 AND 11) AS post12,
                         coalesce(sum(earnings) FILTER (WHERE rel_month BETWEEN 0 AND 11), 0) AS earnings
                  FROM core.register_months GROUP BY person_id) AS m USING (person_id)
            WHERE o.employed_months_pre12 <> m.pre12
               OR (o.post12_complete AND (o.employed_months_post12 <> m.post12
                                          OR abs(o.earnings_post12 - m.earnings) > 1e-6))
            """
        ).fetchone()[0]
        assert differ == 0
        # The effectiveness model read the state sequence view for its chronogram: in every group
        # the shares of a month add up to 1 before the cut-off (every person has one state).
        shares = con.execute(
            'SELECT "group", rel_month, sum(share) FROM models.state_chronogram GROUP BY ALL'
        ).fetchall()
        assert {g for g, _, _ in shares} == {"IPS", "comparison", "comparison, weighted"}
        assert all(abs(total - 1) < 1e-9 for _, rel, total in shares if rel < 0)
        # The set macros work on a read-only connection too (docs/warehouse.md tells analysts so).
        load_macros(con)
        assert con.execute(
            "SELECT count(*) FROM marts.register_outcomes JOIN core.register_month_sets USING (person_id)"
            " WHERE months_in(employed, -12, -1) <> employed_months_pre12"
        ).fetchone()[0] == 0
    finally:
        con.close()
