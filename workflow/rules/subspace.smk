# The subspace family: LaTeX tables, figures and the cost benchmark, from the tables its analysis
# writes (analyze_subspace: by_dim.csv, dint90.csv). Code: src/weightspace/families/subspace/.

from weightspace.families import subspace


rule table_dint:
    input:
        RESULTS / "{experiment}" / "dint90.csv",
    output:
        report(
            FIGURES / "{experiment}" / "dint90.tex",
            caption="../report/table_dint90.rst",
            category="subspace family",
            subcategory="{experiment}: tables",
        ),
    log:
        RESULTS / "logs" / "tables" / "{experiment}" / "dint90.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
        published=lambda w: subspace.published_flags(experiment_config(w.experiment)),
    shell:
        "{params.ws} table dint --in {input} --out {output} {params.published} > {log} 2>&1"


rule table_accuracy:
    input:
        RESULTS / "{experiment}" / "by_dim.csv",
    output:
        report(
            FIGURES / "{experiment}" / "accuracy_by_d.tex",
            caption="../report/table_accuracy_by_d.rst",
            category="subspace family",
            subcategory="{experiment}: tables",
        ),
    log:
        RESULTS / "logs" / "tables" / "{experiment}" / "accuracy_by_d.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} table accuracy --in {input} --out {output} > {log} 2>&1"


rule plot_curves:
    input:
        RESULTS / "{experiment}" / "curves.csv",
    output:
        pdf=FIGURES / "{experiment}" / "curves__{dataset}__{net}__{variant}.pdf",
        png=report(
            FIGURES / "{experiment}" / "curves__{dataset}__{net}__{variant}.png",
            caption="../report/curves.rst",
            category="subspace family",
            subcategory="{experiment}: training curves",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "curves__{dataset}__{net}__{variant}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot curves --curves {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --variant {wildcards.variant} --out {output.pdf} > {log} 2>&1"


rule plot_accuracy_vs_d:
    input:
        by_dim=RESULTS / "{experiment}" / "by_dim.csv",
        dint=RESULTS / "{experiment}" / "dint90.csv",
    output:
        pdf=FIGURES / "{experiment}" / "accuracy_vs_d__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "accuracy_vs_d__{dataset}__{net}.png",
            caption="../report/accuracy_vs_d.rst",
            category="subspace family",
            subcategory="{experiment}: accuracy vs d",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "accuracy_vs_d__{dataset}__{net}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot accuracy-vs-d --by-dim {input.by_dim} --dint {input.dint} --dataset {wildcards.dataset}"
        " --net {wildcards.net} --out {output.pdf} > {log} 2>&1"


rule plot_cost:
    input:
        csv=RESULTS / "{experiment}" / "cost.csv",
        meta=RESULTS / "{experiment}" / "cost.json",
    output:
        pdf=FIGURES / "{experiment}" / "cost.pdf",
        png=report(
            FIGURES / "{experiment}" / "cost.png",
            caption="../report/cost.rst",
            category="subspace family",
            subcategory="{experiment}: cost",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "cost.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot cost --cost {input.csv} --out {output.pdf} > {log} 2>&1"


# The cost benchmark (time per step, memory) on the machine that runs the workflow.
# It takes all cores so that no training job shares the machine while it is timed.


rule bench_cost:
    output:
        csv=RESULTS / "{experiment}" / "cost.csv",
        meta=RESULTS / "{experiment}" / "cost.json",
    log:
        RESULTS / "logs" / "bench" / "{experiment}.log",
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
        " --device {params.device} --threads {threads} --memory-limit-gib {params.memory}"
        " --out {output.csv} > {log} 2>&1"
