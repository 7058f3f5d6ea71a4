# Training: each job trains up to cells_per_job cells of one experiment, one after another in one process (imports
# and each dataset loaded once): the cells of one dataset and net, or several small such groups packed together
# (a "packed<N>" job, whose outputs name its cells whole); all seeds of a cell train together as one batch. The
# jobs and their rules come from weightspace.plan.train_jobs: jobs with the same experiment, part and cells (e.g. one variant grid on
# each dataset) share one rule, train_<family>[_<n>], whose wildcards are the experiment and the cells' common
# prefix <dataset>__<net>__ (so a cluster gets them as one job array). Every file a job writes is a declared output
# (a family's run_files too, e.g. sharing's structure.npz). A killed job restores the cells it had finished from
# results/<experiment>/runs/.checkpoints/ (Snakemake deletes an incomplete job's outputs) and resumes the one it
# was training. The log is appended to, so the attempts of a killed and resumed job stay readable:
#   tail -f results/logs/train/<experiment>/<dataset>__<net>__part<N>.log


for rule_name, jobs in train_rules().items():
    job = jobs[0]
    family = FAMILIES[job.family]
    # a job of one dataset and net: the prefix <dataset>__<net>__ is a wildcard (one rule for the same variants on
    # each dataset); a packed job (several small groups, prefix ""): its cells' whole ids, no prefix wildcard
    prefix = "{prefix}" if job.prefix else ""
    cell_dirs = [RESULTS / "{experiment}" / "runs" / f"{prefix}{suffix}" for suffix in job.suffixes]

    rule:
        name:
            rule_name
        input:
            data=train_param(rule_name, "data"),
        output:
            **{
                Path(name).stem: [d / f"seed-{s}" / name for d in cell_dirs for s in job.seeds]
                for name in family.run_files
            },
            summaries=[d / f"seed-{s}" / "summary.json" for d in cell_dirs for s in job.seeds],
            metrics=[d / f"seed-{s}" / "metrics.csv" for d in cell_dirs for s in job.seeds],
        log:
            RESULTS / "logs" / "train" / "{experiment}" / f"{prefix}{job.name[len(job.prefix):]}.log",
        wildcard_constraints:
            experiment=re.escape(job.experiment),
            prefix="|".join(re.escape(j.prefix) for j in jobs) or "(?!)",
        priority: train_priority(rule_name)
        conda:
            ENV
        threads: 1
        resources:
            **TRAIN_PARTITION,
            runtime=train_resource(rule_name, "runtime"),
            mem_mb=train_resource(rule_name, "mem_mb"),
            gpu=train_resource(rule_name, "gpu"),
        params:
            ws=WS,
            cells=train_param(rule_name, "cells"),
            runs=lambda w: RESULTS / w.experiment / "runs",
            seeds=" ".join(map(str, job.seeds)),
            data=data_flags(),
            device=CONFIG["device"],
            memory=CONFIG["memory_limit_gib"],
            checkpoint=CONFIG["checkpoint_every_s"],
            gpus=GPUS,
        shell:
            "OMP_NUM_THREADS={threads} {params.ws} train --cells-json {params.cells:q} --seeds {params.seeds}"
            " --runs-dir {params.runs} {params.data} --device {params.device} --memory-limit-gib {params.memory}"
            " --checkpoint-every {params.checkpoint} --threads {threads} --gpus {params.gpus} --no-progress"
            " >> {log} 2>&1"
