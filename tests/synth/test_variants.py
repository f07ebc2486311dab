"""`split_counties` on a hand-made warehouse: which client goes where, what each part keeps.

Only the staging tables it rewrites are made (`marts=()`: nothing downstream is rebuilt), so
every expected value below is worked out by hand from the rows written here.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from ips_eval.synth.variants import part_name, split_counties

CUTOFF = dt.date(2024, 12, 31)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    # Oulu: 7 clients (pseudonyms out of order), wave 1 and 2; Vaasa: 2 clients
    con.execute("CREATE TABLE staging.clients (person_id VARCHAR, alue VARCHAR, aalto VARCHAR)")
    con.execute("INSERT INTO staging.clients VALUES ('p7', 'Oulu', '2'), ('p1', 'Oulu', '1'), ('p4', 'Oulu', '1'),"
                " ('p2', 'Oulu', '2'), ('p6', 'Oulu', '1'), ('p3', 'Oulu', '1'), ('p5', 'Oulu', '2'),"
                " ('q1', 'Vaasa', '1'), ('q2', 'Vaasa', '1')")
    con.execute("CREATE TABLE staging.costs (alue VARCHAR, vuosi INTEGER, euroa DOUBLE, htv DOUBLE)")
    con.execute("INSERT INTO staging.costs VALUES ('Oulu', 2023, 90000, 1.5), ('Vaasa', 2023, 30000, NULL)")
    con.execute("CREATE TABLE staging.fidelity_reviews (alue VARCHAR, arviointipvm DATE, total INTEGER)")
    con.execute("INSERT INTO staging.fidelity_reviews VALUES ('Oulu', DATE '2023-05-01', 101)")
    return con


def test_clients_are_dealt_out_in_pseudonym_order(con):
    assert split_counties(con, CUTOFF, parts=3, marts=()) == []
    got = dict(con.execute("SELECT person_id, alue FROM staging.clients").fetchall())
    # Oulu sorted: p1..p7 -> parts 0,1,2,0,1,2,0; Vaasa: q1 -> 0, q2 -> 1
    assert got == {"p1": "Oulu", "p4": "Oulu", "p7": "Oulu", "p2": "Oulu B", "p5": "Oulu B", "p3": "Oulu C",
                   "p6": "Oulu C", "q1": "Vaasa", "q2": "Vaasa B"}
    # the parts of a county add up to it (3 + 2 + 2 = 7), and differ by at most one
    sizes = dict(con.execute("SELECT alue, count(*) FROM staging.clients GROUP BY alue").fetchall())
    assert sizes == {"Oulu": 3, "Oulu B": 2, "Oulu C": 2, "Vaasa": 1, "Vaasa B": 1}
    # a client keeps everything else: p7 is still of wave 2
    assert con.execute("SELECT aalto FROM staging.clients WHERE person_id = 'p7'").fetchone() == ("2",)
    assert con.execute("SELECT count(*) FROM staging.clients").fetchone() == (9,)


def test_each_part_gets_an_equal_share_of_costs_and_the_fidelity_reviews(con):
    split_counties(con, CUTOFF, parts=3, marts=())
    costs = {a: (e, h) for a, e, h in con.execute("SELECT alue, euroa, htv FROM staging.costs").fetchall()}
    # 90 000 / 3 = 30 000 and 1.5 / 3 = 0.5 FTE per part of Oulu; Vaasa: 10 000 each, FTE unknown
    assert costs == {"Oulu": (30000.0, 0.5), "Oulu B": (30000.0, 0.5), "Oulu C": (30000.0, 0.5),
                     "Vaasa": (10000.0, None), "Vaasa B": (10000.0, None), "Vaasa C": (10000.0, None)}
    reviews = con.execute("SELECT alue, total FROM staging.fidelity_reviews ORDER BY alue").fetchall()
    assert reviews == [("Oulu", 101), ("Oulu B", 101), ("Oulu C", 101)]


def test_one_part_changes_nothing_and_no_part_is_refused(con):
    split_counties(con, CUTOFF, parts=1, marts=())
    assert con.execute("SELECT count(DISTINCT alue), count(*) FROM staging.clients").fetchone() == (2, 9)
    assert con.execute("SELECT sum(euroa) FROM staging.costs").fetchone() == (120000.0,)
    with pytest.raises(ValueError):
        split_counties(con, CUTOFF, parts=0, marts=())


def test_part_names_carry_no_digits():
    assert [part_name("Oulu", p) for p in range(3)] == ["Oulu", "Oulu B", "Oulu C"]
