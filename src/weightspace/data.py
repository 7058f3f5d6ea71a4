"""Datasets as normalized tensors on the device, with a checksum of their source.

Every loader returns a :class:`Dataset` whose tensors are ready to index:
``x`` is ``(N, C, *spatial)`` float32 standardized with the training set's
per-channel mean and std, ``y`` is ``(N,)`` int64 class labels. The training
loop never touches a DataLoader: it indexes these tensors with random
permutations.

Input scaling
-------------
A cell chooses how its inputs are scaled (``train.input_scaling``, :data:`SCALINGS`): ``standardize`` (the
stored tensors, as above), ``unit`` (images in [0, 1], pixels / 255) or ``symmetric`` (images in [-1, 1],
(pixels - 0.5) / 0.5, torchvision's ``Normalize((0.5,) * C, (0.5,) * C)``). The last two need a pixel range
(:attr:`DatasetInfo.pixel_range`: images of 8-bit pixels). :meth:`Dataset.scaled` gives the dataset under a
scaling without copying it: each is an affine map of the stored tensors, applied on the device to what is
indexed (:class:`ScaledInputs`).

Sources
-------
``mnist``, ``fashion_mnist``
    torchvision's IDX files under ``<data_dir>/MNIST/raw`` and
    ``<data_dir>/FashionMNIST/raw``, gzipped or not. Missing files are
    downloaded by torchvision when ``download`` is allowed; otherwise the error
    lists the files expected and where. Contents are checked against the
    published MD5 sums of the uncompressed files. ``.gz`` files are
    decompressed beside themselves, or, in a read-only folder, into a cache
    folder kept for that source folder alone (see :func:`_cache_dir`); a
    record beside each decompressed file (size and sha256 of the ``.gz``) has
    it decompressed again when the ``.gz`` changes.
``cifar10``
    torchvision's python batches under ``<data_dir>/cifar-10-batches-py``
    (or the archive ``cifar-10-python.tar.gz`` in ``<data_dir>``).
``digits``
    scikit-learn's bundled 8x8 digits (1797 images), a fixed 80/20 split.
``mnist1d``, ``mnist1d_shuffled``
    generated offline with the ``mnist1d`` package's ``make_dataset`` (4000
    train / 1000 test sequences of length 40); the shuffled variant applies
    one fixed permutation to the 40 positions, destroying spatial locality.
datasets a family defines
    a family registers its built-in datasets and the kinds of dataset a config
    may describe (:mod:`weightspace.registry`); a config-defined dataset's
    record carries its description (:attr:`DatasetInfo.spec`), which a cell
    carries to the training job, where :func:`load` makes the record again
    (:func:`from_spec`). This module names no family.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from typing import TYPE_CHECKING, Callable

import numpy as np

from weightspace import registry
from weightspace.errors import DataError
from weightspace.io import atomic_write, file_lock, read_json, write_json

if TYPE_CHECKING:  # pragma: no cover - torch is imported where tensors are made, not to read the registry
    import torch

__all__ = ["Dataset", "DatasetInfo", "DATASETS", "load", "resolve_data_dir", "known", "from_spec", "info",
           "cell_info", "RESERVED", "cache_root", "SCALINGS", "ScaledInputs"]

#: the input scalings a cell may choose (``train.input_scaling``); the first is the default (see the module's doc)
SCALINGS = ("standardize", "unit", "symmetric")


@dataclass(frozen=True)
class DatasetInfo:
    """What is known of a dataset without loading it; the one record per dataset (see :data:`DATASETS`).

    Attributes:
        name: the config's name for it.
        input_shape: ``(C, *spatial)`` of one example.
        n_outputs: classes, or regression targets.
        n_train, n_test: examples in the training and test sets.
        task: ``classification`` (cross-entropy, accuracy) or ``regression`` (mean squared error).
        load: ``load(root, download, verify) -> Dataset`` on the CPU.
        structure: a teacher's known weight-sharing structure, ``{"layer", "input", "kernel"}``
            (the student's weight it is about, the input shape, the kernel size), else None.
        about: one line for docs and listings.
        spec: for a dataset defined in the config, ``{family dataset kind: description}`` (JSON), from which
            :func:`from_spec` makes this record again in another process (a training job); else None.
        groups: for a dataset with a known structure, ``groups() -> (out, in) int array``: the partition of the
            structured layer's weights (tap index, -1 outside the support), computed without drawing the data.
        files: whether loading it reads files of the data folder (downloaded, placed by hand or generated once
            and cached there): the workflow then fetches and verifies it in a job of its own before any training
            job (on the submitting machine, which has the network). False for data made in memory from nothing
            but code (scikit-learn's bundled digits, a teacher's draws): each training job makes it itself, and a
            job of its own would only add a process start (~2 s) per dataset.
        pixel_range: whether the inputs are images of 8-bit pixels (values 0..255, read as [0, 1]), which the
            scalings ``unit`` and ``symmetric`` need; generated sequences and teachers have none.
    """

    name: str
    input_shape: tuple[int, ...]
    n_outputs: int
    n_train: int
    n_test: int
    task: str
    load: Callable[[Path, bool, bool], "Dataset"]
    structure: dict | None = None
    about: str = ""
    spec: dict | None = None
    groups: Callable[[], np.ndarray] | None = None
    files: bool = True
    pixel_range: bool = False


#: the core's datasets, by name (families add theirs to :data:`weightspace.registry.DATASETS`, a config its own:
#: :func:`info` finds each)
DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("mnist", (1, 28, 28), 10, 60000, 10000, "classification",
                    lambda root, dl, v: _finish("mnist", *_load_idx("mnist", root, dl, v)), None,
                    "MNIST digits (torchvision IDX files)", pixel_range=True),
        DatasetInfo("fashion_mnist", (1, 28, 28), 10, 60000, 10000, "classification",
                    lambda root, dl, v: _finish("fashion_mnist", *_load_idx("fashion_mnist", root, dl, v)), None,
                    "Fashion-MNIST (torchvision IDX files)", pixel_range=True),
        DatasetInfo("cifar10", (3, 32, 32), 10, 50000, 10000, "classification",
                    lambda root, dl, v: _finish("cifar10", *_load_cifar10(root, dl, v)), None,
                    "CIFAR-10 (torchvision python batches)", pixel_range=True),
        DatasetInfo("digits", (1, 8, 8), 10, 1437, 360, "classification",
                    lambda root, dl, v: _finish("digits", *_load_digits()), None,
                    "scikit-learn's 8x8 digits, fixed 80/20 split (offline)", files=False, pixel_range=True),
        DatasetInfo("mnist1d", (1, 40), 10, 4000, 1000, "classification",
                    lambda root, dl, v: _finish("mnist1d", *_load_mnist1d(root, shuffled=False)), None,
                    "MNIST-1D, generated (offline)"),
        DatasetInfo("mnist1d_shuffled", (1, 40), 10, 4000, 1000, "classification",
                    lambda root, dl, v: _finish("mnist1d_shuffled", *_load_mnist1d(root, shuffled=True)), None,
                    "MNIST-1D with its 40 positions permuted once (no spatial locality)"),
    )
}

#: the datasets a config cannot redefine: every one above (a family's built-in ones may be, by its own config keys)
RESERVED: frozenset[str] = frozenset(DATASETS)


# MD5 of the *uncompressed* IDX files (robust to re-gzipping).
_IDX_FILES: dict[str, tuple[str, dict[str, str]]] = {
    "mnist": (
        "MNIST",
        {
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
    ),
    "fashion_mnist": (
        "FashionMNIST",
        {
            "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
        },
    ),
}

_CIFAR_FOLDER = "cifar-10-batches-py"


class ScaledInputs:
    """A dataset's stored inputs under an affine map, ``base[index] * scale + shift``, computed on the device when
    indexed: another scaling of the inputs without a copy of the dataset (:meth:`Dataset.scaled`).

    It stands where :class:`Dataset` has a tensor of inputs and supports what the trainer, the evaluation and the
    families do with one: indexing (an index, a slice, an index tensor such as ``(S, B)`` minibatch indices),
    ``len``, ``shape``, ``device`` and ``to``. ``scale`` and ``shift`` are ``(C, 1, ...)``: per channel, they
    broadcast over any leading dimensions of what is indexed.
    """

    def __init__(self, base: "torch.Tensor", scale: "torch.Tensor", shift: "torch.Tensor"):
        self.base, self.scale, self.shift = base, scale, shift

    def __getitem__(self, index) -> "torch.Tensor":
        return self.base[index] * self.scale + self.shift

    def __len__(self) -> int:
        return len(self.base)

    @property
    def shape(self):
        return self.base.shape

    @property
    def device(self) -> "torch.device":
        return self.base.device

    def to(self, device) -> "ScaledInputs":
        return ScaledInputs(self.base.to(device), self.scale.to(device), self.shift.to(device))


@dataclass
class Dataset:
    """A dataset as tensors, ready for batched training.

    Attributes:
        name: dataset name (one of :data:`DATASETS`).
        x_train: (N, C, *spatial) float32, standardized (:class:`ScaledInputs` under another scaling:
            :meth:`scaled`).
        y_train: (N,) int64 labels, or (N, n_outputs) float32 targets (regression).
        x_test: (M, C, *spatial) float32, scaled like ``x_train``.
        y_test: like ``y_train``.
        n_outputs: number of classes, or of regression targets.
        checksum: sha256 of the source arrays (before normalization).
        source: where the data came from (files or generator).
        task: ``classification`` (cross-entropy, accuracy) or ``regression`` (mean squared error).
        structure: for teacher tasks, ``{"layer": weight name, "groups": (out, in) int array}``.
        x_mean, x_std: the map from ``x`` back to the source's values, ``x * x_std + x_mean`` (per channel, the
            standardization or scaling applied), or None for none: :meth:`pixels` applies it (the targets of
            a reconstruction task, in the source's range, e.g. [0, 1]).
        pixel_range: whether the source is images of 8-bit pixels, read as [0, 1] (:attr:`DatasetInfo.pixel_range`).
        scaling: the input scaling ``x`` is under (:data:`SCALINGS`).
    """

    name: str
    x_train: "torch.Tensor"
    y_train: "torch.Tensor"
    x_test: "torch.Tensor"
    y_test: "torch.Tensor"
    n_outputs: int
    checksum: str
    source: str
    task: str = "classification"
    structure: dict | None = None
    x_mean: "torch.Tensor | None" = None
    x_std: "torch.Tensor | None" = None
    pixel_range: bool = False
    scaling: str = SCALINGS[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def device(self) -> "torch.device":
        return self.x_train.device

    def to(self, device: "torch.device | str") -> "Dataset":
        return replace(
            self,
            x_train=self.x_train.to(device),
            y_train=self.y_train.to(device),
            x_test=self.x_test.to(device),
            y_test=self.y_test.to(device),
            x_mean=None if self.x_mean is None else self.x_mean.to(device),
            x_std=None if self.x_std is None else self.x_std.to(device),
        )

    def pixels(self, x: "torch.Tensor") -> "torch.Tensor":
        """``x`` (..., C, *spatial) as in the source, the scaling undone (images: in [0, 1]); ``x`` may also be
        a whole :class:`ScaledInputs`."""
        if isinstance(x, ScaledInputs):
            x = x[:]
        if self.x_mean is None:
            return x
        return x * self.x_std[0] + self.x_mean[0]

    def scaled(self, scaling: str) -> "Dataset":
        """This dataset under the input scaling ``scaling`` (:data:`SCALINGS`), without a copy of its tensors.

        ``standardize`` is the dataset itself. ``unit`` (the pixels) and ``symmetric`` (2 * pixels - 1) are affine
        maps of the standardized inputs, ``x * std + mean`` and ``x * 2 std + (2 mean - 1)``, applied to what is
        indexed (:class:`ScaledInputs`); :meth:`pixels` of the result undoes its own scaling, so a reconstruction's
        targets are the pixels in [0, 1] under every scaling (under ``unit``, exactly its inputs).

        Raises:
            DataError: an unknown scaling, or one that needs a pixel range on a dataset without one.
        """
        if scaling == self.scaling:
            return self
        if scaling not in SCALINGS:
            raise DataError(f"unknown input scaling {scaling!r} (train.input_scaling); choose one of: "
                            f"{', '.join(SCALINGS)}")
        if self.scaling != SCALINGS[0]:
            raise ValueError(f"dataset {self.name!r} is already scaled ({self.scaling}); scale the dataset as loaded")
        if not self.pixel_range or self.x_mean is None:
            raise DataError(f"dataset {self.name!r} has no pixel range to scale (train.input_scaling: {scaling}); "
                            f"use input_scaling: {SCALINGS[0]} for it")
        mean, std = self.x_mean[0], self.x_std[0]  # (C, 1, ...): pixels = x * std + mean
        if scaling == "unit":
            scale, shift, back_mean, back_std = std, mean, None, None
        else:  # symmetric: (pixels - 0.5) / 0.5
            scale, shift = 2 * std, 2 * mean - 1
            back_mean = self.x_mean.new_full(self.x_mean.shape, 0.5)
            back_std = self.x_std.new_full(self.x_std.shape, 0.5)
        return replace(self, x_train=ScaledInputs(self.x_train, scale, shift),
                       x_test=ScaledInputs(self.x_test, scale, shift), x_mean=back_mean, x_std=back_std,
                       scaling=scaling)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: the argument, else ``$WEIGHTSPACE_DATA``, else ``./data``."""
    if data_dir is None:
        data_dir = os.environ.get("WEIGHTSPACE_DATA", "data")
    return Path(data_dir).expanduser()


def load(
    name: str,
    data_dir: str | os.PathLike | None = None,
    device: "torch.device | str" = "cpu",
    download: bool = True,
    verify: bool = True,
    spec: dict | None = None,
) -> Dataset:
    """Load dataset ``name`` as normalized tensors on ``device``.

    Args:
        name: one of :data:`DATASETS`.
        data_dir: where files are read from (and downloaded to); see :func:`resolve_data_dir`.
        device: where the tensors go.
        download: allow torchvision to download missing files.
        verify: check file contents against the published checksums.
        spec: a config-defined dataset's description (:attr:`DatasetInfo.spec`, as a cell carries it), from
            which its record is made (see :func:`info`).

    Raises:
        DataError: unknown name; files missing (with the list of expected
            paths), corrupted or truncated (naming the file and checksum).
    """
    return info(name, spec).load(resolve_data_dir(data_dir), download, verify).to(device)


# ----------------------------------------------------------------------------------------------
# normalization and checksums


def _finish(name, xtr, ytr, xte, yte, source) -> Dataset:
    """Arrays (uint8 or float) -> standardized float32 tensors plus a checksum."""
    import torch

    scale = 255.0 if xtr.dtype == np.uint8 else 1.0
    xtr_t = torch.from_numpy(np.asarray(xtr, dtype=np.float32)) / scale
    xte_t = torch.from_numpy(np.asarray(xte, dtype=np.float32)) / scale
    dims = [0] + list(range(2, xtr_t.ndim))  # all but the channel dimension
    mean = xtr_t.mean(dim=dims, keepdim=True)
    std = xtr_t.std(dim=dims, keepdim=True).clamp_min(1e-8)
    return Dataset(
        name=name,
        x_train=((xtr_t - mean) / std).contiguous(),
        y_train=torch.as_tensor(np.asarray(ytr), dtype=torch.int64),
        x_test=((xte_t - mean) / std).contiguous(),
        y_test=torch.as_tensor(np.asarray(yte), dtype=torch.int64),
        n_outputs=DATASETS[name].n_outputs,
        checksum=_checksum(xtr, ytr, xte, yte),
        source=source,
        x_mean=mean,
        x_std=std,
        pixel_range=xtr.dtype == np.uint8,
    )


def _checksum(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST (torchvision IDX files)


def _load_idx(name: str, root: Path, download: bool, verify: bool):
    import torchvision

    folder, files = _IDX_FILES[name]
    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    read_root = _materialize_idx(name, root, download)
    read_raw = read_root / folder / "raw"
    if verify:
        for stem, md5 in files.items():
            actual = _md5(read_raw / stem)
            if actual == md5:
                continue
            record = _read_record(read_raw / stem)
            if record is None:
                raise DataError(
                    f"{read_raw / stem} is corrupted or truncated: md5 {actual}, expected {md5}. "
                    f"Delete it (and {stem}.gz beside it) and re-run to download it again, "
                    f"or replace it with the original file."
                )
            raise DataError(
                f"{record.get('source')} is corrupted or not the original: decompressed to {read_raw / stem}, "
                f"md5 {actual}, expected {md5}. Replace it with the original file (it is then decompressed "
                f"again), or delete it and {read_raw / stem} and re-run to download it again."
            )
    try:
        train = cls(str(read_root), train=True, download=False)
        test = cls(str(read_root), train=False, download=False)
    except Exception as e:  # torchvision's parser asserts on malformed files
        raise DataError(f"could not read the {name} files in {read_raw}: {e!r}") from e
    return (
        train.data.numpy()[:, None],
        train.targets.numpy(),
        test.data.numpy()[:, None],
        test.targets.numpy(),
        str(root / folder / "raw"),  # the source, also when read from the cache
    )


def _missing_message(name: str, root: Path, expected: list[Path], cause: str) -> str:
    listing = "\n".join(f"  {p}   (or {p.name}.gz)" for p in expected)
    return (
        f"dataset {name!r}: files missing under {root}:\n{listing}\n{cause}\n"
        f"Download them (torchvision does this when the network is reachable and "
        f"download is allowed), or place the standard files there by hand; "
        f"the data directory is set by --data-dir, $WEIGHTSPACE_DATA or `data_dir` in the config."
    )


def cache_root() -> Path:
    """The user cache folder (decompressed datasets, the planner's measurements): ``$WEIGHTSPACE_CACHE``, else
    ``$XDG_CACHE_HOME/weightspace`` (``~/.cache/weightspace``)."""
    base = os.environ.get("WEIGHTSPACE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "weightspace"
    )
    return Path(base)


def _cache_dir(raw: Path) -> Path:
    """The root the files of the read-only folder ``raw`` are decompressed under: ``<cache>/<key>``.

    ``key`` is the first 16 hex digits of the sha256 of ``raw``'s absolute path, symbolic links resolved: two
    copies of a dataset (say an original and an altered one) never share decompressed files, and one folder
    reached through different links does. The files go to ``<cache>/<key>/<folder>/raw/``, as torchvision expects.
    """
    key = hashlib.sha256(os.fsencode(raw.resolve())).hexdigest()[:16]
    return cache_root() / key


def _record_path(dst: Path) -> Path:
    """The record of what ``dst`` was decompressed (or copied) from, a hidden JSON file beside it."""
    return dst.with_name(f".{dst.name}.source.json")


def _read_record(dst: Path) -> dict | None:
    """``dst``'s record (``source``, ``size``, ``sha256``), or None when it has none (or an unreadable one)."""
    try:
        record = read_json(_record_path(dst))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _fingerprint(src: Path) -> dict:
    """What a record holds about the source file ``src``: its path, size and sha256."""
    h = hashlib.sha256()
    size = 0
    with open(src, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return {"source": str(src), "size": size, "sha256": h.hexdigest()}


def _is_current(dst: Path, src: Path, fingerprint: dict | None = None) -> bool:
    """Whether ``dst`` exists and its record says it was made from the present content of ``src``.

    The source is compared by size and sha256, not modification time: a file replaced by another one with
    the same time (``cp -p``, ``rsync -t``, a coarse clock) is still noticed.
    """
    record = _read_record(dst)
    if record is None or not dst.exists():
        return False
    try:
        if record.get("size") != src.stat().st_size:  # most changes, without reading the file
            return False
    except OSError:
        return False
    fingerprint = fingerprint or _fingerprint(src)
    return record.get("size") == fingerprint["size"] and record.get("sha256") == fingerprint["sha256"]


def _idx_source(raw: Path, stem: str) -> Path:
    """The file in ``raw`` that ``stem``'s content comes from: ``stem`` or ``stem.gz``.

    An uncompressed file is the source unless this package decompressed it from a ``.gz`` beside it (it has a
    record) that has changed since; uncompressed files placed by hand or extracted by torchvision have no record.
    """
    plain, gz = raw / stem, raw / f"{stem}.gz"
    if not plain.exists():
        return gz
    if not gz.exists() or _read_record(plain) is None or _is_current(plain, gz):
        return plain
    return gz


def _extract(src: Path, dst: Path) -> None:
    """Decompress ``src`` (a ``.gz``), or copy it, to ``dst`` atomically: ``dst`` is complete or absent.

    Raises:
        DataError: ``src`` cannot be read to its end (corrupted or truncated: a bad gzip header, deflate
            stream, CRC or length), naming it and what to do; or ``dst`` cannot be written.
    """
    with (gzip.open(src, "rb") if src.suffix == ".gz" else open(src, "rb")) as fin:
        try:
            with atomic_write(dst, "wb", sync=True) as fout:  # a cache read by every later run
                while True:
                    try:
                        block = fin.read(1 << 20)
                    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
                        raise DataError(
                            f"{src} is corrupted or truncated ({e}). Delete it and re-run to download it "
                            f"again, or replace it with the original file."
                        ) from e
                    if not block:
                        break
                    fout.write(block)
        except OSError as e:  # writing, not reading: disk full, no permission, ...
            raise DataError(
                f"could not write {dst} (from {src}): {e}. Make room or allow writing there "
                f"(for a read-only data folder, $WEIGHTSPACE_CACHE sets where), and re-run."
            ) from e


def _materialize_idx(name: str, root: Path, download: bool) -> Path:
    """Make sure uncompressed IDX files exist; return the root torchvision reads from.

    ``.gz`` files are decompressed beside themselves, or into the cache
    folder of their source folder (:func:`_cache_dir`) when that folder is
    read-only; a file decompressed earlier is used while its record matches
    the ``.gz`` and made again when the ``.gz`` has changed. Missing files are
    downloaded by torchvision when allowed.
    """
    import torchvision

    folder, files = _IDX_FILES[name]
    raw = root / folder / "raw"
    absent = [s for s in files if not (raw / s).exists() and not (raw / f"{s}.gz").exists()]
    if absent:
        expected = [raw / s for s in absent]
        if not download:
            raise DataError(_missing_message(name, root, expected, "Downloads are disabled."))
        cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
        try:
            with file_lock(root / f".{folder}.download"):
                cls(str(root), train=True, download=True)
        except Exception as e:
            raise DataError(
                _missing_message(name, root, expected, f"The download failed: {str(e).strip()[:500]}")
            ) from e
    sources = {stem: _idx_source(raw, stem) for stem in files}
    if all(src == raw / stem for stem, src in sources.items()):
        return root
    out_root = root if os.access(raw, os.W_OK) else _cache_dir(raw)
    out_raw = out_root / folder / "raw"
    todo = [s for s, src in sources.items() if out_raw / s != src and not _is_current(out_raw / s, src)]
    if not todo:
        return out_root
    out_raw.mkdir(parents=True, exist_ok=True)
    with file_lock(out_raw / ".extract"):
        for stem in todo:
            src, dst = sources[stem], out_raw / stem
            # fingerprinted before reading: a source that changes meanwhile leaves a stale record, redone next time
            fingerprint = _fingerprint(src)
            if _is_current(dst, src, fingerprint):  # made by another process while this one waited
                continue
            _extract(src, dst)
            write_json(_record_path(dst), fingerprint)
    return out_root


# ----------------------------------------------------------------------------------------------
# CIFAR-10 (torchvision python batches)


def _cifar10_class():
    import torchvision

    class _CIFAR10(torchvision.datasets.CIFAR10):
        """torchvision's reader; integrity is checked by :func:`_load_cifar10` instead."""

        meta = {**torchvision.datasets.CIFAR10.meta, "md5": None}  # presence only

        def _check_integrity(self) -> bool:
            return True

    return _CIFAR10


def _load_cifar10(root: Path, download: bool, verify: bool):
    import torchvision

    base = torchvision.datasets.CIFAR10
    folder = root / _CIFAR_FOLDER
    entries = base.train_list + base.test_list + [[base.meta["filename"], base.meta["md5"]]]
    absent = [folder / f for f, _ in entries if not (folder / f).exists()]
    if absent:
        if not download and not (root / base.filename).exists():
            raise DataError(
                f"dataset 'cifar10': files missing under {folder}:\n"
                + "\n".join(f"  {p}" for p in absent)
                + f"\nDownloads are disabled. Place the python batches there (or the archive "
                f"{root / base.filename}), or allow downloads."
            )
        try:
            with file_lock(root / ".cifar10.download"):
                base(str(root), train=True, download=True)
        except Exception as e:
            raise DataError(
                f"dataset 'cifar10': files missing under {folder} and the download failed "
                f"({str(e).strip()[:300]}). Place the python batches there, or the archive "
                f"{root / base.filename}."
            ) from e
    if verify:
        for fname, md5 in entries:
            actual = _md5(folder / fname)
            if actual != md5:
                raise DataError(
                    f"{folder / fname} is corrupted, truncated or not the original CIFAR-10 file: "
                    f"md5 {actual}, expected {md5}. Delete it and re-run to download it again "
                    f"(or set verify_data: false for a deliberately modified copy)."
                )
    cls = _cifar10_class()
    try:
        train = cls(str(root), train=True, download=False)
        test = cls(str(root), train=False, download=False)
    except Exception as e:
        raise DataError(f"could not read the CIFAR-10 batches in {folder}: {e!r}") from e
    return (
        train.data.transpose(0, 3, 1, 2),
        np.asarray(train.targets),
        test.data.transpose(0, 3, 1, 2),
        np.asarray(test.targets),
        str(folder),
    )


# ----------------------------------------------------------------------------------------------
# bundled / generated datasets


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as ``load_digits`` gives them: (1797, 8, 8) float images in 0..16 and their labels,
    read from the file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``) as ``load_digits`` reads it,
    without importing ``sklearn.datasets`` (0.7 s of every job that trains on digits; tests/test_data.py checks the
    arrays are ``load_digits``'s)."""
    spec = importlib.util.find_spec("sklearn")  # the package's folder, without running its __init__
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is None or not path.is_file():  # another layout: scikit-learn's own loader
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.images, d.target
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int, copy=False)


def _load_digits():
    images, target = _digits_arrays()
    x = (images * (255.0 / 16.0)).round().astype(np.uint8)[:, None]  # (1797, 1, 8, 8)
    y = target.astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(y))
    n_test = 360
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], y[tr], x[te], y[te], "sklearn.datasets.load_digits (split: RandomState(0), 360 test)"


