"""Optimal matching (OM) of state sequences: the trajectory types' sensitivity to the distance.

The trajectory types (`ips_eval.models.trajectories`) use the Hamming distance, which compares
month with month. OM also lets a sequence be shifted: its distance is the cheapest way to turn
one sequence into the other by substituting states and by inserting or deleting months. Here
the costs are TraMineR's usual ones:

- substitution, "TRATE": sub(a, b) = 2 - p(a -> b) - p(b -> a), with p the month-to-month
  transition probabilities of the sequences themselves (`transition_costs`): states that often
  follow each other are cheap to exchange;
- insertion/deletion ("indel"): half the largest substitution cost (TraMineR's `indel="auto"`),
  so that deleting a month and inserting one elsewhere costs exactly the dearest substitution;
  a shift is then chosen only where it saves more than that.

`om_distances` runs the dynamic programme for all pairs of distinct sequences at once: one
numpy operation per cell of the (months x months) table (and a few per row), each over a chunk
of pairs, never a Python loop per pair.
`om_types` clusters the distances with Ward's update on sqrt(OM), which treats OM as Ward treats
the Hamming distance in the main typology; `adjusted_rand_index` and `matched_agreement`
compare two typologies of the same sequences.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import squareform

#: Pairs of sequences per step of the dynamic programme (bounds the arrays held: a few of
#: (months + 1) x CHUNK floats, small enough to stay in the processor's cache).
CHUNK = 16_384


def transition_costs(codes: np.ndarray, n_states: int) -> tuple[np.ndarray, float]:
    """TraMineR's "TRATE" substitution costs from the sequences' own transitions, and the indel cost.

    p(a -> b) is the share of the months in state a (all but the last month) followed by b;
    sub(a, b) = 2 - p(a -> b) - p(b -> a), 0 on the diagonal; a state never left has p = 0.
    The indel cost is half the largest substitution cost (TraMineR's `indel="auto"`).

    Examples
    --------
    Five months in state 0 are followed by another, two of them by 1: p(0 -> 1) = 2/5; the one
    month in 1 followed by another is followed by 0: p(1 -> 0) = 1; state 2 never occurs.

    >>> costs, indel = transition_costs(np.array([[0, 1, 0, 1], [0, 0, 0, 0]]), 3)
    >>> costs.round(3).tolist(), indel
    ([[0.0, 0.6, 2.0], [0.6, 0.0, 2.0], [2.0, 2.0, 0.0]], 1.0)
    """
    counts = np.zeros((n_states, n_states))
    np.add.at(counts, (codes[:, :-1].ravel(), codes[:, 1:].ravel()), 1)
    out = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, out, out=np.zeros_like(counts), where=out > 0)
    costs = 2.0 - p - p.T
    np.fill_diagonal(costs, 0.0)
    return costs, float(costs.max()) / 2


def om_pairs(a: np.ndarray, b: np.ndarray, costs: np.ndarray, indel: float) -> np.ndarray:
    """OM distance of each row of `a` to the same row of `b` (sequences of equal length).

    D[i, j] = min(D[i-1, j] + indel, D[i, j-1] + indel, D[i-1, j-1] + sub(a_i, b_j)), with
    D[0, j] = j indel and D[i, 0] = i indel. Row i of the table is computed from row i - 1 for
    all pairs at once, on Q[i, j] = D[i, j] - (i + j) indel (0 on both edges): a deletion keeps Q,
    a substitution adds sub - 2 indel to the diagonal neighbour, and an insertion keeps Q of the
    left neighbour, so the insertions along the row are a running minimum:
    Q[i, j] = min(Q[i, j-1], Q[i-1, j], Q[i-1, j-1] + sub - 2 indel).

    Examples
    --------
    >>> sub = np.array([[0.0, 2.0], [2.0, 0.0]])
    >>> om_pairs(np.array([[0, 1, 0, 1], [0, 0, 1, 1]]), np.array([[1, 0, 1, 0], [0, 0, 1, 1]]), sub, 1.0)
    array([2., 0.])
    """
    n_pairs, width = a.shape
    n_states = costs.shape[0]
    # float32 halves the memory traffic; the distances are sums of at most 2 x months costs
    reduced = (np.asarray(costs, dtype=np.float64) - 2 * indel).astype(np.float32).ravel()
    b_t = np.ascontiguousarray(b.T, dtype=np.intp)  # months x pairs
    q = np.zeros((width + 1, n_pairs), dtype=np.float32)
    for i in range(width):
        diagonal = q[:-1] + reduced[a[:, i].astype(np.intp) * n_states + b_t]
        np.minimum(q[1:], diagonal, out=q[1:])
        # the running minimum month by month: numpy's own (`np.minimum.accumulate` along the
        # months) walks the pairs with a stride, many times slower than a row of pairs at a time
        for j in range(1, width + 1):
            np.minimum(q[j], q[j - 1], out=q[j])
    return q[width].astype(np.float64) + 2 * width * indel


def om_distances(codes: np.ndarray, costs: np.ndarray, indel: float, chunk: int = CHUNK) -> np.ndarray:
    """Square matrix of the OM distances between the rows of `codes` (persons x months).

    The dynamic programme runs once per pair of distinct sequences, in chunks of `chunk` pairs.

    Examples
    --------
    >>> codes = np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1]])
    >>> om_distances(codes, np.array([[0.0, 2.0], [2.0, 0.0]]), 1.0)
    array([[0., 2., 4., 0.],
           [2., 0., 4., 2.],
           [4., 4., 0., 4.],
           [0., 2., 4., 0.]])
    """
    unique, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    first, second = np.triu_indices(len(unique), k=1)
    upper = np.empty(len(first))
    for start in range(0, len(first), chunk):
        part = slice(start, start + chunk)
        upper[part] = om_pairs(unique[first[part]], unique[second[part]], costs, indel)
    square = np.zeros((len(unique), len(unique)))
    square[first, second] = upper
    square += square.T
    return square[np.ix_(inverse, inverse)]


def om_types(distances: np.ndarray, k: int) -> np.ndarray:
    """Labels (1..k) of the Ward tree on sqrt(OM), cut into `k` types.

    scipy's Ward update takes Euclidean distances; on sqrt(OM) it treats OM as a squared
    Euclidean distance, as the main typology's one-hot coding treats the Hamming distance
    (squared Euclidean = twice Hamming), so the two typologies differ only in the distance. OM
    is not a squared Euclidean distance in general, so Ward's "least increase of the within-type
    sum of squares" is not exact here; the merges are still monotone.

    Examples
    --------
    >>> d = np.array([[0, 1, 9, 9], [1, 0, 9, 9], [9, 9, 0, 1], [9, 9, 1, 0]], dtype=float)
    >>> om_types(d, 2).tolist()
    [1, 1, 2, 2]
    """
    tree = linkage(np.sqrt(squareform(distances, checks=False)), method="ward")
    return fcluster(tree, k, criterion="maxclust")


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts of the sequences in each pair of (type of `a`, type of `b`)."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai.ravel(), bi.ravel()), 1)
    return table


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Hubert and Arabie's adjusted Rand index of two partitions of the same items.

    From the contingency table n_ij with row sums a_i and column sums b_j, C(x) = x (x - 1) / 2:
    (sum C(n_ij) - E) / ((sum C(a_i) + sum C(b_j)) / 2 - E), E = sum C(a_i) sum C(b_j) / C(n).
    1 for identical partitions (up to the names of the types), about 0 for unrelated ones.

    Examples
    --------
    >>> round(adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 2])), 4)
    0.5714
    >>> adjusted_rand_index(np.array([1, 1, 2]), np.array([5, 5, 3]))
    1.0
    """
    table = contingency(a, b)

    def pairs(x):
        return float((x * (x - 1) / 2).sum())

    index, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / pairs(np.array([table.sum()]))
    maximum = (rows + cols) / 2
    if maximum == expected:  # both partitions trivial (one type, or every item alone)
        return 1.0
    return (index - expected) / (maximum - expected)


