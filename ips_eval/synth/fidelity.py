"""IPS-25 fidelity reviews: items that add up to the published county totals.

The latest review on or before C carries the published total; an earlier review (lower,
as services improve) and, for one county, a review *after* C (which must not be current
at C) make "latest on or before C" matter.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .config import WAVE1_FIDELITY, WAVE2_FIDELITY, SynthConfig
from .sampling import random_date


def items_with_total(rng: np.random.Generator, total: int) -> list[int]:
    """25 items in 1..5 whose sum is exactly `total` (25..125)."""
    if not 25 <= total <= 125:
        raise ValueError(total)
    items = np.full(25, 1)
    # spread the remaining points roughly evenly, then randomly
    rest = total - 25
    while rest > 0:
        room = np.flatnonzero(items < 5)
        weights = 5.0 - items[room] + 0.5
        i = rng.choice(room, p=weights / weights.sum())
        items[i] += 1
        rest -= 1
    return items.tolist()


def build_reviews(cfg: SynthConfig, rng: np.random.Generator, reviewers: list[str]) -> list[dict]:
    C = cfg.cutoff
    reviews = []

    def add(alue: str, day: dt.date, total: int, purpose: str) -> None:
        reviews.append({"alue": alue, "arviointipvm": day, "arvioija": str(rng.choice(reviewers)),
                        "items": items_with_total(rng, total), "total": total, "purpose": purpose})

    for j, (alue, total) in enumerate(WAVE2_FIDELITY.items()):
        latest = random_date(rng, dt.date(2024, 5, 1), min(C, dt.date(2024, 11, 30)))
        if j % 3 != 2:  # two reviews for most counties, one for some
            add(alue, random_date(rng, dt.date(2023, 8, 1), latest - dt.timedelta(days=150)),
                total - int(rng.integers(3, 13)), "earlier")
        add(alue, latest, total, "latest_on_or_before_cutoff")
    add("Keski-Suomi", C + dt.timedelta(days=9), 110, "after_cutoff_not_current")
    for alue, total in WAVE1_FIDELITY.items():
        first = random_date(rng, dt.date(2021, 2, 1), dt.date(2021, 10, 31))
        add(alue, first, total - int(rng.integers(2, 10)), "earlier")
        add(alue, random_date(rng, dt.date(2022, 6, 1), dt.date(2023, 5, 31)), total, "latest_on_or_before_cutoff")
    reviews.sort(key=lambda r: (r["arviointipvm"], r["alue"]))
    return reviews
