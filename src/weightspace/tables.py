"""LaTeX tables (booktabs) from the analysis tables.

Each function returns the table as a string; ``write_table`` writes it
atomically. Numbers are formatted here, once, so the paper's tables and the
CSV files always agree.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from weightspace.io import write_text

__all__ = ["dint_latex", "accuracy_latex", "structure_latex", "write_table", "fmt_dim"]


def _tex(s: str) -> str:
    return str(s).replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def fmt_dim(x: float) -> str:
    """A dimension: integer with thin-space thousands, or infinity."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    if math.isinf(x):
        return r"$\infty$"
    return f"{int(round(x)):,}".replace(",", r"\,")


def _label(variant: str, setting) -> str:
    """A variant's name with its swept setting, if any: ``dense (lr=0.3)``."""
    setting = setting if isinstance(setting, str) else ""
    return _tex(variant) + (f" ({_tex(setting)})" if setting else "")


def _dagger(n_diverged) -> str:
    """The mark of n diverged seeds, ``$^{3\\dagger}$`` (empty for none)."""
    n = 0 if n_diverged is None or (isinstance(n_diverged, float) and math.isnan(n_diverged)) else int(n_diverged)
    return f"$^{{{n}\\dagger}}$" if n else ""


def _pm(mean: float, std: float, scale: float = 100.0, digits: int = 1) -> str:
    if mean is None or math.isnan(mean):
        return "--"
    return f"${scale * mean:.{digits}f} \\pm {scale * std:.{digits}f}$"


