"""Issue 16: teachers as configuration (structure kinds, values, config checks), budgets, meta-learned sharing."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from weightspace.errors import ConfigError
from weightspace.families.sharing import teachers as T


# ---------------------------------------------------------------------------------------------- ground truth


def test_conv1d_hand_case():
    # L=5, K=3: out 3, taps 0 1 2 sliding by one
    assert T.conv1d_groups(5, 3).tolist() == [[0, 1, 2, -1, -1], [-1, 0, 1, 2, -1], [-1, -1, 0, 1, 2]]


def test_conv1d_stride_dilation_hand_case():
    # L=7, K=2, stride 2, dilation 3: out (7 - 3 - 1) // 2 + 1 = 2; output 0 reads 0 and 3, output 1 reads 2 and 5
    g = T.conv_groups([7], [2], stride=2, dilation=3)
    assert g.tolist() == [[0, -1, -1, 1, -1, -1, -1], [-1, -1, 0, -1, -1, 1, -1]]


def test_conv1d_channels_hand_case():
    # 2 in channels of length 3, 2 out channels, kernel 2: out length 2; group (oc * 2 + ic) * 2 + tap
    g = T.conv_groups([3], [2], in_channels=2, out_channels=2)
    assert g.shape == (4, 6)
    assert g[0].tolist() == [0, 1, -1, 2, 3, -1]  # oc 0, position 0: ic 0 taps 0 1, ic 1 taps (groups 2 3)
    assert g[1].tolist() == [-1, 0, 1, -1, 2, 3]  # oc 0, position 1
    assert g[3].tolist() == [-1, 4, 5, -1, 6, 7]  # oc 1, position 1


def test_conv2d_hand_case_and_old_layout():
    g = T.conv2d_groups(3, 3, 2)  # 2x2 outputs, taps r*2+c
    assert g.shape == (4, 9)
    assert g[0].reshape(3, 3).tolist() == [[0, 1, -1], [2, 3, -1], [-1, -1, -1]]
    assert g[3].reshape(3, 3).tolist() == [[-1, -1, -1], [-1, 0, 1], [-1, 2, 3]]
    s = T.conv_groups([5, 5], [3, 3], stride=2)  # 2x2 outputs of a strided conv
    assert s.shape == (4, 25)
    assert s[1].reshape(5, 5)[0].tolist() == [-1, -1, 0, 1, 2]


def test_permutation_circulant_random():
    assert T.permutation_groups(3).tolist() == [[0, 1, 1], [1, 0, 1], [1, 1, 0]]
    assert T.circulant_groups(3).tolist() == [[0, 1, 2], [2, 0, 1], [1, 2, 0]]
    base = T.conv1d_groups(8, 3)
    r = T.random_groups(base, seed=0)
    assert sorted(r.ravel().tolist()) == sorted(base.ravel().tolist())  # same group sizes and support size
    assert not np.array_equal(r, base)
    assert np.array_equal(r, T.random_groups(base, seed=0))  # fixed by its seed


def test_permutation_teacher_is_equivariant():
    t = T.teacher_arrays({"kind": "permutation", "n": 5, "n_train": 4})
    W = t["W"]
    P = np.eye(5)[[3, 0, 4, 1, 2]]
    assert np.allclose(P @ W, W @ P)  # W commutes with every permutation
    assert len(np.unique(W)) == 2


def test_builtin_teachers_unchanged():
    from weightspace.data import known, load

    d = load("conv1d_teacher")
    assert known()["conv1d_teacher"].n_train == 8192 and d.x_train.shape == (8192, 1, 32)
    assert np.array_equal(d.structure["groups"], T.conv1d_groups(32, 5))
    # taps of the original generator: N(0, 1) from seed 20181101, redrawn until 0.2 apart
    taps = d.structure["teacher"][0, :5]
    assert np.diff(np.sort(np.append(taps, 0))).min() >= 0.2
    assert d.checksum == load("conv1d_teacher").checksum


def test_repeated_values_two_partitions():
    t = T.teacher_arrays({"kind": "conv1d", "input": [6], "kernel": 4, "values": "repeated", "n_values": 2,
                          "n_train": 4})
    assert t["values"][0] == t["values"][2] and t["values"][1] == t["values"][3] and t["values"][0] != t["values"][1]
    # the value partition merges taps 0, 2 and 1, 3
    row = t["value_groups"][0]
    assert row.tolist() == [0, 1, 0, 1, -1, -1]
    assert t["groups"][0].tolist() == [0, 1, 2, 3, -1, -1]


def test_repeated_values_scored_both_ways():
    from weightspace.families.sharing.structure import score_structure

    t = T.teacher_arrays({"kind": "conv1d", "input": [8], "kernel": 4, "values": "repeated", "n_values": 2,
                          "n_train": 4})
    W = t["W"]
    merged = np.where(t["value_groups"] >= 0, t["value_groups"], 99)  # a learner that merged equal values
    by_structure = score_structure(t["groups"], merged, W)
    by_value = score_structure(t["value_groups"], merged, W)
    assert by_value["ari_support"] == pytest.approx(1.0)
    assert by_structure["ari_support"] < 1.0


def test_tiling_keeps_distinct_examples():
    from weightspace.data import from_spec

    info = from_spec("tiny-n4", {"teacher": {"kind": "circulant", "n": 3, "n_train": 4, "epoch_size": 10,
                                             "n_test": 5}})
    assert info.n_train == 10
    d = info.load(None, False, False)
    assert d.x_train.shape == (10, 1, 3) and d.x_test.shape == (5, 1, 3)
    assert np.array_equal(d.x_train[4:8].numpy(), d.x_train[:4].numpy())
    assert len(np.unique(d.x_train.numpy().reshape(10, -1), axis=0)) == 4
    assert d.structure["n_train"] == 4


# ---------------------------------------------------------------------------------------------- config


def _config(teachers: dict, datasets: list[str]) -> dict:
    return {
        "teachers": teachers,
        "nets": {"linear": {"arch": "fc", "widths": []}},
        "experiments": {"s": {"family": "sharing", "datasets": datasets, "nets": ["linear"],
                              "train": {"epochs": 2, "batch_size": 4},
                              "variants": [{"name": "known", "reparam": "known"}]}},
    }


def test_config_teachers_registered_and_carried_by_cells():
    from weightspace.config import expand, validate

    c = validate(_config({"tinyperm": {"kind": "permutation", "n": 4, "n_train": [8, 16]}},
                         ["tinyperm-n8", "tinyperm-n16"]))
    cells = expand(c)["s"]
    assert sorted(c["dataset"] for c in cells.values()) == ["tinyperm-n16", "tinyperm-n8"]
    spec = next(iter(cells.values()))["dataset_spec"]
    assert spec["teacher"]["kind"] == "permutation"


def test_validate_returns_the_datasets_a_config_defines_and_changes_no_global_state():
    """Issue 21: a config's teachers are in what validate returns (its ``datasets``), never added to a module's
    table: a second config that does not define them cannot name them, and the tables are as before."""
    from weightspace import data, registry
    from weightspace.config import validate

    before = dict(data.DATASETS), dict(registry.DATASETS)
    c = validate(_config({"tinyperm": {"kind": "permutation", "n": 4, "n_train": 8}}, ["tinyperm"]))
    assert c.datasets["tinyperm"].spec == {"teacher": {"kind": "permutation", "n": 4, "n_train": 8}}
    assert list(c.datasets)[:len(data.known())] == list(data.known())  # the known ones first, in their order
    assert (dict(data.DATASETS), dict(registry.DATASETS)) == before
    with pytest.raises(ConfigError, match="'tinyperm' is not allowed"):
        validate(_config({}, ["tinyperm"]))


def test_the_builtin_teachers_are_the_sharing_familys():
    """data.py names no family: the built-in teachers and the teacher kind are registered by the sharing family."""
    from weightspace import data, registry

    assert "conv1d_teacher" not in data.DATASETS and "conv1d_teacher" in data.known()
    assert registry.DATASETS["conv1d_teacher"].structure["layer"] == T.TEACHER_LAYER
    assert registry.DATASET_KINDS["teacher"] == "weightspace.families.sharing.teachers:info"
    assert np.array_equal(registry.DATASETS["conv2d_teacher"].groups(), T.conv2d_groups(10, 10, 3))


@pytest.mark.parametrize("spec, expected", [
    ({"kind": "conv1d", "input": [4], "kernel": 6, "n_train": 8}, "teachers.bad.kernel: a kernel of 6"),
    ({"kind": "conv1d", "input": [8, 8], "kernel": 3, "n_train": 8}, "teachers.bad.input: conv1d takes 1 size"),
    ({"kind": "permutation", "n_train": 8}, "teachers.bad: kind permutation needs n"),
    ({"kind": "permutation", "n": 4, "kernel": 3, "n_train": 8}, "teachers.bad.kernel: not a key of kind permutation"),
    ({"kind": "conv1d", "input": [8], "kernel": 3, "values": "repeated", "n_train": 8}, "needs n_values"),
    ({"kind": "conv1d", "input": [8], "kernel": 3, "n_train": 8, "n_values": 2}, "teachers.bad.n_values: only"),
    ({"kind": "circulant", "n": 30, "n_train": 8, "min_gap": 0.5}, "lower min_gap"),
    ({"kind": "hexagonal", "n": 3, "n_train": 8}, "teachers.bad.kind: 'hexagonal' is not allowed"),
    ({"kind": "conv1d", "input": [8], "kernel": 3, "n_train": 8, "nosie": 0.1}, "unknown key 'nosie'"),
])
def test_config_teacher_errors_name_the_key(spec, expected):
    from weightspace.config import validate

    with pytest.raises(ConfigError) as e:
        validate(_config({"bad": spec}, ["conv1d_teacher"]))
    assert expected in str(e.value)


@pytest.mark.parametrize("spec, expected", [
    ({"kind": "permutation", "n": 300000, "n_train": 8},  # np.eye(300000): 671 GiB, a traceback
     "teachers.big.n: the teacher needs ~3.9 TiB (a 300,000 x 300,000 matrix, 8 training + 2,048 test examples), "
     "over memory_limit_gib=16 (16.0 GiB); use a smaller n, or raise memory_limit_gib"),
    ({"kind": "conv2d", "input": [1000, 1000], "kernel": 3, "n_train": 8}, "teachers.big.input: the teacher needs ~"),
    ({"kind": "permutation", "n": 8, "n_train": 10**9},
     "teachers.big.n_train: the teacher needs ~179 GiB (a 8 x 8 matrix, 1,000,000,000 training + 2,048 test"),
    ({"kind": "permutation", "n": 8, "n_train": [8, 10**9]}, "teachers.big.n_train: the teacher needs ~179 GiB"),
    ({"kind": "conv1d", "input": [32], "kernel": 5, "n_train": [8, 16], "epoch_size": 10**12},
     "teachers.big.epoch_size: the teacher needs ~218 TiB (a 28 x 32 matrix, 16 training + 2,048 test examples, "
     "tiled to 1,000,000,000,000 rows per epoch)"),
    ({"kind": "conv1d", "input": [32], "kernel": 5, "values": "repeated", "n_values": 10**9, "min_gap": 0,
      "n_train": 8}, "teachers.big.n_values: the teacher needs ~22.4 GiB"),
    # 100000 redraws of 2000 values that cannot be 0.2 apart: minutes of validation for circulant n 2000
    ({"kind": "circulant", "n": 2000, "n_train": 8}, "teachers.big.min_gap: 2,000 N(0, 1) values at least 0.2 apart "
                                                     "(and from 0) cannot be drawn"),
])
def test_teacher_sizes_are_checked_against_the_memory_limit_before_anything_is_built(spec, expected, monkeypatch):
    """Issue 20.8: a teacher's matrix and examples are sized from its keys alone; past memory_limit_gib it is
    refused, one line naming the key, and nothing is built (the registry and the checks skip it)."""
    from weightspace.config import validate
    from weightspace.families.sharing import teachers

    def no_build(*a, **k):
        raise AssertionError("a refused teacher was built")

    for name in ("structure_groups", "teacher_arrays", "info"):
        monkeypatch.setattr(teachers, name, no_build)
    with pytest.raises(ConfigError) as e:
        validate(_config({"big": spec}, ["conv1d_teacher"]))
    assert expected in str(e.value) and str(e.value).count("\n  - ") == 1


def test_registering_a_teacher_builds_no_matrix(monkeypatch):
    """The registry sizes a teacher from its keys (every validation and every Snakemake start registers it); the
    matrix is built when the data is loaded and once by the config's value check."""
    from weightspace.families.sharing import FAMILY, teachers

    spec = {"kind": "conv2d", "input": [7, 9], "kernel": [2, 3], "in_channels": 2, "out_channels": 3, "stride": 2,
            "min_gap": 0.01, "n_train": 8}
    groups, input_shape = teachers.structure_groups(teachers.resolve(spec))
    monkeypatch.setattr(teachers, "structure_groups", lambda *a: pytest.fail("the registry built a matrix"))
    info = FAMILY.datasets({"teachers": {"t": spec}})["t"]
    assert (info.n_outputs, info.input_shape) == (groups.shape[0], tuple(input_shape))


