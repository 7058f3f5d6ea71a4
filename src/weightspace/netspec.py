"""What a net's weights are, without building it: shapes, fan-ins, D. Imports no torch.

:func:`net_spec` computes the ordered weight spec of an architecture for an
input shape and an output width, and checks that the architecture can take
those inputs. The config layer uses it to know D, check subspace dimensions
and estimate memory without importing torch (parsing the workflow stays fast);
:func:`weightspace.nets.build_net` builds the seed-batched forward on top of it.

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
from typing import Any

from weightspace import registry
from weightspace.data import cell_info

__all__ = ["WeightSpec", "NetSpec", "net_spec", "net_spec_for", "net_options", "cell_task", "ARCHS", "layers",
           "init_stds", "init_text", "TORCH_INIT"]

ARCHS = ("fc", "lenet", "smallcnn")


@dataclass(frozen=True)
class WeightSpec:
    """One weight tensor of a net: its shape (per seed) and its fan-in for initialization."""

    shape: tuple[int, ...]
    fan_in: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class NetSpec:
    """The weights of a net and the geometry its forward needs.

    Attributes:
        arch: architecture name.
        spec: ordered weight spec, ``{name: WeightSpec}``.
        input_shape: ``(C, *spatial)`` of one example.
        n_outputs: output width.
        geometry: what the forward function needs besides the weights (padding, layer counts).
        task: the task the net fixes whatever the dataset's (``reconstruction``: its outputs are the
            input's pixels, as an autoencoder's), or None for the dataset's own task.
    """

    arch: str
    spec: "OrderedDict[str, WeightSpec]"
    input_shape: tuple[int, ...]
    n_outputs: int
    geometry: dict[str, Any] = field(default_factory=dict)
    task: str | None = None

    @property
    def sizes(self) -> list[int]:
        return [w.numel for w in self.spec.values()]

    @property
    def n_params(self) -> int:
        """D: the number of weights per seed."""
        return sum(self.sizes)


#: the default initialisation (``train.init``): PyTorch's, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases
TORCH_INIT = "torch"


def layers(spec: "OrderedDict[str, WeightSpec]") -> list[str]:
    """The weight tensors of a spec that are a layer's weights, in order: every tensor but the biases (``*.bias``)."""
    return [name for name in spec if not name.endswith(".bias")]


def init_stds(spec: "OrderedDict[str, WeightSpec]", init: Any) -> dict[str, float] | None:
    """Each tensor's standard deviation under the initialisation ``init`` (the ``train.init`` key), 0 for zeros;
    None for PyTorch's default (:data:`TORCH_INIT`).

    ``init`` is ``{"std": s or [s per layer], "bias": "zero" | "normal"}``: layer i's weights (:func:`layers`, in
    the spec's order) are drawn from N(0, s_i^2), its bias (``<layer>.bias``) is zero or drawn with the same std.

    Raises:
        ValueError: a list of stds whose length is not the number of layers (naming them).
    """
    if init in (None, TORCH_INIT):
        return None
    names = layers(spec)
    std = init["std"]
    stds = list(std) if isinstance(std, list) else [std] * len(names)
    if len(stds) != len(names):
        raise ValueError(f"{len(stds)} stds for the {len(names)} layer(s) ({', '.join(names)}); give one std per "
                         f"layer, or one number for all")
    by_layer = {n.removesuffix(".weight"): float(s) for n, s in zip(names, stds)}
    normal_bias = init.get("bias", "zero") == "normal"
    return {name: (by_layer[name.removesuffix(".bias")] if normal_bias else 0.0) if name.endswith(".bias")
            else by_layer[name.removesuffix(".weight")] for name in spec}


def init_text(init: Any) -> str:
    """The initialisation ``init`` as a label: ``torch``, or ``normal std=0.001,0.001,0.01 bias=zero``."""
    if init in (None, TORCH_INIT):
        return TORCH_INIT
    std = init["std"]
    stds = ",".join(f"{float(s):g}" for s in (std if isinstance(std, list) else [std]))
    return f"normal std={stds} bias={init.get('bias', 'zero')}"


def _fc_layers(spec: OrderedDict, dims: list[int]) -> None:
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        spec[f"fc{i}.weight"] = WeightSpec((b, a), a)
        spec[f"fc{i}.bias"] = WeightSpec((b,), a)


