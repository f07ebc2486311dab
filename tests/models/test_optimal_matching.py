"""Optimal matching: the distance by hand and against a plain reference, the costs, the agreement
measures by hand, and what OM shows that Hamming does not (a shift by one month)."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import fcluster, linkage

from ips_eval.definitions import STATES, TRAJECTORY_MONTHS
from ips_eval.models.optimal_matching import (adjusted_rand_index, matched_agreement, om_distances, om_pairs,
                                              om_types, sensitivity, transition_costs)
from ips_eval.models.trajectories import fit_trajectory_types, hamming_distances, one_hot

WIDTH = TRAJECTORY_MONTHS[1] - TRAJECTORY_MONTHS[0] + 1
U, E = STATES.index("unemployment_benefit"), STATES.index("employed")


def reference_om(x, y, sub, indel):
    """The textbook edit distance with costs, for one pair, one cell at a time."""
    d = [[0.0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i in range(1, len(x) + 1):
        d[i][0] = i * indel
    for j in range(1, len(y) + 1):
        d[0][j] = j * indel
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            d[i][j] = min(d[i - 1][j] + indel, d[i][j - 1] + indel, d[i - 1][j - 1] + sub[x[i - 1]][y[j - 1]])
    return d[len(x)][len(y)]


def test_with_indel_1_and_substitution_2_om_is_the_lcs_distance():
    sub = 2.0 * (1 - np.eye(4))
    a = np.array([[0, 1, 2, 3],    # shifted by one month: LCS 123, 4 + 4 - 2 x 3 = 2 (two indels)
                  [0, 0, 1, 1],    # LCS 00 (or 11): 8 - 4 = 4
                  [0, 0, 0, 0],    # nothing in common: 8 - 0 = 8, as four substitutions
                  [3, 2, 1, 0]])   # LCS of length 1: 8 - 2 = 6
    b = np.array([[1, 2, 3, 0],
                  [1, 1, 0, 0],
                  [1, 2, 3, 1],
                  [0, 1, 2, 3]])
    np.testing.assert_allclose(om_pairs(a, b, sub, 1.0), [2, 4, 8, 6])
    # Hamming counts every month of the shifted pair: 4 months differ
    assert hamming_distances(np.vstack([a[:1], b[:1]]))[0, 1] == 4


def test_cheap_substitutions_are_preferred_to_a_shift():
    # sub(0, 1) = 0.6: 01 -> 10 by two substitutions (1.2), cheaper than delete 0 + insert 0 (2)
    sub = np.array([[0.0, 0.6], [0.6, 0.0]])
    assert om_pairs(np.array([[0, 1]]), np.array([[1, 0]]), sub, 1.0)[0] == pytest.approx(1.2)
    # with sub 1.5, 010 -> 101 by a shift: delete the first 0 (1), keep 10, insert 1 (1) = 2, cheaper
    # than three substitutions (4.5); any other alignment has two indels and more
    sub = np.array([[0.0, 1.5], [1.5, 0.0]])
    assert om_pairs(np.array([[0, 1, 0]]), np.array([[1, 0, 1]]), sub, 1.0)[0] == pytest.approx(2.0)


def test_transition_costs_by_hand():
    # 0011: 0->0, 0->1, 1->1; 1000: 1->0, 0->0, 0->0.  From 0: three to 0, one to 1: p(0->1) = 1/4.
    # From 1: one to 1, one to 0: p(1->0) = 1/2.  sub(0, 1) = 2 - 1/4 - 1/2 = 1.25; indel 1.25 / 2
    costs, indel = transition_costs(np.array([[0, 0, 1, 1], [1, 0, 0, 0]]), 2)
    np.testing.assert_allclose(costs, [[0, 1.25], [1.25, 0]])
    assert indel == pytest.approx(0.625)


def test_om_equals_the_plain_reference_on_random_sequences():
    rng = np.random.default_rng(7)
    # runs of states, as register months are, and some sequences repeated
    codes = rng.integers(0, len(STATES), (30, WIDTH))
    stay = rng.random(codes.shape) < 0.7
    for t in range(1, WIDTH):
        codes[:, t] = np.where(stay[:, t], codes[:, t - 1], codes[:, t])
    codes = np.vstack([codes, codes[:3]])
    costs, indel = transition_costs(codes, len(STATES))
    d = om_distances(codes, costs, indel, chunk=37)  # chunks that split the pairs unevenly
    assert d.shape == (len(codes), len(codes))
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0)
    np.testing.assert_allclose(d[:3], d[-3:])
    pairs = list(itertools.combinations(range(len(codes)), 2))[::7]
    expected = [reference_om(codes[i].tolist(), codes[j].tolist(), costs.tolist(), indel) for i, j in pairs]
    np.testing.assert_allclose([d[i, j] for i, j in pairs], expected, rtol=1e-5)
    # random costs and lengths other than 24 months too
    sub = rng.random((4, 4)) * 3
    sub = (sub + sub.T) / 2
    np.fill_diagonal(sub, 0)
    a, b = rng.integers(0, 4, (50, 9)), rng.integers(0, 4, (50, 9))
    np.testing.assert_allclose(om_pairs(a, b, sub, 0.8),
                               [reference_om(x.tolist(), y.tolist(), sub.tolist(), 0.8) for x, y in zip(a, b)],
                               rtol=1e-5)
    # OM never exceeds substituting month by month, the Hamming alignment
    month_by_month = sub[a, b].sum(axis=1)
    assert (om_pairs(a, b, sub, 0.8) <= month_by_month + 1e-5).all()


def test_adjusted_rand_index_by_hand():
    # contingency [[2, 1, 0], [0, 1, 2]]: pairs together in both = 1 + 1 = 2; rows 3 + 3 = 6;
    # columns 1 + 1 + 1 = 3; all pairs 15; expected 6 x 3 / 15 = 1.2; (2 - 1.2) / ((6 + 3) / 2 - 1.2)
    a, b = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 1, 2, 2])
    assert adjusted_rand_index(a, b) == pytest.approx(0.8 / 3.3)
    assert adjusted_rand_index(b, a) == pytest.approx(0.8 / 3.3)
    assert adjusted_rand_index(a, 7 - a) == 1.0  # the same partition under other names
    # against the Rand index counted pair by pair, on random partitions
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 3, 40), rng.integers(0, 4, 40)
    pairs = list(itertools.combinations(range(40), 2))
    both = sum(x[i] == x[j] and y[i] == y[j] for i, j in pairs)
    in_x = sum(x[i] == x[j] for i, j in pairs)
    in_y = sum(y[i] == y[j] for i, j in pairs)
    expected = in_x * in_y / len(pairs)
    assert adjusted_rand_index(x, y) == pytest.approx((both - expected) / ((in_x + in_y) / 2 - expected))


def test_matched_agreement_by_hand():
    # a's types 1, 2, 3 hold (1 1 1), (2 2 2 2), (3); b renames them and moves one item:
    # best matching 1 -> 9, 2 -> 8, 3 -> 7 keeps 3 + 3 + 1 = 7 of 8
    a = np.array([1, 1, 1, 2, 2, 2, 2, 3])
    b = np.array([9, 9, 9, 8, 8, 8, 9, 7])
    assert matched_agreement(a, b) == pytest.approx(7 / 8)
    # more types on one side: the unmatched type's items count as disagreeing
    assert matched_agreement(np.array([1, 1, 2, 2]), np.array([1, 2, 3, 4])) == pytest.approx(2 / 4)


def _timing_groups(rng, n=60):
    """Two planted groups: into work around month 3, or around month 15 (give or take a month)."""
    start = np.where(np.arange(n) < n // 2, 3, 15) + rng.integers(-1, 2, n)
    codes = np.where(np.arange(WIDTH)[None, :] < start[:, None], U, E)
    return codes, (np.arange(n) >= n // 2).astype(int)


def test_two_timing_groups_are_found_by_both_distances():
    codes, truth = _timing_groups(np.random.default_rng(1))
    costs, indel = transition_costs(codes, len(STATES))
    found = om_types(om_distances(codes, costs, indel), 2)
    assert adjusted_rand_index(found, truth) == pytest.approx(1.0)
    hamming = fcluster(linkage(one_hot(codes), method="ward"), 2, criterion="maxclust")
    out = sensitivity(codes, hamming, len(STATES), size=1000, seed=1)
    assert out["adjusted_rand"] == pytest.approx(1.0) and out["agreement"] == 1.0 and out["n"] == len(codes)


def test_a_one_month_shift_is_grouped_by_om_and_split_by_hamming():
    # X: unemployed and employed in alternate months; X1: the same one month later; Z: unemployed
    x = np.array([U, E] * (WIDTH // 2))
    x1, z = np.roll(x, 1), np.full(WIDTH, U)
    codes = np.repeat(np.vstack([x, x1, z]), 10, axis=0)
    ham = hamming_distances(codes)
    assert (ham[0, 10], ham[0, 20], ham[10, 20]) == (WIDTH, WIDTH // 2, WIDTH // 2)
    # transitions: from U half to E, half to U (Z); from E always to U: sub(U, E) = 2 - 1/2 - 1 = 1/2;
    # the states that never occur cost 2, so indel = 1; OM(X, X1) = delete one month, insert one = 2,
    # OM(X, Z) = 12 substitutions of E by U = 6
    costs, indel = transition_costs(codes, len(STATES))
    assert costs[U, E] == pytest.approx(0.5) and indel == 1.0
    d = om_distances(codes, costs, indel)
    assert (d[0, 10], d[0, 20], d[10, 20]) == pytest.approx((2.0, 6.0, 6.0))
    om = om_types(d, 2)
    hamming = fcluster(linkage(one_hot(codes), method="ward"), 2, criterion="maxclust")
    assert om[0] == om[10] != om[20]        # OM: the shifted sequences are one type
    assert hamming[0] != hamming[10]         # Hamming: X and X1 are as far apart as can be
    # contingency of 10s, e.g. OM {X, X1} {Z} against Hamming {X, Z} {X1}: [[10, 10], [10, 0]];
    # best matching keeps 20 of 30; pairs together in both 3 x 45 = 135, in each 190 + 45 = 235
    out = sensitivity(codes, hamming, len(STATES), size=1000, seed=1)
    assert out["agreement"] == pytest.approx(2 / 3)
    expected = 235 ** 2 / 435
    assert out["adjusted_rand"] == pytest.approx((135 - expected) / (235 - expected))


def test_the_fit_reports_the_agreement_on_a_capped_sample():
    codes, _ = _timing_groups(np.random.default_rng(2), n=120)
    frame = pd.DataFrame({"person_id": [f"P{i}" for i in range(len(codes))], "ips": np.arange(len(codes)) % 2,
                          "weight": 1.0, "states": ["".join(str(c + 1) for c in row) for row in codes]})
    res = fit_trajectory_types(frame, seed=1, sample_comparison=100, n_stability=2, om_size=80)
    d = res.diagnostics.set_index("diagnostic")
    assert d.loc["om_adjusted_rand", "value"] == pytest.approx(1.0)
    assert d.loc["om_type_agreement", "value"] == 1.0
    assert pd.isna(d.loc["om_adjusted_rand", "passed"]) and pd.isna(d.loc["om_adjusted_rand", "threshold"])
    # 60 IPS clients and 100 draws clustered, 80 of them by OM
    assert d.loc["om_adjusted_rand", "detail"].startswith("80 sequences (") and "of the 160 " in d.loc[
        "om_adjusted_rand", "detail"] and "seed 1 (OM_SIZE)" in d.loc["om_adjusted_rand", "detail"]
    assert "optimal matching on 80 sequences: adjusted Rand index 1.000" in res.reason
    without = fit_trajectory_types(frame, seed=1, sample_comparison=100, n_stability=2, om_size=0)
    assert not without.diagnostics["diagnostic"].str.startswith("om_").any()
