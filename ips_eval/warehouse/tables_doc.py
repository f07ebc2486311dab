"""`docs/tables.md`: the built tables as their SQL files describe them, generated, never edited.

    python -m ips_eval.warehouse.tables_doc > docs/tables.md
"""

from __future__ import annotations

from ips_eval.warehouse.tables import BUILT_SCHEMAS, sql_tables

HEADER = """# Built tables (generated)

One section per file of `sql/<schema>/<table>.sql`, in build order, as the files say: the
description is the file's header comment, the inputs are the tables its SQL reads (parsed
with sqlglot). Do not edit: run `python -m ips_eval.warehouse.tables_doc > docs/tables.md`
(a test fails while this page and `sql/` disagree). Columns and decisions: `docs/warehouse.md`
and `docs/outcomes.md`.
"""


def render() -> str:
    parts = [HEADER]
    tables = sql_tables()
    for schema in BUILT_SCHEMAS:
        parts.append(f"\n## {schema}\n")
        for t in (t for t in tables if t.schema == schema):
            kind = " (view)" if t.kind == "VIEW" else ""
            reads = ", ".join(f"`{r}`" for r in t.reads) or "nothing"
            parts.append(f"\n### `{t.name}`{kind}\n\n{t.description}\n\n"
                         f"Reads: {reads}. Source: `sql/{t.schema}/{t.path.name}`.\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
