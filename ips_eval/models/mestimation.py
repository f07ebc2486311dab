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
trimming indicator K is held fixed, as is usual. J is solved, never pseudo-inverted, on a
design the caller has standardised (`estimate_att` centres and scales every column), so that
neither the variance nor AIPW depends on the covariates' units; a rank-deficient design is
refused before (`independent_columns` names the combinations).

| estimator | a(e) (treated) | b(e) (comparison) | estimand |
|---|---|---|---|
| `ipw` | 1 | e/(1-e) | ATT over the kept treated |
| `aipw` | 1 | e/(1-e), on Y - Z g | ATT over the kept treated, doubly robust |
| `overlap` | 1-e | e | average effect in the overlap population (Li, Morgan & Zaslavsky 2018) |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import qr, solve

from ips_eval.models.propensity import weighted_gram

ESTIMATORS = ("ipw", "aipw", "overlap")


@dataclass(frozen=True)
class Effect:
    """A weighted difference, its standard error and its influence values.

    `influence` holds one value per row of the design, u_i = c' J^-1 psi_i (c picks mu1 - mu0),
    so that se^2 = sum u_i^2; sums of u within clusters give the clustered variance, and the
    products of two estimates' influence values their covariance (model 8's ratio).
    """

    estimate: float
    se: float
    mean_treated: float
    mean_comparison: float
    influence: np.ndarray | None = None


#: Relative size (to the largest) below which a pivot of a Gram matrix counts as zero: a column
#: whose part not explained by the others has a standard deviation under about 1e-5 of its
#: own is taken as a linear combination of them. The Grams this is applied to are of
#: standardised columns, so the rule does not depend on the covariates' units.
RANK_TOL = 1e-10


def independent_columns(G: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """Indices (sorted) of a largest set of linearly independent columns of the Gram matrix `G`.

    Pivoted QR of G: a pivot below `tol` times the first marks the columns after it as
    combinations of those before it.

    Examples
    --------
    >>> Z = np.column_stack([np.ones(4), [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]])
    >>> independent_columns(Z.T @ Z).tolist()
    [0, 2]
    """
    if G.shape[0] == 0:
        return np.arange(0)
    _, R, piv = qr(G, pivoting=True)
    d = np.abs(np.diag(R))
    rank = int((d > tol * d[0]).sum()) if d[0] > 0 else 0
    return np.sort(piv[:rank])


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

    `weights` are frequency weights (a bootstrap replicate's draw counts, times the sampling
    weights when there are some): every sum of the estimating equations, the outcome
    regression's included, counts a row that many times, so the estimate is the one of the
    rows they copy.

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
    """(effect, mu1, mu0, residuals R, gamma, columns of the outcome regression)."""
    a, _, b, _ = _weight_functions(estimator, e)
    k = keep.astype(float) if weights is None else keep * weights
    r = y
    gamma = cols = None
    if estimator == "aipw":
        # OLS among the kept comparison persons, solved on the columns it can identify (a level
        # with no kept comparison person is a column of zeros there, or a constant one once
        # centred): the fitted values are those of any least-squares solution
        c = k * (1 - t)
        G = weighted_gram(Z, c)
        cols = independent_columns(G)
        gamma = solve(G[np.ix_(cols, cols)], Z[:, cols].T @ (c * y), assume_a="pos")
        r = y - Z[:, cols] @ gamma
    w1, w0 = k * t * a, k * (1 - t) * b
    mu1 = float(w1 @ r / w1.sum())
    mu0 = float(w0 @ r / w0.sum())
    return mu1 - mu0, mu1, mu0, r, gamma, cols


def effect_with_sandwich(estimator: str, Z: np.ndarray, t: np.ndarray, y: np.ndarray, e: np.ndarray,
                         keep: np.ndarray, J_beta: np.ndarray | None = None,
                         weights: np.ndarray | None = None) -> Effect:
    """Weighted difference and its M-estimation standard error.

    `Z` is the propensity design with its intercept, `e` the fitted propensity scores (the
    maximum-likelihood fit of T on Z), `keep` the persons kept by trimming; `J_beta`, the
    propensity block of the Jacobian (-Z' diag(s e(1-e)) Z), may be passed to reuse it.
    `weights` are sampling weights s (default 1): each person's equations are multiplied by
    s_i, in the propensity fit as in the means. Only the linear combination of the equations
    that gives the effect is formed (u_i = c' J^-1 psi_i, variance sum u_i^2): c' J^-1 is
    found by solving J' x = c, never by inverting J, so the cost grows as n times the number
    of parameters. The result does not depend on the covariates' units when `Z` is well
    scaled (`estimate_att` standardises it); a singular J raises `numpy.linalg.LinAlgError`.

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
    s = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    k = np.asarray(keep, dtype=float) * s
    est, mu1, mu0, r, gamma, cols = _solve(estimator, Z, t, y, e, keep, s)
    a, da, b, db = _weight_functions(estimator, e)
    p = Z.shape[1]
    aug = estimator == "aipw"
    Zo = Z[:, cols] if aug else None
    po = len(cols) if aug else 0
    q = p + po + 2
    i1, i0 = q - 2, q - 1
    J = np.zeros((q, q))
    J[:p, :p] = jacobian_beta(Z, e, s) if J_beta is None else J_beta
    c = k * (1 - t)
    if aug:
        J[p:p + po, p:p + po] = -weighted_gram(Zo, c)
    g1 = k * t * a
    g0 = c * b
    J[i1, :p] = Z.T @ (k * t * da * (r - mu1))
    J[i0, :p] = Z.T @ (c * db * (r - mu0))
    if aug:
        J[i1, p:p + po] = -(Zo.T @ g1)
        J[i0, p:p + po] = -(Zo.T @ g0)
    J[i1, i1] = -g1.sum()
    J[i0, i0] = -g0.sum()
    pick = np.zeros(q)
    pick[i1], pick[i0] = 1.0, -1.0
    grad = np.linalg.solve(J.T, pick)  # d(mu1 - mu0) as a linear function of the summed equations
    u = (Z @ grad[:p]) * s * (t - e) + grad[i1] * g1 * (r - mu1) + grad[i0] * g0 * (r - mu0)
    if aug:
        u += (Zo @ grad[p:p + po]) * c * r
    return Effect(est, float(np.sqrt(u @ u)), mu1, mu0, u)


def mean_influence(v: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """A weighted mean sum(w v) / sum(w) and its influence values w (v - mean) / sum(w).

    The estimating equation w_i (v_i - mu) = 0 stacked beside the others; with w fixed (the
    kept treated, times their sampling weights) it does not involve the propensity model.

    Examples
    --------
    >>> mu, u = mean_influence(np.array([1.0, 3.0, 100.0]), np.array([1.0, 1.0, 0.0]))
    >>> mu, u.tolist()
    (2.0, [-0.5, 0.5, 0.0])
    """
    on = w > 0  # v may be unknown where it has no weight (a cost for the comparison persons)
    mu = float(w[on] @ v[on] / w.sum())
    return mu, np.where(on, w * (v - mu), 0.0) / w.sum()


def jacobian_beta(Z: np.ndarray, e: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Derivative of the summed propensity-score equations: -Z' diag(s e(1-e)) Z."""
    v = e * (1 - e)
    return -weighted_gram(Z, v if weights is None else weights * v)
