"""Structure metrics on hand-checkable partitions."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from weightspace.families.sharing.structure import (
    adjusted_rand,
    conv1d_groups,
    conv2d_groups,
    contingency,
    equivariance_error_1d,
    equivariance_error_2d,
    homogeneity_completeness,
    partition_distance,
    restricted_ari,
    score_structure,
    support_scores,
)


def brute_force_partition_distance(a, b):
    """Fewest moves, by trying every matching of groups (tiny inputs only)."""
    table = contingency(a, b)
    ra, rb = table.shape
    best = 0
    if ra <= rb:
        for perm in itertools.permutations(range(rb), ra):
            best = max(best, sum(table[i, perm[i]] for i in range(ra)))
    else:
        for perm in itertools.permutations(range(ra), rb):
            best = max(best, sum(table[perm[j], j] for j in range(rb)))
    return table.sum() - best


def test_partition_distance_hand_cases():
    assert partition_distance([0, 0, 1, 1], [5, 5, 7, 7], normalize=False) == 0  # labels do not matter
    assert partition_distance([0, 0, 1, 1], [0, 1, 1, 1], normalize=False) == 1
    assert partition_distance([0, 0, 0, 0], [0, 1, 2, 3], normalize=False) == 3
    assert partition_distance([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.5)


def test_partition_distance_equals_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(30):
        a = rng.integers(0, 4, 12)
        b = rng.integers(0, 5, 12)
        assert partition_distance(a, b, normalize=False) == brute_force_partition_distance(a, b)


def test_support_scores():
    s = support_scores([1, 1, 0, 0], [1, 0, 1, 0])
    assert s == {"support_precision": 0.5, "support_recall": 0.5, "support_f1": 0.5}
    assert support_scores([1, 0], [0, 0])["support_f1"] == 0.0


def test_restricted_ari_ignores_the_zero_group():
    true = np.array([-1, -1, -1, -1, -1, -1, 0, 0, 1, 1])
    perfect_on_support = np.array([3, 4, 5, 6, 7, 8, 1, 1, 2, 2])  # zero group scattered: irrelevant
    assert restricted_ari(true, perfect_on_support) == pytest.approx(1.0)
    swapped = np.array([0] * 6 + [1, 2, 1, 2])
    assert restricted_ari(true, swapped) < 0.1


def test_homogeneity_completeness_extremes():
    hc = homogeneity_completeness([0, 0, 1, 1], [0, 1, 2, 3])  # every entry alone: homogeneous, not complete
    assert hc["homogeneity"] == pytest.approx(1.0) and hc["completeness"] < 1.0
    hc = homogeneity_completeness([0, 0, 1, 1], [0, 0, 0, 0])  # one group: complete, not homogeneous
    assert hc["completeness"] == pytest.approx(1.0) and hc["homogeneity"] == pytest.approx(0.0)


def test_conv_ground_truth():
    g = conv1d_groups(5, 3)
    assert g.tolist() == [[0, 1, 2, -1, -1], [-1, 0, 1, 2, -1], [-1, -1, 0, 1, 2]]
    g2 = conv2d_groups(3, 3, 2)
    assert g2.shape == (4, 9)
    assert g2[0].reshape(3, 3).tolist() == [[0, 1, -1], [2, 3, -1], [-1, -1, -1]]
    assert g2[3].reshape(3, 3).tolist() == [[-1, -1, -1], [-1, 0, 1], [-1, 2, 3]]


def test_equivariance_error_zero_for_convolutions_positive_otherwise():
    kernel = np.array([1.0, -2.0, 0.5])
    W = np.where(conv1d_groups(8, 3) >= 0, kernel[np.maximum(conv1d_groups(8, 3), 0)], 0.0)
    assert equivariance_error_1d(W) == 0.0
    assert equivariance_error_1d(np.random.default_rng(0).normal(size=W.shape)) > 0.5
    k2 = np.arange(1.0, 5.0)
    G = conv2d_groups(4, 5, 2)
    W2 = np.where(G >= 0, k2[np.maximum(G, 0)], 0.0)
    assert equivariance_error_2d(W2, (4, 5), (3, 4)) == 0.0
    assert equivariance_error_2d(np.random.default_rng(1).normal(size=W2.shape), (4, 5), (3, 4)) > 0.5


def test_score_structure_perfect_and_random():
    true = conv1d_groups(10, 3)
    kernel = np.array([0.7, -1.0, 0.4])
    W = np.where(true >= 0, kernel[np.maximum(true, 0)], 0.0)
    # perfect: taps on slots 4, 9, 2, everything else on slot 0 whose value is ~0
    slot = np.array([4, 9, 2])
    assign = np.where(true >= 0, slot[np.maximum(true, 0)], 0)
    s = score_structure(true, assign, W)
    assert s["support_f1"] == 1.0 and s["ari_support"] == pytest.approx(1.0)
    assert s["partition_distance"] == 0.0 and s["n_groups_learned"] == 3 == s["n_groups_true"]
    rng = np.random.default_rng(0)
    rand_assign = rng.integers(0, 16, true.shape)
    s = score_structure(true, rand_assign, rng.normal(size=true.shape))
    assert abs(s["ari_support"]) < 0.15 and s["partition_distance"] > 0.5


def test_spatial_agreement_hand_case_and_shuffle():
    from weightspace.families.sharing.structure import spatial_agreement

    # one unit on a 1 x 6 line: values 0 0 0 1 1 1 -> 4 of 5 neighbour pairs agree;
    # chance: two of the 6 positions agree with probability (3*2 + 3*2) / (6*5) = 0.4
    m = spatial_agreement(np.array([[0, 0, 0, 1, 1, 1]]), (1, 6))
    assert m["spatial_agreement"] == pytest.approx(0.8) and m["spatial_chance"] == pytest.approx(0.4)
    assert m["spatial_excess"] == pytest.approx(0.4)
    # 2-D, 2 x 2 grid, checkerboard: no neighbour pair agrees; chance (2 + 2) / 12
    m = spatial_agreement(np.array([[0, 1, 1, 0]]), (1, 2, 2))
    assert m["spatial_agreement"] == 0.0 and m["spatial_excess"] == pytest.approx(-1 / 3)
    # chance is exact for random placements: the mean over all permutations of a unit's values is 0
    vals = np.array([0, 0, 1, 2, 2, 2])
    perms = np.array([rng.permutation(vals) for rng in (np.random.default_rng(i) for i in range(4000))])
    assert abs(spatial_agreement(perms, (1, 6))["spatial_excess"]) < 0.01
    # smooth maps score high; the same maps with inputs shuffled score about chance
    rng = np.random.default_rng(0)
    smooth = np.repeat(np.arange(8), 8)[None].repeat(50, 0)  # 8 x 8 grid, value = row index
    assert spatial_agreement(smooth, (1, 8, 8))["spatial_excess"] > 0.3
    shuffled = np.stack([row[rng.permutation(64)] for row in smooth])
    assert abs(spatial_agreement(shuffled, (1, 8, 8))["spatial_excess"]) < 0.02


def _labelings():
    """Pairs of labelings of every shape the scores meet: random, one group, all singletons, negative labels
    (the zero group), unequal group counts, two entries, empty."""
    rng = np.random.default_rng(0)
    for n, ka, kb in [(1, 1, 1), (2, 2, 1), (7, 3, 5), (50, 4, 4), (200, 10, 3), (500, 40, 60), (1000, 1, 7)]:
        for _ in range(5):
            yield rng.integers(-1, ka, n), rng.integers(0, kb, n)
    a = rng.integers(0, 6, 300)
    yield a, a.copy()  # identical
    yield a, (a + 3) % 6  # relabelled
    yield a, np.arange(300)  # every entry alone
    yield np.zeros(0, int), np.zeros(0, int)


def test_scores_equal_scikit_learns_bit_for_bit():
    """adjusted_rand and homogeneity_completeness re-implement scikit-learn's (so a training job need not import
    it, 0.5 s): every value must be the very float scikit-learn gives, or the results tables would change."""
    from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure

    n = 0
    for a, b in _labelings():
        assert adjusted_rand(a, b) == float(adjusted_rand_score(a, b)), (a, b)
        h, c, v = homogeneity_completeness_v_measure(a, b)
        assert homogeneity_completeness(a, b) == {"homogeneity": h, "completeness": c, "v_measure": v}, (a, b)
        n += 1
    assert n == 39


def test_a_training_job_that_scores_a_structure_does_not_import_scikit_learn():
    code = ("import sys, numpy as np; from weightspace.families.sharing.structure import score_structure; "
            "g = np.arange(12).reshape(3, 4) % 5; score_structure(g, g, np.ones((3, 4))); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
