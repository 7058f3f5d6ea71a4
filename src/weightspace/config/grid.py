"""The grid of a validated config: one *cell* per dataset x net x variant x swept value, with every training
hyperparameter resolved, and the names of cells."""

from __future__ import annotations

import itertools
import math
from typing import Any

from weightspace.config.files import merge
from weightspace.config.messages import problem_text
from weightspace.data import DatasetInfo
from weightspace.errors import ConfigError

__all__ = ["Validated", "expand", "cell_id", "variant_sweeps", "experiment_seeds"]

#: Variant keys that are not reparameterization options.
_VARIANT_META = ("name", "reparam", "train")


class Validated(dict):
    """A validated config: the mapping, with its defaults filled in, that :func:`weightspace.config.validate` returns,
    and what the config defines beyond the registry's names.

    Attributes:
        datasets: every dataset the config can name, by name: the core's and the families' built-in ones
            (:func:`weightspace.data.known`), then those the config defines (a family's config keys, e.g. the
            sharing family's ``teachers``), each a :class:`~weightspace.data.DatasetInfo`.
    """

    def __init__(self, config: dict, datasets: dict[str, DatasetInfo]):
        super().__init__(config)
        self.datasets = datasets


def experiment_seeds(config: dict, experiment: str) -> list[int]:
    """The seeds of an experiment of a validated config: its own ``seeds``, else the top-level ones."""
    seeds = config["experiments"][experiment].get("seeds", config["seeds"])
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def variant_sweeps(variant: dict, exp: dict, config: dict) -> dict[str, list]:
    """The keys a variant sweeps (list-valued options, and train keys after merging) and their values."""
    train = merge(merge(config["train"], exp.get("train") or {}), variant.get("train") or {})
    options = {k: v for k, v in variant.items() if k not in _VARIANT_META}
    return {k: v for k, v in {**options, **train}.items() if isinstance(v, list)}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return repr(v) if not math.isinf(v) else "inf"
    return str(v)


def cell_id(dataset: str, net: str, variant: str, swept: dict[str, Any]) -> str:
    """Readable, unique name of a cell: ``mnist__fc__dense__d100__lr0.003``.

    Net and variant names contain no '_', dataset names no '__' (schema), so '__' separates parts unambiguously;
    :func:`expand` refuses two cells of one name all the same (a swept value whose text repeats another's).
    """
    parts = [dataset, net, variant] + [f"{k}{_fmt(v)}" for k, v in swept.items()]
    return "__".join(parts)


def _grid(options: dict[str, Any]) -> tuple[list[str], list[tuple]]:
    keys = [k for k, v in options.items() if isinstance(v, list)]
    values = [options[k] for k in keys]
    return keys, list(itertools.product(*values)) if keys else [()]


def expand(config: Validated) -> dict[str, dict[str, dict]]:
    """All cells of the enabled experiments: ``{experiment: {cell_id: cell}}``.

    ``config`` is what :func:`~weightspace.config.validation.validate` returned: a cell of a dataset the config
    defines carries its description (``dataset_spec``), from which a training job makes its record again.
    """
    if not isinstance(config, Validated):
        raise TypeError("expand takes the config validate returns (a weightspace.config.Validated), which knows "
                        "its datasets")
    out: dict[str, dict[str, dict]] = {}
    for exp_name, exp in config["experiments"].items():
        if not exp.get("enabled", True):
            continue
        cells: dict[str, dict] = {}
        origins: dict[str, str] = {}  # cell name -> what it is made of
        for dataset in exp["datasets"]:
            for net_name in exp["nets"]:
                net_cfg = {"name": net_name, **config["nets"][net_name]}
                for variant in exp["variants"]:
                    options = {k: v for k, v in variant.items() if k not in _VARIANT_META}
                    train = merge(merge(config["train"], exp.get("train") or {}), variant.get("train") or {})
                    okeys, ocombos = _grid(options)
                    tkeys, tcombos = _grid(train)
                    for ocombo in ocombos:
                        for tcombo in tcombos:
                            swept = dict(zip(okeys, ocombo)) | dict(zip(tkeys, tcombo))
                            cid = cell_id(dataset, net_name, variant["name"], swept)
                            origin = _origin(dataset, net_name, variant["name"], swept)
                            if cid in origins:  # one would overwrite the other's results
                                raise ConfigError(problem_text([
                                    f"experiments.{exp_name}: two cells are both named {cid!r} ({origins[cid]}; "
                                    f"{origin}); rename one of them, or list a swept value once"]))
                            origins[cid] = origin
                            cells[cid] = {
                                **({"dataset_spec": spec} if (spec := config.datasets[dataset].spec) else {}),
                                "experiment": exp_name,
                                "family": exp["family"],
                                "cell": cid,
                                "dataset": dataset,
                                "net": net_cfg,
                                "variant": {
                                    "name": variant["name"],
                                    "reparam": variant["reparam"],
                                    **options,
                                    **dict(zip(okeys, ocombo)),
                                },
                                "train": {**train, **dict(zip(tkeys, tcombo))},
                                "swept": swept,
                            }
        out[exp_name] = cells
    return out


def _origin(dataset: str, net: str, variant: str, swept: dict) -> str:
    """'dataset a, net linear, variant linear, k=4': what a cell is made of."""
    return ", ".join([f"dataset {dataset}", f"net {net}", f"variant {variant}",
                      *(f"{k}={_fmt(v)}" for k, v in swept.items())])
