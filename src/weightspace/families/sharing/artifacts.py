"""The sharing family's figures and tables, listed once (:class:`~weightspace.artifacts.Artifact`).

Each entry's function reads what it shows from the experiment's tables (``instance.table``) or a run's
``structure.npz``, and draws it with :mod:`~weightspace.families.sharing.plots` or
:mod:`~weightspace.families.sharing.sweep_plots`. Torch-free; a function imports what it draws with.
"""

from __future__ import annotations

import re

from weightspace import registry
from weightspace.artifacts import Artifact, Instance
from weightspace.data import cell_info
from weightspace.tables import write_table

__all__ = ["ARTIFACTS", "sweep_key"]

#: the reparameterizations that learn an assignment (their maps on an image grid are drawn)
_ASSIGNING = ("sharing", "kmeans")


def _teacher(cell: dict) -> bool:
    return cell_info(cell).structure is not None


def _table(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.tables import structure_latex

    return [write_table(i.out, structure_latex(i.table("sharing_summary.csv")))]


def _structure(i: Instance):
    import numpy as np

    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.plots import structure_figure

    npz = i.run_file(i.cell, "structure.npz")
    with np.load(npz) as d:
        groups = d["groups"] if "groups" in d else None  # the truth, saved beside the run since issue 16
    if groups is None:
        groups = cell_info(i.cells[i.cell]).groups()
    return structure_figure(npz, groups, f"{i.cell} (seed {i.first_seed})", i.out)


def _maps(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.plots import assignment_maps_figure

    return assignment_maps_figure(i.run_file(i.cell, "structure.npz"), cell_info(i.cells[i.cell]).input_shape,
                                  f"{i.cell} (seed {i.first_seed}): value index of each input weight, per hidden unit",
                                  i.out)


def _tradeoff(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.plots import tradeoff_figure

    return tradeoff_figure(i.table("sharing_summary.csv"), i.dataset, i.net, i.out)


def _dynamics(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.plots import dynamics_figure

    return dynamics_figure(i.table("curves.csv"), i.dataset, i.net, i.variant, i.out)


def _sweep(i: Instance):
    import math

    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.sweep_plots import sweep_figure

    # inputs per output of the teacher (marked: below it, a directly trained row is underdetermined)
    inputs = math.prod(cell_info(next(iter(i.cells.values()))).input_shape)
    return sweep_figure(i.table("sharing_summary.csv"), i.teacher, i.net, i.out, inputs)


def _meta(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.sweep_plots import meta_figure

    return meta_figure(i.table("meta_summary.csv"), i.out,
                       f"{i.experiment}: meta-learned sharing on {i.exp['meta']['teacher']}")


def _budget(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.sharing.sweep_plots import budget_figure

    return budget_figure(i.table("sharing_summary.csv"), i.dataset, i.net, i.out)


def sweep_key(cid: str, cell: dict) -> tuple[str, str] | None:
    """(teacher, net) of a cell on a sample-size sweep's dataset ``<teacher>-n<N>``; None for any other."""
    m = re.fullmatch(r"(.+)-n(\d+)", cell["dataset"])
    return (m.group(1), cell["net"]["name"]) if m else None


def _swept(exp: dict, cells: dict) -> bool:
    """A teacher at two or more sample sizes."""
    return len({c["dataset"] for c in cells.values()}) > 1


def _structure_applies(exp: dict, cells: dict) -> bool:
    (c,) = cells.values()
    return exp.get("structure_figures", True) and _teacher(c) and registry.family_of(c["variant"]["reparam"]) == "sharing"


def _maps_apply(exp: dict, cells: dict) -> bool:
    (c,) = cells.values()
    return not _teacher(c) and c["variant"]["reparam"] in _ASSIGNING


def _per_dataset(exp: dict, cells: dict) -> bool:
    return exp.get("per_dataset_figures", True)


def _learned(exp: dict, cells: dict) -> bool:
    return _per_dataset(exp, cells) and any(c["variant"]["reparam"] == "sharing" for c in cells.values())


def _budgets(exp: dict, cells: dict) -> bool:
    return any("budget" in c["variant"] for c in cells.values())


_SUMMARY = ("sharing_summary.csv",)
_PAIR = ("dataset", "net")

ARTIFACTS = (
    Artifact("table", "table", (), _SUMMARY, _table, "table_structure.rst", "tables", file="structure"),
    Artifact("structure", "figure", ("cell",), (), _structure, "structure.rst", "recovered structure",
             when=_structure_applies),
    Artifact("maps", "figure", ("cell",), (), _maps, "maps.rst", "assignment maps", when=_maps_apply),
    Artifact("tradeoff", "figure", _PAIR, _SUMMARY, _tradeoff, "tradeoff.rst", "accuracy vs unique values",
             when=_per_dataset),
    Artifact("dynamics", "figure", ("dataset", "net", "variant"), ("curves.csv",), _dynamics, "dynamics.rst",
             "entropy and values used", when=_learned),
    Artifact("sweep", "figure", ("teacher", "net"), _SUMMARY, _sweep, "sweep.rst", "sample-size sweep",
             when=_swept, key=sweep_key),
    Artifact("meta", "figure", (), ("meta_summary.csv",), _meta, "meta.rst", "meta-learned sharing",
             when=lambda exp, cells: bool(exp.get("meta"))),
    Artifact("budget", "figure", _PAIR, _SUMMARY, _budget, "budget.rst", "compression budgets", when=_budgets),
)
