"""`estimate_att` on any DataFrame: its variance, its coverage, its result and its errors."""

import numpy as np
import pandas as pd
import pytest

from ips_eval.models import mestimation as M
from ips_eval.models.att import estimate_att
from ips_eval.models.effectiveness import fit_effectiveness
from ips_eval.synth.att import att_frame

COVARIATES = ["age", "gender", "education", "diagnosis_group", "county", "employed_months_pre12",
              "benefit_months_pre12"]


def test_sandwich_by_hand_with_an_intercept_only_propensity_model():
    # e constant: the ATT is the difference of means 4 - 2 = 2, and the sandwich reduces to
    # sum (y1 - 4)^2 / 3^2 + sum (y0 - 2)^2 / 4^2 = 2/9 + 2/16 = 0.347222, SE 0.589256.
    t = np.array([1, 1, 1, 0, 0, 0, 0])
    y = np.array([3.0, 5.0, 4.0, 1.0, 2.0, 3.0, 2.0])
    r = M.effect_with_sandwich("ipw", np.ones((7, 1)), t, y, np.full(7, 3 / 7), np.ones(7, dtype=bool))
    assert r.estimate == pytest.approx(2.0) and r.se == pytest.approx(np.sqrt(2 / 9 + 2 / 16))
    # overlap weights with a constant e weight every person alike: the same difference and SE
    o = M.effect_with_sandwich("overlap", np.ones((7, 1)), t, y, np.full(7, 3 / 7), np.ones(7, dtype=bool))
    assert o.estimate == pytest.approx(2.0) and o.se == pytest.approx(r.se)


def test_sandwich_includes_the_estimated_propensity_score():
    # With a real covariate the correction for the estimated score changes the SE: the
    # sandwich differs from the one that treats the weights as known (beta block dropped).
    f = att_frame(300, 1500, seed=3)
    res = estimate_att(f, "ips", ["employed_months_post12"], COVARIATES)
    known = res.estimate("employed_months_post12", "ipw")["se"]
    assert known > 0
    w = res.weights
    y = f.loc[w.index, "employed_months_post12"].to_numpy()
    t = w["treated"].to_numpy()
    wt = w["weight"].to_numpy()
    mu1 = y[t == 1].mean()
    mu0 = np.average(y[t == 0], weights=wt[t == 0])
    naive = np.sqrt(((y[t == 1] - mu1) ** 2).sum() / (t == 1).sum() ** 2
                    + (wt[t == 0] ** 2 * (y[t == 0] - mu0) ** 2).sum() / wt[t == 0].sum() ** 2)
    assert abs(known / naive - 1) > 0.01


@pytest.mark.slow
def test_coverage_of_the_95_percent_interval_over_seeds():
    """A shorter run of the benchmark's coverage simulation (benchmarks/effectiveness.py)."""
    n_seeds, effect = 40, 1.5
    covered, estimates, ses = 0, [], []
    for seed in range(n_seeds):
        res = estimate_att(att_frame(300, 1500, effect, seed=seed), "ips", ["employed_months_post12"], COVARIATES)
        row = res.estimate("employed_months_post12", "ipw")
        covered += row["ci_low"] <= effect <= row["ci_high"]
        estimates.append(row["estimate"])
        ses.append(row["se"])
    assert 0.9 * n_seeds <= covered, covered
    # the SE is honest: close to the spread of the estimates over the simulated studies
    assert 0.8 < np.mean(ses) / np.std(estimates, ddof=1) < 1.25
    assert abs(np.mean(estimates) - effect) < 3 * np.std(estimates, ddof=1) / np.sqrt(n_seeds)


def test_any_frame_numeric_as_is_others_dummy_coded_and_a_tidy_result():
    rng = np.random.default_rng(5)
    n = 1500
    region = rng.choice(["north", "south", "east"], n)
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(1.0 - 0.8 * x - 0.5 * (region == "north")))).astype(int)
    y = 1.0 + x + 0.5 * (region == "north") + 3.0 * t + rng.normal(size=n)
    data = pd.DataFrame({"treated": t, "y": y, "x": x, "region": region})
    res = estimate_att(data, "treated", ["y"], ["x", "region"])
    assert list(res.estimates.columns[:5]) == ["outcome", "estimator", "estimate", "ci_low", "ci_high"]
    assert list(res.diagnostics.columns[:4]) == ["diagnostic", "value", "threshold", "passed"]
    assert set(res.estimates["estimator"]) == {"ipw", "aipw", "overlap", "ipw_untrimmed"}
    for _, r in res.estimates.iterrows():
        assert r["ci_low"] <= 3.0 <= r["ci_high"], r.to_dict()
    # region dummy-coded: its levels are balance rows
    assert {"region=north", "region=south", "region=east", "x"} <= set(res.balance["covariate"])
    assert res.status == "ok"


def test_status_warning_names_the_failed_negative_control():
    f = att_frame(300, 1500, seed=4)
    f.loc[f["ips"] == 1, "employed_months_pre24_13"] += 2  # an "effect" before the programme
    res = estimate_att(f, "ips", ["employed_months_post12"], COVARIATES,
                       negative_controls={"employed_months_pre24_13": 0.5})
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["negative_control_employed_months_pre24_13", "passed"] is False
    assert res.status == "warning" and "negative_control_employed_months_pre24_13" in res.reason


def test_bad_input_is_refused_with_a_clear_message():
    f = att_frame(100, 300, seed=1)
    with pytest.raises(ValueError, match="must hold 0 and 1"):
        estimate_att(f.assign(ips=f["ips"] * 2), "ips", ["employed_months_post12"], ["age"])
    with pytest.raises(ValueError, match="not in the data: nope"):
        estimate_att(f, "ips", ["employed_months_post12"], ["nope"])
    with pytest.raises(ValueError, match="outcomes must be numeric: county"):
        estimate_att(f, "ips", ["county"], ["age"])


def test_fit_effectiveness_runs_on_the_simulated_frame():
    res = fit_effectiveness(att_frame(300, 1500, seed=6))
    assert res.status in ("ok", "warning") and res.fitted
    ipw = res.estimates[(res.estimates["term"] == "employed_months_post12") & (res.estimates["estimator"] == "ipw")]
    assert ipw["ci_low"].iloc[0] <= 1.5 <= ipw["ci_high"].iloc[0]


@pytest.mark.parametrize("values", [
    ["b", "a", None, "a"], ["b", None, np.nan, "a"], [True, False, None], [1.5, np.nan, 1.5], [None, None],
    pd.array(["x", pd.NA, "x"], dtype="string[pyarrow]"), pd.Categorical(["u", "v", None]),
], ids=["text-none", "none-and-nan", "bool-none", "float-nan", "all-none", "arrow-na", "categorical"])
def test_a_covariates_levels_are_its_values_as_text(values):
    """The propensity design names a level by the value's text: None, NaN and NA stay apart as
    they read ('None', 'nan', '<NA>'), though pandas counts them as one missing value."""
    from ips_eval.models.att import _levels

    s = pd.Series(values, index=range(10, 10 + len(values)))
    codes, labels = _levels(s)
    assert labels == sorted(set(s.astype(str)))
    assert [labels[i] for i in codes] == list(s.astype(str))
