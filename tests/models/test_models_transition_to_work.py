"""Model 7 (transition_to_work): the discrete-time recurrent-event hazard of moving from benefits into work,
with the first-move-only fit beside it, on a fixture where persons go back onto benefits and move again."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from ips_eval.models.design import build_design
from ips_eval.models.transition_to_work import MONTH_GROUPS, covariates, fit_transition_to_work, prepare
from model_fixtures import person_months, transition_persons


MAIN, FIRST = "logistic_hazard", "logistic_hazard_first_move"


def _est(result, estimator=MAIN):
    e = result.estimates
    return e[e["estimator"] == estimator].set_index("term")


def test_planted_odds_ratio_is_recovered_by_both_fits():
    frame = transition_persons(n=4000, or_ips=2.0, seed=5)
    # the fixture has re-entry: persons who moved, went back onto benefits and moved again
    moves = frame[[f"moves_{g}" for g in MONTH_GROUPS]].sum(axis=1)
    first = frame[[f"moves_first_{g}" for g in MONTH_GROUPS]].sum(axis=1)
    assert (moves >= 2).sum() > 200 and first.max() == 1 and (first == (moves > 0)).all()
    result = fit_transition_to_work(frame)
    assert result.fitted, result.reason
    for estimator in (MAIN, FIRST):
        ips = _est(result, estimator).loc["ips"]
        assert ips["ci_low"] < 2.0 < ips["ci_high"] and ips["ci_low"] > 1.0, estimator
        # The planted baseline hazard: months 6 and later have odds exp(-0.5) = 0.61 of months 0-2.
        later = _est(result, estimator).loc["months_since_index[6-11 vs 0-2]"]
        assert later["ci_low"] < math.exp(-0.5) < later["ci_high"], estimator
    # benefit months before the index month are a term (planted odds ratio 0.75 for 7-12 months)
    benefit = _est(result).loc["benefit_pre12[7-12 vs none]"]
    assert benefit["ci_low"] < 0.75 < benefit["ci_high"] and benefit["ci_high"] < 1.0
    # the recurrent fit uses the later spells too: more months, a narrower interval
    width = {e: np.log(_est(result, e).loc["ips", "ci_high"] / _est(result, e).loc["ips", "ci_low"]) for e in (MAIN, FIRST)}
    assert width[MAIN] < width[FIRST]
    d = result.diagnostics.set_index("diagnostic")
    assert d.loc["persons_moving_more_than_once", "value"] == (moves >= 2).sum()
    after = sum(frame[f"at_risk_{g}"].sum() - frame[f"at_risk_first_{g}"].sum() for g in MONTH_GROUPS)
    assert d.loc["months_at_risk_after_a_move", "value"] == after > 0
    assert "recurrent events" in result.reason


def test_no_effect_gives_an_interval_around_one():
    result = fit_transition_to_work(transition_persons(n=4000, or_ips=1.0, seed=11))
    ips = _est(result).loc["ips"]
    assert ips["ci_low"] < 1.0 < ips["ci_high"]


@pytest.mark.parametrize("estimator, at, moves", [(MAIN, "at_risk", "moves"), (FIRST, "at_risk_first", "moves_first")])
def test_same_estimates_and_clustered_ses_as_a_fit_on_the_person_months(estimator, at, moves):
    # The fit on covariate patterns x month group, with the person-clustered sandwich computed
    # from person-level counts, against statsmodels' own logistic regression on every
    # person-month with cov_type="cluster" (groups = persons), for the recurrent fit (a person's
    # later spells are more of their months) and for the first-move fit.
    frame = transition_persons(n=600, or_ips=1.5, seed=3)
    result = fit_transition_to_work(frame)
    assert result.fitted, result.reason

    d = prepare(frame)
    d = d[d[[f"at_risk_{g}" for g in MONTH_GROUPS]].sum(axis=1) > 0].reset_index(drop=True)
    design = build_design(d, covariates(sorted(d["county"].unique())))
    months = person_months(d, at, moves)
    X = design.X.to_numpy()[months["row"].to_numpy()]
    dummies = pd.get_dummies(months["month_group"]).reindex(columns=list(MONTH_GROUPS)[1:]).to_numpy(dtype=float)
    exog = sm.add_constant(np.column_stack([X, dummies]))
    fit = sm.GLM(months["moved"].to_numpy(), exog, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": months["row"].to_numpy()})
    ours = _est(result, estimator)
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


def test_the_query_counts_every_spell_and_the_first_move_apart():
    # One person, months 0-7: U U E E U U E D, observed to month 7 (C). Pairs from a benefit month
    # with the next observed: 0->1 (U->U), 1->2 (U->E, the first move), 4->5 (U->U), 5->6 (U->E,
    # a second move after re-entry); 7 has no next month. Recurrent: 4 months at risk, 2 moves;
    # first move only: months 0 and 1, 1 move. All in the month group 0-2 except 4->5 and 5->6 (3-5).
    import duckdb

    from ips_eval import MODEL_QUERIES_DIR
    from ips_eval.definitions import reference_tables
    from ips_eval.warehouse.database import query_sql

    con = duckdb.connect()
    for schema in ("ref", "marts"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.register("s", reference_tables()["states"])
    con.execute("CREATE TABLE ref.states AS SELECT * FROM s")
    states = ["unemployment_benefit"] * 2 + ["employed"] * 2 + ["unemployment_benefit"] * 2 + ["employed",
                                                                                                "disability_benefit"]
    con.register("q", pd.DataFrame({"person_id": "P1", "ips": 1, "rel_month": range(8), "state": states}))
    con.execute("CREATE TABLE marts.state_sequences AS"
                " SELECT *, lead(state) OVER (PARTITION BY person_id ORDER BY rel_month) AS next_state FROM q")
    con.register("hazard_month_groups", pd.DataFrame([(g, a, b) for g, (a, b) in MONTH_GROUPS.items()],
                                                     columns=["month_group", "first_month", "last_month"]))
    got = query_sql(con, MODEL_QUERIES_DIR / "transition_to_work.sql").set_index("month_group")
    cols = ["months_at_risk", "moves_into_work", "months_at_risk_first", "first_moves"]
    assert got.loc["0-2", cols].tolist() == [2, 1, 2, 1]
    assert got.loc["3-5", cols].tolist() == [2, 1, 0, 0]
    assert list(got.index) == ["0-2", "3-5"]


def test_the_hazard_fit_leaves_no_copy_of_its_design_behind():
    """statsmodels' IRLS leaves each iteration's weighted design in a reference cycle: the fit
    collects them on leaving (with the automatic collector off here, only that collection can
    free them), and gives the collector's threshold back as it was."""
    import gc

    from statsmodels.regression._tools import _MinimalWLS

    from ips_eval.models.transition_to_work import _hazard_fit

    rng = np.random.default_rng(3)
    X = rng.integers(0, 2, size=(400, 3)).astype(float)
    n_at = rng.integers(1, 6, size=(400, 2)).astype(float)
    n_ev = np.minimum(n_at, rng.binomial(1, 0.3, size=(400, 2)).astype(float))
    threshold = gc.get_threshold()
    gc.collect()
    gc.disable()
    try:
        names, beta, se, converged, _ = _hazard_fit(X, ["a", "b", "c"], n_at, n_ev, ["g1", "g2"])
        left = [o for o in gc.get_objects() if isinstance(o, _MinimalWLS)]
    finally:
        gc.enable()
    assert converged and len(beta) == len(names) == 5 and np.all(np.isfinite(se))
    assert left == []
    assert gc.get_threshold() == threshold
