"""The intrinsic dimension d_int90 with a bootstrap interval (what is d_int-specific; the statistics it is built on,
the baseline's interval and the percentile interval of the replicates, are :mod:`weightspace.stats`).

Li et al. (2018) define d_int90 as the smallest subspace dimension d whose
trained network reaches 90% of the full-space baseline's performance. Here,
on a grid of d values with several seeds at each:

    threshold   = 0.9 * mean_s(baseline accuracy)
    d_int90     = min { d in grid : mean_s(accuracy at d) >= threshold }

The bootstrap resamples seeds with replacement, independently at every d and
for the baseline, recomputes d_int90 for each replicate, and reports the
percentile interval. A replicate in which no d reaches the threshold has
d_int90 = +inf, so an interval can be open to the right.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from weightspace.stats import mean_ci, percentile_interval

__all__ = ["dint", "bootstrap_dint", "DintResult", "interpolate_dint", "dint_table"]
#: accuracies are ratios of counts: a mean equal to the threshold up to float rounding reaches it
_TOL = 1e-9


def dint(dims: np.ndarray, means: np.ndarray, threshold: float) -> float:
    """Smallest ``dims[i]`` with ``means[i] >= threshold`` (dims ascending); +inf if none.

    Args:
        dims: (K,) ascending subspace dimensions.
        means: (..., K) mean accuracy at each dimension (leading axes: replicates).
        threshold: scalar, or (...,) one per replicate.
    Returns:
        d_int per leading index (float, +inf where never reached).
    """
    dims = np.asarray(dims, dtype=float)
    means = np.asarray(means, dtype=float)
    threshold = np.asarray(threshold, dtype=float)[..., None]
    reached = means >= threshold - _TOL  # (..., K)
    first = np.argmax(reached, axis=-1)
    out = np.where(reached.any(axis=-1), dims[first], np.inf)
    return out if out.ndim else float(out)


def interpolate_dint(dims: np.ndarray, means: np.ndarray, threshold: float) -> float:
    """d where the mean-accuracy curve crosses ``threshold``, linear in log d between grid points.

    The grid value :func:`dint` is an upper bound on this; +inf if never reached.
    """
    dims = np.asarray(dims, dtype=float)
    means = np.asarray(means, dtype=float)
    reached = np.nonzero(means >= threshold - _TOL)[0]
    if reached.size == 0:
        return float("inf")
    i = reached[0]
    if i == 0:
        return float(dims[0])
    lo, hi = np.log(dims[i - 1]), np.log(dims[i])
    a, b = means[i - 1], means[i]
    frac = (threshold - a) / (b - a) if b != a else 1.0
    return float(np.exp(lo + frac * (hi - lo)))


def bootstrap_dint(
    dims: list[float],
    accs: list[np.ndarray],
    baseline: np.ndarray,
    fraction: float = 0.9,
    n_boot: int = 2000,
    random_state: int = 0,
    absolute: bool = False,
) -> np.ndarray:
    """Bootstrap replicates of d_int.

    Args:
        dims: K ascending dimensions.
        accs: K arrays, the per-seed accuracies at each dimension (lengths may differ).
        baseline: per-seed accuracies of the full-space baseline.
        fraction: the fraction of the baseline to reach (0.9 for d_int90).
        n_boot: number of replicates.
        random_state: seed of the resampling (fixed: the interval is reproducible).
        absolute: the threshold is ``fraction`` itself (a baseline fixed at 1.0, Li et al.'s published
            convention), not ``fraction`` x the measured baseline; the same seeds are drawn either way.
    Returns:
        (n_boot,) replicate values of d_int (+inf where not reached).
    """
    rng = np.random.default_rng(random_state)
    baseline = np.asarray(baseline, dtype=float)
    base_idx = rng.integers(0, len(baseline), size=(n_boot, len(baseline)))
    threshold = fraction * (np.ones(n_boot) if absolute else baseline[base_idx].mean(axis=1))  # (n_boot,)
    means = np.empty((n_boot, len(dims)))
    for k, a in enumerate(accs):
        a = np.asarray(a, dtype=float)
        idx = rng.integers(0, len(a), size=(n_boot, len(a)))
        means[:, k] = a[idx].mean(axis=1)
    return dint(np.asarray(dims, dtype=float), means, threshold)


@dataclass
class DintResult:
    """d_int of one (dataset, net, projection), with its bootstrap interval."""

    baseline_mean: float
    baseline_lo: float  # the baseline's Student-t interval over seeds (weightspace.stats.mean_ci)
    baseline_hi: float
    n_baseline: int
    threshold: float
    dint: float  # grid value (+inf: not reached)
    dint_interp: float  # log-linear interpolation between grid points
    ci_low: float
    ci_high: float  # +inf: the interval is open to the right
    p_reached: float  # fraction of bootstrap replicates that reach the threshold
    n_boot: int
    dims: str  # the grid, for the record
    n_seeds_min: int  # fewest finished seeds at any d

    def as_dict(self) -> dict:
        return asdict(self)


def dint_table(
    dims: list[float],
    accs: list[np.ndarray],
    baseline: np.ndarray,
    fraction: float = 0.9,
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int = 0,
    absolute: bool = False,
) -> DintResult:
    """Point estimate, interpolation and percentile bootstrap interval of d_int.

    ``absolute``: threshold ``fraction`` (accuracy 0.9) instead of ``fraction`` x the baseline's mean.
    """
    order = np.argsort(dims)
    dims = [dims[i] for i in order]
    accs = [np.asarray(accs[i], dtype=float) for i in order]
    baseline = np.asarray(baseline, dtype=float)
    means = np.array([a.mean() for a in accs])
    threshold = fraction * (1.0 if absolute else baseline.mean())
    reps = bootstrap_dint(dims, accs, baseline, fraction, n_boot, random_state, absolute)
    lo, hi = percentile_interval(reps, confidence)
    base_mean, base_lo, base_hi = mean_ci(baseline)
    return DintResult(
        baseline_mean=base_mean,
        baseline_lo=base_lo,
        baseline_hi=base_hi,
        n_baseline=len(baseline),
        threshold=float(threshold),
        dint=float(dint(np.asarray(dims, dtype=float), means, threshold)),
        dint_interp=interpolate_dint(np.asarray(dims), means, threshold),
        ci_low=float(lo),
        ci_high=float(hi),
        p_reached=float(np.isfinite(reps).mean()),
        n_boot=n_boot,
        dims=" ".join(str(int(d)) for d in dims),
        n_seeds_min=int(min(len(a) for a in accs)),
    )

