"""Statistics over seeds: estimators, intervals, tests, multiplicity, power (pure functions on arrays).

Every number a table reports about several seeds is computed here, on plain arrays (as rliable keeps them);
the tables that call these functions live elsewhere (:mod:`weightspace.cell_summary` per cell,
:mod:`weightspace.comparisons` per pair of variants, :mod:`weightspace.families.subspace.dint` for d_int90).

* **per-cell interval** (the one convention of every per-cell table: ``<metric>_mean``, ``<metric>_lo``,
  ``<metric>_hi``): the mean over the finite values of the finished seeds and its two-sided Student-t
  interval, mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n) with s the sample standard deviation (ddof 1),
  95% by default (:func:`mean_ci`). One seed gives the mean and no interval (NaN bounds); none gives NaN.
* **bootstrap percentile interval** (:func:`percentile_interval`): order statistics of the replicates, defined
  where some are infinite (d_int90 where no d reaches the threshold).
* **paired** (seed s of A against seed s of B; the trainer gives seed s the
  same initial weights and data order across variants): mean difference A - B
  with a BCa bootstrap interval (``scipy.stats.bootstrap``, ``paired=True``,
  fixed random state), the exact sign-flip permutation test (every one of the
  2^n sign patterns while 2^n <= ``max_exact``) and the Wilcoxon signed-rank
  test. Pairs where either side is missing (a diverged seed) are dropped and
  counted, never silently.
* **unpaired**: Welch's t-test and the Mann-Whitney U test.
* **effect size**: the probability of improvement P(A better than B), ties
  counting one half (Mann-Whitney U / (n_A n_B), oriented by the metric's
  direction), with a percentile bootstrap interval.
* **multiplicity**: Holm-Bonferroni adjusted p values within a family of
  m comparisons (m may count comparisons without a p, which then weigh on
  the others' adjustment).
* **power**: with n non-zero differences (a zero difference is the same under
  either sign, so it cannot make p smaller) the smallest p an exact two-sided
  sign-flip test can give is 2 / 2^n (5 seeds: 0.0625); after Holm over m
  comparisons a comparison can at best reach m x that. Comparisons that
  cannot reach the level at their sample are flagged, so that "not
  significant" is never read as evidence of no difference; ``p_min_attainable``
  is that smallest p, and the flag uses it alone.
* **aggregate over tasks** (Agarwal et al. 2021): the interquartile mean of
  all runs of all tasks with a stratified bootstrap interval (runs resampled
  within each task), and P(improvement) averaged over tasks.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats

__all__ = [
    "mean_ci",
    "percentile_interval",
    "paired_comparison",
    "unpaired_comparison",
    "prob_improvement",
    "holm",
    "min_sign_flip_p",
    "cannot_reach",
    "holm_cannot_reach",
    "sign_flip_p",
    "iqm",
    "stratified_iqm",
    "mean_prob_improvement",
]


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean over seeds: (mean, low, high), NaN values left out.

    One value gives (value, nan, nan); none gives three NaNs.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    m = float(x.mean())
    if x.size == 1:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return m, m - half, m + half


def percentile_interval(replicates, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates by order statistics: (sorted[floor(a (R-1))],
    sorted[ceil((1-a) (R-1))]) with a = (1 - confidence) / 2. Defined where replicates are +inf (a bound can be
    +inf: an interval open to the right), where an interpolating quantile would not be."""
    srt = np.sort(np.asarray(replicates, dtype=float))
    alpha = (1 - confidence) / 2
    return float(srt[int(np.floor(alpha * (len(srt) - 1)))]), float(srt[int(np.ceil((1 - alpha) * (len(srt) - 1)))])


def _oriented(direction: str) -> float:
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower' (is better), not {direction!r}")
    return 1.0 if direction == "higher" else -1.0


def sign_flip_p(d: np.ndarray, max_exact: int = 20, n_resamples: int = 100_000, random_state: int = 0) -> float:
    """Two-sided p of the paired permutation (sign-flip) test of mean(d) = 0.

    Exact (all 2^n sign patterns) for n <= ``max_exact``; otherwise a Monte
    Carlo estimate with a fixed random state, (hits + 1) / (draws + 1).
    """
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n == 0:
        return math.nan
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, np.abs(d).max())
    if n <= max_exact:  # every sign pattern's sum, built by doubling: 2^n values, no 2^n x n matrix
        sums = np.zeros(1)
        for x in d:
            sums = np.concatenate([sums + x, sums - x])
        return float(np.mean(np.abs(sums) / n >= observed - tol))
    rng = np.random.default_rng(random_state)
    signs = rng.choice((1.0, -1.0), size=(n_resamples, n))
    hits = int(np.sum(np.abs(signs @ d) / n >= observed - tol))
    return (hits + 1) / (n_resamples + 1)


