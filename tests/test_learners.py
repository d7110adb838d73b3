"""The candidate portfolio: registry, names, pipelines and preprocessing."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from automl_meta.dataset import make_dataset
from automl_meta.exceptions import LearnerError
from automl_meta.learners import LEARNERS, PORTFOLIO_VERSION, LearnerSpec, get_learners
from automl_meta.learners.preprocessing import tabular_preprocessor
from conftest import make_mixed_frame

STABLE_NAMES = {"dummy", "random_forest", "extra_trees", "lightgbm", "hist_gradient_boosting", "knn", "decision_tree", "svm_rbf", "mlp_torch"}


def test_portfolio_has_at_least_twelve_candidates_per_task_with_distinct_families():
    for task in ("classification", "regression"):
        specs = get_learners(task)
        assert len(specs) >= 12
        assert len({s.family for s in specs}) >= 8
        assert STABLE_NAMES <= {s.name for s in specs}
    assert {"logistic_regression", "lda", "qda", "gaussian_nb"} <= {s.name for s in get_learners("classification")}
    assert {"ridge", "elastic_net", "huber"} <= {s.name for s in get_learners("regression")}
    assert isinstance(PORTFOLIO_VERSION, str) and PORTFOLIO_VERSION


def test_learner_specs_are_frozen_and_keyed_by_their_name():
    for name, spec in LEARNERS.items():
        assert isinstance(spec, LearnerSpec) and spec.name == name
        assert spec.task in ("classification", "regression", "both")
        assert spec.description and spec.family
    with pytest.raises(dataclasses.FrozenInstanceError):
        LEARNERS["random_forest"].name = "other"


def test_get_learners_rejects_unknown_names_listing_valid_ones():
    with pytest.raises(LearnerError, match="unknown learner 'boosted_magic'.*valid names: dummy, logistic_regression"):
        get_learners("classification", ["boosted_magic"])
    with pytest.raises(LearnerError, match="'ridge' for classification .it does not serve classification"):
        get_learners("classification", "lda,ridge")


def test_get_learners_keeps_the_order_given_and_accepts_a_comma_list():
    assert [s.name for s in get_learners("regression", "lightgbm, ridge")] == ["lightgbm", "ridge"]
    assert [s.name for s in get_learners("regression", ["knn", "knn"])] == ["knn"]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_spec_builds_an_unfitted_pipeline_for_its_task(task):
    dataset = make_dataset(make_mixed_frame(60, seed=1, task=task), target="target", task=task)
    for spec in get_learners(task):
        pipeline = spec.build(dataset, 0)
        assert isinstance(pipeline, Pipeline) and [n for n, _ in pipeline.steps] == ["preprocess", "model"]
        check = is_classifier if task == "classification" else is_regressor
        assert check(pipeline), spec.name
        pickle.loads(pickle.dumps(spec))  # specs travel to worker processes


def test_build_refuses_a_task_the_learner_does_not_serve():
    dataset = make_dataset(make_mixed_frame(60, task="regression"), target="target", task="regression")
    with pytest.raises(LearnerError, match="serves classification only"):
        LEARNERS["lda"].build(dataset, 0)


def test_learners_are_single_threaded():
    dataset = make_dataset(make_mixed_frame(60), target="target")
    for name in ("random_forest", "extra_trees", "lightgbm", "knn"):
        model = LEARNERS[name].build(dataset, 0).named_steps["model"]
        assert model.get_params()["n_jobs"] == 1, name


def test_svm_switches_to_a_kernel_approximation_above_the_row_cap():
    from automl_meta.learners.common import SVM_EXACT_MAX_ROWS

    small = make_dataset(make_mixed_frame(100), target="target")
    big = make_dataset(make_mixed_frame(SVM_EXACT_MAX_ROWS + 1), target="target")
    assert type(LEARNERS["svm_rbf"].build(small, 0).named_steps["model"]).__name__ == "SVC"
    approx = LEARNERS["svm_rbf"].build(big, 0).named_steps["model"]
    assert [type(s).__name__ for s in approx] == ["Nystroem", "LogisticRegression"]


def test_tabular_preprocessor_gives_dense_floats_and_ignores_unseen_categories():
    dataset = make_dataset(make_mixed_frame(80, seed=2), target="target")
    pre = tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns)
    Z = pre.fit_transform(dataset.X)
    assert isinstance(Z, np.ndarray) and Z.dtype == np.float64 and np.isfinite(Z).all()
    # numeric first (standardized), then one 0/1 column per level, missing as its own level
    np.testing.assert_allclose(Z[:, :2].mean(axis=0), 0.0, atol=1e-12)
    assert set(np.unique(Z[:, 2:])) <= {0.0, 1.0}
    new = dataset.X.head(3).copy()
    new["color"] = ["purple", np.nan, "red"]
    out = pre.transform(new)
    color_cols = [i for i, n in enumerate(pre.get_feature_names_out()) if n.startswith("color_")]
    assert out[0, color_cols].sum() == 0.0  # unseen level: all zeros
    assert out[1, color_cols].sum() == 1.0  # missing: its own level


def test_tabular_preprocessor_ordinal_keeps_one_column_per_feature_and_nan_when_asked():
    dataset = make_dataset(make_mixed_frame(80, seed=2), target="target")
    pre = tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns, scale=False, encode="ordinal", impute_numeric=False)
    Z = pre.fit_transform(dataset.X)
    assert Z.shape == (80, dataset.n_features)
    assert np.isnan(Z[:, 1]).sum() == dataset.X["x2"].isna().sum()
    assert not np.isnan(Z[:, 2:]).any()


def test_tabular_preprocessor_handles_only_numeric_or_only_categorical_columns():
    frame = pd.DataFrame({"a": ["x", "y", "x", "z"] * 5, "b": [1.0, 2.0, np.nan, 4.0] * 5})
    assert tabular_preprocessor(["a"], []).fit_transform(frame).shape == (20, 3)
    assert tabular_preprocessor([], ["b"]).fit_transform(frame).shape == (20, 1)
