"""Evaluation protocols for selectors: leave-one-dataset-out, given folds, several seeds.

Every selector is refitted on each fold's training datasets only; the held-out
datasets' scores are used only to score the choices. Two guards keep the
held-out dataset out of training:

- the training index is checked to be disjoint from the held-out index before
  every fit (:class:`ProtocolLeakError` otherwise);
- with ``drop_duplicates=True`` (default), training datasets whose meta-features
  are identical to a held-out dataset's (the same data under another name, common
  in public corpora) are dropped for that fold.

The SBS of each fold (the reference of the remaining gap) is chosen on that
fold's training datasets, by :class:`~automl_meta.selection.baselines.SingleBest`
(best mean normalized score; for runtimes the lowest mean PAR10), so the SBS
baseline's remaining gap is exactly 1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from automl_meta.exceptions import ProtocolLeakError, UsageError
from automl_meta.selection.baselines import SingleBest
from automl_meta.selection.metrics import METRIC_NAMES, bootstrap_interval, outcomes, summarize
from automl_meta.selection.normalize import orient

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class SelectorSpec:
    """A selector to evaluate: ``make(seed)`` returns a fresh unfitted estimator."""

    make: Callable[[int], object]
    seeded: bool = True  # False: same result for every seed, fitted once per fold


@dataclass
class SelectorResult:
    """Numbers for one selector: per seed, mean, spread and a bootstrap interval."""

    per_seed: list[dict[str, float]]
    mean: dict[str, float]
    std: dict[str, float]
    interval: dict[str, tuple[float, float]]
    per_dataset: pd.DataFrame = field(repr=False)
    error: str | None = None

    def to_dict(self) -> dict:
        return {
            "mean": self.mean,
            "std": self.std,
            # every metric of the mean, null where no interval was drawn (--bootstrap 0) or it is undefined
            "interval95": {k: list(self.interval[k]) if k in self.interval else None for k in (*self.mean, *self.interval)},
            "per_seed": self.per_seed,
            "error": self.error,
        }


def leave_one_out_folds(index: Sequence) -> pd.Series:
    """Each dataset is its own fold."""
    return pd.Series(np.arange(len(index)), index=pd.Index(index), name="fold")


def shuffled_folds(index: Sequence, k: int, seed: int = 0) -> pd.Series:
    """``k`` folds over the datasets, shuffled with ``seed``: ``k`` fits a selector instead of one a dataset."""
    if not 2 <= k <= len(index):
        raise UsageError(f"--folds {k}: give from 2 to the {len(index)} datasets")
    return pd.Series(np.random.default_rng(seed).permutation(len(index)) % k, index=pd.Index(index), name="fold")


def _row_keys(meta_X: pd.DataFrame) -> pd.Series:
    """A hash of each dataset's meta-feature row (NaN == NaN): equal rows, equal keys."""
    return pd.Series(pd.util.hash_pandas_object(meta_X.round(10).astype(float).fillna(np.inf), index=False).to_numpy(),
                     index=meta_X.index)


def _fold_plan(meta_X: pd.DataFrame, folds: pd.Series, drop_duplicates: bool) -> list[tuple]:
    """``(fold, test, training duplicates of test)`` per fold, both guards checked up front.

    The rows are hashed once (not once per fold: 3,000 leave-one-out folds took 120 s and
    480 MB before the first fit), and no fold's training index is built until it runs.
    """
    if drop_duplicates and len(meta_X) > 1 and (meta_X.nunique(dropna=False) <= 1).all():
        raise UsageError("the meta-features hold no information (all missing or constant), so every dataset looks "
                         "the same; give meta-features that vary between datasets")
    one_each = folds.nunique() == len(folds)  # leave-one-dataset-out: a fold is a dataset
    keys = _row_keys(meta_X) if drop_duplicates else pd.Series(dtype="uint64")
    same_row = {key: set(names) for key, names in keys.groupby(keys).groups.items() if len(names) > 1}  # rows twice or more
    plan = []
    for fold, test in folds.groupby(folds, sort=True).groups.items():
        test = pd.Index(test)
        copies = set().union(*(same_row.get(key, ()) for key in keys.reindex(test).dropna())) - set(test)  # in other folds
        dupes = pd.Index(sorted(copies, key=str))
        if len(folds) - len(test) - len(dupes) < 2:
            where = f"holding out {test[0]}" if one_each else f"fold {fold}"
            copies = (f" once its copies ({', '.join(map(str, dupes[:3]))}: the same meta-features) are left out too" if len(dupes) else "")
            fix = "give more datasets" if one_each else "use fewer folds or more datasets"
            raise UsageError(f"{where} leaves fewer than 2 training datasets{copies}; {fix}")
        plan.append((fold, test, dupes))
    return plan


