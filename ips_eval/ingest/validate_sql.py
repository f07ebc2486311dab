"""The contract rules as SQL over a whole delivered file, evaluated inside DuckDB.

The rules come from the same YAML contracts as the pandera schemas of
`ips_eval.ingest.contracts.pandera_schema`, rule for rule and in the same order: for every
row, the failures are listed column by column (in contract order) and, within a column, in
the order of `RULES`. Only rows with a failure leave the database; the rest is inserted into
`raw.*` by SQL. `tests/ingest/test_validation_engines.py` runs both on the bad-input catalogue
and demands identical rejected rows and messages.

    >>> from ips_eval.ingest.contracts import load_contracts
    >>> [r.split(":")[0] for r in failure_conditions(load_contracts()["jobs"], None)][:3]
    ['required', 'pseudonym', 'required']
"""

from __future__ import annotations

from ips_eval.ingest.contracts import ICD10_PATTERN, PSEUDONYM_PATTERN, RULES, Contract, code_lists

_TEXT_TYPES = ("text", "code", "pseudonym", "icd10")


def sql_literal(value: str) -> str:
    """A text as an SQL string literal, for SQL that cannot take a parameter (a view, a
    statement built from the contracts).

    >>> sql_literal("O'Brien")
    "'O''Brien'"
    """
    return "'" + str(value).replace("'", "''") + "'"


def _number(value: float) -> str:
    return repr(float(value))


def column_rules(contract: Contract, c, value: str, raw: str) -> list[tuple[str, str]]:
    """The rules of column `c` on its own, as (rule, SQL condition TRUE when the value breaks
    it), in the order of `RULES`; `value` and `raw` are the SQL of its parsed value and of its
    delivered text."""
    lists = code_lists()
    found = []
    if c.required:
        # a value that is present but unreadable is reported by its type rule instead
        found.append(("required", f"{value} IS NULL AND {raw} IS NULL"))
    if c.type not in _TEXT_TYPES:
        found.append(("type", f"{value} IS NULL AND {raw} IS NOT NULL"))
    if c.codes:
        allowed = ", ".join(sql_literal(v) for v in lists[c.codes])
        found.append(("code", f"{value} IS NOT NULL AND {value} NOT IN ({allowed})"))
    if c.type == "icd10":
        found.append(("code", f"{value} IS NOT NULL AND NOT regexp_full_match({value}, {sql_literal(ICD10_PATTERN)})"))
    if c.type == "pseudonym":
        found.append(("pseudonym",
                      f"{value} IS NOT NULL AND NOT regexp_full_match({value}, {sql_literal(PSEUDONYM_PATTERN)})"))
    if c.min is not None or c.max is not None:
        lo = "-'inf'::DOUBLE" if c.min is None else _number(c.min)
        hi = "'inf'::DOUBLE" if c.max is None else _number(c.max)
        found.append(("range", f"{value} IS NOT NULL AND NOT ({value} BETWEEN {lo} AND {hi})"))
    return sorted(found, key=lambda rule: RULES.index(rule[0]))


def failure_conditions(contract: Contract, known_table: str | None) -> dict[str, str]:
    """`rule:column` -> a SQL condition that is TRUE when the row breaks the rule, in report order.

    `known_table` names a table with a `person_id` column (the clients already loaded) for the
    orphan rule of exports that refer to clients; None leaves the rule out, as pandera does.
    """
    found: list[tuple[int, int, str, str]] = []
    order = {c.name: i for i, c in enumerate(contract.columns)}

    def add(rule: str, column: str, condition: str) -> None:
        found.append((order.get(column, 99), RULES.index(rule), f"{rule}:{column}", condition))

    for c in contract.columns:
        for rule, condition in column_rules(contract, c, f'"{c.name}"', f'"{c.name}__raw"'):
            add(rule, c.name, condition)
    for rule in contract.row_rules:
        if rule["rule"] == "end_before_start":
            s, e = f'"{rule["start"]}"', f'"{rule["end"]}"'
            add("end_before_start", rule["end"], f"{e} IS NOT NULL AND {s} IS NOT NULL AND {e} < {s}")
        elif rule["rule"] == "not_after":
            c, lim = f'"{rule["column"]}"', f'"{rule["limit"]}"'
            add("not_after", rule["column"], f"{c} IS NOT NULL AND {lim} IS NOT NULL AND {c} > {lim}")
        elif rule["rule"] == "only_for":
            raw, when = f'"{rule["column"]}__raw"', f'"{rule["when"]}"'
            add("only_for", rule["column"],
                f"{raw} IS NOT NULL AND {when} IS NOT NULL AND {when} <> {sql_literal(rule['equals'])}")
        else:
            raise ValueError(f"{contract.export}: unknown row rule {rule['rule']!r}")
    if known_table is not None:
        for col in contract.references:
            add("orphan", col,
                f'"{col}" IS NOT NULL AND "{col}" NOT IN (SELECT person_id FROM {known_table})')
    return {key: condition for _, _, key, condition in sorted(found, key=lambda t: (t[0], t[1]))}


