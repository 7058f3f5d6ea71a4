"""Dataset loaders on files written here in the real formats, and on the real MNIST files."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib

import numpy as np
import pytest
import torch

from conftest import write_cifar10_like, write_mnist_like
from weightspace import data
from weightspace.errors import DataError


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_idx_loader_reads_files_written_in_the_idx_format(tmp_path, compress, name, folder):
    arrays = write_mnist_like(tmp_path, folder, compress=compress)
    ds = data.load(name, tmp_path, download=False, verify=False)
    assert ds.x_train.shape == (64, 1, 28, 28) and ds.x_test.shape == (32, 1, 28, 28)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.y_train.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert ds.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    # standardized with the training set's statistics: the pixel order is preserved
    raw = torch.tensor(arrays["train-images-idx3-ubyte"], dtype=torch.float32) / 255
    expected = (raw - raw.mean()) / raw.std()
    torch.testing.assert_close(ds.x_train[:, 0], expected, atol=1e-4, rtol=1e-4)
    assert ds.checksum.startswith("sha256:")
    if compress:  # decompressed beside the .gz files
        assert (tmp_path / folder / "raw" / "train-images-idx3-ubyte").exists()


def test_gzip_and_plain_files_give_the_same_checksum(tmp_path):
    write_mnist_like(tmp_path / "a", compress=False)
    write_mnist_like(tmp_path / "b", compress=True)
    a = data.load("mnist", tmp_path / "a", download=False, verify=False)
    b = data.load("mnist", tmp_path / "b", download=False, verify=False)
    assert a.checksum == b.checksum


def test_read_only_folder_is_decompressed_into_the_cache(tmp_path, monkeypatch):
    # tests may run as root, for whom chmod cannot make a folder read-only: report every folder as read-only
    write_mnist_like(tmp_path / "src", compress=True)
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data.os, "access", lambda p, mode: False)
    ds = data.load("mnist", tmp_path / "src", download=False, verify=False)
    assert len(ds.x_test) == 32
    key = hashlib.sha256(str((tmp_path / "src" / "MNIST" / "raw").resolve()).encode()).hexdigest()[:16]
    assert (tmp_path / "cache" / key / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()
    assert not (tmp_path / "src" / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_concurrent_loads_share_one_decompression_and_cache(tmp_path):
    """Four processes load the same gzipped MNIST and generate the same MNIST-1D at once (file locks)."""
    import subprocess
    import sys

    write_mnist_like(tmp_path, compress=True, n_train=2000)
    code = ("import sys; from weightspace import data; "
            "a = data.load('mnist', sys.argv[1], download=False, verify=False); "
            "b = data.load('mnist1d', sys.argv[1]); print(a.checksum, b.checksum)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert len({o for o, _ in outs}) == 1  # every process read the same bytes
    leftovers = [f.name for f in tmp_path.rglob("*") if f.is_file() and (".tmp" in f.name or f.name.startswith("tmp"))]
    assert leftovers == []
    assert data.load("mnist", tmp_path, download=False, verify=False).checksum == outs[0][0].split()[0]


def test_missing_files_error_lists_expected_paths(tmp_path):
    with pytest.raises(DataError) as e:
        data.load("mnist", tmp_path, download=False)
    msg = str(e.value)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert str(tmp_path / "MNIST" / "raw" / stem) in msg
    assert "Downloads are disabled" in msg and "WEIGHTSPACE_DATA" in msg


def test_failed_download_names_the_files(tmp_path, monkeypatch):
    """No network here: torchvision's real download fails, and the message says what to place where."""
    import torchvision

    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(DataError) as e:
        data.load("mnist", tmp_path, download=True)
    assert "download failed" in str(e.value)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in str(e.value)


def test_altered_file_fails_verification_naming_file_and_checksum(tmp_path):
    write_mnist_like(tmp_path)
    with pytest.raises(DataError) as e:
        data.load("mnist", tmp_path, download=False, verify=True)
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and "6bbc9ace898e44ae57da46a324031adb" in msg


