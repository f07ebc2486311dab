"""costs.csv: what each county's IPS service cost per year, as the regional projects report it.

Staff costs follow the coaches a county needs for the clients it serves in the year (an IPS
coach carries a caseload of about `CASELOAD` clients), at 50 000-60 000 euros per full-time
coach a year; training and supervision, travel and other costs are smaller. Each year is
reported early the next year (the cut-off's own year shortly before the cut-off). One county
later corrects its staff cost of its first year: the first report stays in the file with its
earlier `paivitetty`, and the correction, further down, must replace it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import SynthConfig
from .contracts import headers
from .sampling import random_date, timestamp
from .writers import fi_decimal, fi_timestamp, write_fi_csv

FILE = "costs.csv"
CASELOAD = 20  # clients per full-time coach
STAFF_EUR_PER_FTE = (50_000.0, 60_000.0)  # a coach's yearly staff cost, employer's charges included
OTHER_COSTS = {"koulutus": (2_000.0, 9_000.0), "matkat": (500.0, 4_000.0), "muut": (0.0, 2_500.0)}


def build_costs(cfg: SynthConfig, clients: pd.DataFrame) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of costs.csv (in file order) and what was planted, from the clients served.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> from ips_eval.synth import SynthConfig
    >>> clients = pd.DataFrame({"alue": ["Kainuu"] * 40, "aloituspvm": [dt.date(2023, 1, 1)] * 40,
    ...                         "lopetuspvm": [None] * 40})
    >>> rows, planted = build_costs(SynthConfig(), clients)
    >>> [(r["vuosi"], r["kustannuslaji"], r["htv"]) for r in rows if r["kustannuslaji"] == "henkilosto"][:2]
    [(2023, 'henkilosto', 2.0), (2024, 'henkilosto', 2.0)]
    """
    rng = np.random.default_rng([cfg.seed, 4300])  # a stream of its own: the other files stay as they were
    C = cfg.cutoff
    served = clients[pd.to_datetime(clients["aloituspvm"]).dt.date <= C]
    rows: list[dict[str, Any]] = []
    for alue, g in served.groupby("alue", sort=True):
        start = pd.to_datetime(g["aloituspvm"]).dt.date
        end = [min(e, C) if isinstance(e, dt.date) else C for e in g["lopetuspvm"]]
        rate = float(rng.uniform(*STAFF_EUR_PER_FTE))
        for year in range(min(start).year, C.year + 1):
            first, last = dt.date(year, 1, 1), min(dt.date(year, 12, 31), C)
            days = sum(max((min(e, last) - max(s, first)).days + 1, 0) for s, e in zip(start, end))
            if days == 0:
                continue
            clients_in_service = days / ((last - first).days + 1)
            fte = max(0.5, round(clients_in_service / CASELOAD, 1))
            reported = _reported(rng, year, C)
            rows.append({"alue": alue, "vuosi": year, "kustannuslaji": "henkilosto",
                         "euroa": round(fte * rate * float(rng.uniform(0.97, 1.03)), 2), "htv": fte,
                         "paivitetty": reported})
            for kind, (lo, hi) in OTHER_COSTS.items():
                rows.append({"alue": alue, "vuosi": year, "kustannuslaji": kind,
                             "euroa": round(float(rng.uniform(lo, hi)), 2), "htv": None, "paivitetty": reported})
    # One correction: the county with the most rows sends its first year's staff cost again.
    counties = pd.Series([r["alue"] for r in rows]).value_counts()
    target = next(r for r in rows if r["alue"] == counties.index[0] and r["kustannuslaji"] == "henkilosto")
    corrected = dict(target)
    later = min(target["paivitetty"].date() + dt.timedelta(days=int(rng.integers(60, 200))), C)
    corrected["paivitetty"] = timestamp(rng, later)
    target["euroa"] = round(target["euroa"] * float(rng.uniform(1.05, 1.15)), 2)  # the first report, too high
    rows.append(corrected)
    planted = {"correction": {"alue": target["alue"], "vuosi": target["vuosi"], "kustannuslaji": "henkilosto",
                              "reported_eur": target["euroa"], "corrected_eur": corrected["euroa"],
                              "line_reported": rows.index(target) + 2, "line_corrected": len(rows) + 1},
               "staff_eur_per_fte": list(STAFF_EUR_PER_FTE), "caseload": CASELOAD}
    return rows, planted


def _reported(rng: np.random.Generator, year: int, cutoff: dt.date) -> dt.datetime:
    """When a year's costs are reported: early the next year, or just before the cut-off."""
    day = random_date(rng, dt.date(year + 1, 1, 15), dt.date(year + 1, 3, 31))
    if day > cutoff:
        day = random_date(rng, cutoff - dt.timedelta(days=20), cutoff)
    return timestamp(rng, day)


def write_costs(out: Path, cfg: SynthConfig, clients: pd.DataFrame) -> dict[str, Any]:
    """Write costs.csv into the delivery; return its file facts and what was planted."""
    rows, planted = build_costs(cfg, clients)
    text_rows = [[r["alue"], str(r["vuosi"]), r["kustannuslaji"], fi_decimal(r["euroa"]),
                  fi_decimal(r["htv"]), fi_timestamp(r["paivitetty"])] for r in rows]
    facts = write_fi_csv(Path(out) / FILE, headers("costs"), text_rows)
    return {"files": {FILE: facts}, **planted}
