"""The weight-feedback net's sizes, without torch: its weight spec, the max-pool sizes, memory.

A feedback net (``arch: feedback``) is conv features plus a fully connected
head whose first layer also takes ``features`` extra inputs::

    x -> [conv(k x k, padding p) -> ReLU -> 2x2 max-pool] per entry of ``channels`` -> flatten (C)
      -> concat with the fed-back vector (F = ``features``) -> fc1 (C + F -> H) -> ReLU -> fc2 (H -> classes)

What fills the F extra inputs is the variant's business (``reparam: feedback``):
nothing (``none``), ones, the features of the initial weights, or features
of the current fc weights, max-pooled or randomly projected. The max-pool
kernels belong to the net (``pool_fc1``, ``pool_fc2``: rows x columns for
fc1's weight, H x (C + F), and fc2's weight, classes x H), because they fix
how many features come out; every size is derived here from the kernels and
widths, and a net whose sizes do not divide into F features is refused when
the config is checked.

Max-pooling follows :func:`torch.nn.functional.max_pool2d` (and the note):
non-overlapping windows, a remainder that a kernel does not divide is left
outside every window (the note's MNIST net: fc1 has 60 rows, the kernel 25,
so rows 50-59 are never pooled). The pooled values of fc1 then fc2, each
flattened row-major, fill the first ``n_pooled`` of the F inputs and ones the
rest (the note's padding).
"""

from __future__ import annotations

from collections import OrderedDict

from weightspace.registry import ArchSpec
from weightspace.netspec import NetSpec, WeightSpec

__all__ = [
    "ARCH",
    "ARCH_SPEC",
    "DEFAULTS",
    "FEEDBACK_INPUT",
    "LIVE",
    "MODES",
    "describe",
    "fc_numel",
    "feedback_bytes",
    "feedback_spec",
    "pooled_sizes",
]

ARCH = "feedback"
#: the key under which a feedback reparameterization hands the fed-back vector (S, F) to the net's forward
FEEDBACK_INPUT = "feedback.input"
#: the net options' defaults: the note's MNIST feedback net (widths [60])
DEFAULTS = {"channels": [5, 10], "kernel": 5, "padding": 0, "widths": [60]}
#: what fills the extra inputs (the variant's ``feedback``)
MODES = ("none", "ones", "frozen", "maxpool", "projection")
#: the modes that feed back the *current* weights (``gradient`` applies to them)
LIVE = ("maxpool", "projection")


def pooled_sizes(w1: tuple[int, int], w2: tuple[int, int], k1: tuple[int, int], k2: tuple[int, int],
                 features: int) -> dict:
    """Sizes of the max-pooled fc weights, or ValueError naming the sizes when they do not fit.

    Args:
        w1, w2: the shapes of fc1's weight (H, C + F) and fc2's (classes, H).
        k1, k2: their max-pool kernels (rows, columns).
        features: F, the extra inputs the pooled values (then ones) fill.
    Returns:
        ``{"fc1": (r1, c1), "fc2": (r2, c2), "n_pooled": r1 c1 + r2 c2, "ones": F - n_pooled,
        "uncovered": {"fc1": (rows, cols), "fc2": (rows, cols)}}`` (rows and columns left outside every window).
    """
    out: dict = {"uncovered": {}}
    for name, shape, k in (("fc1", w1, k1), ("fc2", w2, k2)):
        if any(int(v) < 1 for v in k):
            raise ValueError(f"pool_{name}: kernel sizes must be >= 1, got {list(k)}")
        r, c = shape[0] // k[0], shape[1] // k[1]
        if r < 1 or c < 1:
            raise ValueError(
                f"pool_{name}: a {k[0]} x {k[1]} max-pool kernel does not fit in {name}.weight, which is "
                f"{shape[0]} x {shape[1]}; use a kernel of at most {shape[0]} x {shape[1]}")
        out[name] = (r, c)
        out["uncovered"][name] = (shape[0] - r * k[0], shape[1] - c * k[1])
    (r1, c1), (r2, c2) = out["fc1"], out["fc2"]
    n = r1 * c1 + r2 * c2
    if n > features:
        raise ValueError(
            f"the max-pooled fc weights do not divide into features={features}: fc1.weight ({w1[0]} x {w1[1]}) "
            f"by a {k1[0]} x {k1[1]} kernel gives {r1} x {c1} = {r1 * c1}, fc2.weight ({w2[0]} x {w2[1]}) by "
            f"{k2[0]} x {k2[1]} gives {r2} x {c2} = {r2 * c2}: {n} values for {features} inputs; use features >= {n} "
            f"(with fc1's input growing to match) or larger kernels")
    out["n_pooled"] = n
    out["ones"] = features - n
    return out


