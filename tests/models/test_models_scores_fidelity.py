"""Models 4-5: mixed model of scores, paired change, county-level fidelity regression."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import model_fixtures as mf
from ips_eval.models import fit_model


@pytest.fixture(scope="module")
def tables():
    return mf.clients(n=800, seed=7, score_employed=2.0)


def test_scores_mixed_model_recovers_employment_effect(tables, tmp_path):
    con = mf.load(duckdb.connect(), tables)
    res = fit_model("scores_swemwbs", con, tmp_path)
    assert res.model == "scores_swemwbs" and res.fitted, res.reason
    e = res.estimates.set_index("term")
    assert e.loc["employed_by_then", "ci_low"] <= 2.0 <= e.loc["employed_by_then", "ci_high"]
    assert e.loc["wave", "ci_low"] <= 0.5 <= e.loc["wave", "ci_high"]
    # No interaction is planted. A 95% CI misses 0 one time in 20 (this seed is such a case; at n=8000 the
    # estimates over seeds centre on 0), so a tolerance is checked here, not coverage.
    assert abs(e.loc["wave:employed_by_then", "estimate"]) < 0.4
    assert res.figures[0].exists()


@pytest.mark.parametrize("between_sd", [1.0, 0.2])
def test_reml_start_is_the_optimum_mixedlm_reaches_with_a_tight_tolerance(between_sd):
    from statsmodels.regression.mixed_linear_model import MixedLM

    from ips_eval.models.scores import reml_start

    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(300), 3)
    X = np.column_stack([np.ones(len(g)), np.tile([0.0, 1.0, 2.0], 300), rng.integers(0, 2, len(g))])
    y = X @ [1.0, 0.5, -0.3] + between_sd * rng.normal(size=300)[g] + rng.normal(size=len(g))
    start = reml_start(y, X, g)
    tight = MixedLM(y, X, groups=g).fit(reml=True, gtol=1e-10)
    assert start is not None
    assert start[0] ** 2 == pytest.approx(tight.cov_re[0, 0] / tight.scale, rel=1e-6)
    started = MixedLM(y, X, groups=g).fit(reml=True, start_params=start)
    assert started.converged
    assert np.allclose(started.fe_params, tight.fe_params, rtol=0, atol=1e-7)
    assert np.allclose(started.bse_fe, tight.bse_fe, rtol=1e-5)


def test_reml_start_leaves_an_optimum_at_the_boundary_to_mixedlm():
    from ips_eval.models.scores import reml_start

    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(200), 3)
    X = np.column_stack([np.ones(600), np.tile([0.0, 1.0, 2.0], 200)])
    y = X @ [1.0, 0.5] + rng.normal(size=600)  # no between-client variance: the REML optimum is 0
    assert reml_start(y, X, g) is None


def test_paired_change_matches_a_hand_computation(tables, tmp_path):
    con = mf.load(duckdb.connect(), tables)
    res = fit_model("scores_inclusion", con, tmp_path)
    s = tables["marts.client_scores"]
    w = s.pivot_table(index="person_id", columns="wave", values="inclusion")[["baseline", "final"]].dropna()
    diff = w["final"] - w["baseline"]
    ch = res.tables["score_change"].iloc[0]
    assert ch["score"] == "inclusion" and ch["n_pairs"] == len(w)
    assert ch["mean_change"] == pytest.approx(diff.mean())
    lo, hi = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=stats.sem(diff))
    assert (ch["ci_low"], ch["ci_high"]) == pytest.approx((lo, hi))
    assert res.estimates.set_index("term").loc["change_baseline_to_final", "n"] == len(w)


def test_scores_response_date_from_staging_when_mart_lacks_it(tables, tmp_path):
    s = tables["marts.client_scores"]
    con = mf.load(duckdb.connect(), {**tables, "marts.client_scores": s.drop(columns="vastauspvm"),
                                     "staging.survey_responses": s[["person_id", "wave", "vastauspvm"]]})
    assert fit_model("scores_eurohis", con, tmp_path).fitted


def test_scores_nobody_employed_is_not_fitted(tables, tmp_path):
    co = tables["core.client_outcomes"].assign(first_job_start=pd.NaT)
    con = mf.load(duckdb.connect(), {**tables, "core.client_outcomes": co})
    res = fit_model("scores_swemwbs", con, tmp_path)
    assert res.status == "not_fitted" and "not employed" in res.reason


def test_fidelity_outcome_slope(tables, tmp_path):
    eo = tables["marts.employment_outcomes"].copy()
    fc = tables["marts.fidelity_current"]
    # plant: rate = 0.1 + 0.004 * total exactly -> slope per 10 points = 0.04
    rates = dict(zip(fc["alue"], 0.1 + 0.004 * fc["total"]))
    eo["rate_competitive"] = [rates.get(a, 0.5) for a in eo["alue"]]
    con = mf.load(duckdb.connect(), {**tables, "marts.employment_outcomes": eo})
    res = fit_model("fidelity_outcome", con, tmp_path)
    assert res.fitted
    assert res.estimates.iloc[0]["estimate"] == pytest.approx(0.04)
    assert res.estimates.iloc[0]["n"] == 12
    assert res.figures[0].exists()


def test_fidelity_without_variation_is_not_fitted(tables, tmp_path):
    fc = tables["marts.fidelity_current"].assign(total=100)
    con = mf.load(duckdb.connect(), {**tables, "marts.fidelity_current": fc})
    res = fit_model("fidelity_outcome", con, tmp_path)
    assert res.status == "not_fitted" and "same fidelity total" in res.reason
