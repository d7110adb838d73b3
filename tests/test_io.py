"""Reading data files: formats, sniffing, encodings, and one-line errors for bad input."""

from __future__ import annotations

import bz2
import gzip
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_meta.exceptions import DatasetError
from automl_meta.io import load_dataset, read_table

from conftest import make_mixed_frame

CSV = "a,b,label\n" + "".join(f"{i},{i % 3},{'x' if i % 2 else 'y'}\n" for i in range(30))


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_read_table_sniffs_the_delimiter(tmp_path, sep):
    path = write(tmp_path, "data.txt", CSV.replace(",", sep))
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b", "label"]
    assert len(frame) == 30


@pytest.mark.parametrize(
    ("name", "pack"),
    [("d.csv.gz", gzip.compress), ("d.csv.bz2", bz2.compress)],
)
def test_read_table_decompresses(tmp_path, name, pack):
    frame = read_table(write(tmp_path, name, pack(CSV.encode())))
    assert frame.shape == (30, 3)


def _corrupt_zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("inner.csv", data)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "pack"), [("d.csv.gz", gzip.compress), ("d.csv.zip", _corrupt_zip)])
def test_a_corrupt_deflate_stream_is_a_damaged_file_named_as_such(tmp_path, name, pack):
    damaged = bytearray(pack((CSV * 20).encode()))
    damaged[len(damaged) // 2] ^= 0xFF  # zlib's "invalid distance too far back" and the like
    with pytest.raises(DatasetError, match=rf"^{re.escape(name)}: cannot decompress \(.*\); is the file complete\?$"):
        read_table(write(tmp_path, name, bytes(damaged)))


def test_read_table_reads_a_zipped_csv(tmp_path):
    path = tmp_path / "d.csv.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("inner.csv", CSV)
    assert read_table(path).shape == (30, 3)


def test_read_table_reads_parquet(tmp_path, mixed_frame):
    path = tmp_path / "d.parquet"
    mixed_frame.to_parquet(path)
    pd.testing.assert_frame_equal(read_table(path), mixed_frame)


def test_read_table_reads_arff_with_nominal_and_missing(tmp_path):
    text = (
        "@relation toy\n@attribute x numeric\n@attribute c {red,blue}\n@attribute class {yes,no}\n@data\n"
        + "".join(f"{i},{('red', 'blue', '?')[i % 3]},{'yes' if i % 2 else 'no'}\n" for i in range(20))
    )
    data = load_dataset(write(tmp_path, "toy.arff", text))
    assert data.target == "class"
    assert data.profile.categorical == ("c",)
    assert data.profile.missing == {"c": 6}


def test_arff_date_attributes_are_read_as_dates(tmp_path):
    text = (
        "@relation dated\n@attribute 'when seen' DATE \"yyyy-MM-dd'T'HH:mm:ss\"\n@attribute x numeric\n"
        "@attribute class {yes,no}\n@data\n"
        + "".join(f"'2021-{i % 12 + 1:02d}-{i % 28 + 1:02d}T{i % 24:02d}:00:00',{i},{'yes' if i % 2 else 'no'}\n" for i in range(30))
    )
    data = load_dataset(write(tmp_path, "dated.arff", text))
    assert data.profile.dates == ("when seen",)
    assert data.X["when seen.hour"].tolist() == [float(i % 24) for i in range(30)]


def test_utf8_bom_and_latin1_are_decoded(tmp_path):
    text = "café,n,target\n" + "".join(f"é{i % 4},{i},{i % 2}\n" for i in range(20))
    bom = read_table(write(tmp_path, "bom.csv", "\ufeff" + text))
    latin = read_table(write(tmp_path, "latin.csv", text, encoding="latin-1"))
    assert list(bom.columns) == list(latin.columns) == ["café", "n", "target"]
    assert latin.iloc[0, 0] == "é0"


def test_quoted_fields_keep_delimiters_and_newlines(tmp_path):
    rows = "".join(f'{i},"a, b\nline {i}",{i % 2}\n' for i in range(20))
    frame = read_table(write(tmp_path, "q.csv", "n,text,target\n" + rows))
    assert frame.shape == (20, 3)
    assert frame.loc[3, "text"] == "a, b\nline 3"


def test_missing_markers_and_inf_become_missing(tmp_path):
    values = ["1.5", "", "NA", "?", "NaN", "inf", "-inf", "2.25"] * 3
    rows = "".join(f"{v},{i % 2}\n" for i, v in enumerate(values))
    data = load_dataset(write(tmp_path, "m.csv", "x,target\n" + rows))
    assert data.X["x"].isna().sum() == 18
    assert np.isfinite(data.X["x"].dropna()).all()


def test_a_first_row_that_reads_as_data_is_data_and_names_make_a_header(tmp_path):
    species = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    iris = "".join(f"{5 + i % 7 / 10:.1f},{3 + i % 5 / 10:.1f},{species[i % 3]}\n" for i in range(30))
    frame = read_table(write(tmp_path, "iris.data", iris))  # UCI's files have no header
    assert frame.shape == (30, 3) and frame.columns.tolist() == ["col_0", "col_1", "col_2"]
    years = "country,1990,1991\n" + "".join(f"c{i},{i / 3:.2f},{i / 7:.2f}\n" for i in range(30))
    assert read_table(write(tmp_path, "years.csv", years)).columns.tolist() == ["country", "1990", "1991"]
    text = "color,size\n" + "".join(f"{['red', 'blue'][i % 2]},{'SML'[i % 3]}\n" for i in range(30))
    assert read_table(write(tmp_path, "text.csv", text)).columns.tolist() == ["color", "size"]


def test_the_column_positions_pandas_writes_as_a_header_are_a_header(tmp_path):
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(30, 4)).round(3)).to_csv(tmp_path / "arr.csv", index=False)  # header 0,1,2,3
    frame = read_table(tmp_path / "arr.csv")
    assert frame.shape == (30, 4) and frame.columns.tolist() == ["0", "1", "2", "3"]
    two = "0,1\n" + "".join(f"{i % 3},{i % 2}\n" for i in range(20))  # two columns: 0,1 may well be data
    assert read_table(write(tmp_path, "two.csv", two)).shape == (21, 2)


