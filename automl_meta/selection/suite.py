"""The standard comparison behind ``automl-meta selector evaluate``: meta-model vs baselines.

:func:`evaluate_suite` runs :func:`~automl_meta.selection.protocols.evaluate_selectors`
with the meta-model and every baseline and returns one JSON-ready report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from automl_meta.selection.baselines import KNNSelector, RandomSelector, SimpleFeatureNN, SingleBest
from automl_meta.selection.metamodel import MetaModel
from automl_meta.selection.multi_forest import MultiOutputForest
from automl_meta.selection.normalize import fill_failed, orient
from automl_meta.selection.pairwise_forest import PairwiseForest
from automl_meta.selection.probe import MetaFeaturesOnly, ProbeBest, ProbeBlend, probe_columns
from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors


def default_selectors(log_scores: bool = False, metamodel_params: dict | None = None,
                      pairwise_forest: bool = False, forest: bool = False, probe_weight: float | None = None,
                      pairwise_trees: int = 300) -> dict[str, SelectorSpec]:
    """Name -> spec of the meta-model and the four baselines (plus the multi-output or slow pairwise forests if asked,
    the latter of ``pairwise_trees`` trees per pair).

    With ``probe_weight`` (``meta_X`` then holds ``probe:<learner>`` columns, see
    :mod:`automl_meta.selection.probe`) two more: the probe's order alone, and the
    meta-model blended with it at that weight, as ``recommend --probe`` ranks; the
    others are fitted and queried without the probe columns.
    """
    params = dict(metamodel_params or {})
    specs = {
        "meta-model": SelectorSpec(lambda seed: MetaModel(log_scores=log_scores, random_state=seed, **params)),
        "SBS": SelectorSpec(lambda seed: SingleBest(log_scores=log_scores), seeded=False),
        "kNN (auto-sklearn)": SelectorSpec(lambda seed: KNNSelector(log_scores=log_scores), seeded=False),
        "1-NN simple (FLAML)": SelectorSpec(lambda seed: SimpleFeatureNN(log_scores=log_scores), seeded=False),
        "random": SelectorSpec(lambda seed: RandomSelector(random_state=seed, log_scores=log_scores)),
    }
    if forest:
        specs["multi-output RF"] = SelectorSpec(lambda seed: MultiOutputForest(random_state=seed, log_scores=log_scores))
    if pairwise_forest:
        specs["pairwise RF (SATzilla)"] = SelectorSpec(
            lambda seed: PairwiseForest(n_estimators=pairwise_trees, random_state=seed, log_scores=log_scores))
    if probe_weight is not None:
        specs = {name: SelectorSpec(lambda seed, make=spec.make: MetaFeaturesOnly(make(seed)), seeded=spec.seeded)
                 for name, spec in specs.items()}
        specs["probe"] = SelectorSpec(lambda seed: ProbeBest(), seeded=False)
        specs["meta-model + probe"] = SelectorSpec(lambda seed: ProbeBlend(weight=probe_weight, random_state=seed))
    return specs


def evaluate_suite(
    meta_X: pd.DataFrame,
    scores: pd.DataFrame,
    maximize: bool,
    folds: pd.Series | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    log_scores: bool = False,
    n_boot: int = 1000,
    metamodel_params: dict | None = None,
    selectors: dict[str, SelectorSpec] | None = None,
    progress: Callable[[int], None] | None = None,
    n_jobs: int = 1,
) -> dict:
    """Evaluate the meta-model and the baselines; a plain dict (numbers, names) for tables and JSON."""
    selectors = selectors or default_selectors(log_scores, metamodel_params)
    results = evaluate_selectors(meta_X, scores, maximize, selectors, folds=folds, seeds=seeds, n_boot=n_boot,
                                 progress=progress, log_scores=log_scores, n_jobs=n_jobs)
    common = meta_X.index.intersection(scores.dropna(how="all").index)
    truth = fill_failed(orient(scores.loc[common], maximize))
    sign = 1.0 if maximize else -1.0
    return {
        "protocol": "leave-one-dataset-out" if folds is None else f"{folds.reindex(common).nunique()}-fold (given folds)",
        "n_datasets": int(len(common)),
        # every learner scores alike there (an instance no solver solves): left out of top-1 and NDCG@3
        "n_no_choice": int((truth.max(axis=1) == truth.min(axis=1)).sum()),
        "n_learners": int(scores.loc[common].dropna(axis=1, how="all").shape[1]),
        "n_meta_features": int(meta_X.shape[1] - len(probe_columns(meta_X.columns))),
        "maximize": bool(maximize),
        "seeds": [int(s) for s in seeds],
        "oracle_mean_score": float(sign * np.nanmean(truth.max(axis=1))),
        "selectors": {name: result.to_dict() for name, result in results.items()},
    }
