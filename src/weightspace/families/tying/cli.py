"""The tying family's commands: ``plot tying-params | tying-curves | tying-mse | tying-recon``, ``table tying``."""

from __future__ import annotations

import sys

from weightspace.errors import WeightspaceError
from weightspace.families.base import CliGroups

__all__ = ["add"]


def _say(paths) -> None:
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)


def plot_params(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.tying.plots import params_figure

    _say(params_figure(pd.read_csv(args.summary), args.dataset, args.net, args.out))


def plot_curves(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.tying.plots import curves_figure

    _say(curves_figure(pd.read_csv(args.curves), args.dataset, args.net, args.out))


def plot_mse(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.tying.plots import mse_figure

    _say(mse_figure(pd.read_csv(args.curves), args.dataset, args.net, args.out))


def plot_recon(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    from weightspace.families.tying.plots import recon_figure

    labels = args.label or [f"run {i + 1}" for i in range(len(args.npz))]
    if len(labels) != len(args.npz):
        raise WeightspaceError(f"--label: {len(labels)} labels for {len(args.npz)} --npz files; give one per file")
    _say(recon_figure(dict(zip(labels, args.npz)), args.title or "", args.out))


def table_tying(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.tying.tables import tying_latex
    from weightspace.tables import write_table

    write_table(args.out, tying_latex(pd.read_csv(args.input)))
    print(f"wrote {args.out}", file=sys.stderr)


def add(groups: CliGroups) -> None:
    f = groups.plot.add_parser("tying-params", help="tying: final accuracy / MSE against trainable parameters")
    f.add_argument("--summary", required=True, help="tying_summary.csv from `weightspace analyze`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_params)
    f = groups.plot.add_parser("tying-curves", help="tying: sum vs mean gradient, accuracy and loss over training")
    f.add_argument("--curves", required=True, help="curves.csv from `weightspace aggregate`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_curves)
    f = groups.plot.add_parser("tying-mse", help="tying: an autoencoder's test reconstruction MSE per epoch")
    f.add_argument("--curves", required=True, help="curves.csv from `weightspace aggregate`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_mse)
    f = groups.plot.add_parser("tying-recon", help="tying: test images and each model's reconstructions")
    f.add_argument("--npz", required=True, nargs="+", help="a seed's tying.npz per model (the same seed)")
    f.add_argument("--label", nargs="+", help="one label per --npz file")
    f.add_argument("--title")
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_recon)

    t = groups.table.add_parser("tying", help="tying: final metrics per cell with intervals over seeds")
    t.add_argument("--in", dest="input", required=True, help="tying_summary.csv from `weightspace analyze`")
    t.add_argument("--out", required=True, help="the .tex file")
    t.set_defaults(func=table_tying)
