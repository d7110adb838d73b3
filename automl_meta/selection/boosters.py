"""The LightGBM building blocks of the meta-model: one function per variant.

Each ``train_*`` function takes the meta-feature matrix (float, NaN allowed,
columns already renamed to ``f0..fN``) and per-dataset normalized scores, and
returns plain ``lightgbm.Booster`` objects; each ``utility_*`` turns boosters
into a datasets x learners utility matrix (higher = better) and each
``contrib_*`` into per-feature contributions that add up to that utility.
Keeping boosters (not sklearn wrappers) makes saving them as
``model_to_string`` text trivial.

Variants:

- ``per_learner``: one regressor per learner on its normalized score.
- ``single``: one regressor on (meta-features, learner id) rows.
- ``ranker``: one LambdaRank model on (meta-features, learner id) rows, grouped by dataset.
- ``pairwise``: one classifier per pair of learners ("is a better than b?"),
  each dataset weighted by the score difference (regret-weighted, SATzilla 2011
  style); the utility of ``a`` is the sum of its log-odds against every other learner.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

LEARNER_FEATURE = "learner"


def lgb_params(est, objective: str, seed: int) -> dict:
    """LightGBM parameters from a MetaModel's hyperparameters (one thread, quiet, deterministic)."""
    params = {
        "objective": objective,
        "learning_rate": est.learning_rate,
        "num_leaves": est.num_leaves,
        "min_data_in_leaf": est.min_child_samples,
        "min_data_in_bin": 1,
        "min_sum_hessian_in_leaf": 1e-6,
        "bagging_fraction": est.subsample,
        "bagging_freq": 1 if est.subsample < 1.0 else 0,
        "feature_fraction": est.colsample_bytree,
        "lambda_l2": est.reg_lambda,
        "num_threads": 1,
        "verbose": -1,
        "deterministic": True,
        "force_col_wise": True,
        "seed": int(seed),
    }
    if est.boosting == "rf":  # LightGBM's random forest: bagged trees, each fitted to the target, averaged
        params.update(boosting="rf", bagging_fraction=min(est.subsample, 0.632), bagging_freq=1)
    return params


