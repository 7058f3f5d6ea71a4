"""The planner's measured estimate (weightspace.estimate): each experiment timed with its own seeds, each step shape
measured once at one or two seeds, measurements cached per device, and what `plan --measure` prints.

The probe (weightspace.bench.step_cost) is replaced by a stand-in whose step costs 1 ms per seed, so that the
estimates are known numbers and no test times anything."""

from __future__ import annotations

import pytest

from weightspace.config import validate

STEP_S = 1e-3  # the stand-in probe: seconds per step and seed


@pytest.fixture
def probes(monkeypatch, tmp_path):
    """The probes run, as (dataset, variant, seeds); the cache in tmp_path; a job start-up of 2 s."""
    import weightspace.bench
    import weightspace.estimate

    calls = []

    def step_cost(net_cfg, dataset, variant, seeds=1, **kw):
        calls.append((dataset, dict(variant), seeds))
        return {"step_s_median": STEP_S * seeds, "build_s": 0.0, "eval_s": 0.0}

    monkeypatch.setattr(weightspace.bench, "step_cost", step_cost)
    monkeypatch.setattr(weightspace.estimate, "job_startup_s", lambda *a, **k: 2.0)
    monkeypatch.setattr(weightspace.estimate, "probe_workers", lambda device: 1)  # the stand-in in this process
    monkeypatch.setattr(weightspace.estimate, "family_job_s", lambda cell, data_dir, device: None)  # not run here
    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    return calls


def config(**over):
    return validate({
        "seeds": 2,
        "train": {"epochs": 1, "batch_size": 100, "evals_per_epoch": 1},
        "nets": {"s": {"arch": "fc", "widths": [8]}},
        "experiments": {
            "few": {"family": "subspace", "datasets": ["digits"], "nets": ["s"],
                    "variants": [{"name": "direct", "reparam": "direct"}]},
            "many": {"family": "subspace", "datasets": ["digits"], "nets": ["s"], "seeds": 6,
                     "variants": [{"name": "direct", "reparam": "direct"}]},
        },
        **over,
    })


def test_each_experiment_is_estimated_with_its_own_seeds(probes):
    """2 seeds and 6 seeds of the same cell: the estimate of the second is three times the first (it used to use
    the last experiment's seed count for every experiment)."""
    from weightspace.estimate import plan

    df = plan(config(), measure=True, log=lambda m: None).set_index("experiment")
    assert df.loc["few", "runs"] == 2 and df.loc["many", "runs"] == 6
    assert df.loc["few", "est_s"] == pytest.approx(df.loc["few", "steps"] * 2 * STEP_S)
    assert df.loc["many", "est_s"] == pytest.approx(3 * df.loc["few", "est_s"])


def test_a_step_shape_is_measured_once_at_one_and_two_seeds(probes):
    """The two experiments' cells share a step shape: timed once, at 1 and 2 seeds (not at 6)."""
    from weightspace.estimate import plan

    plan(config(), measure=True, log=lambda m: None)
    assert sorted(seeds for _, _, seeds in probes) == [1, 2]


