"""Teacher tasks with a known weight-sharing structure, described in the config (torch-free until loaded).

A teacher is a linear map ``y = W x + noise`` whose matrix ``W`` (outputs x inputs) has a known
**partition** of its entries: ``groups[o, i]`` is the index of the shared value entry ``(o, i)`` takes,
``-1`` for the entries fixed at zero (the zero group). Structure kinds (``kind``):

``conv1d``, ``conv2d``
    a valid convolution written as a matrix: ``input`` ([L] or [H, W]), ``kernel`` (an int, or [kh, kw]),
    ``in_channels``, ``out_channels``, ``stride``, ``dilation``. One group per (out channel, in channel,
    tap); inputs are ``(in_channels, *input)``, outputs ``(out_channels, *out)`` flattened, with
    ``out = (n - dilation (k - 1) - 1) // stride + 1`` per axis.
``permutation``
    a permutation-equivariant (DeepSets) layer on a set of ``n`` elements, ``W = a I + b (1 1^T - I)``: two
    groups, the diagonal and the off-diagonal; no zero group.
``circulant``
    ``W[o, i] = c[(i - o) mod n]``: ``n`` groups, no zero group.
``random``
    the partition of a ``base`` kind (``conv1d`` or ``conv2d``, with its keys) with its entries shuffled
    by a fixed permutation: the same number and sizes of groups and the same support size, but no
    geometry (a control for metrics that reward locality).

Values (``values``): ``distinct`` (default) draws one N(0, 1) value per group, redrawn until every two
values, and every value and 0, differ by at least ``min_gap``; ``repeated`` draws ``n_values`` such
values and gives group ``g`` value ``g mod n_values`` (several true groups then share one value, so
the ground truth is ambiguous). Both partitions are kept: ``groups`` (by structure: the primary one,
every metric named without suffix scores against it) and ``value_groups`` (entries with equal values
in one group; ``ari_support_value`` and ``partition_distance_value`` score against it). A method
that merges two groups of equal value is wrong under the first and right under the second.

Data: ``x ~ N(0, 1)`` (``n_train + n_test`` rows from ``data_seed``), ``y = x W^T + noise N(0, 1)``.
``epoch_size`` (rows per epoch; at most ``n_train`` changes nothing) tiles the ``n_train`` distinct
training examples to that many rows,
so that teachers of a sample-size sweep get the same number of steps per epoch (and batches no larger
than the data). The two built-in teachers (``conv1d_teacher``, ``conv2d_teacher``) are
:data:`DEFAULT_TEACHERS`, with the numbers they always had.
"""

from __future__ import annotations

import math

import numpy as np

from weightspace.data import Dataset, DatasetInfo, _checksum
from weightspace.sizes import fmt_bytes, limit_bytes, over_limit

__all__ = ["DEFAULT_TEACHERS", "TEACHER_LAYER", "KINDS", "resolve", "teacher_arrays", "structure_groups",
           "conv_groups", "conv1d_groups", "conv2d_groups", "permutation_groups", "circulant_groups",
           "random_groups", "distinct_values", "value_partition", "shape", "memory_bytes", "spec_problems",
           "expand_names", "dataset_names", "info", "load"]

#: the student's weight a teacher's structure is about (the first layer of an fc net)
TEACHER_LAYER = "fc1.weight"

KINDS = ("conv1d", "conv2d", "permutation", "circulant", "random")

#: the two teachers every config has (the config's ``teachers`` may redefine or add to them)
DEFAULT_TEACHERS: dict[str, dict] = {
    "conv1d_teacher": {"kind": "conv1d", "input": [32], "kernel": 5, "n_train": 8192, "n_test": 2048,
                       "noise": 0.01,
                       "about": "y = conv1d(x) + noise: length 32, kernel 5 (regression)"},
    "conv2d_teacher": {"kind": "conv2d", "input": [10, 10], "kernel": 3, "n_train": 8192, "n_test": 2048,
                       "noise": 0.01,
                       "about": "y = conv2d(x) + noise: 10x10, kernel 3 (regression)"},
}

_DEFAULTS = {"in_channels": 1, "out_channels": 1, "stride": 1, "dilation": 1, "n_test": 2048, "noise": 0.01,
             "values": "distinct", "min_gap": 0.2, "value_seed": 20181101, "data_seed": 7, "partition_seed": 0}


