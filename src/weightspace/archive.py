"""The results archive: a finished run's per-seed tables and its provenance, committed under
``results-archive/<run>/`` so that docs/results.md can be regenerated without training
(:mod:`weightspace.resultsdoc`).

A run folder (a workflow's ``results_dir``) holds, per experiment, the per-seed tables every analysis starts from
(``final.csv``: one row per cell and seed; ``curves.csv``: one row per evaluation, for the figures;
``timings.csv``; the meta-learning comparison's ``meta.csv``). ``weightspace archive`` copies exactly those (the
derived tables are recomputed from them), the config files the run was made with (so that its comparisons and
analysis settings are the run's own), and writes ``provenance.json``: the command, its wall time, the code
versions, torch, machine and device every run's ``summary.json`` records, and when the run finished. A run made on
any device is archived the same way; the provenance says which. This module imports neither torch nor pandas.
"""

from __future__ import annotations

import datetime
import re
import shutil
from pathlib import Path

from weightspace.errors import WeightspaceError
from weightspace.io import code_version, read_json, write_json

__all__ = ["ARCHIVE", "PER_SEED", "archive_run", "read_provenance"]

#: the archive's folder, relative to the repository root
ARCHIVE = Path("results-archive")
#: the per-seed tables of an experiment that are archived (where the run has them); an experiment is archived when
#: it has final.csv or meta.csv. curves.csv (megabytes) only with ``curves``: where the docs use a curve
PER_SEED = ("final.csv", "curves.csv", "timings.csv", "meta.csv")
#: provenance fields read from the runs' summary.json (``provenance`` key), each listed with its distinct values
_RUN_FIELDS = ("code_version", "torch", "python", "device", "device_name", "hostname", "platform", "cpu_threads")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _experiments(results: Path, curves: bool) -> dict[str, list[str]]:
    """Per experiment folder of ``results`` with a final.csv or meta.csv: the per-seed tables it has."""
    found = {}
    for folder in sorted(p for p in results.iterdir() if p.is_dir()):
        files = [f for f in PER_SEED if (folder / f).is_file() and (curves or f != "curves.csv")]
        if "final.csv" in files or "meta.csv" in files:
            found[folder.name] = files
    return found


def _run_provenance(results: Path, experiments: list[str]) -> dict[str, list]:
    """The distinct values of each provenance field over every run's summary.json (sorted, as text)."""
    seen: dict[str, set] = {k: set() for k in _RUN_FIELDS}
    for exp in experiments:
        for summary in (results / exp / "runs").glob("*/seed-*/summary.json"):
            prov = read_json(summary).get("provenance") or {}
            for k in _RUN_FIELDS:
                if prov.get(k) is not None:
                    seen[k].add(str(prov[k]))
    return {k: sorted(v) for k, v in seen.items() if v}


def archive_run(results: str | Path, name: str, configs: list[str], command: str, wall_time_s: float,
                machine: str | None = None, root: str | Path = ARCHIVE, force: bool = False,
                curves: bool = False) -> Path:
    """Copy a finished run folder's per-seed tables and config files into ``<root>/<name>/`` with its provenance.

    Args:
        results: the run's results folder (its ``results_dir``).
        name: the run's name in the archive (letters, digits, ``.``, ``_``, ``-``).
        configs: every config file the run was made with, in the order given to Snakemake (``config.yaml``
            first: the workflow always reads it).
        command: the command that made the run; ``wall_time_s``: its wall-clock time in seconds.
        machine: where it ran, in words; needed when no run of the folder has a summary.json to read it from
            (e.g. a run of the meta-learning comparison alone).
        force: replace an archived run of the same name.
        curves: also archive each experiment's curves.csv (one row per evaluation: megabytes), for the docs'
            statements about training curves.
    Returns:
        the run's archive folder.
    """
    results, root = Path(results), Path(root)
    if not _NAME.fullmatch(name):
        raise WeightspaceError(f"--name {name!r}: use letters, digits, '.', '_' and '-' only (e.g. mnist-tying)")
    if not results.is_dir():
        raise WeightspaceError(f"{results}: no such folder; give the results_dir of a finished run "
                               f"(e.g. results/mnist-tying)")
    if not configs:
        raise WeightspaceError("give the config files the run was made with: --configfile config.yaml PRESET.yaml")
    missing = [c for c in configs if not Path(c).is_file()]
    if missing:
        raise WeightspaceError(f"{missing[0]}: no such config file; give the files the run was made with")
    if not command.strip():
        raise WeightspaceError("--command is empty: give the command that made the run (e.g. 'snakemake --cores 1 "
                               "--configfile config/images.yaml')")
    if not wall_time_s > 0:
        raise WeightspaceError(f"--wall-time-s {wall_time_s}: give the run's wall-clock time in seconds (> 0)")
    experiments = _experiments(results, curves)
    if not experiments:
        raise WeightspaceError(f"{results}: no experiment folder with a final.csv or meta.csv; run the workflow to "
                               f"its end first (its render jobs write final.csv)")
    runs = _run_provenance(results, list(experiments))
    if not runs and not machine:
        raise WeightspaceError(f"{results}: no run's summary.json to read the machine and device from; say where "
                               f"the run was made with --machine (e.g. '2-core AMD EPYC VM, CPU, torch 2.14.1')")
    target = root / name
    if target.exists() and not force:
        raise WeightspaceError(f"{target} exists; choose another --name, or pass --force to replace it")
    staging = root / f".{name}.partial"  # complete or absent: a failed copy leaves no half-archived run
    if staging.exists():
        shutil.rmtree(staging)
    for exp, files in experiments.items():
        (staging / exp).mkdir(parents=True)
        for f in files:
            shutil.copyfile(results / exp / f, staging / exp / f)
    (staging / "config").mkdir(parents=True)
    copied = []
    for i, c in enumerate(configs, 1):
        dest = f"config/{i}-{Path(c).name}"
        shutil.copyfile(c, staging / dest)
        copied.append({"path": str(c), "copy": dest})
    finished = max((results / exp / f).stat().st_mtime for exp, files in experiments.items() for f in files)
    provenance = {
        "name": name,
        "command": command,
        "wall_time_s": round(float(wall_time_s), 1),
        "configs": copied,
        "finished_utc": datetime.datetime.fromtimestamp(finished, datetime.timezone.utc).isoformat(timespec="seconds"),
        "runs": runs,
        "machine": machine,
        "experiments": experiments,
        "archived_by": f"weightspace {code_version()}",
    }
    write_json(staging / "provenance.json", provenance)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def read_provenance(run: Path) -> dict:
    """An archived run's provenance.json (one line naming the file when it is missing)."""
    path = Path(run) / "provenance.json"
    if not path.is_file():
        raise WeightspaceError(f"{path}: missing; archive the run with `weightspace archive` (it writes it)")
    return read_json(path)
