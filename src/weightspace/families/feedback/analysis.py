"""Feedback tables from ``final.csv``: final accuracy per arm, per-seed paired differences against controls.

An **arm** is one (net, variant) of an experiment; runs are compared within
a **group**, one (dataset, setting) (``setting``: the swept training values,
e.g. ``optimizer=sgd lr=0.01``; :func:`weightspace.formatting.with_setting`
keeps them apart). Within a group, each arm is compared with its
**references**: the arm whose fed-back input is ``none`` (the plain net) and
the arm fed ``ones`` (the same extra fan-in, constant), each of the same net
when the group has one, else the group's only such arm (the note's pair: its
baseline is a different net, ``features: 0``, on which every mode is ``none``).

The comparison is **paired by seed**: seed s of every arm draws the same
data order (and, for the shared weights, the same initial values), so the
difference of final test accuracy, arm minus reference, is taken seed by
seed over the seeds that finished in both, and summarized by its mean and a
Student-t interval. Its p-value is not computed here: it is the core
comparisons' (``comparisons.csv``, :mod:`weightspace.comparisons`; the
family's default tests compare every variant with the ``none`` and ``ones``
variants), the exact two-sided sign-flip test of the same pairs of seeds
(the smallest p it can give is 2 / 2^n, 0.0625 with 5 seeds, 0.25 with 3),
Holm-adjusted over all the comparisons of the experiment (``*_p_holm``), so
that a results folder carries one p-value per pair. A pair the core does not
compare (the note's pair of nets) has no p. Accuracy is the **final** one,
after the last epoch, never the best seen on the test set. Diverged runs are
counted, never averaged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from weightspace.cell_summary import summarize
from weightspace.formatting import with_setting
from weightspace.headlines import interval, setting_as_text
from weightspace.stats import mean_ci

__all__ = ["MODE_ORDER", "REFERENCES", "arms", "feedback_summary", "headline", "paired_differences",
           "setting_label"]

#: the controls every arm is compared with, by the mode they feed
REFERENCES = ("none", "ones")
#: the order arms are listed in (then detached before flowing, then by the net's extra inputs)
MODE_ORDER = {"none": 0, "ones": 1, "frozen": 2, "maxpool": 3, "projection": 4}
GROUP = ["dataset", "setting"]


def _short(variant: str, optimizer, setting: str) -> str:
    """A variant's name without a trailing ``-<optimizer>`` that its setting already names (``maxpool-sgd``
    under ``optimizer=sgd`` is ``maxpool``), so that one arm has one name across settings."""
    if isinstance(optimizer, str) and f"optimizer={optimizer}" in setting.split() and variant.endswith(f"-{optimizer}"):
        return variant[: -len(optimizer) - 1]
    return variant


def arms(final: pd.DataFrame) -> pd.DataFrame:
    """``final`` with ``setting``, ``mode`` (what was fed back, ``none`` on a net without extra inputs), ``arm``
    and ``order`` columns. The arm's label is the variant's name (less a trailing ``-<optimizer>`` its swept
    setting names), the net's name where the nets are what differs (the note's pairs), else both."""
    out = with_setting(final)
    if "setting" not in out:
        out["setting"] = ""
    features = out["feedback_features"] if "feedback_features" in out else pd.Series(np.nan, index=out.index)
    mode = out["feedback"].astype(str) if "feedback" in out else pd.Series("none", index=out.index)
    out["mode"] = np.where(features.fillna(1).astype(float) == 0, "none", mode)
    gradient = out["gradient"].fillna("detach") if "gradient" in out else pd.Series("detach", index=out.index)
    out["gradient"] = gradient
    optimizer = out["optimizer"] if "optimizer" in out else pd.Series(np.nan, index=out.index)
    variant = [_short(v, o, s) for v, o, s in zip(out["variant"], optimizer, out["setting"])]
    if out["net"].nunique() == 1:
        out["arm"] = variant
    elif len(set(variant)) == 1:  # the note's pairs: the nets are the arms
        out["arm"] = out["net"]
    else:
        out["arm"] = [f"{n} · {v}" for n, v in zip(out["net"], variant)]
    out["order"] = [MODE_ORDER.get(m, 9) * 100 + (10 if g == "flow" and m in ("maxpool", "projection") else 0)
                    + (0 if pd.isna(f) or f == 0 else 1) for m, g, f in zip(out["mode"], gradient, features)]
    return out


def _reference(g: pd.DataFrame, net: str, mode: str) -> str | None:
    """The arm of ``g`` (one group) fed ``mode``: of the same net if there is one, else the group's only one."""
    cand = g[g["mode"] == mode]
    same = cand.loc[cand["net"] == net, "arm"].unique()
    if len(same) == 1:
        return same[0]
    anywhere = cand["arm"].unique()
    return anywhere[0] if len(anywhere) == 1 else None


