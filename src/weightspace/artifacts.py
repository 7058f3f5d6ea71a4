"""Every figure and table as data: an :class:`Artifact` record per figure or LaTeX table, listed once.

A family lists its artifacts in ``families/<name>/artifacts.py`` (``ARTIFACTS``, returned by
:meth:`~weightspace.families.base.Family.artifacts`); the comparisons' table and figure, which every
experiment has, are :data:`COMMON` here. Everything else is derived from these lists:

* the files an experiment makes (:func:`outputs`: ``figures/<experiment>/<file>[__<key>...].{pdf,png|tex}``),
  which the workflow's per-experiment rule declares and ``rule all`` asks for,
* the report entries (each artifact's caption file in ``workflow/report/`` and its title),
* the CLI: ``weightspace render <experiment>`` makes an experiment's tables and every artifact in one
  process (the workflow's one job per experiment); ``weightspace make <family>.<artifact>`` remakes one.

An artifact is made once per *instance*: per experiment (``per=()``), or per value of keys read from each
cell (``per=("dataset", "net")``, ``("cell",)``, ...); ``when`` says whether an instance applies (e.g. only
where a cell trains a subspace). This module imports neither torch nor matplotlib nor pandas: the workflow
parses it; a ``make`` function imports what it draws with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from weightspace.errors import WeightspaceError
from weightspace.tables import write_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Artifact", "Instance", "KEYS", "COMMON", "instances", "outputs", "experiment_tables"]

#: what a cell contributes to an instance's key, by key name
KEYS: dict[str, Callable[[str, dict], str]] = {
    "dataset": lambda cid, c: c["dataset"],
    "net": lambda cid, c: c["net"]["name"],
    "variant": lambda cid, c: c["variant"]["name"],
    "cell": lambda cid, c: cid,
}


def _always(exp: dict, cells: dict[str, dict]) -> bool:
    return True


@dataclass(frozen=True)
class Artifact:
    """A figure or LaTeX table, as the workflow, the report and the CLI see it.

    Attributes:
        name: unique within its family (``weightspace make <family>.<name>``).
        kind: ``figure`` (a PDF and a PNG) or ``table`` (a ``.tex`` file).
        per: the keys one instance is made for (:data:`KEYS`, or those ``key`` returns); ``()``: once per
            experiment.
        inputs: the files of ``results/<experiment>/`` it reads (besides its runs' files, which the experiment's
            job depends on anyway). The experiment's own tables (aggregated,
            analysed, compared: :func:`experiment_tables`) are made in the same job; any other (a benchmark's
            CSV) is made by a job of its own, which the family's rules file declares.
        make: ``make(instance)`` draws or writes it at ``instance.out`` (imports what it draws with).
        caption: its caption file in ``workflow/report/`` (reStructuredText, rendered by ``snakemake --report``).
        title: its heading in the report (the subcategory beside the experiment's name).
        file: the stem of its file names (default: ``name``): ``<file>[__<key>...]``.
        when: ``when(exp, cells)``: whether an instance, with these cells of the experiment, applies.
        key: ``key(cell_id, cell)``: the instance a cell belongs to, as a tuple of ``per``'s values, or None for
            none (default: each of ``per`` read from the cell through :data:`KEYS`).
    """

    name: str
    kind: str
    per: tuple[str, ...]
    inputs: tuple[str, ...]
    make: Callable[["Instance"], Any]
    caption: str
    title: str
    file: str = ""
    when: Callable[[dict, dict[str, dict]], bool] = _always
    key: Callable[[str, dict], tuple | None] | None = None

    def __post_init__(self):
        if self.kind not in ("figure", "table"):
            raise ValueError(f"artifact {self.name!r}: kind {self.kind!r} is not figure or table")
        unknown = [k for k in self.per if k not in KEYS] if self.key is None else []
        if unknown:
            raise ValueError(f"artifact {self.name!r}: per {unknown} has no key in weightspace.artifacts.KEYS; "
                             f"give key= to read it from a cell")

    @property
    def stem(self) -> str:
        return self.file or self.name

    def key_of(self, cid: str, cell: dict) -> tuple | None:
        return self.key(cid, cell) if self.key else tuple(KEYS[k](cid, cell) for k in self.per)

    def paths(self, folder: Path, values: tuple) -> list[Path]:
        """The files of one instance in ``folder`` (``figures/<experiment>``): a figure's PDF and PNG, or the .tex."""
        base = "__".join([self.stem, *map(str, values)])
        return [folder / f"{base}.pdf", folder / f"{base}.png"] if self.kind == "figure" else [folder / f"{base}.tex"]


@dataclass
class Instance:
    """One instance of an artifact being made: what its ``make`` function reads and where it writes."""

    artifact: Artifact
    experiment: str
    exp: dict  # the experiment's config
    cells: dict[str, dict]  # the instance's cells (all the experiment's for per=())
    keys: dict[str, str]  # per's values, by name
    results: Path  # results/<experiment>
    seeds: list[int]
    out: Path  # the first of its files (a figure's PDF: save_figure writes the PNG beside it)
    _tables: dict = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str):
        keys = self.__dict__.get("keys") or {}
        if name in keys:
            return keys[name]
        raise AttributeError(name)

    def table(self, name: str) -> "pd.DataFrame":
        """``results/<experiment>/<name>`` read once per process (every instance of a render job shares it)."""
        path = self.results / name
        if path not in self._tables:
            import pandas as pd

            self._tables[path] = pd.read_csv(path)
        return self._tables[path].copy()  # a copy: a function that changes its table changes no other's

    @property
    def first_seed(self) -> int:
        """The seed a per-run figure shows."""
        return self.seeds[0]

    def run_file(self, cell: str, name: str) -> Path:
        """A file of the first seed's run of ``cell``."""
        return self.results / "runs" / cell / f"seed-{self.first_seed}" / name


