"""Optimizee families for the learned optimizer: batches of tasks written functionally.

A :class:`TaskBatch` holds ``n_tasks`` independent problems of one family. Their
parameters are a dict of tensors with a leading task dimension, and
``loss(params, step)`` returns one loss per task, so a whole batch is optimized
at once: every optimizer considered here (the coordinatewise LSTM, SGD, NAG,
RMSprop, Adam) acts on each coordinate separately, hence on each task
separately, and the gradient of the summed losses is each task's own gradient.
Networks are evaluated with :func:`torch.func.functional_call` (vectorized over
tasks with :func:`torch.func.vmap`) so an unrolled trajectory stays
differentiable with respect to the optimizer that produced it.

Families (:data:`FAMILIES`):

- ``quadratic``: ``f(x) = ||W x - y||^2`` with ``W`` (10 x 10), ``y`` and the
  start ``x_0`` drawn from N(0, 1), as in Andrychowicz et al. (2016).
- ``mlp-digits``: a one-hidden-layer sigmoid MLP (20 units) on scikit-learn's
  8x8 digits, cross-entropy on minibatches of 128, the paper's MNIST net at a
  size a CPU handles. ``hidden`` and ``activation`` change it (the transfer
  experiments use 40 units and ReLU).
- ``tabular``: the portfolio's MLP (:func:`automl_meta.neural.models.mlp`) on a
  preprocessed tabular :class:`~automl_meta.dataset.Dataset`.

Held-out tasks differ from training tasks in their random draws (``W``, ``y``,
start point, minibatch order) and, for data-based families, in their rows: the
rows are split once into a ``"train"`` pool and a ``"test"`` pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch.func import functional_call, vmap

from automl_meta.exceptions import UsageError

SPLITS = ("train", "test")
EVAL_ROWS = 1024  # full-pool losses of data families use at most this many rows


def _generator(seed: int, split: str) -> torch.Generator:
    if split not in SPLITS:
        raise UsageError(f"unknown task split {split!r}; use one of {list(SPLITS)}")
    return torch.Generator().manual_seed(int(seed) * 2 + SPLITS.index(split))


class TaskBatch:
    """``n_tasks`` problems of one family; subclasses define the three methods below."""

    n_tasks: int
    dtype: torch.dtype

    def init_params(self) -> dict[str, torch.Tensor]:
        """Fresh starting parameters (a dict of ``(n_tasks, ...)`` tensors, no grad)."""
        raise NotImplementedError

    def loss(self, params: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        """The per-task loss ``(n_tasks,)`` optimized at ``step`` (a minibatch loss for data families)."""
        raise NotImplementedError

    def eval_loss(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """The per-task objective reported in curves (full-pool loss for data families)."""
        return self.loss(params, 0)


class QuadraticTasks(TaskBatch):
    """Random quadratics ``||W x - y||^2`` in ``dim`` dimensions."""

    def __init__(self, n_tasks: int, generator: torch.Generator, dim: int = 10, dtype: torch.dtype = torch.float32):
        self.n_tasks = int(n_tasks)
        self.dim = int(dim)
        self.dtype = dtype
        self.W = torch.randn(self.n_tasks, self.dim, self.dim, generator=generator).to(dtype)
        self.y = torch.randn(self.n_tasks, self.dim, generator=generator).to(dtype)
        self.x0 = torch.randn(self.n_tasks, self.dim, generator=generator).to(dtype)

    def init_params(self) -> dict[str, torch.Tensor]:
        return {"x": self.x0.clone()}

    def loss(self, params, step):
        residual = torch.einsum("bij,bj->bi", self.W, params["x"]) - self.y
        return (residual**2).sum(dim=1)


def _init_like_torch(template: torch.nn.Module, n_tasks: int, generator: torch.Generator, dtype) -> dict:
    """PyTorch's default ``nn.Linear`` init (U(+-1/sqrt(fan_in))), drawn from ``generator``, per task."""
    params = {}
    fan_in = None
    for name, p in template.named_parameters():
        if p.dim() > 1:
            fan_in = p.shape[1]
        bound = 1.0 / np.sqrt(fan_in)
        draw = torch.rand((n_tasks, *p.shape), generator=generator) * 2 - 1
        params[name] = (draw * bound).to(dtype)
    return params


