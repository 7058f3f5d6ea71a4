"""Reading config files: YAML read safely (no alias bomb, no key given twice), files merged in order.

Later files override earlier ones (:func:`merge`): a preset such as ``config/quick.yaml`` is merged over
``config.yaml``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from weightspace.errors import ConfigError

__all__ = ["merge", "MAX_YAML_NODES", "load_yaml", "load_config"]


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