def fold_splits(meta_X: pd.DataFrame, folds: pd.Series, drop_duplicates: bool = True):
    """``(train_index, test_index)`` per fold, with both guards applied: every fold is checked now, and each
    split made when it is taken (a sized iterable: ``len`` is the number of folds)."""
    return _Splits(folds, _fold_plan(meta_X, folds, drop_duplicates))


class _Splits:
    def __init__(self, folds: pd.Series, plan: list):
        self.folds, self.plan = folds, plan

    def __len__(self) -> int:
        return len(self.plan)

    def __iter__(self):
        folds = self.folds
        for fold, test, dupes in self.plan:
            train = pd.Index(folds.index[(folds != fold).to_numpy()])
            if len(dupes):
                logger.info("fold %s: dropping %d training duplicates of held-out datasets: %s", fold, len(dupes), list(dupes)[:5])
                train = train.difference(dupes, sort=False)
            if len(train.intersection(test)):
                raise ProtocolLeakError(f"fold {fold}: held-out datasets in the training data: {list(train.intersection(test))[:3]}")
            yield train, test


def _fit_predict(spec_make, seed, meta_X, scores, maximize, train, test):
    """Fit a fresh selector on ``train`` only and score the ``test`` datasets (higher = better)."""
    selector = spec_make(seed)
    selector.fit(meta_X.loc[train], scores.loc[train], maximize=maximize)
    seen = set(getattr(selector, "training_datasets_", train))
    if seen & set(test):
        raise ProtocolLeakError(f"a selector was trained on held-out datasets {sorted(seen & set(test))[:3]}")
    # selectors answer "higher = better"; the meta-model's predict is in metric units (lower = better
    # for a runtime), so its decision_function is what orders the learners
    scorer = getattr(selector, "decision_function", None) or selector.predict
    return scorer(meta_X.loc[test])


def _fold_unit(train, test, selectors, seeds, meta_X, scores, maximize, log_scores):
    """One fold: its SBS, each selector's predictions per seed, and the selectors that cannot serve these data."""
    best = SingleBest(log_scores=log_scores).fit(meta_X.loc[train], scores.loc[train], maximize=maximize).best_
    predictions, errors = {}, {}
    for name, spec in selectors.items():
        try:
            if spec.seeded:
                predictions[name] = [_fit_predict(spec.make, seed, meta_X, scores, maximize, train, test) for seed in seeds]
            else:
                pred = _fit_predict(spec.make, seeds[0], meta_X, scores, maximize, train, test)
                predictions[name] = [pred] * len(seeds)
        except UsageError as exc:  # a baseline that cannot serve these data (e.g. no simple features)
            errors[name] = str(exc)
    return pd.Series(best, index=test), predictions, errors


def _fold_units(splits, selectors, seeds, meta_X, scores, maximize, log_scores, n_jobs: int):
    """:func:`_fold_unit` over every split, in order; ``n_jobs > 1`` spreads the folds over processes."""
    args = (selectors, seeds, meta_X, scores, maximize, log_scores)
    if n_jobs == 1:
        return (_fold_unit(train, test, *args) for train, test in splits)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=fold_processes(n_jobs, len(splits)), return_as="generator")(
        delayed(_fold_unit)(train, test, *args) for train, test in splits)


