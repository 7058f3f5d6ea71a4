"""Tying LaTeX table: final metrics per cell with their intervals over seeds."""

from __future__ import annotations

import math

import pandas as pd

from weightspace.formatting import conventions_of_rows, format_value
from weightspace.tables import ci, dagger, fmt_dim, label, tex

__all__ = ["tying_latex"]

_ORDER = {"untied": 0, "narrower untied": 2}


def _method_key(method: str) -> int:
    return _ORDER.get(method, 1)


def _blank(v) -> str:
    return "--" if v is None or (isinstance(v, float) and math.isnan(v)) or v == "" else tex(format_value(v))


def _unswept(rows: pd.DataFrame, settings: list[str]) -> str:
    """The heading of the rows that sweep nothing beside rows that do: their values of the keys the other settings
    sweep (``input_scaling=standardize`` beside ``input_scaling=unit``), read from their columns."""
    keys = dict.fromkeys(part.split("=")[0] for s in settings for part in s.split() if "=" in part)
    values = [f"{k}={format_value(rows[k].iloc[0])}" for k in keys if k in rows and rows[k].nunique() == 1]
    return " ".join(values) or "(no swept setting)"


def tying_latex(summary: pd.DataFrame) -> str:
    """One table per dataset x net: method, setting, g, gradient semantics, trainable parameters, final test
    accuracy (%) or test MSE, final training loss; mean $\\pm$ 95% t-interval half-width over seeds."""
    out = []
    summary = summary.assign(setting=summary["setting"].fillna("") if "setting" in summary else "")
    for (dataset, net), g in summary.groupby(["dataset", "net"], sort=True):
        regression = g["final_test_acc_mean"].isna().all() if "final_test_acc_mean" in g else True
        metric = "test MSE" if regression else r"test acc.\ (\%)"
        settings = sorted(g["setting"].unique())
        has_setting = settings != [""]
        for col in ("g", "grad", "tie", "groups"):
            if col not in g:
                g = g.assign(**{col: None})
        g = g.assign(_m=g["method"].map(_method_key), _g=pd.to_numeric(g["g"], errors="coerce"),
                     _grad=g["grad"].map({"sum": 0, "mean": 1}).fillna(-1))
        n = int(g["n_ok"].max()) if len(g) else 0
        conventions = conventions_of_rows(g)
        out.append(f"% {dataset} / {net}: final numbers, mean $\\pm$ 95% t-interval half-width over {n} seeds "
                   f"(diverged seeds excluded, counted as $^{{n\\dagger}}$)"
                   + ("; the narrower untied net's g is that of the tied net whose count it matches"
                      if (g["reparam"] == "narrow").any() else "")
                   + (f"; {conventions}" if conventions else "")
                   + ("; reconstruction MSE per pixel against the pixels in [0, 1] under every input scaling"
                      if regression and "input_scaling" in g else ""))
        out.append(r"\begin{tabular}{lllrrr}")
        out.append(r"\toprule")
        out.append(" & ".join(["method", "$g$", "grad", "trainable", metric, "train loss"]) + r" \\")
        for setting in settings:
            out.append(r"\midrule")
            rows = g[g["setting"] == setting].sort_values(["_m", "method", "_g", "_grad"], na_position="first",
                                                           kind="stable")
            if has_setting:
                out.append(rf"\multicolumn{{6}}{{l}}{{\emph{{{tex(setting or _unswept(rows, settings))}}}}} \\")
            for _, r in rows.iterrows():
                name = label(r["method"], "") + dagger(r.get("n_diverged"))
                if r["reparam"] == "tying" and r.get("tie") in ("rows", "columns") and r.get("groups") == "random":
                    name += " (random groups)"
                cells = [name, _blank(r.get("g")), _blank(r.get("grad")), fmt_dim(r["n_trainable"])]
                cells.append(ci(r, "final_test_loss", 5) if regression else ci(r, "final_test_acc", 1, 100.0))
                cells.append(ci(r, "final_train_loss", 5 if regression else 3))
                out.append(" & ".join(cells) + r" \\")
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        out.append("")
    return "\n".join(out)
