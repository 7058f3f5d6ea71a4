"""Reparameterizations: modules that compute a net's weights from trainable tensors.

``build_reparam(variant, net, seeds, device)`` turns a variant's config into a
module; every module follows :class:`~weightspace.reparam.base.Reparam`.

=========  =====================================================================
reparam    the weights are
=========  =====================================================================
direct     the trained tensors themselves
subspace   theta_0 + P omega (dense, sparse, fastfood P) or P omega (qr span basis)
sharing    softmax(A / tau) v per shared tensor: each weight a soft choice of k values
hashed     xi * v[h]: a random bucket h and sign xi per weight (HashedNets)
kmeans     direct training, then v[k-means assignment] with v fine-tuned (Deep Compression)
known      the true sharing of a teacher task (a convolution), values trained
=========  =====================================================================
"""

from __future__ import annotations

import torch

from weightspace.nets import Net
from weightspace.reparam.base import Reparam
from weightspace.reparam.direct import Direct
from weightspace.reparam.projections import PROJECTIONS, projection_bytes
from weightspace.reparam.sharing import HardSharing, Hashed, KMeansSharing, KnownSharing, SoftSharing, sharing_bytes
from weightspace.reparam.subspace import Subspace

__all__ = [
    "Reparam",
    "Direct",
    "Subspace",
    "SoftSharing",
    "HardSharing",
    "Hashed",
    "KMeansSharing",
    "KnownSharing",
    "REPARAMS",
    "build_reparam",
    "estimate_bytes",
    "PROJECTIONS",
]

REPARAMS = ("direct", "subspace", "sharing", "hashed", "kmeans", "known")


def build_reparam(
    variant: dict,
    net: Net,
    seeds: list[int],
    device: torch.device | str = "cpu",
    structure: dict | None = None,
    epochs: int | None = None,
) -> Reparam:
    """The module for a variant config (``{"reparam": ..., **options}``).

    Args:
        structure: the dataset's true structure (``known`` needs it).
        epochs: training epochs (``kmeans`` switches after ``pretrain_epochs`` of them).
    """
    kind = variant["reparam"]
    if kind == "direct":
        return Direct(net, seeds, device)
    if kind == "subspace":
        return Subspace(net, seeds, int(variant["d"]), variant["projection"], device)
    if kind == "sharing":
        return SoftSharing(
            net,
            seeds,
            int(variant["k"]),
            tau=variant.get("tau", 1.0),
            tau_final=variant.get("tau_final"),
            lambda_entropy=variant.get("lambda_entropy", 0.0),
            lambda_prior=variant.get("lambda_prior", 0.0),
            straight_through=variant.get("straight_through", False),
            share_biases=variant.get("share_biases", False),
            init_logit_std=variant.get("init_logit_std", 0.1),
            device=device,
        )
    if kind == "hashed":
        return Hashed(net, seeds, int(variant["k"]), share_biases=variant.get("share_biases", False), device=device)
    if kind == "kmeans":
        if not epochs:
            raise ValueError("kmeans needs the number of training epochs")
        return KMeansSharing(net, seeds, int(variant["k"]), variant["pretrain_epochs"] / epochs,
                             share_biases=variant.get("share_biases", False), device=device)
    if kind == "known":
        if not structure:
            raise ValueError("reparam 'known' needs a dataset with a known structure (a teacher task)")
        return KnownSharing(net, seeds, structure["layer"], structure["groups"], device=device)
    raise ValueError(f"unknown reparam {kind!r}; choose one of: {', '.join(REPARAMS)}")


def estimate_bytes(variant: dict, net: Net, n_seeds: int) -> int:
    """Memory (bytes) of a variant's fixed and trained tensors, with Adam's two moments.

    For soft sharing also the (n, k) softmax activations and gradients of a step.
    """
    D = net.n_params
    kind = variant["reparam"]
    if kind in ("direct", "known"):
        return 4 * D * n_seeds * 3
    if kind == "subspace":
        d = int(variant["d"])
        return 4 * D * n_seeds + 4 * d * n_seeds * 3 + projection_bytes(variant["projection"], D, d, n_seeds)
    if kind == "sharing":
        return sharing_bytes(net, int(variant["k"]), n_seeds, variant.get("share_biases", False))
    if kind == "hashed":
        return 4 * D * n_seeds * 3 + 12 * D * n_seeds  # values, Adam; bucket (int64) and sign per weight
    if kind == "kmeans":
        return 4 * D * n_seeds * 3 + 8 * D * n_seeds  # theta, Adam; the assignment (int64)
    raise ValueError(f"unknown reparam {kind!r}")
