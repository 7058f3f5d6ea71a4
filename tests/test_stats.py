"""The statistics module (weightspace.stats): hand-computed cases, scipy as the reference where it is one."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from weightspace.stats import (
    mean_ci,
    percentile_interval,
    cannot_reach,
    holm,
    holm_cannot_reach,
    iqm,
    mean_prob_improvement,
    min_sign_flip_p,
    paired_comparison,
    prob_improvement,
    sign_flip_p,
    stratified_iqm,
    unpaired_comparison,
)


def test_sign_flip_exact_on_a_hand_case():
    # d = (1, 2, 3): |mean| = 2; of the 8 sign patterns only +++ and --- reach |mean| >= 2 -> p = 2/8
    assert sign_flip_p(np.array([1.0, 2.0, 3.0])) == pytest.approx(0.25)
    # all positive and distinct, n = 5: the smallest attainable p, 2 / 2^5
    assert sign_flip_p(np.arange(1.0, 6.0)) == pytest.approx(min_sign_flip_p(5)) == pytest.approx(0.0625)


def test_sign_flip_matches_scipy_permutation_test():
    rng = np.random.default_rng(3)
    for n in (4, 7, 10):
        a, b = rng.normal(size=n), rng.normal(size=n) + 0.4
        ref = stats.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                                     n_resamples=2**n + 10, alternative="two-sided").pvalue
        assert sign_flip_p(a - b) == pytest.approx(ref)


def test_sign_flip_monte_carlo_beyond_exact_is_close_and_reproducible():
    d = np.random.default_rng(0).normal(0.3, 1.0, size=18)
    exact = sign_flip_p(d)
    mc = sign_flip_p(d, max_exact=10, n_resamples=50_000)
    assert mc == sign_flip_p(d, max_exact=10, n_resamples=50_000)
    assert abs(mc - exact) < 0.01


def test_paired_comparison_against_scipy_and_by_hand():
    a = np.array([0.91, 0.93, 0.95, 0.92, 0.94, 0.96, 0.90, 0.97, 0.93, 0.95])
    b = a - np.array([0.01, 0.02, 0.015, 0.005, 0.03, 0.01, 0.02, 0.025, 0.01, 0.012])
    r = paired_comparison(a, b)
    assert r["n_pairs"] == 10 and r["n_dropped"] == 0
    assert r["mean_diff"] == pytest.approx(np.mean(a - b))
    ref = stats.bootstrap((a, b), lambda x, y, axis=-1: np.mean(x - y, axis=axis), paired=True, vectorized=True,
                          n_resamples=9999, method="BCa", random_state=np.random.default_rng(0)).confidence_interval
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ref.low, ref.high))
    assert r["ci_low"] > 0  # every difference is positive
    assert r["p_sign_flip"] == pytest.approx(2 / 2**10)  # all ten differences positive: the extreme pattern
    assert r["p_wilcoxon"] == pytest.approx(stats.wilcoxon(a - b).pvalue)
    assert r["p_min_attainable"] == pytest.approx(2 / 2**10)
    assert r["prob_improvement"] == pytest.approx(prob_improvement(a, b))
    assert 0 <= r["prob_improvement_lo"] <= r["prob_improvement"] <= r["prob_improvement_hi"] <= 1


def test_paired_drops_diverged_pairs_and_says_so():
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    b = np.array([0.5, np.nan, 3.0, 3.0, 4.5])
    r = paired_comparison(a, b)
    assert r["n_pairs"] == 3 and r["n_dropped"] == 2
    assert r["mean_diff"] == pytest.approx(np.mean([0.5, 1.0, 0.5]))


def test_paired_identical_runs_give_no_difference_and_p_one():
    a = np.array([0.9, 0.8, 0.95])
    r = paired_comparison(a, a.copy())
    assert r["mean_diff"] == 0 and r["ci_low"] == r["ci_high"] == 0
    assert r["p_sign_flip"] == 1.0 and r["p_wilcoxon"] == 1.0 and r["prob_improvement"] == pytest.approx(0.5)


def test_unpaired_against_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 8), rng.normal(0.0, 2.0, 11)
    r = unpaired_comparison(a, b)
    assert r["p_welch"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert r["p_mann_whitney"] == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    u = stats.mannwhitneyu(a, b).statistic
    assert r["prob_improvement"] == pytest.approx(u / (len(a) * len(b)))  # P(A > B) = U / (n_a n_b)


def test_prob_improvement_ties_and_direction():
    assert prob_improvement([1, 2], [2, 3]) == pytest.approx((0 + 0 + 0.5 + 0) / 4)
    # lower is better (a loss): the same numbers are the other way round
    assert prob_improvement([1, 2], [2, 3], direction="lower") == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    with pytest.raises(ValueError, match="direction"):
        prob_improvement([1], [2], direction="up")


def test_holm_by_hand():
    # sorted p: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06, monotone), 0.5 (x1 = 0.5)
    np.testing.assert_allclose(holm([0.03, 0.01, 0.5, 0.02]), [0.06, 0.04, 0.5, 0.06])
    out = holm([0.01, np.nan, 0.04])  # NaN is not a comparison: m = 2
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert holm([0.9, 0.8]).max() <= 1.0


def test_power_flag():
    assert min_sign_flip_p(5) == pytest.approx(0.0625)
    assert cannot_reach(5, m=1)  # 5 seeds can never reach 0.05
    assert not cannot_reach(10, m=1)  # 2/1024
    assert cannot_reach(6, m=2) and not cannot_reach(6, m=1)  # 2/64 = 0.031; x2 = 0.0625


def test_iqm_by_hand_and_stratified_interval():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(np.mean([3, 4, 5, 6]))
    point, lo, hi = stratified_iqm([[1, 2, 3, 4], [10, 11, 12, 13]], n_resamples=500)
    assert point == pytest.approx(iqm([1, 2, 3, 4, 10, 11, 12, 13]))
    assert lo <= point <= hi
    # a task with no spread and the same values always: no spread in the interval
    assert stratified_iqm([[2, 2, 2], [2, 2]], n_resamples=50)[1:] == (2.0, 2.0)


def test_mean_prob_improvement_over_tasks():
    assert mean_prob_improvement([[2, 3], [0]], [[1], [1]]) == pytest.approx((1.0 + 0.0) / 2)


def test_exact_enumeration_is_what_it_claims():
    d = np.array([0.5, -0.2, 0.1, 0.3])
    count = sum(abs(np.dot(s, d)) / 4 >= abs(d.mean()) - 1e-12 for s in itertools.product((1, -1), repeat=4))
    assert sign_flip_p(d) == pytest.approx(count / 16)


def test_holm_cannot_reach_sets_each_p_to_its_best_in_turn():
    # observed p: two clear wins and one null; best attainable 2/32 (5 pairs) for the null
    p = [0.001, 0.002, 0.6]
    assert list(holm_cannot_reach(p, [0.001, 0.002, 2 / 32], alpha=0.05)) == [False, False, True]  # 2/32 > 0.05
    # with 10 pairs the null could rank first: 3 x 2/1024 < 0.05
    assert list(holm_cannot_reach(p, [0.001, 0.002, 2 / 1024], alpha=0.05)) == [False, False, False]
    assert list(holm_cannot_reach([0.5], [float("nan")])) == [True]  # no attainable p: flagged


def test_unpaired_comparison_reports_the_smallest_exact_mann_whitney_p():
    r = unpaired_comparison([1.0, 2.0, 3.0], [4.0, 5.0])
    assert r["p_min_attainable"] == pytest.approx(2 / 10)  # C(5, 2) = 10 orderings


def test_holm_counts_comparisons_without_a_p_in_m():
    p = [0.01, float("nan"), 0.02]
    assert holm(p, 3)[[0, 2]] == pytest.approx([0.03, 0.04]) and np.isnan(holm(p, 3)[1])  # as if the NaN were 1
    assert holm(p)[[0, 2]] == pytest.approx([0.02, 0.02])  # m: the p values there are
    # the power flag with the same m: the first at its best (0.02, tied with the third) is 3 x 0.02 = 0.06 over
    # 3 comparisons, 2 x 0.02 = 0.04 over 2
    assert list(holm_cannot_reach(p, [0.02, float("nan"), 0.02], 0.05, 3)) == [True, True, False]
    assert list(holm_cannot_reach(p, [0.02, float("nan"), 0.02], 0.05)) == [False, True, False]


def test_mean_ci_is_scipys_student_t_interval_of_the_finite_values():
    x = [0.8, 0.9, 1.0]
    m, lo, hi = mean_ci(x + [math.nan])
    assert m == pytest.approx(0.9)
    assert (lo, hi) == tuple(pytest.approx(v) for v in stats.t.interval(0.95, 2, loc=0.9, scale=stats.sem(x)))
    assert hi - m == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-6)  # t_{.975, 2} s / sqrt(n)
    one, none = mean_ci([0.7]), mean_ci([math.nan])
    assert one[0] == 0.7 and math.isnan(one[1]) and math.isnan(one[2]) and all(math.isnan(v) for v in none)


def test_percentile_interval_takes_order_statistics_and_keeps_infinity():
    reps = np.random.default_rng(0).permutation(np.r_[np.arange(39.0), np.inf, np.inf])  # R = 41
    # a = 0.025: sorted[floor(0.025 x 40)] = sorted[1], sorted[ceil(0.975 x 40)] = sorted[39] (the first +inf)
    assert percentile_interval(reps, 0.95) == (1.0, math.inf)
    assert percentile_interval(np.arange(101.0), 0.95) == (2.0, 98.0)  # floor(2.5), ceil(97.5)
