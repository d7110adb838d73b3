"""Baseline selectors, evaluated beside the meta-model under the same protocol.

Every selector follows one small contract: ``fit(meta_X, scores, maximize=True)``
with ``meta_X`` a datasets x meta-features DataFrame and ``scores`` a datasets x
learners DataFrame (NaN = failed / not evaluated), then ``predict(meta_X)`` ->
datasets x learners DataFrame, higher = better (only the order matters for a
baseline). Learners never evaluated in training are left out.

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

import zlib

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
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


def _checked(meta_X: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Align the two tables on their datasets and drop learners with no evaluation at all."""
    if not isinstance(meta_X, pd.DataFrame) or not isinstance(scores, pd.DataFrame):
        raise UsageError("meta_X and scores must be pandas DataFrames indexed by dataset name")
    common = meta_X.index.intersection(scores.index)
    if len(common) == 0:
        raise UsageError("meta_X and scores share no dataset; index both by dataset name")
    scores = scores.loc[common].dropna(axis=1, how="all").dropna(axis=0, how="all")
    if scores.shape[1] == 0:
        raise UsageError("no learner has an evaluation in the training datasets")
    return meta_X.loc[scores.index], scores


class _Selector(BaseEstimator):
    """Shared fit plumbing: normalized training scores and the learner list."""

    log_scores = False

    def _fit_scores(self, meta_X, scores, maximize):
        meta_X, scores = _checked(meta_X, scores)
        self.maximize_ = bool(maximize)
        self.learners_ = [str(c) for c in scores.columns]
        self.training_datasets_ = [str(i) for i in scores.index]
        self.normalized_ = normalize_scores(scores, self.maximize_, log=self.log_scores)
        self.normalized_.columns = self.learners_
        return meta_X, scores

    def rank(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """Ranks (1 = best) per dataset."""
        return self.predict(meta_X).rank(axis=1, ascending=False, method="first")


class SingleBest(_Selector):
    """Always the same order: mean normalized training score, best first.

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
            self.mean_score_ = self.normalized_.mean()
        self.best_ = str(self.mean_score_.idxmax())
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "mean_score_")
        values = np.tile(self.mean_score_.to_numpy(), (len(meta_X), 1))
        return pd.DataFrame(values, index=meta_X.index, columns=self.learners_)


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
        self.seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "seed_")
        values = [np.random.default_rng([self.seed_, zlib.crc32(str(name).encode("utf-8"))]).random(len(self.learners_))
                  for name in meta_X.index]
        return pd.DataFrame(np.reshape(values, (len(meta_X), len(self.learners_))), index=meta_X.index,
                            columns=self.learners_)


class KNNSelector(_Selector):
    """auto-sklearn-style: k nearest datasets (min-max scaled meta-features, L1), mean rank there."""

    def __init__(self, k: int = 5, log_scores: bool = False):
        self.k = k
        self.log_scores = log_scores

    def fit(self, meta_X, scores, maximize: bool = True):
        meta_X, _ = self._fit_scores(meta_X, scores, maximize)
        self.space_ = MinMaxSpace().fit(meta_X)
        # rank 1 = best; a learner not evaluated on a dataset gets the worst rank there
        self.ranks_ = self.normalized_.rank(axis=1, ascending=False, method="average", na_option="bottom")
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "space_")
        dist = self.space_.distances(meta_X).to_numpy()
        k = max(1, min(int(self.k), dist.shape[1]))
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
        ranks = self.ranks_.to_numpy()
        tie_break = 1e-6 * self.normalized_.mean().to_numpy()
        values = np.stack([-ranks[rows].mean(axis=0) for rows in nearest]) + tie_break
        return pd.DataFrame(values, index=meta_X.index, columns=self.learners_)


def simple_features(meta_X: pd.DataFrame) -> pd.DataFrame | None:
    """The four simple features under our names, or None when the table lacks any of them."""
    columns = {}
    for name, aliases in SIMPLE_FEATURES.items():
        found = next((a for a in aliases if a in meta_X.columns), None)
        if found is None:
            return None
        columns[name] = meta_X[found].astype(float)
    frame = pd.DataFrame(columns, index=meta_X.index)
    if frame["pct_numeric"].max(skipna=True) > 1.0:  # OpenML gives a percentage
        frame["pct_numeric"] = frame["pct_numeric"] / 100.0
    for count in ("nr_inst", "nr_attr", "nr_class"):
        frame[count] = np.log1p(frame[count].clip(lower=0))
    return frame


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
        simple = simple_features(meta_X)
        if simple is None:
            raise UsageError("the datasets to rank lack the simple meta-features the FLAML-style baseline needs")
        query = ((simple - self.center_) / self.scale_).fillna(0.0).to_numpy()
        dist = np.sqrt(((query[:, None, :] - self.train_[None, :, :]) ** 2).sum(axis=2))
        nearest = np.argmin(dist, axis=1)
        normalized = self.normalized_.fillna(-1.0).to_numpy()
        tie_break = 1e-6 * self.normalized_.mean().to_numpy()
        values = normalized[nearest] + tie_break
        return pd.DataFrame(values, index=meta_X.index, columns=self.learners_)
