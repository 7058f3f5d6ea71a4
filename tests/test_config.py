"""Config validation (one clear message per problem) and grid expansion."""

from __future__ import annotations

import copy
import math
import re

import pytest
import yaml

from conftest import REPO
from weightspace.cli import main
from weightspace.config import cell_id, expand, load_config, merge, validate, validate_files
from weightspace.data import cell_info
from weightspace.errors import ConfigError
from weightspace.sizes import fmt_bytes


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
    ("train.lr", -0.1, ["train.lr", "-0.1", "out of range", "expected a number > 0"]),
    ("train.lr", 0, ["train.lr", "out of range"]),
    ("train.epoch", 3, ["train: unknown key 'epoch'", "allowed keys:", "epochs"]),
    ("train.optimizer", "adamw", ["train.optimizer", "'adamw' is not allowed", "adam", "sgd"]),
    ("train.momentum", 1.0, ["train.momentum", "out of range"]),
    ("seeds", 0, ["seeds", "out of range"]),
    ("seeds", [1, 1], ["seeds: [1, 1] repeats 1; list each value once"]),
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
    # numbers that used to validate and then crash every training job (or validate itself)
    ("train.epochs", 2.5, ["train.epochs: 2.5 is not a whole number; expected an integer"]),
    ("seeds", 3.5, ["seeds: 3.5 is not a whole number; expected an integer"]),
    ("train.lr", math.nan, ["train.lr: .nan is not allowed; it must be a finite number", "expected a number"]),
    ("train.lr", math.inf, ["train.lr: .inf is not allowed; it must be a finite number"]),
    ("train.lr", [0.1, -math.inf], ["train.lr[1]: -.inf is not allowed; it must be a finite number"]),
    ("train.lr", "1e-3", ["train.lr: '1e-3' is text, not a number; expected a number", "write 1.0e-3", "as text"]),
    ("train.lr", "abc", ["train.lr: 'abc' is text, not a number; expected a number"]),
    ("train.batch_size", "64", ["train.batch_size: '64' is text, not a number; expected an integer"]),
    ("train.evals_per_epoch", True, ["train.evals_per_epoch: true is not a number; expected an integer"]),
    ("experiments.sub.variants.[1].d", [10, 20.5], ["variants[1:dense].d[1]: 20.5 is not a whole", "an integer"]),
    ("nets.small.widths", [16.5], ["nets.small.widths[0]: 16.5 is not a whole number; expected an integer"]),
]


