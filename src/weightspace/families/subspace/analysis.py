"""Subspace tables from ``final.csv``: accuracy per dimension, d_int90 against the full-space baseline.

Accuracy means the **final** test accuracy of each run (after the last
epoch), not the best one seen during training, so that no number is selected
on the test set. Diverged runs are excluded from means and counted in the
``n_diverged`` columns. Each swept setting besides d is kept apart
(:func:`weightspace.formatting.with_setting`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from weightspace.cell_summary import summarize
from weightspace.errors import WeightspaceError
from weightspace.families.subspace.dint import dint_table
from weightspace.formatting import format_value, swept_values, with_setting
from weightspace.headlines import setting_as_text
from weightspace.stats import mean_ci

__all__ = ["by_dim", "dint90", "headline", "GROUP"]

#: columns that identify one curve of accuracy against d (``setting``: the swept values besides d)
GROUP = ["dataset", "net", "variant", "setting"]


def by_dim(final: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per (dataset, net, variant, setting, dim): mean and Student-t interval over finished seeds of the final test
    accuracy (``acc_*``) and training loss (``train_loss_*``) (:mod:`weightspace.cell_summary`).

    ``setting`` names the swept values other than d (e.g. ``lr=0.003``): cells that
    differ in a swept training setting are never averaged together.
    """
    final = with_setting(final, axis=("d",))
    out = summarize(final, GROUP + ["reparam", "dim"], {"acc": "final_test_acc", "train_loss": "final_train_loss"},
                    confidence, keep=("projection", "n_weights"), sort=True)
    if len(out):
        out["n_weights"] = out["n_weights"].astype(int)
    return out


def _baseline_variant(g: pd.DataFrame, baseline: str | None, where: str) -> pd.DataFrame:
    """The rows of the baseline variant: ``baseline`` by name, else the only ``reparam: direct`` variant."""
    if baseline is not None:
        rows = g[g["variant"] == baseline]
        if rows.empty:
            raise WeightspaceError(f"{where}: no runs of the baseline variant {baseline!r} (analysis.baseline)")
        return rows
    names = sorted(g.loc[g["reparam"] == "direct", "variant"].unique())
    if len(names) > 1:
        raise WeightspaceError(
            f"{where}: several direct variants ({', '.join(names)}) could be the full-space baseline; "
            f"name one with analysis.baseline in the config"
        )
    return g[g["reparam"] == "direct"]


def _select_baseline(base: pd.DataFrame, variant: pd.DataFrame, fixed: dict, where: str) -> tuple[pd.DataFrame, str]:
    """The baseline runs a subspace variant's setting is compared with, and a label naming them.

    A key swept in the baseline is matched to the same value where the subspace
    variant sweeps it too, else fixed by ``analysis.baseline_setting``; a key
    that neither decides makes d_int ambiguous, which is an error (never an average).
    """
    name = base["variant"].iloc[0]
    theirs = swept_values(variant, axis=("d",))
    chosen = []
    for key, values in swept_values(base, axis=("d",)).items():
        if key in theirs:
            want = theirs[key][0]  # one setting of the variant: one value
        elif key in fixed:
            want = format_value(fixed[key])
        elif len(values) == 1:
            continue
        else:
            raise WeightspaceError(
                f"{where}: the baseline variant {name!r} is swept over {key} ({', '.join(values)}), so d_int90 of "
                f"{variant['variant'].iloc[0]!r} has no single baseline; set analysis.baseline_setting: "
                f"{{{key}: <one of {', '.join(values)}>}} in the config, or sweep {key} in that variant too "
                f"(each of its settings is then compared with the baseline of the same {key})"
            )
        if want not in values:
            raise WeightspaceError(f"{where}: the baseline variant {name!r} has no runs with {key}={want}")
        base = base[[format_value(v) == want for v in base[key]]]
        chosen.append(f"{key}={want}")
    return base, name + (f" ({' '.join(chosen)})" if chosen else "")


