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


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _number(value: float) -> str:
    return repr(float(value))


def failure_conditions(contract: Contract, known_table: str | None) -> dict[str, str]:
    """`rule:column` -> a SQL condition that is TRUE when the row breaks the rule, in report order.

    `known_table` names a table with a `person_id` column (the clients already loaded) for the
    orphan rule of exports that refer to clients; None leaves the rule out, as pandera does.
    """
    lists = code_lists()
    found: list[tuple[int, int, str, str]] = []
    order = {c.name: i for i, c in enumerate(contract.columns)}

    def add(rule: str, column: str, condition: str) -> None:
        found.append((order.get(column, 99), RULES.index(rule), f"{rule}:{column}", condition))

    for c in contract.columns:
        value, raw = f'"{c.name}"', f'"{c.name}__raw"'
        if c.required:
            # a value that is present but unreadable is reported by its type rule instead
            add("required", c.name, f"{value} IS NULL AND {raw} IS NULL")
        if c.type not in _TEXT_TYPES:
            add("type", c.name, f"{value} IS NULL AND {raw} IS NOT NULL")
        if c.codes:
            allowed = ", ".join(_quote(v) for v in lists[c.codes])
            add("code", c.name, f"{value} IS NOT NULL AND {value} NOT IN ({allowed})")
        if c.type == "icd10":
            add("code", c.name, f"{value} IS NOT NULL AND NOT regexp_full_match({value}, {_quote(ICD10_PATTERN)})")
        if c.type == "pseudonym":
            add("pseudonym", c.name,
                f"{value} IS NOT NULL AND NOT regexp_full_match({value}, {_quote(PSEUDONYM_PATTERN)})")
        if c.min is not None or c.max is not None:
            lo = "-'inf'::DOUBLE" if c.min is None else _number(c.min)
            hi = "'inf'::DOUBLE" if c.max is None else _number(c.max)
            add("range", c.name, f"{value} IS NOT NULL AND NOT ({value} BETWEEN {lo} AND {hi})")
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
                f"{raw} IS NOT NULL AND {when} IS NOT NULL AND {when} <> {_quote(rule['equals'])}")
        else:
            raise ValueError(f"{contract.export}: unknown row rule {rule['rule']!r}")
    if known_table is not None:
        for col in contract.references:
            add("orphan", col,
                f'"{col}" IS NOT NULL AND "{col}" NOT IN (SELECT person_id FROM {known_table})')
    return {key: condition for _, _, key, condition in sorted(found, key=lambda t: (t[0], t[1]))}


def raw_expression(column, source: str = "") -> str:
    """The delivered text of `column` (a contract column) as the rules see it: its missing-value
    markers (e.g. EOS) as NULL. `source` qualifies the column (a table alias and a dot)."""
    name = f'{source}"{column.name}"'
    if not column.missing_values:
        return name
    missing = ", ".join(_quote(v) for v in column.missing_values)
    return f"CASE WHEN {name} IN ({missing}) THEN NULL ELSE {name} END"


def typed_sql(contract: Contract, table: str) -> str:
    """The parsed value and the delivered text (`<column>__raw`) of every column of the read
    table `table`, side by side, with `_line`."""
    parts = ["_line"]
    for c in contract.columns:
        raw = raw_expression(c)
        parsed = raw if c.type in _TEXT_TYPES else f"{contract.dialect}_{c.type}({raw})"
        parts.append(f'{parsed} AS "{c.name}"')
        parts.append(f'{raw} AS "{c.name}__raw"')
    return f"SELECT {', '.join(parts)} FROM {table}"


def checked_sql(contract: Contract, table: str, known_table: str | None) -> str:
    """Every row of the read table `table` as parsed (its values and `_line`, not the delivered
    text), with `_failures`: the `rule:column` list of the rules it breaks (empty when none).

    Materialised once, it is both the accepted rows and the list of failing lines, so every
    value is parsed and every rule evaluated once per row; the delivered text is read again
    only for the rejected rows (`rejected_sql`)."""
    conditions = failure_conditions(contract, known_table)
    values = ", ".join(f'"{c.name}"' for c in contract.columns)
    typed = f"({typed_sql(contract, table)}) AS typed"
    if not conditions:
        return f"SELECT {values}, _line, []::VARCHAR[] AS _failures FROM {typed}"
    cases = ", ".join(f"CASE WHEN {cond} THEN {_quote(key)} END" for key, cond in conditions.items())
    return f"SELECT {values}, _line, list_filter([{cases}], lambda x: x IS NOT NULL) AS _failures FROM {typed}"


#: The `_failures` of a row that breaks no rule but conflicts with another version (`rejected_sql`).
CONFLICT = "conflicting_versions"


def rejected_sql(contract: Contract, table: str, checked: str) -> str:
    """The rows to reject, in file order: `_line`, the delivered text of every column
    (`<column>__raw`, from the read table `table`) and `_failures` (from the table `checked_sql`
    filled). With a key and a version, a row that breaks no rule but shares its key and version
    with another such row holding other values comes too, its `_failures` `[CONFLICT:<version>]`:
    neither can be told to be the current one (docs/decisions.md)."""
    raws = ", ".join(f'{raw_expression(c, "r.")} AS "{c.name}__raw"' for c in contract.columns)
    failures = "c._failures"
    where = "len(c._failures) > 0"
    if contract.version and contract.key:
        group = [*contract.key, contract.version]
        distinct = ", ".join(f'"{c.name}"' for c in contract.columns)
        grouped = ", ".join(f'"{g}"' for g in group)
        # NULL matches NULL, as in a GROUP BY (a key column may be optional)
        same = " AND ".join(f'x."{g}" IS NOT DISTINCT FROM c."{g}"' for g in group)
        clashing = (f"SELECT {grouped} FROM (SELECT DISTINCT {distinct} FROM {checked} WHERE len(_failures) = 0)"
                    f" GROUP BY {grouped} HAVING count(*) > 1")
        where += f" OR (len(c._failures) = 0 AND EXISTS (SELECT 1 FROM ({clashing}) AS x WHERE {same}))"
        failures = (f"CASE WHEN len(c._failures) > 0 THEN c._failures"
                    f" ELSE [{_quote(CONFLICT + ':' + contract.version)}] END")
    return (f"SELECT c._line, {raws}, {failures} AS _failures FROM {checked} AS c JOIN {table} AS r USING (_line)"
            f" WHERE {where} ORDER BY c._line")
