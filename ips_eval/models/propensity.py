"""Propensity-score machinery for `effectiveness`: pure functions on numpy arrays.

Kept apart from the model so each piece is tested on its own: a Newton logistic fit
(fast enough to refit the propensity model in every bootstrap replicate, which a
bootstrap must do for its CI to include the uncertainty of the weights), ATT weights,
standardised mean differences, the preference score and the E-value.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve

#: Trimming rule, stated once, on the preference score (Walker et al. 2013), never on the raw
#: propensity score: persons (both groups) whose preference score is above this value are
#: dropped before weighting; the propensity model is not refitted. The preference score takes
#: the treated share out of the propensity score, so the rule does not depend on how many
#: comparison persons were drawn (raw scores shrink in proportion to that number). Only the
#: upper end is trimmed: for the effect on the treated a comparison person with a low score
#: gets a weight near 0 anyway, and an IPS client with a low score has many counterparts;
#: an IPS client with a score near 1 has almost none, and his comparisons' weights explode.
TRIM_PREFERENCE_ABOVE = 0.99


#: Rows per block of `weighted_gram`: a block of the weighted design stays a few MB, whatever n is.
GRAM_BLOCK_ROWS = 65_536


def weighted_gram(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Z' diag(w) Z, summed over blocks of rows, so that no n x p temporary is made.

    Examples
    --------
    >>> Z = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    >>> weighted_gram(Z, np.array([1.0, 2.0, 0.5])).tolist()
    [[3.5, 3.0], [3.0, 4.0]]
    """
    G = np.zeros((Z.shape[1], Z.shape[1]))
    for i in range(0, len(Z), GRAM_BLOCK_ROWS):
        block = Z[i:i + GRAM_BLOCK_ROWS]
        G += (block * w[i:i + GRAM_BLOCK_ROWS, None]).T @ block
    return G


#: The tiny ridge of the propensity fits (`logistic_newton`, `logistic_refit`): it keeps the
#: Hessian invertible when a bootstrap resample leaves a dummy column empty.
RIDGE = 1e-8


