"""MAML (second order), first-order MAML and Reptile as thin layers over the functional core.

The API follows learn2learn's small surface, without editing modules in place::

    maml = MAML(Conv4(5), inner_lr=0.4, inner_steps=1, first_order=False, bn_mode="transductive")
    optimizer = torch.optim.Adam(maml.meta_parameters(), lr=1e-3)
    stats = maml.accumulate(batch)      # sets .grad of the meta-parameters (vmap over tasks)
    optimizer.step()
    learner = maml.clone()              # a task learner on a copy of the parameter dict
    learner.adapt(x_support, y_support)
    prediction = learner(x_query)

``Reptile`` has the same verbs; its ``accumulate`` writes ``theta - mean(phi)``
as the gradient, so an SGD outer optimizer with learning rate ``epsilon`` moves
the weights by ``epsilon * (mean(phi) - theta)``: the interpolation toward the
adapted weights.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import torch
from torch import nn

from automl_meta.neural.functional import adam_state as fresh_adam_state
from automl_meta.neural.functional import (
    Functional,
    InnerLoop,
    adapt,
    adapt_adam,
    evaluate_tasks,
    maml_meta_gradient,
    parameters_of,
    reptile_targets,
)

ALGORITHMS = ("maml", "fomaml", "reptile")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")
ADAM_PREFIX = "adam."  # state_dict keys of Reptile's carried inner-Adam moments


def _compiled(fn, compile: bool | str):
    """``fn`` under :func:`torch.compile` (``compile`` True or one of COMPILE_MODES), else ``fn``."""
    if not compile:
        return fn
    mode = "default" if compile is True else compile
    if mode not in COMPILE_MODES:
        raise ValueError(f"unknown compile mode {mode!r}; choose from {COMPILE_MODES}")
    return torch.compile(fn, dynamic=False, mode=mode)


def _new_step(compile: bool | str) -> None:
    """Tell CUDA-graph replay (``reduce-overhead``) that the last step's outputs are no longer read."""
    if compile == "reduce-overhead":
        torch.compiler.cudagraph_mark_step_begin()


class Learner:
    """A task learner: a parameter dictionary plus the network that reads it (learn2learn's clone)."""

    def __init__(self, net: Functional, params: dict, inner: InnerLoop, lr=None, state: dict | None = None):
        self.net = net
        self.params = params
        self.inner = inner
        self.lr = lr
        self.state = state  # the inner-Adam state to go on from (Reptile's carried moments), else None

    def adapt(self, x: torch.Tensor, y: torch.Tensor, steps: int | None = None) -> "Learner":
        """Take ``steps`` (default: the inner-loop steps) gradient steps on ``(x, y)``."""
        inner = self.inner if steps is None else replace(self.inner, steps=steps)
        if self.state is not None:
            self.params, self.state = adapt_adam(self.net, self.params, x, y, inner, self.lr, self.state)
        else:
            self.params = adapt(self.net, self.params, x, y, inner, self.lr)
        return self

    def __call__(self, x: torch.Tensor, support: torch.Tensor | None = None) -> torch.Tensor:
        """Predict ``x``; with ``support`` and ``bn_mode="support"``, normalize with its statistics."""
        if support is not None:
            return self.net.query_output(self.params, support, x)
        return self.net(self.params, x)


