"""Cluster-robust variance for few clusters: CR2 with Bell-McCaffrey degrees of freedom.

With about a dozen counties the plain cluster sandwich (CR0) is too small, and even a corrected
covariance needs a t reference with far fewer degrees of freedom than G - 1 when the clusters
differ in size or a covariate varies between a few clusters only. Following Bell & McCaffrey
(2002) and Pustejovsky & Tipton (2018, "Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models", JBES 36(4)), as R's clubSandwich
(`vcovCR(type = "CR2")`, `coef_test(test = "Satterthwaite")`) computes them:

- the model is written as a linear one in "whitened" form: `Xw` and `ew`, each cluster's rows
  multiplied by the inverse square root of its working covariance (for least squares the data
  themselves; for a GEE `V_g^(-1/2) D_g` and `V_g^(-1/2) (y_g - mu_g)`), so that the bread is
  `M = (Xw' Xw)^(-1)` and the CR0 meat `sum_g Xw_g' ew_g ew_g' Xw_g`;
- CR2 replaces `ew_g` by `A_g ew_g`, `A_g = (I - H_gg)^(-1/2)`, `H_gg = Xw_g M Xw_g'` (symmetric
  square root; a direction of leverage 1 gets the Moore-Penrose inverse, i.e. is dropped);
  with the same working model CR2 is unbiased, where CR0 is biased down and CR3 (Mancl-DeRouen's
  `(I - H_gg)^(-1)`) up;
- the degrees of freedom of coefficient `j` are Satterthwaite's: with `p_g = A_g Xw_g M e_j`,
  the CR2 variance is `e' U U' e` for `e ~ N(0, I)` under the working model, `U` having the
  columns `u_g = (I - H)[:, g] p_g`, so `df = tr(U'U)^2 / tr((U'U)^2)`, where
  `(U'U)_gh = [g = h] p_g'p_g - (Xw_g'p_g)' M (Xw_h'p_h)` (I - H being idempotent).

Every cluster's matrices are handled through their rank-p parts, so the work is linear in the
number of persons (a county of 20 000 clients needs no 20 000 x 20 000 matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Models clustered by county: fewer counties than MIN_COUNTIES are not fitted (no usable cluster
#: variance), fewer than WARN_COUNTIES give a warning (the intervals rest on a handful of clusters).
MIN_COUNTIES = 5
WARN_COUNTIES = 10
#: Eigenvalues of H_gg this close to 1 are leverage 1 (the cluster alone determines a direction).
LEVERAGE_ONE = 1e-10


@dataclass(frozen=True)
class ClusterRobust:
    """A CR2 covariance with the Bell-McCaffrey degrees of freedom of each coefficient."""

    params: np.ndarray
    cov: np.ndarray
    df: np.ndarray
    n_clusters: int

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """`params -/+ t(1 - alpha/2; df_j) x SE_j`, one row per coefficient."""
        q = stats.t.ppf(1 - alpha / 2, self.df)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])

    def pvalues(self) -> np.ndarray:
        """Two-sided p-values of the t statistics with each coefficient's degrees of freedom."""
        return 2 * stats.t.sf(np.abs(self.params / self.bse), self.df)


