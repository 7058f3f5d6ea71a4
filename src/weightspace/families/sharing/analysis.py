"""Sharing tables from ``final.csv``: structure metrics per cell, mean and t-interval over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from weightspace.analysis import with_setting
from weightspace.stats import mean_ci

__all__ = ["sharing_summary", "SHARING_METRICS"]
#: per-seed numbers summarized for the sharing family (those present in final.csv)
SHARING_METRICS = [
    "final_test_loss",
    "final_test_acc",
    "final_hard_test_loss",
    "final_hard_test_acc",
    "final_values_used",
    "final_row_entropy",
    "support_precision",
    "support_recall",
    "support_f1",
    "ari_support",
    "homogeneity",
    "completeness",
    "partition_distance",
    "params_stored",
    "ari_support_value",
    "partition_distance_value",
    "n_groups_learned",
    "equivariance_error",
    "equivariance_error_soft",
    "spatial_agreement",
    "spatial_chance",
    "spatial_excess",
]


def sharing_summary(final: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per cell: mean and t-interval over finished seeds of every sharing metric, diverged runs counted.

    For forms whose hard net is the net itself (direct), the hard columns are
    filled from the soft ones, so every row has a comparable "hard" number.
    """
    final = with_setting(final, axis=("k",))
    for col in ("test_loss", "test_acc"):
        hard = f"final_hard_{col}"
        if hard not in final:
            final[hard] = np.nan
        final[hard] = final[hard].fillna(final[f"final_{col}"])
    rows = []
    for cell, g in final.groupby("cell", sort=False):
        ok = g[g["status"] == "ok"]
        first = g.iloc[0]
        row = {key: first.get(key, np.nan) for key in ("dataset", "net", "variant", "reparam", "k", "budget")}
        row.update(setting=first["setting"], cell=cell, n_ok=len(ok), n_diverged=int((g["status"] == "diverged").sum()))
        for m in SHARING_METRICS:
            if m in g:
                row[f"{m}_mean"], row[f"{m}_lo"], row[f"{m}_hi"] = mean_ci(ok[m], confidence)
        rows.append(row)
    return pd.DataFrame(rows)