def min_sign_flip_p(n: int) -> float:
    """The smallest two-sided p an exact sign-flip test of n non-zero differences can give: 2 / 2^n."""
    return min(1.0, 2.0 / 2**n) if n > 0 else 1.0


def cannot_reach(n_nonzero: int, m: int, alpha: float = 0.05) -> bool:
    """Whether a paired comparison with ``n_nonzero`` non-zero differences cannot reach ``alpha`` after Holm over
    ``m`` comparisons.

    Holm multiplies the smallest p by m: even the most extreme data give m x 2 / 2^n.
    """
    return m * min_sign_flip_p(n_nonzero) > alpha


def holm_cannot_reach(p: Sequence[float], best: Sequence[float], alpha: float = 0.05,
                      m: int | None = None) -> np.ndarray:
    """Per comparison of a Holm family: whether it would miss ``alpha`` even with its most extreme data.

    Comparison i's p is set to ``best[i]`` (the smallest p its sample sizes allow, e.g. 2 / 2^n paired), the
    others' kept as observed, and Holm applied: flagged where its adjusted p still exceeds ``alpha``. Holm is
    monotone in each p, so a comparison significant as observed is never flagged. A missing ``best`` flags.
    ``m``: as in :func:`holm`.
    """
    p, best = np.asarray(p, float), np.asarray(best, float)
    out = np.ones(len(p), dtype=bool)
    for i, b in enumerate(best):
        if np.isfinite(b):
            alt = p.copy()
            alt[i] = b
            out[i] = holm(alt, m)[i] > alpha
    return out


def prob_improvement(a: np.ndarray, b: np.ndarray, direction: str = "higher") -> float:
    """P(A better than B) over all pairs of one run of A and one of B, ties counting 1/2."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    diff = _oriented(direction) * (a[:, None] - b[None, :])
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


def _prob_improvement_ci(a, b, direction, paired, confidence, n_resamples, random_state) -> tuple[float, float]:
    """Percentile bootstrap interval of P(A > B): pairs resampled together (paired), else each group alone."""
    rng = np.random.default_rng(random_state)
    a, b = np.asarray(a, float), np.asarray(b, float)
    ia = rng.integers(0, len(a), (n_resamples, len(a)))
    ib = ia if paired else rng.integers(0, len(b), (n_resamples, len(b)))
    diff = _oriented(direction) * (a[ia][:, :, None] - b[ib][:, None, :])  # (R, n_a, n_b)
    values = np.mean((diff > 0) + 0.5 * (diff == 0), axis=(1, 2))
    alpha = (1 - confidence) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    direction: str = "higher",
    confidence: float = 0.95,
    n_resamples: int = 9999,
    random_state: int = 0,
) -> dict:
    """A vs B paired by position (seed): mean difference A - B with a BCa interval, tests, P(A better).

    Pairs with a missing (NaN) side are dropped and counted in ``n_dropped``.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have one value per seed each, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    d = a - b
    n = len(d)
    out = {"paired": True, "n_a": n, "n_b": n, "n_pairs": n, "n_dropped": int((~keep).sum()),
           "mean_a": float(a.mean()) if n else math.nan, "mean_b": float(b.mean()) if n else math.nan,
           "mean_diff": float(d.mean()) if n else math.nan}
    if n >= 2 and np.ptp(d) > 0:
        res = stats.bootstrap((a, b), lambda x, y, axis=-1: np.mean(x - y, axis=axis), paired=True,
                              vectorized=True, confidence_level=confidence, n_resamples=n_resamples,
                              method="BCa", random_state=np.random.default_rng(random_state))
        out["ci_low"], out["ci_high"] = float(res.confidence_interval.low), float(res.confidence_interval.high)
    else:  # all differences equal (or too few): the interval is the point
        out["ci_low"] = out["ci_high"] = out["mean_diff"]
    out["p_sign_flip"] = sign_flip_p(d, random_state=random_state) if n else math.nan
    nonzero = d[d != 0]
    if len(nonzero):
        out["p_wilcoxon"] = float(stats.wilcoxon(d, zero_method="wilcox").pvalue)
    else:
        out["p_wilcoxon"] = 1.0 if n else math.nan
    out["p_min_attainable"] = min_sign_flip_p(len(nonzero)) if n else math.nan
    out["prob_improvement"] = prob_improvement(a, b, direction)
    out["prob_improvement_lo"], out["prob_improvement_hi"] = (
        _prob_improvement_ci(a, b, direction, True, confidence, 2000, random_state) if n >= 2 else (math.nan, math.nan))
    return out


