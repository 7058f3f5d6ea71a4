"""Kill-safe training: checkpoints, resume with identical results, signals, locks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from test_train import strip_times
from weightspace.errors import WeightspaceError
from weightspace.io import file_lock
from weightspace.runner import checkpoint_dir, run_cell, run_cells
from weightspace.train import Interrupted, Trainer, train

WS = [sys.executable, "-m", "weightspace"]


def cell(variant=None, **train_kw):
    t = {"epochs": 3, "batch_size": 64, "lr": 3e-3, "evals_per_epoch": 2}
    t.update(train_kw)
    return {
        "experiment": "e",
        "cell": "resume-test",
        "dataset": "digits",
        "net": {"name": "n", "arch": "fc", "widths": [32]},
        "variant": variant or {"reparam": "subspace", "projection": "fastfood", "d": 40},
        "train": t,
    }


class StopAt(Trainer):
    """A trainer that receives a stop request (as from SIGTERM) after ``at`` steps."""

    def __init__(self, *a, at: int, **kw):
        super().__init__(*a, **kw)
        self.at = at

    def _train_step(self, idx):
        super()._train_step(idx)
        if self.step + 1 == self.at:
            self.stop_requested = True


def quiet(msg):
    pass


@pytest.mark.parametrize("at", [5, 22], ids=lambda a: f"step{a}")
@pytest.mark.parametrize("variant", [
    {"reparam": "direct"},
    {"reparam": "subspace", "projection": "fastfood", "d": 40},
    {"reparam": "subspace", "projection": "sparse", "d": 40},
], ids=["direct", "fastfood", "sparse"])
def test_interrupted_and_resumed_run_equals_uninterrupted(digits, tmp_path, at, variant):
    c = cell(variant)
    reference = train(c, digits, [0, 1], log=quiet, progress=False)
    ckpt = tmp_path / "ckpt.pt"
    first = StopAt(c, digits, [0, 1], log=quiet, progress=False, checkpoint=ckpt, checkpoint_every_s=1e9, at=at)
    with pytest.raises(Interrupted, match=f"stopped at step {at}"):
        first.run()
    assert ckpt.exists()
    logs = []
    resumed = Trainer(c, digits, [0, 1], log=logs.append, progress=False, checkpoint=ckpt).run()
    assert any(f"resumed from checkpoint at step {at}" in m for m in logs)
    for ref, res in zip(reference, resumed):
        assert strip_times(res.rows) == strip_times(ref.rows)
        assert res.status == ref.status


def test_sgd_momentum_state_survives_resume(digits, tmp_path):
    c = cell(optimizer="sgd", lr=0.05, momentum=0.9)
    reference = train(c, digits, [3], log=quiet, progress=False)
    ckpt = tmp_path / "c.pt"
    with pytest.raises(Interrupted):
        StopAt(c, digits, [3], log=quiet, progress=False, checkpoint=ckpt, at=17).run()
    resumed = Trainer(c, digits, [3], log=quiet, progress=False, checkpoint=ckpt).run()
    assert strip_times(resumed[0].rows) == strip_times(reference[0].rows)


def test_checkpoint_of_another_config_is_ignored(digits, tmp_path):
    ckpt = tmp_path / "c.pt"
    with pytest.raises(Interrupted):
        StopAt(cell(lr=3e-3), digits, [0], log=quiet, progress=False, checkpoint=ckpt, at=9).run()
    logs = []
    res = Trainer(cell(lr=1e-2), digits, [0], log=logs.append, progress=False, checkpoint=ckpt).run()
    assert any("ignoring checkpoint" in m for m in logs)
    assert strip_times(res[0].rows) == strip_times(train(cell(lr=1e-2), digits, [0], log=quiet, progress=False)[0].rows)


def test_run_cell_removes_checkpoints_when_done(digits, tmp_path):
    out = tmp_path / "runs" / "resume-test"
    written = run_cell(cell(), [0, 1], out, device="cpu", log=quiet, progress=False, checkpoint_every_s=0)
    assert [p.parent.name for p in written] == ["seed-0", "seed-1"]
    assert not checkpoint_dir(out).exists()
    assert not (tmp_path / "runs" / ".checkpoints").exists()


def test_second_process_on_the_same_cell_fails_clearly(tmp_path):
    out = tmp_path / "runs" / "resume-test"
    ckpt = checkpoint_dir(out)
    ckpt.mkdir(parents=True)
    with file_lock(ckpt / "train"):
        with pytest.raises(WeightspaceError, match="being trained by another process"):
            run_cell(cell(), [0], out, device="cpu", log=quiet, progress=False)
    assert not (out / "seed-0" / "summary.json").exists()


def _start(c, out, *extra):
    return subprocess.Popen(
        [*WS, "train", "--cell-json", json.dumps(c), "--seeds", "0", "1", "--out", str(out), "--device", "cpu",
         "--checkpoint-every", "0", *extra],
        stderr=subprocess.PIPE, text=True,
    )


def _final_rows(out):
    return [strip_times(pd.read_csv(out / f"seed-{s}" / "metrics.csv").to_dict("records")) for s in (0, 1)]


def _wait_for(predicate, timeout=120):
    t = time.time()
    while not predicate():
        if time.time() - t > timeout:
            raise TimeoutError
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_process_resumes_to_identical_results(tmp_path, sig):
    c = cell(epochs=120, evals_per_epoch=1)  # ~2,600 steps: seconds, so the signal lands while it trains
    ref_out = tmp_path / "ref" / "cell"
    assert subprocess.run([*WS, "train", "--cell-json", json.dumps(c), "--seeds", "0", "1", "--out", str(ref_out),
                           "--device", "cpu"], capture_output=True).returncode == 0
    out = tmp_path / "runs" / "cell"
    ckpt = checkpoint_dir(out) / "seeds-0-1.pt"
    proc = _start(c, out)
    _wait_for(lambda: ckpt.exists() and ckpt.stat().st_size > 0)
    time.sleep(0.3)  # let it train a little beyond the first checkpoint
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0 or (out / "seed-0" / "summary.json").exists():
        pytest.skip("the run finished before the signal arrived (machine too fast for this test's timing)")
    assert proc.returncode == (143 if sig == signal.SIGTERM else -9), err
    if sig == signal.SIGTERM:
        assert "checkpoint saved" in err and "re-run the same command to resume" in err
    assert not (out / "seed-0" / "summary.json").exists()  # nothing that looks finished
    assert ckpt.exists()
    again = subprocess.run([*WS, "train", "--cell-json", json.dumps(c), "--seeds", "0", "1", "--out", str(out),
                            "--device", "cpu"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "resumed from checkpoint" in again.stderr
    assert _final_rows(out) == _final_rows(ref_out)
    summary = json.loads((out / "seed-1" / "summary.json").read_text())
    assert summary["resumed_from_step"] > 0
    assert not checkpoint_dir(out).exists()


def test_stale_temporary_files_never_look_finished(tmp_path):
    """An atomic write interrupted by an exception leaves neither the file nor its temporary."""
    from weightspace.io import atomic_write

    target = tmp_path / "x" / "summary.json"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write('{"partial": ')
            raise RuntimeError("killed")
    assert not target.exists()
    assert os.listdir(target.parent) == []


# ---- jobs of several cells (cells_per_job): a finished cell is restored, not trained again ----


def _cells_job(epochs_second=120):
    first = cell(epochs=2)
    first["cell"] = "first"
    second = cell(epochs=epochs_second, evals_per_epoch=1)
    second["cell"] = "second"
    return [first, second]


def _train_job(cells, runs, *extra, popen=False):
    args = [*WS, "train", "--cells-json", json.dumps(cells), "--seeds", "0", "1", "--runs-dir", str(runs),
            "--device", "cpu", "--checkpoint-every", "0", *extra]
    if popen:
        return subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    return subprocess.run(args, capture_output=True, text=True)


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_run_cells_trains_each_cell_as_run_cell_does(digits, tmp_path):
    cells = _cells_job(epochs_second=2)
    outs = [tmp_path / "job" / c["cell"] for c in cells]
    written = run_cells(cells, [0, 1], outs, device="cpu", log=quiet, progress=False)
    assert [(p.parent.parent.name, p.parent.name) for p in written] == [
        ("first", "seed-0"), ("first", "seed-1"), ("second", "seed-0"), ("second", "seed-1")]
    for c, out in zip(cells, outs):
        alone = tmp_path / "alone" / c["cell"]
        run_cell(c, [0, 1], alone, device="cpu", log=quiet, progress=False)
        assert _final_rows(out) == _final_rows(alone)
    assert not (tmp_path / "job" / ".checkpoints").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_job_killed_after_its_first_cell_restores_it_and_resumes_the_second(tmp_path, sig):
    """A job of two cells killed while training the second: the re-run (after Snakemake deleted the job's
    outputs, as it does for an incomplete job) restores the first cell's files byte for byte without training
    it, resumes the second from its checkpoint, and ends with the files of an uninterrupted job."""
    cells = _cells_job()
    ref = tmp_path / "ref"
    done = _train_job(cells, ref)
    assert done.returncode == 0, done.stderr
    runs = tmp_path / "runs"
    finished = runs / ".checkpoints" / "first" / "finished.json"
    ckpt = runs / ".checkpoints" / "second" / "seeds-0-1.pt"
    proc = _train_job(cells, runs, popen=True)
    _wait_for(lambda: finished.exists() and ckpt.exists() and ckpt.stat().st_size > 0)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0 or (runs / "second" / "seed-0" / "summary.json").exists():
        pytest.skip("the job finished before the signal arrived (machine too fast for this test's timing)")
    first_files = _files(runs / "first")
    assert first_files.keys() == _files(ref / "first").keys()  # the first cell is complete
    shutil.rmtree(runs / "first")  # what Snakemake does to the declared outputs of an incomplete job
    again = _train_job(cells, runs)
    assert again.returncode == 0, again.stderr
    assert "[first] finished by an earlier attempt of this job: its results restored" in again.stderr
    assert "[first] 2 seed(s)" not in again.stderr  # not trained again
    assert "[second] resumed from checkpoint" in again.stderr
    assert _files(runs / "first") == first_files  # restored byte for byte
    assert _final_rows(runs / "second") == _final_rows(ref / "second")
    assert _final_rows(runs / "first") == _final_rows(ref / "first")
    assert json.loads((runs / "second" / "seed-0" / "summary.json").read_text())["resumed_from_step"] > 0
    assert not (runs / ".checkpoints").exists()


def test_finished_cell_of_another_config_is_trained_again(digits, tmp_path):
    """A finished copy is restored only for the same cell config, seeds and data (its fingerprint)."""
    cells = _cells_job(epochs_second=2)
    outs = [tmp_path / c["cell"] for c in cells]
    run_cells(cells, [0, 1], outs, device="cpu", log=quiet, progress=False)
    from weightspace.runner import _keep_finished

    files = sorted(p for p in outs[0].rglob("*") if p.is_file())
    _keep_finished(checkpoint_dir(outs[0]), outs[0], files, "another-fingerprint")
    logs = []
    run_cells(cells[:1], [0, 1], outs[:1], device="cpu", log=logs.append, progress=False)
    assert not any("restored" in m for m in logs)
    assert any("[first] 2 seed(s)" in m for m in logs)


def test_a_job_flushes_its_results_to_disk_before_removing_its_checkpoints(digits, tmp_path, monkeypatch):
    """Result files are written without an fsync each; the job syncs them once, while its checkpoints (which could
    make them again after a machine crash) still exist, and only then removes the checkpoints."""
    import os

    cells = _cells_job(epochs_second=2)
    outs = [tmp_path / c["cell"] for c in cells]
    seen = []
    monkeypatch.setattr(os, "sync", lambda: seen.append([checkpoint_dir(o).exists() for o in outs]))
    run_cells(cells, [0, 1], outs, device="cpu", log=quiet, progress=False)
    assert seen == [[True, True]]
    assert not any(checkpoint_dir(o).exists() for o in outs)


# ---- corrupted files are never resumed from or restored (fault injection) ----


def _flip_a_byte_of(ckpt, tensor):
    """Flip one byte of ``tensor``'s payload inside the checkpoint file (an exponent bit of its first value)."""
    data = bytearray(ckpt.read_bytes())
    at = data.find(tensor.detach().cpu().contiguous().numpy().tobytes())
    assert at > 0
    data[at + 3] ^= 0x01
    ckpt.write_bytes(bytes(data))


