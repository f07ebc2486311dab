"""The bootstrap of `estimate_att` computes the replicates of the plain resample-and-refit bootstrap.

A replicate is computed on the whole design with its draw counts as frequency weights and
refitted from the full-sample fit with a fixed metric (`att._bootstrap`,
`propensity.logistic_refit`). The reference below does what the analysis plan describes in
the plainest way: copy the resampled rows, refit the propensity model on them with
`logistic_newton`, re-trim, re-estimate.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import cho_factor

from ips_eval.models import att as A
from ips_eval.models import mestimation as M
from ips_eval.models import propensity as P
from ips_eval.models.design import lp_separated

SEED, N_BOOT = 11, 60
ESTIMATORS = ("ipw", "aipw", "overlap")


def _design(seed=4, n=1600):
    """Intercept, a strong normal covariate (so that some are trimmed), a count, and a factor with a
    level of 6 persons (3 treated), which some resamples leave without treated or comparison persons."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    k = rng.integers(0, 13, n).astype(float)
    level = rng.choice(3, n)
    level[:6] = 3
    lin = -2.2 + 2.5 * x - 0.05 * k + 0.4 * (level == 1)
    t = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    t[:3], t[3:6] = 1, 0
    Z = np.column_stack([np.ones(n), x, k, level == 1, level == 2, level == 3]).astype(float)
    y = 1.0 + x + 0.1 * k + 2.0 * t + rng.normal(size=n)
    cost = np.where(t == 1, rng.gamma(2.0, 1500.0, n), np.nan)  # known for the treated only, like client_cost
    return Z, t, y, cost


def _plain_bootstrap(Z, t, y, cost, beta0, share, tol):
    """The straightforward bootstrap: the same draws, the rows copied, refitted by `logistic_newton`."""
    rng = np.random.default_rng(SEED)
    it, ic = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    rows, fails = [], 0
    for _ in range(N_BOOT):
        idx = np.concatenate([rng.choice(it, len(it)), rng.choice(ic, len(ic))])
        Zb, tb, yb = Z[idx], t[idx].astype(float), y[idx]
        beta, ok = P.logistic_newton(Zb, tb, beta0, tol=tol)
        distinct = np.unique(np.column_stack([Zb[:, 1:], tb]), axis=0)
        if not ok or (np.abs(Zb @ beta).max() >= A.EDGE_LOGIT and lp_separated(distinct[:, :-1], distinct[:, -1])):
            fails += 1
            continue
        e = P.predict(Zb, beta)
        keep = P.keep_after_trim(P.preference_score(e, tb, share))
        if tb[keep].sum() == 0 or (1 - tb[keep]).sum() == 0:
            fails += 1
            continue
        k1, k0 = keep & (tb == 1), keep & (tb == 0)
        odds = e / (1 - e)
        rows.append({
            ("y", "ipw"): yb[k1].mean() - np.average(yb[k0], weights=odds[k0]),
            ("y", "aipw"): M.point_estimate("aipw", Zb, tb, yb, e, keep),
            ("y", "overlap"): M.point_estimate("overlap", Zb, tb, yb, e, np.ones(len(tb), dtype=bool)),
            "cost": cost[idx][k1].mean(),
        })
    return pd.DataFrame(rows), fails


@pytest.fixture(scope="module")
def replicates():
    Z, t, y, cost = _design()
    beta0, ok = P.logistic_newton(Z, t.astype(float), ridge=0.0)
    assert ok
    e0 = P.predict(Z, beta0)
    share = float(t.mean())
    est = pd.DataFrame({"outcome": ["y"] * 3, "estimator": list(ESTIMATORS)})
    boot, (fails, _) = A._bootstrap(Z, t, {"y": y}, beta0, share, SEED, N_BOOT, est, {"cost": cost})
    new = pd.DataFrame({k: v for k, v in boot.items()})
    return Z, t, y, cost, beta0, share, e0, new, fails


def test_the_design_exercises_trimming_and_resamples_without_a_maximum_in_one_direction(replicates):
    Z, t, y, cost, beta0, share, e0, new, fails = replicates
    assert (~P.keep_after_trim(P.preference_score(e0, t))).sum() > 0  # some persons trimmed
    # some resamples draw the rare level's treated but none of its comparison persons, or the
    # reverse: its coefficient runs off until the ridge stops it (the slow or fallback paths)
    rng = np.random.default_rng(SEED)
    it, ic = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    one_sided = 0
    for _ in range(N_BOOT):
        c = np.bincount(np.concatenate([rng.choice(it, len(it)), rng.choice(ic, len(ic))]), minlength=len(t))
        one_sided += (c[:3].sum() == 0) != (c[3:6].sum() == 0)
    assert one_sided >= 2


def test_every_replicate_equals_the_plain_bootstraps_at_the_maximum(replicates):
    # The reference refits to the maximum itself (tol 1e-20: Newton takes the step that the
    # project's tol 1e-10 may leave untaken), so both sides are the replicate's maximum-
    # likelihood fit and every estimate agrees to rounding.
    Z, t, y, cost, beta0, share, e0, new, fails = replicates
    ref, ref_fails = _plain_bootstrap(Z, t, y, cost, beta0, share, tol=1e-20)
    assert fails == ref_fails and len(new) == len(ref) == N_BOOT - fails
    for col in [("y", e) for e in ESTIMATORS]:
        np.testing.assert_allclose(new[col].to_numpy(), ref[col].to_numpy(), rtol=0, atol=1e-8, err_msg=str(col))
    np.testing.assert_allclose(new["cost"].to_numpy(), ref["cost"].to_numpy(), rtol=1e-12)
    # the replicates differ from one another far more than from the reference
    assert new[("y", "ipw")].std() > 1e-3


