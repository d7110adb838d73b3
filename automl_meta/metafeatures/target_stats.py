"""Simple meta-features computed on the FULL data (never the subsample).

They are cheap (one pass over the columns) and exact, and they replace pymfe's
``general`` counts, which would otherwise describe the subsample. Every name in
:data:`SIMPLE_FEATURES` is always present; a value that does not apply to the
task (class balance for regression, target shape for classification) is None.
``nr_class`` is 0 for regression, as in FLAML's meta-features.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from automl_meta.dataset import Dataset
from automl_meta.numbers import finite_or_none

# pymfe `general` features that we compute exactly on the full data
GENERAL_OVERRIDES = (
    "nr_inst",
    "nr_attr",
    "nr_num",
    "nr_cat",
    "nr_bin",
    "nr_class",
    "attr_to_inst",
    "inst_to_attr",
    "cat_to_num",
    "num_to_cat",
)

OWN_FEATURES = (
    "pct_numeric",
    "pct_missing",
    "pct_rows_missing",
    "pct_cols_missing",
    "log_nr_inst",
    "log_nr_attr",
    "log_inst_to_attr",
    "cat_levels_mean",
    "cat_levels_max",
    "class_imbalance",
    "minority_class_frac",
    "majority_class_frac",
    "class_entropy_norm",
    "target_skew",
    "target_kurtosis",
    "target_cv",
    "target_unique_frac",
)

SIMPLE_FEATURES = GENERAL_OVERRIDES + OWN_FEATURES


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def _class_features(y: pd.Series) -> dict[str, float | None]:
    counts = y.value_counts().to_numpy(dtype=float)
    p = counts / counts.sum()
    k = len(counts)
    entropy = float(-(p * np.log(p)).sum())
    return {
        "class_imbalance": counts.min() / counts.max(),
        "minority_class_frac": p.min(),
        "majority_class_frac": p.max(),
        "class_entropy_norm": entropy / math.log(k) if k > 1 else None,
    }


def _target_features(y: pd.Series) -> dict[str, float | None]:
    from scipy import stats

    values = y.to_numpy(dtype=float)
    # values too large to square, or nearly identical (scipy's "precision loss"), stay quiet: what is not finite is None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, sd = float(values.mean()), float(values.std(ddof=1))
        tiny = 1e-12 * float(np.abs(values).max())  # a mean of zero beside the values' own scale: no CV (at any scale)
        return {
            "target_skew": finite_or_none(stats.skew(values)) if sd > 0 else None,
            "target_kurtosis": finite_or_none(stats.kurtosis(values)) if sd > 0 else None,
            "target_cv": sd / abs(mean) if abs(mean) > tiny else None,
            "target_unique_frac": len(np.unique(values)) / len(values),
        }


def simple_features(dataset: Dataset) -> dict[str, float | None]:
    """The :data:`SIMPLE_FEATURES` of ``dataset``, on all its rows and columns."""
    X = dataset.X
    n, d = X.shape
    cat_cols = dataset.categorical_columns
    n_cat = len(cat_cols)
    n_num = d - n_cat
    missing = X.isna().to_numpy()
    levels = [int(X[c].nunique(dropna=True)) for c in cat_cols]
    n_bin = int(sum(X[c].nunique(dropna=True) == 2 for c in X.columns))
    values: dict[str, float | None] = {
        "nr_inst": n,
        "nr_attr": d,
        "nr_num": n_num,
        "nr_cat": n_cat,
        "nr_bin": n_bin,
        "nr_class": dataset.n_classes if dataset.task == "classification" else 0,
        "attr_to_inst": _ratio(d, n),
        "inst_to_attr": _ratio(n, d),
        "cat_to_num": _ratio(n_cat, n_num),
        "num_to_cat": _ratio(n_num, n_cat),
        "pct_numeric": _ratio(n_num, d),
        "pct_missing": float(missing.mean()) if missing.size else 0.0,
        "pct_rows_missing": float(missing.any(axis=1).mean()) if n else 0.0,
        "pct_cols_missing": float(missing.any(axis=0).mean()) if d else 0.0,
        "log_nr_inst": math.log(n) if n else None,
        "log_nr_attr": math.log(d) if d else None,
        "log_inst_to_attr": math.log(n / d) if n and d else None,
        "cat_levels_mean": float(np.mean(levels)) if levels else None,
        "cat_levels_max": float(max(levels)) if levels else None,
    }
    if dataset.task == "classification":
        values.update(_class_features(dataset.y))
    else:
        values.update(_target_features(dataset.y))
    out = {name: values.get(name) for name in SIMPLE_FEATURES}
    return {k: (None if v is None else finite_or_none(v)) for k, v in out.items()}
