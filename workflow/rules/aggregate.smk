# Per-seed run files -> tidy tables per experiment.


rule aggregate:
    input:
        lambda w: run_files(w.experiment),
    output:
        curves=RESULTS / "{experiment}" / "curves.csv",
        final=RESULTS / "{experiment}" / "final.csv",
    log:
        RESULTS / "logs" / "aggregate" / "{experiment}.log",
    params:
        out=lambda w: RESULTS / w.experiment,
    shell:
        "{WS} aggregate {input} --out {params.out} > {log} 2>&1"
