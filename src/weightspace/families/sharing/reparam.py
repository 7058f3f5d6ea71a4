"""Weight sharing: each weight takes one of k values.

Learned (soft) sharing, per shared weight tensor with n entries::

    w = softmax(A / tau) v          A: (n, k) logits, v: (k,) the unique values

with a row-entropy penalty (push each row to one value) and a *low-index
prior* (the expected slot index, E_p[j] / (k - 1), push rows to the first
slots, so that few values are used). Hardening: the hard net uses
``w = v[argmax A]``; the trainer evaluates it beside the soft one
(``hard_weights``), and ``harden()`` returns it as a :class:`HardSharing`
module whose values can be fine-tuned.

Fixed sharing, ``w = xi * v[h]`` with a fixed assignment ``h``:

* :class:`Hashed`: HashedNets (Chen et al. 2015) - a random bucket and sign per weight.
* :class:`KMeansSharing`: Deep Compression (Han et al. 2016) - train directly, then
  cluster each tensor's weights into k values (1-D k-means, linear init) and
  fine-tune the values.
* :class:`KnownSharing`: the true structure of a teacher task (a convolution),
  as an upper reference.

Which tensors are shared: the weight matrices and kernels (two or more
dimensions), and the biases too when ``share_biases`` is set; the others are
trained directly.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from weightspace.families.sharing.memory import needs_softmax
from weightspace.families.sharing.memory import shared_names, sharing_bytes, tensor_ks  # noqa: F401 (re-exported)
from weightspace.nets import Net, Weights
from weightspace.reparam.base import Reparam
from weightspace.seeding import generators

__all__ = ["SharingForm", "SoftSharing", "HardSharing", "Hashed", "KMeansSharing", "KnownSharing", "sharing_bytes",
           "shared_names"]




def _key(name: str) -> str:
    return name.replace(".", "__")


def _per_tensor(k: int | dict[str, int], shared: list[str]) -> dict[str, int]:
    """Unique values per shared tensor: one ``k`` for all, or a dict (a budget's k per tensor)."""
    ks = dict(k) if isinstance(k, dict) else {name: int(k) for name in shared}
    bad = {n: v for n, v in ks.items() if v < 1}
    if bad:
        raise ValueError(f"k must be >= 1, got {bad}")
    return ks




class SharingForm(Reparam):
    """A reparameterization in which weights take shared values: it has an assignment and a hard net."""

    def assignments(self) -> dict[str, Tensor]:
        """Per shared weight tensor, the (S, n) index of the value each entry uses ({} before there is one)."""
        raise NotImplementedError

    def hard_weights(self) -> Weights | None:
        """The hardened weights (one shared value per weight), or None while there are none."""
        raise NotImplementedError

    def extra_weights(self) -> dict[str, Weights]:
        """The hard net, evaluated beside the trained one (``hard_test_*`` columns)."""
        hard = self.hard_weights()
        return {} if hard is None else {"hard": hard}


class _Mixed(SharingForm):
    """Shared tensors computed by subclasses; all other tensors trained directly."""

    def __init__(self, net: Net, seeds: list[int], share_biases: bool, device):
        super().__init__(net, seeds)
        self.shared = shared_names(net, share_biases)
        init = net.init(generators(seeds, "init"), device)
        self.direct = nn.ParameterDict({_key(n): nn.Parameter(init[n]) for n in net.spec if n not in self.shared})
        self._init = {n: init[n] for n in self.shared}  # used by subclasses' constructors, then dropped

    def _shared_weight(self, name: str) -> Tensor:  # (S, n)
        raise NotImplementedError

    def _assemble(self, shared_weight: Callable[[str], Tensor]) -> Weights:
        """The net's weights: ``shared_weight(name)`` (S, n) for shared tensors, the direct ones otherwise."""
        S = self.n_seeds
        out = {}
        for name, spec in self.net.spec.items():
            if name in self.shared:
                out[name] = shared_weight(name).view(S, *spec.shape)
            else:
                out[name] = self.direct[_key(name)]
        return out

    def forward(self) -> Weights:
        return self._assemble(self._shared_weight)

    @torch.no_grad()
    def hard_weights(self) -> Weights:
        """Forms with a fixed assignment are hard already; soft sharing overrides this."""
        return self.forward()


class SoftSharing(_Mixed):
    """w = softmax(A / tau) v per shared tensor, with entropy and low-index penalties.

    Args:
        k: values per shared tensor.
        tau, tau_final: softmax temperature, annealed geometrically from ``tau``
            to ``tau_final`` over training (constant if ``tau_final`` is None).
        lambda_entropy: weight of the mean row entropy (nats) in the loss.
        lambda_prior: weight of the mean expected slot index / (k - 1) in the loss.
        straight_through: the forward pass uses the hard choice one_hot(argmax A);
            gradients flow through the softmax.
        share_biases: share the biases too.
        init_logit_std: A starts N(0, init_logit_std^2): larger is closer to a hard choice.
        softmax: False: w = A v, the rows of A a free linear mix of the values (the sharing note's SharedNet);
            the row statistics (entropy, expected slot) and the hard net still read the rows as softmax(A / tau).
    """

    kind = "sharing"

    def __init__(
        self,
        net: Net,
        seeds: list[int],
        k: int,
        tau: float = 1.0,
        tau_final: float | None = None,
        lambda_entropy: float = 0.0,
        lambda_prior: float = 0.0,
        straight_through: bool = False,
        share_biases: bool = False,
        init_logit_std: float = 0.1,
        softmax: bool = True,
        device: torch.device | str = "cpu",
    ):
        super().__init__(net, seeds, share_biases, device)
        wrong = [] if softmax else needs_softmax({"tau": tau, "tau_final": tau_final, "lambda_entropy": lambda_entropy,
                                                  "lambda_prior": lambda_prior, "straight_through": straight_through})
        if wrong:
            raise ValueError(f"without the softmax (softmax: false) there is no temperature, straight-through, "
                             f"entropy or prior term: {', '.join(wrong)} given")
        self.softmax = softmax
        self.ks = _per_tensor(k, self.shared)
        self.k = max(self.ks.values(), default=1)
        self.tau0, self.tau_final = float(tau), float(tau_final if tau_final is not None else tau)
        self.tau = self.tau0
        self.lambda_entropy, self.lambda_prior = float(lambda_entropy), float(lambda_prior)
        self.straight_through = straight_through
        gens = generators(seeds, "sharing")
        self.A = nn.ParameterDict()
        self.v = nn.ParameterDict()
        for name in self.shared:
            spec = net.spec[name]
            k = self.ks[name]
            bound = 1.0 / math.sqrt(spec.fan_in)
            A = torch.stack([torch.randn(spec.numel, k, generator=g) * init_logit_std for g in gens])
            v = torch.stack([torch.empty(k).uniform_(-bound, bound, generator=g) for g in gens])
            self.A[_key(name)] = nn.Parameter(A.to(device))  # (S, n, k)
            self.v[_key(name)] = nn.Parameter(v.to(device))  # (S, k)
        del self._init
        self._probs: dict[str, tuple[Tensor, Tensor]] = {}

    def on_step(self, step: int, total: int) -> None:
        frac = step / max(1, total)
        self.tau = self.tau0 * (self.tau_final / self.tau0) ** frac

    def _shared_weight(self, name: str) -> Tensor:
        key = _key(name)
        logits = self.A[key] / self.tau  # (S, n, k)
        logp = F.log_softmax(logits, dim=-1)
        p = logp.exp()
        self._probs[name] = (p, logp)
        if not self.softmax:
            p = self.A[key]  # w = A v: the note's linear mix
        elif self.straight_through:
            hard = F.one_hot(logits.argmax(-1), logits.shape[-1]).to(p.dtype)
            p = hard + p - p.detach()
        return torch.bmm(p, self.v[key].unsqueeze(-1)).squeeze(-1)

    def _row_stats(self) -> tuple[Tensor, Tensor]:
        """(mean row entropy, mean normalized expected slot) per seed, over all shared entries."""
        ent, prior, n_total = 0.0, 0.0, 0
        for name in self.shared:
            p, logp = self._probs[name]
            n, k = p.shape[1], p.shape[-1]
            slot_index = torch.arange(k, dtype=p.dtype, device=p.device) / max(1, k - 1)
            ent = ent + (-(p * logp).sum(-1)).sum(-1)  # (S,)
            prior = prior + (p * slot_index).sum(-1).sum(-1)
            n_total += n
        return ent / n_total, prior / n_total

    def penalty(self) -> Tensor | None:
        if not (self.lambda_entropy or self.lambda_prior):
            return None
        ent, prior = self._row_stats()
        return self.lambda_entropy * ent + self.lambda_prior * prior

    @torch.no_grad()
    def metrics(self) -> dict[str, Tensor]:
        if not self._probs:
            self.forward()
        ent, prior = self._row_stats()
        used = torch.zeros(self.n_seeds, device=ent.device)
        assign = self.assignments()
        for idx in assign.values():
            used += torch.tensor([float(torch.unique(row).numel()) for row in idx], device=ent.device)
        # distinct values in use per shared tensor (mean over tensors): comparable with k
        return {"row_entropy": ent, "expected_slot": prior, "values_used": used / len(assign),
                "tau_now": torch.full_like(ent, self.tau)}

    @torch.no_grad()
    def assignments(self) -> dict[str, Tensor]:
        return {name: self.A[_key(name)].argmax(-1) for name in self.shared}

    @torch.no_grad()
    def hard_weights(self) -> Weights:
        return self._assemble(lambda name: self.v[_key(name)].gather(1, self.A[_key(name)].argmax(-1)))

    @torch.no_grad()
    def harden(self) -> "HardSharing":
        """Hard sharing w = v[argmax A] as its own module: fixed assignments, trainable values (for fine-tuning)."""
        return HardSharing(self.net, self.seeds, self.assignments(),
                           {n: self.v[_key(n)].detach().clone() for n in self.shared},
                           {n: p.detach().clone() for n, p in self.direct.items()})


class HardSharing(_Mixed):
    """w = v[assign] per shared tensor with a fixed (S, n) assignment; what ``SoftSharing.harden()`` returns."""

    kind = "hard"

    def __init__(self, net: Net, seeds: list[int], assign: dict[str, Tensor], values: dict[str, Tensor],
                 direct: dict[str, Tensor]):
        Reparam.__init__(self, net, seeds)
        self.shared = list(assign)
        self.direct = nn.ParameterDict({k: nn.Parameter(v) for k, v in direct.items()})
        self.v = nn.ParameterDict({_key(n): nn.Parameter(values[n]) for n in self.shared})
        for n in self.shared:
            self.register_buffer(f"assign_{_key(n)}", assign[n].clone())

    def _shared_weight(self, name: str) -> Tensor:
        key = _key(name)
        return self.v[key].gather(1, getattr(self, f"assign_{key}"))

    @torch.no_grad()
    def assignments(self) -> dict[str, Tensor]:
        return {n: getattr(self, f"assign_{_key(n)}").clone() for n in self.shared}


class Hashed(_Mixed):
    """HashedNets: w_i = xi_i v[h(i)] with a random bucket h(i) in [0, k) and sign xi_i, fixed per seed."""

    kind = "hashed"

    def __init__(self, net: Net, seeds: list[int], k: int, share_biases: bool = False,
                 device: torch.device | str = "cpu"):
        super().__init__(net, seeds, share_biases, device)
        self.ks = _per_tensor(k, self.shared)
        self.k = max(self.ks.values(), default=1)
        gens = generators(seeds, "hash")
        self.v = nn.ParameterDict()
        for name in self.shared:
            spec = net.spec[name]
            k = self.ks[name]
            bound = 1.0 / math.sqrt(spec.fan_in)
            h = torch.stack([torch.randint(0, k, (spec.numel,), generator=g) for g in gens])
            xi = torch.stack([torch.randint(0, 2, (spec.numel,), generator=g) for g in gens]).float() * 2 - 1
            v = torch.stack([torch.empty(k).uniform_(-bound, bound, generator=g) for g in gens])
            self.register_buffer(f"h_{_key(name)}", h.to(device), persistent=False)
            self.register_buffer(f"xi_{_key(name)}", xi.to(device), persistent=False)
            self.v[_key(name)] = nn.Parameter(v.to(device))
        del self._init

    def _shared_weight(self, name: str) -> Tensor:
        key = _key(name)
        return getattr(self, f"xi_{key}") * self.v[key].gather(1, getattr(self, f"h_{key}"))

    @torch.no_grad()
    def assignments(self) -> dict[str, Tensor]:
        # entries share a value only with the same bucket and the same sign
        return {n: getattr(self, f"h_{_key(n)}") * 2 + (getattr(self, f"xi_{_key(n)}") > 0).long() for n in self.shared}


def kmeans_1d(x: Tensor, k: int, iters: int = 50) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means on the rows of ``x`` (S, n), each row on its own, linear initialization.

    Returns:
        (centroids (S, k) ascending, assignment (S, n) int64).
    """
    S, n = x.shape
    lo, hi = x.min(1, keepdim=True).values, x.max(1, keepdim=True).values
    c = lo + (hi - lo) * torch.linspace(0, 1, k, device=x.device, dtype=x.dtype)  # (S, k)
    assign = torch.zeros(S, n, dtype=torch.long, device=x.device)
    for _ in range(iters):
        bounds = (c[:, 1:] + c[:, :-1]) / 2  # (S, k-1), ascending
        new = torch.searchsorted(bounds.contiguous(), x.contiguous())
        sums = torch.zeros(S, k, device=x.device, dtype=x.dtype).scatter_add_(1, new, x)
        counts = torch.zeros(S, k, device=x.device, dtype=x.dtype).scatter_add_(1, new, torch.ones_like(x))
        c = torch.where(counts > 0, sums / counts.clamp_min(1), c)  # an empty cluster keeps its centroid
        if torch.equal(new, assign):
            break
        assign = new
    return c, assign


class KMeansSharing(SharingForm):
    """Deep Compression: train directly, then k-means each shared tensor and fine-tune its k values.

    Until ``switch_step`` the weights are the direct parameters theta; then each
    shared tensor becomes ``v[assign]`` with (v, assign) from 1-D k-means of its
    trained weights, and only v (and the unshared tensors) keep training.
    """

    kind = "kmeans"

    def __init__(self, net: Net, seeds: list[int], k: int, pretrain_fraction: float, share_biases: bool = False,
                 device: torch.device | str = "cpu"):
        super().__init__(net, seeds)
        if not 0 < pretrain_fraction < 1:
            raise ValueError(f"pretrain_fraction must be in (0, 1), got {pretrain_fraction}")
        self.pretrain_fraction = pretrain_fraction
        self.shared = shared_names(net, share_biases)
        self.ks = _per_tensor(k, self.shared)
        self.k = max(self.ks.values(), default=1)
        init = net.init(generators(seeds, "init"), device)
        self.theta = nn.Parameter(net.flatten(init))
        S = len(seeds)
        self.v = nn.ParameterDict({_key(n): nn.Parameter(torch.zeros(S, self.ks[n], device=device)) for n in self.shared})
        for n in self.shared:  # learned from training, so saved with checkpoints
            self.register_buffer(f"assign_{_key(n)}", torch.zeros(S, net.spec[n].numel, dtype=torch.long, device=device))
        self.register_buffer("phase", torch.zeros((), dtype=torch.long, device=device))

    def on_step(self, step: int, total: int) -> None:
        if int(self.phase) == 0 and step >= round(self.pretrain_fraction * total):
            self.cluster()

    @torch.no_grad()
    def cluster(self) -> None:
        weights = self.net.unflatten(self.theta)
        for n in self.shared:
            c, a = kmeans_1d(weights[n].reshape(self.n_seeds, -1), self.ks[n])
            self.v[_key(n)].copy_(c)
            getattr(self, f"assign_{_key(n)}").copy_(a)
        self.phase.fill_(1)

    def forward(self) -> Weights:
        weights = self.net.unflatten(self.theta)
        if int(self.phase) == 0:
            return weights
        S = self.n_seeds
        for n in self.shared:
            key = _key(n)
            weights[n] = self.v[key].gather(1, getattr(self, f"assign_{key}")).view(S, *self.net.spec[n].shape)
        return weights

    @torch.no_grad()
    def assignments(self) -> dict[str, Tensor]:
        return {n: getattr(self, f"assign_{_key(n)}").clone() for n in self.shared} if int(self.phase) else {}

    @torch.no_grad()
    def hard_weights(self) -> Weights | None:
        return self.forward() if int(self.phase) else None


class KnownSharing(_Mixed):
    """The true sharing of a teacher layer: w = v[group] on its support, 0 elsewhere; other tensors direct."""

    kind = "known"

    def __init__(self, net: Net, seeds: list[int], layer: str, groups: np.ndarray, device: torch.device | str = "cpu"):
        if layer not in net.spec or tuple(groups.shape) != net.spec[layer].shape:
            raise ValueError(f"the true structure is for {layer} of shape {groups.shape}, not in this net")
        super().__init__(net, seeds, share_biases=False, device=device)
        # only the teacher layer is shared: the other weight matrices go back to direct training
        for name in [n for n in self.shared if n != layer]:
            self.direct[_key(name)] = nn.Parameter(self._init[name])
        self.shared = [layer]
        del self._init
        g = torch.as_tensor(np.asarray(groups), dtype=torch.long, device=device).reshape(-1)
        self.n_groups = int(g.max()) + 1
        bound = 1.0 / math.sqrt(net.spec[layer].fan_in)
        v = torch.stack([torch.empty(self.n_groups).uniform_(-bound, bound, generator=gen)
                         for gen in generators(seeds, "sharing")])
        self.v = nn.Parameter(v.to(device))
        self.register_buffer("groups", g, persistent=False)

    def _shared_weight(self, name: str) -> Tensor:
        vals = self.v[:, self.groups.clamp_min(0)]  # (S, n)
        return torch.where(self.groups >= 0, vals, torch.zeros_like(vals))

    @torch.no_grad()
    def assignments(self) -> dict[str, Tensor]:
        return {self.shared[0]: self.groups.expand(self.n_seeds, -1).clone()}


# ----------------------------------------------------------------------------------------------
# the registry's builders (weightspace.registry.REPARAMS)


def _variant_k(variant: dict, net: Net) -> int | dict[str, int]:
    """``k``, or the k per shared tensor of a ``budget``."""
    return int(variant["k"]) if variant.get("budget") is None else tensor_ks(variant, net)


def build_soft(variant: dict, net: Net, seeds: list[int], device, context: dict) -> SoftSharing:
    return SoftSharing(
        net,
        seeds,
        _variant_k(variant, net),
        tau=variant.get("tau", 1.0),
        tau_final=variant.get("tau_final"),
        lambda_entropy=variant.get("lambda_entropy", 0.0),
        lambda_prior=variant.get("lambda_prior", 0.0),
        straight_through=variant.get("straight_through", False),
        share_biases=variant.get("share_biases", False),
        init_logit_std=variant.get("init_logit_std", 0.1),
        softmax=variant.get("softmax", True),
        device=device,
    )


def build_hashed(variant: dict, net: Net, seeds: list[int], device, context: dict) -> Hashed:
    return Hashed(net, seeds, _variant_k(variant, net), share_biases=variant.get("share_biases", False), device=device)


def build_kmeans(variant: dict, net: Net, seeds: list[int], device, context: dict) -> KMeansSharing:
    epochs = context.get("epochs")
    if not epochs:
        raise ValueError("kmeans needs the number of training epochs")
    return KMeansSharing(net, seeds, _variant_k(variant, net), variant["pretrain_epochs"] / epochs,
                         share_biases=variant.get("share_biases", False), device=device)


def build_known(variant: dict, net: Net, seeds: list[int], device, context: dict) -> KnownSharing:
    structure = context.get("structure")
    if not structure:
        raise ValueError("reparam 'known' needs a dataset with a known structure (a teacher task)")
    return KnownSharing(net, seeds, structure["layer"], structure["groups"], device=device)
