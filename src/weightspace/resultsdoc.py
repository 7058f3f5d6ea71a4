"""docs/results.md and its named numbers, regenerated from the results archive without training.

``weightspace results-doc`` reads each archived run's per-seed tables (``results-archive/<run>/``, written by
``weightspace archive``: :mod:`weightspace.archive`), computes the docs' tables and quoted numbers with the
families' own analysis code (the same functions the workflow's render jobs call), and writes

* ``docs/results.md``: the template ``docs/results.md.in`` (the prose) with each placeholder replaced:
  ``{{table NAME}}`` by a Markdown table, ``{{NAME}}`` by a named number;
* ``docs/results-numbers.tex``: every named number as a LaTeX macro, ``\\wsnum{NAME}`` in a paper's text
  (the idea of showyourwork's ``\\variable``: a number in the text is read from the results, not typed).

A number quoted in the prose and the same number in the LaTeX file are one value formatted once, so the text cannot
drift from the results; both files are byte-identical on a rerun. Each section below names the archived run it
reads (:data:`SECTIONS`); a section of the docs whose run is not archived stays as text in the template. Names:
``<run>.<what>``, e.g. ``images.mnist1d.learned.k4.excess`` (the mean over seeds) with ``.lo`` and ``.hi`` (its
95% Student-t interval).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from weightspace.archive import ARCHIVE, read_provenance
from weightspace.errors import WeightspaceError

__all__ = ["Numbers", "SECTIONS", "render_docs", "write_docs"]

TEMPLATE = Path("docs/results.md.in")
DOC = Path("docs/results.md")
TEX = Path("docs/results-numbers.tex")
_PLACEHOLDER = re.compile(r"\{\{\s*(table\s+)?([A-Za-z0-9_.:-]+)\s*\}\}")
_MINUS = "\u2212"


def _fmt(x: float, digits: int) -> str:
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


@dataclass
class Numbers:
    """The docs' named numbers: each formatted once, as Markdown (``md``, a Unicode minus) and as LaTeX (``tex``)."""

    md: dict[str, str] = field(default_factory=dict)
    tex: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float, digits: int, scale: float = 1.0) -> str:
        """Name ``value * scale`` with ``digits`` decimals; returns its Markdown text."""
        if name in self.md:
            raise WeightspaceError(f"results-doc: the number {name!r} is defined twice (a section's names collide)")
        if value is None or not math.isfinite(float(value)):
            raise WeightspaceError(f"results-doc: the number {name!r} is {value} (no finished seed, or one seed "
                                   f"where an interval needs two); check its run's final.csv in the archive")
        text = _fmt(float(value) * scale, digits)
        self.md[name] = text.replace("-", _MINUS)
        self.tex[name] = text.replace("-", r"\ensuremath{-}")
        return self.md[name]

    def ci(self, name: str, row: pd.Series, metric: str, digits: int, scale: float = 1.0, unit: str = "") -> str:
        """A summary row's ``<metric>_mean`` and interval as ``name``, ``name.lo``, ``name.hi``: "m<unit> [lo, hi]"."""
        mean = self.add(name, row[f"{metric}_mean"], digits, scale)
        lo, hi = (self.add(f"{name}.{b}", row[f"{metric}_{b}"], digits, scale) for b in ("lo", "hi"))
        return f"{mean}{unit} [{lo}, {hi}]"

    def latex(self, header: str) -> str:
        """Every number as ``\\wsnum{name}``: one ``\\newcommand`` each (a duplicate name is a LaTeX error)."""
        lines = [header,
                 r"\providecommand{\wsnum}[1]{\ifcsname wsnum:#1\endcsname\csname wsnum:#1\endcsname"
                 r"\else\errmessage{results-numbers.tex: no number #1}\fi}"]
        lines += [rf"\expandafter\newcommand\csname wsnum:{k}\endcsname{{{v}}}" for k, v in self.tex.items()]
        return "\n".join(lines) + "\n"


