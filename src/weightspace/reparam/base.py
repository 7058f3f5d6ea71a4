"""The reparameterization interface.

A reparameterization owns the trainable tensors of every seed of a cell and
computes, in ``forward()``, the weights ``{name: (S, *shape)}`` that its net's
spec asks for. The trainer sees only this interface: ``forward`` for the
weights, ``penalty`` for extra loss terms, ``metrics`` for extra logged values,
``on_step`` for schedules, and ``extra_weights`` for alternative weight sets
evaluated beside the trained ones (the hardened net of soft sharing is one).

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

    def extra_weights(self) -> dict[str, Weights]:
        """Named alternative weight sets to evaluate beside ``forward()``'s, e.g. ``{"hard": ...}``.

        The trainer logs set ``name`` as ``<name>_test_loss`` and ``<name>_test_acc``.
        """
        return {}

    def n_trainable(self) -> int:
        """Trainable numbers per seed."""
        return sum(p[0].numel() for p in self.parameters() if p.requires_grad)
