"""Run cells: load their data (once per job), train each cell's seeds, write one CSV and one JSON per seed.

Layout of a cell's outputs (``out_dir`` is ``results/<experiment>/runs/<cell>``)::

    seed-<s>/metrics.csv     one row per evaluation: step, epoch, train_loss, test_loss, test_acc, times
    seed-<s>/summary.json    final numbers, status (ok | diverged), the cell config and provenance
    seed-<s>/<file>.npz      what the cell's family keeps of the trained net (its ``run_files``; sharing:
                             structure.npz, the examined layer's assignment, soft and hard weights)

Every file is written atomically, after training, so a killed job leaves no
file that looks finished. While training, the job checkpoints to
``<out_dir>/../.checkpoints/<cell>/`` (not a declared output, so Snakemake
leaves it in place when it re-runs a failed job); a re-run resumes from there,
and the checkpoints are removed once the outputs are complete. A job of
several cells (:func:`run_cells`) keeps each finished cell's files there too
(``finished/``) until the whole job is done, so a re-run after a kill restores
them instead of training them again. Checkpoints and finished copies have
their sha256 recorded beside them; one that no longer matches (or has none)
is named in the log and not used: the cell trains again. SIGTERM (a
SLURM time limit, ``kill``) and SIGINT make the job save a checkpoint at the
next step boundary and exit.
"""

from __future__ import annotations

import contextlib
import os
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
from weightspace import registry
from weightspace.errors import Interrupted, ResourceError, WeightspaceError
from weightspace.io import atomic_write, checksum_problem, file_lock, provenance, write_dataframe, write_json
from weightspace.nets import build_net_for
from weightspace.reparam import estimate_bytes
from weightspace.sizes import limit_bytes, seeds_that_fit
from weightspace.train import Trainer, summary_of
from weightspace.train.checkpoint import cell_fingerprint

__all__ = ["resolve_device", "run_cell", "run_cells", "seed_dir", "seed_batches", "checkpoint_dir"]


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
        else:  # not training (yet, or between two cells of a job): nothing to save
            e = Interrupted(f"stopped by signal {signal.Signals(signum).name} while not training")
            e.signum = signum
            raise e

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
    if per_seed > limit_bytes(memory_limit_gib):
        raise ResourceError(
            f"cell {cell.get('cell')}: one seed needs ~{per_seed / 2**30:.1f} GiB, over memory_limit_gib={memory_limit_gib}"
        )
    k = seeds_that_fit(per_seed, memory_limit_gib)
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
    return run_cells([cell], seeds, [out_dir], data_dir, device, download, verify, memory_limit_gib, log, progress,
                     checkpoint_every_s)


def run_cells(
    cells: list[dict],
    seeds: list[int],
    out_dirs: list[str | Path],
    data_dir: str | Path | None = None,
    device: str | None = "auto",
    download: bool = True,
    verify: bool = True,
    memory_limit_gib: float = 16.0,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
    checkpoint_every_s: float = 60.0,
) -> list[Path]:
    """Train several cells one after another in this process (a workflow job of ``cells_per_job`` cells).

    Each dataset is loaded once. Kill-safety holds per cell: a cell being trained resumes from its checkpoint,
    and a cell that finished keeps a copy of its files in its checkpoint folder (``finished/``, outside the
    job's declared outputs, which Snakemake deletes when it re-runs an incomplete job) until every cell of the
    job is written, so a re-run restores it, byte for byte, instead of training it again. The checkpoint
    folders are removed once every cell's outputs are complete.

    Returns:
        The summary.json paths written, one per cell and seed, in order.
    """
    if len(cells) != len(out_dirs):
        raise ValueError(f"{len(cells)} cells but {len(out_dirs)} output folders")
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    dev = resolve_device(device)
    ckpt_dirs = [checkpoint_dir(o) for o in out_dirs]
    state: dict = {}
    written: list[Path] = []
    with _stop_on_signals(state), contextlib.ExitStack() as locks:
        for cell, ckpt_dir in zip(cells, ckpt_dirs):
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            locks.enter_context(_exclusive(ckpt_dir, cell))
        loaded: dict[str, tuple] = {}
        for i, (cell, out_dir, ckpt_dir) in enumerate(zip(cells, out_dirs, ckpt_dirs)):
            if cell["dataset"] not in loaded:
                t0 = time.perf_counter()
                ds = data_mod.load(cell["dataset"], data_dir, device=dev, download=download, verify=verify,
                                   spec=cell.get("dataset_spec"))
                # the global generator as a fresh process has it after loading: each cell starts from it
                loaded[cell["dataset"]] = (ds, time.perf_counter() - t0, torch.get_rng_state())
            ds, load_s, rng_state = loaded[cell["dataset"]]
            fingerprint = cell_fingerprint(cell, list(seeds), ds.checksum)
            where = f" ({i + 1}/{len(cells)} of this job)" if len(cells) > 1 else ""
            restored = _restore_finished(ckpt_dir, out_dir, fingerprint, lambda m: log(f"[{cell.get('cell')}] {m}"))
            if restored:
                log(f"[{cell.get('cell')}] finished by an earlier attempt of this job: its results restored from "
                    f"{ckpt_dir / 'finished'}, not trained again{where}")
                written += restored
                continue
            torch.set_rng_state(rng_state)
            summaries, files = _train_cell(cell, seeds, out_dir, ckpt_dir, ds, load_s, dev, memory_limit_gib, log,
                                           progress, checkpoint_every_s, state)
            if len(cells) > 1:  # keep it where a re-run of an interrupted job finds it
                _keep_finished(ckpt_dir, out_dir, files, fingerprint)
                log(f"[{cell.get('cell')}] done{where}")
            written += summaries
    # the job's result files are written without an fsync each (io.atomic_write): flush them to disk once, before
    # the checkpoints that could make them again are removed, so that a crash of the machine after this job
    # never leaves an empty summary.json that Snakemake takes for finished
    os.sync()
    for ckpt_dir in ckpt_dirs:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    for parent in {c.parent for c in ckpt_dirs}:
        with contextlib.suppress(OSError):
            parent.rmdir()  # the .checkpoints folder, once empty
    return written


