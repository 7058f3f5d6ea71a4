"""What an experiment family is, for the core: the interface every family folder implements.

A family (``weightspace/families/<name>/``) is everything that only it knows:

* its **reparameterizations** (:class:`ReparamSpec`: how to build one from a
  variant, how much memory it needs, what a cell must satisfy),
* its **config keys** (``schema.yaml`` beside its ``__init__.py``: the options
  of each of its reparameterizations and the extra keys of its experiments,
  e.g. ``analysis`` or ``cost``),
* what a trained run leaves behind besides its metrics (:meth:`Family.examine`,
  :attr:`Family.run_files`),
* its **analysis** of ``final.csv`` (:meth:`Family.analyze`), and its LaTeX
  tables and figures, each listed once as an :class:`~weightspace.artifacts.Artifact`
  (``ARTIFACTS`` in its ``artifacts.py``, :meth:`Family.artifacts`): the workflow's
  rules, the report and ``weightspace make`` are derived from that list,
* its **headline**: the main result, in a line or two, read from its tables at
  the end of a run (:meth:`Family.headline`, ``weightspace summary``).

A family's reparameterizations and architectures are :class:`~weightspace.registry.ReparamSpec` and
:class:`~weightspace.registry.ArchSpec` records. Importing :mod:`weightspace.families` registers every
family in :mod:`weightspace.registry`; the core (config validation, the trainer, the CLI, the common rules)
looks names up there and never names a family. This module and every family's ``__init__`` import no torch:
parsing the workflow and validating a config stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from weightspace import comparisons
from weightspace.headlines import read_table
from weightspace.registry import DIRECT, ArchSpec, ReparamSpec  # the records a family lists

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    import pandas as pd

    from weightspace.artifacts import Artifact

    from weightspace.data import DatasetInfo

__all__ = ["Family"]


@dataclass
class Family:
    """An experiment family. Subclass it in ``families/<name>/__init__.py``; ``families/__init__.py`` registers
    the instance.

    Attributes:
        name: the value of ``family:`` in an experiment.
        description: one line for docs and the schema.
        reparams: its reparameterizations (``direct`` is the core's and available to every family).
        archs: net architectures it adds (any experiment may use them).
        run_files: per-seed files a training job of this family writes besides ``metrics.csv`` and
            ``summary.json`` (declared as the job's outputs).
        analysis_files: the tables ``weightspace analyze`` writes into ``results/<experiment>/``.
        metrics: the family's columns of ``final.csv`` a comparison may test, with their direction
            (``higher`` or ``lower`` is better), beside the core's (test accuracy and losses).
        auto_metric: what ``metric: auto`` of a comparison means: column groups with their direction; the
            first group with a value for a dataset's rows is used, within it the first non-missing column of
            each row (e.g. the hardened net's accuracy, else the net's own).
        dataset_kinds: datasets it defines from a description, ``{kind: "module:function"}``; the function
            is called as ``f(name, description)`` and returns a :class:`~weightspace.data.DatasetInfo`
            whose ``spec`` is ``{kind: description}`` (see :meth:`datasets`); registered in
            :data:`weightspace.registry.DATASET_KINDS`.
    """

    name: str
    description: str
    reparams: tuple[ReparamSpec, ...] = ()
    archs: tuple[ArchSpec, ...] = ()
    run_files: tuple[str, ...] = ()
    analysis_files: tuple[str, ...] = ()
    metrics: dict[str, str] = field(default_factory=dict)
    auto_metric: tuple[tuple[tuple[str, ...], str], ...] = ((("final_test_acc",), "higher"),
                                                           (("final_test_loss",), "lower"))
    folder: Path = field(default_factory=Path)
    dataset_kinds: dict[str, str] = field(default_factory=dict)
    _schema: dict | None = field(default=None, init=False, repr=False, compare=False)

    # -- config ----------------------------------------------------------------------------------

    def schema(self) -> dict:
        """The family's schema fragment (``schema.yaml`` in its folder): ``experiment``, ``reparams``, ``$defs``.

        Read once per process (every validation asks for it); callers must not modify it.
        """
        if self._schema is None:
            path = self.folder / "schema.yaml"
            self._schema = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
        return self._schema

    def builtin_datasets(self) -> dict[str, "DatasetInfo"]:
        """The datasets the family defines for every config, by name (registered with the family in
        :data:`weightspace.registry.DATASETS`; a config may redefine them only through the family's own keys)."""
        return {}

    def datasets(self, config: dict) -> dict[str, "DatasetInfo"]:
        """The datasets a config defines through this family's top-level keys (``config:`` in its schema.yaml),
        by name; descriptions too broken to make a record are left out (its checks report them)."""
        return {}

    def dataset_names(self, config: dict) -> list[str]:
        """The names of the datasets a config defines through this family's top-level keys, also of descriptions
        too broken to make a record (a reference to one is reported by :meth:`check_config`, not as unknown)."""
        return []

    def check_config(self, config: dict) -> list[str]:
        """Problems of this family's top-level keys that the schema cannot express (one line each).

        ``config`` has its defaults filled in, and its ``datasets`` attribute (see
        :class:`weightspace.config.Validated`) holds every dataset it can name, its own ones included."""
        return []

    def check_experiment(self, where: str, exp: dict, config: dict) -> list[str]:
        """Problems of an experiment of this family that the schema cannot express (one line each); ``config`` as
        in :meth:`check_config`."""
        return []

    def default_comparisons(self, exp: dict) -> list[dict]:
        """The comparisons an experiment gets without declaring any (tests as in its ``comparisons.tests``).

        Default: every variant that is not direct training against each direct variant. Every test's pairs are
        matched on the keys both variants sweep and on every training setting that differs between the cells
        (optimizer, lr, ..., swept or set per variant: :mod:`weightspace.comparisons`), so a default only
        pairs cells trained alike, and is left out where there are none.
        """
        direct = [v["name"] for v in exp["variants"] if v["reparam"] == DIRECT.name]
        return [{"a": v["name"], "b": d} for d in direct for v in exp["variants"] if v["reparam"] != DIRECT.name]

    # -- figures and tables ----------------------------------------------------------------------

    def artifacts(self) -> tuple["Artifact", ...]:
        """The family's figures and LaTeX tables (``ARTIFACTS`` of its ``artifacts.py``), besides the comparisons'
        every experiment has (:data:`weightspace.artifacts.COMMON`). Each is made once per instance that applies
        by the experiment's render job; see :mod:`weightspace.artifacts`."""
        return ()

    def add_bench(self, bench: "argparse._SubParsersAction") -> None:
        """Add the family's ``weightspace bench`` subcommands (each sets its own ``func``), e.g. a benchmark whose
        table an artifact shows (its job is a rule of the family's rules file)."""

    # -- after training (torch) ------------------------------------------------------------------

    def examine(self, reparam, data) -> list[tuple[dict, dict[str, dict]]]:
        """Per seed, after training: (metrics for ``summary.json`` and ``final.csv``, ``{file: arrays}``).

        The files are exactly :attr:`run_files` (each written as a compressed ``.npz`` of its arrays).
        """
        return [({}, {}) for _ in range(reparam.n_seeds)]

    # -- analysis --------------------------------------------------------------------------------

    def analyze(self, final: "pd.DataFrame", analysis: dict, out_dir: Path) -> list[Path]:
        """Write :attr:`analysis_files` from ``final.csv``'s rows; ``analysis`` is the experiment's ``analysis`` key."""
        return []

    def tables(self, final: "pd.DataFrame", analysis: dict, comparisons_spec: dict | None, out_dir: Path) -> list[Path]:
        """Every table made from ``final.csv``: the comparisons (``comparisons_spec``, resolved; none without it),
        then :meth:`analyze`'s, which may read ``comparisons.csv`` (feedback's p-values). The render job and
        ``weightspace analyze`` both write them through here."""
        if comparisons_spec is None:
            return self.analyze(final, analysis, out_dir)
        return comparisons.write_tables(final, comparisons_spec, self, out_dir) + self.analyze(final, analysis, out_dir)

    # -- the end of a run ------------------------------------------------------------------------

    def headline(self, folder: Path) -> list[str]:
        """An experiment's main result in one or two lines, read from its tables in ``folder``
        (``results/<experiment>/``), for ``weightspace summary`` and the end of a workflow run.

        Each number says what it is, over how many seeds, and its interval or test (Holm-adjusted or not).
        Read a table with :func:`weightspace.headlines.read_table`: a missing one raises
        :class:`~weightspace.headlines.MissingTable`, which the summary reports. Default: how many of the
        experiment's comparisons (``comparisons.csv``) are significant after Holm's adjustment.
        """
        comparisons = read_table(folder, "comparisons.csv")
        if comparisons.empty:
            return ["no comparisons (comparisons.csv is empty)"]
        significant = int(comparisons["significant"].astype(bool).sum())
        unreachable = int(comparisons["cannot_reach"].astype(bool).sum())
        return [f"comparisons.csv: {significant} of {len(comparisons)} differences significant (Holm-adjusted p)"
                + (f"; {unreachable} could not reach significance with these seeds" if unreachable else "")]
