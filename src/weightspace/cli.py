"""Command-line interface: ``weightspace <command> --help``.

The Snakemake rules call these commands and hold no logic of their own; a
user can run any stage by hand the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from weightspace import __version__
from weightspace.errors import WeightspaceError

__all__ = ["main"]


def _load_validated(paths: list[str]) -> dict:
    from weightspace.config import load_config, validate

    return validate(load_config(*paths))


def _find_cell(config: dict, experiment: str | None, cell: str) -> dict:
    from weightspace.config import expand

    cells = expand(config)
    matches = [c for e, cs in cells.items() if experiment in (None, e) for cid, c in cs.items() if cid == cell]
    if not matches:
        known = [cid for e, cs in cells.items() if experiment in (None, e) for cid in cs]
        hint = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
        raise WeightspaceError(f"no cell {cell!r} in the config; cells are e.g.: {hint} (see `weightspace cells`)")
    if len(matches) > 1:
        raise WeightspaceError(f"cell {cell!r} exists in several experiments; name one with --experiment")
    return matches[0]


# ----------------------------------------------------------------------------------------------
# commands


def cmd_train(args) -> None:
    from weightspace.runner import run_cell

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    if args.cell_json:
        cell = json.loads(args.cell_json)
        settings = {}
    else:
        if not (args.config and args.cell):
            raise WeightspaceError("train needs --cell-json, or --config and --cell")
        config = _load_validated(args.config)
        cell = _find_cell(config, args.experiment, args.cell)
        settings = config
    seeds = args.seeds if args.seeds is not None else settings.get("seeds", [0])
    out = args.out or str(Path(settings.get("results_dir", "results")) / cell["experiment"] / "runs" / cell["cell"])
    written = run_cell(
        cell,
        seeds,
        out,
        data_dir=args.data_dir or settings.get("data_dir"),
        device=args.device or settings.get("device", "auto"),
        download=not args.no_download and settings.get("download", True),
        verify=not args.no_verify and settings.get("verify_data", True),
        memory_limit_gib=args.memory_limit_gib or settings.get("memory_limit_gib", 16.0),
        progress=args.progress,
    )
    print(f"wrote {len(written)} run(s) under {out}", file=sys.stderr)


def cmd_aggregate(args) -> None:
    from weightspace.aggregate import aggregate

    curves, final = aggregate(args.runs, args.out)
    print(f"wrote {curves} and {final}", file=sys.stderr)


def cmd_plot(args) -> None:
    import pandas as pd

    from weightspace import plots

    if args.figure == "curves":
        curves = pd.read_csv(args.curves)
        paths = plots.curves_figure(curves, args.dataset, args.net, args.variant, args.out)
    else:  # pragma: no cover - argparse restricts the choices
        raise WeightspaceError(f"unknown figure {args.figure!r}")
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)


def cmd_validate(args) -> None:
    from weightspace.config import expand

    config = _load_validated(args.config)
    cells = expand(config)
    n_cells = sum(len(c) for c in cells.values())
    print(
        f"config OK: {len(cells)} enabled experiment(s), {n_cells} cells, "
        f"{n_cells * len(config['seeds'])} runs ({len(config['seeds'])} seeds each)"
    )


def cmd_cells(args) -> None:
    from weightspace.config import expand

    config = _load_validated(args.config)
    for exp, cells in expand(config).items():
        if args.experiment not in (None, exp):
            continue
        for cid in cells:
            print(f"{exp}\t{cid}")


def cmd_data(args) -> None:
    from weightspace import data
    from weightspace.io import write_json

    for name in args.datasets:
        ds = data.load(name, args.data_dir, download=not args.no_download, verify=not args.no_verify)
        info = {
            "name": name,
            "checksum": ds.checksum,
            "source": ds.source,
            "n_train": len(ds.x_train),
            "n_test": len(ds.x_test),
            "input_shape": list(ds.input_shape),
        }
        print(json.dumps(info))
        if args.stamp:
            write_json(Path(args.stamp), info)


# ----------------------------------------------------------------------------------------------
# parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="weightspace",
        description="Weight-space reparameterizations of neural networks: train, aggregate, plot.",
    )
    p.add_argument("--version", action="version", version=f"weightspace {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train one cell (all its seeds as one batch)", description=(
        "Train one cell. Give the cell as JSON (what the workflow does), or name it in a config "
        "with --config and --cell (see `weightspace cells`)."))
    t.add_argument("--cell-json", help="the cell config as JSON")
    t.add_argument("--config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
    t.add_argument("--experiment", help="experiment of --cell (if the id is ambiguous)")
    t.add_argument("--cell", help="cell id within --config")
    t.add_argument("--seeds", type=int, nargs="+", help="seeds to train together (default: the config's)")
    t.add_argument("--out", help="output folder of the cell (default: <results_dir>/<experiment>/runs/<cell>)")
    t.add_argument("--data-dir", help="dataset folder (default: config data_dir, $WEIGHTSPACE_DATA, ./data)")
    t.add_argument("--device", help="auto | cpu | cuda | cuda:N (default: auto)")
    t.add_argument("--no-download", action="store_true", help="never download datasets")
    t.add_argument("--no-verify", action="store_true", help="skip dataset checksum verification")
    t.add_argument("--memory-limit-gib", type=float, help="memory budget for fixed + trained tensors")
    t.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal; else one line per evaluation)")
    t.set_defaults(func=cmd_train)

    a = sub.add_parser("aggregate", help="per-seed run files -> curves.csv and final.csv")
    a.add_argument("runs", nargs="+", help="summary.json files (or seed folders) of the runs")
    a.add_argument("--out", required=True, help="folder for curves.csv and final.csv")
    a.set_defaults(func=cmd_aggregate)

    pl = sub.add_parser("plot", help="draw a figure (PDF + PNG)")
    pl.add_argument("figure", choices=["curves"], help="curves: test accuracy and training loss per step, one curve per d")
    pl.add_argument("--curves", required=True, help="curves.csv from `weightspace aggregate`")
    pl.add_argument("--dataset", required=True)
    pl.add_argument("--net", required=True)
    pl.add_argument("--variant", required=True, help="the subspace variant (its d values become the curves)")
    pl.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    pl.set_defaults(func=cmd_plot)

    v = sub.add_parser("validate", help="check a config (and presets) without running anything")
    v.add_argument("config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
    v.set_defaults(func=cmd_validate)

    c = sub.add_parser("cells", help="list the cells a config expands into")
    c.add_argument("config", nargs="+", metavar="YAML")
    c.add_argument("--experiment")
    c.set_defaults(func=cmd_cells)

    d = sub.add_parser("data", help="download (if needed) and verify datasets; print their checksums")
    d.add_argument("datasets", nargs="+")
    d.add_argument("--data-dir")
    d.add_argument("--no-download", action="store_true")
    d.add_argument("--no-verify", action="store_true")
    d.add_argument("--stamp", help="also write the dataset info as JSON here (one dataset only)")
    d.set_defaults(func=cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except WeightspaceError as e:
        print(f"weightspace {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"weightspace {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
