"""Checks of the outcome tables that relate columns, rows or tables: each queries the
warehouse and returns its violations.

An empty list means the check passed. They back blocking Dagster asset checks, so each one
must be able to fail: tests/test_outcomes_checks.py corrupts a table and sees it fail. The
facts of one column (no NULL count, no negative count, every rate in [0, 1], a key that is
unique) are declared in the tables' contracts (`sql/<schema>/<table>.yml`,
ips_eval.warehouse.table_contracts) and checked by the table assets themselves.

    numerators_within_denominators  no numerator above its denominator (employment marts)
    rates_are_their_ratios          every rate NULL exactly when its denominator is 0, and
                                    equal to numerator / denominator
    population_exactly_once         every study-population client exactly once in core.client_outcomes
                                    (and no one else), and ALL n_clients = the study population
    no_withdrawn_or_nonconsenting   no person without research consent on or before C, or with a
                                    withdrawal on or before C, in any core/marts table (against
                                    staging.clients); register tables: IPS persons also need
                                    register consent
    counties_sum_to_all             county rows add up to the ALL row for every count; each breakdown
                                    adds up to its row; a wave is the sum of its counties
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import duckdb

from ips_eval.figures import (
    ALL, AREA, COSTS_IN_HEADLINE, COSTS_WITHIN, HEADLINE_RATES, HEADLINE_WITHIN, QUARTER_IN_HEADLINE, QUARTERLY_RATES,
    QUARTERLY_WITHIN, SUMS, WAVE, wave_counties, within_columns,
)
from ips_eval.warehouse.database import table_exists

#: Most violations listed per check (a summary line tells how many more there were).
MAX_LISTED = 50

#: (table, the columns that identify a row) of the employment marts with the headline figures.
EMPLOYMENT_MARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("marts.employment_outcomes", ("alue",)),
    ("marts.employment_outcomes_by_group", ("alue", "grouping", "group_value")),
    ("marts.employment_outcomes_quarterly", ("alue", "quarter")),
)
RATE_BY_QUARTER = ("marts.employment_rate_by_quarter", ("alue", "quarter"))

#: rate column -> (numerator, denominator), from the one place they are defined
RATE_BY_QUARTER_RATES = QUARTERLY_RATES
HEADLINE_TABLE = "marts.employment_outcomes"
BY_GROUP = "marts.employment_outcomes_by_group"

Violations = list[str]


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    schema, table = qualified.split(".", 1)
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
            " ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def _key_text(keys: tuple[str, ...]) -> str:
    return " || ' ' || ".join(f"'{k}=' || coalesce(CAST({k} AS VARCHAR), 'NULL')" for k in keys)


def _capped(violations: Violations) -> Violations:
    if len(violations) <= MAX_LISTED:
        return violations
    return violations[:MAX_LISTED] + [f"... and {len(violations) - MAX_LISTED} more"]


def _missing_table(qualified: str) -> str:
    return f"{qualified}: table is missing"


def _cutoff(con: duckdb.DuckDBPyConnection, cutoff) -> dt.date:
    if cutoff is not None:
        return cutoff if isinstance(cutoff, dt.date) else dt.date.fromisoformat(str(cutoff))
    row = con.execute("SELECT as_of FROM core.evaluation_dates WHERE is_cutoff").fetchone()
    if row is None:
        raise ValueError("no cut-off given and none recorded in core.evaluation_dates")
    return row[0]


# ---------------------------------------------------------------------------------------------


def numerators_within_denominators(con: duckdb.DuckDBPyConnection) -> Violations:
    """No numerator above its denominator in the employment marts: every
    `Within` relation of `ips_eval.figures` whose columns the table has, and each county's
    quarterly counts within its headline counts. (That a count is not NULL nor negative is a
    column fact of the tables' contracts.)"""
    out: Violations = []
    targets = [(t, k, HEADLINE_WITHIN) for t, k in EMPLOYMENT_MARTS] + [(*RATE_BY_QUARTER, QUARTERLY_WITHIN)]
    for table, keys, relations in targets:
        if not table_exists(con, table):
            out.append(_missing_table(table))
            continue
        columns = _columns(con, table)
        for w in within_columns(relations, columns):
            rows = con.execute(
                f"SELECT {_key_text(keys)}, {', '.join(w.columns)} FROM {table} WHERE NOT ({w.sql()})"
            ).fetchall()
            out += [f"{table} [{r[0]}]: {w} fails ({', '.join(f'{c} = {v}' for c, v in zip(w.columns, r[1:]))})"
                    for r in rows]
    out += _quarters_within_headline(con)
    out += _costs_within_headline(con)
    return _capped(out)


def _costs_within_headline(con: duckdb.DuckDBPyConnection) -> Violations:
    """marts.costs (when built): its counts nest (`COSTS_WITHIN`), and a county's counts over
    all years are at most its headline counts (`COSTS_IN_HEADLINE`)."""
    costs, headline = "marts.costs", HEADLINE_TABLE
    if not (table_exists(con, costs) and table_exists(con, headline)):
        return []
    out: Violations = []
    for w in COSTS_WITHIN:
        rows = con.execute(f"SELECT {AREA}, vuosi, {', '.join(w.columns)} FROM {costs} WHERE NOT ({w.sql()})"
                           " ORDER BY 1, 2").fetchall()
        out += [f"{costs} [{AREA}={a} vuosi={y}]: {w} fails ({v})" for a, y, *v in rows]
    for w in COSTS_IN_HEADLINE:
        rows = con.execute(
            f"SELECT c.{AREA}, {', '.join('c.' + p for p in w.parts)}, h.{w.whole} FROM {costs} c "
            f"JOIN {headline} h USING ({AREA}) WHERE c.vuosi = '{ALL}' AND NOT ({w.sql('c.', 'h.')}) ORDER BY 1"
        ).fetchall()
        out += [f"{costs} [{AREA}={a} vuosi={ALL}]: {w} of {headline} fails ({' + '.join(map(str, v[:-1]))} > {v[-1]})"
                for a, *v in rows]
    return out


def _quarters_within_headline(con: duckdb.DuckDBPyConnection) -> Violations:
    quarterly, headline = RATE_BY_QUARTER[0], HEADLINE_TABLE
    if not (table_exists(con, quarterly) and table_exists(con, headline)):
        return []
    out: Violations = []
    for w in QUARTER_IN_HEADLINE:
        rows = con.execute(
            f"SELECT q.{AREA}, q.quarter, {', '.join('q.' + p for p in w.parts)}, h.{w.whole} "
            f"FROM {quarterly} q JOIN {headline} h USING ({AREA}) WHERE NOT ({w.sql('q.', 'h.')}) "
            f"ORDER BY 1, 2"
        ).fetchall()
        out += [f"{quarterly} [{AREA}={a} quarter={q}]: quarterly {w} of {headline} fails "
                f"({' + '.join(map(str, v[:-1]))} > {v[-1]})" for a, q, *v in rows]
    return out


def rates_are_their_ratios(con: duckdb.DuckDBPyConnection) -> Violations:
    """Every rate NULL exactly when its denominator is 0, and = numerator / denominator (the
    rates of `ips_eval.definitions`; that a rate lies in [0, 1] is a column fact of the
    tables' contracts)."""
    out: Violations = []
    targets = [(t, k, HEADLINE_RATES) for t, k in EMPLOYMENT_MARTS] + [(*RATE_BY_QUARTER, RATE_BY_QUARTER_RATES)]
    for table, keys, rates in targets:
        if not table_exists(con, table):
            out.append(_missing_table(table))
            continue
        columns = set(_columns(con, table))
        for rate, (num, den) in rates.items():
            if rate not in columns:
                out.append(f"{table}: rate column {rate} is missing")
                continue
            rows = con.execute(
                f"""
                SELECT {_key_text(keys)}, {rate}, {num}, {den},
                       CASE
                           WHEN isnan({rate}) THEN 'not a number'
                           WHEN {den} = 0 AND {rate} IS NOT NULL THEN 'set although the denominator is 0'
                           WHEN {den} > 0 AND {rate} IS NULL THEN 'missing although the denominator is > 0'
                           WHEN abs({rate} - {num} / {den}) > 1e-12 THEN 'not numerator / denominator'
                       END AS problem
                FROM {table}
                WHERE problem IS NOT NULL
                """
            ).fetchall()
            out += [f"{table} [{k}]: {rate} = {r} ({num} = {n}, {den} = {d}): {p}" for k, r, n, d, p in rows]
    return _capped(out)


def population_exactly_once(con: duckdb.DuckDBPyConnection) -> Violations:
    """Every study-population client exactly once in core.client_outcomes, and no one else."""
    for table in ("staging.study_population", "core.client_outcomes"):
        if not table_exists(con, table):
            return [_missing_table(table)]
    rows = con.execute(
        """
        WITH population AS (SELECT person_id, count(*) AS n FROM staging.study_population GROUP BY person_id),
             outcomes AS (SELECT person_id, count(*) AS n FROM core.client_outcomes GROUP BY person_id)
        SELECT person_id, coalesce(p.n, 0) AS in_population, coalesce(o.n, 0) AS in_outcomes
        FROM population AS p FULL OUTER JOIN outcomes AS o USING (person_id)
        WHERE coalesce(o.n, 0) <> 1 OR coalesce(p.n, 0) <> 1
        ORDER BY person_id
        """
    ).fetchall()
    out = [
        f"core.client_outcomes: person {pid} appears {o} times (in staging.study_population {p} times)"
        for pid, p, o in rows
    ]
    if table_exists(con, "marts.employment_outcomes"):
        row = con.execute(
            "SELECT (SELECT n_clients FROM marts.employment_outcomes WHERE alue = 'ALL'),"
            " (SELECT count(DISTINCT person_id) FROM staging.study_population)"
        ).fetchone()
        if row[0] != row[1]:
            out.append(f"marts.employment_outcomes: ALL n_clients = {row[0]}, study population = {row[1]}")
    return _capped(out)


def _person_tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(qualified table, has an `ips` column) for every table of `schemas` with a person_id.

    Stored tables only: a view (core.register_months, marts.state_sequences) shows the persons of
    the tables it reads, which are checked themselves, and expanding it would cost ~10 M rows.
    """
    rows = con.execute(
        f"""
        SELECT table_schema || '.' || table_name,
               bool_or(column_name = 'ips')
        FROM information_schema.columns
        JOIN information_schema.tables USING (table_catalog, table_schema, table_name)
        WHERE table_schema IN ({", ".join("?" for _ in schemas)}) AND table_type = 'BASE TABLE'
        GROUP BY table_schema, table_name
        HAVING bool_or(column_name = 'person_id')
        ORDER BY 1
        """,
        list(schemas),
    ).fetchall()
    return [(t, bool(ips)) for t, ips in rows]


def no_withdrawn_or_nonconsenting(
    con: duckdb.DuckDBPyConnection, cutoff=None, schemas: tuple[str, ...] = ("core", "marts")
) -> Violations:
    """No person without research consent on or before C, or who withdrew on or before C,
    in any table of `schemas` with a person_id (checked against staging.clients).

    Tables without an `ips` column hold clients only: their every person must be a consenting,
    non-withdrawn client. Register tables (with `ips`): an IPS person (ips = 1) must be such a
    client and have register consent (rekisterisuostumus K); a comparison person (ips = 0) must
    not be a client of clients.csv at all.
    """
    if not table_exists(con, "staging.clients"):
        return [_missing_table("staging.clients")]
    c = _cutoff(con, cutoff)
    out: Violations = []
    for table, has_ips in _person_tables(con, schemas):
        ips = "t.ips" if has_ips else "1"
        rows = con.execute(
            f"""
            SELECT DISTINCT t.person_id,
                   CASE
                       WHEN {ips} = 0 AND c.person_id IS NOT NULL THEN 'a client of clients.csv as a comparison person'
                       WHEN {ips} = 0 THEN NULL
                       WHEN c.person_id IS NULL THEN 'not a client of clients.csv'
                       WHEN c.tutkimussuostumus IS NULL THEN 'no research consent'
                       WHEN c.tutkimussuostumus > $cutoff THEN 'research consent after the cut-off'
                       WHEN c.suostumus_peruttu <= $cutoff THEN 'consent withdrawn on ' || c.suostumus_peruttu
                       WHEN {"TRUE" if has_ips else "FALSE"} AND c.rekisterisuostumus IS NOT TRUE
                           THEN 'no register consent'
                   END AS problem
            FROM {table} AS t
            LEFT JOIN staging.clients AS c USING (person_id)
            WHERE problem IS NOT NULL
            ORDER BY t.person_id
            """,
            {"cutoff": c},
        ).fetchall()
        out += [f"{table}: person {pid}: {problem}" for pid, problem in rows]
    return _capped(out)


def counties_sum_to_all(con: duckdb.DuckDBPyConnection) -> Violations:
    """The additive relations of `ips_eval.figures.SUMS`, for every count column: the county
    rows add up to the ALL row (per group / quarter); each breakdown's values add up to the
    row of marts.employment_outcomes they break down; a wave's ALL row is the sum of the
    headline rows of the counties that form it."""
    out: Violations = []
    for table, keys in [*EMPLOYMENT_MARTS, RATE_BY_QUARTER]:
        if not table_exists(con, table):
            out.append(_missing_table(table))
            continue
        counts = [c for c in _columns(con, table) if c.startswith("n_")]
        within = [k for k in keys if k != "alue"]
        group_by = ", ".join(within) if within else "()"
        select_within = ", ".join(within) + ", " if within else ""
        label = _key_text(tuple(within)) if within else "'all rows'"
        sums = ", ".join(
            f"sum({c}) FILTER (WHERE alue <> 'ALL') AS county_{c}, sum({c}) FILTER (WHERE alue = 'ALL') AS all_{c},"
            f" count(*) FILTER (WHERE alue = 'ALL') AS all_rows_{c}"
            for c in counts
        )
        frame = con.execute(f"SELECT {select_within}{label} AS cell, {sums} FROM {table} GROUP BY {group_by}").df()
        for _, r in frame.iterrows():
            for col in counts:
                county, total, all_rows = r[f"county_{col}"], r[f"all_{col}"], r[f"all_rows_{col}"]
                county = 0 if county != county or county is None else int(county)  # NaN: no county rows
                if all_rows != 1:
                    out.append(f"{table} [{r['cell']}]: {all_rows} ALL rows (expected 1)")
                    break
                if county != int(total):
                    out.append(f"{table} [{r['cell']}]: {col}: counties sum to {county}, ALL = {int(total)}")
    out += _breakdowns_sum_to_all(con) + _waves_are_sums_of_counties(con)
    return _capped(out)


def _shared_counts(con, *tables: str) -> list[str]:
    common = [c for c in _columns(con, tables[0]) if c.startswith("n_")]
    for t in tables[1:]:
        have = set(_columns(con, t))
        common = [c for c in common if c in have]
    return common


def _breakdowns_sum_to_all(con: duckdb.DuckDBPyConnection) -> Violations:
    if not (table_exists(con, BY_GROUP) and table_exists(con, HEADLINE_TABLE)):
        return []
    counts = _shared_counts(con, BY_GROUP, HEADLINE_TABLE)
    out: Violations = []
    for col in counts:
        rows = con.execute(
            f"SELECT g.{AREA}, g.grouping, sum(g.{col}), any_value(h.{col}) FROM {BY_GROUP} g "
            f"JOIN {HEADLINE_TABLE} h USING ({AREA}) GROUP BY g.{AREA}, g.grouping "
            f"HAVING sum(g.{col}) <> any_value(h.{col}) ORDER BY 1, 2"
        ).fetchall()
        out += [f"{BY_GROUP} [{AREA}={a} grouping={g}]: {col}: the values sum to {v}, "
                f"{HEADLINE_TABLE} has {t} ({SUMS['breakdowns_sum_to_all']})" for a, g, v, t in rows]
    return out


def _waves_are_sums_of_counties(con: duckdb.DuckDBPyConnection) -> Violations:
    if not (table_exists(con, BY_GROUP) and table_exists(con, HEADLINE_TABLE)):
        return []
    membership = con.execute(
        f"SELECT {AREA}, group_value, n_clients FROM {BY_GROUP} WHERE grouping = ? AND {AREA} <> ?", [WAVE, ALL]
    ).fetchall()
    counts = _shared_counts(con, BY_GROUP, HEADLINE_TABLE)
    headline = con.execute(f"SELECT {AREA}, {', '.join(counts)} FROM {HEADLINE_TABLE}").df().set_index(AREA)
    waves = con.execute(
        f"SELECT group_value, {', '.join(counts)} FROM {BY_GROUP} WHERE grouping = ? AND {AREA} = ?", [WAVE, ALL]
    ).df().set_index("group_value")
    out: Violations = []
    for wave, counties in wave_counties(membership).items():
        if wave not in waves.index:
            continue
        for col in counts:
            total = int(headline.loc[list(counties), col].sum()) if counties else 0
            if total != int(waves.at[wave, col]):
                out.append(f"{BY_GROUP} [{AREA}={ALL} wave={wave}]: {col} = {int(waves.at[wave, col])}, its "
                           f"counties ({', '.join(counties) or 'none'}) sum to {total} "
                           f"({SUMS['wave_is_sum_of_its_counties']})")
    return out


#: name -> check; the Dagster asset checks are generated from this.
CHECKS: dict[str, Callable[..., Violations]] = {
    "numerators_within_denominators": numerators_within_denominators,
    "rates_are_their_ratios": rates_are_their_ratios,
    "population_exactly_once": population_exactly_once,
    "no_withdrawn_or_nonconsenting": no_withdrawn_or_nonconsenting,
    "counties_sum_to_all": counties_sum_to_all,
}

#: name -> the outcome tables each check reads (for attaching asset checks to assets).
CHECKED_TABLES: dict[str, tuple[str, ...]] = {
    "numerators_within_denominators": tuple(t for t, _ in EMPLOYMENT_MARTS) + (RATE_BY_QUARTER[0], "marts.costs"),
    "rates_are_their_ratios": tuple(t for t, _ in EMPLOYMENT_MARTS) + (RATE_BY_QUARTER[0],),
    "population_exactly_once": ("core.client_outcomes", "marts.employment_outcomes"),
    "no_withdrawn_or_nonconsenting": ("marts.*", "core.*"),
    "counties_sum_to_all": tuple(t for t, _ in EMPLOYMENT_MARTS) + (RATE_BY_QUARTER[0],),
}


def run_checks(con: duckdb.DuckDBPyConnection, cutoff=None) -> dict[str, Violations]:
    """Every check; {name: violations}. All passed when every list is empty."""
    results = {}
    for name, check in CHECKS.items():
        results[name] = check(con, cutoff) if name == "no_withdrawn_or_nonconsenting" else check(con)
    return results
