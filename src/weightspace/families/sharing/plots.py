"""Figures of the weight-sharing family ("recovered sharing structure").

1. :func:`structure_figure` - for a teacher task, the learned assignment of one
   seed beside the ground truth, and the co-assignment (which entries share)
   on the true support.
2. :func:`assignment_maps_figure` - on image data, each hidden unit's
   assignment on the input grid.
3. :func:`tradeoff_figure` - hard-net accuracy (or test MSE) against the number
   of unique values used, per sharing method, with the direct baseline.
4. :func:`dynamics_figure` - row entropy and values used over training.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from weightspace.formatting import with_setting
from weightspace.errors import WeightspaceError
from weightspace.plots import categorical_cmap, markevery, mean_band, plain_log_ticks, plt, save_figure
from weightspace.families.sharing.structure import contingency, learned_support

__all__ = ["structure_figure", "assignment_maps_figure", "tradeoff_figure", "dynamics_figure", "match_labels"]


def match_labels(true: np.ndarray, learned: np.ndarray) -> np.ndarray:
    """Relabel ``learned`` so that each learned group takes the label of the true group it overlaps most
    (Hungarian matching); unmatched learned groups get labels after the true ones."""
    t_vals, t_idx = np.unique(true.ravel(), return_inverse=True)
    l_vals, l_idx = np.unique(learned.ravel(), return_inverse=True)
    table = contingency(t_idx, l_idx)
    rows, cols = linear_sum_assignment(-table)
    mapping = {c: t_vals[r] for r, c in zip(rows, cols)}
    nxt = int(t_vals.max()) + 1
    out_vals = []
    for j in range(len(l_vals)):
        if j not in mapping:
            mapping[j] = nxt
            nxt += 1
        out_vals.append(mapping[j])
    return np.asarray(out_vals)[l_idx].reshape(learned.shape)


def _group_image(ax, labels: np.ndarray, title: str, n_colors: int) -> None:
    """Entries coloured by group; the zero group (-1) white."""
    cmap = categorical_cmap(n_colors).with_extremes(bad="white")
    img = np.ma.masked_less(labels.astype(float), 0)
    ax.imshow(img, cmap=cmap, vmin=-0.5, vmax=max(n_colors, 1) - 0.5, interpolation="nearest", aspect="auto")
    ax.set_title(title)
    ax.set_xlabel("input")
    ax.set_ylabel("output")


def structure_figure(npz: str | Path, groups: np.ndarray, title: str, out: str | Path, zero_tol: float = 0.05) -> list[Path]:
    """Learned vs true sharing of a teacher layer, and the co-assignment on the true support."""
    d = np.load(npz)
    if d["assign"].size == 0:
        raise WeightspaceError(f"{npz} holds no assignment: the variant does not share weights")
    support = learned_support(d["w_hard"], zero_tol)
    learned = np.where(support, d["assign"], -1)
    matched = np.where(support, match_labels(np.where(groups >= 0, groups, -1), learned), -1)
    n_colors = int(max(groups.max(), matched.max())) + 1
    fig, axes = plt.subplots(1, 4, figsize=(13.0, 3.2), layout="constrained")
    _group_image(axes[0], groups, "ground truth (colour: tap)", n_colors)
    _group_image(axes[1], matched, "learned (colour: matched group; white: ~0)", n_colors)
    # co-assignment on the true support, entries ordered by true group
    idx = np.nonzero(groups.ravel() >= 0)[0]
    order = idx[np.argsort(groups.ravel()[idx], kind="stable")]
    t = groups.ravel()[order]
    lrn = learned.ravel()[order]
    axes[2].imshow(t[:, None] == t[None, :], cmap="Greys", interpolation="nearest")
    axes[2].set_title("true co-assignment (support)")
    axes[3].imshow((lrn[:, None] == lrn[None, :]) & (lrn[:, None] >= 0), cmap="Greys", interpolation="nearest")
    axes[3].set_title("learned co-assignment")
    for ax in axes[2:]:
        ax.set_xlabel("support entry (by true tap)")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)


def assignment_maps_figure(npz: str | Path, input_shape: tuple[int, ...], title: str, out: str | Path, units: int = 16) -> list[Path]:
    """Each of the first ``units`` hidden units' value index over the input grid."""
    d = np.load(npz)
    a = d["assign"]
    if a.size == 0:
        raise WeightspaceError(f"{npz} holds no assignment: the variant does not share weights")
    units = min(units, a.shape[0])
    spatial = tuple(input_shape[1:]) if len(input_shape) > 1 else (input_shape[0],)
    k = int(a.max()) + 1
    cmap = categorical_cmap(k)  # a value's slot index is a category, not a quantity
    if len(spatial) == 1:
        fig, ax = plt.subplots(figsize=(6.5, 0.25 * units + 1.2), layout="constrained")
        im = ax.imshow(a[:units].reshape(units, -1), cmap=cmap, vmin=-0.5, vmax=k - 0.5, aspect="auto",
                       interpolation="nearest")
        ax.set(xlabel="input position", ylabel="hidden unit")
        _index_colorbar(fig, im, ax, k)
    else:
        cols = int(np.ceil(np.sqrt(units)))
        rows = int(np.ceil(units / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols + 1.0, 1.6 * rows), layout="constrained", squeeze=False)
        for u, ax in enumerate(axes.ravel()):
            ax.set_xticks([])
            ax.set_yticks([])
            if u >= units:
                ax.axis("off")
                continue
            channels = a[u].reshape(-1, *spatial)
            im = ax.imshow(channels[0], cmap=cmap, vmin=-0.5, vmax=k - 0.5, interpolation="nearest")
            ax.set_title(f"unit {u}", fontsize=7)
        _index_colorbar(fig, im, axes, k, shrink=0.8)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)


