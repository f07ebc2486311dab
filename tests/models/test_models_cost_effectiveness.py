"""Model 8: cost per employed month gained on matched horizons, on planted costs and a planted effect."""

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import model_fixtures as mf
from ips_eval.models import registry, write_result
from ips_eval.models.cost_effectiveness import (QUERY, WTP_EUR, bootstrap_ratio_interval, fieller,
                                                fit_cost_effectiveness, load_cost_effectiveness)
from ips_eval.warehouse.database import query_sql

N_BOOT = 100  # the machinery is tested; the pipeline's replicates are N_BOOT of the module
CUTOFF = mf.CUTOFF


def _service(con, persons: pd.DataFrame, costs: pd.DataFrame, cutoff: dt.date = CUTOFF) -> duckdb.DuckDBPyConnection:
    """core.register_persons, core.client_outcomes, core.evaluation_dates and marts.costs."""
    return mf.load(con, {
        "core.register_persons": persons[["person_id", "ips", "index_month"]],
        "core.client_outcomes": persons.loc[persons["ips"] == 1, ["person_id", "alue", "ips_start", "service_end"]],
        "core.evaluation_dates": pd.DataFrame({"as_of": [cutoff, dt.date(2024, 9, 30)], "is_cutoff": [True, False]}),
        "marts.costs": costs,
    })


def test_a_clients_cost_is_their_client_years_in_the_window_times_their_countys_rate():
    m = dt.date(2023, 3, 1)
    persons = pd.DataFrame({
        "person_id": ["P1", "P2", "P3", "P4", "R1"], "ips": [1, 1, 1, 1, 0], "alue": ["A", "B", "C", "A", None],
        "index_month": [m, dt.date(2024, 1, 1), m, dt.date(2024, 12, 1), m],
        "ips_start": [dt.date(2023, 3, 15), dt.date(2024, 1, 1), m, dt.date(2024, 12, 1), None],
        "service_end": [dt.date(2025, 6, 1), dt.date(2024, 3, 31), None, None, None],
    })
    # C reported no cost for a year: its whole-period rate is missing (marts.costs), not zero
    costs = pd.DataFrame({"alue": ["A", "B", "C", "A"], "vuosi": ["ALL", "ALL", "ALL", "2024"],
                          "cost_per_client_year": [3652.5, 7305.0, None, 1.0]})
    con = _service(duckdb.connect(), persons, costs, cutoff=dt.date(2025, 3, 31))
    got = query_sql(con, QUERY).set_index("person_id")
    assert list(got.index) == ["P1", "P2", "P3", "P4"]  # IPS clients only
    # P1: 15.3.2023 to the window's last day 29.2.2024 (the service runs on): 352 days x 10;
    # over 24 months, to 28.2.2025: 717 days
    assert got.loc["P1", "cost_post12"] == pytest.approx(3520.0)
    assert got.loc["P1", "cost_post24"] == pytest.approx(7170.0)
    # P2: the service ends 31.3.2024, inside the window: 91 days (2024 a leap year) x 20
    assert got.loc["P2", "cost_post12"] == pytest.approx(1820.0) == got.loc["P2", "cost_post24"]
    assert pd.isna(got.loc["P3", "cost_post12"]) and got.loc["P3", "service_alue"] == "C"
    # P4: the window is cut at C, 1.12.2024-31.3.2025: 121 days x 10
    assert got.loc["P4", "cost_post12"] == pytest.approx(1210.0)
    assert got.loc["P4", "client_years"] == pytest.approx(121 / 365.25)


def _persons(pop: pd.DataFrame, ongoing: bool = True) -> pd.DataFrame:
    """Every IPS client starts on their index date; half of them are still in service (no end),
    the others leave after 18 months."""
    persons = pop[["person_id", "ips", "alue"]].copy()
    index = pd.to_datetime(pop["index_date"])
    persons["index_month"] = index.dt.to_period("M").dt.start_time.dt.date
    persons["ips_start"] = index.dt.date
    end = (index + pd.DateOffset(months=18)).dt.date
    persons["service_end"] = [None if ongoing and i % 2 else e for i, e in enumerate(end)]
    return persons


def _study(effect: float, rate_by_county=None, seed: int = 2, cutoff: dt.date = CUTOFF, effect_post24=None):
    tables = mf.register(effect=effect, seed=seed, effect_post24=effect_post24)
    pop = tables["staging.register_population"]
    counties = sorted(pop["alue"].unique())
    rates = rate_by_county or {c: 3000.0 for c in counties}
    costs = pd.DataFrame({"alue": list(rates), "vuosi": "ALL", "cost_per_client_year": list(rates.values())})
    con = mf.load(duckdb.connect(), tables)
    return _service(con, _persons(pop), costs, cutoff)


