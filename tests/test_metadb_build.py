"""Building the meta-database from a folder: real meta-features, real learners, SQLite on disk.

Covers a three-file build, the no-op rebuild, SIGKILL mid-build then resume,
hostile dataset names, and the same build on a Dask LocalCluster.
"""

from __future__ import annotations

import json
from dataclasses import replace
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from automl_meta.exceptions import UsageError
from automl_meta.metadb import MetaDB
from automl_meta.metadb.from_source import build_metadb
from automl_meta.metadb.store import now
from automl_meta.metadb.units import BuildOptions
from conftest import interruptible, make_mixed_frame

LEARNERS = ("dummy", "decision_tree", "knn")
GROUPS = ("general", "statistical")  # a cheap subset of the meta-feature groups keeps the tests quick
OPTIONS = BuildOptions(cv=2, max_rows=80, random_state=0, learners=LEARNERS, mf_max_rows=80, mf_groups=GROUPS)
CLI_OPTIONS = ["--cv", "2", "--max-rows", "80", "--learners", ",".join(LEARNERS), "--mf-groups", ",".join(GROUPS), "--random-state", "0"]


def _write_folder(folder: Path, names=("alpha", "beta", "gamma")) -> Path:
    """Three small datasets: a CSV, a gzipped TSV and a parquet file (two classification, one regression)."""
    folder.mkdir(parents=True, exist_ok=True)
    make_mixed_frame(60, seed=1).to_csv(folder / f"{names[0]}.csv", index=False)
    make_mixed_frame(60, seed=2, task="regression").to_csv(folder / f"{names[1]}.tsv.gz", sep="\t", index=False)
    make_mixed_frame(60, seed=3).to_parquet(folder / f"{names[2]}.parquet", index=False)
    return folder


def _build_command(tmp_path: Path, n_datasets: int, rows: int, *options: str) -> list[str]:
    """`db build` of a fresh folder of ``n_datasets`` small classification tables into ``tmp_path/m.sqlite``, run as its own process."""
    folder = tmp_path / "data"
    folder.mkdir()
    for seed in range(n_datasets):
        make_mixed_frame(rows, seed=seed).to_csv(folder / f"d{seed}.csv", index=False)
    return [sys.executable, "-m", "automl_meta", "db", "build", "--source", f"dir:{folder}", "--db", str(tmp_path / "m.sqlite"),
            "--quiet", *options]


@pytest.fixture(scope="module")
def mf_cache(tmp_path_factory) -> Path:
    """One meta-feature cache for the module, so each small dataset is described by pymfe once."""
    return tmp_path_factory.mktemp("mf_cache")


@pytest.fixture
def env(monkeypatch, mf_cache):
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(mf_cache))


def _rows(path: Path) -> dict:
    """Every stored fact, without timings and build ids, in a comparable form."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    queries = {
        "datasets": "SELECT name, task, content_hash, n_rows, n_features, n_classes, status, reason FROM datasets",
        "meta_features": "SELECT d.name, m.name, m.value, m.extractor_version FROM meta_features m JOIN datasets d ON d.id = m.dataset_id",
        "mf_runs": "SELECT d.name, r.status, r.reason, r.n_rows_used FROM mf_runs r JOIN datasets d ON d.id = r.dataset_id",
        "learners": "SELECT name, task, params, portfolio_version FROM learners",
        "evaluations": "SELECT d.name, l.name, e.status, e.reason, e.protocol FROM evaluations e"
                       " JOIN datasets d ON d.id = e.dataset_id JOIN learners l ON l.id = e.learner_id",
        "scores": "SELECT d.name, l.name, s.metric, s.mean, s.std, s.fold_scores FROM scores s"
                  " JOIN datasets d ON d.id = s.dataset_id JOIN learners l ON l.id = s.learner_id",
        "metrics": "SELECT name, maximize FROM metrics",
    }
    rows = {table: sorted(conn.execute(sql).fetchall(), key=repr) for table, sql in queries.items()}
    conn.close()
    return rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mf_cache) -> tuple[Path, Path, dict]:
    """An uninterrupted build of the three-file folder: (folder, db, summary)."""
    root = tmp_path_factory.mktemp("reference")
    folder = _write_folder(root / "data")
    os.environ["AUTOML_META_CACHE_DIR"] = str(mf_cache)  # module-scoped: no monkeypatch; the autouse fixture resets it per test
    summary = build_metadb(f"dir:{folder}", root / "m.sqlite", OPTIONS)
    return folder, root / "m.sqlite", summary


def test_build_from_a_folder_of_three_files_stores_everything(reference):
    _, db_path, summary = reference
    assert (summary["done"], summary["failed"], summary["remaining"]) == (3, 0, 0)
    assert summary["evaluations_added"] == 3 * len(LEARNERS)
    with MetaDB.open(db_path) as db:
        datasets = db.datasets().set_index("name")
        assert list(datasets.index) == ["alpha", "gamma", "beta"]  # ordered by task, then name
        assert datasets.loc["beta", "task"] == "regression" and datasets.loc["alpha", "n_classes"] == 2
        assert db.meta_features().shape[0] == 3 and db.meta_features().shape[1] > 20
        assert db.scores("balanced_accuracy", task="classification").shape == (2, 3)
        assert db.scores("r2", task="regression").notna().all().all()
        assert db.info()["n_missing_pairs"] == 0
        assert db.default_metric("regression") == "r2" and db.maximize("rmse") is False


def test_rebuild_is_a_no_op(reference, env):
    folder, db_path, _ = reference
    before = _rows(db_path)
    again = build_metadb(f"dir:{folder}", db_path, OPTIONS)
    assert again["evaluations_added"] == 0 and again["already_stored"] == 3 * len(LEARNERS)
    assert again["done"] == 3
    assert _rows(db_path) == before


def test_a_first_build_that_stopped_before_creating_the_tables_is_built_by_its_rerun(reference, tmp_path, env):
    import sqlite3

    folder, _, _ = reference
    stub = tmp_path / "m.sqlite"
    conn = sqlite3.connect(stub)
    conn.execute("PRAGMA journal_mode=wal")  # what a first build left on a full disk: a header, no table
    conn.close()
    assert stub.stat().st_size > 0
    summary = build_metadb(f"dir:{folder}", stub, OPTIONS)  # was refused: "an empty file, not a meta-database"
    assert summary["done"] == 3 and summary["evaluations_added"] == 3 * len(LEARNERS)


def _no_half_rows(db_path: Path) -> None:
    """Every committed evaluation is complete: ok rows have all their metrics, meta-feature runs their values."""
    with MetaDB.open(db_path, readonly=False) as db:  # a writable open replays the write-ahead log
        conn = db.conn
        for dataset_id, learner_id, status in conn.execute("SELECT dataset_id, learner_id, status FROM evaluations"):
            n_scores = conn.execute("SELECT count(*) FROM scores WHERE dataset_id = ? AND learner_id = ?", (dataset_id, learner_id)).fetchone()[0]
            task = conn.execute("SELECT task FROM datasets WHERE id = ?", (dataset_id,)).fetchone()[0]
            expected = 4 if task == "classification" else 3
            assert n_scores == (expected if status == "ok" else 0)
        for dataset_id, status in conn.execute("SELECT dataset_id, status FROM mf_runs"):
            n_values = conn.execute("SELECT count(*) FROM meta_features WHERE dataset_id = ?", (dataset_id,)).fetchone()[0]
            assert (n_values > 0) == (status == "ok")


@pytest.mark.slow
def test_sigkill_mid_build_then_resume_gives_the_rows_of_an_uninterrupted_build(reference, tmp_path, mf_cache):
    folder, reference_db, _ = reference
    db_path = tmp_path / "killed.sqlite"
    command = [sys.executable, "-m", "automl_meta", "db", "build", "--source", f"dir:{folder}", "--db", str(db_path), "--quiet", *CLI_OPTIONS]
    env = {**os.environ, "AUTOML_META_CACHE_DIR": str(mf_cache)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    count, deadline = 0, time.monotonic() + 600  # generous: a loaded 2-core machine starts Python slowly
    while time.monotonic() < deadline and process.poll() is None:
        if db_path.exists():
            try:
                with sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=1) as conn:
                    count = conn.execute("SELECT count(*) FROM evaluations").fetchone()[0]
            except sqlite3.OperationalError:  # schema not created yet
                count = 0
            if count >= 2:
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the build ended before it could be killed mid-way"
    assert 2 <= count < 3 * len(LEARNERS)
    _no_half_rows(db_path)
    with MetaDB.open(db_path) as db:  # read-only: the record says running, its process is gone
        assert db.conn.execute("SELECT status FROM builds").fetchall() == [("running",)]
        assert [b["status"] for b in db.info()["builds"]] == ["interrupted"]

    resumed = build_metadb(f"dir:{folder}", db_path, OPTIONS)  # the same build, resumed in this process
    assert resumed["done"] == 3 and 0 < resumed["evaluations_added"] <= 3 * len(LEARNERS) - count
    assert _rows(db_path) == _rows(reference_db)
    with MetaDB.open(db_path) as db:
        statuses = [b["status"] for b in db.info()["builds"]]
    assert statuses == ["interrupted", "finished"]  # the killed build, recorded as running, has no process left


@pytest.mark.slow
def test_ctrl_c_on_a_dask_build_prints_one_line_and_no_worker_tracebacks(tmp_path, mf_cache):
    command = _build_command(tmp_path, 12, 60, "--dask", "local", "--jobs", "2", *CLI_OPTIONS)
    db_path = tmp_path / "m.sqlite"
    env = {**os.environ, "AUTOML_META_CACHE_DIR": str(mf_cache)}
    # its own process group, as a shell gives a job: a terminal's Ctrl-C reaches every process of the group
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=interruptible)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=1) as conn:
                if conn.execute("SELECT count(*) FROM evaluations").fetchone()[0] >= 1:
                    break
        except sqlite3.OperationalError:  # no file or no schema yet
            pass
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode == 130, stderr
    assert "interrupted; what was already written is kept" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr


def _alive(process) -> bool:
    """Whether ``process`` (a psutil.Process) runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_sigterm_on_a_parallel_build_stops_its_worker_processes_with_one_line(tmp_path, mf_cache):
    command = _build_command(tmp_path, 12, 60, "--jobs", "2", *CLI_OPTIONS)
    env = {**os.environ, "AUTOML_META_CACHE_DIR": str(mf_cache)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    children, deadline = [], time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None and len(children) < 2:
        try:
            children = psutil.Process(process.pid).children()
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    assert len(children) >= 2, "the build ended before its worker processes started"
    process.send_signal(signal.SIGTERM)  # to the build alone, as `timeout` or a batch scheduler sends it
    stderr = process.communicate(timeout=120)[1].decode()
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip() == "error: terminated; what was already written is kept"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(child) for child in children):
        time.sleep(0.2)
    assert not [child.pid for child in children if _alive(child)], "worker processes outlived the build"


