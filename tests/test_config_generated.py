"""Generated from the schema: every numeric key refuses what would crash a training job, with a clear message.

The schema is walked (``$ref``, oneOf / anyOf alternatives, arrays, the per-reparam ``if``/``then`` options of
a variant) to find every key that takes an integer or a number, alone or as a list (a sweep). Each gets, set
alone in a valid base config: a non-whole float (integer keys; a whole float must be accepted and become an
int), a finite float (number keys; accepted), NaN, +-infinity, text, a number as YAML 1.1 reads ``1e-3``
(text), and -1 (refused where the schema's lower bound is >= 0). A refusal must be a ``ConfigError`` whose
message names the key and the expected type; any other exception fails the test.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO
from weightspace.config import load_config, load_schema, validate
from weightspace.errors import ConfigError

SCHEMA = load_schema()


def base_config() -> dict:
    """The quick preset cut to one small experiment on digits that holds a variant of every reparam with options."""
    cfg = load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml")
    sharing = {v["name"]: v for v in cfg["experiments"]["sharing"]["variants"]}
    sub = cfg["experiments"]["subspace"]
    sub["datasets"] = ["digits"]
    sub["variants"] = [
        sub["variants"][0],  # direct
        dict(sub["variants"][1], d=[10, 30]),  # dense subspace
        sharing["learned"],
        dict(sharing["hashed"], k=[8, 16]),
        dict(sharing["kmeans"], pretrain_epochs=1),
    ]
    sub["analysis"]["published"] = [{"dataset": "digits", "net": "small", "value": 100, "source": "test"}]
    sub["comparisons"] = {"alpha": 0.05, "confidence": 0.95, "n_resamples": 1000, "random_state": 0}
    cfg["experiments"] = {"subspace": sub}
    cfg["nets"] = {"small": cfg["nets"]["small"]}
    return cfg


BASE = base_config()


# ----------------------------------------------------------------------------------------------
# the schema walk (independent of the implementation's)


def resolve(node: dict) -> tuple[dict, str | None]:
    name = None
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = SCHEMA["$defs"][name]
    return node, name


def alternatives(node: dict) -> list[dict]:
    node, _ = resolve(node)
    out = [node]
    for key in ("oneOf", "anyOf"):
        for alt in node.get(key, []):
            out += alternatives(alt)
    return out


def lower_bound(node: dict) -> float | None:
    return node.get("minimum", node.get("exclusiveMinimum"))


@dataclass(frozen=True)
class NumericKey:
    path: tuple  # where in the config (str keys, int list indices)
    kind: str  # "integer" or "number"
    form: str  # "scalar" or "list" (the value is a one-element list)
    lower: float | None  # the schema's minimum / exclusiveMinimum

    @property
    def rendered(self) -> str:
        """The key path as messages write it: experiments.subspace.variants[4:kmeans].k."""
        out, node = "", BASE
        for part in self.path:
            if isinstance(part, int):
                name = node[part].get("name") if isinstance(node[part], dict) else None
                out += f"[{part}:{name}]" if name else f"[{part}]"
                node = node[part]
            else:
                out += f".{part}" if out else part
                node = node.get(part, {}) if isinstance(node, dict) else {}
        return out

    @property
    def id(self) -> str:
        return self.rendered + ("[]" if self.form == "list" else "")


def numeric(node: dict, path: tuple) -> list[NumericKey]:
    """The numeric forms of the key at ``path`` whose schema is ``node`` (empty if it is not numeric)."""
    alts = alternatives(node)
    typed = [a for a in alts if ("type" in a or "enum" in a or "const" in a) and a.get("type") != "null"]
    scalars = [a for a in typed if a.get("type") in ("integer", "number")]
    lists = [resolve(a["items"])[0] for a in typed if a.get("type") == "array" and isinstance(a.get("items"), dict)]
    lists = [i for i in lists if i.get("type") in ("integer", "number")]
    if not (scalars or lists) or len(scalars) + sum(a.get("type") == "array" for a in typed) != len(typed):
        return []
    kinds = {a["type"] for a in scalars + lists}
    kind = "integer" if kinds == {"integer"} else "number"
    return [NumericKey(path, kind, "scalar", lower_bound(a)) for a in scalars] + [
        NumericKey(path, kind, "list", lower_bound(i)) for i in lists
    ]


def walk(node: dict, path: tuple, instance, seen: set) -> list[NumericKey]:
    """Every numeric key under ``node`` (placed at ``path`` of BASE, whose value there is ``instance``)."""
    node, name = resolve(node)
    if name is not None:
        if name in seen:  # a definition used in several places (train) is tested where it first appears
            return []
        seen.add(name)
    found = []
    for alt in alternatives(node):
        if isinstance(alt.get("items"), dict):
            if not (isinstance(instance, list) and instance):
                continue
            item, _ = resolve(alt["items"])
            for branch in item.get("allOf", []):  # per-reparam options: in a variant whose reparam takes them
                j = next((j for j, x in enumerate(instance) if Draft202012Validator(branch["if"]).is_valid(x)), None)
                if j is not None and isinstance(branch.get("then"), dict):
                    found += walk_object(branch["then"], (*path, j), instance[j], seen)
            found += walk(alt["items"], (*path, 0), instance[0], seen)
        elif "properties" in alt or isinstance(alt.get("additionalProperties"), dict):
            found += walk_object(alt, path, instance if isinstance(instance, dict) else {}, seen)
    return found


def walk_object(node: dict, path: tuple, instance: dict, seen: set) -> list[NumericKey]:
    found = []
    for branch in node.get("allOf", []):  # the keys of an experiment's family: where the instance's family has them
        if isinstance(branch.get("then"), dict) and Draft202012Validator(branch["if"]).is_valid(instance):
            then = {**branch["then"], "properties": {k: v for k, v in branch["then"]["properties"].items()
                                                     if k not in node.get("properties", {})}}
            found += walk_object(then, path, instance, seen)
    for key, sub in node.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        found += numeric(sub, (*path, key)) or walk(sub, (*path, key), instance.get(key), seen)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and instance:
        key = next(iter(instance))
        found += walk(extra, (*path, key), instance[key], seen)
    return found


KEYS = list(dict.fromkeys(walk(SCHEMA, (), BASE, set())))


def test_the_walk_finds_the_numeric_keys_of_every_part_of_the_schema():
    names = {k.rendered for k in KEYS}
    for expected in [
        "memory_limit_gib", "checkpoint_every_s", "seeds", "train.epochs", "train.lr", "train.evals_per_epoch",
        "train.divergence_factor",
        "nets.small.widths", "experiments.subspace.analysis.n_boot", "experiments.subspace.analysis.published[0].value",
        "experiments.subspace.cost.d", "experiments.subspace.cost.repeats", "experiments.subspace.variants[1:dense].d",
        "experiments.subspace.variants[2:learned].tau", "experiments.subspace.variants[2:learned].lambda_prior",
        "experiments.subspace.variants[3:hashed].k", "experiments.subspace.variants[4:kmeans].pretrain_epochs",
    ]:
        assert expected in names, f"{expected} not found; found {sorted(names)}"
    assert {k.form for k in KEYS if k.rendered == "seeds"} == {"scalar", "list"}


# ----------------------------------------------------------------------------------------------
# the generated cases


#: options that replace another (a sharing variant takes k or budget, not both): set one, the other goes
EXCLUSIVE = {"budget": "k"}
#: options that need another (a teacher's n_values is for values: repeated)
REQUIRES = {"n_values": {"values": "repeated"}}
#: lists whose length the config fixes (train.init's std: one per layer of the base's net, fc 64-64-10)
LENGTH = {"std": 2}


def with_value(key: NumericKey, value) -> dict:
    cfg = copy.deepcopy(BASE)
    node = cfg
    for part in key.path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]  # a key the base leaves out
    node[key.path[-1]] = [value] * LENGTH.get(key.path[-1], 1) if key.form == "list" else value
    if isinstance(node, dict) and key.path[-1] in EXCLUSIVE:
        node.pop(EXCLUSIVE[key.path[-1]], None)
    if isinstance(node, dict):
        node.update(REQUIRES.get(key.path[-1], {}))
    return cfg


def get(cfg: dict, key: NumericKey):
    node = cfg
    for part in key.path:
        node = node[part]
    return node[0] if key.form == "list" else node


def whole(key: NumericKey) -> float:
    """A whole float that is a valid value of the key: the base's own value, else max(2, its lower bound)."""
    current = BASE
    for part in key.path:
        current = current.get(part) if isinstance(current, dict) else current[part]
        if current is None:
            break
    if isinstance(current, list) and key.form == "list":
        current = current[0]
    if isinstance(current, int) and not isinstance(current, bool):
        return float(current)
    return float(max(2, key.lower or 0))


