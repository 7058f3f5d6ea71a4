# The sharing family: LaTeX table and figures, from the table its analysis writes
# (analyze_sharing: sharing_summary.csv) and each run's structure.npz. Code: src/weightspace/families/sharing/.


rule table_structure:
    input:
        RESULTS / "{experiment}" / "sharing_summary.csv",
    output:
        report(
            FIGURES / "{experiment}" / "structure.tex",
            caption="../report/table_structure.rst",
            category="sharing family",
            subcategory="{experiment}: tables",
        ),
    log:
        RESULTS / "logs" / "tables" / "{experiment}" / "structure.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} table structure --in {input} --out {output} > {log} 2>&1"


rule plot_structure:
    input:
        lambda w: RESULTS / w.experiment / "runs" / w.cell / f"seed-{first_seed(w)}" / "structure.npz",
    output:
        pdf=FIGURES / "{experiment}" / "structure__{cell}.pdf",
        png=report(
            FIGURES / "{experiment}" / "structure__{cell}.png",
            caption="../report/structure.rst",
            category="sharing family",
            subcategory="{experiment}: recovered structure",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "structure__{cell}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
        dataset=lambda w: cell_of(w)["dataset"],
        title=lambda w: f"{w.cell} (seed {first_seed(w)})",
    shell:
        "{params.ws} plot structure --npz {input} --dataset {params.dataset} --title {params.title:q}"
        " --out {output.pdf} > {log} 2>&1"


rule plot_maps:
    input:
        lambda w: RESULTS / w.experiment / "runs" / w.cell / f"seed-{first_seed(w)}" / "structure.npz",
    output:
        pdf=FIGURES / "{experiment}" / "maps__{cell}.pdf",
        png=report(
            FIGURES / "{experiment}" / "maps__{cell}.png",
            caption="../report/maps.rst",
            category="sharing family",
            subcategory="{experiment}: assignment maps",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "maps__{cell}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
        dataset=lambda w: cell_of(w)["dataset"],
        title=lambda w: f"{w.cell} (seed {first_seed(w)}): value index of each input weight, per hidden unit",
    shell:
        "{params.ws} plot maps --npz {input} --dataset {params.dataset} --title {params.title:q}"
        " --out {output.pdf} > {log} 2>&1"


rule plot_tradeoff:
    input:
        RESULTS / "{experiment}" / "sharing_summary.csv",
    output:
        pdf=FIGURES / "{experiment}" / "tradeoff__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "tradeoff__{dataset}__{net}.png",
            caption="../report/tradeoff.rst",
            category="sharing family",
            subcategory="{experiment}: accuracy vs unique values",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "tradeoff__{dataset}__{net}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot tradeoff --summary {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --out {output.pdf} > {log} 2>&1"


rule plot_dynamics:
    input:
        RESULTS / "{experiment}" / "curves.csv",
    output:
        pdf=FIGURES / "{experiment}" / "dynamics__{dataset}__{net}__{variant}.pdf",
        png=report(
            FIGURES / "{experiment}" / "dynamics__{dataset}__{net}__{variant}.png",
            caption="../report/dynamics.rst",
            category="sharing family",
            subcategory="{experiment}: entropy and values used",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "dynamics__{dataset}__{net}__{variant}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot dynamics --curves {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --variant {wildcards.variant} --out {output.pdf} > {log} 2>&1"


# ---- issue 16: sample-size sweeps and meta-learned sharing ----


rule plot_sweep:
    input:
        RESULTS / "{experiment}" / "sharing_summary.csv",
    output:
        pdf=FIGURES / "{experiment}" / "sweep__{teacher}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "sweep__{teacher}__{net}.png",
            caption="../report/sweep.rst",
            category="sharing family",
            subcategory="{experiment}: sample-size sweep",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "sweep__{teacher}__{net}.log",
    wildcard_constraints:
        teacher=r"[A-Za-z][A-Za-z0-9_-]*",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
        inputs=lambda w: FAMILIES["sharing"].sweep_inputs(w.teacher, CONFIG.datasets),
    shell:
        "{params.ws} plot sweep --summary {input} --teacher {wildcards.teacher} --net {wildcards.net}"
        " --inputs {params.inputs} --out {output.pdf} > {log} 2>&1"


rule meta_sharing:
    output:
        rows=RESULTS / "{experiment}" / "meta.csv",
        summary=RESULTS / "{experiment}" / "meta_summary.csv",
    log:
        RESULTS / "logs" / "meta" / "{experiment}.log",
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


rule plot_meta:
    input:
        RESULTS / "{experiment}" / "meta_summary.csv",
    output:
        pdf=FIGURES / "{experiment}" / "meta.pdf",
        png=report(
            FIGURES / "{experiment}" / "meta.png",
            caption="../report/meta.rst",
            category="sharing family",
            subcategory="{experiment}: meta-learned sharing",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "meta.log",
    conda:
        ENV
    params:
        ws=WS,
        title=lambda w: f"{w.experiment}: meta-learned sharing on {experiment_config(w.experiment)['meta']['teacher']}",
    shell:
        "{params.ws} plot meta --summary {input} --title {params.title:q} --out {output.pdf} > {log} 2>&1"


rule plot_budget:
    input:
        RESULTS / "{experiment}" / "sharing_summary.csv",
    output:
        pdf=FIGURES / "{experiment}" / "budget__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "budget__{dataset}__{net}.png",
            caption="../report/budget.rst",
            category="sharing family",
            subcategory="{experiment}: compression budgets",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "budget__{dataset}__{net}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot budget --summary {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --out {output.pdf} > {log} 2>&1"
