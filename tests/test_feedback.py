"""The weight-feedback family (issue 12): sizes, features, detach vs flow, seed independence, controls, analysis."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import yaml
from conftest import REPO, write_cifar10_like

from weightspace import data
from weightspace.config import expand, experiment_seeds, load_config, validate
from weightspace.errors import ConfigError
from weightspace.registry import FAMILIES
from weightspace.families.feedback.analysis import feedback_summary, paired_differences
from weightspace.families.feedback.geometry import FEEDBACK_INPUT, feedback_bytes
from weightspace.families.feedback.nets import maxpool_features, xavier_bound
from weightspace.families.feedback.reparam import Feedback
from weightspace.nets import build_net
from weightspace.netspec import net_spec
from weightspace.train import train

NOTE_MNIST = {"widths": [60], "features": 26, "pool_fc1": [25, 31], "pool_fc2": [2, 25]}
NOTE_CIFAR = {"channels": [20, 50], "widths": [500], "features": 460, "pool_fc1": [50, 45], "pool_fc2": [2, 50]}
DIGITS = {"kernel": 3, "padding": 1, "widths": [32], "features": 10, "pool_fc1": [16, 25], "pool_fc2": [5, 16]}
MODES = [("none", "detach"), ("ones", "detach"), ("frozen", "detach"), ("maxpool", "detach"), ("maxpool", "flow"),
         ("projection", "detach"), ("projection", "flow")]


def quiet(msg):
    pass


@pytest.fixture(autouse=True)
def _one_thread():
    """These nets are tiny: one thread is fastest, and does not stall when the machine's other cores are busy."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def digits_net(**options):
    return build_net("feedback", (1, 8, 8), 10, options=dict(DIGITS, **options))


def feedback_cell(mode="maxpool", gradient="detach", net=None, **train_kw):
    t = {"epochs": 2, "batch_size": 64, "optimizer": "sgd", "lr": 0.05, "momentum": 0.5, "evals_per_epoch": 1}
    t.update(train_kw)
    return {"cell": f"fb-{mode}-{gradient}", "net": {"arch": "feedback", **(net or DIGITS)},
            "variant": {"reparam": "feedback", "feedback": mode, "gradient": gradient}, "train": t}


# ----------------------------------------------------------------------------------------------
# sizes


def test_the_notes_mnist_numbers_give_26_features():
    ns = net_spec("feedback", (1, 28, 28), 10, options=NOTE_MNIST)
    g = ns.geometry
    assert g["conv_features"] == 160 and g["features"] == 26
    assert ns.spec["fc1.weight"].shape == (60, 160 + 26) and ns.spec["fc2.weight"].shape == (10, 60)
    p = g["pool"]
    assert p["fc1"] == (2, 6) and p["fc2"] == (5, 2)  # 60 // 25, 186 // 31; 10 // 2, 60 // 25
    assert (p["n_pooled"], p["ones"]) == (22, 4)  # the note's dw = 22, dx = 26
    assert p["uncovered"] == {"fc1": (10, 0), "fc2": (0, 10)}  # hidden units 50-59 lie outside every window


def test_the_notes_cifar10_numbers_give_460_features():
    ns = net_spec("feedback", (3, 32, 32), 10, options=NOTE_CIFAR)
    g = ns.geometry
    assert g["conv_features"] == 5 * 5 * 50 == 1250
    assert ns.spec["fc1.weight"].shape == (500, 1250 + 460)
    assert g["pool"]["fc1"] == (10, 38) and g["pool"]["fc2"] == (5, 10)
    assert (g["pool"]["n_pooled"], g["pool"]["ones"]) == (430, 30)  # the note's fill of 30 ones
    assert g["pool"]["uncovered"] == {"fc1": (0, 0), "fc2": (0, 0)}


def test_sizes_that_do_not_divide_into_the_features_are_refused_naming_them():
    with pytest.raises(ValueError) as e:
        net_spec("feedback", (1, 28, 28), 10, options=dict(NOTE_MNIST, features=16))
    msg = str(e.value)
    for part in ("do not divide into features=16", "fc1.weight (60 x 176)", "25 x 31 kernel gives 2 x 5 = 10",
                 "fc2.weight (10 x 60) by 2 x 25 gives 5 x 2 = 10", "20 values for 16 inputs", "features >= 20"):
        assert part in msg, msg
    with pytest.raises(ValueError, match=r"a 61 x 31 max-pool kernel does not fit in fc1.weight, which is 60 x 186"):
        net_spec("feedback", (1, 28, 28), 10, options=dict(NOTE_MNIST, pool_fc1=[61, 31]))
    with pytest.raises(ValueError, match="pool_fc1 and pool_fc2 go together"):
        net_spec("feedback", (1, 28, 28), 10, options={"widths": [60], "features": 26, "pool_fc1": [25, 31]})
    with pytest.raises(ValueError, match=r"widths must be \[H\]"):
        net_spec("feedback", (1, 28, 28), 10, options={"widths": [60, 60], "features": 0})
    with pytest.raises(ValueError, match="cannot take 8x8 inputs"):
        net_spec("feedback", (1, 8, 8), 10, options={"features": 0})  # the note's 5x5 convs need 28x28