def resolve(spec: dict) -> dict:
    """``spec`` with every default filled in (kernel as a per-axis list)."""
    s = {**_DEFAULTS, **spec}
    if s["kind"] in ("conv1d", "conv2d") or s["kind"] == "random":
        geometry = s["kind"] if s["kind"] != "random" else s.get("base", "conv1d")
        dims = 1 if geometry == "conv1d" else 2
        k = s.get("kernel", 3)
        s["kernel"] = [int(k)] * dims if isinstance(k, (int, float)) else [int(v) for v in k]
        s["input"] = [int(v) for v in s["input"]]
        if s["kind"] == "random":
            s["base"] = geometry
    if not isinstance(s.get("n_train"), list):  # rows per epoch: at least the examples
        s["epoch_size"] = max(int(s.get("epoch_size") or 0), int(s["n_train"]))
    return s


# ----------------------------------------------------------------------------------------------
# ground-truth partitions


def _out_size(n: int, k: int, stride: int, dilation: int) -> int:
    return (n - dilation * (k - 1) - 1) // stride + 1


def conv_groups(input_size: list[int], kernel: list[int], in_channels: int = 1, out_channels: int = 1,
                stride: int = 1, dilation: int = 1) -> np.ndarray:
    """Ground truth of a valid convolution (1-D or 2-D) as an (outputs, inputs) matrix of group labels.

    Outputs are ``(out_channels, *out)`` flattened, inputs ``(in_channels, *input_size)`` flattened; the
    group of the weight that output channel ``oc`` gives input channel ``ic`` at tap ``t`` (row-major over
    the kernel) is ``(oc * in_channels + ic) * taps + t``; -1 outside the support.
    """
    dims = len(input_size)
    if dims == 1:
        input_size, kernel = [1, *input_size], [1, *kernel]
    H, W = input_size
    kh, kw = kernel
    Ho, Wo = _out_size(H, kh, stride, dilation) if dims == 2 else 1, _out_size(W, kw, stride, dilation)
    taps = kh * kw
    out = np.full((out_channels, Ho, Wo, in_channels, H, W), -1, dtype=np.int64)
    # every tap (r, c) and output position (i, j) at once, broadcast (kh, kw, Ho, Wo): no Python loop over sizes
    r, c = np.arange(kh)[:, None, None, None], np.arange(kw)[None, :, None, None]
    i, j = np.arange(Ho)[None, None, :, None], np.arange(Wo)[None, None, None, :]
    for oc in range(out_channels):
        for ic in range(in_channels):
            base = (oc * in_channels + ic) * taps
            out[oc, i, j, ic, i * stride + r * dilation, j * stride + c * dilation] = base + r * kw + c
    return out.reshape(out_channels * Ho * Wo, in_channels * H * W)


def conv1d_groups(L: int, K: int) -> np.ndarray:
    """Ground-truth groups of a valid 1-D convolution as an (L-K+1, L) matrix: tap index, -1 outside."""
    return conv_groups([L], [K])


def conv2d_groups(H: int, W: int, k: int) -> np.ndarray:
    """Ground truth of a valid 2-D convolution: ((H-k+1)(W-k+1), H W), tap index r*k+c, -1 outside."""
    return conv_groups([H, W], [k, k])


def permutation_groups(n: int) -> np.ndarray:
    """A DeepSets layer on ``n`` elements: 0 on the diagonal, 1 off it."""
    return 1 - np.eye(n, dtype=np.int64)


def circulant_groups(n: int) -> np.ndarray:
    """``W[o, i] = c[(i - o) mod n]``: group ``(i - o) mod n``."""
    o, i = np.indices((n, n))
    return ((i - o) % n).astype(np.int64)


def random_groups(groups: np.ndarray, seed: int = 0) -> np.ndarray:
    """``groups`` with its entries shuffled by a fixed permutation (same group sizes and support size)."""
    flat = np.asarray(groups).ravel().copy()
    np.random.default_rng(seed).shuffle(flat)
    return flat.reshape(np.shape(groups))


