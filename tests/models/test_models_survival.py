"""Models 2-3: Kaplan-Meier worked by hand, Aalen-Johansen, Cox with planted hazard ratio."""

import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter

import model_fixtures as mf
from ips_eval.models import fit_model, write_result
from ips_eval.models.survival import aalen_johansen


def _jobs(days, ended, alue="Helsinki"):
    n = len(days)
    return pd.DataFrame({"person_id": [f"J{i}" for i in range(n)], "alue": alue, "job_days": days,
                         "ongoing": [not e for e in ended], "is_first": True})


def test_km_by_hand_equals_step_table(tmp_path):
    # Six first jobs: lengths 2, 3, 3+, 5, 7+, 8 days (+ = ongoing at C, censored).
    # Product-limit S(t) = prod over event times t_j <= t of (1 - d_j / n_j):
    #   t=2: n=6, d=1          S = 5/6                 = 0.8333
    #   t=3: n=5, d=1, c=1     S = 5/6 * 4/5   = 4/6   = 0.6667
    #   t=5: n=3, d=1          S = 4/6 * 2/3   = 8/18  = 0.4444
    #   t=7: n=2, d=0, c=1     S unchanged             = 0.4444
    #   t=8: n=1, d=1          S = 8/18 * 0/1          = 0
    con = mf.load(duckdb.connect(), {"core.competitive_jobs": _jobs([2, 3, 3, 5, 7, 8], [1, 1, 0, 1, 0, 1])})
    res = fit_model("job_tenure", con, tmp_path)
    assert res.status == "ok", res.reason
    km = res.tables["km_job_tenure"]
    km = km[km["group"] == "ALL"].set_index("time")
    assert list(km.index) == [0, 2, 3, 5, 7, 8]
    assert list(km["n_at_risk"]) == [6, 6, 5, 3, 2, 1]
    assert list(km["n_events"]) == [0, 1, 1, 1, 0, 1]
    assert list(km["n_censored"]) == [0, 0, 1, 0, 1, 0]
    np.testing.assert_allclose(km["estimate"], [1, 5 / 6, 4 / 6, 8 / 18, 8 / 18, 0])
    # Greenwood with the log(-log) interval at t=2: var = 1/(6*5) / log(5/6)^2
    s = 5 / 6
    se = np.sqrt(1 / 30) / abs(np.log(s))
    np.testing.assert_allclose(km.loc[2, ["ci_low", "ci_high"]].astype(float), [s ** np.exp(1.96 * se), s ** np.exp(-1.96 * se)],
                               rtol=1e-3)
    write_result(con, res)
    stored = con.execute("SELECT * FROM models.km_job_tenure WHERE \"group\"='ALL' ORDER BY time").df()
    assert list(stored.columns[:9]) == ["model", "group", "time", "n_at_risk", "n_events", "n_censored",
                                        "estimate", "ci_low", "ci_high"]


def test_job_tenure_shares_at_6_and_12_months(tmp_path):
    # 4 jobs: 100 days ended, 190 ended, 200 ongoing, 400 ended.
    # S(182.6-) : events before 182.6 days: t=100 (n=4) -> 3/4; share lasting 6 months = 0.75
    # S(365.25-): then t=190 (n=3) -> 3/4*2/3 = 0.5; t=200 censored; share lasting 12 months = 0.5
    con = mf.load(duckdb.connect(), {"core.competitive_jobs": _jobs([100, 190, 200, 400], [1, 1, 0, 1])})
    res = fit_model("job_tenure", con, tmp_path)
    e = res.estimates.set_index("term")["estimate"]
    assert e["share_lasting_6m"] == pytest.approx(0.75)
    assert e["share_lasting_12m"] == pytest.approx(0.5)
    assert e["median_days"] == 190  # first time with S(t) <= 0.5


def test_job_tenure_without_jobs_is_not_fitted(tmp_path):
    con = mf.load(duckdb.connect(), {"core.competitive_jobs": _jobs([5], [1]).iloc[:0]})
    res = fit_model("job_tenure", con, tmp_path)
    assert res.status == "not_fitted" and "no rows" in res.reason