def test_a_teacher_within_a_raised_memory_limit_is_accepted():
    from weightspace.config import validate

    c = {**_config({"big": {"kind": "permutation", "n": 8, "n_train": 10**9}}, ["conv1d_teacher"]),
         "memory_limit_gib": 200}
    validate(c)


@pytest.mark.parametrize("meta, expected", [
    ({"n_per_task": [8, 10**9]}, "experiments.s.meta.n_per_task: the meta-learning comparison needs ~244 TiB "
                                 "(n_per_task: [8, 1000000000], on conv1d_teacher), over memory_limit_gib=16"),
    ({"n_per_task": [8], "k": 10**9}, "experiments.s.meta.k: the meta-learning comparison needs ~"),
    ({"n_per_task": [8], "tasks": 10**9}, "experiments.s.meta.tasks: the meta-learning comparison needs ~"),
    ({"n_per_task": [8], "seeds": 10**6}, "experiments.s.meta.seeds: 1000000 is out of range"),
])
def test_meta_sizes_are_checked_before_anything_is_drawn(meta, expected):
    """Issue 20.8: meta n_per_task 10**9 validated; the meta job would draw terabytes of examples."""
    from weightspace.config import validate

    c = _config({}, ["conv1d_teacher"])
    c["experiments"]["s"]["meta"] = {"teacher": "conv1d_teacher", **meta}
    with pytest.raises(ConfigError) as e:
        validate(c)
    assert expected in str(e.value) and str(e.value).count("\n  - ") == 1


