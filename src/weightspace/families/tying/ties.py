"""The tie map of a variant: which parts of a net's weights share one trainable tensor. Imports no torch.

A **tie** is one shared trainable tensor and the parts of the net's weights it
fills (its *members*); everything not tied is trained directly. Four kinds:

``rows``       the rows of a matrix ``W`` (o, i) in groups of ``g``: o / g shared rows, each filling its group's g
               rows (contiguous groups 0..g-1, g..2g-1, ..., or a random partition fixed per seed). With
               ``bias: tied`` (the default) the layer's bias is tied in the same groups, so the g units of a group
               compute the same activation.
``columns``    the columns of a matrix in groups of ``g`` (the weights from g inputs are one).
``tensors``    whole tensors of equal shape share one (cross-layer sharing: the hidden-to-hidden matrices of a deep
               fc net); with ``bias: tied`` (default) their biases share one too.
``transpose``  a tensor is another's transpose (an autoencoder's decoder weight = encoder weightᵀ); biases stay
               separate. The pairs come from the net (``geometry["transpose_pairs"]``).

Each entry of a shared tensor has ``m`` members (g rows or columns, the number of tied tensors, or 2 for a
transpose). Gradient semantics: ``sum`` gives the shared entry the sum of its members' gradients (what autograd
gives when one tensor is used in several places), ``mean`` their average (the sum / m).

This module computes the map from the variant and the net's spec only, so that a config can be checked and its
memory estimated without torch; :mod:`weightspace.families.tying.reparam` builds the tensors from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Tie", "TieError", "KINDS", "GROUPED", "tie_map", "tie_problems", "trainable_count", "tying_bytes",
           "default_bias", "parse_tensors", "narrow_widths", "narrow_bytes", "narrow_problems", "fc_param_count"]

KINDS = ("rows", "columns", "tensors", "transpose")
GROUPED = ("rows", "columns")  # the kinds with groups of g along an axis


class TieError(ValueError):
    """A tie that does not fit the net; ``option`` names the variant option at fault ("" for the variant)."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}" if option else message)
        self.option, self.message = option, message


@dataclass(frozen=True)
class Tie:
    """One shared trainable tensor (per seed) and the weights it fills.

    Attributes:
        kind: rows | columns | tensors | transpose.
        members: the net's tensors it fills, in spec order (transpose: ``(source, transposed)``).
        shape: the shared tensor's shape per seed.
        m: members per shared entry (the divisor of the ``mean`` gradient).
        axis: grouped kinds: the axis grouped (0 rows, 1 columns); else None.
        g: grouped kinds: the group size; else 1.
        grouping: grouped kinds: the tensor whose grouping this tie uses (a bias uses its weight's).
    """

    kind: str
    members: tuple[str, ...]
    shape: tuple[int, ...]
    m: int
    axis: int | None = None
    g: int = 1
    grouping: str | None = None

    @property
    def key(self) -> str:
        """A name for the shared tensor (usable as a module key)."""
        return "+".join(self.members).replace(".", "__").replace("+", "___")

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def n_grouped(self) -> int:
        """Grouped kinds: the number of rows (columns) grouped; else 0."""
        return self.shape[self.axis] * self.g if self.axis is not None else 0


def default_bias(kind: str) -> str:
    """``tied`` for rows and whole tensors (tied units compute the same activation), else ``separate``."""
    return "tied" if kind in ("rows", "tensors") else "separate"


def parse_tensors(value: str | None) -> list[str] | None:
    """``"fc2.weight+fc3.weight"`` -> ``["fc2.weight", "fc3.weight"]``; None (the kind's default) stays None."""
    if value is None or value == "auto":
        return None
    return [t for t in str(value).split("+") if t]


def _matrices(net) -> list[str]:
    return [n for n, w in net.spec.items() if len(w.shape) == 2]


def _bias_of(net, weight: str) -> str | None:
    """The bias of a weight ``<layer>.weight`` (``<layer>.bias`` with one entry per row), if the net has it."""
    if not weight.endswith(".weight"):
        return None
    bias = weight[: -len(".weight")] + ".bias"
    w = net.spec.get(bias)
    return bias if w is not None and w.shape == net.spec[weight].shape[:1] else None


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _divisors(n: int) -> str:
    divs = [d for d in range(1, n + 1) if n % d == 0]
    return ", ".join(map(str, divs[:10])) + (", ..." if len(divs) > 10 else "")


