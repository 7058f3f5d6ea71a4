"""Scoring a learned weight-sharing structure against a known one.

A sharing structure of a weight matrix W (n = outputs x inputs entries) is a
partition of its entries into groups that share one value. The ground truth
of a teacher task labels every entry with its group, and marks the entries
outside the teacher's support (the zero group) with label -1.

Metrics (all pure functions of label arrays):

* support precision / recall / F1: which entries are non-zero. A learned
  entry counts as non-zero when its hard value exceeds ``zero_tol`` times the
  largest magnitude in the matrix.
* adjusted Rand index **restricted to the true support**: over the whole
  matrix the zero group dominates and ARI is misleading.
* homogeneity and completeness (over all entries, zero group included).
* partition distance: the fewest entries to move to turn one partition into
  the other (maximum-weight matching of groups, Hungarian algorithm), divided
  by n.
* translation-equivariance error of a (1-D or 2-D) layer:
  ||W[o+1, i+1] - W[o, i]|| / ||W|| over all shift-related pairs (0 for a
  convolution written as a Toeplitz matrix).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment

from weightspace.families.sharing.teachers import conv1d_groups, conv2d_groups  # noqa: F401 (re-exported)

__all__ = [
    "contingency",
    "partition_distance",
    "support_scores",
    "adjusted_rand",
    "restricted_ari",
    "homogeneity_completeness",
    "equivariance_error_1d",
    "equivariance_error_2d",
    "learned_support",
    "score_structure",
    "conv1d_groups",
    "conv2d_groups",
    "spatial_agreement",
    "reparam_structure",
]


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts of entries in group i of ``a`` and group j of ``b``: (n_groups_a, n_groups_b)."""
    _, ia = np.unique(np.asarray(a).ravel(), return_inverse=True)
    _, ib = np.unique(np.asarray(b).ravel(), return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table


def partition_distance(a: np.ndarray, b: np.ndarray, normalize: bool = True) -> float:
    """Fewest entries to move so that partition ``a`` equals partition ``b`` (/ n if ``normalize``)."""
    table = contingency(a, b)
    rows, cols = linear_sum_assignment(-table)
    moved = int(table.sum() - table[rows, cols].sum())
    return moved / table.sum() if normalize else float(moved)


def support_scores(true_support: np.ndarray, pred_support: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of the predicted non-zero entries."""
    t = np.asarray(true_support, bool).ravel()
    p = np.asarray(pred_support, bool).ravel()
    tp = int((t & p).sum())
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / t.sum() if t.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"support_precision": precision, "support_recall": recall, "support_f1": f1}


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings: scikit-learn's ``adjusted_rand_score``, with its arithmetic (the pair
    counts as exact integers), without importing scikit-learn (0.5 s of every training job that scores a
    structure); tests/test_structure.py checks equality with it."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.size == 0:
        return 1.0
    table = contingency(a, b)
    n = int(table.sum())
    sum_squares = int((table**2).sum())
    fp = int((table @ table.sum(0)).sum()) - sum_squares  # pairs together in b only
    fn = int((table.T @ table.sum(1)).sum()) - sum_squares  # pairs together in a only
    tp = sum_squares - n
    tn = n * n - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def restricted_ari(true_groups: np.ndarray, learned: np.ndarray) -> float:
    """Adjusted Rand index of the learned groups on the entries of the true support (label >= 0)."""
    t = np.asarray(true_groups).ravel()
    mask = t >= 0
    return adjusted_rand(t[mask], np.asarray(learned).ravel()[mask])


def _entropy(labels: np.ndarray) -> float:
    counts = np.unique(labels, return_counts=True)[1].astype(np.float64)
    if counts.size == 1:
        return 0.0
    total = np.sum(counts)
    return float(-np.sum((counts / total) * (np.log(counts) - math.log(total))))


def _mutual_information(table: np.ndarray) -> float:
    rows, cols = np.nonzero(table)
    counts = table[rows, cols]
    total = table.sum()
    pi, pj = table.sum(1), table.sum(0)
    if pi.size == 1 or pj.size == 1:
        return 0.0
    p = counts / total
    log_outer = -np.log(pi.take(rows).astype(np.int64) * pj.take(cols).astype(np.int64)) + math.log(pi.sum()) + \
        math.log(pj.sum())
    mi = p * (np.log(counts) - math.log(total)) + p * log_outer
    mi = np.where(np.abs(mi) < np.finfo(mi.dtype).eps, 0.0, mi)
    return float(np.clip(mi.sum(), 0.0, None))


def homogeneity_completeness(true_groups: np.ndarray, learned: np.ndarray) -> dict[str, float]:
    """Homogeneity, completeness and V-measure (natural logarithms): scikit-learn's
    ``homogeneity_completeness_v_measure``, with its arithmetic, without importing scikit-learn."""
    t, l = np.asarray(true_groups).ravel(), np.asarray(learned).ravel()
    if t.size == 0:
        return {"homogeneity": 1.0, "completeness": 1.0, "v_measure": 1.0}
    h_true, h_learned = _entropy(t), _entropy(l)
    mi = _mutual_information(contingency(t, l))
    h = mi / h_true if h_true else 1.0
    c = mi / h_learned if h_learned else 1.0
    v = 0.0 if h + c == 0.0 else 2 * h * c / (h + c)
    return {"homogeneity": float(h), "completeness": float(c), "v_measure": float(v)}


def equivariance_error_1d(W: np.ndarray) -> float:
    """||W[1:, 1:] - W[:-1, :-1]||_F / ||W||_F: 0 for a 1-D convolution (Toeplitz) matrix."""
    W = np.asarray(W, dtype=float)
    norm = np.linalg.norm(W)
    return float(np.linalg.norm(W[1:, 1:] - W[:-1, :-1]) / norm) if norm else 0.0


def equivariance_error_2d(W: np.ndarray, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> float:
    """The 2-D analogue: shifting input and output by one pixel (down or right) leaves W unchanged."""
    W = np.asarray(W, dtype=float).reshape(*out_hw, *in_hw)
    norm = np.linalg.norm(W)
    if not norm:
        return 0.0
    down = W[1:, :, 1:, :] - W[:-1, :, :-1, :]
    right = W[:, 1:, :, 1:] - W[:, :-1, :, :-1]
    return float(np.sqrt((down**2).sum() + (right**2).sum()) / (np.sqrt(2) * norm))


def learned_support(W_hard: np.ndarray, zero_tol: float = 0.05) -> np.ndarray:
    """Entries whose hard value is above ``zero_tol`` x the largest magnitude."""
    W = np.abs(np.asarray(W_hard, dtype=float))
    return W > zero_tol * W.max() if W.max() > 0 else np.zeros_like(W, dtype=bool)






def score_structure(
    true_groups: np.ndarray,
    assign: np.ndarray,
    W_hard: np.ndarray,
    zero_tol: float = 0.05,
) -> dict[str, float]:
    """Every metric of a learned hard assignment against ground truth.

    Args:
        true_groups: (out, in) true group labels, -1 for the zero group.
        assign: (out, in) learned value index of each entry (argmax of A).
        W_hard: (out, in) the hardened weights, to find the learned zero group.
    Returns:
        the metrics, flat.
    """
    support = learned_support(W_hard, zero_tol)
    # the learned partition: entries judged zero form one group (-1), the rest keep their value index
    learned = np.where(support, np.asarray(assign), -1)
    out = support_scores(np.asarray(true_groups) >= 0, support)
    out["ari_support"] = restricted_ari(true_groups, learned)
    out.update(homogeneity_completeness(true_groups, learned))
    out["partition_distance"] = partition_distance(true_groups, learned)
    out["n_groups_learned"] = int(len(np.unique(learned[support]))) if support.any() else 0
    out["n_groups_true"] = int(len(np.unique(np.asarray(true_groups)[np.asarray(true_groups) >= 0])))
    return out


def equivariance_error(W: np.ndarray, structure: dict) -> float:
    """The 1-D or 2-D translation-equivariance error, by the teacher's geometry (NaN where it has none:
    several channels, a stride or dilation, or a kind other than a convolution)."""
    if structure.get("out_shape") is None:
        return float("nan")
    if len(structure["in_shape"]) == 1:
        return equivariance_error_1d(W)
    return equivariance_error_2d(W, tuple(structure["in_shape"]), tuple(structure["out_shape"]))


def spatial_agreement(assign: np.ndarray, input_shape: tuple[int, ...]) -> dict[str, float]:
    """How often neighbouring inputs share a value, against chance, for a first-layer assignment.

    ``assign`` is (units, C * prod(spatial)) in the input's own order; neighbours
    are adjacent positions along each spatial axis within a channel. Per unit,
    agreement = fraction of neighbour pairs with the same value index, chance =
    sum_j c_j (c_j - 1) / (n (n - 1)) with c_j the unit's count of value j:
    the agreement of two positions under a random permutation of the same
    values (so a random assignment scores 0 in expectation, without the
    upward bias of sum_j (c_j / n)^2). Returns the means over units of
    agreement, chance and their difference (``spatial_excess``): about 0 when
    the sharing ignores the input's geometry (e.g. on spatially shuffled data),
    positive when neighbours tend to share (convolution-like or smooth maps).
    """
    units = assign.shape[0]
    a = assign.reshape(units, *input_shape)  # (units, C, *spatial)
    same, pairs = np.zeros(units), 0
    for axis in range(2, a.ndim):
        n = a.shape[axis]
        eq = np.take(a, range(1, n), axis=axis) == np.take(a, range(n - 1), axis=axis)
        same += eq.reshape(units, -1).sum(1)
        pairs += eq[0].size
    agreement = same / pairs
    flat = assign.reshape(units, -1)
    n = flat.shape[1]
    # a random permutation of the unit's own values: P(two distinct positions agree) = sum c_j (c_j - 1) / (n (n - 1))
    chance = np.array([(c * (c - 1)).sum() for c in (np.bincount(row) for row in flat)]) / (n * (n - 1))
    return {"spatial_agreement": float(agreement.mean()), "spatial_chance": float(chance.mean()),
            "spatial_excess": float((agreement - chance).mean())}


def stored_params(reparam) -> int:
    """Numbers a trained net of this form stores per seed: the unique values of each shared tensor plus every
    unshared tensor (the assignment indices, or a hash seed, not counted); a direct net: all its weights."""
    net = reparam.net
    ks = getattr(reparam, "ks", None)
    if ks is None and getattr(reparam, "kind", "") == "known":
        ks = {reparam.shared[0]: reparam.n_groups}
    if not ks:
        return int(net.n_params)
    return int(sum(ks.values()) + sum(w.numel for n, w in net.spec.items() if n not in ks))


def reparam_structure(reparam, data, zero_tol: float = 0.05) -> list[tuple[dict, dict]]:
    """Per seed: (metrics, arrays) of the sharing structure a trained reparameterization learned.

    The layer examined is the teacher's layer (teacher tasks) or the first
    shared tensor. Arrays: ``assign`` (out, in) value index per entry (empty
    when the form does not share), ``w_soft`` and ``w_hard`` (out, in).
    Metrics: teacher tasks: :func:`score_structure` and the equivariance
    error of the soft and hard layers; other data (first layer of a sharing
    form): :func:`spatial_agreement`.
    """
    import torch

    from weightspace.families.sharing.reparam import SharingForm  # deferred with torch: scoring needs neither

    with torch.no_grad():
        sharing = isinstance(reparam, SharingForm)  # direct training shares nothing: no assignment, no hard net
        assign = reparam.assignments() if sharing else {}
        soft = reparam()
        hard = reparam.hard_weights() if sharing else None
    if data.structure:
        layer = data.structure["layer"]
    elif assign:
        layer = next(iter(assign))
    else:
        layer = next(n for n, w in reparam.net.spec.items() if len(w.shape) >= 2)
    shape = tuple(soft[layer].shape[1:])
    out = []
    for s in range(reparam.n_seeds):
        w_soft = soft[layer][s].detach().cpu().numpy().reshape(shape[0], -1)
        w_hard = hard[layer][s].detach().cpu().numpy().reshape(shape[0], -1) if hard is not None else w_soft
        a = assign[layer][s].cpu().numpy().reshape(shape[0], -1) if layer in assign else np.zeros((0, 0), np.int64)
        arrays = {"assign": a.astype(np.int32), "w_soft": w_soft.astype(np.float32), "w_hard": w_hard.astype(np.float32)}
        if data.structure:
            arrays["groups"] = np.asarray(data.structure["groups"], dtype=np.int32)  # the truth, for the figure
        metrics: dict = {"params_stored": stored_params(reparam)}
        if data.structure:
            groups = data.structure["groups"]
            # without sharing every entry is its own group
            learned = a if a.size else np.arange(w_hard.size).reshape(w_hard.shape)
            metrics.update(score_structure(groups, learned, w_hard, zero_tol))
            value_groups = data.structure.get("value_groups")
            if value_groups is not None and not np.array_equal(value_groups, groups):
                # repeated values: the ground truth is ambiguous; also scored against the partition by value
                by_value = score_structure(value_groups, learned, w_hard, zero_tol)
                metrics["ari_support_value"] = by_value["ari_support"]
                metrics["partition_distance_value"] = by_value["partition_distance"]
            metrics["equivariance_error"] = equivariance_error(w_hard, data.structure)
            metrics["equivariance_error_soft"] = equivariance_error(w_soft, data.structure)
        elif a.size and a.shape[1] == int(np.prod(data.input_shape)) and len(data.input_shape) >= 2:
            metrics.update(spatial_agreement(a, data.input_shape))
        out.append((metrics, arrays))
    return out
