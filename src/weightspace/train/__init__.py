"""Training, split by concern.

=================  ==========================================================================
``config``         :class:`TrainConfig`, the ``train:`` keys (imports no torch)
``step``           the one training-step function (trainer, ``bench``, ``plan --measure``)
``evaluation``     test-set loss/accuracy of every seed, extra weight sets, evaluation points
``checkpoint``     the loop state, saved atomically and resumed only by the same cell
``progress``       a progress bar, or one log line per evaluation with an ETA
``loop``           :class:`Trainer`: the seed-batched loop
=================  ==========================================================================

Names are importable from here (``from weightspace.train import Trainer``);
everything but :class:`TrainConfig` loads torch on first use, so the config
layer can import this package without it.
"""

from __future__ import annotations

import importlib

from weightspace.errors import Interrupted
from weightspace.train.config import OPTIMIZERS, TrainConfig

__all__ = [
    "TrainConfig",
    "OPTIMIZERS",
    "SeedResult",
    "Trainer",
    "Interrupted",
    "train",
    "evaluate",
    "build_for_cell",
    "make_optimizer",
    "per_seed_loss",
    "train_step",
    "summary_of",
]

_LAZY = {
    "SeedResult": "loop",
    "Trainer": "loop",
    "train": "loop",
    "build_for_cell": "loop",
    "summary_of": "loop",
    "evaluate": "evaluation",
    "eval_steps": "evaluation",
    "make_optimizer": "step",
    "per_seed_loss": "step",
    "train_step": "step",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"weightspace.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'weightspace.train' has no attribute {name!r}")
