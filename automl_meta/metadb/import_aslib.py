"""Import an ASlib scenario into a meta-database.

The scenario becomes its own task, ``aslib:<scenario_id>``: its instances are the
datasets (with their official CV fold), its features the meta-features, its
algorithms the learners, and its performance measure the task's default metric
with the scenario's direction. Runtime scenarios keep their PAR10 convention:
a run that timed out or crashed is stored with its status and the PAR10 score,
so ``scores(measure)`` is the matrix ASlib evaluations use.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from automl_meta.io.aslib import MISSING_RUN, PAR_FACTOR, ASlibScenario

logger = logging.getLogger(__name__)

_STATUS = {"ok": "ok", "timeout": "timeout"}


def aslib_task(scenario: ASlibScenario) -> str:
    """The task name a scenario is stored under."""
    return f"aslib:{scenario.name}"


def _settings(scenario: ASlibScenario) -> dict:
    """What the database keeps of how the scenario's runs are scored (its ``meta`` entry)."""
    return {
        "performance_measure": scenario.performance_measure,
        "maximize": scenario.maximize,
        "performance_type": scenario.performance_type,
        "cutoff": scenario.cutoff,
        "par_factor": PAR_FACTOR if scenario.performance_type == "runtime" and scenario.cutoff else None,
    }


def changes_since_import(db, scenario: ASlibScenario) -> list[str]:
    """How ``scenario`` differs from what ``db`` already holds of it: settings, then runs (empty when it does not).

    A build resumes by skipping what is stored, so a scenario edited since its import
    (a run now timed out, another cutoff) would otherwise keep its old scores silently.
    """
    stored = db.get_meta(f"aslib:{scenario.name}")
    if stored is None:
        return []
    now = _settings(scenario)
    changes = [f"{key} {stored.get(key)!r} -> {value!r}" for key, value in now.items() if stored.get(key) != value]
    if changes:
        return changes
    held = db.scores(scenario.performance_measure, aslib_task(scenario))
    ours = scenario.performance.reindex(index=held.index, columns=held.columns)
    differ = ~(np.isclose(held.to_numpy(dtype=float), ours.to_numpy(dtype=float), rtol=1e-12, atol=0.0, equal_nan=True))
    if differ.any():
        i, j = np.argwhere(differ)[0]
        changes.append(f"{int(differ.sum())} stored runs differ, such as {held.columns[j]} on {held.index[i]!r} "
                       f"({held.iat[i, j]:g} stored, {ours.iat[i, j]:g} now)")
    return changes


def forget_scenario(db, scenario: ASlibScenario) -> int:
    """Drop every instance ``db`` holds of ``scenario`` (its features and runs; other tasks stay), all or none; how many."""
    ids = db.dataset_ids(aslib_task(scenario))
    db.forget_datasets(ids)
    return len(ids)


def import_scenario(db, scenario: ASlibScenario, build_id: int | None = None,
                    on_instance: Callable[[str, bool], None] | None = None) -> dict:
    """Store ``scenario`` in ``db`` (a writable :class:`~automl_meta.metadb.MetaDB`); idempotent.

    Each instance commits on its own (its features, then all its algorithm runs in one
    transaction), unless the caller holds a transaction around the whole import; what is
    already stored is skipped. Returns counts of what was added.
    """
    task = aslib_task(scenario)
    source = f"aslib:{scenario.name}"
    measure = scenario.performance_measure
    db.register_metric(measure, scenario.maximize)
    db.set_default_metric(task, measure)
    db.set_meta(source, {**_settings(scenario), "n_instances": scenario.n_instances, "n_algorithms": len(scenario.algorithms)})
    metainfo = scenario.description.get("metainfo_algorithms") or {}
    learner_ids = {
        name: db.add_learner(name, task, metainfo.get(name) or {}, portfolio_version=source)
        for name in scenario.algorithms
    }
    done = db.evaluated_pairs()
    protocol = {"source": "aslib", "scenario": scenario.name, "measure": measure, "cutoff": scenario.cutoff}
    added = {"datasets": 0, "evaluations": 0, "skipped": 0}
    feature_names = [str(c) for c in scenario.features.columns]
    feature_values = scenario.features.to_numpy(dtype=float)
    performance = scenario.performance.to_numpy(dtype=float)
    runstatus = scenario.runstatus.astype(str).to_numpy() if scenario.runstatus is not None else None
    for i, instance in enumerate(scenario.performance.index):
        fold = scenario.folds.get(instance) if len(scenario.folds) else None
        dataset_id = db.dataset_id(instance, task)
        if dataset_id is None:
            dataset_id = db.add_dataset(
                {"name": instance, "task": task, "source": source, "source_id": instance,
                 "n_features": len(feature_names), "fold": None if fold is None else int(fold)},
                build_id=build_id,
            )
            added["datasets"] += 1
        if not db.has_meta_features(dataset_id):
            values = {k: (None if np.isnan(v) else float(v)) for k, v in zip(feature_names, feature_values[i])}
            db.add_meta_features(dataset_id, values,
                                 extractor_version=source, n_rows_used=None, groups=["aslib"])
        batch = []
        for j, algorithm in enumerate(scenario.algorithms):
            learner_id = learner_ids[algorithm]
            if (dataset_id, learner_id) in done:
                added["skipped"] += 1
                continue
            value = performance[i, j]
            run = str(runstatus[i, j]) if runstatus is not None else "ok"
            penalised = scenario.performance_type == "runtime" and scenario.cutoff is not None and value >= scenario.cutoff
            status = _STATUS.get(run, "failed")
            if status == "ok" and penalised:
                status = "timeout"  # ran to the cutoff
            if run == MISSING_RUN:
                reason = "no run in algorithm_runs.arff" + (f"; scored PAR{PAR_FACTOR}" if penalised else "")
            else:
                reason = None if status == "ok" else f"ASlib runstatus {run}; scored PAR{PAR_FACTOR}" if penalised else f"ASlib runstatus {run}"
            scores = {} if np.isnan(value) else {measure: {"mean": float(value), "std": None, "folds": []}}
            batch.append({"dataset_id": dataset_id, "learner_id": learner_id, "status": status, "scores": scores,
                          "reason": reason, "protocol": protocol, "build_id": build_id})
        db.add_evaluations(batch)  # one instance's runs: all or none
        added["evaluations"] += len(batch)
        if on_instance is not None:
            on_instance(instance, True)
    logger.info("%s: %d instances, %d evaluations added, %d already stored", scenario.name, added["datasets"], added["evaluations"], added["skipped"])
    return added
