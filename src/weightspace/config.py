"""Configuration: load, merge presets, validate, expand into cells.

Data flows one way: YAML files -> :func:`load_config` (later files override
earlier ones: mappings merge key by key, lists and scalars replace) ->
:func:`validate` (JSON schema, then checks that need the nets and datasets,
each failure one line naming the key and the allowed values) ->
:func:`expand` (the grid: one *cell* per dataset x net x variant x swept
value, with every training hyperparameter resolved).

The Snakemake workflow and the CLI both go through these functions, so a
config that passes ``weightspace validate`` is exactly one the workflow runs.
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any, Iterable

import yaml

from weightspace.data import INPUT_SHAPES, N_OUTPUTS, TEACHER_LAYER, TEACHERS
from weightspace.errors import ConfigError
from weightspace.nets import build_net
from weightspace.reparam import estimate_bytes
from weightspace.train import TrainConfig

__all__ = [
    "SCHEMA_PATH",
    "load_config",
    "merge",
    "validate",
    "expand",
    "load_schema",
    "N_TRAIN",
    "cell_id",
]

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")

#: Training-set sizes, to check batch sizes without loading data.
N_TRAIN = {
    "mnist": 60000,
    "fashion_mnist": 60000,
    "cifar10": 50000,
    "digits": 1437,
    "mnist1d": 4000,
    "mnist1d_shuffled": 4000,
    "conv1d_teacher": 8192,
    "conv2d_teacher": 8192,
}

#: Variant keys that are not reparameterization options.
_VARIANT_META = ("name", "reparam", "train")


def load_schema() -> dict:
    with open(SCHEMA_PATH) as f:
        return yaml.safe_load(f)


def merge(base: Any, override: Any) -> Any:
    """Recursive merge: mappings merge key by key; anything else in ``override`` replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


def load_config(*paths: str | Path) -> dict:
    """Read and merge YAML files (the first is the base, later ones override it)."""
    if not paths:
        raise ConfigError("no config file given")
    config: dict = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise ConfigError(f"config file {p} does not exist")
        try:
            with open(p) as f:
                data = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p} is not valid YAML: {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the top level must be a mapping, got {type(data).__name__}")
        config = merge(config, data)
    return config


# ----------------------------------------------------------------------------------------------
# schema validation with readable messages


def _render_path(path: Iterable, instance: Any) -> str:
    """['experiments', 'a', 'variants', 1, 'd'] -> 'experiments.a.variants[1:dense].d'."""
    out = ""
    node = instance
    for part in path:
        if isinstance(part, int):
            label = str(part)
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict) and "name" in node[part]:
                label = f"{part}:{node[part]['name']}"
            out += f"[{label}]"
        else:
            out += f".{part}" if out else str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out or "(top level)"


def _describe(error, root: Any) -> str:
    from jsonschema.exceptions import best_match

    if error.validator in ("oneOf", "anyOf") and error.context:
        # report why the alternative of the right type failed (e.g. a number out of range)
        by_alt: dict = {}
        for sub in error.context:
            by_alt.setdefault(sub.schema_path[0], []).append(sub)
        fitting = [
            errs for errs in by_alt.values()
            if not any(e.validator == "type" and not e.relative_path for e in errs)
        ]
        if len(fitting) == 1:
            return _describe(best_match(fitting[0]), root)
    where = _render_path(error.absolute_path, root)
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        return f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; allowed keys: {', '.join(allowed)}"
    if v == "enum":
        return f"{where}: {error.instance!r} is not allowed; choose one of: {', '.join(map(str, error.validator_value))}"
    if v == "required":
        return f"{where}: {error.message}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"{where}: {error.instance!r} is out of range ({error.message})"
    if v == "pattern":
        hint = f" ({error.schema['description']})" if error.schema.get("description") else ""
        return f"{where}: {error.instance!r} does not match {error.validator_value!r}{hint}"
    if v in ("oneOf", "anyOf"):
        return f"{where}: {error.instance!r} is not valid here ({error.schema.get('description', 'see the schema')})"
    return f"{where}: {error.message}"


