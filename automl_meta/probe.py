"""Probe a dataset: every candidate cross-validated on a small subsample, then blended into the ranking.

``recommend --probe`` (and ``recommend_learners(..., probe=True)``) runs
:func:`with_probe` after the meta-model has ranked the portfolio: the probe's
scores re-order the ranking as :func:`automl_meta.selection.probe.blend_ranks`
says (why a blend, and what it gains, in that module and README).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pandas as pd

from automl_meta.dataset import Dataset
from automl_meta.exceptions import UsageError
from automl_meta.learners.worker_pool import OUT_OF_BUDGET
from automl_meta.numbers import finite_or_none
from automl_meta.recommend import Recommendation
from automl_meta.selection.probe import PROBE_BUDGET, PROBE_CV, PROBE_ROWS, PROBE_TIMEOUT, PROBE_WEIGHT, blend_ranks, probe_weight


NOT_PROBED = "not_probed"


def probe_scores(
    dataset: Dataset,
    learners: list[str],
    rows: int = PROBE_ROWS,
    cv: int = PROBE_CV,
    metric: str | None = None,
    timeout: float | None = PROBE_TIMEOUT,
    n_jobs: int = -1,
    random_state: int = 0,
    on_result=None,
    budget: float | None = PROBE_BUDGET,
) -> tuple[pd.Series, int]:
    """Cross-validate ``learners`` on a stratified subsample of at most ``rows`` rows.

    The learners run in worker processes, one per core (``n_jobs``), and a fit
    over ``timeout`` seconds is stopped and counts as failed: on a few hundred
    rows that is a learner to rank last anyway (QDA took 14 s per fold on 500
    rows of mfeat_pixel's 240 features). ``budget`` bounds the whole probe:
    learners unfinished when it runs out score NaN too (:func:`with_probe`
    tells them apart and leaves them in the meta-model's order).

    Returns ``(scores, rows_used)``: the mean of the ranking metric per learner
    (NaN where it failed or timed out) and how many rows were cross-validated.
    """
    if rows < 2 * cv:
        raise UsageError(f"--probe-rows must be at least {2 * cv} for {cv} folds, got {rows}")
    from automl_meta.evaluation import evaluate

    outcome = evaluate(
        dataset,
        learners=list(learners),
        cv=cv,
        metric=metric,
        timeout=timeout,
        n_jobs=n_jobs,
        random_state=random_state,
        max_rows=rows,  # evaluate subsamples only data larger than that
        on_result=on_result,
        budget=budget,
    )
    scores = pd.Series({r.learner: (r.mean if r.status == "ok" else math.nan) for r in outcome.results}, dtype=float)
    return scores.reindex(list(learners)), outcome.n_rows


def with_probe(
    dataset: Dataset,
    recommendation: Recommendation,
    rows: int | None = PROBE_ROWS,
    cv: int = PROBE_CV,
    weight: float = PROBE_WEIGHT,
    timeout: float | None = PROBE_TIMEOUT,
    n_jobs: int = -1,
    random_state: int = 0,
    on_result=None,
    budget: float | None = None,
) -> Recommendation:
    """Probe every ranked learner and re-rank by the blend of the probe and the meta-model's order.

    ``rows=None`` and ``budget=None`` mean the defaults,
    :data:`~automl_meta.selection.probe.PROBE_ROWS` and ``PROBE_BUDGET`` seconds.
    ``weight`` is the probe's weight while it covers a quarter of the rows or
    more; on larger data it shrinks (:func:`~automl_meta.selection.probe.probe_weight`).
    Each :class:`~automl_meta.recommend.RankedLearner` keeps its meta-model
    prediction and gains ``probe_score`` (None where the probe failed) and
    ``model_rank`` (its rank before the probe); ``Recommendation.probe``
    records the rows, folds, weight, seconds, the limits (``timeout`` per fit,
    ``budget`` in all), the learners ``too_slow`` for a fit (they rank last by
    the probe) and those ``not_probed`` to the end before the budget ran out
    (the probe leaves their model order as it is). Learners are probed in
    ranked order, so a budget spends its time on the most promising ones.
    """
    start = time.perf_counter()
    learners = [r.learner for r in recommendation.ranking]
    budget = PROBE_BUDGET if budget is None else budget
    status = {}

    def record(result) -> None:
        status[result.learner] = NOT_PROBED if result.reason.endswith(OUT_OF_BUDGET) else result.status
        if on_result is not None:
            on_result(result)

    scores, used = probe_scores(
        dataset, learners, PROBE_ROWS if rows is None else rows, cv, recommendation.metric, timeout, n_jobs, random_state,
        on_result=record, budget=budget,
    )
    effective = probe_weight(used, dataset.n_rows, weight)
    # the meta-model's utility where it gave one, else its order (higher = better either way)
    utility = [r.utility if r.utility is not None else -float(r.rank) for r in recommendation.ranking]
    blended = blend_ranks(
        pd.DataFrame([utility], columns=learners),
        pd.DataFrame([scores.to_numpy()], columns=learners),
        recommendation.maximize,
        effective,
        unprobed=pd.DataFrame([[status.get(name) == NOT_PROBED for name in learners]], columns=learners),
    ).iloc[0]
    order = sorted(recommendation.ranking, key=lambda r: (-blended[r.learner], r.rank))
    ranking = tuple(
        replace(r, rank=i, model_rank=r.rank, probe_score=finite_or_none(scores[r.learner]))
        for i, r in enumerate(order, start=1)
    )
    probe = {"rows": used, "of_rows": dataset.n_rows, "cv": cv, "weight": effective, "full_weight": weight,
             "seconds": time.perf_counter() - start, "timeout": timeout, "budget": budget,
             "too_slow": [name for name in learners if status.get(name) == "timeout"],
             "not_probed": [name for name in learners if status.get(name) == NOT_PROBED]}
    return replace(recommendation, ranking=ranking, probe=probe)
