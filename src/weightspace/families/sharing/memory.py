"""Which tensors the sharing forms share, and their memory: torch-free, for config checks."""

from __future__ import annotations

import math

__all__ = ["shared_names", "budget_k", "tensor_ks", "stored_values", "sharing_bytes", "hashed_bytes", "kmeans_bytes", "known_bytes",
           "soft_sharing_bytes"]


def shared_names(net, share_biases: bool = False) -> list[str]:
    return [name for name, w in net.spec.items() if len(w.shape) >= 2 or share_biases]


def budget_k(numel: int, budget: float) -> int:
    """Unique values of a tensor of ``numel`` weights under a budget (a fraction of its weights): the nearest
    integer to budget x numel (halves up), at least 1 and at most numel."""
    return max(1, min(numel, int(math.floor(budget * numel + 0.5))))


def tensor_ks(variant: dict, net) -> dict[str, int]:
    """Unique values per shared tensor: ``k`` for every one, or derived from ``budget`` (a fraction of its size)."""
    names = shared_names(net, variant.get("share_biases", False))
    if variant.get("budget") is not None:
        return {n: budget_k(net.spec[n].numel, float(variant["budget"])) for n in names}
    return {n: int(variant["k"]) for n in names}


def stored_values(variant: dict, net) -> int:
    """Parameters stored by a sharing form: its unique values plus the unshared tensors (indices not counted)."""
    ks = tensor_ks(variant, net)
    return sum(ks.values()) + sum(w.numel for n, w in net.spec.items() if n not in ks)


def sharing_bytes(net, k, n_seeds: int, share_biases: bool = False) -> int:
    """Memory of soft sharing during training: A, its Adam moments and gradient, softmax and log-softmax
    (``k`` an int, or unique values per shared tensor)."""
    names = shared_names(net, share_biases)
    ks = k if isinstance(k, dict) else {name: int(k) for name in names}
    n = sum(net.spec[name].numel for name in names)
    nk = sum(net.spec[name].numel * ks[name] for name in names)
    return 4 * n_seeds * (6 * nk + 4 * sum(ks.values())) + 4 * n_seeds * (net.n_params - n) * 3


def hashed_bytes(variant: dict, net, n_seeds: int) -> int:
    D = net.n_params
    return 4 * D * n_seeds * 3 + 12 * D * n_seeds  # values, Adam; bucket (int64) and sign per weight


def kmeans_bytes(variant: dict, net, n_seeds: int) -> int:
    D = net.n_params
    return 4 * D * n_seeds * 3 + 8 * D * n_seeds  # theta, Adam; the assignment (int64)


def known_bytes(variant: dict, net, n_seeds: int) -> int:
    return 4 * net.n_params * n_seeds * 3


def soft_sharing_bytes(variant: dict, net, n_seeds: int) -> int:
    return sharing_bytes(net, tensor_ks(variant, net), n_seeds, variant.get("share_biases", False))
