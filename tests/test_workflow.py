"""The real Snakemake workflow: a dry run of the full grid, and a tiny real run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO
from weightspace.config import expand, load_config, validate
from weightspace.plan import train_jobs

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def workdir_copy(tmp_path: Path) -> Path:
    """The workflow files as a fresh clone has them, in a scratch folder."""
    dst = tmp_path / "repo"
    dst.mkdir()
    for name in ("Snakefile", "config.yaml", "environment.yml"):
        shutil.copy(REPO / name, dst / name)
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, dst / name, symlinks=False)
    return dst


def run_snakemake(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def job_counts(output: str) -> dict[str, int]:
    stats = output[output.index("Job stats:") :]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


def only(experiments: dict) -> dict:
    """``experiments`` plus every other experiment of the quick preset switched off (each family has its own
    end-to-end test; these tests are about the workflow, and CI time is counted)."""
    names = set(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml")["experiments"])
    return {**{n: {"enabled": False} for n in names - set(experiments)}, **experiments}


def readme_stage_commands() -> list[list[str]]:
    """The commands of the README's block of stage commands by hand, split into words (comments dropped)."""
    import shlex

    text = (REPO / "README.md").read_text()
    block = text[text.index("each stage by hand"):]
    block = block[block.index("```bash") + 7 : block.index("```", block.index("```bash") + 7)]
    return [shlex.split(line.split("#")[0]) for line in block.strip().splitlines()]


