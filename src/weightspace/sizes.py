"""Sizes in words, and the memory limit they are checked against (ground floor: imports nothing of the package).

Every check that refuses a config for its memory (a cell's tensors, a teacher, the meta-learning comparison, the
comparisons' resampling, the d_int bootstrap) says the size it needs with :func:`fmt_bytes` and the limit with
:func:`over_limit`, so that the messages read alike.
"""

from __future__ import annotations

__all__ = ["fmt_bytes", "limit_bytes", "over_limit", "seeds_that_fit"]


def fmt_bytes(n: float) -> str:
    """A size readably, with at least 2 significant digits: 999 B, 12.1 KiB, 307 MiB, 1.5 GiB, 74.5 GiB."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            break
    return f"{n:.0f} {unit}" if n >= 100 else f"{n:.1f} {unit}"


def limit_bytes(memory_limit_gib: float) -> float:
    """``memory_limit_gib`` (the config key) in bytes."""
    return memory_limit_gib * 2**30


def seeds_that_fit(per_seed_bytes: int, memory_limit_gib: float) -> int:
    """How many seeds of ``per_seed_bytes`` each one batch may hold within ``memory_limit_gib`` (at least one):
    the runner splits a cell's seeds into batches of this many, and a job's memory request counts as many."""
    return max(1, int(limit_bytes(memory_limit_gib) // max(1, per_seed_bytes)))


def over_limit(memory_limit_gib: float) -> str:
    """``over memory_limit_gib=16 (16.0 GiB)``: the limit a size exceeds, as every memory refusal names it."""
    return f"over memory_limit_gib={memory_limit_gib} ({fmt_bytes(limit_bytes(memory_limit_gib))})"