def test_hostile_dataset_names_round_trip_through_a_build(tmp_path, env):
    names = ("it's \"quoted\"", "semi;colon; DROP TABLE datasets", "données_ü_数据")
    folder = _write_folder(tmp_path / "data", names=names)
    summary = build_metadb(f"dir:{folder}", tmp_path / "m.sqlite", BuildOptions(cv=2, max_rows=80, learners=("dummy",), mf_max_rows=80, mf_groups=GROUPS))
    assert summary["done"] == 3
    with MetaDB.open(tmp_path / "m.sqlite") as db:
        assert sorted(db.datasets()["name"]) == sorted(names)
        assert sorted(db.meta_features().index) == sorted(names)
        scores = pd.concat([db.scores("balanced_accuracy", "classification"), db.scores("r2", "regression")])
        assert sorted(scores.index) == sorted(names)


@pytest.mark.slow
def test_build_on_a_dask_local_cluster_matches_the_serial_build(tmp_path, env):
    folder = tmp_path / "data"  # one dataset: starting worker processes is what costs here
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "alpha.csv", index=False)
    serial = build_metadb(f"dir:{folder}", tmp_path / "serial.sqlite", OPTIONS)
    summary = build_metadb(f"dir:{folder}", tmp_path / "dask.sqlite", OPTIONS, jobs=2, dask="local")
    assert summary["executor"] == "dask" and summary["done"] == 1 and summary["evaluations_added"] == len(LEARNERS)
    assert serial["executor"] == "serial"
    assert _rows(tmp_path / "dask.sqlite") == _rows(tmp_path / "serial.sqlite")


@pytest.mark.slow
def test_a_dask_build_whose_units_call_joblib_themselves_finishes(tmp_path, mf_cache):
    # pymfe's landmarkers call scikit-learn's 1-NN, which runs joblib inside the unit: under joblib's Dask backend
    # those became tasks of the cluster too, and two single-threaded workers waited on each other for ever
    command = _build_command(tmp_path, 8, 120, "--json", "--dask", "local", "--jobs", "2", "--cv", "2", "--learners", "dummy",
                             "--mf-groups", "landmarking")
    env = {**os.environ, "AUTOML_META_CACHE_DIR": str(tmp_path / "cache")}  # nothing cached: every unit extracts
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["executor"], summary["done"], summary["metafeatures_extracted"]) == ("dask", 8, 8)


