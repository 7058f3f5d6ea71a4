"""What a run made: where its tables, figures and report are, and each experiment's headline.

``weightspace summary RESULTS [--figures FIGURES]`` prints it, and the workflow prints it at the end of a
run that succeeded (the Snakefile's ``onsuccess``). The headlines are read from the tables the run has just
written; each family says what its headline is (:meth:`weightspace.families.base.Family.headline`), and
the core loops over the experiments without naming a family. Every number is labelled: what it is, over
how many seeds, its interval or p-value and whether that is Holm-adjusted. A table that is missing, or
that cannot be read, is named in the summary, never raised: a summary must not fail a run that succeeded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from weightspace import registry
from weightspace.headlines import MissingTable, read_table

__all__ = ["experiments_in", "report_command", "summary_lines", "MAX_LINES"]

#: the most lines a family's headline gets (the experiment's own line comes first)
MAX_LINES = 2


def experiments_in(results: str | Path) -> dict[str, str | None]:
    """The experiments of a results folder, by folder name, with their family (``final.csv``'s ``family``
    column; None where there is no ``final.csv`` yet): its subfolders with a ``final.csv`` or a ``runs/``."""
    out: dict[str, str | None] = {}
    for folder in sorted(p for p in Path(results).iterdir() if p.is_dir()):
        final = folder / "final.csv"
        if final.is_file():
            try:
                family = pd.read_csv(final, usecols=["family"], nrows=1)["family"]
                out[folder.name] = str(family.iloc[0]) if len(family) else None
            except (ValueError, pd.errors.EmptyDataError):
                out[folder.name] = None
        elif (folder / "runs").is_dir():
            out[folder.name] = None
    return out


def report_command(configfiles: list | None, results: str | Path) -> str:
    """The command that writes the run's HTML report: ``make report`` for the quick preset, else Snakemake's."""
    results = Path(results)
    if configfiles is None:
        if results == Path("results/quick"):
            return f"make report  (writes {results / 'report.html'})"
        return f"snakemake --cores all --configfile <the run's config files> --report {results / 'report.html'}"
    files = [os.path.relpath(f) if not os.path.relpath(f).startswith("..") else str(f) for f in configfiles]
    if files == [os.path.join("config", "quick.yaml")] and results == Path("results/quick"):
        return f"make report  (writes {results / 'report.html'})"
    given = f" --configfile {' '.join(files)}" if files else ""
    return f"snakemake --cores all{given} --report {results / 'report.html'}"


def _runs(folder: Path) -> str:
    final = read_table(folder, "final.csv")
    if "status" not in final or final.empty:
        return f"{len(final)} runs"
    counts = final["status"].value_counts()
    ok = int(counts.get("ok", 0))
    rest = ", ".join(f"{int(n)} {s}" for s, n in counts.items() if s != "ok")
    return f"{len(final)} runs, {ok} finished" + (f", {rest}" if rest else "")


def _headline(family, folder: Path) -> list[str]:
    try:
        lines = family.headline(folder)
    except MissingTable as e:
        return [str(e)]
    except Exception as e:  # noqa: BLE001 - a summary names what it could not read; it never fails the run
        return [f"could not read the headline from {folder}: {type(e).__name__}: {e}"]
    if len(lines) > MAX_LINES:
        lines = lines[: MAX_LINES - 1] + [f"... {len(lines) - MAX_LINES + 1} more in {folder}/"]
    return lines


def _figures(figures: Path) -> str:
    files = [p for p in figures.rglob("*") if p.is_file()] if figures.is_dir() else []
    if not files:
        return f"{figures}/ (no figures yet)"
    count = {ext: sum(p.suffix == ext for p in files) for ext in (".png", ".pdf", ".tex")}
    return (f"{figures}/<experiment>/  ({count['.png']} PNG and {count['.pdf']} PDF figures, "
            f"{count['.tex']} LaTeX tables)")


def summary_lines(results: str | Path, figures: str | Path | None = None,
                  experiments: dict[str, str | None] | None = None, report: str | None = None) -> list[str]:
    """The summary of a run, as lines.

    Args:
        results: the run's ``results_dir``.
        figures: its ``figures_dir`` (left out when None).
        experiments: ``{experiment: family}`` the run had (the workflow passes its enabled experiments, so that
            one whose tables are missing is named); default: what :func:`experiments_in` finds.
        report: the command that writes the HTML report (default: :func:`report_command` without config files).
    """
    results = Path(results)
    experiments = experiments_in(results) if experiments is None else experiments
    lines = ["weightspace: what this run made",
             f"  tables:  {results}/<experiment>/  (final.csv, curves.csv, comparisons.csv and each family's)"]
    if figures is not None:
        lines.append(f"  figures: {_figures(Path(figures))}")
    lines.append(f"  report:  {report or report_command(None, results)}")
    lines.append("headlines, read from the tables above (each line names its interval and test):" if experiments
                 else f"no experiments in {results}/ (no final.csv)")
    for name, family in experiments.items():
        folder = results / name
        try:
            runs = _runs(folder)
        except MissingTable as e:
            lines += [f"  {name}: {e}"]
            continue
        except Exception as e:  # noqa: BLE001
            runs = f"final.csv unreadable ({type(e).__name__}: {e})"
        if family not in registry.families():
            lines.append(f"  {name}: {runs}; no headline (family {family!r} unknown)")
            continue
        lines.append(f"  {name} ({family}): {runs}")
        lines += [f"    {line}" for line in _headline(registry.FAMILIES[family], folder)]
    return lines