def md_table(header: list[str], align: str, rows: list[list[str]]) -> str:
    """A Markdown table; ``align`` one character per column, ``l`` or ``r``."""
    def line(cells: list[str]) -> str:
        return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"

    rule = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    return "\n".join([line(header), rule, *map(line, rows)])


@dataclass(frozen=True)
class Run:
    """An archived run: its folder, provenance, and each experiment's per-seed tables, read on demand."""

    folder: Path
    provenance: dict

    def table(self, experiment: str, name: str = "final.csv") -> pd.DataFrame:
        path = self.folder / experiment / name
        if not path.is_file():
            raise WeightspaceError(f"{path}: missing; re-archive the run with its {experiment} experiment "
                                   f"(weightspace archive ... --force)")
        return pd.read_csv(path)


def _row(summary: pd.DataFrame, where: str, **keys) -> pd.Series:
    """The one summary row whose columns equal ``keys`` (a number key matches the float CSV value)."""
    mask = pd.Series(True, index=summary.index)
    for k, v in keys.items():
        mask &= summary[k].isna() if v is None else summary[k] == v
    rows = summary[mask]
    if len(rows) != 1:
        raise WeightspaceError(f"{where}: {len(rows)} summary rows with {keys} (expected one); the archived run is "
                               f"not the grid the docs describe")
    return rows.iloc[0]


def _duration(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours} h " if hours else "") + (f"{minutes} min " if hours or minutes else "") + f"{sec} s"


def provenance_text(run: Run, archive: Path) -> str:
    """One paragraph: how the archived run was made (command, wall time, configs, code, torch, machine, date)."""
    p, runs = run.provenance, run.provenance.get("runs") or {}

    def values(key: str) -> str:
        return " / ".join(runs.get(key, [])) or "not recorded"

    configs = ", ".join(f"`{c['path']}`" for c in p["configs"])
    where = (f"{values('device')} ({values('device_name')}, {values('cpu_threads')} CPU thread(s) per job) on host "
             f"{values('hostname')}" if runs else "")
    machine = "; ".join(x for x in (where, p.get("machine")) if x)
    return (f"Archived run `{Path(archive).name}/{run.folder.name}/` (per-seed tables, the config files, "
            f"`provenance.json`): `{p['command']}` with {configs}, {_duration(p['wall_time_s'])} wall, finished "
            f"{p['finished_utc'][:10]}; code {values('code_version')}, torch {values('torch')}; {machine}.")


# ----------------------------------------------------------------------------------------------------------------
# the sections: each reads one archived run and returns its tables (its numbers go into ``numbers``)

_IMAGE_DATA = {"mnist1d": "MNIST-1D", "mnist1d_shuffled": "MNIST-1D, shuffled", "digits": "digits 8×8"}
_IMAGE_METHODS = {"learned": "learned", "kmeans": "k-means", "hashed": "HashedNets", "direct": "direct"}
#: the rows of the image-sharing table: dataset, variant, k
_IMAGE_ROWS = [("mnist1d", "learned", 4), ("mnist1d_shuffled", "learned", 4), ("mnist1d", "learned", 16),
               ("mnist1d_shuffled", "learned", 16), ("mnist1d", "kmeans", 4), ("mnist1d_shuffled", "kmeans", 4),
               ("mnist1d", "hashed", 16), ("mnist1d", "direct", None), ("mnist1d_shuffled", "direct", None),
               ("digits", "learned", 4), ("digits", "kmeans", 4), ("digits", "hashed", 16), ("digits", "direct", None)]


