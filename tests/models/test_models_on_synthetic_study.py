"""Planted effects in the synthetic generator are recovered by the models, through the real
ingest, staging and outcome SQL (the same library functions the Dagster assets call)."""

import dataclasses
import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from ips_eval.ingest.load import load_delivery
from ips_eval.models.effectiveness import fit_effectiveness, load_effectiveness
from ips_eval.models.registry import fit_model
from ips_eval.warehouse.tables import build_outcomes
from ips_eval.warehouse.tables import build_staging
from ips_eval.synth import SynthConfig, write_delivery, write_manifest

#: A study of 6 000 clients and 8 000 comparison persons, and one of half that size without an
#: effect: the slow tier.
pytestmark = pytest.mark.slow

#: One effect for every IPS client (no larger one at 40-49): the generator brings the target
#: clients' mean gain to it, and the manifest's realised effect (the estimand) is what it reached.
PLANTED = SynthConfig(calibrate=False, n_clients_wave2=4000, n_clients_wave1=2000, cohort=8000, messy=False, seed=7,
                      ips_effect_extra_months_age_40_49=0.0)


def _study(tmp_path_factory, config):
    folder = tmp_path_factory.mktemp("planted")
    write_manifest(write_delivery(folder / "delivery", config), folder / "manifest.json")
    con = duckdb.connect()
    load_delivery(con, folder / "delivery", config.cutoff)
    build_staging(con, config.cutoff)
    build_outcomes(con, config.cutoff)
    return con, folder


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    con, folder = _study(tmp_path_factory, PLANTED)
    yield con, folder
    con.close()


#: A null effect needs no precision to show: a study of half the size keeps the check (the
#: interval covers 0) at half the cost of writing and loading it.
NULL = dataclasses.replace(PLANTED, null_effect=True, n_clients_wave2=2000, n_clients_wave1=1000, cohort=4000)


@pytest.fixture(scope="module")
def no_effect(tmp_path_factory):
    con, folder = _study(tmp_path_factory, NULL)
    yield con, folder
    con.close()


def _realised(folder) -> float:
    """The ATT the generator realised: the mean of the months its IPS jobs add to the target clients'
    employed months of the 12, counted as the warehouse counts them (the manifest)."""
    effect = json.loads((folder / "manifest.json").read_text())["register"]["effect"]
    return effect["realised_employed_months_effect"]


def _term(result, term, estimator="mi"):
    e = result.estimates
    row = e[(e["term"] == term) & (e["estimator"] == estimator)].iloc[0]
    return row["estimate"], row["ci_low"], row["ci_high"]


def _ipw(result, term):
    e = result.estimates
    row = e[(e["term"] == term) & (e["estimator"] == "ipw")].iloc[0]
    return row["estimate"], row["ci_low"], row["ci_high"]


def test_planted_odds_ratios_are_recovered_within_their_ci(planted):
    con, folder = planted
    # a few imputations: the terms checked here are nearly complete (their MI is tested elsewhere)
    result = fit_model("employment_predictors", con, folder, n_imputations=5, iterations=3)
    assert result.fitted, result.reason
    expected = {
        # the generator plants a trend OR per work-history level: level 3 vs 0 = 1.35 ** 3
        "work_history[3 vs 0]": PLANTED.or_work_history_per_level ** 3,
        "smi": PLANTED.or_smi,
        "fidelity_total_per10": PLANTED.or_fidelity_per_10_points,
        "gender[2 vs 1]": PLANTED.or_female,
    }
    for term, true_or in expected.items():
        estimate, low, high = _term(result, term)
        assert low <= true_or <= high, f"{term}: planted {true_or:.3f}, CI {low:.3f}-{high:.3f}"
    # and a strong planted effect is told apart from no effect
    assert _term(result, "work_history[3 vs 0]")[1] > 1


def test_planted_ips_effect_on_employed_months_is_recovered(planted):
    con, folder = planted
    result = fit_model("effectiveness", con, folder)
    assert result.fitted, result.reason
    estimate, low, high = _ipw(result, "employed_months_post12")
    assert low <= _realised(folder) <= high, (_realised(folder), estimate, low, high)
    assert low > 0
    diagnostics = result.diagnostics.set_index("diagnostic")
    assert diagnostics.loc["max_abs_smd_after_weighting", "value"] < 0.1
    assert bool(diagnostics.loc["max_abs_smd_after_weighting", "passed"])
    for control in ("employed_months_pre24_13", "benefit_months_pre24_13", "psych_inpatient_days_pre24_13"):
        assert bool(diagnostics.loc[f"negative_control_{control}", "passed"]), diagnostics.loc[f"negative_control_{control}"]
    balance = result.tables["balance"]
    assert (balance["smd_after"].abs() < 0.1).all()
    assert (balance["smd_before"].abs() > balance["smd_after"].abs()).any()


