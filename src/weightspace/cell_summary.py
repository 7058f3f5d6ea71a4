"""The per-cell summary over seeds: per group of runs and metric, the mean, its interval and the runs counted.

Every family's per-cell table (``sharing_summary.csv``, ``tying_summary.csv``, ``by_dim.csv``, the accuracy
columns of ``feedback_summary.csv``) and the meta-learning summary (``meta_summary.csv``) are this one summary
of ``final.csv``-like rows, grouped by the columns that identify a cell (or one point of a curve):

* ``n_ok``: the runs that finished (``status == ok``; every row where the table has no ``status`` column), and
  ``n_diverged`` (``status == diverged``, only where there is a ``status``): diverged runs are counted, never
  averaged in;
* per metric present, ``<name>_mean``, ``<name>_lo``, ``<name>_hi``: the mean over the finished runs' finite
  values and its 95% Student-t interval (:func:`weightspace.stats.mean_ci`, the interval convention of every
  per-cell table; one run gives NaN bounds).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from weightspace.stats import mean_ci

__all__ = ["summarize"]


def summarize(
    frame: pd.DataFrame,
    by: Sequence[str],
    metrics: Sequence[str] | Mapping[str, str],
    confidence: float = 0.95,
    keep: Sequence[str] = (),
    sort: bool = False,
    count: str = "n_ok",
) -> pd.DataFrame:
    """One row per group of ``by``: mean and Student-t interval over the finished runs of each metric.

    Args:
        frame: one row per run (seed), e.g. ``final.csv``.
        by: the columns whose values identify a group (grouped with NaN as a value; in order of first
            appearance, or sorted with ``sort``).
        metrics: the metric columns (those absent from ``frame`` are left out), or ``{name: column}`` to name the
            output columns ``<name>_mean`` ... after another column.
        keep: columns copied from each group's first row (NaN where ``frame`` has no such column), placed after
            the ``by`` columns they do not list (list a ``by`` column in ``keep`` to place it among them).
        count: the name of the column counting the finished runs.
    Returns:
        Columns: the ``by`` columns not in ``keep``, ``keep``, ``count``, ``n_diverged`` (with a ``status``
        column), then ``<name>_mean``, ``<name>_lo``, ``<name>_hi`` per metric present.
    """
    by = list(by)
    named = dict(metrics) if isinstance(metrics, Mapping) else {m: m for m in metrics}
    named = {name: col for name, col in named.items() if col in frame}
    status = "status" in frame
    rows = []
    for key, g in frame.groupby(by, sort=sort, dropna=False):
        ok = g[g["status"] == "ok"] if status else g
        first = g.iloc[0]
        row = {k: v for k, v in zip(by, key if isinstance(key, tuple) else (key,)) if k not in keep}
        row.update({k: first.get(k, np.nan) for k in keep})
        row[count] = len(ok)
        if status:
            row["n_diverged"] = int((g["status"] == "diverged").sum())
        for name, col in named.items():
            row[f"{name}_mean"], row[f"{name}_lo"], row[f"{name}_hi"] = mean_ci(ok[col], confidence)
        rows.append(row)
    return pd.DataFrame(rows)
