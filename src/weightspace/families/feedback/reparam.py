"""The feedback reparameterization: the net's own weights, trained directly, plus what fills its extra inputs.

:class:`Feedback` owns every weight of a feedback net (``arch: feedback``) as
a trained tensor, initialized as direct training initializes it (so seed s
starts from the same weights in every variant), and computes, in
``forward()``, the vector ``(S, F)`` the net concatenates to its conv
features before fc1, handed to the net's forward under the key
:data:`~weightspace.families.feedback.geometry.FEEDBACK_INPUT`:

===============  ==============================================================================
``none``         nothing: fc1 takes the conv features only (its F extra columns are fixed zeros,
                 not trained, so the net is exactly the plain one; the shared columns start from
                 the same draws as in every other variant)
``ones``         F ones (extra fan-in alone)
``frozen``       the features of the net's *initial* weights (max-pooled, or projected with
                 ``frozen_features: projection``), fixed during training
``maxpool``      fc1's and fc2's current weights max-pooled (the note's), padded with ones
``projection``   fc1's and fc2's current weights, flattened, times a fixed Xavier-uniform matrix
===============  ==============================================================================

``gradient: detach`` (the default, as the note: ``weight.data``) feeds the
values back with no gradient through them; ``flow`` lets the loss's gradient
reach the fc weights through the fed-back path as well.

Fixed tensors (the projection matrix, the frozen features, the features at
initialization that :meth:`Feedback.metrics` compares with) are
non-persistent buffers regenerated from the seeds: a checkpoint holds only
what is trained. On a net without extra inputs (``features: 0``, the note's
baseline) there is nothing to feed back, and every mode trains the plain net.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from weightspace.families.feedback.geometry import ARCH, FEEDBACK_INPUT, LIVE, MODES, fc_numel
from weightspace.families.feedback.nets import maxpool_features, projection_features, projection_matrix
from weightspace.nets import Net, Weights
from weightspace.reparam.base import Reparam
from weightspace.seeding import generators

__all__ = ["Feedback", "build"]


def _key(name: str) -> str:
    return name.replace(".", "__")


class Feedback(Reparam):
    """A feedback net's weights, trained directly, and its fed-back vector.

    Args:
        net: a net of ``arch: feedback``.
        feedback: one of :data:`~weightspace.families.feedback.geometry.MODES`.
        gradient: ``detach`` or ``flow`` (maxpool and projection only).
        frozen_features: what ``frozen`` freezes: ``maxpool`` or ``projection`` features of the initial weights.
    """

    kind = "feedback"

    def __init__(self, net: Net, seeds: list[int], feedback: str = "maxpool", gradient: str = "detach",
                 frozen_features: str = "maxpool", device: torch.device | str = "cpu"):
        super().__init__(net, seeds)
        if net.arch != ARCH:
            raise ValueError(f"reparam 'feedback' needs a net of arch {ARCH!r}, not {net.arch!r}")
        if feedback not in MODES:
            raise ValueError(f"unknown feedback {feedback!r}; choose one of: {', '.join(MODES)}")
        if gradient not in ("detach", "flow"):
            raise ValueError(f"gradient must be detach or flow, got {gradient!r}")
        g = net.geometry
        self.n_features, self.conv_features = g["features"], g["conv_features"]
        self.mode = feedback if self.n_features else "none"  # no extra inputs: nothing to feed back
        self.flow = gradient == "flow" and self.mode in LIVE
        self.source = frozen_features if self.mode == "frozen" else self.mode
        if self.source == "maxpool" and self.mode != "none" and not g["pool"]:
            raise ValueError(f"feedback {feedback!r} needs the net's max-pool kernels (pool_fc1, pool_fc2)")
        init = net.init(generators(seeds, "init"), device)
        if self.mode == "none" and self.n_features:  # fc1 on the conv features only; the extra columns stay 0
            init["fc1.weight"] = init["fc1.weight"][..., : self.conv_features].clone()
        self.w = nn.ParameterDict({_key(n): nn.Parameter(t) for n, t in init.items()})
        if self.source == "projection":
            P = projection_matrix(fc_numel(net), self.n_features, generators(seeds, "feedback"), device)
            self.register_buffer("P", P, persistent=False)
        self._live_n = g["pool"]["n_pooled"] if self.source == "maxpool" and g["pool"] else self.n_features
        if self.mode != "none":
            with torch.no_grad():
                start = self._features(init["fc1.weight"], init["fc2.weight"]) if self.mode != "ones" else None
            if self.mode == "frozen":
                self.register_buffer("frozen", start, persistent=False)
                if self.source == "projection":
                    del self.P  # used once, for the initial features
            self.register_buffer("start", start, persistent=False)

    # ------------------------------------------------------------------------------------------

    def _features(self, w1: Tensor, w2: Tensor) -> Tensor:
        if self.source == "maxpool":
            return maxpool_features(w1, w2, self.net.geometry)
        return projection_features(w1, w2, self.P)

    def feedback_input(self, weights: Weights) -> Tensor | None:
        """The (S, F) vector fed back for ``weights`` (the net's, from :meth:`forward`), None without extra inputs."""
        S, F = self.n_seeds, self.n_features
        w1 = weights["fc1.weight"]
        if not F:
            return None
        if self.mode == "none":
            return w1.new_zeros(S, F)
        if self.mode == "ones":
            return w1.new_ones(S, F)
        if self.mode == "frozen":
            return self.frozen
        w1, w2 = weights["fc1.weight"], weights["fc2.weight"]
        if not self.flow:
            w1, w2 = w1.detach(), w2.detach()
        return self._features(w1, w2)

    def forward(self) -> Weights:
        out = {name: self.w[_key(name)] for name in self.net.spec}
        if self.mode == "none" and self.n_features:
            w = out["fc1.weight"]
            out["fc1.weight"] = torch.cat([w, w.new_zeros(*w.shape[:2], self.n_features)], dim=2)
        fed = self.feedback_input(out)
        if fed is not None:
            out[FEEDBACK_INPUT] = fed
        return out

    @torch.no_grad()
    def metrics(self) -> dict[str, Tensor]:
        """``feedback_drift``: how far the fed-back values moved from their values at initialization,
        ||f - f_0|| / ||f_0|| over the values that come from weights (the padding ones excluded); 0 for
        ``frozen`` and ``ones``; ``feedback_mean_abs``: their mean magnitude now."""
        if self.mode in ("none",) or not self.n_features:
            return {}
        f = self.feedback_input(self.forward())[:, : self._live_n]
        if self.mode == "ones":
            return {"feedback_drift": torch.zeros(self.n_seeds, device=f.device),
                    "feedback_mean_abs": f.abs().mean(1)}
        f0 = self.start[:, : self._live_n]
        return {"feedback_drift": (f - f0).norm(dim=1) / f0.norm(dim=1).clamp_min(1e-12),
                "feedback_mean_abs": f.abs().mean(1)}


def build(variant: dict, net: Net, seeds: list[int], device, context: dict) -> Feedback:
    """The registry's builder (``reparam: feedback``)."""
    return Feedback(net, seeds, feedback=variant.get("feedback", "maxpool"), gradient=variant.get("gradient", "detach"),
                    frozen_features=variant.get("frozen_features", "maxpool"), device=device)
