"""The LightGBM meta-model: learning, explaining, neighbours, and text+JSON artifacts."""

from __future__ import annotations

import json
import re
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from automl_meta.exceptions import ArtifactError, UsageError
from automl_meta.io.metamodel_files import load_metamodel, save_metamodel
from automl_meta.meta_db import shipped_path
from automl_meta.metadb import MetaDB
from automl_meta.selection import KNNSelector, MetaModel, SimpleFeatureNN, SingleBest
from automl_meta.selection.metamodel import GBDT_PARAMS, METHODS
from automl_meta.selection.neighbours import MinMaxSpace


def make_meta(n: int = 60, seed: int = 0, n_noise: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Meta-features where ``size`` decides between two learners; a third is mediocre; one never ran."""
    rng = np.random.default_rng(seed)
    index = [f"ds{i:03d}" for i in range(n)]
    meta = pd.DataFrame(rng.normal(size=(n, n_noise)), index=index, columns=[f"noise{i}" for i in range(n_noise)])
    meta.insert(0, "size", rng.uniform(-1, 1, size=n))
    meta.iloc[::7, 1] = np.nan
    base = rng.uniform(0.6, 0.9, size=n)
    scores = pd.DataFrame(
        {
            "forest": base + 0.05 * meta["size"] + rng.normal(scale=0.005, size=n),
            "linear": base - 0.05 * meta["size"] + rng.normal(scale=0.005, size=n),
            "tree": base - 0.04 + rng.normal(scale=0.005, size=n),
            "never_run": np.nan,
        },
        index=index,
    )
    scores.iloc[3, 2] = np.nan  # one failed run
    return meta, scores


@pytest.fixture(scope="module")
def meta():
    return make_meta()


@pytest.mark.parametrize("method", METHODS)
def test_metamodel_picks_the_learner_the_planted_feature_favours(meta, method):
    meta_X, scores = meta
    train, test = meta_X.index[:45], meta_X.index[45:]
    params = {} if method == MetaModel().method else GBDT_PARAMS
    model = MetaModel(method=method, random_state=0, **params).fit(meta_X.loc[train], scores.loc[train])
    picked = model.decision_function(meta_X.loc[test]).idxmax(axis=1)
    best = scores.loc[test].idxmax(axis=1)
    assert (picked == best).mean() >= (0.8 if method == MetaModel().method else 0.55)  # chance: 1/3


@pytest.mark.parametrize("boosting", ["rf", "gbdt"])
@pytest.mark.parametrize("method", METHODS)
def test_explain_contributions_sum_to_the_raw_prediction(meta, method, boosting):
    meta_X, scores = meta
    model = MetaModel(method=method, boosting=boosting, n_estimators=20, random_state=0).fit(meta_X, scores)
    row = meta_X.iloc[[7]]  # has a missing meta-feature
    raw = model.decision_function(row).iloc[0]
    contributions = model.explain(row)
    assert set(contributions) == set(model.learners_)
    for learner, series in contributions.items():
        assert "bias" in series.index
        assert series.sum() == pytest.approx(raw[learner], abs=1e-9)
    assert set(model.feature_names_) <= set(contributions["forest"].index)


def test_learners_without_evaluations_are_never_recommended(meta):
    meta_X, scores = meta
    model = MetaModel(random_state=0).fit(meta_X, scores)
    assert "never_run" not in model.learners_
    assert "never_run" not in model.predict(meta_X.iloc[:3]).columns
    assert model.rank(meta_X.iloc[:3]).columns.tolist() == model.learners_


def test_a_learner_that_failed_on_the_datasets_like_the_new_one_is_not_ranked_first():
    rng = np.random.default_rng(2)
    n = 40
    meta_X = pd.DataFrame({"size": np.linspace(-1, 1, n), "noise": rng.normal(size=n)}, index=[f"d{i}" for i in range(n)])
    small = meta_X["size"] < 0
    scores = pd.DataFrame({"fragile": np.where(small, np.nan, 0.95),  # fails on every small dataset, best on the others
                           "sturdy": 0.85 + rng.normal(scale=0.005, size=n), "weak": 0.6}, index=meta_X.index)
    model = MetaModel(random_state=0).fit(meta_X, scores)
    ranks = model.rank(meta_X)
    assert (ranks.loc[small, "sturdy"] == 1).all() and (ranks.loc[small, "fragile"] > 1).all()
    assert (ranks.loc[~small, "fragile"] == 1).mean() > 0.8


def test_predict_is_in_metric_units_and_orders_like_the_ranking(meta):
    meta_X, scores = meta
    model = MetaModel(random_state=0).fit(meta_X, scores)
    predicted = model.predict(meta_X)
    assert predicted.to_numpy().min() > 0.3 and predicted.to_numpy().max() < 1.2  # accuracy-like values
    ranks = model.rank(meta_X)
    assert (predicted.idxmax(axis=1) == ranks.idxmin(axis=1)).all()
    low, high = model.predict_interval(meta_X.iloc[:4])
    assert (low.to_numpy() <= high.to_numpy()).all()


def test_a_failed_run_counts_as_its_datasets_worst_score_in_the_range(meta):
    # left out: a learner that failed on 2 of 3 neighbours showed the range of the third alone
    meta_X, scores = meta
    failing = scores.iloc[:3].copy()
    learner = failing.columns[0]
    failing.iloc[:2, 0] = np.nan
    few = MetaModel(random_state=0, n_neighbors=5).fit(meta_X.iloc[:3], failing)
    low, high = few.predict_interval(meta_X.iloc[[10]])
    worst = failing.iloc[:2].min(axis=1).min()  # the worst of the datasets it failed on, among the others' scores
    assert low[learner].iloc[0] == pytest.approx(min(worst, failing.iloc[2, 0]))
    assert low[learner].iloc[0] < failing.iloc[2, 0]


def test_the_interval_spans_every_training_dataset_when_there_are_fewer_than_n_neighbors(meta):
    meta_X, scores = meta
    few = MetaModel(random_state=0, n_neighbors=5).fit(meta_X.iloc[:3], scores.iloc[:3])
    assert few.interval_neighbors_ == 3
    low, high = few.predict_interval(meta_X.iloc[[10]])
    known = scores.iloc[:3][few.learners_]
    assert low.iloc[0].to_dict() == pytest.approx(known.min().to_dict())
    assert high.iloc[0].to_dict() == pytest.approx(known.max().to_dict())
    assert MetaModel(random_state=0, n_neighbors=5).fit(meta_X, scores).interval_neighbors_ == 5


def test_predicted_scores_match_held_out_real_scores_above_the_median():
    """One catastrophic learner must not drag the others' predicted scores down (the score range starts at the median)."""
    rng = np.random.default_rng(3)
    n = 80
    meta_X = pd.DataFrame({"level": rng.uniform(0, 1, n), "noise": rng.normal(size=n)}, index=[f"d{i}" for i in range(n)])
    base = 0.6 + 0.3 * meta_X["level"]
    scores = pd.DataFrame({"best": base + 0.06, "good": base + 0.03, "median": base, "poor": base - 0.03,
                           "broken": base - 0.5}, index=meta_X.index)
    train, test = meta_X.index[:60], meta_X.index[60:]
    model = MetaModel(random_state=0).fit(meta_X.loc[train], scores.loc[train])
    predicted = model.predict(meta_X.loc[test])
    for learner in ("best", "good"):
        error = predicted[learner] - scores.loc[test, learner]
        assert abs(error.mean()) < 0.02 and error.abs().mean() < 0.06, learner  # 0.25 off when it started at the worst
    bound = model.upper_bounded(model.decision_function(meta_X.loc[test]))
    assert bound["broken"].all() and not bound["best"].any()
    assert (predicted["broken"] >= scores.loc[test, "broken"]).all()  # an upper bound, as flagged


def test_every_learner_ranked_in_the_bottom_half_is_shown_as_an_upper_bound():
    # learners that were sometimes above the median got small positive utilities from the averaged trees: shown as
    # plain scores above the predicted median on 15 of 16 learners, 0.04 above their real ones
    rng = np.random.default_rng(5)
    n = 80
    meta_X = pd.DataFrame({"level": rng.uniform(0, 1, n), "noise": rng.normal(size=n)}, index=[f"d{i}" for i in range(n)])
    offsets = np.array([0.04, 0.03, 0.02, 0.01, 0.0, -0.01])
    scores = pd.DataFrame(0.7 + offsets + rng.normal(0, 0.03, (n, 6)), index=meta_X.index, columns=[f"l{i}" for i in range(6)])
    model = MetaModel(random_state=0).fit(meta_X.iloc[:60], scores.iloc[:60])
    utility = model.decision_function(meta_X.iloc[60:])
    bound = model.upper_bounded(utility)
    ranks = utility.rank(axis=1, ascending=False, method="first")
    assert bound.where(ranks > 3).fillna(True).all().all()  # ranks 4-6 of 6: at or below the median learner
    assert not bound.where(ranks == 1).fillna(False).any().any()


def test_a_constant_predictor_on_the_shipped_database_is_shown_as_an_upper_bound(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path))
    """The dummy is at or below the median learner on every shipped dataset; LightGBM put it at utility 0.0009 for a
    60-row table, and its predicted balanced accuracy was the median's 0.717 where a constant predictor scores 0.5."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "target": np.where(x[:, 0] > 0, "yes", "no")})
    from automl_meta.api import recommend_learners

    table = recommend_learners(frame, target="target").to_frame().set_index("learner")
    assert table.loc["dummy", "predicted_at_most"] and table.loc["dummy", "utility"] < 0.01


@pytest.mark.parametrize("held_out", ["balance_scale", "mfeat_pixel"])
def test_predicted_best_score_never_falls_below_the_predicted_floor(held_out):
    """Held out of the shipped database, these two datasets got a predicted best score below the predicted
    median learner's from separate models of the two, and every learner then showed the same score."""
    with MetaDB.open(shipped_path("metadb.sqlite")) as db:
        metric = db.default_metric("classification")
        meta_X, scores = db.meta_features("classification"), db.scores(metric, "classification")
    meta_X = meta_X.loc[scores.index]
    train = meta_X.index != held_out
    model = MetaModel(random_state=0).fit(meta_X[train], scores[train])
    predicted = model.predict(meta_X.loc[[held_out]]).iloc[0].sort_values(ascending=False)
    assert predicted.iloc[0] > predicted.iloc[-1] + 0.005  # the best learner shows above the floor
    assert predicted.iloc[:3].nunique() == 3