def logistic_newton(X: np.ndarray, y: np.ndarray, beta0: np.ndarray | None = None, max_iter: int = 50,
                    tol: float = 1e-10, ridge: float = RIDGE,
                    weights: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Maximum likelihood logistic regression by Newton-Raphson; X includes the intercept.

    Converged means the gradient is zero in the metric of the Hessian (the squared Newton
    decrement g' H^-1 g, which does not depend on the scale of the covariates, is below
    `tol`), not that the coefficients are small: a large coefficient of a converged fit is an
    estimate, and separation is told apart by its own test (`design.lp_separated`). A tiny
    ridge keeps the Hessian invertible when a bootstrap resample leaves a dummy column empty
    (that coefficient is then 0 and the fitted probabilities unaffected).
    `weights` (one per row, default 1) are frequency weights: a row of weight 3 counts as three
    copies of it, and a row of weight 0 as absent, so a bootstrap resample is fitted on the
    whole design with its draw counts as weights, without copying the rows.
    Returns (beta, converged).

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0.0, 1.0, 0.0, 1.0]])
    >>> beta, ok = logistic_newton(X, np.array([0.0, 0.0, 1.0, 1.0]))
    >>> ok, bool(np.allclose(beta, 0, atol=1e-6))
    (True, True)

    A weight of 2 counts the row twice: at x = 1, y = 1 in 2 of 3 rows, so the fitted odds there are 2.

    >>> beta, ok = logistic_newton(X, np.array([0.0, 0.0, 1.0, 1.0]), weights=np.array([1.0, 1.0, 1.0, 2.0]))
    >>> ok, round(float(beta[0]), 6), round(float(np.exp(beta.sum())), 6)
    (True, 0.0, 2.0)
    """
    beta = np.zeros(X.shape[1]) if beta0 is None else beta0.copy()
    for _ in range(max_iter):
        eta = np.clip(X @ beta, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        W = p * (1 - p)
        if weights is not None:
            W = weights * W
            grad = X.T @ (weights * (y - p)) - ridge * beta
        else:
            grad = X.T @ (y - p) - ridge * beta
        H = weighted_gram(X, W) + ridge * np.eye(X.shape[1])
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            return beta, False
        if not np.all(np.isfinite(step)):
            return beta, False
        if float(grad @ step) < tol:
            return beta, True
        beta = beta + step
    return beta, False


#: Chord iterations of `logistic_refit` before it gives up on the fixed metric: a resample that
#: needs more (a level almost or wholly left out of it, separation) is fitted by full Newton.
CHORD_MAX_ITER = 40
#: The chord stops when the squared Newton decrement in the fixed metric is below tol times this:
#: it converges linearly, so stopping just below tol would leave the fit about sqrt(tol) from
#: the maximum, where Newton's quadratic convergence lands far closer; the next iterations cost
#: two matrix-vector products each.
CHORD_TOL_FACTOR = 1e-8
#: Earlier chord iterates combined into the next one (`_anderson`).
CHORD_MEMORY = 6


def logistic_refit(X: np.ndarray, y: np.ndarray, beta0: np.ndarray, metric, weights: np.ndarray | None = None,
                   tol: float = 1e-10, ridge: float = RIDGE) -> tuple[np.ndarray, bool]:
    """The maximum of a (weighted) logistic likelihood near a known fit, as `logistic_newton` finds it.

    For a bootstrap replicate: from `beta0`, the full-sample fit, chord iterations (Newton
    with the Hessian held at `metric`, the Cholesky factor of the full-sample Hessian plus the
    ridge, from `scipy.linalg.cho_factor`, factorised once for every replicate) cost two
    matrix-vector products each, where a Newton iteration forms the weighted Gram matrix.
    They stop when the squared decrement in that metric is below `tol * CHORD_TOL_FACTOR`;
    `logistic_newton` with the same weights then confirms convergence by its own criterion,
    at the replicate's own Hessian and that smaller tolerance (one Gram matrix; a Newton step
    more when a direction the resample holds little information on is not yet there), so
    the fit meets `logistic_newton`'s criterion with a margin and is the maximum to rounding.
    When the chord does not converge within `CHORD_MAX_ITER` iterations, the confirmation
    fails, or `metric` is None, the result is `logistic_newton`'s from `beta0` at `tol`,
    taken on to the smaller tolerance when it gets there.
    Returns (beta, converged).

    Examples
    --------
    >>> from scipy.linalg import cho_factor
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(500), rng.normal(size=500)])
    >>> y = (rng.random(500) < 1 / (1 + np.exp(-X[:, 1]))).astype(float)
    >>> beta0, _ = logistic_newton(X, y, ridge=0.0)
    >>> p = predict(X, beta0)
    >>> metric = cho_factor(weighted_gram(X, p * (1 - p)) + 1e-8 * np.eye(2))
    >>> c = np.bincount(rng.choice(500, 500), minlength=500).astype(float)
    >>> fast, ok = logistic_refit(X, y, beta0, metric, weights=c)
    >>> plain, _ = logistic_newton(X, y, beta0, weights=c)
    >>> ok, bool(np.allclose(fast, plain, rtol=0, atol=1e-9))
    (True, True)
    """
    w = np.ones(len(y)) if weights is None else weights
    if metric is not None:
        beta = beta0.copy()
        seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (beta, step, grad), the last few
        for _ in range(CHORD_MAX_ITER):
            grad = X.T @ (w * (y - predict(X, beta))) - ridge * beta
            step = cho_solve(metric, grad)
            if not np.all(np.isfinite(step)):
                break
            if float(grad @ step) < tol * CHORD_TOL_FACTOR:
                done, ok = logistic_newton(X, y, beta, tol=tol * CHORD_TOL_FACTOR, ridge=ridge, weights=weights)
                if ok:
                    return done, ok
                break
            seen = [*seen[-CHORD_MEMORY:], (beta, step, grad)]
            beta = beta + step if len(seen) == 1 else _anderson(seen)
    beta, ok = logistic_newton(X, y, beta0, tol=tol, ridge=ridge, weights=weights)
    if ok:  # at the maximum to rounding, as the chord's fits are (not for a separated resample)
        done, closer = logistic_newton(X, y, beta, tol=tol * CHORD_TOL_FACTOR, ridge=ridge, weights=weights)
        if closer:
            return done, closer
    return beta, ok


def _anderson(seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """The next chord iterate, extrapolated from the last few (Anderson mixing; Walker & Ni 2011).

    The chord's steps f = M^-1 g (M the fixed metric) shrink geometrically, slowest in the few
    directions where the resample's Hessian differs most from M (a rare level): the
    combination of the last steps with the smallest step, measured in the metric M
    (||f||_M^2 = g' M^-1 g, the decrement), removes those directions, as a Krylov method
    would, from vectors already computed: no further pass over the data.
    """
    b, f, g = (np.column_stack(v) for v in zip(*seen))
    dX, dF, dG = np.diff(b), np.diff(f), np.diff(g)
    # min over gamma of ||f_k - dF gamma||_M: normal equations dF' M dF = dF' dG, dF' M f_k = dF' g_k
    gamma = np.linalg.lstsq(dF.T @ dG, dF.T @ g[:, -1], rcond=None)[0]
    return b[:, -1] + f[:, -1] - (dX + dF) @ gamma


#: Below this smallest w_i |y_i - p_i| a fit proves nothing (`overlap_proven`): the rounding of
#: the score would no longer be small beside it, and the linear programme decides.
OVERLAP_PROOF_FLOOR = 1e-8


def overlap_proven(X: np.ndarray, y: np.ndarray, beta: np.ndarray, weights: np.ndarray | None = None) -> bool:
    """True when a fit at `beta` proves that the data are not separated, so that the
    maximum-likelihood estimate exists and the linear-programming test
    (`design.lp_separated`) would find no separation; False says nothing either way.

    By Stiemke's theorem, exactly one holds: some direction b has s_i x_i'b >= 0 for every
    row (s_i = 2 y_i - 1), not all 0 (separation), or some lambda > 0 has sum lambda_i s_i
    x_i = 0. A fit's score g = sum w_i (y_i - p_i) x_i is such a sum with lambda_i = w_i
    |y_i - p_i| > 0; the smallest change mu of lambda that makes it 0 has
    |mu|_2^2 = g'(X'X)^-1 g, so when that is below the smallest lambda_i the sum with lambda +
    mu, still positive, is 0. Rows of weight 0 are absent.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0.0, 1.0, 0.0, 1.0]])
    >>> overlap_proven(X, np.array([0.0, 0.0, 1.0, 1.0]), np.zeros(2))
    True
    >>> overlap_proven(X, np.array([0.0, 1.0, 0.0, 1.0]), np.array([-20.0, 40.0]))  # x = 1 iff y = 1
    False
    """
    present = slice(None) if weights is None else weights > 0
    X, y = X[present], y[present]
    w = np.ones(len(y)) if weights is None else weights[present]
    if len(y) == 0:
        return False
    residual = y - predict(X, beta)
    smallest = float(np.min(w * np.abs(residual)))
    if not smallest > OVERLAP_PROOF_FLOOR:
        return False
    g = X.T @ (w * residual)
    try:
        squared = float(g @ np.linalg.solve(weighted_gram(X, np.ones(len(y))), g))
    except np.linalg.LinAlgError:
        return False
    # a margin of two for the rounding of g and of the solve
    return bool(np.isfinite(squared) and 0 <= squared and 2 * np.sqrt(squared) < smallest)


def predict(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))


def keep_after_trim(preference: np.ndarray, above: float | None = TRIM_PREFERENCE_ABOVE) -> np.ndarray:
    """Persons kept by the trimming rule: preference score at most `above` (None: everyone).

    Examples
    --------
    >>> keep_after_trim(np.array([0.2, 0.995])).tolist(), keep_after_trim(np.array([0.2, 0.995]), None).tolist()
    ([True, False], [True, True])
    """
    if above is None:
        return np.ones(len(preference), dtype=bool)
    return preference <= above


def att_weights(ps: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """ATT weights: 1 for the treated, ps/(1-ps) for comparisons, rescaled to sum to n_treated."""
    w = np.where(treated == 1, 1.0, ps / (1 - ps))
    c = treated == 0
    w[c] *= treated.sum() / w[c].sum()
    return w


def weighted_difference(y: np.ndarray, treated: np.ndarray, w: np.ndarray) -> float:
    t, c = treated == 1, treated == 0
    return float(np.average(y[t], weights=w[t]) - np.average(y[c], weights=w[c]))


def smd(x: np.ndarray, treated: np.ndarray, w: np.ndarray | None = None, sd: float | None = None) -> float:
    """Standardised mean difference (treated - comparison); SD pooled from the unweighted groups.

    Using the unweighted SD both before and after weighting (Austin & Stuart 2015) means a
    change in the SMD reflects the change in means only.
    """
    t, c = treated == 1, treated == 0
    if sd is None:
        sd = pooled_sd(x, treated)
    if not sd > 0:
        return np.nan
    wt = None if w is None else w[t]
    wc = None if w is None else w[c]
    return float((np.average(x[t], weights=wt) - np.average(x[c], weights=wc)) / sd)


def pooled_sd(x: np.ndarray, treated: np.ndarray) -> float:
    t, c = treated == 1, treated == 0
    return float(np.sqrt((np.var(x[t], ddof=1) + np.var(x[c], ddof=1)) / 2))


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's ESS: (sum w)^2 / sum w^2."""
    return float(w.sum() ** 2 / (w**2).sum())


