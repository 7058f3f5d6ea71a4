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
``cli.py``         ``plot tying-params | tying-curves | tying-mse | tying-recon``, ``table tying``
``schema.yaml``    the ``tying`` and ``narrow`` variant options, the ``autoencoder`` net
=================  ============================================================================

Every run of a tying experiment leaves ``tying.npz`` beside its metrics: for an autoencoder, a few test images
(one per class) and the run's reconstructions of them; for any net, the group index of each tied row or
column. Rules: ``workflow/rules/tying.smk``. This module imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from weightspace.families.base import CliGroups, Family
from weightspace.families.tying import ties
from weightspace.families.tying.nets import autoencoder_spec
from weightspace.headlines import read_table
from weightspace.io import write_dataframe
from weightspace.netspec import cell_task
from weightspace.registry import ArchSpec, ReparamSpec

__all__ = ["FAMILY", "TyingFamily", "recon_inputs", "recon_labels"]

_MODULE = "weightspace.families.tying.reparam"

#: the images ``examine`` keeps of an autoencoder run (one per class, at most this many)
N_IMAGES = 10


def recon_inputs(cells: dict[str, dict], dataset: str, net: str, runs: Path, seed: int) -> dict[str, str]:
    """``{label: tying.npz of seed}`` of every cell of (dataset, net), in the config's order: the reconstruction
    figure's inputs. A label is the cell's variant and swept values (``tied``, ``tied lr0.01``)."""
    out = {}
    for cid, c in cells.items():
        if c["dataset"] == dataset and c["net"]["name"] == net:
            label = " ".join([c["variant"]["name"], *(f"{k}{v}" for k, v in c.get("swept", {}).items())])
            out[label] = str(runs / cid / f"seed-{seed}" / "tying.npz")
    return out


def recon_labels(cells: dict[str, dict], dataset: str, net: str) -> str:
    """The labels of :func:`recon_inputs`, quoted for a shell command line (``plot tying-recon --label``)."""
    import shlex

    return " ".join(shlex.quote(label) for label in recon_inputs(cells, dataset, net, Path(), 0))


class TyingFamily(Family):
    """Tied vs untied nets: accuracy (or reconstruction error) against trainable parameters, sum vs mean."""

    def default_comparisons(self, exp: dict) -> list[dict]:
        """Tied and narrow nets against the untied (direct) ones, and tied against narrow (the same trainable
        count); pairs match on the keys both sweep (g) and on every training setting that differs (optimizer,
        learning rate, ..., swept or set per variant), so only like is compared."""
        tied = [v["name"] for v in exp["variants"] if v["reparam"] == "tying"]
        narrow = [v["name"] for v in exp["variants"] if v["reparam"] == "narrow"]
        return super().default_comparisons(exp) + [{"a": t, "b": n} for t in tied for n in narrow]

    def outputs(self, experiment: str, cells: dict[str, dict], exp: dict, figures: Path) -> list[str]:
        folder = figures / experiment
        out = [str(folder / "tying.tex")]
        pairs: dict[tuple[str, str], list[dict]] = {}
        for c in cells.values():
            pairs.setdefault((c["dataset"], c["net"]["name"]), []).append(c)
        for (d, n), cs in sorted(pairs.items()):
            if cell_task(cs[0]) == "reconstruction":
                out += [str(folder / f"tying_mse__{d}__{n}.png"), str(folder / f"tying_recon__{d}__{n}.png")]
            else:
                out.append(str(folder / f"tying_params__{d}__{n}.png"))
                if any(c["variant"]["reparam"] == "tying" for c in cs):
                    out.append(str(folder / f"tying_curves__{d}__{n}.png"))
        return out

    def examine(self, reparam, data) -> list[tuple[dict, dict]]:
        from weightspace.families.tying.analysis import examine_run  # deferred: pandas

        return examine_run(reparam, data, N_IMAGES)

    def analyze(self, final, analysis: dict, out_dir: Path) -> list[Path]:
        from weightspace.families.tying.analysis import tying_summary  # deferred: pandas

        write_dataframe(out_dir / "tying_summary.csv", tying_summary(final))
        return [out_dir / "tying_summary.csv"]

    def headline(self, folder: Path) -> list[str]:
        """Tied vs untied (and the narrower untied net), each at its fewest trainable weights (``tying_summary.csv``)."""
        from weightspace.families.tying.analysis import headline  # deferred: pandas

        return headline(read_table(folder, "tying_summary.csv"))

    def add_cli(self, groups: CliGroups) -> None:
        from weightspace.families.tying import cli  # deferred: loaded only to build the CLI

        cli.add(groups)


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
