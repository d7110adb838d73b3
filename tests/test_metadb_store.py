"""The SQLite store: schema versions, transactions, read frames, hostile names."""

from __future__ import annotations

import hashlib
import math
import sqlite3

import pytest

from automl_meta.exceptions import MetaDBError, MetaDBVersionError, UsageError
from automl_meta.metadb import SCHEMA_VERSION, MetaDB
from automl_meta.metadb import schema

HOSTILE = ["it's", 'say "hi"', "a; DROP TABLE datasets; --", "données_ü_ß_数据", "tab\there", "Robert'); --"]


def _fill(db: MetaDB, names) -> None:
    db.register_metric("balanced_accuracy", True)
    db.set_default_metric("classification", "balanced_accuracy")
    build = db.start_build("dir:x", {"cv": 3}, {"automl_meta": "0"}, random_state=0)
    rf = db.add_learner("random_forest", "classification", {"n_estimators": 10}, "p1")
    lr = db.add_learner("logistic", "classification", {}, "p1")
    for i, name in enumerate(names):
        d = db.add_dataset({"name": name, "task": "classification", "source": "dir:x", "n_rows": 10 + i, "n_features": 2, "n_classes": 2}, build)
        db.add_meta_features(d, {"nr_inst": 10.0 + i, "weird": None}, "1")
        db.add_evaluation(d, rf, "ok", {"balanced_accuracy": {"mean": 0.5 + i / 100, "std": 0.1, "folds": [0.4, 0.6]}}, fit_seconds=0.5, build_id=build)
        db.add_evaluation(d, lr, "failed", reason="boom", build_id=build)


def test_hostile_dataset_names_round_trip(tmp_path):
    path = tmp_path / "m.sqlite"
    with MetaDB.open(path, create=True) as db:
        _fill(db, HOSTILE)
    with MetaDB.open(path) as db:
        assert sorted(db.datasets()["name"]) == sorted(HOSTILE)
        assert sorted(db.scores("balanced_accuracy").index) == sorted(HOSTILE)
        assert sorted(db.meta_features().index) == sorted(HOSTILE)
        tables = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "datasets" in tables


def test_scores_are_wide_with_nan_for_failed_learners(tmp_path):
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        _fill(db, ["a", "b"])
        scores = db.scores("balanced_accuracy")
        assert list(scores.columns) == ["logistic", "random_forest"]
        assert scores.loc["b", "random_forest"] == pytest.approx(0.51)
        assert scores["logistic"].isna().all()
        assert math.isnan(db.meta_features().loc["a", "weird"])
        assert db.fit_seconds().loc["a", "random_forest"] == 0.5
        long = db.evaluations()
        failed = long[long["learner"] == "logistic"]
        assert set(failed["status"]) == {"failed"} and set(failed["reason"]) == {"boom"}
        assert long.loc[long["learner"] == "random_forest", "fold_scores"].iloc[0] == [0.4, 0.6]
        assert db.default_metric("classification") == "balanced_accuracy"
        assert db.maximize("balanced_accuracy") is True


def test_scores_in_a_metric_another_task_records_are_refused_for_that_task_and_left_out_of_all_tasks(tmp_path):
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        _fill(db, ["a", "b"])
        db.register_metric("r2", True)
        build = db.start_build("dir:y", None, {"automl_meta": "0"})
        ridge = db.add_learner("ridge", "regression", {}, "p1")
        d = db.add_dataset({"name": "r", "task": "regression", "source": "dir:y", "n_rows": 10, "n_features": 2}, build)
        db.add_evaluation(d, ridge, "ok", {"r2": {"mean": 0.7, "std": 0.1, "folds": [0.6, 0.8]}}, build_id=build)
        with pytest.raises(MetaDBError, match="regression records no balanced_accuracy scores"):
            db.scores("balanced_accuracy", task="regression")
        assert sorted(db.scores("balanced_accuracy").index) == ["a", "b"]  # not r, as if every learner had failed there
        assert list(db.scores("r2").index) == ["r"]


def test_info_counts_evaluations_and_missing_pairs(tmp_path):
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        _fill(db, ["a", "b"])
        db.add_learner("knn", "classification", {}, "p1")  # registered, never evaluated
        db.add_learner("ridge", "regression", {}, "p1")  # of a task it holds no data of: counted as a learner before
        info = db.info()
    assert info["n_datasets"] == 2 and info["n_learners"] == 3 and info["n_evaluations"] == 4
    task = info["tasks"]["classification"]
    assert (task["n_ok"], task["n_failed"], task["n_missing"]) == (2, 2, 2)
    assert info["versions"] == {"automl_meta": "0", "extractor": "1"}  # the build's, and the meta-feature runs' extractor
    assert info["schema_version"] == SCHEMA_VERSION


