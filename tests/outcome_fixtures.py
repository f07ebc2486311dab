"""Small warehouses for the outcome tests.

Two ways to get the `staging` tables the outcome SQL reads:

* `staging_warehouse(cutoff, clients=[...], jobs=[...], ...)`: an in-memory DuckDB with the
  `ref` tables (from `ips_eval.definitions.reference_tables()`) and `staging` tables created
  directly from Python lists of dicts, with the column names and types of docs/warehouse.md.
  `staging.study_population` and `staging.register_population` are derived here by a small,
  independent rendering of ANALYSIS_PLAN "Who is counted" (they are staging's job; this only
  stands in for it). Other staging tables are taken as given (e.g. register spells are NOT
  merged, which the outcome SQL must tolerate).
* `delivery(tmp_path, clients=[...], ...)`: the same rows written as a delivery in the
  docs/exports.md format (`;`, d.m.yyyy, K/E), for `load_delivery` + `build_staging`, used by the
  end-to-end tests when `ips_eval.warehouse.staging` exists.

Dates in the dicts are ISO strings ('2024-01-31') or `datetime.date`s.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pandas as pd

from ips_eval.definitions import reference_tables
from ips_eval.warehouse.tables import build_outcomes

Row = dict[str, Any]

SURVEY_ITEMS: tuple[str, ...] = (
    ("tyokyky",)
    + tuple(f"swemwbs_{i}" for i in range(1, 8))
    + tuple(f"eurohis_{i}" for i in range(1, 9))
    + tuple(f"osallisuus_{i}" for i in range(1, 9))
    + tuple(f"pystyvyys_{i}" for i in range(1, 11))
    + ("tyohonpaluu",)
)
#: The client surveys' later items (optional columns of docs/exports.md; staging holds them).
LATER_ITEMS: tuple[str, ...] = (
    tuple(f"stigma_{i}" for i in range(1, 11))
    + ("tyytyvaisyys", "tuki_oikea_aikainen", "tuki_kesto", "luottamus_valmentaja")
    + tuple(f"koettu_{i}" for i in range(1, 9))
)
FIDELITY_ITEMS: tuple[str, ...] = tuple(f"k{i:02d}" for i in range(1, 26))

#: staging table -> (column, DuckDB type, default). Columns of docs/warehouse.md.
STAGING_COLUMNS: dict[str, list[tuple[str, str, Any]]] = {
    "clients": [
        ("person_id", "VARCHAR", None), ("alue", "VARCHAR", "Kainuu"), ("aalto", "VARCHAR", "2"),
        ("tiimi", "VARCHAR", None), ("valmentaja", "VARCHAR", None), ("lahetepvm", "DATE", None),
        ("aloituspvm", "DATE", None), ("lopetuspvm", "DATE", None), ("lopetussyy", "VARCHAR", None),
        ("syntymavuosi", "INTEGER", 1985), ("sukupuoli", "VARCHAR", "2"), ("koulutus", "VARCHAR", "3"),
        ("tyohistoria", "VARCHAR", "1"), ("dg", "VARCHAR", "F20.0"),
        ("tutkimussuostumus", "DATE", "@aloituspvm"),  # default: consent on the IPS start day
        ("rekisterisuostumus", "BOOLEAN", True), ("suostumus_peruttu", "DATE", None),
        ("paivitetty", "TIMESTAMP", "2020-01-01 12:00"),
    ],
    "jobs": [
        ("person_id", "VARCHAR", None), ("tyyppi", "VARCHAR", "tyo"), ("tyonantaja", "VARCHAR", "EMP1"),
        ("avoimet_markkinat", "BOOLEAN", True), ("palkkatuki", "BOOLEAN", False),
        ("alkupvm", "DATE", None), ("loppupvm", "DATE", None), ("tunnit_viikossa", "DOUBLE", None),
        ("ammatti", "VARCHAR", None), ("paivitetty", "TIMESTAMP", "2020-01-01 12:00"),
    ],
    "survey_responses": [("person_id", "VARCHAR", None), ("wave", "VARCHAR", "baseline"),
                         ("vastauspvm", "DATE", None)]
    + [(item, "INTEGER", None) for item in SURVEY_ITEMS + LATER_ITEMS],
    "coach_survey": [
        ("person_id", "VARCHAR", None), ("vastauspvm", "DATE", None), ("valmentaja", "VARCHAR", "V1"),
        ("luottamus", "INTEGER", None), ("yhteistyo_hoitotaho", "INTEGER", None),
        ("ens_tyonantajakontakti", "DATE", None), ("tyonantajakontaktit", "INTEGER", None),
        ("tapaamiset", "INTEGER", None), ("tyopaikkatuki", "BOOLEAN", None), ("etuusneuvonta", "BOOLEAN", None),
    ] + [(f"hyoty_{i}", "INTEGER", None) for i in range(1, 9)]
    + [("paivitetty", "TIMESTAMP", "2020-01-01 12:00")],
    "care_staff_survey": [
        ("vastaustunnus", "VARCHAR", None), ("alue", "VARCHAR", "Kainuu"), ("kierros", "VARCHAR", "alku"),
        ("vastauspvm", "DATE", None), ("ammattiryhma", "VARCHAR", None),
    ] + [(f"toipumis_{i}", "INTEGER", None) for i in range(1, 9)]
    + [(f"tyo_{i}", "INTEGER", None) for i in range(1, 5)]
    + [("yhteistyo_valmentaja", "INTEGER", None), ("ips_osaksi_hoitoa", "BOOLEAN", None),
       ("paivitetty", "TIMESTAMP", "2020-01-01 12:00")],
    "employer_survey": [
        ("vastaustunnus", "VARCHAR", None), ("alue", "VARCHAR", "Kainuu"), ("vastauspvm", "DATE", None),
        ("toimiala", "VARCHAR", None), ("koko", "VARCHAR", None), ("sektori", "VARCHAR", None),
        ("tyytyvaisyys", "INTEGER", None), ("tuki_tyoyhteisolle", "INTEGER", None), ("tyontekija", "INTEGER", None),
        ("palkkaisi_uudelleen", "BOOLEAN", None), ("paivitetty", "TIMESTAMP", "2020-01-01 12:00"),
    ],
    "fidelity_reviews": [("alue", "VARCHAR", "Kainuu"), ("arviointipvm", "DATE", None),
                         ("arvioija", "VARCHAR", "R1")]
    + [(item, "INTEGER", 3) for item in FIDELITY_ITEMS],
    "register_cohort": [  # input of the fixture's register_population
        ("person_id", "VARCHAR", None), ("ips", "INTEGER", 0), ("alue", "VARCHAR", "Kainuu"),
        ("syntymavuosi", "INTEGER", 1985), ("sukupuoli", "VARCHAR", "2"), ("koulutus", "VARCHAR", "3"),
        ("dg", "VARCHAR", "F20.0"), ("indeksipvm", "DATE", None),
    ],
    "employment_spells": [("person_id", "VARCHAR", None), ("start_date", "DATE", None), ("end_date", "DATE", None)],
    "pay_subsidy_spells": [("person_id", "VARCHAR", None), ("start_date", "DATE", None), ("end_date", "DATE", None)],
    "benefit_spells": [("person_id", "VARCHAR", None), ("etuus", "VARCHAR", None),
                       ("benefit_group", "VARCHAR", None), ("start_date", "DATE", None), ("end_date", "DATE", None)],
    "psychiatric_care": [("person_id", "VARCHAR", None), ("hoitomuoto", "VARCHAR", "osasto"),
                         ("start_date", "DATE", None), ("end_date", "DATE", None), ("dg", "VARCHAR", None)],
    "earnings": [("person_id", "VARCHAR", None), ("month", "DATE", None), ("ansiot_eur", "DOUBLE", None)],
    "costs": [("alue", "VARCHAR", "Kainuu"), ("vuosi", "INTEGER", None), ("kustannuslaji", "VARCHAR", "henkilosto"),
              ("euroa", "DOUBLE", None), ("htv", "DOUBLE", None), ("paivitetty", "TIMESTAMP", "2020-01-01 12:00")],
}

#: Register staging tables, which carry the person_key of staging.register_population; staging
#: keeps only persons of the register population (and so does `_add_person_keys`).
REGISTER_STAGING = ("employment_spells", "pay_subsidy_spells", "benefit_spells", "psychiatric_care", "earnings")


def _frame(table: str, rows: Iterable[Row]) -> pd.DataFrame:
    spec = STAGING_COLUMNS[table]
    names = {c for c, _, _ in spec}
    out = []
    for row in rows:
        unknown = set(row) - names
        if unknown:
            raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
        full = {}
        for col, _, default in spec:
            value = row.get(col, default)
            if isinstance(value, str) and value.startswith("@"):
                value = row.get(value[1:])
            full[col] = value
        out.append(full)
    return pd.DataFrame(out, columns=[c for c, _, _ in spec], dtype=object)


def _create(con: duckdb.DuckDBPyConnection, qualified: str, table: str, rows: Iterable[Row]) -> None:
    spec = STAGING_COLUMNS[table]
    con.execute(f"CREATE OR REPLACE TABLE {qualified} ({', '.join(f'{c} {t}' for c, t, _ in spec)})")
    frame = _frame(table, rows)
    if len(frame):
        con.register("_fixture_rows", frame)
        casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t, _ in spec)
        con.execute(f"INSERT INTO {qualified} SELECT {casts} FROM _fixture_rows")
        con.unregister("_fixture_rows")


def create_ref(con: duckdb.DuckDBPyConnection) -> None:
    """The ref tables a run loads (ips_eval.ingest.load): the definitions' and the code lists."""
    from ips_eval.ingest.contracts import codes_table

    con.execute("CREATE SCHEMA IF NOT EXISTS ref")
    for name, frame in {**reference_tables(), "codes": codes_table()}.items():
        con.register("_ref_frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE ref.{name} AS SELECT * FROM _ref_frame")
        con.unregister("_ref_frame")


