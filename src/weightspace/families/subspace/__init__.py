"""Random-subspace training (Li et al. 2018; Greydanus 2017): theta = theta_0 + P omega, theta = P omega.

=================  ============================================================================
``reparam.py``     :class:`Subspace`: omega (S, d) trained, theta computed through P
``projections.py`` dense, sparse (Li-Hastie-Church), Fastfood and QR-span projections, seed-batched
``memory.py``      projection names and memory (torch-free, for config checks)
``dint.py``        d_int90: grid value, log-linear interpolation, seed bootstrap
``analysis.py``    ``by_dim.csv`` and ``dint90.csv`` from ``final.csv``
``tables.py``      ``dint90.tex``, ``accuracy_by_d.tex``
``plots.py``       curves per d, accuracy vs d with d_int90, cost vs d
``cost.py``        the cost benchmark (time per step and memory vs d)
``artifacts.py``   its figures and tables, listed once (``weightspace make subspace.<name>``)
``bench.py``       ``bench cost`` (the cost figure's table)
``schema.yaml``    the ``subspace`` variant options, the ``analysis`` and ``cost`` keys
=================  ============================================================================

Rules (the cost benchmark's job): ``workflow/rules/subspace.smk``. This module imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from weightspace.config.grid import variant_sweeps
from weightspace.families.base import Family
from weightspace.families.subspace.artifacts import ARTIFACTS
from weightspace.families.subspace.memory import bootstrap_bytes, subspace_bytes
from weightspace.headlines import read_table
from weightspace.io import write_dataframe
from weightspace.registry import ReparamSpec
from weightspace.sizes import fmt_bytes, limit_bytes, over_limit

__all__ = ["FAMILY", "SubspaceFamily"]


def _check_bootstrap(where: str, exp: dict, config: dict) -> list[str]:
    """The d_int bootstrap's memory (analysis.n_boot x seeds and dimensions) against memory_limit_gib, before
    analyze allocates it."""
    n_boot, seeds = exp["analysis"].get("n_boot", 2000), exp.get("seeds", config["seeds"])
    n_seeds = seeds if isinstance(seeds, int) else len(seeds)
    n_dims = max(len(v["d"]) if isinstance(v.get("d"), list) else 1 for v in exp["variants"])
    need = bootstrap_bytes(n_boot, n_seeds, n_dims)
    if need <= limit_bytes(config["memory_limit_gib"]):
        return []
    return [f"{where}.analysis.n_boot: {n_boot:,} bootstrap replicates of d_int over {n_seeds} seeds and {n_dims} "
            f"dimensions need ~{fmt_bytes(need)}, {over_limit(config['memory_limit_gib'])}; use fewer n_boot, or "
            f"raise memory_limit_gib"]


def _check_subspace(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    D = net.n_params
    if variant["d"] > D:
        return [("d", f"d={variant['d']} exceeds D={D:,}, the number of weights of net {cell['net']['name']!r} on "
                      f"{dataset.name}; use d <= {D}")]
    return []


class SubspaceFamily(Family):
    """d_int90 against a full-space baseline, accuracy per d, the cost of each projection."""

    def check_experiment(self, where: str, exp: dict, config: dict) -> list[str]:
        problems = []
        cost = exp.get("cost")
        if cost and cost["net"] not in config["nets"]:
            problems.append(f"{where}.cost.net: unknown net {cost['net']!r}; defined nets: "
                            f"{', '.join(sorted(config['nets'])) or '(none)'}")
        for i, pub in enumerate(exp["analysis"].get("published", [])):
            if pub["net"] not in exp["nets"] or pub["dataset"] not in exp["datasets"]:
                problems.append(f"{where}.analysis.published[{i}]: ({pub['dataset']}, {pub['net']}) is not a "
                                f"dataset x net of this experiment")
        if not any(v["reparam"] == "direct" for v in exp["variants"]):
            return problems + [f"{where}.variants: a subspace experiment needs a variant with `reparam: direct` "
                               f"(the full-space baseline its analyses compare against)"]
        return problems + _check_baseline(where, exp, config) + _check_bootstrap(where, exp, config)

    def default_comparisons(self, exp: dict) -> list[dict]:
        """Each projection against the dense one (else the first subspace variant) at equal d."""
        subspace = [v for v in exp["variants"] if v["reparam"] == "subspace"]
        dense = [v for v in subspace if v.get("projection") == "dense"] or subspace[:1]
        return [{"reference": dense[0]["name"], "variants": [v["name"] for v in subspace if v is not dense[0]],
                 "match": ["d"]}] if len(subspace) > 1 else []

    def artifacts(self):
        return ARTIFACTS

    def analyze(self, final, analysis: dict, out_dir: Path) -> list[Path]:
        from weightspace.families.subspace.analysis import by_dim, dint90  # deferred: pandas

        write_dataframe(out_dir / "by_dim.csv", by_dim(final))
        write_dataframe(out_dir / "dint90.csv", dint90(
            final, analysis.get("fraction", 0.9), analysis.get("n_boot", 2000), analysis.get("random_state", 0),
            baseline=analysis.get("baseline"), baseline_setting=analysis.get("baseline_setting"),
            threshold=analysis.get("threshold", "relative")))
        return [out_dir / "by_dim.csv", out_dir / "dint90.csv"]

    def headline(self, folder: Path) -> list[str]:
        """d_int90 per (dataset, net) and projection, with its bootstrap interval (``dint90.csv``)."""
        from weightspace.families.subspace.analysis import headline  # deferred: pandas

        return headline(read_table(folder, "dint90.csv"))

    def add_bench(self, bench) -> None:
        from weightspace.families.subspace.bench import add  # deferred: loaded only to build the CLI

        add(bench)


def _check_baseline(where: str, exp: dict, config: dict) -> list[str]:
    """d_int90 needs one baseline per subspace variant and setting: refuse a grid that leaves it ambiguous.

    ``analysis.baseline`` names the baseline of every subspace variant, or maps each subspace variant to its own
    (e.g. each trained under its own conventions); without it, the experiment's only direct variant."""
    analysis = exp["analysis"]
    variants = {v["name"]: v for v in exp["variants"]}
    subspace = [n for n, v in variants.items() if v["reparam"] == "subspace"]
    chosen = analysis.get("baseline")
    if chosen is None:
        direct = [v["name"] for v in exp["variants"] if v["reparam"] == "direct"]
        if len(direct) > 1:
            return [f"{where}.analysis.baseline: several direct variants ({', '.join(direct)}) could be the "
                    f"full-space baseline of d_int90; name one, or map each subspace variant to its own"]
        chosen = direct[0]
    mapping = chosen if isinstance(chosen, dict) else {n: chosen for n in subspace}
    problems = []
    for vname, name in mapping.items():
        key = f"{where}.analysis.baseline" + (f".{vname}" if isinstance(chosen, dict) else "")
        if vname not in subspace:
            problems.append(f"{key}: {vname!r} is not a subspace variant of this experiment; subspace variants: "
                            f"{', '.join(subspace) or '(none)'}")
        elif name not in variants:
            problems.append(f"{key}: {name!r} is not a variant of this experiment; variants: {', '.join(variants)}")
        elif variants[name]["reparam"] != "direct":
            direct = [n for n, v in variants.items() if v["reparam"] == "direct"]
            problems.append(f"{key}: {name!r} is not a direct variant (the full-space baseline); direct variants: "
                            f"{', '.join(direct)}")
    missing = [n for n in subspace if n not in mapping]
    if missing:
        problems.append(f"{where}.analysis.baseline: no baseline for the subspace variant(s) {', '.join(missing)}; "
                        f"map every subspace variant to a direct variant")
    if problems:
        return problems
    fixed = analysis.get("baseline_setting") or {}
    for name in dict.fromkeys(mapping.values()):
        base = {k: v for k, v in variant_sweeps(variants[name], exp, config).items() if k != "d"}
        for key, value in fixed.items():
            if key not in base:
                problems.append(f"{where}.analysis.baseline_setting.{key}: the baseline variant {name!r} does not "
                                f"sweep {key}" + (f"; it sweeps {', '.join(base)}" if base else ""))
            elif value not in base[key]:
                problems.append(f"{where}.analysis.baseline_setting.{key}: {value!r} is not one of the values the "
                                f"baseline sweeps ({', '.join(map(str, base[key]))})")
        for vname in (v for v, b in mapping.items() if b == name):
            theirs = variant_sweeps(variants[vname], exp, config)
            for key, values in base.items():
                if key not in theirs and key not in fixed and len(values) > 1:
                    problems.append(
                        f"{where}.analysis: the baseline variant {name!r} sweeps {key} "
                        f"({', '.join(map(str, values))}), so d_int90 of {vname!r} would have no single baseline; "
                        f"set analysis.baseline_setting: {{{key}: <one of them>}}, or sweep {key} in {vname!r} too "
                        f"(each setting is then compared with the baseline of the same {key})"
                    )
    return problems


def cost_net(exp: dict, config: dict) -> dict:
    """The net the cost benchmark times, as ``bench cost --net-json`` takes it."""
    name = exp["cost"]["net"]
    return {"name": name, **config["nets"][name]}


FAMILY = SubspaceFamily(
    name="subspace",
    description="random-subspace training: d_int90, accuracy vs d, cost of each projection",
    reparams=(
        ReparamSpec("subspace", "weightspace.families.subspace.reparam:build", subspace_bytes, _check_subspace,
                    size_key="d", memory_hint="use a smaller d, a sparse or fastfood projection"),
    ),
    analysis_files=("by_dim.csv", "dint90.csv"),
    folder=Path(__file__).parent,
)
