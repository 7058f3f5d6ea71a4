"""Fixed random projections P: R^d -> R^D, batched over seeds.

Each projection is an ``nn.Module`` whose ``forward(omega)`` maps ``(S, d)`` to
``(S, D)``, computing ``P_s omega_s`` for every seed ``s``. P is a buffer that
is *not* saved with the model (``persistent=False``): it is regenerated from
the seed.

dense
    Gaussian entries, every column scaled to unit norm. Memory S*D*d floats.
sparse
    Li, Hastie & Church (2006) very sparse random projection: each entry is
    non-zero with probability ``density`` (default 1/sqrt(D)), with a random
    sign; every column is scaled to unit norm (so a column with m non-zeros has
    entries +-1/sqrt(m)). Memory O(S * sqrt(D) * d).
fastfood
    Le, Sarlos & Smola (2013), as used by Li et al. (2018):
    ``P omega = c * (H G Pi H B omega~)[:D]`` with H the L x L Walsh-Hadamard
    matrix (L the next power of two >= D, entries +-1), B a random +-1
    diagonal, Pi a random permutation, G a Gaussian diagonal, omega~ omega
    zero-padded to L, and ``c = 1 / (||G|| sqrt(D))`` so that columns have unit
    norm in expectation (exactly unit norm when D = L). O(L log L) time, O(L)
    memory per seed, whatever d is.
qr (span)
    Greydanus (2017): the orthonormal basis from the QR decomposition of
    ``[theta_init | Gaussian D x (d-1)]``, so theta_init lies in P's span; used
    as theta = P omega (no offset) with omega initialized to P^T theta_init.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor, nn

from weightspace.families.subspace.memory import PROJECTIONS, next_pow2, projection_bytes  # noqa: F401 (re-exported)
from weightspace.seeding import generator

__all__ = [
    "PROJECTIONS",
    "DenseProjection",
    "SparseProjection",
    "FastfoodProjection",
    "dense_gaussian",
    "qr_span",
    "fwht",
    "padded_fwht",
    "projection_bytes",
    "next_pow2",
]


# ----------------------------------------------------------------------------------------------
# dense (Gaussian, and the QR span basis)


class DenseProjection(nn.Module):
    """theta = P omega with an explicit matrix, stored transposed as ``PT`` (S, d, D).

    The transposed layout makes both directions row-vector x matrix products,
    which CPU BLAS runs ~5x faster than matrix x column-vector (bmm of
    (S, D, d) by (S, d, 1)); see docs/performance.md.
    """

    def __init__(self, PT: Tensor):
        super().__init__()
        self.register_buffer("PT", PT.contiguous(), persistent=False)
        self.d, self.D = PT.shape[1], PT.shape[2]

    @property
    def P(self) -> Tensor:
        """(S, D, d) view of the matrix."""
        return self.PT.transpose(1, 2)

    def forward(self, omega: Tensor) -> Tensor:  # (S, d) -> (S, D)
        return torch.bmm(omega.unsqueeze(1), self.PT).squeeze(1)

    def transpose(self, theta: Tensor) -> Tensor:  # (S, D) -> (S, d)
        return torch.bmm(theta.unsqueeze(1), self.P).squeeze(1)


def dense_gaussian(D: int, d: int, seeds: list[int], device: torch.device | str = "cpu") -> DenseProjection:
    """Gaussian P with unit-norm columns, one per seed, drawn on ``device``."""
    PT = torch.empty(len(seeds), d, D, device=device)  # filled in place: no second copy
    for i, s in enumerate(seeds):
        PT[i].normal_(generator=generator(s, "projection", device))
        PT[i] /= PT[i].norm(dim=1, keepdim=True)
    return DenseProjection(PT)


def qr_span(theta_init: Tensor, d: int, seeds: list[int]) -> DenseProjection:
    """Orthonormal P (S, D, d) whose first column is theta_init / ||theta_init|| (up to sign)."""
    S, D = theta_init.shape
    device = theta_init.device
    PT = torch.empty(S, d, D, device=device)
    for i, s in enumerate(seeds):
        A = torch.empty(D, d, device=device)
        A[:, 0] = theta_init[i]
        if d > 1:
            A[:, 1:] = torch.randn(D, d - 1, generator=generator(s, "projection", device), device=device)
        Q, _ = torch.linalg.qr(A)  # reduced: (D, d), orthonormal columns
        del A
        PT[i] = Q.T
        del Q
    return DenseProjection(PT)


# ----------------------------------------------------------------------------------------------
# sparse


class _CsrMatmul(torch.autograd.Function):
    """y = P x for a fixed CSR matrix P; the backward uses a stored CSR of P^T."""

    @staticmethod
    def forward(ctx, x: Tensor, P: Tensor, PT: Tensor) -> Tensor:
        ctx.PT = PT
        return P @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        return ctx.PT @ grad, None, None


class SparseProjection(nn.Module):
    """Very sparse random projection, block-diagonal over seeds, as CSR matrices."""

    def __init__(self, D: int, d: int, seeds: list[int], device: torch.device | str = "cpu", density: float | None = None):
        super().__init__()
        self.D, self.d, self.S = D, d, len(seeds)
        self.density = density if density is not None else 1.0 / math.sqrt(D)
        rows, cols, vals = [], [], []
        for i, s in enumerate(seeds):
            r, c, v = _sparse_entries(D, d, self.density, generator(s, "projection"))
            rows.append(r + i * D)
            cols.append(c + i * d)
            vals.append(v)
        rows, cols, vals = torch.cat(rows), torch.cat(cols), torch.cat(vals)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
            P = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (self.S * D, self.S * d))
            PT = torch.sparse_coo_tensor(torch.stack([cols, rows]), vals, (self.S * d, self.S * D))
            P = P.coalesce().to_sparse_csr().to(device)
            PT = PT.coalesce().to_sparse_csr().to(device)
        self.register_buffer("P", P, persistent=False)
        self.register_buffer("PT", PT, persistent=False)
        self.nnz = int(vals.numel())

    def forward(self, omega: Tensor) -> Tensor:  # (S, d) -> (S, D)
        y = _CsrMatmul.apply(omega.reshape(-1, 1), self.P, self.PT)
        return y.view(self.S, self.D)

    def dense(self) -> Tensor:
        """The explicit (S, D, d) matrices (for tests and small D only)."""
        full = self.P.to_dense()
        return torch.stack([full[i * self.D : (i + 1) * self.D, i * self.d : (i + 1) * self.d] for i in range(self.S)])


def _sparse_entries(D: int, d: int, density: float, g: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """Positions of a Bernoulli(density) pattern on a D x d grid, signs, unit-norm columns.

    Gaps between successive non-zeros of a Bernoulli process are geometric, so
    the pattern is drawn in O(nnz) rather than O(D d). A column left empty (a
    rare event, probability (1-density)^D) receives one entry at a random row.
    """
    total = D * d
    positions = []
    last = -1
    expected = total * density
    while last < total - 1:
        n = int(expected + 6 * math.sqrt(expected) + 16)
        gaps = torch.empty(n, dtype=torch.float64).geometric_(density, generator=g).to(torch.int64)
        pos = last + torch.cumsum(gaps, 0)
        positions.append(pos[pos < total])
        last = int(pos[-1])
        expected = max(1.0, (total - 1 - last) * density)
    pos = torch.cat(positions)
    col, row = pos // D, pos % D  # column-major grid
    counts = torch.bincount(col, minlength=d)
    empty = torch.nonzero(counts == 0).flatten()
    if empty.numel():
        extra_rows = torch.randint(0, D, (empty.numel(),), generator=g)
        col = torch.cat([col, empty])
        row = torch.cat([row, extra_rows])
        counts[empty] = 1
    signs = torch.randint(0, 2, (col.numel(),), generator=g).to(torch.float32) * 2 - 1
    vals = signs / counts[col].to(torch.float32).sqrt()
    return row, col, vals


# ----------------------------------------------------------------------------------------------
# Fastfood

_HADAMARD_CACHE: dict[tuple[int, torch.dtype, torch.device], Tensor] = {}
_MAX_BLOCK_BITS = 6  # dense Hadamard blocks of at most 64 x 64 (docs/performance.md)


def _hadamard(k: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    key = (k, dtype, device)
    H = _HADAMARD_CACHE.get(key)
    if H is None:
        H = torch.ones(1, 1, dtype=dtype, device=device)
        while H.shape[0] < k:
            H = torch.cat([torch.cat([H, H], 1), torch.cat([H, -H], 1)], 0)
        _HADAMARD_CACHE[key] = H
    return H


def _factors(L: int) -> list[int]:
    """Block sizes k_1..k_m (most significant first) with prod = L, each at most 2^_MAX_BLOCK_BITS."""
    n = L.bit_length() - 1
    if L < 1 or 1 << n != L:
        raise ValueError(f"fwht needs a power-of-two length, got {L}")
    # balanced factors (13 bits -> 5+4+4, not 6+6+1: a tiny last factor is slow)
    m = max(1, -(-n // _MAX_BLOCK_BITS))
    return [1 << (n // m + (1 if i < n % m else 0)) for i in range(m)] if n else []


def _apply(H: Tensor, x: Tensor, rows: int, k: int, Q: int) -> Tensor:
    """H (k x k) along the middle axis of x viewed as (rows, k, Q)."""
    if Q == 1:
        return x.reshape(rows, k) @ H  # H is symmetric
    return torch.matmul(H, x.reshape(rows, k, Q))


def _fwht_raw(x: Tensor) -> Tensor:
    """Unnormalized Walsh-Hadamard transform along the last dimension (a power of two).

    Uses H_L = H_{k1} (x) H_{k2} (x) ... with blocks of at most 64: one small
    dense matrix product per factor, O(L * 64) work in a handful of kernels
    (O(L log L) in the number of butterflies that a kernel per stage would need).
    """
    L = x.shape[-1]
    y = x.reshape(-1, L)
    M = y.shape[0]
    left = 1
    for k in _factors(L):
        right = L // (left * k)
        y = _apply(_hadamard(k, x.dtype, x.device), y, M * left, k, right).reshape(M, L)
        left *= k
    return y.reshape(x.shape)


def _fwht_sparse_input(x: Tensor, L: int) -> Tensor:
    """H x~ where x~ is x (M, n) zero-padded to length L: (M, L).

    Factors are applied from the least significant up; before each, only the
    blocks that can hold non-zeros are transformed, so a short x costs a
    fraction of a full transform.
    """
    M = x.shape[0]
    cur = x
    Q = 1
    for k in reversed(_factors(L)):
        block = k * Q
        rows = -(-cur.shape[1] // block)
        cur = nn.functional.pad(cur, (0, rows * block - cur.shape[1]))
        cur = _apply(_hadamard(k, x.dtype, x.device), cur, M * rows, k, Q).reshape(M, rows * block)
        Q = block
    return nn.functional.pad(cur, (0, L - cur.shape[1]))


def _fwht_prefix_output(y: Tensor, n: int) -> Tensor:
    """(H y)[:, :n] for y (M, L), computing only the blocks that reach the first n outputs."""
    M, L = y.shape
    ks = _factors(L)
    cur = y
    rows = 1  # rows kept over the factors done so far
    Q = L
    for k in ks:
        Q //= k
        need = -(-n // Q)  # rows over the factors done after this one
        H = _hadamard(k, y.dtype, y.device)
        if rows == 1:
            cur = (H[:need] @ cur.reshape(M, k, Q)) if Q > 1 else cur.reshape(M, k) @ H[:, :need]
        else:
            cur = _apply(H, cur, M * rows, k, Q).reshape(M, rows * k, Q)[:, :need]
        rows = need
        cur = cur.reshape(M, rows * Q)
    return cur[:, :n]


class _FWHT(torch.autograd.Function):
    """H x with H symmetric: the backward is H applied to the gradient; nothing is saved."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        return _fwht_raw(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return _fwht_raw(grad)


