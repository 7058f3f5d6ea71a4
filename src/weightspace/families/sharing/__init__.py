"""Learned weight sharing, w = softmax(A / tau) v, against HashedNets, k-means and the known structure.

=================  ============================================================================
``reparam.py``     soft sharing (entropy, low-index prior, annealing, straight-through), its
                   hardening, HashedNets, k-means (Deep Compression), the teacher's known sharing
``memory.py``      which tensors are shared, and memory (torch-free, for config checks)
``teachers.py``    teacher tasks from the config (structure kinds, values, sizes; torch-free)
``meta.py``        meta-learned sharing: A shared across tasks of one structure, v per task
``structure.py``   scoring a learned sharing against ground truth; spatial agreement on images
``analysis.py``    ``sharing_summary.csv`` from ``final.csv``
``tables.py``      ``structure.tex``
``plots.py``       recovered structure, assignment maps, accuracy vs unique values, dynamics
``artifacts.py``   its figures and table, listed once (``weightspace make sharing.<name>``)
``bench.py``       ``bench meta-sharing`` (the meta figure's table)
``schema.yaml``    the options of ``sharing``, ``hashed``, ``kmeans`` and ``known`` variants
=================  ============================================================================

Every run of a sharing experiment leaves ``structure.npz`` (the examined
layer's assignment, soft and hard weights) beside its metrics. Rules (the meta-learning job):
``workflow/rules/sharing.smk``. This module imports no torch.
"""

from __future__ import annotations

import math
from pathlib import Path

from weightspace.data import RESERVED, known
from weightspace.families.base import Family
from weightspace.families.sharing.artifacts import ARTIFACTS
from weightspace.families.sharing import memory, teachers
from weightspace.headlines import read_table
from weightspace.io import write_dataframe
from weightspace.registry import ReparamSpec
from weightspace.sizes import fmt_bytes, limit_bytes, over_limit

__all__ = ["FAMILY", "SharingFamily"]

_MODULE = "weightspace.families.sharing.reparam"
_HINT = "use a smaller k or budget"


