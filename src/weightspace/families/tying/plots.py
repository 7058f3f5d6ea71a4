"""Figures of the tying family.

1. :func:`params_figure` - final test accuracy (or MSE) against trainable parameters per method: tied (one line
   per gradient semantics, a point per g), the narrower untied net of the same parameter count, the untied net;
   one panel per setting (e.g. optimizer and learning rate).
2. :func:`curves_figure` - sum vs mean: test accuracy and training loss over training for each g, solid for sum
   and dashed for mean, the untied net in black; one column per setting.
3. :func:`mse_figure` - an autoencoder's test reconstruction MSE per epoch, tied vs untied, mean +- std band.
4. :func:`recon_figure` - the same test images (one per class) and each model's reconstructions (one seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from weightspace.formatting import conventions_of_rows, format_value, with_setting
from weightspace.errors import WeightspaceError
from weightspace.families.tying.analysis import AXIS
from weightspace.plots import markevery, mean_band, plain_log_ticks, plot_band, plt, save_figure

__all__ = ["params_figure", "curves_figure", "mse_figure", "recon_figure"]

_SUM = {"color": "#1f77b4", "marker": "o", "ls": "-"}
_MEAN = {"color": "#2ca02c", "marker": "^", "ls": "--"}
_NARROW = {"color": "#d95f02", "marker": "s", "ls": "-."}



def _shared_legend(fig, axes) -> None:
    """One legend for the figure: every label of ``axes`` once, in the order first drawn."""
    handles: dict = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="outside right center")

def _count(x, _=None) -> str:
    """A parameter count on an axis: 850, 12k, 1.2M."""
    if x >= 1e6:
        return f"{x / 1e6:g}M"
    if x >= 1e3:
        return f"{x / 1e3:g}k"
    return f"{x:g}"


def _thousands(n) -> str:
    return f"{int(n):,}"


def _log_counts(counts) -> bool:
    """Whether parameter counts span a decade or more (then a log axis)."""
    counts = np.asarray(counts, dtype=float)
    return bool(counts.size) and counts.max() / counts.min() >= 10


def _dodge(x: pd.Series, counts) -> pd.Series:
    """``x`` moved right by 1.5% of the axis (a factor on a log axis), to set overlapping points apart."""
    counts = np.asarray(counts, dtype=float)
    if _log_counts(counts):
        return x * (counts.max() / counts.min()) ** 0.015
    return x + 0.015 * max(counts.max() - counts.min(), 0.2 * counts.max())


def _count_axis(ax, counts) -> None:
    """An x axis of parameter counts with plain labels (12k): linear within a decade, else logarithmic."""
    if _log_counts(counts):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: _count(x) if f"{x:.0e}"[0] in "25" else ""))
    ax.xaxis.set_major_formatter(FuncFormatter(_count))


def _pair(df: pd.DataFrame, dataset: str, net: str, what: str) -> pd.DataFrame:
    sel = df[(df["dataset"] == dataset) & (df["net"] == net)]
    if sel.empty:
        raise WeightspaceError(f"no cells for {dataset} / {net} in the {what}")
    return sel


def _grad(df: pd.DataFrame) -> pd.Series:
    """The gradient semantics of each row: its ``grad`` value, ``sum`` (the default) for a tying row without one."""
    g = df["grad"] if "grad" in df else pd.Series(np.nan, index=df.index)
    return g.where(g.notna(), np.where(df["reparam"] == "tying", "sum", ""))


def _yerr(g: pd.DataFrame, y: str) -> np.ndarray:
    mean, lo, hi = (g[f"{y}_{k}"].to_numpy(dtype=float) for k in ("mean", "lo", "hi"))
    err = np.vstack([mean - lo, hi - mean])
    return np.where(np.isfinite(err), err, 0.0)


def params_figure(summary: pd.DataFrame, dataset: str, net: str, out: str | Path) -> list[Path]:
    """Final test accuracy (classification) or test MSE against trainable parameters per seed, per method."""
    sel = _pair(summary, dataset, net, "tying summary")
    sel = sel.assign(setting=sel["setting"].fillna("") if "setting" in sel else "", grad=_grad(sel))
    regression = sel["final_test_acc_mean"].isna().all()
    y = "final_test_loss" if regression else "final_test_acc"
    settings = sorted(sel["setting"].unique())
    fig, axes = plt.subplots(1, len(settings), figsize=(4.3 * len(settings) + 1.9, 3.4), layout="constrained",
                             sharey=True, squeeze=False)
    for ax, setting in zip(axes[0], settings):
        s = sel[sel["setting"] == setting]
        direct = s[s["reparam"] == "direct"]
        for i in range(len(direct)):
            r = direct.iloc[i : i + 1]
            ax.errorbar(r["n_trainable"], r[f"{y}_mean"], yerr=_yerr(r, y), color="black", marker="*", ms=10,
                        capsize=2, ls="none", label=f"untied{_div(r['n_diverged'].iloc[0])}")
            ax.axhline(r[f"{y}_mean"].iloc[0], color="black", lw=0.7, ls=":")
        nar = s[s["reparam"] == "narrow"].sort_values("n_trainable")
        if not nar.empty:
            ax.errorbar(nar["n_trainable"], nar[f"{y}_mean"], yerr=_yerr(nar, y), ms=5, lw=1.2, capsize=2,
                        label="narrower untied, same count" + _div(nar["n_diverged"].sum()), **_NARROW)
        tied = s[s["reparam"] == "tying"]
        groups = tied.groupby(["tie", "grad"]) if not tied.empty else []
        for (tie, grad), t in sorted(groups, key=lambda kv: (kv[0][0], kv[0][1] != "sum")):
            t = t.sort_values("n_trainable")
            style = _MEAN if grad == "mean" else _SUM
            # the mean is drawn slightly to the right: under Adam it lies on top of the sum
            x = _dodge(t["n_trainable"], s["n_trainable"]) if grad == "mean" else t["n_trainable"]
            label = f"tied {tie}, grad {grad}" + (" (drawn offset to the right)" if grad == "mean" else "")
            ax.errorbar(x, t[f"{y}_mean"], yerr=_yerr(t, y), ms=5, lw=1.2, capsize=2,
                        label=label + _div(t["n_diverged"].sum()), **style)
            if grad == "sum" or "sum" not in set(tied["grad"]):
                for _, r in t.iterrows():
                    if pd.notna(r.get("g")):
                        ax.annotate(f"g={format_value(r['g'])}", (r["n_trainable"], r[f"{y}_mean"]),
                                    textcoords="offset points", xytext=(-4, 4), ha="right", fontsize=6.5,
                                    color=style["color"])
        _count_axis(ax, s["n_trainable"])
        ax.set_xlabel("trainable parameters per seed")
        ax.set_title(setting or "", fontsize=8)
        if regression:
            ax.set_yscale("log")
            plain_log_ticks(ax)
    axes[0][0].set_ylabel("final test MSE" if regression else "final test accuracy")
    _shared_legend(fig, axes[0])
    n = int(sel["n_ok"].max())
    fig.suptitle(f"{dataset} · {net} — final test {'MSE' if regression else 'accuracy'}: mean and 95% "
                 f"t-interval over {n} seeds", fontsize=9)
    return save_figure(fig, out)


def _div(n) -> str:
    n = 0 if n is None or (isinstance(n, float) and np.isnan(n)) else int(n)
    return f" [{n} diverged]" if n else ""


def curves_figure(curves: pd.DataFrame, dataset: str, net: str, out: str | Path) -> list[Path]:
    """Test accuracy (or loss) and training loss per epoch: each g of the tied variants, sum solid and mean
    dashed, the untied net black; mean +- std over finished seeds; one column per setting."""
    sel = _pair(curves, dataset, net, "curves table")
    sel = with_setting(sel, axis=AXIS)
    sel = sel.assign(grad=_grad(sel))
    sel = sel[sel["reparam"].isin(["tying", "direct"])]
    if not (sel["reparam"] == "tying").any():
        raise WeightspaceError(f"no tied runs for {dataset} / {net} in the curves table")
    regression = sel["test_acc"].isna().all()
    top = "test_loss" if regression else "test_acc"
    settings = sorted(sel["setting"].unique())
    fig, axes = plt.subplots(2, len(settings), figsize=(3.9 * len(settings) + 2.2, 5.4), layout="constrained",
                             squeeze=False, sharex=True)
    tied = sel[sel["reparam"] == "tying"]
    gs = sorted({float(v) for v in tied["g"].dropna()}) if "g" in tied else []
    if (sel["reparam"] == "direct").any():
        gs = [g for g in gs if g != 1]  # g = 1 is the untied run (not drawn twice)
    cmap = plt.get_cmap("viridis")
    color = {g: cmap(0.12 + 0.73 * i / max(1, len(gs) - 1)) for i, g in enumerate(gs)}  # none near black
    n_seeds = sel["seed"].nunique()
    for j, setting in enumerate(settings):
        a_top, a_loss = axes[0][j], axes[1][j]
        s = sel[sel["setting"] == setting]
        has_untied = (s["reparam"] == "direct").any()
        for cell, c in sorted(s.groupby("cell", sort=False), key=lambda kv: _curve_order(kv[1].iloc[0])):
            first = c.iloc[0]
            gv = float(first["g"]) if "g" in c and pd.notna(first.get("g")) else None
            if first["reparam"] == "tying" and gv == 1 and has_untied:
                continue  # g = 1 ties nothing: the untied net's run, drawn once
            ok = c[c["status"] == "ok"]
            n_div = c.loc[c["status"] != "ok", "seed"].nunique()
            if first["reparam"] == "direct":
                style = {"color": "black", "ls": "-", "lw": 1.2}
                label = "untied" + (" (= tied, g=1)" if "g" in s and (s["g"] == 1).any() else "")
            else:
                # sum: wide and pale; mean: thin and dashed on top (under Adam the two coincide)
                style = {"color": color.get(gv, "tab:blue")}
                style.update({"ls": "--", "lw": 1.2} if first["grad"] == "mean" else {"ls": "-", "lw": 2.6,
                                                                                          "alpha": 0.55})
                label = f"tied {first['tie']}" + (f", g={format_value(gv)}" if gv is not None else "")
                label += f", {first['grad']}"
            label += _div(n_div)
            if ok.empty:
                a_top.plot([], [], label=label + " (every seed diverged)", **style)
                continue
            _line_band(a_top, mean_band(ok, "epoch", top), label, style)
            _line_band(a_loss, mean_band(ok[ok["step"] > 0], "epoch", "train_loss"), label, style)
        a_top.set_title(setting or "", fontsize=8)
        a_loss.set_xlabel("epoch")
        a_loss.set_yscale("log")
        plain_log_ticks(a_loss)
    axes[0][0].set_ylabel("test MSE" if regression else "test accuracy")
    axes[1][0].set_ylabel("training loss")
    if not regression:  # from the lowest accuracy after the first epoch: where the curves part
        later = sel[(sel["status"] == "ok") & (sel["epoch"] >= 1)]["test_acc"].to_numpy(dtype=float)
        lo = float(np.nanmin(later)) if later.size else 0.0
        for ax in axes[0]:
            ax.set_ylim(max(0.0, lo - 0.01), 1.0)
    _shared_legend(fig, axes[0])
    fig.suptitle(f"{dataset} · {net} — the gradient of a tied tensor: the sum (solid) or the mean (dashed)\n"
                 f"of its members' gradients; mean ± std over {n_seeds} seeds", fontsize=9)
    return save_figure(fig, out)


def _curve_order(first) -> tuple:
    """Untied first, then by g, the sum before the mean (so the mean's thin dashes are drawn on top)."""
    g = first.get("g")
    return (first["reparam"] != "direct", float(g) if pd.notna(g) else 0.0, first.get("grad") == "mean")


def _line_band(ax, band: pd.DataFrame, label: str, style: dict) -> None:
    ax.plot(band["epoch"], band["mean"], label=label, markevery=markevery(len(band)), **style)
    ax.fill_between(band["epoch"], band["mean"] - band["std"], band["mean"] + band["std"], color=style["color"],
                    alpha=0.12, lw=0)


def mse_figure(curves: pd.DataFrame, dataset: str, net: str, out: str | Path) -> list[Path]:
    """Test reconstruction MSE per epoch for each cell (tied, untied), mean +- std over finished seeds, the
    training MSE (the mean over the steps since the last evaluation) thin and dotted; left the whole run
    (log scale), right its second half (linear scale), where the curves part."""
    sel = with_setting(_pair(curves, dataset, net, "curves table"), axis=())
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(9.6, 3.4), layout="constrained")
    palette = plt.get_cmap("tab10").colors
    n_seeds = sel["seed"].nunique()
    half = sel["epoch"].max() / 2
    for i, (cell, c) in enumerate(sel.groupby("cell", sort=False)):
        first = c.iloc[0]
        ok = c[c["status"] == "ok"]
        color = palette[i % len(palette)]
        label = f"{first['variant']}" + (f" ({first['setting']})" if first["setting"] else "")
        label += f": {_thousands(first['n_trainable'])} trained" + _div(c.loc[c["status"] != "ok", "seed"].nunique())
        if ok.empty:
            ax.plot([], [], color=color, label=label + " (every seed diverged)")
            continue
        test = mean_band(ok, "epoch", "test_loss")
        train_ = mean_band(ok[ok["step"] > 0], "epoch", "train_loss")
        for a, t, tr in ((ax, test, train_), (zoom, test[test["epoch"] >= half], train_[train_["epoch"] >= half])):
            plot_band(a, t, "epoch", label + ", test", color=color)
            a.plot(tr["epoch"], tr["mean"], color=color, lw=0.9, ls=":", label=label + ", training",
                   markevery=markevery(len(tr)))
    ax.set(xlabel="epoch", ylabel="reconstruction MSE per pixel", yscale="log", title="whole run")
    plain_log_ticks(ax)
    zoom.set(xlabel="epoch", title="second half")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center")
    conventions = conventions_of_rows(sel)  # the MSE is against the pixels in [0, 1] whatever the inputs' scaling
    fig.suptitle(f"{dataset} · {net} — reconstruction error against the pixels in [0, 1], mean ± std over "
                 f"{n_seeds} seeds" + (f"\n{conventions}" if conventions else ""), fontsize=9)
    return save_figure(fig, out)


