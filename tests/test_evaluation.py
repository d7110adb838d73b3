"""The cross-validation protocol: folds, metrics, ranking, failures, time limits, row caps."""

from __future__ import annotations

import functools
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from automl_meta.dataset import make_dataset
from automl_meta.evaluation import METRICS, default_metric, evaluate, make_folds
from automl_meta.exceptions import DatasetError, LearnerError, UsageError
from automl_meta.learners import LEARNERS, LearnerSpec
from automl_meta.learners.preprocessing import tabular_preprocessor
from conftest import make_mixed_frame

CHEAP = ["dummy", "lda", "decision_tree"]


# -- planted learners (module level: they must pickle into worker processes) -------------

class RaisingClassifier(ClassifierMixin, BaseEstimator):
    """Fails in fit, as a broken learner would."""

    def fit(self, X, y):
        raise RuntimeError("planted failure\nsecond line that must not reach the reason")


class SleepingClassifier(ClassifierMixin, BaseEstimator):
    """Never finishes fitting; writes its process id first so the test can check it was killed."""

    def __init__(self, pid_file=None):
        self.pid_file = pid_file

    def fit(self, X, y):
        with open(self.pid_file, "w") as fh:
            fh.write(str(os.getpid()))
        for _ in range(12000):
            time.sleep(0.01)
        return self


class InterruptSwallowingClassifier(ClassifierMixin, BaseEstimator):
    """Gets a Ctrl-C during its fit and turns it into another error, as compiled code can."""

    def fit(self, X, y):
        try:
            signal.raise_signal(signal.SIGINT)
            time.sleep(1)  # the handler runs before this returns
        except KeyboardInterrupt:
            raise ValueError("'T{=d:sum_gradients:d}' is not a valid PEP 3118 buffer format string") from None
        return self


class Stopped(Exception):
    """What a test's SIGTERM handler raises (the CLI's raises its Terminated)."""


def _raise_stopped(signum, frame):
    raise Stopped()


class TermSwallowingClassifier(ClassifierMixin, BaseEstimator):
    """Gets a SIGTERM during its fit and turns what its handler raised into another error, as compiled code can."""

    def fit(self, X, y):
        try:
            signal.raise_signal(signal.SIGTERM)
            time.sleep(1)
        except Stopped:
            raise ValueError("a buffer error of compiled code") from None
        return self


class NoProbaClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class and has no predict_proba."""

    def fit(self, X, y):
        values, counts = np.unique(y, return_counts=True)
        self.classes_, self.majority_ = values, values[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def _build_with(estimator, dataset, random_state):
    return make_pipeline(tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns), estimator)


def _planted(name, estimator) -> LearnerSpec:
    return LearnerSpec(name=name, task="classification", family="test", params={}, description="planted", build=functools.partial(_build_with, estimator))


@pytest.fixture(scope="module")
def binary():
    return make_dataset(make_mixed_frame(150, seed=3), target="target")


@pytest.fixture(scope="module")
def regression():
    return make_dataset(make_mixed_frame(150, seed=4, task="regression"), target="target", task="regression")


# -- acceptance: failures and time limits --------------------------------------------------

def test_evaluate_records_a_raising_and_a_sleeping_learner_and_goes_on(binary, tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    specs = [_planted("raises", RaisingClassifier()), _planted("sleeps", SleepingClassifier(str(pid_file))), "dummy"]
    seen = []
    start = time.monotonic()
    res = evaluate(binary, learners=specs, cv=3, timeout=1.0, n_jobs=2, on_result=seen.append)
    elapsed = time.monotonic() - start

    assert sorted(r.learner for r in seen) == ["dummy", "raises", "sleeps"]
    assert [r.learner for r in res.results] == ["dummy", "raises", "sleeps"]  # failures last
    raised, slept = res.result("raises"), res.result("sleeps")
    assert raised.status == "failed"
    assert raised.reason == "fold 1: RuntimeError: planted failure"
    assert slept.status == "timeout"
    assert "fold 1 exceeded the time limit of 1 s" in slept.reason
    assert math.isnan(raised.mean) and math.isnan(slept.mean)
    assert res.result("dummy").status == "ok" and len(res.result("dummy").fold_scores) == 3
    # the sleeper was killed, not waited for (it would sleep 120 s)
    assert elapsed < 60
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_evaluate_stops_every_learner_when_the_time_budget_runs_out(binary, tmp_path):
    specs = ["dummy", _planted("sleeps", SleepingClassifier(str(tmp_path / "sleeper.pid"))), "lda"]
    start = time.monotonic()
    res = evaluate(binary, learners=specs, cv=3, n_jobs=1, budget=10.0)
    assert time.monotonic() - start < 60  # not the sleeper's 120 s
    assert res.result("dummy").status == "ok"  # finished before the budget ran out: kept
    for name in ("sleeps", "lda"):  # killed in its fit / never started
        result = res.result(name)
        assert result.status == "timeout" and "time budget of 10 s" in result.reason
        assert math.isnan(result.mean)
    assert res.result("sleeps").reason.startswith("stopped") and res.result("lda").reason.startswith("not started")
    with pytest.raises(UsageError, match="time budget"):
        evaluate(binary, learners=["dummy"], budget=0)


def _fit_sleeper(pid_file: str):
    return SleepingClassifier(pid_file).fit(None, None)


def test_a_call_in_a_worker_is_killed_past_its_limit_and_its_result_or_error_comes_back(tmp_path):
    from automl_meta.learners.worker_pool import CallTimeout, call_in_worker

    pid_file = tmp_path / "sleeper.pid"
    start = time.monotonic()
    with pytest.raises(CallTimeout, match="within 6 s"):  # 2 s: on a busy machine the worker had not started to write its pid
        call_in_worker(_fit_sleeper, (str(pid_file),), 6.0)
    assert time.monotonic() - start < 60  # not the sleeper's 120 s
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert call_in_worker(math.hypot, (3.0, 4.0), math.inf) == 5.0  # no limit: no OverflowError from the wait
    with pytest.raises(ValueError, match="math domain error"):
        call_in_worker(math.sqrt, (-1.0,), 30.0)


@pytest.mark.parametrize("timeout", [1e10, math.inf])
def test_a_timeout_beyond_what_the_system_can_wait_means_no_limit(binary, timeout):
    res = evaluate(binary, learners=["dummy"], cv=3, timeout=timeout)  # was OverflowError from the wait for the workers
    assert res.result("dummy").status == "ok" and len(res.result("dummy").fold_scores) == 3


def test_worker_processes_do_not_import_from_the_working_directory(binary, tmp_path, monkeypatch):
    """A lightgbm.py in the folder the user runs in replaced the real module in the fit workers (not in this process)."""
    (tmp_path / "lightgbm.py").write_text('raise ImportError("the working directory\'s lightgbm.py")\n')
    monkeypatch.chdir(tmp_path)
    result = evaluate(binary, learners=["lightgbm"], cv=3, timeout=60).result("lightgbm")
    assert result.status == "ok", result.reason


def test_a_ctrl_c_that_a_fit_turns_into_another_error_stops_the_run_instead_of_failing_the_learner(binary):
    # Python's own handler, as in a terminal: a background job (nohup, &) starts with Ctrl-C ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            evaluate(binary, learners=["dummy", _planted("swallows", InterruptSwallowingClassifier())], cv=3)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert evaluate(binary, learners=[_planted("raises", RaisingClassifier())], cv=3).result("raises").status == "failed"
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ignored, it stays ignored: the learner's own error is its failure
        result = evaluate(binary, learners=[_planted("swallows", InterruptSwallowingClassifier())], cv=3).result("swallows")
        assert result.status == "failed" and signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_sigterm_that_a_fit_turns_into_another_error_stops_the_run_as_its_handler_does(binary):
    previous = signal.signal(signal.SIGTERM, _raise_stopped)  # as the CLI handles SIGTERM
    try:
        with pytest.raises(Stopped):
            evaluate(binary, learners=["dummy", _planted("swallows", TermSwallowingClassifier())], cv=3)
        assert signal.getsignal(signal.SIGTERM) is _raise_stopped
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_evaluate_in_process_records_a_raising_learner(binary):
    res = evaluate(binary, learners=[_planted("raises", RaisingClassifier()), "dummy"], cv=3)
    assert res.result("raises").status == "failed"
    assert res.result("raises").reason.startswith("fold 1: RuntimeError: planted failure")


# -- acceptance: agreement with plain scikit-learn -----------------------------------------

@pytest.mark.parametrize(
    "task, learners, scoring",
    [("classification", ["logistic_regression", "random_forest"], "balanced_accuracy"), ("regression", ["ridge", "lightgbm"], "r2")],
)
def test_scores_match_sklearn_cross_val_score_on_the_same_folds(binary, regression, task, learners, scoring):
    dataset = binary if task == "classification" else regression
    res = evaluate(dataset, learners=learners, cv=4, random_state=3)
    folds = list(make_folds(dataset, cv=4, random_state=3))
    for name in learners:
        expected = cross_val_score(LEARNERS[name].build(dataset, 3), dataset.X, dataset.y, cv=folds, scoring=scoring)
        np.testing.assert_allclose(res.result(name).fold_scores, expected, rtol=1e-10)
        assert res.result(name).mean == pytest.approx(expected.mean())
        assert res.result(name).std == pytest.approx(expected.std())


def test_repeats_redraw_the_folds_and_record_every_fold(binary):
    res = evaluate(binary, learners=["lda"], cv=3, repeats=2)
    assert res.repeats == 2 and len(res.result("lda").fold_scores) == 6
    assert len(set(res.result("lda").fold_scores)) > 1


def test_folds_are_stratified_and_shared_by_every_learner(binary):
    folds = make_folds(binary, cv=5, random_state=0)
    assert len(folds) == 5
    share = (binary.y == "yes").mean()
    for train, test in folds:
        assert abs((binary.y.iloc[test] == "yes").mean() - share) < 0.05
        assert set(train).isdisjoint(test)
    assert sorted(np.concatenate([t for _, t in folds])) == list(range(binary.n_rows))
    again = make_folds(binary, cv=5, random_state=0)
    for (a, b), (c, d) in zip(folds, again):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert len(make_folds(binary, cv=3, repeats=2, random_state=0)) == 6


# -- metrics and ranking -------------------------------------------------------------------

def test_every_metric_of_the_task_is_recorded_on_every_fold(binary, regression):
    res = evaluate(binary, learners=CHEAP, cv=3)
    assert res.metric == default_metric("classification") == "balanced_accuracy"
    for r in res.results:
        assert set(r.scores) == {"balanced_accuracy", "accuracy", "roc_auc", "log_loss"}
        assert all(len(v) == 3 for v in r.scores.values())
        assert r.fit_seconds > 0 and r.predict_seconds > 0
    dummy = res.result("dummy")
    assert dummy.scores["roc_auc"] == [0.5, 0.5, 0.5]
    res = evaluate(regression, learners=["dummy", "ridge"], cv=3)
    assert set(res.result("ridge").scores) == {"r2", "rmse", "mae"}


def test_probability_metrics_of_a_learner_without_predict_proba_are_nan_with_a_note(binary):
    res = evaluate(binary, learners=[_planted("no_proba", NoProbaClassifier())], cv=3)
    r = res.result("no_proba")
    assert r.status == "ok" and r.mean == pytest.approx(0.5)
    assert all(math.isnan(v) for v in r.scores["log_loss"] + r.scores["roc_auc"])
    assert "log_loss: the learner has no predict_proba" in r.reason
    res = evaluate(binary, learners=[_planted("no_proba", NoProbaClassifier())], cv=3, metric="log_loss")
    assert res.result("no_proba").status == "failed"
    assert "log_loss undefined on every fold" in res.result("no_proba").reason


def test_loss_metrics_keep_natural_units_and_rank_lowest_first(binary, regression):
    res = evaluate(binary, learners=CHEAP, cv=3, metric="log_loss")
    assert not res.greater_is_better and not METRICS["log_loss"].greater_is_better
    means = [r.mean for r in res.results]
    assert means == sorted(means) and all(m > 0 for m in means)
    res = evaluate(regression, learners=["dummy", "ridge"], cv=3, metric="rmse")
    assert [r.learner for r in res.results] == ["ridge", "dummy"]
    assert res.result("dummy").mean == pytest.approx(np.mean(res.result("dummy").scores["rmse"]))


def test_multiclass_roc_auc_is_one_vs_rest_macro():
    frame = make_mixed_frame(180, seed=5)
    frame["target"] = np.where(frame["x1"] > 0.5, "hi", np.where(frame["x1"] < -0.5, "lo", "mid"))
    dataset = make_dataset(frame, target="target")
    res = evaluate(dataset, learners=["lda"], cv=3)
    from sklearn.metrics import roc_auc_score

    folds = make_folds(dataset, cv=3, random_state=0)
    train, test = folds[0]
    model = LEARNERS["lda"].build(dataset, 0).fit(dataset.X.iloc[train], dataset.y.iloc[train])
    expected = roc_auc_score(dataset.y.iloc[test], model.predict_proba(dataset.X.iloc[test]), multi_class="ovr", average="macro")
    assert res.result("lda").scores["roc_auc"][0] == pytest.approx(expected)


def test_multiclass_roc_auc_of_a_forest_with_tied_probabilities_is_scikit_learns_exactly():
    """A forest's rows sum to 1 or 1 - 1e-16; dividing them by their sum untied equal probabilities."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 5))
    frame = pd.DataFrame(X, columns=list("abcde"))
    frame["cls"] = np.array(["p", "q", "r", "s"])[np.digitize(X[:, 0] + 0.3 * rng.normal(size=200), [-1, 0, 1.2])]
    dataset = make_dataset(frame, target="cls")
    res = evaluate(dataset, learners=["random_forest"], cv=5)
    from sklearn.metrics import roc_auc_score

    expected = []
    for train, test in make_folds(dataset, cv=5, random_state=0):
        model = LEARNERS["random_forest"].build(dataset, 0).fit(dataset.X.iloc[train], dataset.y.iloc[train])
        proba = model.predict_proba(dataset.X.iloc[test])
        expected.append(roc_auc_score(dataset.y.iloc[test], proba, multi_class="ovr", average="macro"))
    assert res.result("random_forest").scores["roc_auc"] == pytest.approx(expected, rel=0, abs=1e-12)


