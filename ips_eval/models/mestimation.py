"""Weighted effects on the treated and their M-estimation (stacked estimating equations) variance.

Each estimator solves a stack of estimating equations, one row of `psi` per person:
- the propensity model (logistic, fitted on every eligible person):  Z_i (T_i - e_i) = 0;
- for AIPW, the outcome regression among the kept comparison persons:  K_i (1 - T_i) Z_i (Y_i - Z_i g) = 0;
- the weighted means:  K_i T_i a(e_i) (R_i - mu1) = 0  and  K_i (1 - T_i) b(e_i) (R_i - mu0) = 0,
  where R = Y (IPW, overlap) or Y - Z g (AIPW), and K = 1 for the persons kept by trimming;
and the effect is mu1 - mu0. The sandwich J^-1 (sum psi psi') J^-T, with J the derivative of
the summed equations, gives a variance that includes the uncertainty of the estimated
propensity score (and of the outcome regression), as the bootstrap does, in one pass over
the data (Lunceford & Davidian 2004; Reifeis & Hudgens 2022; Stefanski & Boos 2002). The
trimming indicator K is held fixed, as is usual.

| estimator | a(e) (treated) | b(e) (comparison) | estimand |
|---|---|---|---|
| `ipw` | 1 | e/(1-e) | ATT over the kept treated |
| `aipw` | 1 | e/(1-e), on Y - Z g | ATT over the kept treated, doubly robust |
| `overlap` | 1-e | e | average effect in the overlap population (Li, Morgan & Zaslavsky 2018) |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ips_eval.models.propensity import weighted_gram

ESTIMATORS = ("ipw", "aipw", "overlap")


@dataclass(frozen=True)
class Effect:
    estimate: float
    se: float
    mean_treated: float
    mean_comparison: float


def _weight_functions(estimator: str, e: np.ndarray):
    """a(e), b(e) and their derivatives with respect to the linear predictor."""
    odds = e / (1 - e)
    if estimator in ("ipw", "aipw"):
        return np.ones_like(e), np.zeros_like(e), odds, odds
    if estimator == "overlap":
        v = e * (1 - e)
        return 1 - e, -v, e, v
    raise ValueError(f"unknown estimator {estimator!r}; known: {ESTIMATORS}")


def point_estimate(estimator: str, Z: np.ndarray, t: np.ndarray, y: np.ndarray, e: np.ndarray,
                   keep: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The weighted difference alone (used in bootstrap replicates).

    `weights` are frequency weights (a bootstrap replicate's draw counts): every sum of the
    estimating equations, the outcome regression's included, counts a row that many times, so
    the estimate is the one of the rows they copy.

    Examples
    --------
    >>> t = np.array([1.0, 1.0, 0.0, 0.0])
    >>> y = np.array([3.0, 5.0, 1.0, 2.0])
    >>> e = np.full(4, 0.5)
    >>> point_estimate("ipw", np.ones((4, 1)), t, y, e, np.ones(4, dtype=bool), weights=np.array([2.0, 0, 1, 1]))
    1.5
    """
    return _solve(estimator, Z, t, y, e, keep, weights)[0]


def _solve(estimator, Z, t, y, e, keep, weights=None):
    a, _, b, _ = _weight_functions(estimator, e)
    k = keep.astype(float) if weights is None else keep * weights
    r = y
    gamma = None
    if estimator == "aipw":
        c = k * (1 - t)
        G = weighted_gram(Z, c)
        gamma = np.linalg.lstsq(G, Z.T @ (c * y), rcond=None)[0]  # OLS among the kept comparison persons
        r = y - Z @ gamma
    w1, w0 = k * t * a, k * (1 - t) * b
    mu1 = float(w1 @ r / w1.sum())
    mu0 = float(w0 @ r / w0.sum())
    return mu1 - mu0, mu1, mu0, r, gamma


def effect_with_sandwich(estimator: str, Z: np.ndarray, t: np.ndarray, y: np.ndarray, e: np.ndarray,
                         keep: np.ndarray, J_beta: np.ndarray | None = None) -> Effect:
    """Weighted difference and its M-estimation standard error.

    `Z` is the propensity design with its intercept, `e` the fitted propensity scores (the
    maximum-likelihood fit of T on Z), `keep` the persons kept by trimming; `J_beta`, the
    propensity block of the Jacobian (-Z' diag(e(1-e)) Z), may be passed to reuse it.
    Only the linear combination of the equations that gives the effect is formed
    (u_i = c' J^-1 psi_i, variance sum u_i^2), so the cost grows as n times the number of
    parameters.

    Examples
    --------
    With an intercept-only propensity model the ATT by IPW is the difference of means, and
    the sandwich is the familiar sqrt(s1^2/n1 + s0^2/n0) with n in the denominators:

    >>> t = np.array([1, 1, 1, 0, 0, 0, 0])
    >>> y = np.array([3.0, 5.0, 4.0, 1.0, 2.0, 3.0, 2.0])
    >>> Z = np.ones((7, 1))
    >>> e = np.full(7, 3 / 7)
    >>> r = effect_with_sandwich("ipw", Z, t, y, e, np.ones(7, dtype=bool))
    >>> round(r.estimate, 6), round(r.se, 6)
    (2.0, 0.589256)
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    k = np.asarray(keep, dtype=float)
    est, mu1, mu0, r, gamma = _solve(estimator, Z, t, y, e, keep)
    a, da, b, db = _weight_functions(estimator, e)
    p = Z.shape[1]
    aug = estimator == "aipw"
    q = p + (p if aug else 0) + 2
    i1, i0 = q - 2, q - 1
    J = np.zeros((q, q))
    J[:p, :p] = jacobian_beta(Z, e) if J_beta is None else J_beta
    c = k * (1 - t)
    if aug:
        J[p:2 * p, p:2 * p] = -weighted_gram(Z, c)
    g1 = k * t * a
    g0 = c * b
    J[i1, :p] = Z.T @ (k * t * da * (r - mu1))
    J[i0, :p] = Z.T @ (c * db * (r - mu0))
    if aug:
        J[i1, p:2 * p] = -(Z.T @ g1)
        J[i0, p:2 * p] = -(Z.T @ g0)
    J[i1, i1] = -g1.sum()
    J[i0, i0] = -g0.sum()
    grad = np.linalg.pinv(J)
    grad = grad[i1] - grad[i0]  # d(mu1 - mu0) as a linear function of the summed equations
    u = (Z @ grad[:p]) * (t - e) + grad[i1] * g1 * (r - mu1) + grad[i0] * g0 * (r - mu0)
    if aug:
        u += (Z @ grad[p:2 * p]) * c * r
    var = float(u @ u)
    return Effect(est, float(np.sqrt(var)), mu1, mu0)


def jacobian_beta(Z: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Derivative of the summed propensity-score equations: -Z' diag(e(1-e)) Z."""
    return -weighted_gram(Z, e * (1 - e))
