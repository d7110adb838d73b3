"""Python entry points: what ``automl-meta recommend`` does, for a DataFrame in a notebook.

Like the CLI, this module joins the pieces: it checks the data
(:func:`~automl_meta.dataset.make_dataset`), loads the meta-model of the
meta-database (the shipped one by default, through :mod:`automl_meta.io`),
extracts the meta-features with that database's options (cached by content)
and ranks the portfolio (:func:`automl_meta.recommend.recommend`)::

    from automl_meta import recommend_learners, fit_recommended

    rec = recommend_learners(frame, target="churn")          # or recommend_learners(X, y)
    rec.to_frame().head()                                    # rank, learner, predicted score, ...
    rec = recommend_learners(frame, target="churn", evaluate_top=3)   # real CV scores of the top 3
    model = fit_recommended(frame, rec, target="churn")      # the winner, fitted on all rows
    model.predict(new_rows)                                  # one prediction per row (predict_proba, predict_table)
    model.save("model.skops")                                # for `automl-meta predict`
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_meta.dataset import Dataset, make_dataset
from automl_meta.exceptions import UsageError
from automl_meta.numbers import check_seed
from automl_meta.recommend import (
    Recommendation,
    checked_features,
    fit_winner,
    original_labels,
    predict_frame,
    recommend,
    target_score,
    winner_info,
    with_measured,
)
from automl_meta.recommend import evaluate_top as run_evaluate_top

__all__ = ["FittedLearner", "fit_recommended", "recommend_learners"]


def _as_frame(X) -> pd.DataFrame:
    """``X`` itself when a DataFrame, else a frame of the 2-D array, list of rows or of row dicts, or dict of columns."""
    if isinstance(X, pd.DataFrame):
        return X
    try:
        frame = pd.DataFrame(X)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"X must be a DataFrame, a 2-D array, a list of rows or a dict of columns, not {type(X).__name__} ({exc})") from None
    return frame


def _same_values(column: pd.Series, values: np.ndarray) -> bool:
    """Whether a column of X holds exactly the target's values (missing where it is missing)."""
    return bool(pd.Series(column.to_numpy()).equals(pd.Series(values)))


def _as_dataset(X, y, target: str | None, task: str, name: str) -> Dataset:
    """One checked :class:`Dataset` from a frame with its target column, or from ``X`` and ``y``."""
    if isinstance(X, Dataset):
        if y is not None:
            raise UsageError(f"{X.name}: a Dataset already holds its target; pass y only with a plain X")
        return X
    frame = _as_frame(X).copy()
    frame.columns = [str(c) for c in frame.columns]
    if y is None:
        return make_dataset(frame, target=target, task=task, name=name)
    column = target or str(getattr(y, "name", None) or "target")
    values = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y).ravel()
    if len(values) != len(frame):
        raise UsageError(f"{name}: X has {len(frame)} rows but y has {len(values)}; give one target value per row")
    if column in frame.columns and _same_values(frame[column], values):
        raise UsageError(f"{name}: X holds the target column {column!r} too, so the learners would read the answer; "
                         f"drop it from X, or pass X with target={column!r} and no y")
    while column in frame.columns:  # a feature of the same name but other values keeps its name
        column = f"_{column}"
    frame[column] = values
    return make_dataset(frame, target=column, task=task, name=name)


