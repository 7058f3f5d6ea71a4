"""Conventions as configuration (issue 22): the input scaling, the initialisation and Adam's betas of a cell."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch
import yaml

from conftest import REPO
from test_train import strip_times
from weightspace.aggregate import collect
from weightspace.config import validate
from weightspace.data import ScaledInputs
from weightspace.errors import ConfigError, DataError
from weightspace.nets import build_net
from weightspace.runner import run_cell
from weightspace.train import Trainer, train
from weightspace.train.config import TrainConfig
from weightspace.train.evaluation import targets
from weightspace.train.step import make_optimizer


def quiet(msg):
    pass


def cell(variant=None, net=None, **train_kw):
    tr = {"epochs": 1, "batch_size": 64, "lr": 3e-3, "evals_per_epoch": 1, **train_kw}
    return {"cell": "t", "net": net or {"arch": "fc", "widths": [16]},
            "variant": variant or {"name": "direct", "reparam": "direct"}, "train": tr}


def quick() -> dict:
    with open(REPO / "config.yaml") as f:
        base = yaml.safe_load(f)
    with open(REPO / "config" / "quick.yaml") as f:
        over = yaml.safe_load(f)
    from weightspace.config import merge

    return merge(base, over)


# ----------------------------------------------------------------------------------------------
# input scaling


def test_unit_and_symmetric_are_the_pixels_without_a_copy(digits):
    pixels = digits.pixels(digits.x_train)  # the source's range: digits' 8-bit images / 255
    assert float(pixels.min()) == pytest.approx(0.0, abs=1e-6) and float(pixels.max()) == pytest.approx(1.0, abs=1e-6)
    unit = digits.scaled("unit")
    assert isinstance(unit.x_train, ScaledInputs) and unit.x_train.base is digits.x_train  # no copy of the data
    assert unit.x_test.base is digits.x_test and unit.input_shape == digits.input_shape
    idx = torch.tensor([[0, 5, 7], [3, 3, 1]])  # (S, B) minibatch indices, as the trainer draws them
    torch.testing.assert_close(unit.x_train[idx], pixels[idx], rtol=0, atol=1e-6)
    torch.testing.assert_close(unit.x_test[2:9], digits.pixels(digits.x_test[2:9]), rtol=0, atol=0)
    # under unit the reconstruction target is the input itself; under every scaling the pixels in [0, 1]
    assert torch.equal(unit.pixels(unit.x_train[idx]), unit.x_train[idx])
    sym = digits.scaled("symmetric")
    torch.testing.assert_close(sym.x_train[idx], 2 * pixels[idx] - 1, rtol=0, atol=1e-6)
    torch.testing.assert_close(sym.pixels(sym.x_train[idx]), pixels[idx], rtol=0, atol=1e-6)
    for scaled in (digits, unit, sym):
        torch.testing.assert_close(targets(scaled, scaled.x_test, None, "reconstruction"),
                                   targets(digits, digits.x_test, None, "reconstruction"), rtol=0, atol=1e-6)
    assert digits.scaled("standardize") is digits


def test_a_dataset_without_a_pixel_range_is_refused_at_load_and_in_the_config():
    from weightspace.data import load

    ds = load("mnist1d")
    with pytest.raises(DataError, match="dataset 'mnist1d' has no pixel range .*use input_scaling: standardize"):
        ds.scaled("unit")
    config = quick()
    config["experiments"]["subspace"]["variants"][1]["train"]["input_scaling"] = "unit"
    with pytest.raises(ConfigError) as e:
        validate(config)
    lines = [line for line in str(e.value).splitlines() if "input_scaling" in line]
    assert lines == ["  - experiments.subspace.variants[1:dense].train.input_scaling: unit scales images by their "
                     "pixel range, which dataset mnist1d has not (MNIST-1D, generated (offline)); use "
                     "input_scaling: standardize for it (e.g. in a variant or an experiment of its own)"]
    config = quick()
    config["experiments"]["sharing"]["train"] = {"input_scaling": ["standardize", "symmetric"]}
    with pytest.raises(ConfigError, match=r"experiments\.sharing\.train\.input_scaling: symmetric .* dataset "
                                          r"conv1d_teacher has not"):
        validate(config)
    config["experiments"]["sharing"]["train"] = {"input_scaling": "pixels"}
    with pytest.raises(ConfigError, match="input_scaling"):
        validate(config)


def test_the_trainer_trains_on_the_scaled_inputs_and_the_default_is_unchanged(digits):
    base = train(cell(), digits, [0], log=quiet, progress=False)[0]
    explicit = train(cell(input_scaling="standardize"), digits, [0], log=quiet, progress=False)[0]
    assert strip_times(explicit.rows) == strip_times(base.rows)  # the default is today's behaviour, bit for bit
    unit = Trainer(cell(input_scaling="unit"), digits, [0], log=quiet, progress=False)
    assert unit.data.scaling == "unit" and isinstance(unit.data.x_train, ScaledInputs)
    rows = unit.run()[0].rows
    assert rows[0]["test_loss"] != base.rows[0]["test_loss"]  # other inputs, same initial weights
    # the same as training on a dataset whose stored tensors are the pixels
    from dataclasses import replace

    plain = replace(digits, x_train=digits.pixels(digits.x_train), x_test=digits.pixels(digits.x_test),
                    x_mean=None, x_std=None)
    ref = train(cell(), plain, [0], log=quiet, progress=False)[0].rows
    for a, b in zip(rows, ref):
        assert a["test_loss"] == pytest.approx(b["test_loss"], rel=1e-5)
        assert a["test_acc"] == pytest.approx(b["test_acc"], abs=1e-3)


def test_the_autoencoder_under_unit_reconstructs_its_own_inputs(digits):
    ae = {"arch": "autoencoder", "widths": [32, 16]}
    t = Trainer(cell({"reparam": "tying", "tie": "transpose"}, net=ae, input_scaling="unit"), digits, [0],
                log=quiet, progress=False)
    idx = torch.arange(10)
    x = t.data.x_test[idx]
    assert torch.equal(targets(t.data, x, None, "reconstruction"), x.flatten(-3))
    s = Trainer(cell({"reparam": "tying", "tie": "transpose"}, net=ae), digits, [0], log=quiet, progress=False)
    torch.testing.assert_close(s.y_test, t.y_test, rtol=0, atol=1e-6)  # the same targets: pixels in [0, 1]


def test_final_csv_and_summary_record_the_conventions(tmp_path, digits):
    c = {**cell(input_scaling="unit", init={"std": [0.01, 0.1], "bias": "zero"}, beta2=0.99),
         "experiment": "e", "family": "subspace", "dataset": "digits"}
    c["net"] = {"name": "n", "arch": "fc", "widths": [16]}
    paths = run_cell(c, [0], tmp_path / "a", device="cpu", log=quiet, progress=False)
    summary = yaml.safe_load(paths[0].read_text())
    assert summary["config"]["train"]["input_scaling"] == "unit" and summary["config"]["train"]["beta2"] == 0.99
    d = {**cell(), "experiment": "e", "family": "subspace", "dataset": "digits", "cell": "d",
         "net": {"name": "n", "arch": "fc", "widths": [16]}}
    paths += run_cell(d, [0], tmp_path / "b", device="cpu", log=quiet, progress=False)
    _, final = collect(paths)
    assert final["input_scaling"].tolist() == ["unit", "standardize"]
    assert final["init"].tolist() == ["normal std=0.01,0.1 bias=zero", "torch"]


# ----------------------------------------------------------------------------------------------
# initialisation and Adam's betas


def test_normal_init_per_layer_with_zero_or_normal_biases():
    net = build_net("fc", (1, 28, 28), 10, [200, 200], init={"std": [0.001, 0.001, 0.01], "bias": "zero"})
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    w = net.init(gens)
    assert w["fc1.weight"].shape == (2, 200, 784)
    assert float(w["fc1.weight"].std()) == pytest.approx(0.001, rel=0.01)
    assert float(w["fc2.weight"].std()) == pytest.approx(0.001, rel=0.02)
    assert float(w["fc3.weight"].std()) == pytest.approx(0.01, rel=0.1)
    assert all(float(w[f"fc{i}.bias"].abs().max()) == 0 for i in (1, 2, 3))
    assert not torch.equal(w["fc1.weight"][0], w["fc1.weight"][1])  # each seed its own draw
    normal = build_net("fc", (1, 8, 8), 10, [64], init={"std": 0.5, "bias": "normal"})
    b = normal.init([torch.Generator().manual_seed(0)])["fc1.bias"]
    assert float(b.std()) == pytest.approx(0.5, rel=0.3)
    # the default is PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as before
    default = build_net("fc", (1, 8, 8), 10, [64]).init([torch.Generator().manual_seed(3)])
    g = torch.Generator().manual_seed(3)
    torch.testing.assert_close(default["fc1.weight"][0], torch.empty(64, 64).uniform_(-1 / 8, 1 / 8, generator=g))


def test_init_is_every_reparameterizations_start(digits):
    """A subspace's theta_0 and a tie's shared tensor come from the cell's init (here: zero biases)."""
    init = {"std": [0.02, 0.2], "bias": "zero"}
    t = Trainer(cell({"reparam": "subspace", "projection": "qr", "d": 10}, init=init), digits, [0], log=quiet,
                progress=False)
    w = {k: v.detach() for k, v in t.reparam().items()}
    assert float(w["fc1.bias"].abs().max()) < 1e-5 and float(w["fc1.weight"].std()) == pytest.approx(0.02, rel=0.1)
    t = Trainer(cell({"reparam": "tying", "tie": "rows", "g": 2}, init=init), digits, [0], log=quiet, progress=False)
    assert float(t.reparam()["fc2.weight"].detach().std()) == pytest.approx(0.2, rel=0.3)


