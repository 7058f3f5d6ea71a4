# Validation, grid expansion and input functions shared by all rules.
# The logic lives in weightspace.config and weightspace.families; this file only adapts it
# to Snakemake, looping over the family registry (it names no family). As an entry point, it loads the
# families into the registry (weightspace.families) before validating the config.

import json
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod

import weightspace.artifacts
import weightspace.config
import weightspace.families
import weightspace.estimate
import weightspace.formatting
import weightspace.plan
from weightspace.errors import ConfigError, WeightspaceError
from weightspace.registry import FAMILIES
from weightspace.gpus import cuda_warning
from weightspace.workflow_lock import hold_results_folder

try:
    # Snakemake's own loader expands every alias and lets a repeated key win: read each file as the CLI does
    for _file in workflow.configfiles:
        weightspace.config.load_yaml(_file)
    CONFIG = weightspace.config.validate(config)  # the config, and the datasets it can name (CONFIG.datasets)
except ConfigError as e:
    raise WorkflowError(str(e)) from None

CELLS = weightspace.config.expand(CONFIG)  # {experiment: {cell_id: cell}}
SEEDS = CONFIG["seeds"]
RESULTS = Path(CONFIG["results_dir"])
FIGURES = Path(CONFIG["figures_dir"])
# The CLI: with --sdm conda, the python of the rule's conda environment (environment.yml);
# otherwise the Python that runs Snakemake (the project's environment, e.g. .venv).
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    WS = "python -m weightspace"
else:
    WS = f"{shlex.quote(sys.executable)} -m weightspace"
ENV = "../../environment.yml"  # every rule's conda environment (relative to this folder)


wildcard_constraints:
    experiment=r"[A-Za-z][A-Za-z0-9-]*",
    cell=r"[^/]+",
    dataset="|".join(CONFIG.datasets),
    net=r"[A-Za-z][A-Za-z0-9-]*",
    variant=r"[A-Za-z][A-Za-z0-9-]*",


def experiments_regex(family, names=None):
    """A regex matching the names of the enabled experiments of a family (or only ``names``)."""
    if names is None:
        names = [e for e in CELLS if CONFIG["experiments"][e]["family"] == family]
    return "|".join(re.escape(n) for n in names) or "(?!)"


def experiment_seeds(experiment):
    """The seeds of an experiment: its own ``seeds``, else the top-level ones."""
    return weightspace.config.experiment_seeds(CONFIG, experiment)


def experiment_config(experiment):
    return CONFIG["experiments"][experiment]


def data_flags():
    flags = f"--data-dir {shlex.quote(CONFIG['data_dir'])}"
    if not CONFIG["download"]:
        flags += " --no-download"
    if not CONFIG["verify_data"]:
        flags += " --no-verify"
    return flags


# ---- the job per experiment after training (render.smk), derived from its family's artifacts ----


def family_of(experiment):
    return FAMILIES[experiment_config(experiment)["family"]]


def render_rule(experiment):
    """The name of an experiment's render rule (a rule name is an identifier; experiment names have no _)."""
    return f"render_{experiment.replace('-', '_')}"


def render_inputs(experiment):
    """Every file the experiment's training jobs write (what its tables and per-run figures are made from)."""
    names = ("metrics.csv", "summary.json", *family_of(experiment).run_files)
    return weightspace.plan.run_files(CONFIG, experiment, CELLS[experiment], names)


def render_external(experiment):
    """The inputs of the experiment's artifacts that another job makes (weightspace.artifacts.external_inputs)."""
    return weightspace.artifacts.external_inputs(
        family_of(experiment), experiment_config(experiment), CELLS[experiment]
    )


def render_tables(experiment):
    """The tables the render job writes into results/<experiment>/."""
    return weightspace.artifacts.experiment_tables(family_of(experiment))


def render_outputs(experiment):
    """Every figure and LaTeX table the experiment makes, literal paths; a figure's PNG and a table are report
    entries (the artifact's caption, the family as category, the experiment and the artifact's title as
    subcategory; an instance's keys as labels)."""
    family, out = family_of(experiment), []
    made = weightspace.artifacts.outputs(family, experiment, experiment_config(experiment), CELLS[experiment], FIGURES)
    for artifact, values, _, paths in made:
        labels = {"artifact": artifact.name, **dict(zip(artifact.per, values))} if artifact.per else None
        for path in paths:
            if path.suffix in (".png", ".tex"):
                path = report(
                    path,
                    caption=f"../report/{artifact.caption}",
                    category=f"{family.name} family",
                    subcategory=f"{experiment}: {artifact.title}",
                    labels=labels,
                )
            out.append(path)
    return out


def conventions(experiment):
    """The conventions of the experiment's numbers, the sentence its report's captions end with."""
    return weightspace.formatting.conventions(CELLS[experiment].values())


