# The tying family: LaTeX table and figures, from the table its analysis writes (analyze_tying:
# tying_summary.csv), the curves, and each run's tying.npz. Code: src/weightspace/families/tying/.

from weightspace.families import tying


rule table_tying:
    input:
        RESULTS / "{experiment}" / "tying_summary.csv",
    output:
        report(
            FIGURES / "{experiment}" / "tying.tex",
            caption="../report/table_tying.rst",
            category="tying family",
            subcategory="{experiment}: tables",
        ),
    log:
        RESULTS / "logs" / "tables" / "{experiment}" / "tying.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} table tying --in {input} --out {output} > {log} 2>&1"


rule plot_tying_params:
    input:
        RESULTS / "{experiment}" / "tying_summary.csv",
    output:
        pdf=FIGURES / "{experiment}" / "tying_params__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "tying_params__{dataset}__{net}.png",
            caption="../report/tying_params.rst",
            category="tying family",
            subcategory="{experiment}: accuracy vs trainable parameters",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "tying_params__{dataset}__{net}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot tying-params --summary {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --out {output.pdf} > {log} 2>&1"


rule plot_tying_curves:
    input:
        RESULTS / "{experiment}" / "curves.csv",
    output:
        pdf=FIGURES / "{experiment}" / "tying_curves__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "tying_curves__{dataset}__{net}.png",
            caption="../report/tying_curves.rst",
            category="tying family",
            subcategory="{experiment}: sum vs mean",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "tying_curves__{dataset}__{net}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot tying-curves --curves {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --out {output.pdf} > {log} 2>&1"


rule plot_tying_mse:
    input:
        RESULTS / "{experiment}" / "curves.csv",
    output:
        pdf=FIGURES / "{experiment}" / "tying_mse__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "tying_mse__{dataset}__{net}.png",
            caption="../report/tying_mse.rst",
            category="tying family",
            subcategory="{experiment}: reconstruction error",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "tying_mse__{dataset}__{net}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} plot tying-mse --curves {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --out {output.pdf} > {log} 2>&1"


rule plot_tying_recon:
    input:
        lambda w: list(
            tying.recon_inputs(
                CELLS[w.experiment], w.dataset, w.net, RESULTS / w.experiment / "runs", first_seed(w)
            ).values()
        ),
    output:
        pdf=FIGURES / "{experiment}" / "tying_recon__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "tying_recon__{dataset}__{net}.png",
            caption="../report/tying_recon.rst",
            category="tying family",
            subcategory="{experiment}: reconstructions",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "tying_recon__{dataset}__{net}.log",
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
        labels=lambda w: tying.recon_labels(CELLS[w.experiment], w.dataset, w.net),
        title=lambda w: f"{w.dataset} · {w.net}: test images and reconstructions (seed {first_seed(w)})",
    shell:
        "{params.ws} plot tying-recon --npz {input} --label {params.labels} --title {params.title:q}"
        " --out {output.pdf} > {log} 2>&1"