def test_metric_of_the_other_task_is_refused(binary):
    with pytest.raises(UsageError, match="metric 'rmse' does not apply to classification"):
        evaluate(binary, learners=["dummy"], metric="rmse")


def test_unknown_learner_is_refused_before_any_work(binary):
    with pytest.raises(LearnerError, match="unknown learner 'nope'"):
        evaluate(binary, learners=["dummy", "nope"])


# -- classes, rows, parallelism --------------------------------------------------------------

def test_classes_with_fewer_rows_than_folds_are_dropped_with_a_note():
    frame = make_mixed_frame(120, seed=6)
    frame.loc[:2, "target"] = "rare"
    dataset = make_dataset(frame, target="target")
    res = evaluate(dataset, learners=["lda"], cv=5)
    assert res.cv == 5 and res.n_rows == 117 and res.n_rows_original == 120
    assert any("'rare' (3)" in note for note in res.notes)
    assert res.result("lda").status == "ok"


def test_a_single_row_class_is_dropped_first_then_the_rest_gets_fewer_folds():
    frame = make_mixed_frame(24, seed=8)
    frame["target"] = ["x"] * 20 + ["y"] * 3 + ["z"]
    res = evaluate(make_dataset(frame, target="target"), learners=["dummy"], cv=5)
    assert (res.cv, res.n_rows) == (3, 23)
    assert res.notes[-2:] == ("dropped 1 rows of classes with a single row: 'z'", "cv reduced from 5 to 3 folds: class 'y' has only 3 rows")
    # make_dataset refuses such targets now; a Dataset made otherwise still meets evaluate's own check
    from dataclasses import replace

    learnable = make_dataset(frame, target="target")
    with pytest.raises(DatasetError, match="class 'z' has a single row and only one other class has more"):
        evaluate(replace(learnable, y=pd.Series(["x"] * 23 + ["z"])), learners=["dummy"], cv=5)
    with pytest.raises(DatasetError, match="every class has a single row; cross-validation needs two classes of at least 2 rows"):
        evaluate(replace(learnable, y=pd.Series([f"c{i}" for i in range(24)])), learners=["dummy"], cv=5)


