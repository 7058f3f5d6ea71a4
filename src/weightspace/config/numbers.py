"""Numbers before the schema: integers are integers (whole floats become ints), numbers are finite, and text
where a number belongs is refused with how to write it (YAML reads ``1e-3`` as text)."""

from __future__ import annotations

import math
import re
from typing import Any

from weightspace.config.messages import NUMERIC, render_path, yaml_scalar
from weightspace.config.schema import schema_branches

__all__ = ["check_numbers"]


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


def check_numbers(value: Any, schema: Any, root: dict, path: list, config: dict, problems: list) -> Any:
    """``value`` with whole floats at integer positions made ints; a problem ``(path, message)`` for every
    non-whole float where an integer is expected, every NaN / infinity and every non-number where a number is."""
    branches = schema_branches(schema, root)
    if isinstance(value, dict):
        schemas = _object_schemas(value, branches)
        out = {}
        for key, v in value.items():
            sub = _property_schema(key, schemas)
            out[key] = check_numbers(v, sub, root, [*path, key], config, problems) if sub is not None else v
        return out
    items = next((b["items"] for b in branches if isinstance(b.get("items"), dict)), None)
    if isinstance(value, list):
        if items is None:
            return value
        return [check_numbers(v, items, root, [*path, i], config, problems) for i, v in enumerate(value)]
    types = _types(branches)
    scalar = types - {"array", "object", "null"}  # a number-or-null key (null: off) is a number key
    if not scalar or not scalar <= NUMERIC or (value is None and "null" in types):
        return value
    integer = "number" not in scalar
    expected = "an integer" if integer else "a number"
    if "array" in types:
        expected += f" or a list of {'integers' if integer else 'numbers'}"
    where = render_path(path, config)
    if isinstance(value, str):
        hint = _text_hint(value, integer)
        problems.append((path, f"{where}: {value!r} is text, not a number; expected {expected}{hint}"))
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append((path, f"{where}: {yaml_scalar(value)} is not a number; expected {expected}"))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(
            (path, f"{where}: {yaml_scalar(value)} is not allowed; it must be a finite number (expected {expected})")
        )
    elif isinstance(value, float) and integer:
        if value.is_integer():
            return int(value)
        problems.append((path, f"{where}: {value!r} is not a whole number; expected {expected}"))
    return value
