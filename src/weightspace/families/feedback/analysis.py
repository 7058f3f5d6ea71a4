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
seed over the seeds that finished in both, and summarized by its mean, a
Student-t interval and an exact two-sided sign-flip (permutation) p-value
(:func:`weightspace.comparisons.sign_flip_p`: the smallest p it can give is
2 / 2^n, 0.0625 with 5 seeds, 0.25 with 3), also Holm-adjusted over all the
comparisons of the group (``*_p_holm``: with 6 variants and 2 controls there
are about a dozen). Accuracy is the **final** one,
after the last epoch, never the best seen on the test set. Diverged runs are
counted, never averaged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from weightspace.formatting import with_setting
from weightspace.comparisons import holm, sign_flip_p
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


def feedback_summary(final: pd.DataFrame, paired: pd.DataFrame | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Per (group, arm): seeds finished and diverged, final test accuracy (mean, t-interval), and for each
    reference its paired difference (mean, t-interval, sign-flip p, seeds paired)."""
    a = arms(final)
    paired = paired_differences(final) if paired is None else paired
    rows = []
    for (dataset, setting, arm), g in a.groupby(["dataset", "setting", "arm"], sort=False, dropna=False):
        ok = g[g["status"] == "ok"]
        first = g.iloc[0]
        row = {"dataset": dataset, "setting": setting, "arm": arm, "net": first["net"], "variant": first["variant"],
               "mode": first["mode"], "gradient": first["gradient"], "order": first["order"],
               "features": first.get("feedback_features", np.nan), "n_trainable": first.get("n_trainable", np.nan),
               "n_ok": len(ok), "n_diverged": int((g["status"] == "diverged").sum()), "confidence": confidence}
        row["acc_mean"], row["acc_lo"], row["acc_hi"] = mean_ci(ok["final_test_acc"], confidence)
        for ref in REFERENCES:
            d = paired[(paired["dataset"] == dataset) & (paired["setting"] == setting) & (paired["arm"] == arm)
                       & (paired["reference"] == ref)] if len(paired) else paired
            diffs = d["diff"].to_numpy(dtype=float) if len(d) else np.array([])
            row[f"vs_{ref}_arm"] = d["reference_arm"].iloc[0] if len(d) else ""
            row[f"vs_{ref}_n"] = len(diffs)
            row[f"vs_{ref}_mean"], row[f"vs_{ref}_lo"], row[f"vs_{ref}_hi"] = mean_ci(diffs, confidence)
            row[f"vs_{ref}_p"] = sign_flip_p(diffs)
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):  # Holm over the distinct comparisons of a (dataset, setting): ones - none counts once
        for ref in REFERENCES:
            out[f"vs_{ref}_p_holm"] = np.nan
        for idx in out.groupby(["dataset", "setting"], sort=False, dropna=False).groups.values():
            tests: dict[frozenset, tuple[float, list]] = {}
            for i in idx:
                for ref in REFERENCES:
                    p, other = out.at[i, f"vs_{ref}_p"], out.at[i, f"vs_{ref}_arm"]
                    if np.isfinite(p):
                        key = frozenset((out.at[i, "arm"], other))
                        tests.setdefault(key, (p, []))[1].append((i, f"vs_{ref}_p_holm"))
            adjusted = holm([p for p, _ in tests.values()])
            for q, (_, cells) in zip(adjusted, tests.values()):
                for i, col in cells:
                    out.at[i, col] = q
    if len(out):  # datasets and settings in the order of the config, arms by what they feed back
        first = {k: i for i, k in enumerate(dict.fromkeys(zip(a["dataset"], a["setting"])))}
        out["_group"] = [first[k] for k in zip(out["dataset"], out["setting"])]
        out = out.sort_values(["_group", "order", "arm"], kind="stable").drop(columns="_group").reset_index(drop=True)
    return out


def setting_label(setting) -> str:
    """``optimizer=sgd lr=0.01`` -> ``sgd, lr 0.01`` (the optimizer first, unnamed); ``""`` stays empty."""
    if not isinstance(setting, str) or not setting:
        return ""
    parts = dict(p.split("=", 1) for p in setting.split())
    head = [parts.pop("optimizer")] if "optimizer" in parts else []
    return ", ".join(head + [f"{k} {v}" for k, v in parts.items()])


def headline(summary: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """``feedback_summary.csv`` in one line per (dataset, setting) (``weightspace summary``): the fed-back arm
    with the largest mean paired difference from ``none``, its interval, raw and Holm-adjusted p, and how many of
    the group's comparisons (counted as Holm counts them) have a Holm-adjusted p below ``alpha``."""

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
        lines.append(
            f"{where}: largest mean gain over the none control: {best['arm']} - {best['vs_none_arm']} {gain} "
            f"({level} t-interval), exact sign-flip p {best['vs_none_p']:.2g}, "
            f"Holm-adjusted {best['vs_none_p_holm']:.2g}; "
            f"{sum(q < alpha for q in tests.values())} of {len(tests)} comparisons with Holm-adjusted p < {alpha:g} "
            f"({n} seeds paired: smallest possible p {2 / 2 ** n:.2g})")
    return lines