def _load_mnist1d(root: Path, shuffled: bool):
    """MNIST-1D from the package's generator (default arguments, seed 42), cached as .npz."""
    import mnist1d
    from mnist1d.data import get_dataset_args

    args = get_dataset_args()
    args.shuffle_seq = shuffled
    version = getattr(mnist1d, "__version__", "0")
    path = root / "mnist1d" / f"mnist1d{'_shuffled' if shuffled else ''}-seed{args.seed}-v{version}.npz"
    if not path.exists():
        with file_lock(path):
            if not path.exists():
                from mnist1d.data import make_dataset

                state = np.random.get_state()  # make_dataset reseeds numpy's global RNG
                try:
                    d = make_dataset(args)
                finally:
                    np.random.set_state(state)
                with atomic_write(path, "wb", sync=True) as f:  # a cache read by every later run
                    np.savez(f, x=d["x"], y=d["y"], x_test=d["x_test"], y_test=d["y_test"])
    with np.load(path) as d:
        x, y, xt, yt = d["x"], d["y"], d["x_test"], d["y_test"]
    return (
        x[:, None].astype(np.float32),
        y.astype(np.int64),
        xt[:, None].astype(np.float32),
        yt.astype(np.int64),
        f"mnist1d.make_dataset (shuffle_seq={shuffled}, seed={args.seed})",
    )