def _fc(input_shape: tuple[int, ...], n_out: int, widths: list[int]) -> NetSpec:
    dims = [math.prod(input_shape), *widths, n_out]
    spec: OrderedDict = OrderedDict()
    _fc_layers(spec, dims)
    return NetSpec("fc", spec, tuple(input_shape), n_out, {"n_fc": len(dims) - 1})


def _conv_net(
    arch: str,
    input_shape: tuple[int, ...],
    n_out: int,
    channels: list[int],
    widths: list[int],
    pad_to: int | None,
) -> NetSpec:
    """conv(5x5) -> ReLU -> 2x2 max-pool, per entry of ``channels``; then an fc head."""
    if len(input_shape) != 3:
        raise ValueError(f"{arch} needs image inputs (C, H, W), got shape {input_shape}")
    C, H, W = input_shape
    if pad_to and min(H, W) < pad_to - 4:
        raise ValueError(f"{arch} needs inputs of at least {pad_to - 4}x{pad_to - 4}, got {H}x{W}")
    pad = max(0, (pad_to - H) // 2) if pad_to else 0
    spec: OrderedDict = OrderedDict()
    size_h, size_w = H + 2 * pad, W + 2 * pad
    c_in = C
    for i, c in enumerate(channels, start=1):
        spec[f"conv{i}.weight"] = WeightSpec((c, c_in, 5, 5), c_in * 25)
        spec[f"conv{i}.bias"] = WeightSpec((c,), c_in * 25)
        size_h, size_w = (size_h - 4) // 2, (size_w - 4) // 2
        if size_h < 1 or size_w < 1:
            raise ValueError(f"{arch} needs larger inputs than {H}x{W}")
        c_in = c
    dims = [c_in * size_h * size_w, *widths, n_out]
    _fc_layers(spec, dims)
    return NetSpec(arch, spec, tuple(input_shape), n_out, {"pad": pad, "n_conv": len(channels), "n_fc": len(dims) - 1})


def net_options(net_cfg: dict) -> dict:
    """A net config's options beyond its name, arch and widths (those of a family's architecture)."""
    return {k: v for k, v in net_cfg.items() if k not in ("name", "arch", "widths")}


def net_spec_for(net_cfg: dict, input_shape: tuple[int, ...], n_outputs: int) -> NetSpec:
    """:func:`net_spec` of a net config (``{"arch", "widths", ...options}``)."""
    return net_spec(net_cfg["arch"], input_shape, n_outputs, net_cfg.get("widths"), net_options(net_cfg))


def cell_task(cell: dict) -> str:
    """The task an expanded cell trains: its net's (an autoencoder: reconstruction), else its dataset's."""
    info = cell_info(cell)
    return net_spec_for(cell["net"], info.input_shape, info.n_outputs).task or info.task


def net_spec(arch: str, input_shape: tuple[int, ...], n_outputs: int, widths: list[int] | None = None,
             options: dict | None = None) -> NetSpec:
    """The weight spec of architecture ``arch`` for inputs of ``input_shape`` and ``n_outputs`` outputs.

    ``arch`` is one of :data:`ARCHS` or an architecture a family registers
    (:data:`weightspace.registry.ARCHITECTURES`), which may take ``options``.

    Raises:
        ValueError: unknown architecture, or inputs the architecture cannot take.
    """
    if arch not in ARCHS:
        if arch not in registry.ARCHITECTURES:
            raise ValueError(f"unknown architecture {arch!r}; choose one of: "
                             f"{', '.join([*ARCHS, *registry.ARCHITECTURES])}")
        return registry.ARCHITECTURES[arch].spec(tuple(input_shape), n_outputs, {"widths": widths, **(options or {})})
    if arch == "fc":
        return _fc(input_shape, n_outputs, list(widths if widths is not None else [200, 200]))
    if arch == "lenet":
        return _conv_net("lenet", input_shape, n_outputs, [6, 16], list(widths or [120, 84]), pad_to=32)
    if arch == "smallcnn":
        return _conv_net("smallcnn", input_shape, n_outputs, [5, 10], list(widths or [50]), pad_to=None)
    raise ValueError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHS)}")
