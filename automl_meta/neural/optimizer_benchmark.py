"""The learned optimizer against tuned hand-designed ones, on held-out tasks.

Protocol (one call of :func:`benchmark`):

1. Each baseline (SGD, SGD with Nesterov momentum 0.9 "NAG", RMSprop, Adam)
   gets its learning rate from a small log grid, chosen by the mean final loss
   on *training* tasks (a draw the learned optimizer was not validated on).
2. Every optimizer, the learned one included, then optimizes the same
   ``tasks`` held-out tasks (test rows, new start points and minibatch orders)
   for ``steps`` steps; the mean, spread and curve of the loss are reported.
3. Transfer (optional): the same comparison after changing one thing the
   learned optimizer was not trained on: twice the steps, twice the hidden
   units, ReLU instead of the trained activation. Baselines are re-tuned on the
   training tasks of each variant, so the comparison stays fair.
4. Overhead: milliseconds per ``optimizer.step()`` (and per full training step)
   of the learned optimizer and of Adam on one task of the same optimizee.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from automl_meta.neural.l2l_training import learned_trajectory, trajectory
from automl_meta.neural.learned_optimizer import LearnedOptimizer
from automl_meta.neural.lstm_optimizer import CoordinatewiseLSTM
from automl_meta.neural.optimizees import FAMILIES, make_tasks

logger = logging.getLogger(__name__)

LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0)
TUNING_SEED_OFFSET = 2_000_003


@dataclass(frozen=True)
class Baseline:
    """A hand-designed optimizer, built from parameters and a learning rate."""

    name: str
    description: str
    build: Callable[[list, float], torch.optim.Optimizer]


BASELINES: dict[str, Baseline] = {
    "sgd": Baseline("sgd", "plain SGD", lambda p, lr: torch.optim.SGD(p, lr=lr)),
    "nag": Baseline("nag", "SGD + Nesterov momentum 0.9", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True)),
    "rmsprop": Baseline("rmsprop", "RMSprop (alpha 0.99)", lambda p, lr: torch.optim.RMSprop(p, lr=lr)),
    "adam": Baseline("adam", "Adam (0.9, 0.999)", lambda p, lr: torch.optim.Adam(p, lr=lr)),
}


def _final_score(curve: torch.Tensor) -> float:
    """Mean final loss over tasks; infinite when any task diverged."""
    final = curve[-1]
    return float(final.mean()) if bool(torch.isfinite(final).all()) else math.inf


def tune_lr(spec: dict, baseline: str, steps: int, n_tasks: int, seed: int, dataset=None, grid=LR_GRID) -> tuple[float, dict]:
    """The grid learning rate with the lowest mean final loss on training tasks, and every score."""
    tasks = make_tasks(spec, n_tasks, "train", seed + TUNING_SEED_OFFSET, dataset)
    build = BASELINES[baseline].build
    scores = {lr: _final_score(trajectory(tasks, lambda p, lr=lr: build(p, lr), steps)) for lr in grid}
    best = min(scores, key=lambda lr: (scores[lr], lr))
    return best, scores


def summarize(curve: torch.Tensor) -> dict:
    """Mean, spread and the mean/quartile curves of losses ``(steps + 1, n_tasks)``."""
    values = curve.detach().double().numpy()
    final = values[-1]
    finite = np.isfinite(final)
    with np.errstate(invalid="ignore"):
        return {
            "mean": float(final.mean()) if finite.all() else math.inf,
            "std": float(final.std()) if finite.all() else math.inf,
            "median": float(np.median(final)),
            "q25": float(np.quantile(final, 0.25)),
            "q75": float(np.quantile(final, 0.75)),
            "diverged": int((~finite).sum()),
            "curve_mean": values.mean(axis=1).tolist(),
            "curve_q25": np.quantile(values, 0.25, axis=1).tolist(),
            "curve_q75": np.quantile(values, 0.75, axis=1).tolist(),
        }


def compare(
    net: CoordinatewiseLSTM,
    spec: dict,
    steps: int,
    tasks: int,
    tune_tasks: int = 32,
    seed: int = 0,
    dataset=None,
    grid=LR_GRID,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Learned vs tuned baselines on ``tasks`` held-out tasks of ``spec``; see the module doc."""
    held_out = make_tasks(spec, tasks, "test", seed, dataset)
    summaries, tuned_lr, tuning = {}, {}, {}
    with torch.no_grad():
        summaries["learned"] = summarize(learned_trajectory(net, held_out, steps))
    if progress:
        progress("learned")
    for name, baseline in BASELINES.items():
        lr, scores = tune_lr(spec, name, steps, tune_tasks, seed, dataset, grid)
        tuned_lr[name], tuning[name] = lr, {str(k): v for k, v in scores.items()}
        summaries[name] = summarize(trajectory(held_out, lambda p, lr=lr: baseline.build(p, lr), steps))
        if progress:
            progress(name)
    final = {name: s["mean"] for name, s in summaries.items()}
    best = min(BASELINES, key=lambda n: final[n])
    ratio = final["learned"] / final[best] if final[best] not in (0.0, math.inf) else math.nan
    return {
        "optimizee": spec,
        "steps": steps,
        "tasks": tasks,
        "final_loss": final,
        "best_baseline": best,
        "ratio_to_best_baseline": ratio,
        "tuned_lr": tuned_lr,
        "lr_grid_scores": tuning,
        "spread": {n: {k: s[k] for k in ("std", "median", "q25", "q75", "diverged")} for n, s in summaries.items()},
        "curves": {n: {k: s[f"curve_{k}"] for k in ("mean", "q25", "q75")} for n, s in summaries.items()},
    }


