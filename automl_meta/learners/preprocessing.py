"""Preprocessing pipelines for the candidate learners.

Every candidate receives the raw feature frame of a :class:`~automl_meta.dataset.Dataset`
(numeric columns float64 with NaN, categorical columns object/str with NaN) and
turns it into a dense float matrix with :func:`tabular_preprocessor`. Output
columns come in a fixed order: numeric columns first, then categorical ones, so a
learner can locate its categorical inputs (``n_numeric_outputs``).
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from automl_meta.exceptions import UsageError

ENCODINGS = ("onehot", "ordinal")
MISSING_CATEGORY = "__missing__"
MAX_ONEHOT_CATEGORIES = 32  # per column; rarer levels share one "infrequent" column


def tabular_preprocessor(
    categorical_columns,
    numeric_columns,
    scale: bool = True,
    encode: str = "onehot",
    impute_numeric: bool = True,
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
            handle_unknown="ignore",
            max_categories=MAX_ONEHOT_CATEGORIES,
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
