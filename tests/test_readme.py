"""The counts the README quotes are the ones `weightspace validate` and `weightspace plan` give for the same configs:
each is parsed out of the README's text and computed by the package, so a change to a config or to the job layout
that moves one fails here until the README says the new number."""

from __future__ import annotations

import re

from conftest import REPO
from weightspace.cli import main
from weightspace.config import Validated, load_config, validate
from weightspace.estimate import plan
from weightspace.plan import train_jobs


def readme() -> str:
    """The README with every run of whitespace one space (its paragraphs are wrapped)."""
    return " ".join((REPO / "README.md").read_text().split())


def quoted(pattern: str) -> re.Match:
    m = re.search(pattern, readme())
    assert m, f"the README no longer has a sentence matching {pattern!r}; update this test with it"
    return m


def number(text: str) -> int:
    return int(text.replace(",", ""))


def planned(*files: str) -> dict:
    config = validate(load_config(*(REPO / f for f in files)))
    df = plan(config)
    return {"config": config, "cells": len(df), "runs": int(df["runs"].sum()),
            "jobs": sum(df.attrs["jobs"].values()), "train_jobs": train_jobs(config)}


def test_the_validate_example_prints_what_the_readme_quotes(capsys, monkeypatch):
    m = quoted(r'\.venv/bin/weightspace validate ((?:\S+\.yaml ?)+) # "(config OK: [^"]+)"')
    monkeypatch.chdir(REPO)
    assert main(["validate", *m.group(1).split()]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == m.group(2)


def test_the_paper_grid_counts_are_what_plan_gives():
    m = quoted(r"`weightspace plan config\.yaml` prints the count: for the paper grid \(`config\.yaml`\), ([\d,]+) "
               r"cells \(([\d,]+) runs\) in \*\*([\d,]+) training jobs\*\* \(([\d,]+) rules, so ~([\d,]+) array "
               r"submissions\) and ([\d,]+) jobs in all .*? where one job per cell would make ([\d,]+) training jobs "
               r"and ([\d,]+) in all")
    cells, runs, n_train, rules, arrays, jobs, per_cell_train, per_cell_jobs = map(number, m.groups())
    grid = planned("config.yaml")
    assert (cells, runs, jobs) == (grid["cells"], grid["runs"], grid["jobs"])
    assert (n_train, rules, arrays) == (len(grid["train_jobs"]),) + (len({j.rule for j in grid["train_jobs"]}),) * 2
    one = Validated(dict(grid["config"], cells_per_job=1), grid["config"].datasets)
    assert per_cell_train == len(train_jobs(one)) == grid["cells"]
    assert per_cell_jobs == sum(plan(one).attrs["jobs"].values())


def test_the_make_reproduce_row_of_the_presets_table_has_the_job_counts_plan_gives():
    lines = (REPO / "README.md").read_text().splitlines()
    line = next(line for line in lines if line.startswith("| `make reproduce` |"))
    m = re.search(r"([\d,]+) jobs as `weightspace plan ((?:\S+\.yaml ?)+)` counts them, ([\d,]+) with Snakemake's "
                  r"target rule `all`, ([\d,]+) of them training jobs of up to (\d+) cells", line)
    assert m, line
    jobs, snakemake_jobs, n_train, per_job = (number(m.group(i)) for i in (1, 3, 4, 5))
    preset = planned(*m.group(2).split())
    assert (jobs, snakemake_jobs) == (preset["jobs"], preset["jobs"] + 1)
    assert (n_train, per_job) == (len(preset["train_jobs"]), preset["config"]["cells_per_job"])


def test_the_stage_commands_name_the_cli_where_make_setup_installs_it():
    """After `make setup` the CLI is in the venv's bin folder, not on PATH: the README's commands say so."""
    from test_workflow import readme_stage_commands

    venv = re.search(r"^VENV \?= (\S+)$", (REPO / "Makefile").read_text(), re.M).group(1)
    assert {command[0] for command in readme_stage_commands()} == {f"{venv}/bin/weightspace"}
