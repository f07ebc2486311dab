"""Model 6: IPW for the ATT recovers a planted effect, and its diagnostics are recorded."""

import duckdb
import numpy as np
import pandas as pd
import pytest

import model_fixtures as mf
from ips_eval.models import propensity as P
from ips_eval.models.effectiveness import diagnosis_group, fit_effectiveness, load_effectiveness
from ips_eval.models.registry import fit_model

N_BOOT = 50  # the bootstrap is an option; its default (1,000) is not needed to test the machinery


def _fit(con, **kwargs):
    return fit_effectiveness(load_effectiveness(con), **kwargs)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    con = mf.load(duckdb.connect(), mf.register(effect=2.0, seed=2))
    return con, fit_model("effectiveness", con, tmp_path_factory.mktemp("fig"), seed=11)


def test_planted_effect_is_recovered(planted):
    con, res = planted
    assert res.fitted, res.reason
    e = res.estimates.set_index(["term", "estimator"]).loc[("employed_months_post12", "ipw")]
    assert e["ci_low"] <= 2.0 <= e["ci_high"] and e["ci_low"] > 0
    assert set(res.estimates["term"]) == {"employed_months_post12", "earnings_post12"}
    assert set(res.estimates["estimator"]) == {"ipw", "aipw", "overlap"}
    for _, r in res.estimates.iterrows():  # every estimator recovers the planted (constant) effect
        truth = 2.0 if r["term"] == "employed_months_post12" else 2.0 * 1800 + 3000
        assert r["ci_low"] <= truth <= r["ci_high"], r.to_dict()


def test_balance_after_weighting(planted):
    _, res = planted
    b = res.tables["balance"]
    assert list(b.columns[:3]) == ["covariate", "smd_before", "smd_after"]
    assert b["smd_before"].abs().max() > 0.1  # the planted confounding is visible before weighting
    assert (b["smd_after"].abs() < 0.1).all()
    assert {"employed_months_pre12", "benefit_months_pre12", "county=Helsinki"} <= set(b["covariate"])


def test_diagnostics_rows_as_the_plan_lists(planted):
    _, res = planted
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["max_abs_smd_after_weighting", "threshold"] == 0.1 and d.loc["max_abs_smd_after_weighting", "passed"]
    assert 0 < d.loc["ess_comparison", "value"] <= 1800
    assert d.loc["equipoise", "threshold"] == 0.2 and d.loc["equipoise", "passed"]
    for control, margin in (("employed_months_pre24_13", 0.5), ("benefit_months_pre24_13", 0.5),
                            ("psych_inpatient_days_pre24_13", 7.0)):
        row = d.loc[f"negative_control_{control}"]
        assert row["threshold"] == margin and row["passed"], row.to_dict()
    assert d.loc["e_value_employed_months_post12", "value"] > 1
    assert "e_value_earnings_post12" in d.index and "n_trimmed" in d.index
    assert d.loc["n_treated_eligible", "value"] == 600
    assert d.loc["n_treated_analysed", "value"] >= 0.95 * 600
    assert "of 600 eligible" in res.reason
    assert res.status == "ok", res.reason
    assert {"balance", "effectiveness_means", "state_chronogram"} <= set(res.tables)
    assert [p.name for p in res.figures] == ["effectiveness_love_plot.png", "effectiveness_chronogram.png"]


def test_zero_effect_covers_zero_and_the_bootstrap_is_reproducible(tmp_path):
    con = mf.load(duckdb.connect(), mf.register(n_ips=400, n_cmp=1200, effect=0.0, earnings_effect=0.0, seed=4))
    a = _fit(con, seed=5, n_boot=N_BOOT, variance="bootstrap")
    e = a.estimates[a.estimates["estimator"] == "ipw"].set_index("term")
    for term in ("employed_months_post12", "earnings_post12"):
        assert e.loc[term, "ci_low"] <= 0 <= e.loc[term, "ci_high"]
    b = _fit(con, seed=5, n_boot=N_BOOT, variance="bootstrap")
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    d = a.diagnostics.set_index("diagnostic")
    assert d.loc["e_value_ci_employed_months_post12", "value"] == 1.0
    assert d.loc["bootstrap_replicates", "value"] == N_BOOT