def test_a_build_running_on_this_machine_refuses_a_second_one(tmp_path, env):
    import socket

    from automl_meta.exceptions import MetaDBError

    folder = _write_folder(tmp_path / "data")
    options = BuildOptions(cv=2, max_rows=80, learners=("dummy",), mf_max_rows=80, mf_groups=GROUPS)
    db_path = tmp_path / "m.sqlite"
    build_metadb(f"dir:{folder}", db_path, options)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # stands for a build's live process
    try:
        with sqlite3.connect(db_path) as conn:  # as that build recorded itself, once started
            conn.execute("INSERT INTO builds(source, protocol, versions, status, started, pid, host) VALUES ('dir:x', '{}', '{}', 'running', ?, ?, ?)",
                         (now(), other.pid, socket.gethostname()))
        before = _rows(db_path)
        with pytest.raises(MetaDBError, match=rf"build 2 \(process {other.pid}\) is writing it now; wait for it"):
            build_metadb(f"dir:{folder}", db_path, replace(options, learners=("dummy", "knn")))
        assert _rows(db_path) == before
    finally:
        other.kill()
        other.wait()
    again = build_metadb(f"dir:{folder}", db_path, replace(options, learners=("dummy", "knn")))  # its process is gone
    assert again["evaluations_added"] == 3
    with MetaDB.open(db_path) as db:
        assert [b["status"] for b in db.info()["builds"]] == ["finished", "interrupted", "finished"]


def test_a_dead_build_whose_process_number_was_reused_does_not_block_the_database(tmp_path, env):
    import socket

    folder = _write_folder(tmp_path / "data")
    options = BuildOptions(cv=2, max_rows=80, learners=("dummy",), mf_max_rows=80, mf_groups=GROUPS)
    db_path = tmp_path / "m.sqlite"
    build_metadb(f"dir:{folder}", db_path, options)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # took the number of a build killed in 2020
    try:
        with sqlite3.connect(db_path) as conn:
            conn.execute("INSERT INTO builds(source, protocol, versions, status, started, pid, host) VALUES ('dir:x', '{}', '{}', 'running', "
                         "'2020-01-01T00:00:00+00:00', ?, ?)", (other.pid, socket.gethostname()))
        with MetaDB.open(db_path) as db:
            assert db.info()["builds"][-1]["status"] == "interrupted"
        assert build_metadb(f"dir:{folder}", db_path, replace(options, learners=("dummy", "knn")))["evaluations_added"] == 3
    finally:
        other.kill()
        other.wait()


def test_a_rerun_under_other_library_versions_runs_the_stored_failures_again(tmp_path, env):
    from automl_meta.metadb.build import library_versions

    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "alpha.csv", index=False)
    options = BuildOptions(cv=2, max_rows=80, learners=("dummy", "lda"), mf_max_rows=80, mf_groups=GROUPS)
    db_path = tmp_path / "m.sqlite"
    build_metadb(f"dir:{folder}", db_path, options)
    with sqlite3.connect(db_path) as conn:  # as if lda had failed under an older scikit-learn that lacked a parameter
        conn.execute("UPDATE evaluations SET status = 'failed', reason = 'build: TypeError: unexpected keyword argument' "
                     "WHERE learner_id = (SELECT id FROM learners WHERE name = 'lda')")
    same = build_metadb(f"dir:{folder}", db_path, options)
    assert (same["failures_retried"], same["already_stored"]) == (0, 2)  # the same versions: a result, kept
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE builds SET versions = json_set(versions, '$.pymfe', '0.4.3')")
    assert build_metadb(f"dir:{folder}", db_path, options)["failures_retried"] == 0  # no learner fits with pymfe
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE builds SET versions = json_set(versions, '$.\"scikit-learn\"', '1.7.2')")
    upgraded = build_metadb(f"dir:{folder}", db_path, options)
    current = library_versions()["scikit-learn"]
    assert (upgraded["failures_retried"], upgraded["evaluations_added"]) == (1, 1)
    assert upgraded["upgraded"] == [f"scikit-learn 1.7.2 -> {current}"]
    with MetaDB.open(db_path) as db:
        assert set(db.evaluations()["status"]) == {"ok"}
    assert build_metadb(f"dir:{folder}", db_path, options)["failures_retried"] == 0


def test_a_rerun_with_a_larger_timeout_runs_the_fits_that_timed_out_again(tmp_path, env):
    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "alpha.csv", index=False)
    options = BuildOptions(cv=2, max_rows=80, learners=("dummy", "random_forest"), mf_max_rows=80, mf_groups=GROUPS, timeout=0.001)
    db_path = tmp_path / "m.sqlite"
    build_metadb(f"dir:{folder}", db_path, options)
    with MetaDB.open(db_path) as db:
        timed_out = int((db.evaluations()["status"] == "timeout").sum())
    assert timed_out >= 1
    first = build_metadb(f"dir:{folder}", tmp_path / "again.sqlite", options)
    assert first["timed_out"] >= 1  # the summary says so; it said nothing of timeouts
    assert build_metadb(f"dir:{folder}", db_path, options)["timeouts_retried"] == 0  # the same limit: kept
    more = build_metadb(f"dir:{folder}", db_path, replace(options, timeout=None))
    assert (more["timeouts_retried"], more["evaluations_added"]) == (timed_out, timed_out)
    with MetaDB.open(db_path) as db:
        assert set(db.evaluations()["status"]) == {"ok"}
    assert build_metadb(f"dir:{folder}", db_path, replace(options, timeout=None))["evaluations_added"] == 0


def test_unreadable_file_is_recorded_with_its_reason_and_the_build_goes_on(tmp_path, env):
    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "good.csv", index=False)
    (folder / "broken.csv").write_bytes(b"\x00\x01\x02binary")
    summary = build_metadb(f"dir:{folder}", tmp_path / "m.sqlite", BuildOptions(cv=2, max_rows=80, learners=("dummy",), mf_max_rows=80, mf_groups=GROUPS))
    assert (summary["done"], summary["failed"]) == (1, 1)
    assert "binary" in summary["failures"][0]["reason"]
    with MetaDB.open(tmp_path / "m.sqlite") as db:
        assert db.info()["n_failed_datasets"] == 1
        assert list(db.datasets()["name"]) == ["good"]


def _age_learner(db_path: Path, learner: str, version: str = "old") -> None:
    """Make ``learner``'s stored scores those of an older definition, as a database from before evaluations carried their version.

    Such a database records the version only on the learner's row; each evaluation now
    records its own (protocol ``learner_version``), which an old file's evaluations lack.
    """
    with MetaDB.open(db_path, readonly=False) as db, db.transaction() as conn:
        conn.execute("UPDATE learners SET portfolio_version = ? WHERE name = ?", (version, learner))
        for dataset_id, learner_id, protocol in conn.execute(
                "SELECT e.dataset_id, e.learner_id, e.protocol FROM evaluations e JOIN learners l ON l.id = e.learner_id WHERE l.name = ?",
                (learner,)).fetchall():
            legacy = {k: v for k, v in json.loads(protocol).items() if k != "learner_version"}
            conn.execute("UPDATE evaluations SET protocol = ? WHERE dataset_id = ? AND learner_id = ?",
                         (json.dumps(legacy, sort_keys=True), dataset_id, learner_id))


