"""Weight-sharing reparameterizations: hand-checkable cases, naive references, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from weightspace import data
from weightspace.nets import build_net
from weightspace.families.sharing.reparam import Hashed, KMeansSharing, KnownSharing, SoftSharing
from weightspace.reparam import build_reparam, estimate_bytes
from weightspace.families.sharing.reparam import kmeans_1d, shared_names
from weightspace.train import Trainer


def small_net():
    return build_net("fc", (1, 4, 4), 3, [5])  # fc1 (5, 16), fc2 (3, 5)


def test_soft_sharing_equals_naive_formula():
    net = small_net()
    sh = SoftSharing(net, [0, 1], k=4, tau=0.7, init_logit_std=2.0)
    w = sh()
    for s in range(2):
        A = sh.A["fc1__weight"][s].detach()
        v = sh.v["fc1__weight"][s].detach()
        naive = torch.stack([(torch.softmax(A[i] / 0.7, 0) * v).sum() for i in range(A.shape[0])])
        torch.testing.assert_close(w["fc1.weight"][s].reshape(-1), naive)
    assert shared_names(net) == ["fc1.weight", "fc2.weight"]
    assert w["fc1.bias"] is sh.direct["fc1__bias"]  # biases trained directly unless shared
    assert sh.n_trainable() == 16 * 5 * 4 + 4 + 5 * 3 * 4 + 4 + 5 + 3


def test_hard_weights_pick_the_argmax_value():
    sh = SoftSharing(small_net(), [0], k=3, init_logit_std=1.0)
    with torch.no_grad():
        sh.A["fc1__weight"][0, 0] = torch.tensor([0.0, 5.0, 1.0])
        sh.v["fc1__weight"][0] = torch.tensor([-1.0, 2.0, 3.0])
    assert sh.hard_weights()["fc1.weight"][0, 0, 0] == 2.0
    assert sh.assignments()["fc1.weight"][0, 0] == 1


def test_harden_is_the_hard_net_and_trains_only_values():
    sh = SoftSharing(small_net(), [0, 1], k=3, init_logit_std=1.0)
    hard = sh.harden()
    ref = sh.hard_weights()
    got = hard()
    for name in ref:
        assert torch.equal(got[name], ref[name])
    assert hard.n_trainable() == 2 * 3 + 5 + 3  # one value vector per weight matrix + the two biases
    got["fc1.weight"].sum().backward()
    g = hard.v["fc1__weight"].grad[0]
    counts = torch.bincount(sh.assignments()["fc1.weight"][0], minlength=3).float()
    assert torch.equal(g, counts)  # d(sum w)/dv_j = number of weights using value j
    assert torch.equal(hard.assignments()["fc1.weight"], sh.assignments()["fc1.weight"])


def test_penalties_hand_case():
    """One row, two slots: p = softmax([0, 0]) = (1/2, 1/2): entropy ln 2, expected slot 1/2."""
    net = build_net("fc", (1, 1), 1, [])  # one weight
    sh = SoftSharing(net, [0], k=2, lambda_entropy=2.0, lambda_prior=3.0)
    with torch.no_grad():
        sh.A["fc1__weight"].zero_()
    sh()
    torch.testing.assert_close(sh.penalty(), torch.tensor([2.0 * math.log(2) + 3.0 * 0.5]))
    m = sh.metrics()
    torch.testing.assert_close(m["row_entropy"], torch.tensor([math.log(2)]))
    torch.testing.assert_close(m["expected_slot"], torch.tensor([0.5]))
    assert SoftSharing(net, [0], k=2).penalty() is None  # no penalty configured: no extra loss


def test_sharing_gradcheck():
    net = build_net("fc", (1, 3), 2, [])
    sh = SoftSharing(net, [0], k=3, tau=0.5, lambda_entropy=0.1, lambda_prior=0.2, init_logit_std=1.0).double()
    A0, v0 = sh.A["fc1__weight"].detach().clone(), sh.v["fc1__weight"].detach().clone()

    def f(A, v):
        with torch.no_grad():
            sh.A["fc1__weight"].copy_(A)
            sh.v["fc1__weight"].copy_(v)
        # differentiate through a functional copy of the module's math
        p = torch.softmax(A / 0.5, -1)
        w = torch.bmm(p, v.unsqueeze(-1)).squeeze(-1)
        return w, -(p * torch.log_softmax(A / 0.5, -1)).sum(-1).mean(-1)

    A = A0.requires_grad_()
    v = v0.requires_grad_()
    assert torch.autograd.gradcheck(f, (A, v))
    # and the module computes the same function
    w_mod = sh()["fc1.weight"].reshape(1, -1)
    torch.testing.assert_close(w_mod, f(A0, v0)[0].detach())


def test_straight_through_forward_is_hard_backward_is_soft():
    net = build_net("fc", (1, 2), 1, [])
    sh = SoftSharing(net, [0], k=2, straight_through=True, init_logit_std=1.0)
    with torch.no_grad():
        sh.A["fc1__weight"][0] = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        sh.v["fc1__weight"][0] = torch.tensor([10.0, 20.0])
    w = sh()["fc1.weight"]
    torch.testing.assert_close(w.detach().reshape(-1), torch.tensor([10.0, 20.0]))
    w.sum().backward()
    assert sh.A["fc1__weight"].grad.abs().sum() > 0  # gradients reach the logits through the softmax


def test_temperature_anneals_geometrically():
    sh = SoftSharing(small_net(), [0], k=2, tau=1.0, tau_final=0.01)
    sh.on_step(0, 100)
    assert sh.tau == pytest.approx(1.0)
    sh.on_step(50, 100)
    assert sh.tau == pytest.approx(0.1)
    sh.on_step(100, 100)
    assert sh.tau == pytest.approx(0.01)


def test_hashed_equals_explicit_buckets_and_signs():
    net = small_net()
    h = Hashed(net, [0, 1], k=5)
    w = h()["fc1.weight"]
    for s in range(2):
        b = h.h_fc1__weight[s]
        xi = h.xi_fc1__weight[s]
        v = h.v["fc1__weight"][s]
        torch.testing.assert_close(w[s].reshape(-1), torch.stack([xi[i] * v[b[i]] for i in range(len(b))]))
    assert set(h.xi_fc1__weight.unique().tolist()) == {-1.0, 1.0}
    assert not torch.equal(h.h_fc1__weight[0], h.h_fc1__weight[1])  # a fresh hash per seed
    groups = h.assignments()["fc1.weight"]
    # entries in one group have one value
    for gval in groups[0].unique():
        vals = w[0].reshape(-1)[groups[0] == gval]
        assert torch.allclose(vals, vals[0].expand_as(vals))


def test_kmeans_1d_hand_case_and_reference():
    x = torch.tensor([[0.0, 0.1, 0.2, 5.0, 5.1, 9.9, 10.0]])
    c, a = kmeans_1d(x, 3)
    torch.testing.assert_close(c, torch.tensor([[0.1, 5.05, 9.95]]))
    assert a.tolist() == [[0, 0, 0, 1, 1, 2, 2]]
    # against a naive Lloyd loop from the same linear initialization
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(2, 300))
    c, a = kmeans_1d(torch.tensor(xs), 6)
    for s in range(2):
        cent = np.linspace(xs[s].min(), xs[s].max(), 6)
        for _ in range(200):
            assign = np.argmin(np.abs(xs[s][:, None] - cent[None, :]), axis=1)
            new = np.array([xs[s][assign == j].mean() if (assign == j).any() else cent[j] for j in range(6)])
            if np.allclose(new, cent):
                break
            cent = new
        np.testing.assert_allclose(c[s].numpy(), cent, rtol=1e-6)
        assert (a[s].numpy() == assign).all()


def test_kmeans_sharing_switches_and_keeps_unshared_tensors():
    net = small_net()
    km = KMeansSharing(net, [0, 1], k=3, pretrain_fraction=0.5)
    direct = {k: v.detach().clone() for k, v in km().items()}
    assert km.hard_weights() is None and km.assignments() == {}
    km.on_step(49, 100)
    assert int(km.phase) == 0
    km.on_step(50, 100)
    assert int(km.phase) == 1
    w = km()
    assert torch.equal(w["fc1.bias"], direct["fc1.bias"])
    for s in range(2):
        assert len(w["fc1.weight"][s].unique()) <= 3
    # every weight moved to its nearest centroid
    c = km.v["fc1__weight"].detach()
    nearest = c.gather(1, (direct["fc1.weight"].reshape(2, -1, 1) - c.unsqueeze(1)).abs().argmin(-1))
    torch.testing.assert_close(w["fc1.weight"].reshape(2, -1), nearest)
    assert set(km.state_dict()) >= {"phase", "assign_fc1__weight", "theta"}  # saved with checkpoints


def test_known_sharing_is_the_teacher_structure():
    ds = data.load("conv1d_teacher")
    net = build_net("fc", ds.input_shape, ds.n_outputs, [])
    kn = KnownSharing(net, [0], ds.structure["layer"], ds.structure["groups"])
    W = kn()["fc1.weight"][0].detach().numpy()
    groups = ds.structure["groups"]
    assert (W[groups < 0] == 0).all()
    for tap in range(5):
        assert len(np.unique(W[groups == tap])) == 1
    assert kn.n_trainable() == 5 + 28


def test_build_reparam_and_memory_estimates():
    net = build_net("fc", (1, 28, 28), 10, [200, 200])
    n = 784 * 200 + 200 * 200 + 200 * 10
    est = estimate_bytes({"reparam": "sharing", "k": 64}, net, 1)
    assert est >= 4 * n * 64 * 6  # A, Adam, grad, softmax and log-softmax
    with pytest.raises(ValueError, match="known structure"):
        build_reparam({"reparam": "known"}, net, [0])
    with pytest.raises(ValueError, match="epochs"):
        build_reparam({"reparam": "kmeans", "k": 4, "pretrain_epochs": 1}, net, [0])
    km = build_reparam({"reparam": "kmeans", "k": 4, "pretrain_epochs": 3}, net, [0], epochs=12)
    assert km.pretrain_fraction == 0.25


def test_learned_sharing_recovers_the_1d_convolution():
    """The headline result in miniature: one seed, the teacher's structure found exactly."""
    from weightspace.families.sharing.structure import reparam_structure

    ds = data.load("conv1d_teacher")
    cell = {"net": {"arch": "fc", "widths": []},
            "variant": {"reparam": "sharing", "k": 16, "tau": 1.0, "tau_final": 0.05, "lambda_prior": 0.01},
            "train": {"epochs": 60, "batch_size": 128, "lr": 0.03, "evals_per_epoch": 1}}
    tr = Trainer(cell, ds, [0], log=lambda m: None, progress=False)
    res = tr.run()[0]
    metrics, arrays = reparam_structure(tr.reparam, ds)[0]
    assert metrics["ari_support"] > 0.95 and metrics["support_f1"] > 0.95
    assert metrics["equivariance_error"] < 0.01
    assert res.rows[-1]["hard_test_loss"] < 1e-3  # the hardened net is as good as the soft one
    assert arrays["assign"].shape == (28, 32)


