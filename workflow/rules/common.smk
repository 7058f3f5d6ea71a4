# Validation, grid expansion and input functions shared by all rules.
# The logic lives in weightspace.config; this file only adapts it to Snakemake.

import json
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

import weightspace.config
from weightspace.data import DATASETS
from weightspace.errors import ConfigError

try:
    CONFIG = weightspace.config.validate(config)
except ConfigError as e:
    raise WorkflowError(str(e)) from None

CELLS = weightspace.config.expand(CONFIG)  # {experiment: {cell_id: cell}}
SEEDS = CONFIG["seeds"]
RESULTS = Path(CONFIG["results_dir"])
FIGURES = Path(CONFIG["figures_dir"])
# the CLI, run by the Python that runs Snakemake (the project's environment)
WS = f"{shlex.quote(sys.executable)} -m weightspace"


wildcard_constraints:
    experiment=r"[A-Za-z][A-Za-z0-9-]*",
    cell=r"[^/]+",
    dataset="|".join(DATASETS),
    net=r"[A-Za-z][A-Za-z0-9-]*",
    variant=r"[A-Za-z][A-Za-z0-9-]*",


def cell_of(wildcards):
    try:
        return CELLS[wildcards.experiment][wildcards.cell]
    except KeyError:
        raise WorkflowError(
            f"no cell {wildcards.cell!r} in experiment {wildcards.experiment!r} of the current config"
        ) from None


def run_files(experiment, name="summary.json"):
    """Per-seed files of every cell of an experiment."""
    return [
        str(RESULTS / experiment / "runs" / cid / f"seed-{s}" / name)
        for cid in CELLS[experiment]
        for s in SEEDS
    ]


def data_flags():
    flags = f"--data-dir {shlex.quote(CONFIG['data_dir'])}"
    if not CONFIG["download"]:
        flags += " --no-download"
    if not CONFIG["verify_data"]:
        flags += " --no-verify"
    return flags


def curve_figures(experiment):
    """One curves figure per dataset x net x subspace variant."""
    out = []
    cells = CELLS[experiment].values()
    combos = sorted({(c["dataset"], c["net"]["name"], c["variant"]["name"]) for c in cells if c["variant"]["reparam"] == "subspace"})
    for dataset, net, variant in combos:
        out.append(str(FIGURES / experiment / f"curves__{dataset}__{net}__{variant}.png"))
    return out


def all_outputs():
    out = []
    for experiment, cells in CELLS.items():
        family = next(iter(cells.values()))["family"] if cells else None
        out.append(str(RESULTS / experiment / "final.csv"))
        if family == "subspace":
            out += curve_figures(experiment)
    return out
