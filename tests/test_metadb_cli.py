"""`automl-meta db build|info|export` through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.exceptions import DatasetError
from automl_meta.io.dataset_folder import dataset_name, list_dataset_folder
from automl_meta.metadb import MetaDB

runner = CliRunner()


@pytest.fixture(scope="module")
def weka_db(shared_dir: Path, tmp_path_factory) -> Path:
    scenario = shared_dir / "aslib" / "OPENML-WEKA-2017"
    if not scenario.is_dir():
        pytest.skip("needs ../shared/aslib/OPENML-WEKA-2017")
    path = tmp_path_factory.mktemp("db") / "weka.sqlite"
    result = runner.invoke(app, ["db", "build", "--source", f"aslib:{scenario}", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["done"] == 105 and summary["evaluations_added"] == 3150
    return path


def test_db_info_json_reports_counts_per_task(weka_db):
    result = runner.invoke(app, ["db", "info", "--db", str(weka_db), "--json"])
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["n_datasets"], info["n_learners"], info["n_evaluations"]) == (105, 30, 3150)
    assert info["tasks"]["aslib:OPENML-WEKA-2017"]["default_metric"] == "predictive_accuracy"
    assert "scikit-learn" in info["versions"]


def test_db_info_prints_a_table_that_fits_80_columns(weka_db):
    result = runner.invoke(app, ["db", "info", "--db", str(weka_db)], terminal_width=80)
    assert result.exit_code == 0
    assert "105 datasets" in result.stdout
    assert "aslib:OPENML-WEKA-2017" in result.stdout  # the task's full name: no column squeezed
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.stdout.splitlines() if line.count("│") == 3}
    assert (rows["evaluations"], rows["default metric"]) == ("3150", "predictive_accuracy")


def test_db_info_names_a_build_killed_before_it_could_close_and_how_to_resume_it(weka_db, tmp_path):
    import shutil
    import sqlite3
    import subprocess
    import sys

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    copy = tmp_path / "killed.sqlite"
    shutil.copy(weka_db, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE builds SET status = 'running', finished = NULL, pid = ?", (int(ended.stdout),))
    result = runner.invoke(app, ["db", "info", "--db", str(copy)], terminal_width=200)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "build 1 (" in text and "is interrupted; rerun its command to resume it: automl-meta db build --source aslib:" in text
    assert "is interrupted" not in runner.invoke(app, ["db", "info", "--db", str(weka_db)]).stdout
    assert "relative" not in text  # its source folder is absolute

    with sqlite3.connect(copy) as conn:  # as if built with `--source aslib:scenarios/weka` from another folder
        command = conn.execute("SELECT command FROM builds").fetchone()[0]
        source = command.split("--source ")[1].split()[0]
        conn.execute("UPDATE builds SET command = ?", (command.replace(source, "aslib:scenarios/weka"),))
    text = " ".join(runner.invoke(app, ["db", "info", "--db", str(copy)], terminal_width=200).stdout.split())
    assert "--source aslib:scenarios/weka" in text
    assert "(from the folder that build ran in: scenarios/weka is relative to it and is not found from here)" in text


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".tsv", ".csv.gz", ".tsv.zip"])
def test_db_export_writes_wide_scores(weka_db, tmp_path, suffix):
    out = tmp_path / f"scores{suffix}"
    result = runner.invoke(app, ["db", "export", "--db", str(weka_db), "--out", str(out), "--table", "scores"])
    assert result.exit_code == 0, result.stderr
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, sep="\t" if ".tsv" in suffix else ",")
    assert frame.shape == (105, 31) and "2369_weka.RandomForest" in frame.columns


def test_db_export_evaluations_is_long_with_json_fold_scores(weka_db, tmp_path):
    out = tmp_path / "evals.csv"
    result = runner.invoke(app, ["db", "export", "--db", str(weka_db), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 3150 and set(frame["status"]) == {"ok"}
    assert json.loads(frame["fold_scores"].iloc[0]) == []


def test_db_export_rejects_other_file_types(weka_db, tmp_path):
    for name in ("x.xlsx", "x", "x.parquet.gz"):
        result = runner.invoke(app, ["db", "export", "--db", str(weka_db), "--out", str(tmp_path / name)])
        assert result.exit_code == 2
        assert f"{name}: give an output file ending in .csv, .tsv or .parquet" in result.stderr
    result = runner.invoke(app, ["db", "export", "--db", str(weka_db), "--out", str(tmp_path / ".csv")])
    assert result.exit_code == 2 and ".csv: give the file a name before its extension, e.g. results.csv" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("source", ["aslib:scenario", "openml-runs:runs=1"])
def test_db_build_refuses_options_of_evaluation_for_a_source_whose_runs_it_imports(tmp_path, source):
    result = runner.invoke(app, ["db", "build", "--source", source, "--db", str(tmp_path / "m.sqlite"),
                                 "--learners", "no_such_learner", "--cv", "3"])
    assert result.exit_code == 2 and not (tmp_path / "m.sqlite").exists()
    assert f"--cv, --learners set how learners are evaluated, and an {source.split(':')[0]}: source imports its runs" in result.stderr


@pytest.mark.parametrize(("source", "args", "message"), [
    ("aslib:scenario", ["--jobs", "4", "--random-state", "7"], "--jobs, --random-state set how the work is run, and an aslib: source"),
    ("openml-runs:runs=1", ["--dask", "local"], "--dask sets how the work is run, and an openml-runs: source"),
    ("aslib:scenario", ["--openml-timeout", "5"], "--openml-timeout sets how OpenML is reached, and an aslib: source reads nothing from it"),
    ("dir:folder", ["--openml-server", "http://x", "--openml-retries", "2"], "--openml-server, --openml-retries set how OpenML is reached, and a dir:"),
])
def test_db_build_refuses_options_that_do_not_apply_to_its_source(tmp_path, source, args, message):
    result = runner.invoke(app, ["db", "build", "--source", source, "--db", str(tmp_path / "m.sqlite"), *args])
    assert result.exit_code == 2 and message in " ".join(result.stderr.split()) and not (tmp_path / "m.sqlite").exists()


def test_an_aslib_build_records_a_command_that_runs_again(aslib_dir, tmp_path):
    import shlex

    db_path, source = tmp_path / "m.sqlite", f"aslib:{aslib_dir / 'CSP-2010'}"
    assert runner.invoke(app, ["db", "build", "--source", source, "--db", str(db_path), "-q"]).exit_code == 0
    with MetaDB.open(db_path) as store:
        command = store.builds()["command"].iloc[0]
    assert command == f"automl-meta db build --source {shlex.quote(source)} --db {shlex.quote(str(db_path))}"
    again = runner.invoke(app, shlex.split(command)[1:] + ["--json"])
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["evaluations_added"] == 0


def test_db_build_takes_replace_changed_for_an_aslib_scenario(tmp_path):
    folder = tmp_path / "Q"
    folder.mkdir()
    (folder / "description.txt").write_text("scenario_id: Q\nperformance_measures: [accuracy]\nmaximize: [true]\n"
                                            "performance_type: [solution_quality]\n", encoding="utf-8")
    (folder / "feature_values.arff").write_text("@RELATION f\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n"
                                                "@ATTRIBUTE f1 NUMERIC\n@DATA\ni1,1,1.0\ni2,1,2.0\n", encoding="utf-8")
    runs = folder / "algorithm_runs.arff"
    runs.write_text("@RELATION r\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n@ATTRIBUTE algorithm STRING\n"
                    "@ATTRIBUTE accuracy NUMERIC\n@ATTRIBUTE runstatus {ok}\n@DATA\ni1,1,a1,0.8,ok\ni2,1,a1,0.7,ok\n", encoding="utf-8")
    args = ["db", "build", "--source", f"aslib:{folder}", "--db", str(tmp_path / "m.sqlite"), "--quiet"]
    assert runner.invoke(app, args).exit_code == 0
    runs.write_text(runs.read_text().replace("i2,1,a1,0.7", "i2,1,a1,0.9"))
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "rerun with --replace-changed" in " ".join(refused.stderr.split())
    replaced = runner.invoke(app, [*args, "--replace-changed"])
    assert replaced.exit_code == 0, replaced.stderr
    assert "replaced: scenario Q (1 stored runs differ, such as a1 on 'i2' (0.7 stored, 0.9 now)): its 2 stored instances were dropped" in " ".join(replaced.stderr.split())
    again = json.loads(runner.invoke(app, [*args, "--replace-changed", "--json"]).stdout)
    assert (again["replaced"], again["already_stored"]) == ([], 2)


def test_db_build_refuses_an_openml_cache_that_is_a_file_before_any_work(tmp_path):
    a_file = tmp_path / "notadir"
    a_file.write_text("")
    result = runner.invoke(app, ["db", "build", "--source", "openml-runs:runs=1", "--db", str(tmp_path / "g.sqlite"),
                                 "--openml-cache", str(a_file)])
    assert result.exit_code == 2 and "notadir: a file, not a folder" in result.stderr and not (tmp_path / "g.sqlite").exists()


def test_db_build_rejects_an_unknown_source(tmp_path):
    result = runner.invoke(app, ["db", "build", "--source", "ftp:somewhere", "--db", str(tmp_path / "m.sqlite")])
    assert result.exit_code == 2
    assert "unknown source" in result.stderr


def test_db_build_rejects_dask_and_scheduler_together(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x,target\n1,0\n2,1\n")
    result = runner.invoke(app, ["db", "build", "--source", f"dir:{tmp_path / 'data'}", "--db", str(tmp_path / "m.sqlite"),
                                 "--dask", "local", "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_db_build_names_a_failed_dataset_once(tmp_path, caplog):
    data = tmp_path / "data"
    data.mkdir()
    rows = "\n".join(f"{i},{(i * 7) % 5},{i % 2}" for i in range(40))
    (data / "good.csv").write_text("x,z,target\n" + rows + "\n")
    (data / "bad.csv").write_text("x,target\n1,0\n")
    with caplog.at_level("WARNING", logger="automl_meta"):
        result = runner.invoke(app, ["db", "build", "--source", f"dir:{data}", "--db", str(tmp_path / "m.sqlite"),
                                     "--learners", "dummy", "--cv", "2", "--quiet"])
    assert result.exit_code == 0, result.stderr
    assert "1 datasets done, 1 failed" in " ".join(result.stdout.split())
    assert "already stored, meta-features of 1 extracted (" in " ".join(result.stdout.split())
    failures = [line for line in result.stderr.splitlines() if "bad" in line]
    assert len(failures) == 1 and "only 1 row with a target" in failures[0]
    assert "bad" not in caplog.text  # the summary line is the only report, not a log line besides it


def test_db_manifest_lists_a_failed_dataset_with_its_reason(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.csv").write_text("x,z,target\n" + "\n".join(f"{i},{(i * 7) % 5},{i % 2}" for i in range(40)) + "\n")
    (data / "bad.csv").write_text("x,target\n1,0\n")
    db = tmp_path / "m.sqlite"
    build = ["db", "build", "--source", f"dir:{data}", "--db", str(db), "--learners", "dummy", "--cv", "2", "--quiet"]
    assert runner.invoke(app, build).exit_code == 0
    result = runner.invoke(app, ["db", "manifest", "--db", str(db), "--out", str(tmp_path / "MANIFEST.json")])
    assert result.exit_code == 0, result.stderr
    datasets = {d["name"]: d for d in json.loads((tmp_path / "MANIFEST.json").read_text())["datasets"]}
    assert datasets["bad"]["status"] == "failed" and datasets["bad"]["content_hash"] is None
    assert "only 1 row with a target" in datasets["bad"]["reason"]
    assert datasets["good"]["status"] == "ok" and "reason" not in datasets["good"] and len(datasets["good"]["content_hash"]) > 0


def test_db_info_on_a_missing_file_says_how_to_build(tmp_path):
    result = runner.invoke(app, ["db", "info", "--db", str(tmp_path / "absent.sqlite")])
    assert result.exit_code == 2  # bad input: the path given does not exist
    assert "db build" in result.stderr
    (tmp_path / "empty.sqlite").touch()
    result = runner.invoke(app, ["db", "info", "--db", str(tmp_path / "empty.sqlite")])
    assert result.exit_code == 2 and "an empty file, not a meta-database" in result.stderr


def test_dataset_folder_names_strip_table_and_compression_suffixes(tmp_path):
    assert dataset_name(Path("1027_ESL.tsv.gz")) == "1027_ESL"
    assert dataset_name(Path("my.data.v2.csv")) == "my.data.v2"
    (tmp_path / "MANIFEST.csv").write_text("name,task\nb,regression\n")
    (tmp_path / "a.csv").write_text("x,target\n1,0\n")
    (tmp_path / "b.parquet").write_bytes(b"")
    (tmp_path / "notes.md").write_text("not data")
    entries = list_dataset_folder(tmp_path)
    assert [(e.name, e.task) for e in entries] == [("a", "auto"), ("b", "regression")]


def test_a_manifest_row_may_name_the_file_and_a_row_that_matches_none_is_named(tmp_path, caplog):
    (tmp_path / "MANIFEST.csv").write_text("name,task,target\nt2.csv,classification,lbl\nt9,regression,\n")
    (tmp_path / "t2.csv").write_text("a,lbl,z\n1,p,0.5\n")
    with caplog.at_level("WARNING", logger="automl_meta"):
        entries = list_dataset_folder(tmp_path)
    assert [(e.name, e.task, e.target) for e in entries] == [("t2", "classification", "lbl")]
    assert "the manifest lists 1 name(s) that match no file of the folder (t9)" in caplog.text


@pytest.mark.parametrize(("rows", "message"), [
    ("m1,classification,lab\nm1,regression,score\n", "lines 2 and 3 both describe 'm1'; give each file one line"),
    ("m1,classification,lab\nm1.csv,regression,score\n", "the manifest describes m1.csv twice, as 'm1' and as 'm1.csv'; keep one line"),
])
def test_a_manifest_describing_a_file_twice_is_refused_not_read_as_its_last_line(tmp_path, rows, message):
    (tmp_path / "MANIFEST.csv").write_text("name,task,target\n" + rows)
    (tmp_path / "m1.csv").write_text("lab,a,score\n" + "".join(f"{i % 2},{i},{i * 0.5}\n" for i in range(30)))
    db = tmp_path / "x.sqlite"
    result = runner.invoke(app, ["db", "build", "--source", f"dir:{tmp_path}", "--db", str(db), "--learners", "dummy", "--quiet"])
    assert result.exit_code == 2 and message in result.stderr and not db.exists()


def test_a_build_whose_every_dataset_failed_exits_2_and_names_the_fix_a_folder_takes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "broken.csv").write_text('a,b,target\n1,2,"x\n3\n')
    (data / "notarget.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    (data / "MANIFEST.csv").write_text("name,task,target\nnotarget,classification,label\n")
    db = tmp_path / "z.sqlite"
    result = runner.invoke(app, ["db", "build", "--source", f"dir:{data}", "--db", str(db), "--learners", "dummy", "--json"])
    assert result.exit_code == 2 and json.loads(result.stdout)["failed"] == 2
    assert "no dataset of dir:" in result.stderr and "all 2 failed" in result.stderr
    # with --json no failed: lines precede it, so it points at the JSON and gives the first reason ("reasons above" before)
    assert "(reasons in the JSON's failures; the first: broken: DatasetError" in " ".join(result.stderr.split())
    reasons = " ".join(f["reason"] for f in json.loads(result.stdout)["failures"])
    assert "--sep" not in reasons and "--target" not in reasons
    assert "save it with one of , ; TAB | between fields" in reasons and "name the target in the folder's MANIFEST.csv" in reasons


def test_db_manifest_finalize_ships_a_rollback_journal_file(weka_db, tmp_path):
    import shutil
    import sqlite3

    copy = tmp_path / "ship.sqlite"
    shutil.copy(weka_db, copy)
    result = runner.invoke(app, ["db", "manifest", "--db", str(copy), "--out", str(tmp_path / "MANIFEST.json"), "--finalize"])
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert len(manifest["datasets"]) == 105 and manifest["n_evaluations"] == 3150
    assert {"name", "task", "n_rows", "n_features"} <= set(manifest["datasets"][0])
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM builds").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM builds WHERE pid IS NOT NULL OR host IS NOT NULL").fetchone()[0] == 0


@pytest.mark.parametrize("option, message", [
    (["--mf-groups", "bogus"], "unknown meta-feature group 'bogus'"),
    (["--mf-groups", ","], "no meta-feature group given"),
    (["--learners", ","], "--learners names no learner"),
    (["--redo", "nope"], "unknown learner 'nope'"),
    (["--redo", "knn"], "--redo knn: not among --learners (dummy), so this build would not recompute it"),
], ids=["unknown-group", "no-group", "no-learner", "unknown-redo", "redo-left-out"])
def test_db_build_refuses_unknown_names_before_creating_the_database(tmp_path, option, message):
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.csv").write_text("x,z,target\n" + "\n".join(f"{i},{(i * 7) % 5},{i % 2}" for i in range(40)) + "\n")
    db = tmp_path / "m.sqlite"
    result = runner.invoke(app, ["db", "build", "--source", f"dir:{data}", "--db", str(db), "--learners", "dummy", "--cv", "2", "--quiet", *option])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert not db.exists()


def test_db_build_resumes_whatever_the_order_of_the_meta_feature_groups(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.csv").write_text("x,z,target\n" + "\n".join(f"{i},{(i * 7) % 5},{i % 2}" for i in range(40)) + "\n")
    build = ["db", "build", "--source", f"dir:{data}", "--db", str(tmp_path / "m.sqlite"), "--learners", "dummy", "--cv", "2", "--json"]
    assert runner.invoke(app, [*build, "--mf-groups", "statistical,general"]).exit_code == 0
    again = runner.invoke(app, [*build, "--mf-groups", "general,statistical"])
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["already_stored"] == 1


def test_db_commands_refuse_what_is_not_a_meta_database_as_bad_input_and_leave_it_unchanged(tmp_path):
    import hashlib
    import sqlite3

    text = tmp_path / "notes.sqlite"
    text.write_text("not a database\n")
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE x(a)")
    conn.close()
    data = tmp_path / "data"
    data.mkdir()
    (data / "good.csv").write_text("x,z,target\n" + "\n".join(f"{i},{(i * 7) % 5},{i % 2}" for i in range(40)) + "\n")
    for path, message in ((text, "not an SQLite file"), (foreign, "not an automl-meta meta-database"), (data, "a folder, not a meta-database file")):
        before = None if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        for command in (["db", "info", "--db", str(path)],
                        ["db", "manifest", "--db", str(path), "--out", str(tmp_path / "M.json"), "--finalize"],
                        ["db", "build", "--source", f"dir:{data}", "--db", str(path), "--learners", "dummy", "--cv", "2", "-q"]):
            result = runner.invoke(app, command)
            assert result.exit_code == 2, (command, result.output)
            assert message in " ".join(result.stderr.split()), (command, result.stderr)
        if before is not None:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # not switched to WAL, not vacuumed
            assert not Path(f"{path}-wal").exists()
    assert not (tmp_path / "M.json").exists()


def test_a_file_fixed_after_a_failed_build_leaves_no_failed_row(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = "x,z,target\n" + "\n".join(f"{i},{(i * 7) % 5},{i % 2}" for i in range(40)) + "\n"
    (data / "good.csv").write_text(rows)
    (data / "bad.csv").write_text("x,target\n1,0\n")
    db = tmp_path / "m.sqlite"
    build = ["db", "build", "--source", f"dir:{data}", "--db", str(db), "--learners", "dummy", "--cv", "2", "--quiet", "--json"]
    assert json.loads(runner.invoke(app, build).stdout)["failed"] == 1
    (data / "bad.csv").write_text(rows)  # fixed
    assert json.loads(runner.invoke(app, build).stdout)["failed"] == 0
    info = json.loads(runner.invoke(app, ["db", "info", "--db", str(db), "--json"]).stdout)
    assert info["n_datasets"] == 2 and info["n_failed_datasets"] == 0


def test_db_export_refuses_a_folder_the_database_itself_or_an_unknown_task(weka_db, tmp_path):
    folder = tmp_path / "out.csv"
    folder.mkdir()
    for out_file, extra, message in (
        (folder, [], "is a folder; give a file name"),
        (tmp_path / "x.csv", ["--task", "nonesuch"], "the database has no task 'nonesuch'; its tasks: aslib:OPENML-WEKA-2017"),
    ):
        result = runner.invoke(app, ["db", "export", "--db", str(weka_db), "--out", str(out_file), *extra])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.stderr.split())
    copy = tmp_path / "db.parquet"  # a meta-database whose name ends like an export
    copy.write_bytes(weka_db.read_bytes())
    result = runner.invoke(app, ["db", "export", "--db", str(copy), "--out", str(copy)])
    assert result.exit_code == 2 and "is the meta-database" in result.stderr
    assert copy.read_bytes() == weka_db.read_bytes()
    result = runner.invoke(app, ["db", "manifest", "--db", str(weka_db), "--out", str(folder)])
    assert result.exit_code == 2 and "is a folder" in result.stderr


def test_a_schema_one_file_is_refused_with_exit_2_and_how_to_migrate_it(tmp_path):
    import sqlite3

    from automl_meta.metadb import schema

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("BEGIN;" + schema.BASE_SCHEMA + "PRAGMA user_version = 1;COMMIT;")
    conn.close()
    result = runner.invoke(app, ["db", "info", "--db", str(path)])
    assert result.exit_code == 2
    assert "version 1 is not supported" in result.stderr and "a build into it migrates it" in " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def two_task_db(tmp_path_factory) -> Path:
    """Two classification files and one regression file, built with dummy, knn and ridge."""
    import numpy as np

    root = tmp_path_factory.mktemp("two-task")
    data = root / "d"
    data.mkdir()
    rng = np.random.default_rng(0)
    for name, regression in (("c0", False), ("c1", False), ("r0", True)):
        X = rng.normal(size=(120, 3))
        frame = pd.DataFrame(X, columns=list("abc"))
        frame["target"] = X[:, 0] * 2 + rng.normal(size=120) if regression else (X[:, 0] > 0).astype(int)
        frame.to_csv(data / f"{name}.csv", index=False)
    path = root / "m.sqlite"
    result = runner.invoke(app, ["db", "build", "--source", f"dir:{data}", "--db", str(path), "--cv", "2", "--learners", "dummy,knn,ridge",
                                 "--mf-groups", "general", "--quiet"])
    assert result.exit_code == 0, result.stderr
    return path


def test_db_export_scores_of_a_metric_are_those_of_the_tasks_that_record_it(two_task_db, tmp_path):
    out = tmp_path / "r2.csv"
    result = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--table", "scores", "--metric", "r2", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame["dataset"]) == ["r0"] and list(frame.columns) == ["dataset", "dummy", "knn", "ridge"]
    assert frame[["dummy", "knn", "ridge"]].notna().all(axis=None)
    refused = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--table", "scores", "--task", "classification",
                                  "--metric", "rmse", "--out", str(tmp_path / "x.csv")])
    assert refused.exit_code == 2 and not (tmp_path / "x.csv").exists()
    assert "classification records no rmse scores" in refused.stderr and "regression: mae, r2, rmse" in " ".join(refused.stderr.split())


def test_db_export_scores_say_which_metric_and_which_way_it_is_better(two_task_db, tmp_path):
    loss = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--table", "scores", "--metric", "rmse",
                               "--out", str(tmp_path / "rmse.csv"), "--json"])
    assert loss.exit_code == 0, loss.stderr
    doc = json.loads(loss.stdout)
    assert doc["metric"] == "rmse" and doc["maximize"] is False
    text = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--table", "scores", "--task", "classification",
                               "--out", str(tmp_path / "acc.csv")], terminal_width=200)
    assert text.exit_code == 0 and "(scores of balanced_accuracy, higher is better)" in text.stdout
    other = json.loads(runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--out", str(tmp_path / "e.csv"), "--json"]).stdout)
    assert other["metric"] is None and other["maximize"] is None  # the same keys for every table


def test_db_export_meta_gives_the_settings_db_info_shows(two_task_db, tmp_path):
    out = tmp_path / "meta.csv"
    result = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--table", "meta", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    settings = dict(zip(*pd.read_csv(out)[["key", "value"]].to_numpy().T))
    info = json.loads(runner.invoke(app, ["db", "info", "--db", str(two_task_db), "--json"]).stdout)
    assert json.loads(settings["default_metric"]) == {"classification": "balanced_accuracy", "regression": "r2"}
    assert json.loads(settings["protocol"]) == info["protocol"]
    refused = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--table", "meta", "--task", "regression",
                                  "--out", str(tmp_path / "x.csv")])
    assert refused.exit_code == 2 and "--table meta is not kept per task; drop --task" in refused.stderr


def test_db_export_mf_runs_names_each_dataset_and_keeps_to_the_task(two_task_db, tmp_path):
    out = tmp_path / "runs.csv"
    result = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--table", "mf_runs", "--task", "regression", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame["dataset"]) == ["r0"] and list(frame["task"]) == ["regression"] and list(frame["status"]) == ["ok"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--table", "evaluations", "--metric", "r2"], "--metric chooses the scores of --table scores; drop it for --table evaluations"),
    (["--table", "builds", "--task", "regression"], "--table builds is not kept per task; drop --task"),
])
def test_db_export_refuses_options_that_do_not_apply_to_the_table(two_task_db, tmp_path, extra, message):
    result = runner.invoke(app, ["db", "export", "--db", str(two_task_db), "--out", str(tmp_path / "x.csv"), *extra])
    assert result.exit_code == 2 and message in result.stderr and not (tmp_path / "x.csv").exists()


def test_db_export_scores_of_a_metric_several_tasks_record_asks_for_the_task(shared_dir, tmp_path):
    scenarios = [shared_dir / "aslib" / name for name in ("SAT11-HAND", "CSP-2010")]
    if not all(s.is_dir() for s in scenarios):
        pytest.skip("needs ../shared/aslib/SAT11-HAND and CSP-2010")
    path = tmp_path / "two.sqlite"
    for scenario in scenarios:
        assert runner.invoke(app, ["db", "build", "--source", f"aslib:{scenario}", "--db", str(path), "--quiet"]).exit_code == 0
    args = ["db", "export", "--db", str(path), "--table", "scores", "--metric", "runtime"]
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "all.csv")])
    assert refused.exit_code == 2 and not (tmp_path / "all.csv").exists()
    assert "several tasks record runtime scores (aslib:CSP-2010, aslib:SAT11-HAND); give --task" in " ".join(refused.stderr.split())
    one = runner.invoke(app, [*args, "--task", "aslib:CSP-2010", "--out", str(tmp_path / "csp.csv")])
    assert one.exit_code == 0, one.stderr
    assert len(pd.read_csv(tmp_path / "csp.csv")) == 2024


SHIPPED = Path(__file__).resolve().parents[1] / "meta_db" / "metadb.sqlite"


def test_a_copy_made_by_sqlite_dump_keeps_no_schema_version_and_is_read_by_its_tables(tmp_path):
    import sqlite3

    copy = tmp_path / "restored.sqlite"
    with sqlite3.connect(SHIPPED) as source, sqlite3.connect(copy) as target:
        target.executescript("\n".join(source.iterdump()))  # what `sqlite3 FILE .dump | sqlite3 COPY` makes: user_version 0
    info = runner.invoke(app, ["db", "info", "--db", str(copy), "--json"])
    assert info.exit_code == 0, info.stderr  # was "schema version 0 is not supported", and a build into it a KeyError
    assert (json.loads(info.stdout)["n_datasets"], json.loads(info.stdout)["schema_version"]) == (123, 3)
    said = " ".join(info.stderr.split())
    assert "records schema version 0, but its tables are those of version 3" in said and "any `automl-meta db build` into it" in said
    query = tmp_path / "query.csv"
    query.write_text("x,y,target\n" + "".join(f"{i},{i * 7 % 13},{i % 2}\n" for i in range(60)))
    ranked = runner.invoke(app, ["recommend", str(query), "--db", str(copy), "--json"])
    assert ranked.exit_code == 0, ranked.stderr
    assert " ".join(ranked.stderr.split()).count("records schema version 0") <= 1  # was 4 times: once per opening
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "tiny.csv").write_text("x,target\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    built = runner.invoke(app, ["db", "build", "--source", f"dir:{folder}", "--db", str(copy), "--learners", "dummy", "--cv", "5",
                                "--max-rows", "2000", "--timeout", "60", "--json"])  # the copy's own protocol
    assert built.exit_code == 0, built.stderr
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3  # set back by the build
    again = runner.invoke(app, ["db", "info", "--db", str(copy)])
    assert again.exit_code == 0 and "records schema version" not in again.stderr


def test_a_foreign_file_with_a_table_named_evaluations_is_no_meta_database(tmp_path):
    import sqlite3

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE evaluations (id INTEGER)")
    before = foreign.read_bytes()
    result = runner.invoke(app, ["db", "info", "--db", str(foreign)])
    assert result.exit_code == 2 and "an SQLite file, but not an automl-meta meta-database" in " ".join(result.stderr.split())
    assert foreign.read_bytes() == before


def test_a_damaged_meta_database_is_named_as_damaged_with_the_fix(tmp_path):
    import sqlite3

    damaged = tmp_path / "m.sqlite"
    damaged.write_bytes(SHIPPED.read_bytes())
    with sqlite3.connect(damaged) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'meta_features'").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(damaged.read_bytes())
    for i in range((root - 1) * page + 100, root * page, 7):
        data[i] ^= 0xA5
    damaged.write_bytes(bytes(data))
    result = runner.invoke(app, ["db", "export", "--db", str(damaged), "--table", "meta-features", "--out", str(tmp_path / "mf.csv")])
    assert result.exit_code == 2  # was "DatabaseError: database disk image is malformed", exit 1, no file named
    assert f"{damaged}: damaged (database disk image is malformed); restore a copy of it" in " ".join(result.stderr.split())
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(SHIPPED.read_bytes()[:1_000_000])
    result = runner.invoke(app, ["db", "info", "--db", str(cut)])
    assert result.exit_code == 2 and f"{cut}: damaged" in " ".join(result.stderr.split())


def test_a_newer_schema_is_named_with_its_file(tmp_path):
    import sqlite3

    newer = tmp_path / "x.sqlite"
    newer.write_bytes(SHIPPED.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    result = runner.invoke(app, ["db", "info", "--db", str(newer)])
    assert result.exit_code == 2
    assert f"{newer}: meta-database schema version 99 is not supported (expected 3); upgrade automl-meta" in " ".join(result.stderr.split())


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_a_manifest_with_spaces_after_its_header_commas_or_saved_by_excel_is_read(tmp_path, encoding):
    # "name, task, target" was read as columns ' task' and ' target': the file's last column became the target, silently;
    # a Latin-1 / Windows-1252 manifest stopped the build with a raw UnicodeDecodeError
    (tmp_path / "MANIFEST.csv").write_bytes("Name, task, target\ndonnées, regression, price\n".encode(encoding))
    (tmp_path / "données.csv").write_text("x,price,kind\n1,2.5,a\n", encoding="utf-8")
    entries = list_dataset_folder(tmp_path)
    assert [(e.name, e.task, e.target) for e in entries] == [("données", "regression", "price")]


@pytest.mark.parametrize(("sql", "args", "message"), [
    ("UPDATE meta SET value = '{not json' WHERE key = 'protocol'", ["db", "info"], "its 'protocol' setting is not JSON"),
    ("UPDATE meta SET value = '[1, 2]' WHERE key = 'default_metric'", ["selector", "evaluate", "--seeds", "1", "--bootstrap", "0"],
     "its 'default_metric' setting is not a mapping"),
    ("UPDATE meta_features SET value = 'zzz' WHERE rowid = (SELECT MIN(rowid) FROM meta_features)",
     ["db", "export", "--table", "meta-features", "--out", "OUT"], "a meta-feature value is not a number"),
    ("UPDATE meta SET value = '[1]' WHERE key = 'default_metric'", ["db", "info"], "its 'default_metric' setting is not a mapping"),
    ("UPDATE meta SET value = '{\"classification\": 5}' WHERE key = 'default_metric'", ["db", "info"],
     "its 'default_metric' setting is not a mapping of tasks to metric names"),
    ("UPDATE meta SET value = '\"x\"' WHERE key = 'protocol'", ["db", "info"], "its 'protocol' setting is not a mapping"),
])
def test_content_no_build_writes_is_named_as_damaged_with_the_fix(tmp_path, sql, args, message):
    # these were JSONDecodeError, AttributeError or ValueError, exit 1, naming no file
    import sqlite3

    edited = tmp_path / "e.sqlite"
    edited.write_bytes(SHIPPED.read_bytes())
    with sqlite3.connect(edited) as conn:
        conn.execute(sql)
    result = runner.invoke(app, [*(str(tmp_path / "mf.csv") if a == "OUT" else a for a in args), "--db", str(edited)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.stderr.split())
    assert f"{edited}: damaged ({message}" in text and "restore a copy of it" in text


def test_a_folder_table_with_two_target_like_columns_is_a_data_failure_pointing_at_the_manifest(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    pd.DataFrame({"x": range(40), "Target": ["a", "b"] * 20, "TARGET": [0, 1, 2, 3] * 10}).to_csv(data / "two.csv", index=False)
    result = runner.invoke(app, ["db", "build", "--source", f"dir:{data}", "--db", str(tmp_path / "m.sqlite"), "--learners", "dummy",
                                 "--cv", "2"])
    assert result.exit_code == 2, result.output  # a data problem: it was a UsageError, exit 1, pointing at a --target db build lacks
    assert "the target column of the folder's MANIFEST.csv" in " ".join(result.stderr.split())


def test_db_info_spells_out_control_characters_of_a_metric_name(tmp_path):
    import sqlite3

    edited = tmp_path / "e.sqlite"
    edited.write_bytes(SHIPPED.read_bytes())
    with sqlite3.connect(edited) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'default_metric'",
                     (json.dumps({"classification": "PAR\x1b[41m10", "regression": "r2"}),))
    result = runner.invoke(app, ["db", "info", "--db", str(edited)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "PAR\\x1b[41m10" in result.stdout  # an ASlib measure's name reached the terminal raw


def test_a_manifest_line_without_a_name_is_named_with_its_line(tmp_path):
    (tmp_path / "MANIFEST.csv").write_text("task,name,target\nclassification\n")  # was KeyError: 'name', exit 1
    (tmp_path / "a.csv").write_text("x,target\n1,0\n")
    with pytest.raises(DatasetError, match="MANIFEST.csv: line 2 names no file"):
        list_dataset_folder(tmp_path)


@pytest.mark.parametrize("manifest", ["Manifest.csv", "MANIFEST.CSV"])
def test_a_manifest_named_in_another_case_is_the_manifest_not_a_dataset(tmp_path, manifest):
    # it was ignored, every task inferred, and the manifest itself evaluated as a dataset, exit 0
    (tmp_path / manifest).write_text("name,task,target\nt0,regression,y\n")
    (tmp_path / "t0.csv").write_text("a,y,target\n1,0.5,0\n")
    entries = list_dataset_folder(tmp_path)
    assert [(e.name, e.task, e.target) for e in entries] == [("t0", "regression", "y")]


def test_files_a_folder_build_skips_are_named(tmp_path, caplog):
    import gzip

    (tmp_path / "a.csv").write_text("x,target\n1,0\n")
    (tmp_path / "b.gz").write_bytes(gzip.compress(b"x,target\n1,0\n"))  # read by metafeatures, skipped by a build
    (tmp_path / "data").write_text("x,target\n1,0\n")
    (tmp_path / ".hidden.csv").write_text("x\n1\n")
    with caplog.at_level("WARNING", logger="automl_meta"):
        assert [e.name for e in list_dataset_folder(tmp_path)] == ["a"]
    assert "2 file(s) skipped, their names not those of a data file (b.gz, data)" in caplog.text


def test_a_dir_source_that_is_no_folder_is_named_with_its_spaces(tmp_path):
    with pytest.raises(DatasetError, match=r"^' X': not a folder"):
        list_dataset_folder(Path(" X"))


def test_db_build_refuses_a_name_too_long_for_sqlites_side_files_before_creating_it(tmp_path):
    (tmp_path / "a.csv").write_text("x,target\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    db = tmp_path / ("q" * 243 + ".sqlite")  # legal, but name-journal is not: unable to open database file, exit 1
    result = runner.invoke(app, ["db", "build", "--source", f"dir:{tmp_path}", "--db", str(db), "--learners", "dummy", "-q"])
    assert result.exit_code == 2 and "too long for SQLite's side files" in " ".join(result.stderr.split())
    assert not db.exists()