def test_a_binary_target_with_a_tiny_class_gets_fewer_folds_instead():
    frame = make_mixed_frame(40, seed=7)
    frame["target"] = ["no"] * 37 + ["yes"] * 3
    res = evaluate(make_dataset(frame, target="target"), learners=["dummy"], cv=5)
    assert res.cv == 3
    assert any("cv reduced from 5 to 3" in note for note in res.notes)
    assert len(res.result("dummy").fold_scores) == 3


@pytest.mark.parametrize("cv", [76, 150, 500])
def test_regression_folds_of_fewer_than_two_rows_are_refused_naming_the_limit(regression, cv):
    with pytest.raises(UsageError, match="give --cv 75 or fewer"):  # 150 rows
        evaluate(regression, learners=["dummy"], cv=cv)


def test_max_rows_takes_a_stratified_subsample_and_records_it():
    frame = make_mixed_frame(400, seed=8)
    frame["target"] = ["a"] * 300 + ["b"] * 90 + ["c"] * 10
    dataset = make_dataset(frame, target="target")
    res = evaluate(dataset, learners=["dummy"], cv=3, max_rows=100)
    assert res.max_rows == 100 and res.n_rows == 100 and res.n_rows_original == 400
    assert any("subsampled 400 -> 100 rows (stratified by class" in note for note in res.notes)
    from automl_meta.evaluation import subsample

    counts = subsample(dataset, 100, random_state=0, min_per_class=3).y.value_counts()
    assert counts.to_dict() == {"a": 75, "b": 22, "c": 3}


