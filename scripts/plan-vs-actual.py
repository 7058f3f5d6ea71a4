#!/usr/bin/env python3
"""Compare the planner's estimate of each training job with the time it took, from a finished results folder.

    python scripts/plan-vs-actual.py --root /path/where/the/workflow/ran config.yaml config/quick.yaml

``--root`` is the folder Snakemake ran in (its ``results_dir`` is read relative to it); the config files are
the ones it ran with (relative to ``--root``). The estimate is ``weightspace plan --measure``'s for the same
config on this machine (its measurement cache is used; ``--fresh`` measures again). A job's measured time:

* from ``<root>/.snakemake/metadata`` where Snakemake left it (the job's start to its end as Snakemake saw
  them: the whole process, start-up included), else
* from its log, ``<results_dir>/logs/train/<experiment>/<job>.log``: the ``started`` time its first line gives
  (after the process imported the package; whole seconds) to the log's last write, plus the planner's
  measured process start-up.

Per experiment it prints the jobs, the summed measured and estimated seconds and their ratio (estimate /
measured), and the same for the cells alone (their trainers' ``wall_time_s`` in summary.json: steps and
evaluations, one cell's seeds together, against the estimate's steps, evaluations and reparameterization
build); ``--jobs`` adds one line per job. Jobs not finished (or without a record of their time) are left out and named. Run it on the machine
(or one like it) that ran the workflow.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import re
import sys
from pathlib import Path


def snakemake_spans(root: Path) -> dict[str, float]:
    """Output path (relative to ``root``) -> seconds its job ran, from Snakemake's metadata records."""
    folder = root / ".snakemake" / "metadata"
    spans = {}
    if folder.is_dir():
        for f in folder.iterdir():
            try:
                name = base64.urlsafe_b64decode(f.name + "=" * (-len(f.name) % 4)).decode()
                record = json.loads(f.read_text())
                spans[name] = record["endtime"] - record["starttime"]
            except (ValueError, KeyError, UnicodeDecodeError):
                continue
    return spans


def log_span(log: Path) -> float | None:
    """Seconds from the ``started`` time of a training job's log to its last write (None without a log)."""
    if not log.exists():
        return None
    first = log.open().readline()
    m = re.search(r": started (\S+) on ", first)
    if not m:
        return None
    return log.stat().st_mtime - datetime.datetime.fromisoformat(m.group(1)).timestamp()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="+", help="the config files the workflow ran with, relative to --root")
    p.add_argument("--root", default=".", help="the folder the workflow ran in")
    p.add_argument("--device", default="cpu")
    p.add_argument("--fresh", action="store_true", help="measure again, ignoring the planner's cache")
    p.add_argument("--jobs", action="store_true", help="also one line per training job")
    args = p.parse_args()

    import pandas as pd

    import weightspace.families  # noqa: F401 - a script is an entry point: this loads the families into the registry
    from weightspace.config import expand, load_config, validate
    from weightspace.estimate import plan
    from weightspace.plan import train_jobs

    root = Path(args.root).resolve()
    os.chdir(root)
    config = validate(load_config(*args.config))
    df = plan(config, measure=True, device=args.device, log=lambda m: None, fresh=args.fresh)
    estimates = {(r["experiment"], r["job"]): r["est_s"] for r in df.attrs["train_jobs"]}
    cell_est = {(r.experiment, r.cell): r.est_s for r in df.itertuples()}
    startup = df.attrs["startup_s"]
    spans = snakemake_spans(root)
    results = Path(config["results_dir"])
    cells = expand(config)
    rows, unfinished = [], []
    for job in train_jobs(config, cells):
        seed = job.seeds[0]
        first = results / job.experiment / "runs" / job.cells[0] / f"seed-{seed}" / "summary.json"
        last = results / job.experiment / "runs" / job.cells[-1] / f"seed-{job.seeds[-1]}" / "summary.json"
        if not last.exists():
            unfinished.append(f"{job.experiment}/{job.name}")
            continue
        measured, source = spans.get(str(first)), "snakemake"
        if measured is None:
            span = log_span(results / "logs" / "train" / job.experiment / f"{job.name}.log")
            if span is None:
                unfinished.append(f"{job.experiment}/{job.name} (no Snakemake record, no log)")
                continue
            measured, source = span + startup, "log"
        cell_wall = sum(
            json.loads((results / job.experiment / "runs" / c / f"seed-{seed}" / "summary.json").read_text())[
                "wall_time_s"] for c in job.cells)
        rows.append({"experiment": job.experiment, "job": job.name, "cells": len(job.cells), "measured_s": measured,
                     "est_s": estimates[(job.experiment, job.name)], "cells_measured_s": cell_wall,
                     "cells_est_s": sum(cell_est[(job.experiment, c)] for c in job.cells), "source": source})
    if not rows:
        print(f"plan-vs-actual: no finished training job of these configs under {results}", file=sys.stderr)
        return 1
    if unfinished:
        print(f"plan-vs-actual: {len(unfinished)} training job(s) not finished or not timed, left out: "
              f"{', '.join(unfinished)}",
              file=sys.stderr)
    table = pd.DataFrame(rows)
    per = table.groupby("experiment", sort=False)[["measured_s", "est_s", "cells_measured_s", "cells_est_s"]].sum()
    per.insert(0, "jobs", table.groupby("experiment", sort=False).size())
    per.loc["total"] = per.sum()
    per["ratio"] = per["est_s"] / per["measured_s"]
    per["cells_ratio"] = per["cells_est_s"] / per["cells_measured_s"]
    print(f"training jobs of {results}: measured ({', '.join(sorted(set(table['source'])))}) vs the planner's "
          f"estimate on this machine (ratio = estimate / measured; job start-up {startup:.1f} s)")
    print(per.to_string(float_format=lambda x: f"{x:,.2f}"))
    if args.jobs:
        table["ratio"] = table["est_s"] / table["measured_s"]
        print(table.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