def recon_figure(npzs: dict[str, str | Path], title: str, out: str | Path) -> list[Path]:
    """The test images (top row) and each model's reconstructions of them (one row per model, the same seed)."""
    if not npzs:
        raise WeightspaceError("no reconstructions to draw")
    data = {label: np.load(p) for label, p in npzs.items()}
    first = next(iter(data.values()))
    images = first["images"]
    if images.size == 0:
        raise WeightspaceError(f"{next(iter(npzs.values()))} holds no reconstructions: the net is not an autoencoder")
    for label, d in data.items():
        if not np.array_equal(d["images"], images):
            raise WeightspaceError(f"the runs show different test images ({label}); compare runs of one dataset")
    n = images.shape[0]
    rows = [("test image", images, None)]
    for label, d in data.items():
        mse = float(((d["recon"] - images) ** 2).mean())
        rows.append((label, d["recon"], mse))
    fig, axes = plt.subplots(len(rows), n, figsize=(0.75 * n + 1.4, 0.8 * len(rows) + 0.5), squeeze=False,
                             layout="constrained")
    for i, (label, imgs, mse) in enumerate(rows):
        for j in range(n):
            ax = axes[i][j]
            img = imgs[j]
            if img.shape[0] == 1:
                ax.imshow(img[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(np.clip(np.moveaxis(img, 0, -1), 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_visible(False)
        text = label if mse is None else f"{label}\nMSE {mse:.4f}"
        axes[i][0].set_ylabel(text, rotation=0, ha="right", va="center", fontsize=7.5)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, out)