def _check_size(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    """Exactly one of k (unique values per shared tensor) and budget (a fraction of each tensor's weights)."""
    has_k, has_budget = variant.get("k") is not None, variant.get("budget") is not None
    if has_k == has_budget:
        return [("", f"give k (unique values per shared tensor) or budget (a fraction of each shared tensor's "
                     f"weights), {'not both' if has_k else 'one of them'}")]
    return []


def _check_soft(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    """The size, and without the softmax (``softmax: false``, w = A v) none of the softmax's own options."""
    problems = _check_size(variant, cell, net, dataset)
    if variant.get("softmax", True) is False:
        problems += [(key, f"{variant[key]!r} needs the softmax; with softmax: false (w = A v) leave {key} out")
                     for key in memory.needs_softmax(variant)]
    return problems


def _check_kmeans(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    problems = _check_size(variant, cell, net, dataset)
    if problems:
        return problems
    epochs = cell["train"]["epochs"]
    if variant["pretrain_epochs"] >= epochs:
        return [("pretrain_epochs", f"{variant['pretrain_epochs']} leaves no epoch to fine-tune the values "
                                    f"(train.epochs is {epochs})")]
    return []


def _check_known(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    if dataset.structure is None:
        names = ", ".join(d.name for d in known().values() if d.structure)
        return [("", f"reparam 'known' needs a dataset with a known structure ({names}, or a config's teachers), "
                     f"not {dataset.name}")]
    layer = net.spec.get(dataset.structure["layer"])
    if layer is None or len(net.spec) != 2 or layer.shape[0] != dataset.n_outputs:
        return [("", "reparam 'known' needs a single linear layer (an fc net with widths: [])")]
    return []


def _memory_limit(config) -> float:
    """The config's memory_limit_gib, or its default while the config is not validated yet."""
    limit = config.get("memory_limit_gib") if isinstance(config, dict) else None
    ok = isinstance(limit, (int, float)) and not isinstance(limit, bool) and 0 < limit < float("inf")
    return float(limit) if ok else 16.0


class SharingFamily(Family):
    """Structure recovered on teachers, structure metrics, accuracy against unique values."""

    def default_comparisons(self, exp: dict) -> list[dict]:
        """Every variant against direct training; the variants with a budget (k, or a fraction) against each other
        at an equal budget (and equal values of every other key both sweep), on the (hardened) test metric and, on teachers, on structure recovery (ARI on the
        support)."""
        def swept(v: dict) -> set[str]:
            return {k for k, x in {**v, **(v.get("train") or {})}.items() if isinstance(x, list)}

        pairs = []
        for key in ("k", "budget"):  # a budget as a number of values, or as a fraction of each tensor
            sized = [v for v in exp["variants"] if key in v]
            pairs += [{"a": a["name"], "b": b["name"], "match": sorted({key} | (swept(a) & swept(b)))}
                      for i, a in enumerate(sized) for b in sized[i + 1:]]
        return (super().default_comparisons(exp) + pairs
                + [{**p, "metric": "ari_support"} for p in pairs])

    def artifacts(self):
        return ARTIFACTS

    def teacher_spec(self, name: str, datasets: dict) -> dict:
        """The description of a teacher among ``datasets`` (a validated config's: built in, or its own teachers)."""
        info = datasets[name]
        return info.spec["teacher"] if info.spec else teachers.DEFAULT_TEACHERS[name]

    def check_experiment(self, where: str, exp: dict, config: dict) -> list[str]:
        datasets = config.datasets  # every dataset the config can name (weightspace.config.Validated)
        meta = exp.get("meta")
        if meta and (meta["teacher"] not in datasets or datasets[meta["teacher"]].structure is None):
            names = ", ".join(d.name for d in datasets.values() if d.structure)
            return [f"{where}.meta.teacher: {meta['teacher']!r} is not a teacher; choose one of: {names} "
                    f"(or define it under teachers)"]
        if meta:  # checked before anything is drawn
            info = datasets[meta["teacher"]]
            shape = info.n_outputs, math.prod(info.input_shape)
            need = memory.meta_bytes(meta, *shape)
            if need > limit_bytes(config["memory_limit_gib"]):  # name the size whose default would save the most
                key = min(memory.META_SIZES, key=lambda k: memory.meta_bytes({**meta, k: memory.META_SIZES[k]}, *shape))
                return [f"{where}.meta.{key}: the meta-learning comparison needs ~{fmt_bytes(need)} ({key}: "
                        f"{meta.get(key, memory.META_SIZES[key])}, on {meta['teacher']}), "
                        f"{over_limit(config['memory_limit_gib'])}; use a smaller {key}, or raise memory_limit_gib"]
        return []

    def builtin_datasets(self) -> dict:
        """The built-in teachers (:data:`~weightspace.families.sharing.teachers.DEFAULT_TEACHERS`)."""
        return {name: teachers.info(name, spec) for name, spec in teachers.DEFAULT_TEACHERS.items()}

    def datasets(self, config: dict) -> dict:
        out = {}
        specs = config.get("teachers") if isinstance(config, dict) else None
        limit = _memory_limit(config)
        for name, spec in (specs or {}).items() if isinstance(specs, dict) else ():
            try:
                for dname, dspec in teachers.expand_names(name, spec).items():
                    if not teachers.spec_problems("", dspec, limit):  # nothing built past the memory limit
                        out[dname] = teachers.info(dname, dspec)
            except Exception:  # noqa: BLE001 - a broken description: the schema and check_config say what is wrong
                continue
        return out

    def dataset_names(self, config: dict) -> list[str]:
        specs = config.get("teachers") if isinstance(config, dict) else None
        if not isinstance(specs, dict):
            return []
        return [d for name, spec in specs.items() for d in teachers.dataset_names(name, spec)]

    def check_config(self, config: dict) -> list[str]:
        problems = []
        made: dict[str, str] = {}  # dataset name -> what defines it
        for name, spec in (config.get("teachers") or {}).items():
            own = teachers.spec_problems(f"teachers.{name}", spec, config["memory_limit_gib"])
            problems += own
            if not own:  # each teacher's draw is checked, whatever an earlier teacher's problems
                try:
                    teachers.teacher_arrays(spec if not isinstance(spec["n_train"], list) else
                                            {**spec, "n_train": spec["n_train"][0]})
                except ValueError as e:
                    problems.append(f"teachers.{name}: {e}")
            for dname in teachers.dataset_names(name, spec):
                by = f"the teacher teachers.{name}" if dname == name else f"the n_train sweep of teachers.{name}"
                if dname in RESERVED:
                    what = f"the name {dname!r}" if dname == name else f"its n_train sweep's dataset {dname!r}"
                    problems.append(f"teachers.{name}: {what} is a built-in dataset ({known()[dname].about}), "
                                    f"which a teacher cannot replace (only {' and '.join(teachers.DEFAULT_TEACHERS)} "
                                    f"can be redefined); rename the teacher")
                elif dname in made:
                    problems.append(f"teachers.{name}: the dataset {dname!r} is defined twice, by {made[dname]} and "
                                    f"by {by}; rename one")
                made.setdefault(dname, by)
        return problems

    def examine(self, reparam, data) -> list[tuple[dict, dict]]:
        from weightspace.families.sharing.structure import reparam_structure  # deferred: torch

        return [(metrics, {"structure.npz": arrays}) for metrics, arrays in reparam_structure(reparam, data)]

    def analyze(self, final, analysis: dict, out_dir: Path) -> list[Path]:
        from weightspace.families.sharing.analysis import sharing_summary  # deferred: pandas

        write_dataframe(out_dir / "sharing_summary.csv", sharing_summary(final))
        return [out_dir / "sharing_summary.csv"]

    def headline(self, folder: Path) -> list[str]:
        """Per dataset: the sharing variant with the best structure score, and its test metric beside direct's."""
        from weightspace.families.sharing.analysis import headline  # deferred: pandas

        return headline(read_table(folder, "sharing_summary.csv"))

    def add_bench(self, bench) -> None:
        from weightspace.families.sharing.bench import add  # deferred: loaded only to build the CLI

        add(bench)


FAMILY = SharingFamily(
    name="sharing",
    description="learned weight sharing: structure recovered, structure metrics, accuracy vs unique values",
    reparams=(
        ReparamSpec("sharing", f"{_MODULE}:build_soft", memory.soft_sharing_bytes, _check_soft, size_key="k",
                    memory_hint=_HINT),
        ReparamSpec("hashed", f"{_MODULE}:build_hashed", memory.hashed_bytes, _check_size, size_key="k",
                    memory_hint=_HINT),
        ReparamSpec("kmeans", f"{_MODULE}:build_kmeans", memory.kmeans_bytes, _check_kmeans, size_key="k",
                    memory_hint=_HINT),
        ReparamSpec("known", f"{_MODULE}:build_known", memory.known_bytes, _check_known),
    ),
    run_files=("structure.npz",),
    analysis_files=("sharing_summary.csv",),
    metrics={"final_hard_test_acc": "higher", "final_hard_test_loss": "lower", "ari_support": "higher",
             "support_f1": "higher", "v_measure": "higher", "partition_distance": "lower",
             "equivariance_error": "lower", "spatial_excess": "higher", "final_values_used": "lower"},
    auto_metric=((("final_hard_test_acc", "final_test_acc"), "higher"),
                 (("final_hard_test_loss", "final_test_loss"), "lower")),
    folder=Path(__file__).parent,
    dataset_kinds={"teacher": "weightspace.families.sharing.teachers:info"},
)
