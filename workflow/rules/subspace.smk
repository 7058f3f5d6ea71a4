# The subspace family's job besides training and its render job: the cost benchmark, whose table cost.csv (and
# cost.json, its settings and machine) the cost figure shows. Its figures and tables: artifacts.py in
# src/weightspace/families/subspace/.

from weightspace.families import subspace

# The cost benchmark (time per step, memory) on the machine that runs the workflow, timed as a training job runs:
# torch with one thread (--threads 1, as every training job). It reserves all cores so that no other job shares the
# machine while it is timed, and starts first: all cores are free only at the start, so its priority outweighs the
# data and meta-learning jobs together (Snakemake starts the ready jobs whose summed priority is largest; with 1e6
# each, two of them outweighed a priority of 2e6 and the benchmark waited for the end of the workflow, alone).


rule bench_cost:
    output:
        csv=RESULTS / "{experiment}" / "cost.csv",
        meta=RESULTS / "{experiment}" / "cost.json",
    log:
        RESULTS / "logs" / "bench" / "{experiment}.log",
    wildcard_constraints:
        experiment=experiments_regex("subspace", [e for e in CELLS if experiment_config(e).get("cost")]),
    priority: 100000000
    conda:
        ENV
    threads: workflow.cores
    params:
        ws=WS,
        cost=lambda w: experiment_config(w.experiment)["cost"],
        net=lambda w: json.dumps(subspace.cost_net(experiment_config(w.experiment), CONFIG)),
        device=CONFIG["device"],
        memory=CONFIG["memory_limit_gib"],
    shell:
        "{params.ws} bench cost --dataset {params.cost[dataset]} --net-json {params.net:q}"
        " --d {params.cost[d]} --projections {params.cost[projections]} --seeds {params.cost[seeds]}"
        " --batch-size {params.cost[batch_size]} --steps {params.cost[steps]} --repeats {params.cost[repeats]}"
        " --device {params.device} --threads 1 --memory-limit-gib {params.memory}"
        " --out {output.csv} > {log} 2>&1"
