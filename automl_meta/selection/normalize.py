"""Per-dataset score normalization: make learners comparable across datasets.

Raw scores are not comparable across datasets (90% accuracy is poor on one,
excellent on another), so the meta-model and the baselines learn from scores
that are oriented (higher = better) and min-max scaled within each dataset:
1 is the best learner on that dataset, 0 the worst. Runtimes (minimize, PAR10
form) are put on a log scale first, so a 10x slow-down counts the same
everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl_meta.exceptions import UsageError


def orient(scores: pd.DataFrame, maximize: bool, log: bool = False) -> pd.DataFrame:
    """Scores with higher = better: negated when the metric is minimized.

    ``log`` takes ``log10(max(score, 1e-3))`` first (for runtimes).
    """
    values = scores.astype(float)
    if log:
        values = np.log10(values.clip(lower=1e-3))
    return values if maximize else -values


def minmax_per_dataset(oriented: pd.DataFrame, floor: str = "min") -> pd.DataFrame:
    """Scale each row to [0, 1] (1 = best learner there); NaN stays NaN; a flat row becomes 1.

    ``floor="median"`` maps the row's median to 0 and clips everything below it: one
    catastrophic learner (an r2 of -40) then no longer squashes the differences that
    matter, those near the top.
    """
    if floor == "median":
        oriented = oriented.clip(lower=oriented.median(axis=1, skipna=True), axis=0)
    low = oriented.min(axis=1, skipna=True)
    high = oriented.max(axis=1, skipna=True)
    span = (high - low).where(high > low, other=np.nan)
    scaled = oriented.sub(low, axis=0).div(span, axis=0)
    flat = span.isna() & high.notna()
    scaled.loc[flat] = oriented.loc[flat].notna().astype(float).where(oriented.loc[flat].notna())
    return scaled


def normalize_scores(scores: pd.DataFrame, maximize: bool, log: bool = False, floor: str = "min") -> pd.DataFrame:
    """Oriented, per-dataset min-max scaled scores (datasets x learners, NaN kept); see :func:`minmax_per_dataset`."""
    if scores.empty:
        raise UsageError("no scores to normalize: the meta-database holds no evaluations for this task and metric")
    return minmax_per_dataset(orient(scores, maximize, log=log), floor=floor)


def dataset_weights(oriented: pd.DataFrame, floor: str = "median") -> np.ndarray:
    """How much the choice of learner matters on each dataset: its best oriented score minus its median
    (``floor="median"``) or worst one, at least 1% of the largest such spread, so no dataset weighs zero."""
    low = oriented.median(axis=1) if floor == "median" else oriented.min(axis=1)
    spread = (oriented.max(axis=1) - low).to_numpy(float)
    return np.maximum(spread, 0.01 * max(float(np.nanmax(spread)), 1e-12))


def fill_failed(oriented: pd.DataFrame) -> pd.DataFrame:
    """Oriented scores with a failed / missing run counted as the worst run of its dataset."""
    return oriented.apply(lambda row: row.fillna(row.min()), axis=1)
