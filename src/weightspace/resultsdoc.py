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
reads (:data:`SECTIONS`); a section of the docs whose run is not archived is a paragraph of the template with
its command and planned cost and no number, its generated text waiting in ``docs/results-pending.md.in``. Names:
``<run>.<what>``, e.g. ``images.mnist1d.learned.k4.excess`` (the mean over seeds) with ``.lo`` and ``.hi`` (its
95% Student-t interval).
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

import weightspace.families  # noqa: F401 - an entry point (like the CLI): this loads every family into the registry
from weightspace import comparisons, registry
from weightspace.archive import ARCHIVE, read_provenance
from weightspace.config import expand, load_config, validate
from weightspace.errors import WeightspaceError
from weightspace.families.sharing.teachers import resolve, teacher_arrays

__all__ = ["Numbers", "SECTIONS", "render_docs", "write_docs"]

TEMPLATE = Path("docs/results.md.in")
DOC = Path("docs/results.md")
TEX = Path("docs/results-numbers.tex")
_PLACEHOLDER = re.compile(r"\{\{\s*(table\s+)?([A-Za-z0-9_.:-]+)\s*\}\}")
_MINUS = "\u2212"


def _fmt(x: float, digits: int | None, sig: int | None = None) -> str:
    """``x`` with ``digits`` decimals, or with ``sig`` significant digits (scientific below 1e-3: 1.0e-4)."""
    if sig is not None:
        if x != 0 and abs(x) < 1e-3:
            mantissa, exponent = f"{x:.{sig - 1}e}".split("e")
            return f"{mantissa}e{int(exponent)}"
        digits = max(0, sig - 1 - math.floor(math.log10(abs(x)))) if x else sig - 1
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def count(n: "Numbers", name: str, value: float) -> str:
    """A whole number (a parameter count) with thousands separators: 120,710 (LaTeX: 120{,}710)."""
    text = n.add(name, value, 0)
    grouped = f"{int(text):,}"
    n.md[name], n.tex[name] = grouped, grouped.replace(",", "{,}")
    return grouped


@dataclass
class Numbers:
    """The docs' named numbers: each formatted once, as Markdown (``md``, a Unicode minus) and as LaTeX (``tex``)."""

    md: dict[str, str] = field(default_factory=dict)
    tex: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float, digits: int | None, scale: float = 1.0, sig: int | None = None,
            signed: bool = False) -> str:
        """Name ``value * scale`` with ``digits`` decimals (or ``sig`` significant digits; ``signed``: a difference,
        + before a positive one); returns its Markdown."""
        if name in self.md:
            raise WeightspaceError(f"results-doc: the number {name!r} is defined twice (a section's names collide)")
        if value is None or not math.isfinite(float(value)):
            raise WeightspaceError(f"results-doc: the number {name!r} is {value} (no finished seed, or one seed "
                                   f"where an interval needs two); check its run's final.csv in the archive")
        text = _fmt(float(value) * scale, digits, sig)
        sign, body = ("-", text[1:]) if text.startswith("-") else ("+" if signed else "", text)
        self.md[name] = sign.replace("-", _MINUS) + body  # 1.0e-4 keeps its exponent's hyphen
        mantissa, _, exponent = body.partition("e")
        tex = rf"{mantissa}\times10^{{{exponent}}}" if exponent else body
        self.tex[name] = rf"\ensuremath{{{sign}{tex}}}" if sign or exponent else body
        return self.md[name]

    def ci(self, name: str, row: pd.Series, metric: str, digits: int | None, scale: float = 1.0, unit: str = "",
           signed: bool = False, sig: int | None = None) -> str:
        """A summary row's ``<metric>_mean`` and interval as ``name``, ``name.lo``, ``name.hi``: "m<unit> [lo, hi]"
        (``sig``: significant digits instead of ``digits``)."""
        mean = self.add(name, row[f"{metric}_mean"], digits, scale, sig=sig, signed=signed)
        lo, hi = (self.add(f"{name}.{b}", row[f"{metric}_{b}"], digits, scale, sig=sig, signed=signed)
                  for b in ("lo", "hi"))
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


def analysed(run: Run, experiment: str, with_comparisons: bool = False) -> dict[str, pd.DataFrame]:
    """The tables the workflow's render job writes from an experiment's final.csv (its family's analysis, and with
    ``with_comparisons`` its comparisons), computed by the family's own code with the run's archived config (its
    analysis key and its comparisons, resolved as the workflow resolves them)."""
    config = validate(load_config(*(run.folder / c["copy"] for c in run.provenance["configs"])))
    exp, cells = config["experiments"][experiment], expand(config)[experiment]
    family = registry.FAMILIES[exp["family"]]
    analysis = json.loads(json.dumps(exp.get("analysis") or {}))
    spec = json.loads(json.dumps(comparisons.spec(exp, family.default_comparisons(exp), cells), sort_keys=True))
    with tempfile.TemporaryDirectory() as tmp:
        written = family.tables(run.table(experiment), analysis, spec if with_comparisons else None, Path(tmp))
        return {Path(p).name: pd.read_csv(p) for p in written if str(p).endswith(".csv")}


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
    where = (f"code {values('code_version')}, torch {values('torch')}; {values('device')} ({values('device_name')}, "
             f"{values('cpu_threads')} CPU thread(s) per job) on host {values('hostname')}" if runs else "")
    machine = "; ".join(x for x in (where, p.get("machine")) if x)  # a run without summary.json: the given words
    return (f"Archived run `{Path(archive).name}/{run.folder.name}/` (per-seed tables, the config files, "
            f"`provenance.json`): `{p['command']}` with {configs}, {_duration(p['wall_time_s'])} wall, finished "
            f"{p['finished_utc'][:10]}; {machine}.")


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
    summary = analysed(run, "sharing-images")["sharing_summary.csv"]
    where = f"{run.folder}/sharing-images"
    rows = []
    for dataset, variant, k in _IMAGE_ROWS:
        r = _row(summary, where, dataset=dataset, variant=variant, k=k)
        name = f"images.{dataset}.{variant}" + (f".k{k}" if k else "")
        acc = n.ci(f"{name}.acc", r, "final_hard_test_acc", 1, 100, unit="%")
        excess = n.ci(f"{name}.excess", r, "spatial_excess", 3) if variant != "direct" else ""
        bold = (dataset, variant, k) == _IMAGE_ROWS[0]  # the headline: geometry picked up where there is one
        rows.append([_IMAGE_DATA[dataset], _IMAGE_METHODS[variant], str(k or ""), acc,
                     f"**{excess}**" if bold else excess])
    # the prose: how far above chance the learned k = 4 agreement is; the accuracy cost of sharing on MNIST-1D
    r = _row(summary, where, dataset="mnist1d", variant="learned", k=4)
    n.add("images.mnist1d.learned.k4.excess_over_chance", r["spatial_excess_mean"] / r["spatial_chance_mean"], 0, 100)
    learned = summary[(summary["dataset"] == "mnist1d") & (summary["variant"] == "learned")]
    n.add("images.mnist1d.learned.acc_min", learned["final_hard_test_acc_mean"].min(), 1, 100)
    n.add("images.mnist1d.learned.acc_max", learned["final_hard_test_acc_mean"].max(), 1, 100)
    # the low-index prior and the values in use: learned runs (seeds) that ended using all k of their values
    final = run.table("sharing-images")
    runs = final[(final["variant"] == "learned") & (final["status"] == "ok")]
    n.add("images.learned.runs", len(runs), 0)
    n.add("images.learned.all_k_used", int((runs["final_values_used"] == runs["k"]).sum()), 0)
    table = md_table(["data", "method", "k", "hard-net test accuracy", "spatial_excess"], "llrll", rows)
    return {"images": table}


