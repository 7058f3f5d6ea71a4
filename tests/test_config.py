"""Config validation (one clear message per problem) and grid expansion."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO
from weightspace.config import cell_id, expand, load_config, merge, validate
from weightspace.errors import ConfigError


def base() -> dict:
    return {
        "seeds": 2,
        "train": {"epochs": 1, "batch_size": 32},
        "nets": {"small": {"arch": "fc", "widths": [16]}, "lenet": {"arch": "lenet"}},
        "experiments": {
            "sub": {
                "family": "subspace",
                "datasets": ["digits"],
                "nets": ["small"],
                "variants": [
                    {"name": "direct", "reparam": "direct"},
                    {"name": "dense", "reparam": "subspace", "projection": "dense", "d": [10, 20]},
                ],
            }
        },
    }


def with_(path: str, value, cfg=None):
    """A copy of the base config with ``path`` (dots, [i] for list items) set; value None deletes."""
    cfg = copy.deepcopy(cfg or base())
    node = cfg
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p[1:-1])] if p.startswith("[") else node[p]
    last = parts[-1]
    key = int(last[1:-1]) if last.startswith("[") else last
    if value is None:
        del node[key]
    else:
        node[key] = value
    return cfg


def test_base_config_is_valid_and_expands():
    cfg = validate(base())
    assert cfg["seeds"] == [0, 1]
    assert cfg["train"]["lr"] == 1e-3 and cfg["train"]["epochs"] == 1  # defaults filled, overrides kept
    cells = expand(cfg)
    assert list(cells["sub"]) == ["digits__small__direct", "digits__small__dense__d10", "digits__small__dense__d20"]
    c = cells["sub"]["digits__small__dense__d20"]
    assert c["variant"] == {"name": "dense", "reparam": "subspace", "projection": "dense", "d": 20}
    assert c["net"] == {"name": "small", "arch": "fc", "widths": [16]}
    assert c["swept"] == {"d": 20}


BAD = [
    # (path, value, fragments that the one-line message must contain)
    ("train.lr", -0.1, ["train.lr", "-0.1", "out of range"]),
    ("train.lr", 0, ["train.lr", "out of range"]),
    ("train.epoch", 3, ["train: unknown key 'epoch'", "allowed keys:", "epochs"]),
    ("train.optimizer", "adamw", ["train.optimizer", "'adamw' is not allowed", "adam", "sgd"]),
    ("train.momentum", 1.0, ["train.momentum", "out of range"]),
    ("seeds", 0, ["seeds", "out of range"]),
    ("seeds", [1, 1], ["seeds", "non-unique"]),
    ("device", "gpu", ["device", "'gpu' does not match"]),
    ("bogus", 1, ["(top level): unknown key 'bogus'"]),
    ("experiments.sub.datasets", ["mnsit"], ["experiments.sub.datasets[0]", "'mnsit' is not allowed", "mnist", "cifar10"]),
    ("experiments.sub.nets", ["resnet"], ["experiments.sub.nets: unknown net 'resnet'", "defined nets: lenet, small"]),
    ("experiments.sub.family", "magic", ["experiments.sub.family", "'magic' is not allowed", "subspace"]),
    ("experiments.sub.variants.[1].projection", "gaussian", ["variants[1:dense].projection", "'gaussian' is not allowed", "fastfood"]),
    ("experiments.sub.variants.[1].d", 0, ["variants[1:dense].d", "out of range"]),
    ("experiments.sub.variants.[1].d", [10, 100000], ["variants[1:dense].d", "d=100000 exceeds D=1,210", "use d <= 1210"]),
    ("experiments.sub.variants.[1].reparam", "hypernet", ["variants[1:dense].reparam", "'hypernet' is not allowed", "direct, subspace"]),
    ("experiments.sub.variants.[1].projection", None, ["variants[1:dense]", "'projection' is a required property"]),
    ("experiments.sub.variants.[0].d", 5, ["variants[0:direct]: unknown key 'd'", "allowed keys: name, reparam, train"]),
    ("experiments.sub.variants.[1].name", "direct", ["duplicate variant name(s) direct"]),
    ("experiments.sub.variants.[1].name", "has_underscore", ["variants[1:has_underscore].name", "does not match"]),
    (
        "experiments.sub.variants",
        [{"name": "dense", "reparam": "subspace", "projection": "dense", "d": 10}],
        ["needs a variant with `reparam: direct`"],
    ),
    ("experiments.sub.nets", ["lenet"], ["net 'lenet' cannot run on digits", "at least 28x28"]),
    ("experiments.sub.train", {"batch_size": 5000}, ["batch_size: 5000 exceeds the 1437 training examples of digits"]),
    ("nets.small.arch", "mlp", ["nets.small.arch", "'mlp' is not allowed", "fc, lenet, smallcnn"]),
    ("nets.small.width", [3], ["nets.small: unknown key 'width'", "widths"]),
    ("experiments.sub.variants", [], ["experiments.sub.variants", "should be non-empty"]),
    ("experiments", None, ["'experiments' is a required property"]),
]


@pytest.mark.parametrize("path,value,fragments", BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_config_gets_one_clear_message(path, value, fragments):
    with pytest.raises(ConfigError) as e:
        validate(with_(path, value))
    msg = str(e.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in:\n{msg}"


@pytest.mark.parametrize("widths,dataset,fragment", [
    ([16], "conv1d_teacher", "reparam 'known' needs a single linear layer"),
    ([], "digits", "reparam 'known' needs a dataset with a known structure"),
])
def test_known_structure_needs_a_teacher_and_a_linear_student(widths, dataset, fragment):
    cfg = with_("experiments.sub.datasets", [dataset])
    cfg["nets"]["small"]["widths"] = widths
    cfg["experiments"]["sub"]["variants"].append({"name": "known", "reparam": "known"})
    with pytest.raises(ConfigError, match=fragment):
        validate(cfg)
    if widths == []:
        return
    cfg["nets"]["small"]["widths"] = []
    validate(cfg)


def test_memory_limit_rejects_huge_dense_projection():
    cfg = base()
    cfg["experiments"]["sub"]["datasets"] = ["mnist"]
    cfg["experiments"]["sub"]["nets"] = ["big"]
    cfg["nets"]["big"] = {"arch": "fc", "widths": [200, 200]}
    cfg["experiments"]["sub"]["variants"][1]["d"] = 100000
    with pytest.raises(ConfigError, match=r"needs ~74\.\d GiB per seed.*memory_limit_gib=16.*fastfood"):
        validate(cfg)
    cfg["experiments"]["sub"]["variants"][1]["projection"] = "fastfood"
    validate(cfg)


def test_several_problems_are_all_listed():
    cfg = with_("train.lr", -1, with_("experiments.sub.datasets", ["nope"]))
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    assert "2 problems" in str(e.value)


def test_grids_over_train_values_and_variant_options():
    cfg = with_("experiments.sub.train", {"lr": [0.1, 0.01]})
    cells = expand(validate(cfg))["sub"]
    assert len(cells) == 2 * (1 + 2)
    assert "digits__small__dense__d10__lr0.01" in cells
    assert cells["digits__small__dense__d10__lr0.01"]["train"]["lr"] == 0.01
    # variant-level train overrides experiment-level, which overrides the top level
    cfg = with_("experiments.sub.variants.[1].train", {"lr": 0.5, "epochs": 3})
    c = expand(validate(cfg))["sub"]["digits__small__dense__d10"]
    assert c["train"]["lr"] == 0.5 and c["train"]["epochs"] == 3 and c["train"]["batch_size"] == 32


def test_disabled_experiment_is_left_out():
    cells = expand(validate(with_("experiments.sub.enabled", False)))
    assert cells == {}


def test_merge_semantics():
    a = {"x": {"y": 1, "z": [1, 2]}, "w": 1}
    b = {"x": {"z": [3]}, "v": 2}
    assert merge(a, b) == {"x": {"y": 1, "z": [3]}, "w": 1, "v": 2}
    assert a == {"x": {"y": 1, "z": [1, 2]}, "w": 1}  # inputs untouched


def test_cell_ids():
    assert cell_id("mnist", "fc", "dense", {"d": 100}) == "mnist__fc__dense__d100"
    assert cell_id("fashion_mnist", "fc", "direct", {"lr": 0.003}) == "fashion_mnist__fc__direct__lr0.003"


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(lst)


def test_shipped_configs_are_valid():
    full = validate(load_config(REPO / "config.yaml"))
    quick = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml"))
    assert sum(len(c) for c in expand(full).values()) > sum(len(c) for c in expand(quick).values())
    assert quick["device"] == "cpu"
    for cells in expand(quick).values():
        for c in cells.values():
            assert c["dataset"] in ("digits", "mnist1d", "mnist1d_shuffled", "conv1d_teacher", "conv2d_teacher"), \
                "the quick preset must run offline"


def test_schema_documents_every_key():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.get("properties", {}).items():
                if isinstance(v, dict) and not v.get("description") and "$ref" not in v:
                    yield f"{path}.{k}"
                yield from walk(v, f"{path}.{k}")
            for k, v in node.get("$defs", {}).items():
                yield from walk(v, k)

    assert list(walk(schema, "")) == []


def test_every_dataset_is_in_every_size_table():
    from weightspace.data import DATASETS, INPUT_SHAPES, N_OUTPUTS, TASKS
    from weightspace.config import N_TRAIN
    from weightspace.plan import N_TEST

    for table in (INPUT_SHAPES, N_OUTPUTS, TASKS, N_TRAIN, N_TEST):
        assert set(table) == set(DATASETS)
