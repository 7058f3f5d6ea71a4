"""Figures, LaTeX tables and the cost benchmark, on small inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from test_stats import final_table
from weightspace import plots, tables
from weightspace.analysis import by_dim, dint90
from weightspace.bench import cost_sweep, state_bytes, step_cost
from weightspace.nets import build_net
from weightspace.reparam import Subspace

PNG = b"\x89PNG\r\n\x1a\n"


def test_dint_table_formats_values_intervals_and_published():
    d = dint90(final_table(), n_boot=300)
    d.loc[d["variant"] == "fastfood", "ci_high"] = math.inf
    tex = tables.dint_latex(d, {("m", "fc"): (750.0, "Li et al. 2018")})
    assert r"\begin{tabular}{lllrrrrrr}" in tex and r"\bottomrule" in tex
    assert r"m & fc & dense & 1\,000 & $98.5 \pm 0.5$ & 300 &" in tex
    assert r"$\infty$]" in tex
    assert "& 750 \\\\" in tex and "Li et al. 2018" in tex


def test_accuracy_table_marks_diverged_seeds():
    tex = tables.accuracy_latex(by_dim(final_table()))
    assert r"$96.5 \pm 0.7$$^{1\dagger}$" in tex  # fastfood d=1000: 2 finished seeds, 1 diverged
    assert r"full ($D=1\,000$)" in tex
    assert tables.fmt_dim(199210) == r"199\,210" and tables.fmt_dim(math.inf) == r"$\infty$"


def test_accuracy_vs_d_and_curves_figures(tmp_path):
    final = final_table()
    paths = plots.accuracy_vs_d_figure(by_dim(final), dint90(final, n_boot=200), "m", "fc", tmp_path / "a.pdf")
    assert [p.suffix for p in paths] == [".pdf", ".png"]
    assert paths[1].read_bytes()[:8] == PNG
    # curves: a per-step table with one diverged seed
    rows = []
    for seed in range(2):
        for variant, reparam, dim in [("direct", "direct", 1000), ("dense", "subspace", 10), ("dense", "subspace", 100)]:
            status = "diverged" if (dim == 100 and seed == 1) else "ok"
            for step in (0, 10, 20):
                rows.append(dict(dataset="m", net="fc", variant=variant, reparam=reparam, dim=dim, n_weights=1000,
                                 projection="dense", seed=seed, status=status, step=step,
                                 test_acc=0.1 + step / 30, train_loss=np.nan if step == 0 else 2.0 - step / 20))
    out = plots.curves_figure(pd.DataFrame(rows), "m", "fc", "dense", tmp_path / "c")
    assert out[1].name == "c.png" and out[1].read_bytes()[:8] == PNG


def test_curves_figure_without_runs_is_a_clear_error(tmp_path):
    from weightspace.errors import WeightspaceError

    df = pd.DataFrame({"dataset": ["m"], "net": ["fc"], "variant": ["direct"], "reparam": ["direct"]})
    with pytest.raises(WeightspaceError, match="no runs of variant 'dense'"):
        plots.curves_figure(df, "m", "fc", "dense", tmp_path / "x")


def test_state_bytes_counts_buffers_params_and_sparse_tensors():
    net = build_net("fc", (1, 8, 8), 10, [16])
    D = net.n_params
    dense = Subspace(net, [0], d=20, projection="dense")
    assert state_bytes(dense) == 4 * (D + D * 20 + 20)  # theta_0, P, omega
    sparse = Subspace(net, [0], d=20, projection="sparse")
    nnz = sparse.proj.nnz
    # theta_0 and omega (float32); P and P^T as CSR: row pointers (int64), column indices (int64), values (float32)
    expected = 4 * (D + 20) + 8 * (D + 1) + 8 * (20 + 1) + 2 * nnz * (8 + 4)
    assert state_bytes(sparse) == expected
    ff = Subspace(net, [0], d=20, projection="fastfood")
    L = ff.proj.L
    assert state_bytes(ff) == 4 * (D + 20) + L * (4 + 4 + 8) + 4


def test_step_cost_and_sweep_skip_by_memory(tmp_path):
    net_cfg = {"name": "s", "arch": "fc", "widths": [16]}
    rec = step_cost(net_cfg, "digits", {"reparam": "subspace", "projection": "fastfood", "d": 30}, steps=3, repeats=2, warmup=1)
    assert rec["D"] == 64 * 16 + 16 + 16 * 10 + 10 and rec["d"] == 30
    assert 0 < rec["step_s_min"] <= rec["step_s_median"] <= rec["step_s_max"]
    records, prov = cost_sweep(net_cfg, "digits", [10, 1000], ["dense", "fastfood"], steps=2, repeats=1,
                               memory_limit_gib=80 * 1210 / 2**30, log=lambda m: None)
    kinds = [(r["variant"], r["d"], r["skipped"]) for r in records]
    assert ("direct", 1210, False) in kinds
    assert ("dense", 1000, True) in kinds  # 4.8 MB of P over the 97 kB limit
    assert ("fastfood", 1000, False) in kinds  # ~50 kB
    assert "torch" in prov and "device_name" in prov
    fig = plots.cost_figure(pd.DataFrame(records), tmp_path / "cost")
    assert fig[1].read_bytes()[:8] == PNG
