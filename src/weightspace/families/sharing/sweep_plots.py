"""Figures of issue 16: the sample-size sweep and meta-learned vs single-task sharing.

1. :func:`sweep_figure` - structure recovery (ARI on the support, support F1, partition distance) and
   hard-net test MSE against training examples, one line per method (variant and setting), for one
   teacher of a sweep (datasets ``<teacher>-n<N>``), with 95% t-intervals over seeds.
2. :func:`meta_figure` - the same recovery metrics and test MSE against examples per task, one line per
   method of the meta-learning comparison (``meta_summary.csv``).
3. :func:`first_exceeding` - the smallest sample size at which one method's mean exceeds another's.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from weightspace.errors import WeightspaceError
from weightspace.plots import plain_log_ticks, plt, save_figure

__all__ = ["sweep_table", "sweep_figure", "meta_figure", "first_exceeding", "budget_figure"]

_PANELS = (("ari_support", "ARI on the true support (↑)"), ("support_f1", "support F1 (↑)"),
           ("partition_distance", "partition distance (↓)"), ("test_mse", "test MSE (↓, log)"))


def sweep_table(summary: pd.DataFrame, teacher: str, net: str) -> pd.DataFrame:
    """The rows of ``sharing_summary.csv`` of one sweep, with ``n_train`` and a ``method`` label."""
    pat = re.compile(rf"{re.escape(teacher)}-n(\d+)")
    d = summary[(summary["net"] == net) & summary["dataset"].astype(str).str.fullmatch(pat)].copy()
    if d.empty:
        raise WeightspaceError(f"no rows of teacher {teacher!r} (datasets {teacher}-n<N>) and net {net!r}")
    d["n_train"] = d["dataset"].str.extract(pat, expand=False).astype(int)
    d["method"] = [v if s in ("", "-") or pd.isna(s) else f"{v} {s}" for v, s in zip(d["variant"], d["setting"])]
    # the hard net's test loss (direct: its own) is the test MSE of a regression teacher
    d["test_mse_mean"], d["test_mse_lo"], d["test_mse_hi"] = (d["final_hard_test_loss_mean"],
                                                              d["final_hard_test_loss_lo"],
                                                              d["final_hard_test_loss_hi"])
    return d.sort_values(["method", "n_train"])


def _lines(ax, d: pd.DataFrame, x: str, metric: str, group: str) -> None:
    for i, (label, g) in enumerate(d.groupby(group, sort=True)):
        if f"{metric}_mean" not in g or not np.isfinite(g[f"{metric}_mean"]).any():
            continue
        color = plt.get_cmap("tab10")(i % 10)
        ax.plot(g[x], g[f"{metric}_mean"], marker="o", ms=3, lw=1.4, color=color, label=label)
        lo, hi = g[f"{metric}_lo"], g[f"{metric}_hi"]
        if np.isfinite(lo).any():
            ax.fill_between(g[x], lo, hi, color=color, alpha=0.15, lw=0)


def _figure(d: pd.DataFrame, x: str, xlabel: str, group: str, title: str, out, marker_x: float | None = None):
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, (metric, label) in zip(axes, _PANELS):
        _lines(ax, d, x, metric, group)
        ax.set_xscale("log", base=2)
        plain_log_ticks(ax, "x")
        ax.set_xlabel(xlabel)
        ax.set_title(label, fontsize=10)
        # the axis follows the means; wide intervals (few seeds) are cut at its edge, not allowed to flatten it
        means = d[f"{metric}_mean"].to_numpy(dtype=float) if f"{metric}_mean" in d else np.array([])
        means = means[np.isfinite(means)]
        if metric == "test_mse":
            ax.set_yscale("log")
            pos = means[means > 0]
            if pos.size:
                ax.set_ylim(pos.min() / 3, pos.max() * 3)
        else:
            ax.set_ylim(min(-0.05, means.min() - 0.05) if means.size else -0.05, 1.05)
        if marker_x is not None:
            ax.axvline(marker_x, color="grey", ls=":", lw=1)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.12 - 0.05 * (len(labels) // 7)))
    fig.suptitle(title + "\n(intervals cut at the axes, which follow the means)", fontsize=10, y=1.08)
    return save_figure(fig, out)


def sweep_figure(summary: pd.DataFrame, teacher: str, net: str, out: str | Path, n_weights: int | None = None) -> list[Path]:
    """Recovery and test MSE vs training examples for one teacher's sweep, one line per method."""
    d = sweep_table(summary, teacher, net)
    seeds = int(d["n_ok"].max()) if "n_ok" in d else 0
    title = (f"{teacher} ({net}): structure recovery and test MSE vs training examples; mean and 95% t-interval "
             f"over {seeds} seeds" + (f"; dotted: inputs per output ({n_weights})" if n_weights else ""))
    return _figure(d, "n_train", "training examples (distinct)", "method", title, out, n_weights)


