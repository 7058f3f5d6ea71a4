"""The seed-batched trainer.

All seeds of a cell train as one computation: every trainable tensor has a
leading seed dimension ``S``, each step draws an independent minibatch per
seed (``x[idx]`` with ``idx`` of shape ``(S, B)``), and the loss minimized is
the sum over seeds of each seed's mean loss, so each seed's gradient is
exactly its own. Adam and SGD are elementwise, so one optimizer over the
batched tensors updates each seed as its own optimizer would.

The data never leaves the device, nothing synchronizes with the host inside
the step loop, and evaluation happens only at the configured points.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from weightspace.data import Dataset
from weightspace.errors import Interrupted
from weightspace.nets import Net, build_net_for
from weightspace.netspec import TORCH_INIT
from weightspace.reparam import Reparam, build_reparam
from weightspace.seeding import generators
from weightspace.train import checkpoint as ckpt
from weightspace.train.config import TrainConfig
from weightspace.train.evaluation import eval_steps, evaluate_all, targets
from weightspace.train.progress import Progress
from weightspace.train.step import make_optimizer, train_step

__all__ = ["SeedResult", "Trainer", "train", "build_for_cell", "summary_of"]


@dataclass
class SeedResult:
    """What one seed's run produced."""

    seed: int
    n_weights: int  # D: weights of the net
    n_trainable: int  # numbers trained per seed
    rows: list[dict[str, float]] = field(default_factory=list)
    status: str = "ok"  # ok | diverged
    diverged_step: int | None = None
    diverged_epoch: float | None = None
    diverged_reason: str | None = None


def build_for_cell(cell: dict, data: Dataset, seeds: list[int], device: torch.device | str) -> tuple[Net, Reparam]:
    """The net (initialised as the cell's ``train.init`` says) and the reparameterization a cell config describes."""
    net_cfg = cell["net"]
    net = build_net_for(net_cfg, data.input_shape, data.n_outputs, cell.get("train", {}).get("init", TORCH_INIT))
    epochs = cell.get("train", {}).get("epochs", TrainConfig.epochs)
    reparam = build_reparam(cell["variant"], net, seeds, device, structure=data.structure, epochs=epochs)
    return net, reparam


