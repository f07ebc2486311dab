"""CR2 with Bell-McCaffrey degrees of freedom: a worked example by hand, Welch's t-test as its special
case, the definition computed densely, and statsmodels' GEE covariances as its CR0 and CR3 forms."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.genmod.generalized_estimating_equations import GEE

from ips_eval.models.cluster_robust import cr2, gee_cr2


def test_the_mean_of_three_unequal_clusters_worked_by_hand():
    # y = 1 (cluster a), 3 (b), 2 and 6 (c); N = 4, the mean 3, residuals -2, 0, -1, 3.
    # Intercept only: M = 1/N and H_gg = J/N, so A_g = (I - H_gg)^(-1/2) scales the cluster's sum of
    # residuals S_g by (1 - n_g/N)^(-1/2): V = sum_g S_g^2 / (1 - n_g/N) / N^2
    #   = (4 / (3/4) + 0 / (3/4) + 4 / (1/2)) / 16 = (16/3 + 8) / 16 = 5/6.
    # Degrees of freedom: p_g = A_g 1 / N, so p_g'p_g = n_g / (N^2 (1 - n_g/N)) and
    # Xw_g'p_g = n_g / (N sqrt(1 - n_g/N)); times 64 (= N^3), U'U is
    #   [[4, -4/3, -8/sqrt(6)], [-4/3, 4, -8/sqrt(6)], [-8/sqrt(6), -8/sqrt(6), 8]]:
    # trace 16, sum of squares 16 + 16 + 64 + 2 x 16/9 + 4 x 64/6 = 1280/9, df = 256 / (1280/9) = 9/5.
    y = np.array([1.0, 3.0, 2.0, 6.0])
    r = cr2(np.ones((4, 1)), y - y.mean(), np.array(["a", "b", "c", "c"]), np.array([y.mean()]))
    assert r.cov[0, 0] == pytest.approx(5 / 6, rel=1e-12)
    assert r.df[0] == pytest.approx(9 / 5, rel=1e-12)
    from scipy import stats
    q = stats.t.ppf(0.975, 9 / 5)
    assert r.conf_int()[0] == pytest.approx([3 - q * np.sqrt(5 / 6), 3 + q * np.sqrt(5 / 6)], rel=1e-12)


def test_a_cluster_level_contrast_of_equal_clusters_is_welchs_t_test():
    # With equal cluster sizes and a cluster-level 0/1 covariate, CR2 is Welch's variance of the
    # difference in cluster means, and the Bell-McCaffrey df that of Welch-Satterthwaite with the
    # working model's equal variances (Pustejovsky & Tipton 2018, section 3).
    rng = np.random.default_rng(1)
    g1, g2, size = 3, 5, 4
    cluster = np.repeat(np.arange(g1 + g2), size)
    treated = (cluster >= g1).astype(float)
    y = rng.normal(size=len(cluster)) + rng.normal(size=g1 + g2)[cluster]
    X = np.column_stack([np.ones_like(treated), treated])
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    r = cr2(X, y - X @ b, cluster, b)
    means = pd.Series(y).groupby(cluster).mean().to_numpy()
    welch = means[:g1].var(ddof=1) / g1 + means[g1:].var(ddof=1) / g2
    assert r.cov[1, 1] == pytest.approx(welch, rel=1e-10)
    df = (1 / g1 + 1 / g2) ** 2 / (1 / (g1 ** 2 * (g1 - 1)) + 1 / (g2 ** 2 * (g2 - 1)))
    assert r.df[1] == pytest.approx(df, rel=1e-10)


def _dense(X, e, cluster):
    """The definitions with whole matrices: A_g by eigendecomposition, U = (I - H)[:, g] p_g."""
    n, p = X.shape
    M = np.linalg.inv(X.T @ X)
    H = X @ M @ X.T
    labels = np.unique(cluster)
    A = {}
    for g in labels:
        idx = np.flatnonzero(cluster == g)
        lam, V = np.linalg.eigh(np.eye(len(idx)) - H[np.ix_(idx, idx)])
        A[g] = (idx, V @ np.diag(lam ** -0.5) @ V.T)
    meat = sum(X[i].T @ a @ np.outer(e[i], e[i]) @ a @ X[i] for i, a in A.values())
    cov = M @ meat @ M
    dfs = []
    for j in range(p):
        U = np.zeros((n, len(labels)))
        for k, (i, a) in enumerate(A.values()):
            pg = np.zeros(n)
            pg[i] = a @ X[i] @ M[:, j]
            U[:, k] = (np.eye(n) - H) @ pg
        omega = U.T @ U
        dfs.append(np.trace(omega) ** 2 / np.sum(omega ** 2))
    return cov, np.array(dfs)


def test_the_rank_p_computation_equals_the_dense_definition():
    rng = np.random.default_rng(7)
    cluster = np.repeat(np.arange(6), [3, 5, 8, 4, 12, 6])
    X = np.column_stack([np.ones(len(cluster)), rng.normal(size=len(cluster)), (cluster % 2).astype(float),
                         rng.integers(0, 2, len(cluster))])
    y = X @ [1.0, 0.5, -0.3, 0.2] + rng.normal(size=len(cluster)) + rng.normal(size=6)[cluster]
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    r = cr2(X, y - X @ b, cluster, b)
    cov, df = _dense(X, y - X @ b, cluster)
    np.testing.assert_allclose(r.cov, cov, rtol=1e-9)
    np.testing.assert_allclose(r.df, df, rtol=1e-9)
    assert np.all(df < 5)  # fewer than G - 1 = 5


@pytest.mark.parametrize("structure", [sm.cov_struct.Exchangeable, sm.cov_struct.Independence])
def test_for_a_logistic_gee_cr0_and_cr3_are_statsmodels_robust_and_bias_reduced(structure):
    rng = np.random.default_rng(3)
    cluster = np.sort(rng.integers(0, 8, 600))
    x = rng.normal(size=600)
    y = (rng.random(600) < 1 / (1 + np.exp(-(0.3 + 0.8 * x + 0.4 * rng.normal(size=8)[cluster])))).astype(float)
    model = GEE(y, sm.add_constant(x), groups=cluster, family=sm.families.Binomial(), cov_struct=structure())
    robust, reduced = model.fit(cov_type="robust"), model.fit(cov_type="bias_reduced")
    np.testing.assert_allclose(gee_cr2(robust, power=0).cov, robust.cov_params(), rtol=1e-6)
    np.testing.assert_allclose(gee_cr2(reduced, power=-1).cov, reduced.cov_params(), rtol=1e-6)
    between = gee_cr2(robust)
    assert np.all(np.diag(robust.cov_params()) < np.diag(between.cov))
    assert np.all(np.diag(between.cov) < np.diag(reduced.cov_params()))
    assert np.all(between.df < 7)
