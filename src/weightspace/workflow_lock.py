"""One workflow per results folder.

Snakemake locks its *working* folder (``.snakemake/``), not the folders its
outputs go to: two checkouts whose configs name one absolute ``results_dir``
could run at once, and each would delete outputs the other had just written
(incomplete-job clean-up) and retrain them. :func:`hold_results_folder` takes
an exclusive lock in the results folder itself for the life of the Snakemake
process (the workflow calls it in ``onstart``, which runs only in the main
process of a real run: not in dry runs, nor in cluster jobs). A second
workflow on the same folder stops before it schedules anything, with a message
naming the holder. The lock is an OS file lock: it is released when the
process ends, however it ends (SIGKILL and power loss included), so it never
goes stale.
"""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path

from filelock import FileLock, Timeout

from weightspace.errors import WeightspaceError

__all__ = ["hold_results_folder", "LOCK_NAME"]

LOCK_NAME = ".weightspace-workflow.lock"
_held: dict[str, FileLock] = {}  # kept referenced for the life of the process


def hold_results_folder(results_dir: str | os.PathLike) -> Path:
    """Lock ``results_dir`` for this process; raise if another workflow holds it.

    Returns:
        the lock file's path.

    Raises:
        WeightspaceError: another process holds the lock (its pid, host and
            working folder are named when known).
    """
    folder = Path(results_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    owner = path.with_suffix(".owner")
    if str(path) in _held:
        return path
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        who = owner.read_text().strip() if owner.exists() else "another process"
        raise WeightspaceError(
            f"the results folder {folder} is in use by another workflow ({who}). Two workflows writing one "
            f"results folder delete each other's outputs: wait for that one to finish, or give this one "
            f"another results_dir in its config"
        ) from None
    _held[str(path)] = lock
    owner.write_text(
        f"pid {os.getpid()} on {socket.gethostname()}, working folder {os.getcwd()}, "
        f"since {datetime.datetime.now().isoformat(timespec='seconds')}\n"
    )
    return path
