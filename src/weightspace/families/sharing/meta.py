"""Meta-learned sharing (after Zhou, Knowles and Finn 2021, "Meta-learning symmetries by reparameterization").

Many tasks share one structure: task ``t`` is ``y = W_t x + noise`` with ``W_t`` filled from the same
ground-truth partition (a teacher's ``groups``) with its own values (N(0, 1) per group, the zero group
zero). A learned sharing of the teacher layer is ``W = P(A) v`` with ``P(A) = softmax(A / tau)`` over
``k`` slots per entry. Meta-learning shares the assignment logits ``A`` across tasks and gives every
task its own values ``v_t``:

* inner loop (per task, on its own ``n`` examples): ``v_t`` minimizes the task's squared error plus
  ``ridge * n * |v|^2``, in closed form (``W`` is linear in ``v``);
* outer loop (``A``): Adam on the sum over tasks of each task's mean squared error at its ``v_t``,
  treated as a constant (first-order: no gradient through the inner solution); ``tau`` annealed
  geometrically from ``tau`` to ``tau_final``.

The comparison is at the same examples per task, on held-out tasks of the same structure: ``meta`` (``A``
meta-learned on ``tasks`` training tasks, ``v`` refitted per held-out task on its ``n`` examples with the
hard assignment ``argmax A``), ``single`` (the same procedure on the held-out task alone, one task: single-task
learned sharing), ``kmeans`` (ridge regression of the task, then 1-D k-means of its weights into ``k``
values), ``direct`` (the ridge regression) and ``known`` (the true partition, values fitted). Recovery is
scored with :func:`~weightspace.families.sharing.structure.score_structure` against the structure's
partition; test MSE on each held-out task's own test set.
"""

from __future__ import annotations


from pathlib import Path

import numpy as np
import pandas as pd
import torch

from weightspace import cell_summary
from weightspace.families.sharing import teachers
from weightspace.families.sharing.reparam import kmeans_1d
from weightspace.families.sharing.structure import score_structure
from weightspace.io import write_dataframe

__all__ = ["make_tasks", "fit_values", "task_losses", "meta_gradient", "train_assignment", "evaluate",
           "run_meta", "METHODS"]

METHODS = ("meta", "single", "kmeans", "direct", "known")


def make_tasks(spec: dict, n_tasks: int, n_per_task: int, n_test: int, seed: int, noise: float | None = None) -> dict:
    """Tasks of one structure: groups (out, in), W (T, out, in), X (T, n, in), Y (T, n, out), Xte, Yte."""
    s = teachers.resolve({**spec, "n_train": n_per_task})
    groups, _ = teachers.structure_groups(s)
    noise = float(s["noise"] if noise is None else noise)
    rng = np.random.default_rng(seed)
    n_groups = int(groups.max()) + 1
    values = rng.normal(size=(n_tasks, n_groups))
    W = np.where(groups[None] >= 0, values[:, np.maximum(groups, 0)], 0.0)
    out_, in_ = groups.shape
    X = rng.normal(size=(n_tasks, n_per_task + n_test, in_))
    Y = np.einsum("tni,toi->tno", X, W) + noise * rng.normal(size=(n_tasks, n_per_task + n_test, out_))
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return {"groups": groups, "W": t(W), "X": t(X[:, :n_per_task]), "Y": t(Y[:, :n_per_task]),
            "Xte": t(X[:, n_per_task:]), "Yte": t(Y[:, n_per_task:])}


