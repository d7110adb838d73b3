"""The meta-model: LightGBM learns from meta-features how each candidate learner will do.

Formulations tried (all LightGBM; see :mod:`automl_meta.selection.boosters`):

- ``per_learner``: one regressor per learner of its per-dataset min-max normalized score
  (a failed or missing run scores 0, its dataset's worst, as the evaluation counts it);
- ``single``: one regressor on (meta-features, learner id) rows;
- ``ranker``: LGBMRanker-style LambdaRank, one query per dataset;
- ``pairwise``: regret-weighted pairwise classifiers (SATzilla 2011 style), summed log-odds.

Kept: ``per_learner`` in LightGBM's random-forest mode (``boosting="rf"``: 100
bagged trees of up to 16 leaves, averaged), every training dataset weighted by
the spread of its scores in metric points (``dataset_weight="range"``), scores
normalized per dataset between the median and the best learner
(``score_floor="median"``), with landmarker contrasts added to the
meta-features (``landmark_contrasts=True``, :mod:`automl_meta.selection.contrasts`).
Why, measured with remaining gap = (oracle - selected) / (oracle - SBS), lower
is better:

- ASlib OPENML-WEKA-2017, official 10 folds, 3 seeds, 5-learner portfolio
  (screening harness): per-learner rf+range 0.81 +- 0.06, the same with
  extra-trees splits 0.87, pairwise gradient-boosted 0.87, per-learner
  gradient-boosted 1.12 (1.34 on all 30 learners), single model 0.98, kNN
  1.05-1.48; then on all 30 learners with this class, 3 seeds: median floor
  0.83 +- 0.02, min floor 0.85 +- 0.02;
- leave-one-dataset-out on the meta-database while it was being built: on its
  first 34 regression datasets (r2, 14 learners, 2 seeds) per_learner rf+range
  0.63, ranker 0.99, single 1.24 (kNN 1.79, FLAML-style 1-NN 1.05); on all 44
  regression datasets every variant sat at the SBS (median floor 1.10 +- 0.03,
  unweighted 0.97 +- 0.05, min floor 1.08 +- 0.06; FLAML-style 1-NN 0.98): a
  handful of tiny noisy datasets (one holds 15% of the SBS->oracle gap) decide it;
- the shipped database, 5 seeds (``benchmarks/selector.py``), without contrasts:
  classification 1.14 +- 0.04, regression 1.05 +- 0.06 -- no better than the SBS;
  with them 1.02 +- 0.03 and 0.89 +- 0.08 (the only variant of ~17 screened that
  helped both tasks). The database's own fold noise bounds what any selector can
  do there (:mod:`automl_meta.selection.noise`: a selector that knew every
  learner's mean would still leave 0.34 / 0.88). ASlib OPENML-WEKA-2017 0.82 +-
  0.03 (no landmarker names match, so no contrasts); SAT11-HAND (PAR10) 0.33 +-
  0.01 (kNN 0.46). On OPENML-WEKA-2017 ~30 further variants (margin over the SBS
  chosen by inner CV, greedy portfolios, other targets, pairwise on the two
  learners that matter, landmarker contrasts of OpenML's landmarkers) stayed
  between 0.77 and 0.96: none beat the default by more than the noise.
  SATzilla-style pairwise scikit-learn forests with hard votes
  (:mod:`automl_meta.selection.pairwise_forest`, a baseline, not a LightGBM
  formulation) do better there on 4 of 5 seeds (0.70-0.76) but leave 1.19 on
  the fifth (mean 0.82 +- 0.19; 0.725 +- 0.035 with 300 trees), and tie with
  this model on the shipped database. One multi-output scikit-learn forest
  over all learners (:mod:`automl_meta.selection.multi_forest`) leaves 0.626
  there but 1.05 / 0.98 on the shipped database, where this model leaves 1.02
  / 0.89: the shipped meta-model is judged on the shipped database. ``benchmarks/NOTES.md`` lists every
  variant screened since, none better than the seed noise on both benchmarks.

Small gradient-boosted models overfit ~100 noisy rows; averaging bagged trees is
the variance reduction these data need, and the range weights make the loss
follow the metric (a dataset where every learner is within 0.1 point cannot cost
much, so it should not steer the model). Fitting costs ~0.3 s of CPU for 44
datasets x 14 learners, so ``recommend`` can train it on the fly.

``predict`` maps each learner's predicted normalized score onto the dataset's
predicted range of scores (two extra regressors predict the best score and
the spread below it), so it is in the metric's units and orders learners exactly like ``rank``;
``predict_interval`` is the spread of each learner's real scores on the nearest
training datasets; ``explain`` decomposes ``decision_function`` (LightGBM
``pred_contrib``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from automl_meta.exceptions import UsageError
from automl_meta.selection import boosters as B
from automl_meta.selection.baselines import _checked, as_maximize, check_choice, check_int, check_real, checked_query, seeded_rng
from automl_meta.selection.contrasts import contrast_names, present_landmarkers, with_contrasts
from automl_meta.selection.neighbours import MinMaxSpace
from automl_meta.selection.normalize import dataset_weights, normalize_scores, orient

logger = logging.getLogger(__name__)

METHODS = ("per_learner", "single", "ranker", "pairwise")
# what `recommend` and `selector train` ask of a meta-database: a ranking learned from two datasets
# copies one of them (the meta-model itself fits on 2, as a leave-one-out fold of 3 needs)
MIN_RANKING_DATASETS = 3
AT_MEDIAN_TOLERANCE = 0.01  # a utility this close above 0 (a hundredth of the median-to-best range) is at the median
# Bump when fit learns something else from the same data; cached meta-models of another version are retrained.
# 2: the score range maps utilities from the median learner's score (was the worst's); constant targets fit.
# 3: the range's floor is the predicted best score minus a predicted spread (was a separately predicted floor,
#    which could rise above the best and squash every predicted score into one value).
TRAINING_VERSION = "3"
# The settings the gradient-boosted variants were tuned with (the default is LightGBM's rf mode).
GBDT_PARAMS = {"boosting": "gbdt", "n_estimators": 40, "num_leaves": 4, "min_child_samples": 8, "subsample": 0.8,
               "dataset_weight": "none"}
BIAS = "bias"


def feature_matrix(meta_X: pd.DataFrame, feature_names: list[str]) -> np.ndarray:
    """Float matrix in ``feature_names`` order; absent columns and infinities become NaN."""
    frame = meta_X.reindex(columns=feature_names)
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def model_matrix(meta_X: pd.DataFrame, feature_names: list[str], landmarkers: list[str]) -> np.ndarray:
    """What a fitted selector reads: ``feature_names`` of ``meta_X``, then the contrasts of ``landmarkers``."""
    frame = with_contrasts(meta_X.reindex(columns=feature_names), landmarkers)
    return feature_matrix(frame, [*feature_names, *contrast_names(landmarkers)])


def break_ties(utility: pd.DataFrame, preference: pd.Series) -> pd.DataFrame:
    """Exactly equal utilities in a row put in the order of ``preference`` (higher first).

    On a small database the boosters often cannot tell learners apart (every one
    below the median on each training dataset predicts exactly 0), and the
    column order, where the dummy baseline comes first, decided. The tied
    values move down, by less than 1e-12 and less than half the smallest gap
    between distinct values of the row, so no other learner is passed, a
    utility of 0 stays at most 0 (:meth:`MetaModel.upper_bounded`) and
    :meth:`MetaModel.explain` still sums to the utility.
    """
    values = utility.to_numpy(dtype=float).copy()
    order = preference.reindex(utility.columns).fillna(-np.inf).rank(method="first").to_numpy()  # 1 = least preferred
    for row in values:
        distinct, where, counts = np.unique(row, return_inverse=True, return_counts=True)
        tied = counts[where] > 1
        if tied.any():
            gap = np.diff(distinct).min() if len(distinct) > 1 else 1.0
            row[tied] -= min(1e-12, gap / 2) / (len(row) + 1) * (len(row) + 1 - order[tied])  # down: 0 stays "at most"
    return pd.DataFrame(values, index=utility.index, columns=utility.columns)


class MetaModel(BaseEstimator):
    """Rank candidate learners for a dataset from its meta-features (scikit-learn style).

    Parameters
    ----------
    method : {"per_learner", "pairwise", "single", "ranker"}
        Which LightGBM formulation learns the ranking (see the module docstring).
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree, reg_lambda :
        LightGBM settings of every booster (small trees: meta-datasets have ~100 rows).
    boosting : {"gbdt", "rf"}
        Gradient boosting, or LightGBM's random-forest mode (bagged trees averaged).
    dataset_weight : {"none", "range"}
        ``range`` weighs each training dataset by the spread of its scores in metric points
        (best minus worst learner), so datasets where the choice matters count more; the
        pairwise variant then weighs by the raw score difference of the pair.
    score_floor : {"min", "median"}
        What maps to 0 in the per-dataset normalization: the worst learner, or the median
        one (everything below it clipped to 0, so one catastrophic learner does not squash
        the differences near the top).
    portfolio_size : int or None
        If set, only the ``portfolio_size`` learners that greedily cover most of the
        training oracle are modelled; the others rank below them by their mean
        normalized training score (they still appear in every ranking).
    n_neighbors : int
        Neighbours used by ``predict_interval`` (and the default of ``nearest``).
    log_scores : bool
        Learn from log10 of the scores (runtimes).
    landmark_contrasts : bool
        Add per-dataset contrasts of the landmarking meta-features (which cheap model
        beats which; see :mod:`automl_meta.selection.contrasts`) when at least two
        landmarkers are among the meta-features.
    random_state : int, RandomState or None
        Seeds LightGBM's bagging and feature sampling.

    Attributes
    ----------
    learners_ : list of str
        Learners with at least one training evaluation (others are never recommended).
    feature_names_ : list of str
        Meta-features the model reads, in order.
    landmarkers_ : list of str
        Landmarkers the contrasts are computed from (empty: no contrasts).
    model_features_ : list of str
        What the boosters see: ``feature_names_`` then the contrasts (what :meth:`explain` indexes).
    training_datasets_ : list of str
    maximize_ : bool
    boosters_ : dict of str -> lightgbm.Booster
    """

    def __init__(
        self,
        method: str = "per_learner",
        n_estimators: int = 100,
        learning_rate: float = 0.05,
        num_leaves: int = 16,
        min_child_samples: int = 3,
        subsample: float = 0.632,
        colsample_bytree: float = 0.5,
        reg_lambda: float = 1.0,
        boosting: str = "rf",
        dataset_weight: str = "range",
        score_floor: str = "median",
        portfolio_size: int | None = None,
        n_neighbors: int = 5,
        log_scores: bool = False,
        landmark_contrasts: bool = True,
        random_state=None,
    ):
        self.method = method
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.boosting = boosting
        self.dataset_weight = dataset_weight
        self.score_floor = score_floor
        self.portfolio_size = portfolio_size
        self.n_neighbors = n_neighbors
        self.log_scores = log_scores
        self.landmark_contrasts = landmark_contrasts
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------------------

    def _check_params(self) -> None:
        """Refuse a hyperparameter LightGBM or the normalization cannot use, before any work (scikit-learn style)."""
        check_choice("meta-model method", self.method, METHODS)
        check_choice("boosting", self.boosting, ("gbdt", "rf"))
        check_choice("dataset_weight", self.dataset_weight, ("none", "range"))
        check_choice("score_floor", self.score_floor, ("min", "median"))
        check_int("n_estimators", self.n_estimators, 1)
        check_int("num_leaves", self.num_leaves, 2)
        check_int("min_child_samples", self.min_child_samples, 0)
        check_int("portfolio_size", self.portfolio_size, 0, none_ok=True)
        check_int("n_neighbors", self.n_neighbors, 1)
        check_real("learning_rate", self.learning_rate, 0.0, low_open=True)
        check_real("subsample", self.subsample, 0.0, 1.0, low_open=True)
        check_real("colsample_bytree", self.colsample_bytree, 0.0, 1.0, low_open=True)
        check_real("reg_lambda", self.reg_lambda, 0.0)

    def fit(self, meta_X: pd.DataFrame, scores: pd.DataFrame, maximize: bool = True) -> "MetaModel":
        """Learn from ``meta_X`` (datasets x meta-features) and ``scores`` (datasets x learners, NaN = no run)."""
        self._check_params()
        rng = seeded_rng(self.random_state)
        meta_X, scores = _checked(meta_X, scores)
        if len(scores) < 2:
            raise UsageError(f"the meta-model needs at least 2 training datasets with scores, got {len(scores)}")
        self.maximize_ = as_maximize(maximize)
        self.learners_ = [str(c) for c in scores.columns]
        self.training_datasets_ = [str(i) for i in scores.index]
        scores = scores.set_axis(self.training_datasets_, axis=0)
        meta_X = meta_X.set_axis(self.training_datasets_, axis=0)
        self.space_ = MinMaxSpace().fit(meta_X)  # nearest datasets: the meta-features themselves
        self.feature_names_ = list(meta_X.columns)
        self.landmarkers_ = present_landmarkers(meta_X.columns) if self.landmark_contrasts else []
        # a failed or missing run is its dataset's worst (0), as the evaluation counts it: dropped, a learner that
        # failed on every dataset like the new one was learned from the others alone, and could rank first
        normalized = normalize_scores(scores, self.maximize_, log=self.log_scores, floor=self.score_floor).fillna(0.0)
        self.mean_normalized_ = normalized.mean()
        self.portfolio_ = self._portfolio(scores)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        X = self._X(meta_X)
        internal = [f"f{i}" for i in range(X.shape[1])]
        Y = normalized[self.portfolio_]
        trainer = {"per_learner": B.train_per_learner, "single": B.train_single, "ranker": B.train_ranker,
                   "pairwise": B.train_pairwise}[self.method]
        oriented = orient(scores, self.maximize_, log=self.log_scores)
        weight = dataset_weights(oriented, self.score_floor) if self.dataset_weight == "range" else None
        self.boosters_ = trainer(self, X, Y, internal, seed, w=weight)
        self.constants_ = B.pairwise_constants(Y, self.boosters_) if self.method == "pairwise" else {}
        self.range_boosters_ = self._range_boosters(X, oriented, internal, seed)
        self.train_scores_ = scores.astype(float)
        return self

    def _portfolio(self, scores: pd.DataFrame) -> list[str]:
        if not self.portfolio_size or self.portfolio_size >= len(self.learners_):
            return list(self.learners_)
        filled = orient(scores, self.maximize_, log=self.log_scores)
        filled = filled.apply(lambda row: row.fillna(row.min()), axis=1)
        chosen = [str(self.mean_normalized_.idxmax())]
        while len(chosen) < self.portfolio_size:
            base = filled[chosen].max(axis=1).mean()
            gains = {a: filled[chosen + [a]].max(axis=1).mean() - base for a in self.learners_ if a not in chosen}
            best = max(gains, key=gains.get)
            if gains[best] <= 0:
                break
            chosen.append(best)
        return [a for a in self.learners_ if a in chosen]

    def _range_boosters(self, X, oriented: pd.DataFrame, names, seed) -> dict:
        params = B.lgb_params(self, "regression", seed)
        out = {}
        # "high" is the best score; "spread" its distance above the score that normalizes to 0 (the worst
        # learner's, or the median one's with score_floor="median"). In random-forest mode averaged trees of a
        # non-negative target stay non-negative (gbdt is clipped in predict), so the predicted floor never rises
        # above the predicted best: two separate models of the best and of the floor did that on 2 of 79
        # held-out classification datasets, and every learner then showed the same predicted score.
        floor = oriented.median(axis=1) if self.score_floor == "median" else oriented.min(axis=1)
        for key, target in (("high", oriented.max(axis=1)), ("spread", oriented.max(axis=1) - floor)):
            out[key] = B._train(params, X, target.to_numpy(), self.n_estimators, names=names)
        return out

    # -- predicting ----------------------------------------------------------------------------------

    def _query(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """``meta_X`` checked and read under the fitted names (:func:`.baselines.checked_query`)."""
        return checked_query(meta_X, self.feature_names_)

    def _X(self, meta_X: pd.DataFrame) -> np.ndarray:
        return model_matrix(self._query(meta_X), self.feature_names_, self.landmarkers_)

    def _one_row(self, meta_x: pd.DataFrame, verb: str) -> pd.DataFrame:
        """The first dataset of ``meta_x``, for the methods that answer about one dataset."""
        meta_x = self._query(meta_x)
        if len(meta_x) == 0:
            raise UsageError(f"{verb} needs one dataset, but meta_x has no rows; pass a one-row DataFrame")
        return meta_x.iloc[:1]

    @property
    def model_features_(self) -> list[str]:
        return [*self.feature_names_, *contrast_names(self.landmarkers_)]

    def decision_function(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """The model's raw utility per learner (higher = better); what :meth:`explain` decomposes.

        Learners outside the portfolio get values below every portfolio member.
        """
        check_is_fitted(self, "boosters_")
        return self._utility(self._X(meta_X), meta_X.index)

    def _utility(self, X: np.ndarray, index) -> pd.DataFrame:
        """:meth:`decision_function` of an already built feature matrix."""
        if self.method == "per_learner":
            core = B.utility_per_learner(self.boosters_, X, self.portfolio_)
        elif self.method == "pairwise":
            core = B.utility_pairwise(self.boosters_, self.constants_, X, self.portfolio_, self.boosting == "rf")
        else:
            core = B.utility_single(self.boosters_, X, self.portfolio_)
        out = pd.DataFrame(core, index=index, columns=self.portfolio_)
        rest = [a for a in self.learners_ if a not in self.portfolio_]
        if rest:
            floor = out.min(axis=1) - 1.0
            for a in rest:
                out[a] = floor - (1.0 - self.mean_normalized_[a])
        return break_ties(out[self.learners_], self._tie_preference())

    def _tie_preference(self) -> pd.Series:
        """The SBS order, which equal utilities fall back on: each learner's mean min-max normalized training
        score (with the median floor every learner below the median scores 0 and would tie again). Derived
        from ``train_scores_`` at each call (datasets x learners: a millisecond), so a loaded model needs nothing more."""
        normalized = normalize_scores(self.train_scores_, self.maximize_, log=self.log_scores, floor="min")
        return normalized.fillna(0.0).mean().reindex(self.learners_)

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """Predicted score per learner, in the metric's units (datasets x learners).

        The utility of each dataset's row is mapped onto the predicted range of scores of
        that dataset, the inverse of the normalization the utilities learned: two extra
        regressors predict its best score and the spread down to the score that normalizes
        to 0 (the median learner's with ``score_floor="median"``, so learners predicted below
        the median show the median score; the worst learner's with ``"min"``). The order is exactly the
        ranking's. Larger is better for a maximized metric, smaller for a minimized one.
        """
        return self.predict_with_utility(meta_X)[0]

    def predict_with_utility(self, meta_X: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(predict(meta_X), decision_function(meta_X))``, the utilities computed once."""
        check_is_fitted(self, "boosters_")
        X = self._X(meta_X)  # built once: the landmarker contrasts cost pandas work
        utility = self._utility(X, meta_X.index)
        high = self.range_boosters_["high"].predict(X)
        low = high - np.maximum(self.range_boosters_["spread"].predict(X), 1e-6)
        u = utility.to_numpy()
        if self.method != "per_learner":  # utilities on their own scale: map each row onto [0, 1]
            lo, hi = u.min(axis=1, keepdims=True), u.max(axis=1, keepdims=True)
            u = (u - lo) / np.where(hi > lo, hi - lo, 1.0)
        else:  # the targets were clipped at 0 (the floor): less is noise, or a learner outside the portfolio
            u = np.maximum(u, 0.0)
        estimate = low[:, None] + u * (high - low)[:, None]
        if not self.maximize_:
            estimate = -estimate
        if self.log_scores:
            estimate = 10.0**estimate
        return pd.DataFrame(estimate, index=meta_X.index, columns=self.learners_), utility

    def upper_bounded(self, utility: pd.DataFrame) -> pd.DataFrame:
        """Where :meth:`predict` gives only an upper bound, from :meth:`decision_function`'s output.

        With the per-learner method and ``score_floor="median"`` every learner at or
        below a dataset's median learner was one training target (0), so for a learner
        the model puts there :meth:`predict` shows the predicted median score: the real
        one is at most that. A utility within :data:`AT_MEDIAN_TOLERANCE` above 0 counts as
        there too: for a learner at or below the median on every training dataset the
        boosted trees give 0 give or take such noise (the dummy on a shipped-database
        query: 0.0009, shown as the median's 0.717 balanced accuracy where a constant
        predictor scores 0.5 at most). So does every learner the model ranks in a dataset's
        bottom half, at or below its median learner: averaging trees put most of them a
        little above 0, so their scores, above the predicted median, overstate them.
        Returns a bool frame shaped like ``utility``.
        """
        if not (self.method == "per_learner" and self.score_floor == "median"):
            return pd.DataFrame(False, index=utility.index, columns=utility.columns)
        bottom_half = utility.rank(axis=1, ascending=False, method="first").gt(utility.shape[1] / 2)
        return utility.le(AT_MEDIAN_TOLERANCE) | bottom_half

    @property
    def interval_neighbors_(self) -> int:
        """How many training datasets :meth:`predict_interval` spans: ``n_neighbors``, or all of them if fewer."""
        check_is_fitted(self, "space_")
        return max(1, min(int(self.n_neighbors), len(self.space_.index_)))

    def predict_interval(self, meta_X: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(low, high)``: each learner's lowest and highest real score on the ``n_neighbors``
        training datasets nearest in meta-feature space (a spread, not a calibrated interval).

        A run that failed counts as its dataset's worst score, as the meta-model counts it:
        left out, a learner that failed on 3 of 5 neighbours showed the range of the other 2.
        """
        check_is_fitted(self, "space_")
        meta_X = self._query(meta_X)
        dist = self.space_.distances(meta_X).to_numpy()
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :self.interval_neighbors_]
        scores = self.train_scores_
        worst = scores.min(axis=1) if self.maximize_ else scores.max(axis=1)
        values = scores.apply(lambda column: column.fillna(worst)).to_numpy()[nearest]  # (datasets, neighbours, learners)
        low = np.where(np.isnan(values), np.inf, values).min(axis=1)
        high = np.where(np.isnan(values), -np.inf, values).max(axis=1)
        low = np.where(np.isfinite(low), low, np.nan)
        high = np.where(np.isfinite(high), high, np.nan)
        frame = lambda v: pd.DataFrame(v, index=meta_X.index, columns=self.learners_)  # noqa: E731
        return frame(low), frame(high)

    def rank(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """Rank of every learner per dataset, 1 = best (ties: the learner order)."""
        return self.decision_function(meta_X).rank(axis=1, ascending=False, method="first").astype(int)

    def explain(self, meta_x: pd.DataFrame) -> dict[str, pd.Series]:
        """Per-meta-feature contributions to each learner's utility for one dataset.

        Returns learner -> Series indexed by ``model_features_`` (plus ``learner`` for the
        single/ranker variants) and ``bias``; each Series sums to that learner's
        :meth:`decision_function` value (LightGBM ``pred_contrib``). Learners outside the
        portfolio have only a ``bias`` entry.
        """
        check_is_fitted(self, "boosters_")
        meta_x = self._one_row(meta_x, "explain")
        X = self._X(meta_x)
        rf = self.boosting == "rf"
        if self.method == "per_learner":
            parts = B.contrib_per_learner(self.boosters_, X, self.portfolio_, rf)
            index = [*self.model_features_, BIAS]
        elif self.method == "pairwise":
            parts = B.contrib_pairwise(self.boosters_, self.constants_, X, self.portfolio_, rf)
            index = [*self.model_features_, BIAS]
        else:
            parts = B.contrib_single(self.boosters_, X, self.portfolio_, rf)
            index = [*self.model_features_, B.LEARNER_FEATURE, BIAS]
        out = {a: pd.Series(parts[a][0], index=index, dtype=float) for a in self.portfolio_}
        utility = self._utility(X, meta_x.index[:1]).iloc[0]
        for a in self.learners_:
            if a not in out:
                out[a] = pd.Series({BIAS: float(utility[a])})
        return {a: out[a] for a in self.learners_}

    def nearest(self, meta_x: pd.DataFrame, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` training datasets nearest to ``meta_x`` (min-max scaled meta-features, L1)."""
        check_is_fitted(self, "space_")
        return self.space_.nearest(self._one_row(meta_x, "nearest"), k=k)
