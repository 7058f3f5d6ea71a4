"""The sharing family's commands: ``plot structure | maps | tradeoff | dynamics``, ``table structure``."""

from __future__ import annotations

import sys

from weightspace.data import known
from weightspace.families.base import CliGroups

__all__ = ["add"]


def _say(paths) -> None:
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)


def plot_structure(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import numpy as np

    from weightspace.families.sharing.plots import structure_figure

    with np.load(args.npz) as d:
        groups = d["groups"] if "groups" in d else None  # the truth, saved beside the run since issue 16
    if groups is None:
        groups = known()[args.dataset].groups()
    _say(structure_figure(args.npz, groups, args.title or args.dataset, args.out))


def plot_maps(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    from weightspace.families.sharing.plots import assignment_maps_figure

    _say(assignment_maps_figure(args.npz, known()[args.dataset].input_shape, args.title or args.dataset, args.out))


def plot_tradeoff(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.sharing.plots import tradeoff_figure

    _say(tradeoff_figure(pd.read_csv(args.summary), args.dataset, args.net, args.out))


def plot_dynamics(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.sharing.plots import dynamics_figure

    _say(dynamics_figure(pd.read_csv(args.curves), args.dataset, args.net, args.variant, args.out))


def table_structure(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.sharing.tables import structure_latex
    from weightspace.tables import write_table

    write_table(args.out, structure_latex(pd.read_csv(args.input)))
    print(f"wrote {args.out}", file=sys.stderr)


def plot_sweep(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.sharing.sweep_plots import sweep_figure

    _say(sweep_figure(pd.read_csv(args.summary), args.teacher, args.net, args.out, args.inputs))


def plot_meta(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.sharing.sweep_plots import meta_figure

    _say(meta_figure(pd.read_csv(args.summary), args.out, args.title or ""))


def plot_budget(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.sharing.sweep_plots import budget_figure

    _say(budget_figure(pd.read_csv(args.summary), args.dataset, args.net, args.out))


def bench_meta(args) -> None:
    from weightspace.families.sharing.meta import main  # deferred: torch, loaded only by this command

    main(["--spec-json", args.spec_json, "--options-json", args.options_json, "--out", args.out,
          "--summary", args.summary, "--threads", str(args.threads)])


def add(groups: CliGroups) -> None:
    f = groups.plot.add_parser("structure", help="sharing: learned vs true sharing of a teacher layer, co-assignment")
    f.add_argument("--npz", required=True, help="a seed's structure.npz")
    f.add_argument("--dataset", required=True, help="the teacher (its truth is read from the npz when saved there)")
    f.add_argument("--title")
    f.add_argument("--out", required=True)
    f.set_defaults(func=plot_structure)
    f = groups.plot.add_parser("maps", help="sharing: each hidden unit's value index on the input grid")
    f.add_argument("--npz", required=True, help="a seed's structure.npz")
    f.add_argument("--dataset", required=True, choices=list(known()))
    f.add_argument("--title")
    f.add_argument("--out", required=True)
    f.set_defaults(func=plot_maps)
    f = groups.plot.add_parser("tradeoff", help="sharing: hard-net accuracy / MSE against unique values used")
    f.add_argument("--summary", required=True, help="sharing_summary.csv from `weightspace analyze`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True)
    f.set_defaults(func=plot_tradeoff)
    f = groups.plot.add_parser("dynamics", help="sharing: row entropy and values used over training")
    f.add_argument("--curves", required=True)
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--variant", required=True)
    f.add_argument("--out", required=True)
    f.set_defaults(func=plot_dynamics)

    f = groups.plot.add_parser("sweep", help="sharing: recovery and test MSE vs training examples (a teacher's sweep)")
    f.add_argument("--summary", required=True, help="sharing_summary.csv from `weightspace analyze`")
    f.add_argument("--teacher", required=True, help="the sweep's teacher (datasets <teacher>-n<N>)")
    f.add_argument("--net", required=True)
    f.add_argument("--inputs", type=int, help="inputs per output (marked: below it, direct is underdetermined)")
    f.add_argument("--out", required=True)
    f.set_defaults(func=plot_sweep)
    f = groups.plot.add_parser("meta", help="sharing: meta-learned vs single-task sharing, vs examples per task")
    f.add_argument("--summary", required=True, help="meta_summary.csv")
    f.add_argument("--title")
    f.add_argument("--out", required=True)
    f.set_defaults(func=plot_meta)

    f = groups.plot.add_parser("budget", help="sharing: test metric vs parameters stored, budgets and fixed k")
    f.add_argument("--summary", required=True, help="sharing_summary.csv from `weightspace analyze`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True)
    f.set_defaults(func=plot_budget)

    b = groups.bench.add_parser("meta-sharing", help="sharing: meta-learned vs single-task sharing on tasks of a "
                                                     "teacher's structure (meta.csv, meta_summary.csv)")
    b.add_argument("--spec-json", required=True, help="the teacher's description")
    b.add_argument("--options-json", required=True, help="the experiment's meta key")
    b.add_argument("--out", required=True, help="meta.csv to write: one row per method, examples per task, seed and "
                                                 "held-out task")
    b.add_argument("--summary", required=True, help="meta_summary.csv to write: mean and interval over seeds per "
                                                     "method and examples per task")
    b.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default: %(default)s)")
    b.set_defaults(func=bench_meta)

    t = groups.table.add_parser("structure", help="sharing: structure metrics per cell")
    t.add_argument("--in", dest="input", required=True, help="sharing_summary.csv from `weightspace analyze`")
    t.add_argument("--out", required=True, help="the .tex file")
    t.set_defaults(func=table_structure)