def _adjust(Xg: np.ndarray, M: np.ndarray, M_half: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The rank-p parts of `(I - H_gg)^power`: (Q, factors) with `(I - H)^power = I + Q diag(factors) Q'`."""
    S = M_half @ (Xg.T @ Xg) @ M_half
    lam, V = np.linalg.eigh((S + S.T) / 2)
    keep = lam > 1e-14
    lam, V = lam[keep], V[:, keep]
    Q = Xg @ M_half @ V / np.sqrt(lam)
    one = lam >= 1 - LEVERAGE_ONE
    factors = np.where(one, -1.0, np.power(np.clip(1 - lam, LEVERAGE_ONE, None), power) - 1)
    return Q, factors, float(lam.max(initial=0.0))


def cr2(Xw: np.ndarray, ew: np.ndarray, clusters: np.ndarray, params: np.ndarray | None = None,
        power: float = -0.5) -> ClusterRobust:
    """CR2 covariance and Bell-McCaffrey degrees of freedom from the whitened design and residuals.

    Parameters
    ----------
    Xw : n x p whitened design (for ordinary least squares: the design).
    ew : n whitened residuals (for ordinary least squares: the residuals).
    clusters : n cluster labels.
    params : the coefficients (kept with the result for intervals); zeros when not given.
    power : -0.5 is CR2; -1 gives the Mancl-DeRouen (CR3-type) covariance, 0 the plain CR0
        (the degrees of freedom are always those of CR2's working-model argument with this power).

    Examples
    --------
    The mean of three clusters' observations, worked by hand in tests/models/test_cluster_robust.py:

    >>> y = np.array([1.0, 3.0, 2.0, 6.0])
    >>> r = cr2(np.ones((4, 1)), y - y.mean(), np.array(["a", "b", "c", "c"]), np.array([y.mean()]))
    >>> round(float(r.cov[0, 0]), 6), round(float(r.df[0]), 6)
    (0.833333, 1.8)
    """
    Xw = np.asarray(Xw, dtype=float)
    ew = np.asarray(ew, dtype=float)
    n, p = Xw.shape
    M = np.linalg.inv(Xw.T @ Xw)
    lam, V = np.linalg.eigh((M + M.T) / 2)
    M_half = V @ np.diag(np.sqrt(np.clip(lam, 0, None))) @ V.T
    codes, index = np.unique(np.asarray(clusters), return_inverse=True)
    G = len(codes)
    meat_parts = np.zeros((G, p))
    norms = np.zeros((G, p))  # ||p_g^(j)||^2 for each coefficient j
    Qs = np.zeros((G, p, p))  # Xw_g' P_g: column j is Xw_g' p_g^(j)
    order = np.argsort(index, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(index, minlength=G))]
    for g in range(G):
        rows = order[bounds[g]:bounds[g + 1]]
        Xg, eg = Xw[rows], ew[rows]
        Q, f, _ = _adjust(Xg, M, M_half, power)
        Qf = Q * f
        meat_parts[g] = Xg.T @ eg + (Xg.T @ Qf) @ (Q.T @ eg)
        # P_g = A_g Xw_g M with the CR2 adjustment (the df belong to CR2's working-model argument)
        Q2, f2, _ = _adjust(Xg, M, M_half, -0.5) if power != -0.5 else (Q, f, 0.0)
        AX = Xg + (Q2 * f2) @ (Q2.T @ Xg)
        P = AX @ M
        norms[g] = np.einsum("ij,ij->j", P, P)
        Qs[g] = Xg.T @ P
    cov = M @ (meat_parts.T @ meat_parts) @ M
    df = np.empty(p)
    for j in range(p):
        q = Qs[:, :, j]  # G x p
        omega = np.diag(norms[:, j]) - q @ M @ q.T
        df[j] = np.trace(omega) ** 2 / np.sum(omega * omega)
    return ClusterRobust(params=np.zeros(p) if params is None else np.asarray(params, dtype=float), cov=cov, df=df,
                         n_clusters=G)


def exchangeable_inverse_root(values: np.ndarray, rho: float) -> np.ndarray:
    """`R^(-1/2) v` for the exchangeable correlation `R = (1 - rho) I + rho 11'` of one cluster.

    R's eigenvalues are `1 - rho + n rho` along the ones vector and `1 - rho` across it, so the
    symmetric inverse root scales the cluster mean and the deviations from it apart.

    Examples
    --------
    >>> R = 0.7 * np.eye(3) + 0.3
    >>> v = np.array([[1.0], [2.0], [4.0]])
    >>> w = exchangeable_inverse_root(v, 0.3)
    >>> bool(np.allclose(w.T @ w, v.T @ np.linalg.inv(R) @ v))
    True
    """
    n = len(values)
    mean = values.mean(axis=0, keepdims=True)
    return (values - mean) / np.sqrt(1 - rho) + mean / np.sqrt(1 - rho + n * rho)


def gee_cr2(result, power: float = -0.5) -> ClusterRobust:
    """CR2 and Bell-McCaffrey degrees of freedom of a fitted statsmodels logistic GEE with exchangeable
    (or independence) working correlation.

    Whitened by each cluster's working covariance `V_g = A_g^(1/2) R_g A_g^(1/2)` (`A` the binomial
    variances; the scale cancels): `Xw_g = R_g^(-1/2) A_g^(1/2) X_g`, `ew_g = R_g^(-1/2) A_g^(-1/2)
    (y_g - mu_g)`. With `power=0` this is statsmodels' robust covariance, with `power=-1` its
    `bias_reduced` one (tests/models/test_cluster_robust.py checks both).

    Examples
    --------
    >>> robust = gee_cr2(gee_result)  # doctest: +SKIP
    >>> robust.conf_int()  # doctest: +SKIP
    """
    model = result.model
    X = np.asarray(model.exog, dtype=float)
    y = np.asarray(model.endog, dtype=float)
    groups = np.asarray(model.groups)
    mu = model.family.link.inverse(X @ np.asarray(result.params))
    a = mu * (1 - mu)
    kind = type(result.cov_struct).__name__
    if kind not in ("Exchangeable", "Independence"):
        raise ValueError(f"gee_cr2 whitens exchangeable or independence working correlations, not {kind}")
    rho = float(np.atleast_1d(result.cov_struct.dep_params)[0]) if kind == "Exchangeable" else 0.0
    Xa = X * np.sqrt(a)[:, None]
    ea = (y - mu) / np.sqrt(a)
    Xw, ew = np.empty_like(Xa), np.empty_like(ea)
    for g in pd.unique(groups):
        rows = np.flatnonzero(groups == g)
        Xw[rows] = exchangeable_inverse_root(Xa[rows], rho)
        ew[rows] = exchangeable_inverse_root(ea[rows, None], rho)[:, 0]
    return cr2(Xw, ew, groups, np.asarray(result.params), power=power)
