"""Tying: parts of a net's weights are one trainable tensor; and the narrower untied reference.

:class:`Tying`, for a tie map (:mod:`weightspace.families.tying.ties`)::

    W[rows of group j]  = p_j            rows:      p (S, o/g, i), W = p[:, assign]            (assign: (S, o))
    W[:, cols of group j] = p_j          columns:   p (S, o, i/g), W = p[:, :, assign]
    W_1 = W_2 = ... = W_m = p            tensors:   one p for m tensors of equal shape
    W_enc = p, W_dec = pᵀ                transpose: the decoder weight is the encoder weight's transpose

and every untied tensor is trained directly. Autograd gives a shared entry the **sum** of its members'
gradients; with ``grad: mean`` the shared tensor passes through :class:`ScaleGrad` (identity forward, gradient
times 1/m) before it fills its m members, so it receives their **average**. This is what the notes' manual
procedure does with untied copies (average or sum the group's gradients after ``backward()``, give every member
that gradient, step): members that start equal and receive equal gradients stay equal under SGD and Adam, which
are elementwise, and move exactly as the shared tensor does (tested).

Initialization: untied tensors start from the net's init of the same seed (as direct training); a shared tensor
starts from its first member's init (a row group: its lowest row; tensors: the first tensor; transpose: the
source, the encoder). Random row groups are a partition drawn per seed from ``generators(seeds, "tying")``.

:class:`Narrow`: the untied fc net whose hidden widths make its parameter count the tied net's
(:func:`~weightspace.families.tying.ties.narrow_widths`), trained directly from its own init and embedded in the
full net's shapes with zeros (units beyond the narrow width have zero weights in and out: the full net then
computes exactly the narrow net, with the narrow net's gradients).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from weightspace.families.tying.ties import Tie, narrow_widths, tie_map
from weightspace.nets import Net, Weights, build_net
from weightspace.reparam.base import Reparam
from weightspace.seeding import generators

__all__ = ["ScaleGrad", "Tying", "Narrow", "build_tying", "build_narrow", "group_assignment"]


class ScaleGrad(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by ``scale`` in the backward pass."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


def _key(name: str) -> str:
    return name.replace(".", "__")


def group_assignment(n: int, g: int, random: bool, gen: torch.Generator | None = None) -> Tensor:
    """Group index of each of ``n`` rows (columns) in groups of ``g``: contiguous (i // g) or a random partition.

    Returns:
        (n,) int64 with every group 0..n/g-1 used exactly g times.
    """
    base = torch.arange(n) // g
    if not random:
        return base
    perm = torch.randperm(n, generator=gen)
    out = torch.empty(n, dtype=torch.long)
    out[perm] = base
    return out


class Tying(Reparam):
    """Weights filled from shared trainable tensors by a tie map; the untied tensors trained directly.

    Args:
        net: the net.
        seeds: one tie map draw (random groups) and one init per seed.
        ties: the tie map (:func:`~weightspace.families.tying.ties.tie_map`).
        grad: ``sum`` (autograd's) or ``mean`` (each shared tensor gets its members' average gradient).
        groups: ``contiguous`` or ``random`` (row / column groups).
    """

    kind = "tying"

    def __init__(self, net: Net, seeds: list[int], ties: list[Tie], grad: str = "sum", groups: str = "contiguous",
                 device: torch.device | str = "cpu"):
        super().__init__(net, seeds)
        if grad not in ("sum", "mean"):
            raise ValueError(f"grad must be sum or mean, got {grad!r}")
        if groups not in ("contiguous", "random"):
            raise ValueError(f"groups must be contiguous or random, got {groups!r}")
        self.ties, self.grad, self.groups = list(ties), grad, groups
        members = [m for t in self.ties for m in t.members]
        if len(set(members)) != len(members):
            raise ValueError(f"a tensor is in two ties: {members}")
        init = net.init(generators(seeds, "init"), device)
        self.direct = nn.ParameterDict({_key(n): nn.Parameter(init[n]) for n in net.spec if n not in members})
        self.shared = nn.ParameterDict()
        gens = generators(seeds, "tying")
        assign: dict[str, Tensor] = {}  # grouping tensor -> (S, n): a bias uses its weight's groups
        S = len(seeds)
        for t in self.ties:
            first = init[t.members[0]]
            if t.axis is not None:
                if t.grouping not in assign:
                    n = net.spec[t.grouping].shape[t.axis]
                    a = torch.stack([group_assignment(n, t.g, groups == "random", gen) for gen in gens]).to(device)
                    # each group's lowest row (column), its first member: (S, n/g)
                    lowest = torch.full((S, n // t.g), n, dtype=torch.long, device=device).scatter_reduce(
                        1, a, torch.arange(n, device=device).expand(S, n), "amin")
                    assign[t.grouping] = a
                    self.register_buffer(f"assign_{_key(t.grouping)}", a, persistent=False)
                    self.register_buffer(f"lowest_{_key(t.grouping)}", lowest, persistent=False)
                rep = getattr(self, f"lowest_{_key(t.grouping)}")  # a group starts from its first member's init
                if len(t.shape) == 1:  # a bias
                    p0 = first.gather(1, rep)
                elif t.axis == 0:
                    p0 = first.gather(1, rep.unsqueeze(-1).expand(S, *t.shape))
                else:
                    p0 = first.gather(2, rep.unsqueeze(1).expand(S, *t.shape))
            else:
                p0 = first  # tensors: the first tensor's init; transpose: the source's (members[0])
            self.shared[t.key] = nn.Parameter(p0.clone())

    def _assign(self, t: Tie) -> Tensor:
        return getattr(self, f"assign_{_key(t.grouping)}")

    def assignments(self) -> dict[str, Tensor]:
        """Per grouped tensor, the (S, n) group index of each row (column)."""
        return {t.grouping: self._assign(t) for t in self.ties if t.axis is not None}

    def forward(self) -> Weights:
        S = self.n_seeds
        out: Weights = {name: self.direct[_key(name)] for name in self.net.spec if _key(name) in self.direct}
        for t in self.ties:
            p = self.shared[t.key]
            if self.grad == "mean" and t.m > 1:
                p = ScaleGrad.apply(p, 1.0 / t.m)
            if t.axis is not None:
                a = self._assign(t)  # (S, n)
                name = t.members[0]
                shape = self.net.spec[name].shape
                if len(shape) == 1:
                    out[name] = p.gather(1, a)
                elif t.axis == 0:
                    out[name] = p.gather(1, a.unsqueeze(-1).expand(S, *shape))
                else:
                    out[name] = p.gather(2, a.unsqueeze(1).expand(S, *shape))
            elif t.kind == "tensors":
                for name in t.members:
                    out[name] = p
            else:  # transpose: (source, transposed)
                out[t.members[0]] = p
                out[t.members[1]] = p.transpose(1, 2)
        return {name: out[name] for name in self.net.spec}

    @torch.no_grad()
    def max_member_deviation(self) -> Tensor:
        """Per seed, the largest |difference| between members of one tie in the computed weights (0: identical).

        Each row (column) is compared with its group's first member, each tied tensor with the first, each
        transposed tensor with its source's transpose.
        """
        w = self.forward()
        S = self.n_seeds
        dev = torch.zeros(S, device=next(iter(w.values())).device)
        for t in self.ties:
            if t.axis is not None:
                a, lowest = self._assign(t), getattr(self, f"lowest_{_key(t.grouping)}")
                first = lowest.gather(1, a)  # (S, n): the first member of each row's (column's) group
                x = w[t.members[0]]
                if x.dim() == 2:
                    ref = x.gather(1, first)
                elif t.axis == 0:
                    ref = x.gather(1, first.unsqueeze(-1).expand_as(x))
                else:
                    ref = x.gather(2, first.unsqueeze(1).expand_as(x))
                d = (x - ref).abs().reshape(S, -1)
            elif t.kind == "tensors":
                d = torch.cat([(w[n] - w[t.members[0]]).abs().reshape(S, -1) for n in t.members[1:]], 1)
            else:
                d = (w[t.members[1]] - w[t.members[0]].transpose(1, 2)).abs().reshape(S, -1)
            dev = torch.maximum(dev, d.amax(1))
        return dev


class Narrow(Reparam):
    """The narrower untied fc net (hidden widths ``widths``), embedded in the full net's shapes with zeros.

    Args:
        net: the full fc net (the tied net's).
        widths: the narrower net's hidden widths, each at most the full net's.
    """

    kind = "narrow"

    def __init__(self, net: Net, seeds: list[int], widths: list[int], device: torch.device | str = "cpu"):
        super().__init__(net, seeds)
        self.small = build_net("fc", net.input_shape, net.n_outputs, list(widths), init=net.init_scheme)
        for name, w in self.small.spec.items():
            full = net.spec[name].shape
            if any(a > b for a, b in zip(w.shape, full)):
                raise ValueError(f"the narrower net's {name} {tuple(w.shape)} exceeds the full net's {tuple(full)}")
        self.widths = list(widths)
        self.theta = nn.Parameter(self.small.flatten(self.small.init(generators(seeds, "init"), device)))  # (S, T)

    def forward(self) -> Weights:
        small = self.small.unflatten(self.theta)
        out = {}
        for name, w in self.net.spec.items():
            x = small[name]
            if len(w.shape) == 2:
                out[name] = F.pad(x, (0, w.shape[1] - x.shape[2], 0, w.shape[0] - x.shape[1]))
            else:
                out[name] = F.pad(x, (0, w.shape[0] - x.shape[1]))
        return out


# ----------------------------------------------------------------------------------------------
# the registry's builders (weightspace.registry.REPARAMS)


def build_tying(variant: dict, net: Net, seeds: list[int], device, context: dict) -> Tying:
    return Tying(net, seeds, tie_map(variant, net), grad=variant.get("grad", "sum"),
                 groups=variant.get("groups", "contiguous"), device=device)


def build_narrow(variant: dict, net: Net, seeds: list[int], device, context: dict) -> Narrow:
    widths, _ = narrow_widths(variant, net)
    return Narrow(net, seeds, widths, device)