class Trainer:
    """Trains all ``seeds`` of ``cell`` together on ``data``; resumable from a checkpoint.

    The whole loop state is saved atomically to ``checkpoint`` (see
    :mod:`weightspace.train.checkpoint`) at evaluation points (at most every
    ``checkpoint_every_s`` seconds) and whenever :attr:`stop_requested` is
    set, at the next step boundary. A run resumed from a checkpoint ends with
    the same numbers as an uninterrupted one (bit for bit on the CPU).

    Args:
        cell: a cell config (``net``, ``variant``, ``train``; see :mod:`weightspace.config`).
        data: the dataset as loaded (standardized), already on ``device``; the trainer sees it under the cell's
            ``train.input_scaling`` (:meth:`~weightspace.data.Dataset.scaled`, no copy), as :attr:`data`.
        seeds: the seeds to train, as one batch.
        device: where to train (default: the dataset's device).
        log: where one-line progress messages go (default: stderr).
        progress: show a tqdm bar (default: when stderr is a terminal).
        checkpoint: file to save to and resume from (None: no checkpoints).
        checkpoint_every_s: minimum seconds between periodic checkpoints.
    """

    def __init__(
        self,
        cell: dict,
        data: Dataset,
        seeds: list[int],
        device: torch.device | str | None = None,
        log: Callable[[str], None] | None = None,
        progress: bool | None = None,
        checkpoint: str | Path | None = None,
        checkpoint_every_s: float = 60.0,
    ):
        self.cfg = TrainConfig.from_dict(cell.get("train", {}))
        self.cell, self.seeds = cell, list(seeds)
        self.data = data = data.scaled(self.cfg.input_scaling)  # the cell's input scaling, without a copy
        self.device = torch.device(device) if device is not None else data.device
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.checkpoint_every_s = checkpoint_every_s
        self.name = cell.get("cell", "cell")
        self.net, self.reparam = build_for_cell(cell, data, self.seeds, self.device)
        self.task = self.net.task or data.task  # a net may fix its task (an autoencoder: reconstruction)
        self.y_test = targets(data, data.x_test, data.y_test, self.task)
        self.opt = make_optimizer(self.reparam.parameters(), self.cfg, self.device)
        self.N = len(data.x_train)
        self.B = min(self.cfg.batch_size, self.N)
        self.steps_per_epoch = self.N // self.B
        self.total_steps = self.steps_per_epoch * self.cfg.epochs
        self.eval_at = eval_steps(self.steps_per_epoch, self.cfg.epochs, self.cfg.evals_per_epoch)
        self.fingerprint = ckpt.cell_fingerprint(cell, self.seeds, data.checksum)
        self.stop_requested = False
        S = len(self.seeds)
        # --- loop state (everything a checkpoint holds) ---
        self.gens = generators(self.seeds, "data")
        self.results = [
            SeedResult(seed=s, n_weights=self.net.n_params, n_trainable=self.reparam.n_trainable()) for s in self.seeds
        ]
        self.alive = torch.ones(S, dtype=torch.bool)
        self.loss_acc = torch.zeros(S, device=self.device)
        self.steps_since_eval = 0
        self.epoch = 0  # current epoch
        self.i = 0  # next step within the epoch
        self.step = 0  # steps done
        self.next_eval = 0  # index into eval_at
        self.perms: Tensor | None = None  # (S, N) order of the current epoch
        self.train_time = 0.0
        self.wall_offset = 0.0  # wall time of earlier sessions (resumed runs)
        self.resumed_from: int | None = None
        self.t_start = self.last_save = time.perf_counter()

    def wall(self) -> float:
        """Wall time of the run so far, earlier (interrupted) sessions included."""
        return self.wall_offset + (time.perf_counter() - self.t_start)

    def state_dict(self) -> dict[str, Any]:
        """The loop state a checkpoint holds (:mod:`weightspace.train.checkpoint` writes and reads it)."""
        return {
            "reparam": self.reparam.state_dict(),
            "optimizer": self.opt.state_dict(),
            "gens": [g.get_state() for g in self.gens],
            "results": [dict(vars(r)) for r in self.results],
            "alive": self.alive.clone(),
            "loss_acc": self.loss_acc.detach().cpu(),
            "steps_since_eval": self.steps_since_eval,
            "epoch": self.epoch,
            "i": self.i,
            "step": self.step,
            "next_eval": self.next_eval,
            "perms": None if self.perms is None else self.perms.cpu(),
            "train_time": self.train_time,
            "wall": self.wall(),
        }

    def load_state_dict(self, st: dict[str, Any]) -> None:
        """Continue from a state :meth:`state_dict` gave (read back from a checkpoint)."""
        self.reparam.load_state_dict(st["reparam"])
        self.opt.load_state_dict(st["optimizer"])
        for g, s in zip(self.gens, st["gens"]):
            g.set_state(s)
        self.results = [SeedResult(**r) for r in st["results"]]
        self.alive = st["alive"].clone()
        self.loss_acc = st["loss_acc"].to(self.device)
        self.steps_since_eval = st["steps_since_eval"]
        self.epoch, self.i, self.step, self.next_eval = st["epoch"], st["i"], st["step"], st["next_eval"]
        self.perms = None if st["perms"] is None else st["perms"].to(self.device)
        self.train_time = st["train_time"]
        self.wall_offset = st["wall"]
        self.resumed_from = self.step

    def save_checkpoint(self) -> None:
        """Write the state to the checkpoint file (atomically, with its checksum), if the trainer has one."""
        if self.checkpoint is None:
            return
        ckpt.save(self.checkpoint, self.fingerprint, self.state_dict())
        self.last_save = time.perf_counter()

    def _try_resume(self) -> bool:
        """Continue from the checkpoint if there is one for this very cell, seeds and data, and it matches its
        checksum; say so in the log."""
        if self.checkpoint is None:
            return False
        st, why = ckpt.load(self.checkpoint, self.fingerprint)
        if st is None:
            if why:
                self.log(f"[{self.name}] {why}")
            return False
        self.load_state_dict(st)
        self.log(f"[{self.name}] resumed from checkpoint at step {self.step}/{self.total_steps}")
        return True

    # ------------------------------------------------------------------------------------------
    # the loop

    def _divergence(self, row: dict[str, float], initial: float) -> str | None:
        """Why a seed counts as diverged at this evaluation (None if it does not).

        The rule: a training or test loss that is not finite, or (with
        ``train.divergence_factor`` set) one above that factor times the seed's
        initial test loss (a loss exploding to 1e11 is not a result).
        """
        losses = {"test loss": row["test_loss"]}
        if row["step"] > 0:
            losses["training loss"] = row["train_loss"]
        for what, value in losses.items():
            if not math.isfinite(value):
                return f"{what} is not finite ({value})"
        factor = self.cfg.divergence_factor
        if factor is not None and math.isfinite(initial):
            for what, value in losses.items():
                if value > factor * initial:
                    return (f"{what} {value:.3g} exceeds {factor:g} x the initial test loss {initial:.3g} "
                            f"(train.divergence_factor)")
        return None

    def _record(self, step: int, train_loss: Tensor | None) -> None:
        """Evaluate every seed, append a row to each seed still alive, retire seeds that diverged, report."""
        S = len(self.seeds)
        evaluated = evaluate_all(self.net, self.reparam, self.data.x_test, self.y_test, self.task)
        host = {k: v.detach().float().cpu() for k, v in evaluated.items()}
        tl = train_loss.cpu() if train_loss is not None else torch.full((S,), math.nan)
        wall = self.wall()
        for i, r in enumerate(self.results):
            if not self.alive[i]:
                continue
            row = {
                "step": step,
                "epoch": step / self.steps_per_epoch,
                "train_loss": float(tl[i]),
                "test_loss": float(host["test_loss"][i]),
                "test_acc": float(host["test_acc"][i]),
                "train_time_s": self.train_time,
                "wall_time_s": wall,
            }
            row.update({k: float(v[i]) for k, v in host.items() if k not in ("test_loss", "test_acc")})
            r.rows.append(row)
            reason = self._divergence(row, r.rows[0]["test_loss"])
            if reason:
                r.status, r.diverged_step, r.diverged_epoch, r.diverged_reason = "diverged", step, row["epoch"], reason
                self.alive[i] = False
                self.log(f"[{self.name}] seed {r.seed} diverged at step {step} (epoch {row['epoch']:.2f}): {reason}")
        self._progress.evaluation(step, step / self.steps_per_epoch, host, tl, self.alive, self.task, wall)

    def _train_step(self, idx: Tensor) -> None:
        """One step of every seed on its minibatch ``idx`` (S, B) of the training set."""
        xb = self.data.x_train[idx]  # (S, B, ...)
        yb = targets(self.data, xb, self.data.y_train[idx], self.task)  # (S, B[, C])
        self.loss_acc += train_step(self.net, self.reparam, self.opt, xb, yb, self.task, self.step, self.total_steps)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def run(self) -> list[SeedResult]:
        """Train (or finish training) and return one :class:`SeedResult` per seed, in seed order.

        Raises:
            Interrupted: :attr:`stop_requested` was set; the checkpoint is saved.
        """
        self.t_start = self.last_save = time.perf_counter()
        S = len(self.seeds)
        resumed = self._try_resume()
        if not resumed:
            self.log(
                f"[{self.name}] {S} seed(s) {self.seeds} on {self.device}: D={self.net.n_params:,} weights, "
                f"{self.reparam.n_trainable():,} trained per seed; {self.cfg.epochs} epochs x {self.steps_per_epoch} steps"
            )
        self._progress = Progress(self.name, self.total_steps, self.log, self.progress, self.step, self.resumed_from)
        if not resumed:
            self._record(0, None)
        B = self.B
        t0 = time.perf_counter()
        try:
            while self.epoch < self.cfg.epochs and self.alive.any():
                if self.perms is None:
                    self.perms = torch.stack([torch.randperm(self.N, generator=g) for g in self.gens]).to(self.device)
                while self.i < self.steps_per_epoch:
                    if self.stop_requested:
                        self._sync()
                        self.train_time += time.perf_counter() - t0
                        self.save_checkpoint()
                        where = f"; checkpoint saved in {self.checkpoint}" if self.checkpoint else ""
                        raise Interrupted(f"[{self.name}] stopped at step {self.step}/{self.total_steps}{where}")
                    self._train_step(self.perms[:, self.i * B : (self.i + 1) * B])
                    self.i += 1
                    self.step += 1
                    self.steps_since_eval += 1
                    self._progress.step()
                    if self.step == self.eval_at[self.next_eval]:
                        self._sync()
                        now = time.perf_counter()
                        self.train_time += now - t0
                        self._record(self.step, self.loss_acc / self.steps_since_eval)
                        self.loss_acc.zero_()
                        self.steps_since_eval = 0
                        self.next_eval += 1
                        if self.checkpoint is not None and time.perf_counter() - self.last_save >= self.checkpoint_every_s:
                            self.save_checkpoint()
                        t0 = time.perf_counter()
                self.epoch, self.i, self.perms = self.epoch + 1, 0, None
        finally:
            self._progress.close()
        return self.results


def train(
    cell: dict,
    data: Dataset,
    seeds: list[int],
    device: torch.device | str | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
) -> list[SeedResult]:
    """Train all ``seeds`` of ``cell`` together on ``data`` (no checkpoints); see :class:`Trainer`.

    Returns:
        One :class:`SeedResult` per seed, in the order of ``seeds``.
    """
    return Trainer(cell, data, seeds, device, log, progress).run()


def summary_of(result: SeedResult) -> dict[str, Any]:
    """The final and best numbers of one seed's run."""
    rows = result.rows
    last = rows[-1]
    valid = [r["test_acc"] for r in rows if math.isfinite(r["test_acc"])]
    return {
        "status": result.status,
        "n_weights": result.n_weights,
        "n_trainable": result.n_trainable,
        "diverged_step": result.diverged_step,
        "diverged_epoch": result.diverged_epoch,
        "diverged_reason": result.diverged_reason,
        "final": {k: v for k, v in last.items() if not k.endswith("time_s")},
        "best_test_acc": max(valid) if valid else None,
        "train_time_s": last["train_time_s"],
        "wall_time_s": last["wall_time_s"],
    }
