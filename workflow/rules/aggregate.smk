# Per-seed run files -> tidy tables per experiment; then each family's analysis of final.csv
# (one rule per family, analyze_<family>, writing the tables the family declares).


rule aggregate:
    input:
        lambda w: run_files(w.experiment),
    output:
        curves=RESULTS / "{experiment}" / "curves.csv",
        final=RESULTS / "{experiment}" / "final.csv",
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
        shell:
            "{params.ws} analyze --family {params.family} --final {input} --out {params.out}"
            " --analysis-json {params.analysis:q} > {log} 2>&1"