def matched_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the items whose type in `b` is matched to their type in `a`, under the one-to-one
    matching of the types that maximises that share (`scipy.optimize.linear_sum_assignment`).

    Examples
    --------
    >>> matched_agreement(np.array([1, 1, 1, 2, 2, 2]), np.array([2, 2, 1, 1, 1, 1]))
    0.8333333333333334
    """
    table = contingency(a, b)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def sensitivity(codes: np.ndarray, types: np.ndarray, n_states: int, size: int, seed: int) -> dict:
    """The OM typology of (a sample of) the sequences beside their given `types`, and the agreement.

    At most `size` sequences are drawn without replacement (fixed `seed`; all of them when fewer);
    the costs come from the transitions of all of `codes`; the OM types are as many as `types` has.
    Returns the adjusted Rand index, the matched agreement, the sequences compared, the indel cost
    and the matching of the types (OM type -> given type).

    Examples
    --------
    Two clear groups, near 0000 and near 1111, are the same two types with either distance;
    the OM types' numbers need not be the given ones, the matching says which is which:

    >>> codes = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [1, 1, 1, 1], [1, 1, 1, 0]] * 3)
    >>> out = sensitivity(codes, np.array([2, 2, 1, 1] * 3), 2, size=100, seed=1)
    >>> out["adjusted_rand"], out["agreement"], out["n"], out["distinct"]
    (1.0, 1.0, 12, 4)
    >>> sorted(out["matching"].items())
    [(1, 2), (2, 1)]
    """
    if len(codes) > size:
        rows = np.sort(np.random.default_rng(seed).choice(len(codes), size, replace=False))
    else:
        rows = np.arange(len(codes))
    costs, indel = transition_costs(codes, n_states)
    given = types[rows]
    found = om_types(om_distances(codes[rows], costs, indel), len(np.unique(given)))
    table = contingency(found, given)
    om_ids, given_ids = np.unique(found), np.unique(given)
    r, c = linear_sum_assignment(table, maximize=True)
    return {"adjusted_rand": adjusted_rand_index(found, given), "agreement": matched_agreement(found, given),
            "n": len(rows), "distinct": len(np.unique(codes[rows], axis=0)), "indel": indel,
            "matching": {int(om_ids[i]): int(given_ids[j]) for i, j in zip(r, c)}}
