"""The command-line interface, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO

WS = [sys.executable, "-m", "weightspace"]


def ws(*args, cwd=None, timeout=300):
    return subprocess.run([*WS, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("command", ["train", "aggregate", "render", "make", "validate", "cells", "data", "summary"])
def test_every_command_has_help(command):
    out = ws(command, "--help")
    assert out.returncode == 0
    assert "usage: weightspace " + command in out.stdout


def test_validate_reports_the_grid():
    out = ws("validate", str(REPO / "config.yaml"), str(REPO / "config" / "quick.yaml"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]][:3] == ["subspace", "sharing", "sharing-images"]  # one per experiment
    assert lines[-1].startswith(f"config OK: {len(lines) - 1} enabled experiment(s)")


def test_validate_bad_config_exits_2_with_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {optimizer: rmsprop}\n")
    out = ws("validate", str(REPO / "config.yaml"), str(bad))
    assert out.returncode == 2
    assert "train.optimizer: 'rmsprop' is not allowed; choose one of: adam, sgd" in out.stderr
    assert "Traceback" not in out.stderr


def _subcommands(parser) -> dict:
    import argparse

    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def test_every_option_of_every_bench_command_has_help():
    import argparse

    from weightspace.cli import build_parser

    benches = _subcommands(_subcommands(build_parser())["bench"])
    assert {"trainer", "cost", "meta-sharing"} <= set(benches)
    missing = [f"bench {name} {'/'.join(a.option_strings) or a.dest}" for name, p in benches.items()
               for a in p._actions if not a.help or a.help == argparse.SUPPRESS]
    assert missing == []


def test_bench_trainer_runs_offline_on_digits(tmp_path):
    """A newcomer can run the naive-loop benchmark without dataset files: digits, tiny sizes."""
    from weightspace.cli import main
    from weightspace.data import DATASETS

    out = tmp_path / "bench.json"
    assert main(["bench", "trainer", "--dataset", "digits", "--data-dir", str(tmp_path / "none"), "--widths", "8",
                 "--epochs", "1", "--batch-size", "128", "--seeds", "2", "--trials", "1", "--device", "cpu",
                 "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert (rec["dataset"], rec["net"]) == ("digits", "fc 64-8-10")
    assert rec["steps_per_run"] == DATASETS["digits"].n_train // 128  # both loops did this many (checked inside)
    assert not (tmp_path / "none").exists()


def test_bench_trainer_without_the_mnist_files_points_at_digits(tmp_path, capsys):
    from weightspace.cli import main

    assert main(["bench", "trainer", "--data-dir", str(tmp_path), "--trials", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "dataset 'mnist': files missing" in err
    assert "`weightspace bench trainer --dataset digits` runs offline" in err


def test_validate_warns_in_one_line_when_the_config_asks_for_cuda_this_machine_lacks(tmp_path, monkeypatch):
    """Not refused (a cluster's login node has no GPU), but said: one line on stderr, exit 0."""
    cuda = tmp_path / "cuda.yaml"
    cuda.write_text("device: cuda\n")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # torch finds no CUDA, whatever the machine
    out = ws("validate", str(REPO / "config.yaml"), str(REPO / "config" / "quick.yaml"), str(cuda))
    assert out.returncode == 0 and out.stdout.splitlines()[-1].startswith("config OK")
    (line,) = out.stderr.splitlines()
    assert line.startswith("weightspace validate: warning: device: cuda, but torch finds no CUDA on this machine")


def test_train_aggregate_plot_by_hand(tmp_path):
    cell = {
        "experiment": "e",
        "cell": "digits__n__dense__d20",
        "dataset": "digits",
        "net": {"name": "n", "arch": "fc", "widths": [16]},
        "variant": {"name": "dense", "reparam": "subspace", "projection": "dense", "d": 20},
        "train": {"epochs": 1, "batch_size": 128, "lr": 0.01},
        "swept": {"d": 20},
    }
    base = dict(cell, cell="digits__n__direct", variant={"name": "direct", "reparam": "direct"}, swept={})
    runs = []
    for c in (cell, base):
        out_dir = tmp_path / "runs" / c["cell"]
        r = ws("train", "--cell-json", json.dumps(c), "--seeds", "0", "1", "--out", str(out_dir), "--device", "cpu")
        assert r.returncode == 0, r.stderr
        assert "epoch   1.00" in r.stderr  # one progress line per evaluation when not on a terminal
        runs += [str(out_dir / "seed-0"), str(out_dir / "seed-1")]
    r = ws("aggregate", *runs, "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    final = pd.read_csv(tmp_path / "final.csv")
    assert len(final) == 4 and set(final["dim"]) == {20, final["n_weights"].iloc[0]}


def test_make_remakes_one_artifact_of_an_experiment_and_names_the_known_ones(tmp_path):
    """`weightspace make <family>.<artifact>` draws one figure from an experiment's tables (here the subspace
    curves of one variant, --where choosing the instance); an unknown name or key is one line listing what is."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"seeds: 2\ntrain: {{epochs: 1, batch_size: 128}}\nnets: {{n: {{arch: fc, widths: [8]}}}}\n"
        f"results_dir: {tmp_path}/results\nfigures_dir: {tmp_path}/figures\n"
        "experiments: {e: {family: subspace, datasets: [digits], nets: [n], variants: [{name: direct, reparam: direct},"
        " {name: dense, reparam: subspace, projection: dense, d: [5, 10]}, "
        "{name: sparse, reparam: subspace, projection: sparse, d: [5]}]}}\n"
    )
    r = ws("train", "--config", str(cfg), "--cell", "digits__n__direct", "digits__n__dense__d5", "digits__n__dense__d10",
           "digits__n__sparse__d5", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    r = ws("make", "subspace.dint90", "e", "--config", str(cfg))  # before its table is written
    assert r.returncode == 2 and "dint90.csv: no such file" in r.stderr and "earlier stage" in r.stderr
    r = ws("render", "e", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    figures = tmp_path / "figures" / "e"
    made = {p.name for p in figures.iterdir()}
    assert {"curves__digits__n__dense.png", "curves__digits__n__sparse.pdf", "dint90.tex", "comparisons.png"} <= made
    for p in figures.iterdir():
        p.unlink()
    r = ws("make", "subspace.curves", "e", "--config", str(cfg), "--where", "variant=sparse")
    assert r.returncode == 0, r.stderr
    assert {p.name for p in figures.iterdir()} == {"curves__digits__n__sparse.pdf", "curves__digits__n__sparse.png"}
    r = ws("make", "subspace.nope", "e", "--config", str(cfg))
    assert r.returncode == 2 and "no artifact 'subspace.nope'; artifacts are: " in r.stderr
    assert "subspace.curves" in r.stderr and "Traceback" not in r.stderr
    r = ws("make", "subspace.dint90", "e", "--config", str(cfg), "--where", "dataset=digits")
    assert r.returncode == 2 and "subspace.dint90 is made per experiment; it has no dataset to choose" in r.stderr
    r = ws("make", "tying.params", "e", "--config", str(cfg))
    assert r.returncode == 2 and "an artifact of the tying family; experiment 'e' is of the subspace family" in r.stderr


def test_train_by_cell_name_from_config(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "seeds: 1\ntrain: {epochs: 1}\nnets: {n: {arch: fc, widths: [8]}}\n"
        "experiments: {e: {family: subspace, datasets: [digits], nets: [n], variants: [{name: direct, reparam: direct}]}}\n"
    )
    r = ws("cells", str(cfg))
    assert r.stdout.strip() == "e\tdigits__n__direct"
    r = ws("train", "--config", str(cfg), "--cell", "digits__n__direct", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "seed-0" / "summary.json").exists()
    r = ws("train", "--config", str(cfg), "--cell", "nope")
    assert r.returncode == 2 and "no cell 'nope'" in r.stderr


def test_missing_dataset_is_a_clear_error(tmp_path):
    r = ws("data", "mnist", "--data-dir", str(tmp_path), "--no-download")
    assert r.returncode == 2
    assert "files missing under" in r.stderr and "train-images-idx3-ubyte" in r.stderr
    assert "Traceback" not in r.stderr


def test_aggregate_learned_sharing_with_config_tau(tmp_path):
    """A variant parameter (tau) and a per-step metric of the same run are both kept (CI regression)."""
    cell = {
        "experiment": "s",
        "cell": "conv1d_teacher__linear__learned",
        "dataset": "conv1d_teacher",
        "net": {"name": "linear", "arch": "fc", "widths": []},
        "variant": {"name": "learned", "reparam": "sharing", "k": 4, "tau": 1.0, "tau_final": 0.5},
        "train": {"epochs": 1, "batch_size": 256, "lr": 0.03},
        "swept": {},
    }
    out_dir = tmp_path / "runs" / cell["cell"]
    r = ws("train", "--cell-json", json.dumps(cell), "--seeds", "0", "--out", str(out_dir), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    r = ws("aggregate", str(out_dir / "seed-0"), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert (curves["tau"] == 1.0).all()
    assert curves["tau_now"].iloc[0] == pytest.approx(1.0) and curves["tau_now"].iloc[-1] == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("args", [
    ["analyze", "--final", "{tmp}/nope/final.csv", "--out", "{tmp}/o"],
])
def test_stage_command_with_a_missing_input_names_it_without_a_traceback(tmp_path, args):
    r = ws(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "no such file" in r.stderr and str(tmp_path) in r.stderr and "earlier stage" in r.stderr


def test_train_by_hand_uses_the_configs_checkpoint_interval_and_the_workflows_thread_count(tmp_path, monkeypatch):
    """Same config, same seed, same numbers whichever entry point: one thread, the config's checkpoint_every_s."""
    import torch

    from weightspace import cli, runner

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "seeds: 1\ncheckpoint_every_s: 7\ntrain: {epochs: 1}\nnets: {n: {arch: fc, widths: [8]}}\n"
        "experiments: {e: {family: subspace, datasets: [digits], nets: [n], variants: [{name: direct, reparam: direct}]}}\n"
    )
    seen = {}

    def fake_run_cells(cells, seeds, outs, **kw):
        seen.update(kw, threads=torch.get_num_threads())
        return []

    monkeypatch.setattr(runner, "run_cells", fake_run_cells)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert cli.main(["train", "--config", str(cfg), "--cell", "digits__n__direct", "--out", str(tmp_path)]) == 0
        assert seen["checkpoint_every_s"] == 7 and seen["threads"] == 1
        assert cli.main(["train", "--config", str(cfg), "--cell", "digits__n__direct", "--out", str(tmp_path),
                         "--checkpoint-every", "3", "--threads", "2"]) == 0
        assert seen["checkpoint_every_s"] == 3 and seen["threads"] == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("code", ["EACCES", "EROFS"])
def test_results_folder_made_read_only_mid_run_is_one_line_naming_it(tmp_path, monkeypatch, capsys, code):
    """A folder that stops being writable while a job trains (chmod, a read-only mount): the job's first write
    fails; the CLI says so in one line naming the folder and what to do, exit 2, no traceback. (Simulated: the
    tests may run as root, whom chmod does not stop.)"""
    import errno
    import os

    import torch

    from weightspace import cli, io

    def read_only(path):
        tmp = path.with_name(f".tmp-{path.name}.0123")
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)), str(tmp))

    monkeypatch.setattr(io, "_create_temporary", read_only)
    cell = {"experiment": "e", "cell": "c", "dataset": "digits", "net": {"name": "n", "arch": "fc", "widths": [8]},
            "variant": {"name": "direct", "reparam": "direct"}, "train": {"epochs": 1, "batch_size": 256}}
    before = torch.get_num_threads()
    try:
        status = cli.main(["train", "--cell-json", json.dumps(cell), "--seeds", "0", "--out",
                           str(tmp_path / "runs" / "c"), "--device", "cpu", "--checkpoint-every", "0", "--no-progress"])
    finally:
        torch.set_num_threads(before)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    folder = tmp_path / "runs" / ".checkpoints" / "c"  # the first write: the checkpoint at the first evaluation
    assert err[-1] == (f"weightspace train: error: cannot write in {folder} ({os.strerror(getattr(errno, code))}: "
                       f".tmp-seeds-0.pt.0123); make it writable (e.g. chmod u+w {folder}) and re-run the same command")
