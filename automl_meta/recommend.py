"""Orchestration only: dataset -> meta-features -> ranking -> :class:`Recommendation`.

No file I/O here: the caller passes a :class:`~automl_meta.dataset.Dataset`, a
fitted meta-model (:class:`automl_meta.selection.MetaModel` or anything with
its ``predict``/``explain``/``nearest`` verbs) and, optionally, meta-features
it already computed (the CLI reads them from the cache). :func:`evaluate_top`
checks the top of a ranking with the real cross-validation protocol, and
:func:`fit_winner` fits the chosen learner on all rows.

A typical session::

    rec = recommend(dataset, metamodel, metric="balanced_accuracy")
    rec = evaluate_top(dataset, rec, k=3)           # optional: real scores
    pipeline = fit_winner(dataset, rec.winner().learner)
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from automl_meta.dataset import Dataset, known_category_strings, markers_as_missing
from automl_meta.exceptions import AutomlMetaError, LearnerError, MetaDBContentError, UsageError
from automl_meta.numbers import finite_or_none

logger = logging.getLogger(__name__)

BIAS = "bias"
OTHER = "(other meta-features)"
# Meta-features whose range over the meta-database tells whether the meta-model extrapolates, and what they count.
SIZE_FEATURES = {"nr_inst": "rows", "nr_attr": "features", "nr_class": "classes"}


@dataclass(frozen=True)
class RankedLearner:
    """One candidate in a ranking.

    ``predicted_score`` is the meta-model's prediction in the metric's units
    (see :attr:`Recommendation.score_scale`), only an upper bound where
    ``predicted_at_most`` (a learner the model puts at or below the median one);
    ``lower``/``upper`` give its spread where the model offers one
    (``predict_interval``). ``measured_score`` is the meta-database's own score
    when it holds these very data, ``measured_status`` its stored evaluation's
    status (:func:`with_measured`). ``utility`` is the
    model's raw ranking value (higher = better). ``contributions`` (with
    ``--explain``) lists the meta-features that moved the utility most, signed,
    then the rest as ``(other meta-features)`` and the model's ``bias``: they
    sum to ``utility`` (LightGBM ``pred_contrib``). ``real_*`` are filled in by
    :func:`evaluate_top`. With a probe (:func:`automl_meta.probe.with_probe`),
    ``probe_score`` is the learner's cross-validated score on the probe's
    subsample (None where it failed), ``probe_fit_seconds`` its mean seconds
    per fit there, and ``model_rank`` its rank before the probe re-ordered the
    ranking.
    """

    rank: int
    learner: str
    predicted_score: float
    predicted_at_most: bool = False
    lower: float | None = None
    upper: float | None = None
    utility: float | None = None
    contributions: tuple[tuple[str, float], ...] = ()
    real_score: float | None = None
    real_std: float | None = None
    real_status: str | None = None
    real_rows: int | None = None
    real_seconds: float | None = None
    measured_score: float | None = None
    measured_status: str | None = None  # the stored evaluation's status: ok, failed, timeout, or "not stored"
    probe_score: float | None = None
    probe_fit_seconds: float | None = None
    model_rank: int | None = None

    def as_dict(self) -> dict:
        """Every key, always (None where an option was off or a value is unknown), so each entry has the same keys."""
        return {
            "rank": self.rank,
            "learner": self.learner,
            "predicted_score": self.predicted_score,
            "predicted_at_most": self.predicted_at_most,
            "interval": [self.lower, self.upper] if self.lower is not None else None,
            "utility": self.utility,
            "contributions": [{"feature": f, "contribution": c} for f, c in self.contributions] if self.contributions else None,
            "measured_score": self.measured_score,
            "measured_status": self.measured_status,
            "probe_score": self.probe_score,
            "probe_fit_seconds": self.probe_fit_seconds,
            "model_rank": self.model_rank,
            "real_score": self.real_score,
            "real_std": self.real_std,
            "real_status": self.real_status,
            "real_rows": self.real_rows,
            "real_seconds": self.real_seconds,
        }


@dataclass(frozen=True)
class Recommendation:
    """A ranking of every candidate the meta-database knows for the dataset's task."""

    dataset: str
    task: str
    target: str
    metric: str
    maximize: bool
    ranking: tuple[RankedLearner, ...]
    nearest_datasets: tuple[tuple[str, float], ...] = ()
    metafeatures: dict = field(default_factory=dict, repr=False)
    metafeature_seconds: float = 0.0
    metafeatures_cached: bool = False  # read from the meta-feature cache, not extracted
    ranking_seconds: float = 0.0
    evaluation_seconds: float | None = None
    evaluation_notes: tuple[str, ...] = ()  # what the evaluation of the top learners changed (rare classes dropped, fewer folds)
    score_scale: str = "metric"
    n_rows: int = 0
    n_features: int = 0
    in_metadb: str | None = None  # the meta-database's name for these very data, when it holds them
    probe: dict | None = None  # what the probe did, if one ran (keys: automl_meta.probe.with_probe)
    # SIZE_FEATURES outside every training dataset's range: {"feature", "value", "min", "max"}
    outside_training: tuple[dict, ...] = ()

    def top(self, k: int | None = None) -> tuple[RankedLearner, ...]:
        return self.ranking if k is None else self.ranking[: max(0, k)]

    @property
    def evaluated(self) -> tuple[RankedLearner, ...]:
        return tuple(r for r in self.ranking if r.real_status is not None)

    def best_evaluated(self) -> RankedLearner | None:
        """The best real score among learners evaluated on the most rows (None if none succeeded)."""
        scored = [r for r in self.evaluated if r.real_status == "ok" and r.real_score is not None]
        if not scored:
            return None
        widest = max(r.real_rows or 0 for r in scored)
        final = [r for r in scored if (r.real_rows or 0) == widest]
        sign = 1.0 if self.maximize else -1.0
        return max(final, key=lambda r: (sign * r.real_score, -r.rank))

    def winner(self) -> RankedLearner:
        """:meth:`best_evaluated` after an evaluation, else the top-ranked learner."""
        if not self.evaluated:
            return self.ranking[0]
        best = self.best_evaluated()
        if best is None:
            names = ", ".join(r.learner for r in self.evaluated)
            if all(r.real_status == "timeout" for r in self.evaluated):
                raise AutomlMetaError(f"{self.dataset}: every evaluated learner ran out of time ({names}); "
                                      "give them a larger --timeout (timeout= in Python), or drop it")
            raise AutomlMetaError(
                f"{self.dataset}: every evaluated learner failed ({names}); "
                "see the log (--debug) or try --evaluate-top with a larger K"
            )
        return best

    def to_frame(self, top: int | None = None) -> pd.DataFrame:
        """The ranking as a table, one row per learner (best first), the columns of ``as_dict``'s entries."""
        rows = []
        for r in self.top(top):
            row = r.as_dict()
            lower, upper = row.pop("interval") or (None, None)
            row.pop("contributions", None)
            rows.append({**row, "lower": lower, "upper": upper})
        return pd.DataFrame(rows).set_index("rank")

    def as_dict(self, top: int | None = None) -> dict:
        return {
            "dataset": self.dataset,
            "task": self.task,
            "target": self.target,
            "metric": self.metric,
            "maximize": self.maximize,
            "score_scale": self.score_scale,
            "n_rows": self.n_rows,
            "n_features": self.n_features,
            "n_candidates": len(self.ranking),
            # where the score is only a bound, which way: "at most" as good, "at least" as large a loss
            "recommendations": [{**r.as_dict(), "predicted_bound": (("at most" if self.maximize else "at least")
                                                                     if r.predicted_at_most else None)} for r in self.top(top)],
            "nearest_datasets": [{"dataset": d, "distance": dist} for d, dist in self.nearest_datasets],
            "in_metadb": self.in_metadb,
            "outside_training": list(self.outside_training),
            "metafeature_seconds": self.metafeature_seconds,
            "metafeatures_cached": self.metafeatures_cached,
            "ranking_seconds": self.ranking_seconds,
            "evaluation_seconds": self.evaluation_seconds,
            "evaluation_notes": list(self.evaluation_notes),
            "probe": self.probe,
        }


