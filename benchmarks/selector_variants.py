"""Alternative selectors screened against the meta-model (the figures in benchmarks/NOTES.md).

None of these ships: none beat the meta-model on both the ASlib scenario and the
shipped database by more than the seed noise. Each follows the selector contract
of ``automl_meta.selection.baselines`` and runs under the same protocol as
``benchmarks/selector.py`` (``evaluate_selectors``: the scenario's cv.arff folds,
or leave-one-dataset-out on the shipped meta-database):

- ``forest``: scikit-learn random / extremely randomized trees regressing the
  per-dataset normalized scores, one multi-output forest (or one per learner),
  and the same with other targets, split settings, only OpenML's landmarkers,
  none of them, or each landmarker's error rate below the majority class's;
- ``alors``: ALORS-style latent factors (Misir and Sebag 2017): a truncated SVD
  of the normalized score matrix, a forest from meta-features to each
  dataset's factors;
- ``winner``: cost-sensitive classification of each dataset's best learner(s),
  ordered by class probability;
- ``blend``: the multi-output extremely randomized trees averaged with the
  meta-model's utilities (ranks or standardized values);
- ``pairs``: one model per pair of learners, as the pairwise forests of
  ``automl_meta.selection.pairwise_forest``: LLAMA-style regression of the
  normalized score difference (summed), extremely randomized classifiers, or
  random-forest classifiers whose weights also grow with each dataset's spread.
  Slow (435 models per fit, 12-21 min for 5 seeds), so run only when named.

Usage (from the repository root; ../shared/aslib for the ASlib scenario)::

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/selector_variants.py --on aslib --jobs 2
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/selector_variants.py --on classification --only et_multi,alors8
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.utils import check_random_state

from automl_meta.exceptions import UsageError
from automl_meta.selection.baselines import _Selector
from automl_meta.selection.contrasts import openml_landmarker_gains
from automl_meta.selection.multi_forest import MultiOutputForest
from automl_meta.selection.normalize import dataset_weights, fill_failed, normalize_scores, orient
from automl_meta.selection.pairwise_forest import forest_matrix

from machine import print_machine  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOML_META_SHARED", REPO.parent / "shared"))
REGRESSORS = {"rf": RandomForestRegressor, "et": ExtraTreesRegressor}
CLASSIFIERS = {"rf": RandomForestClassifier, "et": ExtraTreesClassifier}


def _matrix(meta_X: pd.DataFrame, columns) -> np.ndarray:
    return forest_matrix(meta_X.reindex(columns=columns))


def _seed(rng) -> int:
    return int(rng.randint(2**31 - 1))


class ForestRegression(_Selector):
    """Forests regressing a per-dataset target: by default the normalized score (median learner 0, best 1).

    ``target``: ``median`` or ``min`` (the normalization's floor), ``rank`` (per-dataset
    percentile ranks), ``centered`` (the median-floor target minus its dataset mean) or
    ``regret`` (metric points below the best, capped at the median learner's).
    ``only``: a regular expression; only the meta-features it matches.
    ``landmarker_gain``: add, for every OpenML landmarker error rate (``*ErrRate``),
    how far it lies below the majority class's (``1 - DefaultAccuracy``); ``"only"``
    puts these in place of the raw error rates. Each row uses its own values only.
    """

    def __init__(self, kind="et", multi_output=True, n_estimators=300, weighted=False, target="median",
                 max_features=0.33, min_samples_leaf=1, only=None, bootstrap=None, landmarker_gain=False,
                 random_state=None):
        self.kind = kind
        self.multi_output = multi_output
        self.n_estimators = n_estimators
        self.weighted = weighted
        self.target = target
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.only = only
        self.bootstrap = bootstrap  # None: scikit-learn's default (random forests yes, extremely randomized trees no)
        self.landmarker_gain = landmarker_gain
        self.random_state = random_state

    def _features(self, meta_X: pd.DataFrame) -> pd.DataFrame:
        if not self.landmarker_gain:
            return meta_X
        gains = openml_landmarker_gains(meta_X)
        if gains is None:
            raise UsageError("landmarker_gain needs OpenML's landmarkers (*ErrRate) and DefaultAccuracy")
        errors = [c for c in meta_X.columns if str(c).endswith("ErrRate")]
        kept = meta_X.drop(columns=errors) if self.landmarker_gain == "only" else meta_X
        return pd.concat([kept, gains], axis=1)

    def _target(self, scores) -> np.ndarray:
        if self.target in ("median", "min"):
            return normalize_scores(scores, self.maximize_, floor=self.target).fillna(0.0).to_numpy()
        S = orient(scores, self.maximize_)
        if self.target == "rank":
            return S.rank(axis=1, pct=True).fillna(0.0).to_numpy()
        if self.target == "centered":
            Y = normalize_scores(scores, self.maximize_, floor="median").fillna(0.0).to_numpy()
            return Y - Y.mean(axis=1, keepdims=True)
        A = fill_failed(S).to_numpy(float)
        best = A.max(axis=1, keepdims=True)
        return np.maximum(A, np.median(A, axis=1, keepdims=True)) - best  # "regret"

    def fit(self, meta_X, scores, maximize=True):
        meta_X, scores = self._fit_scores(meta_X, scores, maximize)
        meta_X = self._features(meta_X)
        self.columns_ = [c for c in meta_X.columns if self.only is None or re.search(self.only, str(c))]
        X = _matrix(meta_X, self.columns_)
        Y = self._target(scores)
        # as the meta-model: how much the choice matters on the dataset
        weight = dataset_weights(orient(scores, self.maximize_)) if self.weighted else None
        rng = check_random_state(self.random_state)
        params = dict(max_features=self.max_features, min_samples_leaf=self.min_samples_leaf)
        if self.bootstrap is not None:
            params["bootstrap"] = self.bootstrap
        make = REGRESSORS[self.kind]
        if self.multi_output:
            self.models_ = [make(self.n_estimators, random_state=_seed(rng), **params).fit(X, Y, sample_weight=weight)]
        else:
            self.models_ = [
                make(self.n_estimators, random_state=_seed(rng), **params).fit(X, Y[:, j], sample_weight=weight)
                for j in range(Y.shape[1])
            ]
        return self

    def predict(self, meta_X):
        X = _matrix(self._features(meta_X), self.columns_)
        P = self.models_[0].predict(X) if self.multi_output else np.column_stack([m.predict(X) for m in self.models_])
        return pd.DataFrame(P.reshape(len(X), -1), index=meta_X.index, columns=self.learners_)


class Alors(_Selector):
    """Latent factors of the normalized score matrix, predicted from the meta-features."""

    def __init__(self, rank=8, kind="rf", n_estimators=300, random_state=None):
        self.rank = rank
        self.kind = kind
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, meta_X, scores, maximize=True):
        meta_X, scores = self._fit_scores(meta_X, scores, maximize)
        self.columns_ = list(meta_X.columns)
        Y = normalize_scores(scores, self.maximize_, floor="median").fillna(0.0).to_numpy()
        self.mean_ = Y.mean(axis=0)
        U, s, Vt = np.linalg.svd(Y - self.mean_, full_matrices=False)
        self.loadings_ = Vt[: self.rank].T * s[: self.rank]
        rng = check_random_state(self.random_state)
        self.model_ = REGRESSORS[self.kind](self.n_estimators, max_features=0.33, random_state=_seed(rng))
        self.model_.fit(_matrix(meta_X, self.columns_), U[:, : self.rank])
        return self

    def predict(self, meta_X):
        factors = self.model_.predict(_matrix(meta_X, self.columns_)).reshape(len(meta_X), -1)
        return pd.DataFrame(self.mean_ + factors @ self.loadings_.T, index=meta_X.index, columns=self.learners_)


class WinnerClassifier(_Selector):
    """One multi-class forest: label = each dataset's best learner(s), weighted by what a miss costs."""

    def __init__(self, kind="rf", weight="regret", n_estimators=300, random_state=None):
        self.kind = kind
        self.weight = weight
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, meta_X, scores, maximize=True):
        meta_X, scores = self._fit_scores(meta_X, scores, maximize)
        self.columns_ = list(meta_X.columns)
        S = orient(scores, self.maximize_).to_numpy(float)
        S = np.where(np.isnan(S), np.nanmin(S, axis=1, keepdims=True), S)
        self.prior_ = self.normalized_.fillna(0.0).mean().to_numpy()
        sbs, best = int(np.argmax(self.prior_)), S.max(axis=1)
        costs = {"regret": best - S[:, sbs], "range": best - np.median(S, axis=1), "none": np.ones(len(S))}[self.weight]
        X, rows, labels, weights = _matrix(meta_X, self.columns_), [], [], []
        for i in range(len(S)):
            winners = np.flatnonzero(S[i] >= best[i] - 1e-12)
            for j in winners:  # ties share the dataset's weight
                rows.append(i)
                labels.append(j)
                weights.append(max(costs[i], 1e-4) / len(winners))
        rng = check_random_state(self.random_state)
        self.model_ = CLASSIFIERS[self.kind](self.n_estimators, max_features="sqrt", random_state=_seed(rng))
        self.model_.fit(X[rows], np.array(labels), sample_weight=np.array(weights))
        return self

    def predict(self, meta_X):
        P = np.zeros((len(meta_X), len(self.learners_)))
        P[:, self.model_.classes_] = self.model_.predict_proba(_matrix(meta_X, self.columns_))
        return pd.DataFrame(P + 1e-6 * self.prior_, index=meta_X.index, columns=self.learners_)  # ties: the SBS order


