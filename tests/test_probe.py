"""Probing: every candidate on a small subsample, blended with the meta-model's order."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from automl_meta.dataset import make_dataset
from automl_meta.exceptions import UsageError
from automl_meta.probe import probe_scores, with_probe
from automl_meta.recommend import RankedLearner, Recommendation
from automl_meta.selection.probe import PROBE_PREFIX, PROBE_WEIGHT, ProbeBest, ProbeBlend, blend_ranks, probe_weight
from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors

LEARNERS = ["a", "b", "c", "d"]


def _row(values) -> pd.DataFrame:
    return pd.DataFrame([values], columns=LEARNERS, index=["data"])


def test_blend_weight_one_follows_the_probe_and_zero_the_model():
    utility = _row([4.0, 3.0, 2.0, 1.0])
    probe = _row([0.1, 0.2, 0.9, 0.3])
    assert blend_ranks(utility, probe, True, weight=1.0).iloc[0].idxmax() == "c"
    assert blend_ranks(utility, probe, True, weight=0.0).iloc[0].idxmax() == "a"
    mixed = blend_ranks(utility, probe, True, weight=0.7).iloc[0]
    # ranks (4 = best): probe a1 b2 c4 d3, model a4 b3 c2 d1 -> 0.7 * probe + 0.3 * model
    assert mixed.to_dict() == pytest.approx({"a": 1.9, "b": 2.3, "c": 3.4, "d": 2.4})


def test_blend_puts_a_failed_probe_last_and_honours_a_minimized_metric():
    utility = _row([1.0, 1.0, 1.0, 1.0])
    losses = _row([0.5, math.nan, 0.1, 0.9])  # lower is better, b failed
    order = blend_ranks(utility, losses, maximize=False, weight=1.0).iloc[0].sort_values(ascending=False)
    assert list(order.index) == ["c", "a", "d", "b"]
    with pytest.raises(UsageError, match="between 0 and 1"):
        blend_ranks(utility, losses, True, weight=1.5)


def test_probe_scores_cross_validates_a_capped_subsample():
    X, y = make_classification(400, n_features=5, n_informative=3, n_clusters_per_class=1, class_sep=2.0, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(target=np.where(y == 1, "yes", "no"))
    dataset = make_dataset(frame, target="target")
    probe = probe_scores(dataset, ["dummy", "lda"], rows=120, cv=3, random_state=0, draws=1)
    assert probe.rows == 120
    assert list(probe.scores.index) == ["dummy", "lda"]
    assert probe.scores["dummy"] == pytest.approx(0.5)  # balanced accuracy of a constant prediction
    assert probe.scores["lda"] > 0.7
    assert probe.status == {"dummy": "ok", "lda": "ok"} and probe.draws.tolist() == [1, 1]
    assert list(probe.fit_seconds.index) == ["dummy", "lda"] and (probe.fit_seconds > 0).all()
    small = probe_scores(dataset, ["dummy"], rows=1000, cv=3, draws=1)
    assert small.rows == 400 and math.isfinite(small.scores["dummy"])
    with pytest.raises(UsageError, match="at least 6"):
        probe_scores(dataset, ["dummy"], rows=5, cv=3)


def test_probe_draws_average_separately_seeded_subsamples():
    X, y = make_classification(400, n_features=5, n_informative=3, n_clusters_per_class=1, random_state=3)
    dataset = make_dataset(pd.DataFrame(X).add_prefix("f").assign(target=y.astype(str)), target="target")
    single = [probe_scores(dataset, ["lda", "decision_tree"], rows=120, cv=3, random_state=s, draws=1).scores for s in (7, 8)]
    both = probe_scores(dataset, ["lda", "decision_tree"], rows=120, cv=3, random_state=7, draws=2)
    pd.testing.assert_series_equal(both.scores, (single[0] + single[1]) / 2)
    assert single[0]["lda"] != single[1]["lda"]  # another subsample and other folds
    assert both.draws.tolist() == [2, 2]


def test_a_learner_keeps_the_draws_it_finished_before_the_budget_ran_out():
    X, y = make_classification(150, n_features=4, n_informative=2, n_redundant=0, random_state=4)
    dataset = make_dataset(pd.DataFrame(X).add_prefix("f").assign(target=y.astype(str)), target="target")
    ranking = (RankedLearner(rank=1, learner="dummy", predicted_score=0.5, utility=0.0),)
    rec = Recommendation("data", "classification", "target", "balanced_accuracy", True, ranking)
    # the caller's callback spends the budget once the first draw has finished: no second draw starts
    probed = with_probe(dataset, rec, rows=150, cv=3, budget=6.0, draws=3, on_result=lambda _: time.sleep(6.0))
    assert probed.probe["fewer_draws"] == ["dummy"] and probed.probe["not_probed"] == [] and probed.probe["draws"] == 3
    assert probed.ranking[0].probe_score == pytest.approx(0.5)


def test_with_probe_reorders_the_ranking_and_keeps_the_model_rank():
    X, y = make_classification(150, n_features=4, n_informative=2, n_redundant=0, n_clusters_per_class=1, class_sep=2.0, random_state=1)
    dataset = make_dataset(pd.DataFrame(X).add_prefix("f").assign(target=y.astype(str)), target="target")
    # the "meta-model" puts the constant predictor first; the probe knows better
    ranking = tuple(RankedLearner(rank=i, learner=n, predicted_score=0.5, utility=-i) for i, n in enumerate(["dummy", "lda"], 1))
    rec = Recommendation("data", "classification", "target", "balanced_accuracy", True, ranking)
    probed = with_probe(dataset, rec, rows=150, cv=3, weight=0.7, draws=1)
    assert [r.learner for r in probed.ranking] == ["lda", "dummy"]
    assert [(r.rank, r.model_rank) for r in probed.ranking] == [(1, 2), (2, 1)]
    assert probed.ranking[0].probe_score > probed.ranking[1].probe_score
    assert all(r.probe_fit_seconds > 0 for r in probed.ranking)
    assert probed.probe["rows"] == 150 and probed.probe["weight"] == 0.7
    doc = probed.as_dict()
    assert doc["probe"]["cv"] == 3 and doc["recommendations"][0]["model_rank"] == 2
    assert doc["recommendations"][0]["probe_fit_seconds"] == probed.ranking[0].probe_fit_seconds
    small = with_probe(dataset, rec, rows=30, cv=3, weight=0.7, draws=1)  # a fifth of the rows: less trust
    assert (small.probe["rows"], small.probe["of_rows"]) == (30, 150)
    assert small.probe["weight"] == pytest.approx(0.7 * 0.2 / 0.5) and small.probe["full_weight"] == 0.7


def test_learners_unfinished_when_the_probe_budget_runs_out_are_not_probed_and_keep_the_model_order():
    X, y = make_classification(150, n_features=4, n_informative=2, n_redundant=0, random_state=2)
    dataset = make_dataset(pd.DataFrame(X).add_prefix("f").assign(target=y.astype(str)), target="target")
    ranking = tuple(RankedLearner(rank=i, learner=n, predicted_score=0.5, utility=-i) for i, n in enumerate(["dummy", "lda"], 1))
    rec = Recommendation("data", "classification", "target", "balanced_accuracy", True, ranking)
    probed = with_probe(dataset, rec, rows=150, cv=3, budget=1e-3)  # no worker finishes a learner in a millisecond
    # stopped in its fit (a warm worker took it) or never started (the workers were still starting): no evidence
    assert probed.probe["not_probed"] == ["dummy", "lda"] and probed.probe["too_slow"] == [] and probed.probe["budget"] == 1e-3
    assert [(r.learner, r.probe_score, r.probe_fit_seconds) for r in probed.ranking] == [("dummy", None, None), ("lda", None, None)]


def test_an_unprobed_learner_keeps_its_model_rank_in_the_blend():
    utility = pd.DataFrame([[3.0, 2.0, 1.0]], columns=["a", "b", "c"])
    probe = pd.DataFrame([[0.6, 0.9, np.nan]], columns=["a", "b", "c"])
    failed = blend_ranks(utility, probe, True, 0.7).iloc[0]  # c failed: last by the probe
    unprobed = blend_ranks(utility, probe, True, 0.7, unprobed=pd.DataFrame([[False, False, True]], columns=["a", "b", "c"])).iloc[0]
    assert unprobed["c"] == pytest.approx(1.0)  # model rank 1 (worst of 3) on both sides
    assert failed["c"] == pytest.approx(1.0)  # here the same, as c is also the model's last
    moved = blend_ranks(utility[["c", "b", "a"]].set_axis(["a", "b", "c"], axis=1), probe, True, 0.7,
                        unprobed=pd.DataFrame([[False, False, True]], columns=["a", "b", "c"])).iloc[0]
    assert moved["c"] == pytest.approx(3.0)  # the model's best stays on top when the probe never saw it
    assert blend_ranks(utility[["c", "b", "a"]].set_axis(["a", "b", "c"], axis=1), probe, True, 0.7).iloc[0]["c"] == pytest.approx(0.7 + 0.9)


def test_the_probe_weight_shrinks_once_it_covers_less_than_half_of_the_rows():
    assert probe_weight(1000, 300) == probe_weight(1000, 2000) == PROBE_WEIGHT
    assert probe_weight(1000, 20000) == pytest.approx(PROBE_WEIGHT / 10)
    assert probe_weight(1000, 4000, weight=0.8) == pytest.approx(0.4)


def _meta_database(n: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    names = [f"d{i}" for i in range(n)]
    meta_X = pd.DataFrame(rng.normal(size=(n, 3)), index=names, columns=["m0", "m1", "m2"])
    scores = pd.DataFrame(rng.uniform(0.5, 1.0, size=(n, 4)), index=names, columns=LEARNERS)
    return meta_X, scores


def test_a_perfect_probe_closes_the_whole_gap_and_the_meta_model_never_sees_it():
    meta_X, scores = _meta_database()
    with_probe_columns = meta_X.join(scores.add_prefix(PROBE_PREFIX))  # a probe that knows the real scores
    specs = {"probe": SelectorSpec(lambda s: ProbeBest(), seeded=False),
             "blend": SelectorSpec(lambda s: ProbeBlend(weight=1.0, random_state=s))}
    results = evaluate_selectors(with_probe_columns, scores, True, specs, seeds=[0], n_boot=0)
    for name in specs:
        assert results[name].mean["remaining_gap"] == pytest.approx(0.0)
        assert results[name].mean["top1_accuracy"] == 1.0
    fitted = ProbeBlend(weight=0.5, random_state=0).fit(with_probe_columns, scores)
    assert fitted.model_.feature_names_ == ["m0", "m1", "m2"]
