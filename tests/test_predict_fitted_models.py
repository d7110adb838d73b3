"""Saved winner pipelines: skops file + JSON sidecar, loaded without pickle."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.dataset import MAX_ABS_FEATURE, make_dataset
from automl_meta.exceptions import ArtifactError, DatasetError
from automl_meta.io.fitted_models import (
    conform_features,
    describe_columns,
    load_fitted_model,
    save_fitted_model,
    sidecar_path,
)
from automl_meta.io.tables import read_table
from automl_meta.numbers import content_checksum
from automl_meta.learners.preprocessing import tabular_preprocessor
from conftest import make_mixed_frame


class Doubler(BaseEstimator, TransformerMixin):
    """A harmless class from a module no trust list names."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X * 2


def _fitted(dataset, estimator):
    pre = tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns)
    return Pipeline([("preprocess", pre), ("model", estimator)]).fit(dataset.X, dataset.y)


def _info(dataset, learner="logistic_regression"):
    return {"learner": learner, "task": dataset.task, "target": dataset.target, "columns": describe_columns(dataset.X)}


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=200), HistGradientBoostingClassifier(max_iter=20)])
def test_saved_pipeline_predicts_like_the_fitted_one(tmp_path, estimator):
    dataset = make_dataset(make_mixed_frame(150, seed=1), target="target")
    pipeline = _fitted(dataset, estimator)
    path = save_fitted_model(tmp_path / "model.skops", pipeline, _info(dataset))
    loaded = load_fitted_model(path)
    assert loaded.info["columns"] == describe_columns(dataset.X)
    assert loaded.info["versions"]["scikit-learn"]
    np.testing.assert_array_equal(loaded.pipeline.predict(dataset.X), pipeline.predict(dataset.X))
    np.testing.assert_allclose(loaded.pipeline.predict_proba(dataset.X), pipeline.predict_proba(dataset.X))


def test_load_refuses_an_untrusted_type(tmp_path):
    dataset = make_dataset(make_mixed_frame(80, seed=2), target="target")
    pre = tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns)
    pipeline = Pipeline([("preprocess", pre), ("double", Doubler()), ("model", LogisticRegression())])
    pipeline.fit(dataset.X, dataset.y)
    with pytest.raises(ArtifactError, match="not written.*Doubler"):
        save_fitted_model(tmp_path / "refused.skops", pipeline, _info(dataset))
    assert not (tmp_path / "refused.skops").exists()

    # A file written by other means, with a matching sidecar, is still refused on load.
    good = save_fitted_model(tmp_path / "good.skops", _fitted(dataset, LogisticRegression()), _info(dataset))
    evil = tmp_path / "evil.skops"
    sio.dump(pipeline, evil)
    info = json.loads(sidecar_path(good).read_text())
    info["sha256"] = hashlib.sha256(evil.read_bytes()).hexdigest()
    sidecar_path(evil).write_text(json.dumps({**info, "sidecar_sha256": content_checksum(info, "sidecar_sha256")}))
    with pytest.raises(ArtifactError, match=r"refusing types.*Doubler"):
        load_fitted_model(evil)


def test_load_refuses_a_model_changed_after_saving(tmp_path):
    dataset = make_dataset(make_mixed_frame(80, seed=3), target="target")
    path = save_fitted_model(tmp_path / "m.skops", _fitted(dataset, LogisticRegression()), _info(dataset))
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="checksum"):
        load_fitted_model(path)


def test_load_names_a_missing_sidecar(tmp_path):
    dataset = make_dataset(make_mixed_frame(80, seed=3), target="target")
    path = save_fitted_model(tmp_path / "m.skops", _fitted(dataset, LogisticRegression()), _info(dataset))
    sidecar_path(path).unlink()
    with pytest.raises(ArtifactError, match="sidecar m.skops.json is missing"):
        load_fitted_model(path)


