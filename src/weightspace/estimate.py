"""How long a config takes before it runs: cells, runs, steps, and (measured) time.

Without measurement, :func:`plan` counts cells, runs and training steps from
the config alone (dataset sizes come from the dataset registry, nothing is
loaded), and the workflow's jobs (:func:`weightspace.plan.count_jobs`). With
``measure=True`` it times each :func:`step_shape` once on this device, one
thread as a job trains (:func:`_probe`: at one and two seeds, at the smallest
size and the largest that fits :data:`PROBE_BYTES`), models every cell from
that at its own experiment's seeds (:func:`_model`), and adds a training job's
start-up and its dataset's loading; measurements are cached per device
(:class:`Measurements`). :func:`job_resources` is what a training job asks a
scheduler for, from :func:`cell_seconds`, an estimate that times nothing.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from weightspace import registry
from weightspace.config import expand, experiment_seeds
from weightspace.data import cache_root, cell_info, load
from weightspace.errors import WeightspaceError
from weightspace.io import cpu_name, usable_cores, write_json
from weightspace.netspec import net_spec_for
from weightspace.plan import count_jobs, train_jobs
from weightspace.sizes import seeds_that_fit

__all__ = ["plan", "cell_steps", "job_startup_s", "job_resources", "cell_seconds", "step_shape", "Measurements",
           "cache_path"]


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
        fits = min(n_seeds, seeds_that_fit(per_seed, limit))
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


def job_startup_s(repeats: int = 2, training: bool = True) -> float:
    """Seconds a fresh job process takes before its work: Python, torch, pandas, matplotlib and the package
    imported (a render job); with ``training``, also the families, the provenance every run records and an
    optimizer's first step, as a training job. The median of ``repeats``, in CPU time (what a quiet core takes,
    whatever else loads this machine)."""
    code = "import torch, pandas, matplotlib; import weightspace.runner, weightspace.train.loop, weightspace.cli"
    if training:
        code += ("; import weightspace.families; from weightspace.io import provenance; provenance(torch.device('cpu'))"
                 "; from weightspace.train.step import make_optimizer; from weightspace.train.config import TrainConfig"
                 "; p = torch.nn.Parameter(torch.ones(2)); o = make_optimizer([p], TrainConfig(), torch.device('cpu'))"
                 "; p.sum().backward(); o.step()")
    times = [_child_cpu_s([sys.executable, "-c", code]) for _ in range(repeats)]
    return sorted(times)[len(times) // 2]


def family_job_s(cell: dict, data_dir: str | None, device: str) -> float | None:
    """CPU seconds (its process's; on a GPU without the device's time) of a real training job of one cell
    (``weightspace train``, one seed, as the workflow runs it: its process, the family's modules, the data, the
    cell's build, steps, evaluations, its ``examine`` and its files), or None when it cannot run here (e.g. the
    dataset's files are missing). :func:`_estimate` runs it with the cheapest cell of each family for one epoch:
    what a job of that family costs besides its cells' probed training."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ws-plan-") as out:
        cmd = [sys.executable, "-m", "weightspace", "train", "--cell-json", json.dumps(cell), "--seeds", "0",
               "--out", out, "--device", device, "--threads", "1", "--no-progress", "--no-download"]
        if data_dir:
            cmd += ["--data-dir", str(data_dir)]
        try:
            return _child_cpu_s(cmd, quiet=True)
        except subprocess.CalledProcessError:
            return None


def _child_cpu_s(cmd: list[str], quiet: bool = False, timeout_s: float = 600.0) -> float:
    """CPU seconds (user and system) that the process ``cmd`` took: a start-up as a quiet core gives it, whatever
    else this process runs meanwhile (its own rusage, from ``wait4``; the probe workers' are not in it)."""
    import threading

    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if quiet else {}
    proc = subprocess.Popen(cmd, **quiet)
    killer = threading.Timer(timeout_s, proc.kill)  # a hung child (a lock, a device) fails, not the planner
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return usage.ru_utime + usage.ru_stime


# ---- measuring: each step shape at one or two seeds, cached per device ----

#: the most a probe's reparameterization may hold per seed (its fixed and trained tensors, as the family's
#: ``memory`` counts them): a dense projection of d = 2000 on a 656,810-weight net is 5 GB a seed, and the
#: QR span of d = 1000 on 199,210 weights a minute's factorisation; a step's cost of a larger size is
#: extrapolated linearly from the two sizes the probe times
PROBE_BYTES = 128 * 2**20
#: a change to how probes are measured makes older cache entries stale
_PROBE_VERSION = 4


def cache_path() -> Path:
    """The measurement cache: ``plan-measurements.json`` in the user cache folder the datasets already use
    (``$WEIGHTSPACE_CACHE``, else ``$XDG_CACHE_HOME/weightspace``, else ``~/.cache/weightspace``). A timing
    belongs to the machine and its software, not to a config or a results folder: it carries over between
    presets, configs and results folders, and survives deleting a results folder."""
    return cache_root() / "plan-measurements.json"


def device_name(device: str) -> str:
    """The device as a cache key: a GPU's model, else the CPU's model name (:func:`weightspace.io.cpu_name`)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return cpu_name()


class Measurements:
    """Probe results by key, for one device and torch version, read from and written to :func:`cache_path`.

    ``fresh``: ignore what the file holds (it is overwritten with what this run measures).
    """

    def __init__(self, device: str, fresh: bool = False, path: Path | None = None):
        import torch

        self.path = path or cache_path()
        self.prefix = (f"v{_PROBE_VERSION} | {device_name(device)} | torch {torch.__version__} | 1 thread, "
                       f"{probe_workers(device)} at a time | ")
        self.entries: dict[str, dict] = {}
        if self.path.exists() and not fresh:
            try:
                self.entries = json.loads(self.path.read_text())
            except (OSError, ValueError) as e:
                raise WeightspaceError(f"measurement cache {self.path} is unreadable ({e}); delete it or run "
                                       f"`weightspace plan --measure --fresh`") from None

    def get(self, key: str) -> dict | None:
        return self.entries.get(self.prefix + key)

    def put(self, key: str, value: dict) -> None:
        self.entries[self.prefix + key] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.path, self.entries)


def step_shape(cell: dict) -> str:
    """What a training step's cost depends on, but the size option (``d`` or ``k``): the input shape, outputs
    and task, the known structure (a teacher's kind), the net's architecture (not its name), the variant's
    options (not its name) and the batch. Cells that differ only by dataset name (MNIST and Fashion-MNIST;
    a teacher's sample-size sweep) or by experiment share one."""
    info = cell_info(cell)
    options = {k: x for k, x in cell["variant"].items() if k not in ("name", _size_key(cell))}
    net = {k: x for k, x in cell["net"].items() if k != "name"}
    return json.dumps({
        "input": list(info.input_shape), "outputs": info.n_outputs, "task": info.task,
        "structure": {k: str(x) for k, x in (info.structure or {}).items()}, "net": net, "variant": options,
        "batch": min(cell["train"]["batch_size"], info.n_train), "threads": 1,
    }, sort_keys=True)


def _label(cell: dict) -> str:
    key = _size_key(cell)
    options = " ".join(f"{k}={v}" for k, v in cell["variant"].items() if k not in ("name", "reparam", key))
    return f"{cell['dataset']}/{cell['net']['name']}/{cell['variant']['reparam']}{' ' + options if options else ''}"


def _probes(cell: dict, sizes: list, seed_counts: set[int]) -> list[tuple[Any, int]]:
    """(size, seeds) to time for one step shape: the smallest size at one seed and (where a cell trains more
    than one and two seeds fit :data:`PROBE_BYTES`) at two, for the cost of each further seed; and the largest
    size whose tensors fit :data:`PROBE_BYTES`, at one seed."""
    fitting = [x for x in sizes if _probe_bytes(cell, x, 1) <= PROBE_BYTES] or sizes[:1]
    two = max(seed_counts) > 1 and 2 * _probe_bytes(cell, sizes[0], 1) <= PROBE_BYTES
    probes = [(sizes[0], 1)] + ([(sizes[0], 2)] if two else [])
    return probes + ([(fitting[-1], 1)] if fitting[-1] != sizes[0] else [])


def _probe(cell: dict, size, seeds: int, device: str) -> dict:
    """One probe: seconds per step, per evaluated test example and to build the reparameterization, on one
    thread as the workflow's jobs train; on the CPU in the process's CPU time, which is what a quiet core
    takes even while other work loads this machine (a GPU is timed by the clock, synchronised)."""
    import torch

    from weightspace.bench import step_cost  # deferred: torch, only to measure

    info = cell_info(cell)
    key = _size_key(cell)
    variant = dict(cell["variant"], **({key: size} if size is not None else {}))
    examples = min(info.n_test, 500)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        r = step_cost(cell["net"], info, variant, seeds=seeds,
                      batch_size=min(cell["train"]["batch_size"], info.n_train), steps=1, repeats=3, warmup=2,
                      device=device, epochs=cell["train"]["epochs"], min_time_s=0.02, eval_examples=examples,
                      clock=time.perf_counter if device.startswith("cuda") else time.process_time)
    finally:
        torch.set_num_threads(threads)
    return {"step_s": r["step_s_median"], "eval_s_per_example": r["eval_s"] / examples, "build_s": r["build_s"]}


def _model(timed: dict[tuple, dict], size, seeds: int, field: str) -> float:
    """``field`` at ``size`` and ``seeds`` from the probes ``timed`` ((size, seeds) -> record): one seed's cost
    interpolated (or extrapolated) linearly in the size between the probed sizes, times 1 + (seeds - 1) x the
    cost of each further seed as a share of the first (two seeds' probe minus one seed's, between 0 and 1, at
    the smallest size; 1 where two seeds were not probed: every seed then costs what the first does)."""
    one = {x: r[field] for (x, n), r in timed.items() if n == 1}
    two = {x: r[field] for (x, n), r in timed.items() if n == 2}
    share = {x: min(1.0, max(0.0, two[x] - one[x]) / one[x]) if one[x] > 0 else 1.0 for x in two}
    return _line(one, size) * (1 + (seeds - 1) * (_line(share, size) if share else 1.0))


def _line(points: dict, x) -> float:
    """The straight line through the smallest and largest key of ``points`` at ``x`` (not below the lower)."""
    keys = sorted(points, key=lambda k: k or 0)
    if len(keys) == 1 or x is None:
        return points[keys[0]]
    (x0, y0), (x1, y1) = (keys[0], points[keys[0]]), (keys[-1], points[keys[-1]])
    return max(min(y0, y1), y0 + (y1 - y0) * (float(x) - x0) / (x1 - x0))


def plan(config: dict, measure: bool = False, device: str = "cpu", log: Callable[[str], None] = print,
         fresh: bool = False) -> pd.DataFrame:
    """One row per cell: steps, evaluations, runs (its experiment's seeds) and (if measured) estimated seconds.

    Args:
        config: a validated config.
        measure: time representative steps on ``device`` (each step shape once, see :func:`step_shape`;
            cached per device, :class:`Measurements`) to estimate durations.
        fresh: measure again, ignoring the cache.
    Returns:
        the table; ``attrs["jobs"]`` holds :func:`weightspace.plan.count_jobs`, and with ``measure``
        ``attrs["startup_s"]`` the start-up of a training job's process (``other_startup_s``: of any other
        job, which imports less), ``attrs["load_s"]`` each dataset's loading
        time and ``attrs["train_jobs"]`` one record per training job (its estimate and the runtime it requests).
    """
    rows: list[dict[str, Any]] = []
    all_cells = expand(config)
    for exp, cells in all_cells.items():
        seeds = len(experiment_seeds(config, exp))
        for cid, c in cells.items():
            steps, evals = cell_steps(c)
            key = _size_key(c)
            rows.append({
                "experiment": exp, "cell": cid, "dataset": c["dataset"], "net": c["net"]["name"],
                "variant": c["variant"]["name"], "reparam": c["variant"]["reparam"],
                "size": f"{key}={c['variant'][key]}" if key and key in c["variant"] else "",
                "runs": seeds, "steps": steps, "evals": evals, "_cell": c,
            })
    df = pd.DataFrame(rows)
    df.attrs["jobs"] = count_jobs(config)
    if measure and not df.empty:
        cache = Measurements(device, fresh)
        df["est_s"] = _estimate(df, config, device, cache, log)
        df.attrs.update(_job_estimates(df, config, all_cells, device, cache, log))
    return df.drop(columns=["_cell"]) if not df.empty else df


def probe_workers(device: str) -> int:
    """How many probes run at a time: as many as the workflow runs training jobs at a time on this machine, one
    per core (each on one thread, as a job trains), so that each probe is timed under the load the jobs will
    share (cores that share caches and memory bandwidth) and a cold ``plan --measure`` takes about 1/cores of
    the time; one on a GPU (the jobs take one GPU each)."""
    return 1 if device.startswith("cuda") else min(usable_cores(), 16)


def _run_probes(tasks: list[tuple[str, Callable, tuple]], workers: int, done: Callable) -> None:
    """Run the measurements ``(key, function, args)``, ``workers`` at a time (spawned processes); ``done(key,
    result)`` as each finishes (in this process: the cache and the progress lines)."""
    if workers <= 1 or len(tasks) <= 1:
        for key, fn, args in tasks:
            done(key, fn(*args))
        return
    import concurrent.futures
    import multiprocessing

    # spawned, not forked (a fork of a process that has run torch's OpenMP threads can hang); each worker loads
    # the families, as every entry point does (a cell names its config-defined dataset by its description)
    ctx = multiprocessing.get_context("spawn")
    loaders = tuple(sorted({type(f).__module__ for f in registry.families().values()}))
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_probe_worker,
                                                initargs=(loaders,)) as pool:
        futures = {pool.submit(fn, *args): key for key, fn, args in tasks}
        for f in concurrent.futures.as_completed(futures):
            done(futures[f], f.result())


def family_jobs(df: pd.DataFrame) -> dict[str, dict]:
    """Per family of the planned cells, the one-epoch copy of its cheapest cell (fewest steps per epoch, then
    the smallest probe), keyed as cached: what :func:`family_job_s` runs."""
    out: dict[str, tuple] = {}
    for c in df["_cell"]:
        family = c["family"]
        steps = cell_steps(c)[0] / c["train"]["epochs"]
        size = c["variant"].get(_size_key(c)) if _size_key(c) else 0
        if family not in out or (steps, size or 0) < out[family][0]:
            out[family] = ((steps, size or 0), c)
    jobs = {}
    for family, (_, c) in sorted(out.items()):
        cell = dict(c, train=dict(c["train"], epochs=1, evals_per_epoch=1))
        jobs[f"family job {family} | {step_shape(cell)} | {json.dumps(cell, sort_keys=True)}"] = cell
    return jobs


def _probe_bytes(cell: dict, size, seeds: int) -> int:
    """The tensors a probe of ``cell`` at ``size`` and ``seeds`` holds, as its family counts them."""
    info = cell_info(cell)
    net = net_spec_for(cell["net"], info.input_shape, info.n_outputs)
    spec = registry.REPARAMS[cell["variant"]["reparam"]]
    return spec.memory(dict(cell["variant"], **({spec.size_key: size} if size is not None else {})), net, seeds)


def _probe_worker(loaders: tuple[str, ...]) -> None:
    """A probe worker's registry as its parent's: the modules of the parent's families imported again (which
    registers them, their reparameterizations and dataset kinds, as the parent's entry point did)."""
    import importlib

    for module in loaders:
        importlib.import_module(module)


def _estimate(df: pd.DataFrame, config: dict, device: str, cache: Measurements, log) -> pd.Series:
    """Seconds each cell trains: its seed batches (as the runner splits them to fit ``memory_limit_gib``), each
    building its reparameterization, taking its steps and evaluating the test set at its evaluation points."""
    from weightspace.runner import seed_batches  # deferred: torch, only to measure

    groups: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(df["_cell"]):
        groups[step_shape(c)].append(i)
    est = pd.Series(0.0, index=df.index)
    todo = []
    for shape, idx in groups.items():
        cell = df.loc[idx[0], "_cell"]
        key = _size_key(cell)
        sizes = sorted({df.loc[i, "_cell"]["variant"].get(key) for i in idx}, key=lambda x: x or 0) if key else [None]
        probes = _probes(cell, sizes, {int(df.loc[i, "runs"]) for i in idx})
        todo.append((shape, idx, cell, sizes, probes))
    # the probes not in the cache, run `workers` at a time; a line per step shape as its last probe finishes
    missing = {f"{shape} | {p}": (shape, cell, p) for shape, _, cell, _, probes in todo for p in probes
               if cache.get(f"{shape} | {p}") is None}
    left = {shape: sum(k.startswith(f"{shape} | ") for k in missing) for shape, *_ in todo}
    shapes = {shape: (n, idx, cell, sizes, probes) for n, (shape, idx, cell, sizes, probes) in enumerate(todo, 1)}
    n_new, started, finished = sum(1 for v in left.values() if v), time.perf_counter(), [0]

    def line(shape: str, new: bool) -> None:
        n, idx, cell, sizes, probes = shapes[shape]
        runs = sorted({int(df.loc[i, "runs"]) for i in idx})
        one = cache.get(f"{shape} | {probes[0]}")["step_s"]
        spent = time.perf_counter() - started
        rest = n_new - finished[0]
        eta = f", ETA {_clock(spent / finished[0] * rest)}" if new and finished[0] and rest else ""
        where = f"{len(idx)} cell(s) of {', '.join(sorted(set(df.loc[idx, 'experiment'])))}"
        span = f" {_size_key(cell)}={sizes[0]}..{sizes[-1]}" if len(sizes) > 1 else (
            f" {_size_key(cell)}={sizes[0]}" if sizes[0] is not None else "")
        log(f"[{n}/{len(todo)}] {_label(cell)}{span} ({where}; {'/'.join(map(str, runs))} seeds): "
            f"{1e3 * one:.2f} ms per step at one seed, {'measured' if new else 'cached'}; "
            f"{rest if new else n_new - finished[0]} to measure{eta} ({_clock(spent)} so far)")

    startup: dict[str, float] = {}

    def done(key: str, result) -> None:
        if key in ("s", "other_s"):  # a job process's start-up, measured in the pool after the probes
            startup[key] = result
            if len(startup) == 2:
                cache.put("job start-up", startup)
            return
        if key.startswith("family job "):  # a real one-cell job of a family
            cache.put(key, {"s": result})
            return
        shape = missing[key][0]
        cache.put(key, result)
        left[shape] -= 1
        if not left[shape]:
            finished[0] += 1
            line(shape, True)

    for shape in shapes:
        if not left[shape]:
            line(shape, False)
    workers = probe_workers(device)
    if missing:
        log(f"measuring {n_new} step shape(s) ({len(missing)} probes), {workers} at a time")
    # a probe whose tensors exceed PROBE_BYTES (a shape with no size to shrink, e.g. CIFAR-10's 1.6 GB projection
    # feedback matrix) runs alone, after the others: two at once would double the planner's peak memory
    light, heavy = [], []
    for k, (_, cell, p) in missing.items():
        (light if _probe_bytes(cell, *p) <= PROBE_BYTES else heavy).append((k, _probe, (cell, *p, device)))
    # the jobs' own costs last in the pool, after the probes (whose progress lines and ETA come first)
    if cache.get("job start-up") is None:
        light += [("s", job_startup_s, (1,)), ("other_s", job_startup_s, (1, False))]
    family = family_jobs(df)
    light += [(key, family_job_s, (cell, config.get("data_dir"), device))
              for key, cell in family.items() if cache.get(key) is None]
    _run_probes(light, workers, done)
    _run_probes(heavy, 1, done)
    for shape, (n, idx, cell, sizes, probes) in shapes.items():
        timed = {p: cache.get(f"{shape} | {p}") for p in probes}
        for i in idx:
            c = df.loc[i, "_cell"]
            info = cell_info(c)
            seeds = list(range(int(df.loc[i, "runs"])))
            total = 0.0
            for batch in seed_batches(c, info.input_shape, info.n_outputs, seeds, config["memory_limit_gib"]):
                total += _batch_seconds(c, timed, len(batch), df.loc[i, "steps"], df.loc[i, "evals"])
            est[i] = total
    # each family's one-epoch, one-seed cell that family_job_s ran, with its probed part (taken out of the job)
    df.attrs["_family_jobs"] = {}
    for key, cell in family.items():
        shape = step_shape(cell)
        timed = {p: cache.get(f"{shape} | {p}") for p in shapes[shape][4]}
        df.attrs["_family_jobs"][cell["family"]] = (key, cell, _batch_seconds(cell, timed, 1, *cell_steps(cell)))
    return est


def _batch_seconds(cell: dict, timed: dict, seeds: int, steps: int, evals: int) -> float:
    """Seconds ``seeds`` seeds of ``cell`` train together: its reparameterization's build, ``steps`` steps and
    ``evals`` test-set evaluations, from its step shape's probes ``timed``."""
    size = cell["variant"].get(_size_key(cell)) if _size_key(cell) else None
    return (steps * _model(timed, size, seeds, "step_s") + _model(timed, size, seeds, "build_s")
            + evals * cell_info(cell).n_test * _model(timed, size, seeds, "eval_s_per_example"))


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _job_estimates(df: pd.DataFrame, config: dict, all_cells: dict, device: str, cache: Measurements,
                   log) -> dict:
    """The per-job costs outside the cells' training (a process's start-up, each dataset's loading), cached
    like the probes, and one row per training job: its estimate beside the runtime :func:`job_resources`
    requests."""
    startup = cache.get("job start-up")
    if startup is None:
        startup = {"s": job_startup_s(1), "other_s": job_startup_s(1, training=False)}
        cache.put("job start-up", startup)
    load_s: dict[str, float | None] = {}
    for name in sorted(set(df["dataset"])):
        spec = next(c.get("dataset_spec") for c in df["_cell"] if c["dataset"] == name)
        key = f"load {name} {json.dumps(spec, sort_keys=True)} {config.get('data_dir')}"
        got = cache.get(key)
        if got is None:
            t = time.process_time()
            try:
                load(name, config.get("data_dir"), device="cpu", download=False, verify=config.get("verify_data",
                                                                                                   True), spec=spec)
                got = {"s": time.process_time() - t}
                cache.put(key, got)
            except WeightspaceError as e:
                got = {"s": None, "why": str(e).splitlines()[0]}
                cache.put(key, got)  # not tried again until --fresh (trying imports torchvision: seconds)
        if got["s"] is None:
            log(f"dataset {name}: loading time not measured, counted as 0 ({got['why']}; --fresh tries again)")
        load_s[name] = got["s"]
    # a job's own cost beyond its cells' probed training, per family: a real one-cell job of the family (its
    # imports, its examine of the trained net, its files) less that cell's probed part and its data's loading;
    # the plain start-up where that job could not run here (a dataset's files missing)
    overhead: dict[str, float] = {}
    for family, (key, cell, probed) in df.attrs.pop("_family_jobs", {}).items():
        got = (cache.get(key) or {}).get("s")
        if got is not None:
            overhead[family] = max(startup["s"], got - probed - (load_s.get(cell["dataset"]) or 0.0))
    est = {(r.experiment, r.cell): r.est_s for r in df.itertuples()}
    rows = []
    for j in train_jobs(config, all_cells):
        cells = [all_cells[j.experiment][c] for c in j.cells]
        datasets = {c["dataset"] for c in cells}  # a packed job loads each of its datasets once
        seconds = (overhead.get(j.family, startup["s"]) + sum(load_s[d] or 0.0 for d in datasets)
                   + sum(est[(j.experiment, c)] for c in j.cells))
        requested = job_resources(cells, len(j.seeds), config)["runtime"]
        rows.append({"rule": j.rule, "experiment": j.experiment, "job": j.name, "cells": len(j.cells),
                     "est_s": seconds, "runtime_min": requested, "short": seconds > 60 * requested})
    return {"startup_s": startup["s"], "other_startup_s": startup["other_s"], "load_s": load_s, "train_jobs": rows,
            "family_job_s": overhead}
