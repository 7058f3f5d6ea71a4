"""Direct training: the weights are the trainable tensors themselves."""

from __future__ import annotations

import torch
from torch import nn

from weightspace.nets import Net, Weights
from weightspace.reparam.base import Reparam
from weightspace.seeding import generators

__all__ = ["Direct"]


class Direct(Reparam):
    """theta is trained as is: one flat (S, D) parameter, viewed as the net's weights."""

    kind = "direct"

    def __init__(self, net: Net, seeds: list[int], device: torch.device | str = "cpu"):
        super().__init__(net, seeds)
        init = net.init(generators(seeds, "init"), device)
        self.theta = nn.Parameter(net.flatten(init))  # (S, D)

    def forward(self) -> Weights:
        return self.net.unflatten(self.theta)


def build(variant: dict, net: Net, seeds: list[int], device, context: dict) -> Direct:
    """The registry's builder (:data:`weightspace.families.base.DIRECT`)."""
    return Direct(net, seeds, device)