def test_a_learner_with_one_score_everywhere_is_predicted_at_that_score():
    """LightGBM's random-forest mode predicts 0 for a constant label; the meta-model must not."""
    rng = np.random.default_rng(4)
    meta_X = pd.DataFrame({"a": rng.normal(size=12), "b": rng.normal(size=12)}, index=[f"d{i}" for i in range(12)])
    scores = pd.DataFrame({"always": 0.9, "other": rng.uniform(0.5, 0.8, 12), "dummy": 0.5}, index=meta_X.index)
    predicted = MetaModel(random_state=0).fit(meta_X, scores).predict(meta_X)
    assert np.allclose(predicted["always"], 0.9, atol=1e-6)


def test_nearest_finds_the_training_dataset_itself_first(meta):
    meta_X, scores = meta
    model = MetaModel(random_state=0).fit(meta_X, scores)
    nearest = model.nearest(meta_X.loc[["ds010"]], k=3)
    assert nearest[0] == ("ds010", 0.0)
    assert len(nearest) == 3 and nearest[1][1] <= nearest[2][1]


def test_outside_names_only_the_features_beyond_every_training_dataset():
    train = pd.DataFrame({"nr_inst": [50.0, 100.0, 400.0], "nr_class": [2.0, 2.0, 2.0], "nr_num": [1.0, 4.0, 9.0]})
    space = MinMaxSpace().fit(train)
    names = ("nr_inst", "nr_class", "nr_num", "nr_attr")  # nr_attr: not a training column, so never judged
    assert space.outside({"nr_inst": 100.0, "nr_class": 2.0, "nr_num": 9.0, "nr_attr": 1e6}, names) == []
    found = space.outside({"nr_inst": 10.0, "nr_class": 3.0, "nr_num": 5.0}, names)
    assert found == [
        {"feature": "nr_inst", "value": 10.0, "min": 50.0, "max": 400.0},
        {"feature": "nr_class", "value": 3.0, "min": 2.0, "max": 2.0},  # a constant column's range is its value
    ]


