"""Model 6: IPW for the ATT recovers a planted effect, and its diagnostics are recorded."""

import duckdb
import numpy as np
import pandas as pd
import pytest

import model_fixtures as mf
from ips_eval.models import fit_effectiveness
from ips_eval.models import propensity as P
from ips_eval.models.effectiveness import diagnosis_group

N_BOOT = 500


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    con = mf.load(duckdb.connect(), mf.register(effect=2.0, seed=2))
    return con, fit_effectiveness(con, tmp_path_factory.mktemp("fig"), seed=11, n_boot=N_BOOT)


def test_planted_effect_is_recovered(planted):
    con, res = planted
    assert res.fitted, res.reason
    e = res.estimates.set_index("term").loc["employed_months_post12"]
    assert e["ci_low"] <= 2.0 <= e["ci_high"] and e["ci_low"] > 0
    assert set(res.estimates["term"]) == {"employed_months_post12", "earnings_post12"}
    earn = res.estimates.set_index("term").loc["earnings_post12"]
    assert earn["ci_low"] <= 2.0 * 1800 + 3000 <= earn["ci_high"]


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
    assert d.loc["placebo_employed_months_pre24_13", "passed"]  # CI covers 0
    assert d.loc["e_value_employed_months_post12", "value"] > 1
    assert "e_value_earnings_post12" in d.index and "n_trimmed" in d.index
    assert d.loc["bootstrap_replicates", "value"] == N_BOOT
    assert res.status == "ok"
    assert {"balance", "effectiveness_means", "state_chronogram"} <= set(res.tables)
    assert [p.name for p in res.figures] == ["effectiveness_love_plot.png", "effectiveness_chronogram.png"]


def test_zero_effect_covers_zero_and_is_reproducible(tmp_path):
    con = mf.load(duckdb.connect(), mf.register(n_ips=400, n_cmp=1200, effect=0.0, earnings_effect=0.0, seed=4))
    a = fit_effectiveness(con, tmp_path, seed=5, n_boot=N_BOOT)
    e = a.estimates.set_index("term")
    for term in ("employed_months_post12", "earnings_post12"):
        assert e.loc[term, "ci_low"] <= 0 <= e.loc[term, "ci_high"]
    b = fit_effectiveness(con, tmp_path, seed=5, n_boot=N_BOOT)
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    ev = a.diagnostics.set_index("diagnostic").loc["e_value_ci_employed_months_post12", "value"]
    assert ev == 1.0


def test_placebo_and_benefit_months_from_register_months(tmp_path):
    t = mf.register(n_ips=300, n_cmp=900, seed=8, with_mart_columns=False)
    assert "employed_months_pre24_13" not in t["marts.register_outcomes"]
    con = mf.load(duckdb.connect(), t)
    res = fit_effectiveness(con, tmp_path, seed=1, n_boot=N_BOOT)
    assert res.fitted, res.reason
    assert "benefit_months_pre12" in set(res.tables["balance"]["covariate"])


def test_county_with_only_ips_clients_is_not_fitted(tmp_path):
    t = mf.register(n_ips=300, n_cmp=900, seed=9)
    pop = t["staging.register_population"]
    pop.loc[(pop["alue"] == "Kainuu") & (pop["ips"] == 0), "alue"] = "Helsinki"
    con = mf.load(duckdb.connect(), t)
    res = fit_effectiveness(con, tmp_path, seed=1, n_boot=N_BOOT)
    assert res.status == "not_fitted"
    assert "no comparison persons in county Kainuu" in res.reason
    assert res.estimates.empty


def test_comparison_only_county_is_dropped_and_counted(tmp_path):
    t = mf.register(n_ips=300, n_cmp=900, seed=10)
    pop = t["staging.register_population"]
    pop.loc[(pop["alue"] == "Kainuu") & (pop["ips"] == 1), "alue"] = "Helsinki"
    n_kainuu = int((pop["alue"] == "Kainuu").sum())
    con = mf.load(duckdb.connect(), t)
    res = fit_effectiveness(con, tmp_path, seed=1, n_boot=N_BOOT)
    assert res.fitted
    assert res.diagnostics.set_index("diagnostic").loc["n_comparison_outside_support", "value"] == n_kainuu


def test_too_few_with_follow_up_is_not_fitted(tmp_path):
    t = mf.register(n_ips=300, n_cmp=900, seed=12)
    out = t["marts.register_outcomes"]
    out.loc[out["ips"] == 1, "employed_months_post12"] = np.nan  # no IPS client has a complete window yet
    con = mf.load(duckdb.connect(), t)
    res = fit_effectiveness(con, tmp_path, seed=1, n_boot=N_BOOT)
    assert res.status == "not_fitted" and "0 IPS clients" in res.reason


def test_trimming_rule_and_weights():
    ps = np.array([0.005, 0.2, 0.5, 0.995, 0.8])
    assert P.keep_after_trim(ps).tolist() == [False, True, True, False, True]
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
