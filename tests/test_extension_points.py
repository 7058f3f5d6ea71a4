"""The core's extension points for families: an architecture a family adds, and the reconstruction task."""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest
import torch

from weightspace import registry
from weightspace.registry import ArchSpec
from weightspace.netspec import NetSpec, WeightSpec, net_spec


def _tiny_ae_spec(input_shape, n_outputs, options):
    """A one-hidden-layer autoencoder: in -> code -> in, sigmoid outputs (its task: reconstruction)."""
    n, code = math.prod(input_shape), options["code"]
    if code >= n:
        raise ValueError(f"code width {code} must be below the input size {n}")
    spec = OrderedDict(enc=WeightSpec((code, n), n), dec=WeightSpec((n, code), code))
    return NetSpec("tinyae", spec, tuple(input_shape), n, {}, task="reconstruction")


def tiny_ae_forward(ns):
    def forward(weights, x):
        h = x.flatten(-len(ns.input_shape))
        if h.dim() == 2:
            h = h.unsqueeze(0).expand(weights["enc"].shape[0], -1, -1)
        code = torch.relu(torch.bmm(h, weights["enc"].transpose(1, 2)))
        return torch.sigmoid(torch.bmm(code, weights["dec"].transpose(1, 2)))

    return forward


@pytest.fixture
def tiny_ae(monkeypatch):
    spec = ArchSpec("tinyae", _tiny_ae_spec, f"{__name__}:tiny_ae_forward")
    monkeypatch.setitem(registry.ARCHITECTURES, "tinyae", spec)
    return spec


def test_a_family_architecture_is_found_by_name_and_checked(tiny_ae):
    ns = net_spec("tinyae", (1, 8, 8), 10, options={"code": 16})
    assert ns.n_params == 2 * 16 * 64 and ns.task == "reconstruction" and ns.n_outputs == 64
    with pytest.raises(ValueError, match="code width 80 must be below the input size 64"):
        net_spec("tinyae", (1, 8, 8), 10, options={"code": 80})
    # the core's architectures, then every family's (registered ones, then this test's)
    expected = r"unknown architecture 'nope'; choose one of: fc, lenet, smallcnn, ([\w-]+, )*tinyae$"
    with pytest.raises(ValueError, match=expected):
        net_spec("nope", (1, 8, 8), 10)


def test_reconstruction_trains_against_the_input_pixels(tiny_ae, digits):
    from weightspace.train import train
    from weightspace.train.evaluation import targets

    # the targets are the pixels of the source, standardization undone: digits' images in [0, 1]
    pix = targets(digits, digits.x_test, digits.y_test, "reconstruction")
    assert pix.shape == (360, 64) and float(pix.min()) >= -1e-6 and float(pix.max()) <= 1 + 1e-6
    torch.testing.assert_close(pix, targets(digits, digits.x_test[:, None], None, "reconstruction")[:, 0])
    cell = {"cell": "ae", "net": {"arch": "tinyae", "code": 16}, "variant": {"reparam": "direct"},
            "train": {"epochs": 3, "batch_size": 64, "lr": 3e-3, "evals_per_epoch": 1}}
    res = train(cell, digits, [0, 1], log=lambda m: None, progress=False)
    for r in res:
        first, last = r.rows[0], r.rows[-1]
        assert math.isnan(last["test_acc"])  # no accuracy for a reconstruction
        assert last["test_loss"] < 0.5 * first["test_loss"]  # MSE against the pixels falls
        assert last["test_loss"] < 0.1


def test_a_name_is_registered_once(monkeypatch):
    """Two families cannot register one reparameterization name (nor take the core's direct)."""
    from weightspace.families.base import Family

    for table in ("FAMILIES", "REPARAMS", "ARCHITECTURES", "DATASET_KINDS", "DATASETS"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))
    clash = Family("clash", "a second direct", reparams=(registry.DIRECT,))
    with pytest.raises(RuntimeError, match="reparameterization 'direct' of family 'clash' is registered twice"):
        registry.register(clash)
    assert "clash" not in registry.FAMILIES  # nothing of a refused family is registered


def test_the_core_without_the_families_says_what_to_load():
    """The core never imports a family: a program that validates a config without loading them (the entry points
    do) is told so in one line, instead of a config refused for an unknown family."""
    import subprocess
    import sys

    code = ("import sys, weightspace.config as c\n"
            "try:\n    c.validate({'nets': {}, 'experiments': {}})\n"
            "except RuntimeError as e:\n    print(e)\n"
            "print('weightspace.families' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["no experiment family is registered: import weightspace.families first "
                                "(the CLI, the workflow and the tests' conftest.py do)", "False"]