def fwht(x: Tensor) -> Tensor:
    """Unnormalized fast Walsh-Hadamard transform of the last dimension, differentiable."""
    return _FWHT.apply(x)


class _PaddedFWHT(torch.autograd.Function):
    """H x~ for x (M, n) zero-padded to L; the backward is (H g)[:, :n]. Nothing is saved."""

    @staticmethod
    def forward(ctx, x: Tensor, L: int) -> Tensor:
        ctx.n = x.shape[1]
        return _fwht_sparse_input(x, L)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return _fwht_prefix_output(grad.contiguous(), ctx.n), None


def padded_fwht(x: Tensor, L: int) -> Tensor:
    """fwht of x zero-padded to length L, at a cost that shrinks with x's length (differentiable)."""
    return _PaddedFWHT.apply(x, L)


class FastfoodProjection(nn.Module):
    """P omega = c (H G Pi H B omega~)[:D], one independent (B, Pi, G) per seed."""

    def __init__(self, D: int, d: int, seeds: list[int], device: torch.device | str = "cpu"):
        super().__init__()
        if d > D:
            raise ValueError(f"fastfood projection needs d <= D, got d={d}, D={D}")
        self.D, self.d, self.S = D, d, len(seeds)
        self.L = L = next_pow2(D)
        B, Pi, G = [], [], []
        for s in seeds:
            g = generator(s, "projection")
            B.append(torch.randint(0, 2, (L,), generator=g).to(torch.float32) * 2 - 1)
            Pi.append(torch.randperm(L, generator=g))
            G.append(torch.randn(L, generator=g))
        G = torch.stack(G)
        self.register_buffer("B", torch.stack(B).to(device), persistent=False)  # (S, L) +-1
        self.register_buffer("Pi", torch.stack(Pi).to(device), persistent=False)  # (S, L) permutation
        self.register_buffer("G", G.to(device), persistent=False)  # (S, L) Gaussian
        scale = 1.0 / (G.norm(dim=1, keepdim=True) * math.sqrt(D))  # (S, 1)
        self.register_buffer("scale", scale.to(device), persistent=False)

    def forward(self, omega: Tensor) -> Tensor:  # (S, d) -> (S, D)
        x = padded_fwht(omega * self.B[:, : self.d], self.L)  # H B omega~, exploiting the zero padding
        x = torch.gather(x, 1, self.Pi) * self.G
        x = fwht(x)
        return x[:, : self.D] * self.scale