def instances(artifact: Artifact, exp: dict, cells: dict[str, dict]) -> list[tuple[tuple, dict[str, dict]]]:
    """The instances of ``artifact`` in an experiment: (per's values, their cells), sorted, those that apply."""
    groups: dict[tuple, dict[str, dict]] = {}
    for cid, c in cells.items():
        values = artifact.key_of(cid, c)
        if values is not None:
            groups.setdefault(tuple(values), {})[cid] = c
    return [(values, cs) for values, cs in sorted(groups.items()) if cs and artifact.when(exp, cs)]


def _comparisons(instance: Instance) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    import pandas as pd

    table = pd.read_csv(instance.results / "comparisons.csv", keep_default_na=True)
    table["setting"] = table["setting"].fillna("")
    pooled = pd.read_csv(instance.results / "comparisons_aggregate.csv")
    pooled["setting"] = pooled["setting"].fillna("")
    return table, pooled


def _comparisons_table(instance: Instance) -> list[Path]:
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.comparisons.report import comparisons_latex

    return [write_table(instance.out, comparisons_latex(*_comparisons(instance)))]


def _comparisons_figure(instance: Instance) -> list[Path]:
    # deferred: matplotlib or pandas, loaded when drawn
    from weightspace.comparisons.report import plot_comparisons

    return plot_comparisons(_comparisons(instance)[0], instance.experiment, instance.out)


_COMPARISONS = ("comparisons.csv", "comparisons_aggregate.csv")

#: what every experiment has, whatever its family: the comparisons' LaTeX table and figure
COMMON: tuple[Artifact, ...] = (
    Artifact("comparisons_table", "table", (), _COMPARISONS, _comparisons_table, "table_comparisons.rst", "tables",
             file="comparisons"),
    Artifact("comparisons", "figure", (), _COMPARISONS, _comparisons_figure, "comparisons.rst", "comparisons"),
)

#: the tables of results/<experiment>/ that aggregation writes (weightspace.aggregate)
AGGREGATED = ("curves.csv", "final.csv", "timings.csv")


def experiment_tables(family) -> tuple[str, ...]:
    """The tables an experiment's job writes into ``results/<experiment>/``: aggregated, the family's analysis,
    the comparisons."""
    return (*AGGREGATED, *family.analysis_files, *_COMPARISONS)


def of_family(family) -> tuple[Artifact, ...]:
    """The artifacts an experiment of ``family`` may make: :data:`COMMON` and the family's own."""
    own = tuple(family.artifacts())
    names = [a.name for a in own]
    clash = sorted({n for n in names if names.count(n) > 1 or n in {a.name for a in COMMON}})
    if clash:
        raise ValueError(f"family {family.name!r}: artifact name(s) {', '.join(clash)} listed twice (or shadowing "
                         f"the common ones); rename them in its artifacts.py")
    return COMMON + own


def qualified(family, artifact: Artifact) -> str:
    """The artifact's name for ``weightspace make``: ``<family>.<name>``, or ``<name>`` for the common ones."""
    return artifact.name if artifact in COMMON else f"{family.name}.{artifact.name}"


def outputs(family, experiment: str, exp: dict, cells: dict[str, dict], figures: Path
            ) -> list[tuple[Artifact, tuple, dict[str, dict], list[Path]]]:
    """Every artifact instance an experiment makes: (artifact, per's values, their cells, its files)."""
    folder = Path(figures) / experiment
    return [(a, values, cs, a.paths(folder, values))
            for a in of_family(family) for values, cs in instances(a, exp, cells)]


def external_inputs(family, exp: dict, cells: dict[str, dict]) -> list[str]:
    """The inputs of the experiment's artifacts that another job makes (not its own tables), in order."""
    own = set(experiment_tables(family))
    out: list[str] = []
    for a in of_family(family):
        if instances(a, exp, cells):
            out += [name for name in a.inputs if name not in own and name not in out]
    return out


def find(families: dict, name: str) -> tuple[Any, Artifact]:
    """The family and artifact a ``weightspace make`` name designates (``<family>.<artifact>``, or a common one);
    an unknown name raises, listing the known ones."""
    for family in families.values():
        for a in of_family(family):
            if qualified(family, a) == name:
                return family, a
    known = sorted({qualified(f, a) for f in families.values() for a in of_family(f)})
    raise WeightspaceError(f"no artifact {name!r}; artifacts are: {', '.join(known)}")
