"""The comparisons' report: comparisons.csv -> a LaTeX table and a compact figure (every family's experiments alike).

The table lists each comparison (A - B on one dataset and net, or two nets that A and B name, at one setting)
with the mean difference and its bootstrap interval, the raw and Holm-adjusted p, P(A better than B) and the
power flag; the figure draws the differences with their intervals, one row per comparison, significant ones
filled.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from weightspace.tables import tex

__all__ = ["comparisons_latex", "plot_comparisons", "metric_label", "scale_of"]

#: how a metric is shown: (label, factor); accuracies in percentage points
_LABELS = {
    "final_test_acc": ("test accuracy (pp)", 100.0),
    "final_hard_test_acc|final_test_acc": ("test accuracy, hardened (pp)", 100.0),
    "final_hard_test_acc": ("test accuracy, hardened (pp)", 100.0),
    "best_test_acc": ("best test accuracy (pp)", 100.0),
    "final_test_loss": ("test loss", 1.0),
    "final_hard_test_loss|final_test_loss": ("test loss, hardened", 1.0),
    "final_hard_test_loss": ("test loss, hardened", 1.0),
    "final_train_loss": ("training loss", 1.0),
    "ari_support": ("ARI on the support", 1.0),
}


def metric_label(metric: str) -> str:
    return _LABELS.get(metric, (metric, 1.0))[0]


def scale_of(metric: str) -> float:
    return _LABELS.get(metric, (metric, 1.0))[1]


def _g(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    return f"{x:.{digits}g}"


def _signed(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    return f"{x:+.{digits}g}"


def comparisons_latex(table: pd.DataFrame, aggregate: pd.DataFrame | None = None) -> str:
    """A booktabs table of comparisons.csv (and, below it, the pooled-over-datasets rows)."""
    if table.empty:
        return "% no comparisons in this experiment (none declared, and the family's defaults do not apply)\n"
    alpha_note = "Holm-Bonferroni over all comparisons of the experiment"
    m = int(table["m"].iloc[0])
    lines = [
        "% A - B: mean paired difference over seeds (seed s of A against seed s of B) with a 95% BCa bootstrap",
        "% interval (Welch interval where unpaired); accuracies in percentage points. p: exact two-sided sign-flip",
        f"% test (Welch t where unpaired); p_Holm: {alpha_note} (m = {m}). P(A>B): probability that a run of A",
        "% beats a run of B, with a 95% bootstrap interval. *: significant after Holm at the level;",
        "% (n): could not reach the level after Holm even with the most extreme data this many seeds allow",
        "% (exact p 2/2^n): read 'not significant' there as 'no power', not as 'no difference'.",
        r"\begin{tabular}{llllrrrrl}",
        r"\toprule",
        r"dataset & A & B & setting & $n$ & $A-B$ [95\% CI] & $p$ ($p_\mathrm{Holm}$) & $P(A>B)$ & \\",
    ]
    for metric, g in table.groupby("metric", sort=False):
        scale = scale_of(metric)
        better = "higher" if g["direction"].iloc[0] == "higher" else "lower"
        lines += [r"\midrule", rf"\multicolumn{{9}}{{l}}{{\emph{{{tex(metric_label(metric))}}} ({better} is better)}} \\"]
        for _, r in g.iterrows():
            diff = (f"${_signed(scale * r['mean_diff'])}$ [${_signed(scale * r['ci_low'])}$, "
                    f"${_signed(scale * r['ci_high'])}$]")
            p = f"{_g(r['p'], 2)} ({_g(r['p_holm'], 2)})"
            pi = f"{r['prob_improvement']:.2f} [{_g(r['prob_improvement_lo'], 2)}, {_g(r['prob_improvement_hi'], 2)}]"
            flag = "*" if bool(r["significant"]) else ("(n)" if bool(r["cannot_reach"]) else "")
            n = f"{int(r['n_pairs'])}" if r["paired"] else f"{int(r['n_a'])}/{int(r['n_b'])}"
            if r["n_dropped"]:
                n += rf"$^{{-{int(r['n_dropped'])}}}$"
            lines.append(" & ".join([tex(r["dataset"]), tex(r["a"]), tex(r["b"]), tex(r["setting"]), n, diff,
                                     p, pi, flag]) + r" \\")
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    if aggregate is not None and not aggregate.empty:
        lines += [
            "",
            "% Pooled over datasets (Agarwal et al. 2021): interquartile mean of all runs of A and of B with 95%",
            "% stratified bootstrap intervals (runs resampled within each dataset); P(A>B) averaged over datasets.",
            r"\begin{tabular}{llllrrr}",
            r"\toprule",
            r"A & B & setting & datasets & IQM A [95\% CI] & IQM B [95\% CI] & mean $P(A>B)$ \\",
            r"\midrule",
        ]
        for _, r in aggregate.iterrows():
            s = scale_of(r["metric"])
            iqm_a = f"{s * r['iqm_a']:.4g} [{s * r['iqm_a_lo']:.4g}, {s * r['iqm_a_hi']:.4g}]"
            iqm_b = f"{s * r['iqm_b']:.4g} [{s * r['iqm_b_lo']:.4g}, {s * r['iqm_b_hi']:.4g}]"
            lines.append(" & ".join([tex(r["a"]), tex(r["b"]), tex(r["setting"]), tex(r["tasks"]), iqm_a, iqm_b,
                                     f"{r['mean_prob_improvement']:.2f}"]) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def plot_comparisons(table: pd.DataFrame, title: str, out: str | Path) -> list[Path]:
    """Mean differences A - B with their intervals, one row per comparison, one panel per metric.

    Filled circle: significant after Holm; open circle: not; grey open square: cannot reach the level at
    its seed count.
    """
    from weightspace.plots import plt, save_figure  # deferred: matplotlib, for the figure only

    metrics = list(dict.fromkeys(table["metric"])) if len(table) else []
    n_rows = [int((table["metric"] == m).sum()) for m in metrics] or [1]
    fig, axes = plt.subplots(len(n_rows), 1, figsize=(6.4, 0.9 + 0.22 * sum(n_rows) + 0.5 * len(n_rows)),
                             gridspec_kw={"height_ratios": n_rows}, squeeze=False)
    if not metrics:
        axes[0, 0].text(0.5, 0.5, "no comparisons in this experiment", ha="center", va="center")
        axes[0, 0].set_axis_off()
    for ax, metric in zip(axes[:, 0], metrics):
        g = table[table["metric"] == metric].reset_index(drop=True)
        s = scale_of(metric)
        y = list(range(len(g)))[::-1]
        for yi, (_, r) in zip(y, g.iterrows()):
            lo, hi, mid = s * r["ci_low"], s * r["ci_high"], s * r["mean_diff"]
            if bool(r["significant"]):
                style = dict(marker="o", color="black", markerfacecolor="black")
            elif bool(r["cannot_reach"]):
                style = dict(marker="s", color="0.55", markerfacecolor="white")
            else:
                style = dict(marker="o", color="black", markerfacecolor="white")
            ax.errorbar([mid], [yi], xerr=[[max(mid - lo, 0)], [max(hi - mid, 0)]], capsize=2, lw=1, ms=4, **style)
        ax.axvline(0, color="0.3", lw=0.6, ls="--")
        labels = [f"{r['a']} − {r['b']}" + (f"  [{r['setting']}]" if r["setting"] else "")
                  + (f"  {r['dataset']}" if table["dataset"].nunique() > 1 else "") for _, r in g.iterrows()]
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_ylim(-0.7, len(g) - 0.3)
        better = "higher" if g["direction"].iloc[0] == "higher" else "lower"
        ax.set_xlabel(f"A − B, {metric_label(metric)}; {better} is better")
    n_seeds = sorted({int(n) for n in table["n_pairs"]}) if len(table) else []
    seeds = f"{n_seeds[0]}" if len(n_seeds) == 1 else ", ".join(map(str, n_seeds))
    axes[0, 0].set_title(f"{title}: mean paired difference, 95% BCa bootstrap interval over {seeds} seeds\n"
                         "● significant after Holm   ○ not   □ cannot reach p < α with this many seeds",
                         fontsize=8, loc="left")
    fig.tight_layout()
    return save_figure(fig, out)
