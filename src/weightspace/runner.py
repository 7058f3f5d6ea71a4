"""Run one cell: load its data, train its seeds, write one CSV and one JSON per seed.

Layout of a cell's outputs (``out_dir`` is ``results/<experiment>/runs/<cell>``)::

    seed-<s>/metrics.csv     one row per evaluation: step, epoch, train_loss, test_loss, test_acc, times
    seed-<s>/summary.json    final numbers, status (ok | diverged), the cell config and provenance

Every file is written atomically, after training, so a killed job leaves no
file that looks finished.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from weightspace import data as data_mod
from weightspace.errors import ResourceError
from weightspace.io import provenance, write_dataframe, write_json
from weightspace.nets import build_net
from weightspace.reparam import estimate_bytes
from weightspace.train import summary_of, train

__all__ = ["resolve_device", "run_cell", "seed_dir", "seed_batches"]


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


def seed_batches(cell: dict, input_shape, n_classes: int, seeds: list[int], memory_limit_gib: float) -> list[list[int]]:
    """Split ``seeds`` into as few batches as fit ``memory_limit_gib`` (fixed + trained tensors)."""
    net_cfg = cell["net"]
    net = build_net(net_cfg["arch"], tuple(input_shape), n_classes, net_cfg.get("widths"))
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
) -> list[Path]:
    """Train ``cell`` for ``seeds`` and write its per-seed files under ``out_dir``.

    Returns:
        The summary.json paths written, one per seed.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    dev = resolve_device(device)
    t0 = time.perf_counter()
    ds = data_mod.load(cell["dataset"], data_dir, device=dev, download=download, verify=verify)
    load_s = time.perf_counter() - t0
    prov = provenance(dev)
    written = []
    batches = seed_batches(cell, ds.input_shape, ds.n_classes, list(seeds), memory_limit_gib)
    if len(batches) > 1:
        log(f"[{cell.get('cell')}] seeds trained in {len(batches)} batches to fit memory_limit_gib={memory_limit_gib}")
    for batch in batches:
        results = train(cell, ds, batch, dev, log=log, progress=progress)
        for res in results:
            d = seed_dir(out_dir, res.seed)
            write_dataframe(d / "metrics.csv", pd.DataFrame(res.rows))
            summary = {
                "experiment": cell.get("experiment"),
                "cell": cell.get("cell"),
                "seed": res.seed,
                **summary_of(res),
                "batched_with": batch,
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
    return written
