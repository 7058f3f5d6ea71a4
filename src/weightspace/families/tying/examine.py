"""What a trained run of the tying family keeps (``examine_run``): the ties' deviations, the narrowed widths, the
groups of a tie in groups, and an autoencoder's reconstructions.

Its own module, apart from the tables (:mod:`weightspace.families.tying.analysis`), because every training job of
the family calls it: it needs numpy and torch only, not pandas or scipy (about 1 s of a job's start-up).
"""

from __future__ import annotations

import numpy as np

__all__ = ["examine_run"]


def examine_run(reparam, data, n_images: int = 10) -> list[tuple[dict, dict]]:
    """Per seed: (metrics, ``{"tying.npz": arrays}``) of a trained run of the tying family.

    Metrics: ``tie_max_dev`` (the largest |difference| between members of a tie in the trained weights: 0 when
    they stayed identical) for a tied net, ``narrow_width`` (the narrowed layers' width) for the narrower one.
    Arrays: ``images`` (n, C, *spatial) test images in the source's range (one per class, the first of each in
    the test set) and ``recon`` (the same shape, the net's reconstructions) for a reconstruction net, else empty;
    ``groups__<tensor>``: the group index of each row (column) of a tensor tied in groups.
    """
    import torch

    S = reparam.n_seeds
    net = reparam.net
    metrics: list[dict] = [{} for _ in range(S)]
    arrays: list[dict] = [{"images": np.zeros(0, np.float32), "recon": np.zeros(0, np.float32)} for _ in range(S)]
    if hasattr(reparam, "max_member_deviation"):
        dev = reparam.max_member_deviation().cpu()
        for s in range(S):
            metrics[s]["tie_max_dev"] = float(dev[s])
        for name, a in reparam.assignments().items():
            for s in range(S):
                arrays[s][f"groups__{name}"] = a[s].cpu().numpy()
    if getattr(reparam, "widths", None):
        for s in range(S):
            metrics[s]["narrow_width"] = int(min(reparam.widths))
    if net.task == "reconstruction":
        idx = _one_per_class(data, n_images)
        x = data.x_test[idx]
        with torch.no_grad():
            out = net.forward(reparam(), x)  # (S, n, prod(input_shape))
        images = data.pixels(x).cpu().numpy()
        for s in range(S):
            arrays[s]["images"] = images
            arrays[s]["recon"] = out[s].reshape(images.shape).cpu().numpy()
    return [(m, {"tying.npz": a}) for m, a in zip(metrics, arrays)]


def _one_per_class(data, n: int) -> list[int]:
    """The first test example of each class (labels 0, 1, ...), up to n; the first n if there are no labels."""
    y = data.y_test
    if data.task != "classification" or y.dim() != 1:
        return list(range(min(n, len(y))))
    y = y.cpu().numpy()
    out = [int(np.argmax(y == c)) for c in range(int(y.max()) + 1) if (y == c).any()]
    return out[:n]
