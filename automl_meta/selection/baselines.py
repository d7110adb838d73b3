"""Baseline selectors, evaluated beside the meta-model under the same protocol.

Every selector follows one small contract: ``fit(meta_X, scores, maximize=True)``
with ``meta_X`` a datasets x meta-features DataFrame and ``scores`` a datasets x
learners DataFrame (NaN = failed / not evaluated), then ``predict(meta_X)`` ->
datasets x learners DataFrame, higher = better (only the order matters for a
baseline). Learners never evaluated in training are left out. Every selector
checks its input the same way (:func:`_checked` at fit, :func:`checked_query`
at predict): column labels are read as text, a dataset, learner or
meta-feature listed twice and text where numbers belong are refused with one
:class:`~automl_meta.exceptions.UsageError`, and no datasets to predict give
an empty frame of the learner columns.

- :class:`SingleBest` (SBS): the learner with the best mean per-dataset normalized score;
  on runtimes (``log_scores=True``) the usual ASlib SBS, the lowest mean PAR10.
- :class:`RandomSelector`: a uniformly random order per dataset, drawn from the seed and
  the dataset's name (so it does not depend on the other datasets predicted with it).
- :class:`KNNSelector`: auto-sklearn's meta-learning warm start: min-max scaled
  meta-features, L1 distance, the ``k`` nearest training datasets, and the
  learners ordered by their mean rank there (rank aggregation).
- :class:`SimpleFeatureNN`: FLAML's zero-shot flavour: 1 nearest neighbour on four
  simple features (instances, features, classes, share of numeric features),
  standardized after a log of the counts.
"""

from __future__ import annotations

import numbers
import zlib

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.validation import check_is_fitted

from automl_meta.exceptions import UsageError
from automl_meta.selection.neighbours import MinMaxSpace
from automl_meta.selection.normalize import fill_failed, normalize_scores, orient

# Names of the four simple features in our meta-features and in OpenML data qualities (ASlib OPENML-WEKA).
SIMPLE_FEATURES = {
    "nr_inst": ("nr_inst", "NumberOfInstances"),
    "nr_attr": ("nr_attr", "NumberOfFeatures"),
    "nr_class": ("nr_class", "NumberOfClasses"),
    "pct_numeric": ("pct_numeric", "PercentageOfNumericFeatures"),
}


FRAME_REQUIRED = "meta_X must be a pandas DataFrame with meta-feature columns"


def _text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its column labels as text: fit stores names as ``str``, so a query labelled
    0, 1, ... must be read under "0", "1", ... too, or every meta-feature would come out absent."""
    return frame.set_axis([str(c) for c in frame.columns], axis=1)


def _once_each(labels: pd.Index, what: str, table: str, axis: str = "columns") -> None:
    """Refuse a label listed twice: aligning on it would repeat or drop rows deep inside pandas.

    Column labels are compared as text (``1`` and ``"1"`` are the same meta-feature).
    """
    twice = labels[labels.duplicated()]
    if len(twice):
        unit = "row" if axis == "index" else "column"
        raise UsageError(f"{what} {twice[0]!r} appears twice in the {axis} of {table}; keep one {unit} per {what}")


def _numeric(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """``frame`` as floats; a column holding text is refused by name, with one of its values.

    Only non-numeric columns are converted one by one (a meta-feature table is usually all float).
    """
    text = [name for name, kind in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(kind)]
    if not text:
        return frame.astype(float)
    frame = frame.copy()
    for name in text:
        column = frame[name]
        converted = pd.to_numeric(column, errors="coerce")
        bad = converted.isna() & column.notna()
        if bad.any():
            raise UsageError(f"{what} {name!r} holds a non-numeric value ({column[bad].iloc[0]!r} for dataset "
                             f"{bad[bad].index[0]!r}); use numbers, with NaN for a missing value")
        frame[name] = converted
    return frame.astype(float)


def _checked(meta_X: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate the training tables, align them on their datasets and drop learners with no evaluation at all.

    Returns float tables with text column labels, so every selector stores and later
    reads its meta-features and learners under the same names.
    """
    if not isinstance(meta_X, pd.DataFrame) or not isinstance(scores, pd.DataFrame):
        raise UsageError("meta_X and scores must be pandas DataFrames indexed by dataset name")
    meta_X, scores = _text_columns(meta_X), _text_columns(scores)
    _once_each(meta_X.index, "dataset", "meta_X", "index")
    _once_each(scores.index, "dataset", "scores", "index")
    _once_each(meta_X.columns, "meta-feature", "meta_X")
    _once_each(scores.columns, "learner", "scores")
    common = meta_X.index.intersection(scores.index)
    if len(common) == 0:
        raise UsageError("meta_X and scores share no dataset; index both by dataset name")
    scores = _numeric(scores.loc[common], "learner").dropna(axis=1, how="all").dropna(axis=0, how="all")
    if scores.shape[1] == 0:
        raise UsageError("no learner has an evaluation in the training datasets")
    return _numeric(meta_X.loc[scores.index], "meta-feature"), scores


