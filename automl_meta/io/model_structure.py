"""Bounds checks of the index arrays inside a loaded model, before anything predicts with it.

skops rebuilds scikit-learn's compiled trees (``Tree``, HistGradientBoosting's
``TreePredictor``) and neighbour trees (``KDTree``, ``BallTree``) from arrays
stored in the file, and their compiled code follows the node, feature and row
indices in those arrays without checking them: a file with one index changed
reads memory outside the model (a crash, or predictions made from whatever is
there). skops leaves these types off its own trust list for that reason; the
models ``recommend --fit`` writes need them, so :func:`check_model_structure`
checks every such index against the bounds the compiled code assumes.
"""

from __future__ import annotations

import numpy as np

from automl_meta.exceptions import ArtifactError


def check_model_structure(model, where: str) -> None:
    """Raise :class:`ArtifactError` naming ``where`` when a tree or neighbour index of ``model`` is out of bounds."""
    problem = _first_problem(model)
    if problem is not None:
        raise ArtifactError(f"{where}: the model's {problem}, which a model fitted by scikit-learn never has: "
                            "the file was altered; refit it with recommend --fit")


def _first_problem(model) -> str | None:
    seen: set[int] = set()
    stack = [(model, None)]
    while stack:
        obj, owner = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        problem = _problem_of(obj, owner)
        if problem is not None:
            return problem
        for child in _children(obj):
            stack.append((child, obj if hasattr(obj, "n_features_in_") else owner))
    return None


def _children(obj):
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, (list, tuple)):
        return list(obj)
    if isinstance(obj, np.ndarray):
        return list(obj.ravel()) if obj.dtype == object else []
    if isinstance(obj, (str, bytes, int, float, bool, type(None), np.generic)):
        return []
    return list(getattr(obj, "__dict__", {}).values())


def _problem_of(obj, owner) -> str | None:
    """What is wrong with ``obj`` itself (``owner``: the nearest estimator holding it), or None."""
    name = type(obj).__name__
    width = getattr(owner, "n_features_in_", None)
    if name == "Tree" and type(obj).__module__.startswith("sklearn.tree"):
        return _tree_problem(obj, width)
    if name == "TreePredictor":
        return _predictor_problem(obj, width)
    if name in ("KDTree", "BallTree"):
        return _neighbours_problem(obj)
    estimators = getattr(obj, "estimators_", None)
    own = getattr(obj, "n_features_in_", None)
    if own is not None and isinstance(estimators, (list, np.ndarray)):
        subsets = getattr(obj, "estimators_features_", None)  # bagging: each estimator sees its own columns
        for i, sub in enumerate(np.asarray(estimators, dtype=object).ravel()):
            columns = np.asarray(subsets[i]) if subsets is not None and i < len(subsets) else None
            if columns is not None and (np.any((columns < 0) | (columns >= own)) or len(columns) != getattr(sub, "n_features_in_", len(columns))):
                return f"{name} gives an estimator columns outside its {own} features"
            if columns is None and getattr(sub, "n_features_in_", own) != own:
                return f"{name} holds an estimator of {sub.n_features_in_} features, not {own}"
    if name.startswith("HistGradientBoosting") and own is not None:
        mapper = getattr(obj, "_bin_mapper", None)
        flags = getattr(mapper, "is_categorical_", None)
        if flags is not None and len(flags) != own:
            return f"{name}'s binning covers {len(flags)} features, not {own}"
    return None


def _tree_problem(tree, width) -> str | None:
    n = int(tree.node_count)
    left, right, feature = (np.asarray(a) for a in (tree.children_left, tree.children_right, tree.feature))
    if not (len(left) == len(right) == len(feature) == n) or n < 1:
        return f"decision tree has arrays of other lengths than its {n} nodes"
    if width is not None and int(tree.n_features) != int(width):
        return f"decision tree reads {tree.n_features} features, not {width}"
    nodes = np.arange(n)
    leaf = left == -1
    if np.any(right[leaf] != -1):
        return "decision tree has a leaf with one child"
    bad = ~leaf & ((left <= nodes) | (left >= n) | (right <= nodes) | (right >= n))
    if np.any(bad):
        return f"decision tree node {int(np.argmax(bad))} points to a child outside the tree"
    split_feature = feature[~leaf]
    if np.any(split_feature < 0) or np.any(split_feature >= int(tree.n_features)):
        return f"decision tree splits on a feature outside its {tree.n_features}"
    return None


def _predictor_problem(predictor, width) -> str | None:
    nodes = predictor.nodes
    n = len(nodes)
    if n < 1:
        return "gradient-boosting tree has no nodes"
    index = np.arange(n)
    split = nodes["is_leaf"] == 0
    left, right = nodes["left"].astype(np.int64), nodes["right"].astype(np.int64)
    bad = split & ((left <= index) | (left >= n) | (right <= index) | (right >= n))
    if np.any(bad):
        return f"gradient-boosting tree node {int(np.argmax(bad))} points to a child outside the tree"
    feature = nodes["feature_idx"][split]
    if np.any(feature < 0) or (width is not None and np.any(feature >= width)):
        return f"gradient-boosting tree splits on a feature outside its {width}"
    categorical = split & (nodes["is_categorical"] != 0)
    bitsets = min(len(predictor.raw_left_cat_bitsets), len(predictor.binned_left_cat_bitsets))
    if np.any(nodes["bitset_idx"][categorical] >= bitsets):
        return "gradient-boosting tree points to a category set it does not hold"
    return None


def _neighbours_problem(tree) -> str | None:
    data, rows, node_data, bounds = tree.get_arrays()
    n, kind = len(data), type(tree).__name__
    if len(rows) != n or np.any((rows < 0) | (rows >= n)):
        return f"{kind} indexes rows outside its {n}"
    start, end = node_data["idx_start"], node_data["idx_end"]
    if np.any((start < 0) | (start > end) | (end > n)):
        return f"{kind} has a node outside its {n} rows"
    inner = np.flatnonzero(node_data["is_leaf"] == 0)  # children of node i are 2i + 1 and 2i + 2
    if len(inner) and 2 * int(inner.max()) + 2 >= len(node_data):
        return f"{kind} has a node whose children are outside its {len(node_data)} nodes"
    if bounds.ndim != 3 or bounds.shape[1] != len(node_data) or bounds.shape[2] != np.shape(data)[1]:
        return f"{kind}'s node bounds do not match its nodes and features"
    return None
