"""The cost benchmark of the projections: time per training step and memory against d, direct as reference."""

from __future__ import annotations

from typing import Any, Callable

import torch

from weightspace.bench import step_cost
from weightspace.io import provenance
from weightspace.netspec import net_spec_for
from weightspace.data import info as dataset_info
from weightspace.reparam import estimate_bytes
from weightspace.sizes import limit_bytes

__all__ = ["cost_sweep"]


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
    info = dataset_info(dataset)
    net = net_spec_for(net_cfg, info.input_shape, info.n_outputs)
    variants = [{"name": "direct", "reparam": "direct"}]
    for p in projections:
        for d in dims:
            if d <= net.n_params:
                variants.append({"name": p, "reparam": "subspace", "projection": p, "d": int(d)})
    records = []
    for v in variants:
        need = estimate_bytes(v, net, seeds)
        if need > limit_bytes(memory_limit_gib):
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

