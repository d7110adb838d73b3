"""A saved model whose tree or neighbour indices were altered is refused before it predicts (it would read memory
outside the model: a crash, or predictions from whatever lies there)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.dataset import make_dataset
from automl_meta.exceptions import ArtifactError
from automl_meta.io.fitted_models import describe_columns, is_trusted, save_fitted_model, sidecar_path
from automl_meta.io.model_structure import check_model_structure
from automl_meta.learners import LEARNERS
from automl_meta.numbers import content_checksum
from conftest import make_mixed_frame


def _fitted(learner, task="classification", rows=120):
    dataset = make_dataset(make_mixed_frame(rows, seed=3, task=task), target="target", task=task)
    return dataset, LEARNERS[learner].build(dataset, 0).fit(dataset.X, dataset.y)


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning")  # svm_rbf, as the portfolio fits it
def test_every_portfolio_learner_fitted_by_scikit_learn_passes(task):
    for learner in LEARNERS:
        if LEARNERS[learner].supports(task):
            check_model_structure(_fitted(learner, task)[1], learner)


def _model(pipeline):
    return pipeline.steps[-1][1]


def _break_tree(model):
    model.tree_.children_left[0] = model.tree_.node_count + 3


def _break_tree_feature(model):
    model.tree_.feature[0] = model.n_features_in_ + 2


def _break_forest_tree(model):
    model.estimators_[1].tree_.feature[0] = model.n_features_in_


def _break_boosting(model):
    model._predictors[0][0].nodes["right"][0] = 10**6


def _break_boosting_feature(model):
    model._predictors[0][0].nodes["feature_idx"][0] = model.n_features_in_ + 1


def _break_neighbours(model):
    model._tree.get_arrays()[1][0] = 10**6


@pytest.mark.parametrize(("learner", "breaks", "message"), [
    ("decision_tree", _break_tree, "decision tree node 0 points to a child outside the tree"),
    ("decision_tree", _break_tree_feature, "decision tree splits on a feature outside"),
    ("random_forest", _break_forest_tree, "decision tree splits on a feature outside"),
    ("hist_gradient_boosting", _break_boosting, "gradient-boosting tree node 0 points to a child outside the tree"),
    ("hist_gradient_boosting", _break_boosting_feature, "gradient-boosting tree splits on a feature outside"),
    ("knn", _break_neighbours, "indexes rows outside"),
])
def test_an_index_out_of_bounds_is_refused_naming_the_file(learner, breaks, message):
    _, pipeline = _fitted(learner)
    breaks(_model(pipeline))
    with pytest.raises(ArtifactError, match=message) as caught:
        check_model_structure(pipeline, "model.skops")
    assert str(caught.value).startswith("model.skops: ") and "refit" in str(caught.value)


def test_predict_refuses_a_model_file_whose_tree_was_edited(tmp_path):
    dataset, pipeline = _fitted("decision_tree")
    path = save_fitted_model(tmp_path / "m.skops", pipeline, {"learner": "decision_tree", "task": dataset.task,
                                                             "target": dataset.target, "columns": describe_columns(dataset.X)})
    files = {name: data for name, data in _read_zip(path)}
    nodes = next(name for name, data in files.items()
                 if name.endswith(".npy") and "left_child" in (np.load(io.BytesIO(data)).dtype.names or ()))
    array = np.load(io.BytesIO(files[nodes])).copy()
    array["left_child"][0] = array["right_child"][0] = len(array) + 3
    buffer = io.BytesIO()
    np.save(buffer, array)
    files[nodes] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    side = json.loads(sidecar_path(path).read_text())  # whoever edits the file can write matching checksums
    side["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    side["sidecar_sha256"] = content_checksum(side, "sidecar_sha256")
    sidecar_path(path).write_text(json.dumps(side))
    table = tmp_path / "new.csv"
    dataset.X.head(5).to_csv(table, index=False)
    result = CliRunner().invoke(app, ["predict", str(path), str(table)])
    assert result.exit_code == 2, result.output
    assert "decision tree node 0 points to a child outside the tree" in result.output
    assert len(result.output.strip().splitlines()) == 1


def _read_zip(path):
    with zipfile.ZipFile(path) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def test_a_distance_metric_wrapping_a_python_function_is_not_trusted():
    assert is_trusted("sklearn.metrics._dist_metrics.EuclideanDistance64")
    assert not is_trusted("sklearn.metrics._dist_metrics.PyFuncDistance64")
    assert not is_trusted("sklearn.metrics._dist_metrics.PyFuncDistance32")


def test_bagging_on_column_subsets_passes_and_a_subset_outside_the_columns_does_not():
    # each bagged estimator legitimately sees fewer columns than the ensemble: it was taken for an altered file
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 4)), np.arange(80) % 2
    bagging = BaggingClassifier(DecisionTreeClassifier(), n_estimators=3, max_features=2, random_state=0).fit(X, y)
    check_model_structure(bagging, "m.skops")
    bagging.estimators_features_[1][0] = 9
    with pytest.raises(ArtifactError, match="gives an estimator columns outside its 4 features"):
        check_model_structure(bagging, "m.skops")
