"""Random projections: hand-checkable cases, explicit matrices, gradcheck, memory."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.linalg import hadamard

from weightspace.nets import build_net
from weightspace.families.subspace.reparam import Subspace
from weightspace.families.subspace.projections import (
    FastfoodProjection,
    SparseProjection,
    dense_gaussian,
    fwht,
    next_pow2,
    qr_span,
)


def explicit(proj, S: int, d: int) -> torch.Tensor:
    """(S, D, d): the matrix of a projection, column by column (P e_j)."""
    cols = [proj(torch.eye(d, dtype=proj_dtype(proj))[j].expand(S, d)) for j in range(d)]
    return torch.stack(cols, dim=-1)


def proj_dtype(proj) -> torch.dtype:
    for b in proj.buffers():
        if b.is_floating_point():
            return b.dtype
    return torch.float32


# ----------------------------------------------------------------------------------------------
# Walsh-Hadamard


@pytest.mark.parametrize("L", [1, 2, 4, 8, 64, 128, 512, 4096])
def test_fwht_equals_hadamard_matrix(L):
    x = torch.randn(3, L, dtype=torch.float64)
    H = torch.tensor(hadamard(L), dtype=torch.float64)
    torch.testing.assert_close(fwht(x), x @ H)


def test_fwht_hand_example():
    # H_4 = [[1,1,1,1],[1,-1,1,-1],[1,1,-1,-1],[1,-1,-1,1]]
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert fwht(x).tolist() == [[10.0, -2.0, -4.0, 0.0]]


def test_fwht_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="power-of-two"):
        fwht(torch.zeros(1, 6))


def test_fwht_gradcheck():
    x = torch.randn(2, 128, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fwht, (x,))


def test_next_pow2():
    assert [next_pow2(n) for n in (1, 2, 3, 4, 5, 199210)] == [1, 2, 4, 4, 8, 262144]


# ----------------------------------------------------------------------------------------------
# Fastfood


def test_fastfood_equals_its_explicit_matrix():
    D, d, seeds = 100, 30, [0, 5]
    ff = FastfoodProjection(D, d, seeds).double()
    L = ff.L
    H = torch.tensor(hadamard(L), dtype=torch.float64)
    for i in range(len(seeds)):
        B = torch.diag(ff.B[i])
        G = torch.diag(ff.G[i])
        Pi = torch.zeros(L, L, dtype=torch.float64)
        Pi[torch.arange(L), ff.Pi[i]] = 1.0  # (Pi x)_k = x[perm[k]]
        naive = (ff.scale[i] * (H @ G @ Pi @ H @ B))[:D, :d]
        torch.testing.assert_close(explicit(ff, len(seeds), d)[i], naive)
    omega = torch.randn(len(seeds), d, dtype=torch.float64)
    torch.testing.assert_close(ff(omega), torch.einsum("sDd,sd->sD", explicit(ff, len(seeds), d), omega))


def test_fastfood_columns_have_unit_norm_on_average():
    ff = FastfoodProjection(1000, 200, [0, 1, 2])
    norms = explicit(ff, 3, 200).norm(dim=1)  # (S, d)
    assert abs(norms.mean().item() - 1.0) < 0.02
    assert norms.min() > 0.8 and norms.max() < 1.2


def test_fastfood_columns_exactly_unit_norm_when_D_is_power_of_two():
    ff = FastfoodProjection(256, 64, [3]).double()
    torch.testing.assert_close(explicit(ff, 1, 64).norm(dim=1), torch.ones(1, 64, dtype=torch.float64))


def test_fastfood_gradcheck():
    ff = FastfoodProjection(50, 20, [0, 1]).double()
    omega = torch.randn(2, 20, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ff, (omega,))


def test_fastfood_memory_at_full_dimension_is_a_few_mb():
    """d = D = 199,210 (MNIST 784-200-200-10): buffers and saved activations stay O(L)."""
    D = 199210
    ff = FastfoodProjection(D, D, [0])
    buffer_bytes = sum(b.numel() * b.element_size() for b in ff.buffers())
    assert buffer_bytes <= 4.5 * 2**20  # B, G (float32) and Pi (int64) for L = 2^18
    omega = torch.zeros(1, D, requires_grad=True)
    owned = {b.untyped_storage().data_ptr() for b in ff.buffers()}
    saved: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in owned and ptr != omega.untyped_storage().data_ptr():
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        theta = ff(omega)
    theta.sum().backward()
    assert sum(saved.values()) <= 2 * 2**20, f"saved activations: {sum(saved.values()) / 2**20:.1f} MB"
    assert omega.grad.shape == (1, D)


# ----------------------------------------------------------------------------------------------
# dense, sparse, QR


def test_dense_columns_have_unit_norm():
    P = dense_gaussian(500, 40, [0, 1]).P
    torch.testing.assert_close(P.norm(dim=1), torch.ones(2, 40))


def test_dense_forward_is_matrix_vector_product():
    proj = dense_gaussian(30, 7, [0, 1, 2])
    omega = torch.randn(3, 7)
    expected = torch.stack([proj.P[i] @ omega[i] for i in range(3)])
    torch.testing.assert_close(proj(omega), expected)
    torch.testing.assert_close(proj.transpose(expected), torch.stack([proj.P[i].T @ expected[i] for i in range(3)]))


def test_dense_gradcheck():
    proj = dense_gaussian(25, 6, [0, 1]).double()
    omega = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(proj, (omega,))


def test_sparse_columns_unit_norm_and_density():
    D, d = 10000, 50
    sp = SparseProjection(D, d, [0, 1])
    P = sp.dense()  # (S, D, d)
    torch.testing.assert_close(P.norm(dim=1), torch.ones(2, d))
    density = (P != 0).float().mean().item()
    assert abs(density - 1 / math.sqrt(D)) < 0.1 / math.sqrt(D)
    # entries of a column are +-1/sqrt(m): equal magnitudes, both signs
    col = P[0, :, 0]
    nz = col[col != 0]
    torch.testing.assert_close(nz.abs(), torch.full_like(nz, 1 / math.sqrt(len(nz))))


def test_sparse_forward_and_gradcheck_match_dense_matrix():
    sp = SparseProjection(40, 9, [0, 1, 2], density=0.3)
    P = sp.dense()
    omega = torch.randn(3, 9)
    torch.testing.assert_close(sp(omega), torch.einsum("sDd,sd->sD", P, omega))
    sp64 = SparseProjection(40, 9, [0, 1], density=0.3)
    sp64.P, sp64.PT = sp64.P.double(), sp64.PT.double()
    omega = torch.randn(2, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(sp64, (omega,))


def test_sparse_never_leaves_a_column_empty():
    sp = SparseProjection(8, 200, [0], density=0.05)  # P(empty column) = 0.95^8 = 0.66
    assert (sp.dense()[0] != 0).any(dim=0).all()


def test_qr_span_is_orthonormal_and_contains_theta_init():
    theta = torch.randn(2, 300, dtype=torch.float64)
    proj = qr_span(theta.float(), 12, [0, 1])
    P = proj.P.double()
    torch.testing.assert_close(P.transpose(1, 2) @ P, torch.eye(12, dtype=torch.float64).expand(2, 12, 12), atol=1e-5, rtol=0)
    omega0 = proj.transpose(theta.float())
    torch.testing.assert_close(proj(omega0), theta.float(), atol=1e-5, rtol=1e-5)
    # omega_0 = (+-||theta||, 0, ..., 0): theta_init is the first basis vector
    torch.testing.assert_close(omega0[:, 0].abs(), theta.float().norm(dim=1))
    torch.testing.assert_close(omega0[:, 1:], torch.zeros(2, 11), atol=1e-4, rtol=0)


# ----------------------------------------------------------------------------------------------
# the Subspace reparameterization


@pytest.mark.parametrize("projection", ["dense", "sparse", "fastfood"])
def test_omega_zero_gives_theta0_and_theta0_is_the_direct_init(projection):
    from weightspace.reparam import Direct

    net = build_net("fc", (1, 8, 8), 10, [16])
    sub = Subspace(net, [0, 1], d=20, projection=projection)
    assert torch.count_nonzero(sub.omega) == 0
    direct = Direct(net, [0, 1])
    torch.testing.assert_close(sub.flat_theta(), direct.theta.detach())  # same seed, same theta_0
    assert sub.n_trainable() == 20


def test_qr_subspace_starts_at_theta_init():
    from weightspace.reparam import Direct

    net = build_net("fc", (1, 8, 8), 10, [16])
    sub = Subspace(net, [0, 1], d=20, projection="qr")
    torch.testing.assert_close(sub.flat_theta(), Direct(net, [0, 1]).theta.detach(), atol=1e-5, rtol=1e-4)


def test_subspace_projection_is_fixed_and_not_saved():
    net = build_net("fc", (1, 8, 8), 10, [16])
    sub = Subspace(net, [0], d=5, projection="dense")
    assert list(sub.state_dict()) == ["omega"]
    assert [n for n, p in sub.named_parameters()] == ["omega"]


def test_subspace_rejects_d_above_D():
    net = build_net("fc", (1, 8, 8), 10, [4])
    with pytest.raises(ValueError, match=r"d must be in \[1, D="):
        Subspace(net, [0], d=net.n_params + 1, projection="dense")


@pytest.mark.parametrize("L", [1, 2, 8, 128, 1024, 8192])
def test_padded_fwht_equals_fwht_of_the_padded_vector(L):
    from weightspace.families.subspace.projections import _fwht_prefix_output, _fwht_sparse_input

    for n in sorted({1, 3, L // 3 + 1, L - 1, L} & set(range(1, L + 1))):
        x = torch.randn(2, n, dtype=torch.float64)
        full = fwht(torch.nn.functional.pad(x, (0, L - n)))
        torch.testing.assert_close(_fwht_sparse_input(x, L), full)
        y = torch.randn(2, L, dtype=torch.float64)
        torch.testing.assert_close(_fwht_prefix_output(y, n), fwht(y)[:, :n])


def test_padded_fwht_gradcheck():
    from weightspace.families.subspace.projections import padded_fwht

    x = torch.randn(2, 37, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: padded_fwht(t, 256), (x,))
