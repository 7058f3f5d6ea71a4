"""Declared tests -> resolved spec: which variant is compared with which, on which cells, by which metric.

An experiment's ``comparisons`` key (or, without one, its
family's defaults: :meth:`~weightspace.families.base.Family.default_comparisons`)
lists *tests*, each either

* ``{a: A, b: B}``: A against B, or
* ``{reference: R}`` (optionally ``variants: [...]``): every other variant against R,

with optional ``where`` (only cells with these option values), ``metric`` (a column of ``final.csv``; ``auto``: the test
accuracy for classification, else the test loss, hardened where the family
says so), ``direction`` (``higher`` or ``lower`` is better; known metrics
have one), ``match`` (option or training keys whose values must be equal on
both sides; default: every key both variants sweep) and ``paired`` (default
true: seed s of A against seed s of B).

**Training settings.** A pair of cells is also matched on every training setting (a ``train`` key: optimizer,
lr, batch_size, epochs, ...) that differs between the cells a test compares, whether swept or set per variant,
and such a setting is written in the row's ``setting``: the family's defaults and declared tests never compare
SGD with Adam, or one learning rate with another. Only a declared test's explicit ``match`` says otherwise: it
is matched on exactly its keys, and a training setting that differs is then shown per side (``a: lr=0.03;
b: lr=0.003``). ``final.csv`` has columns for swept keys only, so :func:`spec` carries each variant's other
training values that matter (:func:`cells_from_final` reads them back).

:func:`resolve` turns the tests into pairs of cells (from the expanded config,
before any job runs: :func:`check` reports tests that name no variant, no
metric, a key no side has, an accuracy on cells that have none, or match no
cell). :func:`spec` is the resolved spec ``weightspace analyze`` is given; from it,
:func:`weightspace.comparisons.tables.paired_table` computes the rows of ``comparisons.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

from weightspace.train.config import TrainConfig

__all__ = ["OPTIONS", "CORE_METRICS", "AUTO", "TRAIN_KEYS", "Test", "CellRef", "tests_of", "resolve", "check",
           "spec", "from_spec", "cells_from_final", "cells_from_config", "variant_train", "options_of",
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

#: the training settings (``train`` keys): pairs are matched on every one that differs between the compared cells
TRAIN_KEYS = tuple(TrainConfig.__dataclass_fields__)

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
    declared: bool = False  # under the experiment's comparisons.tests (not a family default): no row is an error

    @property
    def match_train(self) -> bool:
        """Whether the pairs are matched on every training setting that differs (all but an explicit ``match``)."""
        return not self.declared or self.match is None


@dataclass(frozen=True)
class CellRef:
    """A cell as the pairing sees it: where it is and what its variant sweeps."""

    cell: str
    dataset: str
    net: str
    variant: str
    swept: tuple[tuple[str, object], ...]
    values: tuple[tuple[str, object], ...] = ()  # the variant's options (for explicit `match` and `where` keys)
    train: tuple[tuple[str, object], ...] = ()  # its training settings (those that differ or a test names)

    @property
    def settings(self) -> dict:
        return dict(self.swept)

    @property
    def options(self) -> dict:
        return {**dict(self.values), **dict(self.train), **dict(self.swept)}


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
    declared = [(f"comparisons.tests[{i}]", t, True) for i, t in enumerate(opts["tests"])]
    if opts["defaults"]:
        declared += [(f"the {exp.get('family', '')} family's default comparison {t}", t, False) for t in defaults]
    names = [v["name"] for v in variants]
    out: list[tuple[str, Test]] = []
    seen = set()
    for where, t, own in declared:
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
            if test not in seen:  # a default the experiment also declares runs once, as declared
                seen.add(test)
                out.append((where, Test(a, b, **common, declared=own)))
    return out


def _same(x, y) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=0.0)
    return str(x) == str(y)


def _differing_train(cells: list[CellRef]) -> tuple[str, ...]:
    """The training settings whose values are not the same in all of ``cells``."""
    values: dict[str, list] = {}
    for c in cells:
        for k, v in c.train:
            values.setdefault(k, []).append(v)
    return tuple(sorted(k for k, vs in values.items() if any(not _same(vs[0], v) for v in vs[1:])))


def _match_keys(test: Test, a_cells: list[CellRef], b_cells: list[CellRef]) -> tuple[str, ...]:
    if test.match is not None:
        keys = test.match
    else:
        a_keys = {k for c in a_cells for k, _ in c.swept}
        b_keys = {k for c in b_cells for k, _ in c.swept}
        keys = tuple(sorted(a_keys & b_keys))
    if test.match_train:
        keys += tuple(k for k in _differing_train(a_cells + b_cells) if k not in keys)
    return keys


def _sides(test: Test, cells: Iterable[CellRef]) -> tuple[list[CellRef], list[CellRef]]:
    """The cells of a test's variant a and of its b, where its ``where`` holds."""
    cells = [c for c in cells if all(k not in c.options or _same(c.options[k], v) for k, v in test.where)]
    return [c for c in cells if c.variant == test.a], [c for c in cells if c.variant == test.b]


def resolve(test: Test, cells: Iterable[CellRef]) -> list[tuple[CellRef, CellRef]]:
    """The pairs of cells (a, b) a test compares: same dataset and net, equal values of the matched keys (and,
    but for an explicit ``match`` of a declared test, of every training setting that differs between them)."""
    a_cells, b_cells = _sides(test, cells)
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
        values = {k: v for k, v in c["variant"].items() if k not in ("name", "reparam") and _plain(v)}
        train = {k: v for k, v in c["train"].items() if _plain(v)}
        out.append(CellRef(cid, c["dataset"], c["net"]["name"], c["variant"]["name"], tuple(c["swept"].items()),
                           tuple(values.items()), tuple(train.items())))
    return out


