"""The warehouse SQL in another engine's dialect, translated by sqlglot (no second implementation).

DuckDB runs `sql/` as written. To run the same files on a distributed engine (Spark, Trino),
the project's macros (`sql/macros.sql` and the constants of ips_eval.definitions) are expanded
in place, since those engines have no SQL macros, and sqlglot writes the result in the target
dialect. A construct that sqlglot cannot translate, or a function it does not know (and would
pass through unchanged, to fail only on the other engine), is reported by name.

    >>> from ips_eval.warehouse.dialects import translate
    >>> translate("SELECT consent_withdrawn_by(w, DATE '2024-12-31') AS gone FROM t", "spark").sql
    "SELECT (NOT w IS NULL AND w <= CAST('2024-12-31' AS DATE)) AS gone FROM t"
    >>> translate("SELECT list_sum([1, 2]) AS s", "spark").problems
    ['function list_sum() is unknown to sqlglot and would pass through untranslated']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from ips_eval.definitions import SQL_CONSTANTS
from ips_eval.warehouse.database import sql_text


#: Functions sqlglot passes through by name that the target engine has with the same meaning.
SAME_IN: dict[str, frozenset[str]] = {
    "spark": frozenset({"bit_count"}),  # Spark SQL's bit_count(expr): set bits of an integer
}


@dataclass(frozen=True)
class Translation:
    """One statement in a target dialect, with what did not translate."""

    sql: str
    problems: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def macros() -> dict[str, tuple[list[str], exp.Expression]]:
    """The scalar macros of sql/macros.sql and the constants, as (parameters, body)."""
    found: dict[str, tuple[list[str], exp.Expression]] = {
        name: ([], exp.Literal.number(value)) for name, value in SQL_CONSTANTS.items()
    }
    for statement in sqlglot.parse(sql_text("macros"), read="duckdb"):
        if not isinstance(statement, exp.Create) or str(statement.args.get("kind", "")).upper() != "MACRO":
            continue
        signature = statement.this  # UserDefinedFunction(this=Table(name), expressions=[parameters])
        params = [p.name for p in signature.expressions]
        found[signature.this.name.lower()] = (params, statement.expression)
    return found


def expand_macros(tree: exp.Expression) -> exp.Expression:
    """Every call of a project macro replaced by its body, arguments substituted (recursively)."""
    known = macros()

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in known:
            params, body = known[node.name.lower()]
            args = dict(zip(params, node.expressions))
            expanded = body.copy().transform(
                lambda n: args[n.name].copy() if isinstance(n, exp.Column) and not n.table and n.name in args else n
            )
            return exp.paren(expand_macros(expanded), copy=False)
        return node

    return tree.transform(replace)


def translate(sql: str, dialect: str) -> Translation:
    """`sql` (one DuckDB statement of the project) written in `dialect`, with its problems."""
    problems: list[str] = []
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError as e:
        return Translation("", [f"cannot be parsed: {str(e).splitlines()[0]}"])
    tree = expand_macros(tree)
    unknown = sorted({a.name for a in tree.find_all(exp.Anonymous)} - SAME_IN.get(dialect, frozenset()))
    problems += [f"function {name}() is unknown to sqlglot and would pass through untranslated" for name in unknown]
    try:
        out = tree.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE, comments=False)
    except SqlglotError as e:
        problems.append(f"does not translate: {str(e).splitlines()[0]}")
        out = ""
    return Translation(out, problems)
