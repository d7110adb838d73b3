"""Landmarker contrasts: per-dataset differences the meta-model's trees cannot build themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_meta.io.metamodel_files import load_metamodel, save_metamodel
from automl_meta.selection import MetaModel
from automl_meta.selection.contrasts import LANDMARKERS, contrast_names, landmark_contrasts, present_landmarkers


def _meta(n: int, seed: int):
    """Datasets where naive Bayes beats LDA exactly when its landmarker beats LDA's, at any accuracy level."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(0.5, 0.9, n)
    edge = rng.normal(0.0, 0.05, n)
    meta_X = pd.DataFrame({name: level + rng.normal(0.0, 0.01, n) for name in LANDMARKERS},
                          index=[f"s{seed}_{i}" for i in range(n)])
    meta_X["naive_bayes.mean"] = level + edge
    meta_X["linear_discr.mean"] = level - edge
    meta_X["nr_inst"] = rng.integers(100, 5000, n).astype(float)
    scores = pd.DataFrame({"gaussian_nb": 0.8 + 0.05 * np.sign(edge), "lda": 0.8 - 0.05 * np.sign(edge),
                           "forest": np.full(n, 0.79)}, index=meta_X.index)
    return meta_X, scores, np.where(edge > 0, "gaussian_nb", "lda")


def test_contrasts_of_one_row_follow_their_definitions():
    row = pd.DataFrame({"naive_bayes.mean": [0.9], "linear_discr.mean": [0.7], "one_nn.mean": [0.8], "nr_inst": [50.0]})
    landmarkers = present_landmarkers(row.columns)
    assert landmarkers == ["naive_bayes.mean", "linear_discr.mean", "one_nn.mean"]
    out = landmark_contrasts(row, landmarkers).iloc[0]
    assert list(out.index) == contrast_names(landmarkers)
    assert out["naive_bayes - best landmarker"] == 0.0
    assert out["linear_discr - best landmarker"] == pytest.approx(-0.2)
    assert out["one_nn rank among landmarkers"] == 2.0
    assert out["one_nn scaled among landmarkers"] == pytest.approx(0.5)
    assert out["linear_discr - one_nn"] == pytest.approx(-0.1)


def test_fewer_than_two_landmarkers_give_no_contrasts():
    assert present_landmarkers(["naive_bayes.mean", "nr_inst"]) == []
    meta_X, scores, _ = _meta(20, 0)
    model = MetaModel(random_state=0).fit(meta_X[["naive_bayes.mean", "nr_inst"]], scores)
    assert model.landmarkers_ == [] and model.model_features_ == model.feature_names_


def test_contrasts_let_the_model_learn_a_relative_rule():
    meta_X, scores, _ = _meta(60, 0)
    test_X, _, truth = _meta(40, 1)
    hits = {}
    for enabled in (True, False):
        model = MetaModel(landmark_contrasts=enabled, random_state=0).fit(meta_X, scores)
        hits[enabled] = float((model.predict(test_X).idxmax(axis=1).to_numpy() == truth).mean())
    assert hits[True] >= 0.9 and hits[True] > hits[False]


def test_contrasts_survive_save_and_load_and_explain_sums(tmp_path):
    meta_X, scores, _ = _meta(30, 2)
    model = MetaModel(random_state=0).fit(meta_X, scores)
    assert model.feature_names_ == [str(c) for c in meta_X.columns]  # callers give meta-features only
    save_metamodel(model, tmp_path, "m")
    loaded = load_metamodel(tmp_path, "m")
    query, _, _ = _meta(5, 3)
    pd.testing.assert_frame_equal(loaded.decision_function(query), model.decision_function(query))
    parts = loaded.explain(query.iloc[:1])["gaussian_nb"]
    assert "naive_bayes - linear_discr" in parts.index
    assert parts.sum() == pytest.approx(loaded.decision_function(query.iloc[:1]).iloc[0]["gaussian_nb"])
