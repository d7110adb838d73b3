"""Atomic writes: an error while writing never leaves half a file nor loses the old one."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_meta.exceptions import ArtifactError, UsageError
from automl_meta.io.atomic import atomic_path, check_output_file, write_text_atomic


def test_written_file_gets_the_usual_permissions(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "out.txt", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644


def test_success_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.csv"
    write_text_atomic(target, "old\n")
    write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]


def test_error_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("complete old content\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk full")
    assert target.read_text() == "complete old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_an_output_path_that_is_a_folder_or_an_input_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="is a folder; give a file name, e.g. out.csv"):
        check_output_file(tmp_path, "out.csv")
    with pytest.raises(ArtifactError, match="is a folder"):
        check_output_file("", "out.csv")  # an empty name is the current folder
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    (tmp_path / "sub").mkdir()
    with pytest.raises(UsageError, match="is the data; writing there would replace it"):
        check_output_file(tmp_path / "sub" / ".." / "data.csv", "out.csv", {"the data": data})
    assert check_output_file(tmp_path / "out.csv", "out.csv", {"the data": data}) == tmp_path / "out.csv"
    assert data.read_text() == "a\n1\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, a folder that refuses new files even to root")
def test_a_folder_that_refuses_new_files_is_refused_before_any_work(tmp_path):
    # the write failed only after all the training or fitting, with a raw PermissionError or torch RuntimeError, exit 1
    with pytest.raises(ArtifactError, match=r"cannot write in /proc/self \(.*\); check its permissions"):
        check_output_file("/proc/self/x.pt", "init.pt")
    check_output_file(tmp_path / "new" / "deeper" / "x.pt", "init.pt")  # a folder still to make: its existing parent is tried
    assert [p.name for p in tmp_path.iterdir()] == []  # the probe leaves nothing behind


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("args", [
    ["meta-train", "sinusoid", "--iterations", "2", "--meta-batch", "2", "--device", "cpu", "--out", "/proc/self/s.pt"],
    ["optimizer", "train", "--epochs", "1", "--steps", "2", "--unroll", "2", "--out", "/proc/self/q.pt"],
    ["recommend", "DATA", "--top", "1", "--fit", "/proc/self/m.skops"],
    ["selector", "train", "--task", "classification", "--out", "/proc/self/models"],  # trained first, then PermissionError
    ["db", "build", "--source", "dir:FOLDER", "--db", "/proc/self/m.sqlite", "--learners", "dummy"],  # after the plan, exit 1
])
def test_commands_refuse_an_unwritable_output_folder_in_one_line(tmp_path, args):
    from typer.testing import CliRunner

    from automl_meta.cli.main import app
    from conftest import make_mixed_frame

    data = tmp_path / "d.csv"
    make_mixed_frame(60, seed=0).to_csv(data, index=False)
    result = CliRunner().invoke(app, [str(data) if a == "DATA" else f"dir:{tmp_path}" if a == "dir:FOLDER" else a for a in args])
    assert result.exit_code == 2, result.output
    assert "cannot write in /proc/self" in result.output and len(result.output.strip().splitlines()) == 1


def test_a_legal_long_name_is_written_though_the_temporary_name_adds_to_it(tmp_path):
    # '.NAME.PID.HEX.tmp' went past 255 bytes: OSError File name too long, after all the work
    path = tmp_path / ("n" * 240 + ".csv")
    write_text_atomic(path, "x\n")
    assert path.read_text() == "x\n" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_gzip_table_names_the_file_in_its_header_not_the_temporary_one(tmp_path):
    import gzip

    import pandas as pd

    from automl_meta.io.table_output import output_format, write_table

    path = tmp_path / "preds.csv.gz"
    write_table(pd.DataFrame({"a": [1, 2]}), path)
    data = path.read_bytes()
    assert data[3] & 0x08 and data[10:20] == b"preds.csv\x00"  # FNAME flag, then the name gunzip -N restores
    assert gzip.decompress(data).decode() == "a\n1\n2\n"
    assert output_format(tmp_path / ".preds.csv") == (".csv", None)  # a hidden file with a name and extension
    with pytest.raises(UsageError, match="give the file a name before its extension"):
        output_format(tmp_path / ".csv")
