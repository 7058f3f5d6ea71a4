"""Seed-batched functional nets against torch.nn references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from weightspace.nets import build_net
from weightspace.seeding import generators


def reference_fc(weights, i, x, n_layers):
    h = x.flatten(1)
    for k in range(1, n_layers + 1):
        h = F.linear(h, weights[f"fc{k}.weight"][i], weights[f"fc{k}.bias"][i])
        if k < n_layers:
            h = torch.relu(h)
    return h


def reference_conv(weights, i, x, n_conv, n_fc, pad):
    h = x
    for k in range(1, n_conv + 1):
        h = F.conv2d(h, weights[f"conv{k}.weight"][i], weights[f"conv{k}.bias"][i], padding=pad if k == 1 else 0)
        h = F.max_pool2d(torch.relu(h), 2)
    h = h.flatten(1)
    for k in range(1, n_fc + 1):
        h = F.linear(h, weights[f"fc{k}.weight"][i], weights[f"fc{k}.bias"][i])
        if k < n_fc:
            h = torch.relu(h)
    return h


def test_fc_784_200_200_10_has_li_et_al_parameter_count():
    net = build_net("fc", (1, 28, 28), 10, [200, 200])
    assert net.n_params == 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10 == 199210
    assert build_net("fc", (3, 32, 32), 10, [200, 200]).n_params == 656810


def test_smallcnn_matches_the_feedback_notebook_shapes():
    net = build_net("smallcnn", (1, 28, 28), 10)
    assert net.spec["conv1.weight"].shape == (5, 1, 5, 5)
    assert net.spec["conv2.weight"].shape == (10, 5, 5, 5)
    assert net.spec["fc1.weight"].shape == (50, 160)
    assert net.spec["fc2.weight"].shape == (10, 50)


def test_lenet_shapes():
    net = build_net("lenet", (1, 28, 28), 10)
    assert net.spec["fc1.weight"].shape == (120, 400)
    assert build_net("lenet", (3, 32, 32), 10).spec["fc1.weight"].shape == (120, 400)
    with pytest.raises(ValueError, match="at least 28x28"):
        build_net("lenet", (1, 8, 8), 10)


@pytest.mark.parametrize("shared_input", [False, True])
def test_fc_batched_forward_equals_per_seed_reference(shared_input):
    net = build_net("fc", (1, 8, 8), 10, [16, 12])
    w = net.init(generators([0, 1, 2], "init"))
    x = torch.randn(5, 1, 8, 8) if shared_input else torch.randn(3, 5, 1, 8, 8)
    out = net.forward(w, x)
    assert out.shape == (3, 5, 10)
    for i in range(3):
        xi = x if shared_input else x[i]
        torch.testing.assert_close(out[i], reference_fc(w, i, xi, 3))


@pytest.mark.parametrize("arch,shape,n_conv,n_fc,pad", [("lenet", (1, 28, 28), 2, 3, 2), ("smallcnn", (3, 32, 32), 2, 2, 0)])
@pytest.mark.parametrize("shared_input", [False, True])
def test_conv_batched_forward_equals_per_seed_reference(arch, shape, n_conv, n_fc, pad, shared_input):
    net = build_net(arch, shape, 10)
    w = net.init(generators([0, 1], "init"))
    x = torch.randn(4, *shape) if shared_input else torch.randn(2, 4, *shape)
    out = net.forward(w, x)
    assert out.shape == (2, 4, 10)
    for i in range(2):
        xi = x if shared_input else x[i]
        torch.testing.assert_close(out[i], reference_conv(w, i, xi, n_conv, n_fc, pad), atol=1e-5, rtol=1e-4)


def test_init_is_pytorch_default_bounds_and_per_seed():
    net = build_net("fc", (1, 8, 8), 10, [32])
    w = net.init(generators([0, 1], "init"))
    bound = 1 / math.sqrt(64)
    assert w["fc1.weight"].abs().max() <= bound and w["fc1.weight"].abs().max() > 0.9 * bound
    assert not torch.equal(w["fc1.weight"][0], w["fc1.weight"][1])
    # seed 1 alone draws what seed 1 drew in the batch
    w1 = net.init(generators([1], "init"))
    torch.testing.assert_close(w1["fc1.weight"][0], w["fc1.weight"][1], rtol=0, atol=0)
    # the bound matches nn.Linear's default init
    lin = nn.Linear(64, 32)
    assert lin.weight.abs().max() <= bound


def test_flatten_unflatten_roundtrip():
    net = build_net("lenet", (1, 28, 28), 10)
    w = net.init(generators([0, 1], "init"))
    theta = net.flatten(w)
    assert theta.shape == (2, net.n_params)
    back = net.unflatten(theta)
    for k in w:
        assert torch.equal(back[k], w[k])