def test_meta_teacher_must_be_a_teacher():
    from weightspace.config import validate

    c = _config({}, ["conv1d_teacher"])
    c["experiments"]["s"]["meta"] = {"teacher": "digits", "n_per_task": [4]}
    with pytest.raises(ConfigError, match=r"experiments.s.meta.teacher: 'digits' is not a teacher"):
        validate(c)


_PERM = {"kind": "permutation", "n": 4, "n_train": 8}


@pytest.mark.parametrize("defined, datasets, expected", [
    ({"digits": {"kind": "permutation", "n": 64, "n_train": 128}}, ["digits"],
     "teachers.digits: the name 'digits' is a built-in dataset (scikit-learn's 8x8 digits"),
    ({"mnist": _PERM}, ["conv1d_teacher"], "teachers.mnist: the name 'mnist' is a built-in dataset"),
    ({"t1": {**_PERM, "n_train": [8, 16]}, "t1-n8": _PERM}, ["t1-n8", "t1-n16"],
     "teachers.t1-n8: the dataset 't1-n8' is defined twice, by the n_train sweep of teachers.t1 and by the teacher "
     "teachers.t1-n8; rename one"),
    ({"t1-n8": _PERM, "t1": {**_PERM, "n_train": [8, 16]}}, ["conv1d_teacher"],
     "teachers.t1: the dataset 't1-n8' is defined twice, by the teacher teachers.t1-n8 and by the n_train sweep of "
     "teachers.t1"),
])
def test_a_teacher_cannot_replace_a_dataset(defined, datasets, expected):
    """Issue 20.1: a teacher named like a built-in dataset or like a dataset of a sweep is refused, one line naming
    both (it used to replace it: a digits cell trained on the teacher, MNIST became regression)."""
    from weightspace.config import validate
    from weightspace.data import DATASETS

    with pytest.raises(ConfigError) as e:
        validate(_config(defined, datasets))
    lines = str(e.value).splitlines()[1:]
    assert len(lines) == 1 and expected in lines[0], str(e.value)
    assert DATASETS["digits"].task == DATASETS["mnist"].task == "classification"  # the registry kept the real ones


