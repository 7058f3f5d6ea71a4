"""Which tensors the sharing forms share, their memory, and which options need the softmax: torch-free, for
config checks."""

from __future__ import annotations

import math

__all__ = ["shared_names", "budget_k", "tensor_ks", "stored_values", "sharing_bytes", "hashed_bytes", "kmeans_bytes", "known_bytes",
           "soft_sharing_bytes", "meta_bytes", "SOFTMAX_ONLY", "needs_softmax"]


#: the soft sharing options that only mean something with the softmax (w = softmax(A / tau) v), each with the values
#: that leave it out: without the softmax (softmax: false, w = A v) there is no temperature, entropy, prior or
#: straight-through choice
SOFTMAX_ONLY = {"tau": (1.0,), "tau_final": (None, 1.0), "lambda_entropy": (0.0,), "lambda_prior": (0.0,),
                "straight_through": (False,)}


def needs_softmax(options: dict) -> list[str]:
    """The options of ``options`` (a variant, or a constructor's arguments) that need the softmax."""
    return [key for key, unset in SOFTMAX_ONLY.items() if options.get(key, unset[0]) not in unset]


def shared_names(net, share_biases: bool = False) -> list[str]:
    return [name for name, w in net.spec.items() if len(w.shape) >= 2 or share_biases]


def budget_k(numel: int, budget: float) -> int:
    """Unique values of a tensor of ``numel`` weights under a budget (a fraction of its weights): the nearest
    integer to budget x numel (halves up), at least 1 and at most numel."""
    return max(1, min(numel, int(math.floor(budget * numel + 0.5))))


def tensor_ks(variant: dict, net) -> dict[str, int]:
    """Unique values per shared tensor: ``k`` for every one, or derived from ``budget`` (a fraction of its size)."""
    names = shared_names(net, variant.get("share_biases", False))
    if variant.get("budget") is not None:
        return {n: budget_k(net.spec[n].numel, float(variant["budget"])) for n in names}
    return {n: int(variant["k"]) for n in names}


def stored_values(variant: dict, net) -> int:
    """Parameters stored by a sharing form: its unique values plus the unshared tensors (indices not counted)."""
    ks = tensor_ks(variant, net)
    return sum(ks.values()) + sum(w.numel for n, w in net.spec.items() if n not in ks)


def sharing_bytes(net, k, n_seeds: int, share_biases: bool = False) -> int:
    """Memory of soft sharing during training: A, its Adam moments and gradient, softmax and log-softmax
    (``k`` an int, or unique values per shared tensor)."""
    names = shared_names(net, share_biases)
    ks = k if isinstance(k, dict) else {name: int(k) for name in names}
    n = sum(net.spec[name].numel for name in names)
    nk = sum(net.spec[name].numel * ks[name] for name in names)
    return 4 * n_seeds * (6 * nk + 4 * sum(ks.values())) + 4 * n_seeds * (net.n_params - n) * 3


def hashed_bytes(variant: dict, net, n_seeds: int) -> int:
    D, k = net.n_params, sum(tensor_ks(variant, net).values())
    return 4 * D * n_seeds * 3 + 12 * D * n_seeds + 4 * k * n_seeds * 3  # bucket (int64), sign; k values, Adam


def kmeans_bytes(variant: dict, net, n_seeds: int) -> int:
    D, k = net.n_params, sum(tensor_ks(variant, net).values())
    return 4 * D * n_seeds * 3 + 8 * D * n_seeds + 4 * k * n_seeds * 6  # assignment (int64); k values, Adam, k-means'


def known_bytes(variant: dict, net, n_seeds: int) -> int:
    return 4 * net.n_params * n_seeds * 3


def soft_sharing_bytes(variant: dict, net, n_seeds: int) -> int:
    return sharing_bytes(net, tensor_ks(variant, net), n_seeds, variant.get("share_biases", False))



#: the meta-learning comparison's sizes at their defaults (``n_per_task``: at its smallest)
META_SIZES = {"n_per_task": [1], "k": 16, "tasks": 32, "held_out": 8, "n_test": 256}


def meta_bytes(meta: dict, outputs: int, inputs: int) -> int:
    """Memory of the meta-learning comparison (families/sharing/meta.py, float64) on a teacher of ``outputs`` x
    ``inputs``: the tasks' examples (as drawn and as tensors) and matrices, the features of the value fit (tasks x
    examples x outputs x k, twice), the logits A with their gradient, Adam's moments and softmax."""
    m = {**META_SIZES, **meta}
    tasks, n, k = m["tasks"] + m["held_out"], max(m["n_per_task"]), m["k"]
    examples = 2 * tasks * ((n + m["n_test"]) * (inputs + outputs) + outputs * inputs)
    features = 2 * max(m["tasks"], m["held_out"]) * n * outputs * k
    return 8 * (examples + features + 5 * outputs * inputs * k)
