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
    #: how the inputs are scaled: standardize ((x - mean) / std of the training set, per channel), unit (images in
    #: [0, 1]) or symmetric (images in [-1, 1]); see weightspace.data.SCALINGS
    input_scaling: str = "standardize"
    beta1: float = 0.9  # Adam's beta1 (torch's default; ignored by SGD)
    beta2: float = 0.999  # Adam's beta2 (torch's default; ignored by SGD)
    #: initial weights: "torch" (PyTorch's default, U(+-1/sqrt(fan_in)) for weights and biases), or
    #: {"std": s or [s per layer], "bias": "zero" | "normal"}: each layer's weights N(0, s^2), its biases zero or
    #: N(0, s^2) (weightspace.nets.Net.init)
    init: Any = "torch"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown train keys {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**d)
