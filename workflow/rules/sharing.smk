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
