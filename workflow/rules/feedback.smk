# The weight-feedback family: its LaTeX table and "feedback vs. baseline" figures, from the tables its
# analysis writes (analyze_feedback: feedback_summary.csv, feedback_paired.csv) and the curves.
# Code: src/weightspace/families/feedback/.


rule table_feedback:
    input:
        RESULTS / "{experiment}" / "feedback_summary.csv",
    output:
        report(
            FIGURES / "{experiment}" / "feedback.tex",
            caption="../report/table_feedback.rst",
            category="feedback family",
            subcategory="{experiment}: tables",
        ),
    log:
        RESULTS / "logs" / "tables" / "{experiment}" / "feedback.log",
    wildcard_constraints:
        experiment=experiments_regex("feedback"),
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
    shell:
        "{params.ws} table feedback --in {input} --out {output} > {log} 2>&1"


rule plot_feedback:
    input:
        curves=RESULTS / "{experiment}" / "curves.csv",
        summary=RESULTS / "{experiment}" / "feedback_summary.csv",
        paired=RESULTS / "{experiment}" / "feedback_paired.csv",
    output:
        pdf=FIGURES / "{experiment}" / "feedback__{dataset}.pdf",
        png=report(
            FIGURES / "{experiment}" / "feedback__{dataset}.png",
            caption="../report/feedback_vs_baseline.rst",
            category="feedback family",
            subcategory="{experiment}: feedback vs. baseline",
        ),
    log:
        RESULTS / "logs" / "figures" / "{experiment}" / "feedback__{dataset}.log",
    wildcard_constraints:
        experiment=experiments_regex("feedback"),
    conda:
        ENV
    params:
        ws=WS,
        n_seeds=lambda w: len(experiment_seeds(w.experiment)),
        title=lambda w: f"{w.experiment} · {w.dataset}",
    shell:
        "{params.ws} plot feedback --curves {input.curves} --summary {input.summary} --paired {input.paired}"
        " --dataset {wildcards.dataset} --title {params.title:q} --out {output.pdf} > {log} 2>&1"
