"""The comparisons layer: variant A against variant B, declared in the config, tested on ``final.csv``.

Family-independent. An experiment's ``comparisons`` key (or, without one, its
family's defaults: :meth:`~weightspace.families.base.Family.default_comparisons`)
lists *tests*, each either

* ``{a: A, b: B}``: A against B, or
* ``{reference: R}`` (optionally ``variants: [...]``): every other variant against R,

with optional ``where`` (only cells with these option values), ``metric`` (a column of ``final.csv``; ``auto``: the test
accuracy for classification, else the test loss, hardened where the family
says so), ``direction`` (``higher`` or ``lower`` is better; known metrics
have one), ``match`` (swept keys whose values must be equal on both sides;
default: every key both variants sweep) and ``paired`` (default true: seed s
of A against seed s of B).

:func:`resolve` turns the tests into pairs of cells (from the expanded config,
before any job runs: :func:`check` reports tests that name no variant, no
metric or match no cell) and :func:`compare` computes, per pair of cells,
one row of ``comparisons.csv`` (statistics: :mod:`weightspace.comparisons`),
Holm-adjusting over all rows of the experiment and flagging those that cannot
reach the level at their seed count. :func:`aggregate` pools each comparison
over the datasets (interquartile mean, stratified bootstrap, mean P(A > B)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

__all__ = ["OPTIONS", "CORE_METRICS", "Test", "CellRef", "tests_of", "resolve", "check", "compare", "aggregate",
           "COLUMNS", "AGGREGATE_COLUMNS", "cells_from_final", "cells_from_config", "options_of",
           "resampling_bytes"]

#: the experiment-level options of ``comparisons`` and their defaults
OPTIONS = {"alpha": 0.05, "confidence": 0.95, "n_resamples": 9999, "random_state": 0, "defaults": True}

#: the options the statistics take (the rest of OPTIONS says which tests run)
_STAT_OPTIONS = ("alpha", "confidence", "n_resamples", "random_state")

#: metrics every run has, with their direction (families add theirs: Family.metrics)
CORE_METRICS = {
    "final_test_acc": "higher",
    "best_test_acc": "higher",
    "final_test_loss": "lower",
    "final_train_loss": "lower",
}

#: ``metric: auto``: the first column group with a value for a dataset's rows; within a group the first
#: non-missing column of each row (a family with hardened nets puts the hardened column first)
AUTO = ((("final_test_acc",), "higher"), (("final_test_loss",), "lower"))

COLUMNS = [
    "dataset", "net", "a", "b", "setting", "a_cell", "b_cell", "metric", "direction", "paired",
    "n_a", "n_b", "n_pairs", "n_dropped", "mean_a", "mean_b", "mean_diff", "ci_low", "ci_high", "test", "p",
    "p_holm", "p_wilcoxon", "p_welch", "p_mann_whitney", "prob_improvement", "prob_improvement_lo",
    "prob_improvement_hi", "p_min_attainable", "cannot_reach", "significant", "m",
]

AGGREGATE_COLUMNS = [
    "net", "a", "b", "setting", "metric", "direction", "n_tasks", "tasks", "n_runs_a", "n_runs_b",
    "iqm_a", "iqm_a_lo", "iqm_a_hi", "iqm_b", "iqm_b_lo", "iqm_b_hi", "mean_prob_improvement",
]


@dataclass(frozen=True)
class Test:
    """One comparison of variant ``a`` against variant ``b`` (after ``reference`` tests are split)."""

    a: str
    b: str
    metric: str = "auto"
    direction: str | None = None
    match: tuple[str, ...] | None = None  # None: every key both variants sweep
    paired: bool = True
    where: tuple[tuple[str, object], ...] = ()  # only cells with these values (on the side that has the key)


@dataclass(frozen=True)
class CellRef:
    """A cell as the pairing sees it: where it is and what its variant sweeps."""

    cell: str
    dataset: str
    net: str
    variant: str
    swept: tuple[tuple[str, object], ...]
    values: tuple[tuple[str, object], ...] = ()  # every option and training key (for explicit `match` keys)

    @property
    def settings(self) -> dict:
        return dict(self.swept)

    @property
    def options(self) -> dict:
        return {**dict(self.values), **dict(self.swept)}


def options_of(exp: dict) -> dict:
    """The experiment's comparison options with defaults (``comparisons: false``: defaults off, no tests)."""
    spec = exp.get("comparisons")
    if spec is False:
        return {**OPTIONS, "defaults": False, "tests": []}
    spec = spec or {}
    return {**OPTIONS, **{k: v for k, v in spec.items() if k != "tests"}, "tests": list(spec.get("tests") or [])}


