"""The data contracts of data_contracts/*.yaml, and the pandera schemas built from them.

The YAML files are the only place the export formats live: column names, export
headers, types, required flags, code lists, ranges, record keys and version columns.
Validation is pandera driven by these files, so a change to a contract changes what is
accepted without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pandera.pandas as pa
import yaml

from ips_eval import YAML_LOADER, CONTRACTS_DIR
from ips_eval.definitions import SCALES

#: Files of data_contracts/ that are not export contracts: the code lists and the scales.
NOT_CONTRACTS = ("codes.yaml", "scales.yaml")

#: DuckDB type of each contract type in the raw tables.
DUCKDB_TYPES = {
    "pseudonym": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "icd10": "VARCHAR",
    "integer": "INTEGER",
    "decimal": "DECIMAL(18,2)",  # exact to the cent: sums of money never depend on their order
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "yes_no": "BOOLEAN",
    "month": "DATE",
}

#: What each type looks like in each dialect, for error messages.
TYPE_FORMS = {
    ("fi", "date"): "a date d.m.yyyy",
    ("iso", "date"): "a date yyyy-mm-dd",
    ("fi", "timestamp"): "a timestamp d.m.yyyy H:MM",
    ("iso", "timestamp"): "a timestamp yyyy-mm-dd HH:MM",
    ("fi", "decimal"): "a number with decimal comma (at most 2 decimals)",
    ("iso", "decimal"): "a number with decimal point (at most 2 decimals)",
    ("fi", "integer"): "a whole number",
    ("iso", "integer"): "a whole number",
    ("fi", "yes_no"): "K or E",
    ("iso", "yes_no"): "K or E",
    ("iso", "month"): "a month yyyy-mm",
}

PSEUDONYM_PATTERN = r"[A-Za-z0-9]{6,20}"
ICD10_PATTERN = r"[A-Z][0-9]{2}(\.?[0-9A-Z]{1,2})?"

#: Rule names written to audit.rejected_rows.rule, one per kind of failure.
RULES = (
    "structure",  # the line is not a well-formed record (too many or too few fields, a broken quote)
    "line_too_long",  # a line over 1 MiB (no line break, or a huge value): no record of any export
    "truncated_line",  # the last line, with no line break after it, is rejected: the file was cut short
    "required",
    "type",
    "pseudonym",
    "code",
    "range",
    "end_before_start",
    "only_for",  # a value in a column that applies only to some rows (htv: staff costs only)
    "not_after",  # a date later than another date of the row (a first employer contact after the response)
    "orphan",
    "conflicting_versions",
)


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    type: str
    required: bool = False
    codes: str | None = None
    min: float | None = None
    max: float | None = None
    missing_values: tuple[str, ...] = ()

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    export: str
    file: str
    dialect: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    version: str | None = None
    person_column: str | None = None
    references: dict[str, str] = field(default_factory=dict)
    row_rules: tuple[dict[str, Any], ...] = ()
    formats: tuple[str, ...] = ("csv",)
    optional: bool = False

    @property
    def table(self) -> str:
        return f"raw.{self.export}"

    @property
    def is_register(self) -> bool:
        return self.export.startswith("register_")

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def header_map(self) -> dict[str, Column]:
        """Normalised export header -> column (headers vary in case and surrounding spaces)."""
        return {normalise_header(c.header): c for c in self.columns}

    def candidate_paths(self, delivery: Path) -> list[Path]:
        if self.is_register:
            return [delivery / f"{self.file}.{ext}" for ext in self.formats]
        return [delivery / self.file]

    def raw_table_ddl(self) -> str:
        cols = ", ".join(f'"{c.name}" {c.duckdb_type}' for c in self.columns)
        return f"CREATE OR REPLACE TABLE {self.table} ({cols}, _file VARCHAR, _line BIGINT)"


def normalise_header(header: str) -> str:
    return header.strip().strip('"').strip().lower()


@lru_cache(maxsize=1)
def code_lists() -> dict[str, tuple[str, ...]]:
    data = yaml.load((CONTRACTS_DIR / "codes.yaml").read_text(encoding="utf-8"), Loader=YAML_LOADER)
    return {name: tuple(str(v) for v in spec["values"]) for name, spec in data.items()}


def codes_table() -> pd.DataFrame:
    """Every code list as rows (list, value), for ref.codes in the warehouse."""
    return pd.DataFrame(
        [(name, value) for name, values in code_lists().items() for value in values], columns=["list", "value"]
    )


@lru_cache(maxsize=1)
def load_contracts() -> dict[str, Contract]:
    """Every contract, keyed by export name, in the order the pipeline loads them."""
    contracts = {}
    for path in sorted(CONTRACTS_DIR.glob("*.yaml")):
        if path.name in NOT_CONTRACTS:
            continue
        contracts[path.stem] = _parse(path)
    order = ["clients", "jobs", "survey_baseline", "survey_midpoint", "survey_final", "fidelity_reviews"]
    return {k: contracts[k] for k in order + sorted(set(contracts) - set(order))}


def _parse(path: Path) -> Contract:
    d = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    lists = code_lists()
    columns = []
    for c in d["columns"]:
        if c.get("codes") and c["codes"] not in lists:
            raise ValueError(f"{path.name}: column {c['name']} names unknown code list {c['codes']!r}")
        if c.get("scale"):
            c = {**c, **_scale_range(path.name, c)}
        columns.append(
            Column(
                name=c["name"],
                header=c.get("header", c["name"]),
                type=c["type"],
                required=bool(c.get("required", False)),
                codes=c.get("codes"),
                min=c.get("min"),
                max=c.get("max"),
                missing_values=tuple(c.get("missing_values", ())),
            )
        )
    if d["export"] != path.stem:
        raise ValueError(f"{path.name}: export {d['export']!r} does not match the file name")
    return Contract(
        export=d["export"],
        file=d["file"],
        dialect=d["dialect"],
        description=d.get("description", ""),
        columns=tuple(columns),
        key=tuple(d.get("key") or ()),
        version=d.get("version"),
        person_column=d.get("person_column"),
        references=dict(d.get("references") or {}),
        row_rules=tuple(d.get("row_rules") or ()),
        formats=tuple(d.get("formats") or ("csv",)),
        optional=bool(d.get("optional", False)),
    )


def _scale_range(file: str, c: dict[str, Any]) -> dict[str, Any]:
    """An item column's range from the scale it belongs to (data_contracts/scales.yaml)."""
    scale = SCALES.get(c["scale"])
    if scale is None:
        raise ValueError(f"{file}: column {c['name']} names unknown scale {c['scale']!r}")
    if c["name"] not in scale.items:
        raise ValueError(f"{file}: column {c['name']} is not an item of scale {c['scale']!r}")
    if "min" in c or "max" in c:
        raise ValueError(f"{file}: column {c['name']} takes its range from scale {c['scale']!r}; give no min/max")
    return {"min": scale.min, "max": scale.max}


