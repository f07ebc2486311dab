"""The outcome tables (ANALYSIS_PLAN.md): `core.*` per-job/per-client rows and the `marts.*`.

Each table is one file `sql/<schema>/<table>.sql` (one `CREATE OR REPLACE TABLE` statement,
the cut-off bound as `$cutoff`). `OUTCOME_TABLES` is the one ordered list of them, each
with the tables it reads; the order is a valid build order (every table after the outcome
tables it depends on). Dagster generates one asset per entry::

    for t in OUTCOME_TABLES:
        ...  # asset key t.name, deps t.depends_on, body build_outcome_table(con, t.name, cutoff)

`build_outcomes(con, cutoff)` builds them all in order; `build_outcome_table` builds one.
Inputs (`staging.*`, `ref.*`) must exist; see docs/warehouse.md and docs/outcomes.md.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterable

import duckdb

from ips_eval.warehouse import load_macros, run_sql, sql_text


@dataclass(frozen=True)
class OutcomeTable:
    """One outcome table: its qualified name, the tables it reads, and what it holds."""

    name: str  # "core.competitive_jobs"
    depends_on: tuple[str, ...]  # qualified names it reads: staging.*, ref.*, core.*, marts.*
    description: str = ""

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def sql_name(self) -> str:
        """The `run_sql` name, e.g. 'core/competitive_jobs'."""
        return f"{self.schema}/{self.table}"

    @property
    def upstream_outcomes(self) -> tuple[str, ...]:
        """Dependencies that are themselves outcome tables (core.*/marts.*)."""
        return tuple(d for d in self.depends_on if d.split(".", 1)[0] in ("core", "marts"))


def _t(name: str, depends_on: Iterable[str], description: str) -> OutcomeTable:
    return OutcomeTable(name, tuple(depends_on), description)


#: Every outcome table, in build order (a topological order of `depends_on`).
OUTCOME_TABLES: tuple[OutcomeTable, ...] = (
    _t("core.quarters", ["staging.study_population"],
       "County (and ALL) x calendar quarter from the first IPS start to the last quarter ending by C."),
    _t("core.evaluation_dates", ["core.quarters"],
       "The as-of dates the headline outcomes are evaluated at: C and every quarter end."),
    _t("core.population_asof", ["staging.study_population", "staging.clients", "core.evaluation_dates"],
       "Study-population client x as-of date (population rule re-applied at each date)."),
    _t("core.job_records", ["staging.jobs", "staging.study_population", "ref.activity_types"],
       "Every current jobs.csv record of a study-population client, classified."),
    _t("core.activities_asof", ["core.job_records", "core.population_asof"],
       "Counted activity (competitive job or other activity) x as-of date."),
    _t("core.competitive_jobs_asof", ["core.activities_asof"],
       "Competitive job x as-of date: censoring, length, tenure, first job."),
    _t("core.competitive_jobs", ["core.competitive_jobs_asof"],
       "Competitive job of a study-population client as of C."),
    _t("core.fidelity_reviews", ["staging.fidelity_reviews", "ref.fidelity_categories"],
       "Fidelity review dated by C with its total and category."),
    _t("core.fidelity_asof", ["core.evaluation_dates", "core.fidelity_reviews", "ref.fidelity_categories"],
       "County x as-of date: the latest fidelity review on or before the date."),
    _t("core.client_outcomes_asof",
       ["core.population_asof", "core.competitive_jobs_asof", "core.activities_asof", "core.fidelity_asof"],
       "Study-population client x as-of date: every per-client outcome."),
    _t("core.client_outcomes", ["core.client_outcomes_asof"],
       "Study-population client as of C: every per-client outcome."),
    _t("core.client_quarters", ["core.quarters", "core.client_outcomes", "core.competitive_jobs"],
       "Client x quarter in service: working / working unsubsidised (quarterly employment rate)."),
    _t("core.register_persons",
       ["staging.register_population", "staging.study_population", "staging.clients"],
       "Register cohort person whose register data may be used as of C."),
    _t("core.register_month_sets",
       ["core.register_persons", "staging.employment_spells", "staging.pay_subsidy_spells",
        "staging.benefit_spells", "staging.psychiatric_care", "ref.care_types"],
       "Register person: the sets of relative months -24..+24 with each monthly fact."),
    _t("core.register_months", ["core.register_month_sets", "staging.earnings"],
       "View: register person x relative month -24..+24, the monthly facts and earnings."),
    _t("marts.employment_figures",
       ["core.client_outcomes_asof", "core.competitive_jobs_asof", "core.quarters",
        "staging.study_population", "core.evaluation_dates"],
       "Headline figures for every as-of date x county/ALL x grouping (the three employment marts are slices)."),
    _t("marts.employment_outcomes", ["marts.employment_figures"],
       "Headline employment outcomes per county and ALL, as of C."),
    _t("marts.employment_outcomes_by_group", ["marts.employment_figures"],
       "Headline employment outcomes by wave, SMI, gender and age group, as of C."),
    _t("marts.employment_outcomes_quarterly", ["core.quarters", "marts.employment_figures"],
       "Headline employment outcomes as if each quarter end were the cut-off."),
    _t("marts.employment_rate_by_quarter", ["core.quarters", "core.client_quarters"],
       "The international quarterly employment rate per county and ALL."),
    _t("marts.client_scores", ["staging.survey_responses", "staging.study_population", "ref.scores"],
       "Client x wave: client-reported scores of the latest response."),
    _t("marts.fidelity", ["core.fidelity_reviews"], "Fidelity review: total and category."),
    _t("marts.fidelity_current", ["core.fidelity_asof"], "Each county's latest fidelity review by C."),
    _t("marts.register_outcomes", ["core.register_persons", "core.register_month_sets", "staging.earnings"],
       "Register cohort person: employed months, earnings and benefit months around the index date."),
    _t("marts.state_sequences", ["core.register_month_sets", "ref.states"],
       "View: register person x relative month, one state per month by priority."),
)

OUTCOME_TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in OUTCOME_TABLES)
_BY_NAME: dict[str, OutcomeTable] = {t.name: t for t in OUTCOME_TABLES}


def outcome_table(name: str) -> OutcomeTable:
    """The entry of `OUTCOME_TABLES` called `name` ('core.x' or 'core/x')."""
    key = name.replace("/", ".")
    if key not in _BY_NAME:
        raise KeyError(f"no outcome table {name!r}; known: {', '.join(OUTCOME_TABLE_NAMES)}")
    return _BY_NAME[key]


def as_cutoff(cutoff: dt.date | dt.datetime | str) -> dt.date:
    """The cut-off as a date (accepts a date, a datetime or an ISO string)."""
    if isinstance(cutoff, dt.datetime):
        return cutoff.date()
    if isinstance(cutoff, dt.date):
        return cutoff
    return dt.date.fromisoformat(str(cutoff))


def build_outcome_table(con: duckdb.DuckDBPyConnection, name: str, cutoff) -> None:
    """Build one outcome table (its inputs must exist): what one Dagster asset does."""
    table = outcome_table(name)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
    _drop_if_other_kind(con, table)
    load_macros(con)  # temporary macros (month sets): once per connection, and cheap
    try:
        run_sql(con, table.sql_name, cutoff=as_cutoff(cutoff))
    except duckdb.Error as exc:
        exc.add_note(f"while building {table.name} from sql/{table.sql_name}.sql")
        raise


_CREATES = re.compile(r"CREATE\s+OR\s+REPLACE\s+(TABLE|VIEW)\b", re.IGNORECASE)


def _drop_if_other_kind(con: duckdb.DuckDBPyConnection, table: OutcomeTable) -> None:
    """A run that starts from a copy of the published warehouse may find a table where its SQL
    now makes a view (or the reverse); CREATE OR REPLACE cannot change the kind, so drop it."""
    made = _CREATES.search(sql_text(table.sql_name))
    if made is None:
        return
    wanted = "VIEW" if made.group(1).upper() == "VIEW" else "BASE TABLE"
    row = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [table.schema, table.table],
    ).fetchone()
    if row is not None and row[0] != wanted:
        con.execute(f"DROP {'VIEW' if row[0] == 'VIEW' else 'TABLE'} {table.name}")


def build_outcomes(
    con: duckdb.DuckDBPyConnection, cutoff, only: Iterable[str] | None = None
) -> list[str]:
    """Build every outcome table (or those named in `only`) in dependency order; return their names."""
    wanted = None if only is None else {outcome_table(n).name for n in only}
    built = []
    for table in OUTCOME_TABLES:
        if wanted is None or table.name in wanted:
            build_outcome_table(con, table.name, cutoff)
            built.append(table.name)
    return built


_TABLE_REF = re.compile(r"\b(staging|ref|core|marts)\.([a-z_][a-z0-9_]*)\b")


def sql_dependencies(name: str) -> set[str]:
    """The tables an outcome table's SQL reads, parsed from its text (to test `depends_on`)."""
    table = outcome_table(name)
    text = "\n".join(line.split("--", 1)[0] for line in sql_text(table.sql_name).splitlines())
    found = {f"{s}.{t}" for s, t in _TABLE_REF.findall(text)}
    found.discard(table.name)
    return found
