"""Feedback LaTeX table: final test accuracy per dataset x setting (optimizer) x variant, paired differences."""

from __future__ import annotations

import math

import pandas as pd

from weightspace.formatting import format_value
from weightspace.families.feedback.analysis import REFERENCES, setting_label
from weightspace.tables import dagger, tex

__all__ = ["feedback_latex"]


def _num(x: float, digits: int = 2, sign: bool = False) -> str:
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _acc(r) -> str:
    m, lo, hi = r["acc_mean"], r["acc_lo"], r["acc_hi"]
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "--"
    if isinstance(lo, float) and math.isnan(lo):
        return f"${100 * m:.2f}$"
    return f"${100 * m:.2f} \\pm {100 * (hi - lo) / 2:.2f}$"


def _diff(r, ref: str) -> tuple[str, str]:
    """``$+0.12$ [$-0.05$, $+0.29$]`` in percentage points, and the p-value; dashes where there is no pair."""
    m = r.get(f"vs_{ref}_mean")
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "--", ""
    lo, hi, p, ph = (r.get(f"vs_{ref}_{k}") for k in ("lo", "hi", "p", "p_holm"))
    text = f"${_num(100 * m, sign=True)}$"
    if not (isinstance(lo, float) and math.isnan(lo)):
        text += f" [${_num(100 * lo, sign=True)}$, ${_num(100 * hi, sign=True)}$]"
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return text, ""
    return text, f"{p:.2g}" + ("" if ph is None or (isinstance(ph, float) and math.isnan(ph)) else f" ({ph:.2g})")


def feedback_latex(summary: pd.DataFrame) -> str:
    """One booktabs table: per dataset x setting, each arm's final accuracy and its paired differences."""
    if summary.empty:
        return "% no runs\n"
    conf = summary["confidence"].iloc[0] if "confidence" in summary else 0.95
    level = f"{100 * conf:g}\\%"
    n_seeds = sorted({int(n) for n in summary["n_ok"]})
    lines = [
        f"% Final test accuracy (%) after the last epoch: mean $\\pm$ {level} Student-t half-width over seeds (n).",
        "% $\\Delta$: paired difference of final accuracy, arm minus control, seed by seed (percentage points):",
        (f"% mean [{level} t-interval]; $p$: exact two-sided sign-flip test over the paired seeds (its smallest "
         f"possible value is $2/2^n$), in brackets Holm-adjusted over all comparisons of the experiment "
         f"(both from its comparisons.csv)."),
        r"% $^{k\dagger}$: k seeds diverged (excluded).",
    ]
    if max(n_seeds) < 6:
        lines.append(f"% With {max(n_seeds)} seeds no paired test can reach p < 0.05 "
                     f"(smallest p: {2 / 2 ** max(n_seeds):.3g}).")
    refs = [r for r in REFERENCES if f"vs_{r}_mean" in summary]
    head = ["dataset", "setting", "variant", "$n$", r"acc.\ (\%)"]
    for ref in refs:
        head += [f"$\\Delta$ vs {tex(ref)}", "$p$"]
    lines += [r"\begin{tabular}{lll" + "r" * (2 + 2 * len(refs)) + "}", r"\toprule", " & ".join(head) + r" \\"]
    for (dataset, setting), g in summary.groupby(["dataset", "setting"], sort=False, dropna=False):
        lines.append(r"\midrule")
        for i, (_, r) in enumerate(g.iterrows()):
            cells = [tex(dataset) if i == 0 else "", tex(setting_label(setting)) if i == 0 else "",
                     tex(r["arm"]) + dagger(r.get("n_diverged")), format_value(r["n_ok"]), _acc(r)]
            for ref in refs:
                cells += list(_diff(r, ref))
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)
