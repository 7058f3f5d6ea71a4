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
    import torch

    from weightspace.runner import run_cell

    # one thread unless asked: what the workflow's jobs use, so a cell trained by hand gives the same numbers
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
    import datetime
    import socket

    print(f"=== weightspace train {cell.get('cell')} seeds {list(seeds)}: started "
          f"{datetime.datetime.now().isoformat(timespec='seconds')} on {socket.gethostname()}", file=sys.stderr, flush=True)
    out = args.out or str(Path(settings.get("results_dir", "results")) / cell["experiment"] / "runs" / cell["cell"])
    checkpoint_every = args.checkpoint_every
    if checkpoint_every is None:
        checkpoint_every = settings.get("checkpoint_every_s", 60.0)
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
        checkpoint_every_s=checkpoint_every,
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
        paths = plots.curves_figure(pd.read_csv(args.curves), args.dataset, args.net, args.variant, args.out)
    elif args.figure in ("structure", "maps", "tradeoff", "dynamics"):
        from weightspace import plots_sharing

        if args.figure == "structure":
            from weightspace.data import teacher_weights

            _, groups = teacher_weights(args.dataset)
            paths = plots_sharing.structure_figure(args.npz, groups, args.title or args.dataset, args.out)
        elif args.figure == "maps":
            from weightspace.data import INPUT_SHAPES

            paths = plots_sharing.assignment_maps_figure(args.npz, INPUT_SHAPES[args.dataset], args.title or args.dataset,
                                                         args.out)
        elif args.figure == "tradeoff":
            paths = plots_sharing.tradeoff_figure(pd.read_csv(args.summary), args.dataset, args.net, args.out)
        else:
            paths = plots_sharing.dynamics_figure(pd.read_csv(args.curves), args.dataset, args.net, args.variant, args.out)
    elif args.figure == "accuracy-vs-d":
        paths = plots.accuracy_vs_d_figure(
            pd.read_csv(args.by_dim), pd.read_csv(args.dint), args.dataset, args.net, args.out
        )
    else:
        cost = pd.read_csv(args.cost)
        title = ""
        meta = Path(args.cost).with_suffix(".json")
        if meta.exists():
            from weightspace.io import read_json

            m = read_json(meta)
            p = m.get("provenance", {})
            title = (
                f"{m.get('dataset')} · {m.get('net', {}).get('name', '')}: {m.get('seeds')} seed(s), batch "
                f"{m.get('batch_size')}, on {p.get('device_name', p.get('device', '?'))} "
                f"(torch {p.get('torch', '?')}); bands: min-max of {m.get('repeats')} repeats"
            )
        paths = plots.cost_figure(cost, args.out, title)
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)


