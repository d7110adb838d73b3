"""SATzilla-style pairwise random forests: duels learned from meta-features, hard votes, opt-in in the suite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from automl_meta.selection.pairwise_forest import PairwiseForest
from automl_meta.selection.suite import default_selectors, evaluate_suite


def switching_meta(n: int = 40, seed: int = 0):
    """Learner ``lin`` wins where meta-feature ``x`` > 0, ``tree`` elsewhere; ``dummy`` always loses;
    ``twin`` always ties with ``dummy`` (a pair with no winner)."""
    rng = np.random.default_rng(seed)
    index = [f"ds{i:02d}" for i in range(n)]
    x = rng.choice([-1.0, 1.0], n) * rng.uniform(0.2, 1.0, n)  # no dataset sits on the boundary
    meta = pd.DataFrame({"x": x, "noise": rng.normal(size=n)}, index=index)
    lin = 0.80 + 0.1 * np.sign(x) + rng.normal(0, 0.005, n)
    tree = 0.80 - 0.1 * np.sign(x) + rng.normal(0, 0.005, n)
    scores = pd.DataFrame({"lin": lin, "tree": tree, "dummy": 0.5, "twin": 0.5}, index=index)
    return meta, scores


def test_each_dataset_gets_the_learner_that_wins_its_duels():
    meta, scores = switching_meta()
    model = PairwiseForest(n_estimators=31, random_state=0).fit(meta.iloc[:30], scores.iloc[:30])
    chosen = model.predict(meta.iloc[30:]).idxmax(axis=1)
    expected = np.where(meta["x"].iloc[30:] > 0, "lin", "tree")
    assert (chosen.to_numpy() == expected).all()
    assert set(model.training_datasets_) == set(meta.index[:30])


def test_decided_pairs_need_no_forest_and_ties_give_no_vote():
    meta, scores = switching_meta()
    model = PairwiseForest(n_estimators=11, random_state=0).fit(meta, scores)
    j = {a: i for i, a in enumerate(model.learners_)}
    assert model.duels_[tuple(sorted((j["lin"], j["dummy"])))] in (0.0, 1.0)  # lin always beats dummy: a constant
    assert model.duels_[tuple(sorted((j["dummy"], j["twin"])))] == 0.5  # they always tie
    votes = model.predict(meta).round().astype(int)
    assert (votes["dummy"] == 0).all() and (votes["twin"] == 0).all()
    assert (votes[["lin", "tree"]].max(axis=1) == 3).all()  # the winner beats the other three


def test_same_seed_same_ranking_and_other_seed_other_forests():
    meta, scores = switching_meta(seed=1)
    scores["lin"] += np.random.default_rng(3).normal(0, 0.05, len(scores))  # make the duel noisy
    a = PairwiseForest(n_estimators=5, random_state=7).fit(meta, scores).predict(meta)
    b = PairwiseForest(n_estimators=5, random_state=7).fit(meta, scores).predict(meta)
    c = PairwiseForest(n_estimators=5, random_state=8).fit(meta, scores).predict(meta)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_pairs_over_two_processes_give_the_same_forests():
    rng = np.random.default_rng(3)
    meta = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    scores = pd.DataFrame(rng.uniform(0.5, 1.0, size=(30, 4)), columns=["w", "x", "y", "z"])  # every pair contested
    one = PairwiseForest(n_estimators=5, random_state=7, n_jobs=1).fit(meta, scores)
    two = PairwiseForest(n_estimators=5, random_state=7, n_jobs=2).fit(meta, scores)
    assert sum(not isinstance(m, float) for m in two.duels_.values()) == 6
    pd.testing.assert_frame_equal(one.predict(meta), two.predict(meta))


def test_suite_adds_the_pairwise_forests_only_when_asked():
    assert "pairwise RF (SATzilla)" not in default_selectors()
    meta, scores = switching_meta(n=16)
    selectors = default_selectors(pairwise_forest=True)
    report = evaluate_suite(meta, scores, True, seeds=[0], n_boot=0,
                            selectors={k: selectors[k] for k in ("SBS", "pairwise RF (SATzilla)")})
    result = report["selectors"]["pairwise RF (SATzilla)"]
    # held out one at a time, the duels still find each dataset's winner far more often than the SBS
    assert result["mean"]["top1_accuracy"] > report["selectors"]["SBS"]["mean"]["top1_accuracy"] + 0.3


def test_predict_before_fit_says_not_fitted_as_every_selector_does():
    meta, _ = switching_meta()
    for call in (PairwiseForest().predict, PairwiseForest().predict_proba_duels, PairwiseForest().rank):
        with pytest.raises(NotFittedError):
            call(meta.iloc[:1])