class MLPTasks(TaskBatch):
    """An MLP (built by :func:`automl_meta.neural.models.mlp`) trained on minibatches of a row pool.

    Parameters
    ----------
    X, y : tensors
        The pool: features ``(n, d)`` float, and class indices ``(n,)`` (cross-entropy)
        or standardized targets ``(n,)`` (mean squared error).
    n_tasks : int
        Independent networks (random starts and minibatch orders).
    generator : torch.Generator
        Source of every random draw.
    hidden, activation, out_features, objective, batch_size
        The network and its loss.
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        n_tasks: int,
        generator: torch.Generator,
        hidden: tuple[int, ...] = (20,),
        activation: str = "sigmoid",
        out_features: int = 10,
        objective: str = "cross_entropy",
        batch_size: int = 128,
        dtype: torch.dtype = torch.float32,
    ):
        from automl_meta.neural.models import mlp

        self.n_tasks = int(n_tasks)
        self.dtype = dtype
        self.X = X.to(dtype)
        self.y = y
        self.objective = objective
        self.batch_size = int(min(batch_size, len(X)))
        with torch.device("meta"):  # the template only provides the forward code
            self.template = mlp(X.shape[1], tuple(hidden), out_features, activation)
        self.params0 = _init_like_torch(self.template, self.n_tasks, generator, dtype)
        self.batch_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        n_eval = min(EVAL_ROWS, len(X))
        self.eval_rows = torch.randperm(len(X), generator=generator)[:n_eval]
        # vmap only the network: losses with batched integer targets have no fast batching rule
        self._outputs = vmap(self._single_output, in_dims=(0, 0))
        self._outputs_shared = vmap(self._single_output, in_dims=(0, None))

    def _single_output(self, params, xb):
        return functional_call(self.template, params, (xb,))

    def _losses(self, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """Per-task mean loss from outputs ``(n_tasks, rows, out)`` and targets ``(n_tasks, rows)``."""
        if self.objective == "cross_entropy":
            return torch.nn.functional.cross_entropy(out.transpose(1, 2), yb, reduction="none").mean(dim=1)
        return ((out.squeeze(-1) - yb) ** 2).mean(dim=1)

    def init_params(self):
        return {k: v.clone() for k, v in self.params0.items()}

    def batch_indices(self, step: int) -> torch.Tensor:
        """Row indices ``(n_tasks, batch_size)`` of the minibatch at ``step`` (same for every optimizer)."""
        g = torch.Generator().manual_seed(self.batch_seed + 7919 * int(step))
        return torch.randint(0, len(self.X), (self.n_tasks, self.batch_size), generator=g)

    def loss(self, params, step):
        idx = self.batch_indices(step)
        return self._losses(self._outputs(params, self.X[idx]), self.y[idx])

    def eval_loss(self, params):
        out = self._outputs_shared(params, self.X[self.eval_rows])
        return self._losses(out, self.y[self.eval_rows].expand(self.n_tasks, -1))


def _split_rows(n: int, split: str) -> np.ndarray:
    """A fixed half/half split of ``n`` rows (the same for every seed)."""
    order = np.random.default_rng(0).permutation(n)
    half = n // 2
    return order[:half] if split == "train" else order[half:]


def _digits_pool(split: str):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rows = _split_rows(len(X), split)
    return torch.as_tensor(X[rows] / 16.0, dtype=torch.float32), torch.as_tensor(y[rows], dtype=torch.long)


def tabular_pool(dataset, split: str):
    """Preprocess a :class:`~automl_meta.dataset.Dataset` into ``(X, y, out_features, objective)`` for one split.

    The preprocessor (the portfolio's ``tabular_preprocessor``) is fit on the
    ``"train"`` rows only; classification targets become class indices,
    regression targets are standardized with the training rows' mean and scale.
    """
    from automl_meta.learners.preprocessing import tabular_preprocessor

    train_rows = _split_rows(dataset.n_rows, "train")
    rows = _split_rows(dataset.n_rows, split)
    pre = tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns)
    pre.fit(dataset.X.iloc[train_rows])
    X = np.asarray(pre.transform(dataset.X.iloc[rows]), dtype=np.float32)
    if dataset.task == "classification":
        classes = sorted(dataset.y.unique().tolist())
        codes = np.array(dataset.y.iloc[rows].map({c: i for i, c in enumerate(classes)}), dtype=np.int64)
        return torch.as_tensor(X), torch.as_tensor(codes, dtype=torch.long), len(classes), "cross_entropy"
    y_train = dataset.y.iloc[train_rows].to_numpy(dtype=float)
    scale = float(y_train.std()) or 1.0
    y = (dataset.y.iloc[rows].to_numpy(dtype=float) - float(y_train.mean())) / scale
    return torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float32), 1, "mse"


@dataclass(frozen=True)
class OptimizeeFamily:
    """One registry entry: how to build a batch of tasks, and the options it accepts."""

    name: str
    description: str
    build: Callable[..., TaskBatch]
    defaults: dict = field(default_factory=dict)
    needs_dataset: bool = False
    meta_batch: int = 16  # tasks per meta-training trajectory: cheap quadratics, few (costly) networks
    transfer: tuple[str, ...] = ("steps",)  # which transfer experiments make sense for this family


def _build_quadratic(n_tasks, generator, dataset=None, dtype=torch.float32, split="train", dim=10):
    del dataset, split  # no data: the split only changes the seed
    return QuadraticTasks(n_tasks, generator, dim=dim, dtype=dtype)


def _build_digits(n_tasks, generator, dataset=None, dtype=torch.float32, split="train", hidden=(20,), activation="sigmoid", batch_size=128):
    X, y = _digits_pool(split)
    return MLPTasks(X, y, n_tasks, generator, tuple(hidden), activation, 10, "cross_entropy", batch_size, dtype)


def _build_tabular(n_tasks, generator, dataset=None, dtype=torch.float32, split="train", hidden=(64, 64), activation="relu", batch_size=128):
    X, y, out_features, objective = tabular_pool(dataset, split)
    return MLPTasks(X, y, n_tasks, generator, tuple(hidden), activation, out_features, objective, batch_size, dtype)


FAMILIES: dict[str, OptimizeeFamily] = {
    "quadratic": OptimizeeFamily("quadratic", "random 10-d quadratics ||Wx - y||^2", _build_quadratic, {"dim": 10}, meta_batch=128),
    "mlp-digits": OptimizeeFamily(
        "mlp-digits",
        "sigmoid MLP (1 hidden layer of 20) on sklearn 8x8 digits, minibatches of 128",
        _build_digits,
        {"hidden": [20], "activation": "sigmoid", "batch_size": 128},
        meta_batch=4,
        transfer=("steps", "hidden", "relu"),
    ),
    "tabular": OptimizeeFamily(
        "tabular",
        "the portfolio's MLP (mlp_torch defaults: 64-64 ReLU) on a tabular dataset, minibatches of 128",
        _build_tabular,
        {"hidden": [64, 64], "activation": "relu", "batch_size": 128},
        needs_dataset=True,
        meta_batch=4,
        transfer=("steps", "hidden", "relu"),
    ),
}


def optimizee_spec(family: str, **options) -> dict:
    """A JSON description of an optimizee: the family's defaults updated with ``options``."""
    if family not in FAMILIES:
        raise UsageError(f"unknown optimizee {family!r}; choose from {sorted(FAMILIES)} (tabular as tabular:DATA)")
    entry = FAMILIES[family]
    unknown = set(options) - set(entry.defaults) - {"dataset"}
    if unknown:
        raise UsageError(f"optimizee {family!r} takes no option(s) {sorted(unknown)}; it takes {sorted(entry.defaults)}")
    return {"family": family, **entry.defaults, **{k: v for k, v in options.items() if v is not None}}


def make_tasks(spec: dict, n_tasks: int, split: str, seed: int, dataset=None, dtype: torch.dtype = torch.float32) -> TaskBatch:
    """Build ``n_tasks`` tasks of ``spec`` (see :func:`optimizee_spec`) from ``split``, seeded by ``seed``.

    The same ``(spec, n_tasks, split, seed)`` always gives the same tasks, so
    every optimizer in a comparison meets the same problems and minibatches.
    """
    entry = FAMILIES.get(spec.get("family"))
    if entry is None:
        raise UsageError(f"unknown optimizee {spec.get('family')!r}; choose from {sorted(FAMILIES)}")
    if entry.needs_dataset and dataset is None:
        raise UsageError(f"optimizee {entry.name!r} needs a dataset: use --optimizee tabular:DATA")
    options = {k: v for k, v in spec.items() if k in entry.defaults}
    generator = _generator(seed, split)
    return entry.build(n_tasks, generator, dataset=dataset, dtype=dtype, split=split, **options)
