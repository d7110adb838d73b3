"""The build coordinator: datasets in, committed meta-features and evaluations out.

A build is a list of :class:`~automl_meta.metadb.units.DatasetRef`. The
coordinator (the only process that writes SQLite)

1. describes each dataset not yet stored (task, content hash, shape) and stores its row;
2. registers the portfolio of each task (learners, metrics and their directions);
3. sends out one unit per missing piece, meta-features or one (dataset, learner)
   evaluation, to the executor, and commits each result in its own transaction as
   it comes back.

What is stored is never recomputed, so rerunning the same build resumes it, and a
finished build rerun is a no-op. A process killed at any moment loses at most the
units in flight.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Callable, Sequence

from automl_meta.exceptions import LearnerError
from automl_meta.metadb.parallel import WorkerLost, map_surviving_crashes
from automl_meta.metadb.units import (
    METAFEATURES, BuildOptions, DatasetRef, describe_unit, failed_dataset, lost_unit_record, run_unit,
)

logger = logging.getLogger(__name__)

@dataclass
class BuildProgress:
    """Dataset-level progress, passed to the progress callback after every committed unit."""

    total: int
    done: int = 0
    failed: int = 0
    evaluations: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.perf_counter)
    current: str = ""
    failures: list = field(default_factory=list)
    replaced: list = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.total - self.done - self.failed

    def as_dict(self) -> dict:
        return {"total": self.total, "done": self.done, "failed": self.failed, "remaining": self.remaining,
                "evaluations_added": self.evaluations, "already_stored": self.skipped, "replaced": list(self.replaced),
                "seconds": round(time.perf_counter() - self.started, 2), "failures": list(self.failures)}


def library_versions() -> dict:
    """Versions of what produced the numbers: our package, pymfe, scikit-learn, lightgbm..."""
    versions = {"python": platform.python_version()}
    for dist in ("automl-meta", "pymfe", "scikit-learn", "lightgbm", "numpy", "pandas", "scipy", "torch", "openml"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def portfolio(task: str, names: Sequence[str] | None = None) -> list:
    """The learner specs of ``task``: all of them, or those of ``names`` that serve it.

    A build over both tasks names the learners of each (``dummy,lda,ridge``:
    ``lda`` for classification, ``ridge`` for regression). A name that no
    learner has, or names none of which serves ``task``, raise
    :class:`~automl_meta.exceptions.LearnerError` listing the valid names.
    """
    from automl_meta.learners import LEARNERS, get_learners

    if not names:
        return list(get_learners(task))
    check_learner_names(names)
    serving = [n for n in names if LEARNERS[n].supports(task)]
    if not serving:
        valid = ", ".join(spec.name for spec in get_learners(task))
        raise LearnerError(f"none of the learners named ({', '.join(names)}) serves {task}, the task of some of this build's datasets; "
                           f"add some of: {valid}")
    return list(get_learners(task, serving))


def check_learner_names(names: Sequence[str] | None) -> None:
    """Refuse, before any work, learner names that no learner of either task has."""
    from automl_meta.learners import LEARNERS

    unknown = [n for n in names or () if n not in LEARNERS]
    if unknown:
        raise LearnerError(f"unknown learner {', '.join(map(repr, unknown))}; valid names: {', '.join(LEARNERS)}")


def check_build_options(options: BuildOptions) -> None:
    """Refuse, before the database is created, learner and meta-feature group names that do not exist."""
    from automl_meta.exceptions import UsageError
    from automl_meta.metafeatures.groups import resolve_groups

    if options.learners is not None and not options.learners:
        raise UsageError("--learners names no learner; give comma-separated names (`automl-meta learners` lists them) "
                         "or leave it out for the whole portfolio")
    check_learner_names(options.learners)
    check_learner_names(options.redo)
    if options.mf_groups is not None:
        resolve_groups(options.mf_groups)


def metric_directions(task: str) -> dict[str, bool]:
    """metric name -> maximize, for every metric the protocol reports on ``task``."""
    from automl_meta.learners.metrics import METRICS

    return {name: bool(spec.greater_is_better) for name, spec in METRICS.items() if spec.task == task}


def default_metric(task: str) -> str:
    """The metric the protocol ranks learners by on ``task`` (balanced_accuracy, r2)."""
    from automl_meta.learners.metrics import default_metric as protocol_default

    return protocol_default(task)


def _register_task(db, task: str, options: BuildOptions) -> dict[str, int]:
    for metric, maximize in metric_directions(task).items():
        db.register_metric(metric, maximize)
    db.set_default_metric(task, default_metric(task))
    specs = portfolio(task, options.learners)
    stored = dict(db.conn.execute("SELECT name, portfolio_version FROM learners WHERE task = ?", (task,)).fetchall())
    for spec in specs:  # idempotent: once redone, a learner carries its current version and is left alone
        if spec.name in options.redo and _stale(stored.get(spec.name), spec.version):
            dropped = db.forget_learner(spec.name, task, _params(spec), spec.version)
            logger.info("%s (%s): dropped %d stored evaluations to recompute them", spec.name, task, dropped)
    stored = dict(db.conn.execute("SELECT name, portfolio_version FROM learners WHERE task = ?", (task,)).fetchall())
    stale = [spec.name for spec in specs if _stale(stored.get(spec.name), spec.version)]
    if stale:
        logger.warning("%s: the stored scores of %s come from an older definition of %s; "
                       "rerun with --redo %s to recompute them", task, ", ".join(stale),
                       "that learner" if len(stale) == 1 else "those learners", ",".join(stale))
    return {spec.name: db.add_learner(spec.name, task, _params(spec), spec.version) for spec in specs}


def _stale(stored: str | None, version: str) -> bool:
    """Whether scores stored under portfolio version ``stored`` predate a learner's definition ``version``.

    A database built at a later portfolio version than the learner's last change is current
    for it ("2" for a learner unchanged since "1"); a version that is not a number must match.
    """
    if stored is None:
        return False
    try:
        return int(stored) < int(version)
    except ValueError:
        return stored != version


def _params(spec) -> dict:
    params = getattr(spec, "params", None)
    return dict(params) if isinstance(params, dict) else {}


def build_versions(options: BuildOptions) -> dict:
    from automl_meta.learners import PORTFOLIO_VERSION
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    return {**library_versions(), "extractor": EXTRACTOR_VERSION, "portfolio": PORTFOLIO_VERSION}


def run_build(db, refs: Sequence[DatasetRef], options: BuildOptions, executor, source: str,
              command: str | None = None, progress: Callable[[BuildProgress], None] | None = None) -> dict:
    """Build (or resume) the meta-database ``db`` from ``refs``; returns a summary dict.

    Parameters
    ----------
    db : a writable :class:`~automl_meta.metadb.MetaDB`.
    refs : the datasets.
    options : the protocol and limits (see :class:`~automl_meta.metadb.units.BuildOptions`).
    executor : from :func:`automl_meta.metadb.parallel.make_executor`.
    source : the ``--source`` text, recorded with the build.
    command : the command line, recorded with the build.
    progress : called with a :class:`BuildProgress` after each dataset-level change.
    """
    state = BuildProgress(total=len(refs))
    notify = progress or (lambda _state: None)
    refs = stored_openml_names(db.datasets()[["name", "source_id"]].itertuples(index=False), refs)
    state.replaced = settle_changed_files(db, refs, executor, options.replace_changed)
    build_id = db.start_build(source, options.protocol(), build_versions(options), options.random_state, command)
    status = "interrupted"
    try:
        datasets = _describe_all(db, refs, executor, build_id, state, notify)
        learner_ids = _task_learners(db, datasets, options)
        units, pending = _plan_units(db, datasets, learner_ids, options, state, notify)
        protocol = {**options.protocol(), "timeout": options.timeout}
        for (dataset_id, what), result in map_surviving_crashes(executor, run_unit, units):
            ref, task = datasets[dataset_id]
            if isinstance(result, WorkerLost):
                result = lost_unit_record(what, result.reason)
            if what == METAFEATURES:
                db.add_meta_features(dataset_id, result["values"], result["extractor_version"], seconds=result["seconds"],
                                     n_rows_used=result["n_rows_used"], groups=result["groups"],
                                     status=result["status"], reason=result["reason"])
            else:
                db.add_evaluation(dataset_id, learner_ids[task][what], result["status"], result["scores"],
                                  reason=result["reason"], fit_seconds=result["fit_seconds"],
                                  predict_seconds=result["predict_seconds"], protocol=protocol, build_id=build_id)
                state.evaluations += 1
            pending[dataset_id] -= 1
            state.current = ref.name
            if pending[dataset_id] == 0:
                state.done += 1
            notify(state)
        status = "finished"
    finally:
        db.finish_build(build_id, status)
    summary = state.as_dict()
    summary["build_id"] = build_id
    return summary


OPENML_SOURCE_IDS = ("task/", "data/")


def stored_openml_names(stored, refs: Sequence[DatasetRef]) -> list[DatasetRef]:
    """OpenML refs under the names the database already knows them by.

    An OpenML dataset is named after the data, and tasks on one dataset in one
    run are told apart by their task id, so the name of a task depended on the
    other refs of the run: a rerun with more or fewer tasks stored a finished
    task again under a new name. ``stored`` holds the database's (name,
    source_id) rows: a ref whose task or dataset id is stored takes that row's
    name; a new one whose name another source holds gets its id appended.
    """
    by_id = {source_id: name for name, source_id in stored if source_id}
    holder = {name: source_id for name, source_id in stored}
    settled = []
    for ref in refs:
        if ref.source_id and ref.source_id.startswith(OPENML_SOURCE_IDS):
            name = by_id.get(ref.source_id)
            if name is None and holder.get(ref.name, ref.source_id) != ref.source_id:
                name = f"{ref.name}_{ref.source_id.replace('/', '_')}"
            if name is not None and name != ref.name:
                ref = replace(ref, name=name)
        settled.append(ref)
    return settled


def settle_changed_files(db, refs: Sequence[DatasetRef], executor, replace: bool) -> list[str]:
    """The stored datasets whose file changed since their results were stored: refused, or dropped.

    A stored dataset read from a file is checked by its source hash (the file's bytes,
    target and task). Where that differs, or was never recorded (a database from before
    it was), the file is loaded again: the same data (a file saved again) keeps its
    results and the new hash; other data raises
    :class:`~automl_meta.exceptions.UsageError` before anything is computed, unless
    ``replace``, which drops their results so that the build recomputes them. Returns
    the names dropped.
    """
    from automl_meta.exceptions import UsageError
    from automl_meta.io.dataset_folder import source_hash

    stored = db.stored_sources()
    suspects = {}
    for ref in refs:
        if ref.path is None or ref.name not in stored:
            continue
        dataset_id, content, known = stored[ref.name]
        try:
            now = source_hash(ref.path, ref.target, ref.task)
        except OSError:  # gone since the folder was listed: loading it again says why
            now = None
        if now is None or now != known:
            suspects[ref.name] = (ref, dataset_id, content)
    changed = []
    for name, record in map_surviving_crashes(executor, describe_unit, [(name, (ref,)) for name, (ref, _, _) in suspects.items()]):
        _, dataset_id, content = suspects[name]
        if not isinstance(record, WorkerLost) and record["status"] == "ok" and record["content_hash"] == content:
            db.set_source_hash(dataset_id, record["source_hash"])
        else:
            changed.append(name)
    changed.sort()
    if changed and not replace:
        shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
        raise UsageError(f"{len(changed)} dataset file{'s' if len(changed) > 1 else ''} changed since {db.path} stored "
                         f"{'their' if len(changed) > 1 else 'its'} results: {shown}; rerun with --replace-changed to drop "
                         "those results and recompute them, or give the changed files new names to keep both")
    for name in changed:
        logger.warning("%s: its file changed since its results were stored; recomputing them", name)
        db.forget_dataset(suspects[name][1])
    return changed


def _describe_all(db, refs, executor, build_id, state, notify) -> dict[int, tuple[DatasetRef, str]]:
    """Store a row for every dataset (loading only those not stored yet); returns id -> (ref, task)."""
    datasets: dict[int, tuple[DatasetRef, str]] = {}
    to_describe = []
    for ref in refs:
        row = db.conn.execute(
            "SELECT id, task FROM datasets WHERE name = ? AND status = 'ok' ORDER BY id LIMIT 1", (ref.name,)
        ).fetchone()
        if row is not None:
            datasets[int(row[0])] = (ref, row[1])
        else:
            to_describe.append((ref.name, (ref,)))
    by_name = {ref.name: ref for ref in refs}
    for name, record in map_surviving_crashes(executor, describe_unit, to_describe):
        if isinstance(record, WorkerLost):
            record = failed_dataset(name, f"loading it: {record.reason}")
        ref = by_name[name]
        base = {"name": ref.name, "source": ref.source, "source_id": ref.source_id, "licence": ref.licence}
        if record["status"] != "ok":
            task = ref.task if ref.task != "auto" else "unknown"
            db.add_dataset({**base, "task": task, "status": "failed", "reason": record["reason"]}, build_id)
            state.failures.append({"item": ref.name, "reason": record["reason"]})
            state.failed += 1
            state.current = ref.name
            notify(state)
            continue
        fields = {k: record[k] for k in ("task", "content_hash", "source_hash", "n_rows", "n_features", "n_classes")}
        dataset_id = db.add_dataset({**base, **fields, "licence": record.get("licence") or ref.licence}, build_id)
        datasets[dataset_id] = (ref, record["task"])
    return datasets


def _task_learners(db, datasets, options) -> dict[str, dict[str, int]]:
    tasks = sorted({task for _, task in datasets.values()})
    return {task: _register_task(db, task, options) for task in tasks}


def _plan_units(db, datasets, learners, options, state, notify):
    """The units still to run, in dataset order; and how many each dataset waits for."""
    done = db.evaluated_pairs()
    units, pending = [], {}
    for dataset_id, (ref, task) in sorted(datasets.items(), key=lambda item: item[1][0].name):
        todo = []
        if not db.has_meta_features(dataset_id):
            todo.append(((dataset_id, METAFEATURES), (METAFEATURES, ref, options)))
        for name, learner_id in learners[task].items():
            if (dataset_id, learner_id) in done:
                state.skipped += 1
            else:
                todo.append(((dataset_id, name), (name, ref, options)))
        pending[dataset_id] = len(todo)
        if not todo:
            state.done += 1
        units.extend(todo)
    notify(state)
    return units, pending