class Blend(_Selector):
    """Multi-output extremely randomized trees averaged with the meta-model's utilities."""

    def __init__(self, weight=0.5, how="rank", random_state=None):
        self.weight = weight
        self.how = how
        self.random_state = random_state

    def fit(self, meta_X, scores, maximize=True):
        from automl_meta.selection import MetaModel

        self._fit_scores(meta_X, scores, maximize)
        rng = check_random_state(self.random_state)
        self.trees_ = ForestRegression(random_state=_seed(rng)).fit(meta_X, scores, maximize)
        self.metamodel_ = MetaModel(random_state=_seed(rng)).fit(meta_X, scores, maximize)
        return self

    def predict(self, meta_X):
        parts = [self.trees_.predict(meta_X), self.metamodel_.decision_function(meta_X)[self.learners_]]
        if self.how == "rank":
            parts = [p.rank(axis=1) for p in parts]
        else:
            parts = [p.sub(p.mean(axis=1), axis=0).div(p.std(axis=1) + 1e-12, axis=0) for p in parts]
        return self.weight * parts[0] + (1 - self.weight) * parts[1]


class Pairs(_Selector):
    """One model per pair of learners on the normalized score difference (or who wins, cost-weighted)."""

    def __init__(self, kind="etr", n_estimators=100, spread_power=0.0, random_state=None):
        self.kind = kind
        self.n_estimators = n_estimators
        self.spread_power = spread_power
        self.random_state = random_state

    def fit(self, meta_X, scores, maximize=True):
        from automl_meta.selection.contrasts import present_landmarkers

        meta_X, scores = self._fit_scores(meta_X, scores, maximize)
        self.columns_ = [str(c) for c in meta_X.columns]
        self.landmarkers_ = present_landmarkers(self.columns_)
        X = self._X(meta_X)
        N = normalize_scores(scores, self.maximize_, floor="median").fillna(0.0).to_numpy()
        scale = dataset_weights(orient(scores, self.maximize_)) ** self.spread_power
        rng = check_random_state(self.random_state)
        self.pairs_, self.models_ = list(itertools.combinations(range(len(self.learners_)), 2)), []
        for j, k in self.pairs_:
            diff, seed = N[:, j] - N[:, k], _seed(rng)
            if self.kind == "etr":
                self.models_.append(ExtraTreesRegressor(self.n_estimators, max_features="sqrt", random_state=seed).fit(X, diff * scale))
                continue
            decided = diff != 0
            wins = (diff[decided] > 0).astype(int)
            if wins.size == 0 or wins.min() == wins.max():
                self.models_.append(0.5 if wins.size == 0 else float(wins[0]))
                continue
            model = CLASSIFIERS[self.kind](self.n_estimators, max_features="sqrt", random_state=seed)
            self.models_.append(model.fit(X[decided], wins, sample_weight=np.abs(diff[decided]) * scale[decided]))
        return self

    def _X(self, meta_X):
        from automl_meta.selection.metamodel import model_matrix

        named = meta_X.set_axis([str(c) for c in meta_X.columns], axis=1)
        return forest_matrix(model_matrix(named, self.columns_, self.landmarkers_))

    def predict(self, meta_X):
        X = self._X(meta_X)
        votes, soft = np.zeros((len(X), len(self.learners_))), np.zeros((len(X), len(self.learners_)))
        for (j, k), model in zip(self.pairs_, self.models_):
            if self.kind == "etr":
                d = model.predict(X)
                soft[:, j] += d
                soft[:, k] -= d
                continue
            p = np.full(len(X), model) if isinstance(model, float) else model.predict_proba(X)[:, list(model.classes_).index(1)]
            votes[:, j] += p > 0.5
            votes[:, k] += p < 0.5
            soft[:, j] += p
            soft[:, k] += 1 - p
        out = soft if self.kind == "etr" else votes + 1e-3 * soft  # regression: summed differences; else hard votes
        return pd.DataFrame(out, index=meta_X.index, columns=self.learners_)


