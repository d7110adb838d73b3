"""The portfolio's gradient-trained candidate: a torch MLP as a scikit-learn estimator.

:class:`MLPTorchClassifier` and :class:`MLPTorchRegressor` train the network of
:func:`automl_meta.neural.models.mlp` with mini-batches and early stopping on a
validation split, and keep the epoch with the lowest validation loss. They
expect numeric inputs (the portfolio puts them behind
:func:`~automl_meta.learners.preprocessing.tabular_preprocessor`).

Two hooks connect them to the neural module:

* ``init=PATH``: start from a learned initialization (a checkpoint of kind
  ``"init"`` whose manifest has ``architecture`` from
  :func:`~automl_meta.neural.models.mlp_architecture` and ``input_columns``).
  The network takes the init's hidden sizes and activation (``hidden=None``,
  the default; ``meta-train tabular`` builds 40-40, not the portfolio's
  64-64), so every hidden tensor is loaded; the head keeps its fresh
  initialization when the number of outputs differs. The data's preprocessed
  columns are matched to the init's inputs by name (a one-hot level the data
  lacks is 0, one the init never saw is left out, with a warning); data that
  shares no input with it, an init of another task source (sinusoid, Omniglot),
  or a ``hidden`` or ``activation`` given explicitly that does not match raise
  :class:`~automl_meta.exceptions.ArtifactError`.
* ``optimizer="learned:PATH"``: train with
  :class:`automl_meta.neural.learned_optimizer.LearnedOptimizer` instead of Adam
  or SGD (imported only when asked for).

Randomness (weights, validation split, batch order) comes from ``random_state``
through a private ``torch.Generator``; global seeds are never touched.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn
from torch.func import functional_call

from automl_meta.exceptions import ArtifactError, UsageError
from automl_meta.neural.models import ACTIVATIONS, mlp

logger = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "sgd", "learned:PATH")
DEFAULT_HIDDEN = (64, 64)  # without an init (one sets its own)
DEFAULT_ACTIVATION = "relu"
MIN_ROWS_FOR_VALIDATION = 20  # below this, early stopping watches the training loss
PREDICT_CHUNK = 8192
TOLERANCE = 1e-4  # a validation loss must drop by this much to count as an improvement


@functools.lru_cache(maxsize=64)
def _warn_inputs(init: str, absent: tuple, unseen: tuple, categorical: tuple) -> None:
    """Once per init and difference (cross-validation fits one model per fold); ``categorical``: the init's such columns."""
    shown = lambda names: ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")  # noqa: E731
    levels = [n for n in unseen if any(n.startswith(f"{c}_") for c in categorical)]  # one-hot names: colour_red
    columns = [n for n in unseen if n not in levels]
    parts = [f"the data lacks its inputs {shown(absent)} (given as 0)" if absent else "",
             f"it never saw the levels {shown(levels)} (left out: an unseen level encodes as zeros)" if levels else "",
             f"it never saw the columns {shown(columns)} (left out)" if columns else ""]
    logger.warning("init %s: %s", init, "; ".join(p for p in parts if p))


