"""Comparisons of variants, family-independent: declared tests -> resolved spec -> paired table -> pooled table
-> report.

=================  ===========================================================================================
``declared.py``    the tests an experiment declares (or its family's defaults), checked before any job runs,
                   resolved into pairs of cells, and the spec ``weightspace analyze`` is given (:func:`spec`)
``tables.py``      ``comparisons.csv`` (one row per compared pair of cells, Holm over the experiment:
                   :func:`paired_table`) and ``comparisons_aggregate.csv`` (pooled over datasets:
                   :func:`pooled_table`)
``report.py``      ``comparisons.tex`` and the comparisons figure (imported on its own: it needs matplotlib)
=================  ===========================================================================================

The statistics themselves (tests, intervals, Holm, attainable p) are :mod:`weightspace.stats`.
"""

from __future__ import annotations

from weightspace.comparisons.declared import (
    AUTO,
    CORE_METRICS,
    OPTIONS,
    TRAIN_KEYS,
    CellRef,
    Test,
    cells_from_config,
    cells_from_final,
    check,
    from_spec,
    options_of,
    resampling_bytes,
    resolve,
    spec,
    tests_of,
    variant_train,
)
from weightspace.comparisons.tables import AGGREGATE_COLUMNS, COLUMNS, paired_table, pooled_table, write_tables

__all__ = ["AUTO", "CORE_METRICS", "OPTIONS", "TRAIN_KEYS", "CellRef", "Test", "cells_from_config",
           "cells_from_final", "check", "from_spec", "options_of", "resampling_bytes", "resolve", "spec", "tests_of",
           "variant_train", "AGGREGATE_COLUMNS", "COLUMNS", "paired_table", "pooled_table", "write_tables"]