def test_redo_recomputes_a_learner_stored_under_an_older_portfolio_version_once(reference, tmp_path, env, caplog):
    import shutil

    folder, reference_db, _ = reference
    db_path = tmp_path / "m.sqlite"
    shutil.copy(reference_db, db_path)
    _age_learner(db_path, "knn")
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert build_metadb(f"dir:{folder}", db_path, OPTIONS)["evaluations_added"] == 0
    stale = [r.getMessage() for r in caplog.records if "older definition" in r.getMessage()]
    assert stale and all("of knn on" in m and m.endswith("--redo knn to recompute them") for m in stale)  # the others are current
    assert any("knn on alpha, gamma come" in m for m in stale)
    options = BuildOptions(**{**OPTIONS.__dict__, "redo": ("knn",)})
    first = build_metadb(f"dir:{folder}", db_path, options)
    assert first["evaluations_added"] == 3  # knn on each of the three datasets
    again = build_metadb(f"dir:{folder}", db_path, options)
    assert again["evaluations_added"] == 0
    assert _rows(db_path) == _rows(reference_db)


def test_a_change_in_how_a_task_is_scored_makes_that_tasks_scores_stale_and_only_those(reference, tmp_path, env, caplog):
    import shutil

    from automl_meta.learners import LEARNERS as SPECS
    from automl_meta.learners.portfolio import TASK_SCORING_VERSION, learner_version

    folder, reference_db, _ = reference
    db_path = tmp_path / "m.sqlite"
    shutil.copy(reference_db, db_path)
    before = str(int(TASK_SCORING_VERSION["classification"]) - 1)
    _age_learner(db_path, "knn", before)  # as stored before the last scoring change: both tasks' rows
    assert learner_version(SPECS["knn"], "classification") == TASK_SCORING_VERSION["classification"]
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert build_metadb(f"dir:{folder}", db_path, OPTIONS)["evaluations_added"] == 0
    stale = [r.getMessage() for r in caplog.records if "older definition" in r.getMessage()]
    assert stale and all(m.startswith("classification: the stored scores of knn on alpha, gamma") for m in stale)
    redone = build_metadb(f"dir:{folder}", db_path, BuildOptions(**{**OPTIONS.__dict__, "redo": ("knn",)}))
    assert redone["evaluations_added"] == 2  # the two classification datasets; beta's regression scores stay
    assert _rows(db_path)["scores"] == _rows(reference_db)["scores"]
    with MetaDB.open(db_path) as db:
        versions = dict(db.conn.execute("SELECT task, portfolio_version FROM learners WHERE name = 'knn'").fetchall())
    assert versions == {"classification": TASK_SCORING_VERSION["classification"], "regression": before}


def test_a_database_built_at_a_later_portfolio_version_is_current_for_learners_unchanged_since(reference, tmp_path, env, caplog):
    import shutil

    folder, reference_db, _ = reference
    db_path = tmp_path / "m.sqlite"
    shutil.copy(reference_db, db_path)
    with MetaDB.open(db_path, readonly=False) as db:  # as a build made when the whole portfolio was at version 2
        with db.transaction() as conn:
            conn.execute("UPDATE learners SET portfolio_version = '2'")
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert build_metadb(f"dir:{folder}", db_path, OPTIONS)["evaluations_added"] == 0
    assert "older definition" not in caplog.text


def test_repeated_cv_build_stores_every_fold_and_refuses_another_protocol(tmp_path, env):
    from typer.testing import CliRunner

    from automl_meta.cli.main import app

    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "alpha.csv", index=False)
    db_path = tmp_path / "m.sqlite"
    args = ["db", "build", "--source", f"dir:{folder}", "--db", str(db_path), "--cv", "2", "--max-rows", "80",
            "--learners", "dummy", "--mf-groups", ",".join(GROUPS), "--quiet"]
    result = CliRunner().invoke(app, [*args, "--repeats", "3"])
    assert result.exit_code == 0, result.stderr
    with MetaDB.open(db_path) as db:
        assert db.get_meta("protocol")["repeats"] == 3
        assert "--repeats 3" in db.builds()["command"].iloc[0]
        folds = db.evaluations("classification")["fold_scores"]
        assert set(folds.map(len)) == {6}  # 2 folds x 3 repeats
    again = CliRunner().invoke(app, args)  # the default, one repeat, is another protocol
    assert again.exit_code == 2 and "protocol" in again.stderr


def test_learners_named_for_a_build_over_both_tasks_serve_each_task_they_can(tmp_path, env):
    from typer.testing import CliRunner

    from automl_meta.cli.main import app

    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "labels.csv", index=False)
    make_mixed_frame(60, seed=2, task="regression").to_csv(folder / "values.csv", index=False)
    db_path = tmp_path / "m.sqlite"
    options = dict(cv=2, max_rows=80, mf_max_rows=80, mf_groups=GROUPS)
    build_metadb(f"dir:{folder}", db_path, BuildOptions(learners=("dummy", "lda", "ridge"), **options))
    with MetaDB.open(db_path) as db:
        served = db.conn.execute("SELECT task, name FROM learners ORDER BY task, name").fetchall()
    assert served == [("classification", "dummy"), ("classification", "lda"), ("regression", "dummy"), ("regression", "ridge")]

    args = ["db", "build", "--source", f"dir:{folder}", "--cv", "2", "--quiet", "--db"]
    unknown = CliRunner().invoke(app, [*args, str(tmp_path / "typo.sqlite"), "--learners", "dummy,ridgee"])
    assert unknown.exit_code == 2 and "unknown learner 'ridgee'" in unknown.stderr
    assert not (tmp_path / "typo.sqlite").exists()  # refused before the database was created
    none = CliRunner().invoke(app, [*args, str(tmp_path / "none.sqlite"), "--learners", "lda"])
    assert none.exit_code == 2 and "none of the learners named (lda) serves regression" in " ".join(none.stderr.split())


def _copy_reference(reference, tmp_path) -> tuple[Path, Path]:
    import shutil

    folder, reference_db, _ = reference
    shutil.copytree(folder, tmp_path / "data")
    shutil.copy(reference_db, tmp_path / "m.sqlite")
    return tmp_path / "data", tmp_path / "m.sqlite"


def test_a_file_changed_since_its_results_were_stored_stops_the_build_until_replace_changed(reference, tmp_path, env):
    from typer.testing import CliRunner

    from automl_meta.cli.main import app

    folder, db_path = _copy_reference(reference, tmp_path)
    make_mixed_frame(90, seed=7).to_csv(folder / "alpha.csv", index=False)  # other data under the same name
    before = _rows(db_path)
    with MetaDB.open(db_path) as db:
        builds = len(db.builds())
    args = ["db", "build", "--source", f"dir:{folder}", "--db", str(db_path), "--quiet", *CLI_OPTIONS]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2, refused.stderr
    message = " ".join(refused.stderr.split())
    assert "1 dataset file changed since" in message and "its results: alpha" in message and "--replace-changed" in message
    assert _rows(db_path) == before
    with MetaDB.open(db_path) as db:
        assert len(db.builds()) == builds  # refused before a build was recorded

    replaced = CliRunner().invoke(app, [*args, "--replace-changed", "--json"])
    assert replaced.exit_code == 0, replaced.stderr
    summary = json.loads(replaced.stdout)
    assert summary["replaced"] == ["alpha"] and summary["evaluations_added"] == len(LEARNERS)
    with MetaDB.open(db_path) as db:
        alpha = db.datasets().set_index("name").loc["alpha"]
        assert alpha["n_rows"] == 90
        assert db.info()["n_missing_pairs"] == 0 and db.meta_features().shape[0] == 3
        assert "--replace-changed" in db.builds()["command"].iloc[-1]
    again = build_metadb(f"dir:{folder}", db_path, OPTIONS)  # the new file is now the stored one
    assert again["evaluations_added"] == 0 and again["replaced"] == []