def recommend_learners(
    X,
    y=None,
    *,
    target: str | None = None,
    task: str = "auto",
    db: str | Path | None = None,
    explain: int = 0,
    probe: bool = False,
    probe_rows: int | None = None,
    probe_budget: float | None = None,
    probe_draws: int | None = None,
    evaluate_top: int = 0,
    cv: int = 5,
    halving: bool = True,
    random_state: int = 0,
    name: str = "data",
) -> Recommendation:
    """Rank every candidate learner for a table, before running any of them.

    Parameters
    ----------
    X : DataFrame, array-like or Dataset
        The features; with ``y=None``, a DataFrame that also holds the target
        column (``target``, default: target/class/label/y, else the last column).
    y : array-like, optional
        The target, one value per row of ``X``.
    target : str, optional
        Name of the target column in ``X`` (with ``y``: the name to give it).
    task : str
        ``classification``, ``regression`` or ``auto`` (as the CLI infers it).
    db : path, optional
        A meta-database built by ``automl-meta db build``; default: the shipped
        one and its shipped meta-model (others train a meta-model, cached).
    explain : int
        How many top learners get their meta-feature contributions.
    probe, probe_rows, probe_budget, probe_draws : bool, int or None, float or None, int or None
        (Any of the last three implies ``probe``, as on the command line.) Cross-validate every candidate on ``probe_draws`` (default 3) stratified
        subsamples of ``probe_rows`` rows (default 1,000; 3 folds), average, and
        re-rank by the blend of that order and the meta-model's
        (:func:`automl_meta.probe.with_probe`). Learners the probe has not
        finished once after ``probe_budget`` seconds (default 30) keep the
        meta-model's order.
    evaluate_top, cv, halving : int, int, bool
        Cross-validate the top ``evaluate_top`` learners (``cv`` folds,
        successive halving over rows) and record their real scores.
    random_state : int
        Seed for every random choice.

    Returns
    -------
    Recommendation
        ``ranking`` (best first), ``nearest_datasets``, ``winner()``,
        ``to_frame()``, ``as_dict()``; ``in_metadb`` names the meta-database's
        dataset when it holds these very data (then ``measured_score`` gives its
        stored scores, and the meta-model was trained on them); ``outside_training``
        lists the rows, features or classes outside every training dataset's range.
    """
    from automl_meta.io.metadb_resolve import load_selector, stored_scores

    random_state = check_seed(random_state)
    probe = probe or any(v is not None for v in (probe_rows, probe_budget, probe_draws))  # as the CLI's --probe-* imply --probe
    dataset = _as_dataset(X, y, target, task, name)
    selector = load_selector(dataset.task, db=db, random_state=random_state)
    known = stored_scores(selector.db_path, dataset, selector.metric)
    rec = rank_dataset(dataset, selector, explain=explain, known=known)
    if probe:
        from automl_meta.probe import with_probe

        rec = with_probe(dataset, rec, rows=probe_rows, random_state=random_state, budget=probe_budget, draws=probe_draws)
    if evaluate_top:
        rec = run_evaluate_top(dataset, rec, k=evaluate_top, cv=cv, halving=halving, random_state=random_state)
    return rec


def rank_dataset(dataset: Dataset, selector, metafeatures=None, explain: int = 0, known=None) -> Recommendation:
    """Rank the portfolio for ``dataset`` with a loaded ``selector`` (:func:`automl_meta.io.metadb_resolve.load_selector`).

    ``metafeatures`` are extracted (cached, with the database's options) when not
    given; ``known`` is :func:`~automl_meta.io.metadb_resolve.stored_scores`' answer:
    when the meta-database holds these very data, their stored scores are added
    and ``in_metadb`` names them.
    """
    from threadpoolctl import threadpool_limits

    from automl_meta.io.mf_cache import cached_metafeatures

    # One BLAS thread: pymfe's many small SVDs (LDA landmarking) run ~8x slower with two
    # OpenBLAS threads on a busy two-core machine. NumPy's and SciPy's are loaded by now.
    with threadpool_limits(limits=1, user_api="blas"):
        if metafeatures is None:
            metafeatures = cached_metafeatures(dataset, **selector.mf_options)
        rec = recommend(
            dataset,
            selector.model,
            metric=selector.metric,
            maximize=selector.maximize,
            metafeatures=metafeatures,
            explain=explain,
            n_explain_features=8,
        )
    if known is None and getattr(selector, "db_path", None) is not None:  # the same data in another row or column order?
        from automl_meta.io.metadb_resolve import stored_scores

        known = stored_scores(selector.db_path, dataset, selector.metric, metafeatures=rec.metafeatures)
    return rec if known is None else with_measured(rec, *known)