def resampling_bytes(n_resamples: int, n_seeds: int) -> int:
    """Peak memory of one comparison of ``n_seeds`` runs per side (weightspace.comparisons): the BCa bootstrap of
    the mean difference (about four float64 arrays of n_resamples x n_seeds) or the interval of P(A better)
    (2000 resamples of all n_seeds^2 pairs of runs, 18 bytes each), whichever is larger."""
    return max(32 * n_resamples * n_seeds, 18 * 2000 * n_seeds**2)


def tests_of(exp: dict, variants: list[dict], defaults: list[dict]) -> list[tuple[str, Test]]:
    """The experiment's tests, each with where it was declared: its own, then (unless switched off) the family's.

    A ``reference`` test becomes one test per other variant (or per listed variant).
    """
    opts = options_of(exp)
    declared = [(f"comparisons.tests[{i}]", t) for i, t in enumerate(opts["tests"])]
    if opts["defaults"]:
        declared += [(f"the {exp.get('family', '')} family's default comparison {t}", t) for t in defaults]
    names = [v["name"] for v in variants]
    out: list[tuple[str, Test]] = []
    seen = set()
    for where, t in declared:
        common = dict(metric=t.get("metric", "auto"), direction=t.get("direction"),
                      match=tuple(t["match"]) if t.get("match") is not None else None,
                      paired=t.get("paired", True), where=tuple(sorted((t.get("where") or {}).items())))
        if "reference" in t:
            others = t.get("variants") or [n for n in names if n != t["reference"]]
            pairs = [(v, t["reference"]) for v in others]
        else:
            pairs = [(t.get("a"), t.get("b"))]
        for a, b in pairs:
            test = Test(a, b, **common)
            if test not in seen:
                seen.add(test)
                out.append((where, test))
    return out


def _same(x, y) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=0.0)
    return str(x) == str(y)


def _match_keys(test: Test, a_cells: list[CellRef], b_cells: list[CellRef]) -> tuple[str, ...]:
    if test.match is not None:
        return test.match
    a_keys = {k for c in a_cells for k, _ in c.swept}
    b_keys = {k for c in b_cells for k, _ in c.swept}
    return tuple(sorted(a_keys & b_keys))


def resolve(test: Test, cells: Iterable[CellRef]) -> list[tuple[CellRef, CellRef]]:
    """The pairs of cells (a, b) a test compares: same dataset and net, equal values of the matched keys."""
    cells = [c for c in cells if all(k not in c.options or _same(c.options[k], v) for k, v in test.where)]
    a_cells = [c for c in cells if c.variant == test.a]
    b_cells = [c for c in cells if c.variant == test.b]
    keys = _match_keys(test, a_cells, b_cells)
    pairs = []
    for a in a_cells:
        for b in b_cells:
            if (a.dataset, a.net) != (b.dataset, b.net):
                continue
            sa, sb = a.options, b.options
            if all(k in sa and k in sb and _same(sa[k], sb[k]) for k in keys):
                pairs.append((a, b))
    return pairs


def cells_from_config(cells: dict[str, dict]) -> list[CellRef]:
    """CellRefs of one experiment's expanded cells (:func:`weightspace.config.expand`)."""
    out = []
    for cid, c in cells.items():
        values = {k: v for k, v in {**c["train"], **c["variant"]}.items()
                  if k not in ("name", "reparam") and not isinstance(v, (dict, list))}
        out.append(CellRef(cid, c["dataset"], c["net"]["name"], c["variant"]["name"], tuple(c["swept"].items()),
                           tuple(values.items())))
    return out


