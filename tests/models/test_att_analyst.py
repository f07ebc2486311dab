"""`estimate_att` as an analyst meets it: units, rank, trimming in the open, errors, and the API."""

import numpy as np
import pandas as pd
import pytest

from ips_eval.models.att import MAX_SHARE_TRIMMED, estimate_att
from ips_eval.models.result import NotFitted

NSW = ["age", "educ", "black", "hisp", "married", "nodegree", "re74", "re75", "re74_sq", "re75_sq", "u74", "u75"]


def nsw_cps(n_treated: int = 185, n_comparison: int = 2500, seed: int = 7, thousands: bool = False) -> pd.DataFrame:
    """A frame shaped like Lalonde's NSW treated against CPS controls: earnings in dollars (or
    thousands) with their squares, binary indicators, treated poorer and younger than the
    comparison group, so that some treated have almost no comparable persons."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_comparison
    t = np.r_[np.ones(n_treated, dtype=int), np.zeros(n_comparison, dtype=int)]
    age = np.where(t == 1, rng.normal(25, 7, n), rng.normal(33, 11, n)).clip(17, 55).round()
    educ = np.where(t == 1, rng.normal(10, 2, n), rng.normal(12, 3, n)).clip(3, 18).round()
    black = (rng.random(n) < np.where(t == 1, 0.84, 0.08)).astype(int)
    hisp = ((rng.random(n) < np.where(t == 1, 0.06, 0.07)) & (black == 0)).astype(int)
    married = (rng.random(n) < np.where(t == 1, 0.19, 0.71)).astype(int)
    nodegree = (educ < 12).astype(int)
    u74 = (rng.random(n) < np.where(t == 1, 0.7, 0.12)).astype(int)
    u75 = (rng.random(n) < np.where(t == 1, 0.6, 0.11)).astype(int)
    re74 = np.where(u74 == 1, 0.0, rng.gamma(2.0, np.where(t == 1, 1500, 7000), n)).round(2)
    re75 = np.where(u75 == 1, 0.0, rng.gamma(2.0, np.where(t == 1, 1300, 7000), n)).round(2)
    re78 = (0.8 * re75 + 300 * educ + 1700 * t + rng.normal(0, 5000, n)).clip(0)
    f = pd.DataFrame({"treat": t, "re78": re78, "age": age, "educ": educ, "black": black, "hisp": hisp,
                      "married": married, "nodegree": nodegree, "re74": re74, "re75": re75,
                      "u74": u74, "u75": u75})
    if thousands:
        f[["re74", "re75"]] /= 1000
    f["re74_sq"], f["re75_sq"] = f["re74"] ** 2, f["re75"] ** 2
    return f


@pytest.fixture(scope="module")
def nsw():
    return nsw_cps()


@pytest.fixture(scope="module")
def dollars(nsw):
    return estimate_att(nsw, "treat", "re78", NSW)


def _simple(n: int = 1200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    flag = (rng.random(n) < 0.4).astype(int)
    t = (rng.random(n) < 1 / (1 + np.exp(1.0 - 0.8 * x - 0.4 * flag))).astype(int)
    return pd.DataFrame({"t": t, "y": 1 + x + 2.0 * t + rng.normal(size=n), "x": x, "flag": flag,
                         "region": rng.choice(["north", "south", "east"], n)})


# ---------------------------------------------------------------------------- units and rank


def test_se_and_aipw_do_not_depend_on_the_units_of_earnings(nsw, dollars):
    thousands = estimate_att(nsw_cps(thousands=True), "treat", "re78", NSW)
    a = dollars.estimates.set_index(["outcome", "estimator"])
    b = thousands.estimates.set_index(["outcome", "estimator"])
    for col in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-6, err_msg=col)
    assert a.loc[("re78", "ipw"), "se"] > 50  # an honest SE, not the collapse of a singular J
    assert a.loc[("re78", "aipw"), "ci_high"] - a.loc[("re78", "aipw"), "ci_low"] > 100


@pytest.mark.parametrize("covariate", NSW)
def test_rescaling_any_covariate_changes_nothing_but_its_coefficient(nsw, dollars, covariate):
    res = estimate_att(nsw.assign(**{covariate: nsw[covariate] * 1000.0}), "treat", "re78", NSW)
    np.testing.assert_allclose(res.estimates[["estimate", "se"]].to_numpy(),
                               dollars.estimates[["estimate", "se"]].to_numpy(), rtol=1e-6)
    before = dollars.propensity_model.set_index("term")
    after = res.propensity_model.set_index("term")
    expected = before.copy()
    expected.loc[covariate, ["coef", "se"]] /= 1000.0
    np.testing.assert_allclose(after[["coef", "se"]].to_numpy(), expected[["coef", "se"]].to_numpy(), rtol=1e-6)


def test_a_collinear_covariate_is_refused_naming_both():
    f = _simple().assign(x_copy=lambda d: 2 * d["x"] + 3)
    with pytest.raises(NotFitted, match=r"collinear \((x_copy is a linear combination of x|"
                                        r"x is a linear combination of x_copy)\)"):
        estimate_att(f, "t", "y", ["x", "x_copy", "region"])


# ---------------------------------------------------------------------------- trimming in the open


def test_heavy_trimming_warns_and_shows_the_untrimmed_estimate_and_who_was_trimmed(nsw, dollars):
    res = dollars
    d = res.diagnostics.set_index("diagnostic")
    n_trimmed = res.extra["n_trimmed_treated"]
    share = d.loc["share_treated_trimmed", "value"]
    assert share == pytest.approx(n_trimmed / 185) and share > MAX_SHARE_TRIMMED
    assert d.loc["share_treated_trimmed", "passed"] is False
    assert res.status == "warning" and "share_treated_trimmed" in res.reason
    ipw, untrimmed = res.estimate("re78", "ipw"), res.estimate("re78", "ipw_untrimmed")
    assert untrimmed["n_treated"] == 185 and ipw["n_treated"] == 185 - n_trimmed
    assert f"{untrimmed['estimate']:.4g}" in d.loc["share_treated_trimmed", "detail"]
    # the profile: the kept treated are the rows of the weights; the trimmed the other treated
    p = res.trimmed_profile.set_index("covariate")
    kept = res.weights.index[res.weights["treated"] == 1]
    trimmed = nsw.index[(nsw["treat"] == 1) & ~nsw.index.isin(kept)]
    assert p.loc["n", "treated_trimmed"] == len(trimmed) == n_trimmed
    assert p.loc["re74", "treated_kept"] == pytest.approx(nsw.loc[kept, "re74"].mean())
    assert p.loc["black", "treated_trimmed"] == pytest.approx(nsw.loc[trimmed, "black"].mean())
    # no trimming: nothing trimmed, no untrimmed twin, the share passes
    none = estimate_att(nsw, "treat", "re78", NSW, trim=None)
    assert none.extra["n_trimmed_treated"] == 0 and "ipw_untrimmed" not in set(none.estimates["estimator"])
    assert none.estimate("re78", "ipw")["estimate"] == pytest.approx(untrimmed["estimate"])


def test_a_light_trim_passes():
    res = estimate_att(_simple(), "t", "y", ["x", "region"])
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["share_treated_trimmed", "passed"] is True and res.status == "ok"


# ---------------------------------------------------------------------------- errors, one per message


def test_a_yes_no_treatment_is_refused_naming_its_values():
    f = _simple()
    with pytest.raises(ValueError, match=r"treatment column 't' must hold 0 and 1 .*not text: it holds 'no', 'yes'"):
        estimate_att(f.assign(t=f["t"].map({0: "no", 1: "yes"})), "t", "y", ["x"])
    with pytest.raises(ValueError, match=r"treatment column 't' must hold 0 and 1 only .*it also holds 2"):
        estimate_att(f.assign(t=f["t"] * 2), "t", "y", ["x"])
    # True/False is a treatment
    as_bool = estimate_att(f.assign(t=f["t"].astype(bool)), "t", "y", ["x"]).estimate("y")["estimate"]
    assert as_bool == pytest.approx(estimate_att(f, "t", "y", ["x"]).estimate("y")["estimate"])


def test_a_constant_covariate_is_refused_not_dropped():
    with pytest.raises(NotFitted, match=r"covariate 'site' has the same value \('A'\) for all 1200 persons with"):
        estimate_att(_simple().assign(site="A"), "t", "y", ["x", "site"])
    with pytest.raises(NotFitted, match=r"covariate 'year' has the same value \(2024\) for all"):
        estimate_att(_simple().assign(year=2024), "t", "y", ["x", "year"])


def test_infinite_values_are_refused_naming_the_column_and_rows():
    f = _simple()
    f.loc[5, "x"] = np.inf
    with pytest.raises(ValueError, match=r"column 'x' holds infinite values in 1 rows \(first at index \[5\]\)"):
        estimate_att(f, "t", "y", ["x"])
    g = _simple()
    g.loc[7, "y"] = -np.inf
    with pytest.raises(ValueError, match=r"column 'y' holds infinite values in 1 rows \(first at index \[7\]\)"):
        estimate_att(g, "t", "y", ["x"])


def test_a_covariate_listed_twice_is_refused():
    with pytest.raises(ValueError, match="covariate 'x' is listed twice"):
        estimate_att(_simple(), "t", "y", ["x", "region", "x"])


def test_the_treatment_or_the_outcome_among_the_covariates_is_refused():
    with pytest.raises(ValueError, match="the treatment 't' is among the covariates"):
        estimate_att(_simple(), "t", "y", ["x", "t"])
    with pytest.raises(ValueError, match="the outcome 'y' is among the covariates"):
        estimate_att(_simple(), "t", "y", ["x", "y"])


def test_outcomes_as_a_string_is_one_outcome():
    f = _simple()
    one = estimate_att(f, "t", "y", "x")
    assert set(one.estimates["outcome"]) == {"y"}
    pd.testing.assert_frame_equal(one.estimates, estimate_att(f, "t", ["y"], ["x"]).estimates)


def test_a_binary_covariate_as_0_1_or_as_text_gives_one_result():
    f = _simple()
    f.loc[(f["flag"] == 1), "t"] = 0  # flag = 1 holds comparison persons only: left out, not "separated"
    text = f.assign(flag=f["flag"].map({0: "no", 1: "yes"}))
    a = estimate_att(f, "t", "y", ["x", "flag"])
    b = estimate_att(text, "t", "y", ["x", "flag"])
    np.testing.assert_allclose(a.estimates[["estimate", "se"]].to_numpy(),
                               b.estimates[["estimate", "se"]].to_numpy(), rtol=1e-9)
    outside = a.diagnostics.set_index("diagnostic").loc["n_comparison_outside_support", "value"]
    assert outside == (f["flag"] == 1).sum()
    # and a level holding treated persons only is refused alike, by name
    g = _simple()
    g.loc[g["flag"] == 1, "t"] = 1
    for frame in (g, g.assign(flag=g["flag"].map({0: "no", 1: "yes"}))):
        with pytest.raises(NotFitted, match="no comparison persons in flag"):
            estimate_att(frame, "t", "y", ["x", "flag"])


# ---------------------------------------------------------------------------- the API


def test_alpha_and_conf_int_like_statsmodels():
    f = _simple()
    res = estimate_att(f, "t", "y", ["x", "region"], alpha=0.1)
    ci = res.conf_int()
    e = res.estimates.set_index(["outcome", "estimator"])
    np.testing.assert_allclose(ci[0], e["ci_low"])
    np.testing.assert_allclose(ci[1], e["ci_high"])
    wide = res.conf_int(0.05)
    assert (wide[0] < ci[0]).all() and (wide[1] > ci[1]).all()
    np.testing.assert_allclose(wide[1] - wide[0], 2 * 1.959964 * e["se"], rtol=1e-6)
    text = res.summary()
    row = res.estimate("y", "ipw")
    assert "Treated analysed" in text and f"{row['estimate']:.4g}" in text and "[0.05" in text and "0.95]" in text


def test_sampling_weights_are_copies_of_the_rows_for_the_point_estimate():
    f = _simple()
    w = np.where(np.arange(len(f)) % 3 == 0, 2.0, 1.0)
    copied = pd.concat([f, f[w == 2.0]], ignore_index=True)
    a = estimate_att(f, "t", "y", ["x", "region"], weights=w, trim=None)
    b = estimate_att(copied, "t", "y", ["x", "region"], trim=None)
    np.testing.assert_allclose(a.estimates["estimate"], b.estimates["estimate"], rtol=1e-8)
    with pytest.raises(ValueError, match="weights must be positive finite numbers: 1 rows"):
        estimate_att(f, "t", "y", ["x"], weights=np.r_[-1.0, np.ones(len(f) - 1)])


def test_cluster_sums_the_influence_within_clusters_and_uses_t():
    f = _simple()
    plain = estimate_att(f, "t", "y", ["x", "region"])
    own = estimate_att(f, "t", "y", ["x", "region"], cluster=np.arange(len(f)))
    n = len(f)
    np.testing.assert_allclose(own.estimates["se"], plain.estimates["se"] * np.sqrt(n / (n - 1)), rtol=1e-9)
    grouped = estimate_att(f.assign(g=np.arange(n) % 8), "t", "y", ["x", "region"], cluster="g")
    assert grouped.df == 7
    assert grouped.diagnostics.set_index("diagnostic").loc["t_degrees_of_freedom", "value"] == 7
    r = grouped.estimate("y", "ipw")
    assert r["ci_high"] - r["estimate"] == pytest.approx(2.364624 * r["se"], rel=1e-5)  # t(0.975; 7)
    with pytest.raises(ValueError, match="cluster= works with the sandwich"):
        estimate_att(f, "t", "y", ["x"], cluster="region", variance="bootstrap")
