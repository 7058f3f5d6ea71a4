# Paper figures (PDF + PNG) from the tidy tables.


rule plot_curves:
    input:
        RESULTS / "{experiment}" / "curves.csv",
    output:
        pdf=FIGURES / "{experiment}" / "curves__{dataset}__{net}__{variant}.pdf",
        png=report(
            FIGURES / "{experiment}" / "curves__{dataset}__{net}__{variant}.png",
            caption="../report/curves.rst",
            category="{experiment}",
            subcategory="training curves",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "curves__{dataset}__{net}__{variant}.log",
    shell:
        "{WS} plot curves --curves {input} --dataset {wildcards.dataset} --net {wildcards.net}"
        " --variant {wildcards.variant} --out {output.pdf} > {log} 2>&1"
