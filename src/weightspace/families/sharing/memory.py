"""Which tensors the sharing forms share, and their memory: torch-free, for config checks."""

from __future__ import annotations

__all__ = ["shared_names", "sharing_bytes", "hashed_bytes", "kmeans_bytes", "known_bytes",
           "soft_sharing_bytes"]


def shared_names(net, share_biases: bool = False) -> list[str]:
    return [name for name, w in net.spec.items() if len(w.shape) >= 2 or share_biases]


def sharing_bytes(net, k: int, n_seeds: int, share_biases: bool = False) -> int:
    """Memory of soft sharing during training: A, its Adam moments and gradient, softmax and log-softmax."""
    n = sum(net.spec[name].numel for name in shared_names(net, share_biases))
    return 4 * n_seeds * (6 * n * k + 4 * k) + 4 * n_seeds * (net.n_params - n) * 3


def hashed_bytes(variant: dict, net, n_seeds: int) -> int:
    D = net.n_params
    return 4 * D * n_seeds * 3 + 12 * D * n_seeds  # values, Adam; bucket (int64) and sign per weight


def kmeans_bytes(variant: dict, net, n_seeds: int) -> int:
    D = net.n_params
    return 4 * D * n_seeds * 3 + 8 * D * n_seeds  # theta, Adam; the assignment (int64)


def known_bytes(variant: dict, net, n_seeds: int) -> int:
    return 4 * net.n_params * n_seeds * 3


def soft_sharing_bytes(variant: dict, net, n_seeds: int) -> int:
    return sharing_bytes(net, int(variant["k"]), n_seeds, variant.get("share_biases", False))