def test_readme_train_command_names_a_cell_of_the_quick_preset():
    line = next(c for c in readme_stage_commands() if c[1] == "train")
    configs = line[line.index("--config") + 1 : line.index("--cell")]
    cell = line[line.index("--cell") + 1]
    out = subprocess.run([sys.executable, "-m", "weightspace", "cells", *configs], cwd=REPO, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert cell in out.stdout.split()


def test_dry_run_plans_the_full_paper_grid(tmp_path):
    repo = workdir_copy(tmp_path)
    out = run_snakemake(repo, "-n", "-p", "--cores", "2")
    assert out.returncode == 0, out.stderr + out.stdout
    counts = job_counts(out.stdout + out.stderr)
    # the cost benchmark starts first, alone, timed as a training job runs (one torch thread): Snakemake starts the
    # ready jobs with the largest summed priority, so its priority must outweigh every other job ready at the start
    jobs = re.findall(r"^rule (\w+):\n(.*?)^Shell command: (.*?)$", out.stdout, re.M | re.S)
    priority = {rule: [] for rule, _, _ in jobs}
    for rule, block, _ in jobs:
        priority[rule].append(int(re.search(r"priority: (\d+)", block).group(1)) if "priority:" in block else 0)
    assert priority["bench_cost"][0] > sum(priority["prepare_data"]) + sum(priority["meta_sharing"])
    assert priority["bench_cost"][0] > max(p for rule, ps in priority.items() if rule.startswith("train_") for p in ps)
    assert "--threads 1 " in next(shell for rule, _, shell in jobs if rule == "bench_cost")
    assert "weightspace: what this run made" not in out.stdout + out.stderr  # the summary ends real runs only
    config = validate(load_config(REPO / "config.yaml"))
    cells = expand(config)
    datasets = {c["dataset"] for cs in cells.values() for c in cs.values() if config.datasets[c["dataset"]].files}
    assert counts["prepare_data"] == len(datasets)  # each dataset with files to fetch; teachers are made in the jobs
    assert {"mnist", "fashion_mnist", "cifar10"} <= datasets  # planned, though not downloadable offline
    # training jobs of up to cells_per_job cells of one experiment, dataset and net (train_<family>[_<n>] rules);
    # every cell in exactly one job
    jobs = train_jobs(config, cells)
    assert sum(n for rule, n in counts.items() if rule.startswith("train_")) == len(jobs)
    assert len(jobs) < sum(len(c) for c in cells.values()) / 4
    trained = [(j.experiment, cid) for j in jobs for cid in j.cells]
    assert sorted(trained) == sorted((e, cid) for e, cs in cells.items() for cid in cs)
    assert all(1 <= len(j.cells) <= config["cells_per_job"] for j in jobs)
    # a job of one dataset and net, or (prefix "") the packed cells of several small groups of one experiment
    assert all(len({cells[j.experiment][c]["dataset"] for c in j.cells}) == 1 for j in jobs if j.prefix)
    assert all(len({(cells[j.experiment][c]["dataset"], cells[j.experiment][c]["net"]["name"]) for c in j.cells}) > 1
               for j in jobs if not j.prefix)
    for rule in {j.rule for j in jobs}:
        assert counts[rule] == sum(j.rule == rule for j in jobs)
    assert max(counts[r] for r in {j.rule for j in jobs}) >= 6  # a rule per part: its datasets x nets, one array
    # after training, one job per experiment makes its tables, figures and LaTeX tables; besides, the jobs whose
    # tables a figure shows (the cost benchmark, the meta-learning comparison)
    assert {rule for rule in counts if rule.startswith("render_")} == {f"render_{e.replace('-', '_')}" for e in cells}
    assert all(counts[f"render_{e.replace('-', '_')}"] == 1 for e in cells)
    assert counts["bench_cost"] == 1 and counts["meta_sharing"] == 1
    assert counts["total"] == len(datasets) + len(jobs) + len(cells) + 2 + 1  # ..., the two, rule all


def readme_outputs() -> list[tuple[str, bool]]:
    """The paths of the README's "`make reproduce` leaves" list, braces expanded: (pattern, optional), where an
    optional one (``[,structure.npz]``) is kept by some experiments only."""
    text = (REPO / "README.md").read_text()
    block = text[text.index("`make reproduce` leaves"):]
    block = block[block.index("```") + 3 : block.index("```", block.index("```") + 3)]
    out = []
    for line in block.strip().splitlines():
        pattern = re.match(r"(?:<[^>]*>|\S)+", line).group(0)  # up to the first space outside <...>
        braces = re.search(r"\{(.*)\}", pattern)
        if not braces:
            out.append((pattern, False))
            continue
        inner = braces.group(1)
        optional = re.findall(r"\[,([^\]]*)\]", inner)
        required = re.sub(r"\[,[^\]]*\]", "", inner).split(",")
        out += [(pattern.replace(braces.group(0), name), name in optional) for name in required + optional]
    return out


def _pattern_regex(pattern: str) -> tuple[re.Pattern, str | None]:
    """A README path pattern as a regex whose group ``exp`` is the experiment (``<exp>``, ``<tying exp>``), and the
    family such a placeholder names (``"*"`` for every experiment; None when it has none)."""
    family = None
    regex = ""
    for part in re.split(r"(<[^>]+>|\*)", pattern):
        if part == "*":
            regex += "[^/]*"
        elif part.startswith("<") and part.endswith(" exp>") or part == "<exp>":
            family = "*" if part == "<exp>" else part[1:].split()[0]
            regex += "(?P<exp>[^/]+)"
        elif part.startswith("<"):
            regex += "[^/]+"
        else:
            regex += re.escape(part)
    return re.compile(regex), family


def test_every_output_the_readme_lists_is_a_target_of_the_default_run():
    """Snakemake re-makes a deleted file only if a target of the run needs it, not when the files made from it are
    present: every file the README says `make reproduce` leaves must be one of rule all's targets (for a pattern
    with <exp>, in every experiment; with <tying exp>, in every experiment of that family), and each figure both
    as PDF and PNG."""
    from weightspace.plan import targets

    config = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml"))
    made = targets(config)
    assert len(made) == len(set(made))
    listed = readme_outputs()
    assert len(listed) > 40 and ("results/quick/subspace/by_dim.csv", False) in listed
    for pattern, optional in listed:
        regex, family = _pattern_regex(pattern)
        hits = [m for m in map(regex.fullmatch, made) if m]
        assert hits, f"README lists {pattern}, but no target of the default run is such a file"
        if family and not optional:
            want = {e for e, x in config["experiments"].items()
                    if x.get("enabled", True) and family in ("*", x["family"])}
            missing = want - {m.group("exp") for m in hits}
            assert not missing, f"README lists {pattern}, but it is no target for {sorted(missing)}"


def _dry_run_outputs(repo: Path, *args: str) -> set[str]:
    """The output files of every job a dry run of the workflow would run."""
    out = run_snakemake(repo, "-n", "--cores", "1", *args)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    return {f for line in re.findall(r"^\s+output: (.*)$", text, re.M) for f in line.split(", ")}


def test_a_deleted_table_run_file_or_figure_is_made_again(tmp_path):
    """Every target present (empty files, one old time; no training): deleting one table of each family, a run's
    file or folder, or a figure's PDF makes the workflow re-make it and what is made from it (snakemake -n), and
    nothing of an experiment where nothing was deleted."""
    from weightspace.plan import targets

    repo = workdir_copy(tmp_path)
    tiny = {"experiments": only({e: {} for e in ("subspace", "sharing", "sharing-images", "sharing-kinds", "tying",
                                                 "tying-crosslayer", "tying-autoencoder", "feedback",
                                                 "feedback-published")})}
    (repo / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    args = ("--configfile", "config/quick.yaml", "tiny.yaml")
    config = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml", repo / "tiny.yaml"))

    def present(names):
        for name in names:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).touch()
            os.utime(repo / name, (1e9, 1e9))

    present(targets(config))
    res, run = "results/quick", "results/quick/tying-crosslayer/runs/digits__small-deep__untied"
    rounds = [  # one file per job in a round: each must be re-made by itself
        [f"{res}/subspace/by_dim.csv", f"{res}/sharing/sharing_summary.csv", f"{res}/tying/tying_summary.csv",
         f"{res}/feedback/feedback_summary.csv", f"{res}/feedback-published/feedback_paired.csv",
         f"{res}/sharing-images/comparisons_aggregate.csv", f"{run}/seed-1/summary.json",
         "figures/quick/tying-autoencoder/comparisons.pdf"],
        [f"{res}/subspace/dint90.csv", f"{run}"],
    ]
    for deleted in rounds:
        for name in deleted:
            if (repo / name).is_dir():
                shutil.rmtree(repo / name)
            else:
                (repo / name).unlink(missing_ok=True)
        remade = _dry_run_outputs(repo, *args)
        for name in deleted:
            assert name in remade or any(f.startswith(name + "/") for f in remade), f"{name} is not made again"
        assert f"{res}/tying-crosslayer/final.csv" in remade  # a run re-made: the tables made from it too
        assert not [f for f in remade if "/sharing-kinds/" in f]  # not everything: only what was deleted
        present(remade)


def test_workflow_is_snakefmt_clean_and_lint_clean():
    """The rules follow the workflow template's style: snakefmt (project line length) and snakemake --lint."""
    fmt = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "--line-length", "120", "Snakefile", "workflow"],
                         cwd=REPO, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stderr + fmt.stdout
    lint = run_snakemake(REPO, "--lint", "--configfile", "config/quick.yaml")
    assert lint.returncode == 0 and "Congratulations, your workflow is in a good condition" in lint.stdout + lint.stderr, (
        lint.stdout + lint.stderr)


