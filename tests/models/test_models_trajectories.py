"""Trajectory types: the distance and the silhouette choice by hand, the weighted sample, the table."""

from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest

import model_fixtures as mf
from ips_eval.definitions import STATES, TRAJECTORY_MONTHS
from ips_eval.models import registry, write_result
from ips_eval.models.trajectories import (cluster_sequences, fit_trajectory_types, hamming_distances,
                                          silhouette_widths, type_label)

# Five sequences of four months (0 and 1 stand for two states): three near 0000, two near 1111.
A1, A2, A3, B1, B2 = [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [1, 1, 1, 1], [1, 1, 1, 0]
CODES = np.array([A1, A2, A3, B1, B2])
WIDTH = TRAJECTORY_MONTHS[1] - TRAJECTORY_MONTHS[0] + 1
EMPLOYED, OTHER = str(STATES.index("employed") + 1), str(STATES.index("other") + 1)


def test_hamming_distance_counts_the_months_in_different_states():
    # by hand: A2 vs B2 differ in all four months (0001 / 1110), A3 vs B2 in the first two
    expected = np.array([[0, 1, 1, 4, 3],
                         [1, 0, 2, 3, 4],
                         [1, 2, 0, 3, 2],
                         [4, 3, 3, 0, 1],
                         [3, 4, 2, 1, 0]])
    np.testing.assert_array_equal(hamming_distances(CODES), expected)


def test_silhouette_widths_by_hand():
    # two types {A1, A2, A3} {B1, B2}: a = mean distance within, b = mean distance to the other type
    # A1: a = (1+1)/2 = 1,   b = (4+3)/2 = 3.5   -> 2.5/3.5
    # A2: a = (1+2)/2 = 1.5, b = (3+4)/2 = 3.5   -> 2/3.5
    # A3: a = (1+2)/2 = 1.5, b = (3+2)/2 = 2.5   -> 1/2.5
    # B1: a = 1,             b = (4+3+3)/3 = 10/3 -> (7/3)/(10/3)
    # B2: a = 1,             b = (3+4+2)/3 = 3    -> 2/3
    s2 = silhouette_widths(CODES, np.array([1, 1, 1, 2, 2]))
    np.testing.assert_allclose(s2, [2.5 / 3.5, 2 / 3.5, 1 / 2.5, 0.7, 2 / 3])
    # three types {A1, A2} {A3} {B1, B2}: A3 alone -> 0
    # A1: a = 1, b = min(1 (A3), 3.5) = 1 -> 0;  A2: a = 1, b = min(2, 3.5) = 2 -> 0.5
    # B1: a = 1, b = min(3.5, 3) = 3 -> 2/3;     B2: a = 1, b = min(3.5, 2) = 2 -> 0.5
    s3 = silhouette_widths(CODES, np.array([1, 1, 2, 3, 3]))
    np.testing.assert_allclose(s3, [0, 0.5, 0, 2 / 3, 0.5])
    assert s2.mean() == pytest.approx(3.052381 / 5, abs=1e-6)
    assert s3.mean() == pytest.approx((0.5 + 2 / 3 + 0.5) / 5)


def test_the_number_of_types_with_the_largest_asw_is_chosen():
    labels, asw = cluster_sequences(CODES, range(2, 4))
    assert set(asw) == {2, 3}
    assert asw[2] == pytest.approx(3.052381 / 5, abs=1e-6) and asw[3] < asw[2]
    assert labels.tolist() in ([1, 1, 1, 2, 2], [2, 2, 2, 1, 1])


def test_label_is_the_modal_state_of_each_half_year():
    u, e, o = STATES.index("unemployment_benefit"), STATES.index("employed"), STATES.index("other")
    seqs = np.array([[u] * 12 + [e] * 12, [u] * 6 + [o] * 6 + [e] * 12, [u] * 24])
    # modal state of months 0-5: u (3 of 3); 6-11: u (2 of 3); 12-17: e (2 of 3); 18-23: e (2 of 3)
    assert type_label(seqs) == "unemployment_benefit → employed"
    assert type_label(np.array([[e] * 24])) == "employed"


def _frame(n_ips_emp=40, n_ips_other=10, n_cmp=400, w_emp=3.0, n_incomplete=7):
    """IPS clients and comparison persons with one of two sequences, all employed or all 'other'.

    Half the comparison persons are employed throughout with weight `w_emp`, the others weight 1,
    so the weighted comparison share of the employed type is w_emp / (w_emp + 1)."""
    emp, oth = EMPLOYED * WIDTH, OTHER * WIDTH
    rows = ([("I", 1, 1.0, emp)] * n_ips_emp + [("I", 1, 1.0, oth)] * n_ips_other
            + [("C", 0, w_emp, emp)] * (n_cmp // 2) + [("C", 0, 1.0, oth)] * (n_cmp // 2)
            + [("C", 0, 1.0, None)] * n_incomplete)
    f = pd.DataFrame(rows, columns=["person_id", "ips", "weight", "states"])
    f["person_id"] = [f"{p}{i:04d}" for i, p in enumerate(f["person_id"])]
    return f


@pytest.mark.slow
def test_shares_are_of_all_ips_clients_and_the_weighted_comparison_group():
    res = fit_trajectory_types(_frame(), seed=3)
    assert res.status == "ok", res.reason
    t = res.marts["trajectory_types"].set_index("type")
    assert list(t.index) == [1, 2]
    assert t.loc[1, "label"] == "employed" and t.loc[2, "label"] == "other"
    assert t.loc[1, "employed_share"] == 1.0 and t.loc[2, "employed_share"] == 0.0
    assert (t.loc[1, "n_ips"], t.loc[2, "n_ips"]) == (40, 10)
    assert t.loc[1, "share_ips"] == pytest.approx(0.8)
    # every comparison person assigned to its type, weighted: 200 x 3 / (200 x 3 + 200 x 1)
    assert t.loc[1, "share_comparison_weighted"] == pytest.approx(0.75)
    assert t["share_comparison_weighted"].sum() == pytest.approx(1.0)
    # the difference 0.8 - 0.75 with the variance of a proportion (40 of 50 IPS clients) plus that of
    # a weighted proportion with fixed weights: sum w^2 (x - p)^2 / (sum w)^2
    #   = (200 x 9 x 0.25^2 + 200 x 1 x 0.75^2) / 800^2 = (112.5 + 112.5) / 640000
    var = 0.8 * 0.2 / 50 + 225 / 640000
    assert t.loc[1, "share_difference"] == pytest.approx(0.05)
    assert t.loc[1, "share_difference_ci_low"] == pytest.approx(0.05 - 1.959963984540054 * var ** 0.5)
    assert t.loc[1, "share_difference_ci_high"] == pytest.approx(0.05 + 1.959963984540054 * var ** 0.5)
    assert "7 of 457 persons of model 6's 24-month fit left out" in res.reason
    assert "SAMPLE_COMPARISON = 2000 comparison draws" in res.reason and "seed 3" in res.reason
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["asw_chosen", "value"] == pytest.approx(1.0) and d.loc["asw_chosen", "passed"]
    # two clean sequences: every bootstrap resample finds two types, and 2 is not the range's top
    assert d.loc["k_stability", "value"] == 1.0 and d.loc["k_stability", "passed"]
    assert d.loc["k_at_range_edge", "passed"]
    again = fit_trajectory_types(_frame(), seed=3)
    pd.testing.assert_frame_equal(res.marts["trajectory_types"], again.marts["trajectory_types"])


@pytest.mark.slow
def test_uniform_weights_would_give_the_unweighted_share():
    res = fit_trajectory_types(_frame(w_emp=1.0), seed=3)
    share = res.marts["trajectory_types"].set_index("type").loc[1, "share_comparison_weighted"]
    assert share == pytest.approx(0.5)


@pytest.fixture(scope="module")
def register_study(tmp_path_factory):
    con = mf.load(duckdb.connect(), mf.register(effect=2.0, seed=2, effect_post24=3.0))
    write_result(con, registry.fit_model("effectiveness", con, tmp_path_factory.mktemp("fig"), seed=11))
    return con


@pytest.mark.slow
def test_the_step_writes_the_contract_table_and_its_figures(register_study, tmp_path):
    con = register_study
    res = registry.fit_and_write("trajectory_types", con, tmp_path)
    assert res.fitted, res.reason
    cols = [c[0] for c in con.execute("DESCRIBE marts.trajectory_types").fetchall()]
    assert cols[:5] == ["type", "label", "share_ips", "share_comparison_weighted", "n_ips"]
    got = con.execute("SELECT * FROM marts.trajectory_types ORDER BY type").df()
    pd.testing.assert_frame_equal(got, res.marts["trajectory_types"], check_dtype=False)
    assert con.execute("SELECT status FROM models.fit_log WHERE model = 'trajectory_types'").fetchone()[0] in (
        "ok", "warning")
    assert [p.name for p in res.figures] == ["trajectory_types_index_plot.png", "trajectory_types_chronograms.png"]
    assert all(p.exists() for p in res.figures)


def test_without_person_weights_the_table_is_empty_and_the_reason_says_why(tmp_path):
    con = mf.load(duckdb.connect(), mf.register(n_ips=100, n_cmp=300, seed=5))
    # an earlier run's table must not survive
    con.execute("CREATE TABLE marts.trajectory_types AS SELECT 1 AS type, 'stale' AS label")
    res = registry.fit_model("trajectory_types", con, tmp_path)
    write_result(con, res)
    assert res.status == "not_fitted" and "models.person_weights_post24" in res.reason
    assert con.execute("SELECT count(*) FROM marts.trajectory_types").fetchone()[0] == 0
    assert "share_comparison_weighted" in [c[0] for c in con.execute("DESCRIBE marts.trajectory_types").fetchall()]


def test_a_crash_of_the_step_still_replaces_its_table(tmp_path, monkeypatch):
    con = mf.load(duckdb.connect(), mf.register(n_ips=100, n_cmp=300, seed=5))
    con.execute("CREATE TABLE marts.trajectory_types AS SELECT 1 AS type, 'stale' AS label")

    def boom(con):
        raise RuntimeError("simulated bug")

    monkeypatch.setitem(registry.MODELS, "trajectory_types", replace(registry.MODELS["trajectory_types"], load=boom))
    res = registry.fit_and_write("trajectory_types", con, tmp_path)
    assert res.status == "not_fitted" and "simulated bug" in res.reason
    assert con.execute("SELECT count(*) FROM marts.trajectory_types").fetchone()[0] == 0


def test_the_step_reads_the_24_month_fits_own_weights(register_study):
    con = register_study
    w12 = con.execute("SELECT person_id, weight FROM models.person_weights WHERE NOT ips").df().set_index("person_id")
    w24 = con.execute("SELECT person_id, weight FROM models.person_weights_post24 WHERE NOT ips").df()
    assert len(w24) and len(w24) < len(w12)  # the 24-month population is the earlier index dates
    frame = registry.MODELS["trajectory_types"].load_frame(con).set_index("person_id")
    assert set(frame.index) == set(con.execute("SELECT person_id FROM models.person_weights_post24").df()["person_id"])
    shared = w24.set_index("person_id").join(w12, rsuffix="_12", how="inner")
    assert not np.allclose(shared["weight"], shared["weight_12"])  # another propensity model
    np.testing.assert_allclose(frame.loc[w24["person_id"], "weight"], w24["weight"])


def _noisy(n_types: int, n: int = 400, noise: float = 0.25, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, len(STATES), (n_types, WIDTH))
    codes = base[rng.integers(0, n_types, n)]
    flip = rng.random(codes.shape) < noise
    codes[flip] = rng.integers(0, len(STATES), flip.sum())
    return codes.astype(np.int8)


def test_stability_is_high_for_clear_types_and_the_top_of_the_range_is_flagged():
    from ips_eval.models.trajectories import K_RANGE, k_stability

    rng = np.random.default_rng(2)
    clear = _noisy(3, noise=0.1)
    labels, asw = cluster_sequences(clear)
    assert len(np.unique(labels)) == 3
    share, chosen = k_stability(clear, 3, rng, n_boot=10)
    assert share == 1.0 and chosen == {3: 10}
    # four types, two of them alike in half their months, and much noise: 3 and 4 types score
    # alike (ASW 0.361 and 0.358), and the resamples split between them
    gen = np.random.default_rng(0)
    base = gen.integers(0, len(STATES), (3, WIDTH))
    near = base[0].copy()
    near[:12] = gen.integers(0, len(STATES), 12)
    ambiguous = np.vstack([base, near])[gen.integers(0, 4, 400)]
    flip = gen.random(ambiguous.shape) < 0.35
    ambiguous[flip] = gen.integers(0, len(STATES), flip.sum())
    share, chosen = k_stability(ambiguous.astype(np.int8), 3, np.random.default_rng(2), n_boot=10)
    assert set(chosen) == {3, 4} and sum(chosen.values()) == 10 and share == chosen[3] / 10 < 1.0
    # a sample with the most types of the range: flagged in the fit
    many = _noisy(max(K_RANGE), n=300, noise=0.05, seed=4)
    frame = pd.DataFrame({"person_id": [f"P{i}" for i in range(len(many))], "ips": np.arange(len(many)) % 2,
                          "weight": 1.0, "states": ["".join(str(c + 1) for c in row) for row in many]})
    res = fit_trajectory_types(frame, seed=1, sample_comparison=300, n_stability=5)
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["k_at_range_edge", "value"] == max(K_RANGE) and not d.loc["k_at_range_edge", "passed"]
    assert res.status == "warning" and "the largest number tried" in res.reason