def test_a_header_that_repeats_a_name_is_read_with_a_warning_naming_it(tmp_path, caplog):
    text = "a,b,a,y\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(20))  # as PMLB's schizo repeats 'target'
    with caplog.at_level("WARNING", logger="automl_meta"):
        frame = read_table(write(tmp_path, "dup.csv", text))
    assert frame.columns.tolist() == ["a", "b", "a.1", "y"] and frame["a.1"].tolist()[:3] == [0, 1, 2]
    assert "dup.csv: column names repeat in the header ('a'); the later ones are read as 'a.1'" in caplog.text


def test_integers_written_with_leading_zeros_are_read_as_written(tmp_path):
    rows = "".join(f"{i * 0.5},{['02139', '10001', '94105'][i % 3]},{i % 11},{['007', '010', '7'][i % 3]}\n" for i in range(30))
    frame = read_table(write(tmp_path, "codes.csv", "x,zip,n,code\n" + rows))
    assert frame["zip"].tolist()[:3] == ["02139", "10001", "94105"] and frame["code"].tolist()[:3] == ["007", "010", "7"]
    assert pd.api.types.is_float_dtype(frame["x"]) and pd.api.types.is_integer_dtype(frame["n"])  # 0 and 10 are numbers
    data = load_dataset(tmp_path / "codes.csv", target="code")
    assert data.label_values == {"007": "007", "010": "010", "7": "7"}  # 007 and 7: two classes


def test_headerless_numeric_file_gets_column_names(tmp_path):
    data = load_dataset(write(tmp_path, "h.csv", "".join(f"{i},{i * 2.5},{i % 2}\n" for i in range(20))))
    assert data.target == "col_2"
    assert data.X.columns.tolist() == ["col_0", "col_1"]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_commas_are_read_as_numbers_when_commas_do_not_delimit(tmp_path, sep):
    rows = "".join(f"{i},{i % 4}{sep}{-i}{sep}Smith, J{sep}{'xy'[i % 2]}\n" for i in range(20))
    frame = read_table(write(tmp_path, "de.txt", f"price{sep}n{sep}name{sep}target\n" + rows))
    assert frame["price"].dtype == float and frame["price"].tolist()[:3] == [0.0, 1.1, 2.2]
    assert frame["name"].iloc[0] == "Smith, J"
    # without a header "0,5;0" could be delimited either way: given the delimiter, the comma is the decimal mark
    headerless = read_table(write(tmp_path, "h.txt", "".join(f"{i},5{sep}{i % 2}\n" for i in range(20))), sep=sep)
    assert headerless.columns.tolist() == ["col_0", "col_1"] and headerless["col_0"].iloc[1] == 1.5


