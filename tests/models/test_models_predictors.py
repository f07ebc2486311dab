"""Model 1 (logistic GEE): planted odds ratio recovered; explicit failures."""

import duckdb
import numpy as np
import pandas as pd
import pytest

import model_fixtures as mf
from ips_eval.models import fit_all, fit_model
from ips_eval.models.design import CLIENT_COVARIATES, build_design, lp_separated


@pytest.fixture(scope="module")
def tables():
    return mf.clients(n=3000, seed=1, or_smi=2.0)


#: Few imputations where the test is about the complete-case fit (the MI tests use the default).
QUICK = {"n_imputations": 2, "iterations": 2}


def _con(tables, **replace):
    t = dict(tables)
    t.update(replace)
    return mf.load(duckdb.connect(), t)


def test_planted_odds_ratio_is_recovered(tables, tmp_path):
    res = fit_model("employment_predictors", _con(tables), tmp_path, **QUICK)
    assert res.status == "ok", res.reason
    cc = res.estimates[res.estimates["estimator"] == "complete_case"]
    smi = cc.set_index("term").loc["smi"]
    assert smi["ci_low"] <= 2.0 <= smi["ci_high"]
    assert 1.6 < smi["estimate"] < 2.5
    # a covariate with no planted effect (gender) has a CI covering 1
    g = cc.set_index("term").loc["gender[2 vs 1]"]
    assert g["ci_low"] <= 1.0 <= g["ci_high"]
    # complete cases: gender '9' (unknown) and missing education are left out and counted
    co = tables["core.client_outcomes"]
    expected = int(((co["gender"] != "9") & co["education"].notna()).sum())
    assert set(cc["n"]) == {expected}
    # beside it the multiple imputation over every client (missing covariates imputed)
    assert set(res.estimates.loc[res.estimates["estimator"] == "mi", "n"]) == {len(co)}
    assert "left out for missing values" in res.reason
    assert res.figures and res.figures[0].exists() and res.figures[0].suffix == ".png"
    assert {"n_counties", "events_per_parameter", "residual_df"} <= set(res.diagnostics["diagnostic"])
    counts = res.tables["term_counts"]
    assert counts.loc[counts["term"] == "age_group[<30 (reference)]", "n"].iloc[0] > 0


def test_unsubsidised_fits(tables, tmp_path):
    res = fit_model("unsubsidised_predictors", _con(tables), tmp_path, **QUICK)
    assert res.status == "ok"
    assert (res.estimates["model"] == "unsubsidised_predictors").all()
    assert res.estimates["estimator"].value_counts().to_dict() == {"mi": 12, "complete_case": 12}


def test_perfect_separation_is_not_fitted_and_others_still_run(tables, tmp_path):
    co = tables["core.client_outcomes"].copy()
    co["competitive"] = co["smi"]  # SMI predicts the outcome exactly
    con = _con(tables, **{"core.client_outcomes": co})
    results = fit_all(con, tmp_path, only=["employment_predictors", "unsubsidised_predictors", "job_tenure",
                                            "fidelity_outcome"], options={"unsubsidised_predictors": QUICK})
    res = results["employment_predictors"]
    assert res.status == "not_fitted"
    assert "perfect separation" in res.reason and "smi" in res.reason
    assert res.estimates.empty
    assert results["unsubsidised_predictors"].status == "ok"
    assert results["job_tenure"].fitted and results["fidelity_outcome"].fitted
    log = con.execute("SELECT model, status FROM models.fit_log ORDER BY model").df()
    assert dict(zip(log["model"], log["status"]))["employment_predictors"] == "not_fitted"
    assert con.execute("SELECT count(*) FROM models.estimates WHERE model='employment_predictors'").fetchone()[0] == 0


def test_separation_in_one_category_names_it(tables, tmp_path):
    co = tables["core.client_outcomes"].copy()
    co.loc[co["work_history"] == "3", "competitive"] = True
    res = fit_model("employment_predictors", _con(tables, **{"core.client_outcomes": co}), tmp_path)
    assert res.status == "not_fitted"
    assert "work_history[3 vs 0]" in res.reason


def test_lp_detects_separation_by_a_combination():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    assert lp_separated(X, (X[:, 0] - X[:, 1] > 0).astype(float))
    assert not lp_separated(X, (rng.random(400) < 0.5).astype(float))


def test_county_with_no_variation_in_fidelity_is_not_fitted(tables, tmp_path):
    co = tables["core.client_outcomes"].copy()
    co["fidelity_total"] = 100.0
    res = fit_model("employment_predictors", _con(tables, **{"core.client_outcomes": co}), tmp_path)
    assert res.status == "not_fitted"
    assert "fidelity_total has the same value" in res.reason


def test_county_where_nobody_got_a_job_still_fits(tables, tmp_path):
    """A county with no jobs is data, not an error: county is the cluster, not a term."""
    co = tables["core.client_outcomes"].copy()
    co.loc[co["alue"] == "Kainuu", ["competitive", "unsubsidised"]] = False
    res = fit_model("employment_predictors", _con(tables, **{"core.client_outcomes": co}), tmp_path, **QUICK)
    assert res.fitted, res.reason


