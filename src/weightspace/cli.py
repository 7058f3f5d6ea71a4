"""Command-line interface: ``weightspace <command> --help``.

The Snakemake rules call these commands and hold no logic of their own; a
user can run any stage by hand the same way.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path

import weightspace.families  # noqa: F401 - the CLI is an entry point: this loads every family into the registry
from weightspace import __version__, data, registry
from weightspace.archive import archive_run
from weightspace.artifacts import of_family, qualified
from weightspace.config import expand, experiment_seeds, load_config, validate, validate_files
from weightspace.errors import DataError, Interrupted, WeightspaceError
from weightspace.gpus import claim_gpu, cuda_warning
from weightspace.io import usable_cores, write_json

__all__ = ["main"]


def _load_validated(paths: list[str]) -> dict:
    return validate(load_config(*paths))


def _find_cell(config: dict, experiment: str | None, cell: str) -> dict:
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


def _claim_gpu(args, device: str) -> None:
    """With --gpus N (the workflow passes snakemake's --resources gpu=N), take a GPU no other local job holds."""
    import os

    if not args.gpus or device not in ("auto", "cuda"):
        return  # no GPUs to share out, or training on the CPU, or a GPU named by the user (cuda:N)
    if os.environ.get("SLURM_JOB_ID"):
        print(f"GPU assigned by SLURM (job {os.environ['SLURM_JOB_ID']}): CUDA_VISIBLE_DEVICES="
              f"{os.environ.get('CUDA_VISIBLE_DEVICES', '')}", file=sys.stderr, flush=True)
        return
    claim_gpu(args.gpus, log=lambda m: print(m, file=sys.stderr, flush=True))


def cmd_train(args) -> None:
    if args.cell_json:
        cells = [json.loads(args.cell_json)]
        settings = {}
    elif args.cells_json:
        cells = json.loads(args.cells_json)
        if not isinstance(cells, list) or not cells:
            raise WeightspaceError("--cells-json takes a JSON list of cell configs")
        settings = {}
    else:
        if not (args.config and args.cell):
            raise WeightspaceError("train needs --cell-json, --cells-json, or --config and --cell")
        config = _load_validated(args.config)
        cells = [_find_cell(config, args.experiment, cid) for cid in args.cell]
        settings = config
    device = args.device or settings.get("device", "auto")
    _claim_gpu(args, device)  # before torch initializes CUDA

    import torch

    from weightspace.runner import run_cells  # deferred, as in every command below: torch or pandas, when it runs

    # one thread unless asked: what the workflow's jobs use, so a cell trained by hand gives the same numbers
    torch.set_num_threads(args.threads)

    if args.seeds is not None:
        seeds = args.seeds
    elif settings:
        seeds = experiment_seeds(settings, cells[0]["experiment"])
        if any(experiment_seeds(settings, c["experiment"]) != seeds for c in cells):
            raise WeightspaceError("these cells' experiments have different seeds: train them one --cell at a time")
    else:
        seeds = [0]
    import datetime
    import socket

    import os

    names = " ".join(str(c.get("cell")) for c in cells)
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID"):
        where = f" (SLURM job {env['SLURM_ARRAY_JOB_ID']}_{env.get('SLURM_ARRAY_TASK_ID')})"
    else:
        where = f" (SLURM job {env['SLURM_JOB_ID']})" if env.get("SLURM_JOB_ID") else ""
    print(f"=== weightspace train {names} seeds {list(seeds)}: started "
          f"{datetime.datetime.now().isoformat(timespec='seconds')} on {socket.gethostname()}{where}", file=sys.stderr,
          flush=True)
    if args.out and len(cells) > 1:
        raise WeightspaceError("--out names one cell's folder; with several cells give --runs-dir (the folder of "
                               "the cell folders) instead")
    if args.out:
        outs = [args.out]
    elif args.runs_dir:
        outs = [str(Path(args.runs_dir) / c["cell"]) for c in cells]
    else:
        outs = [str(Path(settings.get("results_dir", "results")) / c["experiment"] / "runs" / c["cell"]) for c in cells]
    checkpoint_every = args.checkpoint_every
    if checkpoint_every is None:
        checkpoint_every = settings.get("checkpoint_every_s", 60.0)
    written = run_cells(
        cells,
        seeds,
        outs,
        data_dir=args.data_dir or settings.get("data_dir"),
        device=device,
        download=not args.no_download and settings.get("download", True),
        verify=not args.no_verify and settings.get("verify_data", True),
        memory_limit_gib=args.memory_limit_gib or settings.get("memory_limit_gib", 16.0),
        progress=args.progress,
        checkpoint_every_s=checkpoint_every,
    )
    where = outs[0] if len(outs) == 1 else f"{len(outs)} cell folders under {Path(outs[0]).parent}"
    print(f"wrote {len(written)} run(s) under {where}", file=sys.stderr)


def cmd_aggregate(args) -> None:
    from weightspace.aggregate import aggregate  # deferred: pandas

    curves, final = aggregate(args.runs, args.out)
    print(f"wrote {curves} and {final}", file=sys.stderr)


def cmd_bench_trainer(args) -> None:
    from weightspace.bench import compare_with_naive  # deferred: torch
    from weightspace.runner import resolve_device  # deferred with it

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        rec = compare_with_naive(
            args.dataset, args.data_dir, args.widths, args.epochs, args.batch_size, args.lr, args.seeds,
            args.naive_runs, args.trials, resolve_device(args.device),
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
    except DataError as e:  # the IDX files of mnist / fashion_mnist are missing or damaged
        raise DataError(f"{e}\nWithout them, `weightspace bench trainer --dataset digits` runs offline.") from None
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

    final = pd.read_csv(args.final)
    family = args.family or (final["family"].iloc[0] if "family" in final and len(final) else None)
    if family not in registry.FAMILIES:
        raise WeightspaceError(f"{args.final}: no family column to tell which analysis applies; name it with "
                               f"--family ({', '.join(registry.FAMILIES)})")
    analysis = json.loads(args.analysis_json) if args.analysis_json else {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spec = json.loads(args.comparisons_json) if args.comparisons_json else None
    written = registry.FAMILIES[family].tables(final, analysis, spec, out)
    print("wrote " + ", ".join(map(str, written)), file=sys.stderr)


def _render_config(args) -> dict:
    """The validated config of ``render`` / ``make``: ``--config`` files, or ``--config-json`` (the workflow's)."""
    if bool(args.config) == bool(args.config_json):
        raise WeightspaceError("give the config as --config YAML... (files, later ones override earlier ones) or as "
                               "--config-json (what the workflow passes), one of them")
    if args.config_json:
        return validate(json.loads(args.config_json))
    return _load_validated(args.config)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_render(args) -> None:
    from weightspace.render import render  # deferred: pandas and matplotlib

    written = render(_render_config(args), args.experiment, log=_say)
    _say(f"{args.experiment}: {len(written)} files")


def cmd_make(args) -> None:
    from weightspace.render import make  # deferred: pandas and matplotlib

    keys = dict(kv.split("=", 1) for kv in args.where or [] if "=" in kv)
    bad = [kv for kv in args.where or [] if "=" not in kv]
    if bad:
        raise WeightspaceError(f"--where {bad[0]!r}: expected KEY=VALUE, e.g. dataset=digits")
    make(_render_config(args), args.experiment, args.artifact, keys, log=_say)


def cmd_compare(args) -> int:
    from weightspace.resultsdiff import diff_folders  # deferred: pandas

    identical, lines = diff_folders(args.old, args.new, args.rtol)
    print("\n".join(lines))
    print("identical: every shared column of every table" if identical else "the tables differ (see above)")
    return 0 if identical else 1


def cmd_archive(args) -> None:
    folder = archive_run(args.results, args.name, args.configfile, args.command_line, args.wall_time_s,
                         machine=args.machine, root=args.archive, force=args.force, curves=args.curves)
    print(f"archived {args.results} as {folder}", file=sys.stderr)


def cmd_results_doc(args) -> None:
    from weightspace.resultsdoc import write_docs  # deferred: pandas and the families' analysis

    written = write_docs(Path(args.archive), Path(args.template), Path(args.out), Path(args.tex))
    print("wrote " + " and ".join(map(str, written)), file=sys.stderr)


def cmd_summary(args) -> None:
    from weightspace.run_summary import summary_lines  # deferred: pandas

    if not Path(args.results).is_dir():
        raise WeightspaceError(f"{args.results}: no such folder; give the results_dir of a run (e.g. results/quick)")
    print("\n".join(summary_lines(args.results, args.figures)))


def cmd_validate(args) -> None:
    config = validate_files(*args.config)
    cells = expand(config)
    n_seeds = {name: len(experiment_seeds(config, name)) for name in cells}
    width = max((len(name) for name in cells), default=0)
    for name, exp_cells in cells.items():  # what will run: a preset that only adds an experiment keeps the rest
        exp = config["experiments"][name]
        print(
            f"  {name:<{width}}  {exp['family']:<8}  {len(exp_cells):>5} cells  "
            f"{len(exp_cells) * n_seeds[name]:>6} runs  datasets: {', '.join(exp['datasets'])}"
        )
    n_cells = sum(len(c) for c in cells.values())
    n_runs = sum(len(c) * n_seeds[name] for name, c in cells.items())
    counts = sorted(set(n_seeds.values())) or [len(config["seeds"])]
    each = f"{counts[0]} seeds each" if len(counts) == 1 else f"{', '.join(map(str, counts))} seeds per experiment"
    print(f"config OK: {len(cells)} enabled experiment(s), {n_cells} cells, {n_runs} runs ({each})")
    warning = cuda_warning(config["device"])  # torch asked in a subprocess, only for device cuda
    if warning:
        print(f"weightspace validate: warning: {warning}", file=sys.stderr)


def cmd_plan(args) -> None:
    # deferred: pandas and torch, loaded only by this command
    import os

    import pandas as pd

    from weightspace.estimate import cache_path, job_resources, plan  # deferred: pandas and torch
    from weightspace.plan import train_jobs
    from weightspace.runner import resolve_device

    config = _load_validated(args.config)
    device = resolve_device(args.device or config["device"])
    if args.measure:
        print(f"timing each step shape on {device}, one thread as a job trains (measurements cached in "
              f"{cache_path()}{'; --fresh: measuring again' if args.fresh else ''}) ...", file=sys.stderr)
    df = plan(config, measure=args.measure, device=str(device), log=lambda m: print(m, file=sys.stderr, flush=True),
              fresh=args.fresh)
    if df.empty:
        print("no enabled experiments")
        return
    cols = ["cells", "runs", "steps", "seed_steps"]
    df["cells"] = 1
    df["seed_steps"] = df["steps"] * df["runs"]
    attrs, df.attrs = df.attrs, {}
    summary = df.groupby("experiment", sort=False)[cols].sum()
    jobs = attrs["jobs"]
    summary["jobs"] = [jobs[e] for e in summary.index]
    cells = expand(config)
    tj = train_jobs(config, cells)
    if args.measure:
        gpu = device.type == "cuda"
        unit = "gpu_h" if gpu else "core_h"
        per_job, startup = pd.DataFrame(attrs["train_jobs"]), attrs["startup_s"]
        by = per_job.groupby("experiment", sort=False)
        summary["train_jobs"] = by.size()
        summary["arrays"] = by["rule"].nunique()
        # training jobs as estimated, every other job (aggregate, analysis, figures) one process start-up
        other = summary["jobs"] - summary["train_jobs"]
        summary[unit] = (by["est_s"].sum() + other * attrs["other_startup_s"]) / 3600
        summary["longest_min"] = by["est_s"].max() / 60
        summary["asks_min"] = by.apply(lambda g: g.loc[g["est_s"].idxmax(), "runtime_min"], include_groups=False)
        summary["short"] = by["short"].sum()
    summary.loc["total"] = summary.sum()
    summary.loc["total", "jobs"] += jobs["(data)"]
    if args.measure:
        summary.loc["total", "longest_min"] = summary["longest_min"].iloc[:-1].max()
        summary.loc["total", "asks_min"] = per_job.loc[per_job["est_s"].idxmax(), "runtime_min"]
        summary.loc["total", "arrays"] = per_job["rule"].nunique()
        summary.loc["total", unit] += jobs["(data)"] * attrs["other_startup_s"] / 3600
    ints = [c for c in summary.columns if c not in ("core_h", "gpu_h", "longest_min")]
    summary[ints] = summary[ints].astype(int)
    print(summary.to_string(float_format=lambda x: f"{x:,.2f}"))
    n_jobs = int(summary.loc["total", "jobs"])
    print(f"training: {len(tj)} jobs of up to {config['cells_per_job']} cells (cells_per_job) in "
          f"{len({j.rule for j in tj})} rules (a rule's jobs go to SLURM as one array); {n_jobs} jobs in all")
    if args.measure:
        total_s = summary.loc["total", unit] * 3600
        if gpu:
            import torch

            n_dev, what = max(1, torch.cuda.device_count()), "GPU(s)"
        else:
            n_dev, what = usable_cores(), "cores"
        wall = max(total_s / n_dev, per_job["est_s"].max())
        # a job's own cost per family: a real one-cell job of the family less its cell (else the plain start-up)
        fam = attrs.get("family_job_s") or {}
        own = ", ".join(f"{f} {s:.1f} s" for f, s in sorted(fam.items())) or f"{startup:.1f} s"
        if fam:
            own = f"by family ({own}; else {startup:.1f} s)"
        print(f"estimated on {device} ({'GPU-hours' if gpu else 'core-hours'}: each training job's cells - seed "
              f"batches, steps, test-set evaluations, building the reparameterization - plus its own cost "
              f"{own} and its datasets' loading; every other job its start-up "
              f"{attrs['other_startup_s']:.1f} s): "
              f"{summary.loc['total', unit]:.2f} {'GPU' if gpu else 'core'}-hours; on this machine's {n_dev} {what} "
              f"about {wall / 60:.1f} min wall (jobs in parallel; the longest job alone "
              f"{per_job['est_s'].max() / 60:.1f} min)")
        short = per_job[per_job["short"]]
        if len(short):
            worst = short.loc[(short["est_s"] / 60 / short["runtime_min"]).idxmax()]
            print(f"warning: {len(short)} training job(s) ask a scheduler for less time than estimated here (e.g. "
                  f"{worst['experiment']}/{worst['job']}: {worst['est_s'] / 60:.1f} min estimated, runtime "
                  f"{worst['runtime_min']} min requested by rule {worst['rule']}); on a machine like this one give "
                  f"them more: snakemake --set-resources {worst['rule']}:runtime=<minutes>, or a profile's retries "
                  f"(each attempt asks for the runtime times the attempt)", file=sys.stderr)
    if args.jobs:
        if args.measure:
            table = per_job.assign(est_min=lambda t: t["est_s"] / 60).drop(columns=["est_s"])
        else:
            rows = []
            for j in tj:
                r = job_resources([cells[j.experiment][c] for c in j.cells], len(j.seeds), config)
                rows.append({"rule": j.rule, "experiment": j.experiment, "job": j.name, "cells": len(j.cells), **r})
            table = pd.DataFrame(rows)
        print(table.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    if args.cells:
        print(df.drop(columns=["cells"]).to_string(index=False))


def cmd_cells(args) -> None:
    config = _load_validated(args.config)
    for exp, cells in expand(config).items():
        if args.experiment not in (None, exp):
            continue
        for cid in cells:
            print(f"{exp}\t{cid}")


def cmd_data(args) -> None:
    for name in args.datasets:
        spec = json.loads(args.spec_json) if args.spec_json else None
        ds = data.load(name, args.data_dir, download=not args.no_download, verify=not args.no_verify, spec=spec)
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

    t = sub.add_parser("train", help="train cells (each cell's seeds as one batch)", description=(
        "Train one cell, or several one after another in one process (data loaded once). Give the cells as "
        "JSON (what the workflow does), or name them in a config with --config and --cell (see "
        "`weightspace cells`)."))
    t.add_argument("--cell-json", help="the cell config as JSON")
    t.add_argument("--cells-json", help="a JSON list of cell configs, trained one after another (a workflow job)")
    t.add_argument("--config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
    t.add_argument("--experiment", help="experiment of --cell (if the id is ambiguous)")
    t.add_argument("--cell", nargs="+", help="cell id(s) within --config")
    t.add_argument("--seeds", type=int, nargs="+", help="seeds to train together (default: the config's)")
    t.add_argument("--out", help="output folder of the cell (default: <results_dir>/<experiment>/runs/<cell>)")
    t.add_argument("--runs-dir", help="folder of the cells' folders (<runs-dir>/<cell>); for several cells")
    t.add_argument("--gpus", type=int, default=0, metavar="N",
                   help="claim one of N local GPUs that no other job holds (lock files; sets CUDA_VISIBLE_DEVICES); "
                        "the workflow passes snakemake's --resources gpu=N. Ignored on the CPU, for cuda:N and "
                        "inside a SLURM job")
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

    an = sub.add_parser("analyze", help="final.csv -> the family's statistics tables (its analysis_files)")
    an.add_argument("--final", required=True, help="final.csv from `weightspace aggregate`")
    an.add_argument("--out", required=True, help="folder for the tables")
    an.add_argument("--family", choices=list(registry.FAMILIES), help="default: final.csv's family column")
    an.add_argument("--analysis-json", help="the experiment's `analysis` key as JSON (default: the family's "
                                            "defaults), e.g. '{\"fraction\": 0.9, \"baseline_setting\": {\"lr\": 0.003}}'")
    an.add_argument("--comparisons-json", help="the experiment's comparisons, resolved (as the workflow passes "
                                               "them): also write comparisons.csv and comparisons_aggregate.csv")
    an.set_defaults(func=cmd_analyze)

    names = ", ".join(dict.fromkeys(qualified(f, a) for f in registry.families().values() for a in of_family(f)))
    for name, helps, more in (
        ("render", "an experiment's tables, figures and LaTeX tables from its runs, in one process (the "
                   "workflow's job per experiment)",
         "Aggregate the experiment's runs (curves.csv, final.csv, timings.csv), write its family's analysis and its "
         "comparisons into results/<experiment>/, then every figure and LaTeX table of its family that applies "
         "into figures/<experiment>/."),
        ("make", "remake one figure or table of an experiment from its tables",
         f"Remake one artifact (every instance of it, or those --where chooses) from the tables the experiment "
         f"already has in results/<experiment>/. Artifacts: {names}."),
    ):
        r = sub.add_parser(name, help=helps, description=more)
        if name == "make":
            r.add_argument("artifact", help="<family>.<artifact>, e.g. tying.params, or comparisons")
        r.add_argument("experiment", help="an enabled experiment of the config")
        r.add_argument("--config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
        r.add_argument("--config-json", help="the whole config as JSON (what the workflow passes)")
        if name == "make":
            r.add_argument("--where", nargs="+", metavar="KEY=VALUE",
                           help="only the instances with these keys (dataset=, net=, variant=, cell=, ...)")
        r.set_defaults(func=cmd_render if name == "render" else cmd_make)

    be = sub.add_parser("bench", help="benchmarks (`weightspace bench <name> --help`)")
    bench = be.add_subparsers(dest="bench", required=True, metavar="BENCH")
    bt = bench.add_parser("trainer", help="the naive training loop (DataLoader, one seed at a time) vs the trainer",
                                 description="Time the same fc training (epochs over the training set, a test pass "
                                             "per epoch) in the naive loop and in the trainer, seeds batched; prints "
                                             "the time per run and the speed-up. `--dataset digits` needs no files.")
    bt.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist", "digits"],
                    help="mnist and fashion_mnist read the real IDX files (docs/performance.md's numbers); digits is "
                         "scikit-learn's 8x8 digits, offline (default: %(default)s)")
    bt.add_argument("--data-dir", help="dataset folder for mnist and fashion_mnist (the real files are needed: the "
                                       "naive loop reads them; default: $WEIGHTSPACE_DATA, ./data); digits reads none")
    bt.add_argument("--widths", type=int, nargs="+", default=[200, 200],
                    help="hidden layer widths of the fc net (default: %(default)s)")
    bt.add_argument("--epochs", type=int, default=2, help="passes over the training set per run (default: %(default)s)")
    bt.add_argument("--batch-size", type=int, default=256,
                    help="minibatch size; the last partial batch of an epoch is dropped (default: %(default)s)")
    bt.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (default: %(default)s)")
    bt.add_argument("--seeds", type=int, default=10, help="seeds the trainer batches (default: %(default)s)")
    bt.add_argument("--naive-runs", type=int, default=1, help="naive runs per trial (default: %(default)s)")
    bt.add_argument("--trials", type=int, default=3,
                    help="repetitions of both loops; the medians are reported (default: %(default)s)")
    bt.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: %(default)s)")
    bt.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's own choice)")
    bt.add_argument("--out", help="write the record (times, speed-up, machine) as JSON here")
    bt.set_defaults(func=cmd_bench_trainer)
    for family in registry.families().values():
        family.add_bench(bench)

    cp = sub.add_parser("compare", help="compare the tables of two results folders (exit 1 if a number moved)")
    cp.add_argument("old", help="a results folder, e.g. a copy of results/quick from before a change")
    cp.add_argument("new", help="the results folder to compare with it")
    cp.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for numbers (default 0: exact)")
    cp.set_defaults(func=cmd_compare)

    ar = sub.add_parser("archive", help="copy a finished run's per-seed tables, config files and provenance into "
                                        "the results archive (results-archive/<name>/)")
    ar.add_argument("results", help="the run's results folder (results_dir), e.g. results/mnist-tying")
    ar.add_argument("--name", required=True, help="the run's name in the archive, e.g. mnist-tying")
    ar.add_argument("--configfile", nargs="+", required=True, metavar="YAML",
                    help="every config file of the run, in Snakemake's order (config.yaml first)")
    ar.add_argument("--command", dest="command_line", required=True, metavar="COMMAND",
                    help="the command that made the run")
    ar.add_argument("--wall-time-s", type=float, required=True, help="the run's wall-clock time in seconds")
    ar.add_argument("--machine", help="where it ran, in words (needed when no run has a summary.json)")
    ar.add_argument("--archive", default="results-archive", help="the archive folder (default: %(default)s)")
    ar.add_argument("--force", action="store_true", help="replace an archived run of the same name")
    ar.add_argument("--curves", action="store_true", help="also archive curves.csv (megabytes; where the docs use a "
                                                          "training curve)")
    ar.set_defaults(func=cmd_archive)

    rd = sub.add_parser("results-doc", help="docs/results.md and its LaTeX numbers from the results archive (no "
                                            "training)")
    rd.add_argument("--archive", default="results-archive", help="the archive folder (default: %(default)s)")
    rd.add_argument("--template", default="docs/results.md.in", help="the prose with placeholders "
                                                                    "(default: %(default)s)")
    rd.add_argument("--out", default="docs/results.md", help="the Markdown to write (default: %(default)s)")
    rd.add_argument("--tex", default="docs/results-numbers.tex", help="the LaTeX numbers to write "
                                                                     "(default: %(default)s)")
    rd.set_defaults(func=cmd_results_doc)

    su = sub.add_parser("summary", help="what a run made: where its tables, figures and report are, and each "
                                        "experiment's headline, read from its tables (printed at the end of a run)")
    su.add_argument("results", help="the run's results folder (results_dir), e.g. results/quick")
    su.add_argument("--figures", help="the run's figures folder (figures_dir), e.g. figures/quick")
    su.set_defaults(func=cmd_summary)

    v = sub.add_parser("validate", help="check a config (and presets) without running anything")
    v.add_argument("config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
    v.set_defaults(func=cmd_validate)

    pn = sub.add_parser("plan", help="cells, runs, steps and (with --measure) estimated device time of a config")
    pn.add_argument("config", nargs="+", metavar="YAML", help="config file(s), later ones override earlier ones")
    pn.add_argument("--measure", action="store_true", help="time each step shape on this device (cached per device "
                                                           "and torch version) and estimate every job")
    pn.add_argument("--fresh", action="store_true", help="with --measure: ignore the measurement cache")
    pn.add_argument("--device", help="auto | cpu | cuda (default: the config's)")
    pn.add_argument("--cells", action="store_true", help="also print one line per cell")
    pn.add_argument("--jobs", action="store_true", help="also print one line per training job: its rule, cells and "
                                                       "the resources it asks a scheduler for")
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
    d.add_argument("--spec-json", help="a config-defined dataset's description (as a cell's dataset_spec)")
    d.set_defaults(func=cmd_data)
    return p


def _not_writable(e: OSError) -> str:
    """One line for a permission error (e.g. a results folder made read-only while a job runs): the folder."""
    path = Path(e.filename) if e.filename else None
    if path is None:
        return f"{e.strerror or e}; make the output folders writable and re-run the same command"
    folder = path if path.is_dir() else path.parent
    return (f"cannot write in {folder} ({e.strerror or 'permission denied'}: {path.name}); make it writable "
            f"(e.g. chmod u+w {folder}) and re-run the same command")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
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
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        print(f"weightspace {args.command}: error: {_not_writable(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"weightspace {args.command}: interrupted", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
