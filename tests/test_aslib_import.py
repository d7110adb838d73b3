"""ASlib scenarios imported into the meta-database, counts checked against the scenario files."""

from __future__ import annotations


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