def structure_groups(spec: dict) -> tuple[np.ndarray, tuple[int, ...]]:
    """(groups, input shape (C, *spatial)) of a resolved spec."""
    kind = spec["kind"]
    if kind in ("conv1d", "conv2d") or kind == "random":
        g = conv_groups(spec["input"], spec["kernel"], spec["in_channels"], spec["out_channels"], spec["stride"],
                        spec["dilation"])
        if kind == "random":
            g = random_groups(g, spec["partition_seed"])
        return g, (spec["in_channels"], *spec["input"])
    if kind == "permutation":
        return permutation_groups(spec["n"]), (1, spec["n"])
    if kind == "circulant":
        return circulant_groups(spec["n"]), (1, spec["n"])
    raise ValueError(f"unknown teacher kind {kind!r}; choose one of: {', '.join(KINDS)}")


# ----------------------------------------------------------------------------------------------
# values


def distinct_values(n: int, min_gap: float = 0.2, seed: int = 20181101, max_tries: int = 100000) -> np.ndarray:
    """N(0, 1) values, redrawn until every two, and every value and 0, differ by at least ``min_gap``.

    Otherwise two values of (almost) equal size would make "which entries share" ambiguous, and no
    method could be scored for telling them apart.
    """
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        kernel = rng.normal(size=n)
        vals = np.sort(np.append(kernel, 0.0))
        if np.diff(vals).min() >= min_gap:
            return kernel
    raise ValueError(f"no {n} N(0, 1) values at least {min_gap} apart in {max_tries} draws; lower min_gap")


def value_partition(groups: np.ndarray, group_values: np.ndarray) -> np.ndarray:
    """The partition by value: structural groups with equal values merged (label of the smallest), -1 kept."""
    groups = np.asarray(groups)
    _, first = np.unique(group_values, return_index=True)
    canon = np.empty(len(group_values), dtype=np.int64)
    for f in first:
        canon[np.isclose(group_values, group_values[f], rtol=0, atol=0)] = f
    return np.where(groups >= 0, canon[np.maximum(groups, 0)], -1)


def teacher_arrays(spec: dict) -> dict:
    """W (out, in) float64, groups and value_groups (out, in) int64, values (one per group), input shape."""
    s = resolve(spec)
    groups, input_shape = structure_groups(s)
    n_groups = int(groups.max()) + 1
    if s["values"] == "repeated":
        distinct = distinct_values(int(s["n_values"]), s["min_gap"], s["value_seed"])
        values = distinct[np.arange(n_groups) % len(distinct)]
    else:
        values = distinct_values(n_groups, s["min_gap"], s["value_seed"])
    W = np.where(groups >= 0, values[np.maximum(groups, 0)], 0.0)
    return {"W": W, "groups": groups, "value_groups": value_partition(groups, values), "values": values,
            "input_shape": input_shape}


# ----------------------------------------------------------------------------------------------
# config: checks, names, registry records, loading


def shape(spec: dict) -> tuple[int, tuple[int, ...]]:
    """(outputs, input shape (C, *spatial)) of a resolved spec, computed without building its matrix."""
    if spec["kind"] in ("permutation", "circulant"):
        return int(spec["n"]), (1, int(spec["n"]))
    out = [_out_size(n, k, spec["stride"], spec["dilation"]) for n, k in zip(spec["input"], spec["kernel"])]
    return spec["out_channels"] * math.prod(out), (spec["in_channels"], *spec["input"])


def _n_groups(spec: dict) -> int:
    """Groups (values drawn) of a resolved spec, counted without building its partition."""
    if spec["kind"] in ("permutation", "circulant"):
        return 2 if spec["kind"] == "permutation" else int(spec["n"])
    return spec["out_channels"] * spec["in_channels"] * math.prod(spec["kernel"])


