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


def _write_scenario(folder: Path) -> None:
    folder.mkdir()
    (folder / "description.txt").write_text(
        "scenario_id: TINY\nperformance_measures:\n- runtime\nmaximize:\n- false\n"
        "performance_type:\n- runtime\nalgorithm_cutoff_time: 10\n"
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
        "@ATTRIBUTE runtime NUMERIC\n@ATTRIBUTE runstatus {ok, timeout, memout, not_applicable, crash, other}\n@DATA\n"
        "i1,1,a1,2.0,ok\ni1,1,a2,4.0,crash\ni2,1,a1,12.0,ok\ni2,1,a2,1.0,ok\n",
        encoding="utf-8",
    )
    (folder / "cv.arff").write_text(
        "@RELATION cv\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE fold NUMERIC\n@DATA\n"
        "i1,1,1\ni2,1,2\ni1,2,2\ni2,2,1\n",
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
