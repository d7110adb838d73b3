"""`automl-meta metafeatures`: JSON schema, human view, cache, errors, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from conftest import make_mixed_frame

runner = CliRunner()
FAST = ["--max-rows", "150"]


@pytest.fixture(scope="module")
def mixed_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "mixed.csv"
    make_mixed_frame(240, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def regression_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "reg.csv"
    make_mixed_frame(200, seed=4, task="regression").to_csv(path, index=False)
    return path


def _invoke(*args):
    return runner.invoke(app, ["metafeatures", *map(str, args)])


def test_json_has_the_documented_schema(mixed_csv, tmp_path):
    result = _invoke(mixed_csv, "--target", "target", "--json", "--cache-dir", tmp_path, *FAST)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"n_rows", "n_features", "task", "target", "metafeatures", "seconds"} <= set(doc)
    assert doc["n_rows"] == 240 and doc["n_features"] == 4
    assert doc["task"] == "classification" and doc["target"] == "target"
    assert doc["cached"] is False and doc["n_rows_used"] == 150
    assert isinstance(doc["seconds"], float)
    assert doc["metafeatures"]["nr_inst"] == 240
    assert all(v is None or isinstance(v, (int, float)) for v in doc["metafeatures"].values())
    assert "color" in doc["columns"]["categorical"]


def test_second_call_is_a_cache_hit(mixed_csv, tmp_path):
    first = json.loads(_invoke(mixed_csv, "--json", "--cache-dir", tmp_path, *FAST).stdout)
    second = json.loads(_invoke(mixed_csv, "--json", "--cache-dir", tmp_path, *FAST).stdout)
    assert not first["cached"] and second["cached"]
    assert second["metafeatures"] == first["metafeatures"]


def test_no_cache_writes_nothing(mixed_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path))  # the cache it would use
    result = _invoke(mixed_csv, "--json", "--no-cache", "--groups", "general", *FAST)
    assert result.exit_code == 0, result.stderr
    assert not list(tmp_path.iterdir())
    cached = _invoke(mixed_csv, "--json", "--groups", "general", *FAST)
    assert cached.exit_code == 0 and list(tmp_path.iterdir())  # the same command without --no-cache writes there


def test_human_view_shows_header_and_table(mixed_csv):
    result = _invoke(mixed_csv, "--groups", "general,statistical", *FAST)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "240 rows, 4 features, classification, target target" in text
    assert "categorical: color, flag" in text
    assert "with missing values: x2, color" in text
    assert "nr_inst" in text and "cor.mean" in text


def test_human_view_names_each_date_column_with_its_format(tmp_path):
    import pandas as pd

    frame = make_mixed_frame(60, seed=5)
    frame.insert(0, "when", pd.date_range("2021-12-05", periods=60, freq="D").strftime("%d.%m.%Y"))
    path = tmp_path / "dated.csv"
    frame.to_csv(path, index=False)
    result = _invoke(path, "--groups", "general", "--cache-dir", tmp_path / "cache", *FAST)
    assert result.exit_code == 0, result.stderr
    assert "days): when (%d.%m.%Y)" in " ".join(result.stdout.split())


def test_human_view_names_an_empty_column_as_left_out(tmp_path):
    frame = make_mixed_frame(60, seed=5)
    frame.insert(0, "blank", None)
    path = tmp_path / "blank.csv"
    frame.to_csv(path, index=False)
    result = _invoke(path, "--groups", "general", "--cache-dir", tmp_path / "cache", *FAST)
    assert result.exit_code == 0, result.stderr
    assert "constant or empty (dropped): blank" in " ".join(result.stdout.split())  # was "constant": it holds nothing


def test_regression_target_via_cli(regression_csv):
    result = _invoke(regression_csv, "--target", "target", "--task", "regression", "--json", "--no-cache", *FAST)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["task"] == "regression"
    assert doc["metafeatures"]["nr_class"] == 0
    assert doc["metafeatures"]["target_skew"] is not None


def test_unknown_group_exits_2_with_one_line(mixed_csv):
    result = _invoke(mixed_csv, "--groups", "general,bogus", "--no-cache")
    assert result.exit_code == 2
    assert "unknown meta-feature group 'bogus'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_outside_numpys_range_exits_2_and_caches_nothing(mixed_csv, tmp_path, seed):
    result = _invoke(mixed_csv, "--random-state", seed, "--json", "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 2, result.stdout
    assert "'--random-state'" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "cache").exists()


def test_missing_file_exits_2(tmp_path):
    result = _invoke(tmp_path / "absent.csv")
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def _modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport json, sys\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_does_not_import_pymfe():
    modules = _modules_after(
        """
        from typer.testing import CliRunner
        from automl_meta.cli.main import app
        assert CliRunner().invoke(app, ["--help"]).exit_code == 0
        assert CliRunner().invoke(app, ["metafeatures", "--help"]).exit_code == 0
        """
    )
    assert "pymfe" not in modules


def test_cache_hit_does_not_import_pymfe(mixed_csv, tmp_path):
    assert _invoke(mixed_csv, "--cache-dir", tmp_path, "--groups", "general", *FAST).exit_code == 0
    modules = _modules_after(
        f"""
        import json
        from typer.testing import CliRunner
        from automl_meta.cli.main import app
        r = CliRunner().invoke(app, ["metafeatures", {str(mixed_csv)!r}, "--cache-dir", {str(tmp_path)!r},
                                     "--groups", "general", "--max-rows", "150", "--json"])
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["cached"] is True
        """
    )
    assert "pymfe" not in modules
