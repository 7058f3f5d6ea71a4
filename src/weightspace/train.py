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

import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from weightspace.data import Dataset
from weightspace.errors import WeightspaceError
from weightspace.io import atomic_write
from weightspace.nets import Net, build_net
from weightspace.reparam import Reparam, build_reparam
from weightspace.seeding import generators

__all__ = [
    "TrainConfig",
    "SeedResult",
    "Trainer",
    "Interrupted",
    "train",
    "evaluate",
    "build_for_cell",
    "make_optimizer",
    "per_seed_loss",
    "summary_of",
    "OPTIMIZERS",
]

OPTIMIZERS = ("adam", "sgd")


@dataclass
class TrainConfig:
    """How a cell is trained (every field is a config key under ``train:``)."""

    epochs: int = 20  # passes over the training set
    batch_size: int = 256  # examples per step, per seed (the last partial batch of an epoch is dropped)
    optimizer: str = "adam"  # adam | sgd
    lr: float = 1e-3  # learning rate
    momentum: float = 0.9  # SGD heavy-ball momentum (ignored by Adam)
    weight_decay: float = 0.0  # L2 penalty added to the gradient, on the trained tensors
    evals_per_epoch: int = 1  # test-set evaluations per epoch (resolution of the curves)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown train keys {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**d)


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


def build_for_cell(cell: dict, data: Dataset, seeds: list[int], device: torch.device | str) -> tuple[Net, Reparam]:
    """The net and the reparameterization a cell config describes."""
    net_cfg = cell["net"]
    net = build_net(net_cfg["arch"], data.input_shape, data.n_outputs, net_cfg.get("widths"))
    epochs = cell.get("train", {}).get("epochs", TrainConfig.epochs)
    reparam = build_reparam(cell["variant"], net, seeds, device, structure=data.structure, epochs=epochs)
    return net, reparam


def make_optimizer(params, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    fused = device.type == "cuda"
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused or None)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, fused=fused or None
        )
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")


def per_seed_loss(out: Tensor, y: Tensor, task: str = "classification") -> Tensor:
    """Mean loss per seed: cross-entropy, or squared error averaged over targets.

    Args:
        out: (S, B, C) logits or predictions.
        y: (S, B) labels, or (S, B, C) targets.
    Returns:
        (S,)
    """
    S, B, C = out.shape
    if task == "regression":
        return ((out - y) ** 2).mean(dim=(1, 2))
    return F.cross_entropy(out.reshape(S * B, C), y.reshape(S * B), reduction="none").view(S, B).mean(1)


@torch.no_grad()
def evaluate(
    net: Net, weights: dict[str, Tensor], x: Tensor, y: Tensor, chunk: int = 2000, task: str = "classification"
) -> tuple[Tensor, Tensor]:
    """Test loss and accuracy of every seed on the shared set ``(x, y)``.

    Returns:
        (loss (S,), accuracy (S,)) as device tensors (no host synchronization);
        for regression the loss is the mean squared error and the accuracy NaN.
    """
    loss_sum = None
    correct = None
    for i in range(0, len(x), chunk):
        xc, yc = x[i : i + chunk], y[i : i + chunk]
        out = net.forward(weights, xc)  # (S, b, C)
        S, b, C = out.shape
        if task == "regression":
            l = ((out - yc) ** 2).mean(-1).sum(1)
            c = torch.zeros(S, device=out.device)
        else:
            l = F.cross_entropy(out.reshape(S * b, C), yc.repeat(S), reduction="none").view(S, b).sum(1)
            c = (out.argmax(-1) == yc).sum(1)
        loss_sum = l if loss_sum is None else loss_sum + l
        correct = c if correct is None else correct + c
    n = len(x)
    acc = correct.to(torch.float32) / n if task != "regression" else torch.full_like(loss_sum, math.nan)
    return loss_sum / n, acc


def _eval_steps(steps_per_epoch: int, epochs: int, evals_per_epoch: int) -> list[int]:
    """Steps after which the test set is evaluated (always including the last step)."""
    k = min(evals_per_epoch, steps_per_epoch)
    points = set()
    for e in range(epochs):
        for j in range(1, k + 1):
            points.add(e * steps_per_epoch + round(j * steps_per_epoch / k))
    return sorted(points)


class Interrupted(WeightspaceError):
    """Training stopped on request (SIGTERM, SIGINT); the checkpoint holds its state."""

    signum: int | None = None  # the signal that asked for the stop, if any