# ----------------------------------------------------------------------------------------------
# finding a dataset's record: the core's, a family's built-in one, or one a config describes


def known() -> dict[str, DatasetInfo]:
    """Every dataset a config may name without defining it: the core's (:data:`DATASETS`), then those the
    families define (:data:`weightspace.registry.DATASETS`)."""
    return {**DATASETS, **registry.DATASETS}


def from_spec(name: str, spec: dict) -> DatasetInfo:
    """The record of a config-defined dataset from its :attr:`DatasetInfo.spec` (``{kind: description}``), made by
    the family that registered the kind (:data:`weightspace.registry.DATASET_KINDS`)."""
    (kind, description), = spec.items()
    if kind not in registry.DATASET_KINDS:
        raise DataError(f"dataset {name!r}: no family defines datasets of kind {kind!r}"
                        f"{'' if registry.FAMILIES else ' (no family is loaded: import weightspace.families)'}")
    return registry.resolve(registry.DATASET_KINDS[kind])(name, description)


def info(name: str, spec: dict | None = None) -> DatasetInfo:
    """The record of dataset ``name``: made from ``spec`` (a config-defined dataset's description, as a cell
    carries it in ``dataset_spec``), else a known one (:func:`known`).

    Raises:
        DataError: an unknown name, naming the known ones.
    """
    if spec is not None:
        return from_spec(name, spec)
    found = DATASETS.get(name) or registry.DATASETS.get(name)
    if found is None:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(known())} "
                        f"(or define it in the config)")
    return found


def cell_info(cell: dict) -> DatasetInfo:
    """The record of an expanded cell's dataset (a config-defined one from the description it carries)."""
    return info(cell["dataset"], cell.get("dataset_spec"))
