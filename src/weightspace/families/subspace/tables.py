"""Subspace LaTeX tables: d_int90 per dataset x net x projection, accuracy per d."""

from __future__ import annotations

import pandas as pd

from weightspace.tables import ci, dagger, fmt_dim, label, tex

__all__ = ["dint_latex", "accuracy_latex"]


def dint_latex(dint: pd.DataFrame, published: dict[tuple[str, str], tuple] | None = None) -> str:
    """d_int90 per dataset x net x projection under both conventions: grid value, interpolation, 95% bootstrap CI.

    Args:
        dint: the table from :func:`weightspace.families.subspace.analysis.dint90`.
        published: optional ``{(dataset, net): (value, source[, convention])}`` shown in a last column with
            its convention (``absolute`` unless given), to be read beside our value under the same one.
    """
    published = published or {}
    has_pub = bool(published)
    both = all(f"dint_{c}" in dint for c in ("relative", "absolute"))
    conventions = [("relative", "90\\% of baseline"), ("absolute", "90\\% accuracy")] if both else [("", "")]
    # a baseline chosen among swept settings is named in its own column
    baselines = dint["baseline"].fillna("").astype(str) if "baseline" in dint else pd.Series("", index=dint.index)
    has_base = bool(baselines.str.contains("(", regex=False).any())
    lead = 4 + has_base + 1  # dataset, net, projection, D, [baseline], baseline acc.
    cols = "lllr" + ("l" if has_base else "") + "r" + "rrr" * len(conventions) + ("r" if has_pub else "")
    head = [r"dataset", r"net", r"projection", r"$D$"] + (["baseline"] if has_base else []) + [r"baseline acc.\ (\%)"]
    head += [r"$d_{\mathrm{int}90}$", r"interp.", r"95\% CI"] * len(conventions)
    if has_pub:
        head.append("published")
    lines = [r"\begin{tabular}{" + cols + "}", r"\toprule"]
    if both:
        groups = ["" for _ in range(lead - 1)]
        spans = " & ".join(f"\\multicolumn{{3}}{{c}}{{{title}}}" for _, title in conventions)
        rules = " ".join(f"\\cmidrule(lr){{{lead + 1 + 3 * i}-{lead + 3 + 3 * i}}}" for i in range(len(conventions)))
        lines.append(" & ".join(groups + [""]) + " & " + spans + (" &" if has_pub else "") + r" \\ " + rules)
    lines += [" & ".join(head) + r" \\", r"\midrule"]
    for _, r in dint.sort_values([c for c in ("dataset", "net", "variant", "setting") if c in dint]).iterrows():
        cells = [
            tex(r["dataset"]),
            tex(r["net"]),
            label(r["variant"], r.get("setting")) + dagger(r.get("n_diverged")),
            fmt_dim(r["n_weights"]),
        ] + ([tex(baselines[r.name])] if has_base else []) + [ci(r, "baseline", 1, 100.0)]
        for convention, _ in conventions:
            suffix = f"_{convention}" if convention else ""
            cells += [fmt_dim(r[f"dint{suffix}"]), fmt_dim(r[f"dint_interp{suffix}"]),
                      f"[{fmt_dim(r[f'ci_low{suffix}'])}, {fmt_dim(r[f'ci_high{suffix}'])}]"]
        if has_pub:
            pub = published.get((r["dataset"], r["net"]))
            kind = (pub[2] if len(pub) > 2 else "absolute") if pub else ""
            cells.append(f"{fmt_dim(pub[0])} ({kind[:3]}.)" if pub else "--")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    note = (
        "% d_int90: smallest d on the grid whose mean final test accuracy reaches the threshold; relative\n"
        "% convention: 90% of the full-space baseline's mean accuracy; absolute: 90% accuracy (a baseline of 1.0,\n"
        "% the convention of Li et al. 2018); interp.: log-linear interpolation between grid points;\n"
        "% CI: percentile bootstrap over seeds (at every d, and in the baseline for the relative convention).\n"
    )
    if dint.get("n_diverged", pd.Series(dtype=float)).fillna(0).astype(bool).any():
        note += "% $^{n\\dagger}$: n runs of that projection diverged (excluded; a d whose runs all diverged does not reach it)\n"
    if has_pub:
        note += "% published (its convention: abs. or rel.): " + "; ".join(
            f"{k[0]}/{k[1]}: {v[0]:g} ({v[1]})" for k, v in published.items()) + "\n"
    return note + "\n".join(lines) + "\n"


def accuracy_latex(by_dim: pd.DataFrame) -> str:
    """Final test accuracy (mean +- 95% t-interval half-width over seeds, %) per d, one column per subspace variant."""
    out = []
    by_dim = by_dim.assign(setting=by_dim["setting"].fillna("") if "setting" in by_dim else "")
    for (dataset, net), g in by_dim.groupby(["dataset", "net"], sort=True):
        sub = g[g["reparam"] == "subspace"]
        variants = sorted(set(zip(sub["variant"], sub["setting"])))  # each swept setting is its own column
        dims = sorted(sub["dim"].unique())
        base = g[g["reparam"] == "direct"]
        out.append(f"% {dataset} / {net}: final test accuracy (%), mean $\\pm$ 95% t-interval half-width over seeds")
        out.append(r"\begin{tabular}{r" + "r" * len(variants) + "}")
        out.append(r"\toprule")
        out.append(" & ".join([r"$d$"] + [label(v, s) for v, s in variants]) + r" \\")
        out.append(r"\midrule")
        for d in dims:
            row = [fmt_dim(d)]
            for v, setting in variants:
                m = sub[(sub["variant"] == v) & (sub["setting"] == setting) & (sub["dim"] == d)]
                if m.empty:
                    row.append("")
                else:
                    r = m.iloc[0]
                    cell = ci(r, "acc", 1, 100.0)
                    cell += dagger(r["n_diverged"])
                    row.append(cell)
            out.append(" & ".join(row) + r" \\")
        if not base.empty:
            out.append(r"\midrule")
        for _, b in base.iterrows():  # one line per baseline variant and setting
            name = "full" if len(base) == 1 else f"full, {label(b['variant'], b['setting'])}"
            out.append(
                f"{name} ($D={fmt_dim(b['n_weights'])}$) & \\multicolumn{{{len(variants)}}}{{c}}"
                f"{{{ci(b, 'acc', 1, 100.0)}{dagger(b['n_diverged'])}}} \\\\"
            )
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        out.append(r"% $^{n\dagger}$: n seeds diverged (excluded from the mean)")
        out.append("")
    return "\n".join(out)

