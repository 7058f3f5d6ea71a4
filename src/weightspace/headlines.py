"""The pieces a family's headline (:meth:`weightspace.families.base.Family.headline`) is written with: a table
read back (a missing one raises :class:`MissingTable`, which the run summary names instead of failing), numbers and
intervals in words, and a table's ``setting`` column as text.

Ground floor: it imports nothing of the package but its errors, so that each family can import it at the top and
:mod:`weightspace.run_summary`, which loops over the families, stays above them (pandas is imported where a table
is read, so that importing a family stays light).
"""

from __future__ import annotations

import math
from pathlib import Path

from weightspace.errors import WeightspaceError

__all__ = ["MissingTable", "read_table", "number", "interval", "setting_as_text"]


class MissingTable(WeightspaceError):
    """A table a headline reads does not exist: the run did not write it (a partial run, ``--until``)."""


def read_table(folder: str | Path, name: str):
    """The table ``folder/name`` (a DataFrame); :class:`MissingTable` naming it when it does not exist."""
    import pandas as pd

    path = Path(folder) / name
    if not path.is_file():
        raise MissingTable(f"{path} is missing (not written by this run)")
    return pd.read_csv(path)


def number(x, digits: int = 1, scale: float = 1.0, sign: bool = False) -> str:
    """``x * scale`` with ``digits`` decimals (``--`` for a missing value, ``inf`` for an infinite one)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{scale * x:{'+' if sign else ''}.{digits}f}"


def interval(mean, lo, hi, digits: int = 1, scale: float = 1.0, sign: bool = False, unit: str = "") -> str:
    """``mean[unit] [lo, hi]``; the mean alone where there is no interval (one seed)."""
    text = number(mean, digits, scale, sign) + unit
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return text
    return f"{text} [{number(lo, digits, scale, sign)}, {number(hi, digits, scale, sign)}]"


def setting_as_text(table):
    """``table`` (a DataFrame) with its ``setting`` column as text, ``""`` where a cell has none (CSV reads an empty
    column as floats)."""
    import pandas as pd

    setting = table["setting"] if "setting" in table else pd.Series(math.nan, index=table.index)
    return table.assign(setting=["" if pd.isna(s) else str(s) for s in setting])
