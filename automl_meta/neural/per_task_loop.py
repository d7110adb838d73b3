"""A learn2learn-style reference: clone the weights and adapt each task in a Python loop.

This is how most MAML code computes the meta-gradient (``learner = maml.clone();
learner.adapt(loss)`` per task, with ``torch.autograd.grad(create_graph=True)``).
It is kept as an independent check of the vmapped core (the tests compare
both) and as the baseline of ``benchmarks/maml_throughput.py``; training uses
:mod:`automl_meta.neural.functional`.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from automl_meta.neural.functional import loss_value


def _forward(module, params, x, bn_mode, stats_rows=None):
    if bn_mode == "none":
        return functional_call(module, params, (x,))
    return functional_call(module, params, (x,), {"stats_rows": stats_rows})


def loop_meta_loss(module, params: dict, batch, inner_lr: float, steps: int, first_order: bool, loss: str, bn_mode: str) -> torch.Tensor:
    """Mean query loss over the tasks of ``batch``, differentiable w.r.t. ``params`` (a dict of leaves)."""
    xs, ys, xq, yq = batch
    total = 0.0
    for t in range(xs.shape[0]):
        fast = dict(params)  # clone
        for _ in range(steps):  # adapt
            support_loss = loss_value(loss, _forward(module, fast, xs[t], bn_mode), ys[t])
            grads = torch.autograd.grad(support_loss, list(fast.values()), create_graph=not first_order)
            fast = {k: p - inner_lr * g for (k, p), g in zip(fast.items(), grads)}
        if bn_mode == "support":
            out = _forward(module, fast, torch.cat([xs[t], xq[t]]), bn_mode, stats_rows=xs.shape[1])[xs.shape[1] :]
        else:
            out = _forward(module, fast, xq[t], bn_mode)
        total = total + loss_value(loss, out, yq[t])
    return total / xs.shape[0]


def loop_meta_gradient(module, params: dict, batch, inner_lr, steps, first_order, loss, bn_mode) -> dict:
    """The meta-gradient of :func:`loop_meta_loss` as a dict."""
    value = loop_meta_loss(module, params, batch, inner_lr, steps, first_order, loss, bn_mode)
    grads = torch.autograd.grad(value, list(params.values()))
    return dict(zip(params, grads))