def meta_figure(summary: pd.DataFrame, out: str | Path, title: str = "") -> list[Path]:
    """Recovery and test MSE vs examples per task: meta-learned vs single-task sharing and the references."""
    seeds = int(summary["n_seeds"].max())
    return _figure(summary.sort_values(["method", "n_per_task"]), "n_per_task", "training examples per task",
                   "method", (title + ": " if title else "") + f"held-out tasks; mean and 95% t-interval over {seeds} "
                   f"seeds (each the mean over its held-out tasks)", out)


def first_exceeding(d: pd.DataFrame, x: str, a: str, b: str, metric: str = "ari_support", group: str = "method"):
    """The smallest ``x`` at which method ``a``'s mean ``metric`` exceeds method ``b``'s (None if never)."""
    pa = d[d[group] == a].set_index(x)[f"{metric}_mean"]
    pb = d[d[group] == b].set_index(x)[f"{metric}_mean"]
    common = sorted(set(pa.index) & set(pb.index))
    return next((n for n in common if pa[n] > pb[n]), None)


def budget_figure(summary: pd.DataFrame, dataset: str, net: str, out: str | Path) -> list[Path]:
    """Hard-net test metric against parameters stored (unique values + unshared tensors), one line per method:
    sharing budgets (fractions of each tensor's weights) and fixed k side by side, direct as a reference."""
    d = summary[(summary["dataset"] == dataset) & (summary["net"] == net)].copy()
    if d.empty or "params_stored_mean" not in d:
        raise WeightspaceError(f"no rows with params_stored for {dataset} / {net}")
    acc = "final_hard_test_acc_mean" in d and np.isfinite(d["final_hard_test_acc_mean"]).any()
    y = "final_hard_test_acc" if acc else "final_hard_test_loss"
    by_budget = d["budget"].notna() if "budget" in d else pd.Series(False, index=d.index)
    d["method"] = np.where(by_budget, d["variant"] + " (budget)", d["variant"])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (method, g) in enumerate(d.groupby("method", sort=True)):
        g = g.sort_values("params_stored_mean")
        color = plt.get_cmap("tab10")(i % 10)
        ax.errorbar(g["params_stored_mean"], g[f"{y}_mean"],
                    yerr=[g[f"{y}_mean"] - g[f"{y}_lo"], g[f"{y}_hi"] - g[f"{y}_mean"]],
                    marker="o", ms=4, lw=1.3, capsize=2, color=color, label=method)
        if "budget" in g and g["budget"].notna().any():
            for _, r in g.iterrows():
                if pd.notna(r.get("budget")):
                    frac = Fraction(float(r["budget"])).limit_denominator(1024)
                    ax.annotate(f"{frac.numerator}/{frac.denominator}" if frac.numerator == 1 else f"{r['budget']:g}",
                                (r["params_stored_mean"], r[f"{y}_mean"]), fontsize=7,
                                xytext=(3, 3), textcoords="offset points", color=color)
    ax.set_xscale("log")
    plain_log_ticks(ax, "x")
    if not acc:
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        if hi / lo > 10:
            plain_log_ticks(ax, "y")
        else:  # within a decade: label the minor ticks too, plainly
            from matplotlib.ticker import FuncFormatter

            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.set_xlabel("parameters stored (unique values + unshared tensors; indices not counted)")
    ax.set_ylabel("hard-net test accuracy" if acc else "hard-net test MSE")
    ax.set_title(f"{dataset} / {net}: compression budgets (labels: fraction of each tensor's weights)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out)