def checked_query(meta_X: pd.DataFrame, features: list[str] | None = None) -> pd.DataFrame:
    """The datasets to predict for, as the fitted selector reads them.

    ``features`` are the meta-features the selector was fitted on (None: it reads none).
    Column labels become text as at fit; of ``meta_X`` only the columns among
    ``features`` come back, as floats. A meta-feature absent from ``meta_X`` is
    missing by design (NaN), but a table sharing none of them is refused: every
    prediction would then be the same confident guess.
    """
    if not isinstance(meta_X, pd.DataFrame):
        raise UsageError(FRAME_REQUIRED)
    meta_X = _text_columns(meta_X)
    if features is None:
        return meta_X
    known = set(features)
    shared = [c for c in meta_X.columns if c in known]
    if features and not shared:
        raise UsageError(f"meta_X shares no meta-feature with the fitted selector, which reads {len(features)} "
                         f"such as {', '.join(map(repr, features[:3]))}; name the columns as in training")
    _once_each(pd.Index(shared), "meta-feature", "meta_X")
    return _numeric(meta_X[shared], "meta-feature")


def check_int(name: str, value, low: int, none_ok: bool = False) -> None:
    """Refuse a count parameter below ``low`` at fit (scikit-learn validates in ``fit``, not ``__init__``)."""
    if value is None and none_ok:
        return
    if isinstance(value, bool):  # an int to Python, not a count to anyone
        raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")
    _scalar(name, value, numbers.Integral, low, None, "left")


def check_real(name: str, value, low: float, high: float | None = None, low_open: bool = False) -> None:
    """Refuse a real parameter outside ``[low, high]`` (``(low, high]`` with ``low_open``) at fit."""
    bounds = {(False, False): "left", (False, True): "both", (True, False): "neither", (True, True): "right"}
    if isinstance(value, bool) or (isinstance(value, numbers.Real) and not np.isfinite(value)):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    _scalar(name, value, numbers.Real, low, high, bounds[(low_open, high is not None)])


def _scalar(name, value, kind, low, high, include_boundaries) -> None:
    """scikit-learn's ``check_scalar``, its TypeError or ValueError raised as a usage error."""
    try:
        check_scalar(value, name, kind, min_val=low, max_val=high, include_boundaries=include_boundaries)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def as_maximize(value) -> bool:
    """``maximize`` as a bool; anything else (the text "False", a number) is refused rather than read by its truth."""
    if not isinstance(value, (bool, np.bool_)):
        raise UsageError(f"maximize must be True or False (whether higher scores are better), not {value!r}")
    return bool(value)


def check_choice(name: str, value, choices) -> None:
    """Refuse a value of an enumerated parameter outside ``choices`` at fit."""
    if not isinstance(value, str) or value not in choices:
        raise UsageError(f"unknown {name} {value!r}; use one of {', '.join(choices)}")


