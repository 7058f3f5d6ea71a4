"""A config's problems in words: one line each, naming the key path and what is allowed."""

from __future__ import annotations

import math
from typing import Any, Iterable

from weightspace.config.schema import resolve_ref, schema_branches

__all__ = ["NUMERIC", "render_path", "yaml_scalar", "schema_errors", "problem_text"]

#: the JSON types of numbers
NUMERIC = frozenset({"integer", "number"})


def render_path(path: Iterable, instance: Any) -> str:
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
    where = render_path(error.absolute_path, root)
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        return f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; allowed keys: {', '.join(allowed)}"
    if v == "enum":
        choices = ", ".join(map(yaml_scalar, error.validator_value))
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
        shown = repr(error.instance) if isinstance(error.instance, (str, list, dict)) else yaml_scalar(error.instance)
        return f"{where}: {shown} is not allowed; expected {_expected(error.schema, schema)}"
    return f"{where}: {error.message}"


def _expected(schema: dict, root: dict) -> str:
    """What a schema admits, in words: 'a mapping (keys: a, b) or false', 'one of: sum, mean or a list (...)'."""
    words = []
    for b in schema_branches(schema, root):
        w = _kind(b, root) if not ("oneOf" in b or "anyOf" in b) else ""
        if w and w not in words:
            words.append(w)
    return " or ".join(words) or " ".join(str(schema.get("description", "see the schema")).split())


def _kind(schema: dict, root: dict) -> str:
    """One alternative of :func:`_expected` ('' when it cannot be said briefly)."""
    if "enum" in schema or "const" in schema:
        values = schema["enum"] if "enum" in schema else [schema["const"]]
        return ("one of: " if len(values) > 1 else "") + ", ".join(map(yaml_scalar, values))
    types = schema.get("type", [])
    t = types if isinstance(types, str) else (types[0] if len(types) == 1 else "")
    if t == "object":
        keys = sorted(schema.get("properties", {}))
        return f"a mapping (keys: {', '.join(keys)})" if keys else "a mapping"
    if t == "array":
        item = _kind(resolve_ref(schema.get("items", {}), root), root) if isinstance(schema.get("items"), dict) else ""
        once = "no value twice" if schema.get("uniqueItems") else ""
        inner = "; ".join(x for x in (f"each item {item}" if item else "", once) if x)
        return f"a list ({inner})" if inner else "a list"
    if t in NUMERIC:
        return _expected_range(schema)
    return {"string": "text", "boolean": "true or false", "null": "null"}.get(t, "")


def yaml_scalar(value: Any) -> str:
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


def schema_errors(config: dict, schema: dict, reported: Iterable[tuple] = (), unmade: Iterable[str] = ()) -> list[str]:
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


def problem_text(problems: list[str]) -> str:
    head = "invalid configuration" + (f" ({len(problems)} problems)" if len(problems) > 1 else "")
    shown = problems[:25]
    more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
    return head + ":\n" + "\n".join(f"  - {p}" for p in shown) + more