def cells_from_final(final, keys: Iterable[str] = ()) -> list[CellRef]:
    """CellRefs of the cells in ``final.csv``: the swept values, and those of ``keys`` (explicit match keys),
    read back from their columns."""
    out = []
    first = final.drop_duplicates("cell")
    for _, r in first.iterrows():
        swept = r.get("swept")
        swept_keys = str(swept).split() if isinstance(swept, str) else []
        values = tuple((k, r[k]) for k in keys if k in r and not _missing(r[k]))
        out.append(CellRef(r["cell"], r["dataset"], r["net"], r["variant"], tuple((k, r[k]) for k in swept_keys),
                           values))
    return out


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def check(where: str, exp: dict, cells: dict[str, dict], defaults: list[dict], metrics: dict[str, str]) -> list[str]:
    """Problems of an experiment's comparisons, before any job runs (one line each, naming the key).

    Declared tests must name existing, distinct variants, a known metric (or give its ``direction``), match
    keys both variants sweep, and compare at least one pair of cells. The family's defaults are skipped
    where they do not apply (a default naming no cell pair is not an error).
    """
    problems = []
    names = [v["name"] for v in exp["variants"]]
    refs = cells_from_config(cells)
    known = {**CORE_METRICS, **metrics}
    opts = options_of(exp)
    for i, t in enumerate(opts["tests"]):
        w = f"{where}.comparisons.tests[{i}]"
        if ("reference" in t) == ("a" in t or "b" in t) or ("reference" not in t and not ("a" in t and "b" in t)):
            problems.append(f"{w}: give either `a` and `b` (one comparison) or `reference` (every other variant "
                            f"against it), e.g. {{a: {names[-1]}, b: {names[0]}}}")
            continue
        for key in ("a", "b", "reference"):
            if key in t and t[key] not in names:
                problems.append(f"{w}.{key}: no variant {t[key]!r} in this experiment; its variants: {', '.join(names)}")
        for v in t.get("variants") or []:
            if v not in names:
                problems.append(f"{w}.variants: no variant {v!r} in this experiment; its variants: {', '.join(names)}")
        if "variants" in t and "reference" not in t:
            problems.append(f"{w}.variants: only with `reference` (the variants compared against it)")
        if t.get("a") is not None and t.get("a") == t.get("b"):
            problems.append(f"{w}: a and b are both {t['a']!r}; compare two different variants")
        metric = t.get("metric", "auto")
        if metric != "auto" and metric not in known and "direction" not in t:
            problems.append(f"{w}.metric: {metric!r} is not a metric the pipeline knows the direction of; known: "
                            f"auto, {', '.join(sorted(known))} (a column of final.csv: add `direction: higher` "
                            f"or `lower`)")
    if problems:
        return problems
    declared = tests_of({**exp, "comparisons": {**opts, "defaults": False}}, exp["variants"], [])
    for w, test in declared:
        a_cells = [c for c in refs if c.variant == test.a]
        b_cells = [c for c in refs if c.variant == test.b]
        for k in test.match or ():
            for side, cs in (("a", a_cells), ("b", b_cells)):
                if not any(k in c.options for c in cs):
                    name = test.a if side == "a" else test.b
                    problems.append(f"{where}.{w}.match: variant {name!r} has no option {k!r} (its options: "
                                    f"{', '.join(sorted({s for c in cs for s in c.options})) or 'none'})")
        for k, _ in test.where:
            if not any(k in c.options for c in a_cells + b_cells):
                problems.append(f"{where}.{w}.where: neither {test.a!r} nor {test.b!r} has an option {k!r}")
        if not problems and not resolve(test, refs):
            problems.append(f"{where}.{w}: {test.a} vs {test.b} pairs no cells (same dataset, net and matched "
                            f"values of {', '.join(_match_keys(test, a_cells, b_cells)) or 'no key'}); "
                            f"set `match` to the keys that must be equal")
    return problems


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


def _seed_values(final, ok, a_cell: str, b_cell: str, metric: str, auto) -> tuple[str, str | None, dict]:
    """(metric name, its direction or None, ``{cell: {seed: value}}``) of a pair of cells; runs that are not ok
    are NaN."""
    sub = final[final["cell"].isin([a_cell, b_cell])]
    name, direction, values = _metric_values(sub, metric, auto)
    values = np.where(ok[sub.index].to_numpy(), values, np.nan)
    by_seed = {}
    for cell in (a_cell, b_cell):
        mask = (sub["cell"] == cell).to_numpy()
        by_seed[cell] = dict(zip(sub["seed"][mask], values[mask]))
    return name, direction, by_seed


