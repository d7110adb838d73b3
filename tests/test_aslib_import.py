"""ASlib scenarios imported into the meta-database, counts checked against the scenario files."""

from __future__ import annotations

import numpy as np
import pytest

from automl_meta.io.aslib import read_scenario
from automl_meta.metadb import MetaDB
from automl_meta.metadb.import_aslib import import_scenario

from conftest import arff_data_rows


@pytest.mark.parametrize(
    ("scenario", "n_instances", "n_algorithms", "measure", "maximize"),
    [("OPENML-WEKA-2017", 105, 30, "predictive_accuracy", True), ("SAT11-HAND", 296, 15, "runtime", False)],
)
def test_aslib_import_keeps_counts_measure_and_direction(aslib_dir, tmp_path, scenario, n_instances, n_algorithms, measure, maximize):
    folder = aslib_dir / scenario
    runs = arff_data_rows(folder / "algorithm_runs.arff")
    feature_names = [l.split()[1] for l in (folder / "feature_values.arff").read_text().splitlines() if l.upper().startswith("@ATTRIBUTE")][2:]
    assert len({r[0] for r in runs}) == n_instances and len({r[2] for r in runs}) == n_algorithms

    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        added = import_scenario(db, read_scenario(folder))
        task = f"aslib:{scenario}"
        info = db.info()["tasks"][task]
        assert (info["n_datasets"], info["n_learners"], info["n_evaluations"]) == (n_instances, n_algorithms, len(runs))
        assert info["n_missing"] == 0
        assert added["evaluations"] == len(runs)
        assert db.default_metric(task) == measure
        assert db.maximize(measure) is maximize
        assert db.meta_features(task).shape == (n_instances, len(feature_names))
        scores = db.scores(measure, task=task)
        assert scores.shape == (n_instances, n_algorithms) and scores.notna().all().all()
        assert db.datasets(task)["fold"].between(1, 10).all()
        statuses = db.evaluations(task)["status"].value_counts().to_dict()
        expected_timeouts = sum(r[4].strip() != "ok" for r in runs)
        assert statuses.get("timeout", 0) + statuses.get("failed", 0) == expected_timeouts
        if scenario == "SAT11-HAND":
            assert scores.max().max() == 50000.0  # PAR10 of the 5000 s cutoff
            assert db.get_meta("aslib:SAT11-HAND")["cutoff"] == 5000.0


def test_aslib_reimport_adds_nothing(aslib_dir, tmp_path):
    scenario = read_scenario(aslib_dir / "OPENML-WEKA-2017")
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        import_scenario(db, scenario)
        again = import_scenario(db, scenario)
        assert again == {"datasets": 0, "evaluations": 0, "skipped": 105 * 30}
        assert db.info()["n_evaluations"] == 105 * 30


def _two_by_two(folder, measure: str, settings: str, statuses: str, runs: str):
    """A scenario 'Q' of instances i1, i2 and algorithms a1, a2: description settings, runstatus values and run rows."""
    folder.mkdir()
    (folder / "description.txt").write_text(f"scenario_id: Q\nperformance_measures: [{measure}]\n{settings}", encoding="utf-8")
    (folder / "feature_values.arff").write_text(
        "@RELATION f\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE f1 NUMERIC\n@DATA\n"
        "i1,1,1.0\ni2,1,2.0\n", encoding="utf-8")
    (folder / "algorithm_runs.arff").write_text(
        "@RELATION r\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE algorithm STRING\n"
        f"@ATTRIBUTE {measure} NUMERIC\n@ATTRIBUTE runstatus {{{statuses}}}\n@DATA\n{runs}", encoding="utf-8")
    return folder


def test_aslib_import_stores_no_score_for_a_crashed_solution_quality_run(tmp_path):
    folder = _two_by_two(tmp_path / "quality", "accuracy",
                         "maximize: [true]\nperformance_type: [solution_quality]\nalgorithm_cutoff_time: '?'\n", "ok, crash",
                         "i1,1,a1,0.8,ok\ni1,1,a2,0.95,crash\ni2,1,a1,0.7,ok\ni2,1,a2,0.9,ok\n")
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        import_scenario(db, read_scenario(folder))
        scores = db.scores("accuracy", task="aslib:Q")
        assert np.isnan(scores.loc["i1", "a2"])  # the crashed run's 0.95 is not a score
        assert scores.loc["i2", "a2"] == 0.9 and scores.loc["i1", "a1"] == 0.8
        assert db.info()["tasks"]["aslib:Q"]["n_failed"] == 1


