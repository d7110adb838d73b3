"""Selection metrics and score normalization, on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_meta.selection.metrics import bootstrap_interval, choose, outcomes, summarize
from automl_meta.selection.normalize import fill_failed, normalize_scores, orient


@pytest.fixture
def truth() -> pd.DataFrame:
    # three datasets x three learners, accuracy (maximize)
    return pd.DataFrame(
        {"a": [0.90, 0.70, 0.50], "b": [0.80, 0.75, 0.60], "c": [0.85, 0.60, np.nan]},
        index=["d1", "d2", "d3"],
    )


def test_normalize_scores_puts_best_at_one_and_worst_at_zero_per_dataset(truth):
    norm = normalize_scores(truth, maximize=True)
    assert norm.loc["d1"].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert norm.loc["d2", "b"] == pytest.approx(1.0) and norm.loc["d2", "c"] == pytest.approx(0.0)
    assert np.isnan(norm.loc["d3", "c"])


def test_normalize_scores_flips_minimized_runtimes_on_log_scale():
    runtimes = pd.DataFrame({"fast": [1.0], "mid": [10.0], "slow": [100.0]}, index=["i"])
    norm = normalize_scores(runtimes, maximize=False, log=True)
    assert norm.loc["i"].tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_failed_run_counts_as_worst_of_its_dataset(truth):
    filled = fill_failed(orient(truth, True))
    assert filled.loc["d3", "c"] == pytest.approx(0.50)


def test_outcomes_and_summary_match_hand_computed_gap(truth):
    predicted = pd.DataFrame({"a": [0, 1, 0], "b": [1, 0, 0], "c": [0, 0, 1]}, index=truth.index, dtype=float)
    rows = outcomes(orient(truth, True), predicted, sbs="a")
    assert rows["selected"].tolist() == ["b", "a", "c"]
    # oracle 0.90, 0.75, 0.60; selected 0.80, 0.70, 0.50 (c failed on d3: worst = 0.50); SBS a: 0.90, 0.70, 0.50
    summary = summarize(rows)
    assert summary["mean_regret"] == pytest.approx((0.10 + 0.05 + 0.10) / 3)
    assert summary["remaining_gap"] == pytest.approx(0.25 / 0.15)
    assert summary["gap_closed"] == pytest.approx(1 - 0.25 / 0.15)
    assert summary["top1_accuracy"] == pytest.approx(0.0)


def test_perfect_selector_has_zero_gap_and_full_ndcg(truth):
    predicted = orient(truth, True).fillna(-1.0)
    summary = summarize(outcomes(orient(truth, True), predicted, sbs="a"))
    assert summary["remaining_gap"] == pytest.approx(0.0)
    assert summary["top1_accuracy"] == pytest.approx(1.0)
    assert summary["ndcg_at_3"] == pytest.approx(1.0)
    assert summary["spearman"] == pytest.approx(1.0)


def test_runtime_gap_uses_par10_form():
    par10 = pd.DataFrame({"x": [10.0, 50000.0], "y": [20.0, 30.0]}, index=["i1", "i2"])  # 50000 = 10 x cutoff
    predicted = pd.DataFrame({"x": [1.0, 0.0], "y": [0.0, 1.0]}, index=par10.index)
    summary = summarize(outcomes(orient(par10, False), predicted, sbs="y"))
    # selected = oracle on both: gap 0; SBS y loses 10 s on i1
    assert summary["remaining_gap"] == pytest.approx(0.0)
    assert summary["mean_regret"] == pytest.approx(0.0)
    worse = summarize(outcomes(orient(par10, False), -predicted, sbs="y"))
    assert worse["remaining_gap"] == pytest.approx((10.0 + 49970.0) / 10.0)


def test_an_instance_no_solver_solves_is_left_out_of_top1_and_ndcg():
    par10 = pd.DataFrame({"x": [10.0, 50000.0], "y": [20.0, 50000.0]}, index=["solved", "unsolved"])
    predicted = pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0]}, index=par10.index)  # wrong on the solved one
    rows = outcomes(orient(par10, False), predicted, sbs="x")
    assert np.isnan(rows.loc["unsolved", "hit"]) and np.isnan(rows.loc["unsolved", "ndcg_at_3"])
    summary = summarize(rows)
    assert summary["top1_accuracy"] == pytest.approx(0.0)  # not 0.5: nothing could be chosen wrong on "unsolved"
    assert summary["ndcg_at_3"] < 1.0
    assert summary["mean_regret"] == pytest.approx(10.0 / 2)  # the unsolved instance still counts, with no regret


def test_choose_never_picks_a_learner_without_prediction():
    predicted = pd.DataFrame({"a": [np.nan], "b": [-5.0]}, index=["d"])
    assert choose(predicted).tolist() == ["b"]


def test_bootstrap_interval_brackets_the_point_estimate(truth):
    rng = np.random.default_rng(0)
    big = pd.concat([truth.set_axis([f"{i}_{k}" for i in truth.index], axis=0) for k in range(20)])
    big = big + rng.normal(scale=0.01, size=big.shape)
    predicted = pd.DataFrame(rng.normal(size=big.shape), index=big.index, columns=big.columns)
    rows = outcomes(orient(big, True), predicted, sbs="a")
    point = summarize(rows)["mean_regret"]
    low, high = bootstrap_interval(rows, n_boot=200, random_state=0)["mean_regret"]
    assert low <= point <= high and low < high
