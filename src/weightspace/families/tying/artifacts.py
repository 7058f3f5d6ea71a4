"""The tying family's figures and tables, listed once (:class:`~weightspace.artifacts.Artifact`).

Each entry's function reads what it shows from the experiment's tables (``instance.table``) or its runs, and
draws it with :mod:`weightspace.families.tying.plots` or writes it with :mod:`weightspace.families.tying.tables`.
Torch-free; a function imports what it draws with.
"""

from __future__ import annotations

from weightspace.artifacts import Artifact, Instance
from weightspace.netspec import cell_task
from weightspace.tables import write_table

__all__ = ["ARTIFACTS", "recon_inputs"]


def recon_inputs(instance: Instance) -> dict[str, str]:
    """``{label: tying.npz of the first seed}`` of every cell of the instance's (dataset, net), in the config's
    order: the reconstruction figure's inputs. A label is the cell's variant and swept values (``tied lr0.01``)."""
    out = {}
    for cid, c in instance.cells.items():
        label = " ".join([c["variant"]["name"], *(f"{k}{v}" for k, v in c.get("swept", {}).items())])
        out[label] = str(instance.run_file(cid, "tying.npz"))
    return out


def _table(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.tying.tables import tying_latex

    return [write_table(i.out, tying_latex(i.table("tying_summary.csv")))]


def _params(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.tying.plots import params_figure

    return params_figure(i.table("tying_summary.csv"), i.dataset, i.net, i.out)


def _curves(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.tying.plots import curves_figure

    return curves_figure(i.table("curves.csv"), i.dataset, i.net, i.out)


def _mse(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.tying.plots import mse_figure

    return mse_figure(i.table("curves.csv"), i.dataset, i.net, i.out)


def _recon(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.tying.plots import recon_figure

    return recon_figure(recon_inputs(i), f"{i.dataset} · {i.net}: test images and reconstructions "
                                         f"(seed {i.first_seed})", i.out)


def _reconstruction(exp: dict, cells: dict) -> bool:
    return cell_task(next(iter(cells.values()))) == "reconstruction"


def _classification(exp: dict, cells: dict) -> bool:
    return not _reconstruction(exp, cells)


def _tied_classification(exp: dict, cells: dict) -> bool:
    return _classification(exp, cells) and any(c["variant"]["reparam"] == "tying" for c in cells.values())


_PAIR = ("dataset", "net")

ARTIFACTS = (
    Artifact("table", "table", (), ("tying_summary.csv",), _table, "table_tying.rst", "tables", file="tying"),
    Artifact("params", "figure", _PAIR, ("tying_summary.csv",), _params, "tying_params.rst",
             "accuracy vs trainable parameters", file="tying_params", when=_classification),
    Artifact("curves", "figure", _PAIR, ("curves.csv",), _curves, "tying_curves.rst", "sum vs mean",
             file="tying_curves", when=_tied_classification),
    Artifact("mse", "figure", _PAIR, ("curves.csv",), _mse, "tying_mse.rst", "reconstruction error",
             file="tying_mse", when=_reconstruction),
    Artifact("recon", "figure", _PAIR, (), _recon, "tying_recon.rst", "reconstructions", file="tying_recon",
             when=_reconstruction),
)