def metafeature_row(values: dict, feature_names=None) -> pd.DataFrame:
    """One-row frame of meta-features, in the meta-model's column order when given (absent -> NaN)."""
    row = pd.DataFrame([{k: (np.nan if v is None else v) for k, v in values.items()}], dtype=float)
    if feature_names is not None:
        row = row.reindex(columns=list(feature_names))
    return row


def _model_feature_names(model):
    for attr in ("feature_names_", "feature_names_in_"):
        names = getattr(model, attr, None)
        if names is not None:
            return list(names)
    return None


def _interval(model, row: pd.DataFrame, learners) -> tuple[dict, dict]:
    """Lower and upper bounds per learner, where the model offers ``predict_interval``."""
    if not hasattr(model, "predict_interval"):
        return {}, {}
    bounds = model.predict_interval(row)
    if isinstance(bounds, tuple) and len(bounds) == 2:
        low, high = bounds
        low = low.iloc[0] if isinstance(low, pd.DataFrame) else pd.Series(np.asarray(low)[0], index=learners)
        high = high.iloc[0] if isinstance(high, pd.DataFrame) else pd.Series(np.asarray(high)[0], index=learners)
        return low.to_dict(), high.to_dict()
    if isinstance(bounds, dict):
        return dict(bounds.get("lower", {})), dict(bounds.get("upper", {}))
    return {}, {}


