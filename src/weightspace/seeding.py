"""Independent random streams per (seed, purpose).

Seed ``s`` of a cell draws its initial weights, its projection and its data
order from three separate generators derived from ``s`` alone, so a seed's
run does not depend on which other seeds share its batch, and changing how
data is shuffled never changes the initial weights.
"""

from __future__ import annotations

import hashlib

import torch

__all__ = ["derive", "generator", "generators"]


def derive(seed: int, purpose: str) -> int:
    """A 63-bit integer seed from ``(seed, purpose)``, stable across platforms and runs."""
    digest = hashlib.sha256(f"weightspace/{purpose}/{int(seed)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, purpose: str, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(derive(seed, purpose))
    return g


def generators(seeds: list[int], purpose: str, device: torch.device | str = "cpu") -> list[torch.Generator]:
    return [generator(s, purpose, device) for s in seeds]