@pytest.mark.parametrize("fault", ["flipped-byte", "no-checksum"])
def test_corrupted_checkpoint_is_not_resumed_from(digits, tmp_path, fault):
    """One flipped byte in a trained tensor of a checkpoint (torch loads it without complaint), or a checkpoint
    without its checksum: the log says so in one line naming the file, and training starts again from scratch,
    ending with the numbers of an uninterrupted run."""
    c = cell({"reparam": "direct"}, epochs=1)
    reference = train(c, digits, [0, 1], log=quiet, progress=False)
    ckpt = tmp_path / "ckpt.pt"
    first = StopAt(c, digits, [0, 1], log=quiet, progress=False, checkpoint=ckpt, checkpoint_every_s=1e9, at=9)
    with pytest.raises(Interrupted):
        first.run()
    if fault == "flipped-byte":
        _flip_a_byte_of(ckpt, next(iter(first.reparam.state_dict().values())))
    else:
        (tmp_path / "ckpt.pt.sha256").unlink()
    logs = []
    resumed = Trainer(c, digits, [0, 1], log=logs.append, progress=False, checkpoint=ckpt)
    results = resumed.run()
    said = [m for m in logs if "ignoring checkpoint" in m]
    assert len(said) == 1 and str(ckpt) in said[0] and "checksum" in said[0] and "\n" not in said[0], logs
    assert not any("resumed from checkpoint" in m for m in logs)
    assert resumed.resumed_from is None
    for ref, res in zip(reference, results):
        assert strip_times(res.rows) == strip_times(ref.rows)


