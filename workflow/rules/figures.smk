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


rule plot_accuracy_vs_d:
    input:
        by_dim=RESULTS / "{experiment}" / "by_dim.csv",
        dint=RESULTS / "{experiment}" / "dint90.csv",
    output:
        pdf=FIGURES / "{experiment}" / "accuracy_vs_d__{dataset}__{net}.pdf",
        png=report(
            FIGURES / "{experiment}" / "accuracy_vs_d__{dataset}__{net}.png",
            caption="../report/accuracy_vs_d.rst",
            category="{experiment}",
            subcategory="accuracy vs d",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "accuracy_vs_d__{dataset}__{net}.log",
    shell:
        "{WS} plot accuracy-vs-d --by-dim {input.by_dim} --dint {input.dint} --dataset {wildcards.dataset}"
        " --net {wildcards.net} --out {output.pdf} > {log} 2>&1"


rule plot_cost:
    input:
        csv=RESULTS / "{experiment}" / "cost.csv",
        meta=RESULTS / "{experiment}" / "cost.json",
    output:
        pdf=FIGURES / "{experiment}" / "cost.pdf",
        png=report(
            FIGURES / "{experiment}" / "cost.png",
            caption="../report/cost.rst",
            category="{experiment}",
            subcategory="cost",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "cost.log",
    shell:
        "{WS} plot cost --cost {input.csv} --out {output.pdf} > {log} 2>&1"