def dint_latex(dint: pd.DataFrame, published: dict[tuple[str, str], tuple[float, str]] | None = None) -> str:
    """d_int90 per dataset x net x projection: grid value, interpolation, 95% bootstrap CI.

    Args:
        dint: the table from :func:`weightspace.analysis.dint90`.
        published: optional ``{(dataset, net): (value, source)}`` shown in a last column.
    """
    published = published or {}
    has_pub = bool(published)
    # a baseline chosen among swept settings is named in its own column
    baselines = dint["baseline"].fillna("").astype(str) if "baseline" in dint else pd.Series("", index=dint.index)
    has_base = bool(baselines.str.contains("(", regex=False).any())
    cols = "lllr" + ("l" if has_base else "") + "r" * 4 + ("r" if has_pub else "")
    head = [r"dataset", r"net", r"projection", r"$D$"] + (["baseline"] if has_base else []) + [
        r"baseline acc.\ (\%)", r"$d_{\mathrm{int}90}$", r"interp.", r"95\% CI"]
    if has_pub:
        head.append("published")
    lines = [
        r"\begin{tabular}{" + cols + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for _, r in dint.sort_values([c for c in ("dataset", "net", "variant", "setting") if c in dint]).iterrows():
        ci = f"[{fmt_dim(r['ci_low'])}, {fmt_dim(r['ci_high'])}]"
        cells = [
            _tex(r["dataset"]),
            _tex(r["net"]),
            _label(r["variant"], r.get("setting")) + _dagger(r.get("n_diverged")),
            fmt_dim(r["n_weights"]),
        ] + ([_tex(baselines[r.name])] if has_base else []) + [
            _pm(r["baseline_mean"], r["baseline_std"]),
            fmt_dim(r["dint"]),
            fmt_dim(r["dint_interp"]),
            ci,
        ]
        if has_pub:
            pub = published.get((r["dataset"], r["net"]))
            cells.append(fmt_dim(pub[0]) if pub else "--")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    note = (
        "% d_int90: smallest d on the grid whose mean final test accuracy reaches 90% of the full-space\n"
        "% baseline's; interp.: log-linear interpolation between grid points; CI: percentile bootstrap over seeds.\n"
    )
    if dint.get("n_diverged", pd.Series(dtype=float)).fillna(0).astype(bool).any():
        note += "% $^{n\\dagger}$: n runs of that projection diverged (excluded; a d whose runs all diverged does not reach it)\n"
    if has_pub:
        note += "% published: " + "; ".join(f"{k[0]}/{k[1]}: {v[0]:g} ({v[1]})" for k, v in published.items()) + "\n"
    return note + "\n".join(lines) + "\n"


def accuracy_latex(by_dim: pd.DataFrame) -> str:
    """Final test accuracy (mean +- std over seeds, %) per d, one column per subspace variant."""
    out = []
    by_dim = by_dim.assign(setting=by_dim["setting"].fillna("") if "setting" in by_dim else "")
    for (dataset, net), g in by_dim.groupby(["dataset", "net"], sort=True):
        sub = g[g["reparam"] == "subspace"]
        variants = sorted(set(zip(sub["variant"], sub["setting"])))  # each swept setting is its own column
        dims = sorted(sub["dim"].unique())
        base = g[g["reparam"] == "direct"]
        out.append(f"% {dataset} / {net}: final test accuracy (%), mean $\\pm$ std over seeds")
        out.append(r"\begin{tabular}{r" + "r" * len(variants) + "}")
        out.append(r"\toprule")
        out.append(" & ".join([r"$d$"] + [_label(v, s) for v, s in variants]) + r" \\")
        out.append(r"\midrule")
        for d in dims:
            row = [fmt_dim(d)]
            for v, setting in variants:
                m = sub[(sub["variant"] == v) & (sub["setting"] == setting) & (sub["dim"] == d)]
                if m.empty:
                    row.append("")
                else:
                    r = m.iloc[0]
                    cell = _pm(r["acc_mean"], r["acc_std"])
                    cell += _dagger(r["n_diverged"])
                    row.append(cell)
            out.append(" & ".join(row) + r" \\")
        if not base.empty:
            out.append(r"\midrule")
        for _, b in base.iterrows():  # one line per baseline variant and setting
            name = "full" if len(base) == 1 else f"full, {_label(b['variant'], b['setting'])}"
            out.append(
                f"{name} ($D={fmt_dim(b['n_weights'])}$) & \\multicolumn{{{len(variants)}}}{{c}}"
                f"{{{_pm(b['acc_mean'], b['acc_std'])}{_dagger(b['n_diverged'])}}} \\\\"
            )
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        out.append(r"% $^{n\dagger}$: n seeds diverged (excluded from the mean)")
        out.append("")
    return "\n".join(out)


def write_table(path: str | Path, text: str) -> Path:
    write_text(path, text)
    return Path(path)


def _ci(r, m: str, digits: int = 2, scale: float = 1.0) -> str:
    mean, lo, hi = r.get(f"{m}_mean"), r.get(f"{m}_lo"), r.get(f"{m}_hi")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "--"
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return f"${scale * mean:.{digits}f}$"
    return f"${scale * mean:.{digits}f} \\pm {scale * (hi - lo) / 2:.{digits}f}$"


def structure_latex(summary: pd.DataFrame) -> str:
    """Structure metrics per cell (mean +- 95% t half-width over seeds), one table per dataset x net."""
    out = []
    cols = [
        ("hard test", None),
        ("values", "final_values_used"),
        ("support F1", "support_f1"),
        ("ARI (support)", "ari_support"),
        ("homog.", "homogeneity"),
        ("compl.", "completeness"),
        ("part.\\ dist.", "partition_distance"),
        ("equiv.\\ err.", "equivariance_error"),
        ("spatial excess", "spatial_excess"),
    ]
    for (dataset, net), g in summary.groupby(["dataset", "net"], sort=True):
        regression = g["final_test_acc_mean"].isna().all() if "final_test_acc_mean" in g else True
        present = [(h, m) for h, m in cols if m is None or (f"{m}_mean" in g and g[f"{m}_mean"].notna().any())]
        out.append(f"% {dataset} / {net}: mean $\\pm$ 95% t-interval half-width over seeds; hard test = "
                   + ("MSE" if regression else "accuracy (%)") + " of the hardened net")
        out.append(r"\begin{tabular}{ll" + "r" * len(present) + "}")
        out.append(r"\toprule")
        out.append(" & ".join(["variant", "$k$"] + [h for h, _ in present]) + r" \\")
        out.append(r"\midrule")
        for _, r in g.iterrows():
            k = r.get("k")
            name = _label(r["variant"], r.get("setting"))
            cells = [name, "--" if k is None or (isinstance(k, float) and math.isnan(k)) else f"{int(k)}"]
            for h, m in present:
                if m is None:
                    m = "final_hard_test_loss" if regression else "final_hard_test_acc"
                    cells.append(_ci(r, m, 4 if regression else 1, 1.0 if regression else 100.0))
                else:
                    cells.append(_ci(r, m, 1 if m == "final_values_used" else 2))
            cells[0] += _dagger(r.get("n_diverged"))
            out.append(" & ".join(cells) + r" \\")
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        out.append("")
    return "\n".join(out)
