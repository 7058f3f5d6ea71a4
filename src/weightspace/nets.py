"""Networks as a weight spec plus a pure, seed-batched forward function.

A :class:`Net` declares the weights it needs as an ordered ``{name: WeightSpec}``
and computes ``forward(weights, x)`` where every weight carries a leading seed
dimension ``S`` and ``x`` is ``(S, B, *input_shape)`` (or ``(B, *input_shape)``,
the same batch for every seed, as in evaluation). Where the weights come from
is not the net's business: that is what a reparameterization decides.

The weight spec and the geometry of each architecture come from
:mod:`weightspace.netspec` (torch-free); this module adds the forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from weightspace import registry
from weightspace.netspec import ARCHS, TORCH_INIT, NetSpec, WeightSpec, init_stds, net_options, net_spec

__all__ = ["WeightSpec", "Net", "build_net", "build_net_for", "ARCHS", "linear", "conv2d", "max_pool2d"]

Weights = dict[str, Tensor]


@dataclass
class Net(NetSpec):
    """A functional network: a :class:`~weightspace.netspec.NetSpec` plus its forward.

    Attributes:
        forward: ``forward(weights, x) -> logits (S, B, n_outputs)``.
        init_scheme: how :meth:`init` draws the weights: :data:`~weightspace.netspec.TORCH_INIT` or
            ``{"std", "bias"}`` (the cell's ``train.init``; :func:`~weightspace.netspec.init_stds`).
    """

    forward: Callable[[Weights, Tensor], Tensor] | None = None
    init_scheme: Any = TORCH_INIT

    def __post_init__(self):
        self._sizes = [w.numel for w in self.spec.values()]  # split sizes, used at every step

    @property
    def sizes(self) -> list[int]:
        return self._sizes

    def init(self, generators: list[torch.Generator], device: torch.device | str = "cpu") -> Weights:
        """Fresh weights for each seed, as :attr:`init_scheme` says: PyTorch's default init,
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), or each tensor from N(0, std^2) with its layer's std (0: zeros).

        Every reparameterization starts from these (a subspace's theta_0, a tie's shared tensor).

        Args:
            generators: one CPU generator per seed (S of them); seed s draws only from its own.
        Returns:
            ``{name: (S, *shape)}`` on ``device``.
        """
        stds = init_stds(self.spec, self.init_scheme)
        out = {}
        for name, w in self.spec.items():
            if stds is None:
                bound = 1.0 / math.sqrt(w.fan_in)
                per_seed = [torch.empty(w.shape).uniform_(-bound, bound, generator=g) for g in generators]
            elif stds[name] == 0:
                per_seed = [torch.zeros(w.shape) for _ in generators]
            else:
                per_seed = [torch.empty(w.shape).normal_(0.0, stds[name], generator=g) for g in generators]
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


def _fc_forward(ns: NetSpec) -> Callable[[Weights, Tensor], Tensor]:
    n_layers, n_feat = ns.geometry["n_fc"], len(ns.input_shape)

    def forward(weights: Weights, x: Tensor) -> Tensor:
        h = x.flatten(-n_feat)  # (S, B, n_in) or (B, n_in)
        for i in range(1, n_layers + 1):
            h = linear(h, weights[f"fc{i}.weight"], weights[f"fc{i}.bias"])
            if i < n_layers:
                h = torch.relu(h)
        return h

    return forward


def _conv_forward(ns: NetSpec) -> Callable[[Weights, Tensor], Tensor]:
    """conv(5x5) -> ReLU -> 2x2 max-pool per conv layer; then the fc head."""
    pad, n_conv, n_fc = ns.geometry["pad"], ns.geometry["n_conv"], ns.geometry["n_fc"]

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

    return forward


def build_net(arch: str, input_shape: tuple[int, ...], n_outputs: int, widths: list[int] | None = None,
              options: dict | None = None, init: Any = TORCH_INIT) -> Net:
    """Build architecture ``arch`` for inputs of ``input_shape`` and ``n_outputs`` classes, initialised as ``init``
    says (:attr:`Net.init_scheme`).

    Raises:
        ValueError: unknown architecture, or inputs the architecture cannot take.
    """
    ns = net_spec(arch, input_shape, n_outputs, widths, options)
    if arch in ARCHS:
        forward = _fc_forward(ns) if arch == "fc" else _conv_forward(ns)
    else:  # a family's architecture (net_spec has checked that it is registered)
        forward = registry.resolve(registry.ARCHITECTURES[arch].forward)(ns)
    return Net(ns.arch, ns.spec, ns.input_shape, ns.n_outputs, ns.geometry, ns.task, forward, init)


def build_net_for(net_cfg: dict, input_shape: tuple[int, ...], n_outputs: int, init: Any = TORCH_INIT) -> Net:
    """:func:`build_net` of a net config (``{"arch", "widths", ...options}``), initialised as ``init`` says."""
    return build_net(net_cfg["arch"], input_shape, n_outputs, net_cfg.get("widths"), net_options(net_cfg), init)
