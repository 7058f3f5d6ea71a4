"""Configuration: load, merge presets, validate, expand into cells.

Data flows one way: YAML files -> :func:`load_config` (later files override
earlier ones: mappings merge key by key, lists, scalars and null replace) ->
:func:`validate` (numbers first - whole floats at integer keys become ints;
NaN, infinities and text where a number belongs are refused -, then the JSON
schema, then checks that need the nets and datasets, each failure one line
naming the key and the allowed values) ->
:func:`expand` (the grid: one *cell* per dataset x net x variant x swept
value, with every training hyperparameter resolved).

The Snakemake workflow and the CLI both go through these functions, so a
config that passes ``weightspace validate`` is exactly one the workflow runs.

=================  ==========================================================================
``files``          reading YAML safely, merging files (:func:`load_config`, :func:`merge`)
``schema``         the JSON schema: the core file, each family's fragment, the registry's names
``numbers``        integers, finite numbers and text where a number belongs, before the schema
``messages``       each problem as one line naming the key path and what is allowed
``defaults``       the schema's defaults and the training defaults
``checks``         what the schema cannot express: nets, names, each family's and each cell's checks
``grid``           :class:`Validated`, :func:`expand` into cells, cell names, what a variant sweeps
``validation``     :func:`validate`: all of the above in order
=================  ==========================================================================

The names below are importable from here (``from weightspace.config import validate``).
"""

from __future__ import annotations

from weightspace.config.files import MAX_YAML_NODES, load_config, load_yaml, merge
from weightspace.config.grid import Validated, cell_id, expand, experiment_seeds, variant_sweeps
from weightspace.config.schema import SCHEMA_PATH, load_schema
from weightspace.config.validation import validate, validate_files

__all__ = [
    "SCHEMA_PATH",
    "MAX_YAML_NODES",
    "load_config",
    "load_yaml",
    "merge",
    "validate",
    "Validated",
    "validate_files",
    "expand",
    "load_schema",
    "variant_sweeps",
    "cell_id",
    "experiment_seeds",
]