def test_a_decimal_point_anywhere_keeps_commas_as_text(tmp_path):
    rows = "".join(f"{i},{i % 4};{i}.5;{'xy'[i % 2]}\n" for i in range(20))
    frame = read_table(write(tmp_path, "mixed.csv", "code;x;target\n" + rows))
    assert not pd.api.types.is_numeric_dtype(frame["code"]) and frame["x"].tolist()[:2] == [0.5, 1.5]


def test_columns_apart_by_runs_of_spaces_are_read_as_columns(tmp_path):
    # UCI's .data files align their columns with spaces; R's write.table separates by one space
    aligned = "".join(f"{i * 1.5:8.3f} {-i:6d}   {i % 2}\n" for i in range(20))
    frame = read_table(write(tmp_path, "aligned.data", aligned))
    assert frame.shape == (20, 3) and frame["col_0"].iloc[2] == 3.0 and frame["col_2"].iloc[1] == 1
    spaced = "a b target\n" + "".join(f"{i} {i % 3} {'xy'[i % 2]}\n" for i in range(20))
    assert read_table(write(tmp_path, "spaced.txt", spaced)).columns.tolist() == ["a", "b", "target"]
    assert read_table(write(tmp_path, "s.txt", spaced), sep="whitespace").shape == (20, 3)


def test_excels_sep_line_names_the_delimiter_and_is_not_a_row(tmp_path):
    rows = "".join(f"{i},5;{i % 3};{'xy'[i % 2]}\r\n" for i in range(20))
    frame = read_table(write(tmp_path, "excel.csv", "sep=;\r\nprice;n;target\r\n" + rows))
    assert frame.columns.tolist() == ["price", "n", "target"] and frame["price"].iloc[1] == 1.5


def test_sep_takes_one_character_or_a_name_and_refuses_the_rest(tmp_path):
    from automl_meta.exceptions import UsageError

    path = write(tmp_path, "t.txt", "".join(f"{i}\t{i % 2}\n" for i in range(20)))
    for sep in ("\t", "tab", "TAB", "\\t"):  # "\\t": a backslash and a t, as typed in a shell
        assert read_table(path, sep=sep).shape == (20, 2)
    with pytest.raises(UsageError, match="--sep must be one character or one of tab"):
        read_table(path, sep="';'")


def test_thousands_separators_are_read_as_numbers_when_every_value_is_grouped(tmp_path):
    # a spreadsheet's comma-delimited export quotes "1,234"; names with commas stay text
    rows = "".join(f'"{1000 * i + 234:,}","{i}, J",{1.5 * i:,.1f},{"xy"[i % 2]}\n' for i in range(1, 21))
    frame = read_table(write(tmp_path, "us.csv", "income,name,x,target\n" + rows))
    assert pd.api.types.is_numeric_dtype(frame["income"]) and frame["income"].tolist()[:2] == [1234, 2234]
    assert frame["name"].iloc[0] == "1, J" and frame["x"].iloc[1] == 3.0
    # grouped by points with a decimal comma, in a semicolon-delimited file
    rows = "".join(f"{i}.{i:03d}.{i:03d},5;{i},25;{'xy'[i % 2]}\n" for i in range(1, 21))
    frame = read_table(write(tmp_path, "de.csv", "amount;rate;target\n" + rows))
    assert frame["amount"].tolist()[:2] == [1001001.5, 2002002.5] and frame["rate"].iloc[0] == 1.25
    # a header-less file whose first row is grouped numbers has no header
    headerless = read_table(write(tmp_path, "h.csv", "".join(f'"{i},{i:03d}",{i % 2}\n' for i in range(1, 21))))
    assert headerless.columns.tolist() == ["col_0", "col_1"] and headerless["col_0"].iloc[0] == 1001.0


def test_thousands_separators_first_seen_after_the_sniffed_lines_still_make_numbers(tmp_path):
    prices = [f"{9.5 * i:.2f}" for i in range(60)] + ['"1,299.00"', '"12,345.50"']
    rows = "".join(f"{p},{'xy'[i % 2]}\n" for i, p in enumerate(prices))
    frame = read_table(write(tmp_path, "late.csv", "price,target\n" + rows))
    assert frame["price"].dtype == float and frame["price"].tolist()[-2:] == [1299.0, 12345.5]


