"""Give concurrent local training jobs different GPUs.

Snakemake's ``gpu`` resource only limits how many GPU jobs run at once
(``--resources gpu=N``); it does not say *which* GPU a job may use, so every
job would land on GPU 0. Here each job claims a free GPU index by taking a
non-blocking exclusive lock (``fcntl.flock``) on one lock file per index, and
then sees only that GPU (``CUDA_VISIBLE_DEVICES``). The operating system
releases the lock when the process ends, however it ends (exit, exception,
SIGKILL), so a crashed job never keeps a GPU.

The lock files live in one folder per machine (``$WEIGHTSPACE_GPU_LOCKS``,
default ``<tmp>/weightspace-gpu-locks-<uid>``), so two workflows on the same
machine share them. With ``CUDA_VISIBLE_DEVICES`` already set (e.g. ``2,3``),
the slots map onto those devices. Torch-free: call :func:`claim_gpu` before
CUDA is initialized. :func:`cuda_warning` says, before any job runs, when a
config asks for CUDA that this machine does not have.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from weightspace.errors import ResourceError

__all__ = ["lock_dir", "claim_gpu", "GpuClaim", "cuda_gpus", "cuda_warning"]

_HELD: list[int] = []  # file descriptors of the claims this process holds (kept open until it exits)


def lock_dir() -> Path:
    """The machine-wide folder of GPU lock files."""
    env = os.environ.get("WEIGHTSPACE_GPU_LOCKS")
    if env:
        return Path(env)
    return Path(tempfile.gettempdir()) / f"weightspace-gpu-locks-{os.getuid()}"


class GpuClaim:
    """A GPU this process holds: ``slot`` (0..n-1), ``device`` (what CUDA_VISIBLE_DEVICES was set to), ``path``."""

    def __init__(self, slot: int, device: str, path: Path, fd: int):
        self.slot, self.device, self.path, self.fd = slot, device, path, fd

    def release(self) -> None:
        """Give the GPU back before the process ends (it is given back at exit anyway)."""
        if self.fd in _HELD:
            _HELD.remove(self.fd)
            os.close(self.fd)

    def __repr__(self) -> str:
        return f"GpuClaim(slot={self.slot}, device={self.device!r}, path={str(self.path)!r})"


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def claim_gpu(
    n: int,
    directory: str | Path | None = None,
    wait_s: float = 3600.0,
    poll_s: float = 1.0,
    log: Callable[[str], None] | None = None,
    set_env: bool = True,
) -> GpuClaim:
    """Claim one of ``n`` GPUs that no other process holds, and (``set_env``) make it this process's only GPU.

    Tries the slots 0..n-1 without blocking; if all are held (by another workflow on the same machine), tries
    again every ``poll_s`` seconds for up to ``wait_s``.

    Raises:
        ResourceError: ``n`` < 1, or no GPU came free within ``wait_s``.
    """
    if n < 1:
        raise ResourceError(f"claim_gpu: n={n}; give the number of GPUs of this machine (snakemake --resources gpu=N)")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = [d.strip() for d in visible.split(",") if d.strip()] if visible else [str(i) for i in range(n)]
    if len(devices) < n:
        raise ResourceError(f"--resources gpu={n}, but CUDA_VISIBLE_DEVICES={visible!r} names only {len(devices)} "
                            f"GPU(s); give gpu={len(devices)} or widen CUDA_VISIBLE_DEVICES")
    folder = Path(directory) if directory is not None else lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    waited = False
    while True:
        for slot in range(n):
            path = folder / f"gpu-{devices[slot]}.lock"
            fd = _try_lock(path)
            if fd is not None:
                _HELD.append(fd)
                claim = GpuClaim(slot, devices[slot], path, fd)
                if set_env:
                    os.environ["CUDA_VISIBLE_DEVICES"] = devices[slot]
                if log:
                    log(f"GPU {devices[slot]} claimed (slot {slot} of {n}; lock {path}, pid {os.getpid()}); "
                        f"CUDA_VISIBLE_DEVICES={devices[slot]}")
                return claim
        if time.monotonic() >= deadline:
            raise ResourceError(f"no free GPU among {n} after {wait_s:.0f} s (locks in {folder}, held by the pids "
                                f"written in them); another workflow on this machine uses them")
        if log and not waited:
            log(f"all {n} GPUs are held (locks in {folder}); waiting for one to come free")
            waited = True
        time.sleep(poll_s)


def cuda_gpus() -> int:
    """How many GPUs torch finds on this machine (0 without CUDA), asked in a subprocess so that the caller does not
    import torch (validating a config and parsing the workflow never do).

    Raises:
        ResourceError: torch could not be asked (its import failed).
    """
    code = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        raise ResourceError(f"could not ask torch for CUDA devices: {e}") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise ResourceError(f"could not ask torch for CUDA devices: {last}")
    return int(out.stdout.strip())


def cuda_warning(device: str) -> str | None:
    """One line when ``device`` (a config's ``device``) asks for CUDA that torch does not find on this machine, else
    None. ``auto`` and ``cpu`` never ask (``auto`` falls back to the CPU); a machine that only submits jobs (a
    cluster's login node) needs no GPU, so this is a warning for the caller to show, not an error."""
    if not device.startswith("cuda"):
        return None
    try:
        n = cuda_gpus()
    except ResourceError as e:
        return f"device: {device}, but {e}: jobs run on this machine may fail"
    index = int(device.split(":")[1]) if ":" in device else 0
    if index < n:
        return None
    found = "no CUDA" if n == 0 else f"only {n} GPU(s) (cuda:0..{n - 1})"
    return (f"device: {device}, but torch finds {found} on this machine: training jobs run here will fail "
            f"(use device: auto or cpu here; fine where the jobs go to a cluster's GPU nodes)")