def test_versions_are_those_of_the_builds_whose_data_are_stored(tmp_path):
    from automl_meta.metadb.manifest import manifest

    tabular = {"automl-meta": "0.1", "scikit-learn": "1.4", "extractor": "1", "portfolio": "p1"}
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        _fill(db, ["a"])  # a first build, with versions of its own
        first = db.start_build("dir:x", {"cv": 3}, tabular)
        b = db.add_dataset({"name": "b", "task": "classification", "source": "dir:x"}, first)
        imported = db.start_build("aslib:S", None, {"automl-meta": "0.1", "scikit-learn": "1.4"})  # records no extractor nor portfolio
        db.add_dataset({"name": "s", "task": "aslib:S", "source": "aslib:S"}, imported)
        db.start_build("dir:x", {"cv": 3}, {**tabular, "automl-meta": "0.2"})  # a no-op resume: it stored nothing
        versions = db.info()["versions"]
        assert versions == {"automl_meta": "0", **tabular} and db.info()["mixed_versions"] == {}
        builds = manifest(db)["builds"]
        assert [b["versions"].get("automl-meta") for b in builds] == [None, "0.1", "0.1", "0.2"]
        assert builds[0]["versions"] == {"automl_meta": "0"}
        later = db.start_build("dir:x", {"cv": 3}, {**tabular, "scikit-learn": "1.5"})
        rf = db.add_learner("random_forest", "classification", {}, "p1")
        db.add_evaluation(b, rf, "failed", reason="boom", build_id=later)
        info = db.info()
        assert info["versions"]["scikit-learn"] == "1.5" and info["mixed_versions"] == {"scikit-learn": ["1.4", "1.5"]}
        assert manifest(db)["mixed_versions"] == info["mixed_versions"]
        db.start_build("dir:x", {"cv": 3}, {**tabular, "portfolio": "p2"})  # a learner redefined: the others stay current
        db.add_meta_features(b, {"nr_inst": 3.0}, "2")  # the runs, not the builds, say which extractor made them
        info = db.info()
        assert info["versions"]["extractor"] == "2" and info["mixed_versions"]["extractor"] == ["1", "2"]
        s = db.conn.execute("SELECT id FROM datasets WHERE name = 's'").fetchone()[0]
        db.add_meta_features(s, {"feature": 1.0}, "aslib:S")  # an import names its source, not an extractor version
        db.add_meta_features(b, {"nr_inst": 3.0}, "10")  # versions compare as numbers: 10 after 2
        info = db.info()
        assert info["versions"]["extractor"] == "10" and info["mixed_versions"]["extractor"] == ["1", "10"]
        assert [b["random_state"] for b in info["builds"]][:3] == [0, None, None]  # 0 stays an int beside a NULL
        assert "portfolio" not in info["mixed_versions"]


def test_reading_never_changes_the_file(tmp_path):
    path = tmp_path / "m.sqlite"
    with MetaDB.open(path, create=True) as db:
        _fill(db, ["a"])
    with sqlite3.connect(path) as conn:  # ship it as a rollback-journal file
        conn.execute("PRAGMA journal_mode = DELETE")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with MetaDB.open(path) as db:
        db.info()
        db.scores("balanced_accuracy")
        with pytest.raises(MetaDBError, match="read-only"):
            db.add_learner("x", "classification", {}, "p")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not (tmp_path / "m.sqlite-wal").exists()


def test_newer_schema_version_raises_version_error(tmp_path):
    path = tmp_path / "m.sqlite"
    with MetaDB.open(path, create=True) as db:
        db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(MetaDBVersionError, match="not supported"):
        MetaDB.open(path)


