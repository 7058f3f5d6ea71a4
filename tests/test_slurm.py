"""The SLURM profile against a real SLURM: a single-node slurmctld + slurmd on this machine (scripts/local-slurm.sh).

Runs where it can be brought up: as root, with Debian's slurm-wlm and munge installed or installable (CI here).
Elsewhere it skips, saying why. Marked ``slurm`` and ``slow``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO
from test_workflow import SNAKEMAKE, only, workdir_copy

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = REPO / "scripts" / "local-slurm.sh"


def _script(cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), cmd], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def local_slurm():
    """SLURM up on this machine for the tests of this module; stopped afterwards if this fixture started it."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a local SLURM needs root (scripts/local-slurm.sh installs packages and starts daemons)")
    before = _script("status").stdout
    was_up = all(f"{d}: running" in before for d in ("munged", "slurmctld", "slurmd"))
    up = _script("up")
    if up.returncode == 77:
        pytest.skip(f"no local SLURM here: {up.stderr.strip().splitlines()[-1]}")
    assert up.returncode == 0, up.stderr
    yield
    if not was_up:
        down = _script("down")
        assert down.returncode == 0, down.stderr
        # no slurm.conf of ours left naming a stopped controller: SLURM clients (and so every later snakemake run,
        # through its SLURM plugin's scontrol calls) would wait seconds for it
        conf = Path("/etc/slurm/slurm.conf")
        assert not (conf.exists() and "written by weightspace scripts/local-slurm.sh" in conf.read_text())


def tiny_config(results: str) -> dict:
    """Two nets on digits with the same two cells each: two training jobs of one rule (one job array)."""
    return {
        "results_dir": results,
        "seeds": 2,
        "cells_per_job": 2,
        "train": {"epochs": 2, "evals_per_epoch": 1},
        "nets": {"tiny": {"arch": "fc", "widths": [16]}},
        "experiments": only({"subspace": {
            "datasets": ["digits"],
            "nets": ["small", "tiny"],
            "variants": [
                {"name": "direct", "reparam": "direct"},
                {"name": "dense", "reparam": "subspace", "projection": "dense", "d": 20, "train": {"lr": 0.03}},
            ],
            "cost": None,
        }}),
    }


def test_tiny_preset_through_the_slurm_profile_with_job_arrays(local_slurm, tmp_path):
    repo = workdir_copy(tmp_path)
    for name, results in (("slurm.yaml", "results/slurm"), ("local.yaml", "results/local")):
        (repo / name).write_text(yaml.safe_dump(tiny_config(results)))
    target = "results/slurm/subspace/final.csv"
    # the project's profile as it is, with this cluster's partition and its lack of accounting given on the
    # command line, as a user of such a cluster would
    slurm = subprocess.run(
        [*SNAKEMAKE, "--profile", "profiles/slurm", "--configfile", "config/quick.yaml", "slurm.yaml",
         "--default-resources", "slurm_partition=debug", "runtime=10", "mem_mb=1000",
         "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2", target],
        cwd=repo, capture_output=True, text=True, timeout=900)
    out = slurm.stdout + slurm.stderr
    assert slurm.returncode == 0, out[-4000:]
    # the training jobs went in as one array through sbatch; the small jobs by sbatch too (data: local rule)
    arrays = re.findall(r"Submitted array job with Snakemake IDs ([\d,]+) and SLURM job ID (\d+)", out)
    assert arrays and any(len(ids.split(",")) == 2 for ids, _ in arrays), out[-4000:]
    singles = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    assert singles, out[-4000:]  # the render job (final.csv and the figures)
    array_id = next(jid for ids, jid in arrays if len(ids.split(",")) == 2)
    logs = list((repo / ".snakemake" / "slurm_logs").rglob(f"{array_id}_*.log"))
    assert len(logs) == 2, sorted(map(str, (repo / ".snakemake" / "slurm_logs").rglob("*")))
    train_logs = sorted((repo / "results" / "slurm" / "logs" / "train" / "subspace").glob("*.log"))
    assert [p.name for p in train_logs] == ["digits__small__part1.log", "digits__tiny__part1.log"]
    for log in train_logs:
        text = log.read_text()
        assert f"(SLURM job {array_id}_" in text, text  # it ran as a task of that array
        assert "wrote 4 run(s)" in text, text
    # the same config run locally gives the same tables
    local = subprocess.run([*SNAKEMAKE, "results/local/subspace/final.csv", "--cores", "2", "--configfile",
                            "config/quick.yaml", "local.yaml"], cwd=repo, capture_output=True, text=True, timeout=900)
    assert local.returncode == 0, local.stderr[-3000:]
    compare = subprocess.run([sys.executable, "-m", "weightspace", "compare", "results/local", "results/slurm"],
                             cwd=repo, capture_output=True, text=True)
    assert compare.returncode == 0, compare.stdout + compare.stderr
    final = pd.read_csv(repo / target)
    assert len(final) == 2 * 2 * 2 and set(final["status"]) == {"ok"}