def images(run: Run, n: Numbers) -> dict[str, str]:
    """Learned sharing on image data (config/images.yaml): hard-net accuracy and spatial excess per method."""
    from weightspace.families.sharing.analysis import sharing_summary  # deferred: the families' analysis code

    summary = sharing_summary(run.table("sharing-images"))
    where = f"{run.folder}/sharing-images"
    rows = []
    for dataset, variant, k in _IMAGE_ROWS:
        r = _row(summary, where, dataset=dataset, variant=variant, k=k)
        name = f"images.{dataset}.{variant}" + (f".k{k}" if k else "")
        acc = n.ci(f"{name}.acc", r, "final_hard_test_acc", 1, 100, unit="%")
        excess = n.ci(f"{name}.excess", r, "spatial_excess", 3) if variant != "direct" else ""
        bold = (dataset, variant, k) == _IMAGE_ROWS[0]  # the headline: geometry picked up where there is one
        rows.append([_IMAGE_DATA[dataset], _IMAGE_METHODS[variant], str(k or ""), acc, f"**{excess}**" if bold else excess])
    # the prose: how far above chance the learned k = 4 agreement is; the accuracy cost of sharing on MNIST-1D
    r = _row(summary, where, dataset="mnist1d", variant="learned", k=4)
    n.add("images.mnist1d.learned.k4.excess_over_chance", r["spatial_excess_mean"] / r["spatial_chance_mean"], 0, 100)
    learned = summary[(summary["dataset"] == "mnist1d") & (summary["variant"] == "learned")]
    n.add("images.mnist1d.learned.acc_min", learned["final_hard_test_acc_mean"].min(), 1, 100)
    n.add("images.mnist1d.learned.acc_max", learned["final_hard_test_acc_mean"].max(), 1, 100)
    table = md_table(["data", "method", "k", "hard-net test accuracy", "spatial_excess"], "llrll", rows)
    return {"images": table}


#: (archived run name, its section): what the docs quote from the archive
SECTIONS: list[tuple[str, Callable[[Run, Numbers], dict[str, str]]]] = [
    ("images", images),
]


# ----------------------------------------------------------------------------------------------------------------


def render_docs(archive: Path, template: str) -> tuple[str, str]:
    """The docs' Markdown and LaTeX text from ``archive`` and the template text."""
    numbers, tables, runs = Numbers(), {}, []
    for name, section in SECTIONS:
        folder = Path(archive) / name
        if not folder.is_dir():
            raise WeightspaceError(f"{folder}: not in the archive; archive the run (weightspace archive ... --name "
                                   f"{name}) or take its section out of {__name__}.SECTIONS")
        run = Run(folder, read_provenance(folder))
        runs.append(run)
        made = {f"{name}.provenance": provenance_text(run, Path(archive)), **section(run, numbers)}
        for table, text in made.items():
            if table in tables:
                raise WeightspaceError(f"results-doc: the table {table!r} is defined twice")
            tables[table] = text

    def fill(m: re.Match, line: int) -> str:
        is_table, key = bool(m.group(1)), m.group(2)
        found = tables if is_table else numbers.md
        if key not in found:
            kind = "table" if is_table else "number"
            raise WeightspaceError(f"{TEMPLATE} line {line}: no {kind} {key!r}; the archive's {kind}s are named in "
                                   f"{__name__} (e.g. {next(iter(found), 'none')})")
        return found[key]

    out = "".join(_PLACEHOLDER.sub(lambda m: fill(m, i), text)
                  for i, text in enumerate(template.splitlines(keepends=True), 1))
    made = ", ".join(f"{r.folder.name} ({', '.join(r.provenance['runs'].get('code_version', ['?']))})" for r in runs)
    header = (f"% The named numbers of docs/results.md: \\wsnum{{name}} in a paper's text. Written by `weightspace "
              f"results-doc` from\n% {Path(archive).name}/ (runs: {made}); do not edit, regenerate.")
    return out, numbers.latex(header)


def write_docs(archive: Path = ARCHIVE, template: Path = TEMPLATE, doc: Path = DOC, tex: Path = TEX) -> list[Path]:
    """Write ``doc`` and ``tex`` from ``archive`` and ``template`` (see the module's docstring)."""
    if not Path(template).is_file():
        raise WeightspaceError(f"{template}: no such template; give --template (the prose of docs/results.md with "
                               f"{{{{placeholders}}}})")
    md, latex = render_docs(Path(archive), Path(template).read_text())
    for path, text in ((doc, md), (tex, latex)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    return [Path(doc), Path(tex)]
