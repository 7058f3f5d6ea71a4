"""Config values as labels, for analyses, tables and plots: a value as text, the swept setting of each run.

Analyses read everything from ``final.csv``'s columns (never from cell ids):
``swept`` names the keys the grid varied for a cell, and :func:`with_setting`
turns the values of those columns into one readable ``setting`` label, so
that runs differing in any swept value are never averaged together. Each
family's own analysis lives in ``weightspace.families.<family>.analysis``.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

__all__ = ["with_setting", "format_value", "swept_values", "conventions", "conventions_of_rows", "SCALING_TEXT"]

#: each input scaling (``train.input_scaling``) as a caption says it
SCALING_TEXT = {
    "standardize": "standardized ((x - mean) / std of the training set, per channel)",
    "unit": "in [0, 1] (pixels / 255)",
    "symmetric": "in [-1, 1] ((pixels - 0.5) / 0.5)",
}


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














def _init_text(init) -> str:
    if init in (None, "torch"):
        return "PyTorch's default (U(-1/sqrt(fan_in), 1/sqrt(fan_in)))"
    std = init["std"]
    stds = ", ".join(f"{float(v):g}" for v in (std if isinstance(std, list) else [std]))
    per = "per layer " if isinstance(std, list) else ""
    return f"N(0, std^2) with std {per}{stds}, biases {'zero' if init.get('bias', 'zero') == 'zero' else 'normal'}"


def conventions(cells: Iterable[dict]) -> str:
    """The conventions an experiment's numbers depend on, as one sentence for its captions (read from its
    expanded cells): the input scaling, the initial weights and, where a cell trains with Adam, Adam's betas.

    A convention whose value differs between cells names each value with the variants that use it, and says
    when it is swept (then each value is a setting of its own in every table and figure)."""
    cells = list(cells)
    from weightspace.data import cell_info  # the datasets' records: torch-free

    def scaling(c: dict) -> str:
        value = c["train"].get("input_scaling", "standardize")
        if value == "standardize" and cell_info(c).task == "regression":  # a teacher: N(0, 1) inputs as drawn
            return "as drawn (N(0, 1))"
        return SCALING_TEXT.get(value, str(value))

    keys = (
        ("input_scaling", "inputs", scaling),
        ("init", "initial weights", lambda c: _init_text(c["train"].get("init"))),
        ("betas", "Adam's betas", lambda c: f"({format_value(c['train'].get('beta1', 0.9))}, "
                                            f"{format_value(c['train'].get('beta2', 0.999))})"),
    )
    parts = []
    for key, what, text in keys:
        chosen = [c for c in cells if key != "betas" or c["train"].get("optimizer") == "adam"]
        if not chosen:
            continue
        by_value: dict[str, list[str]] = {}
        swept = False
        for c in chosen:
            names = by_value.setdefault(text(c), [])
            if c["variant"]["name"] not in names:
                names.append(c["variant"]["name"])
            swept |= any(k in c.get("swept", {}) for k in (("beta1", "beta2") if key == "betas" else (key,)))
        if len(by_value) == 1:
            parts.append(f"{what} {next(iter(by_value))}")
        elif swept:
            parts.append(f"{what} {' or '.join(by_value)} (swept: each a setting of its own)")
        else:
            parts.append(f"{what} " + "; ".join(f"{v} ({', '.join(n)})" for v, n in by_value.items()))
    return ("Conventions: " + "; ".join(parts) + ".") if parts else ""


def conventions_of_rows(rows: pd.DataFrame) -> str:
    """The input scaling and initialisation of a table's rows (the ``input_scaling`` and ``init`` columns that
    ``final.csv`` has in every row), as a table's note says them: ``inputs in [0, 1] (pixels / 255); init torch``;
    each value where they differ (then each is a setting, or a variant, of its own)."""
    parts = []
    if "input_scaling" in rows:
        values = [v for v in dict.fromkeys(rows["input_scaling"].dropna())]
        if values:
            parts.append("inputs " + " or ".join(SCALING_TEXT.get(v, str(v)) for v in values))
    if "init" in rows:
        values = [str(v) for v in dict.fromkeys(rows["init"].dropna())]
        if values:
            parts.append("initial weights " + " or ".join(values))
    return "; ".join(parts)
