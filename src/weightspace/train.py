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
from dataclasses import dataclass, field, fields
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from weightspace.data import Dataset
from weightspace.nets import Net, build_net
from weightspace.reparam import Reparam, build_reparam
from weightspace.seeding import generators

__all__ = [
    "TrainConfig",
    "SeedResult",
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
    net = build_net(net_cfg["arch"], data.input_shape, data.n_classes, net_cfg.get("widths"))
    reparam = build_reparam(cell["variant"], net, seeds, device)
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


def per_seed_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy per seed. logits (S, B, C), y (S, B) -> (S,)."""
    S, B, C = logits.shape
    return F.cross_entropy(logits.reshape(S * B, C), y.reshape(S * B), reduction="none").view(S, B).mean(1)


@torch.no_grad()
def evaluate(net: Net, weights: dict[str, Tensor], x: Tensor, y: Tensor, chunk: int = 2000) -> tuple[Tensor, Tensor]:
    """Test loss and accuracy of every seed on the shared set ``(x, y)``.

    Returns:
        (loss (S,), accuracy (S,)) as device tensors (no host synchronization).
    """
    loss_sum = None
    correct = None
    for i in range(0, len(x), chunk):
        xc, yc = x[i : i + chunk], y[i : i + chunk]
        logits = net.forward(weights, xc)  # (S, b, C)
        S, b, C = logits.shape
        l = F.cross_entropy(logits.reshape(S * b, C), yc.repeat(S), reduction="none").view(S, b).sum(1)
        c = (logits.argmax(-1) == yc).sum(1)
        loss_sum = l if loss_sum is None else loss_sum + l
        correct = c if correct is None else correct + c
    n = len(x)
    return loss_sum / n, correct.to(torch.float32) / n


def _eval_steps(steps_per_epoch: int, epochs: int, evals_per_epoch: int) -> list[int]:
    """Steps after which the test set is evaluated (always including the last step)."""
    k = min(evals_per_epoch, steps_per_epoch)
    points = set()
    for e in range(epochs):
        for j in range(1, k + 1):
            points.add(e * steps_per_epoch + round(j * steps_per_epoch / k))
    return sorted(points)


def train(
    cell: dict,
    data: Dataset,
    seeds: list[int],
    device: torch.device | str | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
) -> list[SeedResult]:
    """Train all ``seeds`` of ``cell`` together on ``data``.

    Args:
        cell: a cell config (``net``, ``variant``, ``train``; see :mod:`weightspace.config`).
        data: the dataset, already on ``device``.
        seeds: the seeds to train, as one batch.
        device: where to train (default: the dataset's device).
        log: where one-line progress messages go (default: stderr).
        progress: show a tqdm bar (default: when stderr is a terminal).

    Returns:
        One :class:`SeedResult` per seed, in the order of ``seeds``.
    """
    device = torch.device(device) if device is not None else data.device
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    cfg = TrainConfig.from_dict(cell.get("train", {}))
    S = len(seeds)
    net, reparam = build_for_cell(cell, data, seeds, device)
    opt = make_optimizer(reparam.parameters(), cfg, device)

    N = len(data.x_train)
    B = min(cfg.batch_size, N)
    steps_per_epoch = N // B
    total_steps = steps_per_epoch * cfg.epochs
    eval_at = _eval_steps(steps_per_epoch, cfg.epochs, cfg.evals_per_epoch)
    data_gens = generators(seeds, "data")

    name = cell.get("cell", "cell")
    log(
        f"[{name}] {S} seed(s) {seeds} on {device}: D={net.n_params:,} weights, "
        f"{reparam.n_trainable():,} trained per seed; {cfg.epochs} epochs x {steps_per_epoch} steps"
    )
    bar = None
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, desc=name, unit="step", leave=False, dynamic_ncols=True)

    results = [SeedResult(seed=s, n_weights=net.n_params, n_trainable=reparam.n_trainable()) for s in seeds]
    alive = torch.ones(S, dtype=torch.bool)
    loss_acc = torch.zeros(S, device=device)
    steps_since_eval = 0
    train_time = 0.0
    t_start = time.perf_counter()

    def record(step: int, train_loss: Tensor | None) -> None:
        weights = reparam()
        test_loss, test_acc = evaluate(net, weights, data.x_test, data.y_test)
        extra = reparam.metrics()
        host = {
            "test_loss": test_loss.cpu(),
            "test_acc": test_acc.cpu(),
            **{k: v.detach().cpu() for k, v in extra.items()},
        }
        tl = train_loss.cpu() if train_loss is not None else torch.full((S,), math.nan)
        wall = time.perf_counter() - t_start
        for i, r in enumerate(results):
            if not alive[i]:
                continue
            row = {
                "step": step,
                "epoch": step / steps_per_epoch,
                "train_loss": float(tl[i]),
                "test_loss": float(host["test_loss"][i]),
                "test_acc": float(host["test_acc"][i]),
                "train_time_s": train_time,
                "wall_time_s": wall,
            }
            row.update({k: float(v[i]) for k, v in host.items() if k not in ("test_loss", "test_acc")})
            r.rows.append(row)
            finite = math.isfinite(row["test_loss"]) and (step == 0 or math.isfinite(row["train_loss"]))
            if not finite:
                r.status, r.diverged_step, r.diverged_epoch = "diverged", step, row["epoch"]
                alive[i] = False
                log(f"[{name}] seed {r.seed} diverged at step {step} (epoch {row['epoch']:.2f}): loss is not finite")
        if bar is None and step > 0 and alive.any():
            acc = host["test_acc"][alive]
            log(
                f"[{name}] epoch {step / steps_per_epoch:6.2f}  step {step}/{total_steps}  "
                f"train_loss {tl[alive].mean():.4f}  test_loss {host['test_loss'][alive].mean():.4f}  "
                f"test_acc {acc.mean():.4f}  ({int(alive.sum())}/{S} seeds, {wall:.1f}s)"
            )

    record(0, None)
    step = 0
    next_eval = 0
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        if not alive.any():
            break
        perms = torch.stack([torch.randperm(N, generator=g) for g in data_gens]).to(device)  # (S, N)
        for i in range(steps_per_epoch):
            idx = perms[:, i * B : (i + 1) * B]  # (S, B)
            xb, yb = data.x_train[idx], data.y_train[idx]  # (S, B, ...), (S, B)
            logits = net.forward(reparam(), xb)
            loss = per_seed_loss(logits, yb)  # (S,)
            total = loss
            pen = reparam.penalty()
            if pen is not None:
                total = total + pen
            opt.zero_grad(set_to_none=True)
            total.sum().backward()
            opt.step()
            loss_acc += loss.detach()
            steps_since_eval += 1
            step += 1
            if bar is not None:
                bar.update(1)
            if step == eval_at[next_eval]:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                train_time += time.perf_counter() - t0
                record(step, loss_acc / steps_since_eval)
                if bar is not None and alive.any():
                    bar.set_postfix(test_acc=f"{results[int(alive.nonzero()[0])].rows[-1]['test_acc']:.4f}")
                loss_acc.zero_()
                steps_since_eval = 0
                next_eval += 1
                t0 = time.perf_counter()
    if bar is not None:
        bar.close()
    return results


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
        "final": {k: last[k] for k in ("step", "epoch", "train_loss", "test_loss", "test_acc")},
        "best_test_acc": max(valid) if valid else None,
        "train_time_s": last["train_time_s"],
        "wall_time_s": last["wall_time_s"],
    }

