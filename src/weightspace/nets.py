"""Networks as a weight spec plus a pure, seed-batched forward function.

A :class:`Net` declares the weights it needs as an ordered ``{name: WeightSpec}``
and computes ``forward(weights, x)`` where every weight carries a leading seed
dimension ``S`` and ``x`` is ``(S, B, *input_shape)`` (or ``(B, *input_shape)``,
the same batch for every seed, as in evaluation). Where the weights come from
is not the net's business: that is what a reparameterization decides.

Architectures
-------------
``fc``
    fully connected, ReLU between layers: ``in -> widths... -> classes``.
    784-200-200-10 on MNIST is the net of Li et al. (2018).
``lenet``
    LeNet-5 style: conv 6@5x5 (padded to 32x32 inputs) -> ReLU -> 2x2 max-pool
    -> conv 16@5x5 -> ReLU -> pool -> fc 120 -> 84 -> classes.
``smallcnn``
    the weight-feedback notebook's net: conv C->5 and 5->10, 5x5 kernels, each
    followed by ReLU and 2x2 max-pool, then fc (10*4*4=160 on MNIST) -> 50 -> classes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["WeightSpec", "Net", "build_net", "ARCHS", "linear", "conv2d", "max_pool2d"]

ARCHS = ("fc", "lenet", "smallcnn")

Weights = dict[str, Tensor]


@dataclass(frozen=True)
class WeightSpec:
    """One weight tensor of a net: its shape (per seed) and its fan-in for initialization."""

    shape: tuple[int, ...]
    fan_in: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class Net:
    """A functional network.

    Attributes:
        arch: architecture name.
        spec: ordered weight spec, ``{name: WeightSpec}``.
        forward: ``forward(weights, x) -> logits (S, B, n_outputs)``.
        input_shape: ``(C, *spatial)`` of one example.
        n_outputs: output width.
    """

    arch: str
    spec: "OrderedDict[str, WeightSpec]"
    forward: Callable[[Weights, Tensor], Tensor]
    input_shape: tuple[int, ...]
    n_outputs: int
    sizes: list[int] = field(init=False)

    def __post_init__(self):
        self.sizes = [w.numel for w in self.spec.values()]

    @property
    def n_params(self) -> int:
        """D: the number of weights per seed."""
        return sum(self.sizes)

    def init(self, generators: list[torch.Generator], device: torch.device | str = "cpu") -> Weights:
        """Fresh weights for each seed, PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

        Args:
            generators: one CPU generator per seed (S of them); seed s draws only from its own.
        Returns:
            ``{name: (S, *shape)}`` on ``device``.
        """
        out = {}
        for name, w in self.spec.items():
            bound = 1.0 / math.sqrt(w.fan_in)
            per_seed = [torch.empty(w.shape).uniform_(-bound, bound, generator=g) for g in generators]
            out[name] = torch.stack(per_seed).to(device)
        return out

    def flatten(self, weights: Weights) -> Tensor:
        """``{name: (S, *shape)}`` -> ``(S, D)`` in spec order."""
        S = next(iter(weights.values())).shape[0]
        return torch.cat([weights[name].reshape(S, -1) for name in self.spec], dim=1)

    def unflatten(self, theta: Tensor) -> Weights:
        """``(S, D)`` -> ``{name: (S, *shape)}`` (views, no copy)."""
        S = theta.shape[0]
        parts = torch.split(theta, self.sizes, dim=1)
        return {name: p.view(S, *w.shape) for (name, w), p in zip(self.spec.items(), parts)}


# ----------------------------------------------------------------------------------------------
# seed-batched building blocks


def linear(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """``x @ w.T + b`` for every seed.

    Args:
        x: (S, B, i), or (B, i) shared by all seeds.
        w: (S, o, i).
        b: (S, o).
    Returns:
        (S, B, o).
    """
    if x.dim() == 2:
        x = x.unsqueeze(0).expand(w.shape[0], -1, -1)
    return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))


def to_grouped(x: Tensor, S: int) -> Tensor:
    """(S, B, C, H, W) or shared (B, C, H, W) -> (B, S*C, H, W): seeds as channel groups."""
    if x.dim() == 4:
        return x.repeat(1, S, 1, 1)
    S_, B, C, H, W = x.shape
    return x.transpose(0, 1).reshape(B, S_ * C, H, W)


def from_grouped(x: Tensor, S: int) -> Tensor:
    """(B, S*C, H, W) -> (S, B, C*H*W): back to per-seed rows, flattened for fc layers."""
    B = x.shape[0]
    return x.reshape(B, S, -1).transpose(0, 1)


def conv2d(x: Tensor, w: Tensor, b: Tensor, padding: int = 0) -> Tensor:
    """A 2-D convolution per seed on grouped activations.

    Args:
        x: (B, S*C, H, W) grouped activations (see :func:`to_grouped`).
        w: (S, O, C, k, k).
        b: (S, O).
    Returns:
        (B, S*O, H', W').
    """
    S, O = w.shape[:2]
    return F.conv2d(x, w.reshape(S * O, *w.shape[2:]), b.reshape(S * O), padding=padding, groups=S)


def max_pool2d(x: Tensor, k: int = 2) -> Tensor:
    return F.max_pool2d(x, k, k)


# ----------------------------------------------------------------------------------------------
# architectures


def _fc(input_shape: tuple[int, ...], n_out: int, widths: list[int]) -> Net:
    n_in = math.prod(input_shape)
    dims = [n_in, *widths, n_out]
    spec = OrderedDict()
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        spec[f"fc{i}.weight"] = WeightSpec((b, a), a)
        spec[f"fc{i}.bias"] = WeightSpec((b,), a)
    n_layers = len(dims) - 1
    n_feat = len(input_shape)

    def forward(weights: Weights, x: Tensor) -> Tensor:
        h = x.flatten(-n_feat)  # (S, B, n_in) or (B, n_in)
        for i in range(1, n_layers + 1):
            h = linear(h, weights[f"fc{i}.weight"], weights[f"fc{i}.bias"])
            if i < n_layers:
                h = torch.relu(h)
        return h

    return Net("fc", spec, forward, tuple(input_shape), n_out)


def _conv_net(
    arch: str,
    input_shape: tuple[int, ...],
    n_out: int,
    channels: list[int],
    widths: list[int],
    pad_to: int | None,
) -> Net:
    """conv(5x5) -> ReLU -> 2x2 max-pool, per entry of ``channels``; then an fc head."""
    if len(input_shape) != 3:
        raise ValueError(f"{arch} needs image inputs (C, H, W), got shape {input_shape}")
    C, H, W = input_shape
    if pad_to and min(H, W) < pad_to - 4:
        raise ValueError(f"{arch} needs inputs of at least {pad_to - 4}x{pad_to - 4}, got {H}x{W}")
    pad = max(0, (pad_to - H) // 2) if pad_to else 0
    spec = OrderedDict()
    size_h, size_w = H + 2 * pad, W + 2 * pad
    c_in = C
    for i, c in enumerate(channels, start=1):
        spec[f"conv{i}.weight"] = WeightSpec((c, c_in, 5, 5), c_in * 25)
        spec[f"conv{i}.bias"] = WeightSpec((c,), c_in * 25)
        size_h, size_w = (size_h - 4) // 2, (size_w - 4) // 2
        if size_h < 1 or size_w < 1:
            raise ValueError(f"{arch} needs larger inputs than {H}x{W}")
        c_in = c
    flat = c_in * size_h * size_w
    dims = [flat, *widths, n_out]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        spec[f"fc{i}.weight"] = WeightSpec((b, a), a)
        spec[f"fc{i}.bias"] = WeightSpec((b,), a)
    n_conv, n_fc = len(channels), len(dims) - 1

    def forward(weights: Weights, x: Tensor) -> Tensor:
        S = weights["conv1.weight"].shape[0]
        h = to_grouped(x, S)  # (B, S*C, H, W)
        for i in range(1, n_conv + 1):
            h = conv2d(h, weights[f"conv{i}.weight"], weights[f"conv{i}.bias"], padding=pad if i == 1 else 0)
            h = max_pool2d(torch.relu(h))
        h = from_grouped(h, S)  # (S, B, flat)
        for i in range(1, n_fc + 1):
            h = linear(h, weights[f"fc{i}.weight"], weights[f"fc{i}.bias"])
            if i < n_fc:
                h = torch.relu(h)
        return h

    return Net(arch, spec, forward, tuple(input_shape), n_out)


def build_net(arch: str, input_shape: tuple[int, ...], n_outputs: int, widths: list[int] | None = None) -> Net:
    """Build architecture ``arch`` for inputs of ``input_shape`` and ``n_outputs`` classes.

    Raises:
        ValueError: unknown architecture, or inputs the architecture cannot take.
    """
    if arch == "fc":
        return _fc(input_shape, n_outputs, list(widths if widths is not None else [200, 200]))
    if arch == "lenet":
        return _conv_net("lenet", input_shape, n_outputs, [6, 16], list(widths or [120, 84]), pad_to=32)
    if arch == "smallcnn":
        return _conv_net("smallcnn", input_shape, n_outputs, [5, 10], list(widths or [50]), pad_to=None)
    raise ValueError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHS)}")