def explain_learner(model, row: pd.DataFrame, learner: str, n_features: int = 5) -> tuple[float, tuple[tuple[str, float], ...]]:
    """The utility of ``learner`` and its largest signed meta-feature contributions.

    Returns ``(utility, items)`` where ``items`` holds the ``n_features`` largest
    contributions by magnitude, then the remainder as ``(other meta-features)``
    and the model's ``bias``; the items sum to ``utility`` (LightGBM ``pred_contrib``).
    """
    contrib = model.explain(row)[learner]
    contrib = pd.Series(contrib, dtype=float)
    bias = float(contrib.get(BIAS, 0.0))
    features = contrib.drop(labels=[BIAS], errors="ignore")
    order = features.abs().sort_values(ascending=False, kind="mergesort").index
    top = features.loc[order[:n_features]]
    rest = float(features.loc[order[n_features:]].sum())
    items = [(str(k), float(v)) for k, v in top.items()]
    if len(order) > n_features:
        items.append((OTHER, rest))
    items.append((BIAS, bias))
    return float(contrib.sum()), tuple(items)


def rank_learners(
    model,
    metafeatures: dict,
    maximize: bool = True,
    explain: int = 0,
    n_explain_features: int = 5,
) -> list[RankedLearner]:
    """Every learner the meta-model knows, best first.

    The order follows the model's ``decision_function`` (its raw utility,
    higher = better, what ``explain`` decomposes) when it has one, else
    ``predict`` in the metric's direction. ``explain`` is how many of the top
    learners get contributions (0: none). Ties keep the model's learner order.
    """
    names = _model_feature_names(model)
    row = metafeature_row(metafeatures, names)
    if names:
        known = int(row.notna().to_numpy().sum())
        if known == 0:
            raise MetaDBContentError(
                f"none of the meta-model's {len(names)} meta-features is computed by this extractor "
                "(a meta-database imported from elsewhere, e.g. ASlib?); use a database built by `automl-meta db build`"
            )
        if known < 0.5 * len(names):
            logger.warning("only %d of the meta-model's %d meta-features are known for this dataset", known, len(names))
    if hasattr(model, "predict_with_utility"):  # one pass through the boosters
        predicted_frame, decision = model.predict_with_utility(row)
    else:
        predicted_frame = model.predict(row)
        decision = model.decision_function(row) if hasattr(model, "decision_function") else None
    predicted = _first_row(predicted_frame).astype(float)
    learners = list(predicted.index)
    at_most = None
    if decision is not None:
        utility = _first_row(decision).astype(float).reindex(learners)
        if hasattr(model, "upper_bounded"):
            at_most = _first_row(model.upper_bounded(decision)).reindex(learners).fillna(False).astype(bool)
    else:
        utility = predicted if maximize else -predicted
    low, high = _interval(model, row, learners)
    key = lambda i: (-utility.iloc[i] if math.isfinite(utility.iloc[i]) else math.inf, i)  # noqa: E731
    order = sorted(range(len(learners)), key=key)
    ranking = []
    for rank, i in enumerate(order, start=1):
        name = str(learners[i])
        items: tuple = ()
        if rank <= explain:
            _, items = explain_learner(model, row, name, n_explain_features)
        ranking.append(
            RankedLearner(
                rank=rank,
                learner=name,
                predicted_score=float(predicted.iloc[i]),
                lower=finite_or_none(low.get(learners[i])),
                upper=finite_or_none(high.get(learners[i])),
                utility=finite_or_none(utility.iloc[i]),
                contributions=items,
                predicted_at_most=bool(at_most.iloc[i]) if at_most is not None else False,
            )
        )
    return ranking


