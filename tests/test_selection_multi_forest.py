"""The multi-output random forest baseline and OpenML's landmarker gains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

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


def test_the_suite_adds_the_forest_only_when_asked():
    assert "multi-output RF" not in default_selectors()
    spec = default_selectors(forest=True)["multi-output RF"]
    assert isinstance(spec.make(0), MultiOutputForest) and spec.seeded