def test_commas_that_do_not_group_thousands_keep_the_column_as_text(tmp_path):
    # "1,2" is no grouping, so the column is not taken for numbers, not even "1,234" (pandas' thousands= made it 12)
    rows = "".join(f'"{v}",{"xy"[i % 2]}\n' for i, v in enumerate(["1,234", "1,2"] * 10))
    assert not pd.api.types.is_numeric_dtype(read_table(write(tmp_path, "odd.csv", "code,target\n" + rows))["code"])
    # "1,234" alone in a semicolon file may be a decimal comma (1.234): it stays one, as before
    rows = "".join(f"1,234;{i};{'xy'[i % 2]}\n" for i in range(20))
    assert read_table(write(tmp_path, "dec.txt", "a;b;target\n" + rows))["a"].iloc[0] == 1.234
    # and three decimals after a point are not thousands either
    rows = "".join(f"1.250;{i};{'xy'[i % 2]}\n" for i in range(20))
    assert read_table(write(tmp_path, "pt.txt", "a;b;target\n" + rows))["a"].iloc[0] == 1.25


def test_default_target_prefers_named_columns_case_insensitively(tmp_path):
    frame = make_mixed_frame(50).rename(columns={"target": "Class"})
    frame["z_last"] = 1.0
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert load_dataset(tmp_path / "t.csv").target == "Class"


def test_column_profile_reports_id_like_and_constant_columns(tmp_path):
    frame = make_mixed_frame(60)
    frame["row_id"] = [f"id-{i}" for i in range(60)]
    frame["always"] = "same"
    data = load_dataset(write(tmp_path, "p.csv", frame.to_csv(index=False)))
    assert data.profile.id_like == ("row_id",)
    assert data.profile.constant == ("always",)
    assert "row_id" not in data.X and "always" not in data.X
    assert set(data.categorical_columns) == {"color", "flag"}


def test_a_row_number_column_is_kept_but_reported(tmp_path, caplog):
    frame = make_mixed_frame(60)
    frame.insert(0, "row", range(1, 61))
    frame["spaced"] = range(0, 120, 2)  # distinct integers, not consecutive: an ordinary feature
    with caplog.at_level("WARNING", logger="automl_meta.dataset"):
        data = load_dataset(write(tmp_path, "r.csv", frame.to_csv(index=False)))
    assert data.profile.row_numbers == ("row",)
    assert "row" in data.X and "spaced" in data.X
    assert "'row' holds distinct consecutive integers, like a row number" in caplog.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "empty"),
        ("header.csv", "a,b,target\n", "no data rows"),
        ("few.csv", "a,target\n" + "".join(f"{i},{i % 2}\n" for i in range(5)), "at least 10"),
        ("one.csv", "target\n" + "".join(f"{i % 2}\n" for i in range(20)), "delimiter"),
        ("bin.csv", b"\x00\x01\x02\xff" * 100, "unreadable bytes"),
        ("book.xlsx", b"PK\x03\x04" + b"\x00" * 100, "save the sheet as CSV"),
    ],
)
def test_bad_files_raise_one_line_dataset_errors(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(DatasetError, match=message) as info:
        load_dataset(path)
    assert "\n" not in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "nope.csv")


def test_absent_target_lists_the_columns(tmp_path):
    path = write(tmp_path, "d.csv", CSV)
    with pytest.raises(DatasetError, match=r"'nope' not found; columns are: 'a', 'b', 'label'"):
        load_dataset(path, target="nope")


def test_target_all_missing_is_rejected(tmp_path):
    path = write(tmp_path, "d.csv", "a,target\n" + "".join(f"{i},\n" for i in range(20)))
    with pytest.raises(DatasetError, match="all values missing"):
        load_dataset(path)


def test_single_class_target_is_rejected(tmp_path):
    path = write(tmp_path, "d.csv", "a,target\n" + "".join(f"{i},yes\n" for i in range(20)))
    with pytest.raises(DatasetError, match="one class"):
        load_dataset(path)


def test_a_header_of_numbers_above_a_text_column_is_a_header(tmp_path):
    rows = "".join(f"{i * 0.5:.1f},{i % 7},{'ab'[i % 2]}\n" for i in range(30))
    frame = read_table(write(tmp_path, "n.csv", "1,2.5,3\n" + rows))  # "3" heads a/b and never recurs below: a name
    assert frame.columns.tolist() == ["1", "2.5", "3"] and frame.shape == (30, 3)
    # a number that does recur below it, or heads a column with numbers in it, is a data row
    data = read_table(write(tmp_path, "d.csv", "1,2.5,a\n" + rows))
    assert frame.shape == (30, 3) and data.shape == (31, 3) and data.columns.tolist() == ["col_0", "col_1", "col_2"]
    mixed = read_table(write(tmp_path, "m.csv", "1,2.5,3\n" + rows.replace(",a\n", ",7\n", 1)))
    assert mixed.shape == (31, 3)
    blank = read_table(write(tmp_path, "b.csv", "0.4,3,\n" + rows))  # an empty cell names nothing: a data row
    assert blank.shape == (31, 3) and blank.columns.tolist() == ["col_0", "col_1", "col_2"]