def _first_row(values) -> pd.Series:
    return values.iloc[0] if isinstance(values, pd.DataFrame) else pd.Series(np.asarray(values)[0])


def recommend(
    dataset: Dataset,
    model,
    metric: str,
    maximize: bool = True,
    metafeatures=None,
    explain: int = 0,
    n_explain_features: int = 5,
    k_nearest: int = 3,
    score_scale: str | None = None,
) -> Recommendation:
    """Rank every candidate learner for ``dataset`` with a fitted meta-model.

    Parameters
    ----------
    dataset : Dataset
        The new problem (already loaded and checked).
    model : MetaModel
        A fitted meta-model for ``dataset.task``: ``predict(meta_X)`` returns a
        datasets x learners frame; ``explain(row)`` and ``nearest(row, k)`` are
        used when asked for; ``predict_interval`` when it exists.
    metric, maximize : str, bool
        The metric the meta-model was trained on, and its direction.
    metafeatures : MetaFeatures, optional
        Precomputed meta-features (``.values``, ``.seconds``); extracted here when absent.
    explain : int
        How many top learners get meta-feature contributions.
    k_nearest : int
        How many nearest meta-database datasets to report (0: none).
    score_scale : str, optional
        What ``predicted_score`` measures; defaults to the model's ``score_scale_``
        attribute when it has one, else ``"metric"``.
    """
    if metafeatures is None:
        from automl_meta.metafeatures import extract_metafeatures

        metafeatures = extract_metafeatures(dataset)
    values = dict(metafeatures.values)
    start = time.perf_counter()
    ranking = rank_learners(model, values, maximize=maximize, explain=explain, n_explain_features=n_explain_features)
    nearest: tuple = ()
    if k_nearest > 0 and hasattr(model, "nearest"):
        row = metafeature_row(values, _model_feature_names(model))
        nearest = tuple((str(d), float(dist)) for d, dist in model.nearest(row, k=k_nearest))
    scale = score_scale or getattr(model, "score_scale_", None) or "metric"
    space = getattr(model, "space_", None)  # the training datasets' meta-feature ranges (MetaModel)
    outside = tuple(space.outside(values, SIZE_FEATURES)) if space is not None else ()
    return Recommendation(
        dataset=dataset.name,
        task=dataset.task,
        target=dataset.target,
        metric=metric,
        maximize=maximize,
        ranking=tuple(ranking),
        nearest_datasets=nearest,
        metafeatures=values,
        metafeature_seconds=float(getattr(metafeatures, "seconds", 0.0) or 0.0),
        metafeatures_cached=bool(getattr(metafeatures, "cached", False)),
        ranking_seconds=time.perf_counter() - start,
        score_scale=str(scale),
        n_rows=dataset.n_rows,
        n_features=dataset.n_features,
        outside_training=outside,
    )


def with_measured(rec: Recommendation, name: str, scores: dict[str, float], statuses: dict[str, str] | None = None
                  ) -> Recommendation:
    """``rec`` for data the meta-database already holds as ``name``: each learner gets its stored score and the status
    of its stored evaluation (``statuses``; "not stored" for a learner never evaluated on these data).

    The meta-model has seen these data (unless they were excluded from its training), so
    its predictions here are no test of it; the stored cross-validated scores are the
    better guide.
    """
    def status(learner: str) -> str:
        if statuses is None:  # only the scores given: a learner without one failed there
            return "ok" if learner in scores else "failed"
        return statuses.get(learner, "not stored")

    ranking = tuple(replace(r, measured_score=scores.get(r.learner), measured_status=status(r.learner)) for r in rec.ranking)
    return replace(rec, ranking=ranking, in_metadb=name)


