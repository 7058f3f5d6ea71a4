"""How a cell is trained: the ``train:`` keys of a config. Imports no torch (the config layer uses it)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["TrainConfig", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "sgd")


@dataclass
class TrainConfig:
    """How a cell is trained (every field is a config key under ``train:``)."""

    epochs: int = 20  # passes over the training set
    batch_size: int = 256  # examples per step, per seed (the last partial batch of an epoch is dropped)
    optimizer: str = "adam"  # adam | sgd
    lr: float = 1e-3  # learning rate
    momentum: float = 0.9  # SGD heavy-ball momentum (ignored by Adam)
    weight_decay: float = 0.0  # L2 penalty added to the gradient, on the trained tensors
    evals_per_epoch: int = 1  # test-set evaluations per epoch (resolution of the curves)
    #: a seed diverges when a loss is not finite, or exceeds this many times its initial test loss (None: off)
    divergence_factor: float | None = 100.0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown train keys {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**d)