def test_a_byte_order_mark_before_latin_1_text_is_dropped(tmp_path):
    # the BOM was kept as 'ï»¿' in the first name, so the default target missed 'target'
    text = "target,x,city\n" + "".join(f"{'yes' if i % 2 else 'no'},{i},Orléans\n" for i in range(20))
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("latin-1"))
    assert list(read_table(tmp_path / "b.csv").columns) == ["target", "x", "city"]


def test_windows_1252_text_keeps_its_printable_characters(tmp_path):
    # read as Latin-1, '€ – ’' became control characters: a column name nobody can type, labels written back corrupted
    text = "x,Customer’s choice\n" + "".join(f"{i},{'€ premium' if i % 2 else 'standard – basic'}\n" for i in range(20))
    (tmp_path / "w.csv").write_bytes(text.encode("cp1252"))
    frame = read_table(tmp_path / "w.csv")
    assert list(frame.columns) == ["x", "Customer’s choice"]
    assert set(frame["Customer’s choice"]) == {"€ premium", "standard – basic"}


def test_parquet_and_arff_names_lose_surrounding_spaces_as_a_text_header_does(tmp_path):
    # 'Target ' in a parquet file was a feature, and the last column the target
    frame = pd.DataFrame({"x": np.arange(30.0), "Target ": ["a", "b"] * 15, "z": np.arange(30.0) * 2})
    frame.to_parquet(tmp_path / "s.parquet")
    assert list(read_table(tmp_path / "s.parquet").columns) == ["x", "Target", "z"]
    assert load_dataset(tmp_path / "s.parquet").target == "Target"
    arff = ("@RELATION r\n@ATTRIBUTE x NUMERIC\n@ATTRIBUTE 'class ' {a,b}\n@ATTRIBUTE z NUMERIC\n@DATA\n"
            + "".join(f"{i},{'ab'[i % 2]},{i * 2}\n" for i in range(30)))
    write(tmp_path, "s.arff", arff)
    assert load_dataset(tmp_path / "s.arff").target == "class"


def test_names_that_only_strip_to_one_name_are_kept_as_they_are(tmp_path):
    frame = pd.DataFrame({"a": np.arange(30.0), "a ": np.arange(30.0) * 2, "target": [0, 1] * 15})
    frame.to_parquet(tmp_path / "d.parquet")
    assert list(read_table(tmp_path / "d.parquet").columns) == ["a", "a ", "target"]


def test_a_pipe_is_refused_as_no_regular_file_not_called_empty(tmp_path):
    import os

    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    with pytest.raises(DatasetError, match="not a regular file .*; save the data to a file and give its path"):
        read_table(fifo)  # was "the file is empty", though the pipe held 240 rows


def test_a_figure_whose_write_fails_leaves_the_existing_file_whole(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from automl_meta.io.plots import save_figure

    target = tmp_path / "curves.png"
    target.write_bytes(b"an older figure")

    def half_written(self, fname, **kwargs):  # as a full disk cuts a write short
        Path(fname).write_bytes(b"\x89PNG\r\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(OSError, match="No space left"):
        save_figure(Figure(), target, dpi=50)
    assert target.read_bytes() == b"an older figure" and sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]
    monkeypatch.undo()
    save_figure(Figure(), target, dpi=50)
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_a_parquet_file_that_does_not_fit_in_memory_is_a_memory_error_not_a_bad_file(tmp_path, monkeypatch):
    from automl_meta.io import load_dataset

    class ArrowMemoryError(Exception):  # pyarrow's, as its malloc fails
        pass

    path = tmp_path / "big.parquet"
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "target": [0, 1, 0, 1]}).to_parquet(path)

    def no_memory(*args, **kwargs):
        raise ArrowMemoryError("malloc of size 480000000 failed")

    monkeypatch.setattr(pd, "read_parquet", no_memory)
    with pytest.raises(MemoryError, match="reading big.parquet as parquet: malloc of size 480000000 failed"):
        load_dataset(path)  # was a DatasetError (exit 2): "cannot read as parquet"
