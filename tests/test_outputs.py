"""Figures, LaTeX tables and the cost benchmark, on small inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from test_dint import final_table
from weightspace import tables
from weightspace.families.sharing import plots as plots_sharing
from weightspace.families.sharing import tables as sharing_tables
from weightspace.families.subspace import plots
from weightspace.families.subspace import tables as subspace_tables
from weightspace.families.subspace.analysis import by_dim, dint90
from weightspace.bench import state_bytes, step_cost
from weightspace.families.subspace.cost import cost_sweep
from weightspace.nets import build_net
from weightspace.families.subspace.reparam import Subspace

PNG = b"\x89PNG\r\n\x1a\n"


def test_dint_table_formats_values_intervals_and_published():
    d = dint90(final_table(), n_boot=300)
    d.loc[d["variant"] == "fastfood", ["ci_high", "ci_high_relative"]] = math.inf  # an interval open to the right
    tex = subspace_tables.dint_latex(d, {("m", "fc"): (750.0, "Li et al. 2018")})
    assert r"\begin{tabular}{lllrrrrrrrrr}" in tex and r"\bottomrule" in tex
    assert r"\multicolumn{3}{c}{90\% of baseline} & \multicolumn{3}{c}{90\% accuracy}" in tex
    # the baseline (0.98, 0.985, 0.99): mean +- 95% t half-width, t_{.975,2} 0.005 / sqrt(3) = 1.2 pp
    assert r"m & fc & dense & 1\,000 & $98.5 \pm 1.2$ & 300 &" in tex
    assert r"$\infty$]" in tex
    assert "& 750 (abs.) \\\\" in tex and "Li et al. 2018" in tex


def test_dint90_reports_both_threshold_conventions():
    """Relative (90% of the measured baseline, 0.8865 here) and absolute (90% accuracy, Li et al.'s)."""
    d = dint90(final_table(), n_boot=300)
    dense = d[d["variant"] == "dense"].iloc[0]
    assert dense["convention"] == "relative" and dense["dint"] == dense["dint_relative"] == 300
    assert dense["threshold_relative"] == pytest.approx(0.8865) and dense["threshold_absolute"] == pytest.approx(0.9)
    # d=300 has mean 0.91 >= 0.9: the same grid value, but interpolation moves with the threshold
    assert dense["dint_absolute"] == 300 and dense["dint_interp_absolute"] > dense["dint_interp_relative"]
    a = dint90(final_table(), n_boot=300, threshold="absolute")
    assert a["convention"].iloc[0] == "absolute" and a["threshold"].iloc[0] == pytest.approx(0.9)
    # the relative columns do not depend on which convention is the main one
    assert a["dint_interp_relative"].tolist() == d["dint_interp_relative"].tolist()


def test_accuracy_table_marks_diverged_seeds():
    tex = subspace_tables.accuracy_latex(by_dim(final_table()))
    # fastfood d=1000: 2 finished seeds (0.96, 0.97), 1 diverged; 95% t half-width t_{.975,1} 0.00707 / sqrt(2) = 6.4 pp
    assert r"$96.5 \pm 6.4$$^{1\dagger}$" in tex
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


def _legend_of(monkeypatch, draw) -> list[str]:
    """The legend texts of the figure ``draw()`` makes (captured before it is saved and closed)."""
    seen = []
    real = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: (seen.extend(
        t.get_text() for leg in fig.legends for t in leg.get_texts()), real(fig, out))[1])
    draw()
    return seen


