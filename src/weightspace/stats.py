"""Statistics over seeds used by every family: the mean and its Student-t interval."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_ci"]


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean over seeds: (mean, low, high).

    One value gives (value, nan, nan); none gives three NaNs.
    """
    from scipy import stats as st

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    m = float(x.mean())
    if x.size == 1:
        return m, float("nan"), float("nan")
    half = float(st.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return m, m - half, m + half
