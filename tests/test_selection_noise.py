"""The fold-peeking selector: how much of the SBS -> oracle gap is fold noise."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl_meta.exceptions import UsageError
from automl_meta.selection.noise import fold_array, fold_peeking_gap, noise_floor, perfect_knowledge_gap


def _folds(true_means: np.ndarray, noise: float, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return true_means[:, :, None] + rng.normal(scale=noise, size=(*true_means.shape, n_folds))


def test_consistent_differences_leave_no_gap():
    rng = np.random.default_rng(1)
    means = rng.uniform(0.5, 0.9, size=(40, 6))
    means[:, 0] = means.max(axis=1) - 0.05  # the SBS is never the best, so there is a gap to close
    floor = fold_peeking_gap(_folds(means, noise=1e-4), sbs=0)
    assert floor["remaining_gap"] < 0.01
    assert floor["splits"] == 10 and floor["choose_folds"] == 3 and floor["judge_folds"] == 2


def test_pure_noise_leaves_most_of_the_gap():
    means = np.full((60, 6), 0.8)  # every learner is as good as every other: the oracle's edge is noise
    floor = fold_peeking_gap(_folds(means, noise=0.05), sbs=0)
    assert floor["remaining_gap"] > 0.8


def test_failed_runs_count_as_the_worst_and_bad_choices_are_usage_errors():
    means = np.tile([0.9, 0.7, 0.6], (10, 1))
    folds = _folds(means, noise=1e-4)
    folds[0, 2] = np.nan  # a failed learner never wins and does not break the means
    assert fold_peeking_gap(folds, sbs=1)["remaining_gap"] < 0.01
    with pytest.raises(UsageError, match="choose_folds"):
        fold_peeking_gap(folds, sbs=1, choose_folds=5)


def test_noise_floor_reads_long_evaluations_and_picks_the_sbs():
    rng = np.random.default_rng(2)
    rows, means = [], {}
    for d in range(12):
        for learner, base in (("good", 0.8), ("noisy", 0.78), ("bad", 0.5)):
            folds = (base + rng.normal(scale=0.03, size=5)).tolist()
            rows.append({"dataset": f"d{d}", "learner": learner, "metric": "accuracy", "status": "ok",
                         "fold_scores": json.loads(json.dumps(folds))})
            means[(f"d{d}", learner)] = float(np.mean(folds))
    evaluations = pd.DataFrame(rows)
    scores = pd.Series(means).unstack()
    folds, datasets, learners = fold_array(evaluations, "accuracy", maximize=True)
    assert folds.shape == (12, 3, 5) and learners == ["bad", "good", "noisy"]
    floor = noise_floor(evaluations, scores, "accuracy", maximize=True)
    assert floor["sbs"] == "good" and floor["n_datasets"] == 12
    assert floor["remaining_gap"] == fold_peeking_gap(folds, sbs=learners.index("good"))["remaining_gap"]
    negated, _, _ = fold_array(evaluations, "accuracy", maximize=False)  # a minimized metric is oriented
    assert np.array_equal(negated, -folds)


def test_perfect_knowledge_gap_grows_with_fold_noise():
    rng = np.random.default_rng(3)
    means = rng.uniform(0.6, 0.9, size=(50, 5))
    means[:, 0] = means.max(axis=1) - 0.02
    quiet = perfect_knowledge_gap(_folds(means, noise=1e-4), sbs=0, n_draws=50, random_state=0)
    loud = perfect_knowledge_gap(_folds(means, noise=0.3), sbs=0, n_draws=50, random_state=0)
    assert quiet < 0.01 < 0.15 < loud  # a bootstrap of the folds redraws less than normal noise of their spread did


def test_perfect_knowledge_draws_stay_within_what_the_folds_showed():
    # normal noise of the fold spread, on one dataset with a disastrous fold, judged r2 above 1 and made the floor 0.89
    rng = np.random.default_rng(4)
    means = rng.uniform(0.6, 0.9, size=(30, 4))
    means[:, 0] = means.max(axis=1) - 0.02
    folds = _folds(means, noise=0.01)
    folds[0, 3] = [0.9, 0.9, 0.9, 0.9, -600.0]  # one learner's fold collapsed: its mean is far below, and stays so
    calm = perfect_knowledge_gap(np.delete(folds, 0, axis=0), sbs=0, n_draws=50, random_state=0)
    assert perfect_knowledge_gap(folds, sbs=0, n_draws=50, random_state=0) == pytest.approx(calm, abs=0.05)