def raw_expression(column, text: str | None = None) -> str:
    """The delivered text of `column` (a contract column; `text`, SQL of it, defaults to the
    column by name) as the rules see it: its missing-value markers (e.g. EOS) as NULL."""
    name = f'"{column.name}"' if text is None else text
    if not column.missing_values:
        return name
    missing = ", ".join(sql_literal(v) for v in column.missing_values)
    return f"CASE WHEN {name} IN ({missing}) THEN NULL ELSE {name} END"


def _parsed(contract: Contract, column, raw: str) -> str:
    return raw if column.type in _TEXT_TYPES else f"{contract.dialect}_{column.type}({raw})"


def typed_sql(contract: Contract, table: str) -> str:
    """The parsed value and the delivered text (`<column>__raw`) of every column of the read
    table `table`, side by side, with `_line`."""
    parts = ["_line"]
    for c in contract.columns:
        raw = raw_expression(c)
        parts.append(f'{_parsed(contract, c, raw)} AS "{c.name}"')
        parts.append(f'{raw} AS "{c.name}__raw"')
    return f"SELECT {', '.join(parts)} FROM {table}"


#: Columns alike (type, missing values and rules), when at least this many, are parsed and
#: checked together: one lambda over the list of their texts. DuckDB plans every expression of
#: a statement anew, and for a small file planning, not evaluating, is most of the cost: a
#: survey's dozens of items would otherwise each bring their parser and rules.
ALIKE = 4


def checked_sql(contract: Contract, table: str, known_table: str | None) -> str:
    """Every row of the read table `table` as parsed (its values and `_line`, not the delivered
    text), with `_failures`: the `rule:column` list of the rules it breaks (empty when none).

    Materialised once, it is both the accepted rows and the list of failing lines, so every
    value is parsed and every rule evaluated once per row; the lines to reject come from it
    (`rejected_sql`), and the delivered text is read again only for them (`delivered_sql`).
    Columns alike (`ALIKE`) are parsed and checked by one lambda each over the list of their
    texts: the same conditions, element by element."""
    conditions = failure_conditions(contract, known_table)
    groups = _alike(contract)
    if not groups:
        values = ", ".join(f'"{c.name}"' for c in contract.columns)
        typed = f"({typed_sql(contract, table)}) AS typed"
        if not conditions:
            return f"SELECT {values}, _line, []::VARCHAR[] AS _failures FROM {typed}"
        cases = ", ".join(f"CASE WHEN {cond} THEN {sql_literal(key)} END" for key, cond in conditions.items())
        return f"SELECT {values}, _line, list_filter([{cases}], lambda x: x IS NOT NULL) AS _failures FROM {typed}"
    place = {c.name: (g, i) for g, cols in enumerate(groups) for i, c in enumerate(cols, start=1)}
    texts, parsed, checked = ["_line"], ["*"], ["*"]
    for c in contract.columns:
        if c.name not in place:
            texts.append(f'{raw_expression(c)} AS "{c.name}__raw"')
            raw = f'"{c.name}__raw"'
            parsed.append(f'{_parsed(contract, c, raw)} AS "{c.name}"')
    for g, cols in enumerate(groups):
        first = cols[0]
        names = "[" + ", ".join(sql_literal(c.name) for c in cols) + "]"
        listed = "[" + ", ".join(f'"{c.name}"' for c in cols) + "]"
        if first.missing_values:
            listed = f"list_transform({listed}, lambda s: {raw_expression(first, 's')})"
        texts.append(f"{listed} AS _alike{g}_raw")
        parsed.append(f"list_transform(_alike{g}_raw, lambda s: {_parsed(contract, first, 's')}) AS _alike{g}")
        cases = ", ".join(f"CASE WHEN {condition} THEN {sql_literal(rule + ':')} || {names}[i] END"
                          for rule, condition in column_rules(contract, first, "v", f"_alike{g}_raw[i]"))
        if cases:
            checked.append(f"list_transform(_alike{g}, lambda v, i: list_filter([{cases}], lambda x: x IS NOT NULL))"
                           f" AS _alike{g}_failures")
    by_column: dict[str, list[str]] = {}
    for key, condition in conditions.items():
        by_column.setdefault(key.split(":", 1)[1], []).append(f"CASE WHEN {condition} THEN {sql_literal(key)} END")
    values, failures = [], []
    for c in contract.columns:
        if c.name in place:
            g, i = place[c.name]
            values.append(f'_alike{g}[{i}] AS "{c.name}"')
            if c.name in by_column:
                failures.append(f"_alike{g}_failures[{i}]")
        else:
            values.append(f'"{c.name}"')
            if c.name in by_column:
                failures.append("[" + ", ".join(by_column[c.name]) + "]")
    failures += ["[" + ", ".join(cases) + "]" for column, cases in by_column.items()
                 if column not in {c.name for c in contract.columns}]
    listed = (f"list_filter(flatten([{', '.join(failures)}]), lambda x: x IS NOT NULL)" if failures
              else "[]::VARCHAR[]")
    return (f"SELECT {', '.join(values)}, _line, {listed} AS _failures FROM (SELECT {', '.join(checked)} FROM "
            f"(SELECT {', '.join(parsed)} FROM (SELECT {', '.join(texts)} FROM {table})))")


