"""The training step: one function used by the trainer, ``weightspace bench`` and ``plan --measure``.

So that a benchmark times exactly what training runs (the reparameterization's
schedule hook, forward, loss, its penalty, backward, optimizer step).
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import Tensor

from weightspace.nets import Net
from weightspace.train.config import OPTIMIZERS, TrainConfig

__all__ = ["make_optimizer", "per_seed_loss", "train_step"]

# Subnormal floats (|x| < 1.2e-38) make CPU arithmetic an order of magnitude slower. They appear when
# gradients vanish: Adam's moments of a gradient that decays towards 0 (an MNIST autoencoder's saturated
# sigmoid pixels: 17 ms per step at first, 200 ms after 10 epochs, with ~13,600 subnormal Adam entries).
# Flushing them to zero (x86 FTZ/DAZ; no effect on CUDA) keeps every step as fast as the first, and changes
# results only through values below 1e-38. Set here, so the trainer, `bench` and `plan --measure` compute alike.
torch.set_flush_denormal(True)


def _without_dynamo(cls: type) -> type:
    """``cls`` (a torch.optim optimizer) with the wrappers that import torch._dynamo taken off its methods.

    torch.optim wraps ``add_param_group``, ``zero_grad``, ``state_dict`` and ``load_state_dict`` in
    ``torch._disable_dynamo`` and ``step`` in ``_use_grad_for_differentiable``; each imports torch._dynamo on its
    first call (1.1 s in every training process: more than the training of a small job's cells) only to keep
    torch.compile out of them, and this package does not compile. The unwrapped methods are the same code, so
    the arithmetic is identical (tests/test_train.py compares parameters and state bit for bit); ``step`` runs
    under ``torch.no_grad()``, as the wrapper runs it for an optimizer that is not ``differentiable``.
    """
    step = inspect.unwrap(cls.step)

    def plain_step(self, closure=None):
        with torch.no_grad():
            return step(self, closure)

    methods = {name: inspect.unwrap(getattr(cls, name))
               for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict")}
    return type(cls.__name__, (cls,), {**methods, "step": plain_step, "__doc__": cls.__doc__})


_ADAM = _without_dynamo(torch.optim.Adam)
_SGD = _without_dynamo(torch.optim.SGD)


def make_optimizer(params, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    fused = device.type == "cuda"
    if cfg.optimizer == "adam":
        return _ADAM(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, fused=fused or None)
    if cfg.optimizer == "sgd":
        return _SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, fused=fused or None)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")


def per_seed_loss(out: Tensor, y: Tensor, task: str = "classification") -> Tensor:
    """Mean loss per seed: cross-entropy (classification), else squared error averaged over targets.

    Args:
        out: (S, B, C) logits or predictions.
        y: (S, B) labels, or (S, B, C) targets (regression; reconstruction: the input's pixels).
    Returns:
        (S,)
    """
    S, B, C = out.shape
    if task != "classification":
        return ((out - y) ** 2).mean(dim=(1, 2))
    return F.cross_entropy(out.reshape(S * B, C), y.reshape(S * B), reduction="none").view(S, B).mean(1)


def train_step(net: Net, reparam, opt: torch.optim.Optimizer, xb: Tensor, yb: Tensor, task: str,
               step: int, total_steps: int) -> Tensor:
    """One optimizer step of every seed; returns the (S,) data losses (penalties excluded), not synchronized.

    The loss minimized is the sum over seeds of each seed's mean loss plus its
    penalty, so each seed's gradient is exactly its own.
    """
    reparam.on_step(step, total_steps)
    loss = per_seed_loss(net.forward(reparam(), xb), yb, task)  # (S,)
    total = loss
    pen = reparam.penalty()
    if pen is not None:
        total = total + pen
    opt.zero_grad(set_to_none=True)
    total.sum().backward()
    opt.step()
    return loss.detach()
