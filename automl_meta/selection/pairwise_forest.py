"""SATzilla-2011-style pairwise random forests: a classic algorithm-selection baseline.

For every pair of learners ``(a, b)`` a scikit-learn random forest learns "is ``a``
better than ``b`` on this dataset?" from the meta-features. Each training dataset
is weighted by how much the answer matters there, the difference of the two
learners' per-dataset normalized scores (cost-sensitive; datasets where the two
tie do not vote). A new dataset's learners are ordered by the number of pairwise
duels they win (Copeland count), ties broken by the summed win probabilities.

Screened on ASlib OPENML-WEKA-2017 (official folds, 50 trees, 3 seeds unless
said; remaining gap, lower is better): weights from raw accuracy differences
0.79 with hard votes and 0.87 with soft votes (summed probabilities); weights
from normalized-score differences, as here, 0.71 (5 seeds: 0.74; 150 trees:
0.71); LightGBM's random-forest mode in its place, same weights and hard votes,
1.04. This class, ``benchmarks/selector.py --pairwise-rf --seeds 5``: with 100
trees per pair 0.76, 0.71, 0.72, 0.70 and 1.19 (one seed flips the few datasets
that hold most of the gap), mean 0.82 +- 0.19 against the meta-model's 0.82 +-
0.03; with 300 trees, the default since, 0.725 +- 0.035 (seeds 0.68-0.78), at
three times the cost; the multi-output forest of ``selector evaluate --forest``
(:mod:`automl_meta.selection.multi_forest`) leaves 0.626 there in seconds.
On the shipped database it ties with the meta-model (100 trees, 3 seeds). It
trains ``L (L - 1) / 2`` forests per fit, so it is opt-in (``selector evaluate
--pairwise-rf``) and not the shipped meta-model: its forests could only be saved
by pickling, and votes have no additive explanation for ``--explain``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils.validation import check_is_fitted

from automl_meta.selection.baselines import (
    _Selector,
    check_int,
    check_max_features,
    check_n_jobs,
    checked_query,
    seeded_rng,
)
from automl_meta.selection.contrasts import present_landmarkers
from automl_meta.selection.metamodel import model_matrix
from automl_meta.selection.normalize import normalize_scores

MISSING = -1.0  # what an absent meta-feature becomes (a value no count or rate takes)


def forest_matrix(values) -> np.ndarray:
    """Meta-features as the forests read them: float, an absent value as :data:`MISSING`."""
    return np.nan_to_num(np.asarray(values, dtype=float), nan=MISSING)


def _fit_duel(X, wins, weight, seed, params) -> RandomForestClassifier:
    return RandomForestClassifier(random_state=seed, n_jobs=1, **params).fit(X, wins, sample_weight=weight)


class PairwiseForest(_Selector):
    """Cost-sensitive pairwise random forests with hard votes (SATzilla 2011).

    Parameters
    ----------
    n_estimators : int
        Trees per pairwise forest. 300: with 100 the votes of the few datasets
        that decide the gap flip from seed to seed (see the module docstring).
    max_features : str, int or float
        Meta-features tried at each split (scikit-learn's meaning).
    landmark_contrasts : bool
        Add the landmarker contrasts the meta-model reads (see :mod:`automl_meta.selection.contrasts`).
    random_state : int, RandomState or None
    log_scores : bool
        Normalize log10 scores (runtimes).
    n_jobs : int
        Processes over the pairs (joblib); each forest grows its trees in one
        thread (its trees are too small to pay for threads: 78 s with two
        threads per forest against 44 s with one, for 435 forests of 100 trees).
        The forests do not depend on it.
    """

    def __init__(self, n_estimators: int = 300, max_features="sqrt", landmark_contrasts: bool = True,
                 random_state=None, log_scores: bool = False, n_jobs: int = 1):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.landmark_contrasts = landmark_contrasts
        self.random_state = random_state
        self.log_scores = log_scores
        self.n_jobs = n_jobs

    def _X(self, meta_X: pd.DataFrame) -> np.ndarray:
        meta_X = checked_query(meta_X, self.feature_names_)
        return forest_matrix(model_matrix(meta_X, self.feature_names_, self.landmarkers_))

    def fit(self, meta_X, scores, maximize: bool = True):
        check_int("n_estimators", self.n_estimators, 1)
        check_max_features(self.max_features)
        check_n_jobs(self.n_jobs)
        rng = seeded_rng(self.random_state)
        meta_X, scores = self._fit_scores(meta_X, scores, maximize)
        self.feature_names_ = list(meta_X.columns)
        self.landmarkers_ = present_landmarkers(meta_X.columns) if self.landmark_contrasts else []
        X = self._X(meta_X)
        # the median learner of a dataset maps to 0 and the best to 1; a failed run counts as 0
        normalized = normalize_scores(scores, self.maximize_, log=self.log_scores, floor="median").fillna(0.0).to_numpy()
        pairs = list(itertools.combinations(range(len(self.learners_)), 2))
        seeds = [int(rng.randint(np.iinfo(np.int32).max)) for _ in pairs]  # drawn up front: same forests for any n_jobs
        self.duels_ = {}
        to_fit = []
        for (j, k), seed in zip(pairs, seeds):
            diff = normalized[:, j] - normalized[:, k]
            decided = diff != 0
            wins = (diff[decided] > 0).astype(int)
            if wins.size == 0 or wins.min() == wins.max():  # one learner always wins (or they always tie)
                self.duels_[(j, k)] = 0.5 if wins.size == 0 else float(wins[0])
            else:
                to_fit.append(((j, k), decided, wins, np.abs(diff[decided]), seed))
        params = dict(n_estimators=self.n_estimators, max_features=self.max_features)
        forests = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_duel)(X[decided], wins, weight, seed, params) for _, decided, wins, weight, seed in to_fit
        )
        for (pair, *_), forest in zip(to_fit, forests):
            self.duels_[pair] = forest
        return self

    def predict_proba_duels(self, meta_X: pd.DataFrame) -> dict[tuple[int, int], np.ndarray]:
        """``(j, k) -> P(learner j beats learner k)`` per dataset, learners indexed as in ``learners_``."""
        check_is_fitted(self, "duels_")
        X = self._X(meta_X)
        out = {}
        for pair, model in self.duels_.items():
            if isinstance(model, float):
                out[pair] = np.full(len(X), model)
            elif len(X) == 0:  # scikit-learn refuses to predict for no rows
                out[pair] = np.empty(0)
            else:
                out[pair] = model.predict_proba(X)[:, list(model.classes_).index(1)]
        return out

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """Duels won per learner, plus 1e-3 x the summed win probabilities as the tie-break."""
        duels = self.predict_proba_duels(meta_X)  # checks the fit and meta_X first
        wins = np.zeros((len(meta_X), len(self.learners_)))
        soft = np.zeros_like(wins)
        for (j, k), p in duels.items():
            wins[:, j] += p > 0.5
            wins[:, k] += p < 0.5
            soft[:, j] += p
            soft[:, k] += 1.0 - p
        return self._frame(wins + 1e-3 * soft, meta_X.index)