def test_conform_features_matches_training_conventions():
    frame = pd.DataFrame(
        {
            "n": ["1.5", "2", None, "4"],
            "level": [1, 2, 2, 3],  # small integers: categorical in training, kept as '1' not '1.0'
            "level_nan": [1.0, np.nan, 2.0, 2.0],
            "extra": ["a", "b", "c", "d"],
        }
    )
    info = {
        "columns": [
            {"name": "level", "kind": "categorical"},
            {"name": "n", "kind": "numeric"},
            {"name": "level_nan", "kind": "categorical"},
        ]
    }
    X = conform_features(frame, info)
    assert list(X.columns) == ["level", "n", "level_nan"]
    assert X["level"].tolist() == ["1", "2", "2", "3"]
    assert X["level_nan"].iloc[0] == "1" and pd.isna(X["level_nan"].iloc[1])
    assert X["n"].dtype == np.float64 and np.isnan(X["n"].iloc[2])


def test_conform_features_names_missing_and_non_numeric_columns():
    info = {"columns": [{"name": "a", "kind": "numeric"}, {"name": "b", "kind": "categorical"}], "model_file": "m.skops"}
    with pytest.raises(DatasetError, match="missing: b"):
        conform_features(pd.DataFrame({"a": [1.0]}), info, name="new.csv")
    with pytest.raises(DatasetError, match="'a' was numeric.*'oops'"):
        conform_features(pd.DataFrame({"a": ["1", "oops"], "b": ["x", "y"]}), info, name="new.csv")


@pytest.mark.parametrize("learner", ["hist_gradient_boosting", "lightgbm", "mlp_torch"])
def test_portfolio_pipelines_round_trip_without_pickle(tmp_path, learner):
    from automl_meta.learners import LEARNERS

    dataset = make_dataset(make_mixed_frame(120, seed=4, task="regression"), target="target", task="regression")
    pipeline = LEARNERS[learner].build(dataset, 0).fit(dataset.X, dataset.y)
    path = save_fitted_model(tmp_path / f"{learner}.skops", pipeline, _info(dataset, learner))
    loaded = load_fitted_model(path)
    np.testing.assert_array_equal(loaded.pipeline.predict(dataset.X), pipeline.predict(dataset.X))


def test_categories_the_model_never_saw_are_counted_and_logged(tmp_path, caplog):
    from automl_meta.io.fitted_models import unseen_categories
    from automl_meta.recommend import predict_frame

    frame = make_mixed_frame(150, seed=3)
    dataset = make_dataset(frame, target="target")
    path = save_fitted_model(tmp_path / "model.skops", _fitted(dataset, LogisticRegression(max_iter=200)), _info(dataset))
    loaded = load_fitted_model(path)
    assert [c.get("categories") for c in loaded.info["columns"] if c["name"] == "color"] == [["blue", "green", "red"]]
    new = frame.drop(columns="target").head(12).copy()
    new.loc[:3, "color"] = ["violet", "teal", "violet", "red"]  # 3 rows of 2 new values, one known
    X = conform_features(new, loaded.info)
    assert unseen_categories(X, loaded.info) == {"color": {"rows": 3, "distinct": 2, "values": ["teal", "violet"]}}
    with caplog.at_level("WARNING", logger="automl_meta.recommend"):
        predictions = predict_frame(loaded.pipeline, loaded.info, new, name="new.csv")
    assert len(predictions) == 12
    assert "new.csv: column 'color' holds categories the model never saw in 3 row(s) ('teal', 'violet')" in caplog.text
    older = {**loaded.info, "columns": [{k: v for k, v in c.items() if k != "categories"} for c in loaded.info["columns"]]}
    assert unseen_categories(X, older) == {}  # a sidecar without the lists is not checked
    assert unseen_categories(conform_features(frame, loaded.info), loaded.info) == {}


def test_a_new_whole_number_category_is_named_as_the_file_writes_it_beside_a_fraction(tmp_path):
    from automl_meta.io.fitted_models import unseen_categories

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"grade": rng.integers(1, 6, 120).astype(object), "x": rng.normal(size=120), "target": ["a", "b"] * 60})
    frame["grade"] = frame["grade"].map(lambda g: f"g{g}" if g == 5 else g)  # text beside the numbers: a categorical column
    dataset = make_dataset(frame, target="target")
    path = save_fitted_model(tmp_path / "model.skops", _fitted(dataset, LogisticRegression(max_iter=200)), _info(dataset))
    loaded = load_fitted_model(path)
    new = tmp_path / "new.csv"
    new.write_text("grade,x\n6,0.1\n2.5,0.2\n3,0.3\n1e30,0.4\n")  # pandas reads 6.0 and 3.0 beside the 2.5
    X = conform_features(read_table(new), loaded.info)
    assert X["grade"].tolist()[2] == "3"  # known: matched whatever its neighbours
    assert unseen_categories(X, loaded.info)["grade"]["values"] == ["1e+30", "2.5", "6"]