def test_metamodel_follows_scikit_learn_conventions(meta):
    meta_X, scores = meta
    model = MetaModel(n_estimators=10, random_state=3)
    with pytest.raises(NotFittedError):
        model.predict(meta_X)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "boosters_")
    assert model.fit(meta_X, scores) is model
    with pytest.raises(UsageError, match="unknown meta-model method"):
        MetaModel(method="magic").fit(meta_X, scores)


def test_metamodel_is_seeded(meta):
    meta_X, scores = meta
    first = MetaModel(random_state=1).fit(meta_X, scores).decision_function(meta_X)
    second = MetaModel(random_state=1).fit(meta_X, scores).decision_function(meta_X)
    pd.testing.assert_frame_equal(first, second)


def test_metamodel_trains_fast_on_a_meta_database_sized_problem():
    meta_X, scores = make_meta(n=150, n_noise=40)
    more = {f"learner{i}": scores["tree"] + 0.001 * i for i in range(10)}
    scores = scores.assign(**more)
    MetaModel(random_state=0).fit(meta_X.iloc[:10], scores.iloc[:10])  # warm-up: LightGBM import
    start = time.process_time()  # CPU time: wall time on a shared 2-core machine says little
    MetaModel(random_state=0).fit(meta_X, scores)
    assert time.process_time() - start < 2.0  # ~0.4 s on one core


