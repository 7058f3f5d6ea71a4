# After training, one job per experiment (weightspace render <experiment>, one process): its runs aggregated
# (curves.csv, final.csv, timings.csv), its family's analysis and its comparisons into results/<experiment>/, then
# every figure and LaTeX table of its family that applies into figures/<experiment>/. The figures and tables are
# listed once, as data, in weightspace/artifacts.py (the comparisons') and each family's artifacts.py; the rule of
# an experiment, its literal outputs and their report entries (caption, category) are derived from those lists
# here. An input another job makes (the cost benchmark's cost.csv, the meta-learning table) is made by a rule of
# the family's rules file. Remake one artifact by hand: weightspace make <family>.<artifact> <experiment> --config ...


for experiment in CELLS:

    rule:
        name:
            render_rule(experiment)
        input:
            runs=render_inputs(experiment),
            made_elsewhere=[RESULTS / experiment / name for name in render_external(experiment)],
        output:
            tables=[RESULTS / experiment / name for name in render_tables(experiment)],
            artifacts=render_outputs(experiment),
        log:
            RESULTS / "logs" / "render" / f"{experiment}.log",
        conda:
            ENV
        params:
            ws=WS,
            experiment=experiment,
            config=render_config(experiment),
            n_seeds=len(experiment_seeds(experiment)),
            conventions=conventions(experiment),
        shell:
            "{params.ws} render {params.experiment} --config-json {params.config:q} > {log} 2>&1"
