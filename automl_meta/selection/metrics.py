"""How good a selector's choices are on held-out datasets.

All functions take *oriented* true scores (higher = better, see
:func:`automl_meta.selection.normalize.orient`; a runtime scenario passes its
negated PAR10 runtimes) and a selector's predicted scores for the same
datasets (higher = better; only their order matters). A failed or missing run
counts as the worst run of its dataset.

Definitions (per held-out dataset ``d``; ``sel`` is the learner with the
highest prediction, ``oracle`` the best true score, ``sbs`` the single best
solver chosen on the training datasets: the best mean normalized score, for a
runtime the lowest mean PAR10, see :class:`~automl_meta.selection.baselines.SingleBest`):

- ``top1_accuracy``: share of datasets where ``sel`` is a best learner (ties count).
  A dataset where every learner scores alike (an instance no solver solves
  within the cutoff) has no choice to get right or wrong: it is left out of
  ``top1_accuracy`` and ``ndcg_at_3`` (its ``hit`` and NDCG are NaN); it adds 0
  to every regret.
- ``mean_regret``: mean of ``oracle - score(sel)`` in metric points (seconds for runtimes).
- ``remaining_gap``: ``sum(oracle - score(sel)) / sum(oracle - score(sbs))``:
  0 is as good as the oracle, 1 no better than the SBS (above 1: worse). For a
  runtime this is the usual ASlib PAR10 form ``(PAR10(sel) - PAR10(oracle)) /
  (PAR10(sbs) - PAR10(oracle))``.
- ``gap_closed``: ``1 - remaining_gap``.
- ``ndcg_at_3``: NDCG of the predicted top 3, relevance = per-dataset min-max scaled true score.
- ``spearman``: mean over datasets of the Spearman correlation of predicted and true scores
  (over the learners that ran there).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.utils import check_random_state

from automl_meta.exceptions import UsageError
from automl_meta.selection.normalize import fill_failed, minmax_per_dataset

METRIC_NAMES = ("top1_accuracy", "mean_regret", "remaining_gap", "gap_closed", "ndcg_at_3", "spearman")


def choose(predicted: pd.DataFrame) -> pd.Series:
    """The learner with the highest prediction per dataset (NaN predictions never win)."""
    filled = predicted.astype(float).fillna(-np.inf)
    return pd.Series(filled.columns[np.argmax(filled.to_numpy(), axis=1)], index=predicted.index)


def _ndcg(true_rel: np.ndarray, pred: np.ndarray, k: int) -> float:
    rel = np.nan_to_num(true_rel, nan=0.0)
    order = np.argsort(-np.nan_to_num(pred, nan=-np.inf), kind="stable")[:k]
    ideal = np.sort(rel)[::-1][:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    best = float((ideal * discounts[: len(ideal)]).sum())
    return float((rel[order] * discounts[: len(order)]).sum() / best) if best > 0 else 1.0


def _spearman(true: np.ndarray, pred: np.ndarray) -> float:
    ok = ~np.isnan(true) & ~np.isnan(pred)
    if ok.sum() < 2 or np.ptp(true[ok]) == 0 or np.ptp(pred[ok]) == 0:
        return float("nan")
    return float(spearmanr(true[ok], pred[ok]).statistic)


def outcomes(true_oriented: pd.DataFrame, predicted: pd.DataFrame, sbs: pd.Series | str) -> pd.DataFrame:
    """One row per held-out dataset: oracle, selected and SBS scores, hit, NDCG@3, Spearman.

    Parameters
    ----------
    true_oriented : DataFrame
        Datasets x learners, higher = better, NaN = failed (counted as the dataset's worst run).
    predicted : DataFrame
        Datasets x learners (a subset of the columns is fine), higher = better.
    sbs : Series or str
        The single best solver per dataset (from its training datasets), or one name for all.
    """
    missing = predicted.index.difference(true_oriented.index)
    if len(missing):
        raise UsageError(f"predictions for datasets without true scores: {list(missing)[:3]}")
    observed = true_oriented.loc[predicted.index].astype(float)
    truth = fill_failed(observed)
    unknown = predicted.columns.difference(truth.columns)
    if len(unknown):
        raise UsageError(f"predictions for learners without true scores: {list(unknown)[:3]}")
    sbs = pd.Series(sbs, index=predicted.index) if isinstance(sbs, str) else sbs.loc[predicted.index]
    selected = choose(predicted)
    rows = truth.to_numpy()
    col = {name: i for i, name in enumerate(truth.columns)}
    pick = lambda names: rows[np.arange(len(rows)), [col[n] for n in names]]  # noqa: E731
    oracle = np.nanmax(rows, axis=1)
    chosen = pick(selected)
    relevance = minmax_per_dataset(truth)
    aligned_pred = predicted.reindex(columns=truth.columns).astype(float).to_numpy()
    no_choice = np.ptp(rows, axis=1) == 0
    return pd.DataFrame(
        {
            "selected": selected.to_numpy(),
            "oracle_score": oracle,
            "selected_score": chosen,
            "sbs_score": pick(sbs),
            "hit": np.where(no_choice, np.nan, (chosen >= oracle - 1e-12).astype(float)),
            "ndcg_at_3": [np.nan if no_choice[i] else _ndcg(relevance.iloc[i].to_numpy(), aligned_pred[i], 3)
                          for i in range(len(rows))],
            "spearman": [_spearman(observed.iloc[i].to_numpy(), aligned_pred[i]) for i in range(len(rows))],
        },
        index=predicted.index,
    )


def summarize(per_dataset: pd.DataFrame) -> dict[str, float]:
    """The six headline numbers from :func:`outcomes` rows (pooled over the rows given)."""
    regret = per_dataset["oracle_score"] - per_dataset["selected_score"]
    sbs_regret = (per_dataset["oracle_score"] - per_dataset["sbs_score"]).sum()
    gap = float(regret.sum() / sbs_regret) if sbs_regret > 0 else float("nan")
    return {
        "top1_accuracy": float(per_dataset["hit"].mean()),
        "mean_regret": float(regret.mean()),
        "remaining_gap": gap,
        "gap_closed": 1.0 - gap,
        "ndcg_at_3": float(per_dataset["ndcg_at_3"].mean()),
        "spearman": float(per_dataset["spearman"].mean()),
    }


def bootstrap_interval(
    per_dataset: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], dict[str, float]] = summarize,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state=None,
) -> dict[str, tuple[float, float]]:
    """Percentile interval of each statistic, resampling held-out datasets with replacement.

    Pass the outcomes of several seeds concatenated to fold seed noise into the interval.
    """
    rng = check_random_state(random_state)
    n = len(per_dataset)
    draws: dict[str, list[float]] = {}
    for _ in range(n_boot):
        sample = per_dataset.iloc[rng.randint(0, n, size=n)]
        for name, value in statistic(sample).items():
            draws.setdefault(name, []).append(value)
    tail = (1.0 - level) / 2.0
    return {
        name: (float(np.nanquantile(vals, tail)), float(np.nanquantile(vals, 1.0 - tail)))
        for name, vals in draws.items()
        if np.isfinite(vals).any()
    }