def _alike(contract: Contract) -> list[list]:
    """Groups of at least `ALIKE` columns with the same type, missing values and rules of their
    own, that no rule of the row (or of orphans) names: a survey's items."""
    named = {v for rule in contract.row_rules for v in rule.values()} | set(contract.references)
    groups: dict[tuple, list] = {}
    for c in contract.columns:
        if c.name not in named:
            key = (c.type, c.missing_values, tuple(column_rules(contract, c, "\0value", "\0raw")))
            groups.setdefault(key, []).append(c)
    return [cols for cols in groups.values() if len(cols) >= ALIKE]


#: The `_failures` of a row that breaks no rule but conflicts with another version (`rejected_sql`).
CONFLICT = "conflicting_versions"


def rejected_sql(contract: Contract, checked: str) -> str:
    """The rows to reject, in file order: `_line` and `_failures`, from the table `checked_sql`
    filled. With a key and a version, a row that breaks no rule but shares its key and version
    with another such row holding other values comes too, its `_failures` `[CONFLICT:<version>]`:
    neither can be told to be the current one (docs/decisions.md). Their delivered text is
    read by `delivered_sql`, only when there are any."""
    if not (contract.version and contract.key):
        return f"SELECT _line, _failures FROM {checked} WHERE len(_failures) > 0 ORDER BY _line"
    group = [*contract.key, contract.version]
    distinct = ", ".join(f'"{c.name}"' for c in contract.columns)
    grouped = ", ".join(f'"{g}"' for g in group)
    # NULL matches NULL, as in a GROUP BY (a key column may be optional)
    same = " AND ".join(f'x."{g}" IS NOT DISTINCT FROM c."{g}"' for g in group)
    clashing = (f"SELECT {grouped} FROM (SELECT DISTINCT {distinct} FROM {checked} WHERE len(_failures) = 0)"
                f" GROUP BY {grouped} HAVING count(*) > 1")
    conflict = sql_literal(f"{CONFLICT}:{contract.version}")
    return (f"SELECT _line, CASE WHEN len(_failures) > 0 THEN _failures ELSE [{conflict}] END AS _failures"
            f" FROM {checked} AS c WHERE len(_failures) > 0"
            f" OR (len(_failures) = 0 AND EXISTS (SELECT 1 FROM ({clashing}) AS x WHERE {same})) ORDER BY _line")


#: Up to this many lines are named by a list of constants: a filter, which DuckDB passes down
#: to the read (a Parquet extract is not cast to text whole for a few lines) and which keeps
#: the order of a parallel read; more by a join.
LISTED_LINES = 1000


def lines_sql(lines: list[int], keep: bool) -> tuple[str, list]:
    """A condition on `_line` that keeps (`keep`) or drops `lines`, and its parameters: none
    for a list of constants (a filter), the lines for a join beyond `LISTED_LINES`.

    >>> lines_sql([3, 7], keep=True), lines_sql([], keep=False)
    (('_line IN (3, 7)', []), ('TRUE', []))
    """
    if not lines:
        return ("FALSE" if keep else "TRUE"), []
    op = "IN" if keep else "NOT IN"
    if len(lines) <= LISTED_LINES:
        return f"_line {op} ({', '.join(str(int(x)) for x in lines)})", []
    return f"_line {op} (SELECT unnest(?::BIGINT[]))", [list(lines)]


def delivered_sql(contract: Contract, table: str, lines: list[int]) -> tuple[str, list]:
    """The delivered text of every column of `lines`, from the read table `table`: `_line` and
    the columns in contract order, as SQL and its parameters. The missing-value markers are
    still there (the rules saw them as NULL: `raw_expression`)."""
    columns = ", ".join(f'"{c.name}"' for c in contract.columns)
    where, params = lines_sql(lines, keep=True)
    return f"SELECT _line, {columns} FROM {table} WHERE {where}", params