def test_version_one_file_is_migrated_on_writable_open(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("BEGIN;" + schema.BASE_SCHEMA + "PRAGMA user_version = 1;COMMIT;")
    conn.close()
    with pytest.raises(MetaDBVersionError):
        MetaDB.open(path)  # read-only: cannot migrate
    with MetaDB.open(path, readonly=False) as db:
        assert schema.user_version(db.conn) == SCHEMA_VERSION
        assert "fold" in db.datasets().columns


def _schema_two_file(path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("BEGIN;" + schema.BASE_SCHEMA + "PRAGMA user_version = 1;COMMIT;")
    for statement in schema.MIGRATIONS[2]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.close()


def test_a_schema_two_file_is_read_as_it_is_and_migrated_by_a_writer(tmp_path):
    path = tmp_path / "two.sqlite"
    _schema_two_file(path)
    with MetaDB.open(path, readonly=False) as db:
        with db.transaction() as conn:  # a build of that time, without pid and host
            conn.execute("INSERT INTO builds(source, protocol, versions, started) VALUES ('dir:x', '{}', '{}', 'then')")
        db.conn.execute("PRAGMA user_version = 2")
        for column in ("pid", "host"):
            db.conn.execute(f"ALTER TABLE builds DROP COLUMN {column}")
        db.conn.execute("ALTER TABLE datasets DROP COLUMN source_hash")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with MetaDB.open(path) as db:
        assert db.info()["schema_version"] == 2
        assert db.info()["builds"][0]["status"] == "running"  # no process recorded: nothing to check it by
        assert db.datasets().empty
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with MetaDB.open(path, readonly=False) as db:
        assert schema.user_version(db.conn) == SCHEMA_VERSION
        assert schema.has_column(db.conn, "datasets", "source_hash") and schema.has_column(db.conn, "builds", "pid")


def test_a_build_whose_process_is_gone_reads_as_interrupted_and_the_next_build_records_it(tmp_path):
    import subprocess
    import sys

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    path = tmp_path / "m.sqlite"
    with MetaDB.open(path, create=True) as db:
        gone = db.start_build("dir:x", {"cv": 3}, {}, 0)
        alive = db.start_build("dir:x", {"cv": 3}, {}, 0)  # this process: still running
        with db.transaction() as conn:
            conn.execute("UPDATE builds SET pid = ? WHERE id = ?", (int(ended.stdout), gone))
        assert [b["status"] for b in db.info()["builds"]] == ["interrupted", "running"]
        assert db.conn.execute("SELECT status FROM builds WHERE id = ?", (gone,)).fetchone()[0] == "running"
        db.finish_build(alive)
        db.start_build("dir:x", {"cv": 3}, {}, 0)
        stored = [row[0] for row in db.conn.execute("SELECT status FROM builds ORDER BY id")]
    assert stored == ["interrupted", "finished", "running"]


def _open_new(path, start) -> tuple[str, str]:
    start.wait()
    try:
        with MetaDB.open(path, create=True) as db:
            version = str(db.info()["schema_version"])
            try:  # the first to record its build wins; the other finds it running (its pool process lives on)
                db.start_build("dir:x", {"cv": 3}, {})
            except MetaDBError as exc:
                return version, "refused" if "is writing it now" in str(exc) else str(exc)
            return version, "started"
    except Exception as exc:  # reported to the test, which names it
        return f"{type(exc).__name__}: {exc}", ""


def test_two_processes_creating_one_new_database_at_once_both_open_it(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        for attempt in range(6):
            start = manager.Event()
            path = tmp_path / f"new{attempt}.sqlite"
            pending = [pool.apply_async(_open_new, (path, start)) for _ in range(2)]
            start.set()
            outcomes = sorted(p.get(timeout=120) for p in pending)
            assert outcomes == [(str(SCHEMA_VERSION), "refused"), (str(SCHEMA_VERSION), "started")]


def test_open_missing_file_without_create_names_the_fix(tmp_path):
    with pytest.raises(MetaDBError, match="db build"):
        MetaDB.open(tmp_path / "absent.sqlite")


def test_a_different_protocol_is_refused(tmp_path):
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        db.start_build("dir:x", {"cv": 5}, {}, 0)
        db.start_build("dir:x", {"cv": 5}, {}, 0)
        with pytest.raises(UsageError, match="protocol"):
            db.start_build("dir:x", {"cv": 3}, {}, 0)


def test_a_failed_transaction_leaves_no_half_written_evaluation(tmp_path):
    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        _fill(db, ["a"])
        d = db.dataset_id("a", "classification")
        knn = db.add_learner("knn", "classification", {}, "p1")
        with pytest.raises(sqlite3.IntegrityError):  # the second score names an unregistered metric
            db.add_evaluation(d, knn, "ok", {"balanced_accuracy": {"mean": 0.7}, "unregistered": {"mean": 1.0}})
        assert (d, knn) not in db.evaluated_pairs()
        assert db.conn.execute("SELECT count(*) FROM scores WHERE learner_id = ?", (knn,)).fetchone()[0] == 0


def test_the_dataset_a_learner_never_ran_on_is_left_out_where_that_keeps_more_results(tmp_path, caplog):
    from automl_meta.io.metadb_resolve import selection_data

    with MetaDB.open(tmp_path / "m.sqlite", create=True) as db:
        _fill(db, ["a", "b", "c", "d"])  # random_forest ok and logistic failed on each
        new = db.add_learner("knn", "classification", {}, "p1")
        for name in ("a", "b", "c"):  # not on d: its file was gone when knn was added
            dataset = int(db.conn.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()[0])
            db.add_evaluation(dataset, new, "ok", {"balanced_accuracy": {"mean": 0.6, "std": 0.1, "folds": [0.6]}})
        with caplog.at_level("WARNING", logger="automl_meta"):
            meta_X, scores = selection_data(db, "classification", "balanced_accuracy")
    assert sorted(scores.index) == sorted(meta_X.index) == ["a", "b", "c"] and "knn" in scores.columns  # 2 results lost, not 3
    assert "d: left out of the selectors, as knn never ran on it" in caplog.text


def test_selector_evaluate_judges_the_noise_floor_on_the_learners_the_selectors_get(tmp_path):
    # the fold-peeking floor still counted a learner selection_data had left out
    from automl_meta.cli.selector import _load_db

    path = tmp_path / "m.sqlite"
    with MetaDB.open(path, create=True) as db:
        _fill(db, ["a", "b", "c", "d"])
        knn = db.add_learner("knn", "classification", {}, "p1")
        db.add_evaluation(int(db.conn.execute("SELECT id FROM datasets WHERE name = 'a'").fetchone()[0]), knn, "ok",
                          {"balanced_accuracy": {"mean": 0.6, "std": 0.1, "folds": [0.6]}})
    _, _, _, _, scores, evaluations, _, _ = _load_db(path, "classification", None)
    assert "knn" not in scores.columns and set(evaluations["learner"]) == set(scores.columns)


def test_a_database_opened_as_immutable_is_refused_while_its_write_ahead_log_holds_changes(tmp_path):
    from automl_meta.metadb.store import check_no_pending_log

    path = tmp_path / "meta.sqlite"
    with MetaDB.open(path, create=True) as db:
        db.register_metric("balanced_accuracy", True)
    check_no_pending_log(path)  # no log beside it: nothing to miss
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=wal")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO metrics(name, maximize) VALUES ('r2', 1)")
    writer.commit()  # committed, but only in meta.sqlite-wal: immutable=1 would not see it
    with pytest.raises(MetaDBError, match=r"its write-ahead log meta.sqlite-wal holds changes .* copy the database with its -wal"):
        check_no_pending_log(path)
    import automl_meta.metadb.store as store_module

    class Unwritable:  # what `mode=ro` gives in a folder SQLite cannot write, without its -shm file
        def execute(self, *args):
            raise sqlite3.OperationalError("unable to open database file")

        def close(self):
            pass

    real = sqlite3.connect
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module.sqlite3, "connect",
                      lambda target, *a, **k: Unwritable() if "mode=ro" in str(target) else real(target, *a, **k))
        with pytest.raises(MetaDBError, match="its write-ahead log meta.sqlite-wal holds changes"):
            MetaDB.open(path)  # the read-only open falls back to immutable, and refuses
    writer.close()  # the last connection checkpoints the log into the file and removes it
    check_no_pending_log(path)


def test_a_file_of_this_schema_version_lacking_a_column_is_named_damaged_before_any_write(tmp_path):
    path = tmp_path / "meta.sqlite"
    with MetaDB.open(path, create=True) as db:
        db.register_metric("balanced_accuracy", True)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE datasets DROP COLUMN source_hash")  # still records schema version 3
    before = path.read_bytes()
    for readonly in (True, False):
        with pytest.raises(MetaDBError, match="damaged \\(its table datasets lacks source_hash\\); restore a copy"):
            MetaDB.open(path, readonly=readonly)
    assert path.read_bytes() == before


def test_a_database_whose_settings_were_emptied_is_named_damaged_not_taskless(tmp_path):
    path = tmp_path / "meta.sqlite"
    with MetaDB.open(path, create=True) as db:
        db.register_metric("balanced_accuracy", True)
        db.set_default_metric("classification", "balanced_accuracy")
        db.add_dataset({"name": "d", "task": "classification", "source": "test", "n_rows": 10})
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM meta")
    with MetaDB.open(path) as db:
        with pytest.raises(MetaDBError, match="damaged \\(it holds classification datasets but records no default metric"):
            db.default_metric("classification")
        with pytest.raises(MetaDBError, match="no task 'regression' in this database"):
            db.default_metric("regression")
    with MetaDB.open(path, readonly=False) as db:  # a regression file that failed to load: the build records no metric
        db.fail_if_empty(db.add_dataset({"name": "r", "task": "regression", "source": "test"}), "header only")
    with MetaDB.open(path) as db, pytest.raises(MetaDBError, match="no task 'regression' in this database"):
        db.default_metric("regression")


def test_a_copy_without_its_version_and_missing_one_of_a_steps_columns_is_migrated_whole(tmp_path):
    path = tmp_path / "meta.sqlite"
    with MetaDB.open(path, create=True) as db:
        db.register_metric("balanced_accuracy", True)
    with sqlite3.connect(path) as conn:  # a .dump copy (no version) that lost builds.pid but kept datasets.source_hash
        conn.execute("ALTER TABLE builds DROP COLUMN pid")
        conn.execute("PRAGMA user_version = 0")
    with MetaDB.open(path, readonly=False) as db:  # was "duplicate column name: source_hash" from the migration
        assert schema.has_column(db.conn, "builds", "pid") and schema.user_version(db.conn) == SCHEMA_VERSION
        assert db.maximize("balanced_accuracy") is True
