"""Task inference, type conventions and the content hash of a Dataset."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from automl_meta.dataset import MAX_ABS_FEATURE, infer_task, make_dataset
from automl_meta.exceptions import DatasetError, UsageError

from conftest import make_mixed_frame


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b"] * 10, "classification"),
        ([True, False] * 10, "classification"),
        ([0, 1, 2] * 10, "classification"),
        (list(range(30)), "regression"),
        ([0.5, 1.5] * 10, "regression"),
    ],
)
def test_infer_task_follows_the_documented_rule(values, task):
    assert infer_task(pd.Series(values)) == task


def test_feature_columns_follow_the_type_convention(mixed_frame):
    data = make_dataset(mixed_frame)
    assert data.X["x1"].dtype == np.float64
    assert data.X["color"].dtype == object
    assert data.X["flag"].dropna().isin(["True", "False"]).all()
    assert data.y.dtype == object and set(data.y) == {"yes", "no"}
    assert data.profile.missing == {"x2": 20, "color": 20}


def test_low_cardinality_integers_are_categorical():
    frame = pd.DataFrame({"grade": [1, 2, 3, 4] * 10, "amount": np.arange(40) * 1.5, "target": [0, 1] * 20})
    data = make_dataset(frame)
    assert data.categorical_columns == ["grade"]
    assert data.X["grade"].iloc[0] == "1"


def test_rows_without_target_are_dropped_and_counted():
    frame = make_mixed_frame(60, task="regression")
    frame.loc[:4, "target"] = np.nan
    data = make_dataset(frame)
    assert data.task == "regression"
    assert data.n_rows == 55 and data.profile.rows_without_target == 5


def test_a_regression_target_whose_squares_overflow_is_rejected_with_the_fix():
    frame = pd.DataFrame({"a": np.arange(30.0), "target": np.linspace(1, 2, 30) * 1e300})
    with pytest.raises(DatasetError, match=r"reaches 2e\+300.*rescale it"):
        make_dataset(frame, task="regression")
    frame["target"] /= 1e290  # the same values rescaled are fine
    assert make_dataset(frame, task="regression").y.max() == pytest.approx(2e10)


def test_a_regression_target_beyond_float32_is_rejected_as_boosting_reads_labels_as_float32():
    frame = pd.DataFrame({"a": np.arange(30.0), "target": np.linspace(1, 2, 30) * 1e40})
    with pytest.raises(DatasetError, match=r"reaches 2e\+40, beyond 3.4e\+38, the largest float32.*rescale it"):
        make_dataset(frame, task="regression")
    frame["target"] = np.linspace(-1, 1, 30) * MAX_ABS_FEATURE  # the limit itself is readable, as for features
    assert make_dataset(frame, task="regression").y.abs().max() == MAX_ABS_FEATURE


def test_a_regression_target_below_the_smallest_float32_is_rejected_with_the_fix():
    frame = pd.DataFrame({"a": np.arange(30.0), "target": np.linspace(-1, 2, 30) * 1e-200})  # r2 was 1 for every learner
    with pytest.raises(DatasetError, match=r"at most 2e-200 in absolute value, below 1.18e-38.*multiply by a power of ten"):
        make_dataset(frame, task="regression")
    frame["target"] *= 1e200  # the same values rescaled are fine
    assert make_dataset(frame, task="regression").y.max() == pytest.approx(2)


def test_features_beyond_float32_are_rejected_naming_the_columns():
    frame = pd.DataFrame({"a": np.arange(30.0), "big": np.linspace(-1, 1, 30) * 1e300, "target": [0, 1] * 15})
    with pytest.raises(DatasetError, match=r"'big' \(1e\+300\).*rescale those columns"):
        make_dataset(frame)
    frame["big"] /= 1e290
    assert make_dataset(frame).X["big"].abs().max() == pytest.approx(1e10)


def test_regression_on_text_target_is_rejected():
    with pytest.raises(DatasetError, match="not numeric"):
        make_dataset(make_mixed_frame(40), task="regression")


def test_unknown_task_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown task"):
        make_dataset(make_mixed_frame(40), task="clustering")


def test_content_hash_is_stable_and_sensitive():
    a = make_dataset(make_mixed_frame(80, seed=1))
    b = make_dataset(make_mixed_frame(80, seed=1))
    c = make_dataset(make_mixed_frame(80, seed=2))
    assert a.content_hash() == b.content_hash() != c.content_hash()


def test_integer_class_labels_read_as_integers_not_floats():
    frame = pd.DataFrame({"x": np.arange(40) * 0.5, "target": [0, 1] * 20})
    frame.loc[3, "x"] = np.nan
    data = make_dataset(frame)
    assert sorted(set(data.y)) == ["0", "1"]


def test_text_columns_are_numbers_only_when_every_value_parses():
    n = 200
    late_text = [str((i % 20) * 0.5) for i in range(n - 1)] + ["many"]  # numbers until the very last row
    frame = pd.DataFrame({
        "as_text": [str(i * 0.25) for i in range(n)],  # numbers written as text: numeric
        "late_text": late_text,                            # one word at the end: categorical
        "gaps": [None] * 150 + [str(i * 0.1) for i in range(50)],  # nothing in the first rows: numeric
        "target": pd.array([str(i % 2) for i in range(n)], dtype=object),
    })
    data = make_dataset(frame)
    assert data.X["as_text"].dtype == np.float64 and data.X["gaps"].dtype == np.float64
    assert data.X["late_text"].dtype == object and data.X["late_text"].iloc[-1] == "many"
    assert set(data.y) == {"0", "1"}
    labels = pd.Series(["1"] * (n - 2) + ["one"] * 2)  # labels that stop being integers at the end stay text
    assert set(make_dataset(frame.assign(target=labels)).y) == {"1", "one"}


def test_iso_dates_become_numeric_parts_that_vary():
    n = 48
    frame = pd.DataFrame({
        "when": pd.date_range("2021-03-01 06:00", periods=n, freq="17h").astype(str),
        "day": pd.date_range("2021-12-25", periods=n, freq="D").strftime("%Y-%m-%d"),  # no times: no hour part
        "x": np.arange(n) % 5 * 1.5,
        "target": ["a", "b"] * (n // 2),
    })
    frame.loc[3, "when"] = None
    data = make_dataset(frame)
    assert data.profile.dates == ("when", "day")
    assert [c for c in data.X.columns if c.startswith("when.")] == [
        "when.month", "when.day", "when.dayofweek", "when.hour", "when.days"]  # one year: no year part
    assert [c for c in data.X.columns if c.startswith("day.")] == [
        "day.year", "day.month", "day.day", "day.dayofweek", "day.days"]
    assert data.X.loc[0, "when.hour"] == 6.0 and data.X.loc[1, "when.hour"] == 23.0
    assert data.X.loc[0, "day.days"] == (pd.Timestamp("2021-12-25") - pd.Timestamp("1970-01-01")).days
    assert data.X.loc[0, "day.dayofweek"] == 5.0  # a Saturday
    assert np.isnan(data.X.loc[3, "when.month"]) and data.profile.missing["when.month"] == 1
    assert all(data.X[c].dtype == "float64" for c in data.X.columns if "." in c)


def test_dates_with_time_zones_are_read_in_utc():
    stamps = ["2021-06-01T23:30:00+02:00", "2021-06-02T01:30:00+02:00"] * 10  # 21:30 and 23:30 UTC, both on June 1
    frame = pd.DataFrame({"when": stamps, "x": np.arange(20.0), "target": ["a", "b"] * 10})
    data = make_dataset(frame)
    assert set(data.X["when.hour"]) == {21.0, 23.0}
    assert "when.day" not in data.X  # one day in UTC: a constant part is left out


def test_datetime_columns_become_the_same_parts_as_their_iso_text():
    stamps = pd.Series(pd.date_range("2021-03-01 06:00", periods=30, freq="17h"))
    typed = make_dataset(pd.DataFrame({"when": stamps, "target": ["a", "b"] * 15}))
    text = make_dataset(pd.DataFrame({"when": stamps.astype(str), "target": ["a", "b"] * 15}))
    assert typed.profile.dates == ("when",)
    pd.testing.assert_frame_equal(typed.X, text.X)  # not one number of nanoseconds


@pytest.mark.parametrize(("written", "fmt"), [
    ("%d/%m/%Y", "%d/%m/%Y"),
    ("%m/%d/%Y", "%m/%d/%Y"),
    ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M"),
    ("%Y/%m/%d", "%Y/%m/%d"),
    ("%d/%m/%y", "%d/%m/%y"),  # two-digit years
    ("%m-%d-%y %H:%M", "%m-%d-%y %H:%M"),
    ("%d-%b-%Y", "%d-%b-%Y"),  # month names
    ("%B %d, %Y", "%B %d, %Y"),
    ("%d %b %Y %H:%M:%S", "%d %b %Y %H:%M:%S"),
])
def test_dates_in_another_format_are_read_when_only_one_format_fits(written, fmt):
    stamps = pd.Series(pd.date_range("2021-12-05 07:30", periods=30, freq="31h"))  # days past 12: one reading
    frame = pd.DataFrame({"when": stamps.dt.strftime(written), "target": ["a", "b"] * 15})
    data = make_dataset(frame)
    assert data.profile.dates == ("when",) and data.profile.date_formats == {"when": fmt}
    expected = make_dataset(pd.DataFrame({"when": stamps.dt.floor("min" if "%H" in fmt else "D"), "target": ["a", "b"] * 15}))
    pd.testing.assert_frame_equal(data.X, expected.X)


@pytest.mark.parametrize(("values", "fits"), [
    (["1.2.3", "1.10.2"], []),  # version numbers: no four-digit year
    (["12-34-5678", "01-31-2020"], []),  # no month 34
    (["1.2.2021", "3.4.2021"], ["%d.%m.%Y"]),  # dots: day first only
    (["5/13/2021", "1/2/2021"], ["%m/%d/%Y"]),  # a 13th month cannot be: month first
    (["3/4/2021", "1/2/2021"], ["%d/%m/%Y", "%m/%d/%Y"]),  # either
    (["2021-03-04", "2021-12-31 23:59"], ["ISO8601"]),
    (["25/12/21", "01/02/03"], ["%d/%m/%y"]),  # a two-digit year
    (["01/02/03", "04/05/06"], ["%d/%m/%y", "%m/%d/%y"]),
    (["05-Jan-2021", "17-feb-21"], []),  # two ways of writing the year in one column
    (["5 Jan 2021", "17 Feb 2021"], ["%d %b %Y"]),
    (["Jan 5, 2021", "March 17, 2021"], []),  # abbreviated and full month names mixed
])
def test_date_formats_that_fit_a_column(values, fits):
    from automl_meta.dataset import fitting_date_formats

    assert fitting_date_formats(pd.Series(values * 5)) == fits


def test_dates_whose_day_and_month_cannot_be_told_apart_stay_text_with_a_warning(caplog):
    frame = pd.DataFrame({"when": ["03/04/2021", "04/05/2021", "11/12/2021"] * 10, "x": np.arange(30.0),
                          "target": ["a", "b"] * 15})
    with caplog.at_level("WARNING", logger="automl_meta.dataset"):
        data = make_dataset(frame)
    assert data.profile.dates == () and data.X["when"].dtype == object
    assert "'when' holds dates whose day and month cannot be told apart ('03/04/2021')" in caplog.text


def test_labels_and_categories_padded_with_spaces_are_the_same_as_unpadded():
    frame = pd.DataFrame({"color": ["red", "red ", " blue", "blue"] * 6, "x": np.arange(24.0),
                          "target": ["yes", "yes ", "no", "no  "] * 6})
    data = make_dataset(frame)
    assert sorted(data.y.unique()) == ["no", "yes"] and sorted(data.X["color"].unique()) == ["blue", "red"]


def test_columns_of_lists_are_left_out_and_named_and_a_target_of_lists_is_refused(tmp_path, caplog):
    frame = pd.DataFrame({"tags": [["a", "b"], ["c"]] * 15, "x": np.arange(30.0) % 7, "target": ["a", "b", "c"] * 10})
    frame.to_parquet(tmp_path / "nested.parquet")  # parquet keeps the lists: arrays when read back
    from automl_meta.io.tables import load_dataset

    with caplog.at_level("WARNING", logger="automl_meta.dataset"):
        data = load_dataset(tmp_path / "nested.parquet")
    assert list(data.X.columns) == ["x"] and data.profile.nested == ("tags",)
    assert data.profile.as_dict()["nested"] == ["tags"]
    assert "'tags' holds lists or other nested values, which no learner takes; left out" in caplog.text
    with pytest.raises(DatasetError, match="target 'tags' holds lists"):
        make_dataset(frame, target="tags")


def test_day_first_reads_dates_whose_day_and_month_cannot_be_told_apart():
    frame = pd.DataFrame({"when": ["01/03/2021", "01/04/2021", "01/05/2021"] * 10, "x": np.arange(30.0),
                          "target": ["a", "b"] * 15})
    day_first, month_first = make_dataset(frame, day_first=True), make_dataset(frame, day_first=False)
    assert day_first.profile.date_formats == {"when": "%d/%m/%Y"} and month_first.profile.date_formats == {"when": "%m/%d/%Y"}
    assert day_first.X["when.month"].tolist()[:3] == [3.0, 4.0, 5.0] and "when.month" not in month_first.X
    assert month_first.X["when.day"].tolist()[:3] == [3.0, 4.0, 5.0]
    # a column that only one format reads is read in it, whatever day_first says
    assert make_dataset(frame.assign(when=["25/12/2021"] * 15 + ["01/02/2021"] * 15), day_first=False).profile.date_formats == {
        "when": "%d/%m/%Y"}


@pytest.mark.parametrize("values", [
    ["2021-03-04", "unknown"] * 10,  # one value that is no date: not a date column
    ["03/04/2021", "04/05/2021"] * 10,  # day or month first? left as text
    ["2021-03-04 text %d" % i for i in range(20)],
])
def test_columns_that_are_not_all_dates_in_one_format_stay_text(values):
    frame = pd.DataFrame({"when": values, "x": np.arange(20.0), "target": ["a", "b"] * 10})
    data = make_dataset(frame)
    assert data.profile.dates == ()
    assert "when" in data.X.columns or "when" in data.profile.id_like


def test_the_content_hash_is_computed_once_and_survives_pickling():
    import dataclasses
    import pickle

    dataset = make_dataset(make_mixed_frame(60), target="target")
    first = dataset.content_hash()
    assert dataset._hash() == first and dataset.content_hash() is first  # the kept value
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.__dict__["_content_hash"] == first and copy.content_hash() == first
    other = dataclasses.replace(dataset, task="regression" if dataset.task == "classification" else "classification")
    assert "_content_hash" not in other.__dict__ and other.content_hash() != first


def test_true_false_columns_are_the_same_categories_with_or_without_a_gap():
    import io

    rows = [f"{i},{i % 2 == 0},{'yes' if i % 3 else 'no'}" for i in range(40)]
    plain = pd.read_csv(io.StringIO("x,member,label\n" + "\n".join(rows)))
    gap = pd.read_csv(io.StringIO("x,member,label\n" + "\n".join(r.replace("True", "") if i == 4 else r for i, r in enumerate(rows))))
    assert plain["member"].dtype == bool and gap["member"].dtype == object  # what pandas reads from a CSV
    for frame in (plain, gap, plain.astype({"member": "boolean"})):
        dataset = make_dataset(frame, target="label")
        assert "member" in dataset.categorical_columns
        assert sorted(dataset.X["member"].dropna().unique()) == ["False", "True"]  # not the numbers 0 and 1
    labels = make_dataset(gap[["x", "member"]], target="member")  # a True/False target with a missing label
    assert labels.task == "classification" and sorted(labels.y.unique()) == ["False", "True"]


@pytest.mark.parametrize("columns", [[0, "0", "target"], ["a", "a", "target"]], ids=["same-as-text", "same"])
def test_repeated_column_names_are_refused_by_name(columns):
    frame = pd.DataFrame(np.arange(60).reshape(20, 3) % 4, columns=columns)
    with pytest.raises(DatasetError, match="column names repeat \\('0'|column names repeat \\('a'"):
        make_dataset(frame, target="target")


def test_an_absent_target_lists_the_column_names_quoted_so_spaces_show():
    frame = pd.DataFrame({"class ": ["a", "b"] * 10, "x1": np.arange(20.0)})
    with pytest.raises(DatasetError, match=r"'klass' not found; columns are: 'class ', 'x1'"):
        make_dataset(frame, target="klass")
    assert make_dataset(frame, target="class").target == "class "  # found as the default lookup finds it


def test_category_columns_stay_categorical_whatever_their_labels():
    # an ARFF nominal attribute {1,...,26} or astype("category"): declared categories, never numbers
    n = 104
    frame = pd.DataFrame({
        "x": np.arange(n) * 0.5,
        "code": pd.Categorical([str(i % 12 + 1) for i in range(n)]),  # 12 numeric levels: numeric if undeclared
        "level": pd.Series([i % 15 for i in range(n)], dtype="category"),
        "class": pd.Categorical([str(i % 26 + 1) for i in range(n)], categories=[str(k) for k in range(1, 27)]),
    })
    data = make_dataset(frame)
    assert data.task == "classification" and data.n_classes == 26 and data.y.iloc[0] == "1"
    assert data.profile.categorical == ("code", "level") and data.profile.numeric == ("x",)
    assert data.X["level"].iloc[14] == "14"
    with pytest.raises(DatasetError, match="is a category column, so it cannot be a regression target"):
        make_dataset(frame, task="regression")


def _two_features(n=40):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


@pytest.mark.parametrize(("column", "values", "task", "message"), [
    # ranked and fitted as a 40-class problem; only evaluate refused it
    ("row_id", [f"r{i}" for i in range(40)], "auto",
     r"'row_id' \(the last column, taken as the target for want of one named target/class/label/y\) has a different value "
     r"in every row \(40 classes of one row\): an identifier, a date or a measurement, not a class label; name a class column as the "
     r"target "
     r"\(pass --target"),
    ("target", [f"c{i}" for i in range(40)], "auto", r"has a different value in every row .*; name a class column as the target \(pass"),
    ("target", np.arange(40) + 0.5, "classification", r"name a class column as the target, or predict it as a regression task \(pass"),
    ("target", [0] * 39 + [1], "auto", "class '1' has a single row, leaving one class of two rows or more; .*add rows of the single-row"),
    ("flag", [1] * 40, "auto", r"'flag' \(the last column, .*\) has one class \('1'\); .*\(pass --target"),
])
def test_targets_no_classifier_can_learn_are_refused_naming_the_fix(column, values, task, message):
    with pytest.raises(DatasetError, match=message):
        make_dataset(_two_features().assign(**{column: values}), task=task)


def test_a_text_target_forced_to_regression_names_the_task_option_and_a_folder_its_manifest():
    from automl_meta.io.dataset_folder import FOLDER_FIXES

    with pytest.raises(DatasetError, match=r"it is a classification task \(pass --task, or task= in Python\)") as caught:
        make_dataset(_two_features().assign(target=["yes", "no"] * 20), task="regression")
    assert "MANIFEST.csv" in str(caught.value.with_fixes(FOLDER_FIXES))  # db build has no --task


@pytest.mark.parametrize(("labels", "values"), [
    (np.array([9007199254740993, 9007199254740992, 5]), {"9007199254740993": 9007199254740993, "9007199254740992": 9007199254740992, "5": 5}),
    (pd.Series(["1", "2", "1"]), {"1": "1", "2": "2"}),  # digits held as text stay text
    (pd.Series(["007", "7", "010"]), {"007": "007", "7": "7", "010": "010"}),  # a leading zero: codes, as written
    (pd.Categorical([7, -2, 7]), {"7": 7, "-2": -2}),
    (np.array([7.0, 3.0, -2.0]), {"7": 7, "3": 3, "-2": -2}),  # integers with a gap read as floats
    (np.array([1.5, 2.0, 2.5]), {"1.5": 1.5, "2.0": 2.0, "2.5": 2.5}),
    (np.array([True, False, True]), {"True": True, "False": False}),
])
def test_class_labels_are_text_and_remember_the_value_the_table_held(labels, values):
    frame = pd.DataFrame({"x": np.arange(30.0) % 7, "target": np.resize(np.asarray(labels, dtype=object), 30)})
    if isinstance(labels, pd.Categorical):
        frame["target"] = pd.Categorical(np.resize(np.asarray(labels), 30))
    data = make_dataset(frame, task="classification")
    assert data.label_values == values and data.y.nunique() == len(values)
    assert sorted(data.y.unique()) == sorted(values)


@pytest.mark.parametrize("labels", [[0, 1], [True, False]])
def test_a_date_column_leaves_the_labels_as_the_table_holds_them(labels):
    # the date loop reused the name of the labels' mapping: with any date column, predictions came back as text
    n = 60
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "when": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                          "target": [labels[i % 2] for i in range(n)]})
    data = make_dataset(frame, target="target")
    assert data.profile.dates == ("when",)
    assert data.label_values == {str(v): v for v in labels}


@pytest.mark.parametrize("marker", ["#N/A", "#NA", "<NA>", "\\N", "NAN", "#DIV/0!", "#VALUE!"])
def test_excel_and_database_export_markers_are_missing_values(marker):
    # two such cells turned a regression target into 292 classes, and a numeric feature into a categorical one
    n = 60
    frame = pd.DataFrame({"x": np.arange(n, dtype=float).astype(object), "target": np.linspace(0.5, 9.5, n).astype(object)})
    frame.loc[[4, 50], ["x", "target"]] = marker
    data = make_dataset(frame, target="target")
    assert data.task == "regression" and len(data.y) == n - 2
    assert data.profile.numeric == ("x",)


def test_the_exactly_named_target_wins_over_one_named_alike_in_another_case():
    frame = pd.DataFrame({"x": np.arange(40.0), "target": ["yes", "no"] * 20, "Target": np.arange(40) % 5})
    assert make_dataset(frame).target == "target"  # it was 'Target', the later column, and the labels a feature


def test_two_columns_named_alike_in_other_cases_than_the_default_are_refused():
    frame = pd.DataFrame({"x": np.arange(40.0), "Target": ["yes", "no"] * 20, "TARGET": np.arange(40) % 5})
    with pytest.raises(DatasetError, match="'Target', 'TARGET' could each be the target; name one with --target"):
        make_dataset(frame)


def test_a_column_constant_once_its_spaces_are_dropped_is_constant():
    # 'yes' and 'yes ' are one label, but the column was kept as a categorical feature (and counted by the meta-features)
    frame = pd.DataFrame({"a": np.arange(40.0), "flag": ["yes", "yes "] * 20, "target": [0, 1] * 20})
    data = make_dataset(frame, target="target")
    assert data.profile.constant == ("flag",) and list(data.X.columns) == ["a"]


@pytest.mark.parametrize("marker", ["NA ", " NA", " ? ", "#N/A "])
def test_a_missing_value_marker_with_spaces_around_it_is_missing(marker):
    frame = pd.DataFrame({"a": np.arange(60.0), "b": ["x", "y", marker] * 20, "target": [0, 1] * 30})
    data = make_dataset(frame, target="target")
    assert data.profile.missing == {"b": 20}  # was a category of its own


def _signal_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    frame = pd.DataFrame(X, columns=["x1", "x2", "x3"])
    frame["target"] = np.where(X[:, 0] + X[:, 1] > 0, "pos", "neg")
    return frame


@pytest.mark.parametrize(("change", "message"), [
    # each read silently: a leak made every score perfect, the others threw the signal of x1 away
    (lambda f: f.assign(leak=np.where(f["target"] == "pos", 1, 0)), r"'leak' is the target again \(its classes one to one\)"),
    (lambda f: f.assign(x1=f["x1"] * 1e-9), r"'x1' \([\d.]+e-1\d\) holds values mostly closer than 1e-07 to the next .*decision_tree"),
    (lambda f: f.assign(x1=f["x1"] * 1e-300), r"'x1' \(0\) holds values mostly closer than 1e-07"),  # float32 reads them all as 0
    (lambda f: f.assign(x1=f["x1"].round(3).astype(object).where(f.index != 5, "1.2.3")),
     r"'x1' holds numbers but for 1 distinct value \('1.2.3'\); read as text, a category of \d+ levels: fix or blank it"),
    (lambda f: f.assign(x1=f["x1"].astype(object).where(f.index != 5, "unknown")),
     r"'x1' holds numbers but for 1 distinct value \('unknown'\); read as text, its values all distinct, it is left out as ID-like"),
    (lambda f: f.assign(x1=[f"${v * 1000 + 5000:,.2f}" for v in f["x1"]]),
     r"'x1' holds numbers written with \$, %, commas or brackets \('\$.*'\); read as text, .*save them as plain numbers"),
])
def test_columns_that_mislead_the_learners_are_warned_of(change, message, caplog):
    with caplog.at_level("WARNING", logger="automl_meta"):
        make_dataset(change(_signal_frame()), target="target")
    assert re.search(message, caplog.text), caplog.text


def test_a_regression_target_again_in_other_units_is_warned_of_and_a_plain_table_is_not(caplog):
    frame = _signal_frame().assign(target=lambda f: f["x1"] * 3 + f["x2"])
    with caplog.at_level("WARNING", logger="automl_meta"):
        make_dataset(frame, target="target")
        assert caplog.text == ""  # nothing to say of a plain table
        make_dataset(frame.assign(cents=frame["target"] * 100 + 7), target="target")
    assert "'cents' is the target again (up to units)" in caplog.text


@pytest.mark.parametrize("given", ["TARGET", " target", "Target "])
def test_a_target_named_in_another_case_or_with_spaces_is_found_as_the_default_lookup_finds_it(given):
    # refused: "target column 'TARGET' not found", while the default lookup found the column in any case
    assert make_dataset(_signal_frame(), target=given).target == "target"
    with pytest.raises(DatasetError, match="could each be the target|not found"):
        make_dataset(_signal_frame().assign(Target=1), target="TARGET")  # two alike: the user's to say


@pytest.mark.parametrize("change", [
    lambda f: f.assign(x1=(f["x1"] > 0) * 1e-6 + (f["x2"] > 0) * 2e-6),  # levels 1e-6 apart, a span of 3e-6: trees split them
    lambda f: f.assign(x1=[f"{a},{b}" for a, b in zip(f.index % 30, f.index % 7 + 30)]),  # tag lists, not thousands
    lambda f: f.assign(x1=[f"({a}) {b} {c}" for a, b, c in zip(f.index + 200, f.index % 900 + 100, f.index + 3000)]),  # phones
])
def test_columns_that_only_look_odd_are_not_warned_of(change, caplog):
    with caplog.at_level("WARNING", logger="automl_meta"):
        make_dataset(change(_signal_frame()), target="target")
    assert "holds values mostly closer" not in caplog.text and "holds numbers" not in caplog.text, caplog.text


@pytest.mark.parametrize("task", ["regression", "auto", "classification"])
def test_a_numeric_target_with_a_stray_word_names_the_word_whatever_the_task(task):
    # "it is a classification task" one way, "name a class column as the target" the other: each led to the other
    frame = _signal_frame().assign(target=lambda f: (f["x1"] * 3).astype(object).where(f.index != 7, "unknown"))
    with pytest.raises(DatasetError, match=r"target 'target' holds numbers but for 1 distinct value \('unknown'\).*fix or blank it"):
        make_dataset(frame, target="target", task=task)