def test_county_with_only_ips_clients_is_not_fitted(tmp_path):
    t = mf.register(n_ips=300, n_cmp=900, seed=9)
    pop = t["marts.register_outcomes"]
    pop.loc[(pop["alue"] == "Kainuu") & (pop["ips"] == 0), "alue"] = "Helsinki"
    con = mf.load(duckdb.connect(), t)
    res = _fit(con)
    assert res.status == "not_fitted"
    assert "no comparison persons in county Kainuu" in res.reason
    assert res.estimates.empty


def test_comparison_only_county_is_dropped_and_counted(tmp_path):
    t = mf.register(n_ips=300, n_cmp=900, seed=10)
    pop = t["marts.register_outcomes"]
    pop.loc[(pop["alue"] == "Kainuu") & (pop["ips"] == 1), "alue"] = "Helsinki"
    n_kainuu = int((pop["alue"] == "Kainuu").sum())
    con = mf.load(duckdb.connect(), t)
    res = _fit(con)
    assert res.fitted
    assert res.diagnostics.set_index("diagnostic").loc["n_comparison_outside_support", "value"] == n_kainuu


def test_too_few_with_follow_up_is_not_fitted(tmp_path):
    t = mf.register(n_ips=300, n_cmp=900, seed=12)
    out = t["marts.register_outcomes"]
    out.loc[out["ips"] == 1, "employed_months_post12"] = np.nan  # no IPS client has a complete window yet
    con = mf.load(duckdb.connect(), t)
    res = _fit(con)
    assert res.status == "not_fitted" and "0 IPS clients" in res.reason


def test_trimming_rule_is_on_the_preference_score_and_ignores_the_sampling_ratio():
    # Treated share 1/2: preference = propensity. Only scores above 0.99 are dropped.
    t = np.array([1, 0, 1, 0])
    ps = np.array([0.995, 0.005, 0.5, 0.99])
    assert P.keep_after_trim(P.preference_score(ps, t)).tolist() == [False, True, True, True]
    # Ten times as many comparison persons drawn: every odds and the treated share's odds fall
    # tenfold, so the preference scores, and whom the rule keeps, are the same.
    odds = ps / (1 - ps) / 10
    share = 1 / (1 + 2 * 10 / 2)  # 2 treated, 20 comparison
    pref10 = P.preference_score(odds / (1 + odds), t, share)
    np.testing.assert_allclose(pref10, P.preference_score(ps, t))
    t = np.array([1, 0, 0, 1, 1])
    w = P.att_weights(np.array([0.5, 0.2, 0.5, 0.6, 0.5]), t)
    assert w[t == 1].tolist() == [1, 1, 1] and w[t == 0].sum() == pytest.approx(3)
    assert w[1] / w[2] == pytest.approx((0.2 / 0.8) / 1.0)


def test_e_value_formula():
    # d = 0.5 SD -> RR = exp(0.455) = 1.576; E = RR + sqrt(RR (RR - 1)) = 2.529
    e, lim = P.e_value_continuous(1.0, 2.0, (0.2, 1.8))
    rr = np.exp(0.91 * 0.5)
    assert e == pytest.approx(rr + np.sqrt(rr * (rr - 1)))
    assert lim > 1 and lim < e


def test_diagnosis_groups():
    g = diagnosis_group(pd.Series(["F20.0", "F32.2", "F32.1", "F31", "F41.1", "F60", None, "f25"]))
    assert g.tolist() == ["psychosis", "severe_depression", "other_mood", "bipolar", "anxiety_stress",
                          "other_or_unknown", "other_or_unknown", "psychosis"]


