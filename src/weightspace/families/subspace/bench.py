"""The subspace family's benchmark: ``weightspace bench cost`` (the cost figure's table, cost.csv and cost.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from weightspace.io import write_dataframe, write_json

__all__ = ["add"]


def bench_cost(args) -> None:
    import pandas as pd
    import torch

    # deferred: torch, loaded when the benchmark runs
    from weightspace.families.subspace.cost import cost_sweep
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


def add(bench) -> None:
    bc = bench.add_parser("cost", help="subspace: time per training step and memory of each projection vs d")
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