def _reset_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """torch's default ``nn.Linear`` initialization, drawn from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(layer.in_features) if layer.in_features > 0 else 0.0
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


class _MLPTorchBase(BaseEstimator):
    """Shared training loop; subclasses define the target encoding and the loss."""

    def __init__(
        self,
        hidden=None,
        activation=None,
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=64,
        max_epochs=100,
        patience=10,
        validation_fraction=0.1,
        optimizer="adam",
        init=None,
        random_state=None,
    ):
        self.hidden = hidden
        self.activation = activation
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.optimizer = optimizer
        self.init = init
        self.random_state = random_state

    # -- subclass hooks -------------------------------------------------------------
    def _encode_target(self, y: np.ndarray) -> tuple[torch.Tensor, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss(self) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- training -------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.activation is not None and self.activation not in ACTIVATIONS:
            raise UsageError(f"unknown activation {self.activation!r}: use one of {', '.join(sorted(ACTIVATIONS))}")
        if self.init is not None and not str(self.init).strip():
            raise UsageError("init is an empty path: give an init checkpoint of `automl-meta meta-train tabular`, or None")
        if not (self.optimizer in ("adam", "sgd") or str(self.optimizer).startswith("learned:")):
            raise UsageError(f"unknown optimizer {self.optimizer!r}: use adam, sgd or learned:PATH")
        if str(self.optimizer).startswith("learned:"):
            if not str(self.optimizer).removeprefix("learned:").strip():
                raise UsageError("optimizer 'learned:' needs the learned optimizer's checkpoint: learned:PATH")
            if self.weight_decay:  # it would be silently unused: the learned optimizer's steps have no decay term
                raise UsageError(f"weight_decay={self.weight_decay!r} applies to adam and sgd; a learned optimizer takes none: "
                                 "leave weight_decay at 0")
        fraction = self.validation_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0.0 <= fraction < 1.0:
            raise UsageError(f"validation_fraction must be a number in [0, 1), got {fraction!r}")
        for name in ("learning_rate", "weight_decay"):  # torch raised its own ValueError in fit
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise UsageError(f"{name} must be a non-negative finite number, got {value!r}")
        for name in ("batch_size", "max_epochs", "patience"):  # int() read "32" and cut 2.7 to 2, True as 1
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise UsageError(f"{name} must be a positive integer, got {value!r}")
        layers = self._hidden_layers()
        if self.hidden is not None and (isinstance(self.hidden, (str, bytes, bool)) or not isinstance(layers, (list, tuple))
                                        or not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1
                                                   for h in layers)):
            raise UsageError(f"hidden must be a layer width or a sequence of them (positive integers, e.g. (64, 64)), "
                             f"got {self.hidden!r}")  # "16" built layers of 1 and 6

    def _hidden_layers(self):
        """``hidden`` as a sequence of widths: an int is one layer's width, as in scikit-learn."""
        return [self.hidden] if isinstance(self.hidden, numbers.Integral) else self.hidden

    def _make_optimizer(self, module: nn.Module) -> torch.optim.Optimizer:
        if self.optimizer == "adam":
            return torch.optim.Adam(module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        if self.optimizer == "sgd":
            return torch.optim.SGD(module.parameters(), lr=self.learning_rate, momentum=0.9, weight_decay=self.weight_decay)
        from automl_meta.neural.learned_optimizer import LearnedOptimizer

        return LearnedOptimizer(module.parameters(), checkpoint=self.optimizer.removeprefix("learned:"))

    def _validation_split(self, y_codes: np.ndarray, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
        """Row indices ``(train, validation)``; stratified for classes when every class allows it."""
        n = len(y_codes)
        n_val = int(round(self.validation_fraction * n))
        if n < MIN_ROWS_FOR_VALIDATION or n_val < 1:
            return np.arange(n), np.arange(0)
        if isinstance(self, ClassifierMixin):
            classes, counts = np.unique(y_codes, return_counts=True)
            if counts.min() >= 2 and len(classes) <= n_val <= n - len(classes):
                from sklearn.model_selection import train_test_split

                train, val = train_test_split(np.arange(n), test_size=n_val, stratify=y_codes, random_state=rng)
                return np.sort(train), np.sort(val)
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _fit(self, X, y_encoded: torch.Tensor, n_outputs: int, y_codes: np.ndarray):
        self._check_params()
        rng = check_random_state(self.random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
        self.input_map_ = None  # set by _read_init where the data's columns are matched to the init's
        state, manifest = self._read_init(X.shape[1]) if self.init is not None else (None, None)
        X = self._aligned(np.asarray(X))
        hidden, activation = self._network_shape(manifest)
        self.hidden_, self.activation_ = hidden, activation  # what was built: hidden/activation may be None (the init's)
        module = mlp(X.shape[1], hidden, n_outputs, activation)
        _reset_parameters(module, generator)
        if state is not None:
            self._load_init(module, state, n_outputs)
        train_idx, val_idx = self._validation_split(y_codes, rng)
        X_t = torch.tensor(np.asarray(X, dtype=np.float32))
        X_train, y_train = X_t[train_idx], y_encoded[train_idx]
        X_val, y_val = X_t[val_idx], y_encoded[val_idx]
        loss_fn = self._loss()
        opt = self._make_optimizer(module)
        batch = max(1, min(int(self.batch_size), len(train_idx)))
        best_loss, best_state, best_epoch, stale = math.inf, copy.deepcopy(module.state_dict()), 0, 0
        history = []
        epoch = 0
        for epoch in range(1, int(self.max_epochs) + 1):
            module.train()
            order = torch.randperm(len(train_idx), generator=generator)
            total = 0.0
            for start in range(0, len(order), batch):
                rows = order[start : start + batch]
                opt.zero_grad()
                loss = loss_fn(module(X_train[rows]), y_train[rows])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(rows)
            module.eval()
            if len(val_idx):
                with torch.no_grad():
                    monitored = float(loss_fn(module(X_val), y_val))
            else:
                monitored = total / max(1, len(order))
            if not math.isfinite(monitored):
                logger.debug("stopping at epoch %d: the loss is not finite", epoch)
                break
            history.append(monitored)
            if monitored < best_loss - TOLERANCE:
                best_loss, best_epoch, stale = monitored, epoch, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                stale += 1
                if stale >= int(self.patience):
                    break
        module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.n_iter_ = epoch
        self.best_epoch_ = best_epoch
        self.best_loss_ = best_loss
        self.loss_curve_ = history
        self.early_stopping_on_ = "validation" if len(val_idx) else "training"
        return self

    def _network_shape(self, manifest: dict | None) -> tuple[tuple[int, ...], str]:
        """``(hidden, activation)``: as given, else the init's, else 64-64 ReLU.

        An init's tensors load only into a network of its own hidden sizes, so
        those are adopted; one given explicitly that differs is refused rather
        than leaving all but the output bias freshly initialized.
        """
        arch = (manifest or {}).get("architecture") or {}
        recorded_hidden = None if arch.get("hidden") is None else tuple(int(h) for h in arch["hidden"])
        layers = self._hidden_layers()
        given_hidden = None if layers is None else tuple(int(h) for h in layers)
        options = {
            "hidden": (given_hidden, recorded_hidden, DEFAULT_HIDDEN),
            "activation": (self.activation, arch.get("activation"), DEFAULT_ACTIVATION),
        }
        chosen = {}
        for name, (given, recorded, default) in options.items():
            if given is not None and recorded is not None and given != recorded:
                raise ArtifactError(
                    f"{self.init}: the initialization was meta-trained with {name}={recorded!r}, not {given!r}; "
                    f"leave {name} unset (the init's is used) or give {name}={recorded!r}"
                )
            chosen[name] = next(value for value in (given, recorded, default) if value is not None)
        if chosen["activation"] not in ACTIVATIONS:
            raise ArtifactError(f"{self.init}: the initialization's activation {chosen['activation']!r} is not one of {', '.join(sorted(ACTIVATIONS))}")
        return chosen["hidden"], chosen["activation"]

    def _read_init(self, n_features: int) -> tuple[dict, dict]:
        """The ``init`` checkpoint's ``(state_dict, manifest)``, refused unless it is a tabular MLP for these inputs.

        Where the data's preprocessed columns are named (a pipeline's one-hot levels: colour_red...),
        they are matched to the init's by name (:meth:`_align_inputs`); else their number must agree.
        """
        from automl_meta.io.checkpoint import load_checkpoint

        state, manifest = load_checkpoint(self.init, kind="init")
        arch = manifest.get("architecture") or {}
        if arch.get("kind", "mlp") != "mlp":
            raise ArtifactError(f"{self.init}: holds a {arch.get('kind')!r} network, but mlp_torch needs an 'mlp' initialization")
        if manifest.get("task_source", "tabular") != "tabular":
            raise ArtifactError(f"{self.init}: a {manifest['task_source']!r} initialization, whose inputs are no table's columns; "
                                "mlp_torch takes one from `automl-meta meta-train tabular`")
        loss = "cross_entropy" if isinstance(self, ClassifierMixin) else "mse"
        if manifest.get("loss", loss) != loss:
            logger.warning("init %s was meta-trained with the %s loss, this is %s: only its hidden layers carry over",
                           self.init, manifest["loss"], "a classifier" if loss == "cross_entropy" else "a regressor")
        # the preprocessed names the init saw (one-hot levels: colour_red...); older inits record the table's columns only
        columns = (manifest.get("tasks") or {}).get("encoded_columns") or manifest.get("input_columns")
        names = getattr(self, "feature_names_in_", None)
        if columns is not None and names is not None:
            categorical = [str(c) for c in (manifest.get("tasks") or {}).get("categorical_columns") or []]
            self.input_map_ = self._align_inputs([str(c) for c in columns], [str(c) for c in names], categorical)
            return state, manifest
        expected = arch.get("in_features", len(columns) if columns is not None else None)
        if expected is not None and int(expected) != n_features:
            raise ArtifactError(
                f"{self.init}: the initialization expects {expected} input features, but the data has {n_features} "
                "after preprocessing; meta-train it on data with the same columns or drop init"
            )
        return state, manifest

    def _align_inputs(self, columns: list[str], names: list[str], categorical: list[str]) -> np.ndarray | None:
        """Where each of the init's inputs is among the data's (-1: absent, given as 0), or None when they are the same.

        A one-hot level the data lacks (absent from this table or fold) is 0, as it would be
        for these rows; a level the init never saw is left out, so that its rows encode as
        zeros, as ``finetune`` encodes them; an absent numeric column is 0, its mean after
        standardization. Refused when the two share no column at all. ``categorical``: the init's
        categorical columns, whose one-hot names the warning tells apart from whole columns.
        """
        if columns == names:
            return None
        where = {name: i for i, name in enumerate(names)}
        mapping = np.array([where.get(column, -1) for column in columns])
        if (mapping < 0).all():
            raise ArtifactError(f"{self.init}: none of the initialization's {len(columns)} inputs ({', '.join(columns[:3])}, ...) "
                                f"is among the data's ({', '.join(names[:3])}, ...); meta-train it on a table like this one")
        absent = [c for c in columns if c not in where]
        unseen = sorted(set(names) - set(columns))
        if absent or unseen:
            _warn_inputs(str(self.init), tuple(absent), tuple(unseen), tuple(sorted(categorical)))
        return mapping

    def _aligned(self, X: np.ndarray) -> np.ndarray:
        """``X`` with the init's inputs in its order (see :meth:`_align_inputs`)."""
        mapping = getattr(self, "input_map_", None)
        if mapping is None:
            return X
        out = np.zeros((X.shape[0], len(mapping)), dtype=X.dtype)
        present = mapping >= 0
        out[:, present] = X[:, mapping[present]]
        return out

    def _load_init(self, module: nn.Module, state: dict, n_outputs: int) -> None:
        """Copy the init's tensors into ``module``; only the head may differ (another number of classes)."""
        own = module.state_dict()
        head = [key for key in own if key.startswith(f"{len(module) - 1}.")]
        skipped = []
        for key, value in state.items():
            if key not in own:
                continue  # not a weight of the network: Meta-SGD rates (inner_lr.*), Reptile's Adam moments (adam.*)
            if tuple(own[key].shape) == tuple(value.shape):
                own[key] = value.to(own[key].dtype)
            else:
                skipped.append(key)
        wrong = sorted([key for key in own if key not in state] + [key for key in skipped if key not in head])
        if wrong:
            raise ArtifactError(f"{self.init}: the initialization does not fit the network (tensors {wrong} are missing or of another shape)")
        module.load_state_dict(own)
        if skipped:
            outputs = int(state[skipped[0]].shape[0])
            logger.info("init %s: the output layer keeps a fresh initialization (the init has %d outputs, this task %d)", self.init, outputs, n_outputs)

    # -- prediction -----------------------------------------------------------------
    def _forward(self, X) -> np.ndarray:
        """The network's outputs in float64 (so results do not depend on batch sizes)."""
        check_is_fitted(self, "module_")
        X = self._aligned(validate_data(self, X, reset=False, dtype=np.float64))
        params = {k: v.detach().double() for k, v in self.module_.named_parameters()}
        outputs = []
        with torch.no_grad():
            for start in range(0, X.shape[0], PREDICT_CHUNK):
                chunk = torch.tensor(X[start : start + PREDICT_CHUNK])
                outputs.append(functional_call(self.module_, params, (chunk,)).numpy())
        return np.concatenate(outputs)


class MLPTorchClassifier(ClassifierMixin, _MLPTorchBase):
    """A torch MLP classifier with early stopping (cross-entropy loss).

    Parameters
    ----------
    hidden : tuple of int, optional
        Widths of the hidden layers; default the ``init``'s, else (64, 64).
    activation : {"relu", "tanh", "sigmoid", "gelu"}, optional
        Default the ``init``'s, else "relu".
    learning_rate : float, default 1e-3
        Step size of Adam or SGD (unused by a learned optimizer).
    weight_decay : float, default 0.0
    batch_size : int, default 64
    max_epochs : int, default 100
        Upper bound on passes over the training rows.
    patience : int, default 10
        Epochs without a validation-loss improvement of ``1e-4`` before stopping.
    validation_fraction : float, default 0.1
        Held-out share of the rows (stratified when possible) that early stopping
        watches; with fewer than 20 rows or 0.0 the training loss is watched.
    optimizer : {"adam", "sgd"} or "learned:PATH", default "adam"
        A learned optimizer uses neither ``learning_rate`` nor ``weight_decay`` (the latter is refused).
    init : str or Path, optional
        A learned initialization checkpoint of ``meta-train tabular`` (see the module docstring). The
        data's preprocessed columns are matched to its inputs by name: a one-hot level or column the
        data lacks is 0, a level the init never saw is left out (its rows encode as zeros), with a warning.
    random_state : int, RandomState or None
        Seeds weights, the validation split and the batch order.

    Attributes
    ----------
    classes_ : ndarray
    module_ : torch.nn.Sequential
        The network at its best epoch.
    hidden_, activation_ : tuple of int, str
        The hidden sizes and activation it was built with (given, else the init's, else 64-64 ReLU).
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
    loss_curve_ : list of float
        The monitored loss after each epoch.
    """

    def fit(self, X, y):
        """Train on ``X`` (numeric, n_samples x n_features) and class labels ``y``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but the data contains only one class: {self.classes_[0]!r}"
            )
        return self._fit(X, torch.tensor(codes, dtype=torch.long), len(self.classes_), codes)

    def _loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        logits = self._forward(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class MLPTorchRegressor(RegressorMixin, _MLPTorchBase):
    """A torch MLP regressor with early stopping (squared loss on a standardized target).

    Parameters are those of :class:`MLPTorchClassifier`. The target is
    standardized with its training mean and standard deviation (``y_mean_``,
    ``y_scale_``) and predictions are mapped back to its units.
    """

    def fit(self, X, y):
        """Train on ``X`` (numeric) and a numeric target ``y``."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_ = float(y.mean())
        scale = float(y.std())
        self.y_scale_ = scale if scale > 0 and math.isfinite(scale) else 1.0
        scaled = ((y - self.y_mean_) / self.y_scale_).astype(np.float32)
        return self._fit(X, torch.tensor(scaled).unsqueeze(1), 1, scaled)

    def _loss(self) -> nn.Module:
        return nn.MSELoss()

    def predict(self, X) -> np.ndarray:
        """Predicted target values in the units of the training target."""
        return self._forward(X)[:, 0] * self.y_scale_ + self.y_mean_
