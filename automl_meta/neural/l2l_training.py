"""Meta-training of the coordinatewise LSTM by truncated backpropagation through time.

One epoch draws a fresh batch of training tasks and optimizes them for
``steps`` steps with the LSTM. The trajectory is cut into chunks of ``unroll``
steps; after each chunk the meta-loss

    L(phi) = sum_{t in chunk} w_t * mean_over_tasks f(theta_t)

is backpropagated into the LSTM's weights ``phi``, the gradient is clipped and an
Adam step is taken, and the optimizee parameters and LSTM state are carried to
the next chunk detached (truncation). As in Andrychowicz et al. (2016) the
optimizee gradients fed to the LSTM are treated as constants
(``second_order=False``: no Hessian-vector products); ``second_order=True``
backpropagates through them as well.

Every ``validate_every`` epochs the LSTM optimizes a fixed set of validation
tasks (from the training split, never the held-out one) and the weights with
the lowest mean final loss are kept, as the paper selects its optimizers.
"""

from __future__ import annotations

import copy
import logging
import math
from typing import Callable

import torch

from automl_meta.exceptions import UsageError
from automl_meta.neural.learned_optimizer import CHECKPOINT_KIND, LearnedOptimizer
from automl_meta.neural.lstm_optimizer import CoordinatewiseLSTM
from automl_meta.neural.optimizees import FAMILIES, TaskBatch, make_tasks

logger = logging.getLogger(__name__)

WEIGHTINGS = ("uniform", "linear", "last")
VALIDATION_SEED_OFFSET = 1_000_003


def step_weights(weighting: str, start: int, n_steps: int, total_steps: int) -> list[float]:
    """The meta-loss weights ``w_t`` of steps ``start+1 .. start+n_steps`` of a ``total_steps`` trajectory."""
    if weighting == "uniform":
        return [1.0] * n_steps
    if weighting == "linear":
        return [(start + i + 1) / total_steps for i in range(n_steps)]
    if weighting == "last":
        return [1.0 if start + i + 1 == total_steps else 0.0 for i in range(n_steps)]
    raise UsageError(f"unknown weighting {weighting!r}; choose from {list(WEIGHTINGS)}")


