"""The ASlib scenario reader against the real scenarios in ../shared/aslib and a tiny hand-made one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from automl_meta.exceptions import DatasetError
from automl_meta.io.aslib import read_scenario

from conftest import arff_data_rows


def test_openml_weka_scenario_has_105_instances_and_30_algorithms(aslib_dir):
    folder = aslib_dir / "OPENML-WEKA-2017"
    sc = read_scenario(folder)
    assert sc.performance.shape == (105, 30)
    assert sc.features.shape[0] == 105
    assert sc.performance.size == len(arff_data_rows(folder / "algorithm_runs.arff"))
    assert sc.maximize is True
    assert sc.performance_measure == "predictive_accuracy"
    assert sc.performance_type == "solution_quality"
    assert sc.cutoff is None
    assert sorted(sc.algorithms) == sorted(sc.description["metainfo_algorithms"])
    assert sc.features.isna().any().any()  # '?' values become NaN
    assert set(sc.folds.index) == set(sc.performance.index)
    assert sc.folds.between(1, 10).all()


def test_sat11_hand_runtimes_use_par10_for_timeouts(aslib_dir):
    folder = aslib_dir / "SAT11-HAND"
    sc = read_scenario(folder)
    assert sc.performance.shape == (296, 15)
    assert sc.performance.size == len(arff_data_rows(folder / "algorithm_runs.arff"))
    assert sc.maximize is False
    assert sc.performance_type == "runtime"
    assert sc.cutoff == 5000.0
    timeouts = sc.runstatus != "ok"
    assert timeouts.to_numpy().sum() > 0
    assert (sc.performance[timeouts] == 50000.0).sum().sum() == timeouts.to_numpy().sum()
    assert (sc.performance[~timeouts] < 5000.0).sum().sum() == (~timeouts).to_numpy().sum()
    assert len(sc.folds) == 296


TINY_CV = "i1,1,1\ni2,1,2\ni1,2,2\ni2,2,1\n"
CV_ATTRIBUTES = "@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE fold NUMERIC\n"


def _write_scenario(folder: Path, cutoff: str = "10", performance_type: str = "runtime", maximize: str = "false",
                    cv_attributes: str = CV_ATTRIBUTES,
                    cv_rows: str = TINY_CV) -> None:
    folder.mkdir()
    measure = "runtime" if performance_type == "runtime" else "accuracy"
    (folder / "description.txt").write_text(
        f"scenario_id: TINY\nperformance_measures:\n- {measure}\nmaximize:\n- {maximize}\n"
        f"performance_type:\n- {performance_type}\nalgorithm_cutoff_time: {cutoff}\n"
        "metainfo_algorithms:\n  a1:\n    deterministic: true\n  a2:\n    deterministic: true\n",
        encoding="utf-8",
    )
    (folder / "feature_values.arff").write_text(
        "@RELATION f\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE f1 NUMERIC\n@DATA\n"
        "i1,1,1.0\ni1,2,3.0\ni2,1,?\n",
        encoding="utf-8",
    )
    (folder / "algorithm_runs.arff").write_text(
        "@RELATION r\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE algorithm STRING\n"
        f"@ATTRIBUTE {measure} NUMERIC\n@ATTRIBUTE runstatus {{ok, timeout, memout, not_applicable, crash, other}}\n@DATA\n"
        "i1,1,a1,2.0,ok\ni1,1,a2,4.0,crash\ni2,1,a1,12.0,ok\ni2,1,a2,1.0,ok\n",
        encoding="utf-8",
    )
    (folder / "cv.arff").write_text(
        f"@RELATION cv\n@ATTRIBUTE instance_id STRING\n{cv_attributes}@DATA\n{cv_rows}",
        encoding="utf-8",
    )


def test_repetitions_are_averaged_and_failed_runs_cost_ten_cutoffs(tmp_path):
    _write_scenario(tmp_path / "tiny")
    sc = read_scenario(tmp_path / "tiny")
    assert sc.features.loc["i1", "f1"] == 2.0
    assert math.isnan(sc.features.loc["i2", "f1"])
    assert sc.performance.loc["i1", "a1"] == 2.0
    assert sc.performance.loc["i1", "a2"] == 100.0  # crashed
    assert sc.performance.loc["i2", "a1"] == 100.0  # beyond the cutoff
    assert sc.folds.to_dict() == {"i1": 1, "i2": 2}  # repetition 1 only
    assert sc.algorithms == ["a1", "a2"]


def test_read_scenario_rejects_a_folder_without_description(tmp_path):
    with pytest.raises(DatasetError, match="missing description.txt"):
        read_scenario(tmp_path)


def test_read_scenario_refuses_a_maximize_that_is_neither_true_nor_false(tmp_path):
    for value in ("ture", "maybe", "0.5"):
        _write_scenario(tmp_path / value, maximize=value)
        with pytest.raises(DatasetError, match=rf"description.txt: maximize '?{value}'? is neither true nor false"):
            read_scenario(tmp_path / value)
    for value, expected in (("true", True), ("'True'", True), ("false", False), ("'FALSE'", False)):
        _write_scenario(tmp_path / f"ok{value}", maximize=value)
        assert read_scenario(tmp_path / f"ok{value}").maximize is expected


@pytest.mark.parametrize("cutoff", ["'?'", "0"])
def test_runtime_scenario_without_cutoff_counts_non_ok_runs_as_missing(tmp_path, cutoff):
    _write_scenario(tmp_path / "tiny", cutoff=cutoff)
    sc = read_scenario(tmp_path / "tiny")
    assert sc.cutoff is None
    assert math.isnan(sc.performance.loc["i1", "a2"])  # crashed after 4 s: no time to count
    assert sc.performance.loc["i2", "a1"] == 12.0  # ok, and no cutoff to reach


@pytest.mark.parametrize("field", ["maximize", "performance_type"])
def test_a_description_without_the_direction_or_the_kind_of_measure_is_refused(tmp_path, field):
    _write_scenario(tmp_path / "tiny")
    path = tmp_path / "tiny" / "description.txt"
    lines = path.read_text().splitlines()
    at = lines.index(f"{field}:")
    path.write_text("\n".join(lines[:at] + lines[at + 2:]) + "\n")  # the key and its one list item
    with pytest.raises(DatasetError, match=rf"description.txt: no {field}; ASlib requires it"):
        read_scenario(tmp_path / "tiny")


def test_a_description_written_in_latin_1_is_read(tmp_path):
    _write_scenario(tmp_path / "tiny")
    path = tmp_path / "tiny" / "description.txt"
    path.write_bytes("# contributed by Jos\u00e9 M\u00fcller\n".encode("latin-1") + path.read_bytes())  # was UnicodeDecodeError, exit 1
    assert read_scenario(tmp_path / "tiny").description["scenario_id"] == "TINY"


def test_a_runtime_scenario_without_a_cutoff_says_its_failed_runs_get_no_par10(tmp_path, caplog):
    _write_scenario(tmp_path / "tiny", cutoff="'?'")
    with caplog.at_level("WARNING", logger="automl_meta"):
        read_scenario(tmp_path / "tiny")
    assert "a runtime scenario without an algorithm_cutoff_time" in caplog.text


def test_runs_given_twice_are_refused_and_a_run_not_given_is_named_and_counts_as_failed(tmp_path, caplog):
    _write_scenario(tmp_path / "twice")
    runs = tmp_path / "twice" / "algorithm_runs.arff"
    runs.write_text(runs.read_text() + "i2,1,a2,3.0,ok\n")
    with pytest.raises(DatasetError, match=r"instance 'i2' has more than one run of 'a2' in repetition 1 \(2 such rows\)"):
        read_scenario(tmp_path / "twice")
    _write_scenario(tmp_path / "absent")
    runs = tmp_path / "absent" / "algorithm_runs.arff"
    runs.write_text(runs.read_text().replace("i2,1,a2,1.0,ok\n", ""))
    with caplog.at_level("WARNING", logger="automl_meta"):
        sc = read_scenario(tmp_path / "absent")
    assert "1 instance-algorithm pairs have no run, such as a2 on 'i2'; each counts as failed (PAR10)" in caplog.text
    assert sc.performance.loc["i2", "a2"] == 100.0 and sc.runstatus.loc["i2", "a2"] == "missing"  # 10 x the 10 s cutoff, as a timeout
    _write_scenario(tmp_path / "quality", performance_type="solution_quality", maximize="true")
    runs = tmp_path / "quality" / "algorithm_runs.arff"
    runs.write_text(runs.read_text().replace("i2,1,a2,1.0,ok\n", ""))
    quality = read_scenario(tmp_path / "quality")  # no penalty defined: missing, its instance's worst when evaluated
    assert math.isnan(quality.performance.loc["i2", "a2"]) and quality.runstatus.loc["i2", "a2"] == "missing"


def test_an_arff_file_that_starts_with_a_byte_order_mark_is_read(tmp_path):
    _write_scenario(tmp_path / "tiny")
    cv = tmp_path / "tiny" / "cv.arff"
    cv.write_text(cv.read_text(encoding="utf-8"), encoding="utf-8-sig")
    assert read_scenario(tmp_path / "tiny").folds.to_dict() == {"i1": 1, "i2": 2}


def test_solution_quality_scenario_counts_non_ok_runs_as_missing(tmp_path):
    _write_scenario(tmp_path / "tiny", performance_type="solution_quality", maximize="true")
    sc = read_scenario(tmp_path / "tiny")
    assert math.isnan(sc.performance.loc["i1", "a2"])  # crashed: its recorded 4.0 is not a score
    assert sc.performance.loc["i1", "a1"] == 2.0 and sc.runstatus.loc["i1", "a2"] == "crash"


def test_folds_come_from_the_lowest_repetition_present(tmp_path):
    _write_scenario(tmp_path / "tiny", cv_rows="i1,3,1\ni2,3,1\ni1,2,2\ni2,2,1\n")
    assert read_scenario(tmp_path / "tiny").folds.to_dict() == {"i1": 2, "i2": 1}


@pytest.mark.parametrize(
    ("cv_attributes", "cv_rows", "message"),
    [
        (CV_ATTRIBUTES, "i1,1,1\ni1,1,2\ni2,1,2\n", "instance 'i1' appears more than once in one repetition"),
        ("@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE split NUMERIC\n", TINY_CV, "no fold attribute"),
        ("@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE fold STRING\n", "i1,1,f1\ni2,1,f2\n",
         "instance 'i1' has fold 'f1', not an integer"),
        (CV_ATTRIBUTES, "i1,1,1.5\ni2,1,2\n", "instance 'i1' has fold '1.5', not an integer"),
        (CV_ATTRIBUTES, "i1,1,?\ni2,1,2\n", "instance 'i1' has fold '\\?', not an integer"),
        (CV_ATTRIBUTES, "x1,1,1\nx2,1,2\n", "names none of the scenario's instances"),
        (CV_ATTRIBUTES, "i1,1,1\n", "gives no fold to 1 of the scenario's instances \\(such as 'i2'\\)"),
    ],
    ids=["duplicate", "no-fold", "string-fold", "fractional-fold", "missing-fold", "unknown-instances", "some-instances"],
)
def test_read_scenario_refuses_a_malformed_cv_arff_naming_it(tmp_path, cv_attributes, cv_rows, message):
    _write_scenario(tmp_path / "tiny", cv_attributes=cv_attributes, cv_rows=cv_rows)
    with pytest.raises(DatasetError, match=f"cv.arff: {message}.*; give"):
        read_scenario(tmp_path / "tiny")


def test_read_scenario_refuses_an_unknown_measure_listing_the_scenario_measures(tmp_path):
    _write_scenario(tmp_path / "tiny")
    with pytest.raises(DatasetError, match="no performance measure 'nosuch'; the scenario has runtime"):
        read_scenario(tmp_path / "tiny", measure="nosuch")


@pytest.mark.parametrize(("scenario_id", "message"), [
    ("[a, b]", "scenario_id is a list, not a name"),
    ("{a: 1}", "scenario_id is a dict, not a name"),
    ('"EV\\e[31mIL"', "with control characters"),
    ("x" * 201, "printable text of 1 to 200 characters"),
])
def test_a_scenario_id_that_is_no_short_plain_name_is_refused(tmp_path, scenario_id, message):
    # an 870-byte description with nested YAML aliases made a multi-GB meta-database of one multi-MB task name
    _write_scenario(tmp_path / "tiny")
    path = tmp_path / "tiny" / "description.txt"
    path.write_text(path.read_text().replace("scenario_id: TINY", f"scenario_id: {scenario_id}"))
    with pytest.raises(DatasetError, match=message):
        read_scenario(tmp_path / "tiny")


def test_a_scenario_without_an_id_is_named_after_its_folder(tmp_path):
    _write_scenario(tmp_path / "tiny")
    path = tmp_path / "tiny" / "description.txt"
    path.write_text(path.read_text().replace("scenario_id: TINY\n", ""))
    assert read_scenario(tmp_path / "tiny").name == "tiny"