def test_kmeans_resume_keeps_its_clusters(tmp_path):
    from test_resume import StopAt
    from test_train import strip_times

    ds = data.load("conv1d_teacher")
    cell = {"net": {"arch": "fc", "widths": []}, "variant": {"reparam": "kmeans", "k": 8, "pretrain_epochs": 2},
            "train": {"epochs": 4, "batch_size": 256, "lr": 0.03, "evals_per_epoch": 2}}
    ref = Trainer(cell, ds, [0], log=lambda m: None, progress=False).run()
    ckpt = tmp_path / "c.pt"
    with pytest.raises(Exception, match="stopped at step 70"):
        StopAt(cell, ds, [0], log=lambda m: None, progress=False, checkpoint=ckpt, at=70).run()
    res = Trainer(cell, ds, [0], log=lambda m: None, progress=False, checkpoint=ckpt).run()
    assert strip_times(res[0].rows) == strip_times(ref[0].rows)


def test_sharing_without_softmax_is_the_linear_mix_and_gradchecks():
    """softmax: false (the sharing note's SharedNet): w = A v, the rows of A a free linear mix of the values."""
    net = build_net("fc", (1, 3), 2, [])
    sh = SoftSharing(net, [0, 1], k=3, softmax=False, init_logit_std=1.0).double()
    for s in range(2):
        A, v = sh.A["fc1__weight"][s].detach(), sh.v["fc1__weight"][s].detach()
        naive = torch.stack([sum(A[i, j] * v[j] for j in range(3)) for i in range(A.shape[0])])
        torch.testing.assert_close(sh()["fc1.weight"][s].reshape(-1), naive)
    hard = sh.hard_weights()["fc1.weight"][0].reshape(-1)  # the hard net is still v[argmax A]
    torch.testing.assert_close(hard, sh.v["fc1__weight"][0][sh.A["fc1__weight"][0].argmax(-1)].detach())

    def f(A, v):  # the module's weight as a function of (A, v)
        with torch.no_grad():
            sh.A["fc1__weight"].copy_(A)
            sh.v["fc1__weight"].copy_(v)
        return torch.bmm(A, v.unsqueeze(-1)).squeeze(-1)

    A0 = sh.A["fc1__weight"].detach().clone().requires_grad_()
    v0 = sh.v["fc1__weight"].detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(f, (A0, v0))
    loss = sh()["fc1.weight"].sum()
    loss.backward()  # the module's own gradient: dL/dA[i, j] = v[j], dL/dv[j] = sum_i A[i, j]
    torch.testing.assert_close(sh.A["fc1__weight"].grad[0], sh.v["fc1__weight"][0].detach().expand(6, 3))
    torch.testing.assert_close(sh.v["fc1__weight"].grad[0], sh.A["fc1__weight"][0].detach().sum(0))
    with pytest.raises(ValueError, match="without the softmax"):
        SoftSharing(net, [0], k=3, softmax=False, lambda_prior=0.1)


def test_a_softmax_option_without_the_softmax_is_refused_in_one_line():
    from weightspace.config import validate
    from weightspace.errors import ConfigError

    def config(variant):
        return {"nets": {"linear": {"arch": "fc", "widths": []}},
                "experiments": {"s": {"family": "sharing", "datasets": ["conv1d_teacher"], "nets": ["linear"],
                                      "train": {"epochs": 2, "batch_size": 4},
                                      "variants": [{"name": "lin", "reparam": "sharing", "k": 4, **variant}]}}}

    validate(config({"softmax": False}))  # the note's setting: valid
    with pytest.raises(ConfigError) as e:
        validate(config({"softmax": False, "lambda_prior": 0.01, "tau_final": 0.05}))
    assert "lambda_prior: 0.01 needs the softmax; with softmax: false (w = A v) leave lambda_prior out" in str(e.value)
    assert "tau_final: 0.05 needs the softmax" in str(e.value)