def memory_bytes(spec: dict) -> dict[str, int]:
    """Bytes a resolved spec needs, by the key that drives them: ``n`` / ``input`` (the matrix: at the peak about
    six int64 / float64 arrays of its size - the partition, W, the value partition and their temporaries),
    ``n_values`` (the values drawn), ``n_train`` (the examples, drawn in float64 and kept in float32) and
    ``epoch_size`` (the tiled rows, float32)."""
    outputs, input_shape = shape(spec)
    inputs = math.prod(input_shape)
    n_train = max(spec["n_train"]) if isinstance(spec["n_train"], list) else int(spec["n_train"])
    epoch = max(int(spec.get("epoch_size") or 0), n_train)
    return {"n" if spec["kind"] in ("permutation", "circulant") else "input": 48 * outputs * inputs,
            "n_values": 24 * int(spec["n_values"]) if spec["values"] == "repeated" else 0,
            "n_train": 12 * (n_train + int(spec["n_test"])) * (inputs + outputs),
            "epoch_size": 4 * epoch * (inputs + outputs) if epoch > n_train else 0}


def spec_problems(where: str, spec: dict, memory_limit_gib: float = 16.0) -> list[str]:
    """What is wrong with a teacher spec beyond its schema (sizes that do not fit, memory over
    ``memory_limit_gib``, checked before anything is built), one line each."""
    s = resolve(spec)
    kind = s["kind"]
    problems = []
    if kind in ("conv1d", "conv2d", "random"):
        geometry = kind if kind != "random" else s["base"]
        dims = 1 if geometry == "conv1d" else 2
        if len(s["input"]) != dims:
            problems.append(f"{where}.input: {geometry} takes {dims} size(s), got {s['input']}")
        if len(s["kernel"]) != dims:
            problems.append(f"{where}.kernel: {geometry} takes an int or {dims} size(s), got {s['kernel']}")
        if not problems:
            for n, k in zip(s["input"], s["kernel"]):
                if _out_size(n, k, s["stride"], s["dilation"]) < 1:
                    problems.append(f"{where}.kernel: a kernel of {k} with dilation {s['dilation']} spans "
                                    f"{s['dilation'] * (k - 1) + 1} > the input's {n}; use a smaller kernel or "
                                    f"dilation, or a larger input")
    elif "n" not in s:
        problems.append(f"{where}: kind {kind} needs n (the set size)")
    for key in ("input", "kernel", "stride", "dilation", "in_channels", "out_channels", "base"):
        if kind in ("permutation", "circulant") and key in spec:
            problems.append(f"{where}.{key}: not a key of kind {kind} (it takes n)")
    if kind != "random" and "base" in spec:
        problems.append(f"{where}.base: only kind random takes a base")
    if s["values"] == "repeated" and "n_values" not in s:
        problems.append(f"{where}: values: repeated needs n_values (how many distinct values the groups share)")
    if s["values"] != "repeated" and "n_values" in spec:
        problems.append(f"{where}.n_values: only values: repeated takes n_values")
    if not problems:
        need = memory_bytes(s)
        total = sum(need.values())
        if total > limit_bytes(memory_limit_gib):
            key = max(need, key=need.get)
            outputs, input_shape = shape(s)
            inputs = math.prod(input_shape)
            n_train = max(s["n_train"]) if isinstance(s["n_train"], list) else s["n_train"]
            tiled = f", tiled to {s['epoch_size']:,} rows per epoch" if need["epoch_size"] else ""
            problems.append(f"{where}.{key}: the teacher needs ~{fmt_bytes(total)} (a {outputs:,} x {inputs:,} "
                            f"matrix, {n_train:,} training + {s['n_test']:,} test examples{tiled}), "
                            f"{over_limit(memory_limit_gib)}; use a smaller {key}, or raise memory_limit_gib")
            return problems
        # the values are redrawn until every two are min_gap apart: refuse what would fail after 100000 draws of
        # them all (minutes for many groups): expected close pairs per draw past 30, a success chance below 1e-8
        drawn = int(s["n_values"]) if s["values"] == "repeated" else _n_groups(s)
        crowd = math.comb(drawn, 2) * math.erf(s["min_gap"] / 2) + drawn * math.erf(s["min_gap"] / math.sqrt(2))
        if crowd > 30:
            problems.append(f"{where}.min_gap: {drawn:,} N(0, 1) values at least {s['min_gap']} apart (and from 0) "
                            f"cannot be drawn (about {crowd:,.0f} pairs closer than that per draw); lower min_gap")
    return problems


