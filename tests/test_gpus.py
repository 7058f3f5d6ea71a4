"""The local GPU allocator (weightspace.gpus), on the CPU with fake GPU indices: distinct claims, a crashed holder's
GPU given back by the operating system, waiting when all are held, CUDA_VISIBLE_DEVICES, and the train command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from weightspace.errors import ResourceError
from weightspace.gpus import claim_gpu

HOLD = """
import sys, time
from weightspace.gpus import claim_gpu
c = claim_gpu(int(sys.argv[1]), sys.argv[2], wait_s=float(sys.argv[3]), poll_s=0.05)
import os
print(c.slot, c.device, os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(float(sys.argv[4]))
"""


def holder(n, folder, wait_s=0.0, hold_s=60.0, env=None):
    """A process that claims one of ``n`` GPUs, prints ``slot device CUDA_VISIBLE_DEVICES`` and holds it."""
    return subprocess.Popen([sys.executable, "-c", HOLD, str(n), str(folder), str(wait_s), str(hold_s)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_concurrent_jobs_get_distinct_gpus(tmp_path, procs):
    procs += [holder(3, tmp_path) for _ in range(3)]
    lines = [p.stdout.readline().split() for p in procs]
    assert sorted(line[0] for line in lines) == ["0", "1", "2"]
    assert all(line[1] == line[2] for line in lines)  # the job sees only its GPU
    # a fourth finds none free and says so
    fourth = holder(3, tmp_path, wait_s=0.3)
    procs.append(fourth)
    _, err = fourth.communicate(timeout=60)
    assert fourth.returncode != 0 and "no free GPU among 3" in err


def test_crashed_holder_gives_its_gpu_back(tmp_path, procs):
    """A job killed with SIGKILL while holding a GPU: the OS drops its flock, so the next job gets that GPU."""
    first, second = holder(2, tmp_path), holder(2, tmp_path)
    procs += [first, second]
    slots = {first: first.stdout.readline().split()[0], second: second.stdout.readline().split()[0]}
    assert sorted(slots.values()) == ["0", "1"]
    waiting = holder(2, tmp_path, wait_s=60)  # waits: both are held
    procs.append(waiting)
    time.sleep(0.5)
    assert waiting.poll() is None
    first.send_signal(signal.SIGKILL)
    first.wait()
    line = waiting.stdout.readline().split()
    assert line and line[0] == slots[first]
    assert second.poll() is None  # the other holder keeps its own


def test_in_process_claim_and_release(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    logs = []
    a = claim_gpu(2, tmp_path, log=logs.append)
    assert (a.slot, a.device, os.environ["CUDA_VISIBLE_DEVICES"]) == (0, "0", "0")
    assert "GPU 0 claimed" in logs[0]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    b = claim_gpu(2, tmp_path, set_env=False)
    assert b.slot == 1  # flock is per open file: a second claim in the same process gets another GPU
    with pytest.raises(ResourceError, match="no free GPU among 2"):
        claim_gpu(2, tmp_path, wait_s=0, set_env=False)
    a.release()
    again = claim_gpu(2, tmp_path, wait_s=0, set_env=False)
    assert again.slot == 0
    again.release()
    b.release()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_slots_map_onto_cuda_visible_devices(tmp_path, procs):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "5,7"}
    procs += [holder(2, tmp_path, env=env), holder(2, tmp_path, env=env)]
    got = sorted(p.stdout.readline().split()[2] for p in procs)
    assert got == ["5", "7"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["gpu-5.lock", "gpu-7.lock"]
    bad = holder(3, tmp_path, env=env)
    procs.append(bad)
    _, err = bad.communicate(timeout=60)
    assert "names only 2 GPU(s)" in err


def test_zero_gpus_is_an_error_that_names_the_fix(tmp_path):
    with pytest.raises(ResourceError, match="--resources gpu=N"):
        claim_gpu(0, tmp_path)


@pytest.mark.slow
def test_train_command_claims_a_gpu_and_logs_it(tmp_path, monkeypatch):
    """`weightspace train --gpus N` (what the workflow passes for --resources gpu=N) claims and logs a GPU; on
    this CUDA-less machine `auto` then trains on the CPU. A held GPU 0 sends it to GPU 1."""
    cell = {"experiment": "e", "cell": "gpu-test", "dataset": "digits",
            "net": {"name": "n", "arch": "fc", "widths": [8]}, "variant": {"reparam": "direct"},
            "train": {"epochs": 1, "batch_size": 256, "evals_per_epoch": 1}}
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    env = {**os.environ, "WEIGHTSPACE_GPU_LOCKS": str(tmp_path / "locks")}
    env.pop("SLURM_JOB_ID", None)
    from weightspace.gpus import claim_gpu as claim

    held = claim(2, tmp_path / "locks", set_env=False)  # GPU 0, held by "another job"
    try:
        r = subprocess.run([sys.executable, "-m", "weightspace", "train", "--cell-json", json.dumps(cell),
                            "--out", str(tmp_path / "out"), "--device", "auto", "--gpus", "2"],
                           capture_output=True, text=True, env=env)
    finally:
        held.release()
    assert r.returncode == 0, r.stderr
    assert "GPU 1 claimed (slot 1 of 2" in r.stderr and "CUDA_VISIBLE_DEVICES=1" in r.stderr
    # on the CPU, or a GPU named by the user, nothing is claimed
    r = subprocess.run([sys.executable, "-m", "weightspace", "train", "--cell-json", json.dumps(cell),
                        "--out", str(tmp_path / "out2"), "--device", "cpu", "--gpus", "2"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "claimed" not in r.stderr


def test_cuda_warning_only_for_a_cuda_device_this_machine_lacks(monkeypatch):
    """device cuda[:N] without that GPU here: one line that names the key and the fix; auto and cpu never ask torch."""
    from weightspace import gpus

    asked = []
    monkeypatch.setattr(gpus, "cuda_gpus", lambda: asked.append(1) or 2)
    assert gpus.cuda_warning("auto") is None and gpus.cuda_warning("cpu") is None and not asked
    assert gpus.cuda_warning("cuda") is None and gpus.cuda_warning("cuda:1") is None
    line = gpus.cuda_warning("cuda:2")
    assert line.startswith("device: cuda:2, but torch finds only 2 GPU(s) (cuda:0..1) on this machine")
    assert "use device: auto or cpu" in line and "\n" not in line
    monkeypatch.setattr(gpus, "cuda_gpus", lambda: 0)
    assert gpus.cuda_warning("cuda").startswith("device: cuda, but torch finds no CUDA on this machine")


def test_cuda_gpus_asks_torch_in_a_subprocess(monkeypatch):
    """The count torch gives, without importing torch here (CUDA hidden: 0 on any machine)."""
    from weightspace.gpus import cuda_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert cuda_gpus() == 0