def test_the_fitted_date_format_reads_new_dates_whose_day_and_month_are_ambiguous():
    stamps = pd.date_range("2021-12-05", periods=40, freq="D")
    frame = pd.DataFrame({"when": stamps.strftime("%d/%m/%Y"), "x": np.arange(40.0), "target": ["a", "b"] * 20})
    dataset = make_dataset(frame)
    info = {**_info(dataset), "date_columns": list(dataset.profile.dates), "date_formats": dict(dataset.profile.date_formats)}
    X = conform_features(pd.DataFrame({"when": ["03/04/2022"], "x": [1.0]}), info)  # alone, it could be March 4
    assert (X.loc[0, "when.month"], X.loc[0, "when.day"]) == (4.0, 3.0)
    with pytest.raises(DatasetError, match=r"held dates as %d/%m/%Y when the model was fitted, but holds '2022-04-03'"):
        conform_features(pd.DataFrame({"when": ["03/04/2022", "2022-04-03"], "x": [1.0, 2.0]}), info)


@pytest.mark.parametrize(("train", "new", "expected"), [
    (["01", "02", "03", "04", "05"] * 8, ["05", "01", "03"], ["5", "1", "3"]),  # read as numbers when fitted, as text beside 007
    ([1, 2, 3, 4] * 10, [3.0, 2.5, 1.0], ["3", "2.5", "1"]),  # 2.5 beside them once made 3 '3.0'
    (["TRUE", "FALSE", "maybe"] * 10, [True, False, True], ["TRUE", "FALSE", "TRUE"]),  # alone, pandas reads bools
])
def test_a_new_tables_categories_are_the_fitted_ones_whatever_their_neighbours(train, new, expected):
    dataset = make_dataset(pd.DataFrame({"code": train, "x": np.arange(len(train)) % 7 * 0.5, "y": np.arange(len(train)) % 2}),
                           target="y", task="classification")
    info = {"columns": describe_columns(dataset.X)}
    assert info["columns"][0]["kind"] == "categorical"
    X = conform_features(pd.DataFrame({"code": pd.Series(new, dtype=object), "x": 1.0}), info)
    assert X["code"].tolist() == expected


def test_an_empty_cell_is_missing_at_prediction_as_at_fitting():
    big = [str(10**19 + i) for i in range(30)]  # past int64: pandas reads the column as text, an empty cell as ''
    frame = pd.DataFrame({"big": big[:3] + [""] + big[4:], "x": np.arange(30.0), "y": np.arange(30) % 2})
    dataset = make_dataset(frame, target="y", task="classification")
    X = conform_features(frame.drop(columns="y"), {"columns": describe_columns(dataset.X)})
    assert np.isnan(X.loc[3, "big"]) and X["big"].notna().sum() == 29


@pytest.mark.parametrize(("classes", "labels", "predicted", "expected", "rows"), [
    (["1", "2", "3"], [1.0, 2.0, 3.0, 1.5], [1, 2, 3, 1], 0.75, 4),  # a 1.5 in the column once made every 1 '1.0'
    (["0.5", "1.0", "2.0"], [1.0, 2.0, 2.0, 1.0], [1.0, 2.0, 2.0, 0.5], 0.75, 4),  # whole numbers only: once '1', '2'
    (["FALSE", "TRUE", "maybe"], [True, False, True, True], ["TRUE", "FALSE", "TRUE", "maybe"], 5 / 6, 4),
    (["a", "b"], ["a", "", "b", "b"], ["a", "b", "b", "a"], 0.75, 3),  # an empty target cell: no target, not a label
])
def test_predicts_score_reads_each_label_as_the_model_spells_its_classes(classes, labels, predicted, expected, rows):
    from automl_meta.recommend import target_score

    info = {"task": "classification", "target": "y", "metric": "balanced_accuracy", "classes": classes}
    frame = pd.DataFrame({"y": pd.Series(labels, dtype=object)})
    score = target_score(info, frame, pd.DataFrame({"prediction": pd.Series(predicted, dtype=object)}))
    assert score["value"] == pytest.approx(expected) and score["n_rows"] == rows  # balanced accuracy, worked by hand


