"""The end-of-run summary (``weightspace summary``): each family's headline from small hand-made tables, and
tables that are missing or unreadable named rather than raised."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd

from weightspace.registry import FAMILIES
from weightspace.run_summary import experiments_in, report_command, summary_lines

NAN = math.nan


def experiment(results: Path, name: str, family: str, tables: dict[str, list[dict]], statuses=("ok",) * 3) -> Path:
    """``results/name/`` with a final.csv of ``statuses`` and the given tables."""
    folder = results / name
    folder.mkdir(parents=True)
    pd.DataFrame({"family": family, "status": list(statuses)}).to_csv(folder / "final.csv", index=False)
    for table, rows in tables.items():
        pd.DataFrame(rows).to_csv(folder / table, index=False)
    return folder


def dint_row(variant, dint, lo, hi, n_diverged=0):
    return {"dataset": "digits", "net": "small", "variant": variant, "setting": NAN, "fraction": 0.9,
            "convention": "relative", "baseline_mean": 0.95, "threshold": 0.855, "dint": dint, "ci_low": lo,
            "ci_high": hi, "n_seeds_min": 3, "n_baseline": 3, "n_diverged": n_diverged}


def test_subspace_headline_is_d_int90_per_projection_with_its_bootstrap_interval(tmp_path):
    folder = experiment(tmp_path, "subspace", "subspace", {"dint90.csv": [
        dint_row("dense", 300.0, 100.0, 1000.0), dint_row("sparse", math.inf, 1000.0, math.inf, n_diverged=1)]})
    [line] = FAMILIES["subspace"].headline(folder)
    assert line.startswith("digits/small: d_int90 dense 300 [100, 1,000], sparse not reached [1,000, inf] (1 diverged)")
    assert "the grid's smallest d whose mean final accuracy reaches 90% of the full-space net's 95.0%" in line
    assert "[95% seed-bootstrap interval], 3 seeds" in line


def test_sharing_headline_is_the_best_structure_score_of_a_sharing_variant_not_the_known_structure(tmp_path):
    def row(variant, reparam, k, ari, mse):
        return {"dataset": "conv1d_teacher", "net": "linear", "variant": variant, "reparam": reparam, "k": k,
                "budget": NAN, "setting": NAN, "n_ok": 3, "final_hard_test_acc_mean": NAN,
                "final_hard_test_loss_mean": mse, "final_hard_test_loss_lo": mse - 0.001,
                "final_hard_test_loss_hi": mse + 0.001, "ari_support_mean": ari, "ari_support_lo": ari - 0.1,
                "ari_support_hi": ari + 0.1}

    folder = experiment(tmp_path, "sharing", "sharing", {"sharing_summary.csv": [
        row("direct", "direct", NAN, NAN, 0.02), row("known", "known", NAN, 1.0, 0.01),
        row("learned", "sharing", 16, 0.8, 0.012), row("hashed", "hashed", 8, 0.1, 0.05)]})
    [line] = FAMILIES["sharing"].headline(folder)
    assert line.startswith("conv1d_teacher/linear: best ARI on the teacher's support (1: its structure exactly): "
                           "learned k=16 0.80 [0.70, 0.90], hardened net's test MSE 0.0120 [0.0110, 0.0130] "
                           "(direct 0.0200 [0.0190, 0.0210])")
    assert line.endswith("(mean [95% t-interval] over 3 seeds)")
    # a budget swept as the setting is named once
    budget = {**row("learned", "sharing", NAN, 0.5, 0.03), "budget": 0.125, "setting": "budget=0.125"}
    pd.DataFrame([budget]).to_csv(folder / "sharing_summary.csv", index=False)
    assert ": learned (budget=0.125) 0.50 [0.40, 0.60]," in FAMILIES["sharing"].headline(folder)[0]


def test_tying_headline_is_tied_vs_untied_at_the_fewest_trainable_weights(tmp_path):
    def row(method, reparam, g, grad, n, acc):
        return {"dataset": "digits", "net": "small", "method": method, "reparam": reparam, "g": g, "grad": grad,
                "setting": "optimizer=adam", "n_trainable": n, "n_ok": 3, "n_diverged": 0,
                "final_test_acc_mean": acc, "final_test_acc_lo": acc - 0.01, "final_test_acc_hi": acc + 0.01}

    folder = experiment(tmp_path, "tying", "tying", {"tying_summary.csv": [
        row("untied", "direct", NAN, NAN, 4810, 0.97), row("tied rows", "tying", 2, "sum", 2500, 0.96),
        row("tied rows", "tying", 8, "sum", 1000, 0.90), row("tied rows", "tying", 8, "mean", 1000, 0.92),
        row("narrower untied", "narrow", 8, NAN, 1010, 0.91)]})
    [line] = FAMILIES["tying"].headline(folder)
    assert line.startswith("digits/small, optimizer=adam: untied 97.0% [96.0, 98.0] with 4,810 weights; "
                           "tied rows g=8 (sum) 90.0% [89.0, 91.0] with 1,000 weights; "
                           "tied rows g=8 (mean) 92.0% [91.0, 93.0] with 1,000 weights; "
                           "narrower untied 91.0% [90.0, 92.0] with 1,010 weights")
    assert "g=2" not in line and "mean [95% t-interval] over 3 seeds" in line


def test_feedback_headline_is_the_largest_gain_over_none_with_raw_and_holm_p(tmp_path):
    def row(arm, mode, none=(NAN,) * 5, ones=(NAN,) * 5):
        out = {"dataset": "digits", "setting": "optimizer=sgd lr=0.05", "arm": arm, "mode": mode, "confidence": 0.95,
               "vs_none_arm": "none", "vs_ones_arm": "ones"}
        for ref, values in (("none", none), ("ones", ones)):
            out.update(dict(zip([f"vs_{ref}_{k}" for k in ("mean", "lo", "hi", "p", "p_holm")], values)))
            out[f"vs_{ref}_n"] = 3 if math.isfinite(values[0]) else 0
        return out

    folder = experiment(tmp_path, "feedback", "feedback", {"feedback_summary.csv": [
        row("none", "none", ones=(-0.001, -0.01, 0.01, 1.0, 1.0)),
        row("ones", "ones", none=(0.001, -0.01, 0.01, 1.0, 1.0)),
        row("maxpool", "maxpool", none=(0.02, -0.01, 0.05, 0.25, 1.0), ones=(0.019, 0.0, 0.04, 0.25, 1.0)),
        row("projection", "projection", none=(-0.01, -0.03, 0.01, 0.25, 1.0), ones=(-0.011, -0.03, 0.01, 0.25, 0.01)),
    ]})
    [line] = FAMILIES["feedback"].headline(folder)
    assert line.startswith("digits, sgd, lr 0.05: largest mean gain over the none control: maxpool - none "
                           "+2.00 pp [-1.00, +5.00] (95% t-interval), exact sign-flip p 0.25, Holm-adjusted 1;")
    # none-ones counted once: 5 comparisons, one of them (projection - ones) below 0.05 after Holm
    assert "1 of 5 comparisons with Holm-adjusted p < 0.05 (3 seeds paired: smallest possible p 0.25)" in line


def test_default_headline_counts_significant_comparisons(tmp_path):
    folder = experiment(tmp_path, "x", "any", {"comparisons.csv": [
        {"significant": True, "cannot_reach": False}, {"significant": False, "cannot_reach": True},
        {"significant": False, "cannot_reach": False}]})
    from weightspace.families.base import Family

    assert Family("any", "").headline(folder) == [
        "comparisons.csv: 1 of 3 differences significant (Holm-adjusted p); 1 could not reach significance with "
        "these seeds"]


def test_summary_names_missing_and_unreadable_tables_instead_of_raising(tmp_path):
    results = tmp_path / "results"
    experiment(results, "subspace", "subspace", {}, statuses=("ok", "ok", "diverged"))  # no dint90.csv
    experiment(results, "tying", "tying", {"tying_summary.csv": [{"unexpected": 1}]})  # columns it cannot read
    lines = summary_lines(results, None, {"subspace": "subspace", "tying": "tying", "sharing": "sharing"},
                          report="make report")
    text = "\n".join(lines)
    assert "  subspace (subspace): 3 runs, 2 finished, 1 diverged" in lines
    assert f"    {results / 'subspace' / 'dint90.csv'} is missing (not written by this run)" in lines
    assert f"could not read the headline from {results / 'tying'}: KeyError" in text
    assert f"  sharing: {results / 'sharing' / 'final.csv'} is missing (not written by this run)" in lines
    assert "  report:  make report" in lines


def test_summary_finds_the_experiments_of_a_results_folder_and_caps_a_headline(tmp_path):
    results = tmp_path / "results"
    rows = [{**dint_row("dense", 300.0, 100.0, 1000.0), "dataset": d} for d in ("a", "b", "c", "d")]
    experiment(results, "subspace", "subspace", {"dint90.csv": rows})
    (results / "data").mkdir()  # not an experiment
    (results / "tying" / "runs").mkdir(parents=True)  # trained, not aggregated yet
    assert experiments_in(results) == {"subspace": "subspace", "tying": None}
    lines = summary_lines(results)
    first = lines.index("  subspace (subspace): 3 runs, 3 finished")
    assert lines[first + 2] == f"    ... 3 more in {results / 'subspace'}/"  # 4 datasets, a line each: 2 lines
    assert f"  tying: {results / 'tying' / 'final.csv'} is missing (not written by this run)" in lines


def test_report_command_is_make_report_for_the_quick_preset():
    assert report_command([Path("config/quick.yaml").resolve()], Path("results/quick")).startswith("make report")
    assert report_command([], Path("results")) == "snakemake --cores all --report results/report.html"
    assert report_command(["config/mnist.yaml"], Path("results/mnist")) == (
        "snakemake --cores all --configfile config/mnist.yaml --report results/mnist/report.html")


def test_summary_command(tmp_path):
    experiment(tmp_path, "subspace", "subspace", {"dint90.csv": [dint_row("dense", 300.0, 100.0, 1000.0)]})
    (tmp_path / "figs" / "subspace").mkdir(parents=True)
    (tmp_path / "figs" / "subspace" / "a.png").write_bytes(b"")
    out = subprocess.run([sys.executable, "-m", "weightspace", "summary", str(tmp_path), "--figures",
                          str(tmp_path / "figs")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"figures: {tmp_path / 'figs'}/<experiment>/  (1 PNG and 0 PDF figures, 0 LaTeX tables)" in out.stdout
    assert "digits/small: d_int90 dense 300 [100, 1,000]" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "weightspace", "summary", str(tmp_path / "nope")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such folder" in missing.stderr
