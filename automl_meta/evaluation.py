"""The cross-validation protocol shared by ``automl-meta evaluate`` and the meta-database builder.

One call of :func:`evaluate` scores a set of candidate learners on one dataset:

1. optionally cap the rows (``max_rows``: a stratified subsample, recorded);
2. for classification, drop the classes with fewer rows than folds (they
   cannot appear in every test fold), or, when that would leave one class,
   use fewer folds; both are recorded in ``EvaluationResult.notes``; for
   regression, refuse more folds than half the rows (a test fold needs 2 rows);
3. draw the folds once, with a fixed seed (stratified k-fold for
   classification, shuffled k-fold for regression, ``repeats`` times), and use
   the same folds for every learner;
4. fit and score each learner on every fold, computing every metric of the
   task (:data:`METRICS`) and timing fit and predict;
5. rank the learners by the chosen metric, in its direction: ``mean`` is
   always in the metric's natural units, so for ``log_loss``, ``rmse`` and
   ``mae`` lower is better and comes first.

A learner that raises is recorded with status ``failed`` and a one-line reason;
with ``timeout``, one whose fit (plus predict) on a fold runs longer is killed
(it runs in a worker process) and recorded as ``timeout``. The run goes on.
"""

from __future__ import annotations

import math
import os
import uuid
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from automl_meta.exceptions import DatasetError, UsageError
from automl_meta.learners import PORTFOLIO_VERSION, LearnerSpec, get_learners
from automl_meta.learners.cv_runner import FoldContext, interrupts_counted, run_folds
from automl_meta.learners.metrics import METRICS, check_metric, default_metric, metrics_for
from automl_meta.numbers import check_seed

__all__ = ["METRICS", "EvaluationResult", "LearnerResult", "default_metric", "evaluate", "make_folds", "subsample"]

STATUSES = ("ok", "failed", "timeout")


@dataclass(frozen=True)
class LearnerResult:
    """The cross-validated outcome of one learner on one dataset.

    Attributes
    ----------
    learner : str
    status : {"ok", "failed", "timeout"}
    mean, std : float
        Mean and standard deviation (``ddof=0``) over folds of the ranking
        metric, in its natural units; NaN unless ``status == "ok"``.
    fold_scores : list of float
        The ranking metric on each fold (``cv * repeats`` values when ``ok``).
    scores : dict
        Every metric of the task -> its per-fold values.
    fit_seconds, predict_seconds : float
        Mean seconds per fold (fit includes preprocessing; predict includes
        ``predict_proba``); over the folds that finished.
    reason : str
        Why it failed or timed out, or a note on metrics that were undefined on
        some fold; empty otherwise.
    """

    learner: str
    status: str
    mean: float = math.nan
    std: float = math.nan
    fold_scores: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    fit_seconds: float = math.nan
    predict_seconds: float = math.nan
    reason: str = ""

    def as_dict(self) -> dict:
        return {
            "learner": self.learner,
            "status": self.status,
            "mean": self.mean,
            "std": self.std,
            "fold_scores": list(self.fold_scores),
            "scores": {k: list(v) for k, v in self.scores.items()},
            "fit_seconds": self.fit_seconds,
            "predict_seconds": self.predict_seconds,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class EvaluationResult:
    """All learners' results on one dataset, best first (failed and timed-out last).

    ``n_rows`` is the number of rows cross-validated (after ``max_rows`` and
    dropped rare classes); ``cv`` the number of folds actually used;
    ``notes`` says what was changed and why.
    """

    task: str
    metric: str
    greater_is_better: bool
    n_rows: int
    n_features: int
    cv: int
    repeats: int
    max_rows: int | None
    random_state: int | None
    results: tuple[LearnerResult, ...]
    notes: tuple[str, ...] = ()
    n_rows_original: int = 0
    portfolio_version: str = PORTFOLIO_VERSION

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "maximize": self.greater_is_better,  # the same, under the name recommend's and selector evaluate's JSON use
            "n_rows": self.n_rows,
            "n_rows_original": self.n_rows_original,
            "n_features": self.n_features,
            "cv": self.cv,
            "repeats": self.repeats,
            "max_rows": self.max_rows,
            "random_state": self.random_state,
            "portfolio_version": self.portfolio_version,
            "notes": list(self.notes),
            "results": [r.as_dict() for r in self.results],
        }

    def result(self, learner: str) -> LearnerResult:
        """The result of the learner named ``learner``."""
        for r in self.results:
            if r.learner == learner:
                return r
        raise KeyError(learner)


# -- data preparation -----------------------------------------------------------------

