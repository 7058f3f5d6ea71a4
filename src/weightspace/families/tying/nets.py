"""The tying family's architecture: a fully connected autoencoder (registered as ``arch: autoencoder``).

``widths: [h_1, ..., h_L]`` (default ``[256, 64]``) gives the encoder in -> h_1 -> ... -> h_L (ReLU between
layers, a linear code h_L) and the mirrored decoder h_L -> ... -> h_1 -> in (ReLU between layers, a sigmoid on the
output, pixels in [0, 1]). Its weights::

    enc<i>.weight (h_i, h_{i-1}), enc<i>.bias (h_i,)        i = 1..L   (h_0 = in)
    dec<i>.weight (h_{i-1}, h_i), dec<i>.bias (h_{i-1},)    i = L..1   (dec<i> mirrors enc<i>)

so ``dec<i>.weight`` has the shape of ``enc<i>.weight``ᵀ: the net declares these pairs
(``geometry["transpose_pairs"]``), which a ``tie: transpose`` variant ties. The net fixes its task: its outputs
are the input's pixels (``task="reconstruction"``: squared error against the pixels, no accuracy).

:func:`autoencoder_spec` imports no torch (config checks); :func:`autoencoder_forward` is the seed-batched forward.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from weightspace.netspec import NetSpec, WeightSpec

__all__ = ["autoencoder_spec", "autoencoder_forward", "DEFAULT_WIDTHS"]

DEFAULT_WIDTHS = (256, 64)


def autoencoder_spec(input_shape: tuple[int, ...], n_outputs: int, options: dict) -> NetSpec:
    """The weight spec of the autoencoder for inputs of ``input_shape`` (``n_outputs``, the classes, is unused).

    Raises:
        ValueError: no widths, or a code not narrower than the input.
    """
    n = math.prod(input_shape)
    widths = options.get("widths")
    widths = list(DEFAULT_WIDTHS if widths is None else widths)
    if not widths:
        raise ValueError("the autoencoder needs at least one width (the last is the code)")
    if widths[-1] >= n:
        raise ValueError(f"the autoencoder's code width {widths[-1]} (the last of widths {widths}) must be below "
                         f"the input size {n}")
    dims = [n, *widths]
    spec: OrderedDict = OrderedDict()
    for i in range(1, len(dims)):
        spec[f"enc{i}.weight"] = WeightSpec((dims[i], dims[i - 1]), dims[i - 1])
        spec[f"enc{i}.bias"] = WeightSpec((dims[i],), dims[i - 1])
    for i in range(len(dims) - 1, 0, -1):
        spec[f"dec{i}.weight"] = WeightSpec((dims[i - 1], dims[i]), dims[i])
        spec[f"dec{i}.bias"] = WeightSpec((dims[i - 1],), dims[i])
    pairs = [[f"dec{i}.weight", f"enc{i}.weight"] for i in range(len(dims) - 1, 0, -1)]
    return NetSpec("autoencoder", spec, tuple(input_shape), n, {"depth": len(widths), "transpose_pairs": pairs},
                   task="reconstruction")


def autoencoder_forward(ns: NetSpec):
    """``forward(weights, x) -> (S, B, in)``: the reconstruction of x's pixels, in [0, 1]."""
    import torch

    from weightspace.nets import linear  # deferred with torch: the family's __init__ reads autoencoder_spec without it

    depth, n_feat = ns.geometry["depth"], len(ns.input_shape)

    def forward(weights, x):
        h = x.flatten(-n_feat)  # (S, B, in) or (B, in)
        for i in range(1, depth + 1):  # encoder; the code (i = depth) is linear
            h = linear(h, weights[f"enc{i}.weight"], weights[f"enc{i}.bias"])
            if i < depth:
                h = torch.relu(h)
        for i in range(depth, 0, -1):  # decoder
            h = linear(h, weights[f"dec{i}.weight"], weights[f"dec{i}.bias"])
            h = torch.relu(h) if i > 1 else torch.sigmoid(h)
        return h

    return forward
