"""The SQL engine checks columns alike (a survey's items: same type, missing values and rules)
by one lambda over the list of their texts: row by row, that gives what checking each column
by expressions of its own gives, the order of the failures included."""

import duckdb

from ips_eval.ingest import validate_sql
from ips_eval.ingest.contracts import load_contracts
from ips_eval.ingest.load import prepare

#: What a survey's cell may hold: answers in and out of range, missing-value markers, blanks,
#: and text that is no number.
VALUES = ["1", "5", "0", "6", "x", "EOS", None, "2,5", "-1", "1.12.2024", "P000001"]


def test_alike_columns_give_what_each_column_alone_gives(monkeypatch):
    contract = load_contracts()["survey_final"]
    assert len(validate_sql._alike(contract)) >= 2  # two groups of items, and columns of their own
    columns = [c.name for c in contract.columns]
    rows = [[VALUES[(i * 7 + j * 3) % len(VALUES)] for j in range(len(columns))] + [i + 2] for i in range(40)]
    con = duckdb.connect()
    prepare(con)  # the format parsers
    con.execute(f"CREATE TEMP TABLE delivered ({', '.join(f'{chr(34)}{c}{chr(34)} VARCHAR' for c in columns)},"
                " _line BIGINT)")
    con.executemany(f"INSERT INTO delivered VALUES ({', '.join('?' for _ in range(len(columns) + 1))})", rows)
    together = con.execute(validate_sql.checked_sql(contract, "delivered", None)).fetchall()
    monkeypatch.setattr(validate_sql, "ALIKE", len(columns) + 1)
    assert not validate_sql._alike(contract)
    alone = con.execute(validate_sql.checked_sql(contract, "delivered", None)).fetchall()
    con.close()
    assert together == alone
    failures = [r[-1] for r in together]
    assert all(len({f.split(":")[1] for f in fs}) > 1 for fs in failures)  # rows failing in several columns
    assert {f.split(":")[0] for fs in failures for f in fs} >= {"required", "type", "range", "pseudonym"}
