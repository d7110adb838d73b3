"""Small helpers shared by the classification and regression factories."""

from __future__ import annotations

SVM_EXACT_MAX_ROWS = 3000  # above this the RBF SVM uses a Nystroem kernel approximation
HGB_MAX_CATEGORIES = 250  # HistGradientBoosting bins native categories into at most 255 bins


def categorical_mask(dataset) -> list[bool] | None:
    """Which ordinal-encoded outputs HistGradientBoosting should treat as categories.

    :func:`~automl_meta.learners.preprocessing.tabular_preprocessor` puts numeric
    outputs first and one code column per categorical column after them. Columns
    with more than ``HGB_MAX_CATEGORIES`` levels stay ordinal codes.
    """
    categorical = dataset.categorical_columns
    if not categorical:
        return None
    numeric = [False] * len(dataset.numeric_columns)
    levels = [int(dataset.X[c].nunique(dropna=True)) + 1 <= HGB_MAX_CATEGORIES for c in categorical]
    return numeric + levels if any(levels) else None


def neighbors_for(dataset, n_neighbors: int) -> int:
    """``n_neighbors`` capped so that a training fold (at least half the rows) has that many."""
    return max(1, min(int(n_neighbors), dataset.n_rows // 2))