def test_a_planted_zero_effect_gives_a_ci_covering_zero(no_effect):
    con, folder = no_effect
    result = fit_model("effectiveness", con, folder)
    estimate, low, high = _ipw(result, "employed_months_post12")
    assert low <= 0 <= high
    assert not math.isnan(estimate)


def _replicated(frame: pd.DataFrame, times: int) -> pd.DataFrame:
    """The comparison persons drawn `times` times over (each copy a new person), IPS clients once."""
    cmp = frame[frame["ips"] == 0]
    copies = [cmp.assign(person_id=cmp["person_id"] + f"-{k}") for k in range(times)]
    return pd.concat([frame[frame["ips"] == 1], *copies], ignore_index=True)


@pytest.mark.parametrize("times", [10, 50])
def test_the_estimate_describes_the_ips_clients_whatever_the_comparison_size(planted, times):
    con, folder = planted
    frame = _replicated(load_effectiveness(con), times)
    result = fit_effectiveness(frame)
    assert result.fitted, result.reason
    d = result.diagnostics.set_index("diagnostic")["value"]
    assert d["n_treated_analysed"] >= 0.95 * d["n_treated_eligible"], d
    estimate, low, high = _ipw(result, "employed_months_post12")
    assert low <= _realised(folder) <= high, (_realised(folder), estimate, low, high)


def test_sandwich_and_bootstrap_agree_within_monte_carlo_error(planted):
    con, _ = planted
    frame = load_effectiveness(con)
    n_boot = 500
    sandwich = fit_effectiveness(frame)
    boot = fit_effectiveness(frame, variance="bootstrap", n_boot=n_boot, seed=3)
    # The bootstrap SE from B replicates has a relative Monte Carlo SD of about 1/sqrt(2B).
    tolerance = 3 / np.sqrt(2 * n_boot)
    for term in ("employed_months_post12", "earnings_post12"):
        for estimator in ("ipw", "aipw", "overlap"):
            a = _row(sandwich, term, estimator)
            b = _row(boot, term, estimator)
            se_a, se_b = (a["ci_high"] - a["ci_low"]) / 3.92, (b["ci_high"] - b["ci_low"]) / 3.92
            assert abs(se_b / se_a - 1) < tolerance, (term, estimator, se_a, se_b)


def _row(result, term, estimator):
    e = result.estimates
    return e[(e["term"] == term) & (e["estimator"] == estimator)].iloc[0]


def test_trajectory_types_separate_a_mostly_employed_type_more_common_among_ips_clients(planted):
    con, folder = planted
    from ips_eval.models.result import write_result

    write_result(con, fit_model("effectiveness", con, folder))
    result = fit_model("trajectory_types", con, folder)
    assert result.fitted, result.reason
    types = result.marts["trajectory_types"]
    employed = types[types["employed_share"] > 0.5]
    assert len(employed) >= 1, types
    top = employed.iloc[0]
    assert top["label"].startswith("employed"), types
    assert top["share_ips"] > top["share_comparison_weighted"], types


def _benefit_to_work(con) -> pd.Series:
    """The website's headline rate from benefits into work (post12), per group."""
    from ips_eval.publish.site.tables import QUERIES
    from ips_eval.warehouse.database import query_sql

    rates = query_sql(con, QUERIES / "headline_transitions.sql").set_index("transition")
    return rates.loc["benefit_to_work", ["rate_ips", "rate_comparison_weighted"]]


def test_planted_effect_shows_in_the_transition_rates(planted):
    con, folder = planted
    from ips_eval.models.registry import fit_and_write
    from ips_eval.warehouse.tables import build_after_models

    assert fit_and_write("effectiveness", con, folder).fitted
    assert build_after_models(con, PLANTED.cutoff) == ["marts.transition_rates"]
    ips, comparison = _benefit_to_work(con)
    # The planted IPS jobs start in the 12 months from the index month: more benefit months are
    # followed by work among IPS clients than in the weighted comparison group.
    assert 0 < comparison < ips


def test_transition_to_work_fits_on_the_study_and_shows_the_planted_effect(planted):
    con, folder = planted
    result = fit_model("transition_to_work", con, folder)
    assert result.fitted, result.reason
    ips = result.estimates.set_index(["term", "estimator"]).loc["ips"]
    # The planted IPS jobs start in the 12 months from the index month: more moves into work,
    # in every spell on benefits and in the first move alike.
    assert set(ips.index) == {"logistic_hazard", "logistic_hazard_first_move"}
    assert (ips["ci_low"] > 1.0).all()
    assert (folder / "transition_to_work_forest.png").exists()