def test_too_few_events_and_too_few_counties(tables, tmp_path):
    co = tables["core.client_outcomes"].copy()
    co["competitive"] = False
    co.loc[co.index[:20], "competitive"] = True
    res = fit_model("employment_predictors", _con(tables, **{"core.client_outcomes": co}), tmp_path)
    assert res.status == "not_fitted" and "too few events" in res.reason
    few = tables["core.client_outcomes"][tables["core.client_outcomes"]["alue"].isin(mf.COUNTIES[:3])]
    res = fit_model("employment_predictors", _con(tables, **{"core.client_outcomes": few}), tmp_path)
    assert res.status == "not_fitted" and "at least 5" in res.reason


def test_missing_table_or_column_is_not_fitted(tmp_path):
    con = duckdb.connect()
    res = fit_model("employment_predictors", con, tmp_path)
    assert res.status == "not_fitted" and "core.client_outcomes is missing" in res.reason
    mf.load(con, {"core.client_outcomes": pd.DataFrame({"person_id": ["a"], "competitive": [True]})})
    res = fit_model("employment_predictors", con, tmp_path)
    assert res.status == "not_fitted" and "core.coaching_clients is missing" in res.reason
    mf.load(con, {"core.coaching_clients": pd.DataFrame({"person_id": ["a"], "n_coach_responses": [0]})})
    res = fit_model("employment_predictors", con, tmp_path)
    assert res.status == "not_fitted" and "lacks column" in res.reason


def test_design_reference_levels_are_fixed(tables):
    co = tables["core.client_outcomes"]
    d = build_design(co, CLIENT_COVARIATES)
    assert d.references == {"age_group": "<30", "gender": "1", "education": "1", "work_history": "0"}
    assert "fidelity_total_per10" in d.X.columns and "smi" in d.X.columns


def test_small_cluster_inference_cr2_covariance_and_bell_mccaffrey_t(tables, tmp_path):
    """CR2 between statsmodels' plain sandwich and its Mancl-DeRouen covariance, t with each term's own df."""
    import statsmodels.api as sm
    from scipy import stats
    from statsmodels.genmod.generalized_estimating_equations import GEE

    from ips_eval.models.cluster_robust import gee_cr2

    res = fit_model("employment_predictors", _con(tables), tmp_path, **QUICK)
    co = tables["core.client_outcomes"]
    design = build_design(co, CLIENT_COVARIATES, extra=["competitive", "alue"])
    county = co.loc[design.rows, "alue"].astype(str).to_numpy()
    order = np.argsort(county, kind="stable")
    y = co.loc[design.rows, "competitive"].astype(float).to_numpy()
    exog = sm.add_constant(design.X, has_constant="add")
    gee = GEE(y[order], exog.iloc[order], groups=county[order], family=sm.families.Binomial(),
              cov_struct=sm.cov_struct.Exchangeable())
    reduced = gee.fit(maxiter=100, cov_type="bias_reduced")
    robust = gee.fit(maxiter=100)
    cr2 = gee_cr2(robust)
    j = list(robust.params.index).index("smi")
    G = len(set(county))
    d = res.diagnostics.set_index("diagnostic")
    df = d.loc["bm_df[smi]", "value"]
    assert df == pytest.approx(cr2.df[j]) and 1 < df < G - 1
    se = np.sqrt(cr2.cov[j, j])
    assert robust.bse["smi"] < se < reduced.bse["smi"]
    q = stats.t.ppf(0.975, df)
    smi = res.estimates[res.estimates["estimator"] == "complete_case"].set_index("term").loc["smi"]
    b = robust.params["smi"]
    assert smi["ci_low"] == pytest.approx(np.exp(b - q * se), rel=1e-6)
    assert smi["ci_high"] == pytest.approx(np.exp(b + q * se), rel=1e-6)
    # the county-level fidelity total has the fewest degrees of freedom: it varies between counties only
    assert d.loc["t_degrees_of_freedom", "value"] == pytest.approx(d.loc["bm_df[fidelity_total_per10]", "value"])
    assert d.loc["bm_df[fidelity_total_per10]", "value"] < d.loc["bm_df[smi]", "value"]


def test_load_fit_plot_are_separate(tables, tmp_path):
    from ips_eval.models.predictors import EMPLOYMENT, fit_employment_predictors

    frame = EMPLOYMENT.load_frame(_con(tables))
    assert len(frame) == len(tables["core.client_outcomes"])
    res = fit_employment_predictors(frame, **QUICK)  # a DataFrame in, no connection, no files
    assert res.fitted and res.figures == [] and not list(tmp_path.iterdir())
    paths = EMPLOYMENT.plot(res, tmp_path)
    assert [p.name for p in paths] == ["employment_predictors_forest.png"] and paths[0].exists()