def test_truncated_gzip_is_reported(tmp_path):
    write_mnist_like(tmp_path, compress=True)
    gz = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:200])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz is corrupted or truncated"):
        data.load("mnist", tmp_path, download=False, verify=False)
    assert not (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()

def _flip_byte(gz, error: type[BaseException]) -> int:
    """Flip one byte of ``gz``, the nearest to its middle whose flip makes gzip raise ``error``; return its offset."""
    blob = gz.read_bytes()
    mid = len(blob) // 2
    for i in sorted(range(10, len(blob) - 8), key=lambda i: abs(i - mid)):  # inside the deflate stream
        bad = bytearray(blob)
        bad[i] ^= 0xFF
        try:
            gzip.decompress(bytes(bad))
        except error:
            gz.write_bytes(bytes(bad))
            return i
        except (OSError, EOFError, zlib.error):  # another kind of damage
            continue
    raise AssertionError(f"no single-byte flip of {gz} raises {error.__name__}")


@pytest.mark.parametrize(
    "stem,error",
    [
        ("train-images-idx3-ubyte", zlib.error),  # invalid stored-block lengths
        ("train-labels-idx1-ubyte", zlib.error),  # invalid Huffman code / distance
        ("train-images-idx3-ubyte", gzip.BadGzipFile),  # intact stream, CRC check failed
    ],
)
@pytest.mark.parametrize("read_only", [False, True])
def test_corrupted_gzip_is_reported(tmp_path, monkeypatch, stem, error, read_only):
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    if read_only:
        monkeypatch.setattr(data.os, "access", lambda p, mode: False)
    write_mnist_like(tmp_path / "src", compress=True)
    gz = tmp_path / "src" / "MNIST" / "raw" / f"{stem}.gz"
    _flip_byte(gz, error)
    with pytest.raises(DataError) as e:
        data.load("mnist", tmp_path / "src", download=False, verify=False)
    msg = str(e.value)
    assert f"{gz} is corrupted or truncated" in msg and "re-run to download it again" in msg
    # no partial decompressed file, no temporary file, no record of a decompression, anywhere
    assert not [f for f in tmp_path.rglob(f"*{stem}*") if f != gz]
    assert not [f for f in tmp_path.rglob("*") if ".tmp" in f.name]
    # once the file is replaced, the same call works
    arrays = write_mnist_like(tmp_path / "src", compress=True)
    ds = data.load("mnist", tmp_path / "src", download=False, verify=False)
    assert ds.y_train.tolist() == arrays["train-labels-idx1-ubyte"].tolist()


@pytest.mark.parametrize("read_only", [False, True])
def test_gzip_corrupted_after_its_decompression_is_reported(tmp_path, monkeypatch, read_only):
    """A .gz damaged after a successful load is not hidden by the copy decompressed before."""
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    if read_only:
        monkeypatch.setattr(data.os, "access", lambda p, mode: False)
    write_mnist_like(tmp_path / "src", compress=True)
    data.load("mnist", tmp_path / "src", download=False, verify=False)
    gz = tmp_path / "src" / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    _flip_byte(gz, zlib.error)
    for _ in range(2):  # and again: the failed attempt did not mark the old copy as current
        with pytest.raises(DataError, match=f"{gz} is corrupted or truncated"):
            data.load("mnist", tmp_path / "src", download=False, verify=False)
    assert not [f for f in tmp_path.rglob("*") if ".tmp" in f.name]

def test_read_only_folders_have_a_cache_each(tmp_path, monkeypatch):
    """Two read-only copies with different content, same folder name: each load returns its own data."""
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data.os, "access", lambda p, mode: False)
    a = write_mnist_like(tmp_path / "a", compress=True, seed=0)
    b = write_mnist_like(tmp_path / "b", compress=True, seed=1)
    assert a["train-labels-idx1-ubyte"].tolist() != b["train-labels-idx1-ubyte"].tolist()
    for root, arrays in [(tmp_path / "a", a), (tmp_path / "b", b), (tmp_path / "a", a)]:
        ds = data.load("mnist", root, download=False, verify=False)
        assert ds.y_train.tolist() == arrays["train-labels-idx1-ubyte"].tolist(), root
        assert ds.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist(), root
    assert ds.source == str(tmp_path / "a" / "MNIST" / "raw")  # the source, not the cache
    # and the same folder reached through a symbolic link shares its cache
    (tmp_path / "link").symlink_to(tmp_path / "b")
    data.load("mnist", tmp_path / "link", download=False, verify=False)
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_cached_file_made_from_an_altered_copy_is_named_with_its_source(tmp_path, monkeypatch):
    """The verification error of a decompressed copy names the .gz it came from, not only the cache."""
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data.os, "access", lambda p, mode: False)
    write_mnist_like(tmp_path, compress=True)
    with pytest.raises(DataError) as e:
        data.load("mnist", tmp_path, download=False, verify=True)
    msg = str(e.value)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz") in msg
    assert "6bbc9ace898e44ae57da46a324031adb" in msg


