"""Shared fixtures: small dataset files written in their real formats, repo paths."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import weightspace.families  # noqa: F401 - the tests are an entry point: this loads every family into the registry

REPO = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write a uint8 array in the IDX format of MNIST (big-endian header)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def write_mnist_like(root: Path, folder: str = "MNIST", n_train: int = 64, n_test: int = 32, compress: bool = False, seed: int = 0):
    """A tiny dataset in torchvision's MNIST layout: <root>/<folder>/raw/*-idx?-ubyte[.gz]."""
    rng = np.random.RandomState(seed)
    raw = root / folder / "raw"
    arrays = {
        "train-images-idx3-ubyte": rng.randint(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.randint(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.randint(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.randint(0, 10, n_test),
    }
    for name, a in arrays.items():
        write_idx(raw / name, a, compress)
    return arrays


def write_cifar10_like(root: Path, per_batch: int = 8, seed: int = 0):
    """A tiny CIFAR-10 in torchvision's python-batch layout: <root>/cifar-10-batches-py/."""
    rng = np.random.RandomState(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.randint(0, 256, (per_batch, 3072)).astype(np.uint8)
        labels = rng.randint(0, 10, per_batch).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "data": data, "labels": labels}, f)
        batches[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_cases_per_batch": per_batch}, f)
    return batches


def shared_data_dir() -> Path | None:
    """The real MNIST / Fashion-MNIST files, if this machine has them (../shared/data)."""
    env = os.environ.get("WEIGHTSPACE_TEST_DATA")
    for cand in [env, REPO.parent / "shared" / "data", REPO / "shared" / "data"]:
        if cand and (Path(cand) / "MNIST" / "raw").exists():
            return Path(cand)
    return None


@pytest.fixture
def real_data_dir(tmp_path) -> Path:
    """A writable data dir whose raw files link to the real MNIST/Fashion-MNIST files."""
    src = shared_data_dir()
    if src is None:
        pytest.skip("real MNIST files not found (set WEIGHTSPACE_TEST_DATA)")
    for folder in ("MNIST", "FashionMNIST"):
        raw = tmp_path / folder / "raw"
        raw.mkdir(parents=True)
        for f in (src / folder / "raw").iterdir():
            (raw / f.name).symlink_to(f)
    return tmp_path


@pytest.fixture(autouse=True)
def _deterministic_threads():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    yield


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits as a Dataset (offline), shared by the tests."""
    from weightspace import data

    return data.load("digits")
