"""Small random-draw helpers shared by the generators (all take an explicit Generator)."""

from __future__ import annotations

import datetime as dt

import numpy as np


def weighted_choice_without_replacement(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of exactly k items, item i drawn with weight w_i (Efraimidis-Spirakis).

    Used to meet a published count exactly while a covariate model still decides *who*:
    higher odds -> more likely chosen.
    """
    n = len(weights)
    if k > n:
        raise ValueError(f"cannot choose {k} of {n}")
    if k == 0:
        return np.empty(0, dtype=np.int64)
    keys = np.log(rng.random(n)) / np.asarray(weights, dtype=float)
    return np.sort(np.argsort(-keys, kind="stable")[:k])


def largest_remainder(total: int, shares: np.ndarray, caps: np.ndarray | None = None) -> np.ndarray:
    """Split an integer total in proportion to shares (Hamilton), never above caps."""
    shares = np.asarray(shares, dtype=float)
    raw = total * shares / shares.sum()
    out = np.floor(raw).astype(int)
    if caps is not None:
        out = np.minimum(out, caps)
    order = np.argsort(-(raw - out), kind="stable")
    i = 0
    while out.sum() < total:
        j = order[i % len(order)]
        if caps is None or out[j] < caps[j]:
            out[j] += 1
        i += 1
        if i > 100 * len(order):
            raise ValueError("caps too small for the total")
    return out


def random_date(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    """Uniform date in [start, end]."""
    span = (end - start).days
    return start + dt.timedelta(days=int(rng.integers(0, span + 1)))


def add_months(d: dt.date, k: int) -> dt.date:
    """Calendar month arithmetic as SQL `date + INTERVAL k MONTH` (31.1. + 1 -> 28/29.2.)."""
    m = d.month - 1 + k
    y, m = d.year + m // 12, m % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(y, m, day)
        except ValueError:
            continue
    raise AssertionError


def timestamp(rng: np.random.Generator, day: dt.date) -> dt.datetime:
    """An office-hours timestamp on `day`."""
    return dt.datetime(day.year, day.month, day.day, int(rng.integers(7, 18)), int(rng.integers(0, 60)))
