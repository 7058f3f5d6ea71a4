# Statistics and LaTeX tables from the tidy tables (subspace family).


rule analyze:
    wildcard_constraints:
        experiment=experiments_regex(family="subspace"),
    input:
        RESULTS / "{experiment}" / "final.csv",
    output:
        by_dim=RESULTS / "{experiment}" / "by_dim.csv",
        dint=RESULTS / "{experiment}" / "dint90.csv",
    log:
        RESULTS / "logs" / "analyze" / "{experiment}.log",
    params:
        out=lambda w: RESULTS / w.experiment,
        fraction=lambda w: experiment_config(w.experiment)["analysis"]["fraction"],
        n_boot=lambda w: experiment_config(w.experiment)["analysis"]["n_boot"],
        baseline=lambda w: baseline_args(w.experiment),
    shell:
        "{WS} analyze --final {input} --out {params.out} --fraction {params.fraction}"
        " --n-boot {params.n_boot} {params.baseline} > {log} 2>&1"


rule table_dint:
    input:
        RESULTS / "{experiment}" / "dint90.csv",
    output:
        FIGURES / "{experiment}" / "dint90.tex",
    log:
        RESULTS / "logs" / "tables" / "{experiment}" / "dint90.log",
    params:
        published=lambda w: published_args(w.experiment),
    shell:
        "{WS} table dint --in {input} --out {output} {params.published} > {log} 2>&1"


rule table_accuracy:
    input:
        RESULTS / "{experiment}" / "by_dim.csv",
    output:
        FIGURES / "{experiment}" / "accuracy_by_d.tex",
    log:
        RESULTS / "logs" / "tables" / "{experiment}" / "accuracy_by_d.log",
    shell:
        "{WS} table accuracy --in {input} --out {output} > {log} 2>&1"