def unroll(
    net: CoordinatewiseLSTM,
    tasks: TaskBatch,
    params: dict[str, torch.Tensor],
    state: tuple[torch.Tensor, torch.Tensor],
    start_step: int,
    n_steps: int,
    weights: list[float] | None = None,
    second_order: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Run ``n_steps`` LSTM updates from ``params``; return ``(meta_loss, params, state)``.

    ``params`` (detached on entry) and ``state`` start the chunk. The returned
    ``meta_loss`` is differentiable with respect to ``net``'s weights; the
    returned params and state are still attached to the graph (detach them to
    truncate).
    """
    weights = [1.0] * n_steps if weights is None else weights
    with torch.enable_grad():  # optimizee gradients are needed even when called under no_grad
        names = list(params)
        params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        sizes = [params[k].numel() for k in names]
        loss = tasks.loss(params, start_step)
        meta_loss = loss.new_zeros(())
        for i in range(n_steps):
            grads = torch.autograd.grad(loss.sum(), [params[k] for k in names], create_graph=second_order, retain_graph=True)
            flat = torch.cat([g.reshape(-1) for g in grads])
            if not second_order:
                flat = flat.detach()
            update, state = net(flat, state)
            pieces = torch.split(update, sizes)
            params = {k: params[k] + piece.view_as(params[k]) for k, piece in zip(names, pieces)}
            loss = tasks.loss(params, start_step + i + 1)
            if weights[i]:
                meta_loss = meta_loss + weights[i] * loss.mean()
    return meta_loss, params, state


def trajectory(tasks: TaskBatch, make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer], steps: int) -> torch.Tensor:
    """Optimize ``tasks`` with a ``torch.optim`` optimizer; return eval losses ``(steps + 1, n_tasks)``.

    Row 0 is the loss at the start point, row ``t`` after ``t`` steps. Every
    optimizer compared here is coordinatewise, so optimizing the batch at once
    is the same as optimizing each task on its own.
    """
    params = {k: v.requires_grad_(True) for k, v in tasks.init_params().items()}
    optimizer = make_optimizer(list(params.values()))
    with torch.no_grad():
        curve = [tasks.eval_loss(params)]
    for t in range(steps):
        optimizer.zero_grad()
        with torch.enable_grad():
            tasks.loss(params, t).sum().backward()
        optimizer.step()
        with torch.no_grad():
            curve.append(tasks.eval_loss(params))
    return torch.stack(curve)


def learned_trajectory(net: CoordinatewiseLSTM, tasks: TaskBatch, steps: int) -> torch.Tensor:
    """:func:`trajectory` with the LSTM as a :class:`LearnedOptimizer`."""
    return trajectory(tasks, lambda p: LearnedOptimizer(p, net=net), steps)


def meta_train(
    net: CoordinatewiseLSTM,
    spec: dict,
    epochs: int,
    steps: int = 100,
    unroll_steps: int = 20,
    tasks_per_epoch: int | None = None,
    meta_lr: float = 3e-3,
    clip_norm: float = 1.0,
    second_order: bool = False,
    weighting: str = "uniform",
    validate_every: int = 10,
    validation_tasks: int = 32,
    seed: int = 0,
    dataset=None,
    callback: Callable[[dict], None] | None = None,
    on_validation: Callable[[dict, list[dict]], None] | None = None,
) -> list[dict]:
    """Meta-train ``net`` in place on tasks of ``spec``; return one record per epoch.

    Parameters
    ----------
    net : CoordinatewiseLSTM
        Trained in place; on return it holds the weights with the best validation loss.
    spec : dict
        The optimizee (see :func:`automl_meta.neural.optimizees.optimizee_spec`).
    epochs : int
        Trajectories of fresh training tasks (each gives ``ceil(steps / unroll_steps)`` meta-updates).
    steps, unroll_steps : int
        Trajectory length ``T`` and truncation length.
    tasks_per_epoch : int, optional
        Tasks optimized together in one trajectory (the meta-batch); default: the family's ``meta_batch``.
    meta_lr, clip_norm : float
        Adam learning rate and the gradient-norm clip of the meta-optimizer.
    second_order : bool
        Backpropagate through the optimizee gradients (default off, as in the paper).
    weighting : {"uniform", "linear", "last"}
        The step weights ``w_t`` of the meta-loss.
    validate_every, validation_tasks : int
        Validation schedule and size (0 disables validation and keeps the last weights).
    seed : int
        Seeds the task draws and the LSTM's initialization is the caller's; training is deterministic given both.
    dataset : Dataset, optional
        Needed by the ``tabular`` family.
    callback : callable, optional
        Called with each epoch's record (used by the CLI's progress bar).
    on_validation : callable, optional
        Called after each validation with the best weights so far (a ``state_dict``)
        and the records so far, so the caller can checkpoint them (an interrupted
        run then keeps what it validated); not before the first meta-update.

    Each record's ``meta_loss`` is None for an epoch whose every trajectory was
    abandoned (a non-finite meta-loss), so it made no update.
    """
    if spec.get("family") not in FAMILIES:
        raise UsageError(f"unknown optimizee {spec.get('family')!r}; choose from {sorted(FAMILIES)}")
    if tasks_per_epoch is None:
        tasks_per_epoch = FAMILIES[spec["family"]].meta_batch
    if epochs < 1 or steps < 1 or unroll_steps < 1 or tasks_per_epoch < 1:
        raise UsageError("epochs, steps, unroll and tasks per epoch must all be at least 1")
    step_weights(weighting, 0, 1, steps)  # validates the name
    meta_opt = torch.optim.Adam(net.parameters(), lr=meta_lr)
    val_tasks = make_tasks(spec, validation_tasks, "train", seed + VALIDATION_SEED_OFFSET, dataset) if validate_every else None
    best_score, best_state = math.inf, None
    history = []
    for epoch in range(epochs):
        tasks = make_tasks(spec, tasks_per_epoch, "train", seed * 100_000 + epoch, dataset)
        params = tasks.init_params()
        state = net.initial_state(sum(v.numel() for v in params.values()))
        chunk_losses, skipped = [], 0
        for start in range(0, steps, unroll_steps):
            n = min(unroll_steps, steps - start)
            weights = step_weights(weighting, start, n, steps)
            meta_loss, params, state = unroll(net, tasks, params, state, start, n, weights, second_order)
            if not torch.isfinite(meta_loss):
                skipped += 1
                logger.warning("epoch %d: non-finite meta-loss at step %d; trajectory abandoned", epoch + 1, start)
                break
            if any(weights):  # a chunk whose steps all weigh 0 ("last" before the final chunk) only carries the trajectory on
                meta_opt.zero_grad()
                meta_loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
                meta_opt.step()
                chunk_losses.append(meta_loss.item() / sum(weights))
            params = {k: v.detach() for k, v in params.items()}
            state = (state[0].detach(), state[1].detach())
        mean_loss = sum(chunk_losses) / len(chunk_losses) if chunk_losses else None
        record = {"epoch": epoch + 1, "meta_loss": mean_loss, "skipped": skipped}
        last = epoch + 1 == epochs
        if val_tasks is not None and ((epoch + 1) % validate_every == 0 or last):
            with torch.no_grad():
                final = learned_trajectory(net, val_tasks, steps)[-1]
            score = float(final.mean()) if torch.isfinite(final).all() else math.inf
            record["validation_loss"] = score if math.isfinite(score) else None  # JSON has no infinity
            if score < best_score:
                best_score, best_state = score, copy.deepcopy(net.state_dict())
        history.append(record)
        logger.info("epoch %s", record)
        updated = any(r["meta_loss"] is not None for r in history)  # an optimizer not yet trained is not worth keeping
        if on_validation is not None and "validation_loss" in record and best_state is not None and updated:
            on_validation(best_state, history)
        if callback is not None:
            callback(record)
    if best_state is not None:
        net.load_state_dict(best_state)
    return history


def checkpoint_manifest(net: CoordinatewiseLSTM, spec: dict, training: dict, history: list[dict] | None = None) -> dict:
    """The JSON manifest stored next to a trained LSTM's weights."""
    history = history or []
    scores = [r["validation_loss"] for r in history if r.get("validation_loss") is not None]
    return {
        "kind": CHECKPOINT_KIND,
        "net": net.config(),
        "n_parameters": sum(p.numel() for p in net.parameters()),
        "optimizee": spec,
        "training": training,
        "best_validation_loss": min(scores) if scores else None,
        "history": history,
    }