def halving_schedule(n_rows: int, n_candidates: int, eta: int = 3, min_rows: int = 1000) -> list[int]:
    """Row budgets of successive halving: each rung keeps the best 1/``eta``, the last uses every row.

    A single candidate, or data too small to cut (fewer than ``min_rows * eta``
    rows), gets one rung with all rows.
    """
    if n_candidates <= 1 or n_rows < min_rows * eta:
        return [n_rows]
    rungs = max(1, math.ceil(math.log(n_candidates, eta)))
    rows = [max(min_rows, n_rows // eta**r) for r in range(rungs, 0, -1)]
    rows = sorted({r for r in rows if r < n_rows})
    return rows + [n_rows]


def evaluate_top(
    dataset: Dataset,
    recommendation: Recommendation,
    k: int,
    cv: int = 5,
    halving: bool = True,
    eta: int = 3,
    min_rows: int = 1000,
    timeout: float | None = None,
    n_jobs: int = 1,
    random_state: int = 0,
    progress=None,
) -> Recommendation:
    """Cross-validate the top ``k`` learners with the shared protocol and record their real scores.

    With ``halving``, successive halving over rows (:func:`halving_schedule`):
    every candidate is scored on a stratified subsample, the best ``1/eta``
    go on to a larger one, and the last rung uses all rows; a learner's
    ``real_rows`` says how far it went. ``progress(n, description)`` is called
    after each rung when given.
    """
    if k < 1:
        raise UsageError(f"evaluate_top (--evaluate-top) must be 1 or more, got {k}")
    from automl_meta.evaluation import evaluate

    candidates = [r.learner for r in recommendation.top(k)]
    schedule = halving_schedule(dataset.n_rows, len(candidates), eta, min_rows) if halving else [dataset.n_rows]
    results: dict[str, tuple] = {}
    notes: tuple[str, ...] = ()
    start = time.perf_counter()
    for step, rows in enumerate(schedule):
        logger.info("evaluating %s on %d rows", ", ".join(candidates), rows)
        outcome = evaluate(
            dataset,
            learners=candidates,
            cv=cv,
            metric=recommendation.metric,
            timeout=timeout,
            n_jobs=n_jobs,
            random_state=random_state,
            max_rows=rows if rows < dataset.n_rows else None,
        )
        for res in outcome.results:
            seconds = getattr(res, "fit_seconds", None)
            results[res.learner] = (res.mean, res.std, res.status, outcome.n_rows, seconds)  # the rows really cross-validated
        notes = outcome.notes  # the last rung's: classes too rare for the folds, fewer folds
        if progress is not None:
            progress(1, f"evaluated {len(candidates)} on {rows} rows")
        if step == len(schedule) - 1:
            break
        ok = [c for c in candidates if results[c][2] == "ok" and results[c][0] is not None and math.isfinite(results[c][0])]
        if not ok and all(results[c][2] == "timeout" for c in candidates):
            break  # every one ran out of time on these rows: more rows would take longer still
        sign = 1.0 if recommendation.maximize else -1.0
        ok.sort(key=lambda c: -sign * results[c][0])
        keep = max(1, math.ceil(len(candidates) / eta))
        candidates = ok[:keep] or candidates[:keep]
    ranking = []
    for r in recommendation.ranking:
        if r.learner in results:
            mean, std, status, rows, seconds = results[r.learner]
            r = replace(
                r,
                real_score=finite_or_none(mean),
                real_std=finite_or_none(std),
                real_status=str(status),
                real_rows=int(rows),
                real_seconds=finite_or_none(seconds),
            )
        ranking.append(r)
    return replace(recommendation, ranking=tuple(ranking), evaluation_seconds=time.perf_counter() - start,
                   evaluation_notes=tuple(n for n in notes if not n.startswith("subsampled")))


def fit_winner(dataset: Dataset, learner: str, random_state: int = 0, timeout: float | None = None):
    """Fit ``learner``'s full pipeline (preprocessing and estimator) on every row of ``dataset``.

    With ``timeout`` (seconds), the fit runs in a worker process on one thread, as a
    cross-validation fit does, and is stopped past the limit (an :class:`AutomlMetaError`, exit 1).
    """
    from automl_meta.learners import LEARNERS

    if learner not in LEARNERS:
        raise LearnerError(f"unknown learner {learner!r}; the portfolio has {', '.join(sorted(LEARNERS))}")
    if timeout is not None:
        if not float(timeout) > 0:
            raise UsageError(f"--fit-timeout (timeout= in Python) must be a positive number of seconds, got {timeout}")
        from automl_meta.learners.worker_pool import CallTimeout, call_in_worker

        try:
            return call_in_worker(fit_winner, (dataset, learner, random_state), float(timeout))
        except CallTimeout:
            raise AutomlMetaError(
                f"fitting {learner} on all {dataset.n_rows:,} rows did not finish within {float(timeout):g} s, and was stopped; "
                "give it a larger --fit-timeout (timeout= in Python)"
            ) from None
    pipeline = LEARNERS[learner].build(dataset, random_state)
    # as in cross-validation: the libraries' remarks (LightGBM on many classes, svm_rbf's SVC(probability=True),
    # deprecated in scikit-learn 1.9 and kept until 1.11, convergence) are not the user's to read
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(dataset.X, dataset.y)
    return pipeline


def predict_frame(pipeline, info: dict, frame: pd.DataFrame, name: str = "data") -> pd.DataFrame:
    """Predictions of a saved winner for a raw table (columns checked against its sidecar ``info``).

    Returns a frame with ``prediction`` and, for a classifier with
    ``predict_proba``, one ``proba_<class>`` column per class. Categories the
    model never saw are logged as a warning (the pipeline encodes them as unknown).
    """
    return predict_conformed(pipeline, info, checked_features(frame, info, name=name))


def checked_features(frame: pd.DataFrame, info: dict, name: str = "data") -> pd.DataFrame:
    """:func:`~automl_meta.io.fitted_models.conform_features`, logging a warning for categories the model never saw."""
    from automl_meta.io.fitted_models import conform_features, unseen_categories

    X = conform_features(frame, info, name=name)
    for line in describe_unseen(unseen_categories(X, info)):
        logger.warning("%s: %s", name, line)
    return X


def describe_unseen(unseen: dict[str, dict]) -> list[str]:
    """One line per column of :func:`~automl_meta.io.fitted_models.unseen_categories`' answer."""
    return [
        f"column {column!r} holds categories the model never saw in {found['rows']} row(s) "
        f"({', '.join(map(repr, found['values']))}{', ...' if found['distinct'] > len(found['values']) else ''}); "
        "they are encoded as unknown"
        for column, found in unseen.items()
    ]


def original_labels(info: dict, labels) -> np.ndarray:
    """Class labels (text, as the pipeline predicts them) as the table wrote them: ints, floats, bools or text.

    The sidecar's ``class_values`` say which; without them (a model saved before they
    were recorded, or a regressor) ``labels`` come back as they are.
    """
    values = info.get("class_values")
    if info.get("task") != "classification" or not values or all(isinstance(v, str) for v in values):
        return np.asarray(labels)
    mapping = dict(zip(info["classes"], values))
    return np.asarray([mapping.get(label, label) for label in labels])


def predict_conformed(pipeline, info: dict, X: pd.DataFrame) -> pd.DataFrame:
    """:func:`predict_frame` on features already conformed (:func:`~automl_meta.io.fitted_models.conform_features`).

    Class predictions are given as the training table wrote its labels (:func:`original_labels`);
    the probability columns are named ``proba_<label>`` with the label as text.
    """
    result = pd.DataFrame({"prediction": original_labels(info, pipeline.predict(X))})
    if info.get("task") == "classification" and hasattr(pipeline, "predict_proba"):
        proba = pd.DataFrame(pipeline.predict_proba(X), columns=[f"proba_{label}" for label in pipeline.classes_])
        order = np.argsort(original_labels(info, np.asarray(pipeline.classes_)), kind="stable")  # 2 before 10 where numbers
        result = pd.concat([result, proba.iloc[:, order]], axis=1)  # at once: a column per class, one by one, warned of fragmentation
    return result


def target_score(info: dict, frame: pd.DataFrame, predictions: pd.DataFrame) -> dict | None:
    """The saved model's metric on ``frame``'s target column, when the table has one (rows with a target only)."""
    from automl_meta.learners.metrics import METRICS

    target, metric = info.get("target"), info.get("metric")
    if target not in frame.columns or metric not in METRICS:
        return None
    target_only = frame[[target]].reset_index(drop=True)
    markers_as_missing(target_only)  # as make_dataset reads them: rows without a target are left out
    y = target_only[target]
    keep = y.notna().to_numpy()
    if not keep.any():
        return None
    pred = predictions["prediction"].to_numpy()[keep]
    proba, classes, note = None, (), None
    if info["task"] == "classification":
        classes = tuple(info.get("classes") or ())
        # each label as the model spells its classes, whatever the other labels of the column (see known_category_strings)
        y = known_category_strings(y, classes)[keep].to_numpy()
        pred = known_category_strings(pd.Series(pred, dtype=object), classes).to_numpy()
        columns = [f"proba_{c}" for c in classes]
        if classes and all(c in predictions.columns for c in columns):
            proba = predictions.loc[keep, columns].to_numpy()
        unknown = sorted(set(y) - set(classes)) if classes else []
        if unknown:
            shown = ", ".join(map(repr, unknown[:5])) + (", ..." if len(unknown) > 5 else "")
            note = f"the target column holds labels the model never had ({shown}): it cannot predict them, so those rows count as errors"
    else:
        present = y[keep]
        numbers = pd.to_numeric(present, errors="coerce")
        text = present[numbers.isna()]
        if len(text):
            shown = ", ".join(map(repr, text.astype(str).unique()[:5])) + (", ..." if text.nunique() > 5 else "")
            note = f"{len(text)} target value(s) are not numbers ({shown}): those rows are left out of the score"
        y = numbers.to_numpy(dtype=float)
        finite = np.isfinite(y)
        y, pred = y[finite], pred[finite]
    try:
        with warnings.catch_warnings():  # scikit-learn's remarks on classes absent from y, or on one row: said below
            warnings.simplefilter("ignore", UserWarning)
            value = float(METRICS[metric].func(y, pred, proba, classes))
    except ValueError as exc:  # e.g. a single class present: the metric is undefined
        logger.info("cannot score %s on the target column: %s", metric, exc)
        value = math.nan
    if not math.isfinite(value):  # one row, or a constant target for r2: the table has a target, so say why no score
        why = "fewer than 2 rows" if len(y) < 2 else "the target column holds one value only" if len(set(map(str, y))) < 2 else "the metric is undefined on these rows"
        undefined = f"{metric} is undefined here ({why}), so there is no score"
        return {"metric": metric, "value": None, "n_rows": int(len(y)), "note": f"{note}; {undefined}" if note else undefined}
    return {"metric": metric, "value": value, "n_rows": int(len(y)), "note": note}


def winner_info(dataset: Dataset, recommendation: Recommendation, chosen: RankedLearner, random_state: int = 0) -> dict:
    """What a saved winner's sidecar records about how it was chosen and fitted."""
    from automl_meta.io.fitted_models import describe_columns

    classes = sorted(map(str, dataset.y.unique())) if dataset.task == "classification" else None
    return {
        "learner": chosen.learner,
        "task": dataset.task,
        "target": dataset.target,
        "columns": describe_columns(dataset.X),
        "classes": classes,
        "class_values": [dataset.label_values.get(c, c) for c in classes] if classes else None,
        "ignored_columns": list(dataset.profile.id_like) + list(dataset.profile.constant) + list(dataset.profile.nested),
        "date_columns": list(dataset.profile.dates),
        "date_formats": dict(dataset.profile.date_formats),
        "metric": recommendation.metric,
        "maximize": recommendation.maximize,
        "predicted_score": chosen.predicted_score,
        "score_scale": recommendation.score_scale,
        "real_score": chosen.real_score,
        "real_std": chosen.real_std,
        "chosen_by": "evaluation" if chosen.real_status is not None else ("probe" if chosen.model_rank is not None else "prediction"),
        "rank": chosen.rank,
        "probe_score": chosen.probe_score,
        "n_rows": dataset.n_rows,
        "dataset": {"name": dataset.name, "content_hash": dataset.content_hash()},
        "random_state": random_state,
    }


