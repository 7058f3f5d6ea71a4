# Datasets are fetched (or found) and verified once, before any training job,
# on the submitting machine (compute nodes of a cluster often have no network).


localrules:
    prepare_data,


rule prepare_data:
    output:
        RESULTS / "data" / "{dataset}.json",
    log:
        RESULTS / "logs" / "data" / "{dataset}.log",
    priority: 1000000  # before the training jobs (whose priority is their estimated seconds): they wait for it
    conda:
        ENV
    params:
        ws=WS,
        flags=data_flags(),
        spec=lambda w: (
            f"--spec-json {shlex.quote(json.dumps(CONFIG.datasets[w.dataset].spec))}"
            if CONFIG.datasets[w.dataset].spec
            else ""
        ),
    shell:
        "{params.ws} data {wildcards.dataset} {params.flags} {params.spec} --stamp {output} > {log} 2>&1"