def test_integer_labelled_model_scores_its_own_table(tmp_path):
    from automl_meta.recommend import predict_frame, target_score

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["target"] = (frame["a"] + frame["b"] > 0).astype(int)
    dataset = make_dataset(frame)
    pipeline = _fitted(dataset, LogisticRegression(max_iter=200))
    info = {**_info(dataset), "metric": "accuracy", "classes": [str(c) for c in pipeline.classes_]}
    path = save_fitted_model(tmp_path / "model.skops", pipeline, info)
    loaded = load_fitted_model(path)
    predictions = predict_frame(loaded.pipeline, loaded.info, frame)
    score = target_score(loaded.info, frame, predictions)
    assert score["value"] > 0.9


@pytest.fixture
def saved_model(tmp_path):
    """A model file saved beside a CSV of new rows (no target column)."""
    frame = make_mixed_frame(80, seed=5)
    dataset = make_dataset(frame, target="target")
    path = save_fitted_model(tmp_path / "m.skops", _fitted(dataset, LogisticRegression(max_iter=200)), _info(dataset))
    data = tmp_path / "new.csv"
    frame.drop(columns="target").head(10).to_csv(data, index=False)
    return path, data


def _predict(*args):
    return CliRunner().invoke(app, ["predict", *map(str, args)])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda info: info["columns"][0].pop("kind"), "gives column 'x1' the kind None, not numeric or categorical"),
        (lambda info: info.pop("columns"), "the sidecar lacks columns"),
        (lambda info: info["columns"].pop(), "lists the columns x1, x2, color, but the model was fitted on x1, x2, color, flag"),
        (lambda info: info.update(task="clustering"), "task 'clustering', neither classification nor regression"),
        (lambda info: info.update(class_values=["yes"]), "holds 'class_values' that do not pair with its 'classes'"),
        (lambda info: info.update(task="regression"), "says the task is regression, but the model is a classifier"),
        (lambda info: info.update(classes=["p", "q"]), "lists the classes p, q, but the model predicts"),
        (lambda info: info.update(versions="1.0"), "holds 'versions' of the wrong type"),
        (lambda info: info["columns"][2].update(categories=[{"a": 1}]), "gives column 'color' 'categories' that are not a list of values"),
    ],
    ids=["column-without-kind", "no-columns", "fewer-columns", "unknown-task", "class-values-unpaired", "task-edited", "classes-edited",
         "versions-text", "category-object"],
)
def test_a_sidecar_edited_out_of_shape_is_refused_on_load(saved_model, edit, message):
    path, data = saved_model
    info = json.loads(sidecar_path(path).read_text())
    edit(info)
    sidecar_path(path).write_text(json.dumps(info))
    with pytest.raises(ArtifactError, match="edited since it was written with the model"):  # its checksum tells
        load_fitted_model(path)
    del info["sidecar_sha256"]  # as a sidecar written before the checksum: its content is checked as read
    sidecar_path(path).write_text(json.dumps(info))
    with pytest.raises(ArtifactError, match=message):
        load_fitted_model(path)
    result = _predict(path, data)
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())


def test_missing_columns_name_the_sidecar_read_after_renaming(saved_model, tmp_path):
    path, _ = saved_model
    renamed = tmp_path / "renamed.skops"
    path.rename(renamed)
    sidecar_path(path).rename(sidecar_path(renamed))
    loaded = load_fitted_model(renamed)
    with pytest.raises(DatasetError, match=r"missing: color \(it reads 4 columns; its sidecar renamed.skops.json lists them\)"):
        conform_features(pd.DataFrame({"x1": [1.0], "x2": [2.0], "flag": [True]}), loaded.info)


