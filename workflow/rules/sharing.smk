# The sharing family's job besides training and its render job: the meta-learning comparison (weightspace bench
# meta-sharing), whose table meta_summary.csv the meta figure shows. Its figures and table: artifacts.py in
# src/weightspace/families/sharing/.


rule meta_sharing:
    output:
        rows=RESULTS / "{experiment}" / "meta.csv",
        summary=RESULTS / "{experiment}" / "meta_summary.csv",
    log:
        RESULTS / "logs" / "meta" / "{experiment}.log",
    wildcard_constraints:
        experiment=experiments_regex("sharing", [e for e in CELLS if experiment_config(e).get("meta")]),
    priority: 1000000  # early (as the data jobs): its render job waits for it; training jobs have their estimated seconds
    conda:
        ENV
    threads: 1
    params:
        ws=WS,
        spec=lambda w: json.dumps(
            FAMILIES["sharing"].teacher_spec(experiment_config(w.experiment)["meta"]["teacher"], CONFIG.datasets),
            sort_keys=True,
        ),
        options=lambda w: json.dumps(experiment_config(w.experiment)["meta"], sort_keys=True),
    shell:
        "OMP_NUM_THREADS={threads} {params.ws} bench meta-sharing --spec-json {params.spec:q}"
        " --options-json {params.options:q} --out {output.rows} --summary {output.summary}"
        " --threads {threads} > {log} 2>&1"
