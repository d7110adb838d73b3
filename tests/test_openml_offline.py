"""The OpenML paths, offline: against a copy of ../shared/openml_cache (test server layout)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from automl_meta.io.openml_client import TEST_SERVER, OpenMLAccessError, OpenMLConfig, configure, get_dataset
from automl_meta.metadb import MetaDB
from automl_meta.metadb.from_source import build_metadb
from automl_meta.metadb.units import BuildOptions


def _copy_cache(cache: Path, copy: Path) -> None:
    """A writable copy of the shared cache (filling in what is missing where ``copy`` exists)."""
    shutil.copytree(cache, copy, dirs_exist_ok=True)
    for path in [copy, *copy.rglob("*")]:  # shared/ is read-only; openml-python writes next to its files
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture
def openml_config(shared_dir, tmp_path) -> OpenMLConfig:
    cache = shared_dir / "openml_cache"
    if not cache.is_dir():
        pytest.skip("needs ../shared/openml_cache")
    _copy_cache(cache, tmp_path / "openml_cache")
    return OpenMLConfig(cache_dir=str(tmp_path / "openml_cache"), server=TEST_SERVER, n_retries=1, timeout=5.0)


def test_openml_runs_import_reads_a_cached_run_with_fold_scores(openml_config, tmp_path):
    summary = build_metadb("openml-runs:runs=1", tmp_path / "m.sqlite", BuildOptions(), openml_config=openml_config)
    assert summary["done"] == 1 and summary["evaluations_added"] == 1
    with MetaDB.open(tmp_path / "m.sqlite") as db:
        scores = db.scores("predictive_accuracy")
        assert scores.iloc[0]["weka.BayesNet_K2(1)"] == pytest.approx(0.922242)
        folds = db.evaluations()["fold_scores"].iloc[0]
        assert len(folds) == 10
        assert db.default_metric("classification") == "predictive_accuracy" and db.maximize("predictive_accuracy")
    again = build_metadb("openml-runs:runs=1", tmp_path / "m.sqlite", BuildOptions(), openml_config=openml_config)
    assert again["evaluations_added"] == 0 and again["already_stored"] == 1


def test_openml_runs_task_stores_qualities_and_reports_unreachable_evaluations(openml_config, tmp_path):
    summary = build_metadb("openml-runs:tasks=1882", tmp_path / "m.sqlite", BuildOptions(), openml_config=openml_config)
    assert summary["failed"] == 1
    assert "cannot get evaluations of task 1882" in summary["failures"][0]["reason"]
    with MetaDB.open(tmp_path / "m.sqlite") as db:
        datasets = db.datasets()
        assert list(datasets["name"]) == ["anneal"] and datasets["n_rows"].iloc[0] == 898
        qualities = db.meta_features()
        assert qualities.shape == (1, 106) and qualities.loc["anneal", "NumberOfClasses"] == 6


def test_a_run_on_an_uncached_dataset_keeps_its_own_task_kind_and_a_rerun_fetches_the_qualities(openml_config, tmp_path):
    # run 1's description says task 28 (not cached), "Supervised Classification", on dataset 28 (not cached)
    db_path = tmp_path / "m.sqlite"
    summary = build_metadb("openml-runs:runs=1", db_path, BuildOptions(), openml_config=openml_config)
    assert (summary["done"], summary["evaluations_added"]) == (1, 1)
    assert [f["item"] for f in summary["failures"]] == ["dataset 28"]
    with MetaDB.open(db_path) as db:
        assert list(db.datasets()["task"]) == ["classification"]
        assert list(db.metafeature_runs()["status"]) == ["failed"]
    cache = Path(openml_config.cache_dir)
    folder = next(p for p in cache.rglob("datasets/1") if p.is_dir())
    shutil.copytree(folder, folder.parent / "28")  # dataset 28 within reach now (anneal's files under its id)
    for path in (folder.parent / "28").glob("*.xml"):
        path.write_text(path.read_text().replace("<oml:id>1</oml:id>", "<oml:id>28</oml:id>"))
    again = build_metadb("openml-runs:runs=1", db_path, BuildOptions(), openml_config=openml_config)
    assert (again["already_stored"], again["failures"]) == (1, [])
    with MetaDB.open(db_path) as db:
        assert list(db.metafeature_runs()["status"]) == ["ok"] and db.meta_features().shape == (1, 107)


def test_a_regression_run_whose_task_is_not_cached_is_stored_as_regression(openml_config, tmp_path):
    runs = next(p for p in Path(openml_config.cache_dir).rglob("runs") if p.is_dir())
    (runs / "2").mkdir()  # run 1's description, saying regression (its task, 28, is not cached)
    text = (runs / "1" / "description.xml").read_text()
    (runs / "2" / "description.xml").write_text(text.replace("Supervised Classification", "Supervised Regression"))
    summary = build_metadb("openml-runs:runs=2", tmp_path / "m.sqlite", BuildOptions(), openml_config=openml_config)
    assert summary["done"] == 1
    with MetaDB.open(tmp_path / "m.sqlite") as db:
        assert list(db.datasets()["task"]) == ["regression"]  # not a guess of classification
        assert db.default_metric("regression") == "root_mean_squared_error"


def test_two_openml_datasets_of_one_name_are_two_rows_each_with_its_own_qualities(openml_config, tmp_path):
    db_path = tmp_path / "m.sqlite"
    build_metadb("openml-runs:tasks=1,1882", db_path, BuildOptions(), openml_config=openml_config)  # datasets 1 and 2: 'anneal'
    build_metadb("openml-runs:tasks=1882,1", db_path, BuildOptions(), openml_config=openml_config)  # each found again by its id
    with MetaDB.open(db_path) as db:
        datasets = db.datasets().set_index("name")
        assert sorted(datasets.index) == ["anneal", "anneal_data_2"]
        qualities = db.meta_features()
    assert qualities.loc["anneal"].notna().sum() == 107 and qualities.loc["anneal_data_2"].notna().sum() == 106


def test_unreachable_task_is_recorded_and_the_build_goes_on(openml_config, tmp_path):
    options = BuildOptions(cv=2, max_rows=200, learners=("dummy",), mf_max_rows=200, mf_groups=("general",))
    summary = build_metadb("openml:tasks=3,1882", tmp_path / "m.sqlite", options, openml_config=openml_config)
    assert (summary["done"], summary["failed"]) == (1, 1)
    with MetaDB.open(tmp_path / "m.sqlite") as db:
        failed = db.datasets(include_failed=True).set_index("name")
        assert failed.loc["openml_task_3", "status"] == "failed"
        assert "cannot get task 3" in failed.loc["openml_task_3", "reason"]
        assert db.scores("balanced_accuracy").loc["anneal", "dummy"] > 0


def test_a_damaged_cached_file_fails_its_dataset_with_the_fix_and_the_build_goes_on(openml_config, tmp_path):
    qualities = Path(openml_config.cache_dir) / "org" / "openml" / "test" / "datasets" / "2" / "qualities.xml"
    qualities.write_bytes(qualities.read_bytes()[: qualities.stat().st_size // 2])  # was ExpatError, exit 1, nothing stored
    options = BuildOptions(cv=2, max_rows=200, learners=("dummy",), mf_max_rows=200, mf_groups=("general",))
    summary = build_metadb("openml:datasets=1,2", tmp_path / "m.sqlite", options, openml_config=openml_config)
    assert (summary["done"], summary["failed"]) == (1, 1)
    reason = summary["failures"][0]["reason"]
    assert "a cached file of dataset 2 is damaged (ExpatError" in reason and "delete that dataset 2's folder in the cache" in reason


def test_a_rerun_with_other_tasks_resumes_the_stored_ones_under_their_names(openml_config, tmp_path):
    options = BuildOptions(cv=2, max_rows=200, learners=("dummy",), mf_max_rows=200, mf_groups=("general",))
    db_path = tmp_path / "m.sqlite"
    first = build_metadb("openml:tasks=1", db_path, options, openml_config=openml_config)
    assert (first["done"], first["evaluations_added"]) == (1, 1)
    # tasks 1 and 1882 are both on anneal: a run of the two tells them apart, but task 1 is stored as "anneal"
    again = build_metadb("openml:tasks=1,1882", db_path, options, openml_config=openml_config)
    assert (again["evaluations_added"], again["already_stored"]) == (1, 1)
    with MetaDB.open(db_path) as db:
        stored = db.datasets(include_failed=True)
        assert sorted(zip(stored["name"], stored["source_id"], stored["status"])) == [
            ("anneal", "task/1", "ok"), ("anneal_task_1882", "task/1882", "ok")]
    alone = build_metadb("openml:tasks=1882", db_path, options, openml_config=openml_config)
    assert (alone["evaluations_added"], alone["already_stored"]) == (0, 1)  # not mistaken for task 1's "anneal"


def test_a_dataset_that_loads_on_a_rerun_leaves_no_failed_row(openml_config, tmp_path):
    options = BuildOptions(cv=2, max_rows=200, learners=("dummy",), mf_max_rows=200, mf_groups=("general",))
    task_folder = next(p for p in Path(openml_config.cache_dir).rglob("tasks/1882") if p.is_dir())
    hidden = tmp_path / "hidden"
    task_folder.rename(hidden)  # task 1882 unreachable
    db_path = tmp_path / "m.sqlite"
    assert build_metadb("openml:tasks=1882", db_path, options, openml_config=openml_config)["failed"] == 1
    hidden.rename(task_folder)  # reachable again
    assert build_metadb("openml:tasks=1882", db_path, options, openml_config=openml_config)["failed"] == 0
    with MetaDB.open(db_path) as db:
        stored = db.datasets(include_failed=True)
        assert list(zip(stored["name"], stored["status"])) == [("anneal", "ok")]


@pytest.mark.parametrize("hidden", ["data", "dataset"])  # the data file: a unit cannot load it; all of it: the task cannot be resolved
def test_a_dataset_out_of_reach_in_a_later_build_is_a_failed_dataset_not_a_learner_failure(openml_config, shared_dir, tmp_path, hidden):
    from automl_meta.metadb.units import load_ref

    options = dict(cv=2, max_rows=200, mf_max_rows=200, mf_groups=("general",))
    db_path = tmp_path / "m.sqlite"
    assert build_metadb("openml:tasks=1882", db_path, BuildOptions(learners=("dummy",), **options), openml_config=openml_config)["done"] == 1
    folder = next(p for p in Path(openml_config.cache_dir).rglob("datasets/2") if p.is_dir())
    if hidden == "data":
        for path in folder.glob("dataset.*"):
            path.unlink()
    else:
        shutil.rmtree(folder)
    load_ref.cache_clear()  # a later build is another process: nothing loaded yet
    more = BuildOptions(learners=("dummy", "lda"), **options)
    later = build_metadb("openml:tasks=1882", db_path, more, openml_config=openml_config)
    assert (later["done"], later["failed"], later["evaluations_added"]) == (0, 1, 0)
    assert later["failures"][0]["item"] == "anneal" and "cannot get" in later["failures"][0]["reason"]
    with MetaDB.open(db_path) as db:
        assert list(db.evaluations()["learner"].unique()) == ["dummy"]  # no lda "failure" for want of the data
    _copy_cache(shared_dir / "openml_cache", Path(openml_config.cache_dir))  # reachable again (openml-python removed what failed)
    again = build_metadb("openml:tasks=1882", db_path, more, openml_config=openml_config)
    assert (again["done"], again["failed"], again["evaluations_added"]) == (1, 0, 1)


def test_db_build_records_the_openml_options_and_prints_no_raw_log_line(openml_config, tmp_path):
    db_path = tmp_path / "m.sqlite"
    openml = ["--openml-cache", openml_config.cache_dir, "--openml-server", openml_config.server, "--openml-retries", "1", "--openml-timeout", "5"]
    command = [sys.executable, "-m", "automl_meta", "db", "build", "--source", "openml:datasets=99", "--db", str(db_path),
               "--learners", "dummy", "--cv", "2", "-q", *openml]  # dataset 99 is not cached: OpenML out of reach
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr  # nothing could be built: a runtime failure (OpenML out of reach)
    assert "WARNING" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "dataset 99" in line]
    assert len(lines) == 1 and lines[0].startswith("failed: openml_data_99:"), result.stderr  # the summary's line only
    with MetaDB.open(db_path) as db:
        recorded = db.builds()["command"].iloc[-1]
    for flag, value in zip(openml[::2], [*openml[1:-1:2], "5.0"]):
        assert f"{flag} {value}" in recorded, recorded


def _silent_server():
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server, held


def test_a_silent_server_fails_fast_with_a_clear_message(tmp_path):
    server, held = _silent_server()
    port = server.getsockname()[1]
    try:
        configure(OpenMLConfig(cache_dir=str(tmp_path / "cache"), server=f"http://127.0.0.1:{port}/api/v1/xml", n_retries=1, timeout=0.5))
        start = time.perf_counter()
        with pytest.raises(OpenMLAccessError, match="cannot get dataset 99 .* after 1 tries"):
            get_dataset(99)
        assert time.perf_counter() - start < 10
    finally:
        server.close()
        for conn in held:
            conn.close()


def test_openml_pythons_own_warnings_come_through_ours_not_its_console(openml_config, caplog):
    import logging

    import openml

    configure(openml_config)
    with caplog.at_level("WARNING", logger="automl_meta"):
        logging.getLogger("openml").warning("Detected a corrupt cache file when loading dataset 2. Please manually delete it.")
    assert "OpenML: Detected a corrupt cache file when loading dataset 2" in caplog.text  # one line of ours on stderr
    assert openml.config.console_handler.level > logging.CRITICAL  # its raw multi-sentence line is not printed too