def test_saved_metamodel_is_text_and_json_and_reloads_identically(meta, tmp_path):
    meta_X, scores = meta
    model = MetaModel(random_state=0).fit(meta_X, scores)
    manifest_path, booster_path = save_metamodel(model, tmp_path, "mm", extra={"task": "classification"})
    manifest = json.loads(manifest_path.read_text())
    assert manifest["learners"] == model.learners_ and manifest["feature_names"] == model.feature_names_
    assert manifest["training_datasets"] == model.training_datasets_
    assert "lightgbm" in manifest["versions"] and manifest["extra"]["task"] == "classification"
    assert booster_path.read_text().startswith("#@booster ")
    assert b"\x80" not in booster_path.read_bytes()  # no pickle protocol header anywhere
    loaded = load_metamodel(tmp_path, "mm")
    pd.testing.assert_frame_equal(loaded.predict(meta_X), model.predict(meta_X))
    row = meta_X.iloc[[2]]
    assert loaded.explain(row)["forest"].sum() == pytest.approx(model.explain(row)["forest"].sum())
    assert loaded.nearest(row, 2) == model.nearest(row, 2)


def test_tampered_booster_file_is_rejected(meta, tmp_path):
    meta_X, scores = meta
    model = MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores)
    _, booster_path = save_metamodel(model, tmp_path, "mm")
    booster_path.write_text(booster_path.read_text().replace("leaf_value=", "leaf_value=9", 1))
    with pytest.raises(ArtifactError, match="checksum"):
        load_metamodel(tmp_path, "mm")
    with pytest.raises(ArtifactError, match="no meta-model manifest"):
        load_metamodel(tmp_path, "other")