NO_BOOTSTRAP = {"kind": "rf", "bootstrap": False, "n_estimators": 1000}  # rf_multi_no_bootstrap
SLOW = {
    "pairs_et_regression": (Pairs, {}),
    "pairs_et_classifiers": (Pairs, {"kind": "et"}),
    "pairs_rf_sqrt_spread": (Pairs, {"kind": "rf", "spread_power": 0.5}),
}
VARIANTS = {
    "et_multi": (ForestRegression, {}),
    "rf_multi_weighted": (ForestRegression, {"kind": "rf", "weighted": True}),
    "et_per_learner": (ForestRegression, {"multi_output": False}),
    "et_multi_weighted": (ForestRegression, {"weighted": True}),
    "et_target_min": (ForestRegression, {"target": "min"}),
    "et_target_rank": (ForestRegression, {"target": "rank"}),
    "et_target_centered": (ForestRegression, {"target": "centered"}),
    "et_target_regret": (ForestRegression, {"target": "regret"}),
    "et_max_features_all": (ForestRegression, {"max_features": 1.0}),
    "et_max_features_sqrt": (ForestRegression, {"max_features": "sqrt"}),
    "et_leaf3": (ForestRegression, {"min_samples_leaf": 3}),
    "et_1000_trees": (ForestRegression, {"n_estimators": 1000}),
    "et_landmarkers_only": (ForestRegression, {"only": "(ErrRate|Kappa|AUC)$"}),
    "rf_multi_no_bootstrap": (ForestRegression, {"kind": "rf", "bootstrap": False, "n_estimators": 1000}),
    "rf_multi_no_bootstrap_weighted": (ForestRegression, {"kind": "rf", "bootstrap": False, "n_estimators": 1000, "weighted": True}),
    "rf_multi_bootstrap_1000": (ForestRegression, {"kind": "rf", "n_estimators": 1000}),
    "multi_output_forest": (MultiOutputForest, {}),  # the library's, as selector evaluate --forest runs it
    # the same forest averaging its neighbours' normalized scores instead of their regret in metric points
    "multi_output_forest_normalized": (MultiOutputForest, {"aggregate": "normalized"}),
    **{f"rf_nb_{name}": (ForestRegression, {**NO_BOOTSTRAP, **change}) for name, change in {
        "max_features_0.1": {"max_features": 0.1},
        "max_features_0.2": {"max_features": 0.2},
        "max_features_0.5": {"max_features": 0.5},
        "leaf2": {"min_samples_leaf": 2},
        "leaf4": {"min_samples_leaf": 4},
        "target_centered": {"target": "centered"},
        "target_rank": {"target": "rank"},
        "target_min": {"target": "min"},
        "no_landmarkers": {"only": "^(?!.*(ErrRate|Kappa|AUC)$)"},
        "gain": {"landmarker_gain": True},
        "gain_only": {"landmarker_gain": "only"},
        "gain_max_features_0.25": {"landmarker_gain": True, "max_features": 0.25},
        "gain_max_features_0.4": {"landmarker_gain": True, "max_features": 0.4},
        "gain_max_features_0.5": {"landmarker_gain": True, "max_features": 0.5},
        "gain_leaf2": {"landmarker_gain": True, "min_samples_leaf": 2},
        "gain_2000_trees": {"landmarker_gain": True, "n_estimators": 2000},
        "gain_no_drift": {"landmarker_gain": True, "only": "^(?!.*(Adwin|DDM|Ddm))"},  # without the data-stream detectors
        "gain_et": {"landmarker_gain": True, "kind": "et", "bootstrap": None},
    }.items()},
    "alors3": (Alors, {"rank": 3}),
    "alors5": (Alors, {"rank": 5}),
    "alors8": (Alors, {"rank": 8}),
    "alors12": (Alors, {"rank": 12}),
    "alors5_et": (Alors, {"rank": 5, "kind": "et"}),
    "alors8_et": (Alors, {"rank": 8, "kind": "et"}),
    "alors12_et": (Alors, {"rank": 12, "kind": "et"}),
    "winner_regret": (WinnerClassifier, {}),
    "winner_range": (WinnerClassifier, {"weight": "range"}),
    "winner_unweighted": (WinnerClassifier, {"weight": "none"}),
    "winner_et": (WinnerClassifier, {"kind": "et"}),
    "blend_rank_0.5": (Blend, {}),
    "blend_rank_0.7": (Blend, {"weight": 0.7}),
    "blend_z_0.5": (Blend, {"how": "z"}),
    **SLOW,
}


