"""LaTeX (booktabs) formatting shared by every family's tables.

Numbers are formatted here, once, so the paper's tables and the CSV files
always agree; each family's tables live in ``weightspace.families.<family>.tables``.
"""

from __future__ import annotations

import math
from pathlib import Path

from weightspace.io import write_text

__all__ = ["tex", "fmt_dim", "label", "dagger", "pm", "ci", "write_table"]


def tex(s: str) -> str:
    return str(s).replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def fmt_dim(x: float) -> str:
    """A dimension: integer with thin-space thousands, or infinity."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    if math.isinf(x):
        return r"$\infty$"
    return f"{int(round(x)):,}".replace(",", r"\,")


def label(variant: str, setting) -> str:
    """A variant's name with its swept setting, if any: ``dense (lr=0.3)``."""
    setting = setting if isinstance(setting, str) else ""
    return tex(variant) + (f" ({tex(setting)})" if setting else "")


def dagger(n_diverged) -> str:
    """The mark of n diverged seeds, ``$^{3\\dagger}$`` (empty for none)."""
    n = 0 if n_diverged is None or (isinstance(n_diverged, float) and math.isnan(n_diverged)) else int(n_diverged)
    return f"$^{{{n}\\dagger}}$" if n else ""


def pm(mean: float, std: float, scale: float = 100.0, digits: int = 1) -> str:
    if mean is None or math.isnan(mean):
        return "--"
    return f"${scale * mean:.{digits}f} \\pm {scale * std:.{digits}f}$"






def write_table(path: str | Path, text: str) -> Path:
    write_text(path, text)
    return Path(path)


def ci(r, m: str, digits: int = 2, scale: float = 1.0) -> str:
    mean, lo, hi = r.get(f"{m}_mean"), r.get(f"{m}_lo"), r.get(f"{m}_hi")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "--"
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return f"${scale * mean:.{digits}f}$"
    return f"${scale * mean:.{digits}f} \\pm {scale * (hi - lo) / 2:.{digits}f}$"


