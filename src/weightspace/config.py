"""Configuration: load, merge presets, validate, expand into cells.

Data flows one way: YAML files -> :func:`load_config` (later files override
earlier ones: mappings merge key by key, lists, scalars and null replace) ->
:func:`validate` (numbers first - whole floats at integer keys become ints;
NaN, infinities and text where a number belongs are refused -, then the JSON
schema, then checks that need the nets and datasets, each failure one line
naming the key and the allowed values) ->
:func:`expand` (the grid: one *cell* per dataset x net x variant x swept
value, with every training hyperparameter resolved).

The Snakemake workflow and the CLI both go through these functions, so a
config that passes ``weightspace validate`` is exactly one the workflow runs.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from weightspace import registry, variant_comparisons
from weightspace.data import RESERVED, DatasetInfo, known
from weightspace.errors import ConfigError
from weightspace.netspec import ARCHS, cell_task, net_spec_for
from weightspace.sizes import fmt_bytes, limit_bytes, over_limit
from weightspace.train.config import TrainConfig

__all__ = [
    "SCHEMA_PATH",
    "load_config",
    "load_yaml",
    "merge",
    "validate",
    "Validated",
    "validate_files",
    "expand",
    "load_schema",
    "variant_sweeps",
    "cell_id",
    "experiment_seeds",
]

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")

#: Variant keys that are not reparameterization options.
_VARIANT_META = ("name", "reparam", "train")


class Validated(dict):
    """A validated config: the mapping, with its defaults filled in, that :func:`validate` returns, and what the
    config defines beyond the registry's names.

    Attributes:
        datasets: every dataset the config can name, by name: the core's and the families' built-in ones
            (:func:`weightspace.data.known`), then those the config defines (a family's config keys, e.g. the
            sharing family's ``teachers``), each a :class:`~weightspace.data.DatasetInfo`.
    """

    def __init__(self, config: dict, datasets: dict[str, DatasetInfo]):
        super().__init__(config)
        self.datasets = datasets


@functools.lru_cache(maxsize=8)
def _schema(datasets: tuple[str, ...]) -> dict:
    """The schema for a config that can name ``datasets``, assembled once per set of names (callers must not
    modify it): the core file plus every family's fragment.

    The core (``config.schema.yaml``) describes what every experiment has; each
    family's ``schema.yaml`` adds the keys of its experiments and the options of
    its reparameterizations, merged here as one if/then branch per family
    (under ``experiment``) and per reparameterization (under ``variant``). The
    family and reparam names come from the registry (:mod:`weightspace.registry`).
    """
    families, reparams = registry.families(), registry.REPARAMS

    with open(SCHEMA_PATH) as f:
        schema = yaml.safe_load(f)
    defs = schema["$defs"]
    defs["dataset"]["enum"] = list(datasets)
    defs["experiment"]["properties"]["family"]["enum"] = list(families)
    defs["variant"]["properties"]["reparam"]["enum"] = list(reparams)
    defs["net"]["properties"]["arch"]["enum"] = [*ARCHS, *registry.ARCHITECTURES]
    net_keys: dict[str, dict] = {arch: {} for arch in ARCHS}
    core_keys = {k: True for k in defs["experiment"]["properties"]}
    options: dict[str, dict] = {"direct": {}}
    defs["experiment"]["allOf"] = []
    for family in families.values():
        fragment = family.schema()
        for key, d in (fragment.get("config") or {}).items():  # top-level keys a family adds (sharing: teachers)
            if key in schema["properties"]:
                raise RuntimeError(f"family {family.name!r} redefines the top-level key {key!r} of the config schema")
            schema["properties"][key] = d
        for name, d in (fragment.get("$defs") or {}).items():
            if name in defs:
                raise RuntimeError(f"family {family.name!r} redefines $defs/{name} of the config schema")
            defs[name] = d
        defs["experiment"]["allOf"].append({
            "if": {"properties": {"family": {"const": family.name}}, "required": ["family"]},
            "then": {"additionalProperties": False, "properties": {**core_keys, **(fragment.get("experiment") or {})}},
        })
        options.update(fragment.get("reparams") or {})
        net_keys.update({arch: (fragment.get("nets") or {}).get(arch, {}) for arch in (a.name for a in family.archs)})
    missing = sorted(set(reparams) - set(options))
    if missing:
        raise RuntimeError(f"no schema for the options of reparam(s) {', '.join(missing)} (their family's schema.yaml)")
    defs["variant"]["allOf"] = []
    for name in reparams:
        then = {"additionalProperties": False,
                "properties": {"name": True, "reparam": True, "train": True, **options[name].get("properties", {})}}
        if options[name].get("required"):
            then["required"] = options[name]["required"]
        defs["variant"]["allOf"].append({"if": {"properties": {"reparam": {"const": name}}}, "then": then})
    core_net = {k: True for k in defs["net"]["properties"]}
    defs["net"]["allOf"] = [
        {"if": {"properties": {"arch": {"const": arch}}, "required": ["arch"]},
         "then": {"additionalProperties": False, "properties": {**core_net, **keys.get("properties", {})},
                  **({"required": keys["required"]} if keys.get("required") else {})}}
        for arch, keys in net_keys.items()
    ]
    return schema


def load_schema() -> dict:
    """The JSON schema of a config that defines no dataset of its own (a fresh copy)."""
    return copy.deepcopy(_schema(tuple(known())))


def merge(base: Any, override: Any) -> Any:
    """Recursive merge: mappings merge key by key; anything else in ``override`` replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


#: the most YAML nodes a config file may hold once its aliases are expanded (config.yaml: a few thousand)
MAX_YAML_NODES = 100_000


class _Loader(yaml.SafeLoader):
    """YAML's safe loader that refuses a key given twice in one mapping (the last would silently win)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: its keys may be overridden
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.setdefault(key, line)
                except TypeError:  # an unhashable key: the constructor says so
                    break
                if first != line:
                    raise ConfigError(f"{self.name}: key {key!r} is given twice in one mapping (lines {first} and "
                                      f"{line}); keep one")
        return super().construct_mapping(node, deep)


def _expanded_nodes(node, bound: int, sizes: dict, open_: set) -> int:
    """Nodes under ``node`` with every alias expanded (each shared node counted once per use), counted without
    expanding them; stops past ``bound``. Raises ValueError on an alias inside its own anchor."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_:
        raise ValueError("an alias refers to the node that contains it (a recursive alias)")
    open_.add(id(node))
    n = 1
    children = node.value if isinstance(node, yaml.SequenceNode) else \
        [x for kv in node.value for x in kv] if isinstance(node, yaml.MappingNode) else []
    for child in children:
        n += _expanded_nodes(child, bound, sizes, open_)
        if n > bound:
            break
    open_.discard(id(node))
    sizes[id(node)] = n
    return n


def load_yaml(path: str | Path):
    """A YAML file, read safely: at most :data:`MAX_YAML_NODES` nodes once aliases are expanded (an alias bomb
    would otherwise keep validation busy for hours), no key twice in one mapping. Every config file the CLI and
    the workflow read goes through here. Raises ConfigError, one line naming the file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {p} does not exist")
    try:
        with open(p) as f:
            loader = _Loader(f)
            try:
                node = loader.get_single_node()
                if node is None:
                    return None
                try:
                    n = _expanded_nodes(node, MAX_YAML_NODES, {}, set())
                except ValueError as e:
                    raise ConfigError(f"{p}: {e}; write the value out") from None
                if n > MAX_YAML_NODES:
                    raise ConfigError(f"{p}: its aliases (*name) expand to more than {MAX_YAML_NODES:,} YAML nodes "
                                      f"(an alias bomb?); write the values out or use fewer aliases")
                return loader.construct_document(node)
            finally:
                loader.dispose()
    except yaml.YAMLError as e:
        raise ConfigError(f"{p} is not valid YAML: {e}") from e


def load_config(*paths: str | Path) -> dict:
    """Read and merge YAML files (the first is the base, later ones override it), each through :func:`load_yaml`."""
    if not paths:
        raise ConfigError("no config file given")
    config: dict = {}
    for p in paths:
        p = Path(p)
        data = load_yaml(p) or {}
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


def _describe(error, root: Any, schema: dict) -> str:
    from jsonschema.exceptions import best_match

    if error.validator in ("oneOf", "anyOf") and error.context:
        # report why the alternative of the right type failed (e.g. a number out of range)
        by_alt: dict = {}
        for sub in error.context:
            by_alt.setdefault(sub.schema_path[0], []).append(sub)

        def misfit(e) -> bool:  # not this alternative's kind of value: the wrong type, or a list for a scalar enum
            return not e.relative_path and (
                e.validator == "type" or (e.validator in ("enum", "const") and isinstance(e.instance, (list, dict)))
            )

        fitting = [errs for errs in by_alt.values() if not any(misfit(e) for e in errs)]
        if len(fitting) == 1:
            return _describe(best_match(fitting[0]), root, schema)
    where = _render_path(error.absolute_path, root)
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        return f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; allowed keys: {', '.join(allowed)}"
    if v == "enum":
        choices = ", ".join(map(_yaml_scalar, error.validator_value))
        return f"{where}: {error.instance!r} is not allowed; choose one of: {choices}"
    if v == "required":
        return f"{where}: {error.message}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        expected = _expected_range(error.schema)
        return f"{where}: {error.instance!r} is out of range ({error.message}); expected {expected}"
    if v == "pattern":
        hint = f" ({error.schema['description']})" if error.schema.get("description") else ""
        return f"{where}: {error.instance!r} does not match {error.validator_value!r}{hint}"
    if v == "uniqueItems":
        items = error.instance
        dup = next((repr(x) for i, x in enumerate(items) if x in items[:i]), "a value")
        return f"{where}: {items!r} repeats {dup}; list each value once"
    if v in ("oneOf", "anyOf"):
        shown = repr(error.instance) if isinstance(error.instance, (str, list, dict)) else _yaml_scalar(error.instance)
        return f"{where}: {shown} is not allowed; expected {_expected(error.schema, schema)}"
    return f"{where}: {error.message}"


def _expected(schema: dict, root: dict) -> str:
    """What a schema admits, in words: 'a mapping (keys: a, b) or false', 'one of: sum, mean or a list (...)'."""
    words = []
    for b in _branches(schema, root):
        w = _kind(b, root) if not ("oneOf" in b or "anyOf" in b) else ""
        if w and w not in words:
            words.append(w)
    return " or ".join(words) or " ".join(str(schema.get("description", "see the schema")).split())


def _kind(schema: dict, root: dict) -> str:
    """One alternative of :func:`_expected` ('' when it cannot be said briefly)."""
    if "enum" in schema or "const" in schema:
        values = schema["enum"] if "enum" in schema else [schema["const"]]
        return ("one of: " if len(values) > 1 else "") + ", ".join(map(_yaml_scalar, values))
    types = schema.get("type", [])
    t = types if isinstance(types, str) else (types[0] if len(types) == 1 else "")
    if t == "object":
        keys = sorted(schema.get("properties", {}))
        return f"a mapping (keys: {', '.join(keys)})" if keys else "a mapping"
    if t == "array":
        item = _kind(_resolve(schema.get("items", {}), root), root) if isinstance(schema.get("items"), dict) else ""
        once = "no value twice" if schema.get("uniqueItems") else ""
        inner = "; ".join(x for x in (f"each item {item}" if item else "", once) if x)
        return f"a list ({inner})" if inner else "a list"
    if t in _NUMERIC:
        return _expected_range(schema)
    return {"string": "text", "boolean": "true or false", "null": "null"}.get(t, "")


def _yaml_scalar(value: Any) -> str:
    """A scalar as YAML writes it: null, true, false, .nan, .inf; anything else as str()."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return str(value)


def _expected_range(schema: dict) -> str:
    """'an integer >= 1', 'a number > 0', 'a number in [0, 1)' from a schema's type and bounds."""
    noun = "an integer" if schema.get("type") == "integer" else "a number"
    lo = ("[", schema["minimum"]) if "minimum" in schema else ("(", schema.get("exclusiveMinimum"))
    hi = ("]", schema["maximum"]) if "maximum" in schema else (")", schema.get("exclusiveMaximum"))
    if lo[1] is not None and hi[1] is not None:
        return f"{noun} in {lo[0]}{lo[1]}, {hi[1]}{hi[0]}"
    if lo[1] is not None:
        return f"{noun} {'>=' if lo[0] == '[' else '>'} {lo[1]}"
    if hi[1] is not None:
        return f"{noun} {'<=' if hi[0] == ']' else '<'} {hi[1]}"
    return noun


def _schema_errors(config: dict, schema: dict, reported: Iterable[tuple] = (), unmade: Iterable[str] = ()) -> list[str]:
    """One message per schema violation; errors at the ``reported`` paths (already described) are left out, and
    so are references to the ``unmade`` datasets (defined by the config, too broken to register: their
    definition's own problem is the message)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    reported, unmade = list(reported), list(unmade)

    def covered(e) -> bool:
        if e.validator == "enum" and e.schema == schema["$defs"]["dataset"] and e.instance in unmade:
            return True
        p = tuple(e.absolute_path)
        return any(p == q or (e.validator in ("oneOf", "anyOf") and q[: len(p)] == p) for q in reported)

    errors = sorted(
        (e for e in validator.iter_errors(config) if not covered(e)), key=lambda e: list(map(str, e.absolute_path))
    )
    messages = []
    for e in errors:
        msg = _describe(e, config, schema)
        if msg not in messages:
            messages.append(msg)
    return messages


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return node


def _branches(schema: Any, root: dict) -> list[dict]:
    """``schema`` and its oneOf / anyOf alternatives (flattened), every $ref resolved."""
    if not isinstance(schema, dict):
        return []
    schema = _resolve(schema, root)
    out = [schema]
    for key in ("oneOf", "anyOf"):
        for alt in schema.get(key, []):
            out += _branches(alt, root)
    return out


# ----------------------------------------------------------------------------------------------
# numbers: integers are integers, numbers are finite, text is not a number

_NUMERIC = frozenset({"integer", "number"})


def _types(branches: list[dict]) -> set[str]:
    """The JSON types a position admits ('other' for an enum / const without a type)."""
    types: set[str] = set()
    for b in branches:
        t = b.get("type", ())
        types.update([t] if isinstance(t, str) else t)
        if ("enum" in b or "const" in b) and "type" not in b:
            types.add("other")
    return types


def _object_schemas(value: dict, branches: list[dict]) -> list[dict]:
    """The schemas that describe the keys of ``value``: the branches and the ``then`` of each ``allOf``
    if/then whose condition ``value`` meets (a variant's options by reparam)."""
    from jsonschema import Draft202012Validator

    out = []
    for b in branches:
        out.append(b)
        for sub in b.get("allOf", []):
            if "if" in sub and isinstance(sub.get("then"), dict) and Draft202012Validator(sub["if"]).is_valid(value):
                out.append(sub["then"])
    return out


def _property_schema(key: str, schemas: list[dict]) -> dict | None:
    """The schema of the value of ``key``: a declared property, else ``additionalProperties``."""
    for c in schemas:
        prop = c.get("properties", {}).get(key)
        if isinstance(prop, dict):
            return prop
    for c in schemas:
        if isinstance(c.get("additionalProperties"), dict):
            return c["additionalProperties"]
    return None


def _text_hint(text: str, integer: bool) -> str:
    """How to write a number that YAML read as text: '1e-3' -> write 1.0e-3."""
    t = text.strip()
    try:
        x = float(t)
    except ValueError:
        return ""
    if not math.isfinite(x):
        return ""
    if integer:
        return f"; write {int(x)}" if x.is_integer() else ""
    m = re.fullmatch(r"([-+]?)(\d+)(?:\.(\d*))?[eE]([-+]?)(\d+)", t)
    if m:
        sign, whole, frac, esign, exp = m.groups()
        written = f"{sign}{whole}.{frac or '0'}e{esign or '+'}{exp}"
        return f"; write {written} (YAML reads {t} without a dot and a signed exponent as text)"
    return f"; write {x!r} without quotes"


def _check_numbers(value: Any, schema: Any, root: dict, path: list, config: dict, problems: list) -> Any:
    """``value`` with whole floats at integer positions made ints; a problem ``(path, message)`` for every
    non-whole float where an integer is expected, every NaN / infinity and every non-number where a number is."""
    branches = _branches(schema, root)
    if isinstance(value, dict):
        schemas = _object_schemas(value, branches)
        out = {}
        for key, v in value.items():
            sub = _property_schema(key, schemas)
            out[key] = _check_numbers(v, sub, root, [*path, key], config, problems) if sub is not None else v
        return out
    items = next((b["items"] for b in branches if isinstance(b.get("items"), dict)), None)
    if isinstance(value, list):
        if items is None:
            return value
        return [_check_numbers(v, items, root, [*path, i], config, problems) for i, v in enumerate(value)]
    types = _types(branches)
    scalar = types - {"array", "object", "null"}  # a number-or-null key (null: off) is a number key
    if not scalar or not scalar <= _NUMERIC or (value is None and "null" in types):
        return value
    integer = "number" not in scalar
    expected = "an integer" if integer else "a number"
    if "array" in types:
        expected += f" or a list of {'integers' if integer else 'numbers'}"
    where = _render_path(path, config)
    if isinstance(value, str):
        hint = _text_hint(value, integer)
        problems.append((path, f"{where}: {value!r} is text, not a number; expected {expected}{hint}"))
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append((path, f"{where}: {_yaml_scalar(value)} is not a number; expected {expected}"))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(
            (path, f"{where}: {_yaml_scalar(value)} is not allowed; it must be a finite number (expected {expected})")
        )
    elif isinstance(value, float) and integer:
        if value.is_integer():
            return int(value)
        problems.append((path, f"{where}: {value!r} is not a whole number; expected {expected}"))
    return value


# ----------------------------------------------------------------------------------------------
# validation


def _fill(instance: Any, schema: dict, root: dict) -> Any:
    """Insert the schema's ``default`` for every absent property of every object present."""
    schema = _resolve(schema, root)
    if isinstance(instance, dict):
        # of alternatives (oneOf / anyOf), the one that describes a mapping
        mappings = [
            b for b in _branches(schema, root) if "properties" in b or isinstance(b.get("additionalProperties"), dict)
        ]
        schema = mappings[0] if mappings else schema
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


def _defaults(config: dict, schema: dict) -> dict:
    """Fill defaults from the schema (also the keys of each experiment's family), training defaults from TrainConfig."""
    out = _fill(copy.deepcopy(config), schema, schema)
    for exp in out.get("experiments", {}).values():
        extra = registry.FAMILIES[exp["family"]].schema().get("experiment") or {}
        for key, sub in extra.items():
            if key not in exp and "default" in sub:
                exp[key] = copy.deepcopy(sub["default"])
            if key in exp:
                exp[key] = _fill(exp[key], sub, schema)
    defaults = {f: getattr(TrainConfig(), f) for f in TrainConfig.__dataclass_fields__}
    out["train"] = merge(defaults, out.get("train") or {})
    if isinstance(out["seeds"], int):
        out["seeds"] = list(range(out["seeds"]))
    return out


def validate(config: dict) -> Validated:
    """Check ``config`` completely; return it with defaults filled in, and the datasets it can name
    (:class:`Validated`). Nothing global changes: a config's own datasets are only in what it returns.

    Raises:
        ConfigError: listing every problem found, one per line, each naming the
            key and what is allowed.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"the config must be a mapping, got {type(config).__name__}")
    families = registry.families()
    datasets = known()
    for family in families.values():  # datasets the config defines (the sharing family's teachers)
        datasets.update({name: info for name, info in family.datasets(config).items()
                         if name not in RESERVED})  # never replaced, not even for a config validation refuses
    # defined by the config but not made (a broken teacher): a reference to one is explained by the
    # definition's own problem (the family's checks), not refused as an unknown dataset
    unmade = {n for family in families.values() for n in family.dataset_names(config)} - set(datasets)
    schema = _schema(tuple(datasets))
    found: list[tuple[list, str]] = []
    config = _check_numbers(config, schema, schema, [], config, found)
    problems = [m for _, m in found]
    problems += [m for m in _schema_errors(config, schema, [tuple(p) for p, _ in found], unmade) if m not in problems]
    if problems:
        raise ConfigError(_problem_text(problems))
    config = Validated(_defaults(config, schema), datasets)
    problems = [p for family in families.values() for p in family.check_config(config)]
    if not problems and unmade:  # no check explains a definition: a reference to it is an unknown dataset after all
        problems = _schema_errors(config, schema)
    if problems:
        raise ConfigError(_problem_text(problems))
    for name, exp in config["experiments"].items():
        problems += _check_experiment(name, exp, config)
    if not problems:
        expanded = _expand(config)
        for exp_cells in expanded.values():
            for cell in exp_cells.values():
                problems += [p for p in _check_cell(cell, config) if p not in problems]
        if not problems:
            problems += _check_comparisons(config, expanded)
    if problems:
        raise ConfigError(_problem_text(problems))
    return config


def _is_complete(path: str | Path) -> bool:
    """Whether a config file defines `nets` and the family of every experiment (a base, not a preset)."""
    try:
        data = load_yaml(path)
    except (OSError, ConfigError):
        return True
    if not isinstance(data, dict) or "nets" not in data or not isinstance(data.get("experiments"), dict):
        return False
    return all(isinstance(e, dict) and "family" in e for e in data["experiments"].values())


def validate_files(*paths: str | Path) -> dict:
    """:func:`load_config` then :func:`validate`; when required keys are missing and the first file is not a
    complete config (a preset given alone), the error says that presets merge over a base config."""
    config = load_config(*paths)
    try:
        return validate(config)
    except ConfigError as e:
        if "is a required property" in str(e) and not _is_complete(paths[0]):
            files = " ".join(str(p) for p in paths)
            raise ConfigError(
                f"{e}\n  hint: presets are merged over a base config: give it first, "
                f"e.g. `weightspace validate config.yaml {files}`"
            ) from None
        raise


def _problem_text(problems: list[str]) -> str:
    head = "invalid configuration" + (f" ({len(problems)} problems)" if len(problems) > 1 else "")
    shown = problems[:25]
    more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
    return head + ":\n" + "\n".join(f"  - {p}" for p in shown) + more


def _check_experiment(name: str, exp: dict, config: Validated) -> list[str]:
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


def _check_comparisons(config: dict, expanded: dict[str, dict[str, dict]]) -> list[str]:
    problems = []
    for name, cells in expanded.items():
        exp = config["experiments"][name]
        family = registry.FAMILIES[exp["family"]]
        problems += variant_comparisons.check(f"experiments.{name}", exp, cells, family.default_comparisons(exp),
                                              family.metrics, cell_task)
        if exp.get("comparisons") is not False:  # the statistics' memory, before analyze allocates it
            resamples, n = variant_comparisons.options_of(exp)["n_resamples"], len(experiment_seeds(config, name))
            need = variant_comparisons.resampling_bytes(resamples, n)
            if need > limit_bytes(config["memory_limit_gib"]):
                key = f"experiments.{name}.comparisons.n_resamples"
                if need <= variant_comparisons.resampling_bytes(variant_comparisons.OPTIONS["n_resamples"], n):
                    key = f"experiments.{name}.seeds" if "seeds" in exp else "seeds"
                problems.append(
                    f"{key}: comparing {n} seeds with {resamples:,} resamples needs "
                    f"~{fmt_bytes(need)}, {over_limit(config['memory_limit_gib'])}; "
                    f"use fewer {key.split('.')[-1]} (or comparisons: false), or raise memory_limit_gib")
    return problems


def experiment_seeds(config: dict, experiment: str) -> list[int]:
    """The seeds of an experiment of a validated config: its own ``seeds``, else the top-level ones."""
    seeds = config["experiments"][experiment].get("seeds", config["seeds"])
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def variant_sweeps(variant: dict, exp: dict, config: dict) -> dict[str, list]:
    """The keys a variant sweeps (list-valued options, and train keys after merging) and their values."""
    train = merge(merge(config["train"], exp.get("train") or {}), variant.get("train") or {})
    options = {k: v for k, v in variant.items() if k not in _VARIANT_META}
    return {k: v for k, v in {**options, **train}.items() if isinstance(v, list)}


def _check_cell(cell: dict, config: Validated) -> list[str]:
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
    if train["batch_size"] > dataset.n_train:
        problems.append(
            f"{where}.train.batch_size: {train['batch_size']} exceeds the {dataset.n_train} training examples "
            f"of {dataset.name}"
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

    Net and variant names contain no '_', dataset names no '__' (schema), so '__' separates parts unambiguously;
    :func:`expand` refuses two cells of one name all the same (a swept value whose text repeats another's).
    """
    parts = [dataset, net, variant] + [f"{k}{_fmt(v)}" for k, v in swept.items()]
    return "__".join(parts)


def _grid(options: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    keys = [k for k, v in options.items() if isinstance(v, list)]
    values = [options[k] for k in keys]
    return keys, list(itertools.product(*values)) if keys else [()]


def _expand(config: Validated) -> dict[str, dict[str, dict]]:
    if not isinstance(config, Validated):
        raise TypeError("expand takes the config validate returns (a weightspace.config.Validated), which knows "
                        "its datasets")
    out: dict[str, dict[str, dict]] = {}
    for exp_name, exp in config["experiments"].items():
        if not exp.get("enabled", True):
            continue
        cells: dict[str, dict] = {}
        origins: dict[str, str] = {}  # cell name -> what it is made of
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
                            origin = _origin(dataset, net_name, variant["name"], swept)
                            if cid in origins:  # one would overwrite the other's results
                                raise ConfigError(_problem_text([
                                    f"experiments.{exp_name}: two cells are both named {cid!r} ({origins[cid]}; "
                                    f"{origin}); rename one of them, or list a swept value once"]))
                            origins[cid] = origin
                            cells[cid] = {
                                **({"dataset_spec": spec} if (spec := config.datasets[dataset].spec) else {}),
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


def _origin(dataset: str, net: str, variant: str, swept: dict) -> str:
    """'dataset a, net linear, variant linear, k=4': what a cell is made of."""
    return ", ".join([f"dataset {dataset}", f"net {net}", f"variant {variant}",
                      *(f"{k}={_fmt(v)}" for k, v in swept.items())])


def expand(config: dict) -> dict[str, dict[str, dict]]:
    """All cells of the enabled experiments: ``{experiment: {cell_id: cell}}``.

    ``config`` must have been through :func:`validate`.
    """
    return _expand(config)
