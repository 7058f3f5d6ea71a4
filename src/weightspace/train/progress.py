"""Progress output of a training run: a tqdm bar on a terminal, else one log line per evaluation with an ETA."""

from __future__ import annotations

import time
from typing import Callable

from torch import Tensor

__all__ = ["Progress"]


class Progress:
    """What a run prints while it trains.

    Args:
        name: the cell's id, at the start of every line.
        total_steps: steps of the whole run.
        log: where lines go.
        bar: show a tqdm bar (else one line per evaluation).
        resumed_from: the step this process started at (the ETA counts only its own pace).
    """

    def __init__(self, name: str, total_steps: int, log: Callable[[str], None], bar: bool, start_step: int,
                 resumed_from: int | None):
        self.name, self.total_steps, self.log = name, total_steps, log
        self.resumed_from = resumed_from or 0
        self.t_start = time.perf_counter()
        self.bar = None
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, desc=name, unit="step", leave=False,
                            dynamic_ncols=True)

    def eta(self, step: int) -> str:
        """", ETA 1m05s" from this process's pace so far ("" at the end or before any step)."""
        done, left = step - self.resumed_from, self.total_steps - step
        if done <= 0 or left <= 0:
            return ""
        eta = (time.perf_counter() - self.t_start) / done * left
        return f", ETA {int(eta // 60)}m{int(eta % 60):02d}s"

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def evaluation(self, step: int, epoch: float, host: dict[str, Tensor], train_loss: Tensor, alive: Tensor,
                   task: str, wall: float) -> None:
        """Report one evaluation: the means over the seeds still alive."""
        if not alive.any():
            return
        if self.bar is not None:
            self.bar.set_postfix(test_acc=f"{float(host['test_acc'][alive].mean()):.4f}")
            return
        if step == 0:
            return
        score = "acc" if task == "classification" else "loss"
        parts = [f"test_acc {host['test_acc'][alive].mean():.4f}"] if task == "classification" else []
        # the extra weight sets a reparameterization evaluates (e.g. the hardened net)
        parts += [f"{k} {host[k][alive].mean():.4f}" for k in host if k.endswith(f"_test_{score}")]
        S = len(alive)
        self.log(
            f"[{self.name}] epoch {epoch:6.2f}  step {step}/{self.total_steps}  "
            f"train_loss {train_loss[alive].mean():.4f}  test_loss {host['test_loss'][alive].mean():.4f}  "
            f"{'  '.join(parts)}  ({int(alive.sum())}/{S} seeds, {wall:.1f}s{self.eta(step)})"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