_META_METHODS = ("meta", "single", "kmeans", "direct")
#: "recovers the structure": a mean ARI on the support of at least this
_RECOVERED = 0.9


def meta(run: Run, n: Numbers) -> dict[str, str]:
    """Meta-learned vs single-task sharing (config/meta.yaml): recovery and test MSE per examples per task."""
    from weightspace.families.sharing.meta import summarize  # deferred: the comparison's own summary (torch)

    summary = summarize(run.table("sharing-sweep", "meta.csv"))
    where = f"{run.folder}/sharing-sweep/meta.csv"
    sizes = sorted(summary["n_per_task"].unique())
    first = None
    for size in sizes:
        if _row(summary, where, method="meta", n_per_task=size)["ari_support_mean"] >= _RECOVERED:
            first = size
            break
    if first is None:
        raise WeightspaceError(f"{where}: meta-learned sharing recovers the structure (ARI >= {_RECOVERED}) at no "
                               f"size; the docs' prose says it does: rewrite the section")
    n.add("meta.recovered_ari", _RECOVERED, 1)
    n.add("meta.recovers_from_n", first, 0)
    rows = []
    for size in sizes:
        cells = {m: _row(summary, where, method=m, n_per_task=size) for m in _META_METHODS}
        ari = [n.ci(f"meta.n{size}.{m}.ari", cells[m], "ari_support", 3) for m in _META_METHODS[:3]]
        mse = [n.add(f"meta.n{size}.{m}.mse", cells[m]["test_mse_mean"], None, sig=2) for m in _META_METHODS]
        if size == first:  # the smallest size at which meta-learning recovers it
            ari[0], mse[0] = f"**{ari[0]}**", f"**{mse[0]}**"
        rows.append([str(size), *ari, *mse])
    known = summary[summary["method"] == "known"]
    for metric, digits, sig in (("ari_support", 3, None), ("test_mse", None, 2)):
        short = "ari" if metric == "ari_support" else "mse"
        n.add(f"meta.known.{short}_min", known[f"{metric}_mean"].min(), digits, sig=sig)
        n.add(f"meta.known.{short}_max", known[f"{metric}_mean"].max(), digits, sig=sig)
    # below 32 examples a single task's 32 inputs per output are underdetermined: the single-task methods there
    single = summary[summary["method"].isin(["single", "kmeans"]) & (summary["n_per_task"] < 32)]
    n.add("meta.underdetermined.single_ari_max", single["ari_support_mean"].max(), 2)
    n.add("meta.underdetermined.single_mse_min", single["test_mse_mean"].min(), None, sig=2)
    n.add("meta.underdetermined.single_mse_max", single["test_mse_mean"].max(), None, sig=2)
    header = ["examples per task", "meta ARI", "single ARI", "k-means ARI", "meta test MSE", "single test MSE",
              "k-means test MSE", "direct test MSE"]
    return {"meta": md_table(header, "rlllllll", rows)}


def _difference(n: Numbers, key: str, r: pd.Series, digits: int | None, scale: float = 1.0,
                sig: int | None = None) -> tuple[str, str, str]:
    """A comparison row's (comparisons.csv) mean difference A − B and its 95% BCa interval as ``key``, ``key.lo``,
    ``key.hi``."""
    return tuple(n.add(f"{key}{s}", r[c], digits, scale, sig=sig, signed=True)
                 for s, c in (("", "mean_diff"), (".lo", "ci_low"), (".hi", "ci_high")))


def _p(n: Numbers, key: str, r: pd.Series) -> tuple[str, str]:
    """A comparison row's exact p and its Holm-adjusted p as ``key.p``, ``key.p_holm`` (3 significant digits: the
    exact 0.125 of 3 or 4 paired seeds stays 0.125)."""
    return n.add(f"{key}.p", r["p"], None, sig=3), n.add(f"{key}.p_holm", r["p_holm"], None, sig=3)


def _prob(n: Numbers, key: str, r: pd.Series) -> str:
    """A comparison row's P(A better) and its interval as ``key.prob``."""
    return n.ci(f"{key}.prob", r.rename({"prob_improvement": "pi_mean", "prob_improvement_lo": "pi_lo",
                                         "prob_improvement_hi": "pi_hi"}), "pi", 2)


def _flag(r: pd.Series) -> str:
    """A comparison row's mark: * significant after Holm, (n) cannot reach significance with its seeds."""
    return "*" if bool(r["significant"]) else ("(n)" if bool(r["cannot_reach"]) else "")


_OPTIMIZERS = {"adam": "Adam", "sgd": "SGD"}


def _under(rows: pd.DataFrame, scaling: str) -> pd.DataFrame:
    """The rows of a table made under input convention ``scaling`` (train.input_scaling): named in the row's
    ``setting`` where the convention is swept, else the default (``standardize``)."""
    setting = rows["setting"].fillna("")
    named = setting.str.contains(f"input_scaling={scaling}", regex=False)
    default = ~setting.str.contains("input_scaling=", regex=False) & (scaling == "standardize")
    return rows[named | default]


def _tying_cell(summary: pd.DataFrame, where: str, method: str, optimizer: str | None = None, g=None,
                grad: str | None = None, scaling: str | None = None) -> pd.Series:
    rows = summary[summary["method"] == method]
    if scaling is not None:
        rows = _under(rows, scaling)
    if optimizer is not None:
        rows = rows[rows["setting"].str.contains(f"optimizer={optimizer}", regex=False)]
    if g is not None:
        rows = rows[rows["g"] == g]
    if grad is not None:
        rows = rows[rows["grad"] == grad]
    if len(rows) != 1:
        raise WeightspaceError(f"{where}: {len(rows)} cells of {method} {optimizer or ''} g={g} grad={grad} "
                               f"{f'input_scaling={scaling} ' if scaling else ''}"
                               f"(expected one); the archived run is not the grid the docs describe")
    return rows.iloc[0]


#: the tied autoencoder's input conventions (train.input_scaling), each with its names' tag and its rows' title:
#: standardized inputs (the names without a convention, as quoted since the first run) and [0, 1] pixels
#: (".unit"), the reconstruction target pixels in both
_AE_CONVENTIONS = (("standardize", "", "standardized inputs"), ("unit", ".unit", "[0, 1] inputs"))


def _autoencoder(run: Run, n: Numbers, name: str, experiment: str = "tying-autoencoder",
                 conventions: tuple = _AE_CONVENTIONS) -> str:
    """The tied vs untied autoencoder's table (test MSE per pixel, per seed too) under each input convention
    (``conventions``: (input_scaling, tag, title)), and its numbers ``<name>.ae<tag>.*``."""
    where = f"{run.folder}/{experiment}"
    final = run.table(experiment)
    ae = analysed(run, experiment)["tying_summary.csv"]
    final = final[final["status"] == "ok"]
    table = []
    for scaling, tag, title in conventions:
        per_seed, means = {}, {}
        for label, short, method in (("untied", "untied", "untied"), ("tied (decoder = encoderᵀ)", "tied",
                                                                       "tied transpose")):
            r = _tying_cell(ae, where, method, scaling=scaling)
            seeds = final[final["cell"] == r["cell"]].set_index("seed")["final_test_loss"].sort_index()
            per_seed[short], means[short] = seeds, r["final_test_loss_mean"]
            key = f"{name}.ae{tag}.{short}"
            values = " / ".join(n.add(f"{key}.seed{s}.mse", v, 5) for s, v in seeds.items())
            table.append([f"{label}, {title}", count(n, f"{key}.trainable", r["n_trainable"]),
                          n.ci(f"{key}.mse", r, "final_test_loss", 5), values])
        diff = per_seed["untied"] - per_seed["tied"]
        key = f"{name}.ae{tag}"
        n.add(f"{key}.tied_better_seeds", int((diff > 0).sum()), 0)
        n.add(f"{key}.seeds", len(diff), 0)
        n.add(f"{key}.untied_minus_tied", means["untied"] - means["tied"], 5)
        n.add(f"{key}.untied_minus_tied.percent", (means["untied"] - means["tied"]) / means["untied"], 0, 100)
    seeds = " / ".join(str(s) for s in per_seed["untied"].index)
    return md_table(["", "trainable", "test MSE at 20 epochs", f"seeds {seeds}"], "lrrr", table)