def paired_differences(final: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, arm, reference, seed): the difference of final test accuracy, arm minus reference.

    Seeds are paired by their number; only seeds that finished (``status == ok``) in both arms are used.
    """
    a = arms(final)
    rows = []
    cols = ["dataset", "setting", "net", "variant", "arm", "mode", "order"]
    for _, g in a.groupby(GROUP, sort=False, dropna=False):
        for arm, ga in g.groupby("arm", sort=False):
            first = ga.iloc[0]
            for ref_mode in REFERENCES:
                ref = _reference(g, first["net"], ref_mode)
                if ref is None or ref == arm:
                    continue
                gr = g[g["arm"] == ref]
                ok_a = ga[ga["status"] == "ok"].set_index("seed")["final_test_acc"]
                ok_r = gr[gr["status"] == "ok"].set_index("seed")["final_test_acc"]
                for seed in sorted(set(ok_a.index) & set(ok_r.index)):
                    rows.append({**{c: first[c] for c in cols}, "reference": ref_mode, "reference_arm": ref,
                                 "seed": int(seed), "acc": float(ok_a[seed]), "reference_acc": float(ok_r[seed]),
                                 "diff": float(ok_a[seed] - ok_r[seed])})
    return pd.DataFrame(rows, columns=[*cols, "reference", "reference_arm", "seed", "acc", "reference_acc", "diff"])


def _core_p(comparisons: pd.DataFrame) -> dict[frozenset, tuple[float, float]]:
    """``{frozenset((cell, cell)): (p, p_holm)}`` of the core comparisons of final test accuracy
    (``comparisons.csv``), a paired row where a pair has several."""
    out: dict[frozenset, tuple[float, float]] = {}
    if comparisons is None or comparisons.empty:
        return out
    rows = comparisons[comparisons["metric"] == "final_test_acc"]
    rows = rows.sort_values("paired", ascending=False, kind="stable")  # a paired row before an unpaired one
    for a, b, p, q in zip(rows["a_cell"], rows["b_cell"], rows["p"], rows["p_holm"]):
        out.setdefault(frozenset((a, b)), (float(p), float(q)))
    return out


def feedback_summary(final: pd.DataFrame, comparisons: pd.DataFrame, paired: pd.DataFrame | None = None,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Per (group, arm): seeds finished and diverged, final test accuracy (mean, t-interval:
    :mod:`weightspace.cell_summary`), and for each reference its paired difference (mean, t-interval, seeds
    paired) with the p-value of that pair in the core comparisons (``comparisons``: ``comparisons.csv``), raw and
    Holm-adjusted over the experiment's comparisons; NaN where the core compares no such pair (e.g. the note's
    pair of two nets: the core compares variants on one net)."""
    a = arms(final)
    a["features"] = a["feedback_features"] if "feedback_features" in a else np.nan
    paired = paired_differences(final) if paired is None else paired
    keep = ("dataset", "setting", "arm", "net", "variant", "mode", "gradient", "order", "features", "n_trainable")
    out = summarize(a, ["dataset", "setting", "arm"], {"acc": "final_test_acc"}, confidence, keep=keep)
    if out.empty:
        return out
    out.insert(out.columns.get_loc("acc_mean"), "confidence", confidence)
    cell = {k: g["cell"].iloc[0] for k, g in a.groupby(["dataset", "setting", "arm"], sort=False, dropna=False)}
    core = _core_p(comparisons)
    for ref in REFERENCES:
        columns: dict[str, list] = {k: [] for k in ("arm", "n", "mean", "lo", "hi", "p", "p_holm")}
        for dataset, setting, arm in zip(out["dataset"], out["setting"], out["arm"]):
            d = paired[(paired["dataset"] == dataset) & (paired["setting"] == setting) & (paired["arm"] == arm)
                       & (paired["reference"] == ref)] if len(paired) else paired
            diffs = d["diff"].to_numpy(dtype=float) if len(d) else np.array([])
            other = d["reference_arm"].iloc[0] if len(d) else ""
            m, lo, hi = mean_ci(diffs, confidence)
            pair = frozenset((cell[(dataset, setting, arm)], cell.get((dataset, setting, other))))
            p, q = core.get(pair, (np.nan, np.nan)) if len(diffs) else (np.nan, np.nan)
            for k, v in zip(columns, (other, len(diffs), m, lo, hi, p, q)):
                columns[k].append(v)
        for k, values in columns.items():
            out[f"vs_{ref}_{k}"] = values
    holm = [f"vs_{ref}_p_holm" for ref in REFERENCES]  # the last columns (as they were when computed here)
    out = out[[c for c in out if c not in holm] + holm]
    # datasets and settings in the order of the config, arms by what they feed back
    first = {k: i for i, k in enumerate(dict.fromkeys(zip(a["dataset"], a["setting"])))}
    out["_group"] = [first[k] for k in zip(out["dataset"], out["setting"])]
    return out.sort_values(["_group", "order", "arm"], kind="stable").drop(columns="_group").reset_index(drop=True)


