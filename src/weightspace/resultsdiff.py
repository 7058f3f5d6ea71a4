"""The results-folder diff: two results folders compared table by table (did a change move any number?).

``weightspace compare OLD NEW`` reads every CSV table present in both folders
(``<experiment>/final.csv``, ``by_dim.csv``, ``dint90.csv``,
``sharing_summary.csv``, ...; not the per-seed run files), matches rows on
the identifying columns, and reports per table: columns only in one of them,
rows only in one of them, and columns whose values differ (exactly, or beyond
``--rtol``). Columns that record time, machine or code version are left out:
they differ between any two runs. Exit status 0 when every shared column of
every shared table is identical, 1 otherwise: a refactor that must leave the
numbers alone can be checked with one command; 2, in one line, when either
folder does not exist.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from weightspace.errors import WeightspaceError

__all__ = ["diff_tables", "diff_folders", "IGNORED"]

#: columns that differ between any two runs (time, machine, code version)
IGNORED = ("train_time_s", "wall_time_s", "train_time_s_mean", "device", "code_version", "load_time_s", "step_s",
           "step_s_median", "step_s_min", "step_s_max", "build_s", "peak_bytes", "hostname")
#: row identity, when present
KEYS = ("experiment", "cell", "seed", "step", "dataset", "net", "variant", "setting", "dim", "k", "reparam")


def _ignored(col: str) -> bool:
    return col in IGNORED or col.endswith("time_s") or col.endswith("time_s_mean")


def diff_tables(old: pd.DataFrame, new: pd.DataFrame, rtol: float = 0.0) -> dict:
    """Differences of two versions of one table: columns and rows in one only, differing columns."""
    out: dict = {"only_old_columns": sorted(set(old) - set(new)), "only_new_columns": sorted(set(new) - set(old))}
    keys = [k for k in KEYS if k in old and k in new]
    cols = [c for c in old if c in new and c not in keys and not _ignored(c)]
    if keys:
        o = old.assign(_n=old.groupby(keys, dropna=False).cumcount()).set_index(keys + ["_n"])
        n = new.assign(_n=new.groupby(keys, dropna=False).cumcount()).set_index(keys + ["_n"])
    else:
        o, n = old, new
    out["only_old_rows"] = len(o.index.difference(n.index))
    out["only_new_rows"] = len(n.index.difference(o.index))
    common = o.index.intersection(n.index)
    o, n = o.loc[common], n.loc[common]
    differ = {}
    for c in cols:
        a, b = o[c], n[c]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            if rtol:
                same |= np.isclose(x, y, rtol=rtol, atol=0)
            bad = int((~same).sum())
            if bad:
                both = ~same & np.isfinite(x) & np.isfinite(y)  # a relative difference needs two numbers
                text = f"{bad} of {len(x)} values differ"
                if both.any():
                    rel = np.max(np.abs(x - y)[both] / np.maximum(np.abs(x)[both], 1e-300))
                    text += f" (largest relative difference {rel:.3g})"
                if bad > both.sum():
                    text += f"; {bad - int(both.sum())} missing or infinite on one side only"
                differ[c] = text
        else:
            sa, sb = a.astype(str).where(a.notna(), "nan"), b.astype(str).where(b.notna(), "nan")
            bad = int((sa != sb).sum())
            if bad:
                differ[c] = f"{bad} of {len(a)} values differ"
    out["differ"] = differ
    return out


def diff_folders(old: str | Path, new: str | Path, rtol: float = 0.0) -> tuple[bool, list[str]]:
    """Compare every CSV table found in both folders; return (identical, report lines).

    Raises:
        WeightspaceError: either folder does not exist (or is not a folder).
    """
    old, new = Path(old), Path(new)
    for which, folder in (("old", old), ("new", new)):
        if not folder.is_dir():
            raise WeightspaceError(f"{folder}: no such folder (the {which} results folder; compare takes two, e.g. a "
                                   f"copy of results/quick made before a change, then results/quick)")
    names = sorted({p.relative_to(old) for p in old.rglob("*.csv") if "runs" not in p.parts}
                   | {p.relative_to(new) for p in new.rglob("*.csv") if "runs" not in p.parts})
    identical, lines = True, []
    for name in names:
        a, b = old / name, new / name
        if not (a.exists() and b.exists()):
            lines.append(f"{name}: only in {'old' if a.exists() else 'new'}")
            identical = False
            continue
        r = diff_tables(pd.read_csv(a), pd.read_csv(b), rtol)
        notes = []
        if r["only_old_columns"]:
            notes.append(f"columns only in old: {', '.join(r['only_old_columns'])}")
        if r["only_new_columns"]:
            notes.append(f"columns only in new: {', '.join(r['only_new_columns'])}")
        if r["only_old_rows"] or r["only_new_rows"]:
            notes.append(f"rows only in old: {r['only_old_rows']}, only in new: {r['only_new_rows']}")
            identical = False
        for c, what in r["differ"].items():
            notes.append(f"{c}: {what}")
            identical = False
        lines.append(f"{name}: " + ("identical" if not notes else "identical in every shared column"
                                     if not (r["differ"] or r["only_old_rows"] or r["only_new_rows"]) else "DIFFERENT"))
        lines += [f"    {n}" for n in notes]
    return identical, lines
