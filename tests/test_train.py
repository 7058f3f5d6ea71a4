"""The seed-batched trainer: batching equivalence, determinism, divergence."""

from __future__ import annotations

import math

import pytest
import torch

from weightspace.train import build_for_cell, train
from weightspace.train.evaluation import eval_steps as _eval_steps


def cell(variant=None, **train_kw):
    t = {"epochs": 2, "batch_size": 64, "lr": 3e-3, "evals_per_epoch": 2}
    t.update(train_kw)
    return {
        "cell": "test",
        "net": {"arch": "fc", "widths": [32]},
        "variant": variant or {"reparam": "direct"},
        "train": t,
    }


def quiet(msg):
    pass


def strip_times(rows):
    """Rows without wall-clock columns, NaN made comparable."""
    return [{k: (None if v != v else v) for k, v in r.items() if not k.endswith("time_s")} for r in rows]


VARIANTS = [
    {"reparam": "direct"},
    {"reparam": "subspace", "projection": "dense", "d": 50},
    {"reparam": "subspace", "projection": "sparse", "d": 50},
    {"reparam": "subspace", "projection": "fastfood", "d": 50},
    {"reparam": "subspace", "projection": "qr", "d": 50},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.get("projection", v["reparam"]))
def test_batched_seeds_equal_single_seed_runs(digits, variant):
    c = cell(variant)
    batched = train(c, digits, [0, 1, 2], log=quiet, progress=False)
    for i, seed in enumerate([0, 1, 2]):
        single = train(c, digits, [seed], log=quiet, progress=False)[0]
        assert batched[i].seed == seed
        assert len(single.rows) == len(batched[i].rows)
        for a, b in zip(single.rows, batched[i].rows):
            for key in ("train_loss", "test_loss", "test_acc"):
                if math.isnan(a[key]):
                    assert math.isnan(b[key])
                else:
                    assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (seed, a["step"], key)


def test_seed_order_in_batch_does_not_matter(digits):
    a = train(cell(), digits, [0, 1], log=quiet, progress=False)
    b = train(cell(), digits, [1, 0], log=quiet, progress=False)
    assert a[0].rows[-1]["test_loss"] == pytest.approx(b[1].rows[-1]["test_loss"], rel=1e-5)
    assert a[1].rows[-1]["test_loss"] == pytest.approx(b[0].rows[-1]["test_loss"], rel=1e-5)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_same_seed_twice_gives_identical_metrics(digits, optimizer):
    c = cell({"reparam": "subspace", "projection": "fastfood", "d": 30}, optimizer=optimizer, lr=0.05)
    a = train(c, digits, [3, 4], log=quiet, progress=False)
    b = train(c, digits, [3, 4], log=quiet, progress=False)
    for ra, rb in zip(a, b):
        assert strip_times(ra.rows) == strip_times(rb.rows)


def test_different_seeds_differ(digits):
    a, b = train(cell(), digits, [0, 1], log=quiet, progress=False)
    assert a.rows[-1]["test_loss"] != b.rows[-1]["test_loss"]


def test_training_learns(digits):
    res = train(cell(epochs=5), digits, [0, 1], log=quiet, progress=False)
    for r in res:
        assert r.status == "ok"
        assert r.rows[0]["step"] == 0 and math.isnan(r.rows[0]["train_loss"])
        assert r.rows[0]["test_acc"] < 0.3  # chance is 0.1
        assert r.rows[-1]["test_acc"] > 0.85
        assert r.rows[-1]["train_loss"] < r.rows[1]["train_loss"]


def test_rows_and_eval_points(digits):
    res = train(cell(epochs=3, evals_per_epoch=4), digits, [0], log=quiet, progress=False)[0]
    steps_per_epoch = 1437 // 64
    assert [r["step"] for r in res.rows] == [0] + _eval_steps(steps_per_epoch, 3, 4)
    assert res.rows[-1]["step"] == 3 * steps_per_epoch
    assert res.rows[-1]["epoch"] == 3.0
    assert _eval_steps(10, 2, 3) == [3, 7, 10, 13, 17, 20]
    assert _eval_steps(2, 1, 5) == [1, 2]  # no more evaluations than steps


def test_diverged_run_is_recorded_and_stops(digits):
    c = cell(optimizer="sgd", lr=1e4, momentum=0.9, epochs=20)
    logs = []
    res = train(c, digits, [0, 1], log=logs.append, progress=False)
    for r in res:
        assert r.status == "diverged"
        assert r.diverged_step is not None and r.diverged_step < 20 * 22
        assert r.rows[-1]["step"] == r.diverged_step
        assert r.diverged_reason  # which loss, and why
    assert any("diverged" in m for m in logs)


