"""The feedback family's commands: ``plot feedback``, ``table feedback``."""

from __future__ import annotations

import sys

from weightspace.families.base import CliGroups

__all__ = ["add"]


def plot_feedback(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.feedback.plots import feedback_figure

    paths = feedback_figure(pd.read_csv(args.curves), pd.read_csv(args.summary), pd.read_csv(args.paired),
                            args.dataset, args.out, args.title or "")
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)


def table_feedback(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.feedback.tables import feedback_latex
    from weightspace.tables import write_table

    write_table(args.out, feedback_latex(pd.read_csv(args.input)))
    print(f"wrote {args.out}", file=sys.stderr)


def add(groups: CliGroups) -> None:
    f = groups.plot.add_parser("feedback", help="feedback: accuracy per epoch per variant, paired differences "
                                                "from the none and ones controls")
    f.add_argument("--curves", required=True, help="curves.csv from `weightspace aggregate`")
    f.add_argument("--summary", required=True, help="feedback_summary.csv from `weightspace analyze`")
    f.add_argument("--paired", required=True, help="feedback_paired.csv from `weightspace analyze`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--title", help="the figure's heading (default: the dataset)")
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_feedback)

    t = groups.table.add_parser("feedback", help="feedback: final accuracy per dataset x setting x variant, "
                                                 "paired differences")
    t.add_argument("--in", dest="input", required=True, help="feedback_summary.csv from `weightspace analyze`")
    t.add_argument("--out", required=True, help="the .tex file")
    t.set_defaults(func=table_feedback)
