"""Multiple imputation by chained equations (predictive mean matching) and Rubin's rules.

Model 1's covariates are partly missing: the coach's first ratings (`trust`, `care_cooperation`)
for clients without a coach response in their first 3 months, and a few education or gender
values. Complete cases would drop every such client, and, since whether a client was rated
early is not unrelated to the course of the coaching, describe another population. So:

- **Chained equations** (van Buuren & Groothuis-Oudshoorn 2011, R's `mice`): each incomplete
  column is imputed in turn from all the others, the **outcome** and the county included (an
  imputation model without the outcome biases its odds ratios towards 1; without the county it
  ignores the clustering), for `iterations` rounds, starting from random draws of the observed
  values; `m` independent chains give `m` completed data sets.
- **Predictive mean matching** (type 1, 5 donors): a linear regression of the column on the
  others, its coefficients drawn from their posterior (Bayesian linear regression with a
  flat prior: sigma^2 ~ RSS / chi^2(n_obs - p), beta ~ N(beta_hat, sigma^2 (X'X)^-1)); each
  missing value is replaced by the observed value of one of the 5 observed rows whose
  predictions (at beta_hat) are nearest its own (at the drawn beta). An imputed value is
  always one that was observed: a rating stays a whole number 1-5, an education level a level.
- **Deterministic**: every chain draws from its own generator `default_rng([seed, chain])`, the
  rows are in a fixed order (the caller sorts them), and donors are chosen on distances
  rounded to 1e-9 with ties broken by row position, so that neither the rows' input order nor
  the last bits of a multi-threaded matrix product change which donor is taken.

Why not statsmodels' `MICEData`: it draws from numpy's global random state (a seed would have to
be set for the whole process, and threads sharing it would change the draws), and its pooled
`MICE` fit combines model-based covariances, where model 1 needs the cluster-robust CR2 one per
imputation; the algorithm is the same (chained PMM with posterior draws).

**Rubin's rules** (`pool`): the estimate is the mean over the imputations; its variance
`T = W + (1 + 1/m) B`, W the mean within-imputation covariance (for model 1 the CR2 covariance
of each fit) and B the between-imputation covariance; the t reference of each term has
Barnard & Rubin's (1999) degrees of freedom with the complete-data degrees of freedom
`df_com` (for model 1 each term's Bell-McCaffrey df, averaged over the imputations), so the
small-cluster correction carries through; the fraction of missing information per term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Default number of imputations and rounds of the chained equations.
N_IMPUTATIONS = 20
N_ITERATIONS = 5
N_DONORS = 5
#: Predictions are rounded to this (as whole multiples of it) before donors are chosen (ties by row).
ROUND = 1e-9


@dataclass(frozen=True)
class Column:
    """An incomplete column and how it enters the other columns' imputation models:
    'numeric' as it is, 'categorical' dummy-coded (its values are matched as codes 0..k-1 in
    the order of `levels`, so an ordered category such as education is matched as ordinal)."""

    name: str
    kind: str
    levels: tuple = ()


def _codes(s: pd.Series, col: Column) -> np.ndarray:
    if col.kind == "categorical":
        lookup = {v: i for i, v in enumerate(col.levels)}
        return np.array([lookup.get(v, np.nan) if not pd.isna(v) else np.nan for v in s], dtype=float)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def _expand(values: np.ndarray, col: Column) -> np.ndarray:
    """The column as predictors of the others: dummies of the levels but the first, or itself."""
    if col.kind == "categorical":
        return np.column_stack([(values == i).astype(float) for i in range(1, len(col.levels))]) \
            if len(col.levels) > 1 else np.zeros((len(values), 0))
    return values[:, None]


def _pmm(rng: np.random.Generator, X: np.ndarray, y: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Imputations of y where not `observed`: Bayesian linear regression draw, then 5-donor PMM."""
    Xo, yo = X[observed], y[observed]
    n, p = Xo.shape
    xtx = Xo.T @ Xo
    ridge = 1e-8 * max(float(np.trace(xtx)) / max(p, 1), 1.0)  # collinear dummies stay solvable
    A = xtx + ridge * np.eye(p)
    beta = np.linalg.solve(A, Xo.T @ yo)
    rss = float(np.sum((yo - Xo @ beta) ** 2))
    sigma2 = rss / rng.chisquare(max(n - p, 1))
    L = np.linalg.cholesky(np.linalg.inv(A) * sigma2 + 1e-14 * np.eye(p))
    beta_star = beta + L @ rng.standard_normal(p)
    pred_obs = np.round(Xo @ beta / ROUND).astype(np.int64)
    pred_mis = np.round(X[~observed] @ beta_star / ROUND).astype(np.int64)
    order = np.argsort(pred_obs, kind="stable")
    sorted_pred = pred_obs[order]
    k = min(N_DONORS, n)
    # the k nearest observed predictions lie within k places of each one's place in the sorted list
    at = np.searchsorted(sorted_pred, pred_mis)
    places = at[:, None] + np.arange(-k, k)[None, :]
    valid = (places >= 0) & (places < n)
    places = np.clip(places, 0, n - 1)
    rows = order[places]
    # nearest first, ties by row position (integers: no rounding can reorder them)
    key = np.abs(sorted_pred[places] - pred_mis[:, None]) * np.int64(n) + rows
    key = np.where(valid, key, np.iinfo(np.int64).max)
    nearest = np.take_along_axis(rows, np.argsort(key, axis=1, kind="stable")[:, :k], axis=1)
    picks = rng.integers(0, k, len(pred_mis))
    out = yo[nearest[np.arange(len(pred_mis)), picks]].astype(float)
    return out