def _features(P: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """F[t, n, o, j] = sum_i X[t, n, i] P[o, i, j]: the prediction is F v."""
    return torch.einsum("tni,oij->tnoj", X, P)


def fit_values(P: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    """Per task, argmin_v |Y - F v|^2 + ridge * n * |v|^2 (closed form): (T, k)."""
    F = _features(P, X).flatten(1, 2)  # (T, n*out, k)
    y = Y.flatten(1, 2)  # (T, n*out)
    k, n = P.shape[-1], X.shape[1]
    G = F.transpose(1, 2) @ F + ridge * n * torch.eye(k, dtype=F.dtype)
    return torch.linalg.solve(G, (F.transpose(1, 2) @ y[..., None]))[..., 0]


def task_losses(A: torch.Tensor, tau: float, X: torch.Tensor, Y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each task at values ``v`` (T, k): (T,)."""
    P = torch.softmax(A / tau, dim=-1)
    W = torch.einsum("oij,tj->toi", P, v)
    return ((torch.einsum("tni,toi->tno", X, W) - Y) ** 2).mean(dim=(1, 2))


def meta_gradient(A: torch.Tensor, tau: float, X: torch.Tensor, Y: torch.Tensor, ridge: float = 1e-3) -> tuple:
    """First-order meta-gradient: d/dA of the sum over tasks of each task's loss, its v_t fitted and held fixed.

    Returns (gradient (out, in, k), the tasks' losses (T,)).
    """
    A = A.detach().requires_grad_(True)
    with torch.no_grad():
        v = fit_values(torch.softmax(A / tau, dim=-1), X, Y, ridge)
    losses = task_losses(A, tau, X, Y, v)
    (grad,) = torch.autograd.grad(losses.sum(), A)
    return grad, losses.detach()


def train_assignment(X: torch.Tensor, Y: torch.Tensor, shape: tuple[int, int], k: int, steps: int = 300,
                     lr: float = 0.05, tau: float = 1.0, tau_final: float = 0.05, init_std: float = 0.1,
                     ridge: float = 1e-3, seed: int = 0) -> torch.Tensor:
    """The assignment logits A (out, in, k), learned by first-order meta-learning over the tasks of X, Y."""
    g = torch.Generator().manual_seed(seed)
    A = torch.nn.Parameter(torch.randn(*shape, k, generator=g, dtype=torch.float64) * init_std)
    opt = torch.optim.Adam([A], lr=lr)
    for step in range(steps):
        t = tau * (tau_final / tau) ** (step / max(1, steps - 1))
        grad, _ = meta_gradient(A, t, X, Y, ridge)
        opt.zero_grad()
        A.grad = grad / X.shape[0]  # Adam is scale-free; the mean keeps lr comparable across task counts
        opt.step()
    return A.detach()


def _hard_fit(assign: np.ndarray, k: int, X: torch.Tensor, Y: torch.Tensor, Xte: torch.Tensor, Yte: torch.Tensor,
              ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Values refitted for a hard assignment: (W per task (T, out, in), test MSE per task (T,))."""
    P = torch.nn.functional.one_hot(torch.as_tensor(assign), k).to(torch.float64)
    v = fit_values(P, X, Y, ridge)
    W = torch.einsum("oij,tj->toi", P, v)
    mse = ((torch.einsum("tni,toi->tno", Xte, W) - Yte) ** 2).mean(dim=(1, 2))
    return W.numpy(), mse.numpy()


def _ridge(X: torch.Tensor, Y: torch.Tensor, ridge: float) -> torch.Tensor:
    """Direct training's stand-in: per task, the ridge regression W (T, out, in)."""
    n, d = X.shape[1], X.shape[2]
    G = X.transpose(1, 2) @ X + ridge * n * torch.eye(d, dtype=X.dtype)
    return torch.linalg.solve(G, X.transpose(1, 2) @ Y).transpose(1, 2)


def _kmeans_assign(W: np.ndarray, k: int) -> np.ndarray:
    _, a = kmeans_1d(torch.as_tensor(W.reshape(1, -1), dtype=torch.float32), k)
    return a.reshape(W.shape).numpy()


def evaluate(method: str, groups: np.ndarray, assign: np.ndarray | None, k: int, tasks: dict,
             ridge: float = 1e-3) -> list[dict]:
    """Per held-out task: recovery (score_structure) and test MSE of one method's assignment (None: per task)."""
    X, Y, Xte, Yte = tasks["X"], tasks["Y"], tasks["Xte"], tasks["Yte"]
    rows = []
    if method == "direct":
        W = _ridge(X, Y, ridge).numpy()
        mse = ((np.einsum("tni,toi->tno", Xte.numpy(), W) - Yte.numpy()) ** 2).mean(axis=(1, 2))
        for t in range(W.shape[0]):
            m = score_structure(groups, np.arange(W[t].size).reshape(W[t].shape), W[t])
            rows.append({**m, "test_mse": float(mse[t])})
        return rows
    if method == "kmeans":
        Wd = _ridge(X, Y, ridge).numpy()
        for t in range(Wd.shape[0]):
            a = _kmeans_assign(Wd[t], k)
            one = {key: v[t:t + 1] for key, v in tasks.items() if key != "groups"}
            W, mse = _hard_fit(a, k, one["X"], one["Y"], one["Xte"], one["Yte"], ridge)
            rows.append({**score_structure(groups, a, W[0]), "test_mse": float(mse[0])})
        return rows
    if method == "known":
        a = np.where(groups >= 0, groups, groups.max() + 1)  # the zero group: one more (fitted) slot
        W, mse = _hard_fit(a, int(a.max()) + 1, X, Y, Xte, Yte, ridge)
        return [{**score_structure(groups, a, W[t]), "test_mse": float(mse[t])} for t in range(len(mse))]
    W, mse = _hard_fit(assign, k, X, Y, Xte, Yte, ridge)
    return [{**score_structure(groups, assign, W[t]), "test_mse": float(mse[t])} for t in range(len(mse))]


def run_meta(spec: dict, n_per_task: list[int], seeds: list[int], k: int = 16, tasks: int = 32, held_out: int = 8,
             n_test: int = 256, steps: int = 300, single_steps: int | None = None, lr: float = 0.05,
             tau: float = 1.0, tau_final: float = 0.05, ridge: float = 1e-3, methods=METHODS,
             log=None) -> pd.DataFrame:
    """The meta-learning comparison: one row per (method, examples per task, seed, held-out task)."""
    rows = []
    single_steps = steps if single_steps is None else single_steps
    for n in n_per_task:
        for seed in seeds:
            train = make_tasks(spec, tasks, n, n_test, seed=1000 * seed + 1)
            held = make_tasks(spec, held_out, n, n_test, seed=1000 * seed + 2)
            groups = held["groups"]
            shape = groups.shape
            for method in methods:
                if method == "meta":
                    A = train_assignment(train["X"], train["Y"], shape, k, steps, lr, tau, tau_final, ridge=ridge,
                                         seed=seed)
                    out = evaluate("meta", groups, A.argmax(-1).numpy(), k, held, ridge)
                elif method == "single":
                    out = []
                    for t in range(held_out):
                        one = {key: v[t:t + 1] for key, v in held.items() if key != "groups"}
                        A = train_assignment(one["X"], one["Y"], shape, k, single_steps, lr, tau, tau_final,
                                             ridge=ridge, seed=seed)
                        out += evaluate("single", groups, A.argmax(-1).numpy(), k, one, ridge)
                else:
                    out = evaluate(method, groups, None, k, held, ridge)
                for t, m in enumerate(out):
                    rows.append({"method": method, "n_per_task": n, "seed": seed, "task": t, "k": k,
                                 "tasks": tasks, **m})
            if log:
                log(f"meta: n={n} seed={seed} done")
    return pd.DataFrame(rows)


def summarize(df: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per method and examples per task: mean and t-interval over seeds (each seed: the mean over its held-out
    tasks) of ari_support, support_f1, partition_distance and test_mse (:mod:`weightspace.cell_summary`)."""
    metrics = ["ari_support", "support_f1", "partition_distance", "test_mse"]
    per_seed = df.groupby(["method", "n_per_task", "seed"], sort=False)[metrics].mean().reset_index()
    return cell_summary.summarize(per_seed, ["method", "n_per_task"], metrics, confidence, count="n_seeds")




def main(argv: list[str] | None = None) -> None:
    """``python -m weightspace.families.sharing.meta --spec-json S --options-json O --out meta.csv --summary s.csv``"""
    import argparse
    import json
    import sys
    import time

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spec-json", required=True, help="the teacher's description (teachers.<name> of a config)")
    p.add_argument("--options-json", required=True, help="an experiment's meta key (validated)")
    p.add_argument("--out", required=True, help="one row per method, examples per task, seed and held-out task")
    p.add_argument("--summary", required=True, help="mean and interval over seeds per method and examples per task")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    o = json.loads(args.options_json)
    t0 = time.perf_counter()
    df = run_meta(json.loads(args.spec_json), o["n_per_task"], list(range(o.get("seeds", 3))), k=o.get("k", 16),
                  tasks=o.get("tasks", 32), held_out=o.get("held_out", 8), n_test=o.get("n_test", 256),
                  steps=o.get("steps", 300), lr=o.get("lr", 0.05), tau=o.get("tau", 1.0),
                  tau_final=o.get("tau_final", 0.05), log=lambda m: print(m, file=sys.stderr, flush=True))
    write_dataframe(Path(args.out), df)
    write_dataframe(Path(args.summary), summarize(df))
    print(f"meta-learning comparison: {len(df)} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    main()
