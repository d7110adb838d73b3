"""The multi-output random forest baseline and OpenML's landmarker gains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from automl_meta.exceptions import UsageError
from automl_meta.selection.contrasts import openml_landmarker_gains
from automl_meta.selection.multi_forest import MultiOutputForest
from automl_meta.selection.suite import default_selectors
from test_selection_pairwise_forest import switching_meta


def test_each_held_out_dataset_gets_the_learner_its_rule_says():
    meta, scores = switching_meta()
    model = MultiOutputForest(n_estimators=50, random_state=0).fit(meta.iloc[:30], scores.iloc[:30])
    predicted = model.predict(meta.iloc[30:])
    assert list(predicted.columns) == ["lin", "tree", "dummy", "twin"] and list(predicted.index) == list(meta.index[30:])
    expected = np.where(meta["x"].iloc[30:] > 0, "lin", "tree")
    assert (predicted.idxmax(axis=1).to_numpy() == expected).all()
    assert set(model.training_datasets_) == set(meta.index[:30])


def test_same_seed_same_forest_whatever_the_threads_and_another_seed_differs():
    meta, scores = switching_meta()
    train, test = meta.index[:30], meta.index[30:]  # on its training rows an unbootstrapped forest is exact

    def predicted(**params):
        model = MultiOutputForest(n_estimators=20, max_features=1, **params).fit(meta.loc[train], scores.loc[train])
        return model.predict(meta.loc[test])

    one, two, other = predicted(random_state=3), predicted(random_state=3, n_jobs=2), predicted(random_state=4)
    pd.testing.assert_frame_equal(one, two)
    assert not one.equals(other)
    assert clone(MultiOutputForest(n_estimators=7)).get_params()["n_estimators"] == 7


def test_openml_landmarker_gains_are_error_rates_below_the_majority_class():
    meta = pd.DataFrame({"DefaultAccuracy": [0.6, 0.9], "NaiveBayesErrRate": [0.1, 0.2], "J48.001.ErrRate": [0.5, 0.05],
                         "NaiveBayesKappa": [0.7, 0.1]}, index=["a", "b"])
    gains = openml_landmarker_gains(meta)
    assert list(gains.columns) == ["NaiveBayesErrRate gain over default", "J48.001.ErrRate gain over default"]
    assert gains.to_numpy() == pytest.approx(np.array([[0.3, -0.1], [-0.1, 0.05]]))
    assert openml_landmarker_gains(meta.drop(columns="DefaultAccuracy")) is None
    scores = pd.DataFrame({"x": [0.5, 0.7], "y": [0.6, 0.4]}, index=["a", "b"])
    with_gains = MultiOutputForest(n_estimators=3, random_state=0).fit(meta, scores)
    without = MultiOutputForest(n_estimators=3, random_state=0, landmarker_gains=False).fit(meta, scores)
    assert with_gains.feature_names_ == [*meta.columns, *gains.columns] and without.feature_names_ == list(meta.columns)


def test_regret_avoids_a_learner_that_collapsed_on_a_neighbour_where_normalized_scores_do_not():
    # four look-alike datasets: "risky" wins three by a hair and collapses on the fourth
    meta = pd.DataFrame({"rows": [100.0] * 5}, index=["a", "b", "c", "d", "new"])
    scores = pd.DataFrame({"risky": [0.90, 0.90, 0.90, 0.20], "steady": [0.89, 0.89, 0.89, 0.90],
                           "other": [0.50, 0.50, 0.50, 0.50]}, index=["a", "b", "c", "d"])
    fitted = {how: MultiOutputForest(n_estimators=5, aggregate=how, random_state=0).fit(meta.iloc[:4], scores)
              for how in ("regret", "normalized")}
    weights = fitted["regret"].neighbour_weights(meta.iloc[4:])
    assert weights.to_numpy() == pytest.approx(np.full((1, 4), 0.25))  # one leaf: every dataset counts alike
    regret = fitted["regret"].predict(meta.iloc[4:]).iloc[0]
    assert regret.to_dict() == pytest.approx({"risky": -0.7 / 4, "steady": -0.03 / 4, "other": (-0.4 * 3 - 0.4) / 4})
    assert regret.idxmax() == "steady"
    assert fitted["normalized"].predict(meta.iloc[4:]).iloc[0].idxmax() == "risky"


def test_the_weights_reproduce_the_forests_own_prediction():
    meta, scores = switching_meta()
    model = MultiOutputForest(n_estimators=30, aggregate="normalized", random_state=1).fit(meta.iloc[:30], scores.iloc[:30])
    weights = model.neighbour_weights(meta.iloc[30:])
    assert weights.sum(axis=1).to_numpy() == pytest.approx(1.0)
    assert list(weights.columns) == model.training_datasets_
    targets = model.forest_.predict(model._X(meta.iloc[:30]))  # exact on training rows: grown without bootstrap
    assert weights.to_numpy() @ targets == pytest.approx(model.predict(meta.iloc[30:]).to_numpy())
    with pytest.raises(UsageError, match="unknown aggregate 'mean'"):
        MultiOutputForest(aggregate="mean").fit(meta, scores)


def test_the_suite_adds_the_forest_only_when_asked():
    assert "multi-output RF" not in default_selectors()
    spec = default_selectors(forest=True)["multi-output RF"]
    assert isinstance(spec.make(0), MultiOutputForest) and spec.seeded


def test_no_datasets_get_no_neighbour_weights_and_integer_labels_find_their_neighbours():
    meta, scores = switching_meta()
    as_ints = meta.set_axis(range(meta.shape[1]), axis=1)
    model = MultiOutputForest(n_estimators=20, random_state=0).fit(as_ints.iloc[:30], scores.iloc[:30])
    empty = model.neighbour_weights(as_ints.iloc[:0])
    assert empty.shape == (0, 30) and list(empty.columns) == model.training_datasets_
    weights = model.neighbour_weights(as_ints.iloc[:30])
    assert (weights.to_numpy().diagonal() == 1.0).all()  # a training dataset is its own only neighbour


def test_a_query_that_already_holds_the_landmarker_gains_gets_them_recomputed():
    import numpy as np
    import pandas as pd

    from automl_meta.selection.contrasts import openml_landmarker_gains
    from automl_meta.selection.multi_forest import MultiOutputForest

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.rand(30, 4), columns=["mf0", "mf1", "NaiveBayesErrRate", "DefaultAccuracy"], index=[f"d{i}" for i in range(30)])
    S = pd.DataFrame(rng.rand(30, 3), index=X.index, columns=["a", "b", "c"])
    model = MultiOutputForest(n_estimators=5, random_state=0).fit(X, S)
    with_gains = pd.concat([X.iloc[:2], openml_landmarker_gains(X.iloc[:2])], axis=1)  # was a pandas ValueError
    pd.testing.assert_frame_equal(model.predict(with_gains), model.predict(X.iloc[:2]))