def _plain(v) -> bool:
    return not isinstance(v, (dict, list))


def variant_train(cells: dict[str, dict], keys: Iterable[str] = ()) -> dict[str, dict]:
    """``{variant: {key: value}}``: the training settings the pairing needs that ``final.csv`` has no column for
    (not swept): those that differ between the experiment's cells, and ``keys`` (named by a test)."""
    refs = cells_from_config(cells)
    wanted = set(_differing_train(refs)) | (set(keys) & set(TRAIN_KEYS))
    out: dict[str, dict] = {}
    for c in refs:
        plain = {k: v for k, v in c.train if k in wanted and k not in c.settings}
        if plain:
            out.setdefault(c.variant, plain)
    return out


def cells_from_final(final, keys: Iterable[str] = (), train: dict[str, dict] | None = None) -> list[CellRef]:
    """CellRefs of the cells in ``final.csv``: the swept values, those of ``keys`` (explicit match keys) read back
    from their columns, and the training settings: swept ones from their columns, the others from ``train``
    (:func:`variant_train`, carried by the spec)."""
    out = []
    first = final.drop_duplicates("cell")
    for _, r in first.iterrows():
        swept = r.get("swept")
        swept_keys = str(swept).split() if isinstance(swept, str) else []
        values = tuple((k, r[k]) for k in keys if k in r and not _missing(r[k]) and k not in TRAIN_KEYS)
        cell_train = {**(train or {}).get(r["variant"], {}), **{k: r[k] for k in swept_keys if k in TRAIN_KEYS}}
        out.append(CellRef(r["cell"], r["dataset"], r["net"], r["variant"], tuple((k, r[k]) for k in swept_keys),
                           values, tuple(sorted(cell_train.items()))))
    return out


#: lists replace when presets merge: a preset that changes an experiment's variants keeps the base config's tests
_PRESET_HINT = " (a preset that changes the variants gives its own comparisons.tests, e.g. tests: [])"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def check(where: str, exp: dict, cells: dict[str, dict], defaults: list[dict], metrics: dict[str, str],
          task: Callable[[dict], str]) -> list[str]:
    """Problems of an experiment's comparisons, before any job runs (one line each, naming the key).

    Declared tests must name existing, distinct variants, a known metric (or give its ``direction``), match
    keys both variants have (options or training settings), an accuracy only where a compared cell is a
    classification task, and compare at least one pair of cells. The family's defaults are skipped where they
    do not apply (a default naming no cell pair is not an error). ``task`` gives an expanded cell's task
    (:func:`weightspace.netspec.cell_task`).
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
                problems.append(f"{w}.{key}: no variant {t[key]!r} in this experiment; its variants: {', '.join(names)}"
                                f"{_PRESET_HINT}")
        for v in t.get("variants") or []:
            if v not in names:
                problems.append(f"{w}.variants: no variant {v!r} in this experiment; its variants: {', '.join(names)}"
                                f"{_PRESET_HINT}")
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
        if problems:
            continue
        pairs = resolve(test, refs)
        if not pairs:
            problems.append(f"{where}.{w}: {test.a} vs {test.b} pairs no cells (same dataset, net and matched "
                            f"values of {', '.join(_match_keys(test, *_sides(test, refs))) or 'no key'}); "
                            f"set `match` to the keys that must be equal")
            continue
        tasks = {task(cells[a.cell]) for a, _ in pairs}
        if test.metric.endswith("_acc") and "classification" not in tasks:
            problems.append(f"{where}.{w}.metric: {test.metric!r} is an accuracy, which only classification runs "
                            f"have; {test.a} vs {test.b} compares {' and '.join(sorted(tasks))} cells only (on "
                            f"{', '.join(sorted({a.dataset for a, _ in pairs}))}): use `metric: auto` or a loss")
    return problems


def spec(exp: dict, defaults: list[dict], cells: dict[str, dict]) -> dict:
    """An experiment's resolved comparisons as JSON-able data (what ``weightspace analyze`` is given): options,
    tests, and (where some are needed) the variants' training settings that final.csv has no column for.

    ``cells``: the experiment's expanded cells (:func:`weightspace.config.expand`).
    """
    from dataclasses import asdict

    opts = options_of(exp)
    tests = [t for _, t in tests_of(exp, exp["variants"], defaults)]
    out = {"options": {k: opts[k] for k in _STAT_OPTIONS},
           "tests": [{k: v for k, v in asdict(t).items() if k != "declared" or v} for t in tests]}
    train = variant_train(cells, {k for t in tests for k in (*(t.match or ()), *dict(t.where))})
    return {**out, "train": train} if train else out


def from_spec(data: dict) -> tuple[list[Test], dict]:
    """The tests and options of :func:`spec`'s output (its ``train``: ``data.get("train")``)."""
    tests = [Test(**{**t, "match": tuple(t["match"]) if t.get("match") is not None else None,
                     "where": tuple(tuple(kv) for kv in t.get("where") or ())}) for t in data.get("tests", [])]
    return tests, {**{k: OPTIONS[k] for k in _STAT_OPTIONS},
                   **data.get("options", {})}
