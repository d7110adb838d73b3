"""The meta-training loop: outer optimizer, periodic validation, progress callbacks.

MAML and first-order MAML use Adam on the meta-gradient; Reptile uses SGD on
``theta - mean(phi)`` with an outer step size annealed linearly to zero, which
is exactly the interpolation of the Reptile paper.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from automl_meta.neural.few_shot import evaluate_learner
from automl_meta.neural.task_sources import TaskSplits
from automl_meta.numbers import finite_or_none

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetaTrainConfig:
    """Outer-loop settings.

    ``meta_lr`` is Adam's learning rate (MAML, FOMAML); ``outer_step`` is
    Reptile's initial interpolation step, annealed linearly to 0. Annealing
    follows the larger of the fraction of ``iterations`` done and the fraction
    of ``time_limit`` spent, so a time-limited run anneals to its end.
    ``time_limit`` (seconds) stops training early; ``log_every`` sets how often
    losses are read back from the device (a synchronization). Validation runs
    every ``validate_every`` iterations and after the last one (``0``: only
    after the last); ``validation_tasks=0`` turns it off.
    """

    iterations: int = 1000
    meta_batch: int = 32
    meta_lr: float = 1e-3
    outer_step: float = 1.0
    validate_every: int = 100
    validation_tasks: int = 100
    seed: int = 0
    time_limit: float | None = None
    log_every: int = 10
    cosine: bool = False  # anneal MAML's meta_lr to 0 with a cosine (over iterations or the time limit)


@dataclass
class MetaTrainResult:
    """What happened: per-log-point training figures and validation figures."""

    history: list = field(default_factory=list)
    validation: list = field(default_factory=list)
    iterations: int = 0
    seconds: float = 0.0


def _outer_optimizer(learner, config: MetaTrainConfig):
    """The optimizer, its base learning rate and the annealing shape (a function of progress in [0, 1])."""
    params = learner.meta_parameters()
    if learner.algorithm == "reptile":
        return torch.optim.SGD(params, lr=config.outer_step), config.outer_step, lambda f: max(0.0, 1.0 - f)
    # One fused kernel for the whole update on GPU; multi-tensor ops on CPU.
    fused = params[0].is_cuda
    optimizer = torch.optim.Adam(params, lr=config.meta_lr, fused=fused or None, foreach=None if fused else True)
    if config.cosine:
        return optimizer, config.meta_lr, lambda f: 0.5 * (1.0 + math.cos(math.pi * min(1.0, f)))
    return optimizer, config.meta_lr, lambda f: 1.0


def _finite(learner) -> bool:
    """Whether every meta-parameter is finite (one device synchronization)."""
    return bool(torch.stack([torch.isfinite(p).all() for p in learner.meta_parameters()]).all())


def meta_train(
    learner,
    splits: TaskSplits,
    config: MetaTrainConfig,
    callback: Callable[[dict], None] | None = None,
) -> MetaTrainResult:
    """Meta-train ``learner`` (MAML or Reptile) on ``splits.train``, validating on ``splits.validation``.

    ``callback`` receives a dict after each training iteration
    (``{"event": "iteration", "iteration": i}``), at each log point (adds
    ``loss`` and ``score``) and after each validation (``event="validation"``,
    ``score``, ``ci95``, ``diverged``: tasks whose adapted loss was not finite,
    which make the score NaN).
    """
    device = next(iter(learner.params.values())).device
    generator = torch.Generator(device=device).manual_seed(config.seed)
    optimizer, base_lr, shape = _outer_optimizer(learner, config)
    result = MetaTrainResult()
    callback = callback or (lambda event: None)
    pending: list = []
    start = time.perf_counter()

    def validate(iteration: int) -> None:
        summary = evaluate_learner(learner, splits.validation, config.validation_tasks, batch_size=config.meta_batch, seed=config.seed + 1)
        record = {"iteration": iteration, "score": summary["mean"], "ci95": summary["ci95"], "diverged": summary["diverged"],
                  "seconds": time.perf_counter() - start}
        result.validation.append(record)
        logger.info("validation at %d: %s %.4f +- %.4f", iteration, summary["metric"], summary["mean"], summary["ci95"])
        callback({"event": "validation", **record})

    def flush(iteration: int) -> None:
        if not pending:
            return
        # A score beside a loss that is not finite is an artifact (NaN logits read as class 0, chance accuracy): NaN too.
        stats = torch.stack([torch.stack([p["loss"].float(), torch.where(p["loss"].isfinite(), p["score"].float(), torch.nan)])
                             for p in pending]).mean(0).tolist()
        record = {"iteration": iteration, "loss": finite_or_none(stats[0]), "score": finite_or_none(stats[1]), "seconds": time.perf_counter() - start}
        result.history.append(record)
        pending.clear()
        callback({"event": "log", **record})

    iteration = 0
    for iteration in range(1, config.iterations + 1):
        batch = splits.train.sample(config.meta_batch, generator)
        optimizer.zero_grad(set_to_none=True)
        pending.append(learner.accumulate(batch))
        # Progress counts iterations or, under a time limit, elapsed time: annealing ends with the budget.
        progress = (iteration - 1) / config.iterations
        if config.time_limit:
            progress = max(progress, (time.perf_counter() - start) / config.time_limit)
        for group in optimizer.param_groups:
            group["lr"] = base_lr * shape(progress)
        optimizer.step()
        callback({"event": "iteration", "iteration": iteration})
        if iteration % config.log_every == 0:
            flush(iteration)
            if not _finite(learner):  # every later step would stay NaN: stop here, not at the end of the budget
                logger.info("the meta-parameters are not finite after %d iterations; stopping", iteration)
                break
        if config.validation_tasks and config.validate_every and iteration % config.validate_every == 0:
            validate(iteration)
        if config.time_limit is not None and time.perf_counter() - start > config.time_limit:
            logger.info("time limit of %.0f s reached after %d iterations", config.time_limit, iteration)
            break
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # queued kernels belong to the training time
    train_seconds = time.perf_counter() - start
    flush(iteration)
    if config.validation_tasks and (not result.validation or result.validation[-1]["iteration"] != iteration):
        validate(iteration)
    result.iterations = iteration
    result.seconds = train_seconds
    return result


