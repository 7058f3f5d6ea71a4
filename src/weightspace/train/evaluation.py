"""Evaluation: test-set loss and accuracy of every seed, at the configured steps.

Besides the trained weights, a reparameterization may name alternative weight
sets to evaluate (:meth:`~weightspace.reparam.base.Reparam.extra_weights`,
e.g. the hardened net of soft sharing); each set ``name`` is logged as
``<name>_test_loss`` and ``<name>_test_acc``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from weightspace.nets import Net, Weights

__all__ = ["evaluate", "eval_steps", "evaluate_all", "targets"]


def targets(data, x: Tensor, y: Tensor, task: str) -> Tensor:
    """What the net's outputs are compared with: the labels or targets ``y``, or for a reconstruction
    task (a net that fixes it, e.g. an autoencoder) the input's pixels, flattened: ``x`` (..., C, *spatial)
    -> (..., C * prod(spatial)) in the source's range."""
    if task != "reconstruction":
        return y
    n = len(data.input_shape)
    return data.pixels(x).flatten(-n)


@torch.no_grad()
def evaluate(
    net: Net, weights: Weights, x: Tensor, y: Tensor, chunk: int = 2000, task: str = "classification"
) -> tuple[Tensor, Tensor]:
    """Test loss and accuracy of every seed on the shared set ``(x, y)``.

    Returns:
        (loss (S,), accuracy (S,)) as device tensors (no host synchronization); for regression and
        reconstruction the loss is the mean squared error and the accuracy NaN.
    """
    loss_sum = None
    correct = None
    for i in range(0, len(x), chunk):
        xc, yc = x[i : i + chunk], y[i : i + chunk]
        out = net.forward(weights, xc)  # (S, b, C)
        S, b, C = out.shape
        if task != "classification":
            l = ((out - yc) ** 2).mean(-1).sum(1)  # noqa: E741
            c = torch.zeros(S, device=out.device)
        else:
            l = F.cross_entropy(out.reshape(S * b, C), yc.repeat(S), reduction="none").view(S, b).sum(1)  # noqa: E741
            c = (out.argmax(-1) == yc).sum(1)
        loss_sum = l if loss_sum is None else loss_sum + l
        correct = c if correct is None else correct + c
    n = len(x)
    acc = correct.to(torch.float32) / n if task == "classification" else torch.full_like(loss_sum, math.nan)
    return loss_sum / n, acc


def eval_steps(steps_per_epoch: int, epochs: int, evals_per_epoch: int) -> list[int]:
    """Steps after which the test set is evaluated (always including the last step)."""
    k = min(evals_per_epoch, steps_per_epoch)
    points = set()
    for e in range(epochs):
        for j in range(1, k + 1):
            points.add(e * steps_per_epoch + round(j * steps_per_epoch / k))
    return sorted(points)


@torch.no_grad()
def evaluate_all(net: Net, reparam, x: Tensor, y: Tensor, task: str) -> dict[str, Tensor]:
    """Every per-seed number of one evaluation, as (S,) device tensors.

    ``test_loss`` and ``test_acc`` of the trained weights, the
    reparameterization's own metrics, and ``<name>_test_loss`` /
    ``<name>_test_acc`` of each of its extra weight sets (a set equal to the
    trained weights is not evaluated twice).
    """
    weights = reparam()
    test_loss, test_acc = evaluate(net, weights, x, y, task=task)
    out = {"test_loss": test_loss, "test_acc": test_acc, **reparam.metrics()}
    for name, extra in reparam.extra_weights().items():
        if all(torch.equal(extra[n], weights[n]) for n in weights):  # e.g. fixed sharing: hard already
            loss, acc = test_loss, test_acc
        else:
            loss, acc = evaluate(net, extra, x, y, task=task)
        out[f"{name}_test_loss"], out[f"{name}_test_acc"] = loss, acc
    return out
