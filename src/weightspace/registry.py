"""The names the core looks up: experiment families, reparameterizations, net architectures and dataset kinds.

Plain tables, filled in one place: importing :mod:`weightspace.families` registers every family
(:func:`register`), and the entry points do that (the CLI, ``workflow/rules/common.smk``, the tests'
``conftest.py``; importing any family module does too, as Python runs ``families/__init__`` first). The core
(config, data, nets, netspec, reparam, train, runner, bench, plan) reads these tables and never imports a
family, so no import runs upwards.

Layers
------
Every module of the package sits on one floor and imports only from its own floor or below, with no circle
(``tests/test_architecture.py`` reads the imports with ``ast`` and checks both):

1. **ground floor**: this registry and helpers that import nothing of the package but each other: errors, io,
   sizes, seeding, headlines, gpus, workflow_lock, ``train.config``;
2. **core**: config, data, nets, netspec, reparam, train, runner, bench, plan, the analysis modules and the run
   summary; they look families up here;
3. **families**: ``weightspace.families`` and every family folder (a family imports the core, never another
   family's folder, and is never imported by the core);
4. **entry points**: the CLI (``cli``, ``__main__``) and ``resultsdoc`` (docs/results.md from the results
   archive, through the families' analysis), which load the families; ``workflow/rules/common.smk`` and the
   tests' ``conftest.py`` do the same from outside the package.

An import inside a function of a project module is kept only where it is deliberate, with a comment saying why:
a torch-free family ``__init__`` deferring its torch, pandas or matplotlib code to the hook that needs it, a CLI
command loading only what it runs, scipy left out of config validation. A family also names its torch code as
``"module:function"`` strings (:attr:`ReparamSpec.build`, :attr:`ArchSpec.forward`, :data:`DATASET_KINDS`),
resolved by :func:`resolve` when first used.

This module imports nothing of the package and no torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

# The core's records (weightspace.data.DatasetInfo, weightspace.netspec.NetSpec) are annotated as Any: importing
# them, even for type checkers, would be an import upwards.

__all__ = ["ReparamSpec", "ArchSpec", "DIRECT", "FAMILIES", "REPARAMS", "ARCHITECTURES", "DATASET_KINDS",
           "DATASETS", "register", "family_of", "resolve", "families"]


def _no_problems(variant: dict, cell: dict, net: Any, dataset: Any) -> list[tuple[str, str]]:
    return []


def resolve(target: str) -> Callable:
    """The function a ``"module:function"`` string names (its module imported now, e.g. one that loads torch)."""
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


@dataclass(frozen=True)
class ReparamSpec:
    """A reparameterization as the config layer and the trainer see it (torch-free).

    Attributes:
        name: the value of ``reparam:`` in a variant.
        build: ``"module:function"``; the function is called as
            ``f(variant, net, seeds, device, context)`` and returns the
            :class:`~weightspace.reparam.base.Reparam` (``context``:
            ``structure``, the dataset's known structure or None, and
            ``epochs``, the cell's training epochs).
        memory: ``memory(variant, net_spec, n_seeds)``: bytes of its fixed
            and trained tensors with Adam's moments, estimated before allocating.
        check: ``check(variant, cell, net_spec, dataset_info)``: problems of a
            cell, each ``(option, message)`` (``option`` "" for the variant as a
            whole); the caller prefixes the variant's key path.
        size_key: the option a training step's cost grows with (``plan`` interpolates over it).
        memory_hint: what to change when a cell needs more than ``memory_limit_gib``.
    """

    name: str
    build: str
    memory: Callable[[dict, Any, int], int]
    check: Callable[[dict, dict, Any, Any], list[tuple[str, str]]] = _no_problems
    size_key: str | None = None
    memory_hint: str = ""

    def make(self, variant: dict, net, seeds: list[int], device: Any = "cpu", **context) -> Any:
        return resolve(self.build)(variant, net, seeds, device, context)


#: direct training: the core reparameterization every family compares against
DIRECT = ReparamSpec(
    "direct",
    "weightspace.reparam.direct:build",
    memory=lambda variant, net, n_seeds: 4 * net.n_params * n_seeds * 3,  # theta, Adam's two moments
)


@dataclass(frozen=True)
class ArchSpec:
    """A net architecture a family adds (torch-free), beside the core's fc, lenet and smallcnn.

    Attributes:
        name: the value of ``arch:`` in a net config.
        spec: ``spec(input_shape, n_outputs, options)`` -> :class:`~weightspace.netspec.NetSpec`
            (``options``: the net config's ``widths`` and the keys its family's ``schema.yaml`` declares
            under ``nets.<name>``); raises ValueError, naming the sizes, for inputs it cannot take.
        forward: ``"module:function"``; the function takes the NetSpec and returns
            ``forward(weights, x) -> (S, B, n_outputs)``, seed-batched like the core's nets.
    """

    name: str
    spec: Callable[[tuple, int, dict], Any]
    forward: str


#: every family, by name (a :class:`~weightspace.families.base.Family`)
FAMILIES: dict[str, Any] = {}
#: every reparameterization, by name: direct (the core's) and each family's
REPARAMS: dict[str, ReparamSpec] = {DIRECT.name: DIRECT}
#: the net architectures families add, by name (the core's own: :data:`weightspace.netspec.ARCHS`)
ARCHITECTURES: dict[str, ArchSpec] = {}
#: the kinds of dataset a config may describe, ``{kind: "module:function"}``: ``f(name, description)`` returns the
#: :class:`~weightspace.data.DatasetInfo` whose ``spec`` is ``{kind: description}``
DATASET_KINDS: dict[str, str] = {}
#: datasets families define without a config (the sharing family's built-in teachers), by name
DATASETS: dict[str, Any] = {}


def register(family) -> None:
    """Add a family and everything it defines (reparameterizations, architectures, dataset kinds, datasets).

    Raises:
        RuntimeError: a name is registered twice (two families, or a family and the core).
    """
    if family.name in FAMILIES:
        raise RuntimeError(f"family {family.name!r} is registered twice")
    additions = [(REPARAMS, {r.name: r for r in family.reparams}, "reparameterization"),
                 (ARCHITECTURES, {a.name: a for a in family.archs}, "architecture"),
                 (DATASET_KINDS, dict(family.dataset_kinds), "dataset kind"),
                 (DATASETS, family.builtin_datasets(), "dataset")]
    for table, new, what in additions:
        for name in new:
            if name in table:
                raise RuntimeError(f"{what} {name!r} of family {family.name!r} is registered twice")
    FAMILIES[family.name] = family
    for table, new, _ in additions:
        table.update(new)


def families() -> dict[str, Any]:
    """:data:`FAMILIES`, checked to be loaded.

    Raises:
        RuntimeError: no family is registered: the caller's entry point did not import ``weightspace.families``.
    """
    if not FAMILIES:
        raise RuntimeError("no experiment family is registered: import weightspace.families first "
                           "(the CLI, the workflow and the tests' conftest.py do)")
    return FAMILIES


def family_of(reparam: str) -> str | None:
    """The family a reparameterization belongs to (None for the core's ``direct``)."""
    return next((f.name for f in FAMILIES.values() if any(r.name == reparam for r in f.reparams)), None)