def test_a_saved_meta_model_with_extra_keys_that_are_not_text_loads(meta, tmp_path):
    """The checksum is of the manifest as it reads back: integer keys become text, and sort otherwise."""
    meta_X, scores = meta
    model = MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores)
    save_metamodel(model, tmp_path, "mm", extra={"folds": {i: f"fold {i}" for i in range(12)}, "ratios": {2.0: 1, 10.0: 2}})
    assert load_metamodel(tmp_path, "mm").manifest_["extra"]["folds"]["11"] == "fold 11"


@pytest.mark.parametrize("edit", ["reversed learners", "space dropped", "scores as text"])
def test_an_edited_manifest_is_refused_as_an_artifact_error(meta, tmp_path, edit):
    """The booster's checksum did not cover the manifest: reversed learners gave wrong score ranges with exit 0, and a
    dropped key was a KeyError on every run (a cached meta-model is retrained after an ArtifactError only)."""
    meta_X, scores = meta
    model = MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores)
    manifest_path, _ = save_metamodel(model, tmp_path, "mm")
    manifest = json.loads(manifest_path.read_text())
    if edit == "reversed learners":
        manifest["learners"] = manifest["learners"][::-1]
    elif edit == "space dropped":
        del manifest["space"]
    else:
        manifest["train_scores"] = "text"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="checksum differs from its content"):
        load_metamodel(tmp_path, "mm")
    del manifest["manifest_sha256"]  # as a manifest written before the checksum: its fields are checked as read
    manifest_path.write_text(json.dumps(manifest))
    if edit != "reversed learners":
        with pytest.raises(ArtifactError, match="does not describe a meta-model"):
            load_metamodel(tmp_path, "mm")


def test_metamodel_saved_by_an_older_version_is_refused_with_the_fix(meta, tmp_path):
    meta_X, scores = meta
    model = MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores)
    model.range_boosters_ = {"low": model.range_boosters_["spread"], "high": model.range_boosters_["high"]}
    save_metamodel(model, tmp_path, "mm")
    with pytest.raises(ArtifactError, match="older automl-meta.*selector train"):
        load_metamodel(tmp_path, "mm")


def test_baselines_rank_every_evaluated_learner(meta):
    meta_X, scores = meta
    meta_X = meta_X.assign(nr_inst=100.0, nr_attr=5.0, nr_class=2.0, pct_numeric=1.0)
    for selector in (SingleBest(), KNNSelector(k=3), SimpleFeatureNN()):
        predicted = selector.fit(meta_X, scores).predict(meta_X.iloc[:5])
        assert predicted.columns.tolist() == ["forest", "linear", "tree"]
        assert predicted.notna().all().all()
    assert SingleBest().fit(meta_X, scores).best_ in ("forest", "linear")


def test_flaml_baseline_explains_which_features_it_lacks(meta):
    meta_X, scores = meta
    with pytest.raises(UsageError, match="nr_inst"):
        SimpleFeatureNN().fit(meta_X, scores)


def test_integer_column_labels_reach_every_method_as_at_fit(meta):
    meta_X, scores = meta
    as_ints = meta_X.set_axis(range(meta_X.shape[1]), axis=1)
    as_text = meta_X.set_axis([str(c) for c in range(meta_X.shape[1])], axis=1)
    model = MetaModel(n_estimators=10, random_state=0).fit(as_ints, scores)
    row_ints, row_text = as_ints.iloc[[10]], as_text.iloc[[10]]
    pd.testing.assert_frame_equal(model.predict(row_ints), model.predict(row_text))
    pd.testing.assert_frame_equal(model.rank(row_ints), model.rank(row_text))
    assert model.nearest(row_ints, k=1) == [("ds010", 0.0)]  # read as all-missing, another dataset came first
    for ints, text in zip(model.predict_interval(row_ints), model.predict_interval(row_text)):
        pd.testing.assert_frame_equal(ints, text)
    assert model.explain(row_ints)["forest"].equals(model.explain(row_text)["forest"])
    with pytest.raises(UsageError, match="shares no meta-feature.*'0', '1', '2'"):
        model.predict(meta_X.iloc[:1])  # named columns: none is called as at fit


