"""Evaluation protocols: the held-out dataset never reaches training, and the ASlib folds work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_meta.exceptions import UsageError
from automl_meta.selection import KNNSelector, SingleBest
from automl_meta.selection.metrics import outcomes, summarize
from automl_meta.selection.normalize import orient
from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors
from automl_meta.selection.suite import evaluate_suite


def leaky_meta(n: int = 40, seed: int = 0):
    """Each dataset's best learner is random; only an id-like meta-feature identifies the dataset.

    A selector that has seen the held-out row can look its answer up (1-NN on the id); one that
    has not is at chance level (1/4).
    """
    rng = np.random.default_rng(seed)
    index = [f"ds{i:02d}" for i in range(n)]
    meta = pd.DataFrame({"row_id": rng.permutation(n) * 10.0, "noise": rng.normal(size=n)}, index=index)
    scores = pd.DataFrame(rng.uniform(0.5, 0.6, size=(n, 4)), index=index, columns=list("abcd"))
    best = rng.integers(0, 4, size=n)
    for i, j in enumerate(best):
        scores.iat[i, j] = 0.9
    return meta, scores


class RecordingSelector(SingleBest):
    """A real SBS that remembers which datasets every fit saw."""

    seen: list = []

    def fit(self, meta_X, scores, maximize=True):
        RecordingSelector.seen.append(set(meta_X.index))
        return super().fit(meta_X, scores, maximize)


def test_planted_leak_pays_off_only_when_the_held_out_row_is_in_training():
    meta, scores = leaky_meta()
    # the leak, done on purpose: fit on every dataset, then "evaluate" on the same datasets
    leaked = KNNSelector(k=1).fit(meta[["row_id"]], scores).predict(meta[["row_id"]])
    assert summarize(outcomes(orient(scores, True), leaked, sbs="a"))["top1_accuracy"] == 1.0
    # the protocol refits without the held-out dataset: the id no longer helps
    result = evaluate_selectors(meta[["row_id"]], scores, True, {"1nn": SelectorSpec(lambda s: KNNSelector(k=1), seeded=False)},
                                seeds=[0], n_boot=0)
    assert result["1nn"].mean["top1_accuracy"] < 0.5


def test_leave_one_out_never_trains_on_the_held_out_dataset():
    meta, scores = leaky_meta(n=12)
    RecordingSelector.seen = []
    evaluate_selectors(meta, scores, True, {"rec": SelectorSpec(lambda s: RecordingSelector(), seeded=False)}, seeds=[0], n_boot=0)
    assert len(RecordingSelector.seen) == 12
    assert all(len(seen) == 11 for seen in RecordingSelector.seen)
    assert set().union(*RecordingSelector.seen) == set(meta.index)
    held_out = [set(meta.index) - seen for seen in RecordingSelector.seen]
    assert sorted(next(iter(h)) for h in held_out) == sorted(meta.index)


def test_a_renamed_copy_of_the_held_out_dataset_is_dropped_from_training():
    meta, scores = leaky_meta(n=20)
    meta.loc["copy_of_ds03"] = meta.loc["ds03"]
    scores.loc["copy_of_ds03"] = scores.loc["ds03"]
    RecordingSelector.seen = []
    folds = pd.Series([1 + i % 2 for i in range(len(meta))], index=meta.index)
    folds["ds03"], folds["copy_of_ds03"] = 0, 1
    evaluate_selectors(meta, scores, True, {"rec": SelectorSpec(lambda s: RecordingSelector(), seeded=False)},
                       folds=folds, seeds=[0], n_boot=0)
    fold0_training, fold1_training = RecordingSelector.seen[0], RecordingSelector.seen[1]  # folds in sorted order
    assert "ds03" not in fold0_training and "copy_of_ds03" not in fold0_training
    assert "copy_of_ds03" not in fold1_training and "ds03" not in fold1_training
    assert "ds05" in fold0_training and "ds05" not in RecordingSelector.seen[2]  # ds05 is in fold 2


def test_suite_reports_every_selector_with_spread_and_interval():
    meta, scores = leaky_meta(n=15)
    report = evaluate_suite(meta, scores, True, seeds=[0, 1], n_boot=50, metamodel_params={"n_estimators": 5})
    assert report["protocol"] == "leave-one-dataset-out" and report["n_datasets"] == 15
    assert report["n_no_choice"] == 0
    tied = scores.copy()
    tied.iloc[0] = 0.5  # every learner alike on one dataset: no choice there
    assert evaluate_suite(meta, tied, True, seeds=[0], n_boot=0, metamodel_params={"n_estimators": 5},
                          selectors={"SBS": SelectorSpec(lambda s: SingleBest(), seeded=False)})["n_no_choice"] == 1
    assert set(report["selectors"]) == {"meta-model", "SBS", "kNN (auto-sklearn)", "1-NN simple (FLAML)", "random"}
    assert report["selectors"]["SBS"]["mean"]["remaining_gap"] == pytest.approx(1.0)
    assert report["selectors"]["1-NN simple (FLAML)"]["error"]  # no simple features in these data
    meta_model = report["selectors"]["meta-model"]
    assert len(meta_model["per_seed"]) == 2 and len(meta_model["interval95"]["remaining_gap"]) == 2
    assert meta_model["error"] is None
    # every selector has the same keys, and an interval not drawn is null rather than a missing key
    assert len({frozenset(r) for r in report["selectors"].values()}) == 1
    unbooted = evaluate_suite(meta, scores, True, seeds=[0], n_boot=0, metamodel_params={"n_estimators": 5})
    intervals = unbooted["selectors"]["meta-model"]["interval95"]
    assert set(intervals) >= set(unbooted["selectors"]["meta-model"]["mean"]) and set(intervals.values()) == {None}


@pytest.mark.shared
def test_aslib_openml_weka_folds_run_the_meta_model(shared_dir):
    from automl_meta.io.aslib import read_scenario

    scenario = read_scenario(shared_dir / "aslib" / "OPENML-WEKA-2017")
    keep = scenario.folds.index[scenario.folds <= 3]
    report = evaluate_suite(scenario.features.loc[keep], scenario.performance.loc[keep], scenario.maximize,
                            folds=scenario.folds.loc[keep], seeds=[0], n_boot=0,
                            metamodel_params={"portfolio_size": 4})
    assert report["protocol"] == "3-fold (given folds)"
    for name in ("meta-model", "kNN (auto-sklearn)", "1-NN simple (FLAML)"):
        gap = report["selectors"][name]["mean"]["remaining_gap"]
        assert np.isfinite(gap) and gap < 3.0
    assert report["selectors"]["random"]["mean"]["remaining_gap"] > 1.0


def test_runtime_scenario_is_ranked_fastest_first():
    """Minimized runtimes: the meta-model (predict in seconds) must still pick the fast learner."""
    rng = np.random.default_rng(1)
    n = 30
    index = [f"inst{i:02d}" for i in range(n)]
    meta = pd.DataFrame({"hardness": rng.uniform(-1, 1, size=n), "noise": rng.normal(size=n)}, index=index)
    runtime = pd.DataFrame(
        {"solver_a": 10 ** (2 + meta["hardness"]), "solver_b": 10 ** (2 - meta["hardness"]), "slow": 5000.0},
        index=index,
    )
    report = evaluate_suite(meta, runtime, False, seeds=[0], n_boot=0, log_scores=True,
                            metamodel_params={"n_estimators": 20})
    meta_model = report["selectors"]["meta-model"]["mean"]
    assert meta_model["spearman"] > 0.5 and meta_model["remaining_gap"] < 0.5
    assert report["selectors"]["SBS"]["mean"]["remaining_gap"] == pytest.approx(1.0)


class AlwaysSteady:
    """A selector that always picks the learner named 'steady'."""

    def fit(self, meta_X, scores, maximize=True):
        self.learners_ = list(scores.columns)
        return self

    def predict(self, meta_X):
        return pd.DataFrame([[float(name == "steady") for name in self.learners_]] * len(meta_X),
                            index=meta_X.index, columns=self.learners_)


def test_runtime_gap_is_measured_against_the_sbs_with_the_lowest_mean_par10():
    """'spiky' wins the mean log-scaled score (fastest on 2/3), 'steady' the mean PAR10 (ASlib's SBS)."""
    n = 24
    index = [f"inst{i:02d}" for i in range(n)]
    runtimes = pd.DataFrame({"spiky": [10_000.0 if i % 3 == 0 else 1.0 for i in range(n)], "steady": 10.0, "slow": 20.0},
                            index=index)
    meta = pd.DataFrame({"f1": np.arange(n, dtype=float)}, index=index)
    selectors = {"SBS": SelectorSpec(lambda s: SingleBest(log_scores=True), seeded=False),
                 "steady": SelectorSpec(lambda s: AlwaysSteady(), seeded=False)}
    results = evaluate_selectors(meta, runtimes, False, selectors, seeds=[0], n_boot=0, log_scores=True)
    assert results["steady"].mean["remaining_gap"] == pytest.approx(1.0)  # the gap's denominator is 'steady'
    assert results["SBS"].mean["remaining_gap"] == pytest.approx(1.0)
    assert set(results["SBS"].per_dataset["selected"]) == {"steady"}


@pytest.mark.parametrize("value", [np.nan, 3.0], ids=["all-missing", "constant"])
def test_meta_features_without_information_are_named_as_the_problem(value):
    meta, scores = leaky_meta(n=10)
    meta.loc[:, :] = value
    with pytest.raises(UsageError, match=r"meta-features hold no information \(all missing or constant\)"):
        evaluate_selectors(meta, scores, True, {"sbs": SelectorSpec(lambda s: SingleBest(), seeded=False)}, n_boot=0)


def test_too_few_training_datasets_names_the_held_out_one_and_its_copies():
    from automl_meta.selection.protocols import fold_splits, leave_one_out_folds

    meta_X = pd.DataFrame({"f": [1.0, 2.0, 1.0], "g": [0.5, 0.7, 0.5]}, index=["lin0", "lin1", "lin0copy"])
    with pytest.raises(UsageError, match=r"holding out lin0 leaves fewer than 2 training datasets once its copies "
                                         r"\(lin0copy: the same meta-features\) are left out too; give more datasets"):
        list(fold_splits(meta_X, leave_one_out_folds(meta_X.index)))


def test_fold_processes_reads_minus_one_as_every_core_and_starts_none_without_a_fold():
    import joblib

    from automl_meta.selection.protocols import fold_processes

    cores = joblib.cpu_count()
    assert fold_processes(-1, 100) == cores  # was 1: min(-1, folds) floored at one process
    assert fold_processes(-1, 1) == 1
    assert fold_processes(1_000_000, 3) == 3
    assert fold_processes(2, 10) == 2


def test_every_fold_is_checked_before_the_first_and_duplicates_are_left_out_of_each_training_set():
    # every split was built up front, each hashing every row again: 3,000 datasets took 120 s and 480 MB before a fit
    from automl_meta.selection.protocols import fold_splits, leave_one_out_folds

    rows = {"a": [1.0, 0.5], "b": [2.0, 0.7], "c": [3.0, 0.1], "d": [4.0, 0.2], "b2": [2.0, 0.7]}
    meta_X = pd.DataFrame.from_dict(rows, orient="index", columns=["f", "g"])
    splits = fold_splits(meta_X, leave_one_out_folds(meta_X.index))
    assert len(splits) == 5
    made = {tuple(test): sorted(train) for train, test in splits}
    assert made[("b",)] == ["a", "c", "d"] and made[("b2",)] == ["a", "c", "d"] and made[("a",)] == ["b", "b2", "c", "d"]
    last_bad = pd.DataFrame.from_dict({"x": [1.0], "y": [2.0], "x2": [1.0]}, orient="index", columns=["f"])
    with pytest.raises(UsageError, match="holding out x leaves fewer than 2"):
        fold_splits(last_bad, leave_one_out_folds(last_bad.index))  # refused before any split is taken