def test_planted_effect_and_costs_give_the_known_ratio_with_its_parts():
    # each client in service through the window costs a little under 3000 EUR (most of a year at 3000),
    # IPS adds 2 employed months to each: about 1500 EUR a month
    con = _study(effect=2.0)
    frame = load_cost_effectiveness(con)
    res = fit_cost_effectiveness(frame)
    assert res.status in ("ok", "warning"), res.reason
    e = res.estimates.set_index("term")
    ratio, cost, gain = (e.loc[t] for t in ("cost_per_employed_month_gained", "cost_per_client_window",
                                             "employed_months_gained"))
    assert ratio["estimate"] == pytest.approx(cost["estimate"] / gain["estimate"])
    assert 2800 < cost["estimate"] <= 3000 * 366 / 365.25  # S falls within the index month
    assert ratio["ci_low"] <= cost["estimate"] / 2.0 <= ratio["ci_high"], ratio.to_dict()
    assert gain["ci_low"] <= 2.0 <= gain["ci_high"]
    assert (e["n"] == ratio["n"]).all() and (e["estimator"] == "ipw").all()
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["ratio_interval", "detail"] == "bounded"
    assert d.loc["total_cost_eur", "value"] == pytest.approx(cost["estimate"] * d.loc["n_clients", "value"])
    # the net monetary benefit and the probability of cost-effectiveness grow with the willingness to pay
    nmb = [e.loc[f"net_monetary_benefit_wtp_{v}", "estimate"] for v in WTP_EUR]
    prob = [e.loc[f"probability_cost_effective_wtp_{v}", "estimate"] for v in WTP_EUR]
    assert nmb == pytest.approx([v * gain["estimate"] - cost["estimate"] for v in WTP_EUR])
    assert prob == sorted(prob) and prob[0] < 0.05 and prob[-1] > 0.95  # 1 000 < 1 500 < 5 000
    # the probability is the normal approximation of the NMB with its interval's SE
    lo, hi = e.loc["net_monetary_benefit_wtp_2000", ["ci_low", "ci_high"]]
    assert prob[1] == pytest.approx(norm.cdf(nmb[1] / ((hi - lo) / (2 * norm.ppf(0.975)))))
    assert "24-month ratio not estimated" in res.reason


def test_the_ratio_does_not_move_when_the_cut_off_moves_a_quarter_later():
    # the same delivery (every 12-month window ended long ago), the cut-off a quarter later: the
    # services still running accrue client-years, but none inside the windows
    a = fit_cost_effectiveness(load_cost_effectiveness(_study(effect=2.0)))
    later = _study(effect=2.0, cutoff=dt.date(2025, 9, 30))
    b = fit_cost_effectiveness(load_cost_effectiveness(later))
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    # while the whole service's client-years, the old ratio's numerator, did grow
    ya = load_cost_effectiveness(_study(effect=2.0))["client_years"].sum()
    assert load_cost_effectiveness(later)["client_years"].sum() > ya + 100 * 0.25


def test_the_24_month_ratio_is_beside_the_24_month_effect_where_observed():
    res = fit_cost_effectiveness(load_cost_effectiveness(_study(effect=2.0, effect_post24=4.0)))
    e = res.estimates.set_index("term")
    assert e.loc["employed_months_gained_post24", "ci_low"] <= 4.0 <= e.loc["employed_months_gained_post24", "ci_high"]
    assert e.loc["cost_per_employed_month_gained_post24", "estimate"] == pytest.approx(
        e.loc["cost_per_client_window_post24", "estimate"] / e.loc["employed_months_gained_post24", "estimate"])
    # the 24-month window holds more client-years than the 12-month one
    assert e.loc["cost_per_client_window_post24", "estimate"] > 1.2 * e.loc["cost_per_client_window", "estimate"]
    assert e.loc["employed_months_gained_post24", "n"] < e.loc["employed_months_gained", "n"]


def test_fieller_equals_the_hand_computation():
    # num 10, den 2, var 1 and 0.25, no covariance, z = 2: (10 - 2R)^2 = 4 (1 + 0.25 R^2)
    # <=> 3 R^2 - 40 R + 96 = 0 <=> R = (20 -+ sqrt(112)) / 3
    r = fieller(10.0, 2.0, 1.0, 0.25, 0.0, z=2.0)
    assert (r.low, r.high, r.kind) == (pytest.approx((20 - np.sqrt(112)) / 3), pytest.approx((20 + np.sqrt(112)) / 3),
                                       "bounded")
    # with a covariance of 0.3: a = 4 - 1 = 3, b = 20 - 1.2 = 18.8, c = 96: roots (18.8 -+ sqrt(65.44)) / 3
    c = fieller(10.0, 2.0, 1.0, 0.25, 0.3, z=2.0)
    assert (c.low, c.high) == (pytest.approx((18.8 - np.sqrt(18.8**2 - 288)) / 3),
                               pytest.approx((18.8 + np.sqrt(18.8**2 - 288)) / 3))
    for limit in (c.low, c.high):  # at each limit the ratio's t statistic is exactly z
        assert (10 - 2 * limit) ** 2 / (1 - 2 * limit * 0.3 + limit**2 * 0.25) == pytest.approx(4.0)