def _schema_errors(config: dict) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    messages = []
    for e in errors:
        msg = _describe(e, config)
        if msg not in messages:
            messages.append(msg)
    return messages


# ----------------------------------------------------------------------------------------------
# validation


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return node


def _fill(instance: Any, schema: dict, root: dict) -> Any:
    """Insert the schema's ``default`` for every absent property of every object present."""
    schema = _resolve(schema, root)
    if isinstance(instance, dict):
        out = dict(instance)
        props = schema.get("properties", {})
        for key, sub in props.items():
            sub = _resolve(sub, root)
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = _fill(out[key], sub, root)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in out:
                if key not in props:
                    out[key] = _fill(out[key], extra, root)
        return out
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [_fill(x, schema["items"], root) for x in instance]
    return instance


def _defaults(config: dict) -> dict:
    """Fill defaults from the schema (also in each experiment's `analysis`), training defaults from TrainConfig."""
    schema = load_schema()
    out = copy.deepcopy(config)
    for exp in out.get("experiments", {}).values():
        if exp.get("family") == "subspace":
            exp.setdefault("analysis", {})
    out = _fill(out, schema, schema)
    defaults = {f: getattr(TrainConfig(), f) for f in TrainConfig.__dataclass_fields__}
    out["train"] = merge(defaults, out.get("train") or {})
    if isinstance(out["seeds"], int):
        out["seeds"] = list(range(out["seeds"]))
    return out


