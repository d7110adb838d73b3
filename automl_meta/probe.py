"""Probe a dataset: every candidate cross-validated on a small subsample, then blended into the ranking.

``recommend --probe`` (and ``recommend_learners(..., probe=True)``) runs
:func:`with_probe` after the meta-model has ranked the portfolio: the probe's
scores re-order the ranking as :func:`automl_meta.selection.probe.blend_ranks`
says (why a blend, and what it gains, in that module and README).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import pandas as pd

from automl_meta.dataset import Dataset
from automl_meta.exceptions import UsageError
from automl_meta.learners.worker_pool import OUT_OF_BUDGET
from automl_meta.numbers import finite_or_none
from automl_meta.recommend import Recommendation
from automl_meta.selection.probe import (
    PROBE_BUDGET,
    PROBE_CV,
    PROBE_DRAWS,
    PROBE_ROWS,
    PROBE_TIMEOUT,
    PROBE_WEIGHT,
    blend_ranks,
    probe_weight,
)


NOT_PROBED = "not_probed"


@dataclass(frozen=True)
class ProbeResult:
    """What :func:`probe_scores` measured.

    ``scores``: per learner, the mean of the ranking metric over the draws it
    finished (NaN where it failed or was too slow in a draw, or finished none);
    ``rows``: the rows each draw cross-validated; ``draws``: how many draws each
    learner finished; ``status``: ``ok``, ``failed``, ``timeout`` (a fit over the
    per-fit limit) or ``not_probed`` (the budget ran out before its first draw
    ended); ``fit_seconds``: per learner, its mean seconds per fit (preprocessing
    included) on a draw's training folds, over the draws it finished (NaN where
    ``scores`` is).
    """

    scores: pd.Series
    rows: int
    draws: pd.Series
    status: dict
    fit_seconds: pd.Series


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
    draws: int = PROBE_DRAWS,
) -> ProbeResult:
    """Cross-validate ``learners`` on ``draws`` stratified subsamples of at most ``rows`` rows.

    Draw ``d`` takes its own subsample (when the data have more rows), folds
    and learner seeds from ``random_state + d``; each learner's score is the
    mean over its draws, which cuts the fold noise of a single small
    cross-validation (on data of at most ``rows`` rows the draws are repeated
    cross-validations of all of them). The learners run in worker processes,
    one per core (``n_jobs``), all of draw 1 before draw 2. A fit over
    ``timeout`` seconds is stopped and the learner counts as failed in every
    draw: on a thousand rows that is a learner to rank last anyway (QDA took
    14 s per fold on 500 rows of mfeat_pixel's 240 features). ``budget`` bounds
    the whole probe: a learner keeps the draws it finished, and one that
    finished none is ``not_probed`` (:func:`with_probe` leaves it in the
    meta-model's order). ``on_result`` sees every learner's result of every draw.
    """
    if rows < 2 * cv:
        raise UsageError(f"probe_rows (--probe-rows) must be at least {2 * cv} for {cv} folds, got {rows}")
    if draws < 1:
        raise UsageError(f"the probe needs at least one draw, got {draws}")
    from automl_meta.evaluation import evaluate

    start = time.perf_counter()
    learners = list(learners)
    finished = {name: [] for name in learners}
    fit_seconds = {name: [] for name in learners}
    status = dict.fromkeys(learners, NOT_PROBED)
    used = 0
    for draw in range(draws):
        todo = [name for name in learners if status[name] in ("ok", NOT_PROBED)]
        left = None if budget is None else budget - (time.perf_counter() - start)
        if not todo or (left is not None and left <= 0):
            break
        outcome = evaluate(
            dataset, learners=todo, cv=cv, metric=metric, timeout=timeout, n_jobs=n_jobs,
            random_state=random_state + draw,
            max_rows=rows,  # evaluate subsamples only data larger than that
            on_result=on_result, budget=left,
        )
        used = max(used, outcome.n_rows)
        for result in outcome.results:
            if result.status == "ok":
                finished[result.learner].append(result.mean)
                fit_seconds[result.learner].append(result.fit_seconds)
                status[result.learner] = "ok"
            elif not result.reason.endswith(OUT_OF_BUDGET):
                status[result.learner] = result.status  # failed or too slow: ranks last, whatever earlier draws said

    def mean(values: dict) -> pd.Series:
        return pd.Series(
            {name: (sum(v) / len(v) if v and status[name] == "ok" else math.nan) for name, v in values.items()}, dtype=float
        ).reindex(learners)

    draws_done = pd.Series({n: len(v) for n, v in finished.items()}).reindex(learners)
    return ProbeResult(mean(finished), used, draws_done, status, mean(fit_seconds))


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
    draws: int | None = None,
) -> Recommendation:
    """Probe every ranked learner and re-rank by the blend of the probe and the meta-model's order.

    ``rows=None``, ``budget=None`` and ``draws=None`` mean the defaults,
    :data:`~automl_meta.selection.probe.PROBE_ROWS`, ``PROBE_BUDGET`` seconds and ``PROBE_DRAWS``.
    ``weight`` is the probe's weight while it covers half the rows or
    more; on larger data it shrinks (:func:`~automl_meta.selection.probe.probe_weight`).
    Each :class:`~automl_meta.recommend.RankedLearner` keeps its meta-model
    prediction and gains ``probe_score`` and ``probe_fit_seconds`` (None where
    the probe failed) and ``model_rank`` (its rank before the probe); ``Recommendation.probe``
    records the rows, folds, draws, weight, seconds, the limits (``timeout`` per fit,
    ``budget`` in all), the learners ``too_slow`` for a fit (they rank last by
    the probe), those ``not_probed`` to the end of a single draw before the
    budget ran out (the probe leaves their model order as it is) and those
    with ``fewer_draws`` (scored on the draws they finished). Learners are
    probed in ranked order, so a budget spends its time on the most promising ones.
    """
    start = time.perf_counter()
    learners = [r.learner for r in recommendation.ranking]
    budget = PROBE_BUDGET if budget is None else budget
    draws = PROBE_DRAWS if draws is None else draws
    probe = probe_scores(
        dataset, learners, PROBE_ROWS if rows is None else rows, cv, recommendation.metric, timeout, n_jobs, random_state,
        on_result=on_result, budget=budget, draws=draws,
    )
    scores, status = probe.scores, probe.status
    effective = probe_weight(probe.rows, dataset.n_rows, weight)
    # the meta-model's utility where it gave one, else its order (higher = better either way)
    utility = [r.utility if r.utility is not None else -float(r.rank) for r in recommendation.ranking]
    blended = blend_ranks(
        pd.DataFrame([utility], columns=learners),
        pd.DataFrame([scores.to_numpy()], columns=learners),
        recommendation.maximize,
        effective,
        unprobed=pd.DataFrame([[status[name] == NOT_PROBED for name in learners]], columns=learners),
    ).iloc[0]
    order = sorted(recommendation.ranking, key=lambda r: (-blended[r.learner], r.rank))
    ranking = tuple(
        replace(r, rank=i, model_rank=r.rank, probe_score=finite_or_none(scores[r.learner]),
                probe_fit_seconds=finite_or_none(probe.fit_seconds[r.learner]))
        for i, r in enumerate(order, start=1)
    )
    summary = {"rows": probe.rows, "of_rows": dataset.n_rows, "cv": cv, "draws": draws, "weight": effective, "full_weight": weight,
               "seconds": time.perf_counter() - start, "timeout": timeout, "budget": budget,
               "too_slow": [name for name in learners if status[name] == "timeout"],
               "not_probed": [name for name in learners if status[name] == NOT_PROBED],
               "fewer_draws": [name for name in learners if status[name] == "ok" and probe.draws[name] < draws]}
    return replace(recommendation, ranking=ranking, probe=summary)
