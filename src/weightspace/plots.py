"""Figure helpers every family uses: the house style, PDF + PNG output, mean-and-band curves.

Bands are mean +- one standard deviation over the seeds that finished
(``status == ok``); diverged seeds are counted in the legend, not hidden.
Each family's figures live in ``weightspace.families.<family>.plots``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
import pandas as pd  # noqa: E402

from weightspace.io import atomic_write  # noqa: E402

__all__ = ["CURVE_MARKERS", "markevery", "save_figure", "mean_band", "plot_band", "plain_log_ticks", "plt", "categorical_cmap", "PALETTE"]

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


#: categorical colours (Okabe & Ito 2008: distinguishable with colour-vision deficiency), each with its own
#: line style and marker so that lines stay apart in greyscale print
PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442"]
plt.rcParams["axes.prop_cycle"] = (matplotlib.cycler(color=PALETTE)
                                   + matplotlib.cycler(linestyle=["-", "--", "-.", ":", "-", "--", "-.", ":"])
                                   + matplotlib.cycler(marker=["o", "s", "^", "D", "v", "P", "X", "*"]))
plt.rcParams["lines.markersize"] = 4


def categorical_cmap(n: int):
    """A colour map of ``n`` categories (an index, e.g. a shared value's slot): distinct colours, not a ramp
    (tab20, then tab20b and tab20c: up to 60; beyond, colours repeat)."""
    from matplotlib.colors import ListedColormap

    colours = list(plt.get_cmap("tab20").colors) + list(plt.get_cmap("tab20b").colors) + list(
        plt.get_cmap("tab20c").colors)
    return ListedColormap([colours[i % len(colours)] for i in range(max(n, 1))])


_PLAIN = FuncFormatter(lambda y, _: f"{y:g}")
# minor ticks of a log axis: label only 2x and 5x a power of ten
_PLAIN_MINOR = FuncFormatter(lambda y, _: f"{y:g}" if y > 0 and f"{y:.0e}"[0] in "25" else "")


def plain_log_ticks(ax, axis: str = "y", every_minor: bool = False) -> None:
    """Plain numbers (0.5, 1, 2) instead of 5 x 10^-1 on a log axis; ``every_minor``: label every minor tick (40,
    50, 60, 70: an axis spanning less than a decade has at most one 2x or 5x tick to label)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(_PLAIN)
    target.set_minor_formatter(_PLAIN if every_minor else _PLAIN_MINOR)


#: no creation date in a PDF, the same software tag in both: re-running the workflow gives identical files
_METADATA = {"pdf": {"CreationDate": None, "Creator": "weightspace", "Producer": "matplotlib"},
             "png": {"Software": "weightspace (matplotlib)"}}


def save_figure(fig, out: str | Path) -> list[Path]:
    """Write ``fig`` to ``<out>.pdf`` and ``<out>.png`` (``out`` may carry either suffix), cropped to its content
    plus ``savefig.pad_inches``.

    The figure is laid out (its layout engine, e.g. constrained) and its crop box computed once, at the PNG's dpi
    (as ``savefig(bbox_inches="tight")`` does for the PNG), and both files are drawn from that layout and box:
    ``bbox_inches="tight"`` would lay the figure out again and draw it once more without output for each file
    (twice the drawing work).
    """
    out = Path(out)
    base = out.with_suffix("") if out.suffix in (".pdf", ".png") else out
    dpi = fig.dpi
    fig.set_dpi(plt.rcParams["savefig.dpi"])
    fig.draw_without_rendering()  # runs the layout engine
    fig.set_layout_engine(None)  # the axes keep the positions it gave them
    box = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    fig.set_dpi(dpi)
    paths = []
    for ext in ("pdf", "png"):
        path = base.with_name(base.name + f".{ext}")
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format=ext, bbox_inches=box, metadata=_METADATA[ext])
        paths.append(path)
    plt.close(fig)
    return paths


def mean_band(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Mean, std and count of ``y`` over seeds at each ``x`` (rows with a finite ``y`` only)."""
    d = df[np.isfinite(df[y])]
    g = d.groupby(x)[y]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "n": g.count()}).reset_index()


#: at most about this many markers on a curve: a marker at each of 200 evaluations (every line takes one from the
#: style cycle above) draws a thick smear that hides the line style
CURVE_MARKERS = 12


def markevery(n_points: int) -> int | None:
    """Every how many points a curve of ``n_points`` draws its marker (None: every point, on a short curve)."""
    return max(1, n_points // CURVE_MARKERS) if n_points > 2 * CURVE_MARKERS else None


def plot_band(ax, band: pd.DataFrame, x: str, label: str, **style):
    ax.plot(band[x], band["mean"], label=label, lw=1.4, markevery=markevery(len(band)), **style)
    ax.fill_between(band[x], band["mean"] - band["std"], band["mean"] + band["std"], alpha=0.18, lw=0, color=style.get("color"))
