"""Turn a :class:`~automl_meta.dataset.Dataset` into arrays pymfe accepts.

pymfe raises on NaN and on DataFrames with string columns, and its costly
parts grow with rows and columns. Here we, deterministically for a given
``numpy.random.Generator``, and whatever the order of the table's rows and
columns (:func:`in_canonical_order` sorts them first):

1. subsample rows, stratified: by class for classification, by target
   quantile bin for regression; every class keeps at least
   ``MIN_PER_STRATUM`` rows when it has them, fewer (down to
   ``MIN_PER_STRATUM_MANY``) where that many per class would not fit in the
   sample: with 500 classes, 10 each made the "2,000-row" sample 5,000 rows,
   and pymfe's landmarking and trees cost about the rows times the classes
   (extraction 6.7 s against 1.6 s with 200 classes);
2. sample columns when the data are wider than ``max_cols`` encoded columns
   (a categorical column counts as its kept levels minus one);
3. impute: numeric columns with the sample median (0 when all missing),
   categorical columns with a ``(missing)`` level of their own;
4. encode categoricals as integer codes, keeping at most ``MAX_LEVELS`` most
   frequent levels (the rest become ``(other)``): pymfe treats the columns
   named in ``cat_cols`` as categorical for info-theory and dummy-encodes them
   for statistical features, one column per level, so levels are capped;
5. give the target as class labels; a regression target as its quantile-bin
   index (pymfe has no regression mode; see ``extract.py``), a point mass at
   the target's minimum (zero-inflated amounts) being a bin of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from automl_meta.dataset import Dataset

MIN_PER_STRATUM = 10
MIN_PER_STRATUM_MANY = 2  # the least a class keeps when there are more than max_rows / MIN_PER_STRATUM classes
MAX_LEVELS = 10
REGRESSION_BINS = 5
MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"


@dataclass(frozen=True)
class PreparedData:
    """Arrays for pymfe: ``X`` float (categoricals as codes), ``y`` labels, ``cat_cols`` indices."""

    X: np.ndarray
    y: np.ndarray
    cat_cols: tuple[int, ...]
    columns: tuple[str, ...]


def in_canonical_order(dataset: Dataset) -> Dataset:
    """``dataset`` with its rows sorted by a hash of their values (target included) and its columns by name.

    The samples, pymfe's landmarking folds (contiguous blocks of the rows it is
    given) and ties between columns then depend on what the table holds, not on
    how its rows or columns happen to be ordered: a file sorted by one column or
    by class, or the same table shuffled, gets the same meta-features. Rows that
    hash alike are equal, so their order among themselves changes nothing.
    """
    columns = sorted(dataset.X.columns, key=str)
    keys = pd.util.hash_pandas_object(pd.concat([dataset.X[columns], dataset.y], axis=1), index=False).to_numpy()
    order = np.argsort(keys, kind="stable")
    return replace(
        dataset,
        X=dataset.X[columns].iloc[order].reset_index(drop=True),
        y=dataset.y.iloc[order].reset_index(drop=True),
    )


def target_strata(dataset: Dataset, n_bins: int = REGRESSION_BINS) -> np.ndarray:
    """Stratum label of each row: the class, or the target's quantile bin (see :func:`_quantile_bins`)."""
    if dataset.task == "classification":
        return dataset.y.astype(str).to_numpy()
    return _quantile_bins(dataset.y.to_numpy(dtype=float), n_bins)


def _quantile_bins(y: np.ndarray, n_bins: int = REGRESSION_BINS) -> np.ndarray:
    """Index (0..n_bins-1) of each value's bin between the inner quantiles of ``y``; ties share a bin.

    A bin is ``[edge, next edge)``, so the values equal to the lowest edge go
    with those above it. When that edge is the minimum (a point mass holding
    about 1/n_bins of the rows or more, as the zeros of a zero-inflated amount) the
    point mass would share its bin with the values above and, when every
    inner quantile is the minimum, every row would be in one bin: supervised
    meta-features would then describe a single class (82% zeros gave one leaf
    and one_nn 1.0). The point mass gets bin 0, which is otherwise empty then;
    any other target gets the bins it always had.
    """
    edges = np.unique(np.quantile(y, np.linspace(0, 1, n_bins + 1)[1:-1]))
    bins = np.searchsorted(edges, y, side="right").astype(np.int64)
    if edges[0] == y.min():
        bins[y == edges[0]] -= 1
    return bins