@pytest.mark.parametrize("fault", ["truncated", "no-checksum", "unreadable-manifest"])
def test_corrupted_finished_cell_is_trained_again_not_restored(digits, tmp_path, fault):
    """A finished cell's copy kept for a re-run (finished/) whose metrics.csv was truncated or lost its checksum,
    or whose manifest cannot be read: one line names the file, the cell is trained again and its files equal
    those of an uninterrupted run."""
    from weightspace.runner import _keep_finished
    from weightspace.train.checkpoint import cell_fingerprint

    c = _cells_job(epochs_second=2)[0]
    out = tmp_path / "runs" / c["cell"]
    run_cells([c], [0, 1], [out], device="cpu", log=quiet, progress=False)
    reference = _final_rows(out)
    ckpt = checkpoint_dir(out)
    _keep_finished(ckpt, out, sorted(p for p in out.rglob("*") if p.is_file()),
                   cell_fingerprint(c, [0, 1], digits.checksum))
    kept = ckpt / "finished" / "seed-1" / "metrics.csv"
    if fault == "truncated":
        kept.write_bytes(kept.read_bytes()[: len(kept.read_bytes()) // 2])
    elif fault == "no-checksum":
        kept.with_name("metrics.csv.sha256").unlink()
    else:
        kept = ckpt / "finished.json"
        kept.write_text(kept.read_text()[:20])
    shutil.rmtree(out)  # what Snakemake does to the declared outputs of an incomplete job
    logs = []
    run_cells([c], [0, 1], [out], device="cpu", log=logs.append, progress=False)
    said = [m for m in logs if "not restoring" in m]
    assert len(said) == 1 and str(kept) in said[0] and "\n" not in said[0], logs
    assert "checksum" in said[0] or fault == "unreadable-manifest"
    assert not any("restored" in m for m in logs)
    assert any(f"[{c['cell']}] 2 seed(s)" in m for m in logs)  # trained again
    assert _final_rows(out) == reference


def test_the_trainer_owns_its_state_and_the_checkpoint_only_stores_it(digits, tmp_path):
    """Issue 21: checkpoint.save / load write and read the state the trainer gives (Trainer.state_dict) and takes
    back (load_state_dict); the checkpoint module reads no trainer attribute, and refuses another cell's file."""
    from weightspace.train import checkpoint

    c = cell({"reparam": "direct"}, epochs=1)
    t = StopAt(c, digits, [0, 1], log=quiet, progress=False, at=5)
    with pytest.raises(Interrupted):
        t.run()
    path = tmp_path / "state.pt"
    checkpoint.save(path, "fp", t.state_dict())
    state, why = checkpoint.load(path, "fp")
    assert why == "" and state["step"] == t.step > 0 and state["version"] == checkpoint.CHECKPOINT_VERSION
    assert checkpoint.load(path, "another cell") == (None, f"ignoring checkpoint {path}: it belongs to another "
                                                           f"config, seeds or dataset")
    again = Trainer(c, digits, [0, 1], log=quiet, progress=False)
    again.load_state_dict(state)
    assert (again.step, again.epoch, again.i, again.resumed_from) == (t.step, t.epoch, t.i, t.step)
    assert all(a.equal(b) for a, b in zip(again.reparam.state_dict().values(), t.reparam.state_dict().values()))