def test_a_scenario_changed_since_its_import_is_refused_before_anything_is_written(tmp_path):
    from automl_meta.exceptions import UsageError
    from automl_meta.metadb.from_source import build_metadb
    from automl_meta.metadb.units import BuildOptions

    folder = _two_by_two(tmp_path / "Q", "runtime", "maximize: [false]\nperformance_type: [runtime]\nalgorithm_cutoff_time: 100\n",
                         "ok, timeout", "i1,1,a1,8.0,ok\ni1,1,a2,9.0,ok\ni2,1,a1,7.0,ok\ni2,1,a2,3.0,ok\n")
    runs = folder / "algorithm_runs.arff"
    db = tmp_path / "m.sqlite"
    build_metadb(f"aslib:{folder}", db, BuildOptions())
    assert build_metadb(f"aslib:{folder}", db, BuildOptions())["evaluations_added"] == 0  # unchanged: resumed as before
    before = db.read_bytes()
    runs.write_text(runs.read_text().replace("i2,1,a2,3.0,ok", "i2,1,a2,100.0,timeout"))
    with pytest.raises(UsageError, match=r"has changed since \(1 stored runs differ, such as a2 on 'i2' \(3 stored, 1000 now\)\)"):
        build_metadb(f"aslib:{folder}", db, BuildOptions())
    description = folder / "description.txt"
    description.write_text(description.read_text().replace("algorithm_cutoff_time: 100", "algorithm_cutoff_time: 50"))
    with pytest.raises(UsageError, match=r"\(cutoff 100.0 -> 50.0\); rerun with --replace-changed to replace"):
        build_metadb(f"aslib:{folder}", db, BuildOptions())
    assert db.read_bytes() == before


def test_replace_changed_reimports_a_changed_scenario_and_keeps_other_tasks(tmp_path):
    from automl_meta.metadb.from_source import build_metadb
    from automl_meta.metadb.units import BuildOptions

    runtime = "maximize: [false]\nperformance_type: [runtime]\nalgorithm_cutoff_time: 100\n"
    folder = _two_by_two(tmp_path / "Q", "runtime", runtime, "ok, timeout", "i1,1,a1,8.0,ok\ni1,1,a2,9.0,ok\ni2,1,a1,7.0,ok\ni2,1,a2,3.0,ok\n")
    other = _two_by_two(tmp_path / "R", "runtime", runtime.replace("100", "10"), "ok, timeout", "i1,1,a1,1.0,ok\ni1,1,a2,2.0,ok\ni2,1,a1,3.0,ok\ni2,1,a2,4.0,ok\n")
    (other / "description.txt").write_text((other / "description.txt").read_text().replace("scenario_id: Q", "scenario_id: R"))
    db = tmp_path / "m.sqlite"
    build_metadb(f"aslib:{folder}", db, BuildOptions())
    build_metadb(f"aslib:{other}", db, BuildOptions())
    runs = folder / "algorithm_runs.arff"
    runs.write_text(runs.read_text().replace("i2,1,a2,3.0,ok", "i2,1,a2,100.0,timeout"))
    description = folder / "description.txt"
    description.write_text(description.read_text().replace("algorithm_cutoff_time: 100", "algorithm_cutoff_time: 50"))
    summary = build_metadb(f"aslib:{folder}", db, BuildOptions(replace_changed=True))
    assert (summary["replaced"], summary["replaced_instances"], summary["changes"]) == (["Q"], 2, ["cutoff 100.0 -> 50.0"])
    assert summary["evaluations_added"] == 4
    with MetaDB.open(db) as store:
        scores = store.scores("runtime", task="aslib:Q")
        assert scores.loc["i2", "a2"] == 500.0 and scores.loc["i1", "a1"] == 8.0  # PAR10 of the new 50 s cutoff
        assert store.get_meta("aslib:Q")["cutoff"] == 50.0
        assert store.scores("runtime", task="aslib:R").loc["i2", "a2"] == 4.0  # another scenario's runs stay
        assert store.info()["tasks"]["aslib:Q"]["n_evaluations"] == 4
    third = build_metadb(f"aslib:{folder}", db, BuildOptions(replace_changed=True))
    assert (third["replaced"], third["evaluations_added"], third["already_stored"]) == ([], 0, 4)  # nothing changed now


