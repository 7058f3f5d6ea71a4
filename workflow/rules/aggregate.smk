# Per-seed run files -> tidy tables per experiment; then each family's analysis of final.csv
# (one rule per family, analyze_<family>, writing the tables the family declares and the experiment's
# comparisons: comparisons.csv, comparisons_aggregate.csv), and the comparisons' table and figure.


rule aggregate:
    input:
        lambda w: run_files(w.experiment),
    output:
        curves=RESULTS / "{experiment}" / "curves.csv",
        final=RESULTS / "{experiment}" / "final.csv",
        timings=RESULTS / "{experiment}" / "timings.csv",
    log:
        RESULTS / "logs" / "aggregate" / "{experiment}.log",
    conda:
        ENV
    params:
        ws=WS,
        out=lambda w: RESULTS / w.experiment,
    shell:
        "{params.ws} aggregate {input} --out {params.out} > {log} 2>&1"


for family in FAMILIES.values():

    rule:
        name:
            f"analyze_{family.name}"
        input:
            RESULTS / "{experiment}" / "final.csv",
        output:
            [RESULTS / "{experiment}" / name for name in family.analysis_files],
            comparisons=RESULTS / "{experiment}" / "comparisons.csv",
            pooled=RESULTS / "{experiment}" / "comparisons_aggregate.csv",
        log:
            RESULTS / "logs" / "analyze" / "{experiment}.log",
        wildcard_constraints:
            experiment=experiments_regex(family.name),
        conda:
            ENV
        params:
            ws=WS,
            family=family.name,
            out=lambda w: RESULTS / w.experiment,
            analysis=lambda w: json.dumps(experiment_config(w.experiment).get("analysis") or {}),
            comparisons=lambda w: json.dumps(comparisons_spec(w.experiment), sort_keys=True),
        shell:
            "{params.ws} analyze --family {params.family} --final {input} --out {params.out}"
            " --analysis-json {params.analysis:q} --comparisons-json {params.comparisons:q} > {log} 2>&1"

    rule:
        name:
            f"comparisons_{family.name}"
        input:
            csv=RESULTS / "{experiment}" / "comparisons.csv",
            pooled=RESULTS / "{experiment}" / "comparisons_aggregate.csv",
        output:
            tex=report(
                FIGURES / "{experiment}" / "comparisons.tex",
                caption="../report/table_comparisons.rst",
                category=f"{family.name} family",
                subcategory="{experiment}: tables",
            ),
            pdf=FIGURES / "{experiment}" / "comparisons.pdf",
            png=report(
                FIGURES / "{experiment}" / "comparisons.png",
                caption="../report/comparisons.rst",
                category=f"{family.name} family",
                subcategory="{experiment}: comparisons",
            ),
        log:
            RESULTS / "logs" / "figures" / "{experiment}" / "comparisons.log",
        wildcard_constraints:
            experiment=experiments_regex(family.name),
        conda:
            ENV
        params:
            ws=WS,
            n_seeds=lambda w: len(experiment_seeds(w.experiment)),
        shell:
            "{params.ws} plot comparisons --csv {input.csv} --aggregate {input.pooled} --tex {output.tex}"
            " --out {output.pdf} --title {wildcards.experiment} > {log} 2>&1"
