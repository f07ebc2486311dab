"""Model 1 with the coach's first ratings and multiple imputation: planted odds ratios recovered by
the MI fit beside the complete-case one, Rubin's rules by hand, the imputations deterministic and
independent of the rows' order and of the number of BLAS threads."""

import json
import os
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

import model_fixtures as mf
from ips_eval.models import fit_model
from ips_eval.models.imputation import Column, impute_chained, pool
from ips_eval.models.predictors import EMPLOYMENT, fit_employment_predictors

OR_TRUST, OR_COOPERATION = 1.8, 1.4


@pytest.fixture(scope="module")
def frame():
    t = mf.clients(n=2000, seed=5, or_smi=2.0)
    t["core.coaching_clients"] = mf.coaching(t["core.client_outcomes"], OR_TRUST, OR_COOPERATION)
    return EMPLOYMENT.load_frame(mf.load(duckdb.connect(), t))


@pytest.fixture(scope="module")
def fitted(frame):
    return fit_employment_predictors(frame)


def _row(res, term, estimator):
    e = res.estimates
    return e[(e["term"] == term) & (e["estimator"] == estimator)].iloc[0]


def test_the_planted_trust_and_cooperation_odds_ratios_are_recovered_by_multiple_imputation(fitted, frame):
    assert fitted.status == "ok", fitted.reason
    for term, planted in (("trust", OR_TRUST), ("care_cooperation", OR_COOPERATION)):
        mi = _row(fitted, term, "mi")
        assert mi["ci_low"] <= planted <= mi["ci_high"] and mi["ci_low"] > 1, (term, mi)
        cc = _row(fitted, term, "complete_case")
        assert cc["ci_low"] <= planted <= cc["ci_high"]
    # MI keeps every client; complete cases drop those without an early rating
    assert _row(fitted, "trust", "mi")["n"] == len(frame)
    assert _row(fitted, "trust", "complete_case")["n"] < 0.8 * len(frame)
    d = fitted.diagnostics.set_index("diagnostic")
    assert d.loc["mi_imputations", "value"] == 20 and bool(d.loc["mi_imputations", "passed"])
    assert 0 < d.loc["mi_fmi[trust]", "value"] < 1 and d.loc["mi_df[trust]", "value"] > 1
    assert "20 imputations" in fitted.reason


def test_ratings_later_than_3_months_after_the_start_are_missing(frame):
    t = mf.clients(n=2000, seed=5, or_smi=2.0)
    coaching = mf.coaching(t["core.client_outcomes"], OR_TRUST, OR_COOPERATION)
    late = (pd.to_datetime(coaching["first_response_date"]) - pd.to_datetime(coaching["ips_start"])).dt.days > 92
    assert late.any()
    assert frame.set_index("person_id").loc[coaching.loc[late, "person_id"], "trust"].isna().all()
    assert frame.set_index("person_id").loc[coaching.loc[~late, "person_id"], "trust"].notna().all()


def test_without_coach_responses_the_two_terms_are_left_out(tmp_path):
    t = mf.clients(n=800, seed=5)
    res = fit_model("employment_predictors", mf.load(duckdb.connect(), t), tmp_path, n_imputations=2, iterations=2)
    assert res.status == "ok", res.reason
    assert not {"trust", "care_cooperation"} & set(res.estimates["term"])
    assert "trust and care_cooperation left out" in res.reason


def test_the_fit_does_not_depend_on_the_rows_order(frame):
    a = fit_employment_predictors(frame, n_imputations=3, iterations=2)
    b = fit_employment_predictors(frame.sample(frac=1, random_state=1), n_imputations=3, iterations=2)
    cols = ["term", "estimator", "estimate", "ci_low", "ci_high", "p_value", "n"]
    pd.testing.assert_frame_equal(a.estimates[cols], b.estimates[cols])
    c = fit_employment_predictors(frame, n_imputations=3, iterations=2, seed=2)
    mi = lambda r: r.estimates[r.estimates["estimator"] == "mi"]["estimate"].to_numpy()  # noqa: E731
    assert not np.array_equal(mi(a), mi(c))  # another seed, other imputations


