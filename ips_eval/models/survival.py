"""Kaplan-Meier step tables and the Aalen-Johansen cumulative incidence, as tidy frames.

Times are whole days. The KM step table keeps every distinct time at which someone had
the event or was censored, plus time 0, so a published curve can later be coarsened by
the disclosure rules (steps pooling at least T events or censorings).

Aalen-Johansen is computed here rather than with lifelines' `AalenJohansenFitter`, which
randomly jitters event times whenever two kinds of event share a day - with times in
days that happens on every run, and would make the curve depend on a random draw. The
estimator itself handles ties (all events of a day leave the risk set together); the
variance is the same delta-method (Greenwood-type) formula lifelines uses (Collett,
Modelling Survival Data, 3rd ed., p. 411), with the log(-log) interval.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy.stats import norm

#: Days per month for KM read-outs: k months = k * 365.25 / 12 days (6 -> 182.6, 12 -> 365.25).
#: The exact calendar counts (ANALYSIS_PLAN "Jobs") are in marts.employment_outcomes.
DAYS_PER_MONTH = 365.25 / 12

KM_COLUMNS = ["group", "time", "n_at_risk", "n_events", "n_censored", "estimate", "ci_low", "ci_high"]


def km_fit(durations, events, label: str = "KM") -> KaplanMeierFitter:
    kmf = KaplanMeierFitter(label=label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf.fit(np.asarray(durations, dtype=float), np.asarray(events, dtype=bool))
    return kmf


def km_step_table(kmf: KaplanMeierFitter, group: str) -> pd.DataFrame:
    """One row per distinct time: numbers at risk/events/censored and S(t) with its 95% CI."""
    et = kmf.event_table
    ci = kmf.confidence_interval_survival_function_
    out = pd.DataFrame(
        {
            "group": group,
            "time": et.index.to_numpy(dtype=float),
            "n_at_risk": et["at_risk"].to_numpy(dtype="int64"),
            "n_events": et["observed"].to_numpy(dtype="int64"),
            "n_censored": et["censored"].to_numpy(dtype="int64"),
            "estimate": kmf.survival_function_.iloc[:, 0].reindex(et.index).to_numpy(),
            "ci_low": ci.iloc[:, 0].reindex(et.index).to_numpy(),
            "ci_high": ci.iloc[:, 1].reindex(et.index).to_numpy(),
        }
    )
    return out[KM_COLUMNS]


def step_at(table: pd.DataFrame, t: float, columns=("estimate", "ci_low", "ci_high"), before: bool = False):
    """Value of a right-continuous step function at t (or just before t)."""
    sel = table["time"] < t if before else table["time"] <= t
    if not sel.any():
        return tuple(1.0 for _ in columns) if columns[0] == "estimate" else tuple(np.nan for _ in columns)
    row = table.loc[sel].iloc[-1]
    return tuple(float(row[c]) for c in columns)


def step_values(table: pd.DataFrame, times, column: str, before_start: float = 1.0) -> np.ndarray:
    """Vectorised `step_at` for one column at many times (value before the first step given)."""
    idx = np.searchsorted(table["time"].to_numpy(), np.asarray(times, dtype=float), side="right") - 1
    vals = table[column].to_numpy(dtype=float)
    return np.where(idx >= 0, vals[np.clip(idx, 0, None)], before_start)


def km_median(kmf: KaplanMeierFitter) -> tuple[float, float, float]:
    """Median time with its 95% CI (inf = not reached), via lifelines."""
    med = float(kmf.median_survival_time_)
    ci = median_survival_times(kmf.confidence_interval_survival_function_)
    return med, float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def aalen_johansen(durations, event_codes, cause: int = 1, alpha: float = 0.05) -> pd.DataFrame:
    """Cumulative incidence of `cause` with competing events; codes 0 = censored.

    Returns one row per distinct time: n_at_risk, n_events (this cause), n_competing,
    n_censored, cif, ci_low, ci_high.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(event_codes, dtype=int)
    times = np.unique(np.r_[0.0, t])
    order_t = np.sort(t)
    n = len(t) - np.searchsorted(order_t, times, side="left")  # at risk just before each time
    d_all = _count(t, e != 0, times)
    d1 = _count(t, e == cause, times)
    c = _count(t, e == 0, times)
    with np.errstate(divide="ignore", invalid="ignore"):
        haz_all = np.where(n > 0, d_all / n, 0.0)
        surv = np.cumprod(1 - haz_all)
        s_lag = np.r_[1.0, surv[:-1]]
        inc = np.where(n > 0, s_lag * d1 / n, 0.0)
        F = np.cumsum(inc)
        a = np.where(d_all > 0, d_all / (n * (n - d_all)), 0.0)
        b = np.where(n > 0, s_lag**2 * d1 * (n - d1) / n**3, 0.0)
        cc = np.where(n > 0, s_lag * d1 / n**2, 0.0)
        A, AF, AFF = np.cumsum(a), np.cumsum(a * F), np.cumsum(a * F**2)
        B, C, CF = np.cumsum(b), np.cumsum(cc), np.cumsum(cc * F)
        var = F**2 * A - 2 * F * AF + AFF + B - 2 * (F * C - CF)
        z = norm.ppf(1 - alpha / 2)
        se_t = np.sqrt(var) / (F * np.abs(np.log(F)))
        lt = np.log(-np.log(F))
        lo = np.exp(-np.exp(lt + z * se_t))
        hi = np.exp(-np.exp(lt - z * se_t))
    lo = np.where(F == 0, 0.0, lo)
    hi = np.where(F == 0, 0.0, hi)
    return pd.DataFrame(
        {
            "time": times,
            "n_at_risk": n.astype("int64"),
            "n_events": d1.astype("int64"),
            "n_competing": (d_all - d1).astype("int64"),
            "n_censored": c.astype("int64"),
            "cif": F,
            "ci_low": lo,
            "ci_high": hi,
        }
    )


def _count(t: np.ndarray, sel: np.ndarray, times: np.ndarray) -> np.ndarray:
    vals, counts = np.unique(t[sel], return_counts=True)
    out = np.zeros(len(times), dtype=float)
    out[np.searchsorted(times, vals)] = counts
    return out
