"""Sharing LaTeX table: structure metrics per cell."""

from __future__ import annotations

import math

import pandas as pd

from weightspace.tables import ci, dagger, label

__all__ = ["structure_latex"]


def structure_latex(summary: pd.DataFrame) -> str:
    """Structure metrics per cell (mean +- 95% t half-width over seeds), one table per dataset x net."""
    out = []
    cols = [
        ("hard test", None),
        ("values", "final_values_used"),
        ("support F1", "support_f1"),
        ("ARI (support)", "ari_support"),
        ("homog.", "homogeneity"),
        ("compl.", "completeness"),
        ("part.\\ dist.", "partition_distance"),
        ("equiv.\\ err.", "equivariance_error"),
        ("spatial excess", "spatial_excess"),
    ]
    for (dataset, net), g in summary.groupby(["dataset", "net"], sort=True):
        regression = g["final_test_acc_mean"].isna().all() if "final_test_acc_mean" in g else True
        present = [(h, m) for h, m in cols if m is None or (f"{m}_mean" in g and g[f"{m}_mean"].notna().any())]
        out.append(f"% {dataset} / {net}: mean $\\pm$ 95% t-interval half-width over seeds; hard test = "
                   + ("MSE" if regression else "accuracy (%)") + " of the hardened net")
        out.append(r"\begin{tabular}{ll" + "r" * len(present) + "}")
        out.append(r"\toprule")
        out.append(" & ".join(["variant", "$k$"] + [h for h, _ in present]) + r" \\")
        out.append(r"\midrule")
        for _, r in g.iterrows():
            k = r.get("k")
            name = label(r["variant"], r.get("setting"))
            cells = [name, "--" if k is None or (isinstance(k, float) and math.isnan(k)) else f"{int(k)}"]
            for h, m in present:
                if m is None:
                    m = "final_hard_test_loss" if regression else "final_hard_test_acc"
                    cells.append(ci(r, m, 4 if regression else 1, 1.0 if regression else 100.0))
                else:
                    cells.append(ci(r, m, 1 if m == "final_values_used" else 2))
            cells[0] += dagger(r.get("n_diverged"))
            out.append(" & ".join(cells) + r" \\")
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        out.append("")
    return "\n".join(out)

