"""The sharing family's benchmark: ``weightspace bench meta-sharing`` (the meta figure's table)."""

from __future__ import annotations

__all__ = ["add"]


def bench_meta(args) -> None:
    # deferred: torch, loaded when the benchmark runs
    from weightspace.families.sharing.meta import main

    main(["--spec-json", args.spec_json, "--options-json", args.options_json, "--out", args.out,
          "--summary", args.summary, "--threads", str(args.threads)])


def add(bench) -> None:
    b = bench.add_parser("meta-sharing", help="sharing: meta-learned vs single-task sharing on tasks of a "
                                              "teacher's structure (meta.csv, meta_summary.csv)")
    b.add_argument("--spec-json", required=True, help="the teacher's description")
    b.add_argument("--options-json", required=True, help="the experiment's meta key")
    b.add_argument("--out", required=True, help="meta.csv to write: one row per method, examples per task, seed and "
                                                 "held-out task")
    b.add_argument("--summary", required=True, help="meta_summary.csv to write: mean and interval over seeds per "
                                                     "method and examples per task")
    b.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default: %(default)s)")
    b.set_defaults(func=bench_meta)
