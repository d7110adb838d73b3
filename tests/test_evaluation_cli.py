"""`automl-meta evaluate` and `automl-meta learners` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl_meta.cli.main import app
from conftest import interruptible, make_mixed_frame

runner = CliRunner()


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "mixed.csv"
    make_mixed_frame(120, seed=11).to_csv(path, index=False)
    return path


def test_evaluate_json_has_the_documented_schema_sorted_best_first(csv_file):
    result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy,lda,decision_tree", "--cv", "3", "--json"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"task", "metric", "n_rows", "n_features", "cv", "results"} <= set(payload)
    assert (payload["task"], payload["metric"], payload["n_rows"], payload["n_features"], payload["cv"]) == (
        "classification", "balanced_accuracy", 120, 4, 3)
    assert payload["maximize"] is payload["greater_is_better"] is True  # the key the other commands' JSON use, too
    rows = payload["results"]
    assert {r["learner"] for r in rows} == {"dummy", "lda", "decision_tree"}
    for r in rows:
        assert {"learner", "mean", "std", "fold_scores", "fit_seconds", "status", "reason"} <= set(r)
        assert r["status"] == "ok" and len(r["fold_scores"]) == 3 and r["reason"] == ""
    means = [r["mean"] for r in rows]
    assert means == sorted(means, reverse=True)
    assert rows[-1]["learner"] == "dummy"


def test_evaluate_prints_a_ranked_table(csv_file):
    result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy,lda", "--cv", "3", "--metric", "log_loss"])
    assert result.exit_code == 0, result.stderr
    assert "log_loss (lower is better)" in result.stdout
    lines = [line for line in result.stdout.splitlines() if "lda" in line or "dummy" in line]
    assert "lda" in lines[0] and "dummy" in lines[1]


def test_evaluate_names_its_target_and_what_reading_left_out(tmp_path):
    frame = make_mixed_frame(60, seed=2).assign(const=1.0)
    frame.loc[:4, "target"] = None
    data = tmp_path / "quiet.csv"
    frame.to_csv(data, index=False)
    table = runner.invoke(app, ["evaluate", str(data), "--learners", "dummy"], terminal_width=200)
    assert table.exit_code == 0, table.stderr
    text = " ".join(table.stdout.split())
    assert "ignored as constant or empty: const; 5 rows without a target dropped" in text and "(target 'target')" in text
    payload = json.loads(runner.invoke(app, ["evaluate", str(data), "--learners", "dummy", "--json"]).stdout)
    assert payload["target"] == "target" and payload["n_rows"] == 55
    assert payload["columns"]["constant"] == ["const"] and payload["columns"]["rows_without_target"] == 5


def test_evaluate_max_rows_is_recorded(csv_file):
    result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy", "--cv", "3", "--max-rows", "60", "--json"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["n_rows"] == 60 and payload["max_rows"] == 60 and payload["n_rows_original"] == 120


def test_evaluate_unknown_learner_exits_2_listing_valid_names(csv_file):
    result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy,boosted_magic"])
    assert result.exit_code == 2
    assert "unknown learner 'boosted_magic'" in result.stderr and "random_forest" in result.stderr


def test_evaluate_metric_of_the_wrong_task_exits_2(csv_file):
    result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy", "--metric", "rmse"])
    assert result.exit_code == 2
    assert "does not apply to classification" in result.stderr


def test_evaluate_seed_outside_numpys_range_exits_2(csv_file):
    result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy", "--random-state", "4294967296"])
    assert result.exit_code == 2
    assert "'--random-state'" in result.stderr and "4294967295" in result.stderr


def test_evaluate_regression_with_more_folds_than_rows_exits_2(tmp_path):
    path = tmp_path / "reg.csv"
    make_mixed_frame(200, seed=2, task="regression").to_csv(path, index=False)
    result = runner.invoke(app, ["evaluate", str(path), "--task", "regression", "--learners", "dummy", "--cv", "500", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: reg: 500 folds of 200 rows leave test folds of fewer than 2 rows, where regression scores (R²) are undefined; give --cv 100 or fewer"
    ]


def test_evaluate_timeout_must_be_positive_and_inf_or_a_huge_one_runs(csv_file):
    for value in ("nan", "0", "-1"):
        result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy", "--timeout", value])
        assert result.exit_code == 2 and "'--timeout': must be a positive number of seconds, or inf for no limit" in result.stderr
    for value in ("1e10", "inf"):  # inf: no limit, as recommend's --timeout and --fit-timeout take it
        result = runner.invoke(app, ["evaluate", str(csv_file), "--learners", "dummy", "--cv", "3", "--timeout", value, "--json"])
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["results"][0]["status"] == "ok"


def test_meta_train_and_db_build_take_inf_as_no_time_limit(tmp_path):
    train = runner.invoke(app, ["meta-train", "sinusoid", "--iterations", "1", "--meta-batch", "2", "--validation-tasks", "2",
                                "--validate-every", "0", "--device", "cpu", "--time-limit", "inf", "--out", str(tmp_path / "s.pt")])
    assert train.exit_code == 0, train.stderr
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "t.csv").write_text("x,target\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(30)))
    build = runner.invoke(app, ["db", "build", "--source", f"dir:{folder}", "--db", str(tmp_path / "m.sqlite"), "--learners", "dummy",
                                "--cv", "2", "--mf-groups", "general", "--timeout", "inf", "--quiet"])
    assert build.exit_code == 0, build.stderr
    from automl_meta.metadb import MetaDB

    with MetaDB.open(tmp_path / "m.sqlite") as db:  # no limit, stored as JSON null (JSON has no infinity)
        assert set(db.evaluations()["status"]) == {"ok"}
        assert all(p.endswith('"timeout": null}') for (p,) in db.conn.execute("SELECT protocol FROM evaluations"))


def test_learners_json_lists_names_tasks_families_and_parameters():
    result = runner.invoke(app, ["learners", "--json"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    by_name = {s["name"]: s for s in payload["learners"]}
    assert {"random_forest", "lightgbm", "mlp_torch", "dummy", "lda", "ridge"} <= set(by_name)
    assert by_name["lightgbm"]["tasks"] == ["classification", "regression"]
    assert by_name["lightgbm"]["params"]["num_leaves"] == 31
    assert by_name["lda"]["task"] == "classification" and by_name["lda"]["family"] == "discriminant"
    assert payload["portfolio_version"]


def test_tables_keep_every_learner_name_whole_at_80_columns(csv_file):
    from automl_meta.learners import LEARNERS

    listing = runner.invoke(app, ["learners"], terminal_width=80)
    assert listing.exit_code == 0
    first_cells = {line.split()[0] for line in listing.stdout.splitlines() if line.strip()}
    assert set(LEARNERS) <= first_cells
    assert all(len(line) <= 80 for line in listing.stdout.splitlines())
    names = "logistic_regression,hist_gradient_boosting"
    table = runner.invoke(app, ["evaluate", str(csv_file), "--learners", names, "--cv", "2"], terminal_width=80)
    assert table.exit_code == 0, table.stderr
    assert all(name in table.stdout for name in names.split(","))


def test_learners_filtered_by_task():
    result = runner.invoke(app, ["learners", "--task", "regression", "--json"])
    names = {s["name"] for s in json.loads(result.stdout)["learners"]}
    assert "ridge" in names and "lda" not in names
    assert runner.invoke(app, ["learners", "--task", "ranking"]).exit_code == 2


_INTERRUPTED_EVALUATE = """
import sys
sys.path.insert(0, {tests!r})
import automl_meta.learners as learners
from test_evaluation import SleepingClassifier, _planted
sleeper = _planted("sleeps", SleepingClassifier({pid_file!r}))
learners.get_learners = lambda task, names=None: [learners.LEARNERS["dummy"], sleeper]
from automl_meta.cli.main import main
sys.argv = ["automl-meta", "evaluate", {data!r}, "--jobs", "2", "--cv", "2"]
main()
"""


def test_ctrl_c_during_evaluate_prints_one_line_and_no_worker_tracebacks(csv_file, tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    script = _INTERRUPTED_EVALUATE.format(tests=str(Path(__file__).parent), pid_file=str(pid_file), data=str(csv_file))
    # its own process group, as a shell gives a job: a terminal's Ctrl-C reaches the workers too
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while not pid_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists(), process.communicate(timeout=60)[1].decode()
    time.sleep(0.2)  # the pid is written: the worker is in its fit
    os.killpg(process.pid, signal.SIGINT)
    stderr = process.communicate(timeout=60)[1].decode()
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == ["error: interrupted; what was already written is kept"]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    with pytest.raises(ProcessLookupError):  # the parent stopped the worker
        os.kill(int(pid_file.read_text()), 0)
