"""Probe-aware ranking: the meta-model's order blended with a quick run of every candidate.

A *probe* (sampling landmark, Soares, Petrak and Brazdil 2001) cross-validates
every candidate on small stratified subsamples of the new dataset
(:func:`automl_meta.probe.probe_scores`: three draws of 1,000 rows, 3 folds
each, averaged, by default). It is measured on the user's own data, so it sees
what meta-features cannot; on a small sample it also misjudges learners whose
learning curves cross later (boosting overtakes the linear models on larger
data), which the meta-model, knowing the dataset's size, does not. The blend
averages the two orders::

    blended = weight * rank(probe) + (1 - weight) * rank(meta-model utility)

with failed probes ranked last. ``benchmarks/probe_selector.py`` measures it
under leave-one-dataset-out on the shipped meta-database, where every
evaluation used at most 2,000 rows, so a 1,000-row probe saw at least half of
the rows it is judged on. On larger data the probe's order misled (README,
'Probing': on 8 datasets of 5k-49k rows a 500-row probe's top-1 was worse than
the meta-model's on 5 and better on none), so :func:`probe_weight` keeps the
weight only while the probe covers half the rows and shrinks it in proportion
below that (0.34 at 5,000 rows, 0.085 at 20,000).

:class:`ProbeBlend` and :class:`ProbeBest` follow the selector contract of
:mod:`automl_meta.selection.baselines`; they read each dataset's probe scores
from ``meta_X`` columns named ``probe:<learner>`` (raw metric values), which
the meta-model itself never sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from automl_meta.exceptions import UsageError
from automl_meta.selection.baselines import _Selector
from automl_meta.selection.normalize import orient

PROBE_PREFIX = "probe:"
PROBE_ROWS = 1000
PROBE_CV = 3
PROBE_DRAWS = 3  # subsamples (or, on small data, repeated k-folds) averaged: one draw's fold noise misleads
PROBE_WEIGHT = 0.85  # on the probe's ranks; chosen on two three-draw probes, confirmed on a third (README, 'Probing')
PROBE_TIMEOUT = 10.0  # seconds per fit: a learner slower than that on a thousand rows counts as failed
PROBE_BUDGET = 30.0  # seconds for the whole probe: learners unfinished then keep the meta-model's order
FULL_WEIGHT_COVERAGE = 0.5  # the least share of rows a probe saw on the shipped database


def probe_weight(probe_rows: int, n_rows: int, weight: float = PROBE_WEIGHT) -> float:
    """The probe's weight for a dataset of ``n_rows``: ``weight`` while the probe covers at least
    half of the rows, then shrunk in proportion to its coverage (0.085 for 1,000 of 20,000 rows)."""
    coverage = probe_rows / max(int(n_rows), 1)
    return weight * min(1.0, coverage / FULL_WEIGHT_COVERAGE)


def probe_columns(columns) -> list[str]:
    return [str(c) for c in columns if str(c).startswith(PROBE_PREFIX)]


def blend_ranks(
    utility: pd.DataFrame, probe: pd.DataFrame, maximize: bool, weight: float = PROBE_WEIGHT, unprobed: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Weighted mean of the two per-dataset ranks (higher = better; failed or missing probes last).

    ``utility``: higher is better (the meta-model's ``decision_function``).
    ``probe``: raw metric values, larger better if ``maximize``; same labels.
    ``unprobed``: True where the probe never ran a learner (its time budget
    ran out first): no evidence either way, so its probe rank is its model rank.
    """
    if not 0.0 <= weight <= 1.0:
        raise UsageError(f"the probe weight must be between 0 and 1, got {weight}")
    probe = orient(probe.reindex(index=utility.index, columns=utility.columns).astype(float), maximize)
    by_probe = probe.rank(axis=1, method="average", na_option="top")  # rank 1 = worst; NaN below it
    by_model = utility.astype(float).rank(axis=1, method="average", na_option="top")  # rank 1 = worst; NaN below it
    if unprobed is not None:
        by_probe = by_probe.mask(unprobed.reindex_like(by_probe).fillna(False).astype(bool), by_model)
    return weight * by_probe + (1.0 - weight) * by_model


def _probe_table(meta_X: pd.DataFrame, learners: list[str]) -> pd.DataFrame:
    table = meta_X.reindex(columns=[PROBE_PREFIX + name for name in learners])
    table.columns = learners
    return table


class ProbeBest(_Selector):
    """The order of the probe alone (no meta-features): each dataset's best learner on its subsample first."""

    def fit(self, meta_X, scores, maximize: bool = True):
        self._fit_scores(meta_X, scores, maximize)
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "learners_")
        probe = orient(_probe_table(meta_X, self.learners_).astype(float), self.maximize_)
        return probe.fillna(-np.inf)


class ProbeBlend(_Selector):
    """The :class:`~automl_meta.selection.MetaModel`'s utilities blended with the probe."""

    def __init__(self, weight: float = PROBE_WEIGHT, random_state=None):
        self.weight = weight
        self.random_state = random_state

    def fit(self, meta_X, scores, maximize: bool = True):
        from automl_meta.selection.metamodel import MetaModel

        meta_X, scores = self._fit_scores(meta_X, scores, maximize)
        model = MetaModel(random_state=self.random_state)
        self.model_ = model.fit(meta_X.drop(columns=probe_columns(meta_X.columns)), scores, maximize=maximize)
        return self

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        # higher = better: the decision_function (the meta-model's predict is in metric units)
        utility = self.model_.decision_function(meta_X.drop(columns=probe_columns(meta_X.columns)))[self.learners_]
        return blend_ranks(utility, _probe_table(meta_X, self.learners_), self.maximize_, self.weight)


class MetaFeaturesOnly(BaseEstimator):
    """``selector`` fitted and queried without the probe columns: a baseline beside the probe sees only meta-features."""

    def __init__(self, selector):
        self.selector = selector

    def fit(self, meta_X: pd.DataFrame, scores: pd.DataFrame, maximize: bool = True):
        self.selector_ = clone(self.selector).fit(meta_X.drop(columns=probe_columns(meta_X.columns)), scores, maximize=maximize)
        return self

    def decision_function(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        """The selector's utilities (its ``decision_function`` where it has one, else its ``predict``)."""
        check_is_fitted(self, "selector_")
        inner = getattr(self.selector_, "decision_function", None) or self.selector_.predict
        return inner(meta_X.drop(columns=probe_columns(meta_X.columns)))

    def predict(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "selector_")
        return self.selector_.predict(meta_X.drop(columns=probe_columns(meta_X.columns)))