def setting_label(setting) -> str:
    """``optimizer=sgd lr=0.01`` -> ``sgd, lr 0.01`` (the optimizer first, unnamed); ``""`` stays empty."""
    if not isinstance(setting, str) or not setting:
        return ""
    parts = dict(p.split("=", 1) for p in setting.split())
    head = [parts.pop("optimizer")] if "optimizer" in parts else []
    return ", ".join(head + [f"{k} {v}" for k, v in parts.items()])


def headline(summary: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """``feedback_summary.csv`` in one line per (dataset, setting) (``weightspace summary``): the fed-back arm
    with the largest mean paired difference from ``none``, its interval, raw and Holm-adjusted p (the core
    comparisons', Holm over the experiment), and how many of the group's distinct comparisons have a Holm-adjusted p
    below ``alpha``."""

    summary = setting_as_text(summary)
    lines = []
    for (dataset, setting), g in summary.groupby(["dataset", "setting"], sort=False):
        where = dataset + (f", {setting_label(setting)}" if setting else "")
        tests = {}
        for _, r in g.iterrows():
            for ref in REFERENCES:
                if np.isfinite(r[f"vs_{ref}_p"]):
                    tests[frozenset((r["arm"], r[f"vs_{ref}_arm"]))] = r[f"vs_{ref}_p_holm"]
        fed = g[~g["mode"].isin(REFERENCES) & np.isfinite(g["vs_none_mean"])]
        if fed.empty:
            lines.append(f"{where}: no fed-back arm paired with a `none` control")
            continue
        best = fed.loc[fed["vs_none_mean"].idxmax()]
        n = int(best["vs_none_n"])
        level = f"{100 * float(best['confidence']):g}%"
        gain = interval(best["vs_none_mean"], best["vs_none_lo"], best["vs_none_hi"], 2, 100.0, sign=True, unit=" pp")
        if np.isfinite(best["vs_none_p"]):
            p = (f"exact sign-flip p {best['vs_none_p']:.2g}, Holm-adjusted {best['vs_none_p_holm']:.2g}; "
                 f"{sum(q < alpha for q in tests.values())} of {len(tests)} comparisons with Holm-adjusted p < "
                 f"{alpha:g} ({n} seeds paired: smallest possible p {2 / 2 ** n:.2g})")
        else:
            p = f"no p: comparisons.csv compares no such pair ({n} seeds paired)"
        lines.append(f"{where}: largest mean gain over the none control: {best['arm']} - {best['vs_none_arm']} {gain} "
                     f"({level} t-interval), {p}")
    return lines