def staging_warehouse(
    cutoff: dt.date | str,
    clients: Iterable[Row] = (),
    jobs: Iterable[Row] = (),
    surveys: Iterable[Row] = (),
    fidelity: Iterable[Row] = (),
    cohort: Iterable[Row] = (),
    employment: Iterable[Row] = (),
    pay_subsidy: Iterable[Row] = (),
    benefits: Iterable[Row] = (),
    psychiatric_care: Iterable[Row] = (),
    earnings: Iterable[Row] = (),
    costs: Iterable[Row] = (),
    coach: Iterable[Row] = (),
    care_staff: Iterable[Row] = (),
    employers: Iterable[Row] = (),
    build: bool = True,
) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with `ref` and `staging` from the rows given; outcomes built.

    The survey tables (`coach`, `care_staff`, `employers`) are taken as current versions on or
    before the cut-off, as staging leaves them."""
    cutoff = dt.date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    con = duckdb.connect()
    for schema in ("ref", "staging", "core", "marts"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    create_ref(con)
    _create(con, "staging.clients", "clients", clients)
    _create(con, "staging.jobs", "jobs", jobs)
    _create(con, "staging.survey_responses", "survey_responses", surveys)
    _create(con, "staging.fidelity_reviews", "fidelity_reviews", fidelity)
    _create(con, "staging.costs", "costs", costs)  # current versions, as staging leaves them
    _create(con, "staging.coach_survey", "coach_survey", coach)
    _create(con, "staging.care_staff_survey", "care_staff_survey", care_staff)
    _create(con, "staging.employer_survey", "employer_survey", employers)
    _create(con, "staging._cohort", "register_cohort", cohort)
    # The register rows as given, by pseudonym; _add_person_keys derives the staging tables.
    _create(con, "staging._given_employment_spells", "employment_spells", employment)
    _create(con, "staging._given_pay_subsidy_spells", "pay_subsidy_spells", pay_subsidy)
    _create(con, "staging._given_benefit_spells", "benefit_spells", benefits)
    _create(con, "staging._given_psychiatric_care", "psychiatric_care", psychiatric_care)
    _create(con, "staging._given_earnings", "earnings", earnings)
    # The populations: a stand-in for staging's rendering of "Who is counted".
    con.execute(
        """
        CREATE OR REPLACE TABLE staging.study_population AS
        SELECT c.person_id, c.alue, c.aalto, c.aloituspvm AS ips_start, c.lopetuspvm AS service_end,
               c.lopetussyy AS end_reason, c.syntymavuosi AS birth_year,
               year(c.aloituspvm) - c.syntymavuosi AS age, ag.age_group,
               c.sukupuoli AS gender, c.koulutus AS education, c.tyohistoria AS work_history, c.dg,
               CASE WHEN c.dg IS NULL THEN NULL
                    ELSE EXISTS (SELECT 1 FROM ref.smi_prefixes s
                                 WHERE starts_with(replace(c.dg, '.', ''), s.prefix)) END AS smi,
               coalesce(c.rekisterisuostumus, FALSE) AS register_consent
        FROM staging.clients c
        LEFT JOIN ref.age_groups ag ON year(c.aloituspvm) - c.syntymavuosi BETWEEN ag.min_age AND ag.max_age
        WHERE c.tutkimussuostumus <= $cutoff AND c.aloituspvm <= $cutoff
          AND (c.suostumus_peruttu IS NULL OR c.suostumus_peruttu > $cutoff)
        """,
        {"cutoff": cutoff},
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE staging.register_population AS
        SELECT r.person_id, r.ips, r.alue, r.syntymavuosi AS birth_year, r.sukupuoli AS gender,
               r.koulutus AS education, r.dg,
               EXISTS (SELECT 1 FROM ref.smi_prefixes s WHERE starts_with(replace(r.dg, '.', ''), s.prefix)) AS smi,
               r.indeksipvm AS index_date
        FROM staging._cohort r
        LEFT JOIN staging.study_population p USING (person_id)
        WHERE (r.ips = 1 AND p.register_consent) OR (r.ips = 0 AND r.indeksipvm <= $cutoff)
        """,
        {"cutoff": cutoff},
    )
    con.execute("DROP TABLE staging._cohort")
    _add_person_keys(con)
    if build:
        build_outcomes(con, cutoff)
    return con


