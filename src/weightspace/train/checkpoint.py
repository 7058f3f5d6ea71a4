"""Checkpoints of a training run: the whole loop state, saved atomically, resumed only by the same cell.

The state is the trainer's (:meth:`~weightspace.train.loop.Trainer.state_dict`: trained tensors, optimizer
moments, each seed's data-order generator, the current epoch's permutation and the position in it, partial
loss sums, the rows recorded so far); this module only writes and reads it. It is enough for a resumed run to end with
the same numbers as an uninterrupted one (bit for bit on the CPU). Its sha256
is recorded beside it (``<checkpoint>.sha256``); a checkpoint that does not
match it, or has none, is not resumed from: training starts again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from weightspace.io import atomic_write, checksum_problem

__all__ = ["CHECKPOINT_VERSION", "cell_fingerprint", "save", "load"]

CHECKPOINT_VERSION = 1


def cell_fingerprint(cell: dict, seeds: list[int], dataset_checksum: str) -> str:
    """What a checkpoint must match to be resumed: the cell's config, the seeds and the data."""
    key = json.dumps({"cell": cell, "seeds": list(seeds), "data": dataset_checksum, "v": CHECKPOINT_VERSION}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def save(path: Path, fingerprint: str, state: dict[str, Any]) -> None:
    """Write a trainer's ``state`` (:meth:`~weightspace.train.loop.Trainer.state_dict`) to ``path``, atomically and
    with its checksum, marked with the format version and the cell's ``fingerprint``."""
    with atomic_write(path, "wb", checksum=True, sync=True) as f:  # resumed from after any crash
        torch.save({"version": CHECKPOINT_VERSION, "fingerprint": fingerprint, **state}, f)


def load(path: Path, fingerprint: str) -> tuple[dict[str, Any] | None, str]:
    """The state saved in ``path`` if it is there, matches its checksum and belongs to this very cell, seeds and
    data (``fingerprint``): ``(state, "")``; else ``(None, why it is not resumed from)`` (``why`` empty when there
    is no checkpoint), a sentence for the log."""
    if not path.exists():
        return None, ""
    problem = checksum_problem(path)
    if problem:
        return None, f"ignoring checkpoint {path}: {problem}; training from scratch"
    try:
        st = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a checkpoint from a killed write is never renamed into place, but be safe
        return None, f"ignoring unreadable checkpoint {path}: {e}"
    if st.get("version") != CHECKPOINT_VERSION or st.get("fingerprint") != fingerprint:
        return None, f"ignoring checkpoint {path}: it belongs to another config, seeds or dataset"
    return st, ""