@pytest.mark.parametrize("path,value,fragments", BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_config_gets_one_clear_message(path, value, fragments):
    with pytest.raises(ConfigError) as e:
        validate(with_(path, value))
    msg = str(e.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in:\n{msg}"


def _tying(grad) -> dict:
    cfg = base()
    cfg["experiments"]["sub"] = {"family": "tying", "datasets": ["digits"], "nets": ["small"], "variants": [
        {"name": "direct", "reparam": "direct"}, {"name": "tied", "reparam": "tying", "tie": "rows", "g": 2,
                                                  "grad": grad}]}
    return cfg


@pytest.mark.parametrize("cfg, expected", [
    # issue 20.9: these said "is not valid here (<description>)" without what is allowed, over two lines
    (merge(base(), {"experiments": {"sub": {"comparisons": None}}}),
     "experiments.sub.comparisons: null is not allowed; expected a mapping (keys: alpha, confidence, defaults, "
     "n_resamples, random_state, tests) or false"),
    (merge(base(), {"experiments": {"sub": {"comparisons": []}}}), "experiments.sub.comparisons: [] is not allowed"),
    (_tying(["sum", "sum"]), "experiments.sub.variants[1:tied].grad: ['sum', 'sum'] repeats 'sum'; "
                             "list each value once"),
    (_tying(["sum", "max"]),
     "experiments.sub.variants[1:tied].grad[1]: 'max' is not allowed; choose one of: sum, mean"),
    (_tying({"sum": 1}), "experiments.sub.variants[1:tied].grad: {'sum': 1} is not allowed; expected one of: sum, mean "
                         "or a list (each item one of: sum, mean; no value twice)"),
    (with_("train.optimizer", ["sgd", "sgd"]), "train.optimizer: ['sgd', 'sgd'] repeats 'sgd'; list each value once"),
    (with_("train.momentum", [0.5, 0.5]), "train.momentum: [0.5, 0.5] repeats 0.5; list each value once"),
])
def test_refusals_say_what_is_allowed(cfg, expected):
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    lines = str(e.value).splitlines()[1:]
    assert len(lines) == 1 and lines[0].startswith(f"  - {expected}"), str(e.value)


def test_two_cells_of_one_name_are_refused():
    """Issue 20.5, the second line of defence: a cell that would overwrite another's results is refused, naming
    both (here a repeated swept value past validation, which refuses it on its own)."""
    cfg = validate(base())
    cfg["experiments"]["sub"]["variants"][1]["d"] = [10, 20, 10]
    with pytest.raises(ConfigError) as e:
        expand(cfg)
    assert str(e.value).splitlines()[1:] == [
        "  - experiments.sub: two cells are both named 'digits__small__dense__d10' (dataset digits, net small, "
        "variant dense, d=10; dataset digits, net small, variant dense, d=10); rename one of them, or list a swept "
        "value once"]


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


def test_memory_message_shows_small_sizes_readably():
    cfg = with_("memory_limit_gib", 1e-5)  # ~10 KiB: less than the small net needs
    cfg["experiments"]["sub"]["analysis"] = {"n_boot": 100}  # the d_int bootstrap's ~8 KiB fits (2000: 156 KiB)
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    msg = str(e.value)
    assert "0.0 GiB" not in msg
    # direct: 3 x 4 bytes x D=1,210; dense d=20: 4 D + 12 d + 4 D d bytes
    assert "cell digits__small__direct needs ~14.2 KiB per seed" in msg
    assert "cell digits__small__dense__d20 needs ~99.5 KiB per seed" in msg
    assert "over memory_limit_gib=1e-05 (10.5 KiB)" in msg


@pytest.mark.parametrize("n,text", [
    (0, "0 B"), (999, "999 B"), (12345, "12.1 KiB"), (5 * 2**20, "5.0 MiB"), (0.3 * 2**30, "307 MiB"),
    (1023.4 * 2**20, "1023 MiB"), (1.5 * 2**30, "1.5 GiB"), (74.53 * 2**30, "74.5 GiB"), (3 * 2**40, "3.0 TiB"),
])
def test_fmt_bytes(n, text):
    assert fmt_bytes(n) == text


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


def _alias_bomb(levels: int) -> str:
    """YAML whose anchor a<levels> expands to 9^levels items (a billion laughs), under an unknown top-level key."""
    lines = ["  x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "anchors:\n" + "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_naming_the_file(tmp_path):
    """Issue 20.8: aliases are counted as expanded (without expanding them) and refused past a bound."""
    from weightspace.config import MAX_YAML_NODES

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb(12) + "nets: {small: {arch: fc, widths: *a12}}\n")  # 9^12 widths
    with pytest.raises(ConfigError) as e:
        load_config(bomb)
    assert str(e.value) == (f"{bomb}: its aliases (*name) expand to more than {MAX_YAML_NODES:,} YAML nodes (an alias "
                            f"bomb?); write the values out or use fewer aliases")
    recursive = tmp_path / "recursive.yaml"
    recursive.write_text("a: &x [1, *x]\n")
    with pytest.raises(ConfigError, match=r"recursive.yaml: an alias refers to the node that contains it"):
        load_config(recursive)
    ok = tmp_path / "ok.yaml"  # a few aliases and a merge key are fine
    ok.write_text("base: &b {x: 1, y: [1, 2]}\nother:\n  <<: *b\n  x: 3\n  z: *b\n")
    assert load_config(ok)["other"] == {"x": 3, "y": [1, 2], "z": {"x": 1, "y": [1, 2]}}


def test_duplicate_yaml_key_is_refused_naming_file_key_and_lines(tmp_path):
    """Issue 20.8: a key given twice in one mapping was silently the last one."""
    dup = tmp_path / "dup.yaml"
    dup.write_text("seeds: 2\ntrain:\n  lr: 0.1\n  epochs: 3\n  lr: 0.2\n")
    with pytest.raises(ConfigError) as e:
        load_config(dup)
    assert str(e.value) == f"{dup}: key 'lr' is given twice in one mapping (lines 3 and 5); keep one"
    same_name = tmp_path / "nested.yaml"  # one name in two mappings is not a repeat
    same_name.write_text("a: {lr: 1}\nb: {lr: 2}\n")
    assert load_config(same_name) == {"a": {"lr": 1}, "b": {"lr": 2}}


@pytest.mark.parametrize("path, value", [("seeds", 2**62), ("seeds", 100000), ("seeds", list(range(1001))),
                                         ("experiments.sub.seeds", 2**62)])
def test_seed_counts_are_bounded(path, value):
    """Issue 20.8: 2**62 seeds died with a MemoryError, 100000 kept `snakemake -n` busy past 300 s."""
    with pytest.raises(ConfigError) as e:
        validate(with_(path, value))
    msg = str(e.value)
    assert msg.count("\n  - ") == 1 and f"  - {path}: " in msg
    assert "expected an integer in [1, 1000]" in msg or "is too long" in msg


def test_comparison_resamples_are_checked_against_the_memory_limit():
    """Issue 20.8: n_resamples 10**9 passed validation and analyze asked for 29.8 GiB."""
    with pytest.raises(ConfigError) as e:
        validate(with_("experiments.sub.comparisons", {"n_resamples": 10**9}))
    assert str(e.value) == (
        "invalid configuration:\n  - experiments.sub.comparisons.n_resamples: comparing 2 seeds with 1,000,000,000 "
        "resamples needs ~59.6 GiB, over memory_limit_gib=16 (16.0 GiB); use fewer n_resamples (or comparisons: "
        "false), or raise memory_limit_gib")
    validate(with_("experiments.sub.comparisons", False, with_("experiments.sub.comparisons", {"n_resamples": 10**9})))
    with pytest.raises(ConfigError, match=r"  - seeds: comparing 1000 seeds with 9,999 resamples needs ~33.5 GiB"):
        validate(with_("seeds", 1000))  # P(A better)'s interval grows with the square of the seeds


def test_dint_bootstrap_replicates_are_checked_against_the_memory_limit():
    """Issue 20.8 (a sibling of n_resamples): analysis.n_boot 10**9 validated; analyze would ask for ~75 GiB."""
    with pytest.raises(ConfigError) as e:
        validate(with_("experiments.sub.analysis", {"n_boot": 10**9}))
    assert str(e.value) == (
        "invalid configuration:\n  - experiments.sub.analysis.n_boot: 1,000,000,000 bootstrap replicates of d_int "
        "over 2 seeds and 2 dimensions need ~74.5 GiB, over memory_limit_gib=16 (16.0 GiB); use fewer n_boot, or "
        "raise memory_limit_gib")


def test_hashed_and_kmeans_memory_counts_k():
    """Issue 20.8: the memory check ignored k (10**12 buckets: the job tried to allocate terabytes)."""
    for variant in ({"name": "h", "reparam": "hashed", "k": 10**12},
                    {"name": "km", "reparam": "kmeans", "k": 10**12, "pretrain_epochs": 1}):
        cfg = with_("experiments.sub.variants.[1]", variant, with_("train.epochs", 2))
        with pytest.raises(ConfigError) as e:
            validate(cfg)
        msg = str(e.value)
        assert f"variants[1:{variant['name']}]: cell digits__small__{variant['name']} needs ~" in msg
        assert "TiB per seed" in msg and "use a smaller k or budget, or raise memory_limit_gib" in msg


def test_shipped_configs_are_valid():
    full = validate(load_config(REPO / "config.yaml"))
    quick = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml"))
    assert sum(len(c) for c in expand(full).values()) > sum(len(c) for c in expand(quick).values())
    assert quick["device"] == "cpu"
    for cells in expand(quick).values():
        for c in cells.values():
            # teachers (built in or from the config's teachers) are generated: offline too
            assert c["dataset"] in ("digits", "mnist1d", "mnist1d_shuffled") or cell_info(c).structure, \
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


@pytest.mark.parametrize("name", ["digits", "mnist1d", "mnist1d_shuffled", "conv1d_teacher", "conv2d_teacher"])
def test_dataset_registry_matches_the_loaded_data(name, tmp_path):
    """The one record per dataset (used by config checks, plan, bench) says what loading gives."""
    from weightspace.data import info as dataset_info, load

    info, ds = dataset_info(name), load(name, tmp_path)
    assert (info.n_train, info.n_test) == (len(ds.x_train), len(ds.x_test))
    assert info.input_shape == ds.input_shape and info.n_outputs == ds.n_outputs and info.task == ds.task
    assert (info.structure is not None) == (ds.structure is not None)


def test_config_layer_imports_no_torch():
    """Parsing the workflow (snakemake -n) and validating a config must not pay for importing torch or scipy
    (every job process loads the families: scipy alone took ~1 s of each)."""
    import subprocess
    import sys

    code = ("import sys; import weightspace.config as c, weightspace.families, weightspace.plan, "
            "weightspace.estimate; "
            "c.expand(c.validate(c.load_config(sys.argv[1], sys.argv[2]))); "
            "print(' '.join(m for m in ('torch', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "config.yaml"), str(REPO / "config" / "quick.yaml")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ----------------------------------------------------------------------------------------------
# numbers


def test_whole_floats_become_integers():
    cfg = with_("train", {"epochs": 2.0, "batch_size": 64.0, "evals_per_epoch": 2.0}, with_("seeds", 3.0))
    cfg["experiments"]["sub"]["variants"][1]["d"] = [10.0, 20]
    out = validate(cfg)
    train = out["train"]
    assert (train["epochs"], train["batch_size"], train["evals_per_epoch"]) == (2, 64, 2)
    assert all(type(train[k]) is int for k in ("epochs", "batch_size", "evals_per_epoch"))
    assert out["seeds"] == [0, 1, 2]
    assert list(expand(out)["sub"]) == [
        "digits__small__direct", "digits__small__dense__d10", "digits__small__dense__d20"
    ]
    assert cfg["train"]["epochs"] == 2.0  # the input is not modified


def test_exponent_without_a_dot_in_yaml_gets_a_hint(tmp_path):
    preset = tmp_path / "lr.yaml"
    preset.write_text("train: {lr: 1e-3}\n")  # YAML 1.1 (PyYAML): a string
    with pytest.raises(ConfigError) as e:
        validate_files(REPO / "config.yaml", preset)
    msg = str(e.value)
    assert "train.lr: '1e-3' is text, not a number; expected a number or a list of numbers; write 1.0e-3" in msg
    preset.write_text("train: {lr: 1.0e-3}\n")
    assert validate_files(REPO / "config.yaml", preset)["train"]["lr"] == 0.001


# ----------------------------------------------------------------------------------------------
# presets and `weightspace validate`


def test_validate_lists_each_enabled_experiment_then_the_total(capsys):
    assert main(["validate", str(REPO / "config.yaml"), str(REPO / "config" / "quick.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[:-1]]
    assert [r[:2] for r in rows[:3]] == [["subspace", "subspace"], ["sharing", "sharing"], ["sharing-images", "sharing"]]
    assert lines[0].split("datasets: ")[1] == "digits, mnist1d"
    cells = [int(r[2]) for r in rows]
    assert cells[:3] == [46, 7, 16] and [int(r[4]) for r in rows] == [3 * c for c in cells]
    # the experiments of the later families follow (each family's tests check its own)
    assert lines[-1] == (f"config OK: {len(rows)} enabled experiment(s), {sum(cells)} cells, {3 * sum(cells)} runs "
                         f"(3 seeds each)")


def test_validate_shows_the_full_grid_kept_under_a_preset_that_adds_an_experiment(tmp_path, capsys):
    preset = tmp_path / "extra.yaml"
    preset.write_text(
        "experiments:\n  mine: {family: sharing, datasets: [digits], nets: [mlp], "
        "variants: [{name: direct, reparam: direct}]}\n"
    )
    assert main(["validate", str(REPO / "config.yaml"), str(preset)]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()[:-1]]  # the base's experiments (any family's), then mine
    assert names[:3] == ["subspace", "sharing", "sharing-images"] and names[-1] == "mine" and len(set(names)) == len(names)
    assert "  mine " in out and "datasets: mnist, fashion_mnist, cifar10" in out


def test_a_preset_given_alone_gets_a_hint(capsys):
    quick = REPO / "config" / "quick.yaml"
    with pytest.raises(ConfigError) as e:
        validate_files(quick)
    msg = str(e.value)
    assert "'family' is a required property" in msg
    hint = f"presets are merged over a base config: give it first, e.g. `weightspace validate config.yaml {quick}`"
    assert hint in msg
    assert main(["validate", str(quick)]) == 2
    assert "presets are merged over a base config" in capsys.readouterr().err


def test_no_preset_hint_when_the_first_file_is_a_complete_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_("experiments.sub.variants.[1].projection", None)))
    with pytest.raises(ConfigError) as e:
        validate_files(bad)
    assert "'projection' is a required property" in str(e.value)
    assert "presets are merged" not in str(e.value)


@pytest.mark.parametrize("off", ["null", "false"])
def test_cost_null_in_a_preset_switches_the_benchmark_off(tmp_path, off):
    preset = tmp_path / "nocost.yaml"
    preset.write_text(f"experiments: {{subspace: {{cost: {off}}}}}\n")
    assert load_config(REPO / "config.yaml", preset)["experiments"]["subspace"]["cost"] in (None, False)
    cfg = validate_files(REPO / "config.yaml", REPO / "config" / "quick.yaml", preset)
    assert not cfg["experiments"]["subspace"]["cost"]
    assert cfg["experiments"]["subspace"]["analysis"]["fraction"] == 0.9  # the rest of the experiment is kept
    # and a mapping still gets its defaults filled and its keys checked
    full = validate_files(REPO / "config.yaml", REPO / "config" / "quick.yaml")
    assert full["experiments"]["subspace"]["cost"]["batch_size"] == 256
    with pytest.raises(ConfigError, match=r"experiments.subspace.cost.d\[0\]: 0 is out of range"):
        validate(merge(full, {"experiments": {"subspace": {"cost": {"d": [0]}}}}))
    with pytest.raises(ConfigError, match=r"subspace.cost: True is not allowed; choose one of: null, false"):
        validate(merge(full, {"experiments": {"subspace": {"cost": True}}}))


def _subspace_only(variants, analysis=None):
    """The base config cut to its subspace experiment, with these variants (and analysis keys)."""
    cfg = load_config(REPO / "config.yaml")
    cfg["experiments"] = {"subspace": {**cfg["experiments"]["subspace"], "variants": variants}}
    cfg["experiments"]["subspace"].pop("cost")
    if analysis:
        cfg["experiments"]["subspace"]["analysis"] = {**cfg["experiments"]["subspace"]["analysis"], **analysis}
    return cfg


SWEPT_DIRECT = {"name": "direct", "reparam": "direct", "train": {"lr": [0.003, 0.3]}}
DENSE = {"name": "dense", "reparam": "subspace", "projection": "dense", "d": [10, 100]}


def test_a_swept_baseline_that_makes_dint_ambiguous_is_refused_before_anything_runs():
    with pytest.raises(ConfigError) as e:
        validate(_subspace_only([SWEPT_DIRECT, DENSE]))
    assert "experiments.subspace.analysis: the baseline variant 'direct' sweeps lr (0.003, 0.3)" in str(e.value)
    assert "analysis.baseline_setting" in str(e.value)


def test_a_swept_baseline_is_accepted_with_a_setting_or_a_matching_sweep():
    validate(_subspace_only([SWEPT_DIRECT, DENSE], {"baseline_setting": {"lr": 0.003}}))
    validate(_subspace_only([SWEPT_DIRECT, dict(DENSE, train={"lr": [0.003, 0.3]})]))


@pytest.mark.parametrize("analysis,fragment", [
    ({"baseline_setting": {"lr": 0.1}}, "0.1 is not one of the values the baseline sweeps (0.003, 0.3)"),
    ({"baseline_setting": {"lr": 0.003, "epochs": 5}}, "does not sweep epochs; it sweeps lr"),
    ({"baseline": "nope"}, "'nope' is not a variant of this experiment"),
])
def test_bad_baseline_choices_are_named(analysis, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        validate(_subspace_only([SWEPT_DIRECT, DENSE], analysis))


def test_several_direct_variants_need_a_named_baseline():
    two = [{"name": "direct", "reparam": "direct"}, {"name": "direct-sgd", "reparam": "direct",
                                                       "train": {"optimizer": "sgd"}}, DENSE]
    with pytest.raises(ConfigError, match="several direct variants"):
        validate(_subspace_only(two))
    validate(_subspace_only(two, {"baseline": "direct-sgd"}))


@pytest.mark.parametrize("value,ok", [(100, True), (None, True), (1.0, False), (-5, False)])
def test_divergence_factor(value, ok):
    cfg = load_config(REPO / "config.yaml")
    cfg["train"]["divergence_factor"] = value
    if ok:
        assert validate(cfg)["train"]["divergence_factor"] == value
    else:
        with pytest.raises(ConfigError, match="train.divergence_factor"):
            validate(cfg)


@pytest.mark.parametrize("preset, enabled", [("teachers", {"sharing"}), ("images", {"sharing-images"}),
                                             ("mnist", {"subspace"}),
                                             ("mnist-tying", {"tying", "tying-crosslayer", "tying-autoencoder"}),
                                             ("mnist-feedback", {"feedback", "feedback-published"})])
def test_single_experiment_presets_run_only_their_experiment(preset, enabled):
    """A preset over config.yaml that names one experiment must switch every other one off (a family added to
    config.yaml later would otherwise run in it, on the full datasets)."""
    from weightspace.config import expand, validate_files

    assert set(expand(validate_files(REPO / "config.yaml", REPO / "config" / f"{preset}.yaml"))) == enabled
