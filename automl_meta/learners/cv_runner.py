"""Cross-validating one learner on fixed folds, as a stream of events.

:func:`run_folds` is what runs inside a worker process (or in the calling
process when no time limit is set). It yields small picklable events so the
caller can watch each fit's clock:

* ``("start", k)`` just before fold ``k`` is fitted,
* ``("fold", k, FoldOutcome)`` when fold ``k`` is scored,
* ``("failed", reason)`` when building, fitting or predicting raised (the
  learner stops there), and
* ``("done",)`` after the last fold.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from automl_meta.learners.metrics import align_proba, score_fold

MAX_REASON = 300


@dataclass(frozen=True)
class FoldContext:
    """Everything a learner needs to be cross-validated, shipped once per worker."""

    dataset: object  # automl_meta.dataset.Dataset
    folds: tuple  # ((train_idx, test_idx), ...)
    metrics: tuple[str, ...]
    classes: tuple = ()  # every class of the dataset, sorted (classification)
    random_state: int | None = 0
    token: str = ""


@dataclass(frozen=True)
class FoldOutcome:
    """Scores and timings of one fold."""

    scores: dict
    fit_seconds: float
    predict_seconds: float
    errors: dict = field(default_factory=dict)


class Interrupts(list):
    """The signals (numbers) that reached this process inside :func:`interrupts_counted`, first first."""

    def __init__(self):
        super().__init__()
        self.handlers: dict[int, Callable] = {}

    def raise_again(self) -> None:
        """Raise what the first signal's handler raises (KeyboardInterrupt for Ctrl-C)."""
        self.handlers[self[0]](self[0], None)
        raise KeyboardInterrupt  # a handler that raised nothing: still stop


@contextmanager
def interrupts_counted() -> Iterator[Interrupts]:
    """Record the Ctrl-C's (and SIGTERMs, where Python handles them) that reach this process in the block;
    each still goes to the handler in place.

    Compiled code can turn the KeyboardInterrupt it is handed into another
    exception (scikit-learn's HistGradientBoosting raised a ValueError about a
    buffer format), which :func:`run_folds` would record as the learner's
    failure; a record that is not empty tells the caller the run was interrupted,
    and :meth:`Interrupts.raise_again` stops it as the signal would have. Signal
    handlers can only be set from the main thread, and one not set from Python
    cannot be put back: there, where a signal is ignored, and for a SIGTERM left
    to its default action (the process ends at once), nothing is recorded.
    """
    received = Interrupts()
    originals = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if previous is None or previous == signal.SIG_IGN or (signum == signal.SIGTERM and not callable(previous)):
                continue
            originals[signum] = previous
            received.handlers[signum] = previous if callable(previous) else signal.default_int_handler

            def recording(number, frame, handler=received.handlers[signum]):
                received.append(number)
                handler(number, frame)

            signal.signal(signum, recording)
    try:
        yield received
    finally:
        for signum, previous in originals.items():
            signal.signal(signum, previous)


def one_line(exc: BaseException) -> str:
    """``"TypeName: first line of the message"``, at most ``MAX_REASON`` characters."""
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return message[:MAX_REASON]


def _one_fold(pipeline, ctx: FoldContext, train, test) -> FoldOutcome:
    from sklearn.base import clone

    dataset = ctx.dataset
    task = dataset.task
    X_train, X_test = dataset.X.iloc[train], dataset.X.iloc[test]
    y_train, y_test = dataset.y.iloc[train], dataset.y.iloc[test]
    model = clone(pipeline)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(X_test)
    proba = None
    if task == "classification" and hasattr(model, "predict_proba"):
        proba = align_proba(model.predict_proba(X_test), model.classes_, ctx.classes)
    predict_seconds = time.perf_counter() - start
    scores, errors = score_fold(task, ctx.metrics, y_test.to_numpy(), np.asarray(pred), proba, ctx.classes)
    return FoldOutcome(scores=scores, fit_seconds=fit_seconds, predict_seconds=predict_seconds, errors=errors)


def _single_thread_torch() -> None:
    """Keep torch (when a learner imported it) to one thread inside worker processes."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _quietly(function, *args):
    """Call ``function`` on one OpenMP/BLAS thread with warnings silenced.

    One thread: learners are parallelized across processes, never inside
    (HistGradientBoosting would otherwise take every core). Warnings: the
    convergence and metric warnings of a fit say nothing the scores do not.
    """
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        return function(*args)


def run_folds(spec, ctx: FoldContext, single_thread: bool = False):
    """Yield the events of cross-validating ``spec`` on ``ctx.folds`` (see the module docstring)."""
    try:
        pipeline = _quietly(spec.build, ctx.dataset, ctx.random_state)
    except Exception as exc:  # a learner's failure is a result, not a crash of the run
        yield ("failed", f"build: {one_line(exc)}")
        return
    if single_thread:
        _single_thread_torch()
    for k, (train, test) in enumerate(ctx.folds):
        yield ("start", k)
        try:
            outcome = _quietly(_one_fold, pipeline, ctx, train, test)
        except Exception as exc:  # recorded as status "failed" with this reason
            yield ("failed", f"fold {k + 1}: {one_line(exc)}")
            return
        yield ("fold", k, outcome)
    yield ("done",)
