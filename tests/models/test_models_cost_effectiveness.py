"""Model 8: cost per employed month gained, on planted costs and a planted effect with a known ratio."""

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

import model_fixtures as mf
from ips_eval.models import registry, write_result
from ips_eval.models.cost_effectiveness import QUERY, fit_cost_effectiveness, load_cost_effectiveness
from ips_eval.warehouse.database import query_sql

N_BOOT = 100  # the machinery is tested; the pipeline's replicates are N_BOOT of the module
CUTOFF = dt.date(2024, 12, 31)


def _service(con, persons: pd.DataFrame, costs: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """core.register_persons, core.client_outcomes, core.evaluation_dates and marts.costs."""
    return mf.load(con, {
        "core.register_persons": persons[["person_id", "ips"]],
        "core.client_outcomes": persons.loc[persons["ips"] == 1, ["person_id", "alue", "ips_start", "service_end"]],
        "core.evaluation_dates": pd.DataFrame({"as_of": [CUTOFF, dt.date(2024, 9, 30)], "is_cutoff": [True, False]}),
        "marts.costs": costs,
    })


def test_a_clients_cost_is_their_client_years_times_their_countys_rate():
    persons = pd.DataFrame({
        "person_id": ["P1", "P2", "P3", "P4", "R1"], "ips": [1, 1, 1, 1, 0],
        "alue": ["A", "B", "C", "A", None],
        "ips_start": [dt.date(2024, 1, 1), dt.date(2024, 7, 1), dt.date(2024, 1, 1), dt.date(2024, 12, 1), None],
        "service_end": [dt.date(2024, 12, 31), None, None, dt.date(2025, 3, 31), None],
    })
    # C reported no cost for a year: its whole-period rate is missing (marts.costs), not zero
    costs = pd.DataFrame({"alue": ["A", "B", "C", "A"], "vuosi": ["ALL", "ALL", "ALL", "2024"],
                          "cost_per_client_year": [3652.5, 7305.0, None, 1.0]})
    con = _service(duckdb.connect(), persons, costs)
    got = query_sql(con, QUERY).set_index("person_id")
    assert list(got.index) == ["P1", "P2", "P3", "P4"]  # IPS clients only
    # P1: 366 days of 2024 (a leap year) x 3652.5 / 365.25 = 366 x 10
    assert got.loc["P1", "client_cost"] == pytest.approx(3660.0)
    # P2: 1 July to C, no service end: 184 days x 7305 / 365.25 = 184 x 20
    assert got.loc["P2", "client_cost"] == pytest.approx(3680.0)
    assert pd.isna(got.loc["P3", "client_cost"]) and got.loc["P3", "service_alue"] == "C"
    # P4: a service end after C counts to C: 1-31 December, 31 days x 10
    assert got.loc["P4", "client_cost"] == pytest.approx(310.0)


def _study(effect: float, rate_by_county=None, seed: int = 2):
    tables = mf.register(effect=effect, seed=seed)
    pop = tables["staging.register_population"]
    persons = pop[["person_id", "ips", "alue"]].copy()
    # every client four years in service: 1461 days (one of them 29 February) = 4.0 client-years
    persons["ips_start"], persons["service_end"] = dt.date(2021, 1, 1), dt.date(2024, 12, 31)
    counties = sorted(pop["alue"].unique())
    rates = rate_by_county or {c: 3000.0 for c in counties}
    costs = pd.DataFrame({"alue": list(rates), "vuosi": "ALL", "cost_per_client_year": list(rates.values())})
    con = mf.load(duckdb.connect(), tables)
    return _service(con, persons, costs)


def test_planted_effect_and_costs_give_the_known_ratio():
    # each client costs 4.0 x 3000 = 12 000 EUR, IPS adds 2 employed months to each: 6 000 EUR a month
    con = _study(effect=2.0)
    res = fit_cost_effectiveness(load_cost_effectiveness(con), seed=3, n_boot=N_BOOT)
    assert res.status in ("ok", "warning"), res.reason
    row = res.estimates.set_index("term").loc["cost_per_employed_month_gained"]
    assert row["ci_low"] <= 6000 <= row["ci_high"], row.to_dict()
    assert row["estimate"] == pytest.approx(6000, rel=0.1)
    d = res.diagnostics.set_index("diagnostic")
    n = d.loc["n_clients", "value"]
    assert d.loc["total_cost_eur", "value"] == pytest.approx(12000 * n)
    # the ratio is total cost over (ATT x clients), the same clients in both
    assert row["estimate"] == pytest.approx(d.loc["total_cost_eur", "value"] / d.loc["employed_months_gained", "value"])
    assert row["n"] == n and row["estimator"] == "ipw"
    assert d.loc["att_interval_above_zero", "passed"]
    assert d.loc["bootstrap_replicates", "value"] == N_BOOT


def test_costs_are_held_at_county_level_and_a_dearer_county_raises_the_ratio():
    cheap = _study(effect=2.0)
    counties = sorted(mf.register(seed=2)["staging.register_population"]["alue"].unique())
    dear = _study(effect=2.0, rate_by_county={c: 3000.0 * (2 if c == counties[0] else 1) for c in counties})
    a = fit_cost_effectiveness(load_cost_effectiveness(cheap), seed=3, n_boot=N_BOOT)
    b = fit_cost_effectiveness(load_cost_effectiveness(dear), seed=3, n_boot=N_BOOT)
    ea, eb = (r.estimates.set_index("term").loc["cost_per_employed_month_gained", "estimate"] for r in (a, b))
    # the same ATT (same data and seed); the dearer county's clients cost 12 000 more each
    frame = load_cost_effectiveness(dear)
    gain = a.diagnostics.set_index("diagnostic").loc["employed_months_gained", "value"]
    n_first = a.diagnostics.set_index("diagnostic").loc["n_clients", "value"]
    extra = eb * gain - ea * gain
    share = extra / 12000 / n_first  # share of analysed clients in the dearer county
    in_county = (frame["ips"] == 1) & (frame["service_alue"] == counties[0])
    assert share == pytest.approx(in_county.sum() / (frame["ips"] == 1).sum(), abs=0.02)
    assert eb > ea


def test_no_effect_means_no_ratio_and_the_fit_log_says_why(tmp_path):
    con = _study(effect=0.0, seed=4)
    res = registry.fit_model("cost_effectiveness", con, tmp_path, n_boot=N_BOOT)
    write_result(con, res)
    assert res.status == "not_fitted" and "does not lie above 0" in res.reason
    assert con.execute("SELECT count(*) FROM models.estimates WHERE model = 'cost_effectiveness'").fetchone()[0] == 0
    passed = con.execute("SELECT passed FROM models.diagnostics WHERE model = 'cost_effectiveness'"
                         " AND diagnostic = 'att_interval_above_zero'").fetchone()[0]
    assert passed is False


def test_a_county_without_a_cost_is_named():
    con = _study(effect=2.0)
    con.execute("UPDATE marts.costs SET cost_per_client_year = NULL WHERE alue = 'Kainuu'")
    res = fit_cost_effectiveness(load_cost_effectiveness(con), n_boot=N_BOOT)
    assert res.status == "not_fitted"
    assert "Kainuu" in res.reason and "marts.costs" in res.reason
    con.execute("DELETE FROM marts.costs")
    res = fit_cost_effectiveness(load_cost_effectiveness(con), n_boot=N_BOOT)
    assert res.status == "not_fitted" and "costs.csv not delivered" in res.reason


def test_the_pipeline_step_draws_the_bootstrap_distribution(tmp_path):
    res = registry.fit_model("cost_effectiveness", _study(effect=2.0), tmp_path, n_boot=N_BOOT)
    assert res.fitted, res.reason
    assert [p.name for p in res.figures] == ["cost_effectiveness_bootstrap.png"] and res.figures[0].exists()
    ratios = res.extra["replicate_ratios"]
    row = res.estimates.iloc[0]
    assert len(ratios) == N_BOOT
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(np.percentile(ratios, [2.5, 97.5])))
