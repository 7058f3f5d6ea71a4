"""The comparisons layer: tests declared in the config -> pairs of cells -> comparisons.csv rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import REPO
from weightspace import comparisons as V
from weightspace.config import expand, load_config, validate
from weightspace.errors import ConfigError, WeightspaceError
from weightspace.registry import FAMILIES


def final_table(values: dict[tuple[str, str], list[float]], dataset="digits", swept=None, status=None,
                nets=None) -> pd.DataFrame:
    """A final.csv: ``values[(variant, cell)]`` is the metric per seed; ``swept[cell]`` its swept values,
    ``nets[cell]`` its net (default ``small``)."""
    rows = []
    swept = swept or {}
    for (variant, cell), vals in values.items():
        for seed, v in enumerate(vals):
            s = swept.get(cell, {})
            rows.append({"experiment": "e", "family": "subspace", "cell": cell, "dataset": dataset,
                         "net": (nets or {}).get(cell, "small"),
                         "variant": variant, "swept": " ".join(s), "seed": seed,
                         "status": (status or {}).get((cell, seed), "ok"), "final_test_acc": v, **s})
    return pd.DataFrame(rows)


OPTIONS = {"alpha": 0.05, "confidence": 0.95, "n_resamples": 2000, "random_state": 0}


def test_paired_row_matches_hand_computed_statistics_and_scipy():
    b = [0.80, 0.81, 0.79, 0.82, 0.80, 0.78, 0.83, 0.81, 0.80, 0.79]
    diff = [0.010, 0.020, 0.015, 0.030, 0.005, 0.012, 0.018, 0.022, 0.011, 0.025]  # all positive
    a = [x + d for x, d in zip(b, diff)]
    final = final_table({("A", "ca"): a, ("B", "cb"): b})
    table = V.paired_table(final, [V.Test("A", "B")], OPTIONS, {})
    assert len(table) == 1 and list(table.columns) == V.COLUMNS
    r = table.iloc[0]
    assert r["n_pairs"] == 10 and r["n_dropped"] == 0 and r["paired"]
    assert r["mean_diff"] == pytest.approx(np.mean(diff))
    # every difference positive: only the all-plus and all-minus sign patterns are as extreme, p = 2 / 2^10
    assert r["p"] == pytest.approx(2 / 2**10) and r["p_holm"] == pytest.approx(2 / 2**10)
    assert r["p_wilcoxon"] == pytest.approx(stats.wilcoxon(np.array(a) - np.array(b)).pvalue)
    assert r["ci_low"] < r["mean_diff"] < r["ci_high"] and r["ci_low"] > 0
    assert r["prob_improvement"] == pytest.approx(np.mean([[(x > y) + 0.5 * (x == y) for y in b] for x in a]))
    assert bool(r["significant"]) and not bool(r["cannot_reach"]) and r["metric"] == "final_test_acc"


def test_diverged_seed_drops_its_pair_and_says_so():
    final = final_table({("A", "ca"): [0.9, 0.8, 0.7, 0.6], ("B", "cb"): [0.5, 0.5, 0.5, 0.5]},
                        status={("ca", 2): "diverged"})
    r = V.paired_table(final, [V.Test("A", "B")], OPTIONS, {}).iloc[0]
    assert r["n_pairs"] == 3 and r["n_dropped"] == 1
    assert r["mean_diff"] == pytest.approx(np.mean([0.4, 0.3, 0.1]))


def test_holm_over_all_rows_and_the_power_flag():
    rng = np.random.default_rng(0)
    b = list(rng.normal(0.8, 0.01, 5))
    final = final_table({("A", "ca"): [x + 0.05 for x in b], ("C", "cc"): [x + 0.01 for x in b],
                         ("B", "cb"): b})
    table = V.paired_table(final, [V.Test("A", "B"), V.Test("C", "B")], OPTIONS, {})
    assert list(table["m"]) == [2, 2]
    # 5 pairs: the smallest exact p is 2/32 = 0.0625 > 0.05 already before Holm
    assert list(table["p"]) == pytest.approx([0.0625, 0.0625])
    assert list(table["p_holm"]) == pytest.approx([0.125, 0.125])
    assert table["cannot_reach"].all() and not table["significant"].any()


def test_unpaired_comparison_uses_welch_and_mann_whitney():
    a, b = [0.9, 0.85, 0.88, 0.92], [0.8, 0.82, 0.79, 0.81, 0.83]
    final = final_table({("A", "ca"): a, ("B", "cb"): b})
    r = V.paired_table(final, [V.Test("A", "B", paired=False)], OPTIONS, {}).iloc[0]
    assert not r["paired"] and (r["n_a"], r["n_b"]) == (4, 5)
    assert r["p"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert r["p_mann_whitney"] == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert r["p_min_attainable"] == pytest.approx(2 / math.comb(9, 4))


def test_match_pairs_equal_settings_and_a_one_sided_sweep_pairs_every_value():
    swept = {"a10": {"d": 10}, "a20": {"d": 20}, "b10": {"d": 10}, "b20": {"d": 20}}
    vals = [0.5, 0.6, 0.7]
    final = final_table({("sparse", "a10"): vals, ("sparse", "a20"): vals, ("dense", "b10"): vals,
                         ("dense", "b20"): vals, ("direct", "dir"): vals}, swept=swept)
    t = V.paired_table(final, [V.Test("sparse", "dense"), V.Test("sparse", "direct")], OPTIONS, {})
    assert list(zip(t["a_cell"], t["b_cell"])) == [("a10", "b10"), ("a20", "b20"), ("a10", "dir"), ("a20", "dir")]
    assert list(t["setting"]) == ["d=10", "d=20", "a: d=10", "a: d=20"]
    assert (t["mean_diff"] == 0).all() and (t["p"] == 1).all()


def test_auto_metric_prefers_the_families_first_column_and_falls_back_per_row():
    final = final_table({("A", "ca"): [0.1, 0.2, 0.3], ("B", "cb"): [0.0, 0.0, 0.0]})
    final["final_test_acc"] = np.nan  # a regression task: no accuracy
    final["final_test_loss"] = [1.0, 2.0, 3.0, 0.5, 0.5, 0.5]
    final["final_hard_test_loss"] = [0.9, 1.9, 2.9, np.nan, np.nan, np.nan]  # B has no hardened net
    auto = FAMILIES["sharing"].auto_metric
    r = V.paired_table(final, [V.Test("A", "B")], OPTIONS, FAMILIES["sharing"].metrics, auto).iloc[0]
    assert r["metric"] == "final_hard_test_loss|final_test_loss" and r["direction"] == "lower"
    assert r["mean_diff"] == pytest.approx(np.mean([0.4, 1.4, 2.4]))
    assert r["prob_improvement"] == 0.0  # A's loss is higher in every pair: never better


def test_aggregate_over_datasets_is_the_iqm_of_pooled_runs():
    parts = []
    for ds, shift in (("digits", 0.0), ("mnist1d", -0.2)):
        parts.append(final_table({("A", f"{ds}a"): [0.9 + shift, 0.91 + shift, 0.95 + shift, 0.7 + shift],
                                  ("B", f"{ds}b"): [0.8 + shift, 0.85 + shift, 0.84 + shift, 0.86 + shift]},
                                 dataset=ds))
    final = pd.concat(parts, ignore_index=True)
    table = V.paired_table(final, [V.Test("A", "B")], OPTIONS, {})
    pooled = V.pooled_table(final, table, OPTIONS)
    assert len(pooled) == 1
    r = pooled.iloc[0]
    a_all = final.loc[final["variant"] == "A", "final_test_acc"]
    assert r["iqm_a"] == pytest.approx(stats.trim_mean(a_all, 0.25))
    assert r["iqm_a_lo"] <= r["iqm_a"] <= r["iqm_a_hi"] and r["n_tasks"] == 2 and r["n_runs_a"] == 8
    # per dataset P(A > B) = 12/16 (A's 0.7 run loses to every B run), averaged
    assert r["mean_prob_improvement"] == pytest.approx(0.75)


def quick(**experiments) -> dict:
    cfg = load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml")
    for name, value in experiments.items():
        cfg["experiments"][name].update(value)
    return cfg


def test_every_quick_experiment_gets_comparisons_from_its_family_defaults():
    cfg = validate(quick())
    cells = expand(cfg)
    for name in cells:
        exp = cfg["experiments"][name]
        tests = V.tests_of(exp, exp["variants"], FAMILIES[exp["family"]].default_comparisons(exp))
        pairs = [p for _, t in tests for p in V.resolve(t, V.cells_from_config(cells[name]))]
        if len(exp["variants"]) > 1 or V.options_of(exp)["tests"]:  # feedback-published: its nets, declared
            assert pairs, name


@pytest.mark.parametrize("test, fragment", [
    ({"a": "nope", "b": "direct"}, "comparisons.tests[0].a: no variant 'nope' in this experiment"),
    ({"a": "direct"}, "give either `a` and `b`"),
    ({"a": "direct", "b": "direct"}, "a and b are both 'direct'"),
    ({"reference": "direct", "a": "dense"}, "give either `a` and `b`"),
    ({"a": "dense", "b": "direct", "metric": "final_test_accuracy"},
     "'final_test_accuracy' is not a metric the pipeline knows the direction of"),
    ({"a": "dense", "b": "sparse", "match": ["k"]}, "variant 'dense' has no option 'k'"),
    ({"a": "dense", "b": "qr", "match": ["lr"]}, "pairs no cells"),
])
def test_bad_comparison_fails_validation_naming_the_key(test, fragment):
    cfg = quick(subspace={"comparisons": {"tests": [test]}})
    if test.get("match") == ["lr"]:  # qr trains with another lr than dense: lr-matched pairs do not exist
        for v in cfg["experiments"]["subspace"]["variants"]:
            if v["name"] == "qr":
                v["train"] = {**(v.get("train") or {}), "lr": 0.5}
    with pytest.raises(ConfigError, match="experiments.subspace") as e:
        validate(cfg)
    assert fragment in str(e.value)


def test_one_variant_on_two_nets_pairs_their_cells_and_its_rows_name_the_nets():
    """a_net / b_net: each side on its net, the pair across nets (seed by seed); without them one variant on two
    nets pairs nothing (same net only, never a cell with itself)."""
    base = [0.80, 0.81, 0.79, 0.82]
    final = final_table({("note", "fb"): [x + 0.01 for x in base], ("note", "bl"): base,
                         ("other", "ot"): base}, nets={"fb": "feedback", "bl": "baseline", "ot": "feedback"})
    refs = V.cells_from_final(final)
    test = V.Test("note", "note", a_net="feedback", b_net="baseline", declared=True)
    assert [(a.cell, b.cell) for a, b in V.resolve(test, refs)] == [("fb", "bl")]
    assert V.resolve(V.Test("note", "note"), refs) == []
    # one side on a net: the other side's cells on every net, but never a cell against itself
    assert [(a.cell, b.cell) for a, b in V.resolve(V.Test("note", "note", b_net="baseline"), refs)] == [("fb", "bl")]
    r = V.paired_table(final, [test], OPTIONS, {}).iloc[0]
    assert (r["net"], r["a"], r["b"]) == ("feedback vs baseline", "note (feedback)", "note (baseline)")
    assert r["mean_diff"] == pytest.approx(0.01) and r["p"] == pytest.approx(2 / 2**4) and r["m"] == 1
    from weightspace.comparisons.report import comparisons_latex

    table = V.paired_table(final, [test], OPTIONS, {})
    assert "digits & note (feedback) & note (baseline) &" in comparisons_latex(table)
    # the spec carries the nets (and leaves them out of a test without)
    exp = {"variants": [{"name": "note"}], "comparisons": {"tests": [{"a": "note", "b": "note", "a_net": "feedback",
                                                                      "b_net": "baseline"}]}}
    assert V.from_spec(V.spec(exp, [], {}))[0] == [test]
    assert "a_net" not in V.spec({"variants": exp["variants"]}, [{"a": "note", "b": "x"}], {})["tests"][0]


@pytest.mark.parametrize("test, fragment", [
    ({"a": "note", "b": "note"}, "tests[0]: a and b are both 'note': its sides are the same cells"),
    ({"a": "note", "b": "note", "a_net": "feedback-digits", "b_net": "feedback-digits"},
     "a and b are both 'note' on feedback-digits: its sides are the same cells"),
    ({"a": "note", "b": "note", "a_net": "feedback-mnist", "b_net": "baseline-digits"},
     "tests[0].a_net: no net 'feedback-mnist' in this experiment; its nets: baseline-digits, feedback-digits (a "
     "preset that changes the nets gives its own comparisons.tests"),
    ({"reference": "note", "b_net": "baseline-digits"}, "tests[0].b_net: only with `a` and `b`"),
])
def test_a_bad_test_of_two_nets_fails_validation_in_one_line(test, fragment):
    cfg = quick(**{"feedback-published": {"comparisons": {"tests": [test]}}})
    with pytest.raises(ConfigError, match="experiments.feedback-published") as e:
        validate(cfg)
    assert fragment in str(e.value), str(e.value)


def test_comparisons_false_and_unknown_option_keys():
    cfg = validate(quick(subspace={"comparisons": False}))
    assert V.spec(cfg["experiments"]["subspace"], [{"a": "dense", "b": "direct"}],
                  expand(cfg)["subspace"])["tests"] == []
    with pytest.raises(ConfigError, match="alpha"):
        validate(quick(subspace={"comparisons": {"alpha": 1.5}}))
    with pytest.raises(ConfigError, match="tets"):
        validate(quick(subspace={"comparisons": {"tets": []}}))


def test_spec_round_trips_and_declared_tests_come_before_defaults():
    cfg = validate(quick(subspace={"comparisons": {"tests": [{"a": "sparse", "b": "fastfood", "match": ["d"]}],
                                                   "alpha": 0.01}}))
    exp = cfg["experiments"]["subspace"]
    data = V.spec(exp, FAMILIES["subspace"].default_comparisons(exp), expand(cfg)["subspace"])
    tests, options = V.from_spec(data)
    assert tests[0] == V.Test("sparse", "fastfood", match=("d",), declared=True) and options["alpha"] == 0.01
    assert V.Test("sparse", "dense", match=("d",)) in tests  # the family's default: each projection vs dense


def test_where_keeps_only_the_cells_with_those_values():
    swept = {"l0": {"lambda_prior": 0.0}, "l1": {"lambda_prior": 0.01}}
    final = final_table({("learned", "l0"): [0.1, 0.2], ("learned", "l1"): [0.3, 0.4], ("kmeans", "km"): [0.0, 0.0]},
                        swept=swept)
    t = V.paired_table(final, [V.Test("learned", "kmeans", where=(("lambda_prior", 0.01),))], OPTIONS, {})
    assert list(t["a_cell"]) == ["l1"] and t["mean_diff"].iloc[0] == pytest.approx(0.35)
    cfg = quick(sharing={"comparisons": {"tests": [{"a": "learned", "b": "kmeans", "where": {"nope": 1}}]}})
    with pytest.raises(ConfigError, match="has an option 'nope'"):
        validate(cfg)


def test_power_flag_puts_the_most_extreme_p_in_holms_order():
    """10 seeds: 2/2^10 = 0.00195 can survive Holm over a few comparisons; a significant row is never flagged,
    and a row whose best case still misses alpha after Holm is."""
    base = list(np.linspace(0.80, 0.82, 10))
    values = {("B", "cb"): base}
    for i in range(3):  # 3 clear wins: p = 2/1024 each
        values[(f"A{i}", f"ca{i}")] = [x + 0.05 for x in base]
    values[("N", "cn")] = [x + (0.01 if s % 2 else -0.01) for s, x in enumerate(base)]  # no effect
    final = final_table(values)
    tests = [V.Test(f"A{i}", "B") for i in range(3)] + [V.Test("N", "B")]
    t = V.paired_table(final, tests, OPTIONS, {})
    assert list(t["significant"]) == [True, True, True, False]
    assert not t["cannot_reach"].any()  # N at its best (p = 2/1024) would rank first: 4 x 0.00195 < 0.05
    strict = V.paired_table(final, tests, {**OPTIONS, "alpha": 0.005}, {})
    # the wins already sit at the smallest p, tied: Holm multiplies each by 4 (0.0078 > 0.005); no row can reach
    assert strict["cannot_reach"].all() and not strict["significant"].any()


def test_power_flag_counts_the_non_zero_differences_as_p_min_attainable_does():
    """6 pairs, one difference exactly 0 (tied sum and mean often give the same accuracy under Adam): the exact
    sign-flip p can be no smaller than 2/2^5 = 0.0625 > 0.05, and the flag agrees with its own row."""
    b = [0.80, 0.81, 0.79, 0.82, 0.80, 0.78]
    a = [x + d for x, d in zip(b, [0.0, 0.01, 0.02, 0.03, 0.04, 0.05])]
    r = V.paired_table(final_table({("A", "ca"): a, ("B", "cb"): b}), [V.Test("A", "B")], OPTIONS, {}).iloc[0]
    assert r["n_pairs"] == 6 and r["p"] == pytest.approx(0.0625) and r["p_min_attainable"] == pytest.approx(0.0625)
    assert bool(r["cannot_reach"]) and not bool(r["significant"])


def test_holm_m_counts_rows_whose_pairs_were_all_dropped():
    """A (every seed diverged) vs B, C vs B, D vs E (both sides diverged): three rows, m = 3 for all of them, so the
    one p there is is adjusted as one of three comparisons, not of one."""
    base = list(np.linspace(0.80, 0.82, 10))
    values = {("A", "ca"): base, ("B", "cb"): base, ("C", "cc"): [x + 0.05 for x in base], ("D", "cd"): base,
              ("E", "ce"): base}
    status = {(cell, s): "diverged" for cell in ("ca", "cd", "ce") for s in range(10)}
    final = final_table(values, status=status)
    final.loc[final["status"] != "ok", "final_test_acc"] = np.nan  # a diverged run may have no final accuracy
    t = V.paired_table(final, [V.Test("A", "B"), V.Test("C", "B"), V.Test("D", "E")], OPTIONS, {})
    assert list(t["a"]) == ["A", "C", "D"] and list(t["m"]) == [3, 3, 3]
    assert list(t["n_pairs"]) == [0, 10, 0] and t["p"].isna().tolist() == [True, False, True]
    assert t["p_holm"].iloc[1] == pytest.approx(3 * 2 / 2**10)
    assert t["cannot_reach"].tolist() == [True, False, True]


def final_of(cells: dict[str, dict], seeds: int = 3) -> pd.DataFrame:
    """A final.csv of expanded cells, as the aggregation writes it (read back from CSV), with made-up numbers."""
    from io import StringIO

    from weightspace.aggregate import _cell_columns

    rows = []
    for i, c in enumerate(cells.values()):
        for s in range(seeds):
            rows.append({**_cell_columns({"config": c, "seed": s, "status": "ok", "n_weights": 1, "n_trainable": 1}),
                         "final_test_acc": 0.5 + 0.01 * s + 0.001 * i, "final_test_loss": 1.0 - 0.01 * s})
    return pd.read_csv(StringIO(pd.DataFrame(rows).to_csv(index=False)))


def analyse(cfg: dict, name: str) -> pd.DataFrame:
    """comparisons.csv of experiment ``name`` of a validated config, on made-up numbers (the workflow's path)."""
    cells = expand(cfg)[name]
    exp = cfg["experiments"][name]
    family = FAMILIES[exp["family"]]
    data = V.spec(exp, family.default_comparisons(exp), cells)
    tests, options = V.from_spec(data)
    return V.paired_table(final_of(cells), tests, {**options, "n_resamples": 200}, family.metrics, family.auto_metric,
                     data.get("train"))


@pytest.mark.parametrize("name, test", [
    ("subspace", {"a": "sparse", "b": "fastfood", "match": ["d", "lr"]}),  # lr: set per variant, not swept
    ("tying", {"a": "tied-adam", "b": "narrow-adam", "match": ["g", "epochs"]}),  # epochs: the preset's default
])
def test_a_declared_match_on_an_unswept_training_key_yields_the_pairs_validation_found(name, test):
    cfg = validate(quick(**{name: {"comparisons": {"defaults": False, "tests": [test]}}}))
    promised = V.resolve(V.tests_of(cfg["experiments"][name], cfg["experiments"][name]["variants"], [])[0][1],
                         V.cells_from_config(expand(cfg)[name]))
    t = analyse(cfg, name)
    assert len(promised) > 0 and sorted(zip(t["a_cell"], t["b_cell"])) == sorted((a.cell, b.cell) for a, b in promised)


def test_a_declared_test_without_rows_is_an_error_naming_it():
    final = final_table({("A", "ca"): [0.1, 0.2], ("B", "cb"): [0.3, 0.4]})
    exp = {"variants": [{"name": "A"}, {"name": "B"}], "comparisons": {"tests": [
        {"a": "A", "b": "B", "metric": "finl_test_loss", "direction": "lower"}]}}
    typo = [t for _, t in V.tests_of(exp, exp["variants"], [])]
    with pytest.raises(WeightspaceError, match=r"A vs B: metric 'finl_test_loss' is not a column of final.csv "
                                               r"\(its metrics: final_test_acc\)"):
        V.paired_table(final, typo, OPTIONS, {})
    exp["comparisons"]["tests"] = [{"a": "A", "b": "B", "metric": "final_test_loss"}]  # no loss in these runs
    final["final_test_loss"] = np.nan
    with pytest.raises(WeightspaceError, match="metric 'final_test_loss' has no value on any of its 1 pairs"):
        V.paired_table(final, [t for _, t in V.tests_of(exp, exp["variants"], [])], OPTIONS, {})
    exp["comparisons"]["tests"] = [{"a": "A", "b": "B", "where": {"d": 10}}]  # d is no column: nothing pairs
    with pytest.raises(WeightspaceError, match="declared comparison A vs B pairs no cells of final.csv"):
        V.paired_table(final_table({("A", "ca"): [0.1], ("C", "cc"): [0.2]}),
                  [t for _, t in V.tests_of(exp, exp["variants"], [])], OPTIONS, {})
    # a family default that does not apply is left out, as before
    assert len(V.paired_table(final, [V.Test("A", "B", metric="final_test_loss")], OPTIONS, {})) == 0


def test_an_accuracy_on_a_regression_task_fails_validation():
    cfg = quick(sharing={"comparisons": {"tests": [{"a": "learned", "b": "direct", "metric": "final_test_acc"}]}})
    with pytest.raises(ConfigError, match=r"experiments.sharing.comparisons.tests\[0\].metric: 'final_test_acc' is "
                                          r"an accuracy, which only classification runs have; learned vs direct "
                                          r"compares regression cells only \(on conv1d_teacher\)"):
        validate(cfg)


def plain_optimizers(**tests) -> dict:
    """The quick tying experiment with each optimizer and lr set as plain values per variant (not one-item lists);
    untied-sgd sweeps lr (0.01 and tied-sgd's 0.02)."""
    cfg = quick(tying=tests)
    for v in cfg["experiments"]["tying"]["variants"]:
        sgd = v["name"].endswith("-sgd")
        v["train"] = {"optimizer": "sgd" if sgd else "adam", "lr": 0.02 if sgd else 3.0e-3}
        if v["name"] == "untied-sgd":
            v["train"]["lr"] = [0.01, 0.02]
    return validate(cfg)


def test_defaults_never_pair_different_optimizers_or_learning_rates_set_per_variant():
    t = analyse(plain_optimizers(), "tying")
    assert len(t) and all(a.split("-")[-1] == b.split("-")[-1] for a, b in zip(t["a"], t["b"]))
    sgd = t[t["b"] == "untied-sgd"]
    assert len(sgd) and sgd["b_cell"].str.endswith("__lr0.02").all() and sgd["setting"].str.contains("lr=0.02").all()


def test_a_declared_match_that_omits_a_differing_training_setting_shows_it_per_side():
    cfg = plain_optimizers(comparisons={"defaults": False,
                                        "tests": [{"a": "tied-sgd", "b": "tied-adam", "match": ["g", "grad"]}]})
    t = analyse(cfg, "tying")
    assert len(t) == 8 and set(t["setting"].str.split("; ").str[2:].str.join("; ")) == {
        "a: lr=0.02 optimizer=sgd; b: lr=0.003 optimizer=adam"}
    # without the explicit match the test would compare across optimizers: refused, naming the keys
    with pytest.raises(ConfigError, match="tied-sgd vs tied-adam pairs no cells .* values of g, grad, lr, optimizer"):
        plain_optimizers(comparisons={"defaults": False, "tests": [{"a": "tied-sgd", "b": "tied-adam"}]})


def test_a_preset_that_drops_variants_named_by_the_base_configs_tests_is_told_how_to_fix_it(tmp_path):
    """config.yaml's sharing-images declares tests on hashed and kmeans; a preset that keeps only direct and learned
    inherits them (lists replace, mappings merge): refused naming the variant, with the fix; its own tests pass."""
    preset = tmp_path / "mine.yaml"
    preset.write_text("experiments:\n  sharing-images:\n    variants:\n"
                      "      - {name: direct, reparam: direct}\n      - {name: learned, reparam: sharing, k: 4}\n")
    with pytest.raises(ConfigError) as e:
        validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml", preset))
    assert ("experiments.sharing-images.comparisons.tests[1].b: no variant 'hashed' in this experiment; its variants: "
            "direct, learned (a preset that changes the variants gives its own comparisons.tests, e.g. tests: [])"
            in str(e.value)), str(e.value)
    preset.write_text(preset.read_text() + "    comparisons: {tests: [{reference: direct, match: []}]}\n")
    cells = expand(validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml", preset)))
    exp = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml", preset))["experiments"]
    tests = V.tests_of(exp["sharing-images"], exp["sharing-images"]["variants"], [])
    pairs = [p for _, t in tests for p in V.resolve(t, V.cells_from_config(cells["sharing-images"]))]
    assert {(a.variant, b.variant) for a, b in pairs} == {("learned", "direct")} and len(pairs) == 2  # 2 datasets