def _take(dataset, rows: np.ndarray):
    rows = np.sort(np.asarray(rows))
    return replace(dataset, X=dataset.X.iloc[rows].reset_index(drop=True), y=dataset.y.iloc[rows].reset_index(drop=True))


def _allocate(counts: np.ndarray, total: int, floor: np.ndarray) -> np.ndarray:
    """Rows to take from each group: proportional to ``counts``, at least ``floor``, summing to ``total``."""
    ideal = counts * total / counts.sum()
    alloc = np.maximum(np.floor(ideal).astype(int), floor)
    while alloc.sum() > total:
        alloc[np.argmax(np.where(alloc > floor, alloc - ideal, -np.inf))] -= 1
    while alloc.sum() < total:
        alloc[np.argmax(np.where(alloc < counts, ideal - alloc, -np.inf))] += 1
    return alloc


def subsample(dataset, max_rows: int, random_state=0, min_per_class: int = 5):
    """At most ``max_rows`` rows, stratified: by class for classification (every class keeps
    ``min(its rows, min_per_class)``, so that many classes may make the sample larger than
    ``max_rows``), by target decile for regression. Row order is kept."""
    n = dataset.n_rows
    if max_rows >= n:
        return dataset
    rng = np.random.default_rng(random_state)
    y = dataset.y
    if dataset.task == "classification":
        labels, floor_each = y.to_numpy(), min_per_class
    else:
        labels, floor_each = pd.qcut(y.rank(method="first"), q=min(10, max_rows), labels=False).to_numpy(), 0
    groups = [np.flatnonzero(labels == g) for g in sorted(pd.unique(labels))]
    counts = np.array([len(g) for g in groups])
    floor = np.minimum(counts, floor_each)
    alloc = _allocate(counts, max(int(max_rows), int(floor.sum())), floor)
    rows = np.concatenate([rng.choice(g, size=a, replace=False) for g, a in zip(groups, alloc)])
    return _take(dataset, rows)


def _drop_rare_classes(dataset, cv: int, notes: list[str]):
    """Remove classes with fewer rows than folds, or lower ``cv`` when that would leave one class.

    Classes of a single row, which no split can hold out and train on, go first; then the
    rule above applies to the rest (3, 1 and 20 rows with 5 folds: the 1 goes, then 3 folds).
    """
    counts = dataset.y.value_counts()
    single = counts[counts < 2]
    if not single.empty and len(counts) - len(single) >= 2:
        shown = ", ".join(repr(c) for c in single.index)
        notes.append(f"dropped {len(single)} rows of classes with a single row: {shown}")
        dataset = _take(dataset, np.flatnonzero(~dataset.y.isin(single.index).to_numpy()))
        counts = dataset.y.value_counts()
    rare = counts[counts < cv]
    if rare.empty:
        return dataset, cv
    if len(counts) - len(rare) >= 2:
        keep = ~dataset.y.isin(rare.index).to_numpy()
        shown = ", ".join(f"{c!r} ({n})" for c, n in rare.items())
        notes.append(f"dropped {int(rare.sum())} rows of classes with fewer rows than the {cv} folds: {shown}")
        return _take(dataset, np.flatnonzero(keep)), cv
    smallest = int(counts.min())
    if smallest < 2:
        larger = int((counts >= 2).sum())
        what = ("every class has a single row" if larger == 0 else
                f"class {counts.idxmin()!r} has a single row and only one other class has more")
        raise DatasetError(f"{dataset.name}: {what}; cross-validation needs two classes of at least 2 rows: "
                           "add rows of another class")
    notes.append(f"cv reduced from {cv} to {smallest} folds: class {counts.idxmin()!r} has only {smallest} rows")
    return dataset, smallest


def make_folds(dataset, cv: int = 5, repeats: int = 1, random_state=0) -> tuple:
    """``((train_idx, test_idx), ...)``: stratified for classification, shuffled k-fold for regression."""
    from sklearn.model_selection import KFold, RepeatedKFold, RepeatedStratifiedKFold, StratifiedKFold

    if dataset.task == "classification":
        splitter = (
            StratifiedKFold(cv, shuffle=True, random_state=random_state)
            if repeats == 1
            else RepeatedStratifiedKFold(n_splits=cv, n_repeats=repeats, random_state=random_state)
        )
    else:
        splitter = (
            KFold(cv, shuffle=True, random_state=random_state)
            if repeats == 1
            else RepeatedKFold(n_splits=cv, n_repeats=repeats, random_state=random_state)
        )
    return tuple((train, test) for train, test in splitter.split(dataset.X, dataset.y))


# -- results ----------------------------------------------------------------------------