def cmd_bench_trainer(args) -> None:
    from weightspace.bench import compare_with_naive
    from weightspace.io import write_json
    from weightspace.runner import resolve_device

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rec = compare_with_naive(
        args.dataset, args.data_dir, args.widths, args.epochs, args.batch_size, args.lr, args.seeds,
        args.naive_runs, args.trials, resolve_device(args.device), log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(
        f"{rec['net']} on {rec['dataset']}, {rec['epochs']} epochs, batch {rec['batch_size']}, on "
        f"{rec['provenance'].get('device_name')}:\n"
        f"  naive loop: {rec['naive_s_per_run_median']:.3f} s per run ({rec['naive_steps_per_s']:.0f} steps/s)\n"
        f"  trainer:    {rec['trainer_s_per_run_median']:.3f} s per run ({rec['trainer_run_steps_per_s']:.0f} steps/s "
        f"per run, {rec['seeds_batched']} seeds batched)\n"
        f"  speed-up per run: {rec['speedup_per_run']:.1f}x (median of {args.trials} trials)"
    )
    if args.out:
        write_json(args.out, rec)


def cmd_analyze(args) -> None:
    import pandas as pd

    from weightspace.analysis import by_dim, dint90, sharing_summary
    from weightspace.io import write_dataframe

    final = pd.read_csv(args.final)
    out = Path(args.out)
    if args.family == "sharing":
        write_dataframe(out / "sharing_summary.csv", sharing_summary(final))
        print(f"wrote {out / 'sharing_summary.csv'}", file=sys.stderr)
        return
    setting = dict(_parse_setting(item) for item in args.baseline_setting or [])
    write_dataframe(out / "by_dim.csv", by_dim(final))
    write_dataframe(out / "dint90.csv", dint90(final, args.fraction, args.n_boot, args.random_state,
                                               baseline=args.baseline, baseline_setting=setting))
    print(f"wrote {out / 'by_dim.csv'} and {out / 'dint90.csv'}", file=sys.stderr)


def _parse_setting(item: str) -> tuple[str, object]:
    """``lr=0.003`` -> ("lr", 0.003); the value as YAML reads it."""
    import yaml

    key, sep, value = item.partition("=")
    if not sep or not key:
        raise WeightspaceError(f"--baseline-setting {item!r}: expected KEY=VALUE, e.g. lr=0.003")
    return key, yaml.safe_load(value)


def _parse_published(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        parts = item.split(":", 3)
        if len(parts) < 3:
            raise WeightspaceError(f"--published {item!r}: expected DATASET:NET:VALUE[:SOURCE]")
        out[(parts[0], parts[1])] = (float(parts[2]), parts[3] if len(parts) > 3 else "")
    return out


def cmd_table(args) -> None:
    import pandas as pd

    from weightspace import tables

    if args.table == "dint":
        text = tables.dint_latex(pd.read_csv(args.input), _parse_published(args.published))
    elif args.table == "structure":
        text = tables.structure_latex(pd.read_csv(args.input))
    else:
        text = tables.accuracy_latex(pd.read_csv(args.input))
    tables.write_table(args.out, text)
    print(f"wrote {args.out}", file=sys.stderr)


def cmd_bench(args) -> None:
    if args.bench == "trainer":
        return cmd_bench_trainer(args)
    import pandas as pd

    from weightspace.bench import cost_sweep
    from weightspace.io import write_dataframe, write_json
    from weightspace.runner import resolve_device

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    net_cfg = json.loads(args.net_json)
    device = resolve_device(args.device)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    records, prov = cost_sweep(
        net_cfg, args.dataset, args.d, args.projections, args.seeds, args.batch_size, args.steps, args.repeats,
        device, args.memory_limit_gib, log,
    )
    out = Path(args.out)
    write_dataframe(out, pd.DataFrame(records))
    write_json(out.with_suffix(".json"), {
        "dataset": args.dataset, "net": net_cfg, "seeds": args.seeds, "batch_size": args.batch_size,
        "steps": args.steps, "repeats": args.repeats, "provenance": prov,
    })
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)


def cmd_validate(args) -> None:
    from weightspace.config import expand, validate_files

    config = validate_files(*args.config)
    cells = expand(config)
    n_seeds = len(config["seeds"])
    width = max((len(name) for name in cells), default=0)
    for name, exp_cells in cells.items():  # what will run: a preset that only adds an experiment keeps the rest
        exp = config["experiments"][name]
        print(
            f"  {name:<{width}}  {exp['family']:<8}  {len(exp_cells):>5} cells  {len(exp_cells) * n_seeds:>6} runs  "
            f"datasets: {', '.join(exp['datasets'])}"
        )
    n_cells = sum(len(c) for c in cells.values())
    print(
        f"config OK: {len(cells)} enabled experiment(s), {n_cells} cells, "
        f"{n_cells * n_seeds} runs ({n_seeds} seeds each)"
    )


def cmd_plan(args) -> None:
    from weightspace.plan import plan
    from weightspace.runner import resolve_device

    config = _load_validated(args.config)
    device = resolve_device(args.device or config["device"])
    if args.measure:
        print(f"timing representative steps on {device} ...", file=sys.stderr)
    df = plan(config, measure=args.measure, device=str(device), log=lambda m: print(m, file=sys.stderr, flush=True))
    if df.empty:
        print("no enabled experiments")
        return
    cols = ["cells", "runs", "steps", "seed_steps"] + (["est_min"] if args.measure else [])
    df["cells"] = 1
    df["seed_steps"] = df["steps"] * df["runs"]
    if args.measure:
        df["est_min"] = df["est_s"] / 60
    summary = df.groupby("experiment")[cols].sum()
    summary.loc["total"] = summary.sum()
    print(summary.to_string(float_format=lambda x: f"{x:,.1f}"))
    if args.measure:
        print(f"estimated device time: {df['est_s'].sum() / 60:.1f} min on {device}, cells run one after another "
              f"(seeds batched as the workflow batches them); measured with a few steps per cell group")
    if args.cells:
        print(df.drop(columns=["cells"]).to_string(index=False))


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
    t.add_argument("--threads", type=int, default=1,
                   help="CPU threads for torch (default 1, as in the workflow's jobs; on the CPU another count can "
                        "change the last bits of float sums, so numbers then agree to rounding, not bit for bit)")
    t.add_argument("--checkpoint-every", type=float, default=None, metavar="SECONDS",
                   help="save a checkpoint at evaluation points at most this often (default: the config's "
                        "checkpoint_every_s, else 60; 0: at every one)")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal; else one line per evaluation)")
    t.set_defaults(func=cmd_train)

    a = sub.add_parser("aggregate", help="per-seed run files -> curves.csv and final.csv")
    a.add_argument("runs", nargs="+", help="summary.json files (or seed folders) of the runs")
    a.add_argument("--out", required=True, help="folder for curves.csv and final.csv")
    a.set_defaults(func=cmd_aggregate)

    pl = sub.add_parser("plot", help="draw a figure (PDF + PNG)")
    figs = pl.add_subparsers(dest="figure", required=True, metavar="FIGURE")
    f = figs.add_parser("curves", help="test accuracy and training loss per step, one curve per d")
    f.add_argument("--curves", required=True, help="curves.csv from `weightspace aggregate`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--variant", required=True, help="the subspace variant (its d values become the curves)")
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f = figs.add_parser("accuracy-vs-d", help="final test accuracy against d per projection, with d_int90")
    f.add_argument("--by-dim", required=True, help="by_dim.csv from `weightspace analyze`")
    f.add_argument("--dint", required=True, help="dint90.csv from `weightspace analyze`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    f = figs.add_parser("structure", help="learned vs true sharing of a teacher layer, and co-assignment")
    f.add_argument("--npz", required=True, help="a seed's structure.npz")
    f.add_argument("--dataset", required=True, choices=["conv1d_teacher", "conv2d_teacher"])
    f.add_argument("--title")
    f.add_argument("--out", required=True)
    f = figs.add_parser("maps", help="each hidden unit's value index on the input grid")
    f.add_argument("--npz", required=True, help="a seed's structure.npz")
    f.add_argument("--dataset", required=True)
    f.add_argument("--title")
    f.add_argument("--out", required=True)
    f = figs.add_parser("tradeoff", help="hard-net accuracy / MSE against unique values used, per sharing method")
    f.add_argument("--summary", required=True, help="sharing_summary.csv from `weightspace analyze --family sharing`")
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--out", required=True)
    f = figs.add_parser("dynamics", help="row entropy and values used over training")
    f.add_argument("--curves", required=True)
    f.add_argument("--dataset", required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--variant", required=True)
    f.add_argument("--out", required=True)
    f = figs.add_parser("cost", help="time per step and memory against d, per projection")
    f.add_argument("--cost", required=True, help="the CSV from `weightspace bench cost`")
    f.add_argument("--out", required=True, help="output path; .pdf and .png are written")
    pl.set_defaults(func=cmd_plot)

    an = sub.add_parser("analyze", help="final.csv -> statistics (subspace: by_dim.csv, dint90.csv; sharing: sharing_summary.csv)")
    an.add_argument("--final", required=True, help="final.csv from `weightspace aggregate`")
    an.add_argument("--out", required=True, help="folder for the tables")
    an.add_argument("--family", choices=["subspace", "sharing"], default="subspace")
    an.add_argument("--fraction", type=float, default=0.9, help="fraction of the baseline to reach (default 0.9)")
    an.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates (default 2000)")
    an.add_argument("--random-state", type=int, default=0, help="seed of the bootstrap (default 0)")
    an.add_argument("--baseline", help="subspace: the baseline variant (default: the only direct variant)")
    an.add_argument("--baseline-setting", nargs="*", metavar="KEY=VALUE",
                    help="subspace: which of the baseline's swept settings d_int90 compares with, e.g. lr=0.003")
    an.set_defaults(func=cmd_analyze)

    tb = sub.add_parser("table", help="LaTeX tables (booktabs)")
    tb.add_argument("table", choices=["dint", "accuracy", "structure"],
                    help="dint: d_int90 table; accuracy: accuracy per d; structure: sharing-structure metrics")
    tb.add_argument("--in", dest="input", required=True,
                    help="dint90.csv (dint), by_dim.csv (accuracy) or sharing_summary.csv (structure)")
    tb.add_argument("--out", required=True, help="the .tex file")
    tb.add_argument("--published", nargs="*", metavar="DATASET:NET:VALUE[:SOURCE]",
                    help="published d_int90 values shown beside the measured ones")
    tb.set_defaults(func=cmd_table)

    be = sub.add_parser("bench", help="benchmarks")
    bsub = be.add_subparsers(dest="bench", required=True, metavar="BENCH")
    bc = bsub.add_parser("cost", help="time per training step and memory of each projection vs d, and of direct training")
    bc.add_argument("--dataset", default="mnist", help="input shape and classes come from it (no files are read)")
    bc.add_argument("--net-json", default='{"name": "fc", "arch": "fc", "widths": [200, 200]}')
    bc.add_argument("--d", type=int, nargs="+", default=[10, 100, 1000, 10000])
    bc.add_argument("--projections", nargs="+", default=["dense", "sparse", "fastfood"])
    bc.add_argument("--seeds", type=int, default=1, help="seeds batched per step")
    bc.add_argument("--batch-size", type=int, default=256)
    bc.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    bc.add_argument("--repeats", type=int, default=5)
    bc.add_argument("--device", default="auto")
    bc.add_argument("--threads", type=int, help="CPU threads for torch")
    bc.add_argument("--memory-limit-gib", type=float, default=16.0, help="skip combinations needing more")
    bc.add_argument("--out", required=True, help="CSV of records; a .json with the machine is written beside it")
    bt = bsub.add_parser("trainer", help="the naive training loop (DataLoader, one seed at a time) vs the trainer")
    bt.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    bt.add_argument("--data-dir", help="dataset folder (the real files are needed: the naive loop reads them)")
    bt.add_argument("--widths", type=int, nargs="+", default=[200, 200])
    bt.add_argument("--epochs", type=int, default=2)
    bt.add_argument("--batch-size", type=int, default=256)
    bt.add_argument("--lr", type=float, default=1e-3)
    bt.add_argument("--seeds", type=int, default=10, help="seeds the trainer batches")
    bt.add_argument("--naive-runs", type=int, default=1, help="naive runs per trial")
    bt.add_argument("--trials", type=int, default=3)
    bt.add_argument("--device", default="auto")
    bt.add_argument("--threads", type=int, help="CPU threads for torch")
    bt.add_argument("--out", help="write the record as JSON here")
    be.set_defaults(func=cmd_bench)

    v = sub.add_parser("validate", help="check a config (and presets) without running anything")
    v.add_argument("config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
    v.set_defaults(func=cmd_validate)

    pn = sub.add_parser("plan", help="cells, runs, steps and (with --measure) estimated device time of a config")
    pn.add_argument("config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
    pn.add_argument("--measure", action="store_true", help="time a few steps per cell group on this device")
    pn.add_argument("--device", help="auto | cpu | cuda (default: the config's)")
    pn.add_argument("--cells", action="store_true", help="also print one line per cell")
    pn.set_defaults(func=cmd_plan)

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
    from weightspace.errors import Interrupted

    try:
        args.func(args)
    except Interrupted as e:
        print(f"weightspace {args.command}: {e}; re-run the same command to resume", file=sys.stderr)
        return 128 + (e.signum or 2)
    except WeightspaceError as e:
        print(f"weightspace {args.command}: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:  # an input of a stage command that an earlier stage has not written
        print(f"weightspace {args.command}: error: {e.filename or e}: no such file. It is written by an earlier "
              f"stage: run the workflow (snakemake ... or `make reproduce`), or the stage by hand "
              f"(train -> aggregate -> analyze; see `weightspace --help`)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"weightspace {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