def _config(nets: dict, experiment: dict) -> dict:
    return {"seeds": 2, "nets": nets, "experiments": {"fb": {"family": "feedback", **experiment}}}


def test_a_non_dividing_net_fails_at_config_time_with_one_line():
    cfg = _config({"bad": {"arch": "feedback", **dict(NOTE_MNIST, features=16)}},
                  {"datasets": ["mnist"], "nets": ["bad"], "variants": [{"name": "m", "reparam": "feedback",
                                                                         "feedback": "maxpool"}]})
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    lines = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("-")]
    assert len(lines) == 1
    assert "experiments.fb: net 'bad' cannot run on mnist: the max-pooled fc weights do not divide" in lines[0]


def test_variant_checks_name_the_option():
    nets = {"fb": {"arch": "feedback", **DIGITS}, "nopool": {"arch": "feedback", "kernel": 3, "padding": 1,
                                                             "widths": [32], "features": 10},
            "mlp": {"arch": "fc", "widths": [8]}}

    def problems(net, **variant):
        cfg = _config(nets, {"datasets": ["digits"], "nets": [net],
                             "variants": [{"name": "v", "reparam": "feedback", **variant}]})
        with pytest.raises(ConfigError) as e:
            validate(cfg)
        return str(e.value)

    assert "variants[0:v].gradient: only maxpool and projection feed back" in problems("fb", feedback="ones",
                                                                                       gradient="flow")
    assert "variants[0:v].frozen_features: applies to feedback: frozen only" in problems(
        "fb", feedback="maxpool", frozen_features="projection")
    assert "set pool_fc1 and pool_fc2 in net 'nopool'" in problems("nopool", feedback="maxpool")
    assert "needs a net with `arch: feedback`" in problems("mlp", feedback="ones")
    assert "unknown key 'features'" in problems("fb", feedback="ones", features=3)
    cfg = _config(nets, {"datasets": ["digits"], "nets": ["fb"], "variants": [{"name": "d", "reparam": "direct"}]})
    with pytest.raises(ConfigError, match=r"variants\[0:d\]: a feedback experiment compares `reparam: feedback`"):
        validate(cfg)
    # projection on a net without max-pool kernels is fine
    validate(_config(nets, {"datasets": ["digits"], "nets": ["nopool"],
                            "variants": [{"name": "p", "reparam": "feedback", "feedback": "projection"}]}))


# ----------------------------------------------------------------------------------------------
# the features


def test_maxpool_features_are_each_windows_maximum_then_ones():
    net = digits_net()
    g = net.geometry
    w1, w2 = torch.randn(3, 32, 50), torch.randn(3, 10, 32)
    f = maxpool_features(w1, w2, g)
    assert f.shape == (3, 10)
    for s in range(3):  # the note's computation, one seed at a time: 2x2 windows of fc1, 2x2 of fc2
        m1 = torch.stack([w1[s, 16 * i:16 * (i + 1), 25 * j:25 * (j + 1)].max() for i in range(2) for j in range(2)])
        m2 = torch.stack([w2[s, 5 * i:5 * (i + 1), 16 * j:16 * (j + 1)].max() for i in range(2) for j in range(2)])
        torch.testing.assert_close(f[s], torch.cat([m1, m2, torch.ones(2)]))
    # the note's MNIST layout: torch's max_pool2d on each matrix, 22 values and 4 ones
    ns = build_net("feedback", (1, 28, 28), 10, options=NOTE_MNIST)
    a, b = torch.randn(2, 60, 186), torch.randn(2, 10, 60)
    f = maxpool_features(a, b, ns.geometry)
    note = [torch.cat([F.max_pool2d(a[s][None], (25, 31)).flatten(), F.max_pool2d(b[s][None], (2, 25)).flatten(),
                       torch.ones(4)]) for s in range(2)]
    torch.testing.assert_close(f, torch.stack(note))