def expand_names(name: str, spec: dict) -> dict[str, dict]:
    """A teacher with a list ``n_train`` is one dataset per value, named ``<name>-n<value>``."""
    n = spec["n_train"]
    if isinstance(n, list):
        return {d: {**spec, "n_train": int(v)} for d, v in zip(dataset_names(name, spec), n)}
    return {name: spec}


def dataset_names(name: str, spec) -> list[str]:
    """The names of the datasets teacher ``name`` defines (:func:`expand_names`), also of a spec too broken to
    make them."""
    n = spec.get("n_train") if isinstance(spec, dict) else None
    return [f"{name}-n{v}" for v in n] if isinstance(n, list) else [name]


def info(name: str, spec: dict):
    """The :class:`~weightspace.data.DatasetInfo` of a teacher (torch-free; it loads through :func:`load`)."""
    s = resolve(spec)
    outputs, input_shape = shape(s)  # the matrix is built when the dataset is loaded, not here
    about = spec.get("about") or f"teacher {s['kind']}: {outputs} outputs, {math.prod(input_shape)} inputs"
    clean = {k: v for k, v in spec.items() if k != "about"}
    return DatasetInfo(name, tuple(input_shape), int(outputs), int(s["epoch_size"]), int(s["n_test"]),
                       "regression", lambda root, dl, v: load(name, clean),
                       {"layer": TEACHER_LAYER, "input": tuple(input_shape), "kind": s["kind"]}, about,
                       spec=None if _is_default(name, clean) else {"teacher": clean},
                       groups=lambda: teacher_arrays(s)["groups"], files=False)


def _is_default(name: str, spec: dict) -> bool:
    """Whether ``spec`` is the built-in teacher ``name`` (then no cell needs to carry it)."""
    if name not in DEFAULT_TEACHERS:
        return False
    default = {k: v for k, v in DEFAULT_TEACHERS[name].items() if k != "about"}
    return resolve(default) == resolve({k: v for k, v in spec.items() if k != "about"})


def load(name: str, spec: dict):
    """The teacher's :class:`~weightspace.data.Dataset`: y = W x + noise, x ~ N(0, 1), not rescaled."""
    import torch

    s = resolve(spec)
    t = teacher_arrays(s)
    W, groups = t["W"], t["groups"]
    n_train, n_test, noise = int(s["n_train"]), int(s["n_test"]), float(s["noise"])
    rng = np.random.default_rng(s["data_seed"])
    x = rng.normal(size=(n_train + n_test, W.shape[1]))
    y = x @ W.T + noise * rng.normal(size=(n_train + n_test, W.shape[0]))
    x = x.astype(np.float32).reshape(-1, *t["input_shape"])
    y = y.astype(np.float32)
    xtr, ytr = x[:n_train], y[:n_train]
    epoch = int(s["epoch_size"])
    if epoch > n_train:  # tile the distinct examples: every n gets the same steps per epoch
        reps = -(-epoch // n_train)
        xtr, ytr = np.concatenate([xtr] * reps)[:epoch], np.concatenate([ytr] * reps)[:epoch]
    source = f"generated: y = {s['kind']}(x) + {noise} N(0,1), {n_train} train / {n_test} test"
    if epoch > n_train:
        source += f" (tiled to {epoch} rows per epoch)"
    spatial = t["input_shape"][1:]
    out_shape = tuple(n - k + 1 for n, k in zip(spatial, s.get("kernel", []))) if s["kind"] in ("conv1d", "conv2d") \
        and s["stride"] == 1 and s["dilation"] == 1 and s["out_channels"] == 1 and s["in_channels"] == 1 else None
    return Dataset(
        name=name,
        x_train=torch.from_numpy(np.ascontiguousarray(xtr)),
        y_train=torch.from_numpy(np.ascontiguousarray(ytr)),
        x_test=torch.from_numpy(x[n_train:]),
        y_test=torch.from_numpy(y[n_train:]),
        n_outputs=W.shape[0],
        checksum=_checksum(x, y),
        source=source,
        task="regression",
        structure={
            "layer": TEACHER_LAYER,
            "groups": groups,
            "value_groups": t["value_groups"],
            "teacher": W,
            "kind": s["kind"],
            "n_train": n_train,
            "in_shape": tuple(spatial),
            "out_shape": out_shape,
        },
    )
