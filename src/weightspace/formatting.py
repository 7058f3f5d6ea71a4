"""Config values as labels, for analyses, tables and plots: a value as text, the swept setting of each run.

Analyses read everything from ``final.csv``'s columns (never from cell ids):
``swept`` names the keys the grid varied for a cell, and :func:`with_setting`
turns the values of those columns into one readable ``setting`` label, so
that runs differing in any swept value are never averaged together. Each
family's own analysis lives in ``weightspace.families.<family>.analysis``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["with_setting", "format_value", "swept_values"]


def format_value(v) -> str:
    """A config value as a label: whole floats as integers (CSV turns ints into floats beside NaN)."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def with_setting(final: pd.DataFrame, axis: tuple[str, ...] = ()) -> pd.DataFrame:
    """``final`` with a ``setting`` column: each row's swept values except the ``axis`` keys, readable.

    The keys come from the ``swept`` column that ``aggregate`` writes (the keys
    the grid varied for that cell), the values from the columns of those names,
    so two cells of one variant that differ in any swept value (a learning
    rate, an optimizer, lambda_prior) never share a setting: every analysis
    groups by it, and nothing swept is averaged together. ``""`` where nothing
    but the axis was swept.
    """
    out = final.copy()
    swept = out["swept"] if "swept" in out else pd.Series("", index=out.index)

    def label(i) -> str:
        keys = swept.loc[i]
        keys = keys.split() if isinstance(keys, str) else []
        return " ".join(f"{k}={format_value(out.at[i, k])}" for k in keys if k not in axis and k in out)

    out["setting"] = [label(i) for i in out.index]
    return out


def swept_values(rows: pd.DataFrame, axis: tuple[str, ...]) -> dict[str, list[str]]:
    """The values each swept key (axis keys excepted) takes among ``rows``, as labels."""
    keys: list[str] = []
    for s in rows["swept"].dropna() if "swept" in rows else []:
        keys += [k for k in str(s).split() if k not in axis and k not in keys]
    return {k: sorted({format_value(v) for v in rows[k].dropna()}) for k in keys if k in rows}












