# Validation, grid expansion and input functions shared by all rules.
# The logic lives in weightspace.config; this file only adapts it to Snakemake.

import json
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

import weightspace.config
from weightspace.data import DATASETS
from weightspace.errors import ConfigError, WeightspaceError
from weightspace.workflow_lock import hold_results_folder

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


onstart:
    # one workflow per results folder (Snakemake itself only locks its working folder)
    try:
        hold_results_folder(RESULTS)
    except WeightspaceError as e:
        raise WorkflowError(str(e)) from None


wildcard_constraints:
    experiment=r"[A-Za-z][A-Za-z0-9-]*",
    cell=r"[^/]+",
    dataset="|".join(DATASETS),
    net=r"[A-Za-z][A-Za-z0-9-]*",
    variant=r"[A-Za-z][A-Za-z0-9-]*",


def experiments_regex(family=None, exclude=None):
    """A regex matching the names of the enabled experiments of a family (or of all but one)."""
    import re

    names = [
        e for e in CELLS
        if (family is None or CONFIG["experiments"][e]["family"] == family)
        and (exclude is None or CONFIG["experiments"][e]["family"] != exclude)
    ]
    return "|".join(re.escape(n) for n in names) or "(?!)"


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


def baseline_args(experiment):
    """--baseline / --baseline-setting of a subspace experiment's d_int90 (analysis.baseline*)."""
    analysis = experiment_config(experiment)["analysis"]
    out = f"--baseline {shlex.quote(analysis['baseline'])}" if analysis.get("baseline") else ""
    setting = analysis.get("baseline_setting") or {}
    if setting:
        out += " --baseline-setting " + " ".join(shlex.quote(f"{k}={v}") for k, v in setting.items())
    return out


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


SHARING_FORMS = ("sharing", "hashed", "kmeans", "known")


def sharing_outputs(experiment):
    """Figures and tables of a sharing experiment."""
    from weightspace.data import TEACHERS

    cells = CELLS[experiment]
    exp_dir = FIGURES / experiment
    out = [str(exp_dir / "structure.tex")]
    for cid, c in cells.items():
        reparam = c["variant"]["reparam"]
        if c["dataset"] in TEACHERS and reparam in SHARING_FORMS:
            out.append(str(exp_dir / f"structure__{cid}.png"))
        elif c["dataset"] not in TEACHERS and reparam in ("sharing", "kmeans"):
            out.append(str(exp_dir / f"maps__{cid}.png"))
    pairs = sorted({(c["dataset"], c["net"]["name"]) for c in cells.values()})
    out += [str(exp_dir / f"tradeoff__{d}__{n}.png") for d, n in pairs]
    learned = sorted({(c["dataset"], c["net"]["name"], c["variant"]["name"]) for c in cells.values()
                      if c["variant"]["reparam"] == "sharing"})
    out += [str(exp_dir / f"dynamics__{d}__{n}__{v}.png") for d, n, v in learned]
    return out


def all_outputs():
    out = []
    for experiment in CELLS:
        out.append(str(RESULTS / experiment / "final.csv"))
        family = experiment_config(experiment)["family"]
        if family == "subspace":
            out += subspace_outputs(experiment)
        elif family == "sharing":
            out += sharing_outputs(experiment)
    return out