def save_copy(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Write the in-memory warehouse `con` to the file `path`, for `open_copy`."""
    con.execute(f"ATTACH '{path}' AS saved; COPY FROM DATABASE memory TO saved; DETACH saved")
    return path


def open_copy(path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse of its own holding what `save_copy` wrote, with the macros: a
    module builds its warehouse once and hands each test that changes it a fresh copy."""
    from ips_eval.warehouse.database import load_macros

    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS saved (READ_ONLY); COPY FROM DATABASE saved TO memory; DETACH saved")
    load_macros(con)
    return con


def _add_person_keys(con: duckdb.DuckDBPyConnection) -> None:
    """What staging does: number the register population (person_key, in person_id order) and
    give the register staging tables that key, keeping only persons of the population;
    staging.earnings and staging.psychiatric_care are keyed by person_key alone."""
    con.execute(
        "CREATE OR REPLACE TABLE staging.register_population AS SELECT CAST(row_number() OVER"
        " (ORDER BY person_id) AS INTEGER) AS person_key, * FROM staging.register_population"
    )
    for table in REGISTER_STAGING:
        keep = "* EXCLUDE (person_id)" if table in ("earnings", "psychiatric_care") else "t.*"
        con.execute(
            f"CREATE OR REPLACE TABLE staging.{table} AS SELECT p.person_key, {keep}"
            f" FROM staging._given_{table} AS t JOIN staging.register_population AS p USING (person_id)"
        )


def unfiltered_register_population(con: duckdb.DuckDBPyConnection, cohort: Iterable[Row]) -> None:
    """Replace staging.register_population by the whole cohort, unfiltered (a staging bug),
    to show that core.register_persons still keeps out persons who may not be used."""
    _create(con, "staging._cohort", "register_cohort", cohort)
    con.execute(
        """
        CREATE OR REPLACE TABLE staging.register_population AS
        SELECT person_id, ips, alue, syntymavuosi AS birth_year, sukupuoli AS gender,
               koulutus AS education, dg, FALSE AS smi, indeksipvm AS index_date
        FROM staging._cohort
        """
    )
    con.execute("DROP TABLE staging._cohort")
    _add_person_keys(con)


# --------------------------------------------------------------------------------------------
# Deliveries in the docs/exports.md format (for the end-to-end tests through ingest and staging)
# --------------------------------------------------------------------------------------------

CLIENT_HEADER = [c for c, _, _ in STAGING_COLUMNS["clients"]]
JOB_HEADER = [c for c, _, _ in STAGING_COLUMNS["jobs"]]
SURVEY_HEADER = ["asiakastunnus", "vastauspvm", *SURVEY_ITEMS]
FIDELITY_HEADER = ["alue", "arviointipvm", "arvioija", *FIDELITY_ITEMS]


def _fi(value: Any) -> str:
    """A value as the Finnish office exports write it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "K" if value else "E"
    if isinstance(value, dt.datetime):
        return f"{value.day}.{value.month}.{value.year} {value.hour}:{value.minute:02d}"
    if isinstance(value, dt.date):
        return f"{value.day}.{value.month}.{value.year}"
    if isinstance(value, float):
        return str(value).replace(".", ",")
    text = str(value)
    try:  # ISO date or timestamp strings
        if len(text) == 10 and text[4] == "-":
            return _fi(dt.date.fromisoformat(text))
        if len(text) >= 16 and text[4] == "-" and text[10] in " T":
            return _fi(dt.datetime.fromisoformat(text))
    except ValueError:
        pass
    return text


def _write_fi(path: Path, header: list[str], rows: Iterable[Row], defaults: dict[str, Any]) -> None:
    lines = [";".join(header)]
    for row in rows:
        full = dict(defaults)
        full.update(row)
        values = []
        for col in header:
            value = full.get(col)
            if isinstance(value, str) and value.startswith("@"):
                value = full.get(value[1:])
            values.append(_fi(value))
        lines.append(";".join(values))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _iso(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _write_iso(path: Path, header: list[str], rows: Iterable[Row]) -> None:
    lines = [";".join(header)] + [";".join(_iso(r.get(c)) for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def delivery(
    root: Path,
    clients: Iterable[Row] = (),
    jobs: Iterable[Row] = (),
    surveys: dict[str, Iterable[Row]] | None = None,
    fidelity: Iterable[Row] = (),
    register: dict[str, Iterable[Row]] | None = None,
) -> Path:
    """Write a delivery folder: the project exports always, `register/` when given.

    `surveys` maps a wave ('baseline', 'midpoint', 'final') to response rows (item columns and
    `asiakastunnus` or `person_id`, `vastauspvm`); a value 'EOS' is written as is.
    `register` maps an extract ('cohort', 'employment', 'earnings', 'pay_subsidy', 'benefits',
    'psychiatric_care') to rows with the docs/exports.md columns (ISO dates).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    client_defaults = {c: d for c, _, d in STAGING_COLUMNS["clients"]}
    client_defaults["rekisterisuostumus"] = True
    _write_fi(root / "clients.csv", CLIENT_HEADER, clients, client_defaults)
    _write_fi(root / "jobs.csv", JOB_HEADER, jobs, {c: d for c, _, d in STAGING_COLUMNS["jobs"]})
    surveys = surveys or {}
    for wave in ("baseline", "midpoint", "final"):
        rows = [{("asiakastunnus" if k == "person_id" else k): v for k, v in r.items()} for r in surveys.get(wave, ())]
        _write_fi(root / f"survey_{wave}.csv", SURVEY_HEADER, rows, {})
    _write_fi(root / "fidelity_reviews.csv", FIDELITY_HEADER, fidelity,
              {c: d for c, _, d in STAGING_COLUMNS["fidelity_reviews"]})
    if register is not None:
        headers = {
            "cohort": ["person_id", "ips", "alue", "syntymavuosi", "sukupuoli", "koulutus", "dg", "indeksipvm"],
            "employment": ["person_id", "tyonantaja", "alkupvm", "loppupvm"],
            "earnings": ["person_id", "kuukausi", "ansiot_eur"],
            "pay_subsidy": ["person_id", "tyonantaja", "alkupvm", "loppupvm"],
            "benefits": ["person_id", "etuus", "alkupvm", "loppupvm"],
            "psychiatric_care": ["person_id", "hoitomuoto", "alkupvm", "loppupvm", "dg"],
        }
        (root / "register").mkdir(exist_ok=True)
        defaults = {"cohort": {"alue": "Kainuu", "syntymavuosi": 1985, "sukupuoli": "2", "koulutus": "3",
                               "dg": "F20.0"},
                    "employment": {"tyonantaja": "EMP1"}, "pay_subsidy": {"tyonantaja": "EMP1"}}
        for name, header in headers.items():
            rows = [{**defaults.get(name, {}), **r} for r in register.get(name, ())]
            _write_iso(root / "register" / f"{name}.csv", header, rows)
    return root


def delivered_warehouse(root: Path, cutoff: dt.date | str, **rows: Any) -> duckdb.DuckDBPyConnection:
    """Write a delivery under `root`, load it, build staging and the outcomes (end to end)."""
    from ips_eval.ingest.load import load_delivery
    from ips_eval.warehouse.tables import build_staging

    cutoff = dt.date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
    path = delivery(root, **rows)
    con = duckdb.connect()
    load_delivery(con, path, cutoff)
    build_staging(con, cutoff)
    build_outcomes(con, cutoff)
    return con