def test_max_rows_below_the_folds_of_every_class_keeps_the_folds_and_says_so():
    frame = make_mixed_frame(600, seed=9)
    frame["target"] = [f"k{i % 60}" for i in range(600)]  # 60 classes of 10 rows
    dataset = make_dataset(frame, target="target", task="classification")
    res = evaluate(dataset, learners=["dummy"], cv=3, max_rows=100)  # 3 rows for each of 60 classes: 180
    assert res.n_rows == 180 and res.cv == 3 and res.results[0].status == "ok"
    assert any("more rows than --max-rows 100: each of the 60 classes keeps at least 3 rows" in note for note in res.notes)


def test_max_rows_for_regression_keeps_every_part_of_the_target_range(regression):
    from automl_meta.evaluation import subsample

    small = subsample(regression, 50, random_state=0)
    assert small.n_rows == 50
    deciles = pd.qcut(regression.y, 10, labels=False)
    picked = pd.qcut(regression.y, 10, labels=False)[regression.y.isin(small.y)]
    assert picked.value_counts().to_dict() == {d: 5 for d in range(10)}
    assert deciles.nunique() == 10


def test_parallel_workers_give_the_same_scores_as_a_sequential_run(binary):
    sequential = evaluate(binary, learners=CHEAP, cv=3, random_state=1)
    parallel = evaluate(binary, learners=CHEAP, cv=3, random_state=1, n_jobs=2)
    for name in CHEAP:
        assert parallel.result(name).fold_scores == sequential.result(name).fold_scores
        assert parallel.result(name).status == "ok"


def test_a_pool_starts_no_more_worker_processes_than_learners(binary):
    from automl_meta.learners import worker_pool

    result = evaluate(binary, learners=["dummy", "gaussian_nb"], cv=3, random_state=1, n_jobs=1000)
    assert [result.result(name).status for name in ("dummy", "gaussian_nb")] == ["ok", "ok"]
    assert worker_pool._SHARED.n_workers == 1000 and len(worker_pool._SHARED._workers) == 2


