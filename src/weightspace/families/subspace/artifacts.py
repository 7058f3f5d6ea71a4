"""The subspace family's figures and tables, listed once (:class:`~weightspace.artifacts.Artifact`).

Each entry's function reads what it shows from the experiment's tables (``instance.table``) and draws it with
:mod:`~weightspace.families.subspace.plots` or writes it with :mod:`~weightspace.families.subspace.tables`.
Torch-free; a function imports what it draws with.
"""

from __future__ import annotations

from weightspace.artifacts import Artifact, Instance
from weightspace.io import read_json
from weightspace.tables import write_table

__all__ = ["ARTIFACTS", "published"]


def published(exp: dict) -> dict[tuple[str, str], tuple[float, str, str]]:
    """The published d_int90 values the experiment's ``analysis.published`` lists, by (dataset, net): (value,
    source, convention: ``absolute``, as Li et al. 2018, or ``relative``)."""
    return {(p["dataset"], p["net"]): (float(p["value"]), p.get("source", ""), p.get("threshold", "absolute"))
            for p in exp.get("analysis", {}).get("published", [])}


def _dint(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.subspace.tables import dint_latex

    return [write_table(i.out, dint_latex(i.table("dint90.csv"), published(i.exp)))]


def _accuracy(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.subspace.tables import accuracy_latex

    return [write_table(i.out, accuracy_latex(i.table("by_dim.csv")))]


def _curves(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.subspace.plots import curves_figure

    return curves_figure(i.table("curves.csv"), i.dataset, i.net, i.variant, i.out)


def _accuracy_vs_d(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.subspace.plots import accuracy_vs_d_figure

    return accuracy_vs_d_figure(i.table("by_dim.csv"), i.table("dint90.csv"), i.dataset, i.net, i.out)


def _cost(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.subspace.plots import cost_figure

    title = ""
    meta = i.results / "cost.json"  # the benchmark's settings and machine, written beside cost.csv
    if meta.exists():
        m = read_json(meta)
        p = m.get("provenance", {})
        title = (
            f"{m.get('dataset')} · {m.get('net', {}).get('name', '')}: {m.get('seeds')} seed(s), batch "
            f"{m.get('batch_size')}, on {p.get('device_name', p.get('device', '?'))}"
            + (f", {p['cpu_threads']} thread(s)" if p.get("device") == "cpu" and p.get("cpu_threads") else "")
            + f" (torch {p.get('torch', '?')}); bands: min-max of {m.get('repeats')} repeats"
        )
    return cost_figure(i.table("cost.csv"), i.out, title)


def _trains_subspace(exp: dict, cells: dict) -> bool:
    return any(c["variant"]["reparam"] == "subspace" for c in cells.values())


ARTIFACTS = (
    Artifact("dint90", "table", (), ("dint90.csv",), _dint, "table_dint90.rst", "tables"),
    Artifact("accuracy_by_d", "table", (), ("by_dim.csv",), _accuracy, "table_accuracy_by_d.rst", "tables"),
    Artifact("curves", "figure", ("dataset", "net", "variant"), ("curves.csv",), _curves, "curves.rst",
             "training curves", when=_trains_subspace),
    Artifact("accuracy_vs_d", "figure", ("dataset", "net"), ("by_dim.csv", "dint90.csv"), _accuracy_vs_d,
             "accuracy_vs_d.rst", "accuracy vs d", when=_trains_subspace),
    # cost.csv (and cost.json beside it) come from the cost benchmark's job (bench_cost, subspace.smk)
    Artifact("cost", "figure", (), ("cost.csv",), _cost, "cost.rst", "cost",
             when=lambda exp, cells: bool(exp.get("cost"))),
)