def _keep_finished(ckpt_dir: Path, out_dir: Path, files: list[Path], fingerprint: str) -> None:
    """Copy a finished cell's files into ``<ckpt_dir>/finished/``, each with its checksum; the manifest (written
    last) marks it complete."""
    finished = ckpt_dir / "finished"
    names = [str(f.relative_to(out_dir)) for f in files]
    for f, name in zip(files, names):
        with atomic_write(finished / name, "wb", checksum=True) as dst:
            dst.write(f.read_bytes())
    write_json(ckpt_dir / "finished.json", {"fingerprint": fingerprint, "files": names})


def _restore_finished(ckpt_dir: Path, out_dir: Path, fingerprint: str, log: Callable[[str], None]) -> list[Path]:
    """A cell finished by an earlier attempt of the same config: copy its files back; its summary paths ([] if none).

    Nothing is restored unless every file matches its checksum: a corrupted or truncated copy is named in the
    log, and the cell is trained again.
    """
    import json

    manifest = ckpt_dir / "finished.json"
    if not manifest.exists():
        return []
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError):
        log(f"not restoring the cell's results from {ckpt_dir / 'finished'}: {manifest} is unreadable; "
            f"training the cell again")
        return []
    names = info.get("files") or []
    if info.get("fingerprint") != fingerprint or not all((ckpt_dir / "finished" / n).is_file() for n in names):
        return []
    for name in names:
        problem = checksum_problem(ckpt_dir / "finished" / name)
        if problem:
            log(f"not restoring {ckpt_dir / 'finished' / name}: {problem}; training the cell again")
            return []
    out_dir = Path(out_dir)
    for name in names:
        with atomic_write(out_dir / name, "wb") as dst:
            dst.write((ckpt_dir / "finished" / name).read_bytes())
    return [out_dir / n for n in names if Path(n).name == "summary.json"]


def _train_cell(cell, seeds, out_dir, ckpt_dir, ds, load_s, dev, memory_limit_gib, log, progress, checkpoint_every_s,
                state) -> tuple[list[Path], list[Path]]:
    """Train one cell (resuming from its checkpoint) and write its files; (summary paths, every file written)."""
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
        finished.append((batch, results, trainer.resumed_from, _examine(cell, trainer.reparam, trainer.data)))
    written, files = [], []
    for batch, results, resumed_from, examined in finished:
        for res, (extra_metrics, run_files) in zip(results, examined):
            d = seed_dir(out_dir, res.seed)
            write_dataframe(d / "metrics.csv", pd.DataFrame(res.rows))
            files.append(d / "metrics.csv")
            for name, arrays in run_files.items():
                with atomic_write(d / name, "wb") as f:
                    np.savez_compressed(f, **arrays)
                files.append(d / name)
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
            files.append(d / "summary.json")
    return written, files


def _examine(cell: dict, reparam, data) -> list[tuple[dict, dict[str, dict]]]:
    """Per seed: what the cell's family measures on the trained net, and the files it keeps (its ``run_files``)."""
    if cell.get("family") is None:  # a cell written by hand, without a family: metrics and summary only
        return [({}, {}) for _ in range(reparam.n_seeds)]
    family = registry.families().get(cell["family"])
    if family is None:
        raise WeightspaceError(f"cell {cell.get('cell')}: unknown family {cell['family']!r}; "
                               f"registered: {', '.join(registry.FAMILIES)}")
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
