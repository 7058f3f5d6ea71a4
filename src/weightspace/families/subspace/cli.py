"""The subspace family's commands: ``plot curves | accuracy-vs-d | cost``, ``table dint | accuracy``, ``bench cost``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from weightspace.errors import WeightspaceError
from weightspace.families.base import CliGroups

__all__ = ["add"]


def _say(paths) -> None:
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)


def plot_curves(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.subspace.plots import curves_figure

    _say(curves_figure(pd.read_csv(args.curves), args.dataset, args.net, args.variant, args.out))


def plot_accuracy_vs_d(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.subspace.plots import accuracy_vs_d_figure

    _say(accuracy_vs_d_figure(pd.read_csv(args.by_dim), pd.read_csv(args.dint), args.dataset, args.net, args.out))


def plot_cost(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.subspace.plots import cost_figure
    from weightspace.io import read_json

    cost = pd.read_csv(args.cost)
    title = ""
    meta = Path(args.cost).with_suffix(".json")
    if meta.exists():
        m = read_json(meta)
        p = m.get("provenance", {})
        title = (
            f"{m.get('dataset')} · {m.get('net', {}).get('name', '')}: {m.get('seeds')} seed(s), batch "
            f"{m.get('batch_size')}, on {p.get('device_name', p.get('device', '?'))} "
            f"(torch {p.get('torch', '?')}); bands: min-max of {m.get('repeats')} repeats"
        )
    _say(cost_figure(cost, args.out, title))


def _parse_published(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        parts = item.split(":")
        if len(parts) < 3 or len(parts) > 5 or (len(parts) == 5 and parts[4] not in ("relative", "absolute")):
            raise WeightspaceError(f"--published {item!r}: expected DATASET:NET:VALUE[:SOURCE[:relative|absolute]]")
        out[(parts[0], parts[1])] = (float(parts[2]), parts[3] if len(parts) > 3 else "",
                                     parts[4] if len(parts) > 4 else "absolute")
    return out


def table_dint(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.subspace.tables import dint_latex
    from weightspace.tables import write_table

    write_table(args.out, dint_latex(pd.read_csv(args.input), _parse_published(args.published)))
    print(f"wrote {args.out}", file=sys.stderr)


def table_accuracy(args) -> None:
    # deferred: matplotlib or pandas, loaded only by the command that draws or writes
    import pandas as pd

    from weightspace.families.subspace.tables import accuracy_latex
    from weightspace.tables import write_table

    write_table(args.out, accuracy_latex(pd.read_csv(args.input)))
    print(f"wrote {args.out}", file=sys.stderr)


def bench_cost(args) -> None:
    # deferred: torch and pandas, loaded only by this command
    import pandas as pd
    import torch

    from weightspace.families.subspace.cost import cost_sweep
    from weightspace.io import write_dataframe, write_json
    from weightspace.runner import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    net_cfg = json.loads(args.net_json)
    device = resolve_device(args.device)
    records, prov = cost_sweep(
        net_cfg, args.dataset, args.d, args.projections, args.seeds, args.batch_size, args.steps, args.repeats,
        device, args.memory_limit_gib, lambda m: print(m, file=sys.stderr, flush=True),
    )
    out = Path(args.out)
    write_dataframe(out, pd.DataFrame(records))
    write_json(out.with_suffix(".json"), {
        "dataset": args.dataset, "net": net_cfg, "seeds": args.seeds, "batch_size": args.batch_size,
        "steps": args.steps, "repeats": args.repeats, "provenance": prov,
    })
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)


def add(groups: CliGroups) -> None:
    f = groups.plot.add_parser("curves", help="subspace: test accuracy and training loss per step, one curve per d")
    f.add_argument("--curves", required=True, help="curves.csv from `weightspace aggregate`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--variant", required=True, help="the subspace variant (its d values become the curves)")
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_curves)
    f = groups.plot.add_parser("accuracy-vs-d", help="subspace: final test accuracy against d, with d_int90")
    f.add_argument("--by-dim", required=True, help="by_dim.csv from `weightspace analyze`")
    f.add_argument("--dint", required=True, help="dint90.csv from `weightspace analyze`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_accuracy_vs_d)
    f = groups.plot.add_parser("cost", help="subspace: time per step and memory against d, per projection")
    f.add_argument("--cost", required=True, help="the CSV from `weightspace bench cost`")
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f.set_defaults(func=plot_cost)

    t = groups.table.add_parser("dint", help="subspace: d_int90 per dataset x net x projection")
    t.add_argument("--in", dest="input", required=True, help="dint90.csv from `weightspace analyze`")
    t.add_argument("--out", required=True, help="the .tex file")
    t.add_argument("--published", nargs="*", metavar="DATASET:NET:VALUE[:SOURCE[:CONVENTION]]",
                   help="published d_int90 values shown beside the measured ones (convention: absolute, the "
                        "default, as Li et al. 2018, or relative)")
    t.set_defaults(func=table_dint)
    t = groups.table.add_parser("accuracy", help="subspace: final test accuracy per d")
    t.add_argument("--in", dest="input", required=True, help="by_dim.csv from `weightspace analyze`")
    t.add_argument("--out", required=True, help="the .tex file")
    t.set_defaults(func=table_accuracy)

    bc = groups.bench.add_parser("cost", help="subspace: time per training step and memory of each projection vs d")
    bc.add_argument("--dataset", default="mnist", help="input shape and classes come from it (no files are read)")
    bc.add_argument("--net-json", default='{"name": "fc", "arch": "fc", "widths": [200, 200]}',
                    help="the net, as a config's nets entry in JSON (default: %(default)s)")
    bc.add_argument("--d", type=int, nargs="+", default=[10, 100, 1000, 10000],
                    help="subspace dimensions to time (default: %(default)s)")
    bc.add_argument("--projections", nargs="+", default=["dense", "sparse", "fastfood"],
                    help="projections to time, each at every d (default: %(default)s)")
    bc.add_argument("--seeds", type=int, default=1, help="seeds batched per step")
    bc.add_argument("--batch-size", type=int, default=256, help="minibatch size per seed (default: %(default)s)")
    bc.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    bc.add_argument("--repeats", type=int, default=5,
                    help="timed repeats of --steps steps; the median is reported (default: %(default)s)")
    bc.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: %(default)s)")
    bc.add_argument("--threads", type=int, help="CPU threads for torch")
    bc.add_argument("--memory-limit-gib", type=float, default=16.0, help="skip combinations needing more")
    bc.add_argument("--out", required=True, help="CSV of records; a .json with the machine is written beside it")
    bc.set_defaults(func=bench_cost)
