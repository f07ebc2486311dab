"""Do two warehouses hold the same tables? Every table's columns, rows and an order-free content hash.

    .venv/bin/python benchmarks/compare_warehouses.py A.duckdb B.duckdb [--expect models.fit_log ...]
    .venv/bin/python benchmarks/compare_warehouses.py --build main --scale 20000   # builds both first

With two warehouse files it compares them. With `--build REV` it writes one synthetic delivery
(`ips-eval synth --cohort N`), runs `ips-eval run` on it twice: once with this working tree's
code and once with the code of git revision REV (its files exported with `git archive` into a
temporary folder and run from there with the same interpreter), then compares the two.

A table's hash is the sum over its rows of DuckDB's `hash` of the whole row (so row order does
not matter and duplicated rows count). Tables that differ are listed with the columns that
differ; a float column is compared again within a relative tolerance, to tell a change of the
last bits from a change of what is computed. Tables that differ between two runs of the same
code (the run's id, time and code version) are listed in VOLATILE and reported apart; tables
named with --expect are those a change meant to alter (the note of the change lists them). The
exit status is 1 when any other table differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
CUTOFF = dt.date(2024, 12, 31)

#: Tables holding the run itself (its id, start time, code version, input fingerprint and the
#: durations), which differ between any two runs.
VOLATILE = ("audit.runs", "audit.provenance", "marts.provenance")
#: Columns that carry the run itself wherever they appear.
VOLATILE_COLUMNS = ("run_id", "code_version", "started_at", "finished_at", "built_at", "loaded_at", "seconds")


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """schema.table -> BASE TABLE or VIEW, every user table of the file."""
    rows = con.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables"
        " WHERE table_catalog = current_database() AND table_schema NOT IN ('information_schema', 'pg_catalog')"
        " ORDER BY 1, 2").fetchall()
    return {f"{s}.{t}": kind for s, t, kind in rows}


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".", 1)
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database()"
        " AND table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fingerprint(con: duckdb.DuckDBPyConnection, table: str, skip: tuple[str, ...] = ()) -> tuple[int, int]:
    """(rows, sum of the rows' hashes), the columns in `skip` left out."""
    cols = [c for c, _ in columns(con, table) if c not in skip]
    if not cols:
        return con.execute(f"SELECT count(*), 0 FROM {table}").fetchone()
    row = f"struct_pack({', '.join(f'{_q(c)} := {_q(c)}' for c in cols)})"
    return con.execute(f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM {table}").fetchone()


def column_report(a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, table: str,
                  rtol: float = 1e-9) -> list[str]:
    """Which columns differ (each hashed alone), and for floats whether they agree within `rtol` in order."""
    out = []
    types = dict(columns(a, table))
    for col, typ in columns(a, table):
        q = f"SELECT coalesce(sum(hash({_q(col)})::HUGEINT), 0) FROM {table}"
        if a.execute(q).fetchone() == b.execute(q).fetchone():
            continue
        note = ""
        if types[col] in ("DOUBLE", "FLOAT", "REAL"):
            qa = f"SELECT {_q(col)} FROM {table} ORDER BY {_q(col)} NULLS LAST"
            xa = [r[0] for r in a.execute(qa).fetchall()]
            xb = [r[0] for r in b.execute(qa).fetchall()]
            if len(xa) == len(xb) and all((x is None and y is None) or (x is not None and y is not None and (
                    x == y or abs(x - y) <= rtol * max(abs(x), abs(y)))) for x, y in zip(xa, xb)):
                note = f" (equal within a relative {rtol:g}: the last bits)"
        out.append(f"{col}{note}")
    return out


def compare(path_a: Path, path_b: Path, expect: tuple[str, ...] = ()) -> dict:
    """Every table of A against B: same, differs (with columns), or only in one of them."""
    with duckdb.connect(str(path_a), read_only=True) as a, duckdb.connect(str(path_b), read_only=True) as b:
        ta, tb = tables(a), tables(b)
        report = {"same": [], "differs": {}, "volatile": {}, "expected": {}, "only_a": sorted(set(ta) - set(tb)),
                  "only_b": sorted(set(tb) - set(ta))}
        for table in sorted(set(ta) & set(tb)):
            if columns(a, table) != columns(b, table):
                where = report["expected" if table in expect else "differs"]
                where[table] = [f"columns: {columns(a, table)} vs {columns(b, table)}"]
                continue
            skip = VOLATILE_COLUMNS
            if fingerprint(a, table, skip) == fingerprint(b, table, skip):
                report["same"].append(table)
                continue
            detail = column_report(a, b, table)
            rows = (a.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
                    b.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            detail.insert(0, f"rows {rows[0]} vs {rows[1]}")
            key = "volatile" if table in VOLATILE else "expected" if table in expect else "differs"
            report[key][table] = detail
    return report


def print_report(report: dict) -> None:
    print(f"same: {len(report['same'])} tables")
    for key, title in (("differs", "DIFFERENT"), ("expected", "different, as the change intends (--expect)"),
                       ("volatile", "different, as every run is (the run itself)")):
        for table, detail in report[key].items():
            print(f"{title}: {table}: {'; '.join(detail)}")
    for key in ("only_a", "only_b"):
        for table in report[key]:
            print(f"only in {key[-1].upper()}: {table}")


def _run(code_dir: Path, delivery: Path, warehouse: Path, log: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(code_dir), "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", "import sys; from pipelines.cli import main; sys.argv[0] = 'ips-eval'; main()",
           "run", "--input", str(delivery), "--cutoff", CUTOFF.isoformat(), "--warehouse", str(warehouse)]
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=code_dir, env=env, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"ips-eval run failed in {code_dir} (log: {log})")


def build(rev: str, scale: int, workdir: Path) -> tuple[Path, Path]:
    """A delivery of `scale` people, and the warehouses of `rev` (A) and of this tree (B) built from it."""
    sys.path.insert(0, str(ROOT))
    from ips_eval.synth import SynthConfig, write_delivery

    delivery = workdir / "delivery"
    if not delivery.exists():
        write_delivery(delivery, SynthConfig(cohort=scale, register_format="parquet"))
    other = workdir / f"code-{rev}"
    if not other.exists():
        other.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(other)], input=archive, check=True)
    a, b = workdir / "a" / "warehouse.duckdb", workdir / "b" / "warehouse.duckdb"
    for code, wh in ((other, a), (ROOT, b)):
        shutil.rmtree(wh.parent, ignore_errors=True)
        wh.parent.mkdir(parents=True)
        _run(code, delivery, wh, workdir / f"{wh.parent.name}.log")
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouses", nargs="*", type=Path, help="A and B (or none, with --build)")
    parser.add_argument("--build", metavar="REV", help="build A with git revision REV and B with this tree")
    parser.add_argument("--scale", type=int, default=20_000, help="people in the delivery --build writes")
    parser.add_argument("--workdir", type=Path, default=None, help="kept; a temporary folder by default")
    parser.add_argument("--expect", nargs="*", default=(), help="tables the change is meant to alter")
    args = parser.parse_args()
    if args.build:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ips-compare-"))
        workdir.mkdir(parents=True, exist_ok=True)
        a, b = build(args.build, args.scale, workdir)
        print(f"A = {args.build} ({a}), B = this tree ({b})")
    elif len(args.warehouses) == 2:
        a, b = args.warehouses
    else:
        parser.error("give two warehouse files, or --build REV")
    report = compare(a, b, tuple(args.expect))
    print_report(report)
    if report["differs"] or report["only_a"] or report["only_b"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