def dint90(
    final: pd.DataFrame,
    fraction: float = 0.9,
    n_boot: int = 2000,
    random_state: int = 0,
    baseline: str | dict[str, str] | None = None,
    baseline_setting: dict | None = None,
    threshold: str = "relative",
) -> pd.DataFrame:
    """d_int (default: 90%) per (dataset, net, subspace variant, setting) against the full-space baseline.

    Args:
        baseline: the baseline variant's name (default: the experiment's only direct variant), or
            ``{subspace variant: its baseline variant}``.
        baseline_setting: ``{key: value}`` choosing among the baseline's swept settings
            (see :func:`_select_baseline`).
        threshold: the convention of the main columns (``dint``, ``ci_low``, ...): ``relative``
            (``fraction`` x the measured baseline's mean accuracy) or ``absolute`` (``fraction`` itself,
            a baseline of 1.0, as Li et al. published). Both conventions are always reported too, in
            the ``*_relative`` and ``*_absolute`` columns.

    Raises:
        WeightspaceError: a (dataset, net) without a finished baseline run, or a
            baseline that the grid leaves ambiguous.
    """
    final = with_setting(final, axis=("d",))
    rows = []
    for (dataset, net), g in final.groupby(["dataset", "net"], sort=True):
        where = f"{dataset} / {net}"
        for (variant, setting), v in g[g["reparam"] == "subspace"].groupby(["variant", "setting"], sort=True):
            base_rows = _baseline_variant(g, baseline.get(variant) if isinstance(baseline, dict) else baseline,
                                          where)
            b, base_label = (_select_baseline(base_rows, v, baseline_setting or {}, where) if len(base_rows)
                             else (base_rows, ""))
            base = b.loc[b["status"] == "ok", "final_test_acc"].to_numpy(dtype=float)
            if len(base) == 0:
                raise WeightspaceError(
                    f"{where}: no finished direct (full-space) run, so d_int cannot be computed; "
                    f"check the direct cell's log under results/logs/train/"
                )
            dims, accs, diverged = [], [], 0
            for d, gd in v.groupby("dim", sort=True):
                a = gd.loc[gd["status"] == "ok", "final_test_acc"].to_numpy(dtype=float)
                diverged += int((gd["status"] == "diverged").sum())
                if len(a):
                    dims.append(float(d))
                    accs.append(a)
            row = {
                "dataset": dataset,
                "net": net,
                "variant": variant,
                "setting": setting,
                "baseline": base_label,
                "projection": v["projection"].iloc[0] if "projection" in v else np.nan,
                "n_weights": int(v["n_weights"].iloc[0]),
                "fraction": fraction,
                "convention": threshold,
            }
            both = {}
            for convention in ("relative", "absolute"):
                if dims:
                    r = dint_table(dims, accs, base, fraction=fraction, n_boot=n_boot, random_state=random_state,
                                   absolute=convention == "absolute").as_dict()
                else:  # every run of the variant diverged: no d reaches the threshold, so d_int is infinite
                    base_mean, base_lo, base_hi = mean_ci(base)
                    r = dict(baseline_mean=base_mean, baseline_lo=base_lo, baseline_hi=base_hi,
                             n_baseline=len(base), threshold=fraction * (1.0 if convention == "absolute" else base.mean()),
                             dint=np.inf, dint_interp=np.inf, ci_low=np.inf, ci_high=np.inf, p_reached=0.0, n_boot=0,
                             dims="", n_seeds_min=0)
                both[convention] = r
            row.update(both[threshold])
            for convention, r in both.items():
                row.update({f"{k}_{convention}": r[k] for k in ("threshold", "dint", "dint_interp", "ci_low", "ci_high")})
            row["n_diverged"] = diverged
            rows.append(row)
    return pd.DataFrame(rows)



def _dim(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"{int(round(x)):,}"


def headline(dint: pd.DataFrame) -> list[str]:
    """``dint90.csv`` in one line per (dataset, net): each subspace variant's d_int90 with its bootstrap interval
    (``weightspace summary``); "not reached" where no d of the grid reaches the threshold."""
    dint = setting_as_text(dint)
    lines = []
    for (dataset, net), g in dint.groupby(["dataset", "net"], sort=True):
        items = []
        for _, r in g.iterrows():
            name = r["variant"] + (f" ({r['setting']})" if r["setting"] else "")
            value = "not reached" if not np.isfinite(r["dint"]) else _dim(r["dint"])
            items.append(f"{name} {value} [{_dim(r['ci_low'])}, {_dim(r['ci_high'])}]"
                         + (f" ({int(r['n_diverged'])} diverged)" if r.get("n_diverged", 0) else ""))
        first = g.iloc[0]
        fraction = float(first["fraction"])
        if first.get("convention") == "absolute":
            target = f"{100 * fraction:g}% test accuracy"
        elif g["baseline_mean"].nunique() == 1:
            target = f"{100 * fraction:g}% of the full-space net's {100 * first['baseline_mean']:.1f}%"
        else:
            target = f"{100 * fraction:g}% of its full-space baseline"
        seeds = sorted({int(n) for n in g["n_seeds_min"]} | {int(n) for n in g["n_baseline"]})
        n = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
        lines.append(f"{dataset}/{net}: d_int{100 * fraction:g} " + ", ".join(items)
                     + f"  (the grid's smallest d whose mean final accuracy reaches {target}; [95% seed-bootstrap "
                       f"interval], {n} seeds)")
    return lines
