"""The shared figure writer (weightspace.plots.save_figure): both files, cropped to the content, drawn once each."""

from __future__ import annotations

from matplotlib.figure import Figure
from PIL import Image

from weightspace.plots import plt, save_figure


def _figure():
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 2.5), layout="constrained")
    a.plot([1, 2, 3], label="a long legend entry placed outside the axes")
    b.plot([3, 2, 1])
    a.legend(loc="upper left", bbox_to_anchor=(0.0, -0.25))  # sticks out below the figure's own area
    fig.suptitle("a title")
    return fig


def test_both_files_are_written_cropped_like_a_tight_savefig(tmp_path):
    reference = _figure()
    reference.savefig(tmp_path / "ref.png", bbox_inches="tight")
    plt.close(reference)
    paths = save_figure(_figure(), tmp_path / "fig")
    assert [p.name for p in paths] == ["fig.pdf", "fig.png"]
    assert paths[0].read_bytes().startswith(b"%PDF")
    new, ref = Image.open(paths[1]).size, Image.open(tmp_path / "ref.png").size
    # the legend outside the axes is kept (a crop to the axes alone would lose a third of the height); the
    # layout itself may move by a few pixels with the dpi it was computed at
    assert all(abs(n - r) <= 0.02 * r for n, r in zip(new, ref)), (new, ref)


def test_a_figure_is_laid_out_once_and_drawn_once_per_file(tmp_path, monkeypatch):
    """savefig(bbox_inches="tight") draws every file twice (once without output, to crop it): 4 draws."""
    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: (draws.append(1), original(self, renderer))[1])
    save_figure(_figure(), tmp_path / "fig")
    assert len(draws) == 3  # the layout, then the PDF and the PNG


def test_a_long_band_draws_a_dozen_markers_and_a_short_one_every_point():
    """Every line takes a marker from the style cycle: on a curve of 200 evaluations that was a smear (the shared
    plot_band draws the subspace and autoencoder curves)."""
    import numpy as np
    import pandas as pd

    from weightspace.plots import CURVE_MARKERS, plot_band

    fig, ax = plt.subplots()
    for n in (200, 10):
        band = pd.DataFrame({"step": np.arange(n), "mean": np.linspace(0, 1, n), "std": 0.1})
        plot_band(ax, band, "step", f"n={n}")
    long, short = ax.get_lines()
    assert long.get_marker() not in ("None", "", None) and long.get_markevery() is not None
    assert len(range(0, 200, long.get_markevery())) <= 2 * CURVE_MARKERS
    assert short.get_markevery() is None
    plt.close(fig)
