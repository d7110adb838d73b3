"""The units of build work, run in worker processes: describe a dataset, extract its
meta-features, evaluate one learner on it.

A unit gets a :class:`DatasetRef` (where the data is, not the data), loads the
dataset itself (cached per worker process, so the units of one dataset that land
on the same worker load it once), and returns plain picklable dicts. A unit never
raises for a problem with the data or a learner: it returns ``status`` and
``reason``, which the coordinator records. A meta-feature or learner unit that
cannot load its dataset (an OpenML dataset not cached and the server out of
reach, a file gone since the dataset was stored) returns ``status``
:data:`UNAVAILABLE`: that says nothing of the learner, so the coordinator stores
nothing for it, and a rerun tries again.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

from automl_meta.exceptions import AutomlMetaError, UsageError

logger = logging.getLogger(__name__)

METAFEATURES = "__metafeatures__"
REDO_METAFEATURES = "metafeatures"  # --redo metafeatures: re-extract those stored by another extractor version
UNAVAILABLE = "unavailable"  # a unit's status when its dataset could not be loaded: no result to store
IMPORT_KINDS = ("aslib", "openml-runs")  # sources whose runs and features are imported as they are, nothing computed


@dataclass(frozen=True)
class BuildOptions:
    """The evaluation protocol and limits of a build."""

    cv: int = 5
    repeats: int = 1  # repeated k-fold: cv * repeats fold scores, less noise in every score
    max_rows: int | None = 2000
    timeout: float | None = None
    random_state: int = 0
    learners: tuple[str, ...] | None = None
    mf_max_rows: int = 2000
    mf_groups: tuple[str, ...] | None = None  # None: the extractor's default groups
    redo: tuple[str, ...] = ()  # learners whose stale evaluations are recomputed, and/or "metafeatures" (see REDO_METAFEATURES)
    replace_changed: bool = False  # files changed since their results were stored: drop those results and recompute

    def __post_init__(self) -> None:
        if self.max_rows is not None and int(self.max_rows) < 2 * int(self.cv):  # as evaluate refuses it, before any work
            raise UsageError(f"--max-rows {self.max_rows} is too small for {self.cv} folds; give at least {2 * int(self.cv)}")

    def protocol(self) -> dict:
        """What makes scores comparable: stored once per database and checked on every rerun."""
        protocol = {"cv": self.cv, "max_rows": self.max_rows, "random_state": self.random_state, "mf_max_rows": self.mf_max_rows}
        if self.repeats != 1:  # absent when 1, so databases built before the option keep their protocol
            protocol["repeats"] = self.repeats
        if self.mf_groups is not None:  # in pymfe's order: statistical,general is general,statistical
            from automl_meta.metafeatures.groups import resolve_groups

            protocol["mf_groups"] = list(resolve_groups(self.mf_groups))
        return protocol


@dataclass(frozen=True)
class DatasetRef:
    """Where a dataset comes from: a file (``path``) or an OpenML dataset id (with the client config)."""

    name: str
    source: str
    source_id: str | None = None
    path: str | None = None
    target: str | None = None
    task: str = "auto"
    openml_dataset_id: int | None = None
    openml_config: object | None = field(default=None, compare=True)
    licence: str | None = None
    error: str | None = None  # why the reference could not even be resolved (e.g. OpenML unreachable)


def _unit_data(ref: DatasetRef):
    """(dataset, None) for a meta-feature or learner unit, or (None, :func:`unavailable_record`) when it cannot be loaded."""
    if ref.error is not None:  # the reference itself could not be resolved (OpenML out of reach)
        return None, unavailable_record(ref.error)
    try:
        return load_ref(ref)[0], None
    except Exception as exc:  # not a result of the unit: the coordinator stores nothing, and a rerun retries it
        return None, unavailable_record(_reason(exc))


@lru_cache(maxsize=2)
def load_ref(ref: DatasetRef):
    """The :class:`~automl_meta.dataset.Dataset` a reference points at, and extra metadata."""
    if ref.openml_dataset_id is not None:
        from automl_meta.io.openml_client import configure, load_openml_dataset

        if ref.openml_config is not None:
            configure(ref.openml_config)
        dataset, meta = load_openml_dataset(ref.openml_dataset_id, target=ref.target, task=ref.task)
        return dataset, {"licence": meta.get("licence")}
    from automl_meta.exceptions import DatasetError
    from automl_meta.io import load_dataset
    from automl_meta.io.dataset_folder import FOLDER_FIXES

    try:
        return load_dataset(ref.path, target=ref.target, task=ref.task), {}
    except DatasetError as exc:  # db build has no --sep or --target: the fix is in the file or the manifest
        raise exc.with_fixes(FOLDER_FIXES) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:500]


def describe_unit(ref: DatasetRef) -> dict:
    """The dataset row: task, content hash, shape; or ``status: failed`` with the reason."""
    from automl_meta.io.dataset_folder import source_hash

    if ref.error is not None:
        return failed_dataset(ref.name, ref.error)
    try:
        dataset, extra = load_ref(ref)
        hashed = None if ref.path is None else source_hash(ref.path, ref.target, ref.task)
    except Exception as exc:  # recorded as the dataset's failure reason, and the build goes on
        logger.debug("%s: cannot load (%s)", ref.name, exc)  # the build's summary names every failure
        return failed_dataset(ref.name, _reason(exc))
    return {
        "name": ref.name,
        "status": "ok",
        "task": dataset.task,
        "target": dataset.target,
        "content_hash": dataset.content_hash(),
        "source_hash": hashed,
        "n_rows": dataset.n_rows,
        "n_features": dataset.n_features,
        "n_classes": dataset.n_classes if dataset.task == "classification" else None,
        "licence": extra.get("licence") or ref.licence,
    }


def metafeature_unit(ref: DatasetRef, options: BuildOptions) -> dict:
    """Meta-features of the dataset, with the extractor version."""
    from automl_meta.io.mf_cache import cached_metafeatures
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    start = time.perf_counter()
    dataset, unavailable = _unit_data(ref)
    if unavailable is not None:
        return unavailable
    try:
        mf = cached_metafeatures(dataset, groups=options.mf_groups, random_state=options.random_state, max_rows=options.mf_max_rows)
    except Exception as exc:  # recorded in mf_runs with its reason
        logger.warning("%s: meta-features failed (%s)", ref.name, exc)
        return _failed_metafeatures(_reason(exc), seconds=time.perf_counter() - start)
    return {"status": "ok", "reason": None, "values": dict(mf.values), "seconds": mf.seconds,
            "extractor_version": EXTRACTOR_VERSION, "n_rows_used": mf.n_rows_used, "groups": list(mf.groups)}


def _summary(folds) -> dict:
    values = [float(v) for v in folds if v is not None and math.isfinite(float(v))]
    if not values:
        return {"mean": None, "std": None, "folds": [None if v is None else float(v) for v in folds]}
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return {"mean": mean, "std": std, "folds": [float(v) for v in folds]}


def result_record(result) -> dict:
    """A LearnerResult as the plain dict the store takes (scores only for successful runs)."""
    scores = {}
    if result.status == "ok":
        scores = {metric: _summary(folds) for metric, folds in (getattr(result, "scores", None) or {}).items()}
    return {
        "learner": result.learner,
        "status": result.status,
        "reason": result.reason,
        "fit_seconds": result.fit_seconds,
        "predict_seconds": getattr(result, "predict_seconds", None),
        "scores": scores,
    }


def learner_unit(ref: DatasetRef, learner: str, options: BuildOptions) -> dict:
    """Cross-validate one learner on the dataset with the build's protocol."""
    from automl_meta.evaluation import evaluate

    dataset, unavailable = _unit_data(ref)
    if unavailable is not None:
        return unavailable
    try:
        found = []
        evaluation = evaluate(dataset, learners=[learner], cv=options.cv, repeats=options.repeats, timeout=options.timeout,
                              n_jobs=1, random_state=options.random_state, max_rows=options.max_rows, on_result=found.append)
    except AutomlMetaError as exc:
        return _failed_learner(learner, _reason(exc))
    except Exception as exc:  # a bug or an environment failure in one learner must not stop the build
        logger.warning("%s / %s: evaluation raised %s", ref.name, learner, exc)
        return _failed_learner(learner, _reason(exc))
    if not found:
        return _failed_learner(learner, "evaluate returned no result")
    record = result_record(found[0])
    # what the scores are of, where the protocol had to give way (classes dropped, fewer folds): --max-rows is the protocol
    record["notes"] = [note for note in evaluation.notes if not note.startswith(("subsampled", "more rows than --max-rows"))]
    if record["status"] == "ok" and record["notes"]:
        record["reason"] = "; ".join(record["notes"])
    return record


