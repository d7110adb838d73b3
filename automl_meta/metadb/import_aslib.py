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

from automl_meta.io.aslib import PAR_FACTOR, ASlibScenario

logger = logging.getLogger(__name__)

_STATUS = {"ok": "ok", "timeout": "timeout"}


def aslib_task(scenario: ASlibScenario) -> str:
    """The task name a scenario is stored under."""
    return f"aslib:{scenario.name}"


def import_scenario(db, scenario: ASlibScenario, build_id: int | None = None,
                    on_instance: Callable[[str, bool], None] | None = None) -> dict:
    """Store ``scenario`` in ``db`` (a writable :class:`~automl_meta.metadb.MetaDB`); idempotent.

    Every instance's meta-features, and every (instance, algorithm) run, commit on
    their own; what is already stored is skipped. Returns counts of what was added.
    """
    task = aslib_task(scenario)
    source = f"aslib:{scenario.name}"
    measure = scenario.performance_measure
    db.register_metric(measure, scenario.maximize)
    db.set_default_metric(task, measure)
    db.set_meta(source, {
        "performance_measure": measure,
        "maximize": scenario.maximize,
        "performance_type": scenario.performance_type,
        "cutoff": scenario.cutoff,
        "par_factor": PAR_FACTOR if scenario.performance_type == "runtime" and scenario.cutoff else None,
        "n_instances": scenario.n_instances,
        "n_algorithms": len(scenario.algorithms),
    })
    metainfo = scenario.description.get("metainfo_algorithms") or {}
    learner_ids = {
        name: db.add_learner(name, task, metainfo.get(name) or {}, portfolio_version=source)
        for name in scenario.algorithms
    }
    done = db.evaluated_pairs()
    protocol = {"source": "aslib", "scenario": scenario.name, "measure": measure, "cutoff": scenario.cutoff}
    added = {"datasets": 0, "evaluations": 0, "skipped": 0}
    features = scenario.features
    for instance in scenario.performance.index:
        fold = scenario.folds.get(instance) if len(scenario.folds) else None
        dataset_id = db.dataset_id(instance, task)
        if dataset_id is None:
            dataset_id = db.add_dataset(
                {"name": instance, "task": task, "source": source, "source_id": instance,
                 "n_features": features.shape[1], "fold": None if fold is None else int(fold)},
                build_id=build_id,
            )
            added["datasets"] += 1
        if not db.has_meta_features(dataset_id):
            row = features.loc[instance]
            db.add_meta_features(dataset_id, {k: (None if np.isnan(v) else float(v)) for k, v in row.items()},
                                 extractor_version=source, n_rows_used=None, groups=["aslib"])
        for algorithm in scenario.algorithms:
            learner_id = learner_ids[algorithm]
            if (dataset_id, learner_id) in done:
                added["skipped"] += 1
                continue
            value = scenario.performance.at[instance, algorithm]
            runstatus = str(scenario.runstatus.at[instance, algorithm]) if scenario.runstatus is not None else "ok"
            penalised = scenario.performance_type == "runtime" and scenario.cutoff is not None and value >= scenario.cutoff
            status = _STATUS.get(runstatus, "failed")
            if status == "ok" and penalised:
                status = "timeout"  # ran to the cutoff
            reason = None if status == "ok" else f"ASlib runstatus {runstatus}; scored PAR{PAR_FACTOR}" if penalised else f"ASlib runstatus {runstatus}"
            scores = {} if np.isnan(value) else {measure: {"mean": float(value), "std": None, "folds": []}}
            db.add_evaluation(dataset_id, learner_id, status, scores, reason=reason, protocol=protocol, build_id=build_id)
            added["evaluations"] += 1
        if on_instance is not None:
            on_instance(instance, True)
    logger.info("%s: %d instances, %d evaluations added, %d already stored", scenario.name, added["datasets"], added["evaluations"], added["skipped"])
    return added
