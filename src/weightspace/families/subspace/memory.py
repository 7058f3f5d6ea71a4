"""What the config layer needs to know of the projections without torch: their names and memory."""

from __future__ import annotations

import math

__all__ = ["PROJECTIONS", "next_pow2", "projection_bytes", "subspace_bytes", "bootstrap_bytes"]


PROJECTIONS = ("dense", "sparse", "fastfood", "qr")


def next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def projection_bytes(kind: str, D: int, d: int, n_seeds: int, density: float | None = None) -> int:
    """Bytes held by a projection's buffers (float32), for memory checks before allocating."""
    if kind in ("dense", "qr"):
        extra = 2 if kind == "qr" else 1  # QR needs the input matrix and the factor at once
        return 4 * D * d * n_seeds * extra
    if kind == "sparse":
        nnz = D * d * (density or 1.0 / math.sqrt(D))
        return int(nnz * n_seeds * 2 * (4 + 8)) + 8 * (D + d) * n_seeds * 2  # P and P^T, CSR
    if kind == "fastfood":
        return 16 * next_pow2(D) * n_seeds  # B, G float32; Pi int64
    raise ValueError(f"unknown projection {kind!r}")


def subspace_bytes(variant: dict, net, n_seeds: int) -> int:
    """theta_0 (D), omega (d) with Adam's two moments, and the projection's buffers; bytes."""
    D, d = net.n_params, int(variant["d"])
    return 4 * D * n_seeds + 4 * d * n_seeds * 3 + projection_bytes(variant["projection"], D, d, n_seeds)


def bootstrap_bytes(n_boot: int, n_seeds: int, n_dims: int) -> int:
    """Peak memory of :func:`weightspace.families.subspace.dint.bootstrap_dint` (float64 / int64): the resampled seeds (indices and values) and the
    (n_boot, n_dims) means, with the thresholds and replicates."""
    return 8 * n_boot * (2 * n_seeds + n_dims + 4)
