"""The checks the schema cannot express: nets defined, variant names unique, each family's own checks, each
cell's reparameterization and memory, the declared comparisons."""

from __future__ import annotations

from weightspace import comparisons, registry
from weightspace.config.grid import Validated, experiment_seeds
from weightspace.data import SCALINGS
from weightspace.netspec import cell_task, init_stds, net_spec_for
from weightspace.sizes import fmt_bytes, limit_bytes, over_limit

__all__ = ["check_experiment", "check_comparisons", "check_cell"]


def check_experiment(name: str, exp: dict, config: Validated) -> list[str]:
    problems = []
    where = f"experiments.{name}"
    defined = sorted(config["nets"])
    for net in exp["nets"]:
        if net not in config["nets"]:
            problems.append(f"{where}.nets: unknown net {net!r}; defined nets: {', '.join(defined) or '(none)'}")
    names = [v["name"] for v in exp["variants"]]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"{where}.variants: duplicate variant name(s) {', '.join(dupes)}; names must be unique")
        return problems  # the family's checks look variants up by name
    return problems + registry.FAMILIES[exp["family"]].check_experiment(where, exp, config)


def check_comparisons(config: dict, expanded: dict[str, dict[str, dict]]) -> list[str]:
    problems = []
    for name, cells in expanded.items():
        exp = config["experiments"][name]
        family = registry.FAMILIES[exp["family"]]
        problems += comparisons.check(f"experiments.{name}", exp, cells, family.default_comparisons(exp),
                                              family.metrics, cell_task)
        if exp.get("comparisons") is not False:  # the statistics' memory, before analyze allocates it
            resamples, n = comparisons.options_of(exp)["n_resamples"], len(experiment_seeds(config, name))
            need = comparisons.resampling_bytes(resamples, n)
            if need > limit_bytes(config["memory_limit_gib"]):
                key = f"experiments.{name}.comparisons.n_resamples"
                if need <= comparisons.resampling_bytes(comparisons.OPTIONS["n_resamples"], n):
                    key = f"experiments.{name}.seeds" if "seeds" in exp else "seeds"
                problems.append(
                    f"{key}: comparing {n} seeds with {resamples:,} resamples needs "
                    f"~{fmt_bytes(need)}, {over_limit(config['memory_limit_gib'])}; "
                    f"use fewer {key.split('.')[-1]} (or comparisons: false), or raise memory_limit_gib")
    return problems


def check_cell(cell: dict, config: Validated) -> list[str]:
    where = f"experiments.{cell['experiment']}"
    dataset, net_cfg, variant, train = config.datasets[cell["dataset"]], cell["net"], cell["variant"], cell["train"]
    try:
        net = net_spec_for(net_cfg, dataset.input_shape, dataset.n_outputs)
    except ValueError as e:
        return [f"{where}: net {net_cfg['name']!r} cannot run on {dataset.name}: {e}"]
    index = [v["name"] for v in config["experiments"][cell["experiment"]]["variants"]].index(variant["name"])
    vwhere = f"{where}.variants[{index}:{variant['name']}]"
    spec = registry.REPARAMS[variant["reparam"]]
    problems = [f"{vwhere}{'.' + key if key else ''}: {msg}" for key, msg in spec.check(variant, cell, net, dataset)]
    if not problems:
        need = spec.memory(variant, net, 1)
        if need > limit_bytes(config["memory_limit_gib"]):
            problems.append(
                f"{vwhere}: cell {cell['cell']} needs ~{fmt_bytes(need)} per seed for its fixed tensors "
                f"(D={net.n_params:,}), {over_limit(config['memory_limit_gib'])}; "
                f"{spec.memory_hint or 'use smaller options'}, or raise memory_limit_gib"
            )
    scaling = train.get("input_scaling", SCALINGS[0])
    if scaling != SCALINGS[0] and not dataset.pixel_range:
        problems.append(
            f"{_train_key(cell, config, 'input_scaling')}: {scaling} scales images by their pixel range, which "
            f"dataset {dataset.name} has not ({dataset.about or 'no images'}); use input_scaling: {SCALINGS[0]} "
            f"for it (e.g. in a variant or an experiment of its own)"
        )
    try:
        init_stds(net.spec, train.get("init"))
    except ValueError as e:
        problems.append(f"{_train_key(cell, config, 'init')}.std: net {net_cfg['name']!r}: {e}")
    if train["batch_size"] > dataset.n_train:
        problems.append(
            f"{where}.train.batch_size: {train['batch_size']} exceeds the {dataset.n_train} training examples "
            f"of {dataset.name}"
        )
    return problems


def _train_key(cell: dict, config: Validated, key: str) -> str:
    """Where a cell's training setting ``key`` is set: its variant's ``train``, its experiment's, or the top-level."""
    where = f"experiments.{cell['experiment']}"
    exp = config["experiments"][cell["experiment"]]
    names = [v["name"] for v in exp["variants"]]
    index = names.index(cell["variant"]["name"])
    if key in (exp["variants"][index].get("train") or {}):
        return f"{where}.variants[{index}:{names[index]}].train.{key}"
    if key in (exp.get("train") or {}):
        return f"{where}.train.{key}"
    return f"train.{key}"