class _MetaLearner:
    """What MAML and Reptile share: the parameter dictionary, cloning, evaluation, state."""

    def __init__(self, module: nn.Module, net: Functional, inner: InnerLoop):
        self.module = module
        self.net = net
        self.inner = inner
        self.params = parameters_of(module)
        self.inner_lrs = None

    def meta_parameters(self) -> list[torch.Tensor]:
        """The tensors the outer optimizer updates."""
        extra = list(self.inner_lrs.values()) if self.inner_lrs is not None else []
        return list(self.params.values()) + extra

    def to(self, device) -> "_MetaLearner":
        self.module = self.module.to(device)
        self.params = {k: v.detach().to(device).requires_grad_() for k, v in self.params.items()}
        if self.inner_lrs is not None:
            self.inner_lrs = {k: v.detach().to(device).requires_grad_() for k, v in self.inner_lrs.items()}
        return self

    def clone(self, first_order: bool = True) -> Learner:
        """A task learner starting from the current initialization (detached unless ``first_order=False``).

        It adapts on all the examples it is given: inner minibatches are a training device.
        """
        params = self.params if not first_order else {k: v.detach() for k, v in self.params.items()}
        inner = replace(self.inner, first_order=first_order, batch_size=None)
        # shared, not copied: adapting builds new moment tensors and never writes into these
        return Learner(self.net, params, inner, self.inner_lrs, self.inner_state())

    def evaluate(self, batch, steps: int | None = None) -> torch.Tensor:
        """Query score of every task of ``batch`` after ``steps`` inner steps on its whole support set."""
        inner = replace(self.inner, batch_size=None) if steps is None else replace(self.inner, steps=steps, batch_size=None)
        return evaluate_tasks(self.net, inner, self.params, batch, self.inner_lrs, self.inner_state())

    def inner_state(self) -> dict | None:
        """The inner-optimizer state a task's adaptation starts from; None: fresh (MAML's plain SGD has none)."""
        return None

    def state_dict(self) -> dict:
        """The initialization with the backbone's own ``state_dict`` keys.

        Meta-SGD rates are extra ``inner_lr.<name>`` keys; Reptile's carried
        inner-Adam moments are ``adam.m.<name>``, ``adam.v.<name>`` and ``adam.t``.
        """
        state = {k: v.detach() for k, v in self.params.items()}
        if self.inner_lrs is not None:
            state.update({f"inner_lr.{k}": v.detach() for k, v in self.inner_lrs.items()})
        carried = self.inner_state()
        if carried is not None:
            for moment in ("m", "v"):
                state.update({f"{ADAM_PREFIX}{moment}.{k}": v.detach() for k, v in carried[moment].items()})
            state[f"{ADAM_PREFIX}t"] = carried["t"].detach()
        return state

    def load_state_dict(self, state: dict) -> "_MetaLearner":
        missing = set(self.params) - set(state)
        if missing:
            raise KeyError(f"state_dict lacks {sorted(missing)}")
        for prefix in ("", "inner_lr.", f"{ADAM_PREFIX}m.", f"{ADAM_PREFIX}v."):
            wrong = [k for k, p in self.params.items() if prefix + k in state and state[prefix + k].shape != p.shape]
            if wrong:
                k = wrong[0]
                raise ValueError(f"{prefix + k} has shape {tuple(state[prefix + k].shape)}, the architecture needs {tuple(self.params[k].shape)}")
        device = next(iter(self.params.values())).device
        self.params = {k: state[k].detach().clone().to(device).requires_grad_() for k in self.params}
        lrs = {k[len("inner_lr.") :]: v for k, v in state.items() if k.startswith("inner_lr.")}
        if lrs:
            self.inner_lrs = {k: v.detach().clone().to(device).requires_grad_() for k, v in lrs.items()}
        if any(k.startswith(ADAM_PREFIX) for k in state):
            self._load_inner_state(state, device)
        return self

    def _load_inner_state(self, state: dict, device) -> None:
        raise KeyError(f"{type(self).__name__} keeps no inner-optimizer state, but the state_dict has {ADAM_PREFIX}* keys")


def _mapped(state: dict | None, fn) -> dict | None:
    """``fn`` applied to every tensor of an inner-Adam state (moments ``m``, ``v`` and step count ``t``)."""
    if state is None:
        return None
    return {"m": {k: fn(v) for k, v in state["m"].items()}, "v": {k: fn(v) for k, v in state["v"].items()}, "t": fn(state["t"])}


class MAML(_MetaLearner):
    """Model-agnostic meta-learning, second order unless ``first_order=True``.

    Parameters
    ----------
    module : nn.Module
        Backbone; its parameters are copied once and never edited in place.
    inner_lr, inner_steps : float, int
        Inner-loop SGD step size and number of steps on the support set.
    first_order : bool
        Detach the inner gradients (FOMAML).
    loss : {"cross_entropy", "mse"}
    bn_mode : {"transductive", "support", "none"}
    learn_inner_lr : bool
        Meta-SGD: meta-learn one inner learning rate per parameter entry.
    compile : bool or str
        Wrap the meta-gradient computation in :func:`torch.compile`; a string
        picks its mode (``"reduce-overhead"`` replays CUDA graphs, which
        removes the launch overhead of the many small kernels of a meta-step).
    """

    def __init__(
        self,
        module: nn.Module,
        inner_lr: float = 0.4,
        inner_steps: int = 1,
        first_order: bool = False,
        loss: str = "cross_entropy",
        bn_mode: str = "none",
        learn_inner_lr: bool = False,
        compile: bool | str = False,
    ):
        super().__init__(module, Functional(module, loss, bn_mode), InnerLoop(inner_steps, inner_lr, first_order))
        self.compile = compile
        if learn_inner_lr:
            self.inner_lrs = {k: torch.full_like(v, inner_lr).requires_grad_() for k, v in self.params.items()}
        self._gradient = _compiled(partial(maml_meta_gradient, self.net, self.inner, functional_outer=bool(compile)), compile)

    @property
    def algorithm(self) -> str:
        return "fomaml" if self.inner.first_order else "maml"

    def accumulate(self, batch) -> dict:
        """Compute the meta-gradient of ``batch`` into ``.grad``; returns the mean query loss and score."""
        _new_step(self.compile)
        params, lrs = self.params, self.inner_lrs
        if self.compile:  # the compiled gradient is one pure function: detached inputs keep it an inference graph
            params = {k: v.detach() for k, v in params.items()}
            lrs = None if lrs is None else {k: v.detach() for k, v in lrs.items()}
        grads, lr_grads, loss, score = self._gradient(params, batch, lrs)
        for k, p in self.params.items():
            p.grad = grads[k].detach()
        if lr_grads is not None:
            for k, p in self.inner_lrs.items():
                p.grad = lr_grads[k].detach()
        # Copies: under CUDA-graph replay the next step overwrites its outputs, and callers keep these.
        return {"loss": loss.detach().clone(), "score": score.detach().clone()}