def test_bad_options_are_usage_errors(binary):
    with pytest.raises(UsageError, match=r"cv \(--cv\) must be 2 or more"):
        evaluate(binary, learners=["dummy"], cv=1)
    with pytest.raises(UsageError, match="--timeout must be a positive"):
        evaluate(binary, learners=["dummy"], timeout=0)
    with pytest.raises(UsageError, match="--max-rows 4 is too small"):
        evaluate(binary, learners=["dummy"], max_rows=4)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_outside_numpys_range_is_a_usage_error(binary, seed):
    with pytest.raises(UsageError, match=f"random_state must be an integer from 0 to 4294967295, got {seed}"):
        evaluate(binary, learners=["dummy"], random_state=seed)


def test_result_as_dict_has_the_documented_keys(binary):
    payload = evaluate(binary, learners=["dummy"], cv=3).as_dict()
    assert {"task", "metric", "n_rows", "n_features", "cv", "results"} <= set(payload)
    assert {"learner", "mean", "std", "fold_scores", "fit_seconds", "status", "reason"} <= set(payload["results"][0])
    assert isinstance(pd.Series(payload["results"][0]["fold_scores"]).sum(), float)


def test_an_interrupt_while_the_workers_stop_at_exit_kills_them_without_a_traceback(monkeypatch):
    from automl_meta.learners import worker_pool

    pool = worker_pool.WorkerPool(2)
    pool._workers = [worker_pool._Worker(), worker_pool._Worker()]

    def interrupted(self):
        raise KeyboardInterrupt  # a second Ctrl-C while the first worker stops

    monkeypatch.setattr(worker_pool._Worker, "stop", interrupted)
    monkeypatch.setattr(worker_pool, "_SHARED", pool)
    try:
        worker_pool._close_shared()  # the atexit handler
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped the atexit handler (a traceback at exit)")
    assert all(w.exitcode is not None for w in pool._workers)


def test_a_worker_in_a_job_is_killed_at_once_when_the_pool_stops():
    from automl_meta.learners import worker_pool

    worker = worker_pool._Worker()
    child = worker.process  # gets the request, if one is sent, and exits at the end of its pipe
    worker.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # in a fit: reads no request
    worker.job = 0
    start = time.monotonic()
    worker.stop()
    assert time.monotonic() - start < 1.5  # not the 2 s an idle worker is given to exit
    assert worker.exitcode is not None
    child.wait(timeout=30)


def test_r2_on_a_fold_whose_target_is_constant_is_undefined_not_perfect():
    rng = np.random.default_rng(1)
    x = np.sort(rng.normal(size=40))
    y = np.where(x > 0.9, 5 * x + rng.normal(0, 1, 40), 0.0)  # a zero-inflated target: some test folds hold zeros only
    dataset = make_dataset(pd.DataFrame({"x": x, "z": rng.normal(size=40), "y": y}), target="y")
    res = evaluate(dataset, learners=["dummy", "decision_tree"], cv=5)
    for result in (res.result("dummy"), res.result("decision_tree")):
        folds = np.asarray(result.scores["r2"], dtype=float)
        assert np.isnan(folds).sum() >= 1 and 1.0 not in folds
        assert "r2 undefined on" in result.reason and "one target value only" in result.reason
        assert result.mean == pytest.approx(np.nanmean(folds))


def test_elastic_net_scores_do_not_depend_on_the_target_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X[:, 0] + rng.normal(0, 0.3, 100)
    means = []
    for scale in (1, 1000, 100000):
        frame = pd.DataFrame(X, columns=list("abc")).assign(y=y * scale)
        means.append(evaluate(make_dataset(frame, target="y"), learners=["elastic_net"], cv=3).result("elastic_net").mean)
    assert means[0] > 0.9 and max(means) - min(means) < 1e-6


def test_fit_workers_keep_their_pipes_where_stdin_is_closed(tmp_path):
    """As a library call: a closed descriptor 0 went to the first worker's pipe, which its own stdin then replaced."""
    script = (
        "import os, sys\n"
        "os.close(0)\n"
        "from automl_meta.dataset import make_dataset\n"
        "from automl_meta.evaluation import evaluate\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from conftest import make_mixed_frame\n"
        "result = evaluate(make_dataset(make_mixed_frame(80, seed=1), target='target'), learners=['dummy'], cv=2, timeout=60)\n"
        "print(result.result('dummy').status)\n"
    )
    run = subprocess.run([sys.executable, "-c", script, os.path.dirname(__file__)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-600:]
