""":func:`validate`: a config checked completely (numbers, the schema, the checks), its defaults filled in."""

from __future__ import annotations

from pathlib import Path

from weightspace import registry
from weightspace.config.checks import check_cell, check_comparisons, check_experiment
from weightspace.config.defaults import with_defaults
from weightspace.config.files import load_config, load_yaml
from weightspace.config.grid import Validated, expand
from weightspace.config.messages import problem_text, schema_errors
from weightspace.config.numbers import check_numbers
from weightspace.config.schema import config_schema
from weightspace.data import RESERVED, known
from weightspace.errors import ConfigError

__all__ = ["validate", "validate_files"]


def validate(config: dict) -> Validated:
    """Check ``config`` completely; return it with defaults filled in, and the datasets it can name
    (:class:`Validated`). Nothing global changes: a config's own datasets are only in what it returns.

    Raises:
        ConfigError: listing every problem found, one per line, each naming the
            key and what is allowed.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"the config must be a mapping, got {type(config).__name__}")
    families = registry.families()
    datasets = known()
    for family in families.values():  # datasets the config defines (the sharing family's teachers)
        datasets.update({name: info for name, info in family.datasets(config).items()
                         if name not in RESERVED})  # never replaced, not even for a config validation refuses
    # defined by the config but not made (a broken teacher): a reference to one is explained by the
    # definition's own problem (the family's checks), not refused as an unknown dataset
    unmade = {n for family in families.values() for n in family.dataset_names(config)} - set(datasets)
    schema = config_schema(tuple(datasets))
    found: list[tuple[list, str]] = []
    config = check_numbers(config, schema, schema, [], config, found)
    problems = [m for _, m in found]
    problems += [m for m in schema_errors(config, schema, [tuple(p) for p, _ in found], unmade) if m not in problems]
    if problems:
        raise ConfigError(problem_text(problems))
    config = Validated(with_defaults(config, schema), datasets)
    problems = [p for family in families.values() for p in family.check_config(config)]
    if not problems and unmade:  # no check explains a definition: a reference to it is an unknown dataset after all
        problems = schema_errors(config, schema)
    if problems:
        raise ConfigError(problem_text(problems))
    for name, exp in config["experiments"].items():
        problems += check_experiment(name, exp, config)
    if not problems:
        expanded = expand(config)
        for exp_cells in expanded.values():
            for cell in exp_cells.values():
                problems += [p for p in check_cell(cell, config) if p not in problems]
        if not problems:
            problems += check_comparisons(config, expanded)
    if problems:
        raise ConfigError(problem_text(problems))
    return config


def _is_complete(path: str | Path) -> bool:
    """Whether a config file defines `nets` and the family of every experiment (a base, not a preset)."""
    try:
        data = load_yaml(path)
    except (OSError, ConfigError):
        return True
    if not isinstance(data, dict) or "nets" not in data or not isinstance(data.get("experiments"), dict):
        return False
    return all(isinstance(e, dict) and "family" in e for e in data["experiments"].values())


def validate_files(*paths: str | Path) -> dict:
    """:func:`load_config` then :func:`validate`; when required keys are missing and the first file is not a
    complete config (a preset given alone), the error says that presets merge over a base config."""
    config = load_config(*paths)
    try:
        return validate(config)
    except ConfigError as e:
        if "is a required property" in str(e) and not _is_complete(paths[0]):
            files = " ".join(str(p) for p in paths)
            raise ConfigError(
                f"{e}\n  hint: presets are merged over a base config: give it first, "
                f"e.g. `weightspace validate config.yaml {files}`"
            ) from None
        raise