def _setting(a: CellRef, b: CellRef) -> str:
    """The swept values of a pair, equal ones once, e.g. ``k=16`` or ``d=300; a: lr=0.03``."""
    oa, ob = a.options, b.options
    keys = list(dict.fromkeys([k for k, _ in a.swept] + [k for k, _ in b.swept]))
    equal = [k for k in keys if k in oa and k in ob and _same(oa[k], ob[k])]
    common = [f"{k}={_fmt(oa[k])}" for k in equal]
    only_a = [f"{k}={_fmt(v)}" for k, v in a.swept if k not in equal]
    only_b = [f"{k}={_fmt(v)}" for k, v in b.swept if k not in equal]
    parts = common + ([f"a: {' '.join(only_a)}"] if only_a else []) + ([f"b: {' '.join(only_b)}"] if only_b else [])
    return "; ".join(parts)


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def compare(final, tests: list[Test], options: dict, metrics: dict[str, str], auto=AUTO):
    """One row per compared pair of cells (:data:`COLUMNS`), Holm-adjusted over all rows.

    Args:
        final: ``final.csv`` of one experiment (rows whose ``status`` is not ``ok`` count as missing: a
            diverged seed drops its pair, counted in ``n_dropped``).
        tests: the experiment's tests (:func:`tests_of`).
        options: alpha, confidence, n_resamples, random_state.
        metrics: the family's metric directions (beside :data:`CORE_METRICS`).
        auto: the family's ``metric: auto`` column groups.
    """
    import pandas as pd

    from weightspace.comparisons import holm, holm_cannot_reach, min_sign_flip_p, paired_comparison, unpaired_comparison

    known = {**CORE_METRICS, **metrics}
    refs = cells_from_final(final, sorted({k for t in tests for k in (*(t.match or ()), *dict(t.where))}))
    ok = _ok(final)
    rows = []
    for test in tests:
        for a, b in resolve(test, refs):
            name, direction, by_seed = _seed_values(final, ok, a.cell, b.cell, test.metric, auto)
            direction = test.direction or direction or known.get(name)
            if direction is None:
                continue  # a default's metric this dataset does not have
            if not any(np.isfinite(v) for side in by_seed.values() for v in side.values()):
                continue  # the metric is missing for this pair (e.g. a structure metric on a dataset without one)
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
            rows.append({"dataset": a.dataset, "net": a.net, "a": test.a, "b": test.b, "setting": _setting(a, b),
                         "a_cell": a.cell, "b_cell": b.cell, "metric": name, "direction": direction, **res})
    table = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in table:
            table[c] = pd.Series(dtype=float)
    if len(table):
        table["p_holm"] = holm(table["p"].to_numpy(float))
        m = int(np.isfinite(table["p"].to_numpy(float)).sum())
        table["m"] = m
        alpha = options["alpha"]
        # power: flagged where even the most extreme data its seed count allows (paired: 2 / 2^n_pairs, exact
        # sign-flip; unpaired: the smallest exact Mann-Whitney p) would miss alpha after Holm
        best = [min_sign_flip_p(int(n)) if paired else pm
                for n, paired, pm in zip(table["n_pairs"], table["paired"], table["p_min_attainable"])]
        table["cannot_reach"] = holm_cannot_reach(table["p"].to_numpy(float), best, alpha)
        table["significant"] = table["p_holm"].to_numpy(float) < alpha
        table["paired"] = table["paired"].astype(bool)
    return table[COLUMNS]


def aggregate(final, table, options: dict, auto=AUTO):
    """Each comparison pooled over datasets (tasks), where it ran on two or more (:data:`AGGREGATE_COLUMNS`).

    Per comparison (a, b, net, setting, metric): the interquartile mean of A's and of B's runs over all tasks
    with stratified bootstrap intervals (runs resampled within each task), and P(A better than B) averaged
    over tasks (Agarwal et al. 2021). Raw metric values are pooled: meaningful where the tasks share a scale
    (accuracies); read it with that in mind for losses.
    """
    import pandas as pd

    from weightspace.comparisons import mean_prob_improvement, stratified_iqm

    rows = []
    if len(table):
        ok = _ok(final)
        for key, grp in table.groupby(["net", "a", "b", "setting", "metric", "direction"], sort=False):
            if grp["dataset"].nunique() < 2:
                continue
            net, a, b, setting, metric, direction = key
            a_tasks, b_tasks, tasks = [], [], []
            for _, r in grp.iterrows():
                _, _, by_seed = _seed_values(final, ok, r["a_cell"], r["b_cell"], metric, auto)
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


def spec(exp: dict, defaults: list[dict]) -> dict:
    """An experiment's resolved comparisons as JSON-able data (what ``weightspace analyze`` is given)."""
    from dataclasses import asdict

    opts = options_of(exp)
    return {"options": {k: opts[k] for k in _STAT_OPTIONS},
            "tests": [asdict(t) for _, t in tests_of(exp, exp["variants"], defaults)]}


def from_spec(data: dict) -> tuple[list[Test], dict]:
    """The tests and options of :func:`spec`'s output."""
    tests = [Test(**{**t, "match": tuple(t["match"]) if t.get("match") is not None else None,
                     "where": tuple(tuple(kv) for kv in t.get("where") or ())}) for t in data.get("tests", [])]
    return tests, {**{k: OPTIONS[k] for k in _STAT_OPTIONS},
                   **data.get("options", {})}


def write(final, data: dict, family, out_dir) -> list:
    """comparisons.csv and comparisons_aggregate.csv of one experiment into ``out_dir``."""
    from pathlib import Path

    from weightspace.io import write_dataframe

    tests, options = from_spec(data)
    table = compare(final, tests, options, family.metrics, family.auto_metric)
    pooled = aggregate(final, table, options, family.auto_metric)
    out_dir = Path(out_dir)
    write_dataframe(out_dir / "comparisons.csv", table)
    write_dataframe(out_dir / "comparisons_aggregate.csv", pooled)
    return [out_dir / "comparisons.csv", out_dir / "comparisons_aggregate.csv"]
