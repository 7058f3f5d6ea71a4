"""One experiment's tables and figures, in one process: the workflow's job per experiment.

:func:`render` aggregates the experiment's runs (``curves.csv``, ``final.csv``, ``timings.csv``), writes its
family's analysis tables and its comparisons (``comparisons.csv``, ``comparisons_aggregate.csv``), then makes
every artifact instance that applies (:func:`weightspace.artifacts.outputs`): pandas, matplotlib and the
package are imported once for all of them. :func:`make` remakes one artifact from the tables already there
(``weightspace make``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from weightspace import comparisons, registry
from weightspace.aggregate import aggregate
from weightspace.artifacts import Artifact, Instance, find, outputs, qualified
from weightspace.config import expand, experiment_seeds
from weightspace.plan import run_files
from weightspace.errors import WeightspaceError

__all__ = ["render", "make", "write_tables"]


def _experiment(config: dict, experiment: str) -> tuple[dict, dict[str, dict]]:
    cells = expand(config)
    if experiment not in cells:
        known = ", ".join(cells) or "(none)"
        raise WeightspaceError(f"no enabled experiment {experiment!r} in the config; enabled experiments: {known}")
    return config["experiments"][experiment], cells[experiment]


def write_tables(config: dict, experiment: str) -> list[Path]:
    """Aggregate an experiment's runs, then write its family's analysis and its comparisons (what ``weightspace
    aggregate`` and ``weightspace analyze --comparisons-json`` write, with the settings the workflow gives them)."""
    import pandas as pd

    exp, cells = _experiment(config, experiment)
    family = registry.FAMILIES[exp["family"]]
    out = Path(config["results_dir"]) / experiment
    written = list(aggregate(run_files(config, experiment, cells), out))
    final = pd.read_csv(out / "final.csv")  # read back, as a separate analyze job reads it
    # the analysis key and the comparisons as JSON gives them (the form `weightspace analyze` is given)
    analysis = json.loads(json.dumps(exp.get("analysis") or {}))
    spec = json.loads(json.dumps(comparisons.spec(exp, family.default_comparisons(exp), cells), sort_keys=True))
    return written + family.tables(final, analysis, spec, out)


def _instances(config: dict, experiment: str, only: Artifact | None = None, keys: dict | None = None
               ) -> list[Instance]:
    exp, cells = _experiment(config, experiment)
    family = registry.FAMILIES[exp["family"]]
    results, seeds, tables = Path(config["results_dir"]) / experiment, experiment_seeds(config, experiment), {}
    out = []
    for a, values, cs, paths in outputs(family, experiment, exp, cells, Path(config["figures_dir"])):
        named = dict(zip(a.per, values))
        if only is not None and (a is not only or any(named.get(k) != v for k, v in (keys or {}).items())):
            continue
        out.append(Instance(a, experiment, exp, cs, named, results, seeds, paths[0], tables))
    return out


def _make_all(instances: list[Instance], log: Callable[[str], None]) -> list[Path]:
    written = []
    for inst in instances:
        inst.out.parent.mkdir(parents=True, exist_ok=True)
        paths = [Path(p) for p in inst.artifact.make(inst) or []]
        log("wrote " + ", ".join(map(str, paths)))
        written += paths
    return written


def render(config: dict, experiment: str, log: Callable[[str], None] = print) -> list[Path]:
    """Everything of one experiment after training: its tables (:func:`write_tables`), then every figure and
    LaTeX table its artifacts make. ``config``: validated."""
    written = write_tables(config, experiment)
    log("wrote " + ", ".join(map(str, written)))
    return written + _make_all(_instances(config, experiment), log)


def make(config: dict, experiment: str, name: str, keys: dict[str, str] | None = None,
         log: Callable[[str], None] = print) -> list[Path]:
    """One artifact of an experiment (``<family>.<artifact>``, or a common one), every instance of it or those
    whose keys are ``keys`` (e.g. ``{"dataset": "digits"}``), from the tables the experiment already has."""
    exp, _ = _experiment(config, experiment)
    family, artifact = find(registry.families(), name)
    if "." in name and family.name != exp["family"]:
        raise WeightspaceError(f"{name} is an artifact of the {family.name} family; experiment {experiment!r} is of "
                               f"the {exp['family']} family")
    unknown = sorted(set(keys or {}) - set(artifact.per))
    if unknown:
        raise WeightspaceError(f"{name} is made per {', '.join(artifact.per) or 'experiment'}; it has no "
                               f"{', '.join(unknown)} to choose")
    instances = _instances(config, experiment, artifact, keys)
    if not instances:
        raise WeightspaceError(f"{qualified(family, artifact)} makes nothing in experiment {experiment!r}"
                               + (f" for {keys}" if keys else "") + " (its cells do not have what it shows)")
    return _make_all(instances, log)
