"""Random-subspace training (Li et al. 2018; Greydanus 2017).

    theta = theta_0 + P omega      (offset; dense, sparse or Fastfood P)
    theta = P omega                (span; QR basis with theta_init in its span)

omega (S, d) is the only trained tensor; it starts at 0 (offset), so training
starts from the same theta_0 as direct training with the same seed, or at
P^T theta_init (span), so theta starts at theta_init.
"""

from __future__ import annotations

import torch
from torch import nn

from weightspace.nets import Net, Weights
from weightspace.reparam.base import Reparam
from weightspace.families.subspace.projections import (
    PROJECTIONS,
    FastfoodProjection,
    SparseProjection,
    dense_gaussian,
    qr_span,
)
from weightspace.seeding import generators

__all__ = ["Subspace"]


class Subspace(Reparam):
    """theta = theta_0 + P omega, or theta = P omega for the QR span flavour.

    Args:
        net: the net whose D weights are parameterized.
        seeds: one subspace (theta_0, P) per seed.
        d: subspace dimension, 1 <= d <= D.
        projection: one of ``dense``, ``sparse``, ``fastfood``, ``qr``.
        device: where tensors live.
    """

    kind = "subspace"

    def __init__(self, net: Net, seeds: list[int], d: int, projection: str, device: torch.device | str = "cpu"):
        super().__init__(net, seeds)
        D = net.n_params
        if not 1 <= d <= D:
            raise ValueError(f"subspace dimension d must be in [1, D={D}], got {d}")
        if projection not in PROJECTIONS:
            raise ValueError(f"unknown projection {projection!r}; choose one of: {', '.join(PROJECTIONS)}")
        self.d, self.projection = d, projection
        theta_init = net.flatten(net.init(generators(seeds, "init"), device))  # (S, D)
        if projection == "qr":
            self.proj = qr_span(theta_init, d, seeds)
            self.register_buffer("theta0", None)
            omega0 = self.proj.transpose(theta_init)
        else:
            if projection == "dense":
                self.proj = dense_gaussian(D, d, seeds, device)
            elif projection == "sparse":
                self.proj = SparseProjection(D, d, seeds, device)
            else:
                self.proj = FastfoodProjection(D, d, seeds, device)
            self.register_buffer("theta0", theta_init, persistent=False)
            omega0 = torch.zeros(len(seeds), d, device=device)
        self.omega = nn.Parameter(omega0)  # (S, d)

    def flat_theta(self) -> torch.Tensor:
        theta = self.proj(self.omega)
        return theta if self.theta0 is None else self.theta0 + theta

    def forward(self) -> Weights:
        return self.net.unflatten(self.flat_theta())


def build(variant: dict, net: Net, seeds: list[int], device, context: dict) -> Subspace:
    """The registry's builder (``subspace`` in :data:`weightspace.registry.REPARAMS`)."""
    return Subspace(net, seeds, int(variant["d"]), variant["projection"], device)