@pytest.mark.parametrize(("params", "message"), [
    ({"n_estimators": 0}, "n_estimators == 0, must be >= 1"),
    ({"n_estimators": 2.5}, "n_estimators must be an instance of int"),
    ({"learning_rate": 0.0}, "learning_rate == 0.0, must be > 0.0"),
    ({"num_leaves": 1}, "num_leaves == 1, must be >= 2"),
    ({"subsample": 1.5}, "subsample == 1.5, must be <= 1.0"),
    ({"colsample_bytree": float("nan")}, "colsample_bytree must be a finite number"),
    ({"reg_lambda": -1.0}, "reg_lambda == -1.0, must be >= 0.0"),
    ({"portfolio_size": -1}, "portfolio_size == -1, must be >= 0"),
    ({"n_neighbors": 0}, "n_neighbors == 0, must be >= 1"),
    ({"boosting": "dart"}, "unknown boosting 'dart'; use one of gbdt, rf"),
    ({"dataset_weight": "size"}, "unknown dataset_weight 'size'"),
    ({"score_floor": "max"}, "unknown score_floor 'max'"),
    ({"random_state": -1}, "random_state must be an integer in"),
])
def test_metamodel_refuses_invalid_hyperparameters_at_fit(meta, params, message):
    meta_X, scores = meta
    model = MetaModel(**params)  # scikit-learn style: the constructor only stores
    with pytest.raises(UsageError, match=message):
        model.fit(meta_X, scores)


def test_no_rows_give_empty_frames_and_one_dataset_methods_ask_for_a_row(meta):
    meta_X, scores = meta
    model = MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores)
    empty = meta_X.iloc[:0]
    frames = [model.predict(empty), model.rank(empty), model.decision_function(empty), *model.predict_interval(empty)]
    for frame in frames:
        assert frame.shape == (0, 3) and list(frame.columns) == model.learners_
    with pytest.raises(UsageError, match="explain needs one dataset, but meta_x has no rows"):
        model.explain(empty)
    with pytest.raises(UsageError, match="nearest needs one dataset, but meta_x has no rows"):
        model.nearest(empty)
    with pytest.raises(UsageError, match="meta_X must be a pandas DataFrame"):
        model.predict_interval(meta_X.to_numpy())