def _autoencoder_tests(run: Run, n: Numbers, name: str, experiment: str = "tying-autoencoder",
                       conventions: tuple = _AE_CONVENTIONS) -> None:
    """The comparisons layer's test of tied vs untied under each input convention (sign-flip, Holm over them):
    ``<name>.ae<tag>.p``, ``.p_holm``, ``.p_min``."""
    comp = analysed(run, experiment, with_comparisons=True)["comparisons.csv"]
    for scaling, tag, _ in conventions:
        rows = _under(comp, scaling)
        if len(rows) != 1:
            raise WeightspaceError(f"{run.folder}/{experiment}: {len(rows)} comparisons of tied vs untied "
                                   f"with input_scaling={scaling} (expected one)")
        r = rows.iloc[0]
        n.add(f"{name}.ae{tag}.p", r["p"], None, sig=3)
        n.add(f"{name}.ae{tag}.p_holm", r["p_holm"], None, sig=3)
        n.add(f"{name}.ae{tag}.p_min", r["p_min_attainable"], None, sig=3)


def tying_autoencoder(run: Run, n: Numbers) -> dict[str, str]:
    """The tied autoencoder on MNIST under both input conventions (config/mnist-tying-autoencoder.yaml), with
    the comparisons layer's test of tied vs untied under each (sign-flip, Holm over the two)."""
    tables = {"mnist-tying-autoencoder.ae": _autoencoder(run, n, "mnist-tying-autoencoder")}
    _autoencoder_tests(run, n, "mnist-tying-autoencoder")
    return tables


#: note 003's two settings: the note's conventions where they carry over ([0, 1] inputs, its init) and the
#: pipeline's default (config/notes/003-tied-autoencoder.yaml)
_NOTE_003 = (("unit", ".note", "the note's setting"), ("standardize", ".default", "the pipeline's default"))
#: a note preset's two settings, as the docs name them (the note's conventions; the pipeline's default)
_SETTINGS = {"note": _NOTE_003[0][2], "default": _NOTE_003[1][2]}


def note_003(run: Run, n: Numbers) -> dict[str, str]:
    """Note 003's tied autoencoder under its own conventions beside the pipeline's default
    (config/notes/003-tied-autoencoder.yaml): test MSE per pixel of tied and untied under each setting, and the
    test of tied vs untied under each (sign-flip, Holm over the two). Names: ``note-003.ae.<note|default>.*``."""
    tables = {"note-003.ae": _autoencoder(run, n, "note-003", "tied-autoencoder-note", _NOTE_003)}
    _autoencoder_tests(run, n, "note-003", "tied-autoencoder-note", _NOTE_003)
    return tables


#: note 000's cells: (variant, setting, what it trains), the note's setting first (config/notes/000-sharing.yaml)
_NOTE_000 = (("direct-note", "note", "direct"), ("learned-note", "note", "learned, w = softmax(A) v"),
             ("learned-note-linear", "note", "learned, w = A v (`softmax: false`)"),
             ("direct", "default", "direct"), ("learned", "default", "learned, w = softmax(A/τ) v, τ 1 → 0.05"))


def _comparison(comp: pd.DataFrame, where: str, setting_has: str = "", **keys) -> pd.Series:
    """The one comparisons.csv row whose setting contains ``setting_has`` and whose columns equal ``keys``."""
    return _row(comp[comp["setting"].fillna("").str.contains(setting_has, regex=False)], where, **keys)


def _tests_table(n: Numbers, name: str, comp: pd.DataFrame, rows: list[tuple[str, str, pd.Series]],
                 digits: int | None, scale: float = 1.0, sig: int | None = None) -> str:
    """A table of declared comparisons, ``rows`` of (key, label, comparisons.csv row): A − B [95% BCa], exact p
    (Holm), P(A better), mark; each row's numbers as ``<name>.<key>``."""
    out = []
    for key, label, r in rows:
        diff, lo, hi = _difference(n, f"{name}.{key}", r, digits, scale, sig=sig)
        p, holm = _p(n, f"{name}.{key}", r)
        out.append([label, f"{diff} [{lo}, {hi}]", f"{p} ({holm})", _prob(n, f"{name}.{key}", r), _flag(r)])
    n.add(f"{name}.seeds", comp["n_pairs"].min(), 0)
    n.add(f"{name}.p_min", comp["p_min_attainable"].min(), None, sig=3)
    n.add(f"{name}.m", len(comp), 0)
    return md_table(["comparison (A − B)", "difference [95% BCa]", "p (Holm)", "P(A better) [95%]", ""], "lllll",
                    out)


def note_000(run: Run, n: Numbers) -> dict[str, str]:
    """Note 000's learned sharing under its own conventions beside the pipeline's default
    (config/notes/000-sharing.yaml): test accuracy of the soft net and of its hardened net (w = v[argmax A]) per
    variant, per seed too, the mixing rows' entropy, and the declared tests (each learned variant against its
    setting's direct net). Names: ``note-000.<variant>.*``, ``note-000.test.*``."""
    tables = analysed(run, "sharing-note", with_comparisons=True)
    summary, comp = tables["sharing_summary.csv"], tables["comparisons.csv"]
    where = f"{run.folder}/sharing-note"
    final = run.table("sharing-note")
    final = final[final["status"] == "ok"]
    rows = []
    for variant, setting, words in _NOTE_000:
        r, key = _row(summary, where, variant=variant), f"note-000.{variant}"
        seeds = final[final["variant"] == variant].sort_values("seed")
        learned = r["reparam"] == "sharing"
        metric = "final_hard_test_acc" if learned else "final_test_acc"
        trainable = seeds["n_trainable"].unique()
        if len(trainable) != 1:
            raise WeightspaceError(f"{where}: {variant} has {len(trainable)} parameter counts (expected one)")
        if learned:
            n.add(f"{key}.row_entropy", r["final_row_entropy_mean"], 3)
            # seeds whose hardened net trained (above 50%, five times chance)
            n.add(f"{key}.trained_seeds", int((seeds[metric] > 0.5).sum()), 0)
        rows.append([_SETTINGS[setting], words, count(n, f"{key}.trainable", trainable[0]),
                     n.ci(f"{key}.acc", r, "final_test_acc", 2, 100),
                     n.ci(f"{key}.hard_acc", r, metric, 2, 100) if learned else "(the same net)",
                     " / ".join(f"{100 * a:.2f}" for a in seeds[metric])])
    n.add("note-000.seeds", summary["n_ok"].min(), 0)
    n.add("note-000.k", summary["k"].max(), 0)
    n.add("note-000.ln_k", math.log(summary["k"].max()), 3)
    header = ["setting", "variant", "trainable", "test acc. (%) [95% t]", "hardened net (%) [95% t]",
              "per seed (%, hardened)"]
    out = {"note-000.acc": md_table(header, "llrlll", rows)}
    tests = [(f"{a}.vs.{b}", f"{a} − {b}", _comparison(comp, where, a=a, b=b))
             for a, b in (("learned-note", "direct-note"), ("learned-note-linear", "direct-note"),
                          ("learned-note-linear", "learned-note"), ("learned", "direct"))]
    out["note-000.tests"] = _tests_table(n, "note-000.test", comp, tests, 2, 100)
    return out


