"""What a SQL text reads and makes, parsed with sqlglot (DuckDB dialect).

The build order of the warehouse, the Dagster asset graph and the table documentation all
come from here: a table's inputs are the tables its SQL names in `FROM`/`JOIN`, never a list
kept beside it.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def parse(sql: str) -> exp.Expression:
    """The one statement of a SQL text (a file holding more than one is refused)."""
    return _parsed(sql).copy()


@lru_cache(maxsize=1024)
def _parsed(sql: str) -> exp.Expression:
    """`parse` of a text, kept: the same files are parsed by the build order, the asset graph,
    the docs and every model's input check. Read only; `parse` hands out copies."""
    statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    if len(statements) != 1:
        raise ValueError(f"expected one SQL statement, found {len(statements)}")
    return statements[0]


def tables_read(sql: str) -> set[str]:
    """Qualified names (`schema.table`) of the tables a statement reads.

    Common table expressions and the statement's own target are not inputs; unqualified names
    are CTEs or table functions and are left out.
    """
    return set(_tables_read(sql))


@lru_cache(maxsize=1024)
def _tables_read(sql: str) -> frozenset[str]:
    statement = _parsed(sql)
    made = created_name(statement)
    read = set()
    for table in statement.find_all(exp.Table):
        if table.db:
            name = f"{table.db}.{table.name}"
            if name != made:
                read.add(name)
    return frozenset(read)


def created_name(statement: exp.Expression) -> str | None:
    """`schema.table` of a CREATE statement, else None."""
    if isinstance(statement, exp.Create):
        target = statement.this
        table = target.this if isinstance(target, exp.Schema) else target
        if isinstance(table, exp.Table):
            return f"{table.db}.{table.name}" if table.db else table.name
    return None


def created_kind(statement: exp.Expression) -> str | None:
    """'TABLE' or 'VIEW' for a CREATE statement, else None."""
    if isinstance(statement, exp.Create):
        return str(statement.args.get("kind") or "").upper() or None
    return None


def parameters(sql: str) -> set[str]:
    """The `$name` parameters a SQL text binds (comments ignored)."""
    return set(_PARAM.findall(strip_comments(sql)))


def strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def header_comment(sql: str) -> str:
    """The comment lines at the top of a SQL text, joined into one paragraph per blank `--`."""
    lines = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        lines.append(stripped[2:].strip())
    paragraphs, current = [], []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)