def check_max_features(value) -> None:
    """Refuse what scikit-learn's forests would refuse as ``max_features``, before any tree grows."""
    if value is None or (isinstance(value, str) and value in ("sqrt", "log2")):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        ok = False
    elif isinstance(value, numbers.Integral):
        ok = value >= 1
    else:
        ok = 0.0 < value <= 1.0
    if not ok:
        raise UsageError(
            f"max_features must be 'sqrt', 'log2', None, an integer >= 1 or a share in (0, 1], got {value!r}"
        )


def check_n_jobs(value) -> None:
    """Refuse an ``n_jobs`` joblib cannot use (0, or not an integer)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value == 0):
        raise UsageError(f"n_jobs must be a non-zero integer or None, got {value!r}")


def seeded_rng(random_state) -> np.random.RandomState:
    """``check_random_state(random_state)``, with a bad seed refused as a usage error."""
    try:
        return check_random_state(random_state)
    except ValueError:
        raise UsageError(f"random_state must be an integer in [0, 2**32 - 1], a numpy RandomState or None, "
                         f"got {random_state!r}") from None


class _Selector(BaseEstimator):
    """Shared fit plumbing: normalized training scores and the learner list."""

    log_scores = False

    def _fit_scores(self, meta_X, scores, maximize):
        meta_X, scores = _checked(meta_X, scores)
        self.maximize_ = as_maximize(maximize)
        self.learners_ = [str(c) for c in scores.columns]
        self.training_datasets_ = [str(i) for i in scores.index]
        self.normalized_ = normalize_scores(scores, self.maximize_, log=self.log_scores)
        self.normalized_.columns = self.learners_
        return meta_X, scores

    def _mean_normalized(self) -> pd.Series:
        """Each learner's mean normalized training score, a failed or missing run counted as its dataset's worst (0),
        as the evaluation counts it (:mod:`automl_meta.selection.metrics`): a learner that failed on half the
        datasets does not rank by the other half alone."""
        return self.normalized_.fillna(0.0).mean()

    def _frame(self, values, index) -> pd.DataFrame:
        """A datasets x learners result; zero datasets give an empty frame with the learner columns."""
        return pd.DataFrame(np.reshape(values, (len(index), len(self.learners_))), index=index, columns=self.learners_)

    def rank(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """Ranks (1 = best) per dataset."""
        return self.predict(meta_X).rank(axis=1, ascending=False, method="first")


class SingleBest(_Selector):
    """Always the same order: mean normalized training score, best first (a failed or missing run scores 0, its dataset's worst).

    With ``log_scores=True`` (runtimes in PAR10 form) the order is the mean raw score
    instead, a failed run counted as its dataset's worst: the SBS is then the usual
    ASlib one, the algorithm with the lowest mean PAR10 on the training instances.
    """

    def __init__(self, log_scores: bool = False):
        self.log_scores = log_scores

    def fit(self, meta_X, scores, maximize: bool = True):
        _, scores = self._fit_scores(meta_X, scores, maximize)
        if self.log_scores:
            self.mean_score_ = fill_failed(orient(scores, self.maximize_)).mean().set_axis(self.learners_)
        else:
            self.mean_score_ = self._mean_normalized()
        self.best_ = str(self.mean_score_.idxmax())
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "mean_score_")
        meta_X = checked_query(meta_X)
        return self._frame(np.tile(self.mean_score_.to_numpy(), (len(meta_X), 1)), meta_X.index)


class RandomSelector(_Selector):
    """A uniformly random order for every dataset.

    Each dataset's order comes from its own generator, seeded by ``random_state`` and
    a stable hash (CRC32) of the dataset's name: independent across datasets, the
    same for the same seed whichever datasets are predicted with it (under
    leave-one-out every fold refits a selector with the same seed).
    """

    def __init__(self, random_state=None, log_scores: bool = False):
        self.random_state = random_state
        self.log_scores = log_scores

    def fit(self, meta_X, scores, maximize: bool = True):
        self._fit_scores(meta_X, scores, maximize)
        self.seed_ = int(seeded_rng(self.random_state).randint(np.iinfo(np.int32).max))
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "seed_")
        meta_X = checked_query(meta_X)
        values = [np.random.default_rng([self.seed_, zlib.crc32(str(name).encode("utf-8"))]).random(len(self.learners_))
                  for name in meta_X.index]
        return self._frame(values, meta_X.index)


class KNNSelector(_Selector):
    """auto-sklearn-style: k nearest datasets (min-max scaled meta-features, L1), mean rank there."""

    def __init__(self, k: int = 5, log_scores: bool = False):
        self.k = k
        self.log_scores = log_scores

    def fit(self, meta_X, scores, maximize: bool = True):
        check_int("k", self.k, 1)
        meta_X, _ = self._fit_scores(meta_X, scores, maximize)
        self.space_ = MinMaxSpace().fit(meta_X)
        # rank 1 = best; a learner not evaluated on a dataset gets the worst rank there
        self.ranks_ = self.normalized_.rank(axis=1, ascending=False, method="average", na_option="bottom")
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "space_")
        meta_X = checked_query(meta_X, self.space_.columns_)
        dist = self.space_.distances(meta_X).to_numpy()
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :min(self.k, dist.shape[1])]
        tie_break = 1e-6 * self._mean_normalized().to_numpy()
        values = -self.ranks_.to_numpy()[nearest].mean(axis=1) + tie_break  # (datasets, k, learners) -> mean over k
        return self._frame(values, meta_X.index)


def simple_features(meta_X: pd.DataFrame) -> pd.DataFrame | None:
    """The four simple features under our names, or None when the table lacks any of them."""
    columns = {}
    for name, aliases in SIMPLE_FEATURES.items():
        found = next((a for a in aliases if a in meta_X.columns), None)
        if found is None:
            return None
        # OpenML's PercentageOfNumericFeatures is a percentage, ours a share: known by the name, so that a row's value
        # never depends on the other rows of the table (it was guessed from the table's largest value)
        columns[name] = meta_X[found].astype(float) / (100.0 if found == "PercentageOfNumericFeatures" else 1.0)
    frame = pd.DataFrame(columns, index=meta_X.index)
    for count in ("nr_inst", "nr_attr", "nr_class"):
        frame[count] = np.log1p(frame[count].clip(lower=0))
    return frame


# Every name a simple feature may go by: what a query to SimpleFeatureNN must share with its training table.
SIMPLE_NAMES = [alias for aliases in SIMPLE_FEATURES.values() for alias in aliases]


class SimpleFeatureNN(_Selector):
    """FLAML-style zero-shot: the 1 nearest training dataset on four simple features decides."""

    def __init__(self, log_scores: bool = False):
        self.log_scores = log_scores

    def fit(self, meta_X, scores, maximize: bool = True):
        meta_X, _ = self._fit_scores(meta_X, scores, maximize)
        simple = simple_features(meta_X)
        if simple is None:
            raise UsageError(
                "the FLAML-style baseline needs the meta-features nr_inst, nr_attr, nr_class and pct_numeric"
            )
        self.center_ = simple.median().fillna(0.0)
        self.scale_ = simple.std().where(lambda s: s > 0, 1.0).fillna(1.0)
        self.train_ = ((simple - self.center_) / self.scale_).fillna(0.0).to_numpy()
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "train_")
        meta_X = checked_query(meta_X, SIMPLE_NAMES)
        simple = simple_features(meta_X)
        if simple is None:
            raise UsageError("the datasets to rank lack the simple meta-features the FLAML-style baseline needs")
        query = ((simple - self.center_) / self.scale_).fillna(0.0).to_numpy()
        dist = np.sqrt(((query[:, None, :] - self.train_[None, :, :]) ** 2).sum(axis=2))
        nearest = np.argmin(dist, axis=1)
        normalized = self.normalized_.fillna(-1.0).to_numpy()
        tie_break = 1e-6 * self._mean_normalized().to_numpy()
        return self._frame(normalized[nearest] + tie_break, meta_X.index)