def test_aalen_johansen_by_hand():
    # times/events: 1 job, 2 service end (competing), 3 job, 4 censored, 5 job
    #   t=1: n=5, d1=1   F = 1/5 = 0.2,           S = 4/5
    #   t=2: n=4, d2=1   F = 0.2,                 S = 4/5 * 3/4 = 3/5
    #   t=3: n=3, d1=1   F = 0.2 + 3/5 * 1/3 = 0.4, S = 2/5
    #   t=4: censored
    #   t=5: n=1, d1=1   F = 0.4 + 2/5 * 1/1 = 0.8
    aj = aalen_johansen([1, 2, 3, 4, 5], [1, 2, 1, 0, 1]).set_index("time")
    np.testing.assert_allclose(aj["cif"], [0, 0.2, 0.2, 0.4, 0.4, 0.8])
    assert list(aj["n_at_risk"]) == [5, 5, 4, 3, 2, 1]
    assert list(aj["n_competing"]) == [0, 0, 1, 0, 0, 0]


def test_aalen_johansen_matches_lifelines_without_ties():
    rng = np.random.default_rng(3)
    t = rng.exponential(100, 300).round(3)
    e = rng.choice([0, 1, 2], 300, p=[0.3, 0.4, 0.3])
    mine = aalen_johansen(t, e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = AalenJohansenFitter().fit(t, e, event_of_interest=1)
    np.testing.assert_allclose(mine["cif"], ref.cumulative_density_.iloc[:, 0], atol=1e-12)
    ci = ref.confidence_interval_.to_numpy()  # lifelines labels its columns upper/lower the wrong way round
    np.testing.assert_allclose(mine["ci_low"].iloc[1:], ci[1:, 0], atol=1e-10)
    np.testing.assert_allclose(mine["ci_high"].iloc[1:], ci[1:, 1], atol=1e-10)


@pytest.fixture(scope="module")
def ttf(tmp_path_factory):
    con = mf.load(duckdb.connect(), mf.clients(n=3000, seed=1, hr_smi=1.5))
    return con, fit_model("time_to_first_job", con, tmp_path_factory.mktemp("fig"))


@pytest.mark.slow  # the fixture fits the Cox model to 3000 clients, once and once per county left out
def test_time_to_first_job_cox_recovers_hazard_ratio(ttf):
    con, res = ttf
    assert res.fitted, res.reason
    smi = res.estimates.set_index("term").loc["smi"]
    assert smi["ci_low"] <= 1.5 <= smi["ci_high"]
    ph = res.diagnostics[res.diagnostics["diagnostic"].str.startswith("ph_test[")]
    assert len(ph) == len(res.estimates) and ph["value"].between(0, 1).all()


@pytest.mark.slow  # the same fit
def test_time_to_first_job_tables(ttf):
    con, res = ttf
    co = con.execute("SELECT * FROM core.client_outcomes").df()
    km = res.tables["km_time_to_first_job"]
    assert set(km["group"]) == set(co["alue"]) | {"ALL"}
    all_ = km[km["group"] == "ALL"]
    assert all_["n_events"].sum() == co["ttf_event"].sum()
    assert all_["n_at_risk"].iloc[0] == len(co)
    assert (np.diff(all_["estimate"]) <= 1e-12).all()
    assert (all_["ci_low"] <= all_["estimate"] + 1e-12).all() and (all_["estimate"] <= all_["ci_high"] + 1e-12).all()
    cif = res.tables["cif_time_to_first_job"]
    c = cif[cif["group"] == "ALL"]
    # with competing events, the cumulative incidence never exceeds 1 - KM
    assert (c["cif"] <= c["one_minus_km"] + 1e-12).all()
    assert c["n_competing"].sum() == co["ttf_competing"].sum()
    s = res.tables["km_summary_time_to_first_job"].set_index("group").loc["ALL"]
    assert s["cif_12m"] < s["cuminc_12m"] and s["cuminc_6m"] < s["cuminc_12m"]
    assert len(res.figures) == 2 and all(p.exists() for p in res.figures)


@pytest.mark.slow
def test_cox_failure_keeps_kaplan_meier(tmp_path):
    t = mf.clients(n=400, seed=5)
    co = t["core.client_outcomes"]
    co.loc[co["work_history"] == "3", "ttf_event"] = False  # no jobs in one category
    con = mf.load(duckdb.connect(), t)
    res = fit_model("time_to_first_job", con, tmp_path)
    assert res.status == "warning"
    assert "Cox model not fitted" in res.reason and "work_history[3 vs 0]" in res.reason
    assert res.estimates.empty
    assert "km_time_to_first_job" in res.tables


def _cox_frame(con):
    from ips_eval.models.design import CLIENT_COVARIATES, build_design

    co = con.execute("SELECT * FROM core.client_outcomes").df()
    design = build_design(co, CLIENT_COVARIATES, extra=["ttf_days", "ttf_event", "alue"])
    d = design.X.copy()
    d["_T"] = co.loc[design.rows, "ttf_days"].astype(float).to_numpy()
    d["_E"] = co.loc[design.rows, "ttf_event"].astype(int).to_numpy()
    return d, co.loc[design.rows, "alue"].astype(str).to_numpy()


def test_ph_test_uses_the_model_based_variance_as_lifelines_on_an_unclustered_fit(ttf):
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    con, res = ttf
    d, county = _cox_frame(con)
    plain = proportional_hazard_test(CoxPHFitter().fit(d, "_T", "_E"), d, time_transform="rank").summary
    ph = res.diagnostics[res.diagnostics["diagnostic"].str.startswith("ph_test[")].copy()
    ph["term"] = ph["diagnostic"].str[len("ph_test["):-1]
    ours = ph.set_index("term")["value"]
    np.testing.assert_allclose(ours.loc[plain.index].to_numpy(), plain["p"].to_numpy(), rtol=1e-10)
    # ... and not the clustered-variance version, which gives other p-values
    dc = d.assign(_county=county)
    clustered = proportional_hazard_test(CoxPHFitter().fit(dc, "_T", "_E", cluster_col="_county"), dc,
                                         time_transform="rank").summary
    assert not np.allclose(clustered["p"].to_numpy(), plain["p"].to_numpy())


@pytest.mark.slow
def test_cox_intervals_are_the_delete_one_county_jackknife_with_t_quantiles(ttf):
    from lifelines import CoxPHFitter
    from scipy import stats

    con, res = ttf
    d, county = _cox_frame(con)
    full = CoxPHFitter().fit(d, "_T", "_E").params_["smi"]
    counties = sorted(set(county))
    G = len(counties)
    leave_out = np.array([CoxPHFitter().fit(d[county != g], "_T", "_E").params_["smi"] for g in counties])
    se = np.sqrt((G - 1) / G * ((leave_out - full) ** 2).sum())
    q = stats.t.ppf(0.975, G - 1)
    smi = res.estimates.set_index("term").loc["smi"]
    assert smi["ci_low"] == pytest.approx(np.exp(full - q * se), rel=1e-6)
    assert smi["ci_high"] == pytest.approx(np.exp(full + q * se), rel=1e-6)
    assert (res.estimates["estimator"] == "cox").all()


@pytest.mark.slow
def test_cox_with_fewer_than_10_counties_warns_like_the_gee(tmp_path):
    from ips_eval.models.cluster_robust import WARN_COUNTIES

    con = mf.load(duckdb.connect(), mf.clients(n=1500, n_counties=6, seed=3))
    ttf = fit_model("time_to_first_job", con, tmp_path)
    gee = fit_model("employment_predictors", con, tmp_path)
    for res in (ttf, gee):
        assert res.status == "warning" and "only 6 counties" in res.reason, res.reason
        d = res.diagnostics.set_index("diagnostic").loc["n_counties"]
        assert d["value"] == 6 and d["threshold"] == WARN_COUNTIES and not d["passed"]
    assert len(ttf.estimates)  # the hazard ratios are still given
