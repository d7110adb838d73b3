"""The trained coordinatewise LSTM as a drop-in ``torch.optim.Optimizer``.

>>> opt = LearnedOptimizer(model.parameters(), checkpoint="opt.pt")  # doctest: +SKIP
>>> for xb, yb in loader:                                           # doctest: +SKIP
...     opt.zero_grad(); loss_fn(model(xb), yb).backward(); opt.step()

Each parameter tensor keeps the LSTM's hidden state for each of its
coordinates in ``optimizer.state[p]`` (``"h"`` and ``"c"``, shape
``(num_layers, numel, hidden_size)``, plus a ``"step"`` count), so
``state_dict()`` / ``load_state_dict()`` resume a run exactly. The LSTM's own
weights are not part of that state: they come from the checkpoint (or ``net``)
given to the constructor. The state costs ``2 * num_layers * hidden_size``
numbers per optimized coordinate (80 with the defaults), so this optimizer is
meant for the small networks it was trained for.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import torch

from automl_meta.exceptions import UsageError
from automl_meta.neural.lstm_optimizer import CoordinatewiseLSTM, net_from_checkpoint

CHECKPOINT_KIND = "learned_optimizer"


class LearnedOptimizer(torch.optim.Optimizer):
    """Update parameters with a trained :class:`CoordinatewiseLSTM`.

    Parameters
    ----------
    params : iterable of tensors or parameter groups
        What to optimize, as for any ``torch.optim.Optimizer``.
    checkpoint : str or Path, optional
        A file written by ``automl-meta optimizer train`` (read with
        ``torch.load(weights_only=True)``). Exactly one of ``checkpoint`` and
        ``net`` is given.
    net : CoordinatewiseLSTM, optional
        A network in memory (for example during meta-training or in tests).
        It is used without gradients and never modified.
    lr : float, default 1.0
        A multiplier on the LSTM's update; 1.0 is the rule as trained. Kept as
        ``lr`` so learning-rate schedulers work unchanged.
    """

    def __init__(self, params, checkpoint: str | Path | None = None, net: CoordinatewiseLSTM | None = None, lr: float = 1.0):
        if (checkpoint is None) == (net is None):
            raise UsageError("LearnedOptimizer needs exactly one of checkpoint=PATH (from `automl-meta optimizer train`) or net=")
        self.manifest: dict = {}
        if checkpoint is not None:
            from automl_meta.io.checkpoint import about, load_checkpoint

            state_dict, self.manifest = load_checkpoint(checkpoint, kind=CHECKPOINT_KIND)
            with about(checkpoint):
                net = net_from_checkpoint(state_dict, self.manifest)
        if not isinstance(net, CoordinatewiseLSTM):
            raise UsageError(f"net must be a CoordinatewiseLSTM, not {type(net).__name__}")
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr < 0:
            raise UsageError(f"lr must be a non-negative finite number, got {lr!r}")  # nan made every weight nan
        super().__init__(params, {"lr": float(lr)})
        self.net = net

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        weight = self.net.head.weight
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise UsageError("LearnedOptimizer does not support sparse gradients")
                state = self.state[p]
                if not state:
                    h, c = self.net.initial_state(p.numel())
                    state["step"] = torch.tensor(0.0)
                    state["h"], state["c"] = h, c
                grad = p.grad.reshape(-1).to(dtype=weight.dtype, device=weight.device)
                hidden = (state["h"].to(dtype=weight.dtype, device=weight.device), state["c"].to(dtype=weight.dtype, device=weight.device))
                update, (h, c) = self.net(grad, hidden)
                state["h"], state["c"] = h, c
                state["step"] += 1
                p.add_(update.view_as(p).to(dtype=p.dtype, device=p.device), alpha=group["lr"])
        return loss
