"""Checkpoints of a training run: the whole loop state, saved atomically, resumed only by the same cell.

The state (trained tensors, optimizer moments, each seed's data-order
generator, the current epoch's permutation and the position in it, partial
loss sums, the rows recorded so far) is enough for a resumed run to end with
the same numbers as an uninterrupted one (bit for bit on the CPU). Its sha256
is recorded beside it (``<checkpoint>.sha256``); a checkpoint that does not
match it, or has none, is not resumed from: training starts again.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

import torch

from weightspace.io import atomic_write, checksum_problem

if TYPE_CHECKING:  # pragma: no cover
    from weightspace.train.loop import Trainer

__all__ = ["CHECKPOINT_VERSION", "cell_fingerprint", "state_dict", "load_state_dict", "save", "try_resume"]

CHECKPOINT_VERSION = 1


def cell_fingerprint(cell: dict, seeds: list[int], dataset_checksum: str) -> str:
    """What a checkpoint must match to be resumed: the cell's config, the seeds and the data."""
    key = json.dumps({"cell": cell, "seeds": list(seeds), "data": dataset_checksum, "v": CHECKPOINT_VERSION}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def state_dict(t: "Trainer") -> dict[str, Any]:
    return {
        "version": CHECKPOINT_VERSION,
        "fingerprint": t.fingerprint,
        "reparam": t.reparam.state_dict(),
        "optimizer": t.opt.state_dict(),
        "gens": [g.get_state() for g in t.gens],
        "results": [dict(vars(r)) for r in t.results],
        "alive": t.alive.clone(),
        "loss_acc": t.loss_acc.detach().cpu(),
        "steps_since_eval": t.steps_since_eval,
        "epoch": t.epoch,
        "i": t.i,
        "step": t.step,
        "next_eval": t.next_eval,
        "perms": None if t.perms is None else t.perms.cpu(),
        "train_time": t.train_time,
        "wall": t.wall(),
    }


def load_state_dict(t: "Trainer", st: dict[str, Any]) -> None:
    from weightspace.train.loop import SeedResult

    t.reparam.load_state_dict(st["reparam"])
    t.opt.load_state_dict(st["optimizer"])
    for g, s in zip(t.gens, st["gens"]):
        g.set_state(s)
    t.results = [SeedResult(**r) for r in st["results"]]
    t.alive = st["alive"].clone()
    t.loss_acc = st["loss_acc"].to(t.device)
    t.steps_since_eval = st["steps_since_eval"]
    t.epoch, t.i, t.step, t.next_eval = st["epoch"], st["i"], st["step"], st["next_eval"]
    t.perms = None if st["perms"] is None else st["perms"].to(t.device)
    t.train_time = st["train_time"]
    t.wall_offset = st["wall"]
    t.resumed_from = t.step


def save(t: "Trainer") -> None:
    """Write the trainer's state to its checkpoint file (atomically, with its checksum), if it has one."""
    if t.checkpoint is None:
        return
    with atomic_write(t.checkpoint, "wb", checksum=True) as f:
        torch.save(state_dict(t), f)
    t.last_save = time.perf_counter()


def try_resume(t: "Trainer") -> bool:
    """Load the trainer's checkpoint if there is one for this very cell, seeds and data, and it matches its
    checksum; say so in the log."""
    if t.checkpoint is None or not t.checkpoint.exists():
        return False
    problem = checksum_problem(t.checkpoint)
    if problem:
        t.log(f"[{t.name}] ignoring checkpoint {t.checkpoint}: {problem}; training from scratch")
        return False
    try:
        st = torch.load(t.checkpoint, map_location="cpu", weights_only=False)
    except Exception as e:  # a checkpoint from a killed write is never renamed into place, but be safe
        t.log(f"[{t.name}] ignoring unreadable checkpoint {t.checkpoint}: {e}")
        return False
    if st.get("version") != CHECKPOINT_VERSION or st.get("fingerprint") != t.fingerprint:
        t.log(f"[{t.name}] ignoring checkpoint {t.checkpoint}: it belongs to another config, seeds or dataset")
        return False
    load_state_dict(t, st)
    t.log(f"[{t.name}] resumed from checkpoint at step {t.step}/{t.total_steps}")
    return True