def test_init_with_the_wrong_number_of_stds_is_refused_in_one_line():
    config = quick()
    config["experiments"]["subspace"]["variants"][0]["train"]["init"] = {"std": [0.1, 0.1, 0.1]}
    with pytest.raises(ConfigError) as e:
        validate(config)
    lines = [line for line in str(e.value).splitlines() if "init" in line]
    assert lines == ["  - experiments.subspace.variants[0:direct].train.init.std: net 'small': 3 stds for the 2 "
                     "layer(s) (fc1.weight, fc2.weight); give one std per layer, or one number for all"]
    config = quick()
    config["train"]["init"] = {"std": 0.0}
    with pytest.raises(ConfigError, match="init"):
        validate(config)
    config["train"]["init"] = "xavier"
    with pytest.raises(ConfigError, match="init"):
        validate(config)


def test_adam_betas_are_the_configs_and_default_to_torchs():
    p = [torch.nn.Parameter(torch.zeros(3))]
    default = make_optimizer(p, TrainConfig(), torch.device("cpu"))
    assert default.defaults["betas"] == torch.optim.Adam(p).defaults["betas"] == (0.9, 0.999)
    note = make_optimizer(p, TrainConfig(beta1=0.9, beta2=0.99), torch.device("cpu"))
    assert note.defaults["betas"] == (0.9, 0.99)