def fold_processes(n_jobs: int, n_folds: int) -> int:
    """How many processes ``n_jobs`` folds get: joblib's reading of it (-1: every core), and none without a fold."""
    from joblib import effective_n_jobs

    return max(1, min(effective_n_jobs(n_jobs), n_folds))


def evaluate_selectors(
    meta_X: pd.DataFrame,
    scores: pd.DataFrame,
    maximize: bool,
    selectors: Mapping[str, SelectorSpec],
    folds: pd.Series | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    n_boot: int = 1000,
    drop_duplicates: bool = True,
    progress: Callable[[int], None] | None = None,
    log_scores: bool = False,
    n_jobs: int = 1,
) -> dict[str, SelectorResult]:
    """Evaluate every selector under the same folds and seeds.

    Parameters
    ----------
    meta_X, scores : datasets x meta-features and datasets x learners (raw metric values,
        NaN = failed; a runtime scenario passes PAR10 runtimes).
    maximize : direction of the metric.
    selectors : name -> :class:`SelectorSpec`.
    folds : dataset -> fold id; default leave-one-dataset-out.
    seeds : seeds of the seeded selectors (the protocol itself is deterministic).
    progress : called with 1 as each fold finishes, if given.
    log_scores : the scores are runtimes (PAR10): each fold's SBS is the lowest mean PAR10, as
        the SBS baseline's (the other selectors normalize log10 runtimes).
    n_jobs : processes over the folds (joblib; each selector fits with one thread). The
        numbers do not depend on it.
    """
    common = meta_X.index.intersection(scores.dropna(how="all").index)
    if len(common) < 3:
        raise UsageError(f"selector evaluation needs at least 3 datasets with scores and meta-features, found {len(common)}")
    meta_X, scores = meta_X.loc[common], scores.loc[common]
    folds = leave_one_out_folds(common) if folds is None else folds.reindex(common)
    if folds.isna().any():
        raise UsageError(f"{int(folds.isna().sum())} datasets have no fold; give a fold for every dataset")
    truth = orient(scores, maximize)
    splits = fold_splits(meta_X, folds, drop_duplicates)  # every fold checked now, each made when it runs
    seeds = list(seeds)
    predictions: dict[str, dict[int, list[pd.DataFrame]]] = {name: {s: [] for s in seeds} for name in selectors}
    errors: dict[str, str] = {}
    sbs = []
    for best, fold_predictions, fold_errors in _fold_units(splits, selectors, seeds, meta_X, scores, maximize, log_scores, n_jobs):
        sbs.append(best)
        for name, per_seed in fold_predictions.items():
            for seed, pred in zip(seeds, per_seed):
                predictions[name][seed].append(pred)
        for name, error in fold_errors.items():
            if name not in errors:
                logger.warning("selector %s skipped: %s", name, error)
                errors[name] = error
        if progress is not None:
            progress(1)
    sbs_choice = pd.concat(sbs)
    results = {}
    for name in selectors:
        if name in errors:
            nan = {m: float("nan") for m in METRIC_NAMES}
            results[name] = SelectorResult([], nan, nan, {}, pd.DataFrame(), error=errors[name])
            continue
        per_seed, frames = [], []
        for seed in seeds:
            rows = outcomes(truth, pd.concat(predictions[name][seed]), sbs_choice)
            per_seed.append(summarize(rows))
            frames.append(rows.assign(seed=seed))
        table = pd.DataFrame(per_seed)
        numeric = [c for c in frames[0].columns if c not in ("selected", "seed")]
        seed_mean = pd.concat(frames).groupby(level=0)[numeric].mean()
        results[name] = SelectorResult(
            per_seed=per_seed,
            mean={m: float(table[m].mean()) for m in METRIC_NAMES},
            std={m: float(table[m].std(ddof=0)) for m in METRIC_NAMES},
            interval=bootstrap_interval(seed_mean, n_boot=n_boot, random_state=0) if n_boot else {},
            per_dataset=pd.concat(frames),
        )
    return results