def cell_fingerprint(cell: dict, seeds: list[int], dataset_checksum: str) -> str:
    """What a checkpoint must match to be resumed: the cell's config, the seeds and the data."""
    key = json.dumps({"cell": cell, "seeds": list(seeds), "data": dataset_checksum, "v": CHECKPOINT_VERSION}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


CHECKPOINT_VERSION = 1


class Trainer:
    """Trains all ``seeds`` of ``cell`` together on ``data``; resumable from a checkpoint.

    The whole loop state (trained tensors, optimizer moments, each seed's
    data-order generator, the current epoch's permutation, the position in
    it, partial loss sums, the rows recorded so far) is saved atomically to
    ``checkpoint`` at evaluation points (at most every ``checkpoint_every_s``
    seconds) and whenever :attr:`stop_requested` is set, at the next step
    boundary. A run resumed from a checkpoint ends with the same numbers as
    an uninterrupted one (bit for bit on the CPU).

    Args:
        cell: a cell config (``net``, ``variant``, ``train``; see :mod:`weightspace.config`).
        data: the dataset, already on ``device``.
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
        self.cell, self.data, self.seeds = cell, data, list(seeds)
        self.device = torch.device(device) if device is not None else data.device
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.checkpoint_every_s = checkpoint_every_s
        self.cfg = TrainConfig.from_dict(cell.get("train", {}))
        self.name = cell.get("cell", "cell")
        self.net, self.reparam = build_for_cell(cell, data, self.seeds, self.device)
        self.opt = make_optimizer(self.reparam.parameters(), self.cfg, self.device)
        self.N = len(data.x_train)
        self.B = min(self.cfg.batch_size, self.N)
        self.steps_per_epoch = self.N // self.B
        self.total_steps = self.steps_per_epoch * self.cfg.epochs
        self.eval_at = _eval_steps(self.steps_per_epoch, self.cfg.epochs, self.cfg.evals_per_epoch)
        self.fingerprint = cell_fingerprint(cell, self.seeds, data.checksum)
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

    # ------------------------------------------------------------------------------------------
    # checkpoints

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
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
            "wall": self.wall_offset + (time.perf_counter() - self._t_start),
        }

    def load_state_dict(self, st: dict[str, Any]) -> None:
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
        if self.checkpoint is None:
            return
        with atomic_write(self.checkpoint, "wb") as f:
            torch.save(self.state_dict(), f)
        self._last_save = time.perf_counter()

    def _try_resume(self) -> bool:
        if self.checkpoint is None or not self.checkpoint.exists():
            return False
        try:
            st = torch.load(self.checkpoint, map_location="cpu", weights_only=False)
        except Exception as e:  # a checkpoint from a killed write is never renamed into place, but be safe
            self.log(f"[{self.name}] ignoring unreadable checkpoint {self.checkpoint}: {e}")
            return False
        if st.get("version") != CHECKPOINT_VERSION or st.get("fingerprint") != self.fingerprint:
            self.log(f"[{self.name}] ignoring checkpoint {self.checkpoint}: it belongs to another config, seeds or dataset")
            return False
        self.load_state_dict(st)
        self.log(f"[{self.name}] resumed from checkpoint at step {self.step}/{self.total_steps}")
        return True

    # ------------------------------------------------------------------------------------------
    # the loop

    def _record(self, step: int, train_loss: Tensor | None) -> None:
        S = len(self.seeds)
        task = self.data.task
        with torch.no_grad():
            weights = self.reparam()
            test_loss, test_acc = evaluate(self.net, weights, self.data.x_test, self.data.y_test, task=task)
            extra = self.reparam.metrics()
            hard = self.reparam.hard_weights()
            if hard is not None:  # the hardened net (one value per weight), evaluated beside the soft one
                if all(torch.equal(hard[n], weights[n]) for n in weights):  # fixed sharing: already hard
                    h_loss, h_acc = test_loss, test_acc
                else:
                    h_loss, h_acc = evaluate(self.net, hard, self.data.x_test, self.data.y_test, task=task)
                extra = {**extra, "hard_test_loss": h_loss, "hard_test_acc": h_acc}
        host = {
            "test_loss": test_loss.cpu(),
            "test_acc": test_acc.cpu(),
            **{k: v.detach().float().cpu() for k, v in extra.items()},
        }
        tl = train_loss.cpu() if train_loss is not None else torch.full((S,), math.nan)
        wall = self.wall_offset + time.perf_counter() - self._t_start
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
            finite = math.isfinite(row["test_loss"]) and (step == 0 or math.isfinite(row["train_loss"]))
            if not finite:
                r.status, r.diverged_step, r.diverged_epoch = "diverged", step, row["epoch"]
                self.alive[i] = False
                self.log(f"[{self.name}] seed {r.seed} diverged at step {step} (epoch {row['epoch']:.2f}): loss is not finite")
        alive = self.alive
        if self._bar is None and step > 0 and alive.any():
            acc = host["test_acc"][alive]
            score = f"test_acc {acc.mean():.4f}" if task != "regression" else ""
            if "hard_test_loss" in host:
                score += f"  hard_test_{'loss' if task == 'regression' else 'acc'} " + (
                    f"{host['hard_test_loss'][alive].mean():.4f}" if task == "regression"
                    else f"{host['hard_test_acc'][alive].mean():.4f}"
                )
            self.log(
                f"[{self.name}] epoch {step / self.steps_per_epoch:6.2f}  step {step}/{self.total_steps}  "
                f"train_loss {tl[alive].mean():.4f}  test_loss {host['test_loss'][alive].mean():.4f}  "
                f"{score}  ({int(alive.sum())}/{S} seeds, {wall:.1f}s{self._eta(step)})"
            )
        elif self._bar is not None and alive.any():
            self._bar.set_postfix(test_acc=f"{float(host['test_acc'][alive].mean()):.4f}")

    def _train_step(self, idx: Tensor) -> None:
        self.reparam.on_step(self.step, self.total_steps)
        xb, yb = self.data.x_train[idx], self.data.y_train[idx]  # (S, B, ...), (S, B[, C])
        loss = per_seed_loss(self.net.forward(self.reparam(), xb), yb, self.data.task)  # (S,)
        total = loss
        pen = self.reparam.penalty()
        if pen is not None:
            total = total + pen
        self.opt.zero_grad(set_to_none=True)
        total.sum().backward()
        self.opt.step()
        self.loss_acc += loss.detach()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _eta(self, step: int) -> str:
        """", ETA 1m05s" from this process's pace so far ("" at the end or before any step)."""
        done, left = step - (self.resumed_from or 0), self.total_steps - step
        if done <= 0 or left <= 0:
            return ""
        eta = (time.perf_counter() - self._t_start) / done * left
        return f", ETA {int(eta // 60)}m{int(eta % 60):02d}s"

    def run(self) -> list[SeedResult]:
        """Train (or finish training) and return one :class:`SeedResult` per seed, in seed order.

        Raises:
            Interrupted: :attr:`stop_requested` was set; the checkpoint is saved.
        """
        self._t_start = time.perf_counter()
        self._last_save = self._t_start
        self._bar = None
        S = len(self.seeds)
        resumed = self._try_resume()
        if not resumed:
            self.log(
                f"[{self.name}] {S} seed(s) {self.seeds} on {self.device}: D={self.net.n_params:,} weights, "
                f"{self.reparam.n_trainable():,} trained per seed; {self.cfg.epochs} epochs x {self.steps_per_epoch} steps"
            )
        if self.progress:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total_steps, initial=self.step, desc=self.name, unit="step", leave=False,
                             dynamic_ncols=True)
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
                    if self._bar is not None:
                        self._bar.update(1)
                    if self.step == self.eval_at[self.next_eval]:
                        self._sync()
                        now = time.perf_counter()
                        self.train_time += now - t0
                        self._record(self.step, self.loss_acc / self.steps_since_eval)
                        self.loss_acc.zero_()
                        self.steps_since_eval = 0
                        self.next_eval += 1
                        if self.checkpoint is not None and time.perf_counter() - self._last_save >= self.checkpoint_every_s:
                            self.save_checkpoint()
                        t0 = time.perf_counter()
                self.epoch, self.i, self.perms = self.epoch + 1, 0, None
        finally:
            if self._bar is not None:
                self._bar.close()
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
        "final": {k: v for k, v in last.items() if not k.endswith("time_s")},
        "best_test_acc": max(valid) if valid else None,
        "train_time_s": last["train_time_s"],
        "wall_time_s": last["wall_time_s"],
    }