def test_and_the_plain_bootstrap_at_the_projects_tolerance_within_its_slack(replicates):
    # At tol 1e-10 a fit may stop a Newton step short: squared decrement up to 1e-10, i.e.
    # coefficients up to about 1e-5 / sqrt(information) from the maximum, estimates within ~1e-6.
    Z, t, y, cost, beta0, share, e0, new, fails = replicates
    ref, ref_fails = _plain_bootstrap(Z, t, y, cost, beta0, share, tol=1e-10)
    assert fails == ref_fails
    for col in [("y", e) for e in ESTIMATORS]:
        np.testing.assert_allclose(new[col].to_numpy(), ref[col].to_numpy(), rtol=0, atol=1e-5, err_msg=str(col))


def test_frequency_weights_are_copies_of_rows():
    Z, t, y, _ = _design(seed=8, n=400)
    c = np.random.default_rng(2).integers(0, 4, len(t))
    copied, ok1 = P.logistic_newton(np.repeat(Z, c, axis=0), np.repeat(t, c).astype(float), tol=1e-20)
    weighted, ok2 = P.logistic_newton(Z, t.astype(float), weights=c.astype(float), tol=1e-20)
    assert ok1 and ok2
    np.testing.assert_allclose(weighted, copied, rtol=1e-9, atol=1e-9)
    e = P.predict(Z, weighted)
    keep = np.ones(len(t), dtype=bool)
    for estimator in ESTIMATORS:
        plain = M.point_estimate(estimator, np.repeat(Z, c, axis=0), np.repeat(t, c).astype(float), np.repeat(y, c),
                                 np.repeat(e, c), np.ones(c.sum(), dtype=bool))
        assert M.point_estimate(estimator, Z, t.astype(float), y, e, keep, weights=c) == pytest.approx(plain, abs=1e-10)


def test_the_refit_falls_back_to_newton_when_the_fixed_metric_does_not_converge(monkeypatch):
    # With one chord iteration allowed the chord cannot converge, and the result is then
    # logistic_newton's from beta0, taken on to the chord's tolerance; with the usual number the
    # chord reaches the same maximum by another path (not the same bits).
    Z, t, _, _ = _design(seed=9, n=600)
    tf = t.astype(float)
    beta0, _ = P.logistic_newton(Z, tf, ridge=0.0)
    c = np.bincount(np.random.default_rng(3).choice(len(t), len(t)), minlength=len(t)).astype(float)
    p = P.predict(Z, beta0)
    metric = cho_factor(P.weighted_gram(Z, p * (1 - p)) + 1e-8 * np.eye(Z.shape[1]))
    newton, ok = P.logistic_newton(Z, tf, beta0, weights=c)
    assert ok
    newton, ok = P.logistic_newton(Z, tf, newton, weights=c, tol=1e-10 * P.CHORD_TOL_FACTOR)
    assert ok
    chord, ok2 = P.logistic_refit(Z, tf, beta0, metric, weights=c)
    assert ok2 and not np.array_equal(chord, newton)
    np.testing.assert_allclose(chord, newton, rtol=0, atol=1e-9)
    monkeypatch.setattr(P, "CHORD_MAX_ITER", 1)
    fallback, ok1 = P.logistic_refit(Z, tf, beta0, metric, weights=c)
    assert ok1 and np.array_equal(fallback, newton)


def test_one_and_two_workers_give_identical_replicates(replicates):
    # The draws are made in one sequence in the calling thread; a replicate depends on its draws
    # only: the same replicates in the same order, to the bit, whatever the number of threads.
    Z, t, y, cost, beta0, share, e0, new, fails = replicates
    est = pd.DataFrame({"outcome": ["y"] * 3, "estimator": list(ESTIMATORS)})
    two, (fails2, _) = A._bootstrap(Z, t, {"y": y}, beta0, share, SEED, N_BOOT, est, {"cost": cost}, workers=2)
    three, (fails3, _) = A._bootstrap(Z, t, {"y": y}, beta0, share, SEED, N_BOOT, est, {"cost": cost}, workers=3)
    assert fails2 == fails3 == fails
    for k in two:
        assert np.array_equal(two[k], new[k].to_numpy()) and np.array_equal(three[k], new[k].to_numpy()), k


def test_workers_reach_the_result_of_estimate_att():
    rng = np.random.default_rng(6)
    x = rng.normal(size=900)
    t = (rng.random(900) < 1 / (1 + np.exp(1.0 - x))).astype(int)
    frame = pd.DataFrame({"t": t, "x": x, "y": x + 1.0 * t + rng.normal(size=900)})
    one = A.estimate_att(frame, "t", ["y"], ["x"], variance="bootstrap", n_boot=30, seed=2)
    two = A.estimate_att(frame, "t", ["y"], ["x"], variance="bootstrap", n_boot=30, seed=2, workers=2)
    pd.testing.assert_frame_equal(one.estimates, two.estimates)
    pd.testing.assert_frame_equal(one.extra["replicates"], two.extra["replicates"])
    with pytest.raises(ValueError, match="workers must be a whole number of at least 1"):
        A.estimate_att(frame, "t", ["y"], ["x"], variance="bootstrap", n_boot=30, workers=0)
