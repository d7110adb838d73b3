"""Baseline selectors: the random order per dataset and the runtime SBS."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl_meta.selection import RandomSelector, SingleBest
from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors


def random_meta(n: int = 30, n_learners: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    index = [f"ds{i:02d}" for i in range(n)]
    meta = pd.DataFrame({"f1": rng.normal(size=n), "f2": rng.normal(size=n)}, index=index)
    scores = pd.DataFrame(rng.uniform(0.5, 0.9, size=(n, n_learners)), index=index,
                          columns=[f"learner{j}" for j in range(n_learners)])
    return meta, scores


def spiky_runtimes(n: int = 30) -> pd.DataFrame:
    """'spiky' is fastest on 2/3 of the instances and times out (PAR10 10,000 s) on the rest; 'steady'
    takes 10 s everywhere: 'spiky' wins the mean log-scaled score, 'steady' the mean PAR10."""
    spiky = [10_000.0 if i % 3 == 0 else 1.0 for i in range(n)]
    return pd.DataFrame({"spiky": spiky, "steady": 10.0, "slow": 20.0}, index=[f"inst{i:02d}" for i in range(n)])


def random_picks(seed: int) -> pd.Series:
    meta, scores = random_meta()
    result = evaluate_selectors(meta, scores, True, {"random": SelectorSpec(lambda s: RandomSelector(random_state=s))},
                                seeds=[seed], n_boot=0)
    return result["random"].per_dataset["selected"]


def test_random_baseline_spreads_its_picks_over_the_learners_under_leave_one_out():
    picks = random_picks(seed=0)
    assert len(picks) == 30
    assert picks.nunique() >= 4 and picks.value_counts().max() <= 15  # not one learner for every dataset
    assert picks.equals(random_picks(seed=0))  # the same seed, the same picks
    assert not picks.equals(random_picks(seed=1))


def test_random_order_of_a_dataset_does_not_depend_on_the_datasets_predicted_with_it():
    meta, scores = random_meta()
    selector = RandomSelector(random_state=3).fit(meta, scores)
    together = selector.predict(meta)
    alone = pd.concat([selector.predict(meta.loc[[name]]) for name in reversed(meta.index)])
    pd.testing.assert_frame_equal(together, alone.loc[together.index])
    refitted = RandomSelector(random_state=3).fit(meta.iloc[:10], scores.iloc[:10]).predict(meta.iloc[20:])
    pd.testing.assert_frame_equal(refitted, together.iloc[20:])


def test_runtime_sbs_is_the_lowest_mean_par10_and_other_scores_keep_the_normalized_mean():
    runtimes = spiky_runtimes()
    meta = pd.DataFrame(index=runtimes.index)
    sbs = SingleBest(log_scores=True).fit(meta, runtimes, maximize=False)
    assert sbs.best_ == "steady"
    assert list(sbs.predict(meta.iloc[:1]).iloc[0].sort_values(ascending=False).index) == ["steady", "slow", "spiky"]
    # accuracy-like scores: the best mean normalized score, not the best raw mean
    accuracy = pd.DataFrame({"often_best": [0.90, 0.90, 0.10], "never_bad": [0.89, 0.89, 0.80]}, index=list("abc"))
    assert SingleBest().fit(pd.DataFrame(index=accuracy.index), accuracy).best_ == "often_best"