def test_a_file_saved_again_with_the_same_data_keeps_its_results(reference, tmp_path, env):
    folder, db_path = _copy_reference(reference, tmp_path)
    text = (folder / "alpha.csv").read_text()
    (folder / "alpha.csv").write_bytes(text.replace("\n", "\r\n").encode())  # other bytes, the same table
    before = _rows(db_path)
    with MetaDB.open(db_path) as db:
        old_hash = db.conn.execute("SELECT source_hash FROM datasets WHERE name = 'alpha'").fetchone()[0]
    again = build_metadb(f"dir:{folder}", db_path, OPTIONS)
    assert again["evaluations_added"] == 0 and again["replaced"] == []
    assert _rows(db_path) == before
    with MetaDB.open(db_path) as db:
        new_hash = db.conn.execute("SELECT source_hash FROM datasets WHERE name = 'alpha'").fetchone()[0]
    assert old_hash and new_hash and new_hash != old_hash


def test_a_database_from_before_source_hashes_checks_its_files_once_by_their_data(reference, tmp_path, env):
    folder, db_path = _copy_reference(reference, tmp_path)
    with MetaDB.open(db_path, readonly=False) as db, db.transaction() as conn:
        conn.execute("UPDATE datasets SET source_hash = NULL")  # as a database built before they were recorded
    make_mixed_frame(60, seed=9, task="regression").to_csv(folder / "beta.tsv.gz", sep="\t", index=False)
    with MetaDB.open(db_path, readonly=False):  # fold the write-ahead log in: the file alone holds everything
        pass
    before = db_path.read_bytes()
    with pytest.raises(UsageError, match="changed since .* its results: beta"):
        build_metadb(f"dir:{folder}", db_path, OPTIONS)
    assert db_path.read_bytes() == before  # refused before anything was written
    replaced = build_metadb(f"dir:{folder}", db_path, BuildOptions(**{**OPTIONS.__dict__, "replace_changed": True}))
    assert replaced["replaced"] == ["beta"]
    with MetaDB.open(db_path) as db:  # the unchanged files got their hash by their data, the replaced one its new one
        hashes = dict(db.conn.execute("SELECT name, source_hash FROM datasets").fetchall())
    assert hashes["alpha"] and hashes["gamma"] and hashes["beta"]


def test_a_changed_target_in_the_manifest_is_a_changed_dataset(reference, tmp_path, env):
    folder, _ = _copy_reference(reference, tmp_path)
    db_path = tmp_path / "own.sqlite"
    build_metadb(f"dir:{folder}", db_path, OPTIONS)  # from this very folder: no other source to name
    (folder / "MANIFEST.csv").write_text("name,task,target\nalpha,classification,color\n")
    with pytest.raises(UsageError, match="its results: alpha;"):
        build_metadb(f"dir:{folder}", db_path, OPTIONS)


def _drop_evaluations(db_path: Path, name: str) -> None:
    """Forget the evaluations of dataset ``name``, as a build killed before it ran them."""
    with MetaDB.open(db_path, readonly=False) as db, db.transaction() as conn:
        for table in ("scores", "evaluations"):
            conn.execute(f"DELETE FROM {table} WHERE dataset_id = (SELECT id FROM datasets WHERE name = ?)", (name,))


def _restore_and_rerun(path: Path, saved: bytes, db_path: Path, reference) -> None:
    """Put the deleted file back and rerun: the missing results are computed, as the reference build has them."""
    path.write_bytes(saved)
    again = build_metadb(f"dir:{path.parent}", db_path, OPTIONS)
    assert (again["done"], again["failed"], again["evaluations_added"]) == (3, 0, len(LEARNERS))
    assert _rows(db_path) == _rows(reference[1])


def test_a_file_deleted_during_a_build_counts_as_failed_and_stores_no_learner_failure(reference, tmp_path, env):
    folder, db_path = _copy_reference(reference, tmp_path)
    _drop_evaluations(db_path, "alpha")
    saved = (folder / "alpha.csv").read_bytes()

    def delete_alpha(_state):  # first called once the units are planned, before any runs
        (folder / "alpha.csv").unlink(missing_ok=True)

    summary = build_metadb(f"dir:{folder}", db_path, OPTIONS, progress=delete_alpha)
    assert (summary["done"], summary["failed"], summary["evaluations_added"]) == (2, 1, 0)
    assert summary["failures"][0]["item"] == "alpha"
    assert "alpha.csv" in summary["failures"][0]["reason"] and summary["failures"][0]["reason"].endswith("a rerun computes them")
    with MetaDB.open(db_path) as db:
        assert "alpha" not in set(db.evaluations()["dataset"])  # no learner "failed" for want of its data
    _restore_and_rerun(folder / "alpha.csv", saved, db_path, reference)


def test_a_new_file_deleted_during_its_first_build_is_stored_as_failed_and_its_rerun_makes_it_usable(reference, tmp_path, env):
    folder, _ = _copy_reference(reference, tmp_path)
    db_path = tmp_path / "new.sqlite"
    saved = (folder / "alpha.csv").read_bytes()

    def delete_alpha(_state):  # first called once the units are planned, before any runs
        (folder / "alpha.csv").unlink(missing_ok=True)

    summary = build_metadb(f"dir:{folder}", db_path, OPTIONS, progress=delete_alpha)
    assert (summary["done"], summary["failed"]) == (2, 1)
    with MetaDB.open(db_path) as db:
        assert "alpha" not in db.usable_datasets() and db.info()["n_failed_datasets"] == 1
        failed = db.datasets(include_failed=True).set_index("name").loc["alpha"]
        assert failed["status"] == "failed" and "alpha.csv" in failed["reason"]
    _restore_and_rerun(folder / "alpha.csv", saved, db_path, reference)


def test_a_file_gone_since_the_folder_was_listed_keeps_its_results_and_counts_as_failed(reference, tmp_path, env):
    folder, db_path = _copy_reference(reference, tmp_path)
    before = _rows(db_path)

    def delete_gamma(_total):  # called once the folder is listed, before the database is looked at
        (folder / "gamma.parquet").unlink()

    options = BuildOptions(**{**OPTIONS.__dict__, "replace_changed": True})  # a file gone is no changed file: nothing to drop
    summary = build_metadb(f"dir:{folder}", db_path, options, on_total=delete_gamma)
    assert (summary["done"], summary["failed"], summary["replaced"]) == (2, 1, [])
    assert "gamma.parquet" in summary["failures"][0]["reason"] and "its stored results are kept" in summary["failures"][0]["reason"]
    assert _rows(db_path) == before


