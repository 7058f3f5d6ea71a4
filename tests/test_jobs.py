"""Training jobs of several cells (weightspace.plan.train_jobs) and what they ask a scheduler for
(weightspace.estimate.job_resources), and how the workflow declares them."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import REPO
from weightspace.config import expand, load_config, validate
from weightspace.estimate import job_resources
from weightspace.plan import _split, train_jobs


def quick(**over):
    return validate({**load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml"), **over})


@pytest.mark.parametrize("n,k,sizes", [(24, 8, [8, 8, 8]), (22, 8, [8, 7, 7]), (7, 8, [7]), (3, 1, [1, 1, 1]),
                                       (9, 8, [5, 4])])
def test_parts_are_as_equal_as_they_can_be(n, k, sizes):
    parts = _split(list(range(n)), k)
    assert [len(p) for p in parts] == sizes
    assert [x for p in parts for x in p] == list(range(n))


@pytest.mark.parametrize("k", [1, 3, 8, 1000])
def test_every_cell_is_in_one_job_of_its_experiment(k):
    cfg = quick(cells_per_job=k)
    cells = expand(cfg)
    jobs = train_jobs(cfg, cells)
    assert sorted((j.experiment, c) for j in jobs for c in j.cells) == sorted(
        (e, c) for e, cs in cells.items() for c in cs)
    for j in jobs:
        assert 1 <= len(j.cells) <= k
        groups = {(cells[j.experiment][c]["dataset"], cells[j.experiment][c]["net"]["name"]) for c in j.cells}
        if j.prefix:  # one dataset and net
            assert groups == {tuple(j.prefix.split("__")[:2])}
        else:  # packed: several whole groups, each in no other job
            assert len(groups) > 1 and j.name.startswith("packed")
            others = {c for o in jobs if o is not j and o.experiment == j.experiment for c in o.cells}
            assert not any(c.startswith(f"{d}__{n}__") for d, n in groups for c in others)
    # a rule's jobs have the same experiment and cells' suffixes (its output patterns), differing in the prefix
    by_rule = {}
    for j in jobs:
        by_rule.setdefault(j.rule, []).append(j)
    for rule, js in by_rule.items():
        assert re.fullmatch(r"train_[a-z]+(_\d+)?", rule)
        assert len({(j.experiment, j.suffixes, j.part) for j in js}) == 1
        assert len({j.prefix for j in js}) == len(js)
        assert all(j.prefix for j in js) or len(js) == 1  # a packed job is its rule's only one
    if k == 1:
        assert len(jobs) == sum(len(c) for c in cells.values())


def test_small_groups_are_packed_into_one_job_and_large_ones_split():
    """Consecutive (dataset, net) groups that fit in cells_per_job together are one job (one process start instead
    of one per group); a group over cells_per_job is split as before; the packed jobs' names are unique."""
    cfg = quick(cells_per_job=32)
    jobs = {(j.experiment, j.name): j for j in train_jobs(cfg)}
    kinds = jobs[("sharing-kinds", "packed1")]  # four teachers, one cell each
    assert kinds.prefix == "" and len(kinds.cells) == 4 and len({c.split("__")[0] for c in kinds.cells}) == 4
    assert [n for e, n in jobs if e == "sharing-kinds"] == ["packed1"]
    # subspace: 23 cells on each of two datasets do not fit 32 together: a job each, as before
    assert sorted(n for e, n in jobs if e == "subspace") == ["digits__small__part1", "mnist1d__small__part1"]
    small = train_jobs(quick(cells_per_job=3))
    assert all(len(j.cells) <= 3 for j in small)
    assert not [j for j in small if j.experiment == "subspace" and not j.prefix]  # its groups are larger than 3


def test_resources_follow_the_cells_and_the_device():
    cfg = quick()
    cells = expand(cfg)
    sub = list(cells["subspace"].values())
    cpu = job_resources(sub[:8], 3, cfg)
    assert cpu["gpu"] == 0 and cpu["threads"] == 1 and cpu["runtime"] >= 10 and 1024 <= cpu["mem_mb"]
    assert job_resources(sub[:8], 3, {**cfg, "device": "cuda"})["gpu"] == 1
    assert job_resources(sub[:8], 3, {**cfg, "device": "cuda:1"})["gpu"] == 1
    # more epochs, more cells: more time; never more memory than memory_limit_gib allows
    long = [{**c, "train": {**c["train"], "epochs": 2000}} for c in sub[:8]]
    assert job_resources(long, 3, cfg)["runtime"] > job_resources(sub[:8], 3, cfg)["runtime"]
    assert job_resources(sub[:16], 3, {**cfg, "memory_limit_gib": 0.01})["mem_mb"] <= 2048 + 11


def test_workflow_declares_job_resources_and_passes_the_gpu_count(tmp_path):
    """Dry run: the training jobs' resources (estimated), a gpu each when --resources gpu=N is given, and the
    train command told N (the allocator shares the N GPUs out)."""
    auto = tmp_path / "auto.yaml"
    auto.write_text("device: auto\n")  # the quick preset trains on the CPU; auto may use the GPUs
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "2", "--resources", "gpu=2",
                          "--configfile", "config/quick.yaml", str(auto), "--forceall"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    train = [block for block in text.split("\n\n") if re.search(r"rule train_\w+:", block)]
    assert len(train) == len(train_jobs(quick()))
    for block in train:
        assert re.search(r"resources: .*runtime=\d+.*gpu=1.*mem_mb=\d+", block), block
        assert "--gpus 2" in block and "--cells-json" in block, block
