"""``--source openml:...`` (compute our meta-features and portfolio on OpenML data) and
``--source openml-runs:...`` (import OpenML's stored evaluations and data qualities).

Source forms::

    openml:suite=99            every task of a benchmark suite (99: OpenML-CC18)
    openml:tasks=1,2           supervised tasks (dataset + target + task type)
    openml:datasets=1,2        datasets, with their default target
    openml-runs:tasks=1,2      for each task, the best stored run of every flow (and the data qualities)
    openml-runs:runs=1,2       the given stored runs

Everything goes through openml-python's cache, so what is cached works offline.
A dataset OpenML cannot deliver (network down after the bounded retries, server
error) is recorded with the reason and the build goes on with the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from automl_meta.exceptions import AutomlMetaError, UsageError
from automl_meta.io.openml_client import (
    OpenMLConfig,
    configure,
    dataset_description,
    dataset_qualities,
    run_evaluation,
    suite_task_ids,
    task_evaluations,
    task_info,
)
from automl_meta.metadb.units import DatasetRef

logger = logging.getLogger(__name__)

QUALITIES_VERSION = "openml-qualities"
RUNS_PORTFOLIO = "openml-flows"
RUN_METRICS = {"classification": ("predictive_accuracy", True), "regression": ("root_mean_squared_error", False)}


@dataclass(frozen=True)
class OpenMLSource:
    """A parsed ``openml:``/``openml-runs:`` source."""

    mode: str  # "compute" | "runs"
    kind: str  # "suite" | "tasks" | "datasets" | "runs"
    ids: tuple[str, ...]


def parse_source(text: str) -> OpenMLSource:
    """Parse ``openml:tasks=1,2`` and the like (see the module docstring)."""
    prefix, _, rest = text.partition(":")
    mode = {"openml": "compute", "openml-runs": "runs"}.get(prefix)
    kind, _, values = rest.partition("=")
    allowed = ("suite", "tasks", "datasets") if mode == "compute" else ("tasks", "runs")
    ids = tuple(v.strip() for v in values.split(",") if v.strip())
    if mode is None or kind not in allowed or not ids:
        raise UsageError(
            f"cannot read the source {text!r}; use openml:suite=ID, openml:tasks=ID,ID, openml:datasets=ID,ID, "
            "openml-runs:tasks=ID,ID or openml-runs:runs=ID,ID"
        )
    if kind != "suite" and not all(v.isdigit() for v in ids):
        raise UsageError(f"OpenML {kind} ids must be integers, got {','.join(ids)!r}")
    return OpenMLSource(mode=mode, kind=kind, ids=ids)


def _safe_name(did: int, fallback: str) -> str:
    try:
        return str(dataset_description(did)["name"])
    except AutomlMetaError as exc:
        logger.debug("%s", exc)  # loading it fails too, and the build's summary names that failure
        return fallback


def openml_refs(source: OpenMLSource, config: OpenMLConfig, source_text: str) -> list[DatasetRef]:
    """DatasetRefs for a compute build; a task OpenML cannot resolve becomes a ref carrying its error."""
    configure(config)
    task_ids: list[int] = []
    if source.kind == "suite":
        suite = source.ids[0]
        task_ids = suite_task_ids(int(suite) if suite.isdigit() else suite)  # no suite, no build: raise
    elif source.kind == "tasks":
        task_ids = [int(v) for v in source.ids]
    refs: list[DatasetRef] = []
    for tid in task_ids:
        try:
            info = task_info(tid)
        except AutomlMetaError as exc:
            logger.debug("%s", exc)  # the build's summary names every failure
            refs.append(DatasetRef(name=f"openml_task_{tid}", source=source_text, source_id=f"task/{tid}", error=str(exc)))
            continue
        name = _safe_name(info["dataset_id"], f"openml_data_{info['dataset_id']}")
        refs.append(DatasetRef(name=name, source=source_text, source_id=f"task/{tid}", target=info["target"],
                               task=info["task"], openml_dataset_id=info["dataset_id"], openml_config=config))
    if source.kind == "datasets":
        for did in (int(v) for v in source.ids):
            refs.append(DatasetRef(name=_safe_name(did, f"openml_data_{did}"), source=source_text, source_id=f"data/{did}",
                                   openml_dataset_id=did, openml_config=config))
    names = [r.name for r in refs]
    refs = [
        r if names.count(r.name) == 1 else DatasetRef(**{**r.__dict__, "name": f"{r.name}_{r.source_id.replace('/', '_')}"})
        for r in refs
    ]
    return refs


def import_runs(db, source: OpenMLSource, config: OpenMLConfig, source_text: str, build_id: int | None = None,
                on_item: Callable[[str, bool], None] | None = None) -> dict:
    """Import OpenML's stored evaluations and data qualities (no recomputation); idempotent.

    With ``tasks=``, each flow is one learner and scores its best stored run on the task;
    with ``runs=``, each given run is imported. Returns counts and the failures with reasons.
    """
    configure(config)
    summary = {"datasets": 0, "evaluations": 0, "skipped": 0, "failures": []}
    items = [("task", int(v)) for v in source.ids] if source.kind == "tasks" else [("run", int(v)) for v in source.ids]
    for kind, item_id in items:
        try:
            if kind == "task":
                _import_task(db, item_id, source_text, build_id, summary)
            else:
                _import_run(db, item_id, source_text, build_id, summary)
            ok = True
        except AutomlMetaError as exc:
            logger.debug("%s", exc)  # the summary names every failure
            summary["failures"].append({"item": f"{kind} {item_id}", "reason": str(exc)})
            ok = False
        if on_item is not None:
            on_item(f"{kind} {item_id}", ok)
    return summary


def _dataset_row(db, did: int, task: str, source_text: str, source_id: str, build_id, summary) -> int:
    """The row of OpenML dataset ``did`` for ``task``, added (with its qualities) the first time.

    Rows are found by the OpenML dataset id (kept in the database's ``meta``), not by
    name: OpenML datasets share names (test-server datasets 1 and 2 are both 'anneal'),
    and one found by name would take the other's runs. The second of a name is stored as
    ``<name>_data_<did>``, as ``openml:`` names it. A row stored before ids were kept is
    found by its name, as then.
    """
    by_id = f"openml-runs:{task}:dataset:{did}"
    known = db.get_meta(by_id)
    if known is not None and db.dataset_id(known, task) is not None:
        dataset_id = db.dataset_id(known, task)
        if db.metafeature_status(dataset_id) != "ok":  # OpenML's qualities were out of reach then: try again
            _store_qualities(db, dataset_id, did)
        return dataset_id
    try:
        described = dataset_description(did)
    except AutomlMetaError as exc:  # its qualities fail alike, and a rerun tries them again (above)
        summary["failures"].append({"item": f"dataset {did}", "reason": str(exc)})
        described = {"name": f"openml_data_{did}"}
    name = described["name"]
    existing = db.dataset_id(name, task)
    if existing is not None:
        holder = db.get_meta(f"openml-runs:{task}:name:{name}")
        if holder is None or holder == did:  # this dataset's own row (or one stored before ids were kept)
            db.set_meta(by_id, name)
            db.set_meta(f"openml-runs:{task}:name:{name}", did)
            return existing
        name = f"{name}_data_{did}"  # another OpenML dataset of the same name holds it
        existing = db.dataset_id(name, task)
        if existing is not None:
            db.set_meta(by_id, name)
            return existing
    summary["datasets"] += 1
    dataset_id = db.add_dataset({"name": name, "task": task, "source": source_text, "source_id": source_id,
                                 "n_rows": described.get("n_rows"), "n_features": described.get("n_features"),
                                 "n_classes": described.get("n_classes"), "licence": described.get("licence")}, build_id)
    db.set_meta(by_id, name)
    db.set_meta(f"openml-runs:{task}:name:{name}", did)
    if not db.has_meta_features(dataset_id):
        _store_qualities(db, dataset_id, did)
    return dataset_id


def _store_qualities(db, dataset_id: int, did: int) -> None:
    """OpenML's qualities of dataset ``did`` as the row's meta-features, or a failed run saying why."""
    try:
        qualities = dataset_qualities(did)
        db.add_meta_features(dataset_id, qualities, QUALITIES_VERSION, groups=["openml-qualities"])
    except AutomlMetaError as exc:
        db.add_meta_features(dataset_id, {}, QUALITIES_VERSION, status="failed", reason=str(exc))


def _register(db, task: str) -> str:
    metric, maximize = RUN_METRICS[task]
    db.register_metric(metric, maximize)
    db.set_default_metric(task, metric)
    return metric


def _import_task(db, task_id: int, source_text: str, build_id, summary) -> None:
    info = task_info(task_id)
    task = info["task"]
    metric = _register(db, task)
    dataset_id = _dataset_row(db, info["dataset_id"], task, source_text, f"task/{task_id}", build_id, summary)
    evaluations = task_evaluations(task_id, metric)  # raises OpenMLAccessError when offline and not cached
    if evaluations.empty:
        return
    maximize = db.maximize(metric)
    best = evaluations.sort_values("value", ascending=not maximize).drop_duplicates("flow_name")
    done = db.evaluated_pairs()
    for row in best.itertuples(index=False):
        learner_id = db.add_learner(str(row.flow_name), task, {"flow_id": int(row.flow_id)}, RUNS_PORTFOLIO)
        if (dataset_id, learner_id) in done:
            summary["skipped"] += 1
            continue
        db.add_evaluation(dataset_id, learner_id, "ok", {metric: {"mean": float(row.value), "std": None, "folds": []}},
                          protocol={"source": "openml-runs", "task_id": task_id, "run_id": int(row.run_id), "best_of_flow": True},
                          build_id=build_id)
        summary["evaluations"] += 1


def _import_run(db, run_id: int, source_text: str, build_id, summary) -> None:
    run = run_evaluation(run_id)
    task = run["task"]  # as the run's own description says; else its task's
    if task is None:
        try:
            task = task_info(int(run["task_id"]))["task"]
        except AutomlMetaError as exc:  # no guess is stored
            raise type(exc)(f"cannot tell the kind of task {run['task_id']} of run {run_id}, so nothing was stored for it ({exc})") from exc
    metric = _register(db, task)
    if task != "classification":
        run = run_evaluation(run_id, metric)
    dataset_id = _dataset_row(db, int(run["dataset_id"]), task, source_text, f"run/{run['run_id']}", build_id, summary)
    learner_id = db.add_learner(str(run["flow_name"]), task, {"flow_id": int(run["flow_id"]), "setup": run["setup_string"]}, RUNS_PORTFOLIO)
    if (dataset_id, learner_id) in db.evaluated_pairs():
        summary["skipped"] += 1
        return
    folds = run["folds"]
    std = None
    if folds:
        mean = sum(folds) / len(folds)
        std = (sum((v - mean) ** 2 for v in folds) / len(folds)) ** 0.5
    value = run["value"]
    status = "ok" if value is not None else "failed"
    scores = {metric: {"mean": value, "std": std, "folds": folds}} if value is not None else {}
    db.add_evaluation(dataset_id, learner_id, status, scores, reason=None if value is not None else f"run {run_id} has no {metric}",
                      protocol={"source": "openml-runs", "task_id": run["task_id"], "run_id": run["run_id"]}, build_id=build_id)
    summary["evaluations"] += 1
