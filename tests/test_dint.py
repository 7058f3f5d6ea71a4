"""d_int90 and its bootstrap: hand-computed cases and a naive reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from weightspace.families.subspace.analysis import by_dim, dint90
from weightspace.errors import WeightspaceError
from weightspace.families.subspace.dint import bootstrap_dint, dint, dint_table, interpolate_dint


def test_dint_hand_cases():
    dims = np.array([10, 100, 1000])
    assert dint(dims, np.array([0.5, 0.9, 0.95]), 0.9) == 100  # equality counts as reached
    assert dint(dims, np.array([0.95, 0.5, 0.99]), 0.9) == 10  # first crossing, even if it dips later
    assert dint(dims, np.array([0.1, 0.2, 0.3]), 0.9) == math.inf
    # replicates along leading axes, one threshold each
    out = dint(dims, np.array([[0.5, 0.9, 0.95], [0.1, 0.2, 0.3]]), np.array([0.9, 0.25]))
    assert out.tolist() == [100, 1000]


def test_interpolation_is_log_linear_between_grid_points():
    dims = np.array([10.0, 1000.0])
    # threshold half-way in accuracy -> half-way in log d -> sqrt(10 * 1000) = 100
    assert interpolate_dint(dims, np.array([0.5, 0.9]), 0.7) == pytest.approx(100.0)
    assert interpolate_dint(dims, np.array([0.95, 0.99]), 0.9) == 10.0
    assert interpolate_dint(dims, np.array([0.1, 0.2]), 0.9) == math.inf


def naive_bootstrap(dims, accs, baseline, fraction, n_boot, random_state):
    """The same draws as bootstrap_dint, one replicate at a time."""
    rng = np.random.default_rng(random_state)
    base_idx = rng.integers(0, len(baseline), size=(n_boot, len(baseline)))
    idxs = [rng.integers(0, len(a), size=(n_boot, len(a))) for a in accs]
    out = []
    for b in range(n_boot):
        thr = fraction * np.mean([baseline[i] for i in base_idx[b]])
        value = math.inf
        for d, a, idx in zip(dims, accs, idxs):
            if np.mean([a[i] for i in idx[b]]) >= thr - 1e-9:
                value = d
                break
        out.append(value)
    return np.array(out)


def test_bootstrap_equals_naive_reference():
    rng = np.random.default_rng(1)
    dims = [10, 30, 100, 300]
    accs = [rng.uniform(0.2, 0.6, 5), rng.uniform(0.7, 0.9, 4), rng.uniform(0.85, 0.95, 5), rng.uniform(0.9, 1.0, 3)]
    baseline = rng.uniform(0.95, 1.0, 5)
    fast = bootstrap_dint(dims, accs, baseline, 0.9, 500, 7)
    slow = naive_bootstrap(dims, accs, baseline, 0.9, 500, 7)
    assert np.array_equal(fast, slow)


def test_bootstrap_hand_case():
    """Baseline without spread (threshold 0.9); at d=100 the seeds are 0.95 and 0.85.

    Resampling two seeds gives a mean of 0.95, 0.90 or 0.85 with probabilities
    1/4, 1/2, 1/4: d=100 is reached in 3/4 of the replicates, else nothing is.
    """
    res = dint_table([10, 100], [np.array([0.5, 0.5]), np.array([0.95, 0.85])], np.array([1.0, 1.0]), n_boot=4000)
    assert res.threshold == pytest.approx(0.9)
    assert res.dint == 100
    assert res.p_reached == pytest.approx(0.75, abs=0.03)
    assert res.ci_low == 100 and res.ci_high == math.inf
    assert res.n_seeds_min == 2 and res.n_baseline == 2


def test_bootstrap_interval_is_tight_without_noise():
    accs = [np.full(5, 0.5), np.full(5, 0.88), np.full(5, 0.95), np.full(5, 0.97)]
    res = dint_table([10, 100, 1000, 10000], accs, np.full(5, 1.0))
    assert res.dint == res.ci_low == res.ci_high == 1000
    assert res.p_reached == 1.0


def test_bootstrap_is_reproducible_and_unordered_dims_are_sorted():
    accs = [np.array([0.9, 0.95, 0.97]), np.array([0.3, 0.5, 0.6])]
    a = dint_table([1000, 10], accs, np.array([1.0, 0.98, 0.99]), random_state=3)
    b = dint_table([1000, 10], accs, np.array([1.0, 0.98, 0.99]), random_state=3)
    assert a == b
    assert a.dims == "10 1000"


def final_table():
    """A final.csv as aggregate writes it: direct baseline + two projections."""
    rows = []
    for seed in range(3):
        rows.append(dict(dataset="m", net="fc", variant="direct", reparam="direct", projection=np.nan, dim=1000,
                         n_weights=1000, seed=seed, status="ok", final_test_acc=0.98 + 0.005 * seed,
                         final_train_loss=0.1, train_time_s=1.0))
        for d, acc in [(10, 0.4), (100, 0.85), (300, 0.9), (1000, 0.95)]:
            for variant in ("dense", "fastfood"):
                status = "diverged" if (variant == "fastfood" and d == 1000 and seed == 0) else "ok"
                rows.append(dict(dataset="m", net="fc", variant=variant, reparam="subspace", projection=variant,
                                 dim=d, n_weights=1000, seed=seed, status=status,
                                 final_test_acc=acc + 0.01 * seed if status == "ok" else np.nan,
                                 final_train_loss=0.5, train_time_s=2.0))
    return pd.DataFrame(rows)


def test_by_dim_counts_diverged_and_excludes_them_from_means():
    t = by_dim(final_table())
    row = t[(t["variant"] == "fastfood") & (t["dim"] == 1000)].iloc[0]
    assert row["n_ok"] == 2 and row["n_diverged"] == 1
    assert row["acc_mean"] == pytest.approx(0.95 + 0.015)
    direct = t[t["variant"] == "direct"].iloc[0]
    assert direct["acc_mean"] == pytest.approx(0.985) and direct["n_ok"] == 3


def test_by_dim_reports_the_common_student_t_interval_not_a_std():
    t = by_dim(final_table())
    assert "acc_std" not in t
    direct = t[t["variant"] == "direct"].iloc[0]  # 0.98, 0.985, 0.99
    lo, hi = stats.t.interval(0.95, 2, loc=0.985, scale=stats.sem([0.98, 0.985, 0.99]))
    assert (direct["acc_lo"], direct["acc_hi"]) == (pytest.approx(lo), pytest.approx(hi))
    assert direct["acc_hi"] - direct["acc_mean"] == pytest.approx(4.302653 * 0.005 / np.sqrt(3), rel=1e-6)
    # dint90.csv's baseline: the same interval
    d = dint90(final_table(), n_boot=50).iloc[0]
    assert (d["baseline_lo"], d["baseline_hi"]) == (pytest.approx(lo), pytest.approx(hi)) and "baseline_std" not in d


def test_dint90_table():
    t = dint90(final_table(), n_boot=500)
    assert set(t["variant"]) == {"dense", "fastfood"}
    dense = t[t["variant"] == "dense"].iloc[0]
    # threshold 0.9 * 0.985 = 0.8865: d=100 has mean 0.86, d=300 has 0.91
    assert dense["threshold"] == pytest.approx(0.8865)
    assert dense["dint"] == 300
    assert 100 < dense["dint_interp"] < 300
    assert t.loc[t["variant"] == "fastfood", "n_diverged"].iloc[0] == 1


def test_dint90_without_baseline_is_a_clear_error():
    f = final_table()
    f = f[f["reparam"] != "direct"]
    with pytest.raises(WeightspaceError, match="no finished direct"):
        dint90(f)


def test_variant_whose_runs_all_diverged_is_reported_not_dropped():
    f = final_table()
    bad = f[f["variant"] == "dense"].copy()
    bad["variant"], bad["status"], bad["final_test_acc"] = "unstable", "diverged", np.nan
    t = dint90(pd.concat([f, bad]), n_boot=100)
    row = t[t["variant"] == "unstable"].iloc[0]
    # never reached: infinite, not unknown
    assert row["n_diverged"] == len(bad) and math.isinf(row["dint"]) and math.isinf(row["ci_high"])
    b = by_dim(pd.concat([f, bad]))
    assert (b.loc[b["variant"] == "unstable", "n_ok"] == 0).all()


def swept_final(lrs=(0.003, 0.3), subspace_lrs=None):
    """A final.csv whose direct baseline is swept over the learning rate (as aggregate writes it)."""
    rows = []
    for seed in range(3):
        for lr in lrs:
            acc = 0.96 if lr == 0.003 else 0.42
            rows.append(dict(dataset="m", net="fc", variant="direct", reparam="direct", projection=np.nan, dim=1000,
                             d=np.nan, lr=lr, swept="lr", n_weights=1000, seed=seed, status="ok",
                             final_test_acc=acc + 0.001 * seed, final_train_loss=0.1, train_time_s=1.0))
        for lr in subspace_lrs or [None]:
            for d, acc in [(100, 0.39), (1000, 0.88)]:
                rows.append(dict(dataset="m", net="fc", variant="dense", reparam="subspace", projection="dense",
                                 dim=d, d=d, lr=lr if lr is not None else np.nan,
                                 swept="d lr" if lr is not None else "d", n_weights=1000, seed=seed, status="ok",
                                 final_test_acc=acc + (0.05 if lr == 0.3 else 0.0), final_train_loss=0.5,
                                 train_time_s=2.0))
    return pd.DataFrame(rows)


def test_by_dim_keeps_swept_training_settings_apart():
    """Two learning rates of one variant are two rows, never one average (the bug: 95.9% and 42.5% -> 69%)."""
    t = by_dim(swept_final())
    direct = t[t["variant"] == "direct"].set_index("setting")
    assert list(direct.index) == ["lr=0.003", "lr=0.3"]
    assert direct.loc["lr=0.003", "acc_mean"] == pytest.approx(0.961) and direct.loc["lr=0.003", "n_ok"] == 3
    assert direct.loc["lr=0.3", "acc_mean"] == pytest.approx(0.421)


def test_dint90_refuses_an_ambiguous_swept_baseline():
    with pytest.raises(WeightspaceError, match=r"swept over lr \(0.003, 0.3\).*analysis.baseline_setting"):
        dint90(swept_final(), n_boot=100)


def test_dint90_uses_the_chosen_baseline_setting():
    t = dint90(swept_final(), n_boot=100, baseline_setting={"lr": 0.003})
    row = t.iloc[0]
    # threshold from lr=0.003 alone: 0.9 * 0.961; d=100 (0.39) does not reach it, d=1000 (0.88) does
    assert row["threshold"] == pytest.approx(0.9 * 0.961)
    assert row["dint"] == 1000 and row["baseline"] == "direct (lr=0.003)"


def test_dint90_matches_a_baseline_swept_like_the_variant():
    t = dint90(swept_final(subspace_lrs=[0.003, 0.3]), n_boot=100).set_index("setting")
    assert list(t.index) == ["lr=0.003", "lr=0.3"]
    assert t.loc["lr=0.003", "baseline"] == "direct (lr=0.003)"
    assert t.loc["lr=0.3", "threshold"] == pytest.approx(0.9 * 0.421)
    assert t.loc["lr=0.3", "dint"] == 100  # 0.44 >= 0.379


def test_dint90_needs_a_named_baseline_among_several_direct_variants():
    f = final_table()
    other = f[f["variant"] == "direct"].assign(variant="direct-sgd")
    with pytest.raises(WeightspaceError, match="several direct variants.*analysis.baseline"):
        dint90(pd.concat([f, other]), n_boot=50)
    t = dint90(pd.concat([f, other]), n_boot=50, baseline="direct-sgd")
    assert set(t["baseline"]) == {"direct-sgd"}
