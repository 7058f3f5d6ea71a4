"""Files that are either complete or absent, locks, and provenance records.

Every output of the pipeline goes through :func:`atomic_write`: the bytes are
written to a temporary file in the destination folder and renamed over the
destination. A job killed half-way leaves at most a stray ``.tmp-*`` file,
never a truncated file with the final name. Only files that must survive a
crash of the machine itself (``sync=True``: checkpoints, extracted dataset
files) are also flushed to disk (fsync) before the rename: an fsync costs 4 to
25 ms on a cloud VM's disk, and a training job writes hundreds of small result
files; it flushes them all at once (``os.sync``) before it removes the
checkpoints that could make them again (:func:`weightspace.runner.run_cells`). Files are created
with the permissions a plain ``open(path, "w")`` gives (``0o666`` less the
umask), so collaborators on a shared filesystem can read them.

A file that is read back to continue work (a checkpoint, a finished cell's
copy) is written with ``atomic_write(..., checksum=True)``, which records its
sha256 beside it, and is used only if it still matches
(:func:`checksum_problem`): a flipped byte or a truncated copy is noticed, not
resumed from.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

from weightspace import __version__

__all__ = [
    "atomic_write",
    "write_json",
    "read_json",
    "write_text",
    "write_dataframe",
    "checksum_problem",
    "file_lock",
    "code_version",
    "cpu_name",
    "usable_cores",
    "provenance",
]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", checksum: bool = False, sync: bool = False) -> Iterator[Any]:
    """Open a temporary file beside ``path``; rename it to ``path`` on success.

    The file gets the permissions of a new file made by ``open(path, mode)``:
    ``0o666`` less the process's umask (not those of a file it replaces).
    On an exception the temporary file is removed and ``path`` is untouched.

    With ``checksum`` (binary modes), the sha256 of the bytes written is recorded in ``<path>.sha256``
    (``sha256sum``'s format) for :func:`checksum_problem`. The record names the new file's sum beside the old
    one's until the rename is done, so a process killed at any point leaves a file that matches its record.

    With ``sync``, the bytes (and the checksum record) are flushed to disk before the rename, so that the file
    survives a crash of the machine, not only of the process.
    """
    path = Path(path)
    if checksum and "b" not in mode:
        raise ValueError(f"a checksum is recorded for binary writes only, not mode {mode!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        try:
            f = os.fdopen(fd, mode)
        except BaseException:  # e.g. an invalid mode: the descriptor is still ours to close
            os.close(fd)
            raise
        sha = hashlib.sha256()
        with f:
            yield _Hashing(f, sha) if checksum else f
            f.flush()
            if sync:
                os.fsync(f.fileno())
        if checksum:
            record = _checksum_path(path)
            new = f"{sha.hexdigest()}  {path.name}\n"
            write_text(record, "".join(line + "\n" for line in _recorded(record)) + new, sync)  # old and new
        os.replace(tmp, path)
        if checksum:
            write_text(record, new, sync)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class _Hashing:
    """A binary file that also feeds every byte written to it into ``sha``."""

    def __init__(self, f, sha):
        self._f, self._sha = f, sha

    def write(self, data) -> int:
        self._sha.update(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


def _create_temporary(path: Path) -> tuple[int, Path]:
    """Create a new, uniquely named, hidden file beside ``path``; return its descriptor (open for writing) and path.

    Unlike :func:`tempfile.mkstemp` (always ``0o600``), the file is created with mode ``0o666`` and the kernel
    applies the umask, as for ``open()``; reading the umask would need ``os.umask``, which sets it process-wide.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(f".tmp-{path.name[:200]}.{secrets.token_hex(8)}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # practically never with 64 random bits; never take over another file
            continue
    raise FileExistsError(f"no free temporary file name beside {path}")


def write_text(path: str | os.PathLike, text: str, sync: bool = False) -> None:
    with atomic_write(path, sync=sync) as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=_json_default)
        f.write("\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):  # numpy / torch scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as f:
        return json.load(f)


def write_dataframe(path: str | os.PathLike, df) -> None:
    """Write a pandas DataFrame as CSV, atomically."""
    with atomic_write(path) as f:
        df.to_csv(f, index=False)


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _recorded(record: Path) -> list[str]:
    """The lines of a checksum record ([] when there is none, or it cannot be read)."""
    try:
        return record.read_text().splitlines()
    except (OSError, ValueError):
        return []


def checksum_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be trusted (it has no recorded checksum, or no longer matches it), in a few words;
    None when it matches the checksum ``atomic_write(..., checksum=True)`` recorded."""
    path = Path(path)
    record = _checksum_path(path)
    sums = {line.split()[0] for line in _recorded(record) if line.strip()}
    if not sums:
        return f"it has no checksum ({record.name} missing or unreadable)"
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        return f"it cannot be read ({e.strerror})"
    if h.hexdigest() not in sums:
        return f"it does not match its checksum in {record.name} (corrupted or truncated)"
    return None


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, timeout: float = -1) -> Iterator[None]:
    """An inter-process lock on ``path + '.lock'`` (blocks until acquired)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=timeout):
        yield


@functools.cache
def code_version() -> str:
    """``git describe`` of the checkout the package runs from, else the package version; asked once per process
    (every cell of a training job records it: one ``git`` process per job, not per cell)."""
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            return f"{__version__}+git.{out.stdout.strip()}"
        except (OSError, subprocess.SubprocessError):
            pass
    return __version__


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _torchvision_version() -> str | None:
    """torchvision's ``__version__`` (with its build tag, e.g. ``0.29.1+cu130``) read from its ``version.py``
    without importing it: importing torchvision imports torch._dynamo, 1.8 s in every job that records its
    provenance, although most never load a torchvision dataset. The installed distribution's version (no build
    tag) if that file cannot be read; None without torchvision."""
    spec = importlib.util.find_spec("torchvision")  # finds the package without running its __init__
    if spec is None:
        return None
    try:
        text = Path(spec.origin).with_name("version.py").read_text()
        return re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.M).group(1)
    except (OSError, TypeError, AttributeError):
        return importlib.metadata.version("torchvision")


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS says, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def provenance(device: Any = None) -> dict[str, Any]:
    """Where and with what a result was produced."""
    import torch

    info: dict[str, Any] = {
        "code_version": code_version(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
    }
    version = _torchvision_version()
    if version:
        info["torchvision"] = version
    if device is not None:
        device = torch.device(device)
        info["device"] = str(device)
        if device.type == "cuda":
            info["device_name"] = torch.cuda.get_device_name(device)
            info["cuda"] = torch.version.cuda
        else:
            info["device_name"] = cpu_name()
            info["cpu_threads"] = torch.get_num_threads()
    return info
