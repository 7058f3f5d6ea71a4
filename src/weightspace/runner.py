"""Run one cell: load its data, train its seeds, write one CSV and one JSON per seed.

Layout of a cell's outputs (``out_dir`` is ``results/<experiment>/runs/<cell>``)::

    seed-<s>/metrics.csv     one row per evaluation: step, epoch, train_loss, test_loss, test_acc, times
    seed-<s>/summary.json    final numbers, status (ok | diverged), the cell config and provenance
    seed-<s>/<file>.npz      what the cell's family keeps of the trained net (its ``run_files``; sharing:
                             structure.npz, the examined layer's assignment, soft and hard weights)

Every file is written atomically, after training, so a killed job leaves no
file that looks finished. While training, the job checkpoints to
``<out_dir>/../.checkpoints/<cell>/`` (not a declared output, so Snakemake
leaves it in place when it re-runs a failed job); a re-run resumes from there,
and the checkpoints are removed once the outputs are complete. SIGTERM (a
SLURM time limit, ``kill``) and SIGINT make the job save a checkpoint at the
next step boundary and exit.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch

from weightspace import data as data_mod
from weightspace.errors import Interrupted, ResourceError, WeightspaceError
from weightspace.io import atomic_write, file_lock, provenance, write_dataframe, write_json
from weightspace.nets import build_net_for
from weightspace.reparam import estimate_bytes
from weightspace.train import Trainer, summary_of

__all__ = ["resolve_device", "run_cell", "seed_dir", "seed_batches", "checkpoint_dir"]


def checkpoint_dir(out_dir: str | Path) -> Path:
    """Where a cell's checkpoints live: beside the cell's folder, outside its declared outputs."""
    out_dir = Path(out_dir)
    return out_dir.parent / ".checkpoints" / out_dir.name


@contextlib.contextmanager
def _stop_on_signals(state: dict) -> Iterator[None]:
    """SIGTERM / SIGINT ask the running trainer to checkpoint and stop (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        state["signal"] = signum
        trainer = state.get("trainer")
        if trainer is not None:
            trainer.stop_requested = True
        else:  # not training yet: nothing to save
            raise Interrupted(f"stopped by signal {signal.Signals(signum).name} before training started")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, h in previous.items():
            signal.signal(sig, h)


def resolve_device(device: str | None) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; anything else as given (checked)."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ResourceError(f"device {device!r} requested but CUDA is not available here; use device: auto or cpu")
    return dev


def seed_dir(out_dir: str | Path, seed: int) -> Path:
    return Path(out_dir) / f"seed-{seed}"


def seed_batches(cell: dict, input_shape, n_outputs: int, seeds: list[int], memory_limit_gib: float) -> list[list[int]]:
    """Split ``seeds`` into as few batches as fit ``memory_limit_gib`` (fixed + trained tensors)."""
    net_cfg = cell["net"]
    net = build_net_for(net_cfg, tuple(input_shape), n_outputs)
    per_seed = estimate_bytes(cell["variant"], net, 1)
    limit = memory_limit_gib * 2**30
    if per_seed > limit:
        raise ResourceError(
            f"cell {cell.get('cell')}: one seed needs ~{per_seed / 2**30:.1f} GiB, over memory_limit_gib={memory_limit_gib}"
        )
    k = max(1, int(limit // per_seed))
    return [seeds[i : i + k] for i in range(0, len(seeds), k)]


def run_cell(
    cell: dict,
    seeds: list[int],
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    device: str | None = "auto",
    download: bool = True,
    verify: bool = True,
    memory_limit_gib: float = 16.0,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
    checkpoint_every_s: float = 60.0,
) -> list[Path]:
    """Train ``cell`` for ``seeds`` and write its per-seed files under ``out_dir``.

    Resumes from the cell's checkpoints if an earlier run of the same config
    was interrupted.

    Returns:
        The summary.json paths written, one per seed.

    Raises:
        Interrupted: a signal stopped training (the checkpoint is saved).
        WeightspaceError: another process is training the same cell.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    dev = resolve_device(device)
    ckpt_dir = checkpoint_dir(out_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    state: dict = {}
    with _stop_on_signals(state), _exclusive(ckpt_dir, cell):
        t0 = time.perf_counter()
        ds = data_mod.load(cell["dataset"], data_dir, device=dev, download=download, verify=verify,
                           spec=cell.get("dataset_spec"))
        load_s = time.perf_counter() - t0
        prov = provenance(dev)
        batches = seed_batches(cell, ds.input_shape, ds.n_outputs, list(seeds), memory_limit_gib)
        if len(batches) > 1:
            log(f"[{cell.get('cell')}] seeds trained in {len(batches)} batches to fit memory_limit_gib={memory_limit_gib}")
        finished = []
        for batch in batches:
            ckpt = ckpt_dir / f"seeds-{'-'.join(map(str, batch))}.pt"
            trainer = Trainer(cell, ds, batch, dev, log=log, progress=progress, checkpoint=ckpt,
                              checkpoint_every_s=checkpoint_every_s)
            state["trainer"] = trainer
            try:
                results = trainer.run()
            except Interrupted as e:
                e.signum = state.get("signal")
                raise
            state["trainer"] = None
            if len(batches) > 1:
                trainer.save_checkpoint()  # a finished batch is not trained again if a later one is killed
            finished.append((batch, results, trainer.resumed_from, _examine(cell, trainer.reparam, ds)))
        written = []
        for batch, results, resumed_from, examined in finished:
            for res, (extra_metrics, files) in zip(results, examined):
                d = seed_dir(out_dir, res.seed)
                write_dataframe(d / "metrics.csv", pd.DataFrame(res.rows))
                for name, arrays in files.items():
                    with atomic_write(d / name, "wb") as f:
                        np.savez_compressed(f, **arrays)
                summary = {
                    "experiment": cell.get("experiment"),
                    "cell": cell.get("cell"),
                    "seed": res.seed,
                    **summary_of(res),
                    "batched_with": batch,
                    "resumed_from_step": resumed_from,
                    "extra_metrics": extra_metrics,
                    "config": cell,
                    "dataset": {
                        "name": ds.name,
                        "checksum": ds.checksum,
                        "source": ds.source,
                        "n_train": len(ds.x_train),
                        "n_test": len(ds.x_test),
                        "load_time_s": load_s,
                    },
                    "provenance": prov,
                }
                write_json(d / "summary.json", summary)
                written.append(d / "summary.json")
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        ckpt_dir.parent.rmdir()  # the .checkpoints folder, once empty
    return written


def _examine(cell: dict, reparam, data) -> list[tuple[dict, dict[str, dict]]]:
    """Per seed: what the cell's family measures on the trained net, and the files it keeps (its ``run_files``)."""
    from weightspace.families import FAMILIES

    family = FAMILIES.get(cell.get("family"))
    if family is None:  # a cell written by hand, without a family: metrics and summary only
        return [({}, {}) for _ in range(reparam.n_seeds)]
    out = family.examine(reparam, data)
    for _, files in out:
        if set(files) != set(family.run_files):  # the workflow declares run_files as the job's outputs
            raise RuntimeError(f"family {family.name!r} wrote {sorted(files)}, but declares {sorted(family.run_files)}")
    return out


@contextlib.contextmanager
def _exclusive(ckpt_dir: Path, cell: dict) -> Iterator[None]:
    """One process per cell: a second one fails at once instead of corrupting the first one's files."""
    from filelock import Timeout

    try:
        with file_lock(ckpt_dir / "train", timeout=0):
            yield
    except Timeout:
        raise WeightspaceError(
            f"cell {cell.get('cell')} is being trained by another process (lock {ckpt_dir / 'train.lock'}); "
            f"wait for it to finish"
        ) from None
