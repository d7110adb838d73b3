"""The functional core shared by MAML, first-order MAML and Reptile.

Everything here works on parameter dictionaries (``{name: tensor}``) and calls
the network through :func:`torch.func.functional_call`; no module is edited in
place. One task is a tuple ``(x_support, y_support, x_query, y_query)``; a
meta-batch stacks tasks along a leading dimension and is processed with
:func:`torch.func.vmap`, not with a Python loop.

Inner loops differentiate with :func:`torch.func.grad`, so the MAML
meta-gradient (:func:`maml_meta_gradient`) is second order through every inner
step unless ``first_order=True``, which detaches the inner gradients.

BatchNorm modes (``bn_mode``), for backbones whose forward takes ``stats_rows``
(see :mod:`automl_meta.neural.conv4`):

* ``"transductive"``: every forward normalizes with the statistics of its own
  batch, so the query set is normalized by query statistics (what the MAML and
  Reptile papers report);
* ``"support"``: the query set is normalized by the support set's statistics,
  so each query prediction depends on the support set and that query alone
  (non-transductive);
* ``"none"``: the backbone has no batch normalization (MLPs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, grad_and_value, vmap

BN_MODES = ("transductive", "support", "none")
LOSSES = ("cross_entropy", "mse")
INNER_OPTIMIZERS = ("sgd", "adam")

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class InnerLoop:
    """How a task adapts: ``steps`` of ``optimizer`` at ``lr`` on the support set.

    ``batch_size`` (Reptile's inner batch): step ``t`` (from 0) uses rows
    ``t*b .. t*b+b-1`` of the task's examples, wrapping around, so that 5 steps
    of 10 rows make one pass over 50 examples; a task with at most ``b`` rows
    takes every step on all of them. Rows should come shuffled (Reptile's
    training shuffles them).
    """

    steps: int = 1
    lr: float = 0.4
    first_order: bool = False
    optimizer: str = "sgd"
    betas: tuple[float, float] = (0.0, 0.999)  # Reptile's inner Adam uses beta1 = 0
    eps: float = 1e-8
    batch_size: int | None = None

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"inner steps must be >= 0, got {self.steps}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"inner batch size must be >= 1, got {self.batch_size}")
        if self.optimizer not in INNER_OPTIMIZERS:
            raise ValueError(f"unknown inner optimizer {self.optimizer!r}; choose from {INNER_OPTIMIZERS}")


def parameters_of(module: nn.Module, requires_grad: bool = True) -> Params:
    """A detached copy of ``module``'s parameters, as leaves ready to be meta-learned."""
    return {k: v.detach().clone().requires_grad_(requires_grad) for k, v in module.named_parameters()}


def loss_value(loss: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean loss of one batch: cross-entropy on integer labels, or mean squared error."""
    if loss == "cross_entropy":
        return F.cross_entropy(output, target)
    if loss == "mse":
        return F.mse_loss(output, target)
    raise ValueError(f"unknown loss {loss!r}; choose from {LOSSES}")


def score_value(loss: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The reported metric: accuracy for classification, MSE for regression."""
    if loss == "cross_entropy":
        return (output.argmax(-1) == target).float().mean()
    return F.mse_loss(output, target)


class Functional:
    """Calls ``module`` on parameter dictionaries; the one place the network runs.

    Parameters
    ----------
    module : nn.Module
        The backbone; only its structure is used (its own tensors are never updated).
    loss : {"cross_entropy", "mse"}
    bn_mode : {"transductive", "support", "none"}
    """

    def __init__(self, module: nn.Module, loss: str = "cross_entropy", bn_mode: str = "none"):
        if bn_mode not in BN_MODES:
            raise ValueError(f"unknown BatchNorm mode {bn_mode!r}; choose from {BN_MODES}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {LOSSES}")
        self.module = module
        self.loss = loss
        self.bn_mode = bn_mode

    def __call__(self, params: Params, x: torch.Tensor, stats_rows: int | None = None) -> torch.Tensor:
        if self.bn_mode == "none":
            return functional_call(self.module, params, (x,))
        return functional_call(self.module, params, (x,), {"stats_rows": stats_rows})

    def support_loss(self, params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_value(self.loss, self(params, x), y)

    def query_output(self, params: Params, xs: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
        """Predictions on the query set under the BatchNorm mode."""
        if self.bn_mode == "support":
            both = self(params, torch.cat([xs, xq]), stats_rows=xs.shape[0])
            return both[xs.shape[0] :]
        return self(params, xq)


def _lr_of(lr: float | Params, name: str):
    return lr[name] if isinstance(lr, dict) else lr


def adapt(
    net: Functional,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    inner: InnerLoop,
    lr: float | Params | None = None,
    state: dict | None = None,
) -> Params:
    """Run ``inner.steps`` gradient steps from ``params`` on ``(x, y)``; returns new parameters.

    ``lr`` overrides ``inner.lr``; a dictionary gives one learning rate tensor per
    parameter (Meta-SGD). Differentiable with respect to ``params`` (and ``lr``)
    unless ``inner.first_order``. ``state``: the inner-Adam state to start from
    (:func:`adapt_adam`; default fresh moments).
    """
    if inner.optimizer == "adam":
        return adapt_adam(net, params, x, y, inner, lr, state)[0]
    if state is not None:
        raise ValueError("an inner optimizer state needs the adam inner optimizer")
    lr = inner.lr if lr is None else lr
    grad_fn = _minibatched(grad(net.support_loss), x.shape[0], inner.batch_size)
    for t in range(1, inner.steps + 1):
        g = grad_fn(params, x, y, t)
        if inner.first_order:
            g = {k: v.detach() for k, v in g.items()}
        params = {k: p - _lr_of(lr, k) * g[k] for k, p in params.items()}
    return params


def _minibatched(grad_fn: Callable, n_rows: int, batch_size: int | None) -> Callable:
    """``grad_fn`` as a function of the step ``t`` (from 1): all rows, or the ``t``-th slice of ``batch_size``."""
    if batch_size is None or batch_size >= n_rows:
        return lambda params, x, y, t: grad_fn(params, x, y)

    def step(params, x, y, t):
        rows = torch.arange((t - 1) * batch_size, t * batch_size, device=x.device) % n_rows
        return grad_fn(params, x[rows], y[rows])

    return step


def adam_state(params: Params) -> dict:
    """A fresh inner-Adam state for ``params``: moments ``m``, ``v`` and the step count ``t`` (a tensor)."""
    # separate tensors for m and v: a compiled step that saw them aliased would recompile once they are not.
    # float64 t: the bias corrections 1 - beta**t lose digits in float32 (a 0-d tensor promotes nothing).
    return {
        "m": {k: torch.zeros_like(p) for k, p in params.items()},
        "v": {k: torch.zeros_like(p) for k, p in params.items()},
        "t": torch.zeros((), dtype=torch.float64, device=next(iter(params.values())).device),
    }


def adapt_adam(
    net: Functional, params: Params, x: torch.Tensor, y: torch.Tensor, inner: InnerLoop, lr=None, state: dict | None = None
) -> tuple[Params, dict]:
    """:func:`adapt` with Adam written on dictionaries, so it runs under ``vmap`` (Reptile's inner optimizer).

    Starts from ``state`` (default: :func:`adam_state`, fresh) and returns
    ``(params, state)``; the bias corrections count the state's earlier steps too.
    """
    lr = inner.lr if lr is None else lr
    grad_fn = _minibatched(grad(net.support_loss), x.shape[0], inner.batch_size)
    beta1, beta2 = inner.betas
    state = adam_state(params) if state is None else state
    m, v, t0 = state["m"], state["v"], state["t"]
    for t in range(1, inner.steps + 1):
        g = grad_fn(params, x, y, t)
        if inner.first_order:
            g = {k: gk.detach() for k, gk in g.items()}
        m = {k: beta1 * m[k] + (1 - beta1) * g[k] for k in params}
        v = {k: beta2 * v[k] + (1 - beta2) * g[k] * g[k] for k in params}
        c1, c2 = 1 - beta1 ** (t0 + t), 1 - beta2 ** (t0 + t)
        params = {k: p - _lr_of(lr, k) * (m[k] / c1) / ((v[k] / c2).sqrt() + inner.eps) for k, p in params.items()}
    return params, {"m": m, "v": v, "t": t0 + inner.steps}


def task_query_loss(net: Functional, inner: InnerLoop, params: Params, lr, xs, ys, xq, yq, state: dict | None = None):
    """Adapt on the support set (from the inner-Adam ``state`` if given), then return ``(query loss, query score)`` of one task."""
    fast = adapt(net, params, xs, ys, inner, lr, state)
    out = net.query_output(fast, xs, xq)
    return loss_value(net.loss, out, yq), score_value(net.loss, out, yq).detach()


def batched_query_loss(
    net: Functional, inner: InnerLoop, params: Params, lr, batch, state: dict | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-task query losses and scores of a meta-batch, with ``vmap`` over tasks (each from ``state``, if given)."""
    xs, ys, xq, yq = batch

    def one(xs_, ys_, xq_, yq_):
        return task_query_loss(net, inner, params, lr, xs_, ys_, xq_, yq_, state)

    return vmap(one)(xs, ys, xq, yq)


def maml_meta_gradient(net: Functional, inner: InnerLoop, params: Params, batch, lr: Params | None = None, functional_outer: bool = False):
    """The MAML meta-gradient of the mean query loss over a meta-batch.

    Returns ``(grads, lr_grads, loss, score)``: gradients for ``params``, for the
    per-parameter learning rates ``lr`` (``None`` unless Meta-SGD), the mean
    query loss and the mean query score. The outer gradient is taken with
    :func:`torch.autograd.grad` through the vmapped inner loops (``params`` and
    ``lr`` must require grad; fastest in eager mode), or with
    ``functional_outer=True`` by :func:`torch.func.grad_and_value`, one pure
    function that :func:`torch.compile` traces whole.
    """

    def objective(p, lrs):
        losses, scores = batched_query_loss(net, inner, p, inner.lr if lrs is None else lrs, batch)
        return losses.mean(), scores.mean()

    if not functional_outer:
        loss, score = objective(params, lr)
        inputs = list(params.values()) + (list(lr.values()) if lr is not None else [])
        flat = torch.autograd.grad(loss, inputs)
        grads = dict(zip(params, flat[: len(params)]))
        lr_grads = dict(zip(lr, flat[len(params) :])) if lr is not None else None
        return grads, lr_grads, loss.detach(), score
    argnums = (0,) if lr is None else (0, 1)
    grads, (loss, score) = grad_and_value(objective, argnums=argnums, has_aux=True)(params, lr)
    return grads[0], (grads[1] if lr is not None else None), loss.detach(), score


def reptile_targets(net: Functional, inner: InnerLoop, params: Params, batch, state: dict | None = None):
    """The adapted weights of each task, averaged over the meta-batch (Reptile's target).

    Reptile trains on all of a task's examples: support and query sets together.
    With an inner-Adam ``state`` every task starts from it, and the result is
    ``(targets, state)`` with the tasks' final states averaged: the state carries
    over from task to task, as in the Reptile paper's code, where one
    optimizer's moments persist through all of meta-training.
    """
    xs, ys, xq, yq = batch
    x = torch.cat([xs, xq], dim=1)
    y = torch.cat([ys, yq], dim=1)
    detached = {k: v.detach() for k, v in params.items()}
    if state is None:
        adapted = vmap(lambda x_, y_: adapt(net, detached, x_, y_, inner))(x, y)
        return {k: v.mean(0).detach() for k, v in adapted.items()}
    if inner.optimizer != "adam":
        raise ValueError("a carried inner state needs the adam inner optimizer")
    adapted, final = vmap(lambda x_, y_: adapt_adam(net, detached, x_, y_, inner, state=state))(x, y)
    mean = lambda d: {k: v.mean(0).detach() for k, v in d.items()}  # noqa: E731
    return mean(adapted), {"m": mean(final["m"]), "v": mean(final["v"]), "t": state["t"] + inner.steps}


def evaluate_tasks(net: Functional, inner: InnerLoop, params: Params, batch, lr=None, state: dict | None = None) -> torch.Tensor:
    """The query score of every task of a batch after adaptation (no meta-gradient); NaN where it diverged.

    ``state``: an inner-Adam state every task's adaptation starts from (Reptile's
    carried moments); it is read, not updated. A task whose query loss is not
    finite scores NaN: its accuracy would otherwise read as chance (argmax of
    NaN logits picks some class), hiding that the adaptation diverged.
    """
    detached = {k: v.detach() for k, v in params.items()}
    lrs = None if lr is None else {k: v.detach() for k, v in lr.items()}
    with torch.no_grad():  # torch.func.grad still differentiates inside
        losses, scores = batched_query_loss(
            net, replace(inner, first_order=True), detached, inner.lr if lrs is None else lrs, batch, state
        )
    return torch.where(torch.isfinite(losses), scores, torch.full_like(scores, float("nan")))
