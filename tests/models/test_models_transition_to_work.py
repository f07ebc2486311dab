"""Model 7 (transition_to_work): the discrete-time hazard of moving from benefits into work."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ips_eval.models.design import build_design
from ips_eval.models.transition_to_work import MONTH_GROUPS, covariates, fit_transition_to_work, prepare
from model_fixtures import person_months, transition_persons


def test_planted_odds_ratio_is_recovered():
    frame = transition_persons(n=4000, or_ips=2.0, seed=5)
    result = fit_transition_to_work(frame)
    assert result.fitted, result.reason
    ips = result.estimates.set_index("term").loc["ips"]
    assert ips["ci_low"] < 2.0 < ips["ci_high"]
    assert ips["ci_low"] > 1.0
    # The planted baseline hazard: months 6 and later have odds exp(-0.5) = 0.61 of months 0-2.
    later = result.estimates.set_index("term").loc["months_since_index[6-11 vs 0-2]"]
    assert later["ci_low"] < math.exp(-0.5) < later["ci_high"]


def test_no_effect_gives_an_interval_around_one():
    result = fit_transition_to_work(transition_persons(n=4000, or_ips=1.0, seed=11))
    ips = result.estimates.set_index("term").loc["ips"]
    assert ips["ci_low"] < 1.0 < ips["ci_high"]


def test_same_estimates_and_clustered_ses_as_a_fit_on_the_person_months():
    # The fit on covariate patterns x month group, with the person-clustered sandwich computed
    # from person-level counts, against statsmodels' own logistic regression on every
    # person-month with cov_type="cluster" (groups = persons).
    frame = transition_persons(n=600, or_ips=1.5, seed=3)
    result = fit_transition_to_work(frame)
    assert result.fitted, result.reason

    d = prepare(frame)
    d = d[d[[f"at_risk_{g}" for g in MONTH_GROUPS]].sum(axis=1) > 0].reset_index(drop=True)
    design = build_design(d, covariates(sorted(d["county"].unique())))
    months = person_months(d)
    X = design.X.to_numpy()[months["row"].to_numpy()]
    dummies = pd.get_dummies(months["month_group"]).reindex(columns=list(MONTH_GROUPS)[1:]).to_numpy(dtype=float)
    exog = sm.add_constant(np.column_stack([X, dummies]))
    fit = sm.GLM(months["moved"].to_numpy(), exog, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": months["row"].to_numpy()})
    ours = result.estimates.set_index("term")
    names = list(design.X.columns) + [f"months_since_index[{g} vs 0-2]" for g in list(MONTH_GROUPS)[1:]]
    assert np.allclose(np.log(ours.loc[names, "estimate"]), fit.params[1:], atol=1e-6)
    se = (np.log(ours.loc[names, "ci_high"]) - np.log(ours.loc[names, "ci_low"])) / (2 * 1.959963984540054)
    assert np.allclose(se, fit.bse[1:], rtol=1e-5)


def test_no_month_at_risk_is_not_fitted_with_a_reason():
    frame = transition_persons(n=50, seed=1)
    for g in MONTH_GROUPS:
        frame[f"at_risk_{g}"] = 0
        frame[f"moves_{g}"] = 0
    result = fit_transition_to_work(frame)
    assert not result.fitted
    assert "benefit state" in result.reason