def test_validated_cells_carry_the_conventions_and_a_list_makes_a_grid():
    from weightspace.config import expand

    config = quick()
    config["experiments"]["tying-autoencoder"]["train"] = {"input_scaling": ["standardize", "unit"]}
    config["experiments"]["tying-autoencoder"]["variants"] = [{"name": "untied", "reparam": "direct"},
                                                              {"name": "tied", "reparam": "tying", "tie": "transpose"}]
    cells = expand(validate(copy.deepcopy(config)))["tying-autoencoder"]
    scalings = sorted({(c["variant"]["name"], c["train"]["input_scaling"]) for c in cells.values()})
    assert scalings == [("tied", "standardize"), ("tied", "unit"), ("untied", "standardize"), ("untied", "unit")]
    assert all(c["train"]["init"] == "torch" and c["train"]["beta1"] == 0.9 for c in cells.values())
    assert any(cid.endswith("__input_scalingunit") for cid in cells)



# ----------------------------------------------------------------------------------------------
# captions and tables name the conventions; the tied autoencoder under both


def test_captions_name_each_experiments_conventions():
    from weightspace.config import expand
    from weightspace.formatting import conventions

    config = quick()
    config["experiments"]["subspace"]["variants"][0]["train"].update(
        input_scaling="unit", init={"std": [0.001, 0.01]}, beta2=0.99)
    config["experiments"]["subspace"]["datasets"] = ["digits"]
    cells = expand(validate(config))
    text = conventions(cells["subspace"].values())
    assert text.startswith("Conventions: inputs in [0, 1] (pixels / 255) (direct); standardized ((x - mean) / std of "
                           "the training set, per channel) (dense, sparse, fastfood, qr); initial weights ")
    assert "N(0, std^2) with std per layer 0.001, 0.01, biases zero (direct)" in text
    assert text.endswith("Adam's betas (0.9, 0.99) (direct); (0.9, 0.999) (dense, sparse, fastfood, qr).")
    ae = conventions(cells["tying-autoencoder"].values())
    assert ae.startswith("Conventions: inputs standardized ((x - mean) / std of the training set, per channel) or "
                         "in [0, 1] (pixels / 255) (swept: each a setting of its own); initial weights PyTorch's")
    assert "inputs as drawn (N(0, 1))" in conventions(cells["sharing"].values())  # a teacher's
    for caption in (REPO / "workflow" / "report").glob("*.rst"):
        assert "{{ snakemake.params.conventions }}" in caption.read_text(), caption.name
    assert "conventions=conventions(experiment)" in (REPO / "workflow" / "rules" / "render.smk").read_text()


