"""Tying: rows, groups and whole tensors of a net share one trainable tensor; the tied autoencoder.

=================  ============================================================================
``ties.py``        the tie map of a variant (rows / columns in groups of g, whole tensors, transposes),
                   its trainable count and memory, the narrower reference's widths (torch-free)
``reparam.py``     :class:`Tying` (gradient ``sum`` or ``mean``), :class:`Narrow` (the untied net of
                   the same parameter count), :class:`ScaleGrad`
``nets.py``        the ``autoencoder`` architecture (decoder weights shaped as the encoder's transposes)
``analysis.py``    ``tying_summary.csv`` from ``final.csv``
``tables.py``      ``tying.tex``
``plots.py``       accuracy vs trainable parameters, sum vs mean curves, reconstruction error over
                   training, reconstructed test images
``artifacts.py``   its figures and table, listed once (``weightspace make tying.<name>``)
``schema.yaml``    the ``tying`` and ``narrow`` variant options, the ``autoencoder`` net
=================  ============================================================================

Every run of a tying experiment leaves ``tying.npz`` beside its metrics: for an autoencoder, a few test images
(one per class) and the run's reconstructions of them; for any net, the group index of each tied row or
column. This module imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from weightspace.families.base import Family
from weightspace.families.tying.artifacts import ARTIFACTS
from weightspace.families.tying.examine import examine_run
from weightspace.families.tying import ties
from weightspace.families.tying.nets import autoencoder_spec
from weightspace.headlines import read_table
from weightspace.io import write_dataframe
from weightspace.registry import ArchSpec, ReparamSpec

__all__ = ["FAMILY", "TyingFamily"]

_MODULE = "weightspace.families.tying.reparam"

#: the images ``examine`` keeps of an autoencoder run (one per class, at most this many)
N_IMAGES = 10


class TyingFamily(Family):
    """Tied vs untied nets: accuracy (or reconstruction error) against trainable parameters, sum vs mean."""

    def default_comparisons(self, exp: dict) -> list[dict]:
        """Tied and narrow nets against the untied (direct) ones, and tied against narrow (the same trainable
        count); pairs match on the keys both sweep (g) and on every training setting that differs (optimizer,
        learning rate, ..., swept or set per variant), so only like is compared."""
        tied = [v["name"] for v in exp["variants"] if v["reparam"] == "tying"]
        narrow = [v["name"] for v in exp["variants"] if v["reparam"] == "narrow"]
        return super().default_comparisons(exp) + [{"a": t, "b": n} for t in tied for n in narrow]

    def artifacts(self):
        return ARTIFACTS

    def examine(self, reparam, data) -> list[tuple[dict, dict]]:
        return examine_run(reparam, data, N_IMAGES)

    def analyze(self, final, analysis: dict, out_dir: Path) -> list[Path]:
        from weightspace.families.tying.analysis import tying_summary  # deferred: pandas

        write_dataframe(out_dir / "tying_summary.csv", tying_summary(final))
        return [out_dir / "tying_summary.csv"]

    def headline(self, folder: Path) -> list[str]:
        """Tied vs untied (and the narrower untied net), each at its fewest trainable weights (``tying_summary.csv``)."""
        from weightspace.families.tying.analysis import headline  # deferred: pandas

        return headline(read_table(folder, "tying_summary.csv"))


FAMILY = TyingFamily(
    name="tying",
    description="tying rows, groups, whole tensors and transposes (gradient sum or mean); the tied autoencoder",
    reparams=(
        ReparamSpec("tying", f"{_MODULE}:build_tying", ties.tying_bytes, ties.tie_problems),
        ReparamSpec("narrow", f"{_MODULE}:build_narrow", ties.narrow_bytes, ties.narrow_problems),
    ),
    archs=(ArchSpec("autoencoder", autoencoder_spec, "weightspace.families.tying.nets:autoencoder_forward"),),
    run_files=("tying.npz",),
    analysis_files=("tying_summary.csv",),
    metrics={"tie_max_dev": "lower"},
    folder=Path(__file__).parent,
)
