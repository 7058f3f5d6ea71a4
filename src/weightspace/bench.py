"""Benchmarks: time per training step and memory of each reparameterization.

Timing follows the usual rules: the data is on the device, warm-up steps run
before timing, CUDA work is synchronized before the clock is read, and the
result is the median (with min and max) over several repeats of many steps.
Inputs are random tensors of the dataset's shape: the cost of a step does not
depend on the pixel values, and the benchmark needs no dataset files.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch

from weightspace.data import INPUT_SHAPES, N_CLASSES
from weightspace.io import provenance
from weightspace.nets import build_net
from weightspace.reparam import build_reparam, estimate_bytes
from weightspace.train import TrainConfig, make_optimizer, per_seed_loss

__all__ = ["step_cost", "cost_sweep", "state_bytes"]


def state_bytes(module: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None) -> int:
    """Bytes of a module's parameters and buffers (dense or sparse) and its optimizer state."""
    total = 0
    tensors = list(module.parameters()) + list(module.buffers())
    if optimizer is not None:
        tensors += [v for st in optimizer.state.values() for v in st.values() if torch.is_tensor(v)]
    for t in tensors:
        if t.layout == torch.sparse_csr:
            total += sum(x.numel() * x.element_size() for x in (t.crow_indices(), t.col_indices(), t.values()))
        else:
            total += t.numel() * t.element_size()
    return total


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_cost(
    net_cfg: dict,
    dataset: str,
    variant: dict,
    seeds: int = 1,
    batch_size: int = 256,
    steps: int = 20,
    repeats: int = 5,
    warmup: int = 5,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Median time of one training step (forward, backward, Adam) of ``variant``.

    Returns:
        a record: the variant, D, d, seeds, time per step (median, min, max
        over ``repeats`` of ``steps`` steps), bytes of the reparameterization's
        state (parameters, buffers, Adam moments), and on CUDA the peak
        memory allocated.
    """
    device = torch.device(device)
    shape = INPUT_SHAPES[dataset]
    net = build_net(net_cfg["arch"], shape, N_CLASSES[dataset], net_cfg.get("widths"))
    seed_list = list(range(seeds))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    reparam = build_reparam(variant, net, seed_list, device)
    _sync(device)
    build_s = time.perf_counter() - t0
    opt = make_optimizer(reparam.parameters(), TrainConfig(), device)
    g = torch.Generator(device="cpu").manual_seed(0)
    n_pool = 4 * batch_size
    x_pool = torch.randn(n_pool, *shape, generator=g).to(device)
    y_pool = torch.randint(0, N_CLASSES[dataset], (n_pool,), generator=g).to(device)
    idx = torch.randint(0, n_pool, (steps + warmup, seeds, batch_size), generator=g).to(device)

    def step(i: int) -> None:
        xb, yb = x_pool[idx[i]], y_pool[idx[i]]
        loss = per_seed_loss(net.forward(reparam(), xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()

    for i in range(warmup):
        step(i)
    _sync(device)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for i in range(steps):
            step(warmup + i % steps)
        _sync(device)
        times.append((time.perf_counter() - t) / steps)
    record = {
        "variant": variant.get("name", variant["reparam"]),
        "reparam": variant["reparam"],
        "projection": variant.get("projection", "none"),
        "D": net.n_params,
        "d": int(variant.get("d", net.n_params)),
        "seeds": seeds,
        "batch_size": batch_size,
        "step_s_median": statistics.median(times),
        "step_s_min": min(times),
        "step_s_max": max(times),
        "repeats": repeats,
        "steps_per_repeat": steps,
        "build_s": build_s,
        "state_bytes": state_bytes(reparam, opt),
        "device": str(device),
    }
    if device.type == "cuda":
        record["peak_bytes"] = torch.cuda.max_memory_allocated(device)
    return record


def cost_sweep(
    net_cfg: dict,
    dataset: str,
    dims: list[int],
    projections: list[str],
    seeds: int = 1,
    batch_size: int = 256,
    steps: int = 20,
    repeats: int = 5,
    device: torch.device | str = "cpu",
    memory_limit_gib: float = 16.0,
    log: Callable[[str], None] = print,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``step_cost`` of direct training and of every projection at every d.

    Combinations whose fixed tensors would exceed ``memory_limit_gib`` (dense
    at large d) are recorded as skipped rather than run.

    Returns:
        (records, provenance of the machine).
    """
    device = torch.device(device)
    net = build_net(net_cfg["arch"], INPUT_SHAPES[dataset], N_CLASSES[dataset], net_cfg.get("widths"))
    variants = [{"name": "direct", "reparam": "direct"}]
    for p in projections:
        for d in dims:
            if d <= net.n_params:
                variants.append({"name": p, "reparam": "subspace", "projection": p, "d": int(d)})
    records = []
    for v in variants:
        need = estimate_bytes(v, net, seeds)
        if need > memory_limit_gib * 2**30:
            log(f"skip {v['name']} d={v.get('d')}: needs ~{need / 2**30:.1f} GiB > memory_limit_gib={memory_limit_gib}")
            records.append({"variant": v["name"], "reparam": v["reparam"], "projection": v.get("projection", "none"),
                            "D": net.n_params, "d": v.get("d", net.n_params), "seeds": seeds, "skipped": True})
            continue
        r = step_cost(net_cfg, dataset, v, seeds, batch_size, steps, repeats, device=device)
        r["skipped"] = False
        log(f"{r['variant']:>9} d={r['d']:>7}: {1e3 * r['step_s_median']:8.2f} ms/step "
            f"(min {1e3 * r['step_s_min']:.2f}, max {1e3 * r['step_s_max']:.2f}), state {r['state_bytes'] / 2**20:9.1f} MiB")
        records.append(r)
    return records, provenance(device)