@dataclass(frozen=True)
class FittedLearner:
    """A recommended learner fitted on all rows: its scikit-learn ``pipeline`` and what ``info`` records.

    ``info`` is the sidecar that ``automl-meta recommend --fit`` writes (learner,
    task, target, feature columns and their kinds, classes, metric, scores).
    """

    pipeline: Any
    info: dict

    @property
    def learner(self) -> str:
        return self.info["learner"]

    @property
    def classes_(self) -> np.ndarray | None:
        """The class labels as the training table wrote them (ints, bools, text), in the order of
        ``predict_proba``'s columns; None for a regressor."""
        return original_labels(self.info, self.pipeline.classes_) if self.info.get("task") == "classification" else None

    def predict_table(self, frame) -> pd.DataFrame:
        """``prediction`` per row of a raw table, and ``proba_<class>`` for a classifier.

        ``frame`` is a DataFrame, whose columns are matched by name, or an array
        or list of rows holding the table's columns the model reads, in order (a
        date as its one column; for a model fitted on an array, the positions it
        was fitted on). The feature columns are checked and
        converted as when the model was fitted; a DataFrame's extra columns, the
        target among them, are ignored. The table has ``frame``'s index, so it
        joins back onto it.
        """
        frame = self._as_features(frame)
        return predict_frame(self.pipeline, self.info, frame).set_axis(frame.index)

    def predict(self, frame) -> np.ndarray:
        """One prediction per row of a raw table (``frame`` and its columns as in :meth:`predict_table`)."""
        return original_labels(self.info, self.pipeline.predict(checked_features(self._as_features(frame), self.info)))

    def predict_proba(self, frame) -> np.ndarray:
        """Class probabilities per row, columns in :attr:`classes_` order (classifiers only)."""
        if self.classes_ is None:
            raise UsageError(f"{self.learner} is a regressor: it has no class probabilities")
        return self.pipeline.predict_proba(checked_features(self._as_features(frame), self.info))

    def _input_columns(self) -> list[str]:
        """The table's columns the model reads, in order: its feature columns with each date's parts as the one date column."""
        dates = self.info.get("date_columns") or []
        names: list[str] = []
        for column in self.info["columns"]:
            name = next((d for d in dates if column["name"].startswith(f"{d}.")), column["name"])
            if name not in names:
                names.append(name)
        return names

    def _as_features(self, X) -> pd.DataFrame:
        """A DataFrame (or rows as dicts, columns as a dict) as it is; an array or list of rows named by position.

        A model fitted on an array has positional names ("0", "1", ...): a new array keeps
        them, columns the reader left out (ID-like, constant) included, as when fitting.
        """
        if isinstance(X, (pd.DataFrame, dict)) or (isinstance(X, (list, tuple)) and X and isinstance(X[0], dict)):
            return _as_frame(X)
        names = self._input_columns()
        if isinstance(X, (list, tuple)):
            widths = sorted({len(row) if isinstance(row, (list, tuple, np.ndarray)) else 1 for row in X})
            if len(widths) > 1:  # pandas would pad the short rows with missing values
                raise UsageError(f"the rows of X have {' or '.join(map(str, widths))} values; each needs the model's "
                                 f"{len(names)} ({', '.join(names[:8])}{', ...' if len(names) > 8 else ''}), in that order")
        frame = _as_frame(X)
        if all(name.isdigit() for name in names):
            return frame.rename(columns=str)
        if frame.shape[1] != len(names):
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise UsageError(
                f"X has {frame.shape[1]} columns, and the model reads {len(names)} ({shown}): give an array of those "
                "columns in that order, or a DataFrame with those names"
            )
        return frame.set_axis(names, axis=1)

    def score(self, frame) -> float | None:
        """The recommendation's metric on ``frame``'s target column (rows with a target); None without one."""
        frame = _as_frame(frame)
        result = target_score(self.info, frame, self.predict_table(frame))
        return None if result is None else result["value"]

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (skops) and ``path.json`` for ``automl-meta predict``; returns the model file."""
        from automl_meta.io.fitted_models import save_fitted_model

        return save_fitted_model(path, self.pipeline, self.info)


def fit_recommended(
    X,
    recommendation: Recommendation,
    y=None,
    *,
    learner: str | None = None,
    target: str | None = None,
    task: str | None = None,
    random_state: int = 0,
    name: str = "data",
    timeout: float | None = None,
) -> FittedLearner:
    """Fit the recommended learner's whole pipeline (preprocessing included) on every row.

    The learner is ``recommendation.winner()`` (the best real score after
    ``evaluate_top``, else the top-ranked learner) or, when given, ``learner``,
    which must be among the recommendation's candidates. ``X``, ``y`` and
    ``target`` as in :func:`recommend_learners`, except that without ``y`` and
    ``target`` the target is the recommendation's, a column ``X`` must hold;
    ``task`` defaults to the recommendation's. ``timeout`` (seconds) runs the fit in
    a worker process on one thread, as cross-validation does, and stops it past
    the limit with an :class:`~automl_meta.exceptions.AutomlMetaError`.
    """
    random_state = check_seed(random_state)
    if y is None and target is None and not isinstance(X, Dataset):
        if recommendation.target not in _as_frame(X).columns.map(str):
            raise UsageError(
                f"{name}: the recommendation's target {recommendation.target!r} is not a column of X; "
                "pass y, its values (one per row), or a frame with that column"
            )
        target = recommendation.target
    dataset = _as_dataset(X, y, target, task or recommendation.task, name)
    if dataset.task != recommendation.task:
        raise UsageError(f"{name}: the recommendation is for {recommendation.task}, these data are {dataset.task}")
    if learner is None:
        chosen = recommendation.winner()
    else:
        chosen = next((r for r in recommendation.ranking if r.learner == learner), None)
        if chosen is None:
            names = ", ".join(r.learner for r in recommendation.ranking)
            raise UsageError(f"learner {learner!r} is not among the recommendation's candidates: {names}")
    pipeline = fit_winner(dataset, chosen.learner, random_state=random_state, timeout=timeout)
    return FittedLearner(pipeline, winner_info(dataset, recommendation, chosen, random_state))