def test_a_failed_save_leaves_the_previous_model_loadable(meta, tmp_path):
    meta_X, scores = meta
    model = MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores)
    manifest_path, booster_path = save_metamodel(model, tmp_path, "mm")
    before = manifest_path.read_bytes(), booster_path.read_bytes()
    other = MetaModel(n_estimators=7, random_state=1).fit(meta_X, scores)
    with pytest.raises(UsageError, match="not saved, the manifest cannot be written as JSON"):
        save_metamodel(other, tmp_path, "mm", extra={"source": object()})
    assert (manifest_path.read_bytes(), booster_path.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mm.json", "mm.lgb.txt"]  # no temporary file left
    pd.testing.assert_frame_equal(load_metamodel(tmp_path, "mm").predict(meta_X), model.predict(meta_X))


def test_meta_features_near_the_float_limit_save_as_valid_json_without_overflow(meta, tmp_path):
    meta_X, scores = meta
    extreme = meta_X.copy()
    extreme.iloc[0, 2], extreme.iloc[1, 2] = 1e308, -1e308  # their span overflows a float
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow RuntimeWarning would fail the test
        model = MetaModel(n_estimators=5, random_state=0).fit(extreme, scores)
        manifest_path, _ = save_metamodel(model, tmp_path, "mm", extra={"gap": float("inf")})
        loaded = load_metamodel(tmp_path, "mm")
    manifest = json.loads(manifest_path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert manifest["extra"]["gap"] is None  # a non-finite number is stored as null
    assert np.isfinite(manifest["space"]["span"]).all() and np.isfinite(manifest["space"]["train"]).all()
    assert loaded.space_.transform(extreme.iloc[:2])[:, 2].tolist() == [1.0, 0.0]
    assert loaded.nearest(extreme.iloc[[0]], k=1) == [("ds000", 0.0)]
    pd.testing.assert_frame_equal(loaded.predict(extreme), model.predict(extreme))


def test_learners_the_boosters_cannot_tell_apart_rank_in_the_sbs_order():
    rng = np.random.default_rng(0)
    names = [f"d{i}" for i in range(4)]
    meta_X = pd.DataFrame({"nr_inst": rng.uniform(100, 1000, 4), "nr_attr": rng.uniform(2, 20, 4)}, index=names)
    best = rng.uniform(0.7, 0.9, 4)  # ridge best, knn a little below, dummy far below: on every dataset
    scores = pd.DataFrame({"dummy": best - 0.8, "knn": best - 0.05, "ridge": best}, index=names)
    model = MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores)
    query = meta_X.iloc[:2] * 1.1
    assert model.rank(query).iloc[0].to_dict() == {"ridge": 1, "knn": 2, "dummy": 3}
    utility = model.decision_function(query).iloc[0]
    assert utility["knn"] > utility["dummy"] and utility["knn"] - utility["dummy"] < 1e-11


@pytest.mark.parametrize(("version", "fix"), [(0, "retrain it with `automl-meta selector train`, or upgrade automl-meta"),
                                              (2, "upgrade automl-meta, which wrote it")])
def test_a_meta_model_of_another_format_version_is_named_with_its_fix(meta, tmp_path, version, fix):
    from automl_meta.exceptions import MetaDBVersionError

    meta_X, scores = meta
    manifest_path, _ = save_metamodel(MetaModel(n_estimators=5, random_state=0).fit(meta_X, scores), tmp_path, "mm")
    manifest_path.write_text(json.dumps({**json.loads(manifest_path.read_text()), "format_version": version}))
    with pytest.raises(MetaDBVersionError, match=rf"^{re.escape(str(manifest_path))}: meta-model format version {version} .*; {re.escape(fix)}$"):
        load_metamodel(tmp_path, "mm")  # was "rebuild it with `automl-meta db build`", with no file named


def test_numpy_scalar_hyperparameters_are_saved_as_numbers_and_the_model_loads_as_it_was(tmp_path):
    # np.int64 / np.bool_ (a parameter grid's values) were written as null: a runtime model then predicted in log10 units
    meta, scores = make_meta(30)
    runtimes = 10 ** (1 + 3 * scores.fillna(0.5).abs())
    model = MetaModel(n_estimators=np.int64(10), n_neighbors=np.int64(3), log_scores=np.bool_(True), random_state=0)
    model.fit(meta, runtimes, maximize=False)
    save_metamodel(model, tmp_path)
    loaded = load_metamodel(tmp_path)
    assert loaded.get_params()["n_estimators"] == 10 and loaded.log_scores is True and loaded.n_neighbors == 3
    pd.testing.assert_frame_equal(loaded.predict(meta.iloc[:2]), model.predict(meta.iloc[:2]))
    loaded.predict_interval(meta.iloc[:1])  # a TypeError on the null n_neighbors before


def test_a_hyperparameter_json_cannot_hold_is_refused_at_saving(tmp_path):
    meta, scores = make_meta(30)
    model = MetaModel(n_estimators=10, random_state=np.random.RandomState(0)).fit(meta, scores)
    save_metamodel(model, tmp_path)  # a generator as random_state: stored as null, the boosters hold what it drew
    model.set_params(landmark_contrasts=np.array([True]))
    with pytest.raises(UsageError, match="cannot save the meta-model: its parameter landmark_contrasts="):
        save_metamodel(model, tmp_path / "other")
