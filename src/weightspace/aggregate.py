"""Per-seed run files -> tidy tables.

``curves.csv``: one row per (cell, seed, evaluation step).
``final.csv``: one row per (cell, seed), with the run's status and final numbers.

Both carry the cell's identifying columns (experiment, cell, dataset, net,
variant, reparam, the variant's options such as projection and d, every
swept hyperparameter, and the conventions ``input_scaling`` and ``init``
whether swept or not), so later stages group by columns, never parse names.
The ``swept`` column names the keys the grid varied for that cell
(space-separated, e.g. ``"d lr"``): every analysis keeps each swept setting
apart (:func:`weightspace.formatting.with_setting`).
A diverged run stays in both tables with ``status = diverged``.

``timings.csv``: one row per (cell, seed): the run's training and wall-clock
time and its device. Times are measurements of the machine, not results: they
are kept out of the other two tables, so that re-running a config regenerates
``curves.csv``, ``final.csv`` and everything computed from them byte for byte
(the per-step times stay in each run's ``metrics.csv``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from weightspace.data import SCALINGS
from weightspace.errors import WeightspaceError
from weightspace.io import read_json, write_dataframe
from weightspace.netspec import init_text

__all__ = ["collect", "aggregate", "ID_COLUMNS", "TIME_COLUMNS"]

#: measurements of the machine: in timings.csv, not in curves.csv or final.csv
TIME_COLUMNS = ["train_time_s", "wall_time_s"]

ID_COLUMNS = ["experiment", "family", "cell", "dataset", "net", "arch", "variant", "reparam"]


def _cell_columns(summary: dict) -> dict:
    cell = summary["config"]
    variant = cell["variant"]
    cols = {
        "experiment": cell["experiment"],
        "family": cell.get("family"),
        "cell": cell["cell"],
        "dataset": cell["dataset"],
        "net": cell["net"]["name"],
        "arch": cell["net"]["arch"],
        "variant": variant["name"],
        "reparam": variant["reparam"],
    }
    cols.update({k: v for k, v in variant.items() if k not in ("name", "reparam")})
    cols.update({k: v for k, v in cell.get("swept", {}).items() if k not in cols})
    # the conventions that decide what a cell's numbers mean, in every row, swept or not (a run written before
    # these keys existed was trained under the defaults it then had: standardized inputs, PyTorch's init)
    train = cell.get("train", {})
    cols.setdefault("input_scaling", train.get("input_scaling", SCALINGS[0]))
    cols.setdefault("init", init_text(train.get("init")))
    # which of those columns the grid varied (analyses keep every swept setting apart)
    cols["swept"] = " ".join(cell.get("swept", {}))
    cols["seed"] = summary["seed"]
    cols["status"] = summary["status"]
    cols["n_weights"] = summary["n_weights"]
    cols["n_trainable"] = summary["n_trainable"]
    # the dimension actually trained: numbers trained per seed (d for a subspace, D for direct training)
    cols["dim"] = summary["n_trainable"]
    return cols


def collect(summaries: Iterable[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read runs (paths of ``summary.json``, or of the seed folders) into (curves, final)."""
    curve_parts, finals = [], []
    for p in summaries:
        p = Path(p)
        if p.is_dir():
            p = p / "summary.json"
        if not p.exists():
            raise WeightspaceError(f"run summary {p} is missing; re-run the training job that writes it")
        s = read_json(p)
        cols = _cell_columns(s)
        metrics = pd.read_csv(p.with_name("metrics.csv"))
        for k, v in reversed(list(cols.items())):
            # a per-step metric never shadows a config value of the same name
            metrics.insert(0, f"cfg_{k}" if k in metrics.columns else k, [v] * len(metrics))
        curve_parts.append(metrics)
        final = dict(cols)
        final.update({f"final_{k}": v for k, v in s["final"].items()})
        # what the family measured on the trained net ("structure" in runs written before the family layout)
        final.update(s.get("extra_metrics") or s.get("structure") or {})
        final.update(
            best_test_acc=s["best_test_acc"],
            diverged_step=s["diverged_step"],
            diverged_epoch=s["diverged_epoch"],
            diverged_reason=s.get("diverged_reason"),
            train_time_s=s["train_time_s"],
            wall_time_s=s["wall_time_s"],
            device=s["provenance"].get("device"),
            dataset_checksum=s["dataset"]["checksum"],
            code_version=s["provenance"].get("code_version"),
        )
        finals.append(final)
    if not finals:
        raise WeightspaceError("no runs to aggregate")
    return pd.concat(curve_parts, ignore_index=True), pd.DataFrame(finals)


def aggregate(summaries: Iterable[str | Path], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``curves.csv``, ``final.csv`` and ``timings.csv`` for the given runs into ``out_dir``."""
    curves, final = collect(summaries)
    out_dir = Path(out_dir)
    timings = final[["experiment", "cell", "seed", *TIME_COLUMNS, "device"]]
    write_dataframe(out_dir / "curves.csv", curves.drop(columns=TIME_COLUMNS, errors="ignore"))
    write_dataframe(out_dir / "final.csv", final.drop(columns=TIME_COLUMNS))
    write_dataframe(out_dir / "timings.csv", timings)
    return out_dir / "curves.csv", out_dir / "final.csv"