def _train(params: dict, X: np.ndarray, y: np.ndarray, rounds: int, weight=None, group=None, categorical=None, names=None):
    import lightgbm as lgb

    # few training rows (a small meta-database, a pair seldom decided): smaller leaves, so a split is possible
    params = {**params, "min_data_in_leaf": max(1, min(params["min_data_in_leaf"], len(X) // 4))}
    if params.get("boosting") == "rf" and np.ptp(y) <= 1e-9 * max(1.0, float(np.abs(y).max())):
        # LightGBM's rf mode drops the label's average from a tree it cannot split, so a constant
        # label (up to rounding) is predicted as 0; one gbdt round predicts its value
        params, rounds = {**params, "boosting": "gbdt", "bagging_fraction": 1.0, "bagging_freq": 0}, 1
    data = lgb.Dataset(
        X, label=y, weight=weight, group=group, feature_name=names or "auto",
        categorical_feature=categorical or "auto", free_raw_data=True,
        params={"verbose": -1, "feature_pre_filter": False, "min_data_in_bin": 1},
    )
    return lgb.train(params, data, num_boost_round=int(rounds))


def _with_learner(X: np.ndarray, code: int) -> np.ndarray:
    return np.hstack([X, np.full((len(X), 1), float(code))])


# -- per learner -------------------------------------------------------------------------------------


def _norm_weight(w):
    return None if w is None else w / w.mean()


def train_per_learner(est, X, Y: pd.DataFrame, names, seed, w=None) -> dict:
    params = lgb_params(est, "regression", seed)
    boosters = {}
    for learner in Y.columns:
        ok = Y[learner].notna().to_numpy()
        weight = None if w is None else _norm_weight(w[ok])
        boosters[learner] = _train(params, X[ok], Y[learner].to_numpy()[ok], est.n_estimators, weight=weight, names=names)
    return boosters


def utility_per_learner(boosters: dict, X, learners) -> np.ndarray:
    return np.column_stack([boosters[a].predict(X) for a in learners])


def contrib(booster, X: np.ndarray, rf: bool) -> np.ndarray:
    """``pred_contrib`` rows that sum to the prediction (LightGBM sums, not averages, them in rf mode)."""
    values = booster.predict(X, pred_contrib=True)
    return values / booster.num_trees() if rf else values


def contrib_per_learner(boosters: dict, X, learners, rf: bool = False) -> dict:
    return {a: contrib(boosters[a], X, rf) for a in learners}


# -- single model / ranker with the learner as a feature ------------------------------------------------


def _stacked(X, Y: pd.DataFrame, w=None):
    rows, labels, groups, weights = [], [], [], []
    for i in range(len(X)):
        codes = [j for j in range(Y.shape[1]) if not np.isnan(Y.iat[i, j])]
        for j in codes:
            rows.append(np.append(X[i], float(j)))
            labels.append(Y.iat[i, j])
            weights.append(1.0 if w is None else w[i])
        groups.append(len(codes))
    return np.asarray(rows), np.asarray(labels), np.asarray(groups), np.asarray(weights)


def train_single(est, X, Y, names, seed, w=None) -> dict:
    rows, labels, _, weights = _stacked(X, Y, w)
    params = {**lgb_params(est, "regression", seed), "max_cat_to_onehot": 64}
    rounds = est.n_estimators * 3
    return {"single": _train(params, rows, labels, rounds, weight=_norm_weight(weights), categorical=[X.shape[1]],
                             names=[*names, LEARNER_FEATURE])}


def train_ranker(est, X, Y, names, seed, w=None) -> dict:
    rows, labels, groups, _ = _stacked(X, Y)  # LambdaRank weighs queries equally
    relevance = np.rint(np.clip(labels, 0.0, 1.0) * 10).astype(int)  # 0..10 graded relevance
    params = {**lgb_params(est, "lambdarank", seed), "max_cat_to_onehot": 64, "label_gain": list(range(11)),
              "lambdarank_truncation_level": 5}
    keep = groups > 1
    if not keep.all():  # a dataset with one evaluated learner has nothing to rank
        mask = np.repeat(keep, groups)
        rows, relevance, groups = rows[mask], relevance[mask], groups[keep]
    rounds = est.n_estimators * 3
    return {"single": _train(params, rows, relevance, rounds, group=groups, categorical=[X.shape[1]], names=[*names, LEARNER_FEATURE])}


def utility_single(boosters: dict, X, learners) -> np.ndarray:
    return np.column_stack([boosters["single"].predict(_with_learner(X, j)) for j in range(len(learners))])


def contrib_single(boosters: dict, X, learners, rf: bool = False) -> dict:
    return {a: contrib(boosters["single"], _with_learner(X, j), rf) for j, a in enumerate(learners)}


# -- pairwise, regret-weighted ---------------------------------------------------------------------------


def pair_key(a: str, b: str) -> str:
    return f"{a}\u2192{b}"


def train_pairwise(est, X, Y: pd.DataFrame, names, seed, w=None) -> dict:
    params = lgb_params(est, "binary", seed)
    boosters = {}
    for a, b in itertools.combinations(Y.columns, 2):
        diff = (Y[a] - Y[b]).to_numpy()
        ok = ~np.isnan(diff) & (diff != 0)
        label = (diff[ok] > 0).astype(float)
        if ok.sum() < 2 or label.min() == label.max():
            continue  # one learner always wins: the constant vote is added in the utility
        weight = np.abs(diff[ok]) * (1.0 if w is None else w[ok])
        boosters[pair_key(a, b)] = _train(params, X[ok], label, est.n_estimators, weight=weight / weight.mean(), names=names)
    return boosters


def pairwise_constants(Y: pd.DataFrame, boosters: dict) -> dict:
    """Log-odds of the pairs without a model: +-2 for a learner that always wins / loses, 0 for ties."""
    constants = {}
    for a, b in itertools.combinations(Y.columns, 2):
        if pair_key(a, b) in boosters:
            continue
        diff = (Y[a] - Y[b]).dropna()
        diff = diff[diff != 0]
        constants[pair_key(a, b)] = 0.0 if diff.empty else (2.0 if (diff > 0).all() else -2.0)
    return constants


def _margin(booster, X, rf: bool) -> np.ndarray:
    """Log-odds; in rf mode LightGBM returns the sum over trees as raw score: average it."""
    raw = booster.predict(X, raw_score=True)
    return raw / booster.num_trees() if rf else raw


def utility_pairwise(boosters: dict, constants: dict, X, learners, rf: bool = False) -> np.ndarray:
    out = np.zeros((len(X), len(learners)))
    for j, k in itertools.combinations(range(len(learners)), 2):
        key = pair_key(learners[j], learners[k])
        margin = _margin(boosters[key], X, rf) if key in boosters else np.full(len(X), constants.get(key, 0.0))
        out[:, j] += margin
        out[:, k] -= margin
    return out / max(1, len(learners) - 1)


def contrib_pairwise(boosters: dict, constants: dict, X, learners, rf: bool = False) -> dict:
    width = X.shape[1] + 1
    out = {a: np.zeros((len(X), width)) for a in learners}
    for j, k in itertools.combinations(range(len(learners)), 2):
        key = pair_key(learners[j], learners[k])
        if key in boosters:
            part = contrib(boosters[key], X, rf)
        else:
            part = np.zeros((len(X), width))
            part[:, -1] = constants.get(key, 0.0)
        out[learners[j]] += part
        out[learners[k]] -= part
    scale = max(1, len(learners) - 1)
    return {a: v / scale for a, v in out.items()}
