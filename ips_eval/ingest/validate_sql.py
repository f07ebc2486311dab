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


def checked_sql(contract: Contract, typed_view: str, known_table: str | None) -> str:
    """Every row of `typed_view` as parsed (its values and `_line`, not the delivered text),
    with `_failures`: the `rule:column` list of the rules it breaks (empty when none).

    Materialised once, it is both the accepted rows and the list of failing lines, so every
    value is parsed and every rule evaluated once per row; the delivered text is read again
    only for the failing rows (`failing_rows_sql`)."""
    conditions = failure_conditions(contract, known_table)
    values = ", ".join(f'"{c.name}"' for c in contract.columns)
    if not conditions:
        return f"SELECT {values}, _line, []::VARCHAR[] AS _failures FROM {typed_view}"
    cases = ", ".join(f"CASE WHEN {cond} THEN {_quote(key)} END" for key, cond in conditions.items())
    return f"SELECT {values}, _line, list_filter([{cases}], lambda x: x IS NOT NULL) AS _failures FROM {typed_view}"


def failing_rows_sql(typed_view: str, checked: str) -> str:
    """The rows that break a rule, in file order: parsed values and delivered text (`typed_view`),
    and their `_failures` (from the table `checked_sql` filled)."""
    return (f"SELECT v.*, c._failures FROM {typed_view} AS v "
            f"JOIN (SELECT _line, _failures FROM {checked} WHERE len(_failures) > 0) AS c USING (_line) "
            f"ORDER BY _line")