def _summarize(name: str, outcomes, status: str, reason: str, metric: str, names) -> LearnerResult:
    scores = {m: [o.scores[m] for o in outcomes] for m in names} if outcomes else {}
    fit = float(np.mean([o.fit_seconds for o in outcomes])) if outcomes else math.nan
    predict = float(np.mean([o.predict_seconds for o in outcomes])) if outcomes else math.nan
    if status != "ok":
        return LearnerResult(name, status, fold_scores=scores.get(metric, []), scores=scores, fit_seconds=fit, predict_seconds=predict, reason=reason)
    folds = np.asarray(scores[metric], dtype=float)
    finite = folds[np.isfinite(folds)]
    problems = sorted({f"{m}: {e}" for o in outcomes for m, e in o.errors.items()})
    if finite.size == 0:
        return LearnerResult(name, "failed", fold_scores=list(folds), scores=scores, fit_seconds=fit, predict_seconds=predict,
                             reason=f"{metric} undefined on every fold ({problems[0] if problems else 'not finite'})")
    note = "; ".join(problems)[:300]
    if finite.size < folds.size:
        note = f"{metric} undefined on {folds.size - finite.size} of {folds.size} folds; mean over the rest" + (f" ({note})" if note else "")
    std = float(finite.std())
    std = 0.0 if std < 1e-12 * max(1.0, abs(float(finite.mean()))) else std  # identical folds, up to rounding
    return LearnerResult(name, "ok", float(finite.mean()), std, list(folds), scores, fit, predict, note)


def _rank(results, greater_is_better: bool) -> tuple[LearnerResult, ...]:
    sign = -1.0 if greater_is_better else 1.0

    def key(r: LearnerResult):
        if r.status == "ok" and math.isfinite(r.mean):
            return (0, sign * r.mean, r.learner)
        return (1 if r.status == "ok" else 2, 0.0, r.learner)

    return tuple(sorted(results, key=key))


# -- the protocol -----------------------------------------------------------------------

def _resolve_learners(task: str, learners) -> list[LearnerSpec]:
    if learners is None or (isinstance(learners, str) and learners == "all"):
        return get_learners(task)
    if isinstance(learners, str):
        return get_learners(task, learners)
    specs, names = [], []
    for item in learners:
        if isinstance(item, LearnerSpec):
            if not item.supports(task):
                raise UsageError(f"learner {item.name!r} serves {item.task}, not {task}")
            specs.append(item)
        else:
            names.append(str(item))
            specs.append(None)
    named = iter(get_learners(task, names)) if names else iter(())
    specs = [s if s is not None else next(named) for s in specs]
    seen = set()
    for s in specs:
        if s.name in seen:
            raise UsageError(f"learner {s.name!r} is listed twice")
        seen.add(s.name)
    return specs


def _whole(name: str, value) -> None:
    """Refuse a count that is no integer (2.5 folds ran as 2)."""
    from numbers import Integral

    if isinstance(value, bool) or not isinstance(value, Integral):
        raise UsageError(f"{name} must be an integer, got {value!r}")


def _check_options(cv, repeats, timeout, n_jobs, max_rows, budget=None) -> int:
    for name, value in (("cv (--cv)", cv), ("repeats (--repeats)", repeats), ("n_jobs (--jobs)", n_jobs)):
        _whole(name, value)
    if max_rows is not None:
        _whole("max_rows (--max-rows)", max_rows)
    if int(cv) < 2:
        raise UsageError(f"cv (--cv) must be 2 or more, got {cv}")
    if int(repeats) < 1:
        raise UsageError(f"repeats (--repeats) must be 1 or more, got {repeats}")
    if timeout is not None and not float(timeout) > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {timeout}")
    if budget is not None and not float(budget) > 0:
        raise UsageError(f"the time budget must be a positive number of seconds, got {budget}")
    if max_rows is not None and int(max_rows) < 2 * int(cv):
        raise UsageError(f"--max-rows {max_rows} is too small for {cv} folds; give at least {2 * int(cv)}")
    n_jobs = int(n_jobs)
    if n_jobs == 0 or n_jobs < -1:
        raise UsageError(f"--jobs must be a positive number or -1 (all cores), got {n_jobs}")
    return (os.cpu_count() or 1) if n_jobs == -1 else n_jobs