@pytest.mark.parametrize("read_only", [False, True])
def test_gzip_replaced_in_place_is_decompressed_again(tmp_path, monkeypatch, read_only):
    """A .gz rewritten after its decompression (same path) is not served from the stale copy."""
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    if read_only:
        monkeypatch.setattr(data.os, "access", lambda p, mode: False)
    write_mnist_like(tmp_path / "src", compress=True, seed=0)
    data.load("mnist", tmp_path / "src", download=False, verify=False)
    gz = tmp_path / "src" / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    stat = gz.stat()
    new = write_mnist_like(tmp_path / "src", compress=True, seed=1)
    os.utime(gz, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old modification time
    ds = data.load("mnist", tmp_path / "src", download=False, verify=False)
    assert ds.y_train.tolist() == new["train-labels-idx1-ubyte"].tolist()
    assert ds.y_test.tolist() == new["t10k-labels-idx1-ubyte"].tolist()


def test_plain_files_beside_gzip_files_are_sources(tmp_path):
    """Uncompressed files that this package did not make (torchvision's download extracts both) are used as they are."""
    write_mnist_like(tmp_path, compress=True, seed=0)
    plain = write_mnist_like(tmp_path, compress=False, seed=1)
    ds = data.load("mnist", tmp_path, download=False, verify=False)
    assert ds.y_train.tolist() == plain["train-labels-idx1-ubyte"].tolist()


def test_cifar10_loader_reads_python_batches(tmp_path):
    batches = write_cifar10_like(tmp_path, per_batch=6)
    ds = data.load("cifar10", tmp_path, download=False, verify=False)
    assert ds.x_train.shape == (30, 3, 32, 32) and ds.x_test.shape == (6, 3, 32, 32)
    assert ds.y_test.tolist() == batches["test_batch"][1]
    # channel-first layout: pixel (c, h, w) of image 0 comes from data[0, c*1024 + h*32 + w]
    raw0 = batches["data_batch_1"][0][0].reshape(3, 32, 32).astype(np.float32) / 255
    x0 = ds.x_train[0].numpy()
    # per-channel standardization preserves the order of values within a channel
    for c in range(3):
        assert np.array_equal(np.argsort(raw0[c].ravel(), kind="stable"), np.argsort(x0[c].ravel(), kind="stable"))
    assert torch.allclose(ds.x_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)


def test_cifar10_verification_rejects_non_original_files(tmp_path):
    write_cifar10_like(tmp_path)
    with pytest.raises(DataError, match=r"data_batch_1 is corrupted.*expected c99cafc152244af753f735de768cd75f"):
        data.load("cifar10", tmp_path, download=False, verify=True)


def test_cifar10_missing(tmp_path):
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        data.load("cifar10", tmp_path, download=False)


def test_digits_and_mnist1d(tmp_path):
    d = data.load("digits")
    assert d.x_train.shape == (1437, 1, 8, 8) and d.x_test.shape == (360, 1, 8, 8)
    assert set(d.y_train.unique().tolist()) == set(range(10))
    m = data.load("mnist1d", tmp_path)
    s = data.load("mnist1d_shuffled", tmp_path)
    assert m.x_train.shape == (4000, 1, 40) and m.x_test.shape == (1000, 1, 40)
    assert torch.equal(m.y_train, s.y_train)  # same examples, positions permuted
    # a fixed permutation of positions: sorted values of each sequence agree
    torch.testing.assert_close(m.x_train[:50].sort(-1).values, s.x_train[:50].sort(-1).values, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(m.x_train[:50], s.x_train[:50])
    assert (tmp_path / "mnist1d").exists()  # cached
    assert data.load("mnist1d", tmp_path).checksum == m.checksum


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset 'mnsit'"):
        data.load("mnsit")


def test_real_mnist_files_verify_and_load(real_data_dir):
    ds = data.load("mnist", real_data_dir, download=False, verify=True)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(ds.y_train.numpy()).tolist()[:3] == [5923, 6742, 5958]
    fm = data.load("fashion_mnist", real_data_dir, download=False, verify=True)
    assert fm.x_train.shape == (60000, 1, 28, 28)
    assert np.bincount(fm.y_test.numpy()).tolist() == [1000] * 10
    assert fm.checksum != ds.checksum


def test_real_gzip_matches_verified_content(real_data_dir):
    src = real_data_dir / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(src) as f:
        assert len(f.read()) == 10008


def test_digits_are_scikit_learns_without_importing_sklearn_datasets():
    """The digits are read from scikit-learn's bundled file as load_digits reads it (same arrays, so the same
    checksum and cell fingerprints), without importing sklearn.datasets (0.7 s of every job that trains on them)."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    images, target = data._digits_arrays()
    ref = load_digits()
    assert images.dtype == ref.images.dtype and np.array_equal(images, ref.images)
    assert np.array_equal(target, ref.target)
    code = "import sys; from weightspace import data; data._digits_arrays(); print('sklearn.datasets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
