"""`docs/tables.md`: the built tables as their SQL files describe them, generated, never edited.

    python -m ips_eval.warehouse.tables_doc > docs/tables.md
"""

from __future__ import annotations

from ips_eval.definitions import SCALES
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
    parts.append(scales_section())
    return "".join(parts)


def scales_section() -> str:
    """The questionnaire scales as data_contracts/scales.yaml declares them (read as ref.scales).

    Examples
    --------
    >>> "| `stigma` |" in scales_section()
    True
    """
    lines = ["\n## Questionnaire scales (`ref.scales`, `ref.scale_items`)\n\n"
             "As `data_contracts/scales.yaml` declares them: the contracts take each item's range from here, "
             "and `core.scale_scores`, `marts.client_scores`, `marts.care_staff_scales` and "
             "`marts.scale_reliability` their items, reverse keys, rules and minimum answered items. A client "
             "score is a column of `marts.client_scores` and a model `scores_<score>`.\n\n",
             "| scale | source | items | range | reverse-keyed | rule | at least answered | waves | client score |\n",
             "|---|---|---|---|---|---|---|---|---|\n"]
    for s in SCALES.values():
        items = f"`{s.items[0]}`" if len(s.items) == 1 else f"`{s.items[0]}` ... `{s.items[-1]}`"
        reverse = ", ".join(f"`{i}`" for i in s.reverse) or "-"
        lines.append(f"| `{s.name}` | {s.source} | {items} | {s.min}-{s.max} | {reverse} | {s.rule} | "
                     f"{s.min_answered} of {len(s.items)} | {', '.join(s.waves)} | {'yes' if s.score else 'no'} |\n")
    return "".join(lines)


if __name__ == "__main__":
    print(render(), end="")
