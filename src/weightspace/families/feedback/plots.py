"""The weight-feedback figure ("feedback vs. baseline"), one per dataset of an experiment.

One row per training setting (optimizer, learning rate): on the left, test
accuracy against epochs for every arm (mean +- one standard deviation over
seeds, on a logit axis: it spreads the last percent, where the arms differ,
without cutting the start off); on the right, each arm's per-seed paired difference of final test
accuracy from the ``none`` and ``ones`` controls, its mean and Student-t
interval, and every seed's own difference as a dot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from weightspace.errors import WeightspaceError
from weightspace.families.feedback.analysis import REFERENCES, arms, setting_label
from weightspace.plots import markevery, mean_band, plt, save_figure

__all__ = ["arm_style", "feedback_figure", "p_label", "P_FONTSIZE"]

_COLOURS = {"none": "black", "ones": "0.55", "frozen": "tab:brown", "maxpool": "tab:blue", "projection": "tab:orange"}
_FLOWING = ("maxpool", "projection")
_LOGIT_TICKS = [0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999]
_REF_STYLE = {"none": ("o", "black"), "ones": ("s", "tab:red")}


#: the size of the p-values beside the paired differences (the axis labels' size: readable in print)
P_FONTSIZE = 8


def p_label(p: float, p_holm: float | None) -> str:
    """The p-values written beside a paired difference: ``p 0.25, Holm 1`` (raw, then Holm-adjusted)."""
    return f"p {p:.2g}" + (f", Holm {p_holm:.2g}" if p_holm is not None and np.isfinite(p_holm) else "")


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _expit(z: float) -> float:
    return float(1 / (1 + np.exp(-z)))


def arm_style(mode: str, gradient, used: set) -> dict:
    """Colour by what is fed back, dashed when the gradient flows through it; a free colour if already taken."""
    style = {"color": _COLOURS.get(mode, "tab:purple"), "ls": "--" if gradient == "flow" and mode in _FLOWING else "-"}
    free = iter(c for c in plt.get_cmap("tab10").colors if (c, style["ls"]) not in used)
    while (style["color"], style["ls"]) in used:
        style["color"] = next(free, "tab:purple")
    used.add((style["color"], style["ls"]))
    return style


def _curves_panel(ax, curves: pd.DataFrame, summary: pd.DataFrame, styles: dict) -> None:
    """Test accuracy per epoch on a logit axis (spread near 100%, so that late differences show without
    cutting the start off), mean +- std over seeds; epoch 0 (before training) is left out."""
    lo_all, hi_all = [], []
    for _, r in summary.iterrows():
        c = curves[(curves["arm"] == r["arm"]) & (curves["status"] == "ok") & (curves["epoch"] > 0)]
        if c.empty:
            continue
        b = mean_band(c, "epoch", "test_acc")
        label = f"{r['arm']}" + (f" [{int(r['n_diverged'])} diverged]" if r["n_diverged"] else "")
        st = styles[r["arm"]]
        clip = (1e-4, 1 - 1e-4)
        ax.plot(b["epoch"], b["mean"].clip(*clip), color=st["color"], ls=st["ls"], lw=1.3, label=label,
                markevery=markevery(len(b)))
        ax.fill_between(b["epoch"], (b["mean"] - b["std"]).clip(*clip), (b["mean"] + b["std"]).clip(*clip),
                        color=st["color"], alpha=0.08, lw=0)
        lo_all.append(b["mean"].min())
        hi_all.append((b["mean"] + b["std"]).max())
    ax.set_yscale("logit")
    if lo_all:  # the means' range, with a margin of 0.25 in logit units
        lo, hi = _logit(max(min(lo_all), 1e-3)), _logit(min(max(hi_all), 1 - 1e-4))
        ax.set_ylim(_expit(lo - 0.25), _expit(hi + 0.25))
        bottom, top = ax.get_ylim()
        ax.set_yticks([t for t in _LOGIT_TICKS if bottom <= t <= top])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{100 * y:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    if (curves["epoch"] % 1 == 0).all():  # one evaluation per epoch: whole epochs
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%), logit scale")
    ax.grid(alpha=0.3, lw=0.5)


def _paired_panel(ax, paired: pd.DataFrame, summary: pd.DataFrame, level: str) -> None:
    shown = summary.reset_index(drop=True)
    ys = np.arange(len(shown))[::-1]
    rng = np.random.default_rng(0)  # jitter of the seed dots only
    offsets = {"none": 0.15, "ones": -0.15}
    for y, (_, r) in zip(ys, shown.iterrows()):
        for ref in REFERENCES:
            m = r.get(f"vs_{ref}_mean")
            if m is None or not np.isfinite(m):
                continue
            marker, colour = _REF_STYLE[ref]
            yy = y + offsets[ref]
            d = paired[(paired["arm"] == r["arm"]) & (paired["reference"] == ref)]["diff"].to_numpy() * 100
            ax.scatter(d, yy + rng.uniform(-0.05, 0.05, len(d)), s=6, color=colour, alpha=0.35, lw=0)
            lo, hi = r.get(f"vs_{ref}_lo"), r.get(f"vs_{ref}_hi")
            err = None if not np.isfinite(lo) else [[100 * (m - lo)], [100 * (hi - m)]]
            ax.errorbar([100 * m], [yy], xerr=err, fmt=marker, color=colour, ms=4, capsize=2, lw=1.1)
            p, ph = r.get(f"vs_{ref}_p"), r.get(f"vs_{ref}_p_holm")
            if p is not None and np.isfinite(p):
                ax.annotate(p_label(p, ph), (1.0, yy), xycoords=("axes fraction", "data"), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=P_FONTSIZE, color=colour)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(ys, list(shown["arm"]))
    ax.set_ylim(-0.7, len(shown) - 0.3)
    ax.set_xlabel(f"final accuracy minus control (percentage points); bars: {level} t-interval,\ndots: seeds; "
                  f"right: p of the exact sign-flip test, raw and Holm-adjusted\nover the experiment's comparisons",
                  fontsize=8)
    ax.grid(axis="x", alpha=0.3, lw=0.5)


def feedback_figure(curves: pd.DataFrame, summary: pd.DataFrame, paired: pd.DataFrame, dataset: str,
                    out: str | Path, title: str = "") -> list[Path]:
    """Accuracy per epoch per arm and the paired differences from the controls, one row per setting."""
    curves = arms(curves[curves["dataset"] == dataset])
    summary = summary[summary["dataset"] == dataset].copy()
    if summary.empty or curves.empty:
        raise WeightspaceError(f"no feedback runs for dataset {dataset!r}")
    summary["setting"] = summary["setting"].fillna("")
    paired = paired[paired["dataset"] == dataset].copy()
    paired["setting"] = paired["setting"].fillna("") if len(paired) else paired.get("setting")
    settings = list(dict.fromkeys(summary["setting"]))
    conf = float(summary["confidence"].iloc[0]) if "confidence" in summary else 0.95
    level = f"{100 * conf:g}%"
    n = int(summary["n_ok"].max())
    n_arms = summary["arm"].nunique()
    fig, axes = plt.subplots(len(settings), 2, figsize=(10.5, max(2.8, 0.32 * n_arms + 1.2) * len(settings)),
                             layout="constrained", squeeze=False, width_ratios=[1.0, 1.05])
    used: set = set()
    styles = {r["arm"]: arm_style(r["mode"], r.get("gradient"), used)
              for _, r in summary.sort_values("order", kind="stable").drop_duplicates("arm").iterrows()}
    for row, setting in enumerate(settings):
        s = summary[summary["setting"] == setting]
        _curves_panel(axes[row, 0], curves[curves["setting"] == setting], s, styles)
        _paired_panel(axes[row, 1], paired[paired["setting"] == setting] if len(paired) else paired, s, level)
        name = setting_label(setting) or "training as configured"
        axes[row, 0].set_title(f"{name}: test accuracy (logit scale), mean ± std over seeds")
        axes[row, 1].set_title(f"{name}: paired difference of final test accuracy")
    handles, labels = [], []
    for ax in axes[:, 0]:  # every setting's arms (a setting's arms are named by its variants)
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    for ref in REFERENCES:  # the markers of the right-hand panels, named by the arm(s) each compares with
        names = sorted({a for a in summary[f"vs_{ref}_arm"].fillna("") if a}) if f"vs_{ref}_arm" in summary else []
        if not names:
            continue
        marker, colour = _REF_STYLE[ref]
        handles.append(Line2D([], [], marker=marker, color=colour, ls="-", lw=1.1, ms=4))
        labels.append(f"minus {names[0]}" if len(names) == 1 else "minus its setting's\n" + "\n".join(
            f"  {name}" for name in names))
    nets_are_arms = bool((summary["arm"] == summary["net"]).all())  # the note's pairs
    fig.legend(handles, labels, loc="outside right center", title="net" if nets_are_arms else (
        "net · variant" if summary["arm"].str.contains(" · ", regex=False).any() else "variant"))
    head = title or f"{dataset}: weight feedback vs. controls"
    note = f"{n} seeds, paired by seed"
    if n < 6:
        note += f" (with {n} seeds a paired test cannot reach p < 0.05: smallest possible p = {2 / 2 ** n:.2g})"
    fig.suptitle(f"{head} — {note}", fontsize=9)
    return save_figure(fig, out)
