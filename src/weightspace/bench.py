"""Benchmarks: time per training step and memory of each reparameterization.

Timing follows the usual rules: the data is on the device, warm-up steps run
before timing, CUDA work is synchronized before the clock is read, and the
result is the median (with min and max) over several repeats of many steps.
Inputs are random tensors of the dataset's shape: the cost of a step does not
depend on the pixel values, and the benchmark needs no dataset files.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Callable

import torch

from weightspace import data as data_mod
from weightspace.data import _IDX_FILES, DatasetInfo, _load_digits, _materialize_idx, resolve_data_dir
from weightspace.io import provenance
from weightspace.nets import build_net_for
from weightspace.reparam import build_reparam
from weightspace.train import TrainConfig, Trainer, make_optimizer, train_step
from weightspace.train.evaluation import evaluate_all

__all__ = ["step_cost", "state_bytes", "naive_run", "trainer_runs", "compare_with_naive"]


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
    dataset: str | DatasetInfo,
    variant: dict,
    seeds: int = 1,
    batch_size: int = 256,
    steps: int = 20,
    repeats: int = 5,
    warmup: int = 5,
    device: torch.device | str = "cpu",
    epochs: int | None = None,
    min_time_s: float = 0.0,
    eval_examples: int = 0,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Any]:
    """Median time of one training step (forward, backward, Adam) of ``variant``.

    ``dataset``: a known dataset's name, or its record (a config's own dataset: :func:`weightspace.data.cell_info`).
    ``epochs`` (the cell's) places k-means' switch; its steps are timed in the direct phase. ``min_time_s``:
    each repeat runs whole rounds of ``steps`` steps until it has run that long (a step of a microsecond net
    is timed over many). ``eval_examples``: also time one evaluation of every seed on that many examples
    (``eval_s``), as the trainer evaluates the test set. ``clock``: what is timed with; the process's CPU time
    (``time.process_time``) on one CPU thread gives the time a step takes on a quiet core even while other
    work loads the machine.

    Returns:
        a record: the variant, D, d, seeds, time per step (median, min, max
        over ``repeats`` of ``steps`` steps), bytes of the reparameterization's
        state (parameters, buffers, Adam moments), and on CUDA the peak
        memory allocated.
    """
    device = torch.device(device)
    info = dataset if isinstance(dataset, DatasetInfo) else data_mod.info(dataset)
    shape = info.input_shape
    net = build_net_for(net_cfg, shape, info.n_outputs)
    seed_list = list(range(seeds))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = clock()
    structure = None
    if info.structure:
        structure = {"layer": info.structure["layer"], "groups": info.groups()}
    if epochs is None:  # a phase switch after pretrain_epochs (k-means) must still lie ahead
        epochs = variant.get("pretrain_epochs", 0) + 1
    reparam = build_reparam(variant, net, seed_list, device, structure=structure, epochs=epochs)
    _sync(device)
    build_s = clock() - t0
    opt = make_optimizer(reparam.parameters(), TrainConfig(), device)
    g = torch.Generator(device="cpu").manual_seed(0)
    n_pool = 4 * batch_size
    x_pool = torch.randn(n_pool, *shape, generator=g).to(device)
    task = net.task or info.task
    if task != "classification":  # regression targets, or a reconstruction's pixels
        y_pool = torch.randn(n_pool, net.n_outputs, generator=g).to(device)
    else:
        y_pool = torch.randint(0, info.n_outputs, (n_pool,), generator=g).to(device)
    idx = torch.randint(0, n_pool, (steps + warmup, seeds, batch_size), generator=g).to(device)

    def step(i: int) -> None:  # exactly the trainer's step, penalties included
        train_step(net, reparam, opt, x_pool[idx[i]], y_pool[idx[i]], task, i, 10**9)

    for i in range(warmup):
        step(i)
    _sync(device)
    times = []
    for _ in range(repeats):
        t, n = clock(), 0
        while n == 0 or clock() - t < min_time_s:
            for i in range(steps):
                step(warmup + i % steps)
            _sync(device)
            n += steps
        times.append((clock() - t) / n)
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
    if eval_examples:
        x_eval = torch.randn(eval_examples, *shape, generator=g).to(device)
        y_eval = (torch.randn(eval_examples, net.n_outputs, generator=g) if task != "classification"
                  else torch.randint(0, info.n_outputs, (eval_examples,), generator=g)).to(device)
        evaluate_all(net, reparam, x_eval, y_eval, task)  # warm-up
        _sync(device)
        t = clock()
        evaluate_all(net, reparam, x_eval, y_eval, task)
        _sync(device)
        record["eval_s"] = clock() - t
    if device.type == "cuda":
        record["peak_bytes"] = torch.cuda.max_memory_allocated(device)
    return record




# ----------------------------------------------------------------------------------------------
# the naive reference loop against the project's trainer


def _fc_dims(dataset: str, widths: list[int]) -> list[int]:
    """The layer sizes of the benchmark's fc net on ``dataset``: inputs, ``widths``, outputs."""
    info = data_mod.info(dataset)
    return [math.prod(info.input_shape), *widths, info.n_outputs]


class _Images(torch.utils.data.Dataset):
    """uint8 images (N, H, W) and their labels, served one sample at a time through ``transform``, as a
    torchvision dataset serves its files."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), int(self.labels[i])


def _naive_digits() -> tuple[_Images, _Images]:
    """scikit-learn's digits, split as the trainer splits them, as torchvision-style datasets (``ToTensor`` then
    ``Normalize`` by the training images' mean and std, per sample)."""
    from torchvision import transforms

    x_train, y_train, x_test, y_test, _ = _load_digits()
    scaled = x_train / 255.0
    tfm = transforms.Compose([transforms.ToTensor(), transforms.Normalize((scaled.mean(),), (scaled.std(ddof=1),))])
    return _Images(x_train[:, 0], y_train, tfm), _Images(x_test[:, 0], y_test, tfm)


def naive_run(
    dataset: str,
    data_dir,
    widths: list[int],
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device,
) -> dict[str, Any]:
    """One run in the original notebooks' style, for comparison only.

    torchvision dataset with per-sample ``ToTensor``/``Normalize`` transforms, a
    shuffling DataLoader, a host-to-device copy per batch, ``loss.item()``
    every step, an ``nn.Sequential`` MLP, Adam, and a test pass per epoch
    through a second DataLoader. One seed per run. ``mnist`` and
    ``fashion_mnist`` read the real IDX files; ``digits`` (offline) serves
    scikit-learn's images the same way (:func:`_naive_digits`).
    """
    import torchvision
    from torch import nn
    from torch.utils.data import DataLoader
    from torchvision import transforms

    if dataset == "digits":
        train_set, test_set = _naive_digits()
    elif dataset in _IDX_FILES:
        root = _materialize_idx(dataset, resolve_data_dir(data_dir), download=False)
        cls = torchvision.datasets.MNIST if dataset == "mnist" else torchvision.datasets.FashionMNIST
        tfm = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        train_set = cls(str(root), train=True, transform=tfm, download=False)
        test_set = cls(str(root), train=False, transform=tfm, download=False)
    else:
        raise ValueError("the naive loop supports mnist and fashion_mnist (torchvision IDX datasets) and digits")
    torch.manual_seed(seed)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    dims = _fc_dims(dataset, widths)
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    steps, losses = 0, []
    acc = 0.0
    t = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            steps += 1
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                x, y = x.to(device), y.to(device)
                correct += (model(x).argmax(1) == y).sum().item()
        acc = correct / len(test_set)
    _sync(device)
    return {"seconds": time.perf_counter() - t, "steps": steps, "test_acc": acc}


def trainer_runs(
    dataset: str,
    data_dir,
    widths: list[int],
    epochs: int,
    batch_size: int,
    lr: float,
    seeds: list[int],
    device: torch.device,
    verify: bool = True,
) -> dict[str, Any]:
    """The same work with the project's trainer: all seeds as one batch, data on the device."""
    ds = data_mod.load(dataset, data_dir, device=device, download=False, verify=verify)
    cell = {
        "cell": "bench",
        "net": {"arch": "fc", "widths": widths},
        "variant": {"reparam": "direct"},
        "train": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "evals_per_epoch": 1},
    }
    trainer = Trainer(cell, ds, seeds, device, log=lambda m: None, progress=False)
    _sync(device)
    t = time.perf_counter()
    results = trainer.run()
    _sync(device)
    seconds = time.perf_counter() - t
    accs = [r.rows[-1]["test_acc"] for r in results]
    return {"seconds": seconds, "steps": trainer.step, "seeds": len(seeds), "test_acc_mean": sum(accs) / len(accs)}