class Reptile(_MetaLearner):
    """Reptile: adapt each task with SGD or Adam, then move toward the mean adapted weights.

    ``accumulate`` sets ``grad = theta - mean(phi)``; use ``torch.optim.SGD`` with
    the (annealed) outer step size as learning rate. Training adapts on all of a
    task's examples (support and query); ``inner_batch`` takes each inner step
    on the next ``inner_batch`` of them, shuffled per task by a generator
    seeded with ``seed`` (the paper: 5 steps of 10 out of 10 shots per class).
    With the Adam inner optimizer, ``persistent_adam`` (the default) carries
    Adam's moments from task to task and iteration to iteration, as the
    paper's code does; each task starting from fresh moments instead makes
    every first step a sign step of size ``inner_lr`` on every weight (on CPU,
    5-way 1-shot Omniglot, 600 s: 89.2% against 82.8%; ``benchmarks/NOTES.md``).
    Evaluation and :meth:`clone` adapt with the same inner optimizer on the
    whole support set, starting from the carried moments (read, not updated),
    as the paper's evaluation does; ``state_dict`` saves them beside the
    weights (``adam.*`` keys), so a loaded initialization adapts the same way.
    """

    algorithm = "reptile"

    def __init__(
        self,
        module: nn.Module,
        inner_lr: float = 1e-3,
        inner_steps: int = 5,
        inner_optimizer: str = "adam",
        loss: str = "cross_entropy",
        bn_mode: str = "none",
        compile: bool | str = False,
        inner_batch: int | None = None,
        seed: int = 0,
        persistent_adam: bool = True,
    ):
        inner = InnerLoop(inner_steps, inner_lr, first_order=True, optimizer=inner_optimizer, batch_size=inner_batch)
        super().__init__(module, Functional(module, loss, bn_mode), inner)
        self.compile = compile
        self.seed = seed
        self.persistent_adam = persistent_adam and inner_optimizer == "adam"
        self.adam_state = None  # the carried inner-Adam moments (persistent_adam)
        self._generator = None
        self._targets = _compiled(partial(reptile_targets, self.net, self.inner), compile)

    def inner_state(self) -> dict | None:
        return self.adam_state if self.persistent_adam else None

    def _load_inner_state(self, state: dict, device) -> None:
        if not self.persistent_adam:
            return  # fresh moments by request (persistent_adam=False): the carried ones are not used
        moments = {m: {k: state[f"{ADAM_PREFIX}{m}.{k}"].detach().clone().to(device) for k in self.params} for m in ("m", "v")}
        self.adam_state = {**moments, "t": state[f"{ADAM_PREFIX}t"].detach().clone().to(device=device, dtype=torch.float64)}

    def to(self, device) -> "Reptile":
        super().to(device)
        self.adam_state = _mapped(self.adam_state, lambda t: t.to(device))
        return self

    def _shuffled(self, batch):
        """Each task's support and query rows in one random order (what inner minibatches take in turn)."""
        xs, ys, xq, yq = batch
        x, y = torch.cat([xs, xq], dim=1), torch.cat([ys, yq], dim=1)
        if self._generator is None or self._generator.device != x.device:
            self._generator = torch.Generator(device=x.device).manual_seed(self.seed)
        order = torch.rand(y.shape[:2], generator=self._generator, device=x.device).argsort(dim=1)
        x = x.gather(1, order.view(*order.shape, *[1] * (x.dim() - 2)).expand_as(x))
        y = y.gather(1, order.view(*order.shape, *[1] * (y.dim() - 2)).expand_as(y))
        return x, y

    def accumulate(self, batch) -> dict:
        _new_step(self.compile)
        if self.inner.batch_size is not None:  # one pool of shuffled rows, taken in turn by the inner steps
            x, y = self._shuffled(batch)
            batch = type(batch)(x, y, x[:, :0], y[:, :0])
        if self.persistent_adam:
            if self.adam_state is None:
                self.adam_state = fresh_adam_state({k: v.detach() for k, v in self.params.items()})
            target, state = self._targets(self.params, batch, self.adam_state)
            # copies: a CUDA-graph replay (reduce-overhead) overwrites its outputs on the next call
            self.adam_state = _mapped(state, torch.Tensor.clone)
        else:
            target = self._targets(self.params, batch)
        for k, p in self.params.items():
            p.grad = (p.detach() - target[k]).detach()
        nan = torch.tensor(float("nan"))
        return {"loss": nan, "score": nan}  # no query evaluation during Reptile training; see validation


def make_meta_learner(algorithm: str, module: nn.Module, **options) -> _MetaLearner:
    """``maml``, ``fomaml`` or ``reptile`` on ``module`` with the options of its class."""
    if algorithm == "maml":
        return MAML(module, first_order=False, **options)
    if algorithm == "fomaml":
        return MAML(module, first_order=True, **options)
    if algorithm == "reptile":
        options.pop("learn_inner_lr", None)
        return Reptile(module, **options)
    raise ValueError(f"unknown algorithm {algorithm!r}; choose from {ALGORITHMS}")