def test_an_interrupted_replace_keeps_the_scenario_as_stored(tmp_path):
    """The drop and the import again are one transaction: an interrupt after the first instance leaves the old scenario."""
    from automl_meta.metadb.from_source import build_metadb
    from automl_meta.metadb.units import BuildOptions

    runtime = "maximize: [false]\nperformance_type: [runtime]\nalgorithm_cutoff_time: 100\n"
    folder = _two_by_two(tmp_path / "Q", "runtime", runtime, "ok, timeout", "i1,1,a1,8.0,ok\ni1,1,a2,9.0,ok\ni2,1,a1,7.0,ok\ni2,1,a2,3.0,ok\n")
    db = tmp_path / "m.sqlite"
    build_metadb(f"aslib:{folder}", db, BuildOptions())
    runs = folder / "algorithm_runs.arff"
    runs.write_text(runs.read_text().replace("i2,1,a2,3.0,ok", "i2,1,a2,4.0,ok"))

    def stop_after_the_first(state):
        if state.done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_metadb(f"aslib:{folder}", db, BuildOptions(replace_changed=True), progress=stop_after_the_first)
    with MetaDB.open(db) as store:
        scores = store.scores("runtime", task="aslib:Q")
        assert scores.shape == (2, 2) and scores.loc["i2", "a2"] == 3.0 and scores.loc["i1", "a1"] == 8.0
        assert store.builds()["status"].tolist() == ["finished", "interrupted"]
    summary = build_metadb(f"aslib:{folder}", db, BuildOptions(replace_changed=True))
    assert (summary["replaced"], summary["evaluations_added"]) == (["Q"], 4)
    with MetaDB.open(db) as store:
        assert store.scores("runtime", task="aslib:Q").loc["i2", "a2"] == 4.0


def test_a_folder_build_beside_an_imported_scenario_offers_no_re_extraction_of_its_features(tmp_path, caplog):
    import logging

    from automl_meta.metadb.from_source import build_metadb
    from automl_meta.metadb.units import BuildOptions
    from conftest import make_mixed_frame

    scenario = _two_by_two(tmp_path / "Q", "accuracy", "maximize: [true]\nperformance_type: [solution_quality]\n", "ok",
                           "i1,1,a1,0.8,ok\ni1,1,a2,0.9,ok\ni2,1,a1,0.7,ok\ni2,1,a2,0.6,ok\n")
    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "alpha.csv", index=False)
    db = tmp_path / "m.sqlite"
    build_metadb(f"aslib:{scenario}", db, BuildOptions())
    with caplog.at_level(logging.WARNING):
        summary = build_metadb(f"dir:{folder}", db, BuildOptions(cv=2, max_rows=60, learners=("dummy",), mf_groups=("general",)))
    assert summary["done"] == 1
    assert not [r for r in caplog.records if "extractor version" in r.getMessage()]  # an import's features are not extracted


def test_a_missing_run_of_a_runtime_scenario_is_stored_as_failed_at_par10(tmp_path):
    folder = _two_by_two(tmp_path / "Q", "runtime", "maximize: [false]\nperformance_type: [runtime]\nalgorithm_cutoff_time: 100\n",
                         "ok, timeout", "i1,1,a1,8.0,ok\ni1,1,a2,9.0,ok\ni2,1,a1,7.0,ok\n")  # no run of a2 on i2
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        import_scenario(db, read_scenario(folder))
        assert db.scores("runtime", task="aslib:Q").loc["i2", "a2"] == 1000.0
        stored = db.evaluations("aslib:Q").set_index(["dataset", "learner"]).loc[("i2", "a2")]
        assert (stored["status"], stored["reason"]) == ("failed", "no run in algorithm_runs.arff; scored PAR10")
