"""The metrics of the evaluation protocol, computed on every fold for every learner.

Scores are kept in their natural units: ``log_loss``, ``rmse`` and ``mae`` are
losses (lower is better, ``greater_is_better=False``); the others are scores
(higher is better). Ranking code reads the direction from :data:`METRICS`
instead of negating values.

Classification metrics are computed against the full, sorted list of classes
of the dataset, so a fold whose training rows lack a class still scores: that
class gets probability 0. ROC-AUC is the positive-class AUC for two classes
and the one-vs-rest macro average over the classes present in the fold's test
rows for more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from automl_meta.exceptions import UsageError

DEFAULT_METRICS = {"classification": "balanced_accuracy", "regression": "r2"}
# in each dataset's own target units: no ranking or regret can pool them across datasets (the largest targets decide)
TARGET_UNIT_METRICS = frozenset({"rmse", "mae"})


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its task, direction, and ``func(y_true, y_pred, proba, classes) -> float``."""

    name: str
    task: str
    greater_is_better: bool
    description: str
    func: Callable = None  # type: ignore[assignment]


def _balanced_accuracy(y, pred, proba, classes):
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, pred)


def _accuracy(y, pred, proba, classes):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, pred)


def _needs_proba(proba) -> None:
    if proba is None:
        raise ValueError("the learner has no predict_proba")


def _roc_auc(y, pred, proba, classes):
    from sklearn.metrics import roc_auc_score

    _needs_proba(proba)
    y = np.asarray(y)
    if len(classes) == 2:
        positive = y == classes[1]
        if positive.all() or not positive.any():
            raise ValueError("the fold's test rows hold one class only; ROC-AUC is undefined")
        return roc_auc_score(positive, proba[:, 1])
    aucs = []
    for j, c in enumerate(classes):
        positive = y == c
        if positive.any() and not positive.all():
            aucs.append(roc_auc_score(positive, proba[:, j]))
    if not aucs:
        raise ValueError("the fold's test rows hold one class only; ROC-AUC is undefined")
    return float(np.mean(aucs))


def _log_loss(y, pred, proba, classes):
    from sklearn.metrics import log_loss

    _needs_proba(proba)
    return log_loss(y, proba, labels=list(classes))


def _r2(y, pred, proba, classes):
    from sklearn.metrics import r2_score

    y = np.asarray(y, dtype=float)
    if len(y) and np.ptp(y) == 0:  # scikit-learn reports 1.0 (perfect) or 0.0 there, which a mean would take in
        raise ValueError("the fold's test rows hold one target value only; R2 is undefined")
    return r2_score(y, pred)


def _rmse(y, pred, proba, classes):
    from sklearn.metrics import root_mean_squared_error

    return root_mean_squared_error(y, pred)


def _mae(y, pred, proba, classes):
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(y, pred)


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("balanced_accuracy", "classification", True, "mean recall over classes (default for classification)", _balanced_accuracy),
        MetricSpec("accuracy", "classification", True, "share of rows classified correctly", _accuracy),
        MetricSpec("roc_auc", "classification", True, "ROC-AUC; one-vs-rest macro average for more than two classes", _roc_auc),
        MetricSpec("log_loss", "classification", False, "cross-entropy of the predicted probabilities (lower is better)", _log_loss),
        MetricSpec("r2", "regression", True, "coefficient of determination (default for regression)", _r2),
        MetricSpec("rmse", "regression", False, "root mean squared error, in target units (lower is better)", _rmse),
        MetricSpec("mae", "regression", False, "mean absolute error, in target units (lower is better)", _mae),
    )
}


def default_metric(task: str) -> str:
    """The ranking metric used when none is given: balanced accuracy or R2."""
    if task not in DEFAULT_METRICS:
        raise UsageError(f"unknown task {task!r}: use classification or regression")
    return DEFAULT_METRICS[task]


def metrics_for(task: str) -> tuple[str, ...]:
    """Names of every metric of ``task``, the default first."""
    default = default_metric(task)
    return (default, *(m for m, spec in METRICS.items() if spec.task == task and m != default))


def check_metric(task: str, metric: str | None) -> str:
    """``metric`` (or the task's default) after checking it belongs to ``task``."""
    if metric is None:
        return default_metric(task)
    valid = metrics_for(task)
    if metric not in valid:
        raise UsageError(f"metric {metric!r} does not apply to {task}; use one of {', '.join(valid)}")
    return metric


def align_proba(proba: np.ndarray, model_classes, classes) -> np.ndarray:
    """Probabilities with one column per class of ``classes`` (0 for classes the model never saw), rows summing to 1."""
    proba = np.asarray(proba, dtype=float)
    index = {c: j for j, c in enumerate(classes)}
    full = np.zeros((proba.shape[0], len(classes)))
    for j, c in enumerate(model_classes):
        full[:, index[c]] = proba[:, j]
    totals = full.sum(axis=1, keepdims=True)
    # only rows that do not already sum to 1: dividing a row by a sum of 1 - 1e-16 unties equal (saturated)
    # probabilities by one unit in the last place, which moved multiclass ROC-AUC by up to 5e-4 for forests
    # and 0.012 for gaussian_nb (TASK_SCORING_VERSION 4 of the portfolio)
    off = (totals > 0) & ~np.isclose(totals, 1.0, rtol=0.0, atol=1e-9)
    full = np.divide(full, totals, out=full.copy(), where=off)
    return np.where(totals > 0, full, 1.0 / len(classes))


def score_fold(task: str, names, y_true, y_pred, proba, classes) -> tuple[dict[str, float], dict[str, str]]:
    """Every metric in ``names`` for one fold: ``(scores, errors)``.

    A metric that cannot be computed (a fold with one class for ROC-AUC, NaN
    predictions) scores NaN and its one-line reason goes into ``errors``.
    """
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            scores[name] = float(METRICS[name].func(y_true, y_pred, proba, classes))
        except (ValueError, FloatingPointError) as exc:
            scores[name] = float("nan")
            errors[name] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return scores, errors
