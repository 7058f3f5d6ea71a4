"""Atomic writes: the permissions a plain open() gives, nothing left behind on failure, temporary files beside."""

from __future__ import annotations

import os
import stat
import tempfile
import threading

import pandas as pd
import pytest

from conftest import write_mnist_like
from weightspace import data, io

#: umask -> the permissions open(path, "w") gives a new file
UMASKS = {0o022: 0o644, 0o002: 0o664, 0o077: 0o600}


@pytest.fixture(params=sorted(UMASKS), ids=lambda m: f"umask{m:03o}")
def umask(request):
    """Run the test under this umask; the expected permission bits of a new file are ``UMASKS[umask]``."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _entries(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_permissions_are_those_of_open(tmp_path, umask):
    with open(tmp_path / "reference", "w") as f:
        f.write("x")
    assert _mode(tmp_path / "reference") == UMASKS[umask]
    with io.atomic_write(tmp_path / "text.txt") as f:
        f.write("hello\n")
    with io.atomic_write(tmp_path / "sub" / "binary.bin", "wb") as f:
        f.write(b"\x00\x01")
    io.write_text(tmp_path / "table.tex", "\\begin{tabular}{l}\\end{tabular}\n")
    io.write_json(tmp_path / "result.json", {"acc": 0.5})
    io.write_dataframe(tmp_path / "metrics.csv", pd.DataFrame({"step": [0, 1], "loss": [1.0, 0.5]}))
    for name in ("text.txt", "sub/binary.bin", "table.tex", "result.json", "metrics.csv"):
        assert _mode(tmp_path / name) == UMASKS[umask], name
    assert (tmp_path / "text.txt").read_text() == "hello\n"
    assert io.read_json(tmp_path / "result.json") == {"acc": 0.5}
    assert pd.read_csv(tmp_path / "metrics.csv")["loss"].tolist() == [1.0, 0.5]


def test_rewritten_file_gets_the_permissions_of_a_new_file(tmp_path, umask):
    path = tmp_path / "result.json"
    io.write_json(path, {"v": 1})
    os.chmod(path, 0o400)
    io.write_json(path, {"v": 2})
    assert io.read_json(path) == {"v": 2}
    assert _mode(path) == UMASKS[umask]


@pytest.mark.parametrize("read_only", [False, True])
def test_decompressed_dataset_files_follow_the_umask(tmp_path, monkeypatch, umask, read_only):
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    if read_only:  # decompressed into the cache instead of beside the .gz files
        monkeypatch.setattr(data.os, "access", lambda p, mode: False)
    write_mnist_like(tmp_path / "src", compress=True)
    data.load("mnist", tmp_path / "src", download=False, verify=False)
    made = [p for p in tmp_path.rglob("*-ubyte") if p.is_file()]
    assert len(made) == 4 and all((tmp_path / "cache" in p.parents) == read_only for p in made)
    records = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".gz", ".lock") and p not in made]
    assert records  # what each file was decompressed from
    for p in made + records:
        assert _mode(p) == UMASKS[umask], p


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "result.json"
    with pytest.raises(RuntimeError, match="boom"), io.atomic_write(path) as f:
        f.write('{"half": ')
        assert len(_entries(tmp_path)) == 1  # the temporary file
        raise RuntimeError("boom")
    assert _entries(tmp_path) == []


def test_failed_rewrite_keeps_the_old_file(tmp_path):
    path = tmp_path / "result.json"
    io.write_json(path, {"v": 1})
    with pytest.raises(TypeError, match="not JSON serializable"):
        io.write_json(path, {"v": object()})
    assert io.read_json(path) == {"v": 1}
    assert _entries(tmp_path) == ["result.json"]


def test_interrupt_inside_the_block_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), io.atomic_write(tmp_path / "figure.pdf", "wb") as f:
        f.write(b"%PDF")
        raise KeyboardInterrupt
    assert _entries(tmp_path) == []


def test_temporary_file_is_hidden_in_the_destination_folder(tmp_path):
    """Same folder, so same filesystem: the final rename is atomic; never in the system's temporary folder."""
    dest = tmp_path / "out" / "result.json"
    before = set(os.listdir(tempfile.gettempdir()))
    with io.atomic_write(dest) as f:
        f.write("{}")
        (tmp,) = _entries(dest.parent)
        assert tmp.startswith(".tmp-result.json.") and not dest.exists()
        if os.path.isdir("/proc/self/fd"):  # the open file is that one
            assert os.path.samefile(dest.parent / tmp, f"/proc/self/fd/{f.fileno()}")
        assert set(os.listdir(tempfile.gettempdir())) - before == set()
    assert _entries(dest.parent) == ["result.json"] and dest.read_text() == "{}"


