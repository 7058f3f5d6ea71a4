"""Sharing tables from ``final.csv``: structure metrics per cell, mean and t-interval over seeds
(:mod:`weightspace.cell_summary`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from weightspace.cell_summary import summarize
from weightspace.formatting import format_value, with_setting
from weightspace.headlines import interval, setting_as_text

__all__ = ["sharing_summary", "headline", "SHARING_METRICS", "STRUCTURE_SCORES"]
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
    keep = ("dataset", "net", "variant", "reparam", "k", "budget", "setting", "cell")
    return summarize(final, ["cell"], SHARING_METRICS, confidence, keep=keep)


#: the structure score of the summary's headline, the first a dataset's rows have: recovery of a teacher's
#: structure, else agreement with the input's geometry (images)
STRUCTURE_SCORES = {"ari_support": "ARI on the teacher's support (1: its structure exactly)",
                    "spatial_excess": "spatial excess (neighbouring inputs sharing a value, above chance)"}


def _name(r) -> str:
    name = str(r["variant"])
    for key in ("k", "budget"):
        if pd.notna(r.get(key)) and f"{key}=" not in r["setting"]:
            name += f" {key}={format_value(r[key])}"
    return name + (f" ({r['setting']})" if r["setting"] else "")


def headline(summary: pd.DataFrame) -> list[str]:
    """``sharing_summary.csv`` in one line per (dataset, net) (``weightspace summary``): the sharing variant (not
    direct, not the known structure) with the best structure score, its hardened net's test metric, and direct
    training's beside it."""
    lines = []
    for (dataset, net), g in setting_as_text(summary).groupby(["dataset", "net"], sort=False):
        shared = g[~g["reparam"].isin(["direct", "known"])]
        score = next((m for m in STRUCTURE_SCORES if f"{m}_mean" in g and shared[f"{m}_mean"].notna().any()), None)
        if score is None:
            lines.append(f"{dataset}/{net}: no structure score (no sharing variant with "
                         f"{' or '.join(STRUCTURE_SCORES)})")
            continue
        best = shared.loc[shared[f"{score}_mean"].idxmax()]
        regression = g["final_hard_test_acc_mean"].isna().all()
        metric, digits, scale, unit = (("final_hard_test_loss", 4, 1.0, "") if regression
                                       else ("final_hard_test_acc", 1, 100.0, "%"))
        what = "test MSE" if regression else "test accuracy"

        def test(r) -> str:
            return interval(r[f"{metric}_mean"], r[f"{metric}_lo"], r[f"{metric}_hi"], digits, scale, unit=unit)

        text = (f"{dataset}/{net}: best {STRUCTURE_SCORES[score]}: {_name(best)} "
                f"{interval(best[f'{score}_mean'], best[f'{score}_lo'], best[f'{score}_hi'], 2)}, "
                f"hardened net's {what} {test(best)}")
        direct = g[g["reparam"] == "direct"]
        if len(direct):
            text += f" (direct {test(direct.iloc[0])})"
        seeds = sorted({int(n) for n in g["n_ok"]})
        n = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
        lines.append(text + f"  (mean [95% t-interval] over {n} seeds)")
    return lines
