# Datasets are fetched (or found) and verified once, before any training job, in one job on the submitting
# machine (compute nodes of a cluster often have no network): a stamp per dataset, results/data/<dataset>.json.


localrules:
    prepare_data,


if DATASETS_USED:  # none without an enabled experiment

    rule prepare_data:
        output:
            [RESULTS / "data" / f"{name}.json" for name in DATASETS_USED],
        log:
            RESULTS / "logs" / "data.log",
        conda:
            ENV
        params:
            ws=WS,
            names=" ".join(DATASETS_USED),
            flags=data_flags(),
            specs=json.dumps(
                {name: DATASETS[name].spec for name in DATASETS_USED if DATASETS[name].spec}, sort_keys=True
            ),
            stamps=RESULTS / "data",
        shell:
            "{params.ws} data {params.names} {params.flags} --specs-json {params.specs:q} --stamp-dir {params.stamps}"
            " > {log} 2>&1"