def test_conform_features_refuses_a_table_without_rows():
    info = {"columns": [{"name": "a", "kind": "numeric"}]}
    with pytest.raises(DatasetError, match="new.csv: no data rows"):
        conform_features(pd.DataFrame({"a": []}), info, name="new.csv")


def test_conform_features_refuses_values_beyond_what_fitting_accepts():
    info = {"columns": [{"name": "b", "kind": "categorical"}, {"name": "a", "kind": "numeric"}]}
    with pytest.raises(DatasetError, match=r"'a' holds -1e\+300, beyond 3.4e\+38.*fitting refuses it too"):
        conform_features(pd.DataFrame({"a": [0.5, -1e300], "b": ["x", "1e300"]}), info)
    X = conform_features(pd.DataFrame({"a": [MAX_ABS_FEATURE, -MAX_ABS_FEATURE], "b": ["x", "y"]}), info)
    assert X["a"].abs().max() == MAX_ABS_FEATURE  # the limit itself is readable, as when fitting


def test_predict_refuses_a_header_only_file(saved_model, tmp_path):
    path, _ = saved_model
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("x1,x2,color,flag\n")
    result = _predict(path, header_only)
    assert result.exit_code == 2
    assert "error: header_only.csv: no data rows" in result.stderr


def test_predict_out_refuses_a_folder_before_reading_the_data(saved_model, tmp_path):
    path, _ = saved_model
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("x1,x2,color,flag\n")  # reading it would fail: the --out check comes first
    for out, message in ((tmp_path, "is a folder; give a file name, e.g. predictions.csv"), ("", "an empty argument after --out")):
        result = _predict(path, header_only, "--out", out)
        assert result.exit_code == 2
        assert message in result.stderr


