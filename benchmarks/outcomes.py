"""How long the outcome assets take on a synthetic delivery with an N-person register cohort.

    .venv/bin/python benchmarks/outcomes.py [--cohort 20000] [--repeat 3]

Writes the delivery, loads and stages it once (not timed here), then times every outcome
table's SQL as its Dagster asset runs it, best of --repeat, and prints one line per table.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import duckdb

from ips_eval.ingest.load import load_delivery
from ips_eval.warehouse.tables import build_staging, build_table, sql_tables
from ips_eval.synth import SynthConfig, write_delivery
from ips_eval.warehouse.database import connect, load_macros


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = dataclasses.replace(SynthConfig(), cohort=args.cohort)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        write_delivery(tmp / "delivery", config)
        t1 = time.perf_counter()
        con = connect(tmp / "bench.duckdb")
        load_delivery(con, tmp / "delivery", config.cutoff)
        build_staging(con, config.cutoff)
        t2 = time.perf_counter()
        persons = con.execute("SELECT count(*) FROM staging.register_population").fetchall()[0][0]
        print(f"cohort {args.cohort}: {persons} register persons; synth {t1 - t0:.1f} s, ingest+staging {t2 - t1:.1f} s")
        load_macros(con)
        total = 0.0
        print(f"{'table':<40}{'seconds':>10}{'rows':>12}")
        for table in (t for t in sql_tables() if t.schema in ("core", "marts")):
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                build_table(con, table, config.cutoff)
                best = min(best, time.perf_counter() - start)
            rows = con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
            total += best
            print(f"{table.name:<40}{best:>10.3f}{rows:>12}")
        print(f"{'all outcome tables':<40}{total:>10.3f}")
        con.close()


if __name__ == "__main__":
    main()