def test_a_gain_whose_interval_reaches_zero_gives_an_interval_unbounded_above():
    # den 0.5 with SE 0.5: a = 0.25 - 4 x 0.25 < 0; the set is two rays, the negative one the
    # negative gains ("no gain at any cost"), so the interval runs from the positive root up
    r = fieller(10.0, 0.5, 1.0, 0.25, 0.0, z=2.0)
    # roots of -0.75 R^2 - 10 R + 96 = 0 -> R = (-10 +- sqrt(100 + 288)) / 1.5
    assert r.kind == "unbounded above" and r.high == np.inf
    assert r.low == pytest.approx((-10 + np.sqrt(388)) / 1.5)
    # a significantly negative gain: IPS dominated, the ratio negative
    assert fieller(10.0, -2.0, 1.0, 0.25, 0.0, z=2.0).kind == "negative gain"


def test_the_bootstrap_ranks_replicates_with_no_gain_above_every_price():
    # 40 replicates: cost 12 000; gains 1..34 months / 6, six of them negative. Ranked by
    # quadrant the negative ones count as +infinity; ranked as ratios they would be the cheapest.
    gains = np.r_[np.arange(1, 35) / 6, [-0.5, -1.0, -2.0, -3.0, -4.0, -5.0]]
    cost = np.full(40, 12000.0)
    r = bootstrap_ratio_interval(cost, gains, alpha=0.2)
    ranked = np.sort(np.r_[12000 / (np.arange(1, 35) / 6), np.full(6, np.inf)])
    assert r.low == pytest.approx(ranked[3])  # the 10th percentile: the 4th of 40, inverted CDF
    assert r.high == np.inf and r.kind == "unbounded above"  # 15 % of the replicates have no gain
    naive = np.percentile(cost / gains, [10, 90], method="inverted_cdf")
    assert naive[0] < 0 < r.low  # the naive ranking puts the negative gains at the bottom
    # without negative gains both agree
    ok = bootstrap_ratio_interval(cost[:34], gains[:34], alpha=0.2)
    assert (ok.low, ok.high) == tuple(np.percentile(cost[:34] / gains[:34], [10, 90], method="inverted_cdf"))


def test_no_effect_still_reports_the_ratio_and_says_its_interval_is_unbounded(tmp_path):
    con = _study(effect=0.0, seed=4)
    res = registry.fit_model("cost_effectiveness", con, tmp_path)
    write_result(con, res)
    assert res.fitted, res.reason
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["gain_interval_above_zero", "passed"] in (False,)  # a failed check, not a missing one
    assert d.loc["ratio_interval", "detail"] in ("unbounded above", "whole line")
    got = con.execute("SELECT ci_high FROM models.estimates WHERE model = 'cost_effectiveness'"
                      " AND term = 'cost_per_employed_month_gained'").fetchone()[0]
    assert got == float("inf")
    assert [p.name for p in res.figures] == ["cost_effectiveness_acceptability.png"] and res.figures[0].exists()


def test_a_county_without_a_cost_is_left_out_and_named():
    con = _study(effect=2.0)
    con.execute("UPDATE marts.costs SET cost_per_client_year = NULL WHERE alue = 'Kainuu'")
    frame = load_cost_effectiveness(con)
    res = fit_cost_effectiveness(frame)
    assert res.status == "warning" and "Kainuu" in res.reason
    d = res.diagnostics.set_index("diagnostic")
    n_kainuu = int(((frame["ips"] == 1) & (frame["service_alue"] == "Kainuu")).sum())
    assert d.loc["counties_without_costs", "passed"] in (False,)
    assert d.loc["counties_without_costs", "detail"] == f"Kainuu ({n_kainuu} IPS clients)"
    whole = fit_cost_effectiveness(load_cost_effectiveness(_study(effect=2.0)))
    n_all = whole.diagnostics.set_index("diagnostic").loc["n_clients", "value"]
    assert d.loc["n_clients", "value"] <= n_all - n_kainuu + 5  # Kainuu's clients are not described
    con.execute("DELETE FROM marts.costs")
    res = fit_cost_effectiveness(load_cost_effectiveness(con))
    assert res.status == "not_fitted" and "costs.csv not delivered" in res.reason


def test_the_bootstrap_option_draws_the_replicates(tmp_path):
    res = registry.fit_model("cost_effectiveness", _study(effect=2.0), tmp_path, n_boot=N_BOOT,
                             interval="bootstrap")
    assert res.fitted, res.reason
    assert [p.name for p in res.figures] == ["cost_effectiveness_acceptability.png", "cost_effectiveness_bootstrap.png"]
    ratios = res.extra["replicate_ratios"]
    row = res.estimates.set_index("term").loc["cost_per_employed_month_gained"]
    assert len(ratios) == N_BOOT
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        tuple(np.percentile(ratios, [2.5, 97.5], method="inverted_cdf")))
    fieller_fit = fit_cost_effectiveness(load_cost_effectiveness(_study(effect=2.0)))
    f = fieller_fit.estimates.set_index("term").loc["cost_per_employed_month_gained"]
    assert row["estimate"] == pytest.approx(f["estimate"])
    assert row["ci_low"] == pytest.approx(f["ci_low"], rel=0.1)
    assert row["ci_high"] == pytest.approx(f["ci_high"], rel=0.1)