def test_convergence_is_by_gradient_not_by_the_size_of_the_coefficients():
    # A covariate on a small scale has a large coefficient: a converged fit, not a failure.
    rng = np.random.default_rng(3)
    x = rng.normal(size=4000) / 100  # true coefficient 150 per unit (1.5 per SD)
    y = (rng.random(4000) < 1 / (1 + np.exp(-150 * x))).astype(float)
    X = np.column_stack([np.ones(4000), x])
    beta, ok = P.logistic_newton(X, y, ridge=0.0)
    assert ok and abs(beta[1]) > 25
    p = P.predict(X, beta)
    np.testing.assert_allclose(X.T @ (y - p), 0, atol=1e-6)  # the score is zero at the returned estimate
    # Separated data drive the coefficients to infinity and the gradient to 0: only the LP test
    # tells separation apart, and it does not confuse the large converged fit above with it.
    ys = (x > 0).astype(float)
    from ips_eval.models.design import lp_separated
    assert lp_separated(x[:, None], ys) and not lp_separated(x[:, None], y)


def test_person_weights_are_the_weighted_comparison_of_every_register_analysis(planted):
    con, res = planted
    w = res.tables["person_weights"]
    d = res.diagnostics.set_index("diagnostic")
    assert list(w.columns) == ["person_id", "ips", "weight"] and w["person_id"].is_unique
    assert w["ips"].sum() == d.loc["n_treated_analysed", "value"]
    assert (w.loc[w["ips"], "weight"] == 1).all() and (w.loc[~w["ips"], "weight"] > 0).all()
    # ATT weights e/(1-e) of the comparison persons: Kish's ESS of them is the reported one
    c = w.loc[~w["ips"], "weight"]
    assert c.sum() ** 2 / (c ** 2).sum() == pytest.approx(d.loc["ess_comparison", "value"])
    ips = set(con.execute("SELECT person_id FROM marts.register_outcomes WHERE ips").df()["person_id"])
    assert set(w.loc[w["ips"], "person_id"]) <= ips


def test_24_month_outcome_recovered_with_its_own_propensity_fit():
    # Planted: +4 employed months over 24 for IPS clients, so +4 x 1 800 = 7 200 euros of earnings.
    t = mf.register(effect=2.0, seed=2, effect_post24=4.0)
    res = _fit(mf.load(duckdb.connect(), t))
    assert res.fitted, res.reason
    e = res.estimates.set_index(["term", "estimator"])
    months, euros = e.loc[("employed_months_post24", "ipw")], e.loc[("earnings_post24", "ipw")]
    assert months["ci_low"] <= 4.0 <= months["ci_high"] and months["ci_low"] > 0
    assert euros["ci_low"] <= 7200 <= euros["ci_high"]
    # its population: the persons whose 24-month window has ended, fewer than the 12-month one
    ended = t["marts.register_outcomes"]["employed_months_post24"].notna()
    assert months["n"] <= int(ended.sum()) < e.loc[("employed_months_post12", "ipw"), "n"]
    assert "own propensity model" in res.reason
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["post24_n_treated_eligible", "value"] == int((ended & (t["marts.register_outcomes"]["ips"] == 1)).sum())
    assert "post24_max_abs_smd_after_weighting" in d.index and "max_abs_smd_after_weighting" in d.index


def test_24_month_outcome_missing_says_why():
    t = mf.register(effect=2.0, seed=2, effect_post24=4.0)
    out = t["marts.register_outcomes"]
    ips_with_window = out.index[(out["ips"] == 1) & out["employed_months_post24"].notna()]
    out.loc[ips_with_window[10:], ["employed_months_post24", "earnings_post24"]] = np.nan  # 10 IPS clients left
    res = _fit(mf.load(duckdb.connect(), t))
    assert res.fitted
    assert set(res.estimates["term"]) == {"employed_months_post12", "earnings_post12"}
    assert "24-month outcome not estimated: 10 IPS clients" in res.reason
    assert "at least 20 in each group" in res.reason
