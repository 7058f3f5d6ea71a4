"""The per-cell summary every family's table uses: hand-checkable groups, scipy's t-interval as the reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from weightspace.cell_summary import summarize


def runs() -> pd.DataFrame:
    """Two cells: a with seeds 0.8, 0.9, 1.0 and one diverged run; b with one finished seed, a loss only on a."""
    return pd.DataFrame([
        {"cell": "a", "variant": "x", "seed": 0, "status": "ok", "acc": 0.8, "loss": 1.0},
        {"cell": "a", "variant": "x", "seed": 1, "status": "ok", "acc": 0.9, "loss": np.nan},
        {"cell": "a", "variant": "x", "seed": 2, "status": "diverged", "acc": np.nan, "loss": np.nan},
        {"cell": "a", "variant": "x", "seed": 3, "status": "ok", "acc": 1.0, "loss": 3.0},
        {"cell": "b", "variant": "y", "seed": 0, "status": "ok", "acc": 0.5, "loss": np.nan},
    ])


def test_mean_and_student_t_interval_over_the_finished_runs_per_cell():
    out = summarize(runs(), ["cell"], ["acc", "loss", "absent"], keep=("variant",)).set_index("cell")
    assert list(out.columns) == ["variant", "n_ok", "n_diverged", "acc_mean", "acc_lo", "acc_hi", "loss_mean",
                                 "loss_lo", "loss_hi"]  # a metric the runs do not have is left out
    a = out.loc["a"]
    assert (a["variant"], a["n_ok"], a["n_diverged"]) == ("x", 3, 1)
    lo, hi = stats.t.interval(0.95, 2, loc=0.9, scale=stats.sem([0.8, 0.9, 1.0]))
    assert (a["acc_mean"], a["acc_lo"], a["acc_hi"]) == (pytest.approx(0.9), pytest.approx(lo), pytest.approx(hi))
    assert a["acc_hi"] - 0.9 == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-6)
    # a missing value of a finished run is left out: the loss is the mean of 1 and 3 (s / sqrt(n) = sqrt(2) / sqrt(2))
    assert a["loss_mean"] == 2.0 and a["loss_hi"] - 2.0 == pytest.approx(12.706205, rel=1e-6)
    b = out.loc["b"]  # one run: its value, no interval
    assert b["acc_mean"] == 0.5 and math.isnan(b["acc_lo"]) and math.isnan(b["acc_hi"]) and b["n_diverged"] == 0
    assert math.isnan(b["loss_mean"])


def test_groups_keep_their_order_names_and_placement():
    frame = runs()
    out = summarize(frame, ["cell"], {"accuracy": "acc"}, confidence=0.9, keep=("variant", "cell"))
    assert list(out["cell"]) == ["a", "b"] and list(out.columns[:2]) == ["variant", "cell"]
    lo, _ = stats.t.interval(0.9, 2, loc=0.9, scale=stats.sem([0.8, 0.9, 1.0]))
    assert out.loc[0, "accuracy_lo"] == pytest.approx(lo)
    reversed_ = summarize(frame.iloc[::-1], ["cell"], ["acc"])
    assert list(reversed_["cell"]) == ["b", "a"]  # in order of first appearance...
    assert list(summarize(frame.iloc[::-1], ["cell"], ["acc"], sort=True)["cell"]) == ["a", "b"]  # ...or sorted


def test_rows_without_a_status_all_count_under_the_given_name():
    per_seed = pd.DataFrame({"method": ["m", "m", "k"], "seed": [0, 1, 0], "score": [1.0, 2.0, 5.0]})
    out = summarize(per_seed, ["method"], ["score"], count="n_seeds")
    assert list(out.columns) == ["method", "n_seeds", "score_mean", "score_lo", "score_hi"]
    assert list(out["n_seeds"]) == [2, 1] and out.loc[0, "score_mean"] == 1.5