def test_builtin_teachers_can_be_redefined():
    from weightspace.config import expand, validate

    c = validate(_config({"conv1d_teacher": {"kind": "conv1d", "input": [8], "kernel": 3, "n_train": 16}},
                         ["conv1d_teacher"]))
    assert next(iter(expand(c)["s"].values()))["dataset_spec"]["teacher"]["input"] == [8]


def test_no_user_name_contains_a_double_underscore():
    """Issue 20.5: teachers a and a__linear (net linear, variants linear with k: [4, 8] and k4) made two cells
    a__linear__linear__k4, one overwriting the other; '__' separates a cell name's parts."""
    from weightspace.config import validate

    c = _config({"a": _PERM, "a__linear": _PERM}, ["a", "a__linear"])
    c["experiments"]["s"]["variants"] = [{"name": "direct", "reparam": "direct"},
                                         {"name": "linear", "reparam": "hashed", "k": [4, 8]},
                                         {"name": "k4", "reparam": "direct"}]
    with pytest.raises(ConfigError, match=r"teachers: 'a__linear' does not match .*never '__'"):
        validate(c)
    validate(_config({"a_b": _PERM}, ["a_b"]))  # a single '_' is fine (fashion_mnist, conv1d_teacher)
    # nets, variants and experiments take no '_' at all
    for where, bad in (("nets", {"li__near": {"arch": "fc", "widths": []}}),
                       ("experiments.s.variants[0", [{"name": "kn__own", "reparam": "known"}])):
        c = _config({}, ["conv1d_teacher"])
        if where == "nets":
            c["nets"] = bad
        else:
            c["experiments"]["s"]["variants"] = bad
        with pytest.raises(ConfigError, match=re.escape(where) + r".*__.* does not match"):
            validate(c)
    c = _config({}, ["conv1d_teacher"])
    c["experiments"] = {"s__x": c["experiments"]["s"]}
    with pytest.raises(ConfigError, match=r"experiments: 's__x' does not match"):
        validate(c)


