"""The warehouse SQL translates to Spark SQL with sqlglot, macros expanded: no second implementation
is needed to run it on a distributed engine (docs/scaling.md)."""

import re

import pytest

from ips_eval import PROJECT_ROOT, SQL_DIR
from ips_eval.warehouse.dialects import translate

#: The SQL of the warehouse's data path. The generic column tests of sql/tests/ are not part of
#: it: they run in DuckDB on the built tables (query_table, a row read as a struct).
SQL_FILES = sorted(p for p in SQL_DIR.glob("*/*.sql") if p.parent.name != "tests") + sorted(
    (PROJECT_ROOT / "ips_eval").rglob("*.sql"))


def test_every_sql_file_translates_to_spark():
    assert len(SQL_FILES) > 40
    problems = {}
    for path in SQL_FILES:
        result = translate(path.read_text(encoding="utf-8"), "spark")
        if result.problems or not result.sql:
            problems[str(path.relative_to(PROJECT_ROOT))] = result.problems
    assert not problems, "\n".join(f"{f}: {'; '.join(p)}" for f, p in problems.items())


def test_macros_are_expanded_and_constants_inlined():
    sql = (SQL_DIR / "core" / "competitive_jobs_asof.sql").read_text(encoding="utf-8")
    spark = translate(sql, "spark").sql
    assert "follow_up_short_months" not in spark and re.search(r"INTERVAL \(+6\)+ MONTH", spark)
    spark = translate("SELECT months_in(s.employed, 0, 11) AS n FROM core.register_month_sets AS s", "spark").sql
    assert "MONTHS_IN" not in spark.upper() and "BIT_COUNT" in spark and "SHIFTLEFT" in spark


@pytest.mark.parametrize("sql,problem", [
    ("SELECT no_such_function(1) AS x", "no_such_function"),
    ("SELECT * FROM t PIVOT (sum(v) FOR k IN ('a', 'b'))", "PIVOT"),
])
def test_what_does_not_translate_is_named(sql, problem):
    result = translate(sql, "trino")
    assert any(problem in p for p in result.problems), result.problems
