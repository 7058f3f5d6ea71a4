#!/usr/bin/env python3
"""Time a preset of the workflow from empty results, as a fresh clone runs it; write a JSON record.

    python scripts/bench-workflow.py --configfile config/quick.yaml --cores 2 --out docs/bench/workflow-quick-cpu.json

Copies the workflow files of ``--repo`` (default: this checkout) to a scratch folder, runs
``snakemake --cores N --configfile ...`` there with ``--repo``'s ``src`` first on the Python path (so an older
checkout can be timed with the same environment), and records: the Snakemake wall time, the jobs (per rule),
the training jobs, and the training share of the core time: the cells' training (their trainers' wall time,
summary.json ``wall_time_s``, one per cell as a cell's seeds train together) over cores x wall time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]), help="checkout whose workflow to time")
    p.add_argument("--configfile", nargs="+", default=["config/quick.yaml"])
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--label", default="", help="what is timed, e.g. 'before' / 'after' and the commit")
    p.add_argument("--out", help="append the record to this JSON file (a list of records)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = p.parse_args()
    repo = Path(args.repo).resolve()
    work = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    for name in ("Snakefile", "config.yaml", "environment.yml"):
        shutil.copy(repo / name, work / name)
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(repo / name, work / name)
    env = {**os.environ, "PYTHONPATH": str(repo / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--configfile", *args.configfile]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        print(out[-3000:], file=sys.stderr)
        return 1
    stats = out[out.index("Job stats:"):]
    jobs = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}
    total = jobs.pop("total")
    results = work / "results"
    training_s = 0.0
    cells = 0
    for summary in results.rglob("summary.json"):
        if summary.parent.name.startswith("seed-"):
            rec = json.loads(summary.read_text())
            if rec["seed"] == rec["batched_with"][0]:  # one per batch of seeds trained together
                training_s += rec["wall_time_s"]
                cells += 1
    record = {
        "label": args.label,
        "command": " ".join(["snakemake", *cmd[3:]]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
                   f"load average at the end {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else platform.node(),
        "cores": args.cores,
        "snakemake_wall_s": round(wall, 1),
        "jobs": total,
        "training_jobs": sum(n for r, n in jobs.items() if r.startswith("train_")),
        "training_cells": cells,
        "training_s": round(training_s, 1),
        "training_share_of_core_time": round(training_s / (args.cores * wall), 3),
        "jobs_per_rule": jobs,
        "code_version": subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"], capture_output=True,
                                       text=True).stdout.strip() or None,
    }
    print(json.dumps({k: v for k, v in record.items() if k != "jobs_per_rule"}, indent=2))
    if args.out:
        path = Path(args.out)
        records = json.loads(path.read_text()) if path.exists() else []
        records.append(record)
        path.write_text(json.dumps(records, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