def tie_map(variant: dict, net) -> list[Tie]:
    """The ties of a ``tying`` (or ``narrow``) variant on a net (a :class:`~weightspace.netspec.NetSpec`).

    Raises:
        TieError: options that do not fit the net, naming the option, the tensors and their sizes.
    """
    kind = variant["tie"]
    if kind not in KINDS:
        raise TieError("tie", f"unknown tie {kind!r}; choose one of: {', '.join(KINDS)}")
    bias = variant.get("bias") or default_bias(kind)
    g = variant.get("g")
    names = parse_tensors(variant.get("tensors"))
    if names is not None:
        unknown = [n for n in names if n not in net.spec]
        if unknown:
            raise TieError("tensors", f"{', '.join(map(repr, unknown))} not in the net; its tensors: "
                                       f"{', '.join(net.spec)}")
        if len(set(names)) != len(names):
            raise TieError("tensors", f"{variant['tensors']!r} names a tensor twice")
    if kind in GROUPED:
        if g is None:
            raise TieError("g", f"missing: tie: {kind} needs the group size g")
        if bias == "tied" and kind == "columns":
            raise TieError("bias", "tied applies to rows and whole tensors; a column tie leaves the biases separate")
    elif g is not None:
        raise TieError("g", f"applies to rows and columns ties, not to tie: {kind}")
    if variant.get("groups", "contiguous") != "contiguous" and kind not in GROUPED:
        raise TieError("groups", f"applies to rows and columns ties, not to tie: {kind}")

    if kind in GROUPED:
        axis = 0 if kind == "rows" else 1
        if names is None:
            mats = _matrices(net)
            if not mats:
                raise TieError("tie", f"{kind} needs a weight matrix; the net has none")
            names = mats[:1]
        ties = []
        for name in names:
            shape = net.spec[name].shape
            if len(shape) != 2:
                raise TieError("tensors", f"tie: {kind} groups the {kind} of a matrix; {name} has shape "
                                          f"{_fmt_shape(shape)}")
            n = shape[axis]
            if n % g:
                raise TieError("g", f"{g} does not divide the {n} {kind} of {name} {_fmt_shape(shape)}; "
                                    f"use a divisor of {n} ({_divisors(n)})")
            shared = (n // g, shape[1]) if axis == 0 else (shape[0], n // g)
            ties.append(Tie(kind, (name,), shared, g, axis, g, name))
            b = _bias_of(net, name)
            if kind == "rows" and bias == "tied" and b is not None:
                ties.append(Tie(kind, (b,), (n // g,), g, 0, g, name))
        return ties

    if kind == "tensors":
        if names is None:
            by_shape: dict[tuple, list[str]] = {}
            for name in _matrices(net):
                by_shape.setdefault(net.spec[name].shape, []).append(name)
            groups = [v for v in by_shape.values() if len(v) >= 2]
            if not groups:
                shapes = ", ".join(f"{n} {_fmt_shape(net.spec[n].shape)}" for n in _matrices(net))
                raise TieError("tie", f"tensors needs two or more weight matrices of equal shape; the net has {shapes}")
            names = max(groups, key=len)  # the largest set (the first on a draw)
        if len(names) < 2:
            raise TieError("tensors", f"tie: tensors ties two or more tensors; got {', '.join(names)}")
        first = net.spec[names[0]].shape
        for name in names[1:]:
            if net.spec[name].shape != first:
                raise TieError("tensors", f"whole tensors tied together must have equal shapes: {names[0]} is "
                                          f"{_fmt_shape(first)}, {name} is {_fmt_shape(net.spec[name].shape)}")
        ties = [Tie(kind, tuple(names), first, len(names))]
        if bias == "tied":
            biases = [_bias_of(net, n) for n in names]
            if all(b is not None for b in biases):
                bshapes = {net.spec[b].shape for b in biases}
                if len(bshapes) == 1:
                    ties.append(Tie(kind, tuple(biases), net.spec[biases[0]].shape, len(biases)))
        return ties

    # transpose
    if bias == "tied":
        raise TieError("bias", "tied does not apply to a transposed tie (the two layers' biases differ in size); "
                                "the biases stay separate")
    pairs = [tuple(p) for p in (net.geometry or {}).get("transpose_pairs", [])]
    if not pairs:
        raise TieError("tie", f"transpose needs a net that declares transposed pairs (arch autoencoder); "
                               f"net arch {net.arch!r} has none")
    if names is not None:  # a subset of the pairs, by the transposed tensor's name
        known = {t: s for t, s in pairs}
        missing = [n for n in names if n not in known]
        if missing:
            raise TieError("tensors", f"{', '.join(missing)} is not the transposed side of a pair of this net; "
                                       f"pairs: {', '.join(f'{t} = {s}ᵀ' for t, s in pairs)}")
        pairs = [(t, known[t]) for t in names]
    ties = []
    for transposed, source in pairs:
        a, b = net.spec[source].shape, net.spec[transposed].shape
        if len(a) != 2 or b != a[::-1]:
            raise TieError("", f"{transposed} {_fmt_shape(b)} cannot be the transpose of {source} {_fmt_shape(a)}")
        ties.append(Tie(kind, (source, transposed), a, 2))
    return ties


def tie_problems(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    """The registry's check: why a variant's ties do not fit the cell's net (``(option, message)``)."""
    try:
        tie_map(variant, net)
    except TieError as e:
        return [(e.option, e.message)]
    return []


def trainable_count(ties: list[Tie], net) -> int:
    """Trainable numbers per seed: the untied tensors' entries plus each shared tensor's."""
    tied = sum(net.spec[m].numel for t in ties for m in t.members)
    return net.n_params - tied + sum(t.numel for t in ties)


def tying_bytes(variant: dict, net, n_seeds: int) -> int:
    """Memory of a tying variant while training (float32): the trained tensors with their gradient and Adam's
    two moments, the computed weights and their gradient, and the group indices (int64)."""
    try:
        ties = tie_map(variant, net)
    except ValueError:  # reported by the check; estimate as direct training
        ties = []
    T = trainable_count(ties, net)
    idx = sum(t.n_grouped for t in ties)
    return 4 * n_seeds * (4 * T + 2 * net.n_params) + 8 * n_seeds * idx


# ----------------------------------------------------------------------------------------------
# the narrower untied reference: an fc net of the tied net's trainable-parameter count


def fc_param_count(dims: list[int]) -> int:
    """Weights and biases of an fc net with layer sizes ``dims`` (input, hidden..., output)."""
    return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))


def _fc_dims(net) -> list[int]:
    n_fc = (net.geometry or {}).get("n_fc")
    if net.arch != "fc" or not n_fc:
        raise TieError("", f"the narrower reference is an fc net; net arch {net.arch!r} is not fc")
    return [net.spec["fc1.weight"].shape[1]] + [net.spec[f"fc{i}.weight"].shape[0] for i in range(1, n_fc + 1)]


def narrow_widths(variant: dict, net) -> tuple[list[int], int]:
    """The hidden widths of the untied fc net whose parameter count is closest to the tied net's, and that count.

    The tied net is the ``tying`` variant with the same ``tie``, ``g``, ``tensors`` and ``bias`` options.
    ``tie: rows`` of ``fc<i>.weight`` narrows hidden layer i alone (the layer whose units are tied); ``tie:
    tensors`` narrows every hidden layer to one common width (the widths of a deep net whose hidden layers share
    a matrix stay equal). The width w is searched over 1..(the tied net's width): the count is a quadratic
    (tensors) or linear (rows) function of w; the closest count wins, the smaller w on a draw.

    Returns:
        (hidden widths of the narrower net, the tied net's trainable count it is matched to).

    Raises:
        TieError: a tie the narrower reference does not define, or a net that is not fc.
    """
    kind = variant["tie"]
    if kind not in ("rows", "tensors"):
        raise TieError("tie", f"the narrower reference matches tie: rows or tensors, not {kind}")
    dims = _fc_dims(net)
    target = trainable_count(tie_map(variant, net), net)
    hidden = list(range(1, len(dims) - 1))  # indices into dims of the hidden layers
    if kind == "rows":
        layers = sorted({int(t.members[0].split(".")[0][2:]) for t in tie_map(variant, net)
                         if t.members[0].endswith(".weight")})
        if any(i not in hidden for i in layers):
            raise TieError("tensors", "the narrower reference narrows hidden layers; the rows of the output layer "
                                       "are its classes")
        which = layers
    else:
        which = hidden
        if len({dims[i] for i in which}) != 1:
            raise TieError("tie", f"tensors narrows every hidden layer to one width; the hidden widths "
                                   f"{[dims[i] for i in which]} differ")
    best = None
    for w in range(1, max(dims[i] for i in which) + 1):
        d = [w if i in which else x for i, x in enumerate(dims)]
        err = abs(fc_param_count(d) - target)
        if best is None or err < best[0]:
            best = (err, d)
    return best[1][1:-1], target


def narrow_problems(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    try:
        narrow_widths(variant, net)
    except TieError as e:
        return [(e.option, e.message)]
    return []


def narrow_bytes(variant: dict, net, n_seeds: int) -> int:
    """The narrower net's parameters with gradient and Adam's moments, and the full-size padded weights."""
    try:
        widths, _ = narrow_widths(variant, net)
        T = fc_param_count(_fc_dims(net)[:1] + widths + _fc_dims(net)[-1:])
    except ValueError:
        T = net.n_params
    return 4 * n_seeds * (4 * T + 2 * net.n_params)