def _conv_sizes(input_shape: tuple[int, ...], channels: list[int], kernel: int, padding: int) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(f"a feedback net needs image inputs (C, H, W), got shape {tuple(input_shape)}")
    _, H, W = input_shape
    h, w = H, W
    for i, _ in enumerate(channels, start=1):
        ch, cw = h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1
        if min(ch, cw) < 2:
            raise ValueError(
                f"a feedback net with {len(channels)} conv layer(s) of {kernel}x{kernel} kernels and padding {padding} "
                f"cannot take {H}x{W} inputs: conv {i} gets {h}x{w} and would give {ch}x{cw}, too small for its 2x2 "
                f"max-pool; use a smaller kernel, padding, or fewer channels entries")
        h, w = ch // 2, cw // 2
    return channels[-1] * h * w, h, w


def feedback_spec(input_shape: tuple[int, ...], n_outputs: int, options: dict) -> NetSpec:
    """The :class:`~weightspace.netspec.NetSpec` of a feedback net (the ``spec`` of its ArchSpec).

    ``options``: ``widths`` ([H]), ``features`` (F), ``channels``, ``kernel``, ``padding``, and optionally
    ``pool_fc1`` and ``pool_fc2``. Raises ValueError, naming the sizes, for what cannot be built.
    """
    o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    widths, F = list(o["widths"]), int(o.get("features", 0))
    if len(widths) != 1:
        raise ValueError(f"a feedback net has one hidden layer (fc1 -> H -> fc2): widths must be [H], got {widths}")
    channels, kernel, padding = [int(c) for c in o["channels"]], int(o["kernel"]), int(o["padding"])
    if not channels:
        raise ValueError("a feedback net needs at least one conv layer (channels)")
    conv, h, w = _conv_sizes(tuple(input_shape), channels, kernel, padding)
    H = int(widths[0])
    spec: OrderedDict = OrderedDict()
    c_in = input_shape[0]
    for i, c in enumerate(channels, start=1):
        spec[f"conv{i}.weight"] = WeightSpec((c, c_in, kernel, kernel), c_in * kernel * kernel)
        spec[f"conv{i}.bias"] = WeightSpec((c,), c_in * kernel * kernel)
        c_in = c
    spec["fc1.weight"] = WeightSpec((H, conv + F), conv + F)
    spec["fc1.bias"] = WeightSpec((H,), conv + F)
    spec["fc2.weight"] = WeightSpec((n_outputs, H), H)
    spec["fc2.bias"] = WeightSpec((n_outputs,), H)
    pools = [o.get("pool_fc1"), o.get("pool_fc2")]
    pool = None
    if any(p is not None for p in pools):
        if any(p is None for p in pools):
            raise ValueError("pool_fc1 and pool_fc2 go together: give both max-pool kernels, or neither")
        if F == 0:
            raise ValueError("pool_fc1 / pool_fc2 need features > 0: the pooled weights fill the extra inputs")
        k1, k2 = tuple(int(v) for v in pools[0]), tuple(int(v) for v in pools[1])
        pool = {"kernels": {"fc1": k1, "fc2": k2},
                **pooled_sizes((H, conv + F), (n_outputs, H), k1, k2, F)}
    geometry = {"channels": channels, "kernel": kernel, "padding": padding, "conv_hw": (h, w),
                "conv_features": conv, "features": F, "hidden": H, "pool": pool}
    return NetSpec(ARCH, spec, tuple(input_shape), n_outputs, geometry)


def fc_numel(net: NetSpec) -> int:
    """Numbers in fc1's and fc2's weights: the length of the vector a projection maps to F features."""
    return net.spec["fc1.weight"].numel + net.spec["fc2.weight"].numel


def feedback_bytes(variant: dict, net: NetSpec, n_seeds: int) -> int:
    """Memory of a feedback variant: the weights with Adam's two moments, and a projection matrix if it has one."""
    trained = 4 * net.n_params * n_seeds * 3
    F = net.geometry.get("features", 0) if net.arch == ARCH else 0
    projected = variant.get("feedback") == "projection" or (
        variant.get("feedback") == "frozen" and variant.get("frozen_features") == "projection")
    return trained + (4 * n_seeds * fc_numel(net) * F if projected and F else 0)


def describe(net: NetSpec) -> str:
    """One line: the net's sizes, as the docs and logs write them."""
    g = net.geometry
    text = (f"conv {' -> '.join(map(str, [net.input_shape[0], *g['channels']]))} ({g['kernel']}x{g['kernel']}), "
            f"fc1 ({g['conv_features']} + {g['features']}) -> {g['hidden']}, fc2 {g['hidden']} -> {net.n_outputs}")
    if g["pool"]:
        p = g["pool"]
        text += (f"; max-pool fc1 by {p['kernels']['fc1']} -> {p['fc1']}, fc2 by {p['kernels']['fc2']} -> {p['fc2']}: "
                 f"{p['n_pooled']} values + {p['ones']} ones")
    return text


#: the architecture as the core sees it (forward: :func:`weightspace.families.feedback.nets.build_forward`)
ARCH_SPEC = ArchSpec(ARCH, feedback_spec, "weightspace.families.feedback.nets:build_forward")