def compare_with_naive(
    dataset: str = "mnist",
    data_dir=None,
    widths: list[int] | None = None,
    epochs: int = 2,
    batch_size: int = 256,
    lr: float = 1e-3,
    seeds: int = 10,
    naive_runs: int = 1,
    trials: int = 3,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] = print,
    verify: bool = True,
) -> dict[str, Any]:
    """Time per run of the naive loop and of the trainer (``trials`` times each, median reported).

    Both do the same work: ``epochs`` passes over the training set in batches of
    ``batch_size`` (last partial batch dropped) and a test pass per epoch.
    """
    device = torch.device(device)
    widths = widths or [200, 200]
    naive, ours = [], []
    steps = None
    for trial in range(trials):
        for k in range(naive_runs):
            r = naive_run(dataset, data_dir, widths, epochs, batch_size, lr, seed=k, device=device)
            naive.append(r["seconds"])
            log(f"trial {trial}: naive run {k}: {r['seconds']:.2f} s, {r['steps']} steps, test acc {r['test_acc']:.4f}")
        t = trainer_runs(dataset, data_dir, widths, epochs, batch_size, lr, list(range(seeds)), device, verify)
        ours.append(t["seconds"] / seeds)
        if t["steps"] != r["steps"]:
            raise RuntimeError(f"the two loops did different work: {r['steps']} vs {t['steps']} steps")
        steps = t["steps"]
        log(f"trial {trial}: trainer, {seeds} seeds batched: {t['seconds']:.2f} s "
            f"({t['seconds'] / seeds:.3f} s per run), mean test acc {t['test_acc_mean']:.4f}")
    naive_med, ours_med = statistics.median(naive), statistics.median(ours)
    return {
        "dataset": dataset,
        "net": f"fc {'-'.join(map(str, _fc_dims(dataset, widths)))}",
        "epochs": epochs,
        "batch_size": batch_size,
        "seeds_batched": seeds,
        "steps_per_run": steps,
        "naive_s_per_run": naive,
        "trainer_s_per_run": ours,
        "naive_s_per_run_median": naive_med,
        "trainer_s_per_run_median": ours_med,
        "naive_steps_per_s": steps / naive_med,
        "trainer_run_steps_per_s": steps / ours_med,
        "speedup_per_run": naive_med / ours_med,
        "provenance": provenance(device),
    }