def impute_chained(frame: pd.DataFrame, columns: list[Column], fixed: pd.DataFrame, *, m: int = N_IMPUTATIONS,
                   iterations: int = N_ITERATIONS, seed: int = 0) -> list[pd.DataFrame]:
    """`m` completed copies of `frame[columns]` by chained equations with predictive mean matching.

    Parameters
    ----------
    frame : the rows, in the order that fixes the draws (sort them first).
    columns : every column to complete and to use as a predictor (incomplete or not).
    fixed : complete numeric predictors of every imputation model (the outcome, county dummies),
        aligned with `frame`.
    m, iterations, seed : imputations, rounds of the chained equations, the seed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(1, 6, 300).astype(float)
    >>> f = pd.DataFrame({"x": np.where(rng.random(300) < 0.3, np.nan, x), "z": x + rng.normal(0, 1, 300)})
    >>> done = impute_chained(f, [Column("x", "numeric"), Column("z", "numeric")], pd.DataFrame(index=f.index), m=2)
    >>> len(done), bool(done[0]["x"].notna().all()), set(done[0]["x"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    (2, True, True)
    """
    codes = {c.name: _codes(frame[c.name], c) for c in columns}
    missing = {c.name: np.isnan(codes[c.name]) for c in columns}
    incomplete = [c for c in columns if missing[c.name].any()]
    for c in incomplete:
        if missing[c.name].all():
            raise ValueError(f"{c.name} is missing in every row: nothing to impute it from")
    base = np.column_stack([np.ones(len(frame)), fixed.to_numpy(dtype=float)]) if fixed.shape[1] else \
        np.ones((len(frame), 1))
    completed = []
    for chain in range(m):
        rng = np.random.default_rng([seed, chain])
        cur = {k: v.copy() for k, v in codes.items()}
        for c in incomplete:
            obs = cur[c.name][~missing[c.name]]
            cur[c.name][missing[c.name]] = rng.choice(obs, int(missing[c.name].sum()))
        for _ in range(iterations if incomplete else 0):
            for c in incomplete:
                X = np.column_stack([base] + [_expand(cur[o.name], o) for o in columns if o.name != c.name])
                cur[c.name][missing[c.name]] = _pmm(rng, X, cur[c.name], ~missing[c.name])
        out = frame.copy()
        for c in columns:
            if c.kind == "categorical":
                levels = np.array(c.levels, dtype=object)
                out[c.name] = levels[cur[c.name].astype(int)]
            else:
                out[c.name] = cur[c.name]
        completed.append(out)
    return completed


@dataclass(frozen=True)
class Pooled:
    """Rubin's rules over m fits: estimates, total variance and its parts, Barnard-Rubin df, FMI."""

    params: np.ndarray
    within: np.ndarray  # W (diagonal)
    between: np.ndarray  # B (diagonal)
    total: np.ndarray  # T = W + (1 + 1/m) B (diagonal)
    df: np.ndarray
    fmi: np.ndarray
    m: int

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(self.total)

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        q = stats.t.ppf(1 - alpha / 2, self.df)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])

    def pvalues(self) -> np.ndarray:
        return 2 * stats.t.sf(np.abs(self.params / self.bse), self.df)


def pool(params: np.ndarray, variances: np.ndarray, df_com: np.ndarray) -> Pooled:
    """Rubin's rules for m x p coefficients with their m x p within-imputation variances and
    the complete-data degrees of freedom of each coefficient (Barnard & Rubin 1999).

    Examples
    --------
    Two imputations, one coefficient: Qbar = 2, W = 1, B = 2, T = 1 + 1.5 x 2 = 4.

    >>> r = pool(np.array([[1.0], [3.0]]), np.array([[1.0], [1.0]]), np.array([np.inf]))
    >>> float(r.params[0]), float(r.total[0])
    (2.0, 4.0)
    >>> round(float(r.df[0]), 4)  # (m - 1) / lambda^2, lambda = 3 / 4
    1.7778
    """
    Q = np.asarray(params, dtype=float)
    U = np.asarray(variances, dtype=float)
    m = Q.shape[0]
    qbar = Q.mean(axis=0)
    W = U.mean(axis=0)
    B = Q.var(axis=0, ddof=1) if m > 1 else np.zeros_like(qbar)
    T = W + (1 + 1 / m) * B
    lam = np.where(T > 0, (1 + 1 / m) * B / T, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df_old = np.where(lam > 0, (m - 1) / lam ** 2, np.inf)
        dc = np.asarray(df_com, dtype=float)
        df_obs = np.where(np.isinf(dc), np.inf, (dc + 1) / (dc + 3) * dc * (1 - lam))
        df = 1 / (1 / df_old + 1 / df_obs)
        df = np.where(np.isinf(df_old) & np.isinf(df_obs), np.inf, df)
        r = np.where(W > 0, (1 + 1 / m) * B / W, 0.0)
        fmi = np.where(np.isfinite(df), (r + 2 / (df + 3)) / (r + 1), r / (r + 1))
    return Pooled(params=qbar, within=W, between=B, total=T, df=df, fmi=fmi, m=m)
