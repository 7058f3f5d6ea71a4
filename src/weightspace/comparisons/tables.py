"""Resolved spec -> paired table -> pooled table: ``comparisons.csv`` and ``comparisons_aggregate.csv``.

:func:`paired_table` computes, per pair of cells a test resolves to (:mod:`weightspace.comparisons.declared`), one
row of ``comparisons.csv`` (statistics: :mod:`weightspace.stats`), Holm-adjusting over all rows of the experiment
and flagging those that cannot reach the level at their seed count. A declared test that gives no row on
``final.csv`` (its metric is no column, or has no value on any pair) is an error, never dropped. A family default
is left out where it does not apply (no pair of cells, or a metric those datasets do not have, e.g. ARI on
images): it made no comparison, so it is not in m.

**Holm's m** is the number of rows: every pair of cells a test compares (one
row per dataset, net and setting) counts, also a row whose pairs were all
dropped (every seed diverged, on one side or both: its p is missing, the
others' adjustments still count it), so that a failed run never makes the surviving
p-values look better. :func:`pooled_table` pools each comparison over the
datasets (interquartile mean, stratified bootstrap, mean P(A > B)).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from weightspace.comparisons.declared import (
    AUTO,
    CORE_METRICS,
    CellRef,
    Test,
    _differing_train,
    _match_keys,
    _same,
    _sides,
    cells_from_final,
    from_spec,
    resolve,
)
from weightspace.errors import WeightspaceError
from weightspace.io import write_dataframe

__all__ = ["COLUMNS", "AGGREGATE_COLUMNS", "paired_table", "pooled_table", "write_tables"]

#: the columns of comparisons.csv, one row per compared pair of cells (a pair of two nets, a test with
#: ``a_net`` / ``b_net``: ``net`` is ``A_NET vs B_NET``, ``a`` and ``b`` name their nets: ``note (feedback-mnist)``)
COLUMNS = [
    "dataset", "net", "a", "b", "setting", "a_cell", "b_cell", "metric", "direction", "paired",
    "n_a", "n_b", "n_pairs", "n_dropped", "mean_a", "mean_b", "mean_diff", "ci_low", "ci_high", "test", "p",
    "p_holm", "p_wilcoxon", "p_welch", "p_mann_whitney", "prob_improvement", "prob_improvement_lo",
    "prob_improvement_hi", "p_min_attainable", "cannot_reach", "significant", "m",
]

#: the columns of comparisons_aggregate.csv, one row per comparison pooled over datasets
AGGREGATE_COLUMNS = [
    "net", "a", "b", "setting", "metric", "direction", "n_tasks", "tasks", "n_runs_a", "n_runs_b",
    "iqm_a", "iqm_a_lo", "iqm_a_hi", "iqm_b", "iqm_b_lo", "iqm_b_hi", "mean_prob_improvement",
]


def _coalesce(rows, columns) -> np.ndarray:
    """Per row, the first of ``columns`` with a value."""
    values = rows[columns[0]].to_numpy(float).copy()
    for c in columns[1:]:
        values = np.where(np.isnan(values), rows[c].to_numpy(float), values)
    return values


def _metric_values(rows, metric: str, family_auto) -> tuple[str, str | None, np.ndarray]:
    """(metric name, its direction or None, per-row values) for the rows of one dataset.

    ``metric`` is ``auto`` (the family's first column group with a value), a column, or a resolved group
    ``a|b`` (per row the first of the columns with a value).
    """
    if metric != "auto":
        columns = metric.split("|")
        if not all(c in rows for c in columns):
            return metric, None, np.full(len(rows), np.nan)
        return metric, None, _coalesce(rows, columns)
    for columns, direction in family_auto:
        present = [c for c in columns if c in rows]
        if present:
            values = _coalesce(rows, present)
            if np.isfinite(values).any():
                return "|".join(present), direction, values
    return "auto", None, np.full(len(rows), np.nan)


def _ok(final):
    """Which rows of final.csv count (status ok; a diverged or failed run is missing)."""
    import pandas as pd

    return final["status"].eq("ok") if "status" in final else pd.Series(True, index=final.index)


def _seed_values(final, ok, a_cell: str, b_cell: str, metric: str, auto) -> tuple[str, str | None, dict, bool]:
    """(metric name, its direction or None, ``{cell: {seed: value}}``, whether the pair has the metric) of a pair of
    cells; runs that are not ok are NaN. A pair has the metric where one of its ok runs has a value; a pair
    without an ok run (all diverged: its row counts, with every pair dropped) where an ok run of its dataset has."""
    sub = final[final["cell"].isin([a_cell, b_cell])]
    name, direction, values = _metric_values(sub, metric, auto)
    good = ok[sub.index].to_numpy()
    if good.any():
        has_metric = bool(np.isfinite(values[good]).any())
    else:
        name, direction, peers = _metric_values(final[ok & final["dataset"].eq(sub["dataset"].iloc[0])], metric, auto)
        has_metric = bool(np.isfinite(peers).any())
    values = np.where(good, values, np.nan)
    by_seed = {}
    for cell in (a_cell, b_cell):
        mask = (sub["cell"] == cell).to_numpy()
        by_seed[cell] = dict(zip(sub["seed"][mask], values[mask]))
    return name, direction, by_seed, has_metric


def _setting(a: CellRef, b: CellRef, train: Iterable[str] = ()) -> str:
    """The swept values of a pair and its values of the training settings ``train`` (those that differ between
    the compared cells), equal ones once, e.g. ``k=16`` or ``d=300; a: lr=0.03; b: lr=0.003``."""
    oa, ob = a.options, b.options
    swept_a = [*a.swept, *((k, oa[k]) for k in train if k in oa and k not in a.settings)]
    swept_b = [*b.swept, *((k, ob[k]) for k in train if k in ob and k not in b.settings)]
    keys = list(dict.fromkeys([k for k, _ in swept_a] + [k for k, _ in swept_b]))
    equal = [k for k in keys if k in oa and k in ob and _same(oa[k], ob[k])]
    common = [f"{k}={_fmt(oa[k])}" for k in equal]
    only_a = [f"{k}={_fmt(v)}" for k, v in swept_a if k not in equal]
    only_b = [f"{k}={_fmt(v)}" for k, v in swept_b if k not in equal]
    parts = common + ([f"a: {' '.join(only_a)}"] if only_a else []) + ([f"b: {' '.join(only_b)}"] if only_b else [])
    return "; ".join(parts)


def _side(variant: str, cell: CellRef, test: Test) -> str:
    """A side of a row as comparisons.csv names it: the variant, with its cell's net where the test compares two
    nets (``a_net`` / ``b_net``), so that one variant on two nets never reads as ``note`` vs ``note``."""
    return f"{variant} ({cell.net})" if test.across_nets else variant


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def paired_table(final, tests: list[Test], options: dict, metrics: dict[str, str], auto=AUTO,
            train: dict[str, dict] | None = None):
    """One row per compared pair of cells (:data:`COLUMNS`), Holm-adjusted over all rows (m = the number of rows).

    Args:
        final: ``final.csv`` of one experiment (rows whose ``status`` is not ``ok`` count as missing: a
            diverged seed drops its pair, counted in ``n_dropped``).
        tests: the experiment's tests (:func:`tests_of`).
        options: alpha, confidence, n_resamples, random_state.
        metrics: the family's metric directions (beside :data:`CORE_METRICS`).
        auto: the family's ``metric: auto`` column groups.
        train: each variant's training settings that ``final.csv`` has no column for (:func:`variant_train`).
    Raises:
        WeightspaceError: a declared test gives no row.
    """
    import pandas as pd

    # deferred: scipy, which validating a config (it checks the declared tests through this package) does not need
    from weightspace.stats import holm, holm_cannot_reach, paired_comparison, unpaired_comparison

    known = {**CORE_METRICS, **metrics}
    refs = cells_from_final(final, sorted({k for t in tests for k in (*(t.match or ()), *dict(t.where))}), train)
    ok = _ok(final)
    rows = []
    for test in tests:
        pairs, n_rows = resolve(test, refs), len(rows)
        shown = _differing_train([c for side in _sides(test, refs) for c in side])
        for a, b in pairs:
            name, direction, by_seed, has_metric = _seed_values(final, ok, a.cell, b.cell, test.metric, auto)
            direction = test.direction or direction or known.get(name)
            if direction is None or not has_metric:
                continue  # a metric this pair does not have (e.g. a structure metric on a dataset without one)
            if test.paired:
                seeds = sorted(set(by_seed[a.cell]) | set(by_seed[b.cell]))
                va = [by_seed[a.cell].get(s, np.nan) for s in seeds]
                vb = [by_seed[b.cell].get(s, np.nan) for s in seeds]
                res = paired_comparison(va, vb, direction, options["confidence"], options["n_resamples"],
                                        options["random_state"])
                res["test"], res["p"] = "sign-flip (exact)", res["p_sign_flip"]
            else:
                res = unpaired_comparison(list(by_seed[a.cell].values()), list(by_seed[b.cell].values()), direction,
                                          options["confidence"], options["random_state"])
                res["test"], res["p"] = "Welch t", res["p_welch"]
            rows.append({"dataset": a.dataset, "net": a.net if a.net == b.net else f"{a.net} vs {b.net}",
                         "a": _side(test.a, a, test), "b": _side(test.b, b, test),
                         "setting": _setting(a, b, shown), "a_cell": a.cell, "b_cell": b.cell, "metric": name,
                         "direction": direction, **res})
        if test.declared and len(rows) == n_rows:
            raise WeightspaceError(_no_rows(test, final, refs, pairs, known))
    table = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in table:
            table[c] = pd.Series(dtype=float)
    if len(table):
        # every row is one of the m comparisons, also one without a p (all its pairs dropped)
        m = len(table)
        table["p_holm"] = holm(table["p"].to_numpy(float), m)
        table["m"] = m
        alpha = options["alpha"]
        # power: flagged where even the most extreme data its sample allows (p_min_attainable: paired, 2 / 2^n
        # for n non-zero differences, exact sign-flip; unpaired, the smallest exact Mann-Whitney p) would miss
        # alpha after Holm
        table["cannot_reach"] = holm_cannot_reach(table["p"].to_numpy(float),
                                                  table["p_min_attainable"].to_numpy(float), alpha, m)
        table["significant"] = table["p_holm"].to_numpy(float) < alpha
        table["paired"] = table["paired"].astype(bool)
    return table[COLUMNS]


def _no_rows(test: Test, final, refs: list[CellRef], pairs: list, known: dict) -> str:
    """Why a declared test gives no row of comparisons.csv (one line)."""
    what = f"declared comparison {test.label('a')} vs {test.label('b')}"
    if not pairs:
        a_cells, b_cells = _sides(test, refs)
        return (f"{what} pairs no cells of final.csv ({len(a_cells)} cells of {test.label('a')}, {len(b_cells)} of "
                f"{test.label('b')}; same dataset{'' if test.across_nets else ', net'} and values of "
                f"{', '.join(_match_keys(test, a_cells, b_cells)) or 'no key'}): "
                f"is final.csv the results of this config? Set `match` to the keys that must be equal")
    metrics = ", ".join(sorted(c for c in final.columns if c in known or c.startswith("final_")))
    missing = [c for c in test.metric.split("|") if c not in final]
    if test.metric != "auto" and missing:
        return (f"{what}: metric {missing[0]!r} is not a column of final.csv (its metrics: {metrics}); fix the "
                f"test's `metric`")
    return (f"{what}: metric {test.metric!r} has no value on any of its {len(pairs)} pairs of cells (e.g. an "
            f"accuracy on a regression task; the metrics of final.csv: {metrics}); choose one these runs have")


def pooled_table(final, table, options: dict, auto=AUTO):
    """Each comparison pooled over datasets (tasks), where it ran on two or more (:data:`AGGREGATE_COLUMNS`).

    Per comparison (a, b, net, setting, metric): the interquartile mean of A's and of B's runs over all tasks
    with stratified bootstrap intervals (runs resampled within each task), and P(A better than B) averaged
    over tasks (Agarwal et al. 2021). Raw metric values are pooled: meaningful where the tasks share a scale
    (accuracies); read it with that in mind for losses.
    """
    import pandas as pd

    from weightspace.stats import mean_prob_improvement, stratified_iqm  # deferred: scipy (config checks import this)

    rows = []
    if len(table):
        ok = _ok(final)
        for key, grp in table.groupby(["net", "a", "b", "setting", "metric", "direction"], sort=False):
            if grp["dataset"].nunique() < 2:
                continue
            net, a, b, setting, metric, direction = key
            a_tasks, b_tasks, tasks = [], [], []
            for _, r in grp.iterrows():
                _, _, by_seed, _ = _seed_values(final, ok, r["a_cell"], r["b_cell"], metric, auto)
                for side, cell in ((a_tasks, r["a_cell"]), (b_tasks, r["b_cell"])):
                    values = np.fromiter(by_seed[cell].values(), float, len(by_seed[cell]))
                    side.append(values[np.isfinite(values)])
                tasks.append(r["dataset"])
            if any(len(t) == 0 for t in a_tasks + b_tasks):
                continue
            ia = stratified_iqm(a_tasks, options["confidence"], 2000, options["random_state"])
            ib = stratified_iqm(b_tasks, options["confidence"], 2000, options["random_state"])
            rows.append({"net": net, "a": a, "b": b, "setting": setting, "metric": metric, "direction": direction,
                         "n_tasks": len(tasks), "tasks": " ".join(tasks),
                         "n_runs_a": int(sum(map(len, a_tasks))), "n_runs_b": int(sum(map(len, b_tasks))),
                         "iqm_a": ia[0], "iqm_a_lo": ia[1], "iqm_a_hi": ia[2],
                         "iqm_b": ib[0], "iqm_b_lo": ib[1], "iqm_b_hi": ib[2],
                         "mean_prob_improvement": mean_prob_improvement(a_tasks, b_tasks, direction)})
    return pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)


def write_tables(final, data: dict, family, out_dir) -> list:
    """comparisons.csv and comparisons_aggregate.csv of one experiment into ``out_dir``."""
    from pathlib import Path

    tests, options = from_spec(data)
    table = paired_table(final, tests, options, family.metrics, family.auto_metric, data.get("train"))
    pooled = pooled_table(final, table, options, family.auto_metric)
    out_dir = Path(out_dir)
    write_dataframe(out_dir / "comparisons.csv", table)
    write_dataframe(out_dir / "comparisons_aggregate.csv", pooled)
    return [out_dir / "comparisons.csv", out_dir / "comparisons_aggregate.csv"]