@pytest.mark.parametrize("spec, expected", [
    ({"kind": "conv1d", "input": [4], "kernel": 6, "n_train": 8}, "teachers.t1.kernel: a kernel of 6"),
    ({"kind": "conv1d", "input": [8], "kernel": 3, "values": "repeated", "n_train": 8},
     "teachers.t1: values: repeated needs n_values"),
    ({"kind": "conv1d", "input": [4], "kernel": 6, "n_train": [8, 16]}, "teachers.t1.kernel: a kernel of 6"),
    ({"kind": "hexagonal", "n": 3, "n_train": [8, 16]}, "teachers.t1.kind: 'hexagonal' is not allowed"),
])
def test_an_experiment_on_a_broken_teacher_gets_the_teachers_message(spec, expected):
    """Issue 20.9: the teacher's own problem, not `experiments.s.datasets[0]: 't1' is not allowed`."""
    from weightspace.config import validate

    used = ["t1"] if not isinstance(spec["n_train"], list) else ["t1-n8", "t1-n16"]
    with pytest.raises(ConfigError) as e:
        validate(_config({"t1": spec}, used))
    lines = str(e.value).splitlines()[1:]
    assert len(lines) == 1 and lines[0].startswith(f"  - {expected}"), str(e.value)  # that line alone
    # a name the config does not define is still an unknown dataset
    with pytest.raises(ConfigError, match=r"experiments.s.datasets\[0\]: 't1-n9' is not allowed"):
        validate(_config({"t1": spec}, ["t1-n9"]))


