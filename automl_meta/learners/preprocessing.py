"""Preprocessing pipelines for the candidate learners.

Every candidate receives the raw feature frame of a :class:`~automl_meta.dataset.Dataset`
(numeric columns float64 with NaN, categorical columns object/str with NaN) and
turns it into a dense float matrix with :func:`tabular_preprocessor`. Output
columns come in a fixed order: numeric columns first, then categorical ones, so a
learner can locate its categorical inputs (``n_numeric_outputs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from automl_meta.exceptions import UsageError

ENCODINGS = ("onehot", "ordinal")
MISSING_CATEGORY = "__missing__"
MAX_ONEHOT_CATEGORIES = 32  # per column; rarer levels share one "infrequent" column
INFREQUENT_LEVEL = "__infrequent__"  # the level :func:`onehot_levels` gives that shared column


def tabular_preprocessor(
    categorical_columns,
    numeric_columns,
    scale: bool = True,
    encode: str = "onehot",
    impute_numeric: bool = True,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> ColumnTransformer:
    """An unfitted transformer from the dataset convention to a dense float matrix.

    Parameters
    ----------
    categorical_columns, numeric_columns : sequence of str
        Column names of the feature frame; either may be empty.
    scale : bool
        Standardize numeric columns (after imputation), and one-hot columns are
        left as 0/1. Trees pass ``False``.
    encode : {"onehot", "ordinal"}
        ``onehot``: one 0/1 column per level (at most ``MAX_ONEHOT_CATEGORIES``
        per column), unseen levels encode as all zeros. ``ordinal``: one integer
        code per column, unseen levels as -1. Missing values become their own
        level in both.
    impute_numeric : bool
        Replace missing numeric values by the training median. Learners that
        handle NaN themselves (gradient boosting) pass ``False``.
    categories : mapping of column name to levels, optional
        One-hot levels fixed in advance (``onehot`` only), e.g. those another
        table was encoded with (:func:`onehot_levels`): one output column per
        level whatever the levels of the data fitted on, none grouped as
        infrequent; other levels encode as all zeros.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Numeric outputs first, then categorical ones; ``sparse_threshold=0``.
    """
    if encode not in ENCODINGS:
        raise UsageError(f"unknown encoding {encode!r}: use one of {', '.join(ENCODINGS)}")
    numeric_steps = []
    if impute_numeric:
        numeric_steps.append(SimpleImputer(strategy="median", keep_empty_features=True))
    if scale:
        numeric_steps.append(StandardScaler())
    if not numeric_steps:
        numeric = "passthrough"
    else:
        numeric = make_pipeline(*numeric_steps)
    imputer = SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY, keep_empty_features=True)
    if encode == "onehot":
        encoder = OneHotEncoder(
            categories="auto" if categories is None else [list(categories[c]) for c in categorical_columns],
            handle_unknown="ignore",
            max_categories=MAX_ONEHOT_CATEGORIES if categories is None else None,
            sparse_output=False,
            dtype=float,
        )
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=float)
    categorical = make_pipeline(imputer, encoder)
    return ColumnTransformer(
        [("numeric", numeric, list(numeric_columns)), ("categorical", categorical, list(categorical_columns))],
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )


def onehot_levels(preprocessor: ColumnTransformer) -> dict[str, list[str]]:
    """The levels of each categorical column that a fitted one-hot :func:`tabular_preprocessor` encodes.

    In the order of its output columns. A column with more than
    :data:`MAX_ONEHOT_CATEGORIES` levels, whose rarer levels share one
    "infrequent" output column, ends with :data:`INFREQUENT_LEVEL`: passing the
    result as ``categories``, after :func:`share_rare_levels` has replaced the
    levels :func:`rare_levels` lists by that sentinel, reproduces the output columns.
    """
    return {column: [str(level) for level in levels if rare is None or level not in set(rare)] + ([INFREQUENT_LEVEL] if rare is not None else [])
            for column, levels, rare in _categorical_levels(preprocessor)}


def share_rare_levels(column, rare: Sequence[str]):
    """A categorical column (pandas Series) with the levels ``rare`` replaced by :data:`INFREQUENT_LEVEL`.

    Missing values too, when they were rare (:data:`MISSING_CATEGORY` among ``rare``).
    """
    rare = set(rare)
    shared = column.where(~column.isin(rare), INFREQUENT_LEVEL)
    return shared.fillna(INFREQUENT_LEVEL) if MISSING_CATEGORY in rare else shared


def rare_levels(preprocessor: ColumnTransformer) -> dict[str, list[str]]:
    """The levels that share the "infrequent" output column, for the columns that have one."""
    return {column: [str(level) for level in rare] for column, _, rare in _categorical_levels(preprocessor) if rare is not None}


def _categorical_levels(preprocessor: ColumnTransformer) -> list[tuple[str, list, list | None]]:
    """(column, levels, infrequent levels or None) of each one-hot encoded column of a fitted preprocessor."""
    pipeline = preprocessor.named_transformers_.get("categorical")
    columns = next((cols for name, _, cols in preprocessor.transformers_ if name == "categorical"), [])
    if pipeline is None or not len(columns):
        return []
    encoder = pipeline[-1]
    infrequent = getattr(encoder, "infrequent_categories_", [None] * len(columns))
    return [(str(column), list(levels), None if rare is None else list(rare))
            for column, levels, rare in zip(columns, encoder.categories_, infrequent)]