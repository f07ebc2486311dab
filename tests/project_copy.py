"""A temporary copy of the project, changed by a test and run in a subprocess.

What a developer does by hand (edit a definition, add a figure) is done here to a copy of
`ips_eval/`, `sql/`, `data_contracts/` and `docs/`, and the copy's own code is then run in a
fresh interpreter (its `ips_eval` first on the path), so that import-time definitions take
the changed values and the real tree is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("ips_eval", "sql", "data_contracts", "docs")

#: A small warehouse of the minimal delivery and 90 more clients in three counties (started in
#: early 2022, two in three with a job, some of them short), its site built: what a script run
#: in a copy calls `small_site(folder)`. Enough people that T = 7 can be protected.
SMALL_SITE = '''
import datetime as dt
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, {tests!r})
from deliveries import minimal_delivery, row
from ips_eval.ingest.load import load_delivery
from ips_eval.publish.site.build import build_site
from ips_eval.publish.site.tables import read_site_data
from ips_eval.warehouse.tables import build_outcomes, build_staging

CUTOFF = dt.date(2024, 12, 31)
COUNTIES = ("Kainuu", "Lappi", "Pirkanmaa")


def fi_date(day):
    return f"{{day.day}}.{{day.month}}.{{day.year}}"


def small_site(folder):
    folder = Path(folder)
    clients, jobs = [], []
    for i in range(2, 92):
        start = dt.date(2022, 1 + i % 3, 1 + i % 27)
        clients.append(row("clients", person_id=f"P{{i:06d}}", alue=COUNTIES[i % 3],
                           lahetepvm=fi_date(start - dt.timedelta(days=30)), aloituspvm=fi_date(start),
                           tutkimussuostumus=fi_date(start)))
        if i % 3:
            job = start + dt.timedelta(days=60 + 9 * (i % 20))
            jobs.append(row("jobs", person_id=f"P{{i:06d}}", alkupvm=fi_date(job), palkkatuki="K" if i % 7 == 0 else "E",
                            loppupvm=fi_date(job + dt.timedelta(days=90)) if i % 5 == 0 else ""))
    con = duckdb.connect(str(folder / "w.duckdb"))
    load_delivery(con, minimal_delivery(folder / "delivery", clients=clients, jobs=jobs), CUTOFF)
    build_staging(con, CUTOFF)
    build_outcomes(con, CUTOFF)
    result = build_site(con, folder / "site", CUTOFF, {{"run_id": "copy", "code_version": "copy",
                                                      "input_fingerprint": "f" * 64}}, None)
    return con, result
'''


def project_copy(tmp_path: Path) -> Path:
    """The project's library, SQL, contracts and docs copied under `tmp_path`."""
    root = tmp_path / "project"
    for name in COPIED:
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path` (a test's edit fails loudly when the
    text it edits has moved)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r} occurs {text.count(old)} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def run_in(root: Path, script: str, timeout: int = 600):
    """Run `script` with the copy's code (SMALL_SITE's `small_site` defined); it prints one
    JSON value, returned here."""
    code = SMALL_SITE.format(tests=str(ROOT / "tests")) + "\n" + textwrap.dedent(script)
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
