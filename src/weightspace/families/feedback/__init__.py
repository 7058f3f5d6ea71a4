"""Weight feedback (issue 12): a net's own fc weights, max-pooled or randomly projected, fed back into fc1's input.

=================  ============================================================================
``geometry.py``    the ``feedback`` architecture's sizes (torch-free): weight spec, max-pool sizes,
                   memory; refuses sizes that do not divide into the extra inputs
``nets.py``        its seed-batched forward; max-pool and random-projection features
``reparam.py``     :class:`Feedback`: the weights, trained directly, and what fills the extra inputs
                   (none, ones, frozen, maxpool, projection; gradient detached or flowing)
``analysis.py``    ``feedback_summary.csv`` and ``feedback_paired.csv`` from ``final.csv``: final
                   accuracy per arm, per-seed paired differences against ``none`` and ``ones``
                   (their p-values: the core ``comparisons.csv``)
``tables.py``      ``feedback.tex``
``plots.py``       feedback vs baseline: accuracy per epoch, paired differences with intervals
``artifacts.py``   its figure and table, listed once (``weightspace make feedback.<name>``)
``schema.yaml``    the ``feedback`` variant options and the ``feedback`` net options
=================  ============================================================================

This module imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from weightspace.errors import WeightspaceError
from weightspace.families.base import Family
from weightspace.families.feedback.artifacts import ARTIFACTS
from weightspace.families.feedback.geometry import ARCH, ARCH_SPEC, LIVE, feedback_bytes
from weightspace.headlines import read_table
from weightspace.io import write_dataframe
from weightspace.registry import ReparamSpec

__all__ = ["FAMILY", "FeedbackFamily"]


def _check_feedback(variant: dict, cell: dict, net, dataset) -> list[tuple[str, str]]:
    if net.arch != ARCH:
        return [("", (f"reparam 'feedback' needs a net with `arch: {ARCH}` (conv features + fed-back inputs); "
                      f"net {cell['net']['name']!r} is {net.arch!r}"))]
    mode, problems = variant["feedback"], []
    if variant.get("gradient", "detach") == "flow" and mode not in LIVE:
        problems.append(("gradient", (f"only {' and '.join(LIVE)} feed back the current weights; "
                                      f"`gradient: flow` has no path to flow through with feedback: {mode}")))
    if variant.get("frozen_features", "maxpool") != "maxpool" and mode != "frozen":
        problems.append(("frozen_features", f"applies to feedback: frozen only, not {mode}"))
    source = variant.get("frozen_features", "maxpool") if mode == "frozen" else mode
    if source == "maxpool" and net.geometry["features"] and not net.geometry["pool"]:
        what = f"{mode}{' (of max-pooled weights)' if mode == 'frozen' else ''}"
        problems.append(("feedback", (f"{what} needs the net's max-pool kernels: set pool_fc1 and pool_fc2 in net "
                                      f"{cell['net']['name']!r}")))
    return problems


class FeedbackFamily(Family):
    """Feedback vs baseline: accuracy curves per variant, paired differences against none and ones."""

    def check_experiment(self, where: str, exp: dict, config: dict) -> list[str]:
        problems = []
        for i, v in enumerate(exp["variants"]):
            if v["reparam"] != "feedback":
                problems.append(f"{where}.variants[{i}:{v['name']}]: a feedback experiment compares `reparam: "
                                f"feedback` variants (the plain net is `feedback: none`), not {v['reparam']!r}")
        return problems

    def default_comparisons(self, exp: dict) -> list[dict]:
        """Every variant against the controls: the plain net (``feedback: none``) and extra inputs filled with
        ones; pairs match on the keys both sweep and on every training setting that differs (optimizer, learning
        rate, swept or set per variant)."""
        controls = [v["name"] for c in ("none", "ones") for v in exp["variants"] if v.get("feedback") == c]
        return [{"a": v["name"], "b": c} for c in controls for v in exp["variants"]
                if v["name"] != c and not (v.get("feedback") == "none" and c in controls)]

    def artifacts(self):
        return ARTIFACTS

    def examine(self, reparam, data) -> list[tuple[dict, dict]]:
        g = reparam.net.geometry
        pool = g.get("pool") or {}
        metrics = {"feedback_features": g.get("features", 0), "feedback_pooled": pool.get("n_pooled", 0),
                   "conv_features": g.get("conv_features", 0), "hidden": g.get("hidden", 0)}
        return [(dict(metrics), {}) for _ in range(reparam.n_seeds)]

    def analyze(self, final, analysis: dict, out_dir: Path) -> list[Path]:
        """feedback_summary.csv and feedback_paired.csv; the p-values are read from comparisons.csv in ``out_dir``,
        which ``weightspace analyze`` writes first."""
        import pandas as pd

        from weightspace.families.feedback.analysis import feedback_summary, paired_differences  # deferred: pandas

        if not (out_dir / "comparisons.csv").exists():
            raise WeightspaceError(f"{out_dir / 'comparisons.csv'} is missing: feedback_summary.csv takes its p-values "
                                   f"from it; run `weightspace analyze` with --comparisons-json (as the workflow does)")
        comparisons = pd.read_csv(out_dir / "comparisons.csv")
        confidence = analysis.get("confidence", 0.95)
        paired = paired_differences(final)
        write_dataframe(out_dir / "feedback_summary.csv", feedback_summary(final, comparisons, paired, confidence))
        write_dataframe(out_dir / "feedback_paired.csv", paired)
        return [out_dir / "feedback_summary.csv", out_dir / "feedback_paired.csv"]

    def headline(self, folder: Path) -> list[str]:
        """Per dataset and setting: the fed-back arm's largest paired gain over none, its p raw and Holm-adjusted."""
        from weightspace.families.feedback.analysis import headline  # deferred: pandas

        return headline(read_table(folder, "feedback_summary.csv"))


FAMILY = FeedbackFamily(
    name="feedback",
    description="weight feedback: a net's own fc weights (max-pooled or projected) fed back into fc1's input",
    reparams=(ReparamSpec("feedback", "weightspace.families.feedback.reparam:build", feedback_bytes, _check_feedback,
                          memory_hint="the projection matrix is (fc weights x features) per seed: use maxpool, "
                                      "or fewer features"),),
    archs=(ARCH_SPEC,),
    analysis_files=("feedback_summary.csv", "feedback_paired.csv"),
    folder=Path(__file__).parent,
)
