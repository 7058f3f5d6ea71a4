"""How big a config is before it runs: cells, runs, steps, jobs, and (measured) time.

Without measurement, :func:`plan` counts cells, runs and training steps from
the config alone (dataset sizes come from the dataset registry, nothing is
loaded), and the workflow's jobs (training, data preparation, aggregation,
each family's analysis, figures and tables). With ``measure=True`` it times a
few training steps on this machine for every group of cells that share a
dataset, net, reparameterization and options (at the smallest and largest
value of the option a step's cost grows with, ``d`` or ``k``, seeds batched as
the workflow batches them), interpolates linearly between them, and adds up
steps x time plus the test-set evaluations; and it times the start-up of one
job process (Python, torch and the package imported), which every job of the
workflow pays and which dominates small presets.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from weightspace import registry
from weightspace.config import expand, experiment_seeds
from weightspace.data import cell_info
from weightspace.netspec import net_spec_for

__all__ = ["plan", "cell_steps", "count_jobs", "job_startup_s", "TrainJob", "train_jobs", "job_resources",
           "cell_seconds", "run_files", "targets"]


def cell_steps(cell: dict) -> tuple[int, int]:
    """(training steps, evaluations) of one cell, as the trainer will run it."""
    t = cell["train"]
    n_train = cell_info(cell).n_train
    batch = min(t["batch_size"], n_train)
    per_epoch = n_train // batch
    evals = t["epochs"] * min(t["evals_per_epoch"], per_epoch) + 1
    return per_epoch * t["epochs"], evals


def _size_key(cell: dict) -> str | None:
    return registry.REPARAMS[cell["variant"]["reparam"]].size_key


def _group_key(cell: dict) -> tuple:
    """Cells whose steps cost the same up to their size option: dataset, net, reparam, other options, batch."""
    v = cell["variant"]
    options = {k: x for k, x in v.items() if k not in ("name", _size_key(cell))}
    return (cell["dataset"], cell["net"]["name"], json.dumps(options, sort_keys=True), cell["train"]["batch_size"])


@dataclass(frozen=True)
class TrainJob:
    """The cells one training job trains, one after another in one process.

    The cells of a job share an experiment, a dataset and a net (loaded and built once); their ids are
    ``prefix + suffix`` with ``prefix`` = ``<dataset>__<net>__``. ``rule`` is the workflow rule that runs it:
    jobs with the same experiment, position and suffixes (e.g. the same variants on another dataset) share one
    rule, so a cluster gets them as one job array.
    """

    experiment: str
    family: str
    prefix: str
    suffixes: tuple[str, ...]
    part: int  # 1, 2, ...: the position of this job among those of its experiment, dataset and net
    seeds: tuple[int, ...]
    rule: str = ""

    @property
    def cells(self) -> list[str]:
        return [self.prefix + s for s in self.suffixes]

    @property
    def name(self) -> str:
        """Unique within the experiment: ``<dataset>__<net>__part<N>`` (its log file's name)."""
        return f"{self.prefix}part{self.part}"


def _split(items: list, k: int) -> list[list]:
    """``items`` in ceil(n / k) consecutive parts of (nearly) equal size, none over ``k``."""
    n_parts = max(1, math.ceil(len(items) / k))
    size, extra = divmod(len(items), n_parts)
    out, i = [], 0
    for j in range(n_parts):
        m = size + (1 if j < extra else 0)
        out.append(items[i : i + m])
        i += m
    return out


def train_jobs(config: dict, cells: dict | None = None) -> list[TrainJob]:
    """The workflow's training jobs: per experiment and (dataset, net), its cells in config order, in parts of at
    most ``cells_per_job`` cells (sizes as equal as they can be), each part one job; ``rule`` names the rule
    (``train_<family>``, ``train_<family>_2``, ...) shared by the jobs with the same experiment, part and
    suffixes."""
    cells = expand(config) if cells is None else cells
    k = config.get("cells_per_job", 1)
    jobs: list[TrainJob] = []
    rules: dict[tuple, str] = {}
    per_family: dict[str, int] = defaultdict(int)
    for exp, exp_cells in cells.items():
        family = config["experiments"][exp]["family"]
        seeds = tuple(experiment_seeds(config, exp))
        groups: dict[str, list[str]] = {}
        for cid, c in exp_cells.items():
            prefix = f"{c['dataset']}__{c['net']['name']}__"
            if not cid.startswith(prefix):  # cell ids are <dataset>__<net>__<variant>[__<swept>] (config.cell_id)
                raise ValueError(f"cell id {cid!r} does not start with {prefix!r}")
            groups.setdefault(prefix, []).append(cid[len(prefix) :])
        for prefix, suffixes in groups.items():
            for part, chunk in enumerate(_split(suffixes, k), start=1):
                key = (family, seeds, exp, part, tuple(chunk))
                if key not in rules:
                    per_family[family] += 1
                    n = per_family[family]
                    rules[key] = f"train_{family}" + (f"_{n}" if n > 1 else "")
                jobs.append(TrainJob(exp, family, prefix, tuple(chunk), part, seeds, rules[key]))
    return jobs


#: what the runtime estimate assumes of a device (deliberately slow: a request must not be too short)
_DEVICE = {
    "cpu": {"flops": 2e9, "bytes": 5e9, "step_s": 1.5e-3},  # one thread
    "cuda": {"flops": 2e11, "bytes": 2e11, "step_s": 4e-4},  # a small share of a GPU; launch-bound for small nets
}


def cell_seconds(cell: dict, n_seeds: int, device: str = "cpu") -> float:
    """A rough, generous estimate of one cell's training time without timing anything (``plan --measure``
    measures): per step and seed, 6 x batch x the net's multiply-adds (a convolution's
    weights at every input position), the fixed and trained tensors read a few times,
    plus a per-step overhead; the test-set evaluations on top."""
    info = cell_info(cell)
    net = net_spec_for(cell["net"], info.input_shape, info.n_outputs)
    spec = registry.REPARAMS[cell["variant"]["reparam"]]
    dev = _DEVICE["cuda" if device.startswith("cuda") or device == "auto" else "cpu"]
    steps, evals = cell_steps(cell)
    batch = min(cell["train"]["batch_size"], info.n_train)
    spatial = math.prod(info.input_shape[1:] or (1,))
    macs, positions = 0, spatial  # a convolution's weight is applied at every position (pooled by 2 after each)
    for w in net.spec.values():
        if len(w.shape) > 2:
            macs += w.numel * positions
            positions = max(1, positions // 4)
        else:
            macs += w.numel
    flops = 6 * batch * macs * n_seeds
    traffic = 4 * spec.memory(cell["variant"], net, n_seeds)
    step = dev["step_s"] + max(flops / dev["flops"], traffic / dev["bytes"])
    evaluation = (info.n_test / batch) * step / 3
    return steps * step + evals * evaluation


def job_resources(job_cells: list[dict], n_seeds: int, config: dict) -> dict[str, int]:
    """What a training job asks a scheduler for: ``runtime`` (minutes), ``mem_mb``, ``threads``, ``gpu``.

    Runtime: start-up plus twice :func:`cell_seconds` summed over the cells, at least 10 minutes (a profile's
    retries scale it by the attempt). Memory: Python and torch, the dataset, and the seeds' tensors (as many
    seeds as ``memory_limit_gib`` lets the trainer batch) four times over (gradients, optimizer state,
    activations), capped at what ``memory_limit_gib`` allows. One thread: a job trains with one (the numbers
    of a cell then do not depend on the machine). ``gpu``: 1 when the config's device is CUDA.
    """
    device = config.get("device", "auto")
    gpu = 1 if device.startswith("cuda") else 0
    seconds = 60 + sum(cell_seconds(c, n_seeds, "cuda" if gpu else "cpu") for c in job_cells)
    limit = config.get("memory_limit_gib", 16)
    tensors = 0.0
    data = 0.0
    for c in job_cells:
        info = cell_info(c)
        net = net_spec_for(c["net"], info.input_shape, info.n_outputs)
        spec = registry.REPARAMS[c["variant"]["reparam"]]
        per_seed = spec.memory(c["variant"], net, 1)
        fits = max(1, min(n_seeds, int(limit * 2**30 // max(1, per_seed))))
        tensors = max(tensors, 4 * per_seed * fits)
        data = max(data, 4 * (info.n_train + info.n_test) * math.prod(info.input_shape))
    mem_mb = 1024 + (2048 if gpu else 0) + (data + tensors) / 2**20
    mem_mb = min(mem_mb, 2048 + 1024 * limit)
    return {
        "runtime": max(10, math.ceil(2 * seconds / 60)),
        "mem_mb": int(math.ceil(mem_mb / 256) * 256),
        "threads": 1,
        "gpu": gpu,
    }


def count_jobs(config: dict) -> dict[str, int]:
    """Jobs per experiment the workflow runs: its training jobs (:func:`train_jobs`: ``cells_per_job`` cells
    each), aggregate, the family's analysis, one job per figure or table, and one for the comparisons' table
    and figure; datasets are prepared once
    (``"(data)"``)."""
    from pathlib import Path

    jobs: dict[str, int] = {}
    datasets = set()
    all_cells = expand(config)
    n_train = defaultdict(int)
    for job in train_jobs(config, all_cells):
        n_train[job.experiment] += 1
    for exp, cells in all_cells.items():
        e = config["experiments"][exp]
        figures = registry.FAMILIES[e["family"]].outputs(exp, cells, e, Path(config["figures_dir"]))
        extra = 1 if e.get("cost") else 0  # a benchmark job feeds the cost figure
        extra += registry.FAMILIES[e["family"]].extra_jobs(e)
        jobs[exp] = n_train[exp] + 3 + len(figures) + extra
        datasets |= {c["dataset"] for c in cells.values()}
    jobs["(data)"] = len(datasets)
    return jobs


def run_files(config: dict, experiment: str, cells: dict, names=("summary.json",)) -> list[str]:
    """The per-seed files ``names`` of every cell of an experiment (``cells``: its cells, by id)."""
    from pathlib import Path

    runs = Path(config["results_dir"]) / experiment / "runs"
    seeds = experiment_seeds(config, experiment)
    return [str(runs / cid / f"seed-{s}" / name) for cid in cells for s in seeds for name in names]


def targets(config: dict, cells: dict | None = None) -> list[str]:
    """Every file the workflow's default run (``rule all``) makes, so that any of them, deleted, is made again.

    Per experiment: each run's files (metrics.csv, summary.json, the family's run_files), the aggregated tables
    (final.csv, curves.csv, timings.csv), the family's analysis tables, the comparisons (comparisons.csv,
    comparisons_aggregate.csv, their LaTeX table and figure), and the figures and tables the family lists, each
    figure as its PDF and PNG (one job writes both). Snakemake re-makes a missing file only if a target needs
    it, not when the files made from it are present: a table or run file left out of here stays deleted.
    """
    from pathlib import Path

    results, figures = Path(config["results_dir"]), Path(config["figures_dir"])
    out: list[str] = []
    for exp, exp_cells in (expand(config) if cells is None else cells).items():
        e = config["experiments"][exp]
        family = registry.FAMILIES[e["family"]]
        out += run_files(config, exp, exp_cells, ("metrics.csv", "summary.json", *family.run_files))
        tables = ("final.csv", "curves.csv", "timings.csv", *family.analysis_files, "comparisons.csv",
                  "comparisons_aggregate.csv")
        out += [str(results / exp / name) for name in tables]
        shown = [str(figures / exp / "comparisons.tex"), str(figures / exp / "comparisons.png"),
                 *family.outputs(exp, exp_cells, e, figures)]
        for path in shown:  # a figure: its PDF and its PNG
            out += [path.removesuffix(".png") + ".pdf", path] if path.endswith(".png") else [path]
    return out


def job_startup_s(repeats: int = 2) -> float:
    """Seconds a fresh job process takes to start: Python, torch, pandas, matplotlib and the package (median)."""
    code = "import torch, pandas, matplotlib; import weightspace.runner, weightspace.train.loop, weightspace.cli"
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def plan(config: dict, measure: bool = False, device: str = "cpu", log: Callable[[str], None] = print) -> pd.DataFrame:
    """One row per cell: steps, evaluations, runs and (if measured) estimated seconds.

    Args:
        config: a validated config.
        measure: time representative steps on ``device`` to estimate durations.
    Returns:
        the table; ``attrs["jobs"]`` holds :func:`count_jobs`, and with ``measure``
        ``attrs["startup_s"]`` the measured start-up of one job process.
    """
    rows: list[dict[str, Any]] = []
    for exp, cells in expand(config).items():
        seeds = len(experiment_seeds(config, exp))
        for cid, c in cells.items():
            steps, evals = cell_steps(c)
            key = _size_key(c)
            rows.append({
                "experiment": exp, "cell": cid, "dataset": c["dataset"], "net": c["net"]["name"],
                "variant": c["variant"]["name"], "reparam": c["variant"]["reparam"],
                "size": f"{key}={c['variant'][key]}" if key and key in c["variant"] else "",
                "_size": c["variant"].get(key) if key else None,
                "runs": seeds, "steps": steps, "evals": evals, "_key": _group_key(c), "_cell": c,
            })
    df = pd.DataFrame(rows)
    jobs = count_jobs(config)
    if measure and not df.empty:
        df["est_s"] = _estimate(df, seeds, device, config["memory_limit_gib"], log)
    df = df.drop(columns=["_key", "_cell", "_size"]) if not df.empty else df
    df.attrs["jobs"] = jobs
    if measure:
        df.attrs["startup_s"] = job_startup_s()
    return df


def _estimate(df: pd.DataFrame, seeds: int, device: str, memory_limit_gib: float, log) -> pd.Series:
    from weightspace.bench import step_cost  # deferred: torch, only to measure

    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, key in enumerate(df["_key"]):
        groups[key].append(i)
    est = pd.Series(0.0, index=df.index)
    for key, idx in groups.items():
        dataset, net_name, _, batch = key
        cell = df.loc[idx[0], "_cell"]
        info = cell_info(cell)
        spec = registry.REPARAMS[cell["variant"]["reparam"]]
        net = net_spec_for(cell["net"], info.input_shape, info.n_outputs)
        sizes = sorted({int(df.loc[i, "_size"]) for i in idx if pd.notna(df.loc[i, "_size"])}) or [None]
        probes = sorted({sizes[0], sizes[-1]}, key=lambda x: x or 0)
        timed = {}
        for size in probes:
            variant = dict(cell["variant"], **({spec.size_key: size} if size is not None else {}))
            fits = max(1, min(seeds, int(memory_limit_gib * 2**30 // max(1, spec.memory(variant, net, 1)))))
            r = step_cost(cell["net"], info, variant, seeds=fits, batch_size=min(batch, info.n_train),
                          steps=5, repeats=1, warmup=2, device=device, epochs=cell["train"]["epochs"])
            timed[size] = r["step_s_median"] * (seeds / fits)  # seeds beyond what fits run as extra batches
            options = " ".join(f"{k}={v}" for k, v in cell["variant"].items() if k not in ("name", "reparam", spec.size_key))
            log(f"  {dataset}/{net_name}/{spec.name}{' ' + options if options else ''}"
                f"{f' {spec.size_key}={size}' if size else ''}: {1e3 * timed[size]:.2f} ms per step ({seeds} seeds)")
        for i in idx:
            size = df.loc[i, "_size"]
            if pd.isna(size) or len(timed) == 1:
                t = next(iter(timed.values()))
            else:
                (d0, t0), (d1, t1) = sorted(timed.items())
                t = t0 + (t1 - t0) * (float(size) - d0) / (d1 - d0)
            eval_cost = df.loc[i, "evals"] * t * 0.4 * info.n_test / max(1, min(batch, info.n_train))
            est[i] = df.loc[i, "steps"] * t + eval_cost
    return est