def _index_colorbar(fig, im, ax, k: int, **kw) -> None:
    """A colour bar for value indices 0..k-1: integer ticks at the colours' centres."""
    cb = fig.colorbar(im, ax=ax, label="value index", **kw)
    cb.set_ticks(np.arange(0, k, max(1, int(np.ceil(k / 12)))))


_MARKER = {"sharing": "o", "hashed": "s", "kmeans": "^", "known": "*"}


def tradeoff_figure(summary: pd.DataFrame, dataset: str, net: str, out: str | Path) -> list[Path]:
    """Hard-net test accuracy (classification) or test MSE (regression) against values used."""
    sel = summary[(summary["dataset"] == dataset) & (summary["net"] == net)]
    if sel.empty:
        raise WeightspaceError(f"no cells for {dataset} / {net} in the sharing summary")
    regression = sel["final_test_acc_mean"].isna().all()
    y = "final_hard_test_loss" if regression else "final_hard_test_acc"
    fig, ax = plt.subplots(figsize=(6.2, 3.4), layout="constrained")
    if "setting" not in sel:
        sel = sel.assign(setting="")
    palette = plt.get_cmap("tab10").colors
    direct_styles = itertools.cycle(["-", "--", ":", "-."])  # several direct nets (e.g. two settings) stay apart
    xs, cut = [], False
    for i, ((variant, setting), g) in enumerate(sel.fillna({"setting": ""}).groupby(["variant", "setting"], sort=True)):
        reparam = g["reparam"].iloc[0]
        if reparam == "direct":
            r = g.iloc[0]
            ax.axhline(r[f"{y}_mean"], color="black", lw=1.2, ls=next(direct_styles),
                       label=f"{variant} (no sharing)" + (f", {setting}" if setting else ""))
            continue
        x = g["final_values_used_mean"] if reparam == "sharing" else g["k"]
        if reparam == "known":
            x = g["n_groups_learned_mean"]
        g = g.assign(_x=x.to_numpy()).sort_values("_x")
        marker = _MARKER.get(reparam, "o")
        color = palette[i % len(palette)]
        lo, hi = g[f"{y}_lo"], g[f"{y}_hi"]
        if not regression:  # an accuracy lies in [0, 1]: a t-interval of a few bimodal seeds can pass its ends
            cut = cut or bool(((lo < 0) | (hi > 1)).any())
            lo, hi = lo.clip(lower=0.0), hi.clip(upper=1.0)
        yerr = np.vstack([g[f"{y}_mean"] - lo, hi - g[f"{y}_mean"]])
        yerr = np.where(np.isfinite(yerr), yerr, 0.0)
        xs += list(g["_x"])
        label = f"{variant} ({reparam})" if variant != reparam else variant
        if setting:
            label += f", {setting}"
        n_div = int(g["n_diverged"].sum())
        if n_div:
            label += f" [{n_div} diverged]"
        ax.errorbar(g["_x"], g[f"{y}_mean"], yerr=yerr, color=color, marker=marker, ms=5, lw=1.2, capsize=2, label=label)
    ax.set_xscale("log")
    finite = [x for x in xs if np.isfinite(x) and x > 0]
    plain_log_ticks(ax, "x", every_minor=bool(finite) and max(finite) / min(finite) < 10)
    if regression:
        ax.set_yscale("log")
        ax.set_ylabel("test MSE of the hard net")
    else:
        ax.set_ylabel("test accuracy of the hard net")
    ax.set_xlabel("unique values used per shared tensor (learned: measured; others: k)")
    n = int(sel["n_ok"].max())
    ax.set_title(f"{dataset} · {net} — mean and 95% t-interval over {n} seeds"
                 + (" (cut at 0 and 1)" if cut else ""))
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center")
    return save_figure(fig, out)


def dynamics_figure(curves: pd.DataFrame, dataset: str, net: str, variant: str, out: str | Path) -> list[Path]:
    """Mean row entropy and values used against the training step, one line per cell of the variant."""
    sel = curves[(curves["dataset"] == dataset) & (curves["net"] == net) & (curves["variant"] == variant)]
    sel = with_setting(sel[sel["status"] == "ok"])  # every swept value, k included, names a line
    if sel.empty or "row_entropy" not in sel:
        raise WeightspaceError(f"no learned-sharing curves for {dataset} / {net} / {variant}")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.6, 3.0), layout="constrained")
    cells = sorted(sel["cell"].unique())
    cmap = plt.get_cmap("viridis")
    for i, cell in enumerate(cells):
        g = sel[sel["cell"] == cell]
        fixed = ("k", "lambda_entropy", "lambda_prior")
        label = ", ".join([f"{k}={g[k].iloc[0]:g}" for k in fixed if k in g and pd.notna(g[k].iloc[0])]
                          + [p for p in g["setting"].iloc[0].split() if p.split("=")[0] not in fixed])
        color = cmap(i / max(1, len(cells) - 1) * 0.9)
        for ax, col in ((a1, "row_entropy"), (a2, "values_used")):
            b = mean_band(g, "step", col)
            ax.plot(b["step"], b["mean"], color=color, lw=1.3, label=label, markevery=markevery(len(b)))
            ax.fill_between(b["step"], b["mean"] - b["std"], b["mean"] + b["std"], color=color, alpha=0.15, lw=0)
    a1.set(xlabel="training step", ylabel="mean row entropy (nats)")
    a2.set(xlabel="training step", ylabel="unique values used per shared tensor")
    fig.legend(*a1.get_legend_handles_labels(), loc="outside right center")
    fig.suptitle(f"{dataset} · {net} · {variant} — mean ± std over seeds", fontsize=9)
    return save_figure(fig, out)
