"""How much of the SBS -> oracle gap a meta-database's own fold noise leaves to be closed.

The oracle of :mod:`automl_meta.selection.metrics` picks, per dataset, the
learner with the best *cross-validated* score; with five folds on a small
dataset part of that score is noise, and no selector can predict noise. The
"fold-peeking selector" measures how much: for every way to split the folds in
two, it chooses each dataset's learner from the mean of the first part of its
own fold scores (information no meta-model has), and is judged, like every
selector, by the remaining gap computed on the other part. Its remaining gap is
a floor a meta-model cannot be expected to beat on that database; a floor near 1
says the database cannot tell its learners apart, and only more folds, repeats
or rows (``db build --cv``, ``--max-rows``) can change that.

A second figure (:func:`perfect_knowledge_gap`) asks what even a selector
that knew every learner's true mean would leave, when it is judged on k-fold
means redrawn from the learners' own fold scores.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from automl_meta.exceptions import UsageError


def fold_array(evaluations: pd.DataFrame, metric: str, maximize: bool) -> tuple[np.ndarray, list[str], list[str]]:
    """``(datasets x learners x folds, datasets, learners)``, oriented (higher = better), NaN = no score.

    ``evaluations`` is :meth:`automl_meta.metadb.MetaDB.evaluations` (long form with
    ``fold_scores`` lists); evaluations with another number of folds than the most
    common one are left out.
    """
    rows = evaluations[(evaluations["metric"] == metric) & (evaluations["status"] == "ok")]
    if rows.empty:
        raise UsageError(f"no fold scores for metric {metric!r} in these evaluations")
    n_folds = int(rows["fold_scores"].map(len).mode().iloc[0])
    rows = rows[rows["fold_scores"].map(len) == n_folds]
    datasets = sorted(rows["dataset"].unique())
    learners = sorted(rows["learner"].unique())
    out = np.full((len(datasets), len(learners), n_folds), np.nan)
    d_index = {d: i for i, d in enumerate(datasets)}
    l_index = {a: i for i, a in enumerate(learners)}
    for dataset, learner, folds in zip(rows["dataset"], rows["learner"], rows["fold_scores"]):
        out[d_index[dataset], l_index[learner]] = np.asarray(folds, dtype=float)
    return (out if maximize else -out), datasets, learners


def _worst_filled(values: np.ndarray) -> np.ndarray:
    worst = np.nanmin(np.where(np.isnan(values), np.inf, values), axis=1, keepdims=True)
    return np.where(np.isnan(values), worst, values)


def fold_peeking_gap(folds: np.ndarray, sbs: int, choose_folds: int | None = None) -> dict:
    """Remaining gap of the fold-peeking selector (see the module docstring) over every fold split.

    Parameters
    ----------
    folds : ndarray (datasets, learners, folds)
        Oriented fold scores, NaN = failed (counted as the dataset's worst).
    sbs : int
        Column of the single best solver.
    choose_folds : int, optional
        Folds the choice sees (default: a majority, ``folds // 2 + 1``); the rest judge it.

    Returns ``{"remaining_gap": mean, "min", "max", "splits", "choose_folds", "judge_folds"}``.
    """
    n_folds = folds.shape[2]
    if n_folds < 2:
        raise UsageError("the fold-peeking selector needs at least 2 folds per evaluation")
    choose_folds = choose_folds or n_folds // 2 + 1
    if not 1 <= choose_folds < n_folds:
        raise UsageError(f"choose_folds must be between 1 and {n_folds - 1}, got {choose_folds}")
    rows = np.arange(folds.shape[0])
    gaps = []
    for chosen in itertools.combinations(range(n_folds), choose_folds):
        judged = [f for f in range(n_folds) if f not in chosen]
        with warnings.catch_warnings():  # an all-NaN (failed) learner has no mean: NaN is the answer
            warnings.simplefilter("ignore", RuntimeWarning)
            seen = np.nanmean(folds[:, :, list(chosen)], axis=2)
            truth = _worst_filled(np.nanmean(folds[:, :, judged], axis=2))
        pick = np.argmax(np.where(np.isnan(seen), -np.inf, seen), axis=1)
        oracle = truth.max(axis=1)
        sbs_regret = float((oracle - truth[:, sbs]).sum())
        if sbs_regret > 0:
            gaps.append(float((oracle - truth[rows, pick]).sum()) / sbs_regret)
    if not gaps:
        raise UsageError("the SBS is the oracle on every dataset: there is no gap to measure")
    return {"remaining_gap": float(np.mean(gaps)), "min": float(np.min(gaps)), "max": float(np.max(gaps)),
            "splits": len(gaps), "choose_folds": choose_folds, "judge_folds": n_folds - choose_folds}


def perfect_knowledge_gap(folds: np.ndarray, sbs: int, n_draws: int = 200, random_state=None) -> float:
    """Remaining gap of a selector that knows every learner's mean, judged on re-drawn fold noise.

    Takes the observed fold means as the truth; a new k-fold mean of a learner is
    the mean of k of its own fold scores drawn with replacement (a bootstrap of
    its folds), so a draw stays within what its folds showed: a bounded metric
    stays in its range, and one disastrous fold (an r2 of -661) is redrawn as
    often as it came, not spread as normal noise of its standard deviation over
    both sides, which gave r2 above 1 and a regression floor of 0.89 made by one
    dataset. The selector always picks the learner with the best true mean; the
    judge sees one draw, as the leave-one-out metric does.
    """
    rng = check_random_state(random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(folds, axis=2)
    ran = ~np.isnan(means)
    best = np.argmax(np.where(ran, means, -np.inf), axis=1)
    rows = np.arange(len(means))
    regret = sbs_regret = 0.0
    for _ in range(n_draws):
        picked = np.take_along_axis(folds, rng.randint(0, folds.shape[2], size=folds.shape), axis=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            redrawn = np.nanmean(picked, axis=2)
        redrawn = np.where(np.isnan(redrawn), means, redrawn)  # only missing folds drawn: its mean
        draw = _worst_filled(np.where(ran, redrawn, np.nan))
        oracle = draw.max(axis=1)
        regret += float((oracle - draw[rows, best]).sum())
        sbs_regret += float((oracle - draw[:, sbs]).sum())
    return regret / sbs_regret if sbs_regret > 0 else float("nan")


def noise_floor(evaluations: pd.DataFrame, scores: pd.DataFrame, metric: str, maximize: bool) -> dict:
    """Both floors for the datasets of ``scores``, against their SBS (best mean normalized score).

    :func:`fold_peeking_gap`'s dict plus ``sbs``, ``n_datasets`` and
    ``perfect_knowledge_remaining_gap`` (:func:`perfect_knowledge_gap`, seeded).
    """
    from automl_meta.selection.baselines import SingleBest

    folds, datasets, learners = fold_array(evaluations[evaluations["dataset"].isin(scores.index)], metric, maximize)
    sbs = SingleBest().fit(pd.DataFrame(index=scores.index), scores, maximize=maximize).best_
    if sbs not in learners:
        raise UsageError(f"the SBS {sbs!r} has no fold scores for {metric!r}")
    column = learners.index(sbs)
    return {**fold_peeking_gap(folds, column), "sbs": sbs, "n_datasets": len(datasets),
            "perfect_knowledge_remaining_gap": perfect_knowledge_gap(folds, column, random_state=0)}
