"""The tying family: tie maps, gradient semantics (sum / mean) against the notes' manual procedure, the narrower
reference, the autoencoder, config checks, analysis, tables and figures."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO

from weightspace.config import load_config, validate
from weightspace.errors import ConfigError
from weightspace.families.tying.reparam import Narrow, ScaleGrad, Tying, build_narrow, build_tying, group_assignment
from weightspace.families.tying.ties import fc_param_count, narrow_widths, tie_map, trainable_count, tying_bytes
from weightspace.nets import build_net
from weightspace.reparam import build_reparam
from weightspace.train import Trainer, train
from weightspace.train.config import TrainConfig
from weightspace.train.step import make_optimizer, per_seed_loss, train_step


def quiet(msg):
    pass


def cell(variant, net=None, **train_kw):
    tr = {"epochs": 2, "batch_size": 64, "lr": 3e-3, "evals_per_epoch": 1, **train_kw}
    return {"cell": "t", "net": net or {"arch": "fc", "widths": [16]}, "variant": variant, "train": tr}


def close_rows(a_rows, b_rows, rel=1e-4, abs_=1e-5):
    assert len(a_rows) == len(b_rows)
    for a, b in zip(a_rows, b_rows):
        for key in ("train_loss", "test_loss", "test_acc"):
            if math.isnan(a[key]):
                assert math.isnan(b[key])
            else:
                assert a[key] == pytest.approx(b[key], rel=rel, abs=abs_), (a["step"], key)


# ----------------------------------------------------------------------------------------------
# the tie map and the module


def test_scale_grad_is_the_identity_forward_and_scales_the_gradient():
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    y = ScaleGrad.apply(x, 0.25)
    assert torch.equal(y, x)  # the value is exactly x (no x/m + (x - x/m) rounding)
    y.sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, 0.25))
    assert torch.autograd.gradcheck(lambda t: ScaleGrad.apply(t, 1.0), (x.detach().requires_grad_(),))


def test_rows_hand_case_weights_counts_and_bias():
    """fc 3 -> 4 outputs, rows in groups of 2: W = [p0; p0; p1; p1], the bias likewise."""
    net = build_net("fc", (3,), 4, [])
    t = Tying(net, [0], tie_map({"tie": "rows", "g": 2}, net))
    p = t.shared["fc1__weight"].detach()
    assert p.shape == (1, 2, 3)
    w = t()
    torch.testing.assert_close(w["fc1.weight"][0], p[0][[0, 0, 1, 1]], rtol=0, atol=0)
    torch.testing.assert_close(w["fc1.bias"][0], t.shared["fc1__bias"][0].detach()[[0, 0, 1, 1]], rtol=0, atol=0)
    assert t.n_trainable() == 2 * 3 + 2 == trainable_count(tie_map({"tie": "rows", "g": 2}, net), net)
    # a group starts from its first member's init: rows 0 and 2 of the direct init
    direct = build_reparam({"reparam": "direct"}, net, [0])()
    torch.testing.assert_close(p[0], direct["fc1.weight"][0][[0, 2]], rtol=0, atol=0)
    # bias separate: the biases train directly from the direct init
    t2 = Tying(net, [0], tie_map({"tie": "rows", "g": 2, "bias": "separate"}, net))
    assert torch.equal(t2()["fc1.bias"], direct["fc1.bias"]) and t2.n_trainable() == 2 * 3 + 4


def test_hand_computed_gradients_sum_and_mean():
    """Loss = sum of the outputs for x = (1, 2, 3): every row's gradient is x, so a group of g = 2 rows gets
    2x (sum) or x (mean); the tied bias entries 2 (sum) or 1 (mean)."""
    net = build_net("fc", (3,), 4, [])
    x = torch.tensor([[1.0, 2.0, 3.0]])
    for grad, factor in (("sum", 2.0), ("mean", 1.0)):
        t = Tying(net, [0], tie_map({"tie": "rows", "g": 2}, net), grad=grad)
        net.forward(t(), x).sum().backward()
        torch.testing.assert_close(t.shared["fc1__weight"].grad[0], factor * x.expand(2, 3))
        torch.testing.assert_close(t.shared["fc1__bias"].grad[0], torch.full((2,), factor))
    # one SGD step (lr 0.1): p moves by -0.1 * 2x (sum) or -0.1 * x (mean); Adam's first step is -lr * sign
    # for both (invariant to the gradient's scale)
    for optimizer in ("sgd", "adam"):
        moved = {}
        for grad in ("sum", "mean"):
            t = Tying(net, [0], tie_map({"tie": "rows", "g": 2}, net), grad=grad)
            p0 = t.shared["fc1__weight"].detach().clone()
            opt = make_optimizer(t.parameters(), TrainConfig(optimizer=optimizer, lr=0.1, momentum=0.0),
                                 torch.device("cpu"))
            net.forward(t(), x).sum().backward()
            opt.step()
            moved[grad] = t.shared["fc1__weight"].detach() - p0
        if optimizer == "sgd":
            torch.testing.assert_close(moved["sum"][0], -0.2 * x.expand(2, 3))
            torch.testing.assert_close(moved["mean"][0], -0.1 * x.expand(2, 3))
        else:
            torch.testing.assert_close(moved["sum"], moved["mean"])
            torch.testing.assert_close(moved["sum"][0], torch.full((2, 3), -0.1))


def test_random_groups_are_a_partition_fixed_per_seed():
    a = group_assignment(12, 3, True, torch.Generator().manual_seed(1))
    assert sorted(torch.bincount(a).tolist()) == [3, 3, 3, 3]
    assert torch.equal(group_assignment(12, 3, False), torch.arange(12) // 3)
    net = build_net("fc", (1, 8, 8), 10, [16])
    ties = tie_map({"tie": "rows", "g": 4, "groups": "random"}, net)
    t = Tying(net, [0, 1, 2], ties, groups="random")
    alone = Tying(net, [1], ties, groups="random")
    assign = t.assignments()["fc1.weight"]
    assert not torch.equal(assign[0], assign[1])  # a fresh partition per seed
    assert torch.equal(assign[1], alone.assignments()["fc1.weight"][0])  # fixed by the seed alone
    for name in ("fc1.weight", "fc1.bias", "fc2.weight"):
        assert torch.equal(t()[name][1], alone()[name][0])
    # the bias follows its weight's groups: units of a group compute the same activation
    h = torch.relu(t.net.forward({**t(), "fc2.weight": torch.eye(16).expand(3, 16, 16)[:, :10],
                                  "fc2.bias": torch.zeros(3, 10)}, torch.randn(5, 1, 8, 8)))
    assert h.shape == (3, 5, 10)
    w, b = t()["fc1.weight"][0], t()["fc1.bias"][0]
    for grp in range(4):
        rows = (assign[0] == grp).nonzero().ravel()
        assert torch.equal(w[rows], w[rows[:1]].expand(4, -1)) and torch.equal(b[rows], b[rows[:1]].expand(4))


def test_tensors_columns_and_transpose_fill_their_members():
    deep = build_net("fc", (1, 4, 4), 3, [8, 8, 8])
    t = build_tying({"tie": "tensors"}, deep, [0, 1], "cpu", {})
    w = t()
    assert w["fc2.weight"] is w["fc3.weight"] and w["fc2.bias"] is w["fc3.bias"]  # one tensor, two layers
    assert t.n_trainable() == deep.n_params - 8 * 8 - 8
    cols = build_tying({"tie": "columns", "g": 4}, deep, [0], "cpu", {})
    W = cols()["fc1.weight"][0]
    assert torch.equal(W[:, :4], W[:, :1].expand(8, 4)) and cols.n_trainable() == deep.n_params - 8 * 16 + 8 * 4
    ae = build_net("autoencoder", (1, 8, 8), 10, [32, 16])
    tr = build_tying({"tie": "transpose"}, ae, [0], "cpu", {})
    w = tr()
    assert torch.equal(w["dec1.weight"], w["enc1.weight"].transpose(1, 2))
    assert torch.equal(w["dec2.weight"], w["enc2.weight"].transpose(1, 2))
    assert tr.n_trainable() == ae.n_params - 64 * 32 - 32 * 16  # the decoder's weights are not trained twice
    assert set(tr.direct) == {"enc1__bias", "enc2__bias", "dec1__bias", "dec2__bias"}


# ----------------------------------------------------------------------------------------------
# gradient semantics against the notes' manual procedure


def _manual_combine(W: dict, t: Tying, grad: str) -> None:
    """The notes' procedure on untied copies: combine each tie's members' gradients (mean or sum), give every
    member that gradient."""
    S = t.n_seeds
    for tie in t.ties:
        if tie.axis is not None:
            g = W[tie.members[0]].grad
            a = t.assignments()[tie.grouping]
            for s in range(S):
                for j in range(int(a[s].max()) + 1):
                    idx = (a[s] == j).nonzero().ravel()
                    part = g[s].index_select(tie.axis, idx)
                    comb = part.mean(tie.axis, keepdim=True) if grad == "mean" else part.sum(tie.axis, keepdim=True)
                    g[s].index_copy_(tie.axis, idx, comb.expand_as(part).contiguous())
        elif tie.kind == "tensors":
            gs = torch.stack([W[n].grad for n in tie.members])
            comb = gs.mean(0) if grad == "mean" else gs.sum(0)
            for n in tie.members:
                W[n].grad = comb.clone()
        else:
            src, tr = tie.members
            comb = W[src].grad + W[tr].grad.transpose(1, 2)
            comb = comb / 2 if grad == "mean" else comb
            W[src].grad, W[tr].grad = comb.clone(), comb.transpose(1, 2).contiguous()


CASES = [
    ("rows", {"tie": "rows", "g": 2}, ("fc", [6])),
    ("rows-random", {"tie": "rows", "g": 3, "groups": "random"}, ("fc", [6])),
    ("columns", {"tie": "columns", "g": 2}, ("fc", [6])),
    ("tensors", {"tie": "tensors"}, ("fc", [5, 5, 5])),
    ("transpose", {"tie": "transpose"}, ("autoencoder", [6, 3])),
]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("grad", ["sum", "mean"])
@pytest.mark.parametrize("name,variant,arch", CASES, ids=[c[0] for c in CASES])
def test_tying_matches_the_manual_procedure(name, variant, arch, grad, optimizer):
    """Untied copies that start equal, whose tied members get the group's mean (or sum) gradient after every
    backward(), stay identical after every step and move exactly as the tied net, for SGD (momentum, weight
    decay) and Adam, over several steps; in float64, on two seeds at once."""
    torch.manual_seed(0)
    net = build_net(arch[0], (1, 2, 4), 3, arch[1])
    task = net.task or "classification"
    t = build_tying({**variant, "grad": grad}, net, [0, 1], "cpu", {}).double()
    W = {n: w.detach().clone().requires_grad_() for n, w in t().items()}  # untied copies, members equal
    cfg = TrainConfig(optimizer=optimizer, lr=0.05, momentum=0.9, weight_decay=1e-3)
    opt_t = make_optimizer(t.parameters(), cfg, torch.device("cpu"))
    opt_w = make_optimizer(W.values(), cfg, torch.device("cpu"))
    for step in range(6):
        x = torch.randn(2, 5, 1, 2, 4, dtype=torch.float64)
        y = torch.sigmoid(x.flatten(-3)) if task == "reconstruction" else torch.randint(0, 3, (2, 5))
        train_step(net, t, opt_t, x, y, task, step, 6)
        opt_w.zero_grad()
        per_seed_loss(net.forward(W, x), y, task).sum().backward()
        _manual_combine(W, t, grad)
        opt_w.step()
        with torch.no_grad():
            tied = t()
            assert float(t.max_member_deviation().max()) == 0.0
            for n in W:
                torch.testing.assert_close(tied[n], W[n], rtol=1e-12, atol=1e-12, msg=f"{n} after step {step}")
            # the manual copies' members stay identical (bit for bit)
            for tie in t.ties:
                if tie.axis is not None:
                    a = t.assignments()[tie.grouping]
                    for s in range(2):
                        for j in range(int(a[s].max()) + 1):
                            part = W[tie.members[0]][s].index_select(tie.axis, (a[s] == j).nonzero().ravel())
                            first = part.narrow(tie.axis, 0, 1).expand_as(part)
                            assert torch.equal(part, first), (name, step)
                elif tie.kind == "tensors":
                    assert all(torch.equal(W[n], W[tie.members[0]]) for n in tie.members)
                else:
                    assert torch.equal(W[tie.members[1]], W[tie.members[0]].transpose(1, 2))


GRADCHECK = [
    ({"tie": "rows", "g": 2}, ("fc", [4])),
    ({"tie": "rows", "g": 2, "groups": "random", "bias": "separate"}, ("fc", [4])),
    ({"tie": "columns", "g": 3}, ("fc", [4])),
    ({"tie": "tensors"}, ("fc", [3, 3, 3])),
    ({"tie": "transpose"}, ("autoencoder", [4, 2])),
]


@pytest.mark.parametrize("variant,arch", GRADCHECK, ids=[v["tie"] + str(i) for i, (v, _) in enumerate(GRADCHECK)])
def test_gradcheck_of_the_tied_weights(variant, arch):
    """gradcheck of the map shared tensors -> the net's weights (grad sum: the true derivative); with grad mean
    the backward is exactly that derivative times 1/m (so gradcheck does not apply: it is not a derivative)."""
    net = build_net(arch[0], (3,), 4, arch[1])
    t = build_tying(variant, net, [0, 1], "cpu", {}).double()
    names = [f"shared.{k}" for k in t.shared.keys()]

    def weights(module):
        def f(*ps):  # the module's own forward, with the shared tensors as inputs
            w = torch.func.functional_call(module, dict(zip(names, ps)), ())
            return tuple(w[n] for n in net.spec)
        return f

    inputs = tuple(t.get_parameter(k).detach().clone().requires_grad_() for k in names)
    assert torch.autograd.gradcheck(weights(t), inputs)
    mean = build_tying({**variant, "grad": "mean"}, net, [0, 1], "cpu", {}).double()
    cot = tuple(torch.randn_like(o) for o in weights(t)(*inputs))
    g_sum = torch.autograd.grad(weights(t)(*inputs), inputs, cot)
    g_mean = torch.autograd.grad(weights(mean)(*inputs), inputs, cot)
    m = {tie.key: tie.m for tie in t.ties}
    for k, a, b in zip(t.shared.keys(), g_sum, g_mean):
        torch.testing.assert_close(b, a / m[k], rtol=1e-14, atol=0)


# ----------------------------------------------------------------------------------------------
# training: identical members, batching, equivalences


def test_members_stay_identical_after_every_optimizer_step(digits):
    variant = {"reparam": "tying", "tie": "rows", "g": 4, "groups": "random", "grad": "mean"}
    tr = Trainer(cell(variant, optimizer="sgd", lr=0.05), digits, [0, 1, 2], log=quiet, progress=False)
    devs = []
    step = tr._train_step

    def checked(idx):
        step(idx)
        devs.append(float(tr.reparam.max_member_deviation().max()))

    tr._train_step = checked
    tr.run()
    assert len(devs) == tr.total_steps and max(devs) == 0.0


BATCHED = [
    ({"reparam": "tying", "tie": "rows", "g": 4, "groups": "random", "grad": "mean"}, None, "sgd"),
    ({"reparam": "tying", "tie": "tensors", "grad": "sum"}, {"arch": "fc", "widths": [16, 16, 16]}, "adam"),
    ({"reparam": "tying", "tie": "transpose"}, {"arch": "autoencoder", "widths": [16, 8]}, "adam"),
    ({"reparam": "narrow", "tie": "rows", "g": 2}, None, "adam"),
]


@pytest.mark.parametrize("variant,net,optimizer", BATCHED, ids=["rows", "tensors", "transpose", "narrow"])
def test_batched_seeds_equal_single_seed_runs(digits, variant, net, optimizer):
    c = cell(variant, net=net, optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 3e-3)
    batched = train(c, digits, [0, 1, 2], log=quiet, progress=False)
    for i in (0, 2):
        single = train(c, digits, [i], log=quiet, progress=False)[0]
        close_rows(single.rows, batched[i].rows)


def test_g1_is_direct_training(digits):
    tied = train(cell({"reparam": "tying", "tie": "rows", "g": 1, "grad": "mean"}), digits, [0, 1], log=quiet,
                 progress=False)
    direct = train(cell({"reparam": "direct"}), digits, [0, 1], log=quiet, progress=False)
    for a, b in zip(tied, direct):
        assert a.n_trainable == b.n_trainable == b.n_weights
        close_rows(a.rows, b.rows, rel=1e-6, abs_=1e-7)


def test_narrow_is_the_narrower_fc_net_of_the_tied_count(digits):
    net = build_net("fc", digits.input_shape, 10, [16])
    # tied: 4 shared rows of 65 (weights and bias) + fc2's 10 x 16 + 10 = 430; untied width w: 75 w + 10
    widths, target = narrow_widths({"tie": "rows", "g": 4}, net)
    assert target == 4 * 65 + 170 == 430 and widths == [6]  # 460 is closer to 430 than 385
    assert fc_param_count([64, 6, 10]) == 460
    n = build_narrow({"tie": "rows", "g": 4}, net, [0], "cpu", {})
    assert isinstance(n, Narrow) and n.n_trainable() == 460
    w = n()
    assert w["fc1.weight"].shape == (1, 16, 64) and (w["fc1.weight"][0, 6:] == 0).all()
    assert (w["fc2.weight"][0, :, 6:] == 0).all()
    res = train(cell({"reparam": "narrow", "tie": "rows", "g": 4}), digits, [0, 1], log=quiet, progress=False)
    ref = train(cell({"reparam": "direct"}, net={"arch": "fc", "widths": [6]}), digits, [0, 1], log=quiet,
                progress=False)
    for a, b in zip(res, ref):
        assert a.n_trainable == b.n_trainable == 460
        close_rows(a.rows, b.rows, rel=1e-5, abs_=1e-6)
    # cross-layer: every hidden layer to one width
    deep = build_net("fc", (1, 8, 8), 10, [32, 32, 32, 32])
    widths, target = narrow_widths({"tie": "tensors"}, deep)
    assert target == deep.n_params - 2 * (32 * 32 + 32) and len(set(widths)) == 1
    best = min(range(1, 33), key=lambda w: (abs(fc_param_count([64, w, w, w, w, 10]) - target), w))
    assert widths == [best] * 4


def test_tied_autoencoder_trains_on_the_pixels(digits):
    c = cell({"reparam": "tying", "tie": "transpose"}, net={"arch": "autoencoder", "widths": [32, 16]}, epochs=3)
    res = train(c, digits, [0], log=quiet, progress=False)[0]
    assert math.isnan(res.rows[-1]["test_acc"])
    assert res.rows[-1]["test_loss"] < 0.6 * res.rows[0]["test_loss"] and res.rows[-1]["test_loss"] < 0.08
    assert res.n_trainable == res.n_weights - 64 * 32 - 32 * 16
    with pytest.raises(ValueError, match="code width 64 .* must be below the input size 64"):
        build_net("autoencoder", (1, 8, 8), 10, [64])


def test_resume_with_random_groups(tmp_path, digits):
    from test_resume import StopAt
    from test_train import strip_times

    c = cell({"reparam": "tying", "tie": "rows", "g": 2, "groups": "random"}, epochs=2)
    ref = Trainer(c, digits, [0, 1], log=quiet, progress=False).run()
    ckpt = tmp_path / "c.pt"
    with pytest.raises(Exception, match="stopped at step 30"):
        StopAt(c, digits, [0, 1], log=quiet, progress=False, checkpoint=ckpt, at=30).run()
    res = Trainer(c, digits, [0, 1], log=quiet, progress=False, checkpoint=ckpt).run()
    assert [strip_times(r.rows) for r in res] == [strip_times(r.rows) for r in ref]


def test_examine_keeps_images_reconstructions_and_groups(digits):
    from weightspace.families.tying import FAMILY

    ae = build_net("autoencoder", digits.input_shape, 10, [32, 16])
    out = FAMILY.examine(build_tying({"tie": "transpose"}, ae, [0, 1], "cpu", {}), digits)
    metrics, files = out[1]
    arrays = files["tying.npz"]
    assert metrics == {"tie_max_dev": 0.0}
    assert arrays["images"].shape == (10, 1, 8, 8) == arrays["recon"].shape
    labels = digits.y_test.numpy()
    first = [int(np.argmax(labels == k)) for k in range(10)]
    np.testing.assert_allclose(arrays["images"], digits.pixels(digits.x_test[first]).numpy())
    net = build_net("fc", digits.input_shape, 10, [16])
    metrics, files = FAMILY.examine(build_tying({"tie": "rows", "g": 4}, net, [0], "cpu", {}), digits)[0]
    assert files["tying.npz"]["images"].size == 0 and files["tying.npz"]["groups__fc1.weight"].shape == (16,)


# ----------------------------------------------------------------------------------------------
# config: checks, memory, numeric keys


def quick_with(variants, nets=("small",)) -> dict:
    cfg = load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml")
    cfg["experiments"] = {"t": {"family": "tying", "datasets": ["digits"], "nets": list(nets), "variants": variants}}
    return cfg


def test_config_checks_name_the_option_and_the_sizes():
    cfg = quick_with([
        {"name": "a", "reparam": "tying", "tie": "rows", "g": 3},
        {"name": "b", "reparam": "tying", "tie": "tensors"},
        {"name": "c", "reparam": "tying", "tie": "transpose"},
        {"name": "d", "reparam": "tying", "tie": "tensors", "tensors": "fc1.weight+fc2.weight"},
        {"name": "e", "reparam": "tying", "tie": "columns", "g": 2, "bias": "tied"},
        {"name": "f", "reparam": "narrow", "tie": "rows", "g": 5},
    ])
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    msg = str(e.value)
    assert ("experiments.t.variants[0:a].g: 3 does not divide the 64 rows of fc1.weight (64, 64); use a divisor "
            "of 64 (1, 2, 4, 8, 16, 32, 64)") in msg
    assert "variants[1:b].tie: tensors needs two or more weight matrices of equal shape; the net has " \
           "fc1.weight (64, 64), fc2.weight (10, 64)" in msg
    assert "variants[2:c].tie: transpose needs a net that declares transposed pairs" in msg
    assert ("variants[3:d].tensors: whole tensors tied together must have equal shapes: fc1.weight is (64, 64), "
            "fc2.weight is (10, 64)") in msg
    assert "variants[4:e].bias: tied applies to rows and whole tensors" in msg
    assert "variants[5:f].g: 5 does not divide the 64 rows" in msg
    ok = validate(quick_with([{"name": "a", "reparam": "tying", "tie": "rows", "g": [2, 4], "grad": ["sum", "mean"]},
                              {"name": "n", "reparam": "narrow", "tie": "rows", "g": 2}]))
    assert ok["experiments"]["t"]["variants"][0]["g"] == [2, 4]


def test_memory_estimate_covers_the_trained_tensors():
    from weightspace.netspec import net_spec

    net = net_spec("fc", (1, 28, 28), 10, [200, 200])
    for v in ({"tie": "rows", "g": 4}, {"tie": "columns", "g": 8}):
        t = build_tying(v, build_net("fc", (1, 28, 28), 10, [200, 200]), [0], "cpu", {})
        params = sum(p.numel() for p in t.parameters()) * 4
        assert tying_bytes(v, net, 1) >= 3 * params + 4 * net.n_params
        assert tying_bytes(v, net, 3) == 3 * tying_bytes(v, net, 1)


def test_numeric_options_of_the_tying_variants_are_checked_like_every_key(monkeypatch):
    """The generated numeric-key cases (tests/test_config_generated.py) on a config holding tying variants."""
    import test_config_generated as gen

    base = quick_with([
        {"name": "tied", "reparam": "tying", "tie": "rows", "g": [2, 4]},
        {"name": "narrow", "reparam": "narrow", "tie": "rows", "g": 2},
    ])
    base["nets"] = {"small": base["nets"]["small"]}
    monkeypatch.setattr(gen, "BASE", base)
    keys = list(dict.fromkeys(k for k in gen.walk(gen.SCHEMA, (), base, set())
                              if k.path[:2] == ("experiments", "t") and k.path[-1] == "g"))
    monkeypatch.setattr(gen, "KEYS", keys)
    assert {k.rendered for k in keys} == {"experiments.t.variants[0:tied].g", "experiments.t.variants[1:narrow].g"}
    assert {k.form for k in keys} == {"scalar", "list"}
    validate(base)
    n = 0
    for key, label, value, outcome in gen.cases():
        gen.test_numeric_key(key, label, value, outcome)
        n += 1
    assert n == len(keys) * 8


# ----------------------------------------------------------------------------------------------
# analysis, table, figures, outputs


def fake_final() -> pd.DataFrame:
    rows = []
    acc = {("direct", None, None): 0.95, ("tying", 2, "sum"): 0.93, ("tying", 2, "mean"): 0.92,
           ("tying", 4, "sum"): 0.90, ("tying", 4, "mean"): 0.89, ("narrow", 2, None): 0.94, ("narrow", 4, None): 0.91}
    count = {("direct", None): 4810, ("tying", 2): 2730, ("tying", 4): 1690, ("narrow", 2): 2710,
             ("narrow", 4): 1660}
    for opt in ("adam", "sgd"):
        for (reparam, g, grad), a in acc.items():
            name = {"direct": "untied", "tying": "tied", "narrow": "narrow"}[reparam] + f"-{opt}"
            cid = f"digits__small__{name}" + (f"__g{g}" if g else "") + (f"__grad{grad}" if grad else "")
            swept = " ".join([k for k, v in (("g", g), ("grad", grad)) if v] + ["optimizer"])
            for seed in range(3):
                rows.append({"experiment": "tying", "family": "tying", "cell": cid, "dataset": "digits",
                             "net": "small", "arch": "fc", "variant": name, "reparam": reparam,
                             "tie": None if reparam == "direct" else "rows", "g": g, "grad": grad,
                             "optimizer": opt, "swept": swept, "seed": seed,
                             "status": "diverged" if (reparam, g, grad, opt, seed) == ("tying", 4, "sum", "sgd", 2)
                             else "ok", "n_weights": 4810, "n_trainable": count[(reparam, g)],
                             "final_test_acc": a - (0.05 if opt == "sgd" else 0) + 0.01 * seed,
                             "final_test_loss": 1 - a, "final_train_loss": 1 - a, "tie_max_dev": 0.0})
    return pd.DataFrame(rows)


def test_summary_keeps_settings_apart_and_counts_diverged():
    from weightspace.families.tying.analysis import tying_summary
    from weightspace.stats import mean_ci

    s = tying_summary(fake_final())
    assert len(s) == 14 and set(s["setting"]) == {"optimizer=adam", "optimizer=sgd"}
    r = s[(s["variant"] == "tied-sgd") & (s["g"] == 4) & (s["grad"] == "sum")].iloc[0]
    assert r["n_ok"] == 2 and r["n_diverged"] == 1 and r["method"] == "tied rows" and r["n_trainable"] == 1690
    m, lo, hi = mean_ci([0.85, 0.86])
    assert r["final_test_acc_mean"] == pytest.approx(m) and r["final_test_acc_lo"] == pytest.approx(lo)
    u = s[s["variant"] == "untied-adam"].iloc[0]
    assert u["method"] == "untied" and u["final_test_acc_mean"] == pytest.approx(0.96)


def test_table_and_figures(tmp_path):
    from weightspace.families.tying.analysis import tying_summary
    from weightspace.families.tying.plots import curves_figure, params_figure
    from weightspace.families.tying.tables import tying_latex

    final = fake_final()
    s = tying_summary(final)
    tex = tying_latex(s)
    assert r"\begin{tabular}" in tex and r"\multicolumn{6}{l}{\emph{optimizer=sgd}} \\" in tex
    assert "tied rows$^{1\\dagger}$ & 4 & sum & 1\\,690" in tex
    adam = tex.split("optimizer=adam")[1].split("optimizer=sgd")[0].strip().splitlines()
    assert adam[1].startswith(r"untied & -- & -- & 4\,810 & $96.0 \pm 2.5$")
    assert [ln.split(" & ")[1:3] for ln in adam[2:6]] == [["2", "sum"], ["2", "mean"], ["4", "sum"], ["4", "mean"]]
    paths = params_figure(s, "digits", "small", tmp_path / "p.pdf")
    assert [p.suffix for p in paths] == [".pdf", ".png"] and paths[1].read_bytes()[:4] == b"\x89PNG"
    curves = pd.concat([final.assign(step=st, epoch=st / 10, train_loss=1.0 / (1 + st), test_loss=0.5,
                                     test_acc=final["final_test_acc"] * min(1, 0.5 + st / 20))
                        for st in range(0, 21, 5)])
    assert curves_figure(curves, "digits", "small", tmp_path / "c")[1].exists()


def test_artifacts_name_the_figures_of_each_dataset_and_net():
    from pathlib import Path

    from weightspace.artifacts import outputs
    from weightspace.config import expand
    from weightspace.families.tying import FAMILY

    cfg = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml"))
    cells = expand(cfg)

    def made(exp):
        return [str(p) for *_, paths in outputs(FAMILY, exp, cfg["experiments"][exp], cells[exp], Path("f"))
                for p in paths if p.suffix != ".pdf"]

    common = ["comparisons.tex", "comparisons.png"]
    assert made("tying") == [f"f/tying/{n}" for n in common] + [
        "f/tying/tying.tex", "f/tying/tying_params__digits__small.png", "f/tying/tying_curves__digits__small.png"]
    assert made("tying-autoencoder") == [f"f/tying-autoencoder/{n}" for n in common] + [
        "f/tying-autoencoder/tying.tex", "f/tying-autoencoder/tying_mse__digits__ae-small.png",
        "f/tying-autoencoder/tying_recon__digits__ae-small.png"]


@pytest.mark.slow
def test_quick_tying_experiments_run_through_the_workflow(tmp_path):
    """The three tying experiments of the quick preset, cut down, through Snakemake: tables and every figure."""
    import yaml
    from test_workflow import run_snakemake, workdir_copy

    repo = workdir_copy(tmp_path)
    others = {name: {"enabled": False} for name in load_config(REPO / "config.yaml")["experiments"]
              if not name.startswith("tying")}
    tiny = {"seeds": 2, "train": {"epochs": 2, "evals_per_epoch": 1}, "experiments": {
        **others,
        "tying": {"variants": [
            {"name": "untied", "reparam": "direct"},
            {"name": "tied", "reparam": "tying", "tie": "rows", "g": 8, "grad": ["sum", "mean"]},
            {"name": "narrow", "reparam": "narrow", "tie": "rows", "g": 8}]},
        "tying-crosslayer": {"variants": [
            {"name": "untied", "reparam": "direct"},
            {"name": "tied", "reparam": "tying", "tie": "tensors"}]},
        "tying-autoencoder": {"train": {"epochs": 2}},
    }}
    (repo / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    out = run_snakemake(repo, "--cores", "2", "--configfile", "config/quick.yaml", "tiny.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    figs = repo / "figures" / "quick"
    for name in ("tying/tying_params__digits__small", "tying/tying_curves__digits__small",
                 "tying-crosslayer/tying_params__digits__small-deep", "tying-autoencoder/tying_mse__digits__ae-small",
                 "tying-autoencoder/tying_recon__digits__ae-small"):
        assert (figs / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name
    for exp in ("tying", "tying-crosslayer", "tying-autoencoder"):
        assert r"\begin{tabular}" in (figs / exp / "tying.tex").read_text()
    final = pd.read_csv(repo / "results" / "quick" / "tying-autoencoder" / "final.csv")
    tied = final[final["variant"] == "tied"]
    assert (tied["tie_max_dev"] == 0).all() and (tied["n_trainable"] < tied["n_weights"]).all()


def test_what_a_tying_run_keeps_is_computed_without_scipy_or_the_tables():
    """examine_run runs in every tying training job: it must not pull in the analysis layer (scipy.stats: ~1 s)."""
    code = ("import sys; import weightspace.families; from weightspace.families.tying.examine import examine_run; "
            "print(sorted(m for m in ('scipy', 'scipy.stats', 'weightspace.stats', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_long_curves_draw_a_dozen_markers_not_one_per_evaluation(tmp_path, monkeypatch):
    """200 evaluations: a marker at each drew a thick smear that hid the sum's solid and the mean's dashed line."""
    from weightspace.families.tying import plots
    from weightspace.plots import CURVE_MARKERS, markevery

    final = fake_final()
    curves = pd.concat([final.assign(step=st, epoch=st / 10, train_loss=1.0 / (1 + st), test_loss=0.5,
                                     test_acc=final["final_test_acc"]) for st in range(0, 2001, 10)])
    seen = {}
    real = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: (seen.update(
        lines=[ln for ax in fig.axes for ln in ax.get_lines() if ln.get_marker() not in ("None", "", None)]),
        real(fig, out))[1])
    plots.curves_figure(curves, "digits", "small", tmp_path / "c")
    assert seen["lines"]
    for line in seen["lines"]:
        n, every = len(line.get_xdata()), line.get_markevery()
        assert n >= 200 and every is not None and len(range(0, n, every)) <= 2 * CURVE_MARKERS
    assert markevery(12) is None  # a short curve keeps a marker at every evaluation
