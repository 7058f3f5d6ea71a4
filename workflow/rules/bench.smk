# The cost benchmark (time per step, memory) on the machine that runs the workflow.
# It takes all cores so that no training job shares the machine while it is timed.


rule bench_cost:
    output:
        csv=RESULTS / "{experiment}" / "cost.csv",
        meta=RESULTS / "{experiment}" / "cost.json",
    log:
        RESULTS / "logs" / "bench" / "{experiment}.log",
    params:
        cost=lambda w: experiment_config(w.experiment)["cost"],
        net=lambda w: json.dumps(cost_net(w.experiment)),
        device=CONFIG["device"],
        memory=CONFIG["memory_limit_gib"],
    threads: workflow.cores
    shell:
        "{WS} bench cost --dataset {params.cost[dataset]} --net-json {params.net:q}"
        " --d {params.cost[d]} --projections {params.cost[projections]} --seeds {params.cost[seeds]}"
        " --batch-size {params.cost[batch_size]} --steps {params.cost[steps]} --repeats {params.cost[repeats]}"
        " --device {params.device} --threads {threads} --memory-limit-gib {params.memory}"
        " --out {output.csv} > {log} 2>&1"
