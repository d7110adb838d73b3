"""The Python entry points (`automl_meta.recommend_learners`, `fit_recommended`) with the shipped meta-model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from automl_meta import fit_recommended, recommend_learners
from automl_meta.dataset import make_dataset
from automl_meta.exceptions import DatasetError, UsageError
from automl_meta.io.fitted_models import load_fitted_model
from automl_meta.recommend import predict_frame
from conftest import make_mixed_frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_mixed_frame(240, seed=3)


@pytest.fixture(scope="module")
def rec(frame):
    return recommend_learners(frame, target="target")


def test_recommend_learners_ranks_every_shipped_classifier_for_a_frame(rec):
    from automl_meta.io.metadb_resolve import load_selector

    assert rec.task == "classification" and rec.target == "target" and rec.metric == "balanced_accuracy"
    assert sorted(r.learner for r in rec.ranking) == sorted(load_selector("classification").model.learners_)
    assert [r.rank for r in rec.ranking] == list(range(1, len(rec.ranking) + 1))
    assert len(rec.nearest_datasets) == 3


def test_X_and_y_rank_like_the_frame_with_its_target_column(frame, rec):
    X, y = frame.drop(columns="target"), frame["target"]
    from_arrays = recommend_learners(X, y.to_numpy())
    assert [r.learner for r in from_arrays.ranking] == [r.learner for r in rec.ranking]
    assert from_arrays.target == "target"  # y without a name gets the default name


def test_a_y_named_like_a_feature_column_does_not_replace_it(frame):
    X = frame.drop(columns="target").rename(columns={"x1": "label"})
    rec = recommend_learners(X, pd.Series(frame["target"].to_numpy(), name="label"))
    assert rec.target == "_label" and rec.n_features == 4


def test_X_that_still_holds_the_target_column_given_as_y_is_refused(frame):
    with pytest.raises(UsageError, match="X holds the target column 'target' too"):
        recommend_learners(frame, frame["target"])


def test_rows_as_dicts_read_like_the_frame(frame, rec):
    from_records = recommend_learners(frame.to_dict("records"), target="target")
    assert from_records.n_features == rec.n_features and from_records.metafeatures == rec.metafeatures


def test_missing_value_markers_in_a_frame_read_as_in_a_file(frame, tmp_path):
    from automl_meta.io import load_dataset

    marked = frame.copy()
    marked["x1"] = marked["x1"].astype(object)
    marked.loc[::10, "x1"] = "?"
    marked.loc[1::10, "color"] = "NA"
    marked.to_csv(tmp_path / "marked.csv", index=False)
    from_python = make_dataset(pd.read_csv(tmp_path / "marked.csv", keep_default_na=False), target="target")
    from_file = load_dataset(tmp_path / "marked.csv", target="target")
    assert from_python.numeric_columns == from_file.numeric_columns and "x1" in from_python.numeric_columns
    assert from_python.X["x1"].isna().sum() == 24 and from_python.X["color"].isna().sum() == from_file.X["color"].isna().sum()
    assert from_python.content_hash() == from_file.content_hash()


def test_errors_name_the_python_argument_too(frame):
    with pytest.raises(DatasetError, match=r"target column 'nope' not found.*target= in Python"):
        recommend_learners(frame, target="nope")
    with pytest.raises(UsageError, match=r"evaluate_top \(--evaluate-top\) must be 1 or more"):
        recommend_learners(frame, target="target", evaluate_top=-1)


def test_seeds_and_counts_are_checked_by_every_entry_point(frame, rec):
    with pytest.raises(UsageError, match="random_state must be an integer from 0"):
        recommend_learners(frame, target="target", random_state=-1)  # was taken without evaluate_top or probe
    with pytest.raises(UsageError, match="random_state must be an integer from 0"):
        fit_recommended(frame, rec, target="target", learner="random_forest", random_state=-5)  # scikit-learn's own error
    with pytest.raises(UsageError, match="cv .* must be an integer, got 2.5"):
        recommend_learners(frame, target="target", evaluate_top=1, cv=2.5)  # ran as 2 folds


def test_a_probe_option_implies_the_probe_as_on_the_command_line(frame):
    assert recommend_learners(frame, target="target", probe_rows=60, probe_draws=1).probe["rows"] == 60  # was None: no probe


def test_fitting_the_svm_spills_no_library_warning(frame, rec):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit_recommended(frame, rec, target="target", learner="svm_rbf")
    assert model.learner == "svm_rbf"
    assert not [w for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))], [str(w.message) for w in caught]


def test_to_frame_is_the_ranking_one_row_per_learner(rec):
    table = rec.to_frame()
    assert list(table.index) == [r.rank for r in rec.ranking]
    assert list(table["learner"]) == [r.learner for r in rec.ranking]
    assert np.allclose(table["predicted_score"], [r.predicted_score for r in rec.ranking])
    assert {"lower", "upper", "predicted_at_most"} <= set(table.columns)
    assert len(rec.to_frame(top=3)) == 3


def test_fit_recommended_predicts_raw_rows_and_saves_for_the_cli(frame, rec, tmp_path):
    model = fit_recommended(frame, rec, target="target", learner="logistic_regression")
    assert model.learner == "logistic_regression"
    predictions = model.predict_table(frame.drop(columns="target"))
    assert len(predictions) == len(frame)
    assert set(predictions["prediction"]) <= {"yes", "no"}
    assert list(model.classes_) == ["no", "yes"]
    proba = model.predict_proba(frame)
    assert proba.shape == (len(frame), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.predict(frame), predictions["prediction"].to_numpy())
    assert np.array_equal(model.classes_[proba.argmax(axis=1)], model.predict(frame))
    score = model.score(frame)
    assert score is not None and 0.5 < score <= 1.0  # balanced accuracy on its own training rows
    path = model.save(tmp_path / "model.skops")
    loaded = load_fitted_model(path)
    again = predict_frame(loaded.pipeline, loaded.info, frame)
    pd.testing.assert_frame_equal(again, predictions)


@pytest.mark.parametrize("labels", [np.array([7, 3, -2]), np.array([True, False, True]), np.array([1.5, 2.0, 2.5]),
                                    np.array(["1", "2", "3"], dtype=object)])
def test_predictions_and_classes_are_the_labels_as_the_table_held_them(labels, tmp_path):
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 2))
    y = labels[np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5]) % len(labels)]
    frame = pd.DataFrame(X, columns=["a", "b"]).assign(y=y)
    model = fit_recommended(frame, recommend_learners(frame, target="y", task="classification"), target="y", learner="decision_tree")
    predicted = model.predict(frame)
    assert predicted.dtype == y.dtype and set(model.classes_) == set(y.tolist())
    assert (predicted == y).mean() > 0.9  # comparable with the table's own labels
    assert model.score(frame) == pytest.approx(balanced_accuracy_score(y.astype(str), predicted.astype(str)))  # the same labels
    loaded = load_fitted_model(model.save(tmp_path / "m.skops"))
    table = predict_frame(loaded.pipeline, loaded.info, frame)
    assert table["prediction"].tolist() == predicted.tolist()
    assert [c for c in table.columns if c.startswith("proba_")] == [f"proba_{c}" for c in loaded.info["classes"]]


def test_fit_recommended_defaults_to_the_top_ranked_learner(frame, rec):
    model = fit_recommended(frame, rec, target="target")
    assert model.learner == rec.ranking[0].learner
    assert model.info["chosen_by"] == "prediction" and model.info["rank"] == 1


def test_a_probe_reorders_the_same_candidates_and_fit_takes_the_new_top(frame, rec):
    probed = recommend_learners(frame, target="target", probe=True, probe_rows=60)
    assert probed.probe["rows"] == 60
    assert sorted(r.learner for r in probed.ranking) == sorted(r.learner for r in rec.ranking)
    model_order = {r.learner: r.rank for r in rec.ranking}
    assert all(r.model_rank == model_order[r.learner] for r in probed.ranking)  # the same meta-model ranking underneath
    assert sum(r.probe_score is not None for r in probed.ranking) >= len(rec.ranking) - 1
    fitted = fit_recommended(frame, probed, target="target")
    assert (fitted.learner, fitted.info["chosen_by"]) == (probed.ranking[0].learner, "probe")
    assert fitted.info["probe_score"] == probed.ranking[0].probe_score


def test_a_fitted_regressor_predicts_numbers_and_has_no_probabilities():
    frame = make_mixed_frame(150, seed=2, task="regression")
    rec = recommend_learners(frame, target="target")
    model = fit_recommended(frame, rec, target="target", learner="ridge")
    assert model.classes_ is None
    assert model.predict(frame).dtype.kind == "f"
    with pytest.raises(UsageError, match="regressor"):
        model.predict_proba(frame)


def test_fit_recommended_refuses_a_learner_the_ranking_lacks_and_another_task(frame, rec):
    with pytest.raises(UsageError, match="not among the recommendation's candidates"):
        fit_recommended(frame, rec, target="target", learner="no_such_learner")
    regression = make_mixed_frame(120, seed=1, task="regression")
    with pytest.raises(UsageError, match="recommendation is for classification"):
        fit_recommended(regression, rec, target="target", task="regression")


def test_fit_recommended_without_y_refuses_X_that_lacks_the_target(frame, rec):
    with pytest.raises(UsageError, match="the recommendation's target 'target' is not a column of X; pass y"):
        fit_recommended(frame.drop(columns="target"), rec)  # before: fitted to predict X's last column, flag
    model = fit_recommended(frame, rec, learner="logistic_regression")  # the target column in X: as before
    assert model.info["target"] == "target"
    assert [c["name"] for c in model.info["columns"]] == ["x1", "x2", "color", "flag"]


def test_a_model_fitted_on_an_array_predicts_arrays_and_lists():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "a", "b")
    model = fit_recommended(X, recommend_learners(X, y), y, learner="logistic_regression")
    expected = model.predict(pd.DataFrame(X, columns=["0", "1", "2"]))  # the positional names fitting gave them
    assert np.array_equal(model.predict(X), expected)
    assert np.array_equal(model.predict(X[:5].tolist()), expected[:5])
    assert model.predict_proba(X).shape == (120, 2)
    assert len(model.predict_table(X)) == 120


def test_predict_table_keeps_the_frames_index_so_it_joins_back(frame, rec):
    model = fit_recommended(frame, rec, target="target", learner="logistic_regression")
    some = frame.drop(columns="target").iloc[[7, 2, 5]].set_axis(["r7", "r2", "r5"])
    table = model.predict_table(some)
    assert list(table.index) == ["r7", "r2", "r5"]
    joined = some.join(table)
    np.testing.assert_array_equal(joined["proba_yes"].to_numpy(), model.predict_proba(some)[:, 1])


def test_a_model_fitted_on_a_frame_takes_an_array_of_its_columns_by_position(frame, rec):
    model = fit_recommended(frame, rec, target="target", learner="logistic_regression")
    features = frame.drop(columns="target")[[c["name"] for c in model.info["columns"]]]
    assert np.array_equal(model.predict(features.to_numpy()), model.predict(features))
    np.testing.assert_array_equal(model.predict_proba(features.to_numpy(dtype=object).tolist()), model.predict_proba(features))
    with pytest.raises(UsageError, match=r"X has 2 columns, and the model reads 4 \(x1, x2, color, flag\)"):
        model.predict(features.to_numpy()[:, :2])
    rows = features.head(2).to_numpy(dtype=object).tolist()
    with pytest.raises(UsageError, match=r"the rows of X have 1 or 4 values; each needs the model's 4 \(x1, x2, color, flag\)"):
        model.predict_table([rows[0], rows[1][:1]])


@pytest.mark.parametrize("learner", ["mlp_torch", "lightgbm"])
def test_a_fit_with_a_time_limit_runs_in_a_worker_and_gives_the_same_model(frame, rec, learner):
    here = fit_recommended(frame, rec, target="target", learner=learner)
    there = fit_recommended(frame, rec, target="target", learner=learner, timeout=300)  # torch's tensors too come back
    features = frame.drop(columns="target")
    # one thread there, as many as torch takes here: equal up to the order of float sums
    np.testing.assert_allclose(there.predict_proba(features), here.predict_proba(features), rtol=1e-5, atol=1e-6)


def test_an_array_is_read_as_the_tables_columns_a_date_and_a_column_left_out_included():
    rng = np.random.default_rng(2)
    dated = pd.DataFrame({"when": pd.date_range("2021-01-01", periods=150, freq="D").strftime("%Y-%m-%d"),
                          "x": rng.normal(size=150)})
    y = np.where(dated["x"] > 0, "a", "b")
    model = fit_recommended(dated, recommend_learners(dated, y), y, learner="logistic_regression")
    assert len(model.info["columns"]) > 2  # the date's parts
    assert np.array_equal(model.predict(dated.to_numpy()), model.predict(dated))

    X = np.column_stack([np.full(150, 5.0), rng.normal(size=(150, 2))])  # column 0 is constant: left out
    y = np.where(X[:, 1] > 0, "a", "b")
    model = fit_recommended(X, recommend_learners(X, y), y, learner="logistic_regression")
    assert [c["name"] for c in model.info["columns"]] == ["1", "2"]
    assert np.array_equal(model.predict(X), model.predict(pd.DataFrame(X[:, 1:], columns=["1", "2"])))


def test_predicting_no_rows_raises_a_dataset_error(frame, rec):
    model = fit_recommended(frame, rec, target="target", learner="logistic_regression")
    with pytest.raises(DatasetError, match="data: no data rows"):
        model.predict(frame.head(0))
    with pytest.raises(DatasetError, match="no data rows"):
        model.predict_proba(frame.head(0))


def test_bad_input_raises_a_named_error(frame):
    with pytest.raises(UsageError, match="X has 240 rows but y has 10"):
        recommend_learners(frame.drop(columns="target"), np.zeros(10))
    with pytest.raises(DatasetError, match="one class"):
        recommend_learners(frame.assign(target="yes"), target="target")
    with pytest.raises(UsageError, match="already holds its target"):
        recommend_learners(make_dataset(frame, target="target"), frame["target"])


def test_importing_the_package_leaves_the_api_unloaded():
    code = "import sys, automl_meta; print('automl_meta.api' in sys.modules, 'pandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_data_the_shipped_database_holds_come_back_with_its_scores(pmlb_dir):
    frame = pd.read_csv(pmlb_dir / "hepatitis.tsv.gz", sep="\t")
    rec = recommend_learners(frame, target="target")
    assert rec.in_metadb == "hepatitis"
    measured = [r.measured_score for r in rec.ranking]
    assert sum(m is not None for m in measured) >= len(measured) - 2  # a learner may have failed there
    assert recommend_learners(frame.iloc[:-1], target="target").in_metadb is None  # one row less: other data
    shuffled = frame.sample(frac=1, random_state=0)[list(frame.columns[::-1])]  # another row and column order: the same data
    assert recommend_learners(shuffled, target="target").in_metadb == "hepatitis"
    changed = frame.copy()
    changed.iloc[0, 0] += 1  # one value: other data
    assert recommend_learners(changed, target="target").in_metadb is None


def test_probability_columns_of_integer_classes_come_in_numeric_order(frame):
    # proba_0, proba_1, proba_10, proba_11, proba_2...: the labels' text order
    labels = np.arange(len(frame)) % 12
    table = frame.drop(columns="target").assign(target=labels)
    rec = recommend_learners(table, target="target")
    model = fit_recommended(table, rec, learner="dummy")
    columns = [c for c in model.predict_table(table).columns if c.startswith("proba_")]
    assert columns == [f"proba_{k}" for k in range(12)]
