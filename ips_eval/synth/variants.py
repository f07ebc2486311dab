"""Variants of the synthetic study built from its warehouse: the same people, other shapes.

Why from the warehouse and not from `SynthConfig`: the delivery's counties are checked
against the code list of the 22 real counties (data_contracts/codes.yaml), so a study with
three times as many counties cannot be delivered; it can be made by moving clients between
counties in the staging tables of a copy of the warehouse and rebuilding what is
downstream, which keeps every relation between the figures true (they are counted again
from the moved clients).

    import duckdb, shutil
    shutil.copy(warehouse, variant)
    with duckdb.connect(str(variant)) as con:
        split_counties(con, cutoff)   # 11 counties -> 33, each about a third as large

The disclosure-control benchmark and the attacker test use it: many small counties are
what makes complementary suppression hard.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

import duckdb

from ips_eval import SITE_QUERIES_DIR
from ips_eval.warehouse.lineage import tables_read
from ips_eval.warehouse.tables import build_tables, sql_table, sql_tables, upstream_tables

def site_marts() -> tuple[str, ...]:
    """The marts the website's queries read (sql/site/), as their SQL says, except those built
    from the models' outputs (`SqlTable.model_inputs`: built after the models, see
    `build_after_models`; rebuilding them needs a fitted warehouse)."""
    built = {t.name: t for t in sql_tables()}
    read = {t for q in SITE_QUERIES_DIR.glob("*.sql") for t in tables_read(q.read_text(encoding="utf-8"))}
    return tuple(sorted(t for t in read if t.startswith("marts.") and t in built and not built[t].model_inputs))

#: Staging tables rewritten by `split_counties` (everything else downstream is rebuilt).
_MOVED = ("staging.clients", "staging.costs", "staging.fidelity_reviews")


def part_name(county: str, part: int) -> str:
    """The name of a county's `part`-th share (0 keeps the county's name). Letters, not
    digits: a digit in a county's name would read as a count on the page.

    Examples
    --------
    >>> [part_name("Kainuu", p) for p in range(3)]
    ['Kainuu', 'Kainuu B', 'Kainuu C']
    """
    return county if part == 0 else f"{county} {chr(ord('A') + part)}"


def split_counties(con: duckdb.DuckDBPyConnection, cutoff: dt.date, parts: int = 3,
                   marts: Iterable[str] | None = None) -> list[str]:
    """Split every county of the warehouse behind `con` into `parts` counties and rebuild
    `marts` (by default the marts the website reads, `site_marts`) and the core and staging
    tables between them and the clients.

    Each county's clients are dealt out in turn by pseudonym order (the k-th client to part
    k mod `parts`), so the parts' client lists differ in length by at most one (the counted
    populations a little more: not every client counts) and the split is the same on every
    run. A client keeps everything else (wave, dates, jobs). Each part gets
    the county's fidelity reviews and an equal share of its costs (euros and coach
    full-time equivalents divided by `parts`). Returns the tables rebuilt. Run it on a
    copy: the warehouse is changed in place.

    Examples
    --------
    >>> con = duckdb.connect()  # doctest: +SKIP
    >>> split_counties(con, dt.date(2024, 12, 31))  # doctest: +SKIP
    """
    if parts < 1:
        raise ValueError("parts must be at least 1")
    names = " ".join(f"WHEN {p} THEN alue || ' {chr(ord('A') + p)}'" for p in range(1, parts))
    rename = f"CASE part {names} ELSE alue END" if parts > 1 else "alue"
    con.execute(f"""
        CREATE OR REPLACE TABLE staging.clients AS
        SELECT * EXCLUDE (part) REPLACE ({rename} AS alue)
        FROM (SELECT *, (row_number() OVER (PARTITION BY alue ORDER BY person_id) - 1) % {parts} AS part
              FROM staging.clients)
        ORDER BY person_id""")
    copies = f"(SELECT range AS part FROM range({parts}))"
    con.execute(f"""
        CREATE OR REPLACE TABLE staging.fidelity_reviews AS
        SELECT f.* REPLACE ({rename.replace('alue', 'f.alue').replace('part', 'p.part', 1)} AS alue)
        FROM staging.fidelity_reviews AS f CROSS JOIN {copies} AS p""")
    con.execute(f"""
        CREATE OR REPLACE TABLE staging.costs AS
        SELECT c.* REPLACE ({rename.replace('alue', 'c.alue').replace('part', 'p.part', 1)} AS alue,
                            c.euroa / {parts} AS euroa, c.htv / {parts} AS htv)
        FROM staging.costs AS c CROSS JOIN {copies} AS p""")
    needed: set[str] = set()
    todo = list(site_marts() if marts is None else marts)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(upstream_tables(sql_table(name)))
    return list(build_tables(con, cutoff, only=sorted(needed - set(_MOVED))))