def test_the_tying_table_names_the_conventions_and_each_settings_scaling():
    from weightspace.families.tying.tables import tying_latex

    rows = []
    for variant, reparam, scaling, swept in [("untied", "direct", "standardize", ""),
                                             ("tied", "tying", "standardize", ""),
                                             ("untied-unit", "direct", "unit", "input_scaling=unit"),
                                             ("tied-unit", "tying", "unit", "input_scaling=unit")]:
        rows.append(dict(dataset="mnist", net="ae", variant=variant, reparam=reparam, method=variant,
                         tie="transpose" if reparam == "tying" else None, setting=swept, input_scaling=scaling,
                         init="torch", n_trainable=10, n_ok=5, n_diverged=0, final_test_acc_mean=float("nan"),
                         final_test_loss_mean=0.004, final_test_loss_lo=0.003, final_test_loss_hi=0.005,
                         final_train_loss_mean=0.004, final_train_loss_lo=0.003, final_train_loss_hi=0.005))
    tex = tying_latex(pd.DataFrame(rows))
    assert ("inputs standardized ((x - mean) / std of the training set, per channel) or in [0, 1] (pixels / 255); "
            "initial weights torch; reconstruction MSE per pixel against the pixels in [0, 1]") in tex.splitlines()[0]
    assert r"\emph{input\_scaling=standardize}" in tex and r"\emph{input\_scaling=unit}" in tex


def test_the_tied_autoencoder_is_compared_with_the_untied_one_under_each_convention():
    from weightspace import comparisons, registry
    from weightspace.config import expand

    for files in ([REPO / "config.yaml", REPO / "config" / "quick.yaml"], [REPO / "config.yaml"]):
        from weightspace.config import load_config

        config = validate(load_config(*files))
        exp = config["experiments"]["tying-autoencoder"]
        cells = expand(config)["tying-autoencoder"]
        assert {c["train"]["input_scaling"] for c in cells.values()} == {"standardize", "unit"}
        refs = comparisons.cells_from_config(cells)
        tests = comparisons.tests_of(exp, exp["variants"], registry.FAMILIES["tying"].default_comparisons(exp))
        pairs = {}
        for _, test in tests:
            for a, b in comparisons.resolve(test, refs):
                pairs.setdefault((test.a, test.b), set()).add(
                    (dict(a.train)["input_scaling"], dict(b.train)["input_scaling"]))
        assert pairs == {("tied", "untied"): {("standardize", "standardize")},
                         ("tied-unit", "untied-unit"): {("unit", "unit")}}, pairs


# ----------------------------------------------------------------------------------------------
# a subspace variant per convention, each with its own full-space baseline


def test_each_subspace_variant_may_have_its_own_baseline():
    from weightspace.families.subspace.analysis import dint90

    rows = []
    for seed in range(3):
        for variant, reparam, d, acc in [("direct", "direct", 100, 0.98), ("direct-note", "direct", 100, 0.60),
                                         ("qr", "subspace", 10, 0.50), ("qr", "subspace", 30, 0.90),
                                         ("qr-note", "subspace", 10, 0.50), ("qr-note", "subspace", 30, 0.58)]:
            rows.append(dict(dataset="m", net="fc", variant=variant, reparam=reparam, d=d, dim=d, swept="d",
                             projection="qr" if reparam == "subspace" else None, n_weights=100, seed=seed,
                             status="ok", final_test_acc=acc + 0.001 * seed))
    final = pd.DataFrame(rows)
    dint = dint90(final, n_boot=50, baseline={"qr": "direct", "qr-note": "direct-note"}).set_index("variant")
    assert dint.loc["qr", "baseline"] == "direct" and dint.loc["qr-note", "baseline"] == "direct-note"
    assert dint.loc["qr", "dint"] == 30 and dint.loc["qr-note", "dint"] == 30  # 0.58 >= 0.9 x 0.60: its own
    assert dint.loc["qr-note", "baseline_mean"] == pytest.approx(0.601)
    config = quick()
    sub = config["experiments"]["subspace"]
    sub["variants"] = [sub["variants"][0], dict(sub["variants"][0], name="direct-note"), sub["variants"][4],
                       dict(sub["variants"][4], name="qr-note")]
    sub["analysis"]["baseline"] = {"qr": "direct", "qr-note": "direct-note"}
    validate(config)
    sub["analysis"]["baseline"] = {"qr": "direct", "qr-note": "qr"}
    with pytest.raises(ConfigError, match=r"experiments\.subspace\.analysis\.baseline\.qr-note: 'qr' is not a "
                                          r"direct variant \(the full-space baseline\); direct variants: direct, "
                                          r"direct-note"):
        validate(config)
    sub["analysis"]["baseline"] = {"qr": "direct"}
    with pytest.raises(ConfigError, match=r"experiments\.subspace\.analysis\.baseline: no baseline for the subspace "
                                          r"variant\(s\) qr-note; map every subspace variant to a direct variant"):
        validate(config)