def _second_source(tmp_path, db_path) -> tuple[Path, str]:
    """A second folder, holding 'delta', built into ``db_path`` with its command recorded: (folder, command)."""
    other = tmp_path / "other"
    other.mkdir()
    make_mixed_frame(60, seed=4).to_csv(other / "delta.csv", index=False)
    command = f"automl-meta db build --source dir:{other} --db {db_path}"
    build_metadb(f"dir:{other}", db_path, OPTIONS, command=command)
    return other, command


def test_redo_from_one_source_keeps_the_other_sources_scores_stale_and_says_how_to_recompute_them(reference, tmp_path, env, caplog):
    from automl_meta.learners import LEARNERS as SPECS
    from automl_meta.learners.portfolio import learner_version

    folder, db_path = _copy_reference(reference, tmp_path)
    other, command = _second_source(tmp_path, db_path)
    _age_learner(db_path, "knn")
    knn_on_delta = "SELECT s.metric, s.mean, e.protocol FROM scores s JOIN evaluations e USING (dataset_id, learner_id)" \
                   " JOIN datasets d ON d.id = s.dataset_id JOIN learners l ON l.id = s.learner_id WHERE d.name = 'delta' AND l.name = 'knn'"
    with MetaDB.open(db_path) as db:
        before = sorted(db.conn.execute(knn_on_delta).fetchall())
    redo = BuildOptions(**{**OPTIONS.__dict__, "redo": ("knn",)})
    with caplog.at_level("WARNING", logger="automl_meta"):
        summary = build_metadb(f"dir:{folder}", db_path, redo)
    assert summary["evaluations_added"] == 3  # knn on this source's three datasets only
    with MetaDB.open(db_path) as db:
        after = sorted(db.conn.execute(knn_on_delta).fetchall())
        assert len(after) == 4 and [row[:2] for row in after] == [row[:2] for row in before]  # kept, every metric
        knn = db.conn.execute("SELECT id FROM learners WHERE name = 'knn' AND task = 'classification'").fetchone()[0]
        versions = db.evaluation_versions(knn)
    current = learner_version(SPECS["knn"], "classification")
    assert sorted(versions.values()) == [current, current, "old"]  # delta's stays from the older definition, not made current
    stale = [r.getMessage() for r in caplog.records if "older definition" in r.getMessage()]
    assert len(stale) == 1 and "knn on delta (source dir:" in stale[0] and stale[0].endswith(f"{command} --redo knn")

    caplog.clear()
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert build_metadb(f"dir:{folder}", db_path, redo)["evaluations_added"] == 0  # done once: A's are current now
        assert build_metadb(f"dir:{other}", db_path, redo)["evaluations_added"] == 1  # the command the warning gave
        assert build_metadb(f"dir:{folder}", db_path, OPTIONS)["evaluations_added"] == 0
    assert [r.getMessage() for r in caplog.records if "older definition" in r.getMessage()][:1] == stale  # warned until recomputed
    assert sum("older definition" in r.getMessage() for r in caplog.records) == 1


def test_a_refused_build_creates_no_database_and_leaves_an_existing_one_byte_identical(tmp_path, env):
    from typer.testing import CliRunner

    from automl_meta.cli.main import app

    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "labels.csv", index=False)  # classification only
    db_path = tmp_path / "m.sqlite"
    args = ["db", "build", "--source", f"dir:{folder}", "--db", str(db_path), "--max-rows", "80", "--mf-groups", ",".join(GROUPS), "--quiet"]
    refused = CliRunner().invoke(app, [*args, "--cv", "2", "--learners", "ridge"])
    assert refused.exit_code == 2 and "none of the learners named (ridge) serves classification" in " ".join(refused.stderr.split())
    assert not db_path.exists()
    built = CliRunner().invoke(app, [*args, "--cv", "3", "--learners", "dummy"])  # not taken for another protocol: nothing was built
    assert built.exit_code == 0, built.stderr
    before = db_path.read_bytes()
    for extra, message in ((["--cv", "3", "--learners", "ridge"], "none of the learners named (ridge) serves classification"),
                           (["--cv", "3", "--learners", "dummy,ridge", "--redo", "ridge"], "--redo ridge: it serves none of this build's tasks"),
                           (["--cv", "2", "--learners", "dummy"], "was built with protocol")):
        result = CliRunner().invoke(app, [*args, *extra])
        assert result.exit_code == 2 and message in " ".join(result.stderr.split()), (extra, result.output)
        assert db_path.read_bytes() == before, extra
    shown = CliRunner().invoke(app, [*args[:-1], "--cv", "2", "--learners", "dummy"])  # not --quiet: a bar could show
    assert shown.exit_code == 2 and shown.stderr.startswith("error:")  # no progress line before the refusal of the protocol


def test_a_refused_build_leaves_a_schema_one_file_unmigrated_and_a_build_that_goes_ahead_migrates_it(tmp_path, env):
    import sqlite3

    from typer.testing import CliRunner

    from automl_meta.cli.main import app
    from automl_meta.metadb import schema

    folder = tmp_path / "data"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "labels.csv", index=False)
    db_path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.executescript("BEGIN;" + schema.BASE_SCHEMA + "PRAGMA user_version = 1;COMMIT;")
    conn.close()
    before = db_path.read_bytes()
    args = ["db", "build", "--source", f"dir:{folder}", "--db", str(db_path), "--max-rows", "80", "--mf-groups", ",".join(GROUPS),
            "--cv", "2", "--quiet"]
    refused = CliRunner().invoke(app, [*args, "--learners", "ridge"])
    assert refused.exit_code == 2 and "none of the learners named (ridge) serves classification" in " ".join(refused.stderr.split())
    assert db_path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["data", "old.sqlite"]
    built = CliRunner().invoke(app, [*args, "--learners", "dummy"])
    assert built.exit_code == 0, built.stderr
    with MetaDB.open(db_path) as db:
        assert schema.user_version(db.conn) == schema.SCHEMA_VERSION and len(db.datasets()) == 1