def test_temporary_name_taken_by_another_file_is_not_touched(tmp_path, monkeypatch):
    names = iter(["0123456789abcdef", "0123456789abcdef", "fedcba9876543210"])
    monkeypatch.setattr(io.secrets, "token_hex", lambda n=None: next(names))
    taken = tmp_path / ".tmp-result.json.0123456789abcdef"
    taken.write_text("someone else's")
    io.write_json(tmp_path / "result.json", [1])
    assert taken.read_text() == "someone else's"
    assert io.read_json(tmp_path / "result.json") == [1]
    assert _entries(tmp_path) == [taken.name, "result.json"]


def test_concurrent_writers_to_one_file(tmp_path):
    """Threads writing the same file at once: each temporary file is its own, the result is one whole write."""
    path = tmp_path / "result.json"
    barrier = threading.Barrier(8)
    errors = []

    def write(i):
        try:
            with io.atomic_write(path) as f:
                barrier.wait(timeout=30)
                f.write(f'{{"writer": {i}, "pad": "{"x" * 10000}"}}\n')
        except Exception as e:  # noqa: BLE001 - any failure is reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert io.read_json(path)["writer"] in range(8)
    assert _entries(tmp_path) == ["result.json"]


@pytest.mark.parametrize("killed_at", [1, 2, 3], ids=["before-record", "before-rename", "before-final-record"])
def test_checksummed_file_matches_its_record_wherever_the_writer_is_killed(tmp_path, monkeypatch, killed_at):
    """A file written with its checksum (a checkpoint) is rewritten in three renames (the record with the old and
    new sums, the file, the record with the new sum): a process killed before any of them leaves a file that
    matches its record, so a re-run resumes from it instead of training again."""
    target = tmp_path / "seeds-0-1.pt"
    with io.atomic_write(target, "wb", checksum=True) as f:
        f.write(b"old state")
    assert io.checksum_problem(target) is None
    calls, replace = [], os.replace

    def killed(src, dst):
        calls.append(dst)
        if len(calls) == killed_at:
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        with io.atomic_write(target, "wb", checksum=True) as f:
            f.write(b"new state")
    monkeypatch.setattr(os, "replace", replace)
    assert target.read_bytes() == (b"old state" if killed_at <= 2 else b"new state")
    assert io.checksum_problem(target) is None


def test_checksum_problems_name_what_is_wrong(tmp_path):
    import hashlib

    target, data = tmp_path / "metrics.csv", b"step,test_acc\n0,0.1\n22,0.5\n"
    with io.atomic_write(target, "wb", checksum=True) as f:
        f.write(data)
    assert (tmp_path / "metrics.csv.sha256").read_text() == f"{hashlib.sha256(data).hexdigest()}  metrics.csv\n"
    target.write_bytes(data[:10])  # truncated
    assert "does not match its checksum in metrics.csv.sha256" in io.checksum_problem(target)
    (tmp_path / "metrics.csv.sha256").unlink()
    assert "has no checksum" in io.checksum_problem(target)
    with pytest.raises(ValueError, match="binary"):
        with io.atomic_write(target, "w", checksum=True):
            pass


def test_only_files_that_must_survive_a_machine_crash_are_flushed_to_disk(tmp_path, monkeypatch):
    """fsync (4-25 ms each on a cloud VM's disk) only for checkpoints and dataset caches (``sync=True``), not for
    the hundreds of small result files a training job writes; the rename keeps every file complete or absent."""
    import torch

    from weightspace.train import checkpoint

    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    io.write_json(tmp_path / "summary.json", {"a": 1})
    io.write_dataframe(tmp_path / "metrics.csv", pd.DataFrame({"a": [1]}))
    with io.atomic_write(tmp_path / "structure.npz", "wb", checksum=True) as f:
        f.write(b"x")
    assert synced == []
    checkpoint.save(tmp_path / "seeds-0.pt", "fp", {"w": torch.zeros(2)})
    assert len(synced) == 3  # the checkpoint and its checksum record (written twice: old and new sum, then new)
    assert checkpoint.load(tmp_path / "seeds-0.pt", "fp")[0] is not None


def test_provenance_does_not_import_torchvision():
    """A training job's provenance names torchvision's version without importing it (1.8 s: torchvision imports
    torch._dynamo), so a job that trains on generated data never pays for it."""
    import subprocess
    import sys

    code = ("import sys, torch; from weightspace.io import provenance; p = provenance('cpu'); "
            "print(p['torchvision'], 'torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    import torchvision

    assert out == [torchvision.__version__, "False"]