def note_001(run: Run, n: Numbers) -> dict[str, str]:
    """Note 001's weight feedback on MNIST under its own conventions beside the pipeline's default
    (config/notes/001-feedback.yaml): the plain CNN against the same convs with the max-pooled weights fed back,
    paired by seed, under each setting. Names: ``note-001.<note|default>.*``, ``note-001.test.*``."""
    tables = analysed(run, "feedback-note", with_comparisons=True)
    summary, comp = tables["feedback_summary.csv"], tables["comparisons.csv"]
    where = f"{run.folder}/feedback-note"
    rows, tests = [], []
    for variant, optimizer in (("note", "sgd"), ("default", "adam")):
        key = f"note-001.{variant}"
        plain, fed = (_row(summary, where, variant=variant, mode=m) for m in ("none", "maxpool"))
        rows.append([f"{_SETTINGS[variant]} ({_OPTIMIZERS[optimizer]})",
                     f"{count(n, f'{key}.plain.trainable', plain['n_trainable'])}: "
                     f"{n.ci(f'{key}.plain.acc', plain, 'acc', 2, 100)}",
                     f"{count(n, f'{key}.fed.trainable', fed['n_trainable'])}: "
                     f"{n.ci(f'{key}.fed.acc', fed, 'acc', 2, 100)}"])
        r = _comparison(comp, where, setting_has=f"optimizer={optimizer}")
        if f"__{fed['net']}__" not in r["a_cell"] or f"__{plain['net']}__" not in r["b_cell"]:
            raise WeightspaceError(f"{where}: the {variant} comparison is {r['a_cell']} − {r['b_cell']}; the docs "
                                   f"describe the fed-back net ({fed['net']}) minus the plain one ({plain['net']})")
        tests.append((variant, f"fed back − plain, {_SETTINGS[variant]}", r))
    header = ["setting", "plain CNN: trainable, test acc. (%) [95% t]",
              "max-pooled weights fed back: trainable, test acc. (%) [95% t]"]
    return {"note-001.acc": md_table(header, "lll", rows),
            "note-001.tests": _tests_table(n, "note-001.test", comp, tests, 2, 100)}


