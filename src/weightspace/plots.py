"""Paper figures from the tidy tables. Every figure is written as PDF and PNG.

Bands are mean +- one standard deviation over the seeds that finished
(``status == ok``); diverged seeds are counted in the legend, not hidden.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from weightspace.errors import WeightspaceError  # noqa: E402
from weightspace.io import atomic_write  # noqa: E402

__all__ = ["save_figure", "curves_figure", "mean_band"]

plt.rcParams.update(
    {
        "figure.dpi": 100,
        "savefig.dpi": 200,
        "font.size": 9,
        "axes.titlesize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "legend.fontsize": 7.5,
    }
)


def save_figure(fig, out: str | Path) -> list[Path]:
    """Write ``fig`` to ``<out>.pdf`` and ``<out>.png`` (``out`` may carry either suffix)."""
    out = Path(out)
    base = out.with_suffix("") if out.suffix in (".pdf", ".png") else out
    paths = []
    for ext in ("pdf", "png"):
        path = base.with_name(base.name + f".{ext}")
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format=ext, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def mean_band(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Mean, std and count of ``y`` over seeds at each ``x`` (rows with a finite ``y`` only)."""
    d = df[np.isfinite(df[y])]
    g = d.groupby(x)[y]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "n": g.count()}).reset_index()


def _plot_band(ax, band: pd.DataFrame, x: str, label: str, **style):
    ax.plot(band[x], band["mean"], label=label, lw=1.4, **style)
    ax.fill_between(band[x], band["mean"] - band["std"], band["mean"] + band["std"], alpha=0.18, lw=0, color=style.get("color"))


def curves_figure(curves: pd.DataFrame, dataset: str, net: str, variant: str, out: str | Path) -> list[Path]:
    """Test accuracy and training loss vs training step, one curve per subspace dimension.

    The full-space baseline (the experiment's direct variants) is drawn in black.
    """
    sel = curves[(curves["dataset"] == dataset) & (curves["net"] == net)]
    sub = sel[sel["variant"] == variant]
    base = sel[sel["reparam"] == "direct"]
    if sub.empty:
        raise WeightspaceError(f"no runs of variant {variant!r} for {dataset} / {net} in the curves table")
    dims = sorted(sub["dim"].unique())
    cmap = plt.get_cmap("viridis")
    colors = {d: cmap(i / max(1, len(dims) - 1) * 0.9) for i, d in enumerate(dims)}
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(7.6, 3.0), constrained_layout=True)
    n_seeds = sub["seed"].nunique()
    groups = [(d, sub[sub["dim"] == d], f"d = {d:,}", {"color": colors[d]}) for d in dims]
    for name, g in base.groupby("variant"):
        D = int(g["n_weights"].iloc[0])
        groups.append((None, g, f"full space ({name}, D = {D:,})", {"color": "black", "ls": "--"}))
    for _, g, label, style in groups:
        ok = g[g["status"] == "ok"]
        n_div = g.loc[g["status"] != "ok", "seed"].nunique()
        if n_div:
            label += f"  [{n_div} diverged]"
        if ok.empty:
            continue
        _plot_band(ax_acc, mean_band(ok, "step", "test_acc"), "step", label, **style)
        _plot_band(ax_loss, mean_band(ok[ok["step"] > 0], "step", "train_loss"), "step", label, **style)
    ax_acc.set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1))
    ax_loss.set(xlabel="training step", ylabel="training loss", yscale="log")
    ax_loss.legend(loc="upper right", ncols=1)
    proj = sub["projection"].iloc[0] if "projection" in sub else variant
    fig.suptitle(
        f"{dataset} · {net} · {proj} projection — mean ± std over {n_seeds} seed{'s' if n_seeds != 1 else ''}",
        fontsize=9,
    )
    return save_figure(fig, out)