def load(on: str):
    """(meta_X, scores, maximize, folds) of the ASlib scenario or of one task of the shipped database."""
    if on == "aslib":
        from automl_meta.io.aslib import read_scenario

        path = SHARED / "aslib" / "OPENML-WEKA-2017"
        if not path.is_dir():
            raise SystemExit(f"needs {path}")
        scenario = read_scenario(path)
        return scenario.features, scenario.performance, scenario.maximize, scenario.folds
    from automl_meta.io.metadb_resolve import resolve_db_path
    from automl_meta.metadb import MetaDB

    with MetaDB.open(resolve_db_path(None)) as store:
        metric = store.default_metric(on)
        return store.meta_features(on), store.scores(metric, on), bool(store.maximize(metric)), None


def main() -> None:
    from automl_meta.selection import MetaModel
    from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--on", choices=("aslib", "classification", "regression"), default="aslib")
    parser.add_argument("--only", help="comma-separated variant names (default: all but the slow pairs_*)")
    parser.add_argument("--seeds", type=at_least(1), default=5)
    parser.add_argument("--jobs", type=at_least(1), default=2)
    args = parser.parse_args()
    print_machine()
    names = args.only.split(",") if args.only else [n for n in VARIANTS if n not in SLOW]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    specs = {"meta-model": SelectorSpec(lambda seed: MetaModel(random_state=seed))}
    for name in names:
        cls, params = VARIANTS[name]
        specs[name] = SelectorSpec(lambda seed, cls=cls, params=params: cls(random_state=seed, **params))
    meta_X, scores, maximize, folds = load(args.on)
    start = time.perf_counter()
    results = evaluate_selectors(meta_X, scores, maximize, specs, folds=folds, seeds=range(args.seeds), n_jobs=args.jobs)
    print(f"## {args.on}: remaining gap, mean +- spread over {args.seeds} seeds ({time.perf_counter() - start:.0f} s)")
    print("| selector | remaining gap | per seed | top-1 |")
    print("|---|---|---|---|")
    for name, result in results.items():
        if result.error:
            print(f"| {name} | n/a: {result.error} | | |")
            continue
        gaps = [s["remaining_gap"] for s in result.per_seed]
        top1 = np.mean([s["top1_accuracy"] for s in result.per_seed])
        print(f"| {name} | {np.mean(gaps):.3f} +- {np.std(gaps):.3f} | {' / '.join(f'{g:.3f}' for g in gaps)} | {top1:.3f} |")


if __name__ == "__main__":
    run_script(main)
