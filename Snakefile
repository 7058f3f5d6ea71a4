# weightspace: every number, table and figure of the paper, from config.yaml.
#
#   snakemake --cores all                                   # full paper grid (config.yaml)
#   snakemake --cores all --configfile config/quick.yaml    # quick preset: offline, CPU, minutes
#   snakemake --profile profiles/slurm                      # on a SLURM cluster
#
# Rules live in workflow/rules/; they call the `weightspace` CLI and hold no logic: a data job per dataset, the
# training jobs, and one job per experiment that makes its tables, figures and LaTeX tables (render.smk,
# derived from the artifacts each family lists in its artifacts.py). A family with a job of its own (a
# benchmark a figure shows) has workflow/rules/<family>.smk, included below.

from snakemake.utils import min_version

import weightspace.families  # an entry point: loads every family into the registry
from weightspace.registry import FAMILIES

min_version("8.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/render.smk"


onstart:
    # one workflow per results folder (Snakemake itself only locks its working folder); device cuda on a machine
    # without CUDA, when the jobs run here: one line of warning
    try:
        hold_results_folder(RESULTS)
    except WeightspaceError as e:
        raise WorkflowError(str(e)) from None
    warn_without_cuda()


onsuccess:
    # what the run made and each experiment's headline (not on a dry run: Snakemake calls no handler there)
    print_run_summary()


for family in FAMILIES:
    if (Path(workflow.basedir) / "workflow" / "rules" / f"{family}.smk").exists():

        include: f"workflow/rules/{family}.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
