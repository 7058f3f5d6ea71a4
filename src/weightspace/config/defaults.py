"""Defaults: the schema's (also the keys of each experiment's family) and the training defaults of
:class:`~weightspace.train.config.TrainConfig`."""

from __future__ import annotations

import copy
from typing import Any

from weightspace import registry
from weightspace.config.files import merge
from weightspace.config.schema import resolve_ref, schema_branches
from weightspace.train.config import TrainConfig

__all__ = ["with_defaults"]


def _fill(instance: Any, schema: dict, root: dict) -> Any:
    """Insert the schema's ``default`` for every absent property of every object present."""
    schema = resolve_ref(schema, root)
    if isinstance(instance, dict):
        # of alternatives (oneOf / anyOf), the one that describes a mapping
        mappings = [b for b in schema_branches(schema, root)
                    if "properties" in b or isinstance(b.get("additionalProperties"), dict)]
        schema = mappings[0] if mappings else schema
        out = dict(instance)
        props = schema.get("properties", {})
        for key, sub in props.items():
            sub = resolve_ref(sub, root)
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


def with_defaults(config: dict, schema: dict) -> dict:
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