def test_projection_is_xavier_fixed_regenerated_from_the_seed_and_never_saved():
    net = digits_net()
    n = 32 * 50 + 10 * 32
    rp = Feedback(net, [3, 7], feedback="projection")
    P = rp.P
    assert P.shape == (2, n, 10)
    bound = xavier_bound(n, 10)
    assert bound == pytest.approx(math.sqrt(6 / (n + 10)))
    assert float(P.abs().max()) <= bound and float(P.abs().max()) > 0.99 * bound
    assert float(P.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)  # uniform on [-b, b]
    alone = Feedback(net, [7], feedback="projection")
    assert torch.equal(alone.P[0], P[1])  # seed 7's matrix does not depend on its batch
    assert not torch.equal(P[0], P[1])
    assert "P" not in rp.state_dict() and all(not k.startswith("P") for k in rp.state_dict())
    assert sum(p.numel() for p in rp.parameters()) == 2 * net.n_params  # P is not trained
    w = rp()
    flat = torch.cat([w["fc1.weight"].reshape(2, -1), w["fc2.weight"].reshape(2, -1)], 1)
    torch.testing.assert_close(w[FEEDBACK_INPUT], torch.stack([flat[s] @ P[s] for s in range(2)]))
    # a rebuilt module (a resumed run) loads the trained tensors and regenerates the same P
    again = Feedback(net, [3, 7], feedback="projection")
    again.load_state_dict(rp.state_dict())
    torch.testing.assert_close(again()[FEEDBACK_INPUT], w[FEEDBACK_INPUT])


@pytest.mark.parametrize("mode", ["maxpool", "projection"])
def test_gradient_reaches_the_fc_weights_through_the_fed_back_path_only_with_flow(mode):
    net = digits_net()
    x = torch.randn(2, 16, 1, 8, 8)
    grads = {}
    for gradient in ("detach", "flow"):
        rp = Feedback(net, [0, 1], feedback=mode, gradient=gradient)
        w = rp()
        assert w[FEEDBACK_INPUT].requires_grad == (gradient == "flow")
        if gradient == "flow":  # the fed-back vector alone: its gradient lands on fc1 and fc2
            w[FEEDBACK_INPUT].sum().backward(retain_graph=True)
            assert rp.w["fc1__weight"].grad.abs().sum() > 0 and rp.w["fc2__weight"].grad.abs().sum() > 0
            assert rp.w["conv1__weight"].grad is None
            rp.zero_grad(set_to_none=True)
        net.forward(w, x).sum().backward()
        grads[gradient] = {k: p.grad.clone() for k, p in rp.w.items()}
    # same weights (same seeds), same forward values: only the fc weights' gradients differ, by the feedback path
    for k in grads["detach"]:
        if k in ("fc1__weight", "fc2__weight"):
            assert not torch.allclose(grads["detach"][k], grads["flow"][k]), k
        else:
            torch.testing.assert_close(grads["detach"][k], grads["flow"][k])


def test_none_is_the_plain_net_and_ones_has_the_same_width():
    net = digits_net()
    none, ones, pool = (Feedback(net, [0, 1], feedback=m) for m in ("none", "ones", "maxpool"))
    D, H, Fd = net.n_params, 32, 10
    assert ones.n_trainable() == pool.n_trainable() == D
    assert none.n_trainable() == D - H * Fd  # fc1's extra columns are not trained
    w = none()
    assert torch.equal(w["fc1.weight"][..., 40:], torch.zeros(2, H, Fd)) and torch.equal(w[FEEDBACK_INPUT],
                                                                                          torch.zeros(2, Fd))
    assert torch.equal(ones()[FEEDBACK_INPUT], torch.ones(2, Fd))
    # every variant of a seed starts from the same weights (fc1's conv columns included)
    for name in net.spec:
        a, b = none()[name], pool()[name]
        k = 40 if name == "fc1.weight" else None
        torch.testing.assert_close(a[..., :k] if k else a, b[..., :k] if k else b)
    # none computes exactly what a net without extra inputs computes with the same weights
    plain = digits_net(features=0, pool_fc1=None, pool_fc2=None)
    pw = {n: (w[n][..., :40] if n == "fc1.weight" else w[n]) for n in plain.spec}
    x = torch.randn(20, 1, 8, 8)
    torch.testing.assert_close(net.forward(w, x), plain.forward(pw, x))


def test_frozen_feeds_the_initial_features_while_the_weights_move(digits):
    c = feedback_cell("frozen", epochs=1)
    from weightspace.train import Trainer

    t = Trainer(c, digits, [0, 1], log=quiet, progress=False)
    before = {k: v.detach().clone() for k, v in t.reparam().items()}
    t.run()
    after = t.reparam()
    assert not torch.equal(after["fc1.weight"], before["fc1.weight"])
    torch.testing.assert_close(after[FEEDBACK_INPUT], before[FEEDBACK_INPUT])
    torch.testing.assert_close(before[FEEDBACK_INPUT],
                               maxpool_features(before["fc1.weight"], before["fc2.weight"], t.net.geometry))
    assert not torch.allclose(after[FEEDBACK_INPUT],
                              maxpool_features(after["fc1.weight"], after["fc2.weight"], t.net.geometry))
    rows = t.results[0].rows
    assert rows[-1]["feedback_drift"] == 0.0