def stratified_rows(strata: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices of a stratified sample of at most about ``max_rows`` rows.

    Each stratum gets a share proportional to its size (largest remainders),
    raised to ``min(size, floor)`` so rare classes survive, ``floor`` being
    :data:`MIN_PER_STRATUM`, or as many as ``max_rows`` holds for every stratum
    where there are more than ``max_rows / MIN_PER_STRATUM`` strata (at least
    :data:`MIN_PER_STRATUM_MANY`, so that cross-validation keeps two folds).
    All rows when there are at most ``max_rows``.
    """
    n = len(strata)
    if n <= max_rows:
        return np.arange(n)
    labels, inverse, counts = np.unique(strata, return_inverse=True, return_counts=True)
    exact = counts * (max_rows / n)
    quota = np.floor(exact).astype(int)
    short = max_rows - quota.sum()
    if short > 0:
        quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    floor = min(MIN_PER_STRATUM, max(MIN_PER_STRATUM_MANY, max_rows // len(labels)))
    quota = np.minimum(np.maximum(quota, np.minimum(counts, floor)), counts)
    chosen = []
    for k in range(len(labels)):
        members = np.flatnonzero(inverse == k)
        chosen.append(rng.choice(members, size=quota[k], replace=False))
    return np.sort(np.concatenate(chosen))


def encoded_width(dataset: Dataset, column: str) -> int:
    """Columns ``column`` becomes in pymfe's numeric view: 1, or kept levels - 1 for a categorical."""
    col = dataset.X[column]
    if col.dtype != object:
        return 1
    levels = int(col.nunique(dropna=True)) + int(col.isna().any())
    return max(1, min(levels, MAX_LEVELS) - 1)


def sample_columns(dataset: Dataset, max_cols: int, rng: np.random.Generator) -> list[str]:
    """Columns whose encoded width (see :func:`encoded_width`) totals at most ``max_cols``.

    pymfe dummy-encodes categoricals, and its cost grows with the encoded width
    (nearest neighbours, canonical correlations, LDA): 64 columns of 7 pixel
    levels (PMLB mfeat_pixel) made 384 and took 30 s. All columns when they
    fit; else columns in a random order, each taken if it still fits (at least
    one). The original column order is kept.
    """
    columns = list(dataset.X.columns)
    widths = {c: encoded_width(dataset, c) for c in columns}
    if sum(widths.values()) <= max_cols:
        return columns
    keep, used = set(), 0
    for i in rng.permutation(len(columns)):
        name = columns[i]
        if used + widths[name] <= max_cols or not keep:
            keep.add(name)
            used += widths[name]
    return [c for c in columns if c in keep]


def _encode_categorical(col: pd.Series) -> np.ndarray:
    values = col.astype(object).where(col.notna(), MISSING_LEVEL)
    counts = values.value_counts(sort=False)
    # most frequent first; ties broken by the level's text, so the codes are reproducible
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    kept = [level for level, _ in ranked[:MAX_LEVELS]]
    if len(ranked) > MAX_LEVELS:
        kept = kept[: MAX_LEVELS - 1]
    codes = {level: float(i) for i, level in enumerate(kept)}
    other = float(len(kept))
    return values.map(lambda v: codes.get(v, other)).to_numpy(dtype=float)


def _impute_numeric(col: pd.Series) -> np.ndarray:
    values = col.to_numpy(dtype=float)
    present = np.isfinite(values)
    if present.all():
        return values
    fill = float(np.median(values[present])) if present.any() else 0.0
    return np.where(present, values, fill)


def prepare(
    dataset: Dataset,
    rows: np.ndarray,
    columns: list[str],
    strata: np.ndarray,
) -> PreparedData:
    """Impute and encode the chosen ``rows`` and ``columns`` (see module doc)."""
    frame = dataset.X.iloc[rows][columns]
    cat = set(dataset.categorical_columns)
    arrays, cat_cols = [], []
    for j, name in enumerate(columns):
        if name in cat:
            arrays.append(_encode_categorical(frame[name]))
            cat_cols.append(j)
        else:
            arrays.append(_impute_numeric(frame[name]))
    X = np.column_stack(arrays) if arrays else np.empty((len(rows), 0))
    if dataset.task == "classification":
        y = dataset.y.iloc[rows].astype(str).to_numpy()
    else:
        y = strata[rows].astype(str)
    return PreparedData(X=X, y=y, cat_cols=tuple(cat_cols), columns=tuple(columns))
