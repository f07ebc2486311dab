"""A propensity fit that proves overlap (`propensity.overlap_proven`) lets the ATT skip the
linear-programming test of separation (`design.lp_separated`); the proof must never say
"overlap" where the programme finds separation, and must say it on ordinary data."""

import numpy as np
import pandas as pd
import pytest

from ips_eval.models import propensity as P
from ips_eval.models.att import estimate_att
from ips_eval.models.design import lp_separated
from ips_eval.models.result import NotFitted


def _design(rng, n: int, k: int) -> np.ndarray:
    """An intercept, a few 0/1 columns (sparse, as dummies are) and one on an integer scale."""
    dummies = (rng.random((n, k)) < rng.uniform(0.05, 0.5, k)).astype(float)
    return np.column_stack([np.ones(n), dummies, rng.integers(0, 4, n)])


def test_the_proof_never_contradicts_the_linear_programme():
    """Small samples with few covariate patterns: a third or more of them separated (often
    quasi-completely, by one empty cell), the others not. Wherever the fit proves overlap the
    programme finds none, and on the larger samples the proof is found."""
    rng = np.random.default_rng(7)
    proven = separated = 0
    for i in range(300):
        n = int(rng.integers(8, 60)) if i < 240 else 600
        X = _design(rng, n, int(rng.integers(1, 4)))
        y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 1:] @ rng.normal(0, 2, X.shape[1] - 1) - 0.5)))).astype(float)
        if y.min() == y.max():
            continue
        beta, ok = P.logistic_newton(X, y, ridge=0.0)
        lp = lp_separated(X[:, 1:], y)
        proof = ok and P.overlap_proven(X, y, beta)
        assert not (proof and lp), i
        proven += proof
        separated += lp
    assert separated >= 50 and proven >= 100, (separated, proven)


def test_complete_and_quasi_complete_separation_are_never_proven_overlapping():
    x = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
    X = np.column_stack([np.ones(8), x])
    for y in (np.array([0, 0, 0, 0, 1, 1, 1, 1.0]),  # complete: x >= 2 iff y = 1
              np.array([0, 0, 0, 1, 1, 1, 1, 1.0])):  # quasi-complete: x = 1 holds both
        beta, ok = P.logistic_newton(X, y, ridge=0.0)
        assert lp_separated(x[:, None], y)
        assert not (ok and P.overlap_proven(X, y, beta))


def test_frequency_weights_of_zero_leave_rows_out_and_positive_weights_count_them():
    X = np.column_stack([np.ones(6), [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    beta, ok = P.logistic_newton(X, y, ridge=0.0)
    assert ok and P.overlap_proven(X, y, beta)
    # without row 3 (the only x = 1 with y = 0), x = 1 holds y = 1 only: quasi-separated
    w = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    beta_w, ok_w = P.logistic_newton(X, y, weights=w, ridge=0.0)
    assert lp_separated(X[w > 0, 1:], y[w > 0])
    assert not (ok_w and P.overlap_proven(X, y, beta_w, w))


def test_the_att_tells_separation_as_before_and_skips_the_programme_on_ordinary_data(monkeypatch):
    rng = np.random.default_rng(1)
    n = 400
    d = pd.DataFrame({"ips": (rng.random(n) < 0.3).astype(int), "age": rng.integers(20, 60, n),
                      "group": rng.choice(["a", "b", "c"], n), "y": rng.normal(size=n)})
    import ips_eval.models.att as att

    calls = []
    monkeypatch.setattr(att, "lp_separated", lambda *a: calls.append(1) or lp_separated(*a))
    estimate_att(d, "ips", ["y"], ["age", "group"])
    assert calls == []
    # every IPS client over 45, nobody else: separated by age, named as such
    s = d.assign(ips=(d["age"] > 45).astype(int))
    with pytest.raises(NotFitted, match="separate the treated from the comparison"):
        estimate_att(s, "ips", ["y"], ["age", "group"])
    assert calls == [1]
