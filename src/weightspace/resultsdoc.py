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

    def ci(self, name: str, row: pd.Series, metric: str, digits: int, scale: float = 1.0, unit: str = "",
           signed: bool = False) -> str:
        """A summary row's ``<metric>_mean`` and interval as ``name``, ``name.lo``, ``name.hi``: "m<unit> [lo, hi]"."""
        mean = self.add(name, row[f"{metric}_mean"], digits, scale, signed=signed)
        lo, hi = (self.add(f"{name}.{b}", row[f"{metric}_{b}"], digits, scale, signed=signed) for b in ("lo", "hi"))
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


def _autoencoder(run: Run, n: Numbers, name: str) -> str:
    """The tied vs untied autoencoder's table (test MSE per pixel, per seed too) under each input convention, and
    its numbers ``<name>.ae[.unit].*``."""
    where = f"{run.folder}/tying-autoencoder"
    final = run.table("tying-autoencoder")
    ae = analysed(run, "tying-autoencoder")["tying_summary.csv"]
    final = final[final["status"] == "ok"]
    table = []
    # under each input convention (train.input_scaling): standardized inputs (the names without a convention,
    # as quoted since the first run) and [0, 1] pixels (".unit"), the reconstruction target pixels in both
    for scaling, tag, title in (("standardize", "", "standardized inputs"), ("unit", ".unit", "[0, 1] inputs")):
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


def tying_autoencoder(run: Run, n: Numbers) -> dict[str, str]:
    """The tied autoencoder on MNIST under both input conventions (config/mnist-tying-autoencoder.yaml), with
    the comparisons layer's test of tied vs untied under each (sign-flip, Holm over the two)."""
    tables = {"mnist-tying-autoencoder.ae": _autoencoder(run, n, "mnist-tying-autoencoder")}
    comp = analysed(run, "tying-autoencoder", with_comparisons=True)["comparisons.csv"]
    for scaling, tag in (("standardize", ""), ("unit", ".unit")):
        rows = _under(comp, scaling)
        if len(rows) != 1:
            raise WeightspaceError(f"{run.folder}/tying-autoencoder: {len(rows)} comparisons of tied vs untied "
                                   f"with input_scaling={scaling} (expected one)")
        r = rows.iloc[0]
        n.add(f"mnist-tying-autoencoder.ae{tag}.p", r["p"], None, sig=3)
        n.add(f"mnist-tying-autoencoder.ae{tag}.p_holm", r["p_holm"], None, sig=3)
        n.add(f"mnist-tying-autoencoder.ae{tag}.p_min", r["p_min_attainable"], None, sig=3)
    return tables


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
    header = ["g", "trainable", *(f"{_OPTIMIZERS[opt]}, {label}" for opt in _OPTIMIZERS
                                  for label in ("grad sum", "grad mean", "narrower untied"))]
    tables["mnist-tying.rows"] = md_table(header, "rrrrrrrr", table)
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
    tables["mnist-tying.ae"] = _autoencoder(run, n, "mnist-tying")
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
    tables = analysed(run, "subspace")
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
    return out


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
