"""`automl-meta selector evaluate` and `selector train` on a real SQLite meta-database and ASlib data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.io.metamodel_files import load_metamodel
from automl_meta.metadb import MetaDB

runner = CliRunner()


def build_small_db(path, n: int = 20, seed: int = 0, simple: bool = True):
    """A meta-database where ``nr_inst`` decides between two learners (``simple=False``: no ``pct_numeric``)."""
    rng = np.random.default_rng(seed)
    with MetaDB.open(path, create=True) as db:
        db.register_metric("balanced_accuracy", True)
        db.set_default_metric("classification", "balanced_accuracy")
        learners = {name: db.add_learner(name, "classification", {}, "test") for name in ("forest", "linear", "knn")}
        for i in range(n):
            size = float(rng.integers(100, 5000))
            ds = db.add_dataset({"name": f"ds{i:02d}", "task": "classification", "source": "test", "n_rows": int(size)})
            features = {"nr_inst": size, "nr_attr": float(rng.integers(2, 50)), "nr_class": 2.0,
                        "pct_numeric": float(rng.uniform()), "noise": float(rng.normal())}
            if not simple:
                del features["pct_numeric"]
            db.add_meta_features(ds, features, "test")
            base = rng.uniform(0.6, 0.8)
            values = {"forest": base + (0.05 if size > 2500 else -0.05), "linear": base, "knn": base - 0.02}
            for name, value in values.items():
                db.add_evaluation(ds, learners[name], "ok", {"balanced_accuracy": {"mean": value, "std": 0.01, "folds": [value - 0.001, value, value + 0.001]}})
    return path


@pytest.fixture
def small_db(tmp_path):
    return build_small_db(tmp_path / "meta.sqlite")


def test_selector_evaluate_json_reports_every_selector(small_db):
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--seeds", "1", "--bootstrap", "50", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["protocol"] == "leave-one-dataset-out" and report["n_datasets"] == 20
    assert report["metric"] == "balanced_accuracy" and report["task"] == "classification"
    names = {"meta-model", "SBS", "kNN (auto-sklearn)", "1-NN simple (FLAML)", "random"}
    assert set(report["selectors"]) == names
    for name in names:
        res = report["selectors"][name]
        assert set(res["mean"]) == {"top1_accuracy", "mean_regret", "remaining_gap", "gap_closed", "ndcg_at_3", "spearman"}
        assert res["mean"]["gap_closed"] == pytest.approx(1.0 - res["mean"]["remaining_gap"])
    closed = report["selectors"]["meta-model"]["mean"]["gap_closed"]
    assert closed > 0.3 and closed > report["selectors"]["random"]["mean"]["gap_closed"]  # the planted rule is learnable
    floor = report["fold_peeking_selector"]  # fold noise is 0.001 against 0.05 differences: nothing is noise
    assert floor["remaining_gap"] < 0.05 and floor["choose_folds"] == 2 and floor["judge_folds"] == 1


@pytest.mark.parametrize(("flag", "name"), [("--pairwise-rf", "pairwise RF (SATzilla)"), ("--forest", "multi-output RF")])
def test_selector_evaluate_adds_the_forests_on_request(small_db, flag, name):
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--seeds", "1", "--bootstrap", "0",
                                 flag, "--json"])
    assert result.exit_code == 0, result.stderr
    selectors = json.loads(result.stdout)["selectors"]
    assert name in selectors
    closed = selectors[name]["mean"]["gap_closed"]
    assert closed > 0.3 and closed > selectors["random"]["mean"]["gap_closed"]  # it learns the planted rule too


def test_selector_evaluate_gives_the_same_numbers_over_worker_processes(small_db):
    def selectors(*jobs):
        result = runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--seeds", "2", "--bootstrap", "0",
                                     "--json", *jobs])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["selectors"]

    alone, spread = selectors(), selectors("--jobs", "2")
    assert set(alone) == set(spread)
    for name, res in alone.items():
        assert spread[name]["per_seed"] == res["per_seed"], name


def test_selector_evaluate_prints_a_table(small_db):
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--seeds", "1", "--bootstrap", "0"])
    assert result.exit_code == 0, result.stderr
    assert "meta-model" in result.stdout and "SBS" in result.stdout
    assert "balanced_accuracy (the regret's unit)" in " ".join(result.stdout.split())  # the regret column had no unit


def test_selector_evaluate_table_fits_80_columns_and_names_what_could_not_run(tmp_path):
    db = build_small_db(tmp_path / "meta.sqlite", simple=False)  # the FLAML-style baseline needs pct_numeric
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(db), "--seeds", "2", "--bootstrap", "50"],
                           terminal_width=80)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in result.stdout
    assert any(line.startswith("kNN (auto-sklearn)") and "[" in line for line in lines)  # the interval cell is whole
    flaml = next(line for line in lines if line.startswith("1-NN simple (FLAML)"))
    assert flaml.split()[-1] == "n/a"
    assert "warning: selector 1-NN simple (FLAML) skipped: the FLAML-style baseline needs" in result.stderr


def test_selector_evaluate_rejects_db_and_aslib_together(small_db, tmp_path):
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--aslib", str(tmp_path)])
    assert result.exit_code == 2
    assert "either --db or --aslib" in result.stderr


def test_selector_evaluate_names_a_missing_database(tmp_path):
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(tmp_path / "absent.sqlite")])
    assert result.exit_code == 2
    assert "no such meta-database" in result.stderr


def test_selector_train_writes_loadable_text_artifacts(small_db, tmp_path):
    out_dir = tmp_path / "model"
    result = runner.invoke(app, ["selector", "train", "--db", str(small_db), "--out", str(out_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)["models"][0]
    assert info["task"] == "classification" and info["n_datasets"] == 20 and info["n_learners"] == 3
    assert sorted(p.name for p in out_dir.iterdir()) == ["metamodel_classification.json", "metamodel_classification.lgb.txt"]
    model = load_metamodel(out_dir, "metamodel_classification")
    assert model.learners_ == ["forest", "knn", "linear"] or set(model.learners_) == {"forest", "linear", "knn"}
    assert model.manifest_["extra"]["metric"] == "balanced_accuracy"


def test_selector_train_skips_a_task_with_too_few_datasets_unless_asked_for_it(small_db, tmp_path):
    with MetaDB.open(small_db, readonly=False) as db:  # one regression dataset beside the 20 classification ones
        db.register_metric("r2", True)
        db.set_default_metric("regression", "r2")
        learner = db.add_learner("ridge", "regression", {}, "test")
        ds = db.add_dataset({"name": "lonely", "task": "regression", "source": "test", "n_rows": 100})
        db.add_meta_features(ds, {"nr_inst": 100.0, "nr_attr": 3.0}, "test")
        db.add_evaluation(ds, learner, "ok", {"r2": {"mean": 0.5, "std": 0.1, "folds": [0.4, 0.6]}})
    out_dir = tmp_path / "model"
    result = runner.invoke(app, ["selector", "train", "--db", str(small_db), "--out", str(out_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    assert [m["task"] for m in json.loads(result.stdout)["models"]] == ["classification"]
    assert "skipped regression: the meta-database" in " ".join(result.stderr.split())
    assert "has only 1 regression dataset(s) with meta-features and scores; at least 3 are needed" in " ".join(result.stderr.split())
    named = runner.invoke(app, ["selector", "train", "--db", str(small_db), "--out", str(out_dir), "--task", "regression"])
    assert named.exit_code == 2 and "at least 3 are needed to learn a ranking" in " ".join(named.stderr.split())


def test_selector_train_asks_for_as_many_datasets_as_recommend_and_says_so(tmp_path):
    db = build_small_db(tmp_path / "two.sqlite", n=2)
    trained = runner.invoke(app, ["selector", "train", "--db", str(db), "--out", str(tmp_path / "m")])
    assert trained.exit_code == 2
    assert "has only 2 classification dataset(s) with meta-features and scores; at least 3 are needed" in " ".join(trained.stderr.split())
    data = tmp_path / "d.csv"
    pd.DataFrame({"x": range(40), "z": [i % 7 for i in range(40)], "target": ["a", "b"] * 20}).to_csv(data, index=False)
    recommended = runner.invoke(app, ["recommend", str(data), "--db", str(db)])
    assert recommended.exit_code == 2 and "at least 3 are needed" in " ".join(recommended.stderr.split())


def test_selector_train_refuses_an_out_that_is_a_file_before_training(small_db, tmp_path):
    taken = tmp_path / "afile"
    taken.write_text("keep")
    result = runner.invoke(app, ["selector", "train", "--db", str(small_db), "--out", str(taken)])
    assert result.exit_code == 2 and "is a file; give a folder" in " ".join(result.stderr.split())
    assert taken.read_text() == "keep"


@pytest.mark.shared
def test_selector_evaluate_on_aslib_folds_json_has_the_keys_of_a_database_run(shared_dir, small_db):
    scenario = shared_dir / "aslib" / "OPENML-WEKA-2017"
    result = runner.invoke(app, ["selector", "evaluate", "--aslib", str(scenario), "--max-datasets", "24",
                                 "--seeds", "1", "--bootstrap", "50", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["aslib"] == "OPENML-WEKA-2017" and report["n_datasets"] == 24
    assert report["protocol"].endswith("fold (given folds)")
    gap = report["selectors"]["meta-model"]["mean"]["remaining_gap"]
    assert gap is not None and np.isfinite(gap)
    assert report["db"] is None and report["task"] is None and report["fold_peeking_selector"] is None
    from_db = runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--seeds", "1", "--bootstrap", "20", "--json"])
    assert from_db.exit_code == 0, from_db.stderr
    doc = json.loads(from_db.stdout)
    assert set(doc) == set(report)  # a script reads both with the same keys
    assert doc["aslib"] is None and doc["cutoff"] is None and doc["probe"] is None


def test_selector_train_names_an_unknown_metric_instead_of_skipping_every_task(small_db, tmp_path):
    result = runner.invoke(app, ["selector", "train", "--db", str(small_db), "--out", str(tmp_path / "m"), "--metric", "typo"])
    assert result.exit_code == 2
    assert "unknown metric 'typo'" in result.stderr and "skipped" not in result.stderr


def write_runtime_scenario(folder, n: int = 24, scenario_id: str = "SYN", cv_folds: int | None = None):
    """An ASlib runtime scenario (cutoff 1000 s, PAR10 10,000 s) with two measures, runtime and cputime.

    'spiky' is fastest on 2/3 of the instances and times out on the rest, 'steady' takes 10 s and
    'slow' 20 s everywhere: 'steady' has the lowest mean PAR10 (ASlib's SBS), while 'spiky' wins the
    mean log-scaled normalized score and 'steady' the mean linear one.
    """
    rng = np.random.default_rng(0)
    folder.mkdir()
    (folder / "description.txt").write_text(
        f"scenario_id: '{scenario_id}'\nperformance_measures: [runtime, cputime]\nmaximize: [false, false]\n"
        "performance_type: [runtime, runtime]\nalgorithm_cutoff_time: 1000\n"
        "metainfo_algorithms: {spiky: {}, steady: {}, slow: {}}\n",
        encoding="utf-8",
    )
    features, runs, cv = [], [], []
    for i in range(n):
        features.append(f"inst{i:02d},1,{i % 3},{rng.normal():.6f}")
        spiky = (1000.0, "timeout") if i % 3 == 0 else (1.0, "ok")
        for name, (seconds, status) in {"spiky": spiky, "steady": (10.0, "ok"), "slow": (20.0, "ok")}.items():
            runs.append(f"inst{i:02d},1,{name},{seconds},{2 * seconds},{status}")
        cv.append(f"inst{i:02d},1,{1 + i * cv_folds // n if cv_folds else 1}")  # blocks: each fold mixes the kinds
    (folder / "feature_values.arff").write_text(
        "@RELATION f\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE kind NUMERIC\n"
        "@ATTRIBUTE noise NUMERIC\n@DATA\n" + "\n".join(features) + "\n", encoding="utf-8")
    (folder / "algorithm_runs.arff").write_text(
        "@RELATION r\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE algorithm STRING\n"
        "@ATTRIBUTE runtime NUMERIC\n@ATTRIBUTE cputime NUMERIC\n@ATTRIBUTE runstatus {ok, timeout, crash}\n@DATA\n"
        + "\n".join(runs) + "\n", encoding="utf-8")
    if cv_folds is not None:
        (folder / "cv.arff").write_text(
            "@RELATION cv\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE fold NUMERIC\n@DATA\n"
            + "\n".join(cv) + "\n", encoding="utf-8")
    return folder


def evaluate_json(*args):
    result = runner.invoke(app, ["selector", "evaluate", *args, "--seeds", "1", "--bootstrap", "0", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_selector_evaluate_takes_the_same_sbs_on_a_runtime_scenario_from_aslib_and_from_its_import(tmp_path):
    from automl_meta.io.aslib import read_scenario
    from automl_meta.metadb.import_aslib import import_scenario

    folder = write_runtime_scenario(tmp_path / "syn")  # no cv.arff: leave-one-out both ways
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        import_scenario(db, read_scenario(folder))
    from_aslib = evaluate_json("--aslib", str(folder))
    from_db = evaluate_json("--db", str(tmp_path / "m.sqlite"), "--task", "aslib:SYN")
    oracle = np.array([1.0 if i % 3 else 10.0 for i in range(24)])
    steady_regret = float(np.mean(10.0 - oracle))  # 'steady', the lowest mean PAR10, in every fold
    for report in (from_aslib, from_db):
        assert report["selectors"]["SBS"]["mean"]["mean_regret"] == pytest.approx(steady_regret)
        assert report["selectors"]["SBS"]["mean"]["remaining_gap"] == pytest.approx(1.0)
    for name in ("SBS", "kNN (auto-sklearn)"):
        assert from_db["selectors"][name]["per_seed"] == from_aslib["selectors"][name]["per_seed"], name
    # the import's settings, as the scenario gives them (they were null from --db)
    assert (from_db["performance_type"], from_db["cutoff"]) == (from_aslib["performance_type"], from_aslib["cutoff"]) == ("runtime", 1000.0)


def test_an_imported_scenarios_task_is_named_when_the_default_task_is_absent_and_task_is_refused_with_aslib(tmp_path):
    from automl_meta.io.aslib import read_scenario
    from automl_meta.metadb.import_aslib import import_scenario

    folder = write_runtime_scenario(tmp_path / "syn")
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        import_scenario(db, read_scenario(folder))
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(tmp_path / "m.sqlite"), "--seeds", "1"])
    assert result.exit_code != 0 and "no task 'classification' in this database (its tasks: aslib:SYN); name one with --task" in (
        " ".join(result.stderr.split()))
    result = runner.invoke(app, ["selector", "evaluate", "--aslib", str(folder), "--task", "regression"])
    assert result.exit_code == 2 and "an ASlib scenario has one of its own: drop --task" in result.stderr


def test_selector_evaluate_reads_the_aslib_measure_given_by_metric(tmp_path):
    folder = write_runtime_scenario(tmp_path / "syn", cv_folds=3)
    runtime = evaluate_json("--aslib", str(folder))
    assert runtime["metric"] == "runtime" and runtime["selectors"]["SBS"]["mean"]["mean_regret"] == pytest.approx(6.0)
    report = evaluate_json("--aslib", str(folder), "--metric", "cputime")
    assert report["metric"] == "cputime"
    assert report["selectors"]["SBS"]["mean"]["mean_regret"] == pytest.approx(2 * 6.0)  # cputime is twice the runtime
    unknown = runner.invoke(app, ["selector", "evaluate", "--aslib", str(folder), "--metric", "nosuch"])
    assert unknown.exit_code == 2
    assert "no performance measure 'nosuch'; the scenario has runtime, cputime" in " ".join(unknown.stderr.split())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.joinpath("description.txt").write_text(
            f.joinpath("description.txt").read_text().replace("[false, false]", "[ture, false]")),
         "description.txt: maximize 'ture' is neither true nor false"),
        (lambda f: f.joinpath("cv.arff").write_text(f.joinpath("cv.arff").read_text() + "inst00,1,2\n"),
         "cv.arff: instance 'inst00' appears more than once in one repetition"),
        (lambda f: f.joinpath("cv.arff").write_text(f.joinpath("cv.arff").read_text().replace("fold NUMERIC", "fold STRING")
                                                     .replace(",1\n", ",one\n")),
         "has fold 'one', not an integer"),
        (lambda f: f.joinpath("cv.arff").write_text(f.joinpath("cv.arff").read_text().replace(",2\n", ",1\n")
                                                     .replace(",3\n", ",1\n")),
         "fewer than 2 folds of cv.arff; give a cv.arff with at least 2 folds"),
    ],
    ids=["maximize", "cv-duplicate", "cv-string-fold", "cv-one-fold"],
)
def test_selector_evaluate_refuses_a_malformed_scenario_in_one_line(tmp_path, edit, message):
    folder = write_runtime_scenario(tmp_path / "syn", cv_folds=3)
    edit(folder)
    result = runner.invoke(app, ["selector", "evaluate", "--aslib", str(folder), "--json"])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_selector_evaluate_table_shows_a_scenario_name_with_brackets_verbatim(tmp_path):
    folder = write_runtime_scenario(tmp_path / "syn", scenario_id="SYN[/b] [red]x", cv_folds=3)
    result = runner.invoke(app, ["selector", "evaluate", "--aslib", str(folder), "--seeds", "1", "--bootstrap", "0"],
                           terminal_width=200)
    assert result.exit_code == 0, result.stderr
    assert "SYN[/b] [red]x: 3-fold" in result.stdout


def test_selector_train_normalizes_the_log_runtimes_of_an_imported_runtime_scenario(tmp_path):
    from automl_meta.io.aslib import read_scenario
    from automl_meta.metadb.import_aslib import import_scenario

    folder = write_runtime_scenario(tmp_path / "syn")
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        import_scenario(db, read_scenario(folder))
    result = runner.invoke(app, ["selector", "train", "--db", str(tmp_path / "m.sqlite"), "--out", str(tmp_path / "model"), "--json"])
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((tmp_path / "model" / "metamodel_aslib_SYN.json").read_text())
    assert manifest["normalization"]["log10"] is True  # as `selector evaluate` fits it on the same data


@pytest.mark.parametrize("command", [["evaluate"], ["train", "--out", "model_dir"]])
def test_selectors_refuse_a_metric_in_the_targets_own_units(small_db, command, tmp_path, monkeypatch):
    # rmse pooled over datasets: three datasets with the largest targets held 97% of the SBS's gap
    monkeypatch.chdir(tmp_path)
    with MetaDB.open(small_db, readonly=False) as db:
        db.register_metric("rmse", False)
    result = runner.invoke(app, ["selector", *command, "--db", str(small_db), "--metric", "rmse"])
    assert result.exit_code == 2, result.output
    assert "rmse is in each dataset's own target units, so selectors cannot pool it" in " ".join(result.stderr.split())


def test_a_metric_of_one_task_picks_that_task(tmp_path):
    # --metric r2 alone: "classification records no r2 scores", where db export took the task from the metric
    result = runner.invoke(app, ["selector", "evaluate", "--metric", "r2", "--seeds", "1", "--max-datasets", "5", "--bootstrap", "0", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["task"], doc["metric"], doc["n_datasets"]) == ("regression", "r2", 5)


def test_selector_train_with_a_metric_of_one_task_trains_that_task_alone(tmp_path):
    result = runner.invoke(app, ["selector", "train", "--metric", "r2", "--out", str(tmp_path / "models")])
    assert result.exit_code == 0, result.stderr
    assert "skipped" not in result.stderr and sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        "metamodel_regression.json", "metamodel_regression.lgb.txt"]


def test_folds_over_the_datasets_fit_each_selector_k_times_instead_of_once_per_dataset(small_db):
    # a 2,000-dataset database: one fold a dataset took 10 s a fold, about 5.5 h a seed, with no other protocol for --db
    result = runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--folds", "4", "--seeds", "1", "--bootstrap", "0", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["protocol"] == "4-fold over the datasets (shuffled, seed 0)" and doc["n_datasets"] == 20
    assert runner.invoke(app, ["selector", "evaluate", "--db", str(small_db), "--folds", "21"]).exit_code == 2
