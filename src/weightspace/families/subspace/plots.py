"""Subspace figures: curves per d, accuracy against d with d_int90, the cost of each projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from weightspace.formatting import with_setting
from weightspace.errors import WeightspaceError
from weightspace.plots import mean_band, plain_log_ticks, plot_band, plt, save_figure

__all__ = ["curves_figure", "accuracy_vs_d_figure", "cost_figure", "DINT_LABEL"]


def curves_figure(curves: pd.DataFrame, dataset: str, net: str, variant: str, out: str | Path) -> list[Path]:
    """Test accuracy and training loss vs training step, one curve per subspace dimension.

    Each swept setting besides d (e.g. a learning rate) gets curves of its own
    (line style); the full-space baseline (the experiment's direct variants,
    one curve per setting) is drawn in black. A d whose seeds all diverged
    keeps its legend entry, with the count.
    """
    sel = with_setting(curves[(curves["dataset"] == dataset) & (curves["net"] == net)], axis=("d",))
    sub = sel[sel["variant"] == variant]
    base = sel[sel["reparam"] == "direct"]
    if sub.empty:
        raise WeightspaceError(f"no runs of variant {variant!r} for {dataset} / {net} in the curves table")
    dims = sorted(sub["dim"].unique())
    settings = sorted(sub["setting"].unique())
    cmap = plt.get_cmap("viridis")
    colors = {d: cmap(i / max(1, len(dims) - 1) * 0.9) for i, d in enumerate(dims)}
    dashes = ["-", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9.0, 3.0), layout="constrained")
    n_seeds = sub["seed"].nunique()
    groups = [
        (sub[(sub["dim"] == d) & (sub["setting"] == st)], f"d = {d:,}" + (f", {st}" if st else ""),
         {"color": colors[d], "ls": dashes[j % len(dashes)]})
        for j, st in enumerate(settings) for d in dims
    ]
    groups = [g for g in groups if not g[0].empty]
    for (name, st), g in base.groupby(["variant", "setting"]):
        D = int(g["n_weights"].iloc[0])
        groups.append((g, f"full space ({name}{', ' + st if st else ''}, D = {D:,})", {"color": "black", "ls": "--"}))
    for g, label, style in groups:
        ok = g[g["status"] == "ok"]
        n_div = g.loc[g["status"] != "ok", "seed"].nunique()
        if n_div:
            label += f"  [{n_div} diverged]"
        if ok.empty:  # nothing to draw, but the legend says what happened
            ax_acc.plot([], [], label=label + (" (no curve: every seed diverged)" if n_div else ""), **style)
            continue
        plot_band(ax_acc, mean_band(ok, "step", "test_acc"), "step", label, **style)
        plot_band(ax_loss, mean_band(ok[ok["step"] > 0], "step", "train_loss"), "step", label, **style)
    ax_acc.set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1))
    ax_loss.set(xlabel="training step", ylabel="training loss", yscale="log")
    plain_log_ticks(ax_loss)
    handles, labels = ax_acc.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center")
    proj = sub["projection"].iloc[0] if "projection" in sub else variant
    fig.suptitle(
        f"{dataset} · {net} · {proj} projection — mean ± std over {n_seeds} seed{'s' if n_seeds != 1 else ''}",
        fontsize=9,
    )
    return save_figure(fig, out)


_PROJECTION_STYLE = {
    "dense": {"color": "#1b9e77", "marker": "o"},
    "sparse": {"color": "#d95f02", "marker": "s"},
    "fastfood": {"color": "#7570b3", "marker": "^"},
    "qr": {"color": "#e7298a", "marker": "D"},
}


#: the legend entry of the d_int90 marks of :func:`accuracy_vs_d_figure`
DINT_LABEL = "d_int90 (95% bootstrap CI)"
#: the interval: a horizontal bar (no marker, no dashes, whatever the style's cycle)
_DINT_BAR = {"lw": 3.0, "alpha": 0.55, "ls": "-", "marker": "", "solid_capstyle": "butt"}
#: the point estimate: the projection's marker, open, on the bar
_DINT_MARK = {"ls": "", "ms": 6, "mfc": "white", "mew": 1.3}


def accuracy_vs_d_figure(by_dim: pd.DataFrame, dint: pd.DataFrame, dataset: str, net: str, out: str | Path) -> list[Path]:
    """Final test accuracy against d (log axis), one line per subspace variant.

    Drawn: mean and 95% t-interval over finished seeds at each d, the full-space baseline
    (black, with its band), the threshold 0.9 x baseline (dashed), and, in a row
    per variant just below the threshold line, d_int90's 95% bootstrap interval
    as a horizontal bar (an arrow where it is open to the right) with d_int90
    itself as the variant's marker, open, on it (none where it is not reached:
    the legend says so). The legend names the marks (:data:`DINT_LABEL`).
    """
    by_dim = by_dim.assign(setting=by_dim["setting"].fillna("") if "setting" in by_dim else "")
    dint = dint.assign(setting=dint["setting"].fillna("") if "setting" in dint else "")
    sel = by_dim[(by_dim["dataset"] == dataset) & (by_dim["net"] == net)]
    sub = sel[sel["reparam"] == "subspace"]
    base = sel[sel["reparam"] == "direct"]
    if sub.empty or base.empty:
        raise WeightspaceError(f"no subspace runs and direct baseline for {dataset} / {net} in the table")
    di = dint[(dint["dataset"] == dataset) & (dint["net"] == net)]
    fig, ax = plt.subplots(figsize=(6.6, 3.4), layout="constrained")
    D = int(base["n_weights"].iloc[0])
    for j, (_, b) in enumerate(base.iterrows()):  # one line per baseline variant and swept setting
        extra = f" ({b['variant']}{', ' + b['setting'] if b['setting'] else ''})" if len(base) > 1 else ""
        ls = ["-", "-.", ":"][j % 3]
        if np.isfinite(b["acc_lo"]):  # one finished seed: no interval
            ax.axhspan(b["acc_lo"], b["acc_hi"], color="black", alpha=0.08, lw=0)
        ax.axhline(b["acc_mean"], color="black", lw=1.2, ls=ls, label=f"full space{extra}, D = {D:,}")
    variants = sorted(set(zip(sub["variant"], sub["setting"])))
    fallback = plt.get_cmap("tab10")
    thresholds: dict[str, float] = {}  # baseline label -> threshold
    dint_marks = False
    for i, (v, setting) in enumerate(variants):
        g = sub[(sub["variant"] == v) & (sub["setting"] == setting)].sort_values("dim")
        proj = g["projection"].iloc[0]
        style = dict(_PROJECTION_STYLE.get(proj, {"color": fallback(i), "marker": "o"}))
        if sum(1 for w, _ in variants if w == v) > 1:  # several settings of one projection: colours apart
            style["color"] = fallback(i)
        ok = g[g["n_ok"] > 0]
        n_div = int(g["n_diverged"].sum())
        label = v if v == proj else f"{v} ({proj})"
        if setting:
            label += f", {setting}"
        if n_div:
            label += f" [{n_div} diverged]"
        row = di[(di["variant"] == v) & (di["setting"] == setting)]
        if not row.empty and not np.isfinite(row.iloc[0]["dint"]):
            label += " [d_int90 not reached]"
        ax.plot(ok["dim"], ok["acc_mean"], lw=1.3, ms=3.5, label=label, **style)
        ax.fill_between(ok["dim"], ok["acc_lo"], ok["acc_hi"],
                        color=style["color"], alpha=0.15, lw=0)
        if not row.empty:
            r = row.iloc[0]
            absolute = r.get("convention") == "absolute"
            thresholds["" if absolute else str(r.get("baseline", ""))] = r["threshold"]
            if np.isfinite(r["ci_low"]):
                # each variant's interval on its own row just below the threshold line, as a horizontal bar
                # (an interval open to the right runs to an arrow past the last d), d_int90 an open marker on it
                y = r["threshold"] - 0.03 * (i + 1)
                open_right = not np.isfinite(r["ci_high"])
                hi = sub["dim"].max() * 1.6 if open_right else r["ci_high"]
                ax.plot([r["ci_low"], hi], [y, y], **_DINT_BAR, color=style["color"])
                if open_right:
                    ax.plot([hi], [y], marker=">", ms=5, ls="", color=style["color"])
                if np.isfinite(r["dint"]):
                    ax.plot([r["dint"]], [y], **_DINT_MARK, marker=style["marker"], mec=style["color"])
                dint_marks = True
    for j, (name, threshold) in enumerate(thresholds.items()):  # one per baseline (several if it is swept)
        which = f" ({name})" if len(thresholds) > 1 else ""
        ls = ["--", (0, (1, 1.5)), (0, (6, 2, 1, 2))][j % 3]
        text = f"90% of full space{which}" if name or len(thresholds) > 1 else "90% accuracy (absolute threshold)"
        ax.axhline(threshold, color="black", ls=ls, lw=0.9, label=text)
    ax.set_xscale("log")
    ax.set_xlim(right=sub["dim"].max() * 2.2)
    ax.set(xlabel="subspace dimension d", ylabel="final test accuracy", ylim=(0, 1.0))
    handles, labels = ax.get_legend_handles_labels()
    if dint_marks:  # what the marks below the threshold line are (each in its projection's colour and marker)
        handles.append(Line2D([], [], **{**_DINT_BAR, **_DINT_MARK, "ls": "-", "marker": "o"}, color="0.45", mec="0.3"))
        labels.append(DINT_LABEL)
    fig.legend(handles, labels, loc="outside right center")
    n = int(sel["n_ok"].max())
    ax.set_title(f"{dataset} · {net} — accuracy: mean and 95% t-interval over {n} seeds\n"
                 f"just below the dashed line, per projection: d_int90 (open marker) on its 95% bootstrap CI (bar)")
    return save_figure(fig, out)


def cost_figure(records: pd.DataFrame, out: str | Path, title: str = "") -> list[Path]:
    """Time per training step and memory of the reparameterization against d, direct training as reference."""
    rec = records[~records.get("skipped", False).astype(bool)] if "skipped" in records else records
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9.0, 3.0), layout="constrained")
    direct = rec[rec["reparam"] == "direct"]
    for _, g in rec[rec["reparam"] == "subspace"].groupby("projection"):
        g = g.sort_values("d")
        proj = g["projection"].iloc[0]
        style = _PROJECTION_STYLE.get(proj, {"color": "gray", "marker": "o"})
        ax_t.plot(g["d"], 1e3 * g["step_s_median"], label=proj, lw=1.3, ms=3.5, **style)
        ax_t.fill_between(g["d"], 1e3 * g["step_s_min"], 1e3 * g["step_s_max"], color=style["color"], alpha=0.15, lw=0)
        ax_m.plot(g["d"], g["state_bytes"] / 2**20, label=proj, lw=1.3, ms=3.5, **style)
    if not direct.empty:
        r = direct.iloc[0]
        ax_t.axhline(1e3 * r["step_s_median"], color="black", lw=1.2, label=f"direct (D = {int(r['D']):,})")
        ax_t.axhline(3e3 * r["step_s_median"], color="black", lw=0.8, ls=":", label="3 × direct")
        ax_m.axhline(r["state_bytes"] / 2**20, color="black", lw=1.2, label="direct")
    ax_t.set(xscale="log", yscale="log", xlabel="subspace dimension d", ylabel="time per training step (ms)")
    ax_m.set(xscale="log", yscale="log", xlabel="subspace dimension d", ylabel="state memory (MiB)")
    plain_log_ticks(ax_t)
    handles, labels = ax_t.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center")
    if title:
        fig.suptitle(title, fontsize=8)
    return save_figure(fig, out)

