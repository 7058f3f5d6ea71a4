# One job per cell; all of the cell's seeds train together as one batch.
# The log is appended to, so that the attempts of a killed and resumed job stay readable:
#   tail -f results/logs/train/<experiment>/<cell>.log
# Sharing experiments also declare each seed's structure.npz (the learned assignment).


rule train:
    wildcard_constraints:
        experiment=experiments_regex(exclude="sharing"),
    input:
        data=lambda w: RESULTS / "data" / f"{cell_of(w)['dataset']}.json",
    output:
        summaries=expand(RESULTS / "{{experiment}}" / "runs" / "{{cell}}" / "seed-{seed}" / "summary.json", seed=SEEDS),
        metrics=expand(RESULTS / "{{experiment}}" / "runs" / "{{cell}}" / "seed-{seed}" / "metrics.csv", seed=SEEDS),
    log:
        RESULTS / "logs" / "train" / "{experiment}" / "{cell}.log",
    params:
        cell=lambda w: json.dumps(cell_of(w), sort_keys=True),
        out=lambda w: RESULTS / w.experiment / "runs" / w.cell,
        seeds=" ".join(map(str, SEEDS)),
        data=data_flags(),
        device=CONFIG["device"],
        memory=CONFIG["memory_limit_gib"],
        checkpoint=CONFIG["checkpoint_every_s"],
    threads: 1
    resources:
        mem_mb=lambda w: 2048 + int(1024 * CONFIG["memory_limit_gib"]),
        runtime=240,
    shell:
        "OMP_NUM_THREADS={threads} {WS} train --cell-json {params.cell:q} --seeds {params.seeds}"
        " --out {params.out} {params.data} --device {params.device} --memory-limit-gib {params.memory}"
        " --checkpoint-every {params.checkpoint}"
        " --threads {threads} --no-progress >> {log} 2>&1"


use rule train as train_sharing with:
    wildcard_constraints:
        experiment=experiments_regex(family="sharing"),
    output:
        summaries=expand(RESULTS / "{{experiment}}" / "runs" / "{{cell}}" / "seed-{seed}" / "summary.json", seed=SEEDS),
        metrics=expand(RESULTS / "{{experiment}}" / "runs" / "{{cell}}" / "seed-{seed}" / "metrics.csv", seed=SEEDS),
        structure=expand(RESULTS / "{{experiment}}" / "runs" / "{{cell}}" / "seed-{seed}" / "structure.npz", seed=SEEDS),