def test_every_teachers_draw_is_checked_whatever_an_earlier_teachers_problems(monkeypatch):
    """A teacher whose values cannot be drawn is named even when an earlier teacher already has a problem (the
    draw of every later teacher was skipped once any problem had been found)."""
    from weightspace.config import validate

    def fail(spec):
        raise ValueError("no 4 N(0, 1) values at least 9 apart in 3 draws; lower min_gap")

    monkeypatch.setattr(T, "teacher_arrays", fail)  # fault injection: the second teacher's draw fails
    bad = {"kind": "conv1d", "input": [4], "kernel": 6, "n_train": 16}
    good = {"kind": "conv1d", "input": [8], "kernel": 3, "n_train": 16}
    with pytest.raises(ConfigError) as e:
        validate(_config({"t1": bad, "t2": good}, ["t1"]))
    assert "teachers.t1.kernel: a kernel of 6" in str(e.value)
    assert "teachers.t2: no 4 N(0, 1) values at least 9 apart" in str(e.value), str(e.value)


def test_shipped_configs_validate():
    from weightspace.config import validate_files

    from conftest import REPO

    for presets in ((), ("quick",), ("teachers",), ("images",), ("sweep-cpu",)):
        validate_files(REPO / "config.yaml", *(REPO / "config" / f"{p}.yaml" for p in presets))


def test_default_teacher_in_config_is_the_builtin():
    """config.yaml's conv1d_teacher entry has the built-in numbers: its cells carry no dataset_spec."""
    from conftest import REPO

    from weightspace.config import expand, validate_files

    cells = expand(validate_files(REPO / "config.yaml", REPO / "config" / "teachers.yaml"))["sharing"]
    assert all("dataset_spec" not in c for c in cells.values())


# ---------------------------------------------------------------------------------------------- budgets


@pytest.mark.parametrize("numel, budget, k", [(896, 1 / 8, 112), (896, 1 / 64, 14), (10, 0.01, 1), (10, 1.0, 10),
                                              (100, 0.125, 13), (100, 0.115, 12)])
def test_budget_k(numel, budget, k):
    from weightspace.families.sharing.memory import budget_k

    assert budget_k(numel, budget) == k


# ---------------------------------------------------------------------------------------------- meta-learning