def test_redo_metafeatures_re_extracts_those_of_another_extractor_version_and_a_plain_rerun_names_them(reference, tmp_path, env, caplog):
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    folder, db_path = _copy_reference(reference, tmp_path)
    with MetaDB.open(db_path, readonly=False) as db, db.transaction() as conn:
        conn.execute("UPDATE mf_runs SET extractor_version = 'old' WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'beta')")
        conn.execute("UPDATE meta_features SET value = -1 WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'beta')")
    before = _rows(db_path)
    with caplog.at_level("WARNING", logger="automl_meta"):
        summary = build_metadb(f"dir:{folder}", db_path, OPTIONS)
    assert (summary["evaluations_added"], summary["metafeatures_extracted"]) == (0, 0)
    assert "the meta-features of beta come from extractor version old" in caplog.text and "--redo metafeatures" in caplog.text
    assert _rows(db_path) == before
    options = BuildOptions(**{**OPTIONS.__dict__, "redo": ("metafeatures",)})
    summary = build_metadb(f"dir:{folder}", db_path, options)
    assert (summary["evaluations_added"], summary["metafeatures_extracted"]) == (0, 1)
    after = _rows(db_path)
    assert after == _rows(reference[1])  # beta's values extracted again, as the reference build stored them
    with MetaDB.open(db_path) as db:
        assert set(db.metafeature_versions().values()) == {EXTRACTOR_VERSION}


def test_meta_features_of_a_newer_extractor_are_kept_even_with_redo_and_the_warning_asks_for_an_upgrade(reference, tmp_path, env,
                                                                                                         caplog):
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    folder, db_path = _copy_reference(reference, tmp_path)
    newer = str(int(EXTRACTOR_VERSION) + 1)
    with MetaDB.open(db_path, readonly=False) as db, db.transaction() as conn:
        conn.execute(f"UPDATE mf_runs SET extractor_version = '{newer}' WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'beta')")
    options = BuildOptions(**{**OPTIONS.__dict__, "redo": ("metafeatures",)})
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert build_metadb(f"dir:{folder}", db_path, options)["metafeatures_extracted"] == 0
    assert f"the meta-features of beta come from extractor version {newer}, newer than this automl-meta's" in caplog.text
    assert "upgrade automl-meta" in caplog.text and "--redo metafeatures" not in caplog.text
    with MetaDB.open(db_path) as db:
        assert newer in db.metafeature_versions().values()  # not replaced by this older extractor's


def test_redo_metafeatures_from_one_source_names_the_older_ones_of_another_and_how_to_re_extract_them(reference, tmp_path, env, caplog):
    folder, db_path = _copy_reference(reference, tmp_path)
    other, command = _second_source(tmp_path, db_path)
    with MetaDB.open(db_path, readonly=False) as db, db.transaction() as conn:
        conn.execute("UPDATE mf_runs SET extractor_version = 'old' WHERE dataset_id IN (SELECT id FROM datasets WHERE name IN ('beta', 'delta'))")
    options = BuildOptions(**{**OPTIONS.__dict__, "redo": ("metafeatures",)})
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert build_metadb(f"dir:{folder}", db_path, options)["metafeatures_extracted"] == 1  # beta, of this source
    elsewhere = [r.getMessage() for r in caplog.records if "(source dir:" in r.getMessage()]
    assert len(elsewhere) == 1 and elsewhere[0].startswith(f"the meta-features of delta (source dir:{other})")
    assert elsewhere[0].endswith(f"{command} --redo metafeatures")
    caplog.clear()
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert build_metadb(f"dir:{other}", db_path, options)["metafeatures_extracted"] == 1  # the command the warning gave
        assert build_metadb(f"dir:{folder}", db_path, options)["metafeatures_extracted"] == 0
    assert "(source dir:" not in caplog.text


def test_a_build_that_planned_before_another_stored_its_name_from_other_data_stops_instead_of_mixing(tmp_path, env):
    from automl_meta.metadb.build import prepare_build, run_build
    from automl_meta.metadb.parallel import SerialExecutor
    from automl_meta.metadb.build_dir import dir_refs

    first, second = tmp_path / "first", tmp_path / "second"
    for folder, seed in ((first, 1), (second, 2)):
        folder.mkdir()
        make_mixed_frame(60 + 20 * seed, seed=seed).to_csv(folder / "shared.csv", index=False)
    db_path = tmp_path / "m.sqlite"
    executor = SerialExecutor()
    plan = prepare_build(None, dir_refs(first), OPTIONS, executor)  # planned on a database with no such row yet
    build_metadb(f"dir:{second}", db_path, OPTIONS)  # meanwhile another build stores 'shared' from other data
    before = _rows(db_path)
    with MetaDB.open(db_path, create=True) as db, pytest.raises(UsageError, match="another build stored a dataset of that name"):
        run_build(db, plan, OPTIONS, executor, f"dir:{first}")
    assert _rows(db_path) == before  # the other build's rows, untouched


def test_a_file_removed_from_the_folder_since_its_build_is_named_and_its_dataset_kept(reference, tmp_path, env, caplog):
    # the rebuild said nothing, while selectors went on learning from the dataset of a file no longer there
    folder, _ = _copy_reference(reference, tmp_path)
    db_path = tmp_path / "own.sqlite"
    build_metadb(f"dir:{folder}", db_path, OPTIONS)  # built from this folder, as the user's was
    (folder / "alpha.csv").unlink()
    with caplog.at_level("WARNING", logger="automl_meta"):
        summary = build_metadb(f"dir:{folder}", db_path, OPTIONS)
    assert summary["failed"] == 0
    assert f"stored from dir:{folder}, alpha: no file there any more; kept in the meta-database" in caplog.text
    with MetaDB.open(db_path) as db:
        assert "alpha" in set(db.datasets()["name"])


def test_scores_of_a_dataset_whose_rare_classes_were_dropped_say_so(tmp_path, env):
    # stored silently beside a 4-class description: a dummy's 0.5 balanced accuracy was 1/2, of the 2 classes left
    folder = tmp_path / "src"
    folder.mkdir()
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    y = np.where(x + rng.normal(scale=0.7, size=200) > 0, "A", "B").astype(object)
    y[:2], y[2] = "C", "D"
    pd.DataFrame({"x": x, "w": rng.normal(size=200), "target": y}).to_csv(folder / "rare.csv", index=False)
    db_path = tmp_path / "m.sqlite"
    summary = build_metadb(f"dir:{folder}", db_path, BuildOptions(cv=3, max_rows=None, learners=("dummy",)))
    notes = [n["note"] for n in summary["notes"]]
    assert notes == ["dropped 1 rows of classes with a single row: 'D'", "dropped 2 rows of classes with fewer rows than the 3 folds: 'C' (2)"]
    with MetaDB.open(db_path) as db:
        stored = db.evaluations()
    assert set(stored["reason"]) == {"; ".join(notes)} and set(stored["status"]) == {"ok"}  # one row per metric


def test_a_max_rows_too_small_for_the_folds_is_refused_before_any_work(tmp_path):
    # every evaluation was stored as failed, exit 0, and the database was locked to that protocol
    with pytest.raises(UsageError, match="--max-rows 15 is too small for 10 folds; give at least 20"):
        build_metadb(f"dir:{tmp_path}", tmp_path / "m.sqlite", BuildOptions(cv=10, max_rows=15))
    assert not (tmp_path / "m.sqlite").exists()