def test_a_finite_but_exploded_loss_counts_as_diverged(digits):
    """SGD at lr 300 sends the loss to 1e7..1e18 without a NaN: recorded ok before the divergence factor."""
    c = cell(optimizer="sgd", lr=300.0, momentum=0.9, epochs=3)
    logs = []
    res = train(c, digits, [0, 1], log=logs.append, progress=False)
    for r in res:
        assert r.status == "diverged" and r.diverged_step == r.rows[-1]["step"] > 0
        assert "x the initial test loss" in r.diverged_reason and "divergence_factor" in r.diverged_reason
        assert all(math.isfinite(row["test_loss"]) for row in r.rows)  # never NaN: only the factor catches it
    assert any("exceeds 100 x the initial test loss" in m for m in logs)
    # the rule is configurable: switched off, the same runs finish as ok
    off = train(cell(optimizer="sgd", lr=300.0, momentum=0.9, epochs=3, divergence_factor=None), digits, [0, 1],
                log=quiet, progress=False)
    assert [r.status for r in off] == ["ok", "ok"]
    assert max(row["test_loss"] for r in off for row in r.rows) > 100 * off[0].rows[0]["test_loss"]


def test_build_for_cell_counts(digits):
    net, rp = build_for_cell(cell({"reparam": "subspace", "projection": "dense", "d": 7}), digits, [0, 1], "cpu")
    assert net.n_params == 64 * 32 + 32 + 32 * 10 + 10
    assert rp.n_trainable() == 7
    assert rp.omega.shape == (2, 7)


def test_unknown_train_key_is_rejected(digits):
    with pytest.raises(ValueError, match="unknown train keys"):
        train(cell(epoch=3), digits, [0], log=quiet, progress=False)


def test_weights_of_a_seed_match_between_batched_and_single(digits):
    """Not just the metrics: the trained tensors agree."""
    from weightspace.train import make_optimizer, per_seed_loss  # noqa: F401  (API used by the trainer)

    c = cell({"reparam": "subspace", "projection": "fastfood", "d": 40}, epochs=1)
    torch.manual_seed(0)
    net, rp3 = build_for_cell(c, digits, [0, 1, 2], "cpu")
    net, rp1 = build_for_cell(c, digits, [1], "cpu")
    torch.testing.assert_close(rp3.flat_theta()[1], rp1.flat_theta()[0])


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_optimizers_compute_as_torch_optim_and_never_import_dynamo(optimizer):
    """The trainer's optimizers are torch.optim's with the torch._dynamo-importing wrappers taken off (1.1 s per
    training process): parameters and state after steps, zero_grad, state_dict and load_state_dict are bit for bit
    those of torch.optim's own class, and a process that trains never imports torch._dynamo."""
    import subprocess
    import sys

    from weightspace.train.config import TrainConfig
    from weightspace.train.step import make_optimizer

    cfg = TrainConfig(optimizer=optimizer, lr=0.01, momentum=0.9, weight_decay=1e-3)
    torch.manual_seed(0)
    ours = torch.nn.Parameter(torch.randn(4, 3))
    theirs = torch.nn.Parameter(ours.detach().clone())
    opt = make_optimizer([ours], cfg, torch.device("cpu"))
    kind = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer]
    ref = kind([theirs], lr=0.01, weight_decay=1e-3, **({"momentum": 0.9} if optimizer == "sgd" else {}))
    assert isinstance(opt, kind)
    for step in range(20):
        g = torch.randn(4, 3)
        for p, o in ((ours, opt), (theirs, ref)):
            o.zero_grad(set_to_none=True)
            (p * g).sum().backward()
            o.step()
        if step == 10:  # a resumed optimizer goes on identically
            opt.load_state_dict(opt.state_dict())
    assert torch.equal(ours, theirs)
    for key, value in ref.state[theirs].items():
        assert torch.equal(opt.state[ours][key], value), key
    assert ours.requires_grad and torch.is_grad_enabled()  # step left autograd as it was
    code = ("import sys, torch; from weightspace.train.config import TrainConfig; "
            "from weightspace.train.step import make_optimizer; "
            "p = torch.nn.Parameter(torch.ones(2)); "
            f"o = make_optimizer([p], TrainConfig(optimizer={optimizer!r}), torch.device('cpu')); "
            "o.zero_grad(); p.sum().backward(); o.step(); o.load_state_dict(o.state_dict()); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