def test_predict_out_never_replaces_the_model_its_sidecar_or_the_data(saved_model, tmp_path, monkeypatch):
    path, data = saved_model
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in (path, sidecar_path(path), data)}
    for out, what in ((path.name, "the model"), (sidecar_path(path), "the model's sidecar"), (data, "the data")):
        result = _predict(path, data, "--out", out)
        assert result.exit_code == 2
        assert f"is {what}; writing there would replace it" in result.stderr
    assert {p: p.read_bytes() for p in before} == before
    result = _predict(path, data, "--out", tmp_path / "predictions.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "predictions.csv")) == 10


@pytest.mark.parametrize("name", ["p.parquet", "p.tsv", "p.csv.gz", "p.tsv.xz"])
def test_predict_out_writes_the_format_the_name_asks_for(saved_model, tmp_path, name):
    path, data = saved_model
    for out in (tmp_path / "reference.csv", tmp_path / name):
        result = _predict(path, data, "--out", out)
        assert result.exit_code == 0, result.output
    written = pd.read_parquet(out) if name.endswith(".parquet") else pd.read_csv(out, sep="\t" if ".tsv" in name else ",")
    pd.testing.assert_frame_equal(written, pd.read_csv(tmp_path / "reference.csv"))


def test_predict_out_refuses_a_format_it_cannot_write_before_any_work(saved_model, tmp_path):
    path, data = saved_model
    for name in ("p.xlsx", "p", "p.parquet.gz"):
        result = _predict(path, data, "--out", tmp_path / name)
        assert result.exit_code == 2
        assert f"{name}: give an output file ending in .csv, .tsv or .parquet" in result.stderr
        assert not (tmp_path / name).exists()


def test_a_regression_target_value_that_is_no_number_is_left_out_of_the_score_with_a_note():
    from automl_meta.recommend import target_score

    info = {"task": "regression", "target": "y", "metric": "r2"}
    frame = pd.DataFrame({"y": pd.Series([1.0, 2.0, "abc", 4.0, 5.0], dtype=object)})
    predictions = pd.DataFrame({"prediction": [1.1, 1.9, 3.0, 4.2, 4.8]})
    score = target_score(info, frame, predictions)
    assert score["n_rows"] == 4 and score["note"] == "1 target value(s) are not numbers ('abc'): those rows are left out of the score"
    from sklearn.metrics import r2_score

    assert score["value"] == pytest.approx(r2_score([1, 2, 4, 5], [1.1, 1.9, 4.2, 4.8]))


def test_probabilities_of_many_classes_come_without_a_pandas_warning():
    import warnings

    from sklearn.dummy import DummyClassifier

    from automl_meta.recommend import predict_conformed

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(150), 3)
    frame = pd.DataFrame({"x": labels + rng.normal(size=len(labels)) * 0.1, "target": [f"c{i}" for i in labels]})
    dataset = make_dataset(frame, target="target")
    pipeline = _fitted(dataset, DummyClassifier(strategy="prior"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)  # was 50 "highly fragmented" warnings on stderr
        predictions = predict_conformed(pipeline, {"task": "classification"}, dataset.X)
    assert list(predictions.columns) == ["prediction", *[f"proba_{c}" for c in pipeline.classes_]]
    np.testing.assert_allclose(predictions.filter(like="proba_").to_numpy(), pipeline.predict_proba(dataset.X))


def test_a_sidecar_of_a_newer_format_says_to_upgrade(saved_model):
    path, _ = saved_model
    info = json.loads(sidecar_path(path).read_text())
    sidecar_path(path).write_text(json.dumps({**info, "format": "automl-meta-fitted-model/2"}))
    with pytest.raises(ArtifactError, match="written by a newer automl-meta; upgrade automl-meta to read it"):
        load_fitted_model(path)


def test_a_model_fitted_on_padded_parquet_names_reads_the_same_columns_stripped():
    # parquet and ARFF names now lose surrounding spaces; a model fitted before knows 'x ', and the table now says 'x'
    info = {"columns": [{"name": "x ", "kind": "numeric"}, {"name": " z", "kind": "numeric"}]}
    frame = pd.DataFrame({"x": [1.0, 2.0], "z": [3.0, 4.0], "target": ["a", "b"]})
    conformed = conform_features(frame, info)
    assert list(conformed.columns) == ["x ", " z"] and conformed["x "].tolist() == [1.0, 2.0]


def test_a_model_saved_before_label_types_were_recorded_says_its_labels_come_back_as_text(saved_model, caplog):
    path, _ = saved_model
    info = json.loads(sidecar_path(path).read_text())
    assert "class_values" not in info  # as an earlier automl-meta wrote a sidecar
    with caplog.at_level("WARNING", logger="automl_meta"):
        load_fitted_model(path)
    assert "did not record its labels' types: its predictions come back as text; refit it" in caplog.text
    del info["sidecar_sha256"]
    sidecar_path(path).write_text(json.dumps({**info, "classes": ["no", "yes"], "class_values": ["no", "yes"]}))
    caplog.clear()
    with caplog.at_level("WARNING", logger="automl_meta"):
        load_fitted_model(path)
    assert "labels' types" not in caplog.text


def test_a_lightgbm_model_fitted_with_another_lightgbm_minor_version_is_named(tmp_path, caplog):
    dataset = make_dataset(make_mixed_frame(80, seed=5), target="target")
    pipeline = _fitted(dataset, HistGradientBoostingClassifier(max_iter=5))
    path = save_fitted_model(tmp_path / "m.skops", pipeline, {**_info(dataset, learner="lightgbm"), "class_values": None})
    info = json.loads(sidecar_path(path).read_text())
    del info["sidecar_sha256"]
    sidecar_path(path).write_text(json.dumps({**info, "versions": {**info["versions"], "lightgbm": "3.3.5"}}))
    with caplog.at_level("WARNING", logger="automl_meta"):
        load_fitted_model(path)
    assert "was fitted with lightgbm 3.3.5; this is" in caplog.text


def test_a_model_whose_sidecar_cannot_be_written_leaves_the_old_pair_as_it_was(saved_model, monkeypatch):
    import errno
    import pathlib

    path, _ = saved_model
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    dataset = make_dataset(make_mixed_frame(90, seed=9), target="target")
    pipeline = _fitted(dataset, LogisticRegression(max_iter=50))
    real = pathlib.Path.write_bytes

    def full_disk(self, data):  # the sidecar's temporary file: as a full disk refuses it
        if ".skops.json." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_fitted_model(path, pipeline, _info(dataset))
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before  # was: a new model beside the old sidecar
    monkeypatch.undo()
    load_fitted_model(path)
