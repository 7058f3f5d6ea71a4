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
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any, Callable

import pandas as pd

from weightspace.config import expand, experiment_seeds
from weightspace.data import DATASETS

__all__ = ["plan", "cell_steps", "count_jobs", "job_startup_s"]


def cell_steps(cell: dict) -> tuple[int, int]:
    """(training steps, evaluations) of one cell, as the trainer will run it."""
    t = cell["train"]
    n_train = DATASETS[cell["dataset"]].n_train
    batch = min(t["batch_size"], n_train)
    per_epoch = n_train // batch
    evals = t["epochs"] * min(t["evals_per_epoch"], per_epoch) + 1
    return per_epoch * t["epochs"], evals


def _size_key(cell: dict) -> str | None:
    from weightspace.families import REPARAMS

    return REPARAMS[cell["variant"]["reparam"]].size_key


def _group_key(cell: dict) -> tuple:
    """Cells whose steps cost the same up to their size option: dataset, net, reparam, other options, batch."""
    v = cell["variant"]
    options = {k: x for k, x in v.items() if k not in ("name", _size_key(cell))}
    return (cell["dataset"], cell["net"]["name"], json.dumps(options, sort_keys=True), cell["train"]["batch_size"])


def count_jobs(config: dict) -> dict[str, int]:
    """Jobs per experiment the workflow runs: a training job per cell, aggregate, the family's analysis, one
    job per figure or table, and one for the comparisons' table and figure; datasets are prepared once
    (``"(data)"``)."""
    from pathlib import Path

    from weightspace.families import FAMILIES

    jobs: dict[str, int] = {}
    datasets = set()
    for exp, cells in expand(config).items():
        e = config["experiments"][exp]
        figures = FAMILIES[e["family"]].outputs(exp, cells, e, Path(config["figures_dir"]))
        extra = 1 if e.get("cost") else 0  # a benchmark job feeds the cost figure
        extra += FAMILIES[e["family"]].extra_jobs(e)
        jobs[exp] = len(cells) + 3 + len(figures) + extra
        datasets |= {c["dataset"] for c in cells.values()}
    jobs["(data)"] = len(datasets)
    return jobs


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
    from weightspace.bench import step_cost
    from weightspace.families import REPARAMS
    from weightspace.netspec import net_spec_for

    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, key in enumerate(df["_key"]):
        groups[key].append(i)
    est = pd.Series(0.0, index=df.index)
    for key, idx in groups.items():
        dataset, net_name, _, batch = key
        info = DATASETS[dataset]
        cell = df.loc[idx[0], "_cell"]
        spec = REPARAMS[cell["variant"]["reparam"]]
        net = net_spec_for(cell["net"], info.input_shape, info.n_outputs)
        sizes = sorted({int(df.loc[i, "_size"]) for i in idx if pd.notna(df.loc[i, "_size"])}) or [None]
        probes = sorted({sizes[0], sizes[-1]}, key=lambda x: x or 0)
        timed = {}
        for size in probes:
            variant = dict(cell["variant"], **({spec.size_key: size} if size is not None else {}))
            fits = max(1, min(seeds, int(memory_limit_gib * 2**30 // max(1, spec.memory(variant, net, 1)))))
            r = step_cost(cell["net"], dataset, variant, seeds=fits, batch_size=min(batch, info.n_train),
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
