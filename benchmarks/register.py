"""National-scale register benchmark: the whole run, the register steps, the floor and a pandas baseline.

    .venv/bin/python benchmarks/register.py [--scales 20000 50000 200000] [--repeat 3]
    make bench                                   # 20 000 people
    BENCH_SCALES="20000 50000 200000" make bench # all three

For each scale (register comparison persons; the IPS clients come on top) on a fresh
synthetic delivery it measures, each in a subprocess of its own (so that its peak RSS is its
own, read with /usr/bin/time):

  (a) run      the whole `ips-eval run` (ingest, staging, outcomes, models, checks, publish);
  (b) register the register-outcome and state-sequence steps alone on the warehouse (a)
               published, where ingest and staging are done: building core.register_persons,
               core.register_month_sets, marts.register_outcomes and the views
               core.register_months and marts.state_sequences, plus one full read of
               marts.state_sequences (the state of every person-month, counted by relative
               month: what the effectiveness model's chronogram reads), since a view defers
               its work to its reader. For information it also times the register staging
               tables that (a) built before them (best of --repeat rebuilds), and a full read
               of core.register_months;
  (c) scan     the floor: a bare DuckDB scan of the same register files, a count and a sum
               over each, on a connection configured as ips_eval.warehouse.connect does;
  (d) pandas   the baseline: benchmarks/pandas_baseline.py, marts.register_outcomes in plain
               pandas from the delivered files.

Besides, for the whole run and each of its stages (Dagster's own step timings of the in-process
run, summed per stage: guard, ingest of each export, staging, outcomes, models, publish, checks)
it runs the whole run twice, on the register extracts as Parquet (the synthetic delivery, written
as Parquet at every scale) and as CSV (the same rows, copied with DuckDB in the format of
docs/exports.md), each beside the bare scan of every column of every register extract in that
format, and prints per format the marginal cost ratio: (whole run - the smallest scale's run) /
(every-column scan - the smallest scale's scan), with peak RSS. --validation-engines adds, at the
smallest scale, both runs with IPS_EVAL_VALIDATION=pandera, to compare the ingest stage of the
two validation engines. 1 000 000 people run the same way (--scales 1000000, --repeat 1).

Times are the best of --repeat (the machine is shared); the whole run is the best of
--run-repeat up to 50 000 people and runs once above that, and so does the pandas baseline
(stopped after --pandas-timeout seconds, its peak so far kept; not run above --baseline-up-to
people, 200 000 by default: its person x month grid alone would need tens of GB). Peak RSS is the best repeat's.
Then it checks that the pipeline's marts.register_outcomes equals the pandas result (every
column; counts exactly, euros within 1e-6) and prints the ratios (b)/(c) and (d)/(b).
Results go to --out (JSON per scale; default benchmarks/results/) and a Markdown table is
printed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CUTOFF = dt.date(2024, 12, 31)
REGISTER_TABLES = ("core.register_persons", "core.register_month_sets", "core.register_months",
                   "marts.register_outcomes", "marts.state_sequences")
#: The full read of the state sequence that (b) includes, and the one of the person-month view it
#: reports for information (sql files would be overkill for two benchmark queries).
STATE_READ = "SELECT rel_month, state, count(*) FROM marts.state_sequences GROUP BY ALL"
MONTHS_READ = ("SELECT count(*), count(employed), sum(earnings), count(*) FILTER (WHERE inpatient)"
               " FROM core.register_months")
REGISTER_STAGING = ("register_population", "register_spells", "psychiatric_care", "earnings")
EXTRACTS = ("cohort", "employment", "earnings", "pay_subsidy", "benefits", "psychiatric_care")
#: the column summed by the floor scan, per extract
SUM_COLUMN = {"cohort": "syntymavuosi", "employment": "alkupvm", "earnings": "ansiot_eur",
              "pay_subsidy": "alkupvm", "benefits": "alkupvm", "psychiatric_care": "alkupvm"}
COUNT_COLUMNS = ("employed_months_pre12", "employed_months_post12", "benefit_months_post12",
                 "employed_months_post24", "benefit_months_post24", "employed_months_post36",
                 "benefit_months_post36", "benefit_months_pre12", "employed_months_pre24_13",
                 "benefit_months_pre24_13", "psych_inpatient_days_pre24_13")
EURO_COLUMNS = ("earnings_post12", "earnings_post24", "earnings_post36")


# ---- children: each measurement runs in a process of its own -----------------------------------

def _child(argv: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    import _compat

    patched = _compat.apply()
    kind, rest = argv[0], argv[1:]
    if kind == "run":
        import dagster as dg

        from pipelines.cli import main

        runs: list = []
        original = dg.JobDefinition.execute_in_process

        def recorded(self, *args, **kwargs):
            # the step statistics are read as soon as the run returns: the runner deletes the
            # run from its instance once it has read the result
            kwargs.setdefault("instance", dg.DagsterInstance.ephemeral())
            result = original(self, *args, **kwargs)
            runs.append(kwargs["instance"].get_run_step_stats(result.run_id))
            return result

        dg.JobDefinition.execute_in_process = recorded
        sys.argv = ["ips-eval", "run", *rest]
        report: dict = {"patched_connect": patched, "validation": os.environ.get("IPS_EVAL_VALIDATION", "sql")}
        sampler = RssSampler()
        sampler.start()
        try:
            main()
        except SystemExit as e:
            if e.code not in (0, None):
                raise
        finally:
            sampler.stop()
            if runs:
                report.update(_step_times(runs[-1], samples=sampler.samples))
            _write_json(os.environ["BENCH_RESULT"], report)
        return
    out: dict = {"patched_connect": patched}
    if kind == "register":
        warehouse, with_staging = Path(rest[0]), rest[1] == "staging"
        from ips_eval.warehouse.tables import build_table as build_outcome_table
        from ips_eval.warehouse.database import connect, load_macros, run_sql

        con = connect(warehouse)
        load_macros(con)
        steps = {}
        if with_staging:
            for table in REGISTER_STAGING:
                t0 = time.perf_counter()
                run_sql(con, f"staging/{table}", cutoff=CUTOFF)
                steps[f"staging.{table}"] = time.perf_counter() - t0
        t_all = time.perf_counter()
        for table in REGISTER_TABLES:
            t0 = time.perf_counter()
            build_outcome_table(con, table, CUTOFF)
            steps[table] = time.perf_counter() - t0
        t0 = time.perf_counter()
        con.execute(STATE_READ).fetchall()
        steps["read marts.state_sequences"] = time.perf_counter() - t0
        out["seconds"] = time.perf_counter() - t_all
        out["steps"] = steps
        # For information, not in `seconds`: one full read of the person-month view (with earnings).
        t0 = time.perf_counter()
        con.execute(MONTHS_READ).fetchall()
        out["months_read_seconds"] = time.perf_counter() - t0
        out["rows"] = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in REGISTER_TABLES}
        con.close()
    elif kind == "scan":
        delivery, scratch = Path(rest[0]), Path(rest[1])
        from ips_eval.warehouse.database import connect

        con = connect(scratch)
        for variant in ("one_sum", "all_columns"):
            t0 = time.perf_counter()
            per = {}
            for name in EXTRACTS:
                t1 = time.perf_counter()
                source = _reader(delivery, name)
                if variant == "one_sum":
                    sums = [_sum_expr(SUM_COLUMN[name], "DATE" if SUM_COLUMN[name] == "alkupvm" else "DOUBLE")]
                else:
                    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
                    sums = [_sum_expr(col, typ) for col, typ, *_ in described]
                row = con.execute(f"SELECT count(*), {', '.join(sums)} FROM {source}").fetchall()[0]
                per[name] = {"rows": row[0], "seconds": time.perf_counter() - t1}
            out[variant] = {"seconds": time.perf_counter() - t0, "extracts": per}
        out["seconds"] = out["one_sum"]["seconds"]
        con.close()
    elif kind == "pandas":
        delivery, persons, result = Path(rest[0]), Path(rest[1]), Path(rest[2])
        from pandas_baseline import register_outcomes

        lists = json.loads(persons.read_text())
        t0 = time.perf_counter()
        frame = register_outcomes(delivery, CUTOFF, set(lists["consented"]), set(lists["clients"]))
        out["seconds"] = time.perf_counter() - t0
        out["rows"] = len(frame)
        frame.to_parquet(result)
    else:
        raise SystemExit(f"unknown child {kind}")
    _write_json(os.environ["BENCH_RESULT"], out)


def _stage_of() -> dict[str, str]:
    """Dagster step key (op name) -> benchmark stage: guard, ingest <export>, staging, outcomes, models,
    publish (the asset groups; the delivery guard and each export's ingest on their own), checks."""
    from pipelines.definitions import all_assets, all_checks

    stages = {}
    for a in all_assets:
        groups = set(a.group_names_by_key.values())
        group = groups.pop() if len(groups) == 1 else "other"
        name = a.node_def.name
        if name.endswith("delivery_guard"):
            stages[name] = "guard"
        elif group == "ingest":
            stages[name] = f"ingest {name}"
        else:
            stages[name] = group
    for c in all_checks:
        stages[c.node_def.name] = "checks"
    return stages


class RssSampler:
    """The process's resident memory every 50 ms (from /proc/self/statm), to attribute the
    run's peak to the step that was running: /usr/bin/time only gives the peak of the whole run."""

    def __init__(self, interval: float = 0.05):
        import threading

        self.interval, self.samples = interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            with open("/proc/self/statm") as fh:
                self.samples.append((time.time(), int(fh.read().split()[1]) * self._page_mb))
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _step_times(stats: list, samples: list | None = None) -> dict:
    """Seconds of every step of one in-process run (`stats`: Dagster's own step statistics) and
    per stage, and, given RSS samples, the largest resident memory seen while each step ran (MB)."""
    steps = {s.step_key: (s.end_time - s.start_time) for s in stats if s.start_time and s.end_time}
    step_peak = {}
    for s in stats:
        if samples and s.start_time and s.end_time:
            seen = [mb for t, mb in samples if s.start_time <= t <= s.end_time]
            if seen:
                step_peak[s.step_key] = max(seen)
    stage_of = _stage_of()
    stages: dict[str, float] = {}
    stage_peak: dict[str, float] = {}
    for key, seconds in steps.items():
        stage = stage_of.get(key, "other")
        stages[stage] = stages.get(stage, 0.0) + seconds
        if key in step_peak:
            stage_peak[stage] = max(stage_peak.get(stage, 0.0), step_peak[key])
        if stage.startswith("ingest "):
            stages["ingest"] = stages.get("ingest", 0.0) + seconds
            if key in step_peak:
                stage_peak["ingest"] = max(stage_peak.get("ingest", 0.0), step_peak[key])
    return {"steps": steps, "stages": stages, "steps_seconds": sum(steps.values()),
            "step_peak_mb": step_peak, "stage_peak_mb": stage_peak}


def csv_delivery(delivery: Path, target: Path) -> Path:
    """A copy of `delivery` whose register extracts are CSV (docs/exports.md: `;`, header, ISO dates).

    Examples
    --------
    >>> csv_delivery(Path("delivery"), Path("delivery-csv"))  # doctest: +SKIP
    PosixPath('delivery-csv')
    """
    import duckdb

    shutil.copytree(delivery, target, ignore=shutil.ignore_patterns("*.parquet"))
    with duckdb.connect() as con:
        for pq in sorted((delivery / "register").glob("*.parquet")):
            out = target / "register" / f"{pq.stem}.csv"
            con.execute(f"COPY (SELECT * FROM read_parquet('{pq}')) TO '{out}' (FORMAT csv, DELIMITER ';', HEADER)")
    return target


def _reader(delivery: Path, name: str) -> str:
    pq = delivery / "register" / f"{name}.parquet"
    if pq.exists():
        return f"read_parquet('{pq}')"
    return f"read_csv('{delivery / 'register' / (name + '.csv')}', delim=';', header=true)"


def _sum_expr(col: str, typ: str) -> str:
    """A sum that makes DuckDB read and decode the column: numbers as they are, dates as days, text by length."""
    if typ.startswith(("DATE", "TIMESTAMP")):
        return f'sum(epoch("{col}"))'
    if typ.startswith("VARCHAR"):
        return f'sum(length("{col}"))'
    return f'sum("{col}")'


def _write_json(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


# ---- the parent: runs the children, keeps the best repeat ----------------------------------------

TIME = shutil.which("time", path="/usr/bin:/bin")


def _group_peak_kb(pgid: int) -> int | None:
    """The largest VmHWM (peak RSS) among the live processes of a process group (Linux /proc)."""
    best = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best or 0, int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            continue
    return best


def _measure(kind: str, args: list[str], workdir: Path, timeout: float | None = None,
             env_extra: dict | None = None) -> dict:
    """Run one child; wall seconds, peak RSS (MB) of that child alone, and what it reported.

    The peak RSS is read by /usr/bin/time: a child forked straight from this (large) process
    would report this process's high-water mark as its own (Linux keeps it across exec).
    """
    result, rss_file = workdir / f"result-{kind}.json", workdir / f"rss-{kind}.txt"
    result.unlink(missing_ok=True)
    rss_file.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_RESULT": str(result), "PYTHONWARNINGS": "ignore", **(env_extra or {})}
    command = [sys.executable, str(Path(__file__).resolve()), "_child", kind, *args]
    if TIME:
        command = [TIME, "-f", "peak %M cpu %U %S", "-o", str(rss_file), *command]
    log = open(workdir / f"{kind}.log", "w")
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                            start_new_session=True)
    timed_out, hwm_kb = False, None
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        hwm_kb = _group_peak_kb(proc.pid)  # the peak so far, before the process goes
        os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: time and the measured process
        proc.wait()
    wall = time.perf_counter() - t0
    log.close()
    out = json.loads(result.read_text()) if result.exists() else {}
    peak_kb = hwm_kb if timed_out else None
    cpu = None
    if rss_file.exists():
        words = rss_file.read_text().split()  # "peak KB cpu USER SYS", after any line time adds
        if "peak" in words:
            i = len(words) - 1 - words[::-1].index("peak")
            peak_kb, cpu = int(words[i + 1]), float(words[i + 3]) + float(words[i + 4])
    # CPU seconds (user + system, every thread): on a shared machine a steadier figure than wall time
    # the machine's load average (1 min) before and after: on a shared machine the wall time carries it
    out.update(wall=wall, cpu=cpu, peak_rss_mb=(peak_kb / 1024) if peak_kb else float("nan"), exit=proc.returncode,
               timed_out=timed_out, load=(round(load_before, 2), round(os.getloadavg()[0], 2)))
    if not timed_out and proc.returncode != 0:
        tail = (workdir / f"{kind}.log").read_text()[-3000:]
        raise RuntimeError(f"benchmark step {kind} failed (exit {proc.returncode}):\n{tail}")
    return out


def _best(kind: str, args: list[str], workdir: Path, repeat: int, key: str = "seconds",
          timeout: float | None = None, before=None, env_extra: dict | None = None) -> dict:
    runs = []
    for _ in range(repeat):
        if before:
            before()
        r = _measure(kind, args, workdir, timeout, env_extra)
        runs.append(r)
        print(f"    {kind:<9} {r.get(key, r['wall']):8.2f} s  peak RSS {r['peak_rss_mb']:7.0f} MB"
              + ("  (stopped: time limit)" if r["timed_out"] else ""), flush=True)
        if r["timed_out"]:
            break
    best = min(runs, key=lambda r: (r["timed_out"], r.get(key, r["wall"])))
    best["all"] = [round(r.get(key, r["wall"]), 3) for r in runs]
    best["max_peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return best


def compare(pipeline, baseline) -> dict:
    """Every column of marts.register_outcomes against the pandas result: counts exactly, euros within 1e-6."""
    import numpy as np
    import pandas as pd

    report: dict = {"rows_pipeline": len(pipeline), "rows_pandas": len(baseline), "columns": {}}
    p = pipeline.sort_values("person_id", ignore_index=True)
    b = baseline.sort_values("person_id", ignore_index=True)
    same_persons = len(p) == len(b) and bool((p["person_id"].to_numpy() == b["person_id"].to_numpy()).all())
    report["same_persons"] = same_persons
    if not same_persons:
        only_p = set(p["person_id"]) - set(b["person_id"])
        only_b = set(b["person_id"]) - set(p["person_id"])
        report["only_pipeline"], report["only_pandas"] = sorted(only_p)[:5], sorted(only_b)[:5]
        keep = sorted(set(p["person_id"]) & set(b["person_id"]))
        p = p.set_index("person_id").loc[keep].reset_index()
        b = b.set_index("person_id").loc[keep].reset_index()
    for col in p.columns:
        if col not in b.columns:
            report["columns"][col] = "missing in pandas result"
            continue
        x, y = p[col], b[col]
        nx, ny = x.isna().to_numpy(), y.isna().to_numpy()
        bad = nx != ny
        both = ~nx & ~ny
        if col in EURO_COLUMNS:
            diff = np.abs(x.to_numpy(float, na_value=0.0) - y.to_numpy(float, na_value=0.0))
            bad |= both & (diff > 1e-6)
            detail = f"max |diff| {diff[both].max() if both.any() else 0.0:.2e} EUR"
        elif pd.api.types.is_datetime64_any_dtype(x) or pd.api.types.is_datetime64_any_dtype(y):
            bad |= both & (pd.to_datetime(x).to_numpy() != pd.to_datetime(y).to_numpy())
            detail = "dates"
        elif col in COUNT_COLUMNS or col in ("ips", "birth_year"):
            bad |= both & (x.to_numpy(float, na_value=0) != y.to_numpy(float, na_value=0))
            detail = "exact"
        else:
            bad |= both & (x.astype(object).to_numpy() != y.astype(object).to_numpy())
            detail = "exact"
        report["columns"][col] = "equal" if not bad.any() else f"{int(bad.sum())} rows differ"
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            report["columns"][col] += f" (e.g. {p['person_id'].iloc[i]}: {x.iloc[i]!r} vs {y.iloc[i]!r})"
        elif detail.startswith("max"):
            report["columns"][col] += f" ({detail})"
    report["identical"] = same_persons and all(v.startswith("equal") for v in report["columns"].values())
    return report


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kb = 0
    import duckdb
    import pandas

    from ips_eval.warehouse.database import DEFAULT_MEMORY_LIMIT, DEFAULT_THREADS

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "cpu": cpu, "commit": commit,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pandas.__version__,
            "duckdb_memory_limit": DEFAULT_MEMORY_LIMIT, "duckdb_threads": DEFAULT_THREADS}


def bench_scale(scale: int, workdir: Path, repeat: int, pandas_timeout: float, run_repeat: int,
                validation_engines: bool = False, baseline_up_to: int = 200_000, targets_only: bool = False) -> dict:
    import duckdb
    import pandas as pd

    from ips_eval.synth import SynthConfig, write_delivery

    print(f"== {scale} people", flush=True)
    delivery, warehouse = workdir / "delivery", workdir / "warehouse" / "warehouse.duckdb"
    t0 = time.perf_counter()
    # Parquet at every scale, so that the Parquet and CSV runs below read the same rows
    config = SynthConfig(cohort=scale, register_format="parquet")
    write_delivery(delivery, config)
    synth_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    delivery_csv = csv_delivery(delivery, workdir / "delivery-csv")
    print(f"  CSV variant of the register extracts written in {time.perf_counter() - t0:.1f} s", flush=True)
    sizes = {}
    with duckdb.connect() as con:
        for name in EXTRACTS:
            sizes[name] = con.execute(f"SELECT count(*) FROM {_reader(delivery, name)}").fetchall()[0][0]
    formats = config.register_formats()
    print(f"  delivery written in {synth_seconds:.1f} s: "
          + ", ".join(f"{k} {v:,} ({formats[k]})" for k, v in sizes.items()), flush=True)

    def fresh_warehouse():
        shutil.rmtree(warehouse.parent, ignore_errors=True)

    def run_args(source: Path) -> list[str]:
        return ["--input", str(source), "--cutoff", CUTOFF.isoformat(), "--warehouse", str(warehouse)]

    n_run = run_repeat if scale <= 50_000 else 1
    # the CSV run first: the warehouse the Parquet run leaves is the one (b) and (d) read
    run_csv = _best("run", run_args(delivery_csv), workdir, n_run, key="wall", before=fresh_warehouse)
    scan_csv = _best("scan", [str(delivery_csv), str(workdir / "scan.duckdb")], workdir, repeat)
    pandera = None
    if validation_engines:
        pandera = {fmt: _best("run", run_args(source), workdir, n_run, key="wall", before=fresh_warehouse,
                              env_extra={"IPS_EVAL_VALIDATION": "pandera"})
                   for fmt, source in (("csv", delivery_csv), ("parquet", delivery))}
    run = _best("run", run_args(delivery), workdir, n_run, key="wall", before=fresh_warehouse)
    if targets_only:  # the whole runs and the scans: what the targets need, nothing of (b) and (d)
        scan = _best("scan", [str(delivery), str(workdir / "scan.duckdb")], workdir, repeat)
        out = {"scale": scale, "rows": sizes, "formats": formats, "synth_seconds": synth_seconds, "run": run,
               "scan": scan, "run_csv": run_csv, "scan_csv": scan_csv, "run_pandera": pandera, "targets_only": True}
        for fmt, r in (("Parquet", run), ("CSV", run_csv)):
            print(f"  {fmt:<7} whole run {r['wall']:7.2f} s, CPU {r.get('cpu') or float('nan'):.1f} s, peak RSS "
                  f"{r['peak_rss_mb']:6.0f} MB, load {r['load'][0]:.1f} -> {r['load'][1]:.1f}", flush=True)
        return out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lists = {
            "consented": [r[0] for r in con.execute(
                "SELECT person_id FROM staging.study_population WHERE register_consent").fetchall()],
            "clients": [r[0] for r in con.execute("SELECT person_id FROM staging.clients").fetchall()],
        }
        persons = con.execute("SELECT count(*) FROM core.register_persons").fetchall()[0][0]
    (workdir / "persons.json").write_text(json.dumps(lists))
    work = workdir / "work.duckdb"
    shutil.copyfile(warehouse, work)  # (b) rebuilds tables in a copy; the published file stays as (a) left it
    # The register staging steps (for information), each its best over `repeat` rebuilds.
    staging_runs = [_measure("register", [str(work), "staging"], workdir)["steps"] for _ in range(repeat)]
    register = _best("register", [str(work), "outcomes"], workdir, repeat)
    register["staging_steps"] = {k: min(run[k] for run in staging_runs)
                                 for k in staging_runs[0] if k.startswith("staging.")}
    scan = _best("scan", [str(delivery), str(workdir / "scan.duckdb")], workdir, repeat)
    result = workdir / "pandas.parquet"
    pandas_repeat = repeat if scale <= 50_000 else min(repeat, 1)
    if scale > baseline_up_to:  # a person x month grid in pandas: hours and tens of GB beyond this
        baseline = {"skipped": True, "timed_out": False}
    else:
        baseline = _best("pandas", [str(delivery), str(workdir / "persons.json"), str(result)], workdir,
                         pandas_repeat, timeout=pandas_timeout)

    check = None
    if not baseline["timed_out"] and not baseline.get("skipped"):
        with duckdb.connect(str(work), read_only=True) as con:
            pipeline_frame = con.execute("SELECT * FROM marts.register_outcomes").df()
        check = compare(pipeline_frame, pd.read_parquet(result))
    out = {
        "scale": scale, "register_persons": persons, "rows": sizes, "formats": formats,
        "synth_seconds": synth_seconds, "run": run, "register": register, "scan": scan, "pandas": baseline,
        "check": check, "run_csv": run_csv, "scan_csv": scan_csv, "run_pandera": pandera,
        "ratio_register_to_scan": register["seconds"] / scan["seconds"],
        "ratio_pandas_to_register": (baseline["seconds"] / register["seconds"]) if "seconds" in baseline else None,
    }
    _print_scale(out)
    return out


def _print_scale(r: dict) -> None:
    b, c, d = r["register"], r["scan"], r["pandas"]
    print(f"  register persons {r['register_persons']:,}; register steps: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in b["steps"].items()))
    print(f"  register staging (info): " + ", ".join(f"{k} {v:.2f} s" for k, v in b["staging_steps"].items()))
    print(f"  (a) whole run  {r['run']['wall']:8.2f} s   peak RSS {r['run']['peak_rss_mb']:7.0f} MB")
    print(f"  (b) register   {b['seconds']:8.2f} s   peak RSS {b['peak_rss_mb']:7.0f} MB")
    print(f"  (c) bare scan  {c['seconds']:8.2f} s   peak RSS {c['peak_rss_mb']:7.0f} MB"
          f"   (count + sums over every column: {c['all_columns']['seconds']:.2f} s;"
          f" a full read of core.register_months, not in (b): {b['months_read_seconds']:.2f} s)")
    if d.get("skipped"):
        print("  (d) pandas     not run at this scale (--baseline-up-to)")
    elif d["timed_out"]:
        print(f"  (d) pandas     > {d['wall']:.0f} s (stopped)   peak RSS so far {d['peak_rss_mb']:7.0f} MB")
    else:
        print(f"  (d) pandas     {d['seconds']:8.2f} s   peak RSS {d['peak_rss_mb']:7.0f} MB")
    print(f"  (b)/(c) = {r['ratio_register_to_scan']:.2f}x"
          + (f"   (d)/(b) = {r['ratio_pandas_to_register']:.1f}x" if r["ratio_pandas_to_register"] else ""))
    for fmt, run, sc in (("Parquet", r["run"], r["scan"]), ("CSV", r["run_csv"], r["scan_csv"])):
        print(f"  {fmt:<7} whole run {run['wall']:7.2f} s (steps {run.get('steps_seconds', float('nan')):.2f} s)"
              f"  peak RSS {run['peak_rss_mb']:6.0f} MB; scan of every column {sc['all_columns']['seconds']:.2f} s"
              f"  peak RSS {sc['peak_rss_mb']:6.0f} MB; stages: "
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(run.get("stages", {}).items())))
        steps = run.get("steps", {})
        print(f"  {fmt:<7} named steps: " + ", ".join(
            f"{k} {steps[k]:.2f} s" if k in steps else f"{k} -" for k in NAMED_STEPS))
    for fmt, run in (r.get("run_pandera") or {}).items():
        print(f"  pandera validation, {fmt}: whole run {run['wall']:.2f} s, ingest {run['stages'].get('ingest', 0):.2f} s"
              f" (SQL: {r['run' if fmt == 'parquet' else 'run_csv']['stages'].get('ingest', 0):.2f} s)")
    if r["check"] is not None:
        ch = r["check"]
        print(f"  pipeline vs pandas, marts.register_outcomes: {'IDENTICAL' if ch['identical'] else 'DIFFERENT'}"
              f" ({ch['rows_pipeline']:,} vs {ch['rows_pandas']:,} rows; "
              + "; ".join(f"{k}: {v}" for k, v in ch["columns"].items() if not v.startswith("equal")
                          or "diff" in v) + ")", flush=True)


def markdown(results: list[dict]) -> str:
    head = ("| people (comparison) | register persons | spell rows | earnings rows | (a) whole run s / peak MB "
            "| (b) register steps s / peak MB | (c) bare scan s / peak MB | (d) pandas s / peak MB "
            "| (b)/(c) | (d)/(b) | pipeline = pandas |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        spells = sum(r["rows"][k] for k in ("employment", "pay_subsidy", "benefits", "psychiatric_care"))
        d = r["pandas"]
        dcell = ("not run" if d.get("skipped") else f"> {d['wall']:.0f} (stopped) / {d['peak_rss_mb']:.0f}"
                 if d["timed_out"] else f"{d['seconds']:.1f} / {d['peak_rss_mb']:.0f}")
        ratio_d = f"{r['ratio_pandas_to_register']:.1f}x" if r["ratio_pandas_to_register"] else "-"
        ident = "-" if r["check"] is None else ("yes" if r["check"]["identical"] else "NO")
        lines.append(
            f"| {r['scale']:,} | {r['register_persons']:,} | {spells / 1e6:.1f} M | {r['rows']['earnings'] / 1e6:.1f} M "
            f"| {r['run']['wall']:.1f} / {r['run']['peak_rss_mb']:.0f} | {r['register']['seconds']:.2f} / "
            f"{r['register']['peak_rss_mb']:.0f} | {r['scan']['seconds']:.2f} / {r['scan']['peak_rss_mb']:.0f} "
            f"| {dcell} | {r['ratio_register_to_scan']:.2f}x | {ratio_d} | {ident} |")
    return "\n".join(lines)


def growth_markdown(results: list[dict]) -> str:
    """Seconds of every measured step per scale, and how much each grew from the smallest scale
    to the largest beside how much the register persons grew: linear growth has the two equal."""
    rows: dict[str, list[float | None]] = {}

    def put(label: str, i: int, value: float | None) -> None:
        rows.setdefault(label, [None] * len(results))[i] = value

    for i, r in enumerate(results):
        put("(a) whole run", i, r["run"]["wall"])
        for k, v in r["register"]["staging_steps"].items():
            put(k, i, v)
        for k, v in r["register"]["steps"].items():
            put(k, i, v)
        put("(b) register steps", i, r["register"]["seconds"])
        put("read core.register_months (not in b)", i, r["register"].get("months_read_seconds"))
        put("(c) bare scan", i, r["scan"]["seconds"])
        put("(c') scan, every column", i, r["scan"]["all_columns"]["seconds"])
        put("(d) pandas", i, r["pandas"].get("seconds"))
    persons = [r["register_persons"] for r in results]
    head = "| step | " + " | ".join(f"{r['scale']:,}" for r in results) + " | growth |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for label, values in rows.items():
        cells = " | ".join("-" if v is None else f"{v:.2f}" for v in values)
        first, last = values[0], values[-1]
        growth = f"{last / first:.1f}x" if first and last and len(values) > 1 else "-"
        lines.append(f"| {label} | {cells} | {growth} |")
    if len(results) > 1:
        lines.append(f"| register persons | " + " | ".join(f"{p:,}" for p in persons)
                     + f" | {persons[-1] / persons[0]:.1f}x |")
    return "\n".join(lines)


STAGES = ("guard", "ingest", "staging", "outcomes", "models", "publish", "checks", "other")
#: Steps reported by name beside their stage (issue 17): the transition rates' build, the
#: trajectory types and the cost ratio. A step the graph does not have yet shows as "-".
NAMED_STEPS = ("marts__transition_rates", "models__transition_to_work", "models__trajectory_types",
               "models__cost_effectiveness")


def stages_markdown(results: list[dict]) -> str:
    """Whole run and each stage, Parquet and CSV register extracts, per scale, with the every-column scan
    and peak memory; then the marginal cost ratio (each scale minus the smallest, run over scan)."""
    head = ("| people | extracts | whole run s | CPU s | load | sum of steps s | " + " | ".join(STAGES)
            + " | run peak MB | scan every column s | scan peak MB |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        for fmt, run, sc in (("Parquet", r["run"], r["scan"]), ("CSV", r["run_csv"], r["scan_csv"])):
            stages = run.get("stages", {})
            cells = " | ".join(f"{stages[k]:.2f}" if k in stages else "-" for k in STAGES)
            cpu = f"{run['cpu']:.1f}" if run.get("cpu") is not None else "-"
            load = f"{run['load'][0]:.1f}-{run['load'][1]:.1f}" if run.get("load") else "-"
            lines.append(f"| {r['scale']:,} | {fmt} | {run['wall']:.1f} | {cpu} | {load} | {run.get('steps_seconds', float('nan')):.1f} "
                         f"| {cells} | {run['peak_rss_mb']:.0f} | {sc['all_columns']['seconds']:.2f} "
                         f"| {sc['peak_rss_mb']:.0f} |")
    lines += ["", "| people | extracts | " + " | ".join(NAMED_STEPS) + " |", "|" + "---|" * (len(NAMED_STEPS) + 2)]
    for r in results:
        for fmt, run in (("Parquet", r["run"]), ("CSV", r["run_csv"])):
            steps = run.get("steps", {})
            lines.append(f"| {r['scale']:,} | {fmt} | "
                         + " | ".join(f"{steps[k]:.2f}" if k in steps else "-" for k in NAMED_STEPS) + " |")
    ingest = sorted({k for r in results for run in (r["run"], r["run_csv"]) for k in run.get("stages", {})
                     if k.startswith("ingest ")})
    if ingest:
        lines += ["", "| people | extracts | " + " | ".join(ingest) + " |",
                  "|" + "---|" * (len(ingest) + 2)]
        for r in results:
            for fmt, run in (("Parquet", r["run"]), ("CSV", r["run_csv"])):
                st = run.get("stages", {})
                lines.append(f"| {r['scale']:,} | {fmt} | "
                             + " | ".join(f"{st[k]:.2f}" if k in st else "-" for k in ingest) + " |")
    if any(run.get("stage_peak_mb") for r in results for run in (r["run"], r["run_csv"])):
        lines += ["", "Largest resident memory while each stage ran, MB (sampled every 50 ms):", "",
                  "| people | extracts | " + " | ".join(STAGES) + " | largest step |",
                  "|" + "---|" * (len(STAGES) + 3)]
        for r in results:
            for fmt, run in (("Parquet", r["run"]), ("CSV", r["run_csv"])):
                peak = run.get("stage_peak_mb", {})
                steps = run.get("step_peak_mb", {})
                top = max(steps, key=steps.get) if steps else None
                lines.append(f"| {r['scale']:,} | {fmt} | " + " | ".join(f"{peak[k]:.0f}" if k in peak else "-"
                                                                     for k in STAGES)
                             + (f" | {top} {steps[top]:.0f} |" if top else " | - |"))
    ratios = marginal_ratios(results)
    if ratios:
        lines += ["", "| people | extracts | run - smallest s | scan - smallest s | marginal cost ratio |",
                  "|---|---|---|---|---|"]
        lines += [f"| {x['scale']:,} | {x['format']} | {x['run']:.2f} | {x['scan']:.2f} | "
                  + (f"{x['ratio']:.1f}x |" if x["ratio"] is not None else "- |") for x in ratios]
    return "\n".join(lines)


def marginal_ratios(results: list[dict]) -> list[dict]:
    """(whole run - the smallest scale's run) / (every-column scan - the smallest scale's scan), per format.

    Examples
    --------
    >>> r = lambda n, a, c: {"scale": n, "run": {"wall": a}, "scan": {"all_columns": {"seconds": c}},
    ...                      "run_csv": {"wall": 2 * a}, "scan_csv": {"all_columns": {"seconds": 2 * c}}}
    >>> [x["ratio"] for x in marginal_ratios([r(2, 10.0, 1.0), r(1, 4.0, 0.5)])]
    [12.0, 12.0]
    """
    if len(results) < 2:
        return []
    ordered = sorted(results, key=lambda r: r["scale"])
    out = []
    for fmt, run_key, scan_key in (("Parquet", "run", "scan"), ("CSV", "run_csv", "scan_csv")):
        base_run = ordered[0][run_key]["wall"]
        base_scan = ordered[0][scan_key]["all_columns"]["seconds"]
        for r in ordered[1:]:
            d_run = r[run_key]["wall"] - base_run
            d_scan = r[scan_key]["all_columns"]["seconds"] - base_scan
            out.append({"scale": r["scale"], "format": fmt, "run": d_run, "scan": d_scan,
                        "ratio": d_run / d_scan if d_scan > 0 else None})
    return out


#: The targets of the national-scale run (issue 27), on the 2-core machine: the whole run's wall
#: time at a scale, its peak memory, and the marginal cost ratio over a bare scan.
RUN_TARGETS = {200_000: (60.0, None), 1_000_000: (240.0, 2048.0)}
MARGINAL_TARGET = 10.0


def targets_markdown(results: list[dict]) -> str:
    """The targets beside what this pass measured (a scale not run shows "not measured").

    Examples
    --------
    >>> r = lambda n, a, c: {"scale": n, "run": {"wall": a, "peak_rss_mb": 900.0, "load": (1.0, 1.2)},
    ...     "scan": {"all_columns": {"seconds": c}}, "run_csv": {"wall": a + 5, "peak_rss_mb": 950.0,
    ...     "load": (1.2, 1.4)}, "scan_csv": {"all_columns": {"seconds": 2 * c}}}
    >>> print(targets_markdown([r(20_000, 30.0, 0.1), r(200_000, 50.0, 3.0)]).splitlines()[2])
    | whole run, 200,000 people | Parquet | <= 60 s | 50.0 s (load 1.0-1.2) | met |
    """
    by_scale = {r["scale"]: r for r in results}
    head = "| target | extracts | limit | measured | met? |"
    lines = [head, "|---|---|---|---|---|"]
    for scale, (seconds, peak_mb) in RUN_TARGETS.items():
        for fmt, key in (("Parquet", "run"), ("CSV", "run_csv")):
            run = by_scale.get(scale, {}).get(key)
            if run is None:
                lines.append(f"| whole run, {scale:,} people | {fmt} | <= {seconds:.0f} s | not measured | - |")
            else:
                load = run.get("load")
                load_note = f" (load {load[0]:.1f}-{load[1]:.1f})" if load else ""
                lines.append(f"| whole run, {scale:,} people | {fmt} | <= {seconds:.0f} s | {run['wall']:.1f} s{load_note}"
                             f" | {'met' if run['wall'] <= seconds else 'missed'} |")
            if peak_mb is not None:
                if run is None:
                    lines.append(f"| peak memory, {scale:,} people | {fmt} | <= {peak_mb:.0f} MB | not measured | - |")
                else:
                    lines.append(f"| peak memory, {scale:,} people | {fmt} | <= {peak_mb:.0f} MB | "
                                 f"{run['peak_rss_mb']:.0f} MB | {'met' if run['peak_rss_mb'] <= peak_mb else 'missed'} |")
    smallest = min(by_scale) if by_scale else None
    for x in marginal_ratios(results):
        ratio = x["ratio"]
        lines.append(f"| marginal cost ratio, {smallest:,} to {x['scale']:,} people | {x['format']} | "
                     f"<= {MARGINAL_TARGET:.0f}x | " + ("scan did not grow | - |" if ratio is None else
                                                      f"{ratio:.1f}x | {'met' if ratio <= MARGINAL_TARGET else 'missed'} |"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[20_000])
    parser.add_argument("--repeat", type=int, default=3, help="repeats of (b), (c), (d); the best counts")
    parser.add_argument("--run-repeat", type=int, default=2, help="repeats of (a), the whole run")
    parser.add_argument("--pandas-timeout", type=float, default=900.0, help="stop the pandas baseline after this")
    parser.add_argument("--workdir", type=Path, default=None, help="where deliveries and warehouses go (temporary)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="JSON results per scale")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--baseline-up-to", type=int, default=200_000,
                        help="run the pandas baseline (d) only up to this many people")
    parser.add_argument("--targets-only", action="store_true",
                        help="only the whole runs (both formats) and the scans: the targets table, not (b) and (d)")
    parser.add_argument("--validation-engines", action="store_true",
                        help="at the smallest scale, also run the whole run with IPS_EVAL_VALIDATION=pandera")
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gb']} GB, {info['date']}; "
          f"DuckDB {info['duckdb']} (limit {info['duckdb_memory_limit']}, {info['duckdb_threads']} threads), "
          f"pandas {info['pandas']}; best of {args.repeat} (whole run: best of {args.run_repeat})", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in args.scales:
        base = Path(tempfile.mkdtemp(prefix=f"ips-bench-{scale}-", dir=args.workdir))
        try:
            r = bench_scale(scale, base, args.repeat, args.pandas_timeout, args.run_repeat,
                            args.validation_engines and scale == min(args.scales), args.baseline_up_to,
                            args.targets_only)
            r["machine"] = info
            r["repeat"] = args.repeat
            _write_json(args.out / f"register_{scale}.json", r)
            results.append(r)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    full = [r for r in results if not r.get("targets_only")]
    if full:
        print()
        print(markdown(full))
        print()
        print(growth_markdown(full))
    print()
    print(stages_markdown(results))
    print()
    print(f"Targets (commit {info['commit']}, load average at the start {info['load_average']}):")
    print()
    print(targets_markdown(results))
    failed = [r["scale"] for r in results if r.get("check") is not None and not r["check"]["identical"]]
    if failed:
        raise SystemExit(f"pipeline and pandas baseline differ at {failed}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _child(sys.argv[2:])
    else:
        main()