def _tied_rows_floor(config: dict, teacher: str, g: int) -> tuple[float, float]:
    """The expected test MSE (per output) of the best linear layer on ``teacher`` with its rows tied in contiguous
    groups of ``g``, and of the best untied one: for inputs N(0, I), E‖(W − R)x‖²/n_out + σ² = ‖W − R‖²_F/n_out
    + σ², smallest with R's tied rows the mean of their group's rows of the teacher's W (σ: its noise)."""
    spec = resolve(config["teachers"][teacher])
    w = teacher_arrays(spec)["W"]
    groups = w.reshape(w.shape[0] // g, g, -1)
    tied = ((groups - groups.mean(axis=1, keepdims=True)) ** 2).sum() / w.shape[0]
    return float(tied + spec["noise"] ** 2), float(spec["noise"] ** 2)


def note_002(run: Run, n: Numbers) -> dict[str, str]:
    """Note 002's tied rows (the forum thread) under its own conventions beside the pipeline's default
    (config/notes/002-tied-rows.yaml): test MSE of the untied and the pair-tied layer under each setting, the
    tests of tied against untied, and the expected test MSE of the best tied and untied layer on the teacher.
    Names: ``note-002.<variant>.mse``, ``note-002.floor.*``, ``note-002.test.*``."""
    tables = analysed(run, "tied-rows-note", with_comparisons=True)
    summary, comp = tables["tying_summary.csv"], tables["comparisons.csv"]
    where = f"{run.folder}/tied-rows-note"
    final = run.table("tied-rows-note")
    final = final[final["status"] == "ok"]
    rows, tests = [], []
    for setting, untied, tied, optimizer in (("note", "untied-note", "tied-note", "sgd"),
                                             ("default", "untied", "tied", "adam")):
        u, t = _row(summary, where, variant=untied), _row(summary, where, variant=tied)
        by_seed = {v: final[final["variant"] == v].set_index("seed")["final_test_loss"] for v in (untied, tied)}
        n.add(f"note-002.{tied}.worse_seeds", int((by_seed[tied] > by_seed[untied]).sum()), 0)
        rows.append([f"{_SETTINGS[setting]} ({_OPTIMIZERS[optimizer]}, gradient {t['grad']})",
                     f"{count(n, f'note-002.{untied}.trainable', u['n_trainable'])}: "
                     f"{n.ci(f'note-002.{untied}.mse', u, 'final_test_loss', None, sig=3)}",
                     f"{count(n, f'note-002.{tied}.trainable', t['n_trainable'])}: "
                     f"{n.ci(f'note-002.{tied}.mse', t, 'final_test_loss', None, sig=5)}"])
        tests.append((setting, f"tied − untied, {_SETTINGS[setting]}", _comparison(comp, where, a=tied, b=untied)))
    config = validate(load_config(*(run.folder / c["copy"] for c in run.provenance["configs"])))
    tied_cells = summary[summary["reparam"] == "tying"]
    dataset = str(summary["dataset"].iloc[0])
    # the floor below models rows tied in contiguous groups of one g on one teacher of the config's teachers
    if (set(tied_cells["tie"]) != {"rows"} or tied_cells["g"].nunique() != 1 or summary["dataset"].nunique() != 1
            or set(tied_cells.get("groups", pd.Series(dtype=object)).dropna()) - {"contiguous"}
            or dataset not in config.get("teachers", {})):
        raise WeightspaceError(f"{where}: the docs' floor needs rows tied in contiguous groups of one g on one teacher "
                               f"named in the config's teachers")
    g = int(tied_cells["g"].iloc[0])
    tied_floor, untied_floor = _tied_rows_floor(config, dataset, g)
    n.add("note-002.floor.tied", tied_floor, None, sig=3)
    n.add("note-002.floor.untied", untied_floor, None, sig=2)
    n.add("note-002.g", g, 0)
    header = ["setting", "untied: trainable, test MSE [95% t]", "rows tied in pairs: trainable, test MSE [95% t]"]
    return {"note-002.mse": md_table(header, "lll", rows),
            "note-002.tests": _tests_table(n, "note-002.test", comp, tests, None, sig=3)}


def note_004(run: Run, n: Numbers) -> dict[str, str]:
    """Note 004's omega-space training under its own conventions beside the pipeline's default
    (config/notes/004-omega-space.yaml): final test accuracy per d (QR projection) and in the full space under each
    setting, the note's minus the default's paired by seed (sign-flip p, Holm over the d and the full space), and
    d_int90 of each setting against its own full-space net. Names: ``note-004.<variant>[.d<d>].acc``,
    ``note-004.diff[.d<d>]``, ``note-004.dint.<variant>.<convention>``."""
    tables = analysed(run, "omega-space", with_comparisons=True)
    acc, dint, comp = tables["by_dim.csv"], tables["dint90.csv"], tables["comparisons.csv"]
    where = f"{run.folder}/omega-space"
    final = run.table("omega-space")
    final = final[final["status"] == "ok"]

    def cell(variant: str, d: int | None) -> pd.Series:
        rows = acc[(acc["variant"] == variant) & ((acc["reparam"] == "direct") if d is None else (acc["dim"] == d))]
        if len(rows) != 1:
            raise WeightspaceError(f"{where}: {len(rows)} rows of {variant} at d={d} in by_dim (expected one)")
        return rows.iloc[0]

    def test(a: str, d: int | None) -> pd.Series:
        rows = comp[(comp["a"] == a) & (comp["setting"].fillna("").str.contains(rf"(?:^|\b)d={d};", regex=True)
                                        if d is not None else (comp["a"] == a))]
        if len(rows) != 1:
            raise WeightspaceError(f"{where}: {len(rows)} comparisons of {a} at d={d} (expected one)")
        return rows.iloc[0]

    rows = []
    dims = sorted(int(d) for d in acc.loc[acc["variant"] == "qr-note", "dim"].unique())
    for d in [*dims, None]:
        note, default = ("qr-note", "qr") if d is not None else ("direct-note", "direct")
        tag = f".d{d}" if d is not None else ""
        r = test(note, d)
        diff, lo, hi = _difference(n, f"note-004.diff{tag}", r, 2, 100)
        p, holm = _p(n, f"note-004.diff{tag}", r)
        # in how many seeds the note's setting is below the default's (paired by seed)
        by_seed = {cid: final[final["cell"] == cid].set_index("seed")["final_test_acc"] for cid in (r["a_cell"],
                                                                                                    r["b_cell"])}
        n.add(f"note-004.diff{tag}.note_lower_seeds", int((by_seed[r["a_cell"]] < by_seed[r["b_cell"]]).sum()), 0)
        rows.append([str(d) if d is not None else "full space (direct)",
                     n.ci(f"note-004.{note}{tag}.acc", cell(note, d), "acc", 2, 100),
                     n.ci(f"note-004.{default}{tag}.acc", cell(default, d), "acc", 2, 100),
                     f"{diff} [{lo}, {hi}], {p} ({holm})"])
    n.add("note-004.seeds", comp["n_pairs"].min(), 0)
    n.add("note-004.p_min", comp["p_min_attainable"].min(), None, sig=3)
    n.add("note-004.test.m", len(comp), 0)
    header = ["d", "the note's setting: test acc. (%) [95% t]", "the pipeline's default: test acc. (%) [95% t]",
              "note − default (pp) [95% BCa], p (Holm)"]
    out = {"note-004.acc": md_table(header, "rrrr", rows)}
    rows = []
    for variant, label in (("qr-note", "the note's setting"), ("qr", "the pipeline's default")):
        r = dint[dint["variant"] == variant]
        if len(r) != 1:
            raise WeightspaceError(f"{where}: {len(r)} d_int90 rows of {variant} (expected one)")
        r = r.iloc[0]
        cells = []
        for convention in ("relative", "absolute"):
            key = f"note-004.dint.{variant}.{convention}"
            threshold = n.add(f"{key}.threshold", r[f"threshold_{convention}"], 2, 100)
            # +inf: not reached at any d of the grid (the mean, or a bootstrap replicate: an interval open to the
            # right); said in words, never a number
            value, lo, hi = (n.add(f"{key}{b}", v, 0) if math.isfinite(v) else f"> {dims[-1]}" for b, v in (
                ("", r[f"dint_{convention}"]), (".lo", r[f"ci_low_{convention}"]), (".hi", r[f"ci_high_{convention}"])))
            cells.append(f"{value} [{lo}, {hi}] (threshold {threshold}%)")
        rows.append([label, *cells])
    out["note-004.dint"] = md_table(["setting", "d_int90, relative [95% bootstrap]",
                                     "d_int90, absolute (90%) [95% bootstrap]"], "lll", rows)
    return out


def tying(run: Run, n: Numbers) -> dict[str, str]:
    """Tying on MNIST (config/mnist-tying.yaml): tied rows, cross-layer tying, the tied autoencoder."""
    def tying_summary(experiment: str) -> pd.DataFrame:
        return analysed(run, experiment)["tying_summary.csv"]

    tables = {}
    # tied rows: accuracy per g, optimizer and method; the final training loss; the narrower nets' widths
    where = f"{run.folder}/tying"
    rows_summary = tying_summary("tying")
    untied = {opt: _tying_cell(rows_summary, where, "untied", opt) for opt in _OPTIMIZERS}
    methods = (("sum", "tied rows", "sum"), ("mean", "tied rows", "mean"), ("narrower", "narrower untied", None))
    first = [n.ci(f"mnist-tying.rows.{opt}.untied.acc", untied[opt], "final_test_acc", 2, 100) for opt in _OPTIMIZERS]
    table = [["untied", count(n, "mnist-tying.rows.untied.trainable", untied["adam"]["n_trainable"]), first[0], "", "",
              first[1], "", ""]]
    sum_mean, narrow_tied = {}, {}
    for g in (2, 4, 8):
        cells = {(opt, short): _tying_cell(rows_summary, where, method, opt, g, grad)
                 for opt in _OPTIMIZERS for short, method, grad in methods}
        tied = count(n, f"mnist-tying.rows.g{g}.trainable", cells["adam", "sum"]["n_trainable"])
        narrow = count(n, f"mnist-tying.rows.g{g}.narrower.trainable", cells["adam", "narrower"]["n_trainable"])
        n.add(f"mnist-tying.rows.g{g}.narrower.width", cells["adam", "narrower"]["narrow_width_mean"], 0)
        accs = []
        for (opt, short), r in cells.items():
            accs.append(n.ci(f"mnist-tying.rows.{opt}.{short}.g{g}.acc", r, "final_test_acc", 2, 100))
            n.add(f"mnist-tying.rows.{opt}.{short}.g{g}.train_loss", r["final_train_loss_mean"], 3)
        table.append([str(g), f"{tied} (narrower {narrow})", *accs])
        # the prose: the tied nets' training loss at this g (both optimizers, both gradient semantics)
        tied_losses = [r["final_train_loss_mean"] for (opt, short), r in cells.items() if short != "narrower"]
        n.add(f"mnist-tying.rows.g{g}.tied.train_loss_min", min(tied_losses), 3)
        n.add(f"mnist-tying.rows.g{g}.tied.train_loss_max", max(tied_losses), 3)
        sum_mean[g] = abs(cells["adam", "sum"]["final_test_acc_mean"] - cells["adam", "mean"]["final_test_acc_mean"])
        narrow_tied[g] = max(abs(cells[opt, "narrower"]["final_test_acc_mean"]
                                 - cells[opt, grad]["final_test_acc_mean"]) for opt in _OPTIMIZERS
                             for grad in ("sum", "mean"))
    header = ["g", "trainable", *(f"{_OPTIMIZERS[opt]}, {label}" for opt in _OPTIMIZERS
                                  for label in ("grad sum", "grad mean", "narrower untied"))]
    tables["mnist-tying.rows"] = md_table(header, "rrrrrrrr", table)
    # the prose: how far apart the means are (with 3 seeds no paired test can reach 0.05: the smallest exact p)
    n.add("mnist-tying.rows.adam.sum_vs_mean.max_diff", max(sum_mean.values()), 2, 100)
    n.add("mnist-tying.rows.narrower_vs_tied.g2_g4.max_diff", max(narrow_tied[2], narrow_tied[4]), 2, 100)
    seeds = int(rows_summary["n_ok"].min())
    n.add("mnist-tying.seeds", seeds, 0)
    n.add("mnist-tying.smallest_p", 2 / 2 ** seeds, None, sig=2)
    tied_runs = pd.concat([run.table(exp) for exp in ("tying", "tying-crosslayer", "tying-autoencoder")])
    n.add("mnist-tying.tie_max_dev_max", tied_runs["tie_max_dev"].max(), None, sig=2)
    # cross-layer tying
    where = f"{run.folder}/tying-crosslayer"
    cross = tying_summary("tying-crosslayer")
    table = []
    for label, short, method, grad in (("untied", "untied", "untied", None),
                                       ("tied, grad sum", "sum", "tied tensors", "sum"),
                                       ("tied, grad mean", "mean", "tied tensors", "mean"),
                                       ("narrower untied", "narrower", "narrower untied", None)):
        r = _tying_cell(cross, where, method, grad=grad)
        if short == "narrower":
            label += f" (width {n.add('mnist-tying.cross.narrower.width', r['narrow_width_mean'], 0)})"
        table.append([label, count(n, f"mnist-tying.cross.{short}.trainable", r["n_trainable"]),
                      n.ci(f"mnist-tying.cross.{short}.acc", r, "final_test_acc", 2, 100)])
    tables["mnist-tying.cross"] = md_table(["", "trainable", "test accuracy (%)"], "lrr", table)
    n.add("mnist-tying.cross.acc_range", cross["final_test_acc_mean"].max() - cross["final_test_acc_mean"].min(), 2,
          100)
    tables["mnist-tying.ae"] = _autoencoder(run, n, "mnist-tying")
    _autoencoder_tests(run, n, "mnist-tying")
    # training time per cell (timings.csv: a cell's seeds train as one batch, each row the batch's time)
    times = {short: pd.concat([run.table(exp, "timings.csv").groupby("cell")["train_time_s"].max() for exp in exps])
             for short, exps in (("classifier", ("tying", "tying-crosslayer")), ("ae", ("tying-autoencoder",)))}
    for short, t in times.items():
        n.add(f"mnist-tying.time.{short}_min", t.min(), 0)
        n.add(f"mnist-tying.time.{short}_max", t.max(), 0)
    return tables


def _fed(mode: str, gradient: str, features: int) -> str:
    """What an arm feeds into its extra inputs, in words."""
    flow = gradient == "flow"
    return {"none": "nothing (fc1 on the conv features only)", "ones": f"{features} ones",
            "frozen": "the initial weights' max-pooled features",
            "maxpool": "the same, gradient flowing through" if flow else
            "current fc weights max-pooled (detached, the note's)",
            "projection": "the same, gradient flowing through" if flow else
            "current fc weights × fixed Xavier matrix (detached)"}[mode]


def feedback(run: Run, n: Numbers) -> dict[str, str]:
    """Weight feedback on MNIST (config/mnist-feedback.yaml): each arm against none and ones, paired by seed; the
    note's own pair of nets."""
    tables = analysed(run, "feedback", with_comparisons=True)  # its p-values are the comparisons'
    summary, tests = tables["feedback_summary.csv"], tables["comparisons.csv"]
    if summary[["dataset", "setting"]].drop_duplicates().shape[0] != 1:
        raise WeightspaceError(f"{run.folder}/feedback: more than one dataset or setting; the docs describe one")
    rows = []
    for _, r in summary.iterrows():
        arm = r["arm"]
        acc = n.ci(f"mnist-feedback.{arm}.acc", r, "acc", 2, 100)
        cells = []
        for ref in ("none", "ones"):
            if pd.isna(r[f"vs_{ref}_mean"]):
                cells.append("")
                continue
            diff = n.ci(f"mnist-feedback.{arm}.vs_{ref}", r, f"vs_{ref}", 2, 100, signed=True)
            p = n.add(f"mnist-feedback.{arm}.vs_{ref}.p", r[f"vs_{ref}_p"], None, sig=2)
            holm = n.add(f"mnist-feedback.{arm}.vs_{ref}.p_holm", r[f"vs_{ref}_p_holm"], None, sig=2)
            cells.append(f"{diff}, {p} ({holm})")
        rows.append([arm, _fed(r["mode"], r["gradient"], int(r["features"])), acc, *cells])
    n.add("mnist-feedback.seeds", summary["n_ok"].min(), 0)
    n.add("mnist-feedback.comparisons", int((tests["metric"] == "final_test_acc").sum()), 0)
    n.add("mnist-feedback.smallest_p", 2 / 2 ** int(summary["n_ok"].min()), None, sig=1)
    final = run.table("feedback")
    drift = final[(final["variant"] == "maxpool-sgd") & (final["status"] == "ok")]["final_feedback_drift"]
    n.add("mnist-feedback.maxpool.drift_max", drift.max(), 1)
    arms = summary.set_index("arm")
    n.add("mnist-feedback.frozen_minus_maxpool", arms.loc["frozen", "acc_mean"] - arms.loc["maxpool", "acc_mean"], 2,
          100, signed=True)
    header = ["variant", f"fed into the {int(summary['features'].max())} extra inputs",
              "final test acc. (%), mean [95% t]", "− none (pp), mean [95% t], p (Holm)",
              "− ones (pp), mean [95% t], p (Holm)"]
    out = {"mnist-feedback.arms": md_table(header, "llrrr", rows)}
    # the note's own pair: its baseline net against its feedback net (feedback-published)
    pair = analysed(run, "feedback-published", with_comparisons=True)["feedback_summary.csv"]
    base = pair[pair["features"] == 0]
    fed = pair[pair["features"] > 0]
    if len(base) != 1 or len(fed) != 1:
        raise WeightspaceError(f"{run.folder}/feedback-published: expected the note's two nets, one without extra "
                               f"inputs; found {len(pair)} arms")
    base, fed = base.iloc[0], fed.iloc[0]
    n.ci("mnist-feedback.pair.baseline.acc", base, "acc", 2, 100)
    n.ci("mnist-feedback.pair.feedback.acc", fed, "acc", 2, 100)
    n.ci("mnist-feedback.pair.diff", fed, "vs_none", 2, 100, signed=True)
    n.add("mnist-feedback.pair.diff.p", fed["vs_none_p"], None, sig=2)
    return out


_PROJECTIONS = {"dense": "dense", "sparse": "sparse", "fastfood": "Fastfood", "qr": "QR"}


def subspace(run: Run, n: Numbers) -> dict[str, str]:
    """Random subspace training (config/mnist.yaml, or it with config/mnist-dint.yaml): final test accuracy per d
    and projection, and d_int90 per projection under both threshold conventions (relative: 90% of the measured
    baseline; absolute: 90% test accuracy, Li et al.'s), with its seed-bootstrap interval, from the run's own
    analysis settings. Names: ``<run>.<projection>.d<d>.acc``, ``<run>.dint.<projection>.<convention>``."""
    tables = analysed(run, "subspace", with_comparisons=True)
    acc, dint = tables["by_dim.csv"], tables["dint90.csv"]
    name = run.folder.name
    if acc[["dataset", "net"]].drop_duplicates().shape[0] != 1:
        raise WeightspaceError(f"{run.folder}/subspace: more than one dataset or net; the docs describe one")
    sub = acc[acc["reparam"] == "subspace"]
    projections = [p for p in _PROJECTIONS if p in set(sub["projection"])]
    rows = []
    for d in sorted(sub["dim"].unique()):
        cells = []
        for p in projections:
            r = sub[(sub["projection"] == p) & (sub["dim"] == d)]
            cells.append(n.ci(f"{name}.{p}.d{int(d)}.acc", r.iloc[0], "acc", 2, 100) if len(r) else "")
        rows.append([str(int(d)), *cells])
    direct = acc[acc["reparam"] == "direct"].iloc[0]
    rows.append([f"full space (direct, D = {count(n, f'{name}.D', direct['n_weights'])})",
                 n.ci(f"{name}.direct.acc", direct, "acc", 2, 100), *[""] * (len(projections) - 1)])
    out = {f"{name}.by_dim": md_table(["d", *(_PROJECTIONS[p] for p in projections)], "r" * (len(projections) + 1),
                                      rows)}
    rows = []
    for convention in ("relative", "absolute"):
        first = dint.iloc[0]
        threshold = n.add(f"{name}.threshold.{convention}", first[f"threshold_{convention}"], 2, 100)
        cells = []
        for p in projections:
            r = dint[dint["projection"] == p].iloc[0]
            key = f"{name}.dint.{p}.{convention}"
            value = n.add(key, r[f"dint_{convention}"], 0)
            lo, hi = (n.add(f"{key}.{b}", r[f"ci_{c}_{convention}"], 0) for b, c in (("lo", "low"), ("hi", "high")))
            interp = n.add(f"{key}.interp", r[f"dint_interp_{convention}"], 0)
            cells.append(f"{value} [{lo}, {hi}] (interpolated {interp})")
        rows.append([convention, f"{threshold}%", *cells])
    header = ["convention", "threshold", *(f"{_PROJECTIONS[p]} d_int90 [95% bootstrap]" for p in projections)]
    out[f"{name}.dint"] = md_table(header, "lr" + "l" * len(projections), rows)
    # the projections against each other at equal d (the family's default comparisons: paired by seed, Holm)
    comp = tables.get("comparisons.csv")
    if comp is not None and len(comp):
        rows = []
        for _, r in comp.iterrows():
            d = int(re.search(r"\bd=(\d+)", r["setting"]).group(1))
            key = f"{name}.test.{r['a']}-{r['b']}.d{d}"
            diff, lo, hi = _difference(n, key, r, 2, 100)
            prob = _prob(n, key, r)
            rows.append([f"{_PROJECTIONS.get(r['a'], r['a'])} − {_PROJECTIONS.get(r['b'], r['b'])}", str(d),
                         f"{diff} [{lo}, {hi}]", *_p(n, key, r), prob, _flag(r)])
        # the row with the largest difference, for the prose
        big = comp.loc[comp["mean_diff"].abs().idxmax()]
        n.add(f"{name}.test.largest.d", int(re.search(r"\bd=(\d+)", big["setting"]).group(1)), 0)
        _difference(n, f"{name}.test.largest", big, 2, 100)
        _p(n, f"{name}.test.largest", big)
        n.add(f"{name}.test.m", len(comp), 0)
        n.add(f"{name}.test.seeds", comp["n_pairs"].min(), 0)
        n.add(f"{name}.test.p_min", comp["p_min_attainable"].min(), None, sig=3)
        n.add(f"{name}.test.significant", int(comp["significant"].astype(bool).sum()), 0)
        n.add(f"{name}.test.cannot_reach", int(comp["cannot_reach"].astype(bool).sum()), 0)
        header = ["A − B", "d", "A − B (pp) [95% BCa]", "p", "p (Holm)", "P(A > B) [95%]", ""]
        out[f"{name}.tests"] = md_table(header, "lrlrrll", rows)
    return out


_TEACHERS = {"conv1d_teacher": "1-D", "conv2d_teacher": "2-D"}
#: the rows of each teacher's table: label, variant, lambda_prior (None: not swept), k (None: no k)
_TEACHER_ROWS = [("learned-st, λ_prior 0.01", "learned-st", "0.01", 16),
                 ("learned-st, λ_prior 0", "learned-st", "0", 16),
                 ("learned (soft), λ_prior 0.01", "learned", "0.01", 16),
                 ("learned (soft), λ_prior 0", "learned", "0", 16),
                 ("k-means of a trained direct net", "kmeans", None, 16), ("HashedNets", "hashed", None, 16),
                 ("known structure (reference)", "known", None, None), ("direct (no sharing)", "direct", None, None)]
_METHOD = {"learned-st": "learned-st", "learned": "learned", "kmeans": "k-means", "hashed": "HashedNets",
           "direct": "direct", "known": "known"}
_METRIC = {"ari_support": "ARI on support", "final_hard_test_loss|final_test_loss": "hard-net test MSE"}


def _sharing_cell(summary: pd.DataFrame, where: str, dataset: str, variant: str, prior: str | None,
                  k: int | None) -> pd.Series:
    """The one summary row of ``variant`` on ``dataset`` at ``k`` (None: a variant without k), with the low-index
    prior ``prior`` where the variant sweeps it (the row's ``setting``)."""
    rows = summary[(summary["dataset"] == dataset) & (summary["variant"] == variant)]
    rows = rows[rows["k"].isna()] if k is None else rows[rows["k"] == k]
    if prior is not None:
        rows = rows[rows["setting"].fillna("").str.split().apply(lambda s: f"lambda_prior={prior}" in s)]
    if len(rows) != 1:
        raise WeightspaceError(f"{where}: {len(rows)} cells of {variant} on {dataset} with k={k}"
                               f"{f' lambda_prior={prior}' if prior else ''} (expected one); the archived run is "
                               f"not the grid the docs describe")
    return rows.iloc[0]


def _ci_or_blank(n: Numbers, name: str, r: pd.Series, metric: str, digits: int | None = None,
                 sig: int | None = None) -> str:
    """``metric``'s mean [interval] as ``name`` (``sig`` significant digits: an MSE), or "" where the row has none
    (direct training has no assignment to score)."""
    if f"{metric}_mean" not in r or pd.isna(r[f"{metric}_mean"]):
        return ""
    return n.ci(name, r, metric, digits, sig=sig)


def teachers(run: Run, n: Numbers) -> dict[str, str]:
    """Learned sharing on the two convolution teachers (config/teachers.yaml): structure recovery and the hardened
    net's test MSE per method at k = 16, and the declared comparisons (learned-st vs k-means vs HashedNets at equal
    k, paired by seed, Holm over all). Names: ``teachers.<conv1d|conv2d>.<variant>[.lp<prior>][.k<k>].<metric>``,
    ``teachers.test.<teacher>.<a>-<b>.k<k>.<ari|mse>.*``."""
    tables = analysed(run, "sharing", with_comparisons=True)
    summary, comp = tables["sharing_summary.csv"], tables["comparisons.csv"]
    where = f"{run.folder}/sharing"
    out = {}
    for dataset in _TEACHERS:
        rows = []
        for label, variant, prior, k in _TEACHER_ROWS:
            r = _sharing_cell(summary, where, dataset, variant, prior, k)
            key = (f"teachers.{dataset.split('_')[0]}.{variant}" + (f".lp{prior}" if prior else "")
                   + (f".k{k}" if k else ""))
            rows.append([label, str(k or ""), _ci_or_blank(n, f"{key}.ari", r, "ari_support", 3),
                         _ci_or_blank(n, f"{key}.f1", r, "support_f1", 3),
                         _ci_or_blank(n, f"{key}.pdist", r, "partition_distance", 3),
                         _ci_or_blank(n, f"{key}.mse", r, "final_hard_test_loss", sig=2),
                         n.add(f"{key}.values", r["final_values_used_mean"], 1)
                         if variant in ("learned", "learned-st") else ""])
        header = ["method", "k", "ARI on the support", "support F1", "partition distance / n", "hard-net test MSE",
                  "values used"]
        out[f"teachers.{dataset.split('_')[0]}"] = md_table(header, "lrllllr", rows)
    n.add("teachers.seeds", summary["n_ok"].min(), 0)
    n.add("teachers.diverged", summary["n_diverged"].sum(), 0)
    # the declared comparisons, one row each
    rows = []
    for _, r in comp.iterrows():
        k = int(re.search(r"\bk=(\d+)", r["setting"]).group(1))
        metric = "ari" if r["metric"] == "ari_support" else "mse"
        key = f"teachers.test.{r['dataset'].split('_')[0]}.{r['a']}-{r['b']}.k{k}.{metric}"
        digits, sig = (3, None) if metric == "ari" else (None, 2)
        diff, lo, hi = _difference(n, key, r, digits, sig=sig)
        p, holm = _p(n, key, r)
        rows.append([_TEACHERS[r["dataset"]], f"{_METHOD[r['a']]} − {_METHOD[r['b']]}", _METRIC[r["metric"]],
                     str(k), f"{diff} [{lo}, {hi}]", p, holm, _prob(n, key, r), _flag(r)])
    n.add("teachers.test.m", len(comp), 0)
    n.add("teachers.test.significant", int(comp["significant"].astype(bool).sum()), 0)
    n.add("teachers.test.cannot_reach", int(comp["cannot_reach"].astype(bool).sum()), 0)
    n.add("teachers.test.p_min", comp["p_min_attainable"].min(), None, sig=3)
    n.add("teachers.test.p_min_times_m", comp["p_min_attainable"].min() * len(comp), None, sig=2)
    header = ["teacher", "A − B", "metric", "k", "A − B [95% BCa]", "p", "p (Holm)", "P(A better) [95%]", ""]
    out["teachers.tests"] = md_table(header, "lllrlrrll", rows)
    return out


_SWEEP = {"conv1d-sweep": "1-D convolution", "conv2d-sweep": "2-D convolution", "perm-sweep": "permutation"}
#: "recovers the structure": a mean ARI on the support of at least this (as the meta section)
_SWEEP_RECOVERED = 0.9


def sweep(run: Run, n: Numbers) -> dict[str, str]:
    """The sample-size sweep (config/sweep-cpu.yaml): ARI on the support and the hardened net's test MSE per teacher,
    training-set size and method (k = 16), and for each teacher the smallest size at which k-means of the direct
    net recovers the structure (mean ARI >= 0.9). Names: ``sweep-cpu.<teacher>.n<N>.<variant>.<ari|mse>``."""
    summary = analysed(run, "sharing-sweep")["sharing_summary.csv"]
    where = f"{run.folder}/sharing-sweep"
    split = summary["dataset"].str.extract(r"^(.+)-n(\d+)$")
    summary = summary.assign(teacher=split[0], size=pd.to_numeric(split[1]))
    if summary["teacher"].isna().any():
        raise WeightspaceError(f"{where}: a dataset that is not <teacher>-n<size>; the docs describe a sweep")
    n.add("sweep-cpu.recovered_ari", _SWEEP_RECOVERED, 1)
    n.add("sweep-cpu.seeds", summary["n_ok"].min(), 0)
    n.add("sweep-cpu.diverged", summary["n_diverged"].sum(), 0)
    rows = []
    for teacher in [t for t in _SWEEP if t in set(summary["teacher"])]:
        sizes = sorted(summary.loc[summary["teacher"] == teacher, "size"].unique())
        first = None
        for size in sizes:
            dataset = f"{teacher}-n{size}"
            cells = {v: _sharing_cell(summary, where, dataset, v, None, None if v in ("direct", "known") else 16)
                     for v in ("kmeans", "learned", "learned-st", "direct", "known", "hashed")}
            key = f"sweep-cpu.{teacher}.n{size}"
            ari = [_ci_or_blank(n, f"{key}.{v}.ari", cells[v], "ari_support", 2)
                   for v in ("kmeans", "learned", "learned-st")]
            mse = [n.add(f"{key}.{v}.mse", cells[v]["final_hard_test_loss_mean"], None, sig=2)
                   for v in ("direct", "learned", "learned-st")]
            if first is None and cells["kmeans"]["ari_support_mean"] >= _SWEEP_RECOVERED:
                first = size
                ari[0] = f"**{ari[0]}**"
            rows.append([_SWEEP[teacher], str(size), *ari, *mse])
        if first is None:
            raise WeightspaceError(f"{where}: k-means recovers the {teacher} teacher's structure (ARI >= "
                                   f"{_SWEEP_RECOVERED}) at no size; the docs' prose says it does: rewrite the section")
        n.add(f"sweep-cpu.{teacher}.kmeans_recovers_from", first, 0)
        for v in ("learned", "learned-st"):  # the learned methods at that size, beside k-means
            n.add(f"sweep-cpu.{teacher}.at_recovery.{v}.ari",
                  _sharing_cell(summary, where, f"{teacher}-n{first}", v, None, 16)["ari_support_mean"], 2)
        other = summary[summary["teacher"] == teacher]
        for v, short in (("known", "known"), ("hashed", "hashed")):
            rows_v = other[other["variant"] == v]
            n.add(f"sweep-cpu.{teacher}.{short}.ari_min", rows_v["ari_support_mean"].min(), 2)
            n.add(f"sweep-cpu.{teacher}.{short}.ari_max", rows_v["ari_support_mean"].max(), 2)
            n.add(f"sweep-cpu.{teacher}.{short}.mse_min", rows_v["final_hard_test_loss_mean"].min(), None, sig=2)
            n.add(f"sweep-cpu.{teacher}.{short}.mse_max", rows_v["final_hard_test_loss_mean"].max(), None, sig=2)
    header = ["teacher", "n", "k-means ARI", "learned ARI", "learned-st ARI", "direct MSE", "learned MSE",
              "learned-st MSE"]
    return {"sweep-cpu": md_table(header, "lrlllrrr", rows)}


#: (archived run name, its section): what the docs quote from the archive. Every name a section makes begins with
#: its run's name; a run not in the archive is skipped, and a placeholder of the template that needs it is an error
#: naming the run (the long runs are archived later: docs/results.md says how each is made)
SECTIONS: list[tuple[str, Callable[[Run, Numbers], dict[str, str]]]] = [
    ("images", images),
    ("meta", meta),
    ("mnist-tying", tying),
    ("mnist-tying-autoencoder", tying_autoencoder),
    ("mnist-feedback", feedback),
    ("mnist", subspace),
    ("mnist-dint", subspace),
    ("teachers", teachers),
    ("sweep-cpu", sweep),
    ("note-004", note_004),
    ("note-003", note_003),
    ("note-000", note_000),
    ("note-001", note_001),
    ("note-002", note_002),
]


# ----------------------------------------------------------------------------------------------------------------


def render_docs(archive: Path, template: str) -> tuple[str, str]:
    """The docs' Markdown and LaTeX text from ``archive`` and the template text."""
    numbers, tables, runs, missing = Numbers(), {}, [], []
    for name, section in SECTIONS:
        folder = Path(archive) / name
        if not folder.is_dir():
            missing.append(name)
            continue
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
        needs = [r for r in missing if key.startswith(f"{r}.")]
        if key not in found and needs:
            raise WeightspaceError(f"{TEMPLATE} line {line}: {key!r} needs the run {needs[0]!r}, which is not in "
                                   f"{archive}; archive it (weightspace archive <results_dir> --name {needs[0]} ...)")
        if key not in found:
            kind = "table" if is_table else "number"
            raise WeightspaceError(f"{TEMPLATE} line {line}: no {kind} {key!r}; the archive's {kind}s are named in "
                                   f"{__name__} (e.g. {next(iter(found), 'none')})")
        return found[key]

    out = "".join(_PLACEHOLDER.sub(lambda m: fill(m, i), text)
                  for i, text in enumerate(template.splitlines(keepends=True), 1))
    made = ", ".join(r.folder.name for r in runs)  # each run's code, machine and command: its provenance.json
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