def pandera_schema(contract: Contract, known_persons: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one export, over a frame of typed columns plus `<col>__raw` columns.

    Each check is named after the rule it enforces; element-wise frame checks carry the
    column in their name as `rule:column`, so every failure can be reported with both.
    """
    lists = code_lists()
    columns: dict[str, pa.Column] = {}
    frame_checks: list[pa.Check] = []
    for c in contract.columns:
        checks = []
        if c.codes:
            allowed = list(lists[c.codes])
            checks.append(pa.Check(lambda s, allowed=allowed: s.isin(allowed), name="code", ignore_na=True))
        if c.type == "icd10":
            checks.append(pa.Check(lambda s: s.str.fullmatch(ICD10_PATTERN), name="code", ignore_na=True))
        if c.type == "pseudonym":
            checks.append(pa.Check(lambda s: s.str.fullmatch(PSEUDONYM_PATTERN), name="pseudonym", ignore_na=True))
        if c.min is not None or c.max is not None:
            checks.append(_range_check(c))
        columns[c.name] = pa.Column(nullable=not c.required, checks=checks, required=True)
        if c.type not in ("text", "code", "pseudonym", "icd10"):
            frame_checks.append(
                pa.Check(
                    lambda df, n=c.name: df[n].notna() | df[f"{n}__raw"].isna(),
                    name=f"type:{c.name}",
                )
            )
    for rule in contract.row_rules:
        if rule["rule"] == "end_before_start":
            s, e = rule["start"], rule["end"]
            frame_checks.append(
                pa.Check(lambda df, s=s, e=e: df[e].isna() | df[s].isna() | (df[e] >= df[s]), name=f"end_before_start:{e}")
            )
        elif rule["rule"] == "not_after":
            col, limit = rule["column"], rule["limit"]
            frame_checks.append(
                pa.Check(lambda df, c=col, lim=limit: df[c].isna() | df[lim].isna() | (df[c] <= df[lim]),
                         name=f"not_after:{col}")
            )
        elif rule["rule"] == "only_for":
            col, when, equals = rule["column"], rule["when"], rule["equals"]
            frame_checks.append(
                pa.Check(
                    lambda df, col=col, when=when, equals=equals: (
                        df[f"{col}__raw"].isna() | df[when].isna() | (df[when] == equals).fillna(False)
                    ).astype(bool),
                    name=f"only_for:{col}",
                )
            )
        else:
            raise ValueError(f"{contract.export}: unknown row rule {rule['rule']!r}")
    if known_persons is not None and contract.references:
        known = pd.Index(list(known_persons))
        for col in contract.references:
            frame_checks.append(
                pa.Check(lambda df, col=col: df[col].isna() | df[col].isin(known), name=f"orphan:{col}")
            )
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, name=contract.export)


def _range_check(c: Column) -> pa.Check:
    lo = float("-inf") if c.min is None else c.min
    hi = float("inf") if c.max is None else c.max
    return pa.Check(lambda s: s.between(lo, hi), name="range", ignore_na=True)


def describe_rule(contract: Contract, column: str | None, rule: str) -> str:
    """What the rule asks, in words a data manager at the source understands."""
    if column is None:
        return {"structure": "the line is not a well-formed record", "line_too_long": "the line is too long",
                "truncated_line": "the file ends in the middle of this line"}.get(rule, rule)
    c = contract.column(column)
    if rule == "required":
        return f"{c.header} is required"
    if rule == "type":
        return f"{c.header} must be {TYPE_FORMS.get((contract.dialect, c.type), c.type)}"
    if rule == "code":
        if c.codes:
            values = code_lists()[c.codes]
            shown = ", ".join(values) if len(values) <= 8 else f"one of the {len(values)} codes of list '{c.codes}'"
            return f"{c.header} must be {shown}"
        return f"{c.header} must be an ICD-10 code"
    if rule == "range":
        return f"{c.header} must be between {_num(c.min)} and {_num(c.max)}"
    if rule == "pseudonym":
        return f"{c.header} must be a pseudonym of 6-20 letters and digits"
    if rule == "end_before_start":
        return f"{c.header} is before the start date"
    if rule == "not_after":
        spec = next(r for r in contract.row_rules if r["rule"] == "not_after" and r["column"] == column)
        return f"{c.header} is after {contract.column(spec['limit']).header}"
    if rule == "only_for":
        spec = next(r for r in contract.row_rules if r["rule"] == "only_for" and r["column"] == column)
        return f"{c.header} is only for {contract.column(spec['when']).header} {spec['equals']}; leave it blank otherwise"
    if rule == "orphan":
        return f"{c.header} is not a person in clients.csv"
    if rule == "conflicting_versions":
        return "two versions of the record have the same timestamp but different values"
    return rule


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return str(int(x)) if float(x).is_integer() else str(x)
