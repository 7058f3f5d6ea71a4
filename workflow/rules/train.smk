# One job per cell; all of the cell's seeds train together as one batch. One rule per family
# (train_<family>), because a family may declare files its runs keep besides metrics and summary
# (Family.run_files, e.g. sharing's structure.npz): every file a job writes is a declared output.
# An experiment with its own seeds gets its own rule (train_<family>_2, ...): the outputs name the seeds.
# The log is appended to, so that the attempts of a killed and resumed job stay readable:
#   tail -f results/logs/train/<experiment>/<cell>.log


for family in FAMILIES.values():
    for i, (seeds, names) in enumerate(seed_groups(family.name)):

        rule:
            name:
                f"train_{family.name}" + (f"_{i + 1}" if i else "")
            input:
                data=lambda w: RESULTS / "data" / f"{cell_of(w)['dataset']}.json",
            output:
                **{Path(name).stem: seed_files(name, seeds) for name in family.run_files},
                summaries=seed_files("summary.json", seeds),
                metrics=seed_files("metrics.csv", seeds),
            log:
                RESULTS / "logs" / "train" / "{experiment}" / "{cell}.log",
            wildcard_constraints:
                experiment=experiments_regex(family.name, names),
            conda:
                ENV
            threads: 1
            resources:
                mem_mb=2048 + int(1024 * CONFIG["memory_limit_gib"]),
                runtime=240,
            params:
                ws=WS,
                cell=lambda w: json.dumps(cell_of(w), sort_keys=True),
                out=lambda w: RESULTS / w.experiment / "runs" / w.cell,
                seeds=" ".join(map(str, seeds)),
                data=data_flags(),
                device=CONFIG["device"],
                memory=CONFIG["memory_limit_gib"],
                checkpoint=CONFIG["checkpoint_every_s"],
            shell:
                "OMP_NUM_THREADS={threads} {params.ws} train --cell-json {params.cell:q} --seeds {params.seeds}"
                " --out {params.out} {params.data} --device {params.device} --memory-limit-gib {params.memory}"
                " --checkpoint-every {params.checkpoint} --threads {threads} --no-progress >> {log} 2>&1"
