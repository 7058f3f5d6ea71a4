# weightspace: every number, table and figure of the paper, from config.yaml.
#
#   snakemake --cores all                                   # full paper grid (config.yaml)
#   snakemake --cores all --configfile config/quick.yaml    # quick preset: offline, CPU, minutes
#   snakemake --profile profiles/slurm                      # on a SLURM cluster
#
# Rules live in workflow/rules/; they call the `weightspace` CLI and hold no logic.

from snakemake.utils import min_version

min_version("8.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/sharing.smk"
include: "workflow/rules/bench.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