def test_every_rule_has_the_conda_environment_and_calls_the_cli_through_params():
    """--sdm conda works on a cluster: every rule that runs a command has environment.yml, and the CLI is a param."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, ResourceSettings

    with SnakemakeApi() as api:
        wf = api.workflow(resource_settings=ResourceSettings(cores=1), config_settings=ConfigSettings(),
                          snakefile=REPO / "Snakefile", workdir=REPO)
        rules = list(wf._workflow.rules)
    assert {r.name for r in rules} >= {"prepare_data", "train_subspace", "train_sharing", "render_subspace",
                                       "render_sharing", "bench_cost", "meta_sharing"}
    for r in rules:
        if r.shellcmd:
            assert r.conda_env == "../../environment.yml", r.name
            assert "{params.ws}" in r.shellcmd, r.name


@pytest.mark.parametrize("text, message", [
    ("train:\n  lr: -1\n", "train.lr: -1 is out of range"),
    # issue 20.8: Snakemake's own loader let a repeated key win; the workflow reads each file as the CLI does
    ("seeds: 2\nseeds: 3\n", "bad.yaml: key 'seeds' is given twice in one mapping (lines 1 and 2); keep one"),
])
def test_invalid_config_stops_snakemake_with_the_message(tmp_path, text, message):
    repo = workdir_copy(tmp_path)
    (repo / "bad.yaml").write_text(text)
    out = run_snakemake(repo, "-n", "--cores", "1", "--configfile", "bad.yaml")
    assert out.returncode != 0
    assert message in out.stderr + out.stdout


def test_make_reproduce_checks_its_config_first():
    """A misspelled CONFIG is answered by `weightspace validate` in one line, before Snakemake (whose answer to a
    missing --configfile is a traceback) starts; make -n runs nothing."""
    out = subprocess.run(["make", "-n", "reproduce", "CONFIG=config/nope.yaml"], cwd=REPO, capture_output=True,
                         text=True, check=True)
    lines = out.stdout.splitlines()
    i = lines.index(".venv/bin/weightspace validate config.yaml config/nope.yaml")
    assert lines[i + 1].startswith(".venv/bin/snakemake ") and lines[i + 1].endswith(" --configfile config/nope.yaml")
    r = subprocess.run([sys.executable, "-m", "weightspace", "validate", "config.yaml", "config/nope.yaml"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.splitlines() == [
        "weightspace validate: error: config file config/nope.yaml does not exist"]


def test_second_workflow_on_a_results_folder_in_use_stops_with_a_message(tmp_path):
    """Two checkouts, one absolute results_dir: the second workflow refuses before it touches anything."""
    results = tmp_path / "shared-results"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from weightspace.workflow_lock import hold_results_folder; "
         "hold_results_folder(sys.argv[1]); print('held', flush=True); time.sleep(120)", str(results)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        repo = workdir_copy(tmp_path)
        (repo / "other.yaml").write_text(yaml.safe_dump({"results_dir": str(results), "seeds": 1}))
        out = run_snakemake(repo, "--cores", "1", "--configfile", "config/quick.yaml", "other.yaml")
        assert out.returncode != 0
        text = out.stdout + out.stderr
        assert f"the results folder {results} is in use by another workflow (pid {holder.pid}" in text
        assert "another results_dir" in text
        assert sorted(p.name for p in results.iterdir()) == [".weightspace-workflow.lock", ".weightspace-workflow.owner"]
        # a dry run only reads: it is not refused
        assert run_snakemake(repo, "-n", "--cores", "1", "--configfile", "config/quick.yaml", "other.yaml").returncode == 0
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_device_cuda_on_a_machine_without_cuda_is_said_in_one_line_before_any_job(tmp_path):
    """Not refused (from a cluster's login node the jobs go to GPU nodes), but the local executor says it at
    workflow start, before the data job, in one line (one dataset prepared: the cheapest real run)."""
    repo = workdir_copy(tmp_path)
    (repo / "cuda.yaml").write_text("device: cuda\n")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # torch finds no CUDA, whatever the machine
    out = subprocess.run([*SNAKEMAKE, "results/quick/data/digits.json", "--cores", "1", "--configfile",
                          "config/quick.yaml", "cuda.yaml"], cwd=repo, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stderr.splitlines()
    warned = [i for i, line in enumerate(lines) if "torch finds no CUDA" in line]
    assert len(warned) == 1, out.stderr
    assert lines[warned[0]].startswith("weightspace: warning: device: cuda, but torch finds no CUDA on this machine")
    assert warned[0] < next(i for i, line in enumerate(lines) if "rule prepare_data" in line)


@pytest.mark.slow
def test_tiny_quick_run_produces_tables_and_figure(tmp_path):
    repo = workdir_copy(tmp_path)
    tiny = {
        "seeds": 2,
        "train": {"epochs": 2, "evals_per_epoch": 1},
        "experiments": {"subspace": {
            "datasets": ["digits"],
            "variants": [
                {"name": "direct", "reparam": "direct"},
                {"name": "dense", "reparam": "subspace", "projection": "dense", "d": [10, 50]},
                # diverges (loss -> NaN): must be counted and reported, not crash or vanish
                {"name": "unstable", "reparam": "subspace", "projection": "fastfood", "d": 20,
                 "train": {"optimizer": "sgd", "lr": 1.0e4}},
            ],
            "analysis": {"n_boot": 200},
            "cost": {"dataset": "digits", "net": "small", "d": [10, 50], "projections": ["fastfood"],
                     "steps": 2, "repeats": 1},
        },
            "sharing": {
                "seeds": 2,  # the quick preset gives this experiment its own seeds (config.yaml: 10)
                "train": {"epochs": 3},
                "variants": [
                    {"name": "direct", "reparam": "direct"},
                    {"name": "learned", "reparam": "sharing", "k": 8, "tau": 1.0, "tau_final": 0.1},
                    {"name": "hashed", "reparam": "hashed", "k": 8},
                    {"name": "kmeans", "reparam": "kmeans", "k": 8, "pretrain_epochs": 2},
                ],
            },
            "sharing-images": {
                "datasets": ["digits"],
                "train": {"epochs": 2},
                "variants": [
                    {"name": "direct", "reparam": "direct"},
                    {"name": "learned", "reparam": "sharing", "k": 4},
                ],
                # config.yaml's tests name variants this cut-down experiment has not: a preset that changes the
                # variants declares its own (here: learned at its own learning rate against direct)
                "comparisons": {"tests": [{"reference": "direct", "match": []}]},
            },
        },
    }
    tiny["experiments"] = only(tiny["experiments"])
    (repo / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    args = ["--cores", "2", "--configfile", "config/quick.yaml", "tiny.yaml"]
    out = run_snakemake(repo, *args)
    assert out.returncode == 0, out.stderr[-3000:]
    # the run ends with its summary (weightspace.run_summary): where the outputs are, each experiment's headline
    summary = out.stdout[out.stdout.index("weightspace: what this run made"):]
    assert "report:  snakemake --cores all --configfile config/quick.yaml tiny.yaml --report " \
           "results/quick/report.html" in summary
    assert "  subspace (subspace): 8 runs, 6 finished, 2 diverged\n    digits/small: d_int90 dense " in summary
    assert "\n  sharing (sharing): 8 runs, 8 finished\n    conv1d_teacher/linear: best ARI" in summary
    res = repo / "results" / "quick" / "subspace"
    final = pd.read_csv(res / "final.csv")
    assert len(final) == 4 * 2  # (direct, d=10, d=50, unstable) x 2 seeds
    assert set(final.loc[final["variant"] != "unstable", "status"]) == {"ok"}
    assert set(final.loc[final["variant"] == "unstable", "status"]) == {"diverged"}
    assert final.loc[final["variant"] == "unstable", "diverged_epoch"].notna().all()
    assert final.loc[final["variant"] == "unstable", "diverged_step"].notna().all()
    assert final.loc[final["variant"] == "unstable", "diverged_reason"].str.contains("not finite").all()
    assert final.loc[final["variant"] == "direct", "final_test_acc"].min() > 0.5
    curves = pd.read_csv(res / "curves.csv")
    assert sorted(curves["step"].unique().tolist()) == [0, 22, 44]
    figs = repo / "figures" / "quick" / "subspace"
    for name in ("curves__digits__small__dense", "accuracy_vs_d__digits__small", "cost"):
        png, pdf = figs / f"{name}.png", figs / f"{name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-", name
    assert r"\begin{tabular}" in (figs / "dint90.tex").read_text()
    assert r"\begin{tabular}" in (figs / "accuracy_by_d.tex").read_text()
    dint = pd.read_csv(res / "dint90.csv")
    assert list(dint["variant"]) == ["dense", "unstable"] and dint["n_boot"].iloc[0] == 200
    assert dint.loc[1, "n_diverged"] == 2 and dint.loc[1, "dint"] == float("inf")  # never reached
    # unstable: infinite d_int, with its diverged count
    assert r"unstable$^{2\dagger}$ & 4\,810 & $" in (figs / "dint90.tex").read_text()
    assert r"& $\infty$ & $\infty$ & [$\infty$, $\infty$] \\" in (figs / "dint90.tex").read_text()
    # one training job per experiment, dataset and net here (cells_per_job: 8): its log
    log = (repo / "results" / "quick" / "logs" / "train" / "subspace" / "digits__small__part1.log").read_text()
    assert "seed 1 diverged at step" in log
    cost = pd.read_csv(res / "cost.csv")
    assert set(cost["variant"]) == {"direct", "fastfood"}
    # every file a training job writes is declared: a subspace run keeps no structure.npz, a sharing run does
    assert not list((res / "runs").rglob("structure.npz"))
    sh_runs = repo / "results" / "quick" / "sharing" / "runs"
    assert len(list(sh_runs.rglob("structure.npz"))) == len(list(sh_runs.rglob("summary.json"))) > 0
    summary = (res / "runs" / "digits__small__dense__d10" / "seed-1" / "summary.json").read_text()
    for key in ("provenance", "torch", "checksum", "code_version", "wall_time_s", '"seed": 1'):
        assert key in summary
    # the sharing family: structure metrics against the teacher, figures, table
    sh = repo / "results" / "quick" / "sharing"
    summary = pd.read_csv(sh / "sharing_summary.csv")
    assert set(summary["variant"]) == {"direct", "learned", "hashed", "kmeans"}
    assert summary["ari_support_mean"].notna().all() and (summary["n_ok"] == 2).all()
    sfig = repo / "figures" / "quick" / "sharing"
    for name in ("structure__conv1d_teacher__linear__learned", "structure__conv1d_teacher__linear__hashed",
                 "tradeoff__conv1d_teacher__linear", "dynamics__conv1d_teacher__linear__learned"):
        assert (sfig / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert r"\begin{tabular}" in (sfig / "structure.tex").read_text()
    maps = repo / "figures" / "quick" / "sharing-images" / "maps__digits__small__learned.png"
    assert maps.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the README's stage commands, by hand, on these outputs (its paths are the quick preset's; a command that
    # reads the config gets this run's too); render and make draw the figures again
    shutil.rmtree(repo / "figures" / "quick" / "subspace")
    for line in readme_stage_commands():
        if line[1] in ("train", "bench", "data", "compare"):  # not about these outputs (see the quick tests)
            continue
        words = [w for a in line[1:] for w in ([a, "tiny.yaml"] if a == "config/quick.yaml" else [a])]
        cmd = " ".join(a.replace("/tmp/", f"{tmp_path}/readme-") for a in words)  # through a shell: globs
        r = subprocess.run(f"{sys.executable} -m weightspace {cmd}", shell=True, cwd=repo, capture_output=True,
                           text=True)
        assert r.returncode == 0, (line, r.stderr[-2000:])
    subspace_figures = repo / "figures" / "quick" / "subspace"
    assert (subspace_figures / "dint90.tex").exists() and (subspace_figures / "curves__digits__small__dense.png").exists()
    # a second run has nothing to do
    again = run_snakemake(repo, *args)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_killed_workflow_resumes_and_finishes(tmp_path):
    """SIGTERM to a running Snakemake whose training job (two cells) has finished its first cell and trains the
    second: the job checkpoints and stops; Snakemake deletes the incomplete job's outputs; the re-run restores
    the first cell (not trained again), resumes the second, and ends with the numbers of an uninterrupted run."""
    import json
    import signal
    import time

    from test_train import strip_times

    repo = workdir_copy(tmp_path)
    tiny = {
        "seeds": 2,
        "checkpoint_every_s": 0,
        "cells_per_job": 2,
        "train": {"epochs": 40, "evals_per_epoch": 4},
        "experiments": {
            "subspace": {"datasets": ["mnist1d"], "variants": [
                {"name": "short", "reparam": "direct", "train": {"epochs": 2}},
                {"name": "direct", "reparam": "direct"},
            ], "analysis": {"baseline": "direct"}},
        },
    }
    tiny["experiments"] = only(tiny["experiments"])
    (repo / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    args = [*SNAKEMAKE, "--cores", "1", "--configfile", "config/quick.yaml", "tiny.yaml", "--until", "train_subspace"]
    proc = subprocess.Popen(args, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    runs = repo / "results" / "quick" / "subspace" / "runs"
    ckpt_dir = runs / ".checkpoints" / "mnist1d__small__direct"
    finished = runs / ".checkpoints" / "mnist1d__small__short" / "finished.json"
    t = time.time()
    while not ((ckpt_dir / "seeds-0-1.pt").exists() and finished.exists()):
        assert time.time() - t < 180 and proc.poll() is None, "no checkpoint appeared"
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)  # as a cluster or a user's Ctrl-C would
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    summary = runs / "mnist1d__small__direct" / "seed-0" / "summary.json"
    assert not summary.exists()
    assert (ckpt_dir / "seeds-0-1.pt").exists()
    again = run_snakemake(repo, "--cores", "1", "--configfile", "config/quick.yaml", "tiny.yaml", "--until",
                          "train_subspace")
    assert again.returncode == 0, again.stderr[-3000:]
    log = (repo / "results" / "quick" / "logs" / "train" / "subspace" / "mnist1d__small__part1.log").read_text()
    second_attempt = log[log.rindex("=== weightspace train"):]
    assert "[mnist1d__small__short] finished by an earlier attempt of this job: its results restored" in second_attempt
    assert "[mnist1d__small__short] 2 seed(s)" not in second_attempt  # not trained again
    assert "[mnist1d__small__direct] resumed from checkpoint" in second_attempt
    assert summary.exists() and not ckpt_dir.exists()
    # the same job, uninterrupted, gives the same numbers for both cells
    cells = [json.loads((runs / c / "seed-0" / "summary.json").read_text())["config"]
             for c in ("mnist1d__small__short", "mnist1d__small__direct")]
    ref = subprocess.run([sys.executable, "-m", "weightspace", "train", "--cells-json", json.dumps(cells), "--seeds",
                          "0", "1", "--runs-dir", str(tmp_path / "ref"), "--device", "cpu", "--data-dir",
                          str(repo / "data"), "--no-progress"], capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    for c in cells:
        for s in (0, 1):
            got = pd.read_csv(runs / c["cell"] / f"seed-{s}" / "metrics.csv").to_dict("records")
            want = pd.read_csv(tmp_path / "ref" / c["cell"] / f"seed-{s}" / "metrics.csv").to_dict("records")
            assert strip_times(got) == strip_times(want), (c["cell"], s)


def _artifacts(repo: Path) -> dict[str, bytes]:
    """Every table and figure of a run that must regenerate identically: results/<exp>/*.csv and figures/**,
    except the measurements of the machine (timings.csv, the cost benchmark and its figure)."""
    out = {}
    for path in sorted((repo / "results").glob("quick/*/*.csv")) + sorted((repo / "figures").rglob("*")):
        if path.is_file() and path.name != "timings.csv" and not path.name.startswith("cost"):
            out[str(path.relative_to(repo))] = path.read_bytes()
    return out


@pytest.mark.slow
def test_rerun_from_scratch_is_byte_identical_and_the_report_builds(tmp_path):
    """Delete results/ and figures/, re-run: every CSV, LaTeX table, PNG and PDF comes back byte for byte; so does
    one table deleted alone (by_dim.csv); then `snakemake --report` (the README's command) builds a report with
    every figure, captioned, grouped by family."""
    repo = workdir_copy(tmp_path)
    tiny = {
        "seeds": 2,
        "train": {"epochs": 2, "evals_per_epoch": 1},
        "experiments": only({
            "subspace": {
                "datasets": ["digits"],
                "variants": [{"name": "direct", "reparam": "direct"},
                             {"name": "dense", "reparam": "subspace", "projection": "dense", "d": [10, 50]},
                             {"name": "sparse", "reparam": "subspace", "projection": "sparse", "d": [10, 50]}],
                "analysis": {"n_boot": 200},
                "cost": False,
            },
            "tying-autoencoder": {"train": {"epochs": 1}},
        }),
    }
    (repo / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    args = ["--cores", "2", "--configfile", "config/quick.yaml", "tiny.yaml"]
    first = run_snakemake(repo, *args)
    assert first.returncode == 0, first.stderr[-3000:]
    before = _artifacts(repo)
    comparisons = pd.read_csv(repo / "results" / "quick" / "subspace" / "comparisons.csv")
    from weightspace.comparisons import COLUMNS

    assert list(comparisons.columns) == COLUMNS
    assert set(zip(comparisons["a"], comparisons["b"], comparisons["setting"])) == {
        ("sparse", "dense", "d=10"), ("sparse", "dense", "d=50")}
    assert comparisons["cannot_reach"].all()  # 2 seeds: no test can reach 0.05
    assert "figures/quick/subspace/comparisons.png" in before and "figures/quick/tying-autoencoder/comparisons.tex" in before
    assert "train_time_s" not in pd.read_csv(repo / "results" / "quick" / "subspace" / "final.csv").columns
    shutil.rmtree(repo / "results")
    shutil.rmtree(repo / "figures")
    second = run_snakemake(repo, *args)
    assert second.returncode == 0, second.stderr[-3000:]
    after = _artifacts(repo)
    assert sorted(after) == sorted(before)
    differ = [name for name in before if before[name] != after[name]]
    assert not differ, f"not regenerated byte for byte: {differ}"
    # a table the README lists, deleted, is made again, byte for byte (and what is made from it)
    (repo / "results" / "quick" / "subspace" / "by_dim.csv").unlink()
    third = run_snakemake(repo, *args)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "render_subspace" in third.stdout + third.stderr
    assert _artifacts(repo) == before
    report = run_snakemake(repo, *args, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (repo / "report.html").read_text(errors="replace")
    for text in ("subspace family", "tying family", "comparisons.png", "accuracy_vs_d__digits__small.png",
                 "tying_recon__digits__ae-small.png", "2 seeds per cell", "Holm"):
        assert text in html, text