def test_a_renamed_or_copied_file_is_named_at_the_build_and_counts_once_for_selectors(reference, tmp_path, env, caplog):
    # stored twice without a word: recommend named the copy whose file was gone, selectors trained and were judged on both
    import shutil

    from automl_meta.io.metadb_resolve import selection_data

    folder, _ = _copy_reference(reference, tmp_path)
    db_path = tmp_path / "own.sqlite"
    build_metadb(f"dir:{folder}", db_path, OPTIONS)  # built from this folder, as the user's was
    shutil.copy(folder / "alpha.csv", folder / "alpha_copy.csv")
    (folder / "gamma.parquet").rename(folder / "gamma2.parquet")
    with caplog.at_level("WARNING", logger="automl_meta"):
        summary = build_metadb(f"dir:{folder}", db_path, OPTIONS)
    assert summary["same_data"] == {"alpha_copy": "alpha", "gamma2": "gamma"} and summary["files_gone"] == ["gamma"]
    assert "alpha_copy: the same data as alpha, which the meta-database holds" in caplog.text
    caplog.clear()
    with MetaDB.open(db_path) as db, caplog.at_level("WARNING", logger="automl_meta"):
        stored = db.datasets("classification").set_index("name")
        meta_X, scores = selection_data(db, "classification", "balanced_accuracy")
        assert db.find_by_content("classification", stored.loc["gamma", "content_hash"]) == "gamma2"  # whose file is there
    assert sorted(scores.index) == sorted(meta_X.index) == ["alpha_copy", "gamma2"]  # the latest of equals
    assert "alpha, gamma: the same data as alpha_copy, gamma2" in caplog.text


def test_a_learner_never_run_on_some_datasets_is_left_out_of_the_selectors_or_those_datasets_are(reference, tmp_path, env, caplog):
    # added after gamma's file was gone: counted as gamma's worst learner without a word
    from automl_meta.io.metadb_resolve import selection_data

    folder, db_path = _copy_reference(reference, tmp_path)
    (folder / "gamma.parquet").unlink()
    build_metadb(f"dir:{folder}", db_path, replace(OPTIONS, learners=(*LEARNERS, "logistic_regression")))
    with MetaDB.open(db_path) as db, caplog.at_level("WARNING", logger="automl_meta"):
        assert db.unrun_pairs("classification") == {"logistic_regression": ["gamma"]}
        meta_X, scores = selection_data(db, "classification", "balanced_accuracy")
    # one result of logistic_regression against gamma's three of the others: the learner goes
    assert sorted(scores.columns) == sorted(LEARNERS) and sorted(scores.index) == sorted(meta_X.index) == ["alpha", "gamma"]
    assert "logistic_regression was never run on 1 of the 2 classification datasets (gamma): left out of the selectors" in caplog.text


def test_a_same_named_file_of_another_folder_is_told_apart_from_a_changed_one(reference, tmp_path, env):
    # "c1 changed" for a file of another folder, whose fix then replaced the first folder's dataset
    folder, db_path, _ = reference
    other = tmp_path / "other"
    other.mkdir()
    make_mixed_frame(70, seed=8).to_csv(other / "alpha.csv", index=False)
    with pytest.raises(UsageError, match=rf"its results: alpha \(stored from dir:{folder}, with other data\); .*new names"):
        build_metadb(f"dir:{other}", db_path, OPTIONS)


def test_replace_changed_refuses_to_drop_the_results_of_learners_left_out_of_learners(reference, tmp_path, env):
    # knn's stored score was deleted and not recomputed, while the build said the results were recomputed
    folder, db_path = _copy_reference(reference, tmp_path)
    make_mixed_frame(90, seed=7).to_csv(folder / "alpha.csv", index=False)
    before = _rows(db_path)
    fewer = BuildOptions(**{**OPTIONS.__dict__, "replace_changed": True, "learners": ("dummy", "decision_tree")})
    with pytest.raises(UsageError, match="--learners leaves out knn, so its results there would be lost, not recomputed; add knn"):
        build_metadb(f"dir:{folder}", db_path, fewer)
    assert _rows(db_path) == before


def test_a_file_whose_target_is_an_identifier_is_a_failed_dataset_of_the_build(tmp_path, env):
    # every evaluation failed ("every class has a single row"), and the build said: 1 done, 0 failed
    folder = tmp_path / "src"
    folder.mkdir()
    make_mixed_frame(40, seed=1).assign(target=[f"r{i}" for i in range(40)]).to_csv(folder / "ids.csv", index=False)
    make_mixed_frame(60, seed=2).to_csv(folder / "good.csv", index=False)
    summary = build_metadb(f"dir:{folder}", tmp_path / "m.sqlite", OPTIONS)
    assert (summary["done"], summary["failed"]) == (1, 1)
    assert summary["failures"][0]["item"] == "ids" and "has a different value in every row" in summary["failures"][0]["reason"]


def test_one_folder_named_two_ways_is_one_source(reference, tmp_path, env, monkeypatch, caplog):
    # "stored from dir:/abs/data, with other data" for the same folder given as dir:data; and no files_gone then
    folder, _ = _copy_reference(reference, tmp_path)
    db_path = tmp_path / "own.sqlite"
    build_metadb(f"dir:{folder}", db_path, OPTIONS)
    monkeypatch.chdir(tmp_path)
    (folder / "beta.tsv.gz").unlink()
    summary = build_metadb("dir:data", db_path, OPTIONS)
    assert summary["files_gone"] == ["beta"]
    make_mixed_frame(90, seed=7).to_csv(folder / "alpha.csv", index=False)
    with pytest.raises(UsageError, match=r"its results: alpha; rerun"):
        build_metadb("dir:data", db_path, OPTIONS)


def test_replace_changed_does_not_ask_for_a_learner_that_cannot_serve_the_files_new_task(tmp_path, env):
    # "add logistic_regression to --learners" for a file now read as regression, which it cannot serve
    folder = tmp_path / "src"
    folder.mkdir()
    make_mixed_frame(80, seed=3).assign(target=np.arange(80) % 5).to_csv(folder / "ints.csv", index=False)
    db_path = tmp_path / "m.sqlite"
    build_metadb(f"dir:{folder}", db_path, replace(OPTIONS, learners=(*LEARNERS, "logistic_regression")))
    (folder / "MANIFEST.csv").write_text("name,task\nints,regression\n")
    summary = build_metadb(f"dir:{folder}", db_path, replace(OPTIONS, replace_changed=True))
    assert summary["replaced"] == ["ints"]


def test_two_new_files_of_the_same_data_are_not_said_to_be_held_already(tmp_path, env, caplog):
    folder = tmp_path / "src"
    folder.mkdir()
    make_mixed_frame(60, seed=1).to_csv(folder / "a.csv", index=False)
    make_mixed_frame(60, seed=1).to_csv(folder / "b.csv", index=False)
    with caplog.at_level("WARNING", logger="automl_meta"):
        summary = build_metadb(f"dir:{folder}", tmp_path / "m.sqlite", OPTIONS)
    assert summary["same_data"] == {"b": "a"} and "b: the same data as a, also new in this build" in caplog.text