def failed_dataset(name: str, reason: str) -> dict:
    """The dataset row of a dataset that cannot be used (``describe_unit``'s failure record)."""
    return {"name": name, "status": "failed", "reason": reason}


def unavailable_record(reason: str) -> dict:
    """What a meta-feature or learner unit returns when its dataset cannot be loaded (nothing to store)."""
    return {"status": UNAVAILABLE, "reason": reason}


def _failed_metafeatures(reason: str, seconds: float | None = None) -> dict:
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    return {"status": "failed", "reason": reason, "values": {}, "seconds": seconds,
            "extractor_version": EXTRACTOR_VERSION, "n_rows_used": None, "groups": []}


def _failed_learner(learner: str, reason: str) -> dict:
    return {"learner": learner, "status": "failed", "reason": reason, "fit_seconds": None, "predict_seconds": None, "scores": {}}


def lost_unit_record(what: str, reason: str) -> dict:
    """The failure record of a unit whose worker process died under it (``what`` as in :func:`run_unit`)."""
    return _failed_metafeatures(reason) if what == METAFEATURES else _failed_learner(what, reason)


def run_unit(what: str, ref: DatasetRef, options: BuildOptions) -> dict:
    """One unit: ``what`` is :data:`METAFEATURES` or a learner name."""
    if what == METAFEATURES:
        return metafeature_unit(ref, options)
    return learner_unit(ref, what, options)
