"""Tables of an experiment from its ``final.csv``: accuracy per dimension, d_int90.

Accuracy means the **final** test accuracy of each run (after the last
epoch), not the best one seen during training, so that no number is selected
on the test set. Diverged runs are excluded from means and counted in the
``n_diverged`` columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from weightspace.errors import WeightspaceError
from weightspace.stats import dint_table, mean_ci

__all__ = ["by_dim", "dint90", "GROUP", "sharing_summary", "SHARING_METRICS"]

#: columns that identify one curve of accuracy against d
GROUP = ["dataset", "net", "variant"]


def by_dim(final: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over finished seeds of each cell's final numbers, one row per (dataset, net, variant, dim)."""
    rows = []
    keys = GROUP + ["reparam", "dim"]
    for key, g in final.groupby(keys, sort=True, dropna=False):
        ok = g[g["status"] == "ok"]
        acc = ok["final_test_acc"].to_numpy(dtype=float)
        rows.append(
            {
                **dict(zip(keys, key)),
                "projection": g["projection"].iloc[0] if "projection" in g else np.nan,
                "n_weights": int(g["n_weights"].iloc[0]),
                "n_ok": len(ok),
                "n_diverged": int((g["status"] == "diverged").sum()),
                "acc_mean": acc.mean() if len(acc) else np.nan,
                "acc_std": acc.std(ddof=1) if len(acc) > 1 else (0.0 if len(acc) else np.nan),
                "train_loss_mean": ok["final_train_loss"].mean() if len(ok) else np.nan,
                "train_time_s_mean": ok["train_time_s"].mean() if len(ok) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def dint90(final: pd.DataFrame, fraction: float = 0.9, n_boot: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """d_int (default: 90%) per (dataset, net, subspace variant) against the direct baseline.

    Raises:
        WeightspaceError: a (dataset, net) without a finished direct run.
    """
    rows = []
    for (dataset, net), g in final.groupby(["dataset", "net"], sort=True):
        ok = g[g["status"] == "ok"]
        base = ok.loc[ok["reparam"] == "direct", "final_test_acc"].to_numpy(dtype=float)
        if len(base) == 0:
            raise WeightspaceError(
                f"{dataset} / {net}: no finished direct (full-space) run, so d_int cannot be computed; "
                f"check the direct cell's log under results/logs/train/"
            )
        for variant, v in g[g["reparam"] == "subspace"].groupby("variant", sort=True):
            dims, accs, diverged = [], [], 0
            for d, gd in v.groupby("dim", sort=True):
                a = gd.loc[gd["status"] == "ok", "final_test_acc"].to_numpy(dtype=float)
                diverged += int((gd["status"] == "diverged").sum())
                if len(a):
                    dims.append(float(d))
                    accs.append(a)
            row = {
                "dataset": dataset,
                "net": net,
                "variant": variant,
                "projection": v["projection"].iloc[0] if "projection" in v else np.nan,
                "n_weights": int(v["n_weights"].iloc[0]),
                "fraction": fraction,
            }
            if dims:
                row.update(dint_table(dims, accs, base, fraction=fraction, n_boot=n_boot, random_state=random_state).as_dict())
            else:  # every run of the variant diverged: reported, with no estimate
                row.update(baseline_mean=base.mean(), baseline_std=base.std(ddof=1) if len(base) > 1 else 0.0,
                           n_baseline=len(base), threshold=fraction * base.mean(), dint=np.nan, dint_interp=np.nan,
                           ci_low=np.nan, ci_high=np.nan, p_reached=np.nan, n_boot=0, dims="", n_seeds_min=0)
            row["n_diverged"] = diverged
            rows.append(row)
    return pd.DataFrame(rows)


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
    "n_groups_learned",
    "equivariance_error",
    "equivariance_error_soft",
    "spatial_agreement",
    "spatial_chance",
    "spatial_excess",
]


def cell_setting(cell: str) -> str:
    """The swept values of a cell other than k, readable: ``"lambda_prior=0.01"`` ("" if none).

    Parsed from the cell id (``dataset__net__variant__k16__lambda_prior0.01``,
    see :func:`weightspace.config.cell_id`), so it names exactly what the grid varied.
    """
    out = []
    for part in cell.split("__")[3:]:
        if re.fullmatch(r"k\d+", part):
            continue
        m = re.fullmatch(r"([A-Za-z_]+?)(True|False|-?[0-9.].*|inf)", part)
        out.append(f"{m.group(1)}={m.group(2)}" if m else part)
    return " ".join(out)


def sharing_summary(final: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per cell: mean and t-interval over finished seeds of every sharing metric, diverged runs counted.

    For forms whose hard net is the net itself (direct), the hard columns are
    filled from the soft ones, so every row has a comparable "hard" number.
    """
    final = final.copy()
    for col in ("test_loss", "test_acc"):
        hard = f"final_hard_{col}"
        if hard not in final:
            final[hard] = np.nan
        final[hard] = final[hard].fillna(final[f"final_{col}"])
    rows = []
    for cell, g in final.groupby("cell", sort=False):
        ok = g[g["status"] == "ok"]
        first = g.iloc[0]
        row = {key: first.get(key, np.nan) for key in ("dataset", "net", "variant", "reparam", "k")}
        row.update(setting=cell_setting(cell), cell=cell, n_ok=len(ok), n_diverged=int((g["status"] == "diverged").sum()))
        for m in SHARING_METRICS:
            if m in g:
                row[f"{m}_mean"], row[f"{m}_lo"], row[f"{m}_hi"] = mean_ci(ok[m], confidence)
        rows.append(row)
    return pd.DataFrame(rows)
