"""The reparameterization interface.

A reparameterization owns the trainable tensors of every seed of a cell and
computes, in ``forward()``, the weights ``{name: (S, *shape)}`` that its net's
spec asks for. The trainer sees only this interface: ``forward`` for the
weights, ``penalty`` for extra loss terms, ``metrics`` for extra logged values.

Fixed tensors (initial weights, projections, hashes) are non-persistent
buffers regenerated from the seeds; only what is trained goes into a
checkpoint.
"""

from __future__ import annotations

from torch import Tensor, nn

from weightspace.nets import Net, Weights

__all__ = ["Reparam"]


class Reparam(nn.Module):
    """Base class: maps trainable tensors (leading seed dimension S) to a net's weights."""

    #: short name used in configs and logs
    kind: str = ""

    def __init__(self, net: Net, seeds: list[int]):
        super().__init__()
        self.net = net
        self.seeds = list(seeds)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def forward(self) -> Weights:  # pragma: no cover - abstract
        raise NotImplementedError

    def penalty(self) -> Tensor | None:
        """Extra loss terms, one per seed (S,), or None."""
        return None

    def metrics(self) -> dict[str, Tensor]:
        """Extra per-seed values (S,) to log at each evaluation."""
        return {}

    def on_step(self, step: int, total: int) -> None:
        """Called before every training step (annealing schedules, phase switches)."""

    def hard_weights(self) -> Weights | None:
        """The hardened weights (one shared value per weight) of a soft-sharing form, else None."""
        return None

    def assignments(self) -> dict[str, Tensor]:
        """For sharing forms: per shared weight tensor, the (S, n) index of the value each entry uses."""
        return {}

    def n_trainable(self) -> int:
        """Trainable numbers per seed."""
        return sum(p[0].numel() for p in self.parameters() if p.requires_grad)
