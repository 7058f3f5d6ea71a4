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


def experiment_config(experiment):
    return CONFIG["experiments"][experiment]


def published_args(experiment):
    pubs = experiment_config(experiment)["analysis"].get("published", [])
    if not pubs:
        return ""
    items = [f"{p['dataset']}:{p['net']}:{p['value']}:{p.get('source', '')}" for p in pubs]
    return "--published " + " ".join(shlex.quote(i) for i in items)


def cost_net(experiment):
    name = experiment_config(experiment)["cost"]["net"]
    return {"name": name, **CONFIG["nets"][name]}


def subspace_outputs(experiment):
    """Figures and tables of a subspace experiment."""
    cells = CELLS[experiment].values()
    exp_dir = FIGURES / experiment
    out = [str(exp_dir / "dint90.tex"), str(exp_dir / "accuracy_by_d.tex")]
    curves = sorted({(c["dataset"], c["net"]["name"], c["variant"]["name"]) for c in cells if c["variant"]["reparam"] == "subspace"})
    out += [str(exp_dir / f"curves__{d}__{n}__{v}.png") for d, n, v in curves]
    pairs = sorted({(d, n) for d, n, _ in curves})
    out += [str(exp_dir / f"accuracy_vs_d__{d}__{n}.png") for d, n in pairs]
    if experiment_config(experiment).get("cost"):
        out.append(str(exp_dir / "cost.png"))
    return out


def all_outputs():
    out = []
    for experiment in CELLS:
        out.append(str(RESULTS / experiment / "final.csv"))
        if experiment_config(experiment)["family"] == "subspace":
            out += subspace_outputs(experiment)
    return out
