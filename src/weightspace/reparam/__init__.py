"""Reparameterizations: modules that compute a net's weights from trainable tensors.

The interface is :class:`~weightspace.reparam.base.Reparam`; direct training
(:class:`~weightspace.reparam.direct.Direct`) is the core's, and every other
reparameterization belongs to a family (``weightspace/families/<family>/``)
and is registered by name in :data:`weightspace.registry.REPARAMS`, which
knows how to build each from a variant and how to estimate its memory.
"""

from __future__ import annotations

import torch

from weightspace import registry
from weightspace.reparam.base import Reparam
from weightspace.reparam.direct import Direct

__all__ = ["Reparam", "Direct", "build_reparam", "estimate_bytes"]


def build_reparam(
    variant: dict,
    net,
    seeds: list[int],
    device: torch.device | str = "cpu",
    structure: dict | None = None,
    epochs: int | None = None,
) -> Reparam:
    """The module for a variant config (``{"reparam": ..., **options}``).

    Args:
        structure: the dataset's known structure (a teacher's), or None.
        epochs: the cell's training epochs (schedules that switch phase after some of them).
    """
    kind = variant["reparam"]
    if kind not in registry.REPARAMS:
        raise ValueError(f"unknown reparam {kind!r}; choose one of: {', '.join(registry.REPARAMS)}")
    return registry.REPARAMS[kind].make(variant, net, seeds, device, structure=structure, epochs=epochs)


def estimate_bytes(variant: dict, net, n_seeds: int) -> int:
    """Memory (bytes) of a variant's fixed and trained tensors, with Adam's two moments."""
    return registry.REPARAMS[variant["reparam"]].memory(variant, net, n_seeds)