def validate(config: dict) -> dict:
    """Check ``config`` completely; return it with defaults filled in.

    Raises:
        ConfigError: listing every problem found, one per line, each naming the
            key and what is allowed.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"the config must be a mapping, got {type(config).__name__}")
    problems = _schema_errors(config)
    if problems:
        raise ConfigError(_problem_text(problems))
    config = _defaults(config)
    problems = []
    for name, exp in config["experiments"].items():
        problems += _check_experiment(name, exp, config)
    if not problems:
        for exp_cells in _expand(config).values():
            for cell in exp_cells.values():
                problems += [p for p in _check_cell(cell, config) if p not in problems]
    if problems:
        raise ConfigError(_problem_text(problems))
    return config


def _problem_text(problems: list[str]) -> str:
    head = "invalid configuration" + (f" ({len(problems)} problems)" if len(problems) > 1 else "")
    shown = problems[:25]
    more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
    return head + ":\n" + "\n".join(f"  - {p}" for p in shown) + more


def _check_experiment(name: str, exp: dict, config: dict) -> list[str]:
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
    cost = exp.get("cost")
    if cost and cost["net"] not in config["nets"]:
        problems.append(f"{where}.cost.net: unknown net {cost['net']!r}; defined nets: {', '.join(defined) or '(none)'}")
    for i, pub in enumerate((exp.get("analysis") or {}).get("published", [])):
        if pub["net"] not in exp["nets"] or pub["dataset"] not in exp["datasets"]:
            problems.append(
                f"{where}.analysis.published[{i}]: ({pub['dataset']}, {pub['net']}) is not a dataset x net of this experiment"
            )
    if exp["family"] == "subspace" and not any(v["reparam"] == "direct" for v in exp["variants"]):
        problems.append(
            f"{where}.variants: a subspace experiment needs a variant with `reparam: direct` "
            f"(the full-space baseline its analyses compare against)"
        )
    return problems


def _check_cell(cell: dict, config: dict) -> list[str]:
    where = f"experiments.{cell['experiment']}"
    dataset, net_cfg, variant, train = cell["dataset"], cell["net"], cell["variant"], cell["train"]
    try:
        net = build_net(net_cfg["arch"], INPUT_SHAPES[dataset], N_OUTPUTS[dataset], net_cfg.get("widths"))
    except ValueError as e:
        return [f"{where}: net {net_cfg['name']!r} cannot run on {dataset}: {e}"]
    problems = []
    D = net.n_params
    index = [v["name"] for v in config["experiments"][cell["experiment"]]["variants"]].index(variant["name"])
    vwhere = f"{where}.variants[{index}:{variant['name']}]"
    if variant["reparam"] == "known" and dataset not in TEACHERS:
        problems.append(
            f"{vwhere}: reparam 'known' needs a dataset with a known structure ({', '.join(TEACHERS)}), not {dataset}"
        )
    layer = net.spec.get(TEACHER_LAYER)
    if variant["reparam"] == "known" and dataset in TEACHERS and (
        layer is None or len(net.spec) != 2 or layer.shape[0] != N_OUTPUTS[dataset]
    ):
        problems.append(f"{vwhere}: reparam 'known' needs a single linear layer (an fc net with widths: [])")
    if variant["reparam"] == "kmeans" and variant["pretrain_epochs"] >= train["epochs"]:
        problems.append(
            f"{vwhere}.pretrain_epochs: {variant['pretrain_epochs']} leaves no epoch to fine-tune the values "
            f"(train.epochs is {train['epochs']})"
        )
    if variant["reparam"] == "subspace" and variant["d"] > D:
        problems.append(
            f"{vwhere}.d: d={variant['d']} exceeds D={D:,}, the number of weights of net "
            f"{net_cfg['name']!r} on {dataset}; use d <= {D}"
        )
    else:
        limit = config["memory_limit_gib"] * 2**30
        need = estimate_bytes(variant, net, 1)
        if need > limit:
            problems.append(
                f"{vwhere}: cell {cell['cell']} needs ~{need / 2**30:.1f} GiB per seed for its fixed tensors "
                f"(D={D:,}), over memory_limit_gib={config['memory_limit_gib']}; use a smaller d, a sparse or "
                f"fastfood projection, or raise memory_limit_gib"
            )
    if train["batch_size"] > N_TRAIN[dataset]:
        problems.append(
            f"{where}.train.batch_size: {train['batch_size']} exceeds the {N_TRAIN[dataset]} training examples of {dataset}"
        )
    return problems


# ----------------------------------------------------------------------------------------------
# grid expansion


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return repr(v) if not math.isinf(v) else "inf"
    return str(v)


def cell_id(dataset: str, net: str, variant: str, swept: dict[str, Any]) -> str:
    """Readable, unique name of a cell: ``mnist__fc__dense__d100__lr0.003``.

    Net and variant names contain no '_' (schema), so '__' separates parts unambiguously.
    """
    parts = [dataset, net, variant] + [f"{k}{_fmt(v)}" for k, v in swept.items()]
    return "__".join(parts)


def _grid(options: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    keys = [k for k, v in options.items() if isinstance(v, list)]
    values = [options[k] for k in keys]
    return keys, list(itertools.product(*values)) if keys else [()]


def _expand(config: dict) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for exp_name, exp in config["experiments"].items():
        if not exp.get("enabled", True):
            continue
        cells: dict[str, dict] = {}
        for dataset in exp["datasets"]:
            for net_name in exp["nets"]:
                net_cfg = {"name": net_name, **config["nets"][net_name]}
                for variant in exp["variants"]:
                    options = {k: v for k, v in variant.items() if k not in _VARIANT_META}
                    train = merge(merge(config["train"], exp.get("train") or {}), variant.get("train") or {})
                    okeys, ocombos = _grid(options)
                    tkeys, tcombos = _grid(train)
                    for ocombo in ocombos:
                        for tcombo in tcombos:
                            swept = dict(zip(okeys, ocombo)) | dict(zip(tkeys, tcombo))
                            cid = cell_id(dataset, net_name, variant["name"], swept)
                            cells[cid] = {
                                "experiment": exp_name,
                                "family": exp["family"],
                                "cell": cid,
                                "dataset": dataset,
                                "net": net_cfg,
                                "variant": {
                                    "name": variant["name"],
                                    "reparam": variant["reparam"],
                                    **options,
                                    **dict(zip(okeys, ocombo)),
                                },
                                "train": {**train, **dict(zip(tkeys, tcombo))},
                                "swept": swept,
                            }
        out[exp_name] = cells
    return out


def expand(config: dict) -> dict[str, dict[str, dict]]:
    """All cells of the enabled experiments: ``{experiment: {cell_id: cell}}``.

    ``config`` must have been through :func:`validate`.
    """
    return _expand(config)
