"""How big a config is before it runs: cells, runs, steps, and (measured) device time.

Without measurement, :func:`plan` counts cells, runs and training steps from
the config alone (dataset sizes are known, nothing is loaded). With
``measure=True`` it times a few training steps on this machine for every
group of cells that share a dataset, net and reparameterization (at the
smallest and largest d of the group, seeds batched as the workflow batches
them), fits time per step as linear in d, and adds up steps x time, plus the
test-set evaluations. The estimate is for running the cells one after
another on this device.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import pandas as pd

from weightspace.config import N_TRAIN, expand
from weightspace.data import INPUT_SHAPES

__all__ = ["plan", "cell_steps"]

#: test-set sizes, for the evaluation share of the estimate
N_TEST = {
    "mnist": 10000,
    "fashion_mnist": 10000,
    "cifar10": 10000,
    "digits": 360,
    "mnist1d": 1000,
    "mnist1d_shuffled": 1000,
    "conv1d_teacher": 2048,
    "conv2d_teacher": 2048,
}


def cell_steps(cell: dict) -> tuple[int, int]:
    """(training steps, evaluations) of one cell, as the trainer will run it."""
    t = cell["train"]
    batch = min(t["batch_size"], N_TRAIN[cell["dataset"]])
    per_epoch = N_TRAIN[cell["dataset"]] // batch
    evals = t["epochs"] * min(t["evals_per_epoch"], per_epoch) + 1
    return per_epoch * t["epochs"], evals


def _group_key(cell: dict) -> tuple:
    v = cell["variant"]
    return (cell["dataset"], cell["net"]["name"], v["reparam"], v.get("projection", ""), cell["train"]["batch_size"])


def plan(config: dict, measure: bool = False, device: str = "cpu", log: Callable[[str], None] = print) -> pd.DataFrame:
    """One row per cell: steps, evaluations, runs and (if measured) estimated seconds.

    Args:
        config: a validated config.
        measure: time representative steps on ``device`` to estimate durations.
    """
    rows: list[dict[str, Any]] = []
    seeds = len(config["seeds"])
    for exp, cells in expand(config).items():
        for cid, c in cells.items():
            steps, evals = cell_steps(c)
            rows.append({
                "experiment": exp, "cell": cid, "dataset": c["dataset"], "net": c["net"]["name"],
                "variant": c["variant"]["name"], "reparam": c["variant"]["reparam"],
                "projection": c["variant"].get("projection", ""), "d": c["variant"].get("d"),
                "_size": c["variant"].get("d", c["variant"].get("k")),
                "runs": seeds, "steps": steps, "evals": evals, "_key": _group_key(c), "_cell": c,
            })
    df = pd.DataFrame(rows)
    if measure and not df.empty:
        df["est_s"] = _estimate(df, seeds, device, config["memory_limit_gib"], log)
    return df.drop(columns=["_key", "_cell", "_size"])


def _estimate(df: pd.DataFrame, seeds: int, device: str, memory_limit_gib: float, log) -> pd.Series:
    from weightspace.bench import step_cost
    from weightspace.data import N_OUTPUTS
    from weightspace.nets import build_net
    from weightspace.reparam import estimate_bytes

    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, key in enumerate(df["_key"]):
        groups[key].append(i)
    est = pd.Series(0.0, index=df.index)
    for key, idx in groups.items():
        dataset, net_name, reparam, projection, batch = key
        cell = df.loc[idx[0], "_cell"]
        net = build_net(cell["net"]["arch"], INPUT_SHAPES[dataset], N_OUTPUTS[dataset], cell["net"].get("widths"))
        # the option a step's cost grows with: d (subspace) or k (sharing forms)
        size_key = "d" if reparam == "subspace" else "k"
        sizes = sorted({int(df.loc[i, "_size"]) for i in idx if pd.notna(df.loc[i, "_size"])}) or [None]
        probes = sorted({sizes[0], sizes[-1]}, key=lambda x: x or 0)
        timed = {}
        for d in probes:
            variant = dict(cell["variant"], **({size_key: d} if d is not None else {}))
            fits = max(1, min(seeds, int(memory_limit_gib * 2**30 // max(1, estimate_bytes(variant, net, 1)))))
            r = step_cost(cell["net"], dataset, variant, seeds=fits, batch_size=min(batch, N_TRAIN[dataset]),
                          steps=5, repeats=1, warmup=2, device=device, epochs=cell["train"]["epochs"])
            timed[d] = r["step_s_median"] * (seeds / fits)  # seeds beyond what fits run as extra batches
            log(f"  {dataset}/{net_name}/{reparam}{'/' + projection if projection else ''}"
                f"{f' {size_key}={d}' if d else ''}: {1e3 * timed[d]:.2f} ms per step ({seeds} seeds)")
        for i in idx:
            d = df.loc[i, "_size"]
            if pd.isna(d) or len(timed) == 1:
                t = next(iter(timed.values()))
            else:
                (d0, t0), (d1, t1) = sorted(timed.items())
                t = t0 + (t1 - t0) * (float(d) - d0) / (d1 - d0)
            n_test = N_TEST[dataset]
            eval_cost = df.loc[i, "evals"] * t * 0.4 * n_test / max(1, min(batch, N_TRAIN[dataset]))
            est[i] = df.loc[i, "steps"] * t + eval_cost
    return est
