"""Reparameterizations: modules that compute a net's weights from trainable tensors.

``build_reparam(variant, net, seeds, device)`` turns a variant's config into a
module; every module follows :class:`~weightspace.reparam.base.Reparam`.
"""

from __future__ import annotations

import torch

from weightspace.nets import Net
from weightspace.reparam.base import Reparam
from weightspace.reparam.direct import Direct
from weightspace.reparam.projections import PROJECTIONS, projection_bytes
from weightspace.reparam.subspace import Subspace

__all__ = ["Reparam", "Direct", "Subspace", "REPARAMS", "build_reparam", "estimate_bytes", "PROJECTIONS"]

REPARAMS = ("direct", "subspace")


def build_reparam(variant: dict, net: Net, seeds: list[int], device: torch.device | str = "cpu") -> Reparam:
    """The module for a variant config (``{"reparam": ..., **options}``)."""
    kind = variant["reparam"]
    if kind == "direct":
        return Direct(net, seeds, device)
    if kind == "subspace":
        return Subspace(net, seeds, int(variant["d"]), variant["projection"], device)
    raise ValueError(f"unknown reparam {kind!r}; choose one of: {', '.join(REPARAMS)}")


def estimate_bytes(variant: dict, net: Net, n_seeds: int) -> int:
    """Memory (bytes) of a variant's fixed and trained tensors before any activation.

    Counts theta_0 / theta, the projection's buffers and Adam's two moments.
    """
    D = net.n_params
    kind = variant["reparam"]
    if kind == "direct":
        return 4 * D * n_seeds * 3
    if kind == "subspace":
        d = int(variant["d"])
        return 4 * D * n_seeds + 4 * d * n_seeds * 3 + projection_bytes(variant["projection"], D, d, n_seeds)
    raise ValueError(f"unknown reparam {kind!r}")