def test_accuracy_vs_d_marks_d_int90_as_a_named_interval_that_the_caption_describes(tmp_path, monkeypatch):
    """d_int90's interval is a horizontal bar with d_int90 an open marker on it, named in the legend; no short vertical
    tick that reads as an accuracy error bar; an interval open to the right still shows when d_int90 is not reached;
    the title and the report's caption say the same thing."""
    from conftest import REPO

    final = final_table()
    dint = dint90(final, n_boot=200)
    dint.loc[dint["variant"] == "fastfood", ["dint", "ci_high"]] = math.inf  # not reached: [ci_low, open)
    seen = {}
    real = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: (seen.update(
        legend=[t.get_text() for leg in fig.legends for t in leg.get_texts()], lines=fig.axes[0].get_lines(),
        title=fig.axes[0].get_title()), real(fig, out))[1])
    plots.accuracy_vs_d_figure(by_dim(final), dint, "m", "fc", tmp_path / "a")
    assert "d_int90 (95% bootstrap CI)" in seen["legend"], seen["legend"]
    assert any(t.startswith("fastfood") and t.endswith("[d_int90 not reached]") for t in seen["legend"]), seen["legend"]
    assert not [line for line in seen["lines"] if line.get_marker() == "|"]
    bars = [line for line in seen["lines"] if len(line.get_ydata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
            and line.get_marker() in ("None", "", None) and line.get_linewidth() == 3.0]
    assert len(bars) == len(dint)  # one horizontal bar per variant, the open one included
    open_marks = [line for line in seen["lines"] if line.get_markerfacecolor() == "white"]
    assert len(open_marks) == int(np.isfinite(dint["dint"]).sum())  # d_int90 where reached
    assert "just below the dashed line" in seen["title"] and "95% bootstrap CI" in seen["title"]
    caption = (REPO / "workflow" / "report" / "accuracy_vs_d.rst").read_text()
    assert "Just below the dashed line" in caption and '"d_int90 (95% bootstrap CI)"' in caption
    assert "on the dashed line" not in caption


def test_curves_keep_an_all_diverged_d_and_swept_settings_in_the_legend(tmp_path, monkeypatch):
    rows = []
    for seed in range(2):
        for variant, reparam, dim, lr in [("direct", "direct", 1000, 0.003), ("direct", "direct", 1000, 0.3),
                                          ("dense", "subspace", 10, 0.03), ("dense", "subspace", 100, 0.03)]:
            status = "diverged" if dim == 100 else "ok"  # every seed of d = 100 diverged
            for step in (0, 10, 20):
                rows.append(dict(dataset="m", net="fc", variant=variant, reparam=reparam, dim=dim, d=dim, lr=lr,
                                 swept="lr" if reparam == "direct" else "d", n_weights=1000, projection="dense",
                                 seed=seed, status=status, step=step, test_acc=0.1 + step / 30,
                                 train_loss=np.nan if step == 0 else 2.0 - step / 20))
    labels = _legend_of(monkeypatch, lambda: plots.curves_figure(pd.DataFrame(rows), "m", "fc", "dense", tmp_path / "c"))
    assert any(t.startswith("d = 100  [2 diverged]") for t in labels), labels
    assert "full space (direct, lr=0.003, D = 1,000)" in labels and "full space (direct, lr=0.3, D = 1,000)" in labels


def test_dint_table_shows_infinity_and_the_diverged_count_of_an_all_diverged_variant():
    f = final_table()
    bad = f[f["variant"] == "dense"].copy()
    bad["variant"], bad["status"], bad["final_test_acc"] = "unstable", "diverged", np.nan
    tex = subspace_tables.dint_latex(dint90(pd.concat([f, bad]), n_boot=50))
    row = next(line for line in tex.splitlines() if line.startswith("m & fc & unstable"))
    assert r"unstable$^{12\dagger}$" in row and r"$\infty$ & $\infty$ & [$\infty$, $\infty$]" in row
    assert "--" not in row and "nan" not in row


def test_accuracy_table_has_a_column_per_swept_setting():
    from test_dint import swept_final

    tex = subspace_tables.accuracy_latex(by_dim(swept_final(subspace_lrs=[0.003, 0.3])))
    assert r"$d$ & dense (lr=0.003) & dense (lr=0.3) \\" in tex
    assert r"full, direct (lr=0.003)" in tex and r"full, direct (lr=0.3)" in tex


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


def test_naive_loop_and_trainer_do_the_same_work(tmp_path):
    from conftest import write_mnist_like
    from weightspace.bench import compare_with_naive

    write_mnist_like(tmp_path, n_train=96, n_test=40)
    rec = compare_with_naive("mnist", tmp_path, [16], epochs=2, batch_size=16, seeds=3, trials=1,
                             log=lambda m: None, verify=False)
    assert rec["steps_per_run"] == 2 * (96 // 16)
    assert len(rec["naive_s_per_run"]) == 1 and rec["trainer_s_per_run_median"] > 0
    assert rec["speedup_per_run"] == pytest.approx(rec["naive_s_per_run_median"] / rec["trainer_s_per_run_median"])


def test_plan_counts_cells_runs_and_steps(monkeypatch, tmp_path):
    from weightspace.config import validate
    from weightspace.estimate import plan

    cfg = validate({
        "seeds": 2,
        "train": {"epochs": 3, "batch_size": 100, "evals_per_epoch": 2},
        "nets": {"s": {"arch": "fc", "widths": [8]}},
        "experiments": {"e": {"family": "subspace", "datasets": ["digits", "mnist1d"], "nets": ["s"],
                              "variants": [{"name": "direct", "reparam": "direct"},
                                           {"name": "ff", "reparam": "subspace", "projection": "fastfood",
                                            "d": [5, 50]}]}},
    })
    df = plan(cfg)
    assert len(df) == 2 * 3 and (df["runs"] == 2).all()
    digits = df[df["dataset"] == "digits"]
    assert (digits["steps"] == 3 * (1437 // 100)).all() and (digits["evals"] == 3 * 2 + 1).all()
    assert (df.loc[df["dataset"] == "mnist1d", "steps"] == 3 * 40).all()
    # the jobs the workflow runs: per experiment 1 training job (both datasets' 3 cells fit cells_per_job 8: packed)
    # and one render job for all its tables and figures (no cost benchmark); mnist1d (a cached file) is prepared
    # once, digits (made in memory) by the training job itself
    assert df.attrs["jobs"] == {"e": 1 + 1, "(data)": 1}
    assert plan(validate({**cfg, "cells_per_job": 1})).attrs["jobs"] == {"e": 6 + 1, "(data)": 1}
    assert plan(validate({**cfg, "cells_per_job": 2})).attrs["jobs"]["e"] == 4 + 1  # 2 training jobs per dataset
    assert sorted(df["size"]) == ["", "", "d=5", "d=5", "d=50", "d=50"]
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path))  # the planner's measurements: not the user's cache
    measured = plan(cfg, measure=True, log=lambda m: None)
    assert (measured["est_s"] > 0).all()
    assert 0.1 < measured.attrs["startup_s"] < 60  # a fresh process importing torch and the package


def test_plan_measure_counts_the_start_up_of_every_job(tmp_path):
    """`plan --measure` on the quick preset adds the start-up of each of its jobs (it used to say 1 min for 5-6)."""
    import subprocess
    import sys

    from conftest import REPO
    from test_workflow import job_counts, run_snakemake, workdir_copy

    out = subprocess.run([sys.executable, "-m", "weightspace", "plan", str(REPO / "config.yaml"),
                          str(REPO / "config" / "quick.yaml")], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    total = next(line for line in out.stdout.splitlines() if line.startswith("total"))
    dry = run_snakemake(workdir_copy(tmp_path), "-n", "--cores", "1", "--configfile", "config/quick.yaml")
    assert dry.returncode == 0, dry.stderr[-2000:]
    jobs = job_counts(dry.stdout + dry.stderr)
    assert int(float(total.split()[-1])) == jobs["total"] - jobs["all"]  # `all` runs nothing


def sharing_final():
    rows = []
    for seed in range(3):
        for variant, reparam, k, acc in [("direct", "direct", np.nan, 0.97), ("learned", "sharing", 4, 0.95),
                                         ("learned", "sharing", 16, 0.96), ("hashed", "hashed", 16, 0.7)]:
            cell = f"d__n__{variant}" + ("" if np.isnan(k) else f"__k{int(k)}")
            status = "diverged" if (variant == "hashed" and seed == 2) else "ok"
            rows.append(dict(experiment="e", cell=cell, dataset="digits", net="n", variant=variant, reparam=reparam,
                             k=k, seed=seed, status=status, final_test_loss=0.1, final_test_acc=acc + 0.01 * seed,
                             final_hard_test_acc=(acc - 0.01 + 0.01 * seed) if reparam != "direct" else np.nan,
                             final_hard_test_loss=0.2 if reparam != "direct" else np.nan,
                             final_values_used=(k - 1 if reparam == "sharing" else np.nan),
                             final_row_entropy=0.1 if reparam == "sharing" else np.nan))
    return pd.DataFrame(rows)


def test_sharing_summary_intervals_and_hard_fill():
    from weightspace.families.sharing.analysis import sharing_summary
    from weightspace.stats import mean_ci

    s = sharing_summary(sharing_final())
    learned4 = s[s["cell"] == "d__n__learned__k4"].iloc[0]
    m, lo, hi = mean_ci([0.95, 0.96, 0.97])
    assert learned4["final_test_acc_mean"] == pytest.approx(m) and learned4["final_test_acc_lo"] == pytest.approx(lo)
    # t-interval by hand: mean 0.96, sd 0.01, t(0.975, 2) = 4.3027 -> half-width 0.0248
    assert hi - m == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5)
    direct = s[s["variant"] == "direct"].iloc[0]
    assert direct["final_hard_test_acc_mean"] == pytest.approx(direct["final_test_acc_mean"])  # no sharing: hard = soft
    hashed = s[s["variant"] == "hashed"].iloc[0]
    assert hashed["n_ok"] == 2 and hashed["n_diverged"] == 1


def test_setting_names_what_the_grid_varied_besides_the_axis():
    from weightspace.formatting import with_setting

    f = pd.DataFrame([
        dict(k=16.0, lambda_prior=0.01, straight_through=True, lr=np.nan, swept="k lambda_prior straight_through"),
        dict(k=4.0, lambda_prior=np.nan, straight_through=np.nan, lr=np.nan, swept="k"),
        dict(k=np.nan, lambda_prior=np.nan, straight_through=np.nan, lr=0.0003, swept="lr"),
        dict(k=8.0, lambda_prior=np.nan, straight_through=np.nan, lr=np.nan, swept=np.nan),
    ])
    assert with_setting(f, axis=("k",))["setting"].tolist() == [
        "lambda_prior=0.01 straight_through=True", "", "lr=0.0003", ""]
    assert with_setting(f)["setting"].tolist()[:2] == ["k=16 lambda_prior=0.01 straight_through=True", "k=4"]


def test_sharing_tables_and_figures(tmp_path):
    from weightspace.families.sharing.analysis import sharing_summary

    s = sharing_summary(sharing_final())
    tex = sharing_tables.structure_latex(s)
    assert "learned & 4 & $95.0 \\pm" in tex and "hashed$^{1\\dagger}$ & 16" in tex
    out = plots_sharing.tradeoff_figure(s, "digits", "n", tmp_path / "t")
    assert out[1].read_bytes()[:8] == PNG
    curves = []
    for seed in range(2):
        for step in (0, 5, 10):
            curves.append(dict(dataset="digits", net="n", variant="learned", cell="c__k4", k=4, status="ok", seed=seed,
                               step=step, row_entropy=1.0 - step / 10, values_used=4 - step // 5))
    out = plots_sharing.dynamics_figure(pd.DataFrame(curves), "digits", "n", "learned", tmp_path / "dyn")
    assert out[1].read_bytes()[:8] == PNG


def test_structure_and_maps_figures(tmp_path):
    from weightspace.families.sharing.teachers import DEFAULT_TEACHERS, teacher_arrays

    t = teacher_arrays(DEFAULT_TEACHERS["conv1d_teacher"])
    W, groups = t["W"], t["groups"]
    np.savez(tmp_path / "s.npz", assign=np.where(groups >= 0, groups + 3, 0).astype(np.int32),
             w_hard=W.astype(np.float32), w_soft=W.astype(np.float32))
    out = plots_sharing.structure_figure(tmp_path / "s.npz", groups, "t", tmp_path / "st")
    assert out[1].read_bytes()[:8] == PNG
    np.savez(tmp_path / "m.npz", assign=np.random.default_rng(0).integers(0, 4, (20, 64)).astype(np.int32),
             w_hard=np.zeros((20, 64), np.float32), w_soft=np.zeros((20, 64), np.float32))
    out = plots_sharing.assignment_maps_figure(tmp_path / "m.npz", (1, 8, 8), "maps", tmp_path / "maps")
    assert out[1].read_bytes()[:8] == PNG
    np.savez(tmp_path / "e.npz", assign=np.zeros((0, 0), np.int32), w_hard=W, w_soft=W)
    with pytest.raises(Exception, match="holds no assignment"):
        plots_sharing.structure_figure(tmp_path / "e.npz", groups, "t", tmp_path / "x")


def test_match_labels_recolours_learned_groups_by_overlap():
    from weightspace.families.sharing.plots import match_labels

    true = np.array([0, 0, 1, 1, -1, -1])
    learned = np.array([7, 7, 3, 3, 9, 9])
    assert match_labels(true, learned).tolist() == [0, 0, 1, 1, -1, -1]


def test_the_cost_figure_names_the_cpu_threads_it_was_timed_with(tmp_path, monkeypatch):
    """Timings depend on the thread count (two threads on this 2-vCPU VM: noise); the figure says which."""
    from weightspace.artifacts import Instance
    from weightspace.families.subspace import artifacts as subspace_artifacts
    from weightspace.io import write_json

    records, prov = cost_sweep({"name": "s", "arch": "fc", "widths": [8]}, "digits", [10], ["dense"], steps=2,
                               repeats=1, log=lambda m: None)
    pd.DataFrame(records).to_csv(tmp_path / "cost.csv", index=False)
    write_json(tmp_path / "cost.json", {"dataset": "digits", "net": {"name": "s"}, "seeds": 1, "batch_size": 256,
                                        "repeats": 1, "provenance": {**prov, "device": "cpu", "cpu_threads": 1}})
    titles = []
    monkeypatch.setattr(plots, "cost_figure", lambda table, out, title: titles.append(title) or [])
    artifact = next(a for a in subspace_artifacts.ARTIFACTS if a.name == "cost")
    artifact.make(Instance(artifact, "subspace", {}, {}, {}, tmp_path, [0], tmp_path / "cost.pdf"))
    assert ", 1 thread(s) (torch " in titles[0], titles


def test_tradeoff_cuts_accuracy_intervals_at_0_and_1_and_keeps_direct_nets_apart(tmp_path, monkeypatch):
    """Note 000's shape: a t-interval of 3 bimodal seeds passing 0 and 1 is drawn cut at the ends, and the title
    says so; two direct nets (two settings) get different line styles; an x axis under a decade has labels."""
    import matplotlib.pyplot as plt

    def row(variant, reparam, k, values, mean, lo, hi):
        return dict(dataset="mnist", net="n", variant=variant, setting="", reparam=reparam, k=k, n_ok=3,
                    n_diverged=0, final_test_acc_mean=mean, final_hard_test_acc_mean=mean,
                    final_hard_test_acc_lo=lo, final_hard_test_acc_hi=hi, final_values_used_mean=values)

    s = pd.DataFrame([row("direct", "direct", np.nan, np.nan, 0.956, 0.954, 0.957),
                      row("direct-note", "direct", np.nan, np.nan, 0.951, 0.946, 0.957),
                      row("learned", "sharing", 100, 67.0, 0.41, -0.63, 1.45),
                      row("learned-note-linear", "sharing", 100, 49.0, 0.12, 0.03, 0.22)])
    seen = {}
    real = plots_sharing.save_figure

    def capture(fig, out):
        ax = fig.axes[0]
        fig.canvas.draw()
        seen.update(title=ax.get_title(), styles=[ln.get_linestyle() for ln in ax.get_lines() if len(
            set(ln.get_ydata())) == 1 and len(ln.get_xdata()) == 2], ylim=ax.get_ylim(),
            xlabels=[t.get_text() for t in ax.get_xticklabels(minor=True) + ax.get_xticklabels() if t.get_text()],
            bars=[seg for c in ax.collections for seg in c.get_segments()])
        return real(fig, out)

    monkeypatch.setattr(plots_sharing, "save_figure", capture)
    plots_sharing.tradeoff_figure(s, "mnist", "n", tmp_path / "t")
    plt.close("all")
    assert seen["title"].endswith("(cut at 0 and 1)")
    ys = [y for seg in seen["bars"] for _, y in seg]
    assert min(ys) >= 0.0 and max(ys) <= 1.0  # the error bars end at 0 and 1
    assert len(set(seen["styles"])) == 2  # the two direct nets' horizontal lines
    assert {"50", "60"} <= set(seen["xlabels"])  # 49 to 67: labels inside the axis's one decade
