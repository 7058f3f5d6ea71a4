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

The core (config validation, the trainer, the CLI, the common rules) loops
over :data:`weightspace.families.FAMILIES` and never names a family. This
module and every family's ``__init__`` import no torch: parsing the workflow
and validating a config stay fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from weightspace.headlines import read_table

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    import pandas as pd

    from weightspace.artifacts import Artifact

    from weightspace.data import DatasetInfo
    from weightspace.netspec import NetSpec

__all__ = ["ReparamSpec", "ArchSpec", "Family", "DIRECT"]


def _no_problems(variant: dict, cell: dict, net: "NetSpec", dataset: "DatasetInfo") -> list[tuple[str, str]]:
    return []


@dataclass(frozen=True)
class ReparamSpec:
    """A reparameterization as the config layer and the trainer see it (torch-free).

    Attributes:
        name: the value of ``reparam:`` in a variant.
        build: ``"module:function"``; the function is called as
            ``f(variant, net, seeds, device, context)`` and returns the
            :class:`~weightspace.reparam.base.Reparam` (``context``:
            ``structure``, the dataset's known structure or None, and
            ``epochs``, the cell's training epochs).
        memory: ``memory(variant, net_spec, n_seeds)``: bytes of its fixed
            and trained tensors with Adam's moments, estimated before allocating.
        check: ``check(variant, cell, net_spec, dataset_info)``: problems of a
            cell, each ``(option, message)`` (``option`` "" for the variant as a
            whole); the caller prefixes the variant's key path.
        size_key: the option a training step's cost grows with (``plan`` interpolates over it).
        memory_hint: what to change when a cell needs more than ``memory_limit_gib``.
    """

    name: str
    build: str
    memory: Callable[[dict, "NetSpec", int], int]
    check: Callable[[dict, dict, "NetSpec", "DatasetInfo"], list[tuple[str, str]]] = _no_problems
    size_key: str | None = None
    memory_hint: str = ""

    def make(self, variant: dict, net, seeds: list[int], device: Any = "cpu", **context) -> Any:
        module, func = self.build.split(":")
        return getattr(importlib.import_module(module), func)(variant, net, seeds, device, context)


#: direct training: the core reparameterization every family compares against
DIRECT = ReparamSpec(
    "direct",
    "weightspace.reparam.direct:build",
    memory=lambda variant, net, n_seeds: 4 * net.n_params * n_seeds * 3,  # theta, Adam's two moments
)


@dataclass(frozen=True)
class ArchSpec:
    """A net architecture a family adds (torch-free), beside the core's fc, lenet and smallcnn.

    Attributes:
        name: the value of ``arch:`` in a net config.
        spec: ``spec(input_shape, n_outputs, options)`` -> :class:`~weightspace.netspec.NetSpec`
            (``options``: the net config's ``widths`` and the keys its family's ``schema.yaml`` declares
            under ``nets.<name>``); raises ValueError, naming the sizes, for inputs it cannot take.
        forward: ``"module:function"``; the function takes the NetSpec and returns
            ``forward(weights, x) -> (S, B, n_outputs)``, seed-batched like the core's nets.
    """

    name: str
    spec: Callable[[tuple, int, dict], "NetSpec"]
    forward: str


@dataclass
class Family:
    """An experiment family. Subclass it in ``families/<name>/__init__.py`` and register the instance.

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
            whose ``spec`` is ``{kind: description}`` (see :meth:`datasets`).
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

    def datasets(self, config: dict) -> dict[str, "DatasetInfo"]:
        """The datasets a config defines through this family's top-level keys (``config:`` in its schema.yaml),
        by name; descriptions too broken to make a record are left out (its checks report them)."""
        return {}

    def dataset_names(self, config: dict) -> list[str]:
        """The names of the datasets a config defines through this family's top-level keys, also of descriptions
        too broken to make a record (a reference to one is reported by :meth:`check_config`, not as unknown)."""
        return []

    def check_config(self, config: dict) -> list[str]:
        """Problems of this family's top-level keys that the schema cannot express (one line each)."""
        return []

    def check_experiment(self, where: str, exp: dict, config: dict) -> list[str]:
        """Problems of an experiment of this family that the schema cannot express (one line each)."""
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