def test_sizes_are_probed_at_the_smallest_and_the_largest_that_fits(probes, monkeypatch):
    """A dense projection over d = 5, 20, 50, 100 with fixed tensors of at most 60 weights' worth per seed is
    timed at d = 5 (1 and 2 seeds) and the largest d that fits; the others are interpolated (or extrapolated:
    here linearly in d, the stand-in's cost being flat)."""
    import weightspace.estimate
    from weightspace.data import DATASETS
    from weightspace.registry import REPARAMS
    from weightspace.netspec import net_spec_for

    cfg = config(experiments={"e": {"family": "subspace", "datasets": ["digits"], "nets": ["s"], "variants": [
        {"name": "direct", "reparam": "direct"},
        {"name": "dense", "reparam": "subspace", "projection": "dense", "d": [5, 20, 50, 100]}]}})
    net = net_spec_for({"arch": "fc", "widths": [8]}, DATASETS["digits"].input_shape, 10)
    per_seed = {d: REPARAMS["subspace"].memory({"reparam": "subspace", "projection": "dense", "d": d}, net, 1)
                for d in (5, 20, 50, 100)}
    monkeypatch.setattr(weightspace.estimate, "PROBE_BYTES", (per_seed[50] + per_seed[100]) // 2)
    df = weightspace.estimate.plan(cfg, measure=True, log=lambda m: None)
    assert sorted((v["d"], s) for _, v, s in probes if "d" in v) == [(5, 1), (5, 2), (50, 1)]
    assert df["est_s"].nunique() == 1  # every d (and direct) costs the stand-in's 1 ms per seed


def test_the_model_interpolates_in_size_and_scales_by_the_measured_share_of_a_seed():
    from weightspace.estimate import _model

    timed = {(10, 1): {"t": 1.0}, (10, 2): {"t": 1.5}, (110, 1): {"t": 3.0}}
    assert _model(timed, 10, 1, "t") == pytest.approx(1.0)
    assert _model(timed, 60, 1, "t") == pytest.approx(2.0)  # halfway
    assert _model(timed, 210, 1, "t") == pytest.approx(5.0)  # extrapolated on the same line
    assert _model(timed, 10, 5, "t") == pytest.approx(1.0 * (1 + 4 * 0.5))  # each further seed half the first
    assert _model({(None, 1): {"t": 2.0}}, None, 3, "t") == pytest.approx(6.0)  # no two-seed probe: 3 x one


def test_measurements_are_cached_per_device_and_fresh_measures_again(probes, monkeypatch, tmp_path):
    import weightspace.estimate
    from weightspace.errors import WeightspaceError
    from weightspace.estimate import cache_path, plan

    cfg = config()
    first = plan(cfg, measure=True, log=lambda m: None)
    n = len(probes)
    assert n and cache_path() == tmp_path / "cache" / "plan-measurements.json" and cache_path().exists()
    lines = []
    again = plan(cfg, measure=True, log=lines.append)
    assert len(probes) == n and list(again["est_s"]) == list(first["est_s"])  # nothing timed again
    assert "cached" in lines[0] and "0 to measure" in lines[0]
    plan(cfg, measure=True, log=lambda m: None, fresh=True)
    assert len(probes) == 2 * n
    monkeypatch.setattr(weightspace.estimate, "device_name", lambda device: "another CPU")
    plan(cfg, measure=True, log=lambda m: None)
    assert len(probes) == 3 * n  # another device: measured for it
    cache_path().write_text("{not json")
    with pytest.raises(WeightspaceError, match=r"plan-measurements.json is unreadable .*--fresh"):
        plan(cfg, measure=True, log=lambda m: None)
    assert len(plan(cfg, measure=True, log=lambda m: None, fresh=True)) == 2


def test_plan_measure_prints_hours_wall_arrays_and_warns_of_a_short_request(probes, capsys, tmp_path, monkeypatch):
    """Per experiment the core-hours, training jobs, arrays and the runtime the longest job asks for; a job
    estimated longer than its request is named with the fix."""
    import yaml

    import weightspace.bench
    from weightspace.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({
        "seeds": 2, "train": {"epochs": 1, "batch_size": 100, "evals_per_epoch": 1},
        "nets": {"s": {"arch": "fc", "widths": [8]}},
        "experiments": {"e": {"family": "subspace", "datasets": ["digits"], "nets": ["s"],
                              "variants": [{"name": "direct", "reparam": "direct"}]}},
    }))
    assert main(["plan", "--measure", "--device", "cpu", str(path)]) == 0
    out = capsys.readouterr()
    header = next(line for line in out.out.splitlines() if "core_h" in line).split()
    assert header[-7:] == ["jobs", "train_jobs", "arrays", "core_h", "longest_min", "asks_min", "short"]
    assert "[1/1] digits/s/direct" in out.err and "0 to measure" in out.err
    assert "core-hours; on this machine's" in out.out and "warning" not in out.err
    monkeypatch.setattr(weightspace.bench, "step_cost",
                        lambda *a, seeds=1, **k: {"step_s_median": 60.0, "build_s": 0.0, "eval_s": 0.0})
    assert main(["plan", "--measure", "--fresh", "--device", "cpu", str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning: 1 training job(s) ask a scheduler for less time than estimated" in err
    assert "--set-resources train_subspace:runtime=" in err


def test_plan_vs_actual_compares_each_finished_job_with_its_estimate(probes, tmp_path, monkeypatch, capsys):
    """scripts/plan-vs-actual.py on a results folder with one finished job (its log: started, last written 30 s
    later) and one unfinished: the finished job's measured time is the log's span plus the start-up, and the
    unfinished one is named and left out."""
    import datetime
    import json
    import os
    import runpy
    import sys

    import yaml

    from conftest import REPO
    from weightspace.config import expand
    from weightspace.plan import train_jobs

    root = tmp_path / "run"
    root.mkdir()
    raw = {"seeds": 2, "results_dir": "results", "train": {"epochs": 1, "batch_size": 100, "evals_per_epoch": 1},
           "nets": {"s": {"arch": "fc", "widths": [8]}},
           "experiments": {e: {"family": "subspace", "datasets": ["digits"], "nets": ["s"],
                               "variants": [{"name": "direct", "reparam": "direct"}]} for e in ("a", "b")}}
    (root / "c.yaml").write_text(yaml.safe_dump(raw))
    cfg = config(**{k: v for k, v in raw.items() if k in ("results_dir", "experiments")})
    done = train_jobs(cfg, expand(cfg))[0]
    assert done.experiment == "a"
    for s in done.seeds:
        run = root / "results" / "a" / "runs" / done.cells[0] / f"seed-{s}"
        run.mkdir(parents=True)
        (run / "summary.json").write_text(json.dumps({"wall_time_s": 12.0}))
    log = root / "results" / "logs" / "train" / "a" / f"{done.name}.log"
    log.parent.mkdir(parents=True)
    start = datetime.datetime(2026, 1, 1, 8, 0, 0)
    log.write_text(f"=== weightspace train {done.cells[0]} seeds [0, 1]: started {start.isoformat()} on host\n")
    os.utime(log, (start.timestamp() + 30, start.timestamp() + 30))
    monkeypatch.setattr(sys, "argv", ["plan-vs-actual.py", "--root", str(root), "c.yaml", "--jobs"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(REPO / "scripts" / "plan-vs-actual.py"), run_name="__main__")
    assert e.value.code == 0
    out = capsys.readouterr()
    assert "1 training job(s) not finished or not timed, left out: b/digits__s__part1" in out.err
    row = next(line.split() for line in out.out.splitlines() if line.startswith("a "))
    jobs, measured = int(row[1]), float(row[2])
    assert jobs == 1 and measured == pytest.approx(30 + 2.0)  # the log's span + the start-up (the stand-in's 2 s)
    assert float(row[4]) == pytest.approx(12.0)  # the cell's trainer wall time (one cell: its seeds together)


def test_a_packed_job_counts_the_loading_of_each_of_its_datasets(probes, monkeypatch):
    """A job that packs the cells of several datasets loads each once: its estimate adds every dataset's
    measured loading time, not only its first cell's."""
    import weightspace.estimate
    from weightspace.estimate import plan

    loads = {"digits": 0.5, "mnist1d": 7.0}
    now = [0.0]  # process time: loading a dataset "takes" loads[name]

    def fake_load(name, *a, **k):
        now[0] += loads[name]

    monkeypatch.setattr(weightspace.estimate, "load", fake_load)
    monkeypatch.setattr(weightspace.estimate.time, "process_time", lambda: now[0])
    cfg = config(cells_per_job=8, experiments={
        "both": {"family": "subspace", "datasets": ["digits", "mnist1d"], "nets": ["s"],
                 "variants": [{"name": "direct", "reparam": "direct"}]}})
    df = plan(cfg, measure=True, log=lambda m: None)
    (job,) = df.attrs["train_jobs"]
    assert job["job"] == "packed1" and job["cells"] == 2
    assert job["est_s"] == pytest.approx(2.0 + 0.5 + 7.0 + df["est_s"].sum())


def test_probes_run_in_worker_processes_one_per_core(monkeypatch, tmp_path):
    """On the CPU the probes run in spawned worker processes, as many at a time as the workflow runs jobs (one per
    core): real probes of two step shapes in two workers give the same cache entries a later plan reads back."""
    import weightspace.estimate
    from weightspace.estimate import Measurements, plan, probe_workers

    monkeypatch.setenv("WEIGHTSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(weightspace.estimate, "probe_workers", lambda device: 2)
    cfg = config(experiments={"e": {"family": "subspace", "datasets": ["digits"], "nets": ["s"], "variants": [
        {"name": "direct", "reparam": "direct"},
        {"name": "dense", "reparam": "subspace", "projection": "dense", "d": 10}]}})
    lines = []
    df = plan(cfg, measure=True, log=lines.append)
    assert (df["est_s"] > 0).all()
    assert 0 < df.attrs["other_startup_s"] and 0 < df.attrs["startup_s"]  # measured in the workers too, as real
    assert any("2 at a time" in line for line in lines) and sum("measured;" in line for line in lines) == 2
    again = []
    assert plan(cfg, measure=True, log=again.append)["est_s"].tolist() == df["est_s"].tolist()
    assert sum("cached;" in line for line in again) == 2
    assert probe_workers("cuda:0") == 1 and Measurements("cpu").prefix.count("at a time") == 1


def test_a_probe_over_probe_bytes_runs_alone(probes, monkeypatch):
    """Probes whose tensors exceed PROBE_BYTES (a shape with no size to shrink) run one at a time after the
    others, so that the planner's peak memory is one such probe's, not one per worker."""
    import weightspace.estimate

    calls = []
    real = weightspace.estimate._run_probes
    monkeypatch.setattr(weightspace.estimate, "probe_workers", lambda device: 2)
    monkeypatch.setattr(weightspace.estimate, "_run_probes",
                        lambda tasks, workers, done: (calls.append((len(tasks), workers)), real(tasks, 1, done)))
    cfg = config(experiments={"e": {"family": "subspace", "datasets": ["digits"], "nets": ["s"], "variants": [
        {"name": "direct", "reparam": "direct"},
        {"name": "dense", "reparam": "subspace", "projection": "dense", "d": [10, 20]}]}})
    weightspace.estimate.plan(cfg, measure=True, log=lambda m: None)
    # direct (1, 2 seeds), dense d=10 (1, 2 seeds) and d=20; 2 start-ups and the family's one-cell job
    assert calls == [(2 + 3 + 2 + 1, 2), (0, 1)]
    calls.clear()
    monkeypatch.setattr(weightspace.estimate, "PROBE_BYTES", 1)  # every probe over it: all alone
    weightspace.estimate.plan(cfg, measure=True, log=lambda m: None, fresh=True)
    assert calls[1][1] == 1 and calls[1][0] >= 2 and calls[0][0] == 3  # only the job measurements in the pool


def test_a_job_costs_what_a_real_job_of_its_family_costs_beyond_its_cells(probes, monkeypatch):
    """A training job's own cost (its process, the family's imports and examine, its files) is measured once per
    family by a real one-cell, one-epoch job of its cheapest cell, less that cell's probed part and its data's
    loading; the plain start-up where that job cannot run here."""
    import weightspace.estimate
    from weightspace.estimate import plan

    ran = []
    monkeypatch.setattr(weightspace.estimate, "family_job_s",
                        lambda cell, data_dir, device: ran.append(cell) or 9.0)
    cfg = config(cells_per_job=8)
    df = plan(cfg, measure=True, log=lambda m: None)
    (cell,) = ran  # one family (subspace): one real job, of one epoch
    assert cell["train"]["epochs"] == 1 and cell["family"] == "subspace"
    steps, evals = weightspace.estimate.cell_steps(cell)
    probed = steps * STEP_S  # the stand-in's step cost at one seed (no build, no evaluation cost)
    overhead = df.attrs["family_job_s"]["subspace"]
    assert overhead == pytest.approx(9.0 - probed - df.attrs["load_s"]["digits"])
    for job in df.attrs["train_jobs"]:
        cells = df[df["experiment"] == job["experiment"]]
        assert job["est_s"] == pytest.approx(overhead + df.attrs["load_s"]["digits"] + cells["est_s"].sum())
    monkeypatch.setattr(weightspace.estimate, "family_job_s", lambda cell, data_dir, device: None)
    again = plan(cfg, measure=True, log=lambda m: None, fresh=True)
    assert "subspace" not in again.attrs["family_job_s"]  # not measured: the plain start-up (the stand-in's 2 s)
    assert again.attrs["train_jobs"][0]["est_s"] == pytest.approx(
        2.0 + again.attrs["load_s"]["digits"] + again[again["experiment"] == "few"]["est_s"].sum())
