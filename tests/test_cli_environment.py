"""The CLI under unusual environments: closed standard streams, a full disk, an ASCII output, a deleted folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import make_mixed_frame


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("env") / "mixed.csv"
    make_mixed_frame(120, seed=4).to_csv(path, index=False)
    return path


def _run(args, tmp_path, preexec_fn=None, stdout=subprocess.PIPE, env=None, cwd=None, stdin=None):
    environment = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "AUTOML_META_CACHE_DIR": str(tmp_path / "cache"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "automl_meta", *map(str, args)], stdout=stdout, stderr=subprocess.PIPE,
                          stdin=stdin, text=True, env=environment, preexec_fn=preexec_fn, cwd=cwd, timeout=300)


def test_a_closed_stdin_leaves_the_fit_workers_their_pipes(table, tmp_path):
    run = _run(["evaluate", table, "--learners", "dummy,decision_tree", "--cv", "2", "--jobs", "2", "--json"], tmp_path,
               preexec_fn=lambda: os.close(0))  # was exit 1 with nothing on stdout or stderr
    assert run.returncode == 0, run.stderr
    assert {r["learner"]: r["status"] for r in json.loads(run.stdout)["results"]} == {"dummy": "ok", "decision_tree": "ok"}


def test_a_closed_stderr_does_not_stop_recommend(table, tmp_path):
    run = _run(["recommend", table, "--json", "--top", "2"], tmp_path, preexec_fn=lambda: os.close(2))
    assert run.returncode == 0  # was exit 1 and no JSON: the background extraction flushed a stderr that is None
    assert len(json.loads(run.stdout)["recommendations"]) == 2


def test_a_closed_stdout_is_refused_in_one_line(table, tmp_path):
    run = _run(["recommend", table, "--json"], tmp_path, preexec_fn=lambda: os.close(1), stdout=None)
    assert run.returncode == 2 and run.stderr.strip() == (
        "error: standard output is closed; redirect it to a file, or to /dev/null to discard it")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_on_a_full_disk_is_one_line_not_a_traceback(tmp_path, args):
    with open("/dev/full", "w") as full:
        run = _run(args, tmp_path, stdout=full)
    assert run.returncode == 1 and run.stderr.strip() == "error: cannot write the output (No space left on device)"


def test_an_ascii_output_gets_plain_signs(table, tmp_path):
    run = _run(["recommend", table, "--top", "16"], tmp_path, env={"PYTHONIOENCODING": "ascii", "COLUMNS": "200"})
    assert run.returncode == 0, run.stderr  # was UnicodeEncodeError on the at-most sign, once the work was done
    assert "<= " in run.stdout


def test_a_home_folder_that_cannot_be_found_names_the_variable(table, tmp_path):
    run = _run(["metafeatures", table], tmp_path, env={"AUTOML_META_CACHE_DIR": "~nosuchuser_automl_meta/cache"})
    assert run.returncode == 2  # was RuntimeError, exit 1, naming neither
    assert run.stderr.startswith("error: AUTOML_META_CACHE_DIR=~nosuchuser_automl_meta/cache: Could not determine home directory;")


def test_a_deleted_working_folder_is_named(table, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    run = _run(["recommend", table, "--fit", "m.skops"], tmp_path, cwd=gone, preexec_fn=lambda: os.rmdir(os.getcwd()))
    assert run.returncode == 2 and "the current folder no longer exists (it was deleted)" in run.stderr


def test_matplotlibs_own_warnings_come_as_one_line_of_ours(capsys):
    import logging

    from automl_meta.cli._common import warning_lines

    with warning_lines():  # an unwritable config folder: matplotlib's multi-sentence warnings went to stderr raw
        logging.getLogger("matplotlib").warning("Matplotlib created a temporary cache directory at /tmp/x.\nSet MPLCONFIGDIR.")
    assert capsys.readouterr().err.strip() == "warning: Matplotlib created a temporary cache directory at /tmp/x. Set MPLCONFIGDIR."


def test_a_closed_stderr_leaves_a_builds_worker_processes_one(table, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.csv").write_bytes(table.read_bytes())
    run = _run(["db", "build", "--source", f"dir:{folder}", "--db", tmp_path / "m.sqlite", "--learners", "dummy", "--cv", "2",
                "--jobs", "2", "--mf-groups", "general", "--json"], tmp_path, preexec_fn=lambda: os.close(2))
    assert run.returncode == 0  # was exit 1: the loky workers got no stderr, and every unit was a dead worker
    summary = json.loads(run.stdout)
    assert (summary["done"], summary["failures"]) == (2, [])