SCRIPT = """
import json, sys
import duckdb
sys.path.insert(0, {tests!r})
import model_fixtures as mf
from ips_eval.models.predictors import EMPLOYMENT, fit_employment_predictors
t = mf.clients(n=1000, seed=5, or_smi=2.0)
t["core.coaching_clients"] = mf.coaching(t["core.client_outcomes"], 1.8, 1.4)
r = fit_employment_predictors(EMPLOYMENT.load_frame(mf.load(duckdb.connect(), t)), n_imputations=3, iterations=2)
print(json.dumps(r.estimates[["estimate", "ci_low", "ci_high"]].to_numpy().tolist()))
"""


@pytest.mark.slow
def test_the_fit_does_not_depend_on_the_number_of_blas_threads(frame):
    """Two processes, one and four BLAS threads: the same imputations and the same pooled numbers."""
    tests = os.path.dirname(os.path.abspath(__file__)).rsplit(os.sep, 1)[0]
    out = []
    for threads in ("1", "4"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        run = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests)], env=env, capture_output=True,
                             text=True, check=True)
        out.append(np.array(json.loads(run.stdout.strip().splitlines()[-1])))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-9)


def test_rubins_rules_by_hand():
    # three imputations of two coefficients
    q = np.array([[1.0, 0.5], [1.2, 0.5], [1.4, 0.5]])
    u = np.array([[0.04, 0.01], [0.05, 0.01], [0.06, 0.01]])
    r = pool(q, u, np.array([10.0, 10.0]))
    assert r.params == pytest.approx([1.2, 0.5])
    w, b = 0.05, 0.04  # mean within; between: var(1.0, 1.2, 1.4) = 0.04
    t = w + (1 + 1 / 3) * b
    assert r.total[0] == pytest.approx(t)
    lam = (4 / 3) * b / t
    df_old = 2 / lam ** 2
    df_obs = 11 / 13 * 10 * (1 - lam)
    assert r.df[0] == pytest.approx(1 / (1 / df_old + 1 / df_obs))
    # nothing between the imputations: the complete-data df, adjusted (Barnard-Rubin): 11/13 x 10
    assert r.total[1] == pytest.approx(0.01) and r.df[1] == pytest.approx(110 / 13)


def test_chained_equations_impute_observed_values_from_the_outcome_and_are_seeded():
    rng = np.random.default_rng(3)
    n = 400
    y = rng.random(n) < 0.5
    x = np.clip(np.rint(3 + 1.2 * y + rng.normal(0, 0.8, n)), 1, 5)
    g = rng.choice(["a", "b", "c"], n)
    frame = pd.DataFrame({"x": np.where(rng.random(n) < 0.4, np.nan, x), "g": np.where(rng.random(n) < 0.1, None, g)})
    fixed = pd.DataFrame({"y": y.astype(float)})
    cols = [Column("x", "numeric"), Column("g", "categorical", ("a", "b", "c"))]
    done = impute_chained(frame, cols, fixed, m=3, iterations=3, seed=1)
    again = impute_chained(frame, cols, fixed, m=3, iterations=3, seed=1)
    miss = frame["x"].isna()
    for a, b in zip(done, again):
        pd.testing.assert_frame_equal(a, b)
        assert set(a["x"]) <= set(frame["x"].dropna()) and set(a["g"]) <= {"a", "b", "c"}
        assert a.loc[~miss, "x"].equals(frame.loc[~miss, "x"])
        # the outcome is in the imputation model: imputed x is higher where y is 1, as observed x is
        assert a.loc[miss & y, "x"].mean() > a.loc[miss & ~y, "x"].mean() + 0.5
    assert not done[0]["x"].equals(done[1]["x"])  # the imputations differ from each other