@pytest.mark.parametrize("mode,gradient", [("maxpool", "flow"), ("projection", "detach"), ("frozen", "detach")])
def test_a_seed_trains_the_same_alone_as_in_a_batch(digits, mode, gradient):
    c = feedback_cell(mode, gradient)
    batched = train(c, digits, [0, 1, 2], log=quiet, progress=False)
    single = train(c, digits, [1], log=quiet, progress=False)[0]
    assert len(single.rows) == len(batched[1].rows) == 3
    for a, b in zip(single.rows[1:], batched[1].rows[1:]):  # (step 0 has no training loss)
        for key in ("train_loss", "test_loss", "test_acc", "feedback_drift"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (a["step"], key)
    assert single.rows[0]["test_loss"] == pytest.approx(batched[1].rows[0]["test_loss"], rel=1e-5)
    assert batched[0].rows[-1]["test_loss"] != batched[1].rows[-1]["test_loss"]


def test_memory_counts_the_projection_matrix():
    ns = net_spec("feedback", (3, 32, 32), 10, options=NOTE_CIFAR)
    n = 500 * 1710 + 10 * 500
    direct = 4 * ns.n_params * 3
    assert feedback_bytes({"feedback": "maxpool"}, ns, 1) == direct
    assert feedback_bytes({"feedback": "projection"}, ns, 2) == 2 * direct + 4 * 2 * n * 460  # 1.6 GB a seed
    assert feedback_bytes({"feedback": "frozen", "frozen_features": "projection"}, ns, 1) == direct + 4 * n * 460


# ----------------------------------------------------------------------------------------------
# configs and CIFAR-10


def test_the_paper_grid_plans_every_variant_on_mnist_fashion_and_cifar10_with_ten_seeds():
    cfg = validate(load_config(REPO / "config.yaml"))
    cells = expand(cfg)
    modes = {(m, g) for m, g in MODES}
    for exp, datasets in (("feedback", {"mnist", "fashion_mnist"}), ("feedback-cifar", {"cifar10"})):
        assert len(experiment_seeds(cfg, exp)) >= 10
        for d in datasets:
            for opt in ("sgd", "adam"):
                got = {(c["variant"]["feedback"], c["variant"].get("gradient", "detach")) for c in cells[exp].values()
                       if c["dataset"] == d and c["train"]["optimizer"] == opt}
                assert got == modes, (exp, d, opt)
    sgd = next(c for c in cells["feedback"].values() if c["train"]["optimizer"] == "sgd")
    assert (sgd["train"]["lr"], sgd["train"]["momentum"], sgd["train"]["batch_size"]) == (0.01, 0.5, 64)
    nets = {c["net"]["name"] for c in cells["feedback-published"].values()}
    assert nets == {"note-mnist-baseline", "feedback-mnist"}
    assert len(experiment_seeds(cfg, "feedback-published")) >= 10
    # every CIFAR-10 cell's net builds on CIFAR-10's inputs: the note's 460 features
    for c in cells["feedback-cifar"].values():
        options = {k: v for k, v in c["net"].items() if k not in ("name", "arch")}
        ns = net_spec("feedback", (3, 32, 32), 10, options=options)
        assert ns.geometry["features"] == 460 and ns.geometry["pool"]["n_pooled"] == 430


def test_a_tiny_cifar10_file_in_the_real_format_trains_one_step(tmp_path):
    write_cifar10_like(tmp_path, per_batch=4)
    ds = data.load("cifar10", tmp_path, download=False, verify=False)
    assert ds.input_shape == (3, 32, 32) and len(ds.x_train) == 20
    c = feedback_cell("maxpool", "flow", net=NOTE_CIFAR, epochs=1, batch_size=20)
    res = train(c, ds, [0], log=quiet, progress=False)[0]
    assert [r["step"] for r in res.rows] == [0, 1] and res.n_weights == 887_080
    assert math.isfinite(res.rows[-1]["train_loss"]) and res.rows[-1]["feedback_drift"] > 0


# ----------------------------------------------------------------------------------------------
# numbers in the family's config keys (as tests/test_config_generated.py does for the core's)


def _digits_config() -> dict:
    cfg = load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml")
    exp = copy.deepcopy(cfg["experiments"]["feedback"])
    exp["variants"] = exp["variants"][:1]
    net = dict(cfg["nets"]["feedback-digits"], channels=[5, 10])  # the default, written out
    return {**{k: v for k, v in cfg.items() if k not in ("experiments", "nets")},
            "nets": {"feedback-digits": net}, "experiments": {"feedback": exp}}


NUMERIC = [("features", None), ("kernel", None), ("padding", None), ("channels", 0), ("pool_fc1", 1),
           ("pool_fc2", 0)]


@pytest.mark.parametrize("key,index", NUMERIC)
@pytest.mark.parametrize("value,outcome", [(2.5, "an integer"), ("abc", "an integer"), (math.nan, "finite"),
                                           (math.inf, "finite"), (-1, "out of range"), ("whole", None)])
def test_net_options_take_integers(key, index, value, outcome):
    cfg = _digits_config()
    net = cfg["nets"]["feedback-digits"]
    current = net[key] if index is None else net[key][index]
    if value == "whole":
        value = float(current)
    if index is None:
        net[key] = value
    else:
        net[key][index] = value
    path = f"nets.feedback-digits.{key}" + ("" if index is None else f"[{index}]")
    if outcome is None:
        out = validate(cfg)["nets"]["feedback-digits"][key]
        got = out if index is None else out[index]
        assert got == current and type(got) is int
        return
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    line = next((ln for ln in str(e.value).splitlines() if path in ln), None)
    assert line is not None and outcome in line, str(e.value)


def test_an_experiment_may_have_its_own_seeds(capsys):
    """The generic per-experiment ``seeds`` (the paper grid's feedback experiments use 10, the others 5)."""
    from weightspace.cli import main
    from weightspace.estimate import plan

    cfg = validate(load_config(REPO / "config.yaml"))
    assert experiment_seeds(cfg, "subspace") == list(range(5)) and experiment_seeds(cfg, "feedback") == list(range(10))
    assert main(["validate", str(REPO / "config.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].endswith("(5, 10 seeds per experiment)")
    row = next(line.split() for line in lines if line.split()[0] == "feedback")
    assert int(row[4]) == 10 * int(row[2])
    df = plan(cfg)
    assert set(df.loc[df["experiment"] == "feedback", "runs"]) == {10} and set(df.loc[df["experiment"] == "subspace",
                                                                                       "runs"]) == {5}
    bad = copy.deepcopy(load_config(REPO / "config.yaml"))
    bad["experiments"]["feedback"]["seeds"] = 0
    with pytest.raises(ConfigError, match=r"experiments.feedback.seeds"):
        validate(bad)
    bad["experiments"]["feedback"]["seeds"] = [3, 4, 7]
    assert experiment_seeds(validate(bad), "feedback") == [3, 4, 7]


def test_quick_preset_feedback_runs_offline_with_equal_seeds():
    cfg = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml"))
    cells = expand(cfg)
    for exp in ("feedback", "feedback-published"):
        assert {c["dataset"] for c in cells[exp].values()} == {"digits"}
        assert experiment_seeds(cfg, exp) == cfg["seeds"]
    assert "feedback-cifar" not in cells and "feedback-published-cifar" not in cells


# ----------------------------------------------------------------------------------------------
# analysis


def _final(rows: list[tuple]) -> pd.DataFrame:
    """final.csv rows from (net, variant, feedback, features, optimizer, seed, acc, status)."""
    out = []
    for net, variant, mode, features, opt, seed, acc, status in rows:
        out.append({"dataset": "mnist", "cell": f"{net}__{variant}", "net": net, "variant": variant, "feedback": mode,
                     "feedback_features": features, "optimizer": opt, "lr": 0.01, "swept": "optimizer lr",
                     "seed": seed, "final_test_acc": acc, "status": status, "n_trainable": 1})
    return pd.DataFrame(out)


def _comparisons(final: pd.DataFrame) -> pd.DataFrame:
    """comparisons.csv of ``final`` as `weightspace analyze` writes it: the family's default tests (every variant
    against the none and ones variants) through the core comparisons."""
    from weightspace.comparisons import paired_table, tests_of
    from weightspace.comparisons.declared import OPTIONS

    family = FAMILIES["feedback"]
    variants = [{"name": v, "feedback": m} for v, m in dict(zip(final["variant"], final["feedback"])).items()]
    exp = {"family": "feedback", "variants": variants}
    tests = [t for _, t in tests_of(exp, variants, family.default_comparisons(exp))]
    return paired_table(final, tests, {**OPTIONS, "n_resamples": 200}, family.metrics, family.auto_metric)


def _summary(final: pd.DataFrame, paired: pd.DataFrame | None = None) -> pd.DataFrame:
    return feedback_summary(final, _comparisons(final), paired)


def test_p_values_are_the_core_comparisons_holm_adjusted_over_the_experiment():
    rows = [("n", f"{m}-{opt}", m, 10, opt, s, acc + s / 100 + (0.001 * s if m == "maxpool" else 0), "ok")
            for opt in ("sgd", "adam") for s in range(5)
            for m, acc in (("none", 0.9), ("ones", 0.9), ("maxpool", 0.91))]
    final = _final(rows)
    comparisons = _comparisons(final)
    summary = feedback_summary(final, comparisons)
    sgd = summary[summary["setting"] == "optimizer=sgd lr=0.01"].set_index("arm")
    assert sgd.loc["maxpool", "vs_none_p"] == pytest.approx(2 / 32)  # all 5 differences positive: 0.0625
    assert sgd.loc["ones", "vs_none_p"] == 1.0  # identical accuracies
    # 6 comparisons in the experiment (ones-none, maxpool-none, maxpool-ones per optimizer), Holm over all of them
    # (not 3 per setting): the two smallest p (2/32, one per optimizer) become 6 x 2/32 and max(5 x 2/32, that)
    assert len(comparisons) == 6 and (comparisons["m"] == 6).all()
    assert sgd.loc["maxpool", "vs_none_p_holm"] == pytest.approx(6 * 2 / 32)
    # one p per pair in a results folder: the summary's are comparisons.csv's, pair by pair
    core = comparisons.set_index(["a", "b"])
    pairs = (("maxpool", "none", "maxpool-sgd", "none-sgd"), ("maxpool", "ones", "maxpool-sgd", "ones-sgd"),
             ("none", "ones", "ones-sgd", "none-sgd"))
    for arm, ref, a, b in pairs:
        assert sgd.loc[arm, f"vs_{ref}_p"] == core.loc[(a, b), "p"]
        assert sgd.loc[arm, f"vs_{ref}_p_holm"] == core.loc[(a, b), "p_holm"]
    assert sgd.loc["ones", "vs_none_p_holm"] == sgd.loc["none", "vs_ones_p_holm"] == 1.0
    # without the core comparisons (comparisons: false) there is no p, never one computed here
    bare = feedback_summary(final, comparisons.iloc[:0]).set_index(["setting", "arm"])
    assert bare[["vs_none_p", "vs_none_p_holm"]].isna().all().all() and bare["vs_none_mean"].notna().any()


def test_paired_differences_pair_seeds_within_each_setting_and_skip_unfinished_ones():
    rows = []
    for opt, shift in (("sgd", 0.0), ("adam", 0.5)):
        for s in range(4):
            rows += [("n", f"none-{opt}", "none", 10, opt, s, 0.90 + shift / 10 + s / 100, "ok"),
                     ("n", f"ones-{opt}", "ones", 10, opt, s, 0.91 + shift / 10 + s / 100, "ok"),
                     ("n", f"maxpool-{opt}", "maxpool", 10, opt, s, 0.93 + shift / 10 + s / 100,
                      "diverged" if (opt, s) == ("sgd", 3) else "ok")]
    final = _final(rows)
    paired = paired_differences(final)
    summary = _summary(final, paired)
    sgd = summary[summary["setting"] == "optimizer=sgd lr=0.01"].set_index("arm")
    assert list(sgd.index) == ["none", "ones", "maxpool"]  # the optimizer suffix is the setting's
    assert sgd.loc["maxpool", "vs_none_mean"] == pytest.approx(0.03)
    assert sgd.loc["maxpool", "vs_none_n"] == 3 and sgd.loc["maxpool", "n_diverged"] == 1  # seed 3 not paired
    assert sgd.loc["maxpool", "vs_ones_mean"] == pytest.approx(0.02)
    assert sgd.loc["maxpool", "vs_none_lo"] == pytest.approx(0.03) and sgd.loc["maxpool", "vs_none_p"] == 0.25
    assert math.isnan(sgd.loc["none", "vs_none_mean"]) and sgd.loc["none", "vs_ones_mean"] == pytest.approx(-0.01)
    adam = summary[summary["setting"] == "optimizer=adam lr=0.01"].set_index("arm")
    assert adam.loc["maxpool", "vs_none_n"] == 4  # never paired across settings
    assert set(paired["reference_arm"]) == {"none", "ones"}


def test_the_notes_pair_is_compared_with_its_baseline_net(tmp_path):
    """The note's pair (one variant on a baseline net and a fed-back net): its p is the core comparisons' test of
    the two nets the experiment declares (a_net, b_net), end to end through `weightspace analyze`."""
    import json

    from weightspace.cli import main
    from weightspace.comparisons import spec

    rows = []
    for s in range(3):
        rows += [("note-baseline", "note", "maxpool", 0, "sgd", s, 0.97 + s / 1000, "ok"),
                 ("note-feedback", "note", "maxpool", 26, "sgd", s, 0.975 + s / 1000, "ok")]
    final = _final(rows).assign(family="feedback")
    final.to_csv(tmp_path / "final.csv", index=False)
    summary = _summary(final).set_index("arm")  # the family's defaults alone: variants on one net, no p here
    assert summary.loc["note-baseline", "mode"] == "none"  # no extra inputs: nothing fed back
    assert summary.loc["note-feedback", "vs_none_arm"] == "note-baseline"
    assert summary.loc["note-feedback", "vs_none_mean"] == pytest.approx(0.005)
    assert summary.loc["note-feedback", "vs_ones_n"] == 0
    assert math.isnan(summary.loc["note-feedback", "vs_none_p"])
    exp = {"family": "feedback", "variants": [{"name": "note", "feedback": "maxpool"}],
           "comparisons": {"n_resamples": 200, "tests": [{"a": "note", "b": "note", "a_net": "note-feedback",
                                                          "b_net": "note-baseline"}]}}
    data = spec(exp, FAMILIES["feedback"].default_comparisons(exp), {})
    main(["analyze", "--family", "feedback", "--final", str(tmp_path / "final.csv"), "--out", str(tmp_path),
          "--comparisons-json", json.dumps(data)])
    core = pd.read_csv(tmp_path / "comparisons.csv")
    assert len(core) == 1 and core.loc[0, "net"] == "note-feedback vs note-baseline"
    assert (core.loc[0, "a"], core.loc[0, "b"]) == ("note (note-feedback)", "note (note-baseline)")
    summary = pd.read_csv(tmp_path / "feedback_summary.csv").set_index("arm")
    # all 3 differences positive: the exact sign-flip p is 2 / 2^3, Holm over the experiment's one comparison
    assert summary.loc["note-feedback", "vs_none_p"] == core.loc[0, "p"] == pytest.approx(0.25)
    assert summary.loc["note-feedback", "vs_none_p_holm"] == core.loc[0, "p_holm"] == pytest.approx(0.25)


def test_analyze_writes_comparisons_first_and_the_summary_carries_their_p(tmp_path, capsys):
    import json

    from weightspace.cli import main
    from weightspace.comparisons import tests_of
    from weightspace.errors import WeightspaceError

    rows = [("n", f"{m}-sgd", m, 10, "sgd", s, acc + s / 100 + (0.002 * s if m == "maxpool" else 0), "ok")
            for s in range(4) for m, acc in (("none", 0.9), ("ones", 0.905), ("maxpool", 0.91))]
    final = _final(rows).assign(family="feedback")
    final.to_csv(tmp_path / "final.csv", index=False)
    with pytest.raises(WeightspaceError, match=r"comparisons.csv is missing: feedback_summary.csv takes its p-values"):
        FAMILIES["feedback"].analyze(final, {}, tmp_path)
    variants = [{"name": f"{m}-sgd", "feedback": m} for m in ("none", "ones", "maxpool")]
    exp = {"family": "feedback", "variants": variants}
    tests = tests_of(exp, variants, FAMILIES["feedback"].default_comparisons(exp))
    spec = {"options": {"n_resamples": 200}, "tests": [{"a": t.a, "b": t.b} for _, t in tests]}
    main(["analyze", "--final", str(tmp_path / "final.csv"), "--out", str(tmp_path), "--comparisons-json",
          json.dumps(spec)])
    core = pd.read_csv(tmp_path / "comparisons.csv").set_index(["a", "b"])
    summary = pd.read_csv(tmp_path / "feedback_summary.csv").set_index("arm")
    assert summary.loc["maxpool", "vs_none_p"] == core.loc[("maxpool-sgd", "none-sgd"), "p"] == pytest.approx(2 / 16)
    assert summary.loc["maxpool", "vs_ones_p_holm"] == core.loc[("maxpool-sgd", "ones-sgd"), "p_holm"]


def test_table_and_figure_from_a_small_summary(tmp_path, monkeypatch):
    from weightspace.families.feedback import plots
    from weightspace.families.feedback.plots import feedback_figure
    from weightspace.families.feedback.tables import feedback_latex

    rows, curves = [], []
    for s in range(3):
        for mode, acc in (("none", 0.9), ("ones", 0.91), ("maxpool", 0.92)):
            rows.append(("n", f"{mode}-sgd", mode, 10, "sgd", s, acc + s / 100, "ok"))
            for epoch in (0, 1, 2):
                curves.append({"dataset": "mnist", "net": "n", "variant": f"{mode}-sgd", "feedback": mode,
                               "optimizer": "sgd", "lr": 0.01, "swept": "optimizer lr", "seed": s, "status": "ok",
                               "epoch": epoch, "test_acc": acc * epoch / 2 + 0.1})
    final = _final(rows)
    paired = paired_differences(final)
    summary = _summary(final, paired)
    tex = feedback_latex(summary)
    assert r"\begin{tabular}" in tex and "sgd, lr 0.01" in tex and "With 3 seeds no paired test" in tex
    assert r"maxpool & 3 & $93.00 \pm 2.48$ & $+2.00$ [$+2.00$, $+2.00$] & 0.25 (0.75)" in tex
    seen = {}  # the figure's texts, captured before it is saved and closed
    real = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: (seen.update(
        p=[(t.get_text(), t.get_fontsize()) for t in fig.axes[1].texts], x=fig.axes[1].get_xlabel(),
        y=fig.axes[0].get_ylabel()), real(fig, out))[1])
    paths = feedback_figure(pd.DataFrame(curves), summary, paired, "mnist", tmp_path / "fig")
    assert [p.suffix for p in paths] == [".pdf", ".png"] and all(p.stat().st_size > 0 for p in paths)
    # the p-values beside the differences: readable, each named (raw, Holm-adjusted) as the axis label explains
    assert ("p 0.25, Holm 0.75", 8) in seen["p"] and min(size for _, size in seen["p"]) >= 8
    assert "p of the exact sign-flip test, raw and Holm-adjusted" in seen["x"] and "logit scale" in seen["y"]
    caption = (REPO / "workflow" / "report" / "feedback_vs_baseline.rst").read_text()
    assert "logit scale" in caption and "Holm-adjusted" in caption


# ----------------------------------------------------------------------------------------------
# end to end


@pytest.mark.slow
def test_the_family_runs_through_the_workflow(tmp_path):
    from test_workflow import run_snakemake, workdir_copy

    repo = workdir_copy(tmp_path)
    others = ["subspace", "sharing", "sharing-images", "tying", "tying-crosslayer", "tying-autoencoder"]
    cfg = load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml")
    tiny = {"seeds": 2, "experiments": {e: {"enabled": False} for e in others if e in cfg["experiments"]}}
    tiny["experiments"]["feedback"] = {"seeds": 2, "train": {"epochs": 8},
                                       "variants": [v for v in cfg["experiments"]["feedback"]["variants"]
                                                    if v["name"] in ("none-sgd", "ones-sgd", "maxpool-flow-sgd")]}
    tiny["experiments"]["feedback-published"] = {"seeds": 2, "train": {"epochs": 8}}
    (repo / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    out = run_snakemake(repo, "--cores", "2", "--configfile", "config/quick.yaml", "tiny.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    res, figs = repo / "results" / "quick", repo / "figures" / "quick"
    summary = pd.read_csv(res / "feedback" / "feedback_summary.csv")
    assert list(summary["arm"]) == ["none", "ones", "maxpool-flow"] and (summary["n_ok"] == 2).all()
    final = pd.read_csv(res / "feedback" / "final.csv")
    assert (final["feedback_features"] == 10).all() and final["final_test_acc"].min() > 0.5
    for exp in ("feedback", "feedback-published"):
        assert r"\begin{tabular}" in (figs / exp / "feedback.tex").read_text()
        assert (figs / exp / "feedback__digits.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pub = pd.read_csv(res / "feedback-published" / "feedback_summary.csv").set_index("arm")
    assert pub.loc["feedback-digits", "vs_none_arm"] == "baseline-digits"
    assert pub.loc["feedback-digits", "vs_none_p"] >= 0.5  # the declared test of the two nets: 2 seeds, p 0.5 or 1


def test_figure_legend_names_the_arms_of_every_setting(tmp_path, monkeypatch):
    """The note's pairs under two settings (the arms' names differ by setting): the figure's legend names every
    arm, not only the first setting's (whose colours the second row does not use)."""
    from weightspace.families.feedback import plots

    rows, curves = [], []
    for variant, opt in (("note", "sgd"), ("default", "adam")):
        for net, mode, features, acc in (("plain", "none", 0, 0.9), ("fed", "maxpool", 26, 0.91)):
            for s in range(3):
                rows.append((net, variant, mode, features, opt, s, acc + s / 100, "ok"))
                for epoch in (0, 1, 2):
                    curves.append({"dataset": "mnist", "net": net, "variant": variant, "feedback": mode,
                                   "optimizer": opt, "lr": 0.01, "swept": "optimizer lr", "seed": s,
                                   "status": "ok", "epoch": epoch, "test_acc": acc * epoch / 2 + 0.1})
    final = _final(rows)
    paired = paired_differences(final)
    summary = _summary(final, paired)
    seen = {}
    real = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: (seen.update(
        legend=[t.get_text() for t in fig.legends[0].get_texts()], title=fig.legends[0].get_title().get_text()),
        real(fig, out))[1])
    plots.feedback_figure(pd.DataFrame(curves), summary, paired, "mnist", tmp_path / "fig")
    arms = {"plain · note", "fed · note", "plain · default", "fed · default"}
    assert arms <= set(seen["legend"]), seen["legend"]
    assert seen["title"] == "net · variant"
