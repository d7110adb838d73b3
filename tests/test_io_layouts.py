"""Reading tables laid out in ways that fooled the sniffing: padded delimiters, short headers, late decimal
commas, CR line ends, UCI's auto-mpg layout, ARFF nominal labels that are numbers, and zipped ARFF or parquet."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from automl_meta.exceptions import DatasetError
from automl_meta.io import load_dataset, read_table


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_header_names_lose_the_spaces_around_a_padded_delimiter(tmp_path):
    rows = "".join(f"{'pq'[i % 2]} | {i * 0.5} | {-i}\n" for i in range(30))
    path = write(tmp_path, "pipe.txt", "class | x1 | x2\n" + rows)
    assert read_table(path).columns.tolist() == ["class", "x1", "x2"]
    data = load_dataset(path)  # the default target rule finds 'class'
    assert data.target == "class" and data.task == "classification"


def test_a_one_column_file_whose_values_hold_spaces_is_one_column(tmp_path):
    cities = ["New York", "Los Angeles", "San Jose", "Boston"] * 5
    frame = read_table(write(tmp_path, "new.csv", "city\n" + "".join(f"{c}\n" for c in cities)))
    assert frame.columns.tolist() == ["city"] and frame["city"].tolist() == cities


def test_rows_with_more_fields_than_the_header_are_refused_naming_both_counts(tmp_path):
    rows = "".join(f"{i},{i + 0.5},0.{i},{i % 2}\n" for i in range(20))
    with pytest.raises(DatasetError, match="header names 3 columns but data rows hold 4 fields; name every column") as info:
        read_table(write(tmp_path, "short.csv", "a,b,target\n" + rows))
    assert "\n" not in str(info.value)


def test_one_trailing_delimiter_on_every_line_is_not_a_column(tmp_path):
    rows = "".join(f"{i},{i + 0.5},{i % 2},\n" for i in range(20))
    frame = read_table(write(tmp_path, "trail.csv", "a,b,target\n" + rows))
    assert frame.columns.tolist() == ["a", "b", "target"]
    assert frame["a"].tolist()[:2] == [0, 1] and frame["target"].tolist()[:2] == [0, 1]


def test_decimal_commas_after_the_first_50_lines_are_read_as_numbers(tmp_path):
    # README: the comma is the decimal mark when the first 50 lines hold no number with a decimal point
    prices = [str(3 * i) for i in range(60)] + ["183,5", "7,25"]
    rows = "".join(f"{p};{i % 7};{'ab'[i % 2]}\n" for i, p in enumerate(prices))
    frame = read_table(write(tmp_path, "late.csv", "price;z;target\n" + rows))
    assert frame["price"].dtype == float and frame["price"].tolist()[-2:] == [183.5, 7.25]
    assert "price" in load_dataset(write(tmp_path, "late2.csv", "price;z;target\n" + rows)).X


def test_late_commas_stay_thousands_where_they_group_and_text_after_a_decimal_point(tmp_path):
    late = [str(i) for i in range(60)]
    grouped = "".join(f"{v};{'ab'[i % 2]}\n" for i, v in enumerate(late + ["1,234,567", "12,345"]))
    assert read_table(write(tmp_path, "g.csv", "n;target\n" + grouped))["n"].tolist()[-2:] == [1234567, 12345]
    pointed = "".join(f"{v};{'ab'[i % 2]}\n" for i, v in enumerate(["0.5"] + late + ["1,5"]))
    assert not pd.api.types.is_numeric_dtype(read_table(write(tmp_path, "p.csv", "n;target\n" + pointed))["n"])


def test_classic_mac_line_ends_are_read(tmp_path):
    rows = "".join(f"{i},{i * 1.5},{'xy'[i % 2]}\r" for i in range(20))
    frame = read_table(write(tmp_path, "mac.csv", "a,b,target\r" + rows))
    assert frame.shape == (20, 3) and frame.columns.tolist() == ["a", "b", "target"] and frame["b"].iloc[1] == 1.5
    excel = read_table(write(tmp_path, "mac_excel.csv", "sep=;\r" + ("a,b,target\r" + rows).replace(",", ";")))
    assert excel.shape == (20, 3)


def test_ucis_auto_mpg_layout_of_spaces_then_a_tab_is_read_apart_by_whitespace(tmp_path):
    names = ["ford torino", "buick skylark 320", "amc rebel sst"]
    rows = "".join(
        f"{18 + i * 0.5:.1f}   {4 + 2 * (i % 3)}   {300 - i:.1f}      {100 + i}  {1 + i % 3}\t\"{names[i % 3]}\"\n"
        for i in range(30)
    )
    frame = read_table(write(tmp_path, "auto-mpg.data", rows))
    assert frame.shape == (30, 6) and frame["col_5"].tolist()[:3] == names
    assert frame["col_0"].iloc[1] == 18.5


NOMINAL_ARFF = (
    "@relation letters\n@attribute f1 numeric\n@attribute code {1,2,3,4,5,6,7,8,9,10,11,12}\n"
    "@attribute class {" + ",".join(str(k) for k in range(1, 27)) + "}\n@data\n"
    + "".join(f"{i * 0.25},{i % 12 + 1},{i % 26 + 1}\n" for i in range(104))
)


def test_arff_nominal_attributes_with_numeric_labels_stay_categorical(tmp_path):
    data = load_dataset(write(tmp_path, "letters.arff", NOMINAL_ARFF))
    assert data.task == "classification" and data.n_classes == 26
    assert data.profile.categorical == ("code",) and data.X["code"].iloc[11] == "12"


def test_a_zip_holding_an_arff_or_parquet_file_is_read_by_that_files_suffix(tmp_path):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data.arff", NOMINAL_ARFF)
    assert load_dataset(path).task == "classification"
    frame = pd.DataFrame({"x": [0.5, 1.5] * 10, "color": pd.Categorical(["red", "blue"] * 10), "target": [0, 1] * 10})
    frame.to_parquet(tmp_path / "t.parquet")
    with zipfile.ZipFile(tmp_path / "pq.zip", "w") as zf:
        zf.write(tmp_path / "t.parquet", "t.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "pq.zip"), frame)


def test_parquet_dictionary_columns_stay_categorical_and_integer_ones_stay_numbers(tmp_path):
    # a dictionary of text labels reads back as a category column; pyarrow reads a dictionary of integers as integers
    frame = pd.DataFrame({
        "x": [i * 0.5 for i in range(60)], "grade": pd.Categorical([str(i % 15) for i in range(60)]),
        "level": pd.Categorical([i % 15 for i in range(60)]), "target": ["a", "b"] * 30,
    })
    frame.to_parquet(tmp_path / "c.parquet")
    data = load_dataset(tmp_path / "c.parquet")
    assert data.profile.categorical == ("grade",) and data.X["grade"].iloc[14] == "14"
    assert data.profile.numeric == ("x", "level")