def test_meta_gradient_is_sum_over_tasks():
    import torch

    from weightspace.families.sharing import meta

    tasks = meta.make_tasks({"kind": "conv1d", "input": [6], "kernel": 3}, n_tasks=3, n_per_task=5, n_test=2, seed=0)
    A = torch.randn(4, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    grad, losses = meta.meta_gradient(A, 0.7, tasks["X"], tasks["Y"])
    naive = torch.zeros_like(A)
    for t in range(3):  # a naive reference: each task alone, its values fitted by lstsq, then autograd
        At = A.clone().requires_grad_(True)
        P = torch.softmax(At / 0.7, -1)
        F = torch.einsum("ni,oij->noj", tasks["X"][t], P.detach()).reshape(-1, 3)
        y = tasks["Y"][t].reshape(-1)
        v = torch.linalg.solve(F.T @ F + 1e-3 * 5 * torch.eye(3, dtype=F.dtype), F.T @ y)
        W = torch.einsum("oij,j->oi", P, v)
        loss = ((tasks["X"][t] @ W.T - tasks["Y"][t]) ** 2).mean()
        assert loss.item() == pytest.approx(losses[t].item(), rel=1e-9)
        loss.backward()
        naive += At.grad
    assert torch.allclose(grad, naive, rtol=1e-9, atol=1e-12)


def test_meta_learning_recovers_tiny_conv():
    import torch

    from weightspace.families.sharing import meta

    torch.manual_seed(0)
    df = meta.run_meta({"kind": "conv1d", "input": [8], "kernel": 3}, [6], [0], k=6, tasks=12, held_out=3,
                       n_test=32, steps=150, methods=("meta", "known"))
    s = meta.summarize(df).set_index("method")
    assert s.loc["meta", "ari_support_mean"] > 0.99
    assert s.loc["known", "ari_support_mean"] == pytest.approx(1.0)
    assert s.loc["meta", "test_mse_mean"] < 10 * s.loc["known", "test_mse_mean"] + 1e-3


# ---------------------------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_issue16_experiments_run_through_the_workflow(tmp_path):
    """The quick preset's sweep, meta-learning, kinds and budget experiments, cut down, through Snakemake."""
    import pandas as pd
    import yaml
    from test_workflow import REPO, run_snakemake, workdir_copy

    from weightspace.config import load_config

    repo = workdir_copy(tmp_path)
    mine = ("sharing-sweep", "sharing-kinds", "sharing-budget")
    others = {n: {"enabled": False} for n in load_config(REPO / "config.yaml")["experiments"] if n not in mine}
    tiny = {"train": {"epochs": 2, "evals_per_epoch": 1}, "experiments": {
        **others,
        "sharing-sweep": {"datasets": ["conv1d-sweep-n8", "conv1d-sweep-n32"], "train": {"epochs": 2},
                          "variants": [{"name": "direct", "reparam": "direct"},
                                       {"name": "kmeans", "reparam": "kmeans", "k": 8, "pretrain_epochs": 1}],
                          "meta": {"teacher": "conv1d_teacher", "n_per_task": [4, 8], "k": 8, "tasks": 2,
                                   "held_out": 2, "steps": 3, "seeds": 2}},
        "sharing-kinds": {"datasets": ["permutation", "random-conv1d"], "train": {"epochs": 2}},
        "sharing-budget": {"train": {"epochs": 2}, "variants": [
            {"name": "direct", "reparam": "direct"},
            {"name": "hashed", "reparam": "hashed", "budget": [0.015625, 0.125]}],
            "comparisons": {"tests": [{"reference": "direct", "match": []}]}},  # config.yaml's name other variants
    }}
    (repo / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    out = run_snakemake(repo, "--cores", "2", "--configfile", "config/quick.yaml", "tiny.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    figs = repo / "figures" / "quick"
    for name in ("sharing-sweep/sweep__conv1d-sweep__linear", "sharing-sweep/meta",
                 "sharing-kinds/structure__permutation__linear__learned",
                 "sharing-kinds/structure__random-conv1d__linear__learned",
                 "sharing-budget/budget__conv1d-sweep-n128__linear"):
        assert (figs / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name
        assert (figs / f"{name}.pdf").exists(), name
    final = pd.read_csv(repo / "results" / "quick" / "sharing-budget" / "final.csv")
    hashed = final[final["variant"] == "hashed"].sort_values("budget")
    # one 28x32 layer: 1/64 and 1/8 of 896 weights are 14 and 112 values, plus the 28 biases
    assert hashed.groupby("budget")["params_stored"].first().tolist() == [14 + 28, 112 + 28]
    meta = pd.read_csv(repo / "results" / "quick" / "sharing-sweep" / "meta_summary.csv")
    assert set(meta["method"]) == {"meta", "single", "kmeans", "direct", "known"}
