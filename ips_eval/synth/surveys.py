"""Client surveys (baseline, midpoint, final): responses with a planted employment effect.

Every score rests on one latent wellbeing per client; it improves from wave to wave, more
for clients who are employed by the time they answer (model 4 of the analysis plan should
find a positive wave x employed interaction). Responses are dated on or before C.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .config import SynthConfig
from .jobs import Record
from .sampling import add_months, random_date

#: item prefix -> (n items, min, max, centre, spread per latent SD)
INSTRUMENTS = {
    "tyokyky": (1, 0, 10, 4.8, 1.7),
    "swemwbs": (7, 1, 5, 3.0, 0.65),
    "eurohis": (8, 1, 5, 3.1, 0.6),
    "osallisuus": (8, 1, 5, 3.0, 0.6),
    "pystyvyys": (10, 1, 4, 2.6, 0.5),
    "tyohonpaluu": (1, 1, 5, 2.8, 0.8),
}
WAVES = ("baseline", "midpoint", "final")
#: latent improvement per wave: (everyone, extra when employed by then)
IMPROVEMENT = {"baseline": (0.0, 0.0), "midpoint": (0.15, 0.25), "final": (0.25, 0.5)}


_COLS = [(prefix if n == 1 else f"{prefix}_{i + 1}", lo, hi, centre, spread)
         for prefix, (n, lo, hi, centre, spread) in INSTRUMENTS.items() for i in range(n)]
_LO = np.array([c[1] for c in _COLS], float)
_HI = np.array([c[2] for c in _COLS], float)
_CENTRE = np.array([c[3] for c in _COLS])
_SPREAD = np.array([c[4] for c in _COLS])


def item_columns() -> list[str]:
    """The items of every wave (the later items are ips_eval.synth.voices', from streams of their own)."""
    return [c[0] for c in _COLS]


def _answers(rng: np.random.Generator, latent: float) -> dict[str, int]:
    v = _CENTRE + _SPREAD * latent + rng.normal(0, 1, len(_COLS)) * (0.7 * _SPREAD + 0.3)
    v = np.clip(np.rint(v), _LO, _HI).astype(int).tolist()
    return {c[0]: x for c, x in zip(_COLS, v)}


def build_surveys(cfg: SynthConfig, rng: np.random.Generator, clients: pd.DataFrame,
                  jobs: list[Record]) -> dict[str, list[dict]]:
    """Per wave: a list of responses {person_id, vastauspvm, items..., purpose}."""
    C = cfg.cutoff
    first_job: dict[str, dt.date] = {}
    for r in jobs:
        if r.purpose == "competitive":
            first_job[r.person_id] = min(first_job.get(r.person_id, r.alkupvm), r.alkupvm)
    plan = {"baseline": (0, 0.88), "midpoint": (6, 0.68), "final": (12, 0.52)}
    out: dict[str, list[dict]] = {w: [] for w in WAVES}
    for c in clients.itertuples():
        S = c.aloituspvm
        if S > C:
            continue
        z = rng.normal(0, 1)
        for wave in WAVES:
            months, p = plan[wave]
            due = add_months(S, months)
            if due + dt.timedelta(days=28) > C or rng.random() >= p:
                continue
            lo = due - dt.timedelta(days=10 if months == 0 else 14)
            d = random_date(rng, max(lo, dt.date(2020, 8, 1)), due + dt.timedelta(days=28))
            d = max(d, S - dt.timedelta(days=10))
            employed = c.person_id in first_job and first_job[c.person_id] <= d
            base, extra = IMPROVEMENT[wave]
            latent = z + base + extra * employed
            out[wave].append({"person_id": c.person_id, "vastauspvm": d, **_answers(rng, latent),
                              "purpose": "response"})
    return out