def preference_score(ps: np.ndarray, treated: np.ndarray, share: float | None = None,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """Walker et al. (2013): the propensity score with the treated share taken out.

    logit(F) = logit(ps) - logit(p), p the treated share (given as `share` in a bootstrap
    replicate, where it is fixed by the stratified resampling).
    """
    if share is None:
        p = treated.mean() if weights is None else float(weights @ treated / weights.sum())
    else:
        p = share
    ps = np.clip(ps, 1e-12, 1 - 1e-12)
    logit = np.log(ps / (1 - ps)) - np.log(p / (1 - p))
    return 1 / (1 + np.exp(-logit))


def e_value_continuous(diff: float, sd: float, ci: tuple[float, float]) -> tuple[float, float]:
    """E-value of a mean difference and of its CI limit nearest the null (VanderWeele & Ding 2017).

    The difference is turned into an approximate risk ratio RR = exp(0.91 * diff / sd)
    (standardised by the outcome's SD); E = RR + sqrt(RR (RR - 1)) for RR >= 1 (1/RR below 1).
    A CI that covers 0 has E-value 1 for its limit.
    """

    def ev(d: float) -> float:
        rr = np.exp(0.91 * abs(d) / sd)
        return float(rr + np.sqrt(rr * (rr - 1)))

    if not sd > 0 or not np.isfinite(diff):
        return np.nan, np.nan
    lo, hi = ci
    if lo <= 0 <= hi:
        limit = 1.0
    else:
        limit = ev(lo if diff > 0 else hi)
    return ev(diff), limit