def cases():
    for key in KEYS:
        if key.kind == "integer":
            yield key, "non-whole-float", 2.5, "refused"
            yield key, "whole-float", whole(key), "coerced"
        else:
            yield key, "float", (key.lower or 0) + 0.5, "accepted"  # a fractional value inside the range
        yield key, "nan", math.nan, "finite"
        yield key, "inf", math.inf, "finite"
        yield key, "-inf", -math.inf, "finite"
        yield key, "text", "abc", "refused"
        yield key, "text-1e-3", "1e-3", "refused"
        refused = key.lower is not None and key.lower >= 0
        yield key, "negative", -1, "refused" if refused else "accepted"


CASES = list(cases())


def test_base_config_is_valid():
    validate(BASE)


@pytest.mark.parametrize("key,label,value,outcome", CASES, ids=[f"{k.id}={label}" for k, label, _, _ in CASES])
def test_numeric_key(key: NumericKey, label: str, value, outcome: str):
    cfg = with_value(key, value)
    if outcome in ("accepted", "coerced"):
        validated = validate(cfg)
        got = get(validated, key) if key.path != ("seeds",) or key.form == "list" else len(validated["seeds"])
        assert got == value
        kept = int if outcome == "coerced" else type(value)
        assert type(got) is kept, f"{key.rendered}: {got!r} is a {type(got).__name__}, not a {kept.__name__}"
        return
    with pytest.raises(ConfigError) as e:  # any other exception fails the test
        validate(cfg)
    msg = str(e.value)
    expected = "an integer" if key.kind == "integer" else "a number"
    line = next((ln for ln in msg.splitlines() if key.rendered in ln), None)
    assert line is not None, f"no line names {key.rendered}:\n{msg}"
    assert f"expected {expected}" in line, f"the message does not say {expected} is expected:\n{msg}"
    if outcome == "finite":
        assert "must be a finite number" in line, msg
    if label == "text-1e-3" and key.kind == "number":
        assert "write 1.0e-3" in line, msg