def evaluate(
    dataset,
    learners=None,
    cv: int = 5,
    metric: str | None = None,
    timeout: float | None = None,
    n_jobs: int = 1,
    random_state: int | None = 0,
    max_rows: int | None = None,
    repeats: int = 1,
    on_result=None,
    budget: float | None = None,
) -> EvaluationResult:
    """Cross-validate learners on ``dataset`` with the shared protocol (see the module docstring).

    Parameters
    ----------
    dataset : automl_meta.dataset.Dataset
    learners : None, "all", "a,b", list of names or of :class:`LearnerSpec`
        ``None`` means every learner serving the dataset's task. Specs need not
        be registered (tests plant learners that raise or hang).
    cv, repeats : int
        Folds, and how many times the k-fold split is redrawn.
    metric : str, optional
        The ranking metric (default: balanced_accuracy or r2). Every metric
        of the task is computed anyway, in ``LearnerResult.scores``.
    timeout : float, optional
        Seconds allowed per fit (fit and predict of one fold). With a timeout,
        or ``n_jobs > 1``, learners run in worker processes and a learner over
        the limit is killed; otherwise they run here, one after the other.
    n_jobs : int
        Learners evaluated at the same time (-1: one per core).
    random_state : int
        Seeds the subsample, the folds and every learner.
    max_rows : int, optional
        Cap on the rows cross-validated (stratified subsample first).
    on_result : callable, optional
        Called with each :class:`LearnerResult` as soon as its learner finishes.
    budget : float, optional
        Seconds for all learners together (worker processes, as with
        ``timeout``): when they run out, unfinished learners are stopped and
        recorded as ``timeout``.

    Returns
    -------
    EvaluationResult
    """
    task = dataset.task
    metric = check_metric(task, metric)
    specs = _resolve_learners(task, learners)
    n_jobs = _check_options(cv, repeats, timeout, n_jobs, max_rows, budget)
    random_state = check_seed(random_state)
    cv, repeats = int(cv), int(repeats)
    notes: list[str] = []
    data = dataset
    if max_rows is not None and dataset.n_rows > int(max_rows):
        data = subsample(dataset, int(max_rows), random_state=random_state, min_per_class=cv)
        strata = "by class" if task == "classification" else "by target decile"
        notes.append(f"subsampled {dataset.n_rows} -> {data.n_rows} rows (stratified {strata}, --max-rows)")
        if data.n_rows > int(max_rows):
            notes.append(f"more rows than --max-rows {max_rows}: each of the {data.y.nunique()} classes keeps at least {cv} rows "
                         f"(or all it has) for the {cv} folds")
    if task == "classification":
        data, cv = _drop_rare_classes(data, cv, notes)
    elif cv > data.n_rows // 2:
        raise UsageError(f"{dataset.name}: {cv} folds of {data.n_rows} rows leave test folds of fewer than 2 rows, where "
                         f"regression scores (R²) are undefined; give --cv {data.n_rows // 2} or fewer")
    names = metrics_for(task)
    classes = tuple(sorted(pd.unique(data.y))) if task == "classification" else ()
    context = FoldContext(
        dataset=data,
        folds=make_folds(data, cv, repeats, random_state),
        metrics=names,
        classes=classes,
        random_state=random_state,
        token=uuid.uuid4().hex,
    )
    results = []
    for index, outcomes, status, reason in _run(specs, context, timeout, n_jobs, budget):
        result = _summarize(specs[index].name, outcomes, status, reason, metric, names)
        results.append(result)
        if on_result is not None:
            on_result(result)
    greater = METRICS[metric].greater_is_better
    return EvaluationResult(
        task=task,
        metric=metric,
        greater_is_better=greater,
        n_rows=data.n_rows,
        n_features=data.n_features,
        cv=cv,
        repeats=repeats,
        max_rows=None if max_rows is None else int(max_rows),
        random_state=random_state,
        results=_rank(results, greater),
        notes=tuple(notes),
        n_rows_original=dataset.n_rows,
    )


def _run(specs, context: FoldContext, timeout, n_jobs: int, budget=None):
    """``(index, outcomes, status, reason)`` per learner, in this process or in killable workers."""
    if timeout is None and budget is None and n_jobs == 1:
        for index, spec in enumerate(specs):
            outcomes, status, reason = [], "ok", ""
            with interrupts_counted() as interrupts:
                for event in run_folds(spec, context):
                    if event[0] == "fold":
                        outcomes.append(event[2])
                    elif event[0] == "failed":
                        status, reason = "failed", event[1]
            if interrupts:  # a Ctrl-C (or SIGTERM) that a fit turned into its own error: stop, record nothing
                interrupts.raise_again()
            yield index, outcomes, status, reason
        return
    from automl_meta.learners.worker_pool import shared_pool

    with shared_pool(n_jobs) as pool:
        yield from pool.run(specs, context, timeout, budget)