def unpaired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    direction: str = "higher",
    confidence: float = 0.95,
    random_state: int = 0,
) -> dict:
    """A vs B as independent samples: Welch's t-test, Mann-Whitney U, P(A better) with an interval."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n_dropped = int((~np.isfinite(a)).sum() + (~np.isfinite(b)).sum())
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out = {"paired": False, "n_a": len(a), "n_b": len(b), "n_pairs": 0, "n_dropped": n_dropped,
           "mean_a": float(a.mean()) if len(a) else math.nan, "mean_b": float(b.mean()) if len(b) else math.nan}
    out["mean_diff"] = out["mean_a"] - out["mean_b"]
    if len(a) >= 2 and len(b) >= 2:
        welch = stats.ttest_ind(a, b, equal_var=False)
        out["p_welch"] = float(welch.pvalue)
        ci = welch.confidence_interval(confidence)
        out["ci_low"], out["ci_high"] = float(ci.low), float(ci.high)
        out["p_mann_whitney"] = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    else:
        out.update(p_welch=math.nan, ci_low=math.nan, ci_high=math.nan, p_mann_whitney=math.nan)
    # the smallest exact two-sided Mann-Whitney p: complete separation, 2 / C(n_a + n_b, n_a)
    out["p_min_attainable"] = 2.0 / math.comb(len(a) + len(b), len(a)) if len(a) and len(b) else math.nan
    out["prob_improvement"] = prob_improvement(a, b, direction)
    out["prob_improvement_lo"], out["prob_improvement_hi"] = (
        _prob_improvement_ci(a, b, direction, False, confidence, 2000, random_state)
        if len(a) and len(b) else (math.nan, math.nan))
    return out


def holm(p: Sequence[float], m: int | None = None) -> np.ndarray:
    """Holm-Bonferroni adjusted p values over ``m`` comparisons (NaN stays NaN).

    ``m`` defaults to the number of p values that are not NaN; a larger m counts comparisons without a p (as if
    their p were 1: ranked last, they raise every other adjustment).
    """
    p = np.asarray(p, float)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    if m is None:
        m = len(idx)
    if m < len(idx):
        raise ValueError(f"m = {m} comparisons, but {len(idx)} p values")
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def iqm(x: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% of the values (25% trimmed from each end)."""
    return float(stats.trim_mean(np.asarray(x, float).ravel(), 0.25))


def stratified_iqm(scores: Sequence[Sequence[float]], confidence: float = 0.95, n_resamples: int = 2000,
                   random_state: int = 0) -> tuple[float, float, float]:
    """IQM over all runs of all tasks, with a stratified percentile bootstrap interval.

    Args:
        scores: one sequence of per-run scores per task (lengths may differ).
    Returns:
        (IQM, low, high): runs are resampled within each task, then pooled.
    """
    tasks = [np.asarray(s, float)[np.isfinite(np.asarray(s, float))] for s in scores]
    point = iqm(np.concatenate(tasks))
    rng = np.random.default_rng(random_state)
    pooled = np.concatenate([t[rng.integers(0, len(t), (n_resamples, len(t)))] for t in tasks], axis=1)
    values = stats.trim_mean(pooled, 0.25, axis=1)
    alpha = (1 - confidence) / 2
    return point, float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def mean_prob_improvement(a_tasks: Sequence[Sequence[float]], b_tasks: Sequence[Sequence[float]],
                          direction: str = "higher") -> float:
    """P(A better than B) averaged over tasks (each task's runs compared within it)."""
    return float(np.mean([prob_improvement(a, b, direction) for a, b in zip(a_tasks, b_tasks)]))
