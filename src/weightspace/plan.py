"""How a config becomes the workflow's jobs: its training jobs, their files, and the job count.

:func:`train_jobs` splits each experiment's cells into training jobs of at most ``cells_per_job`` cells (the
workflow's rules and SLURM arrays follow it), :func:`count_jobs` counts every job the workflow runs, and
:func:`run_files` / :func:`targets` name the files it makes. How long the jobs take is
:mod:`weightspace.estimate`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from weightspace import registry
from weightspace.artifacts import experiment_tables, external_inputs, outputs
from weightspace.config import expand, experiment_seeds
from weightspace.data import cell_info

__all__ = ["count_jobs", "TrainJob", "train_jobs", "run_files", "targets"]


@dataclass(frozen=True)
class TrainJob:
    """The cells one training job trains, one after another in one process.

    The cells of a job belong to one experiment; their ids are ``prefix + suffix``. A job of one dataset and net
    has ``prefix`` = ``<dataset>__<net>__`` (that dataset loaded and that net built once); a job that packs the
    cells of several small (dataset, net) groups has ``prefix`` = ``""`` and the cell ids as suffixes (each
    dataset loaded once). ``rule`` is the workflow rule that runs it: jobs with the same experiment, position and
    suffixes (e.g. the same variants on another dataset) share one rule, so a cluster gets them as one job array.
    """

    experiment: str
    family: str
    prefix: str
    suffixes: tuple[str, ...]
    part: int  # 1, 2, ...: the position of this job among those of its experiment, dataset and net (or packed jobs)
    seeds: tuple[int, ...]
    rule: str = ""

    @property
    def cells(self) -> list[str]:
        return [self.prefix + s for s in self.suffixes]

    @property
    def name(self) -> str:
        """Unique within the experiment: ``<dataset>__<net>__part<N>``, or ``packed<N>`` for a job of several
        groups (its log file's name)."""
        return f"{self.prefix}part{self.part}" if self.prefix else f"packed{self.part}"


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


def _pack(groups: list[tuple[str, list[str]]], k: int) -> list[list[tuple[str, list[str]]]]:
    """Consecutive (prefix, suffixes) groups of at most ``k`` cells packed into bins of at most ``k`` cells, in
    order (a group of more than ``k`` cells is a bin of its own, split later)."""
    bins: list[list[tuple[str, list[str]]]] = []
    size = 0
    for group in groups:
        n = len(group[1])
        if bins and n <= k and size + n <= k:
            bins[-1].append(group)
            size += n
        else:
            bins.append([group])
            size = n
    return bins


def train_jobs(config: dict, cells: dict | None = None) -> list[TrainJob]:
    """The workflow's training jobs: per experiment, its cells in config order, at most ``cells_per_job`` per job.

    The cells of one (dataset, net) are one group: a group larger than ``cells_per_job`` is split into parts of
    (nearly) equal size; consecutive groups that together fit in ``cells_per_job`` cells are packed into one job
    (an experiment's small groups, e.g. one variant on each of several teachers, then start one process, not one
    each: a process start costs seconds, as much as such a cell's training). The price: a packed job is re-run
    as a whole when any of its cells' settings change, and adding or resizing a group may move the others into
    other jobs (re-run too); ``cells_per_job: 1`` keeps every cell's re-runs to itself. ``rule`` names the rule
    (``train_<family>``, ``train_<family>_2``, ...) shared by the jobs with the same experiment, part and
    suffixes."""
    cells = expand(config) if cells is None else cells
    k = config.get("cells_per_job", 1)
    jobs: list[TrainJob] = []
    rules: dict[tuple, str] = {}
    per_family: dict[str, int] = defaultdict(int)

    def add(exp, family, seeds, prefix, chunk, part):
        key = (family, seeds, exp, part, bool(prefix), tuple(chunk))
        if key not in rules:
            per_family[family] += 1
            n = per_family[family]
            rules[key] = f"train_{family}" + (f"_{n}" if n > 1 else "")
        jobs.append(TrainJob(exp, family, prefix, tuple(chunk), part, seeds, rules[key]))

    for exp, exp_cells in cells.items():
        family = config["experiments"][exp]["family"]
        seeds = tuple(experiment_seeds(config, exp))
        groups: dict[str, list[str]] = {}
        for cid, c in exp_cells.items():
            prefix = f"{c['dataset']}__{c['net']['name']}__"
            if not cid.startswith(prefix):  # cell ids are <dataset>__<net>__<variant>[__<swept>] (config.cell_id)
                raise ValueError(f"cell id {cid!r} does not start with {prefix!r}")
            groups.setdefault(prefix, []).append(cid[len(prefix) :])
        packed = 0
        for bin_ in _pack(list(groups.items()), k):
            if len(bin_) > 1:  # several groups in one job: its cells by their whole ids
                packed += 1
                add(exp, family, seeds, "", [prefix + s for prefix, suffixes in bin_ for s in suffixes], packed)
                continue
            (prefix, suffixes), = bin_
            for part, chunk in enumerate(_split(suffixes, k), start=1):
                add(exp, family, seeds, prefix, chunk, part)
    return jobs


def count_jobs(config: dict) -> dict[str, int]:
    """Jobs per experiment the workflow runs: its training jobs (:func:`train_jobs`: ``cells_per_job`` cells
    each), its render job (tables, figures and LaTeX tables: :mod:`weightspace.render`), and one job per input of
    its artifacts that another job makes (:func:`weightspace.artifacts.external_inputs`: the cost benchmark, the
    meta-learning comparison); each dataset with files to fetch (:attr:`weightspace.data.DatasetInfo.files`) is
    prepared once, by a job of its own (``"(data)"``: one per dataset, so that fetching a new dataset re-runs no
    other data job); data made in memory is made by the training jobs themselves."""

    jobs: dict[str, int] = {}
    datasets = set()
    all_cells = expand(config)
    n_train = defaultdict(int)
    for job in train_jobs(config, all_cells):
        n_train[job.experiment] += 1
    for exp, cells in all_cells.items():
        e = config["experiments"][exp]
        jobs[exp] = n_train[exp] + 1 + len(external_inputs(registry.FAMILIES[e["family"]], e, cells))
        datasets |= {c["dataset"] for c in cells.values() if cell_info(c).files}
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

    Per experiment: each run's files (metrics.csv, summary.json, the family's run_files), the tables its render
    job writes (final.csv, curves.csv, timings.csv, the family's analysis tables, comparisons.csv,
    comparisons_aggregate.csv) and every figure (PDF and PNG) and LaTeX table of its artifacts
    (:func:`weightspace.artifacts.outputs`). Snakemake re-makes a missing file only if a target needs it, not
    when the files made from it are present: a table or run file left out of here stays deleted.
    """
    from pathlib import Path

    results, figures = Path(config["results_dir"]), Path(config["figures_dir"])
    out: list[str] = []
    for exp, exp_cells in (expand(config) if cells is None else cells).items():
        e = config["experiments"][exp]
        family = registry.FAMILIES[e["family"]]
        out += run_files(config, exp, exp_cells, ("metrics.csv", "summary.json", *family.run_files))
        out += [str(results / exp / name) for name in experiment_tables(family)]
        out += [str(p) for *_, paths in outputs(family, exp, e, exp_cells, figures) for p in paths]
    return out