def transfer_variants(spec: dict, steps: int) -> list[tuple[str, dict, int]]:
    """``(label, spec, steps)`` of the transfer experiments that apply to this family."""
    kinds = FAMILIES[spec["family"]].transfer
    variants = []
    if "steps" in kinds:
        variants.append((f"{2 * steps} steps", spec, 2 * steps))
    if "hidden" in kinds:
        wider = [2 * h for h in spec["hidden"]]
        variants.append((f"{wider} hidden units", {**spec, "hidden": wider}, steps))
    if "relu" in kinds and spec.get("activation") != "relu":
        variants.append(("ReLU activation", {**spec, "activation": "relu"}, steps))
    return variants


def step_overhead(net: CoordinatewiseLSTM, spec: dict, repeats: int = 50, seed: int = 0, dataset=None) -> dict:
    """Milliseconds per ``step()`` and per full training step, learned vs Adam, on one task of ``spec``."""
    tasks = make_tasks(spec, 1, "test", seed, dataset)
    timings = {}
    for name, build in (("learned", lambda p: LearnedOptimizer(p, net=net)), ("adam", lambda p: torch.optim.Adam(p, lr=1e-3))):
        params = {k: v.requires_grad_(True) for k, v in tasks.init_params().items()}
        optimizer = build(list(params.values()))
        step_time = total_time = 0.0
        for t in range(repeats + 1):  # the first step allocates state: not timed
            start = time.perf_counter()
            optimizer.zero_grad()
            tasks.loss(params, t).sum().backward()
            middle = time.perf_counter()
            optimizer.step()
            end = time.perf_counter()
            if t:
                step_time += end - middle
                total_time += end - start
        timings[name] = {"step_ms": 1000 * step_time / repeats, "train_step_ms": 1000 * total_time / repeats}
    n_coordinates = sum(v.numel() for v in tasks.init_params().values())
    return {
        **timings,
        "coordinates": n_coordinates,
        "step_ratio": timings["learned"]["step_ms"] / timings["adam"]["step_ms"],
        "train_step_ratio": timings["learned"]["train_step_ms"] / timings["adam"]["train_step_ms"],
    }


def benchmark(
    net: CoordinatewiseLSTM,
    spec: dict,
    steps: int = 100,
    tasks: int = 100,
    tune_tasks: int = 32,
    seed: int = 0,
    dataset=None,
    transfer: bool = True,
    grid=LR_GRID,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The full report: :func:`compare` on ``spec``, transfer variants, and step overhead."""
    result = compare(net, spec, steps, tasks, tune_tasks, seed, dataset, grid, progress)
    result["transfer"] = []
    if transfer:
        for label, variant, variant_steps in transfer_variants(spec, steps):
            logger.info("transfer: %s", label)
            report = compare(net, variant, variant_steps, tasks, tune_tasks, seed, dataset, grid, progress)
            result["transfer"].append(
                {"variant": label, **{k: report[k] for k in ("optimizee", "steps", "final_loss", "best_baseline", "ratio_to_best_baseline", "tuned_lr", "spread")}}
            )
    result["overhead"] = step_overhead(net, spec, seed=seed, dataset=dataset)
    return result


def n_benchmark_stages(spec: dict, transfer: bool) -> int:
    """How many ``progress`` calls :func:`benchmark` makes (for a progress bar)."""
    runs = 1 + (len(transfer_variants(spec, 1)) if transfer else 0)
    return runs * (1 + len(BASELINES))
