"""Model 9 (effect_by_subgroup): the ATT within subgroup levels, each with its own propensity model,
recovers effects planted per level; a level with too few IPS clients is reported, not fitted;
Cochran's Q by hand."""

import numpy as np
import pandas as pd
import pytest

from ips_eval.models.effect_by_subgroup import MIN_TREATED, TABLE_COLUMNS, fit_effect_by_subgroup, heterogeneity

#: The planted effect (employed months of 12) per age group; every other subgroup mixes them.
PLANTED = {"<30": 1.0, "30-39": 1.0, "40-49": 3.0, "50+": 1.0}


def _frame(n: int = 6000, seed: int = 3, n_old_ips: int | None = None) -> pd.DataFrame:
    """Persons whose IPS depends on age, county and pre-index employment; employed months post12 =
    a binomial untreated outcome (depending on the same) + the age group's planted effect."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 60, n)
    county = rng.choice(["A", "B", "C", "D"], n)
    pre = rng.integers(0, 13, n)
    gender = rng.choice(["1", "2"], n)
    smi = rng.random(n) < 0.4
    logit = -1.6 + 0.02 * (age - 40) - 0.08 * (pre - 6) + 0.3 * (county == "A") + 0.3 * smi
    ips = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    if n_old_ips is not None:  # only a few IPS clients aged 50+
        old = np.flatnonzero((age >= 50) & (ips == 1))
        ips[old[n_old_ips:]] = 0
    y0 = rng.binomial(10, np.clip(0.15 + 0.03 * pre, 0, 0.9))
    group = pd.cut(age, [0, 29, 39, 49, 200], labels=list(PLANTED)).astype(str)
    effect = np.array([PLANTED[g] for g in group])
    return pd.DataFrame({
        "person_id": [f"p{i}" for i in range(n)], "ips": ips, "age": age, "gender": gender,
        "education": rng.choice(["1", "2", "3"], n), "diagnosis_group": np.where(smi, "psychosis", "anxiety_stress"),
        "county": county, "employed_months_pre12": pre, "benefit_months_pre12": rng.integers(0, 13, n),
        "employed_months_post12": y0 + ips * effect, "smi": smi,
        "fidelity_category": np.where(np.isin(county, ["A", "B"]), "good", "fair"),
    })


@pytest.fixture(scope="module")
def fitted():
    frame = _frame()
    return frame, fit_effect_by_subgroup(frame)


def test_each_age_group_recovers_its_planted_effect_and_the_heterogeneity_is_found(fitted):
    frame, res = fitted
    assert res.fitted, res.reason
    t = res.tables["effect_by_subgroup"].set_index("term")
    assert list(res.tables["effect_by_subgroup"].columns) == TABLE_COLUMNS
    for level, effect in PLANTED.items():
        row = t.loc[f"age_group={level}"]
        assert row["ci_low"] <= effect <= row["ci_high"], (level, row[["estimate", "ci_low", "ci_high"]])
        assert row["status"] == "ok" and row["max_abs_smd"] <= 0.1
    assert t.loc["age_group=40-49", "ci_low"] > 1.0
    age = t[t["subgroup"] == "age_group"]
    assert age["p_heterogeneity"].nunique() == 1 and age["p_heterogeneity"].iloc[0] < 0.001
    assert (age["df_heterogeneity"] == 3).all()
    # the same test in models.estimates, and every estimated level's ATT
    e = res.estimates.set_index("term")
    assert e.loc["age_group:heterogeneity", "p_value"] == pytest.approx(age["p_heterogeneity"].iloc[0])
    assert e.loc["age_group=40-49", "estimator"] == "ipw"


def test_subgroups_without_a_planted_difference_cover_their_mixed_effect(fitted):
    frame, res = fitted
    t = res.tables["effect_by_subgroup"].set_index("term")
    treated = frame[frame["ips"] == 1]
    in_40s = treated["age"].between(40, 49)
    for subgroup, column, levels in (("gender", "gender", ["1", "2"]), ("smi", "smi", [True, False]),
                                     ("fidelity_category", "fidelity_category", ["good", "fair"])):
        for level in levels:
            sel = treated[column] == level
            planted = 1.0 + 2.0 * in_40s[sel].mean()  # the level's IPS clients' mean planted effect
            code = {True: "true", False: "false"}.get(level, level)
            row = t.loc[f"{subgroup}={code}"]
            assert row["ci_low"] <= planted <= row["ci_high"], (subgroup, level, planted, row["estimate"])
            assert row["n_treated"] == int(sel.sum())


def test_each_level_has_its_own_propensity_model_and_diagnostics(fitted):
    frame, res = fitted
    d = res.diagnostics.set_index("diagnostic")
    for term in ("age_group=<30", "gender=2", "smi=true", "fidelity_category=fair"):
        for name in ("max_abs_smd_after_weighting", "equipoise", "share_treated_trimmed"):
            assert f"{term}:{name}" in d.index
    # a level's estimate is estimate_att on that level alone (gender: without gender in the model)
    from ips_eval.models.att import estimate_att
    from ips_eval.models.effectiveness import PS_COVARIATES

    level = frame[frame["gender"] == "2"]
    own = estimate_att(level, "ips", "employed_months_post12", [c for c in PS_COVARIATES if c != "gender"],
                       estimators=("ipw",)).estimate("employed_months_post12")
    row = res.tables["effect_by_subgroup"].set_index("term").loc["gender=2"]
    assert row["estimate"] == pytest.approx(own["estimate"]) and row["se"] == pytest.approx(own["se"])


def test_a_level_with_too_few_ips_clients_is_reported_not_fitted():
    res = fit_effect_by_subgroup(_frame(n_old_ips=MIN_TREATED - 5))
    t = res.tables["effect_by_subgroup"].set_index("term")
    row = t.loc["age_group=50+"]
    assert row["status"] == "not_estimated" and np.isnan(row["estimate"])
    assert row["n_treated"] == MIN_TREATED - 5 and "at least 30" in row["status_reason"]
    assert "age_group=50+" not in set(res.estimates["term"])
    # the heterogeneity test is over the three levels estimated, on every row of the subgroup
    age = t[t["subgroup"] == "age_group"]
    assert (age["df_heterogeneity"] == 2).all() and age["p_heterogeneity"].nunique() == 1
    assert res.status == "warning" and "age_group=50+ not estimated" in res.reason


def test_cochran_q_by_hand():
    # estimates 1, 2, 4 with SEs 1, 1, 2: weights 1, 1, 1/4; weighted mean (1 + 2 + 1) / 2.25 = 16/9
    q, df, p = heterogeneity(np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 2.0]))
    m = 16 / 9
    assert q == pytest.approx((1 - m) ** 2 + (2 - m) ** 2 + (4 - m) ** 2 / 4)
    assert df == 2
    assert p == pytest.approx(np.exp(-q / 2))  # chi-square with 2 df: P(X > q) = exp(-q/2)
    assert np.isnan(heterogeneity(np.array([1.0]), np.array([1.0]))[0])
