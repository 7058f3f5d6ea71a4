"""The JSON schema of a config: the core file (``config.schema.yaml``) with every family's fragment, and the
names of the registry (families, reparameterizations, architectures) and of the datasets a config can name.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from weightspace import registry
from weightspace.data import known
from weightspace.netspec import ARCHS

__all__ = ["SCHEMA_PATH", "config_schema", "load_schema", "resolve_ref", "schema_branches"]

SCHEMA_PATH = Path(__file__).parent.parent / "config.schema.yaml"


@functools.lru_cache(maxsize=8)
def config_schema(datasets: tuple[str, ...]) -> dict:
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
    return copy.deepcopy(config_schema(tuple(known())))


def resolve_ref(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return node


def schema_branches(schema: Any, root: dict) -> list[dict]:
    """``schema`` and its oneOf / anyOf alternatives (flattened), every $ref resolved."""
    if not isinstance(schema, dict):
        return []
    schema = resolve_ref(schema, root)
    out = [schema]
    for key in ("oneOf", "anyOf"):
        for alt in schema.get(key, []):
            out += schema_branches(alt, root)
    return out
