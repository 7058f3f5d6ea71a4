"""The feedback family's figures and tables, listed once (:class:`~weightspace.artifacts.Artifact`).

Each entry's function reads what it shows from the experiment's tables (``instance.table``) and draws it with
:mod:`~weightspace.families.feedback.plots` or writes it with :mod:`~weightspace.families.feedback.tables`.
Torch-free; a function imports what it draws with.
"""

from __future__ import annotations

from weightspace.artifacts import Artifact, Instance
from weightspace.tables import write_table

__all__ = ["ARTIFACTS"]


def _table(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.feedback.tables import feedback_latex

    return [write_table(i.out, feedback_latex(i.table("feedback_summary.csv")))]


def _vs_baseline(i: Instance):
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.families.feedback.plots import feedback_figure

    return feedback_figure(i.table("curves.csv"), i.table("feedback_summary.csv"), i.table("feedback_paired.csv"),
                           i.dataset, i.out, f"{i.experiment} · {i.dataset}")


ARTIFACTS = (
    Artifact("table", "table", (), ("feedback_summary.csv",), _table, "table_feedback.rst", "tables",
             file="feedback"),
    Artifact("vs_baseline", "figure", ("dataset",), ("curves.csv", "feedback_summary.csv", "feedback_paired.csv"),
             _vs_baseline, "feedback_vs_baseline.rst", "feedback vs. baseline", file="feedback"),
)