def render_config(experiment):
    """The config the render job validates again (weightspace render --config-json): everything but the other
    experiments, so that a change to another experiment does not make it run again."""
    return json.dumps({**config, "experiments": {experiment: config["experiments"][experiment]}}, sort_keys=True)


def all_outputs():
    """The targets of the workflow (weightspace.plan.targets): every run file, table and figure it makes, so
    that any of them, deleted, is made again (with what is made from it)."""
    return weightspace.plan.targets(CONFIG, CELLS)


def warn_without_cuda():
    """At workflow start (onstart): one line when the config asks for CUDA, the jobs run on this machine (the local
    executor) and torch finds no CUDA here. A cluster executor (SLURM) submits from a login node that needs none."""
    if workflow.local_exec:
        warning = cuda_warning(CONFIG["device"])
        if warning:
            print(f"weightspace: warning: {warning}", file=sys.stderr)


def print_run_summary():
    """The end of a run that succeeded: where its tables, figures and report are, and each experiment's headline,
    read from the tables just written (weightspace.run_summary; the same as `weightspace summary`). A summary
    that cannot be made says so in one line: it never fails the run."""
    try:
        from weightspace.run_summary import report_command, summary_lines

        experiments = {e: experiment_config(e)["family"] for e in CELLS}
        lines = summary_lines(RESULTS, FIGURES, experiments, report_command(workflow.overwrite_configfiles, RESULTS))
    except Exception as e:  # noqa: BLE001 - the run succeeded; the summary is only a report of it
        lines = [f"weightspace: no summary ({type(e).__name__}: {e}); see `weightspace summary {RESULTS}`"]
    print("\n".join(lines), flush=True)


# ---- training jobs: up to cells_per_job cells of one experiment per job (weightspace.plan.train_jobs) ----

TRAIN_JOBS = weightspace.plan.train_jobs(CONFIG, CELLS)
TRAIN_JOB = {(j.rule, j.experiment, j.prefix): j for j in TRAIN_JOBS}
# snakemake --resources gpu=N on one machine: each training job claims one of the N GPUs (weightspace.gpus)
_gpus = workflow.global_resources.get("gpu")
GPUS = int(getattr(_gpus, "value", _gpus) or 0)
# on SLURM, GPU training jobs may go to their own partition (the config's gpu_partition)
TRAIN_PARTITION = (
    {"slurm_partition": CONFIG["gpu_partition"]}
    if CONFIG.get("gpu_partition") and CONFIG["device"].startswith("cuda")
    else {}
)


def train_rules():
    """The training rules and their jobs, by name; jobs with the same experiment, part and cells' suffixes
    share one (a cluster gets them as one job array)."""
    rules = {}
    for j in TRAIN_JOBS:
        rules.setdefault(j.rule, []).append(j)
    return rules


def train_job(rule, wildcards):
    return TRAIN_JOB[(rule, wildcards.experiment, wildcards.get("prefix", ""))]


def train_cells(rule, wildcards):
    job = train_job(rule, wildcards)
    return [CELLS[job.experiment][cid] for cid in job.cells]


def train_param(rule, what):
    """A params/input function of a training rule (made per rule, so it names that rule's jobs)."""
    if what == "cells":
        return lambda wildcards: json.dumps(train_cells(rule, wildcards), sort_keys=True)
    if what == "data":  # the stamps of the job's datasets that have files to fetch (data.DatasetInfo.files)
        return lambda wildcards: sorted(
            {
                str(RESULTS / "data" / f"{c['dataset']}.json")
                for c in train_cells(rule, wildcards)
                if CONFIG.datasets[c["dataset"]].files
            }
        )
    raise ValueError(what)


def train_priority(rule):
    """The rule's priority: its longest job's estimated seconds (weightspace.estimate.cell_seconds, no
    measurement), so that among the jobs ready to run the longest starts first (longest-processing-time-first:
    the cores finish together instead of one waiting for a long job started last)."""
    jobs = train_rules()[rule]
    seeds = len(jobs[0].seeds)
    device = "cuda" if CONFIG["device"].startswith("cuda") else "cpu"
    return max(
        round(sum(weightspace.estimate.cell_seconds(CELLS[j.experiment][cid], seeds, device) for cid in j.cells))
        for j in jobs
    )


_RESOURCES = {}


def train_resource(rule, key):
    """A resource of a training job, estimated from its cells (weightspace.estimate.job_resources); the runtime grows
    with the attempt (a job that hit its time limit is resubmitted with more)."""

    def get(wildcards, attempt):
        k = (rule, wildcards.experiment, wildcards.get("prefix", ""))
        if k not in _RESOURCES:
            job = train_job(rule, wildcards)
            _RESOURCES[k] = weightspace.estimate.job_resources(train_cells(rule, wildcards), len(job.seeds), CONFIG)
        value = _RESOURCES[k][key]
        if key == "gpu" and GPUS and CONFIG["device"] == "auto":
            return 1  # --resources gpu=N given: at most N training jobs at a time, each on its own GPU
        return value * attempt if key == "runtime" else value

    return get
