"""The tables part of `docs/warehouse.md`, generated from `sql/` and the contracts, never edited.

Every table of the warehouse, schema by schema along the data path: `ref` from
`ips_eval.definitions`, `raw` from the data contracts (`data_contracts/`), the tables built
from `sql/` with their header comment, inputs and declared columns (`sql/<schema>/<table>.yml`),
and the tables Python writes as their contracts declare them (`sql/models/tables.yml`,
`sql/audit/tables.yml`). The page's hand-written sections stay as they are: only the text
between the two markers is replaced.

    python -m ips_eval.warehouse.tables_doc            # rewrite docs/warehouse.md
    python -m ips_eval.warehouse.tables_doc --check    # exit 1 when the page is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from ips_eval import PROJECT_ROOT, SQL_DIR
from ips_eval.definitions import SCALES
from ips_eval.warehouse import lineage
from ips_eval.warehouse.table_contracts import TableContract, sql_files, table_contracts
from ips_eval.warehouse.tables import sql_tables

PAGE = PROJECT_ROOT / "docs" / "warehouse.md"
BEGIN = "<!-- BEGIN GENERATED TABLES: python -m ips_eval.warehouse.tables_doc; do not edit below this line -->"
END = "<!-- END GENERATED TABLES -->"
#: The schemas in the order of the data path.
SCHEMA_ORDER: tuple[str, ...] = ("ref", "raw", "audit", "staging", "core", "marts", "models")

INTRO = """## All tables (generated)

Every table of the warehouse, schema by schema. A table built from `sql/<schema>/<table>.sql`
has its description from the file's header comment, its inputs from its SQL and its columns
from its contract `sql/<schema>/<table>.yml` (types, descriptions and tests; the tests are
run by the `contract` asset check of the table's Dagster asset). `ref` tables come from `ips_eval.definitions`,
`raw` tables from `data_contracts/`, and the tables Python writes from their contracts in
`sql/models/tables.yml` and `sql/audit/tables.yml`. A test builds the warehouse and compares
every contract with the built table (names and types), and another fails while this part of
the page and `sql/` disagree.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _columns_table(contract: TableContract) -> str:
    rows = ["| column | type | description | tests |", "|---|---|---|---|"]
    for c in contract.columns:
        tests = "; ".join(t.text for t in c.tests)
        rows.append(f"| `{c.name}` | {c.type} | {_cell(c.description)} | {_cell(tests)} |")
    out = "\n".join(rows) + "\n"
    if contract.table_tests:
        out += "\nTable tests: " + "; ".join(f"({', '.join(t.columns)}) {t.text}" for t in contract.table_tests) + ".\n"
    return out


def _ref_tables() -> list[str]:
    from ips_eval.definitions import reference_tables
    from ips_eval.ingest.contracts import codes_table

    con = duckdb.connect()
    frames = {**reference_tables(), "codes": codes_table()}
    parts = []
    for name in sorted(frames):
        frame = frames[name]  # noqa: F841 (read by DuckDB's replacement scan)
        types = con.execute("DESCRIBE SELECT * FROM frame").fetchall()
        cols = ", ".join(f"`{c}` {t}" for c, t, *_ in types)
        parts.append(f"\n#### `ref.{name}`\n\nColumns: {cols}.\n")
    con.close()
    return parts


def _raw_tables() -> list[str]:
    from ips_eval.ingest.contracts import load_contracts

    parts = []
    for contract in load_contracts().values():
        rows = ["| column | type | delivered as |", "|---|---|---|"]
        for c in contract.columns:
            codes = f", codes `{c.codes}`" if c.codes else ""
            rows.append(f"| `{c.name}` | {c.duckdb_type} | `{c.header}` ({c.type}{', required' if c.required else ''}"
                        f"{codes}) |")
        rows += ["| `_file` | VARCHAR | the file, relative to the delivery |",
                 "| `_line` | BIGINT | the line in the file (header = 1) |"]
        optional = " Optional: empty, with these columns, when the delivery has no such file." if contract.optional else ""
        parts.append(f"\n#### `{contract.table}`\n\n{contract.description}{optional} Contract: "
                     f"`data_contracts/{contract.export}.yaml`.\n\n" + "\n".join(rows) + "\n")
    return parts


def _sql_table(name: str, path: Path, contract: TableContract) -> str:
    text = path.read_text(encoding="utf-8")
    statement = lineage.parse(text)
    kind = " (view)" if lineage.created_kind(statement) == "VIEW" else ""
    reads = ", ".join(f"`{r}`" for r in sorted(lineage.tables_read(text))) or "nothing"
    source = f"`sql/{path.parent.name}/{path.name}`, contract `sql/{path.parent.name}/{contract.path.name}`"
    return (f"\n#### `{name}`{kind}\n\n{lineage.header_comment(text)}\n\nReads: {reads}. Source: {source}.\n\n"
            + _columns_table(contract))


def _written_table(contract: TableContract) -> str:
    by = f" Written by {contract.written_by}." if contract.written_by else ""
    return (f"\n#### `{contract.name}`\n\n{contract.description}{by} Contract: "
            f"`sql/{contract.path.parent.name}/{contract.path.name}`.\n\n" + _columns_table(contract))


def render(sql_dir: Path | str | None = None) -> str:
    """The generated part of docs/warehouse.md, markers included.

    Examples
    --------
    >>> text = render()
    >>> "### `marts.employment_outcomes`" in text and "### `models.estimates`" in text
    True
    """
    contracts = table_contracts(sql_dir)
    files = sql_files(sql_dir)
    order = [t.name for t in sql_tables(sql_dir)] + [n for n in files if n not in {t.name for t in sql_tables(sql_dir)}]
    parts = [BEGIN, "\n", INTRO]
    for schema in SCHEMA_ORDER:
        parts.append(f"\n### {schema}\n")
        if schema == "ref":
            parts += _ref_tables()
            parts.append(scales_section())
        elif schema == "raw":
            parts += _raw_tables()
        for name in (n for n in order if n.split(".")[0] == schema):
            parts.append(_sql_table(name, files[name], contracts[name]))
        for c in (c for n, c in sorted(contracts.items()) if c.schema == schema and n not in files):
            parts.append(_written_table(c))
    parts.append("\n" + END + "\n")
    return "".join(parts)


def splice(page: str, generated: str) -> str:
    """The page with its generated part replaced (appended when the page has none yet).

    Examples
    --------
    >>> page = "Prose written by hand. " + BEGIN + "old tables" + END
    >>> splice(page, BEGIN + "new tables" + END) == "Prose written by hand. " + BEGIN + "new tables" + END
    True
    """
    if BEGIN in page:
        head = page.split(BEGIN, 1)[0]
        tail = page.split(END, 1)[1].lstrip("\n") if END in page else ""
        return head + generated + (("\n" + tail) if tail else "")
    return page.rstrip("\n") + "\n\n" + generated


def main(argv: list[str]) -> int:
    page = PAGE.read_text(encoding="utf-8")
    new = splice(page, render())
    if "--check" in argv:
        if new != page:
            print(f"{PAGE} is stale: run python -m ips_eval.warehouse.tables_doc", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    return 0


def scales_section() -> str:
    """The questionnaire scales as data_contracts/scales.yaml declares them (read as ref.scales).

    Examples
    --------
    >>> "| `stigma` |" in scales_section()
    True
    """
    lines = ["\n#### Questionnaire scales (`ref.scales`, `ref.scale_items`)\n\n"
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
    sys.exit(main(sys.argv[1:]))
