"""The tying table from ``final.csv`` (``tying_summary``); what a run keeps is in
:mod:`weightspace.families.tying.examine`.

The summary has one row per cell: its method (``untied``, ``tied <kind>``, ``narrower untied``), the tie options,
the trainable-parameter count, the conventions it was trained under (``input_scaling``, ``init``), and the mean
and Student-t 95% interval over finished seeds
(:mod:`weightspace.cell_summary`) of the final test
accuracy, test loss (an autoencoder's: the per-pixel reconstruction MSE) and training loss. Diverged seeds are
counted (``n_diverged``), never averaged in. Every swept setting other than ``g`` and ``grad`` (e.g. the optimizer
and its learning rate) is kept apart in ``setting`` (:func:`weightspace.formatting.with_setting`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from weightspace.cell_summary import summarize
from weightspace.formatting import format_value, with_setting
from weightspace.headlines import interval, setting_as_text

__all__ = ["tying_summary", "headline", "method_of", "TYING_METRICS", "AXIS"]

#: per-seed numbers summarized (those present in final.csv)
TYING_METRICS = ["final_test_acc", "final_test_loss", "final_train_loss", "tie_max_dev", "narrow_width"]

#: swept keys that are not part of a setting: the x axis (g) and the semantics compared within a panel (grad)
AXIS = ("g", "grad")


def method_of(row) -> str:
    """The method a row of final.csv belongs to: ``untied``, ``tied <kind>`` or ``narrower untied``."""
    reparam = row["reparam"]
    if reparam == "tying":
        return f"tied {row['tie']}"
    if reparam == "narrow":
        return "narrower untied"
    return "untied" if reparam == "direct" else str(reparam)


def tying_summary(final: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per cell: method, tie options, trainable parameters; mean and t-interval over finished seeds of each metric."""
    final = with_setting(final, axis=AXIS)
    if "grad" in final:  # the default semantics, where a tying variant leaves it out
        final["grad"] = final["grad"].where(final["grad"].notna() | (final["reparam"] != "tying"), "sum")
    elif (final["reparam"] == "tying").any():
        final["grad"] = np.where(final["reparam"] == "tying", "sum", None)
    keep = ("dataset", "net", "variant", "reparam", "tie", "g", "grad", "groups", "bias", "setting", "cell",
            "n_trainable", "n_weights", "input_scaling", "init")
    out = summarize(final, ["cell"], TYING_METRICS, confidence, keep=keep)
    if len(out):
        out.insert(out.columns.get_loc("setting"), "method", [method_of(r) for _, r in
                                                                 final.drop_duplicates("cell").iterrows()])
    return out


def headline(summary: pd.DataFrame) -> list[str]:
    """``tying_summary.csv`` in one line per (dataset, net, setting) (``weightspace summary``): each method at its
    fewest trainable weights (the untied net, the tied net of the largest g with each gradient semantics, the
    narrower untied net of that count), its final test accuracy (test MSE for an autoencoder) and interval."""
    summary = setting_as_text(summary)
    order = {"untied": 0, "narrower untied": 2}
    lines = []
    for (dataset, net, setting), g in summary.groupby(["dataset", "net", "setting"], sort=False):
        regression = "final_test_acc_mean" not in g or g["final_test_acc_mean"].isna().all()
        metric, digits, scale = ("final_test_loss", 4, 1.0) if regression else ("final_test_acc", 1, 100.0)
        items = []
        for method in sorted(dict.fromkeys(g["method"]), key=lambda m: order.get(m, 1)):
            rows = g[g["method"] == method]
            for _, r in rows[rows["n_trainable"] == rows["n_trainable"].min()].iterrows():
                name = method
                if r["reparam"] == "tying" and pd.notna(r.get("g")):
                    name += f" g={format_value(r['g'])}"
                if r["reparam"] == "tying" and pd.notna(r.get("grad")):
                    name += f" ({r['grad']})"
                value = interval(r[f"{metric}_mean"], r[f"{metric}_lo"], r[f"{metric}_hi"], digits, scale,
                                 unit="" if regression else "%")
                items.append(f"{name} {value} with {int(r['n_trainable']):,} weights"
                             + (f" ({int(r['n_diverged'])} diverged)" if r["n_diverged"] else ""))
        seeds = sorted({int(n) for n in g["n_ok"]})
        n = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
        what = "test MSE" if regression else "final test accuracy"
        lines.append(f"{dataset}/{net}{', ' + setting if setting else ''}: " + "; ".join(items)
                     + f"  ({what}, mean [95% t-interval] over {n} seeds; each method at its fewest weights)")
    return lines
