"""The weight-feedback architecture (``arch: feedback``) and the features it is fed, seed-batched.

The architecture is registered as an :class:`~weightspace.families.base.ArchSpec`
(:data:`~weightspace.families.feedback.geometry.ARCH_SPEC`, in the family's
``archs``; torch-free, like its sizes, in :mod:`weightspace.families.feedback.geometry`),
whose forward is :func:`build_forward`. Its forward reads
the fed-back vector ``(S, F)`` from the weights dict (key
:data:`~weightspace.families.feedback.geometry.FEEDBACK_INPUT`), put there by
the family's reparameterization (:mod:`weightspace.families.feedback.reparam`),
and concatenates it, the same for every example, to the conv features before fc1.

The feature functions are pure and batched over seeds: :func:`maxpool_features`
(the note's max-pool of fc1's and fc2's weights, padded with ones) and
:func:`projection_features` (the flattened fc weights times a fixed matrix,
:func:`projection_matrix`: Xavier-uniform, drawn from each seed's own generator).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from weightspace.families.feedback.geometry import FEEDBACK_INPUT
from weightspace.nets import Weights, conv2d, from_grouped, linear, max_pool2d, to_grouped
from weightspace.netspec import NetSpec

__all__ = ["build_forward", "maxpool_features", "projection_features", "projection_matrix",
           "xavier_bound"]

def maxpool_features(w1: Tensor, w2: Tensor, geometry: dict) -> Tensor:
    """The note's features: fc1's and fc2's weights max-pooled, flattened, concatenated, padded with ones.

    Args:
        w1: (S, H, C + F) fc1 weights; w2: (S, classes, H) fc2 weights.
        geometry: the net's geometry (its ``pool`` kernels and ``features``).
    Returns:
        (S, F).
    """
    pool = geometry["pool"]
    S = w1.shape[0]
    parts = [F.max_pool2d(w.unsqueeze(1), pool["kernels"][name]).reshape(S, -1)
             for name, w in (("fc1", w1), ("fc2", w2))]
    if pool["ones"]:
        parts.append(w1.new_ones(S, pool["ones"]))
    return torch.cat(parts, dim=1)


def xavier_bound(n_in: int, n_out: int) -> float:
    """Xavier/Glorot uniform bound of an (n_in x n_out) matrix: sqrt(6 / (n_in + n_out))."""
    return (6.0 / (n_in + n_out)) ** 0.5


def projection_matrix(n: int, features: int, gens: list[torch.Generator], device="cpu") -> Tensor:
    """A fixed Xavier-uniform (n x F) matrix per seed, each drawn from that seed's own generator: (S, n, F).

    The same as ``torch.nn.init.xavier_uniform_`` on an (n, F) tensor (the note's ``P``), made on the CPU
    one seed at a time (a CIFAR-10 matrix is 1.6 GB) and moved to ``device``.
    """
    bound = xavier_bound(n, features)
    P = torch.empty(len(gens), n, features, device=device)
    for s, g in enumerate(gens):
        P[s].copy_(torch.empty(n, features).uniform_(-bound, bound, generator=g))
    return P


def projection_features(w1: Tensor, w2: Tensor, P: Tensor) -> Tensor:
    """The flattened fc weights (fc1's then fc2's, row-major) times each seed's matrix: (S, n) @ (S, n, F) -> (S, F)."""
    S = w1.shape[0]
    flat = torch.cat([w1.reshape(S, -1), w2.reshape(S, -1)], dim=1)
    return torch.bmm(flat.unsqueeze(1), P).squeeze(1)


def build_forward(ns: NetSpec) -> Callable[[Weights, Tensor], Tensor]:
    """``forward(weights, x) -> (S, B, classes)``: conv features, + the fed-back vector, -> fc1 -> ReLU -> fc2."""
    g = ns.geometry
    n_conv, padding, n_feat = len(g["channels"]), g["padding"], g["features"]

    def forward(weights: Weights, x: Tensor) -> Tensor:
        S = weights["conv1.weight"].shape[0]
        h = to_grouped(x, S)  # (B, S*C, H, W)
        for i in range(1, n_conv + 1):
            h = max_pool2d(torch.relu(conv2d(h, weights[f"conv{i}.weight"], weights[f"conv{i}.bias"], padding)))
        h = from_grouped(h, S)  # (S, B, C)
        if n_feat:
            fed = weights.get(FEEDBACK_INPUT)
            if fed is None:
                raise ValueError(f"a feedback net with features={n_feat} needs its fed-back inputs: train it with "
                                 f"`reparam: feedback` (feedback: none for the plain net)")
            h = torch.cat([h, fed.unsqueeze(1).expand(-1, h.shape[1], -1)], dim=2)
        h = torch.relu(linear(h, weights["fc1.weight"], weights["fc1.bias"]))
        return linear(h, weights["fc2.weight"], weights["fc2.bias"])

    return forward
