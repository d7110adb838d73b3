"""The build coordinator: datasets in, committed meta-features and evaluations out.

A build is a list of :class:`~automl_meta.metadb.units.DatasetRef`. The
coordinator (the only process that writes SQLite)

1. finds, reading only, what the build will do (:func:`prepare_build`): loads each
   dataset not yet stored to learn its task, checks stored files, and refuses a
   build that cannot serve (another protocol, learners that serve none of a task)
   before the database is created or changed;
2. stores the new datasets' rows and registers the portfolio of each task
   (learners, metrics and their directions);
3. sends out one unit per missing piece, meta-features or one (dataset, learner)
   evaluation, to the executor, and commits each result in its own transaction as
   it comes back.

What is stored is never recomputed (``--redo`` aside, and a fit that timed out
under a smaller ``--timeout`` than the rerun's), so rerunning the same build
resumes it, and a finished build rerun is a no-op. A process killed at any moment
loses at most the units in flight. A dataset that cannot be loaded in a run is no
learner's result: nothing is stored for it, it counts as failed, and a rerun
retries it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from automl_meta.metadb.build_dir import same_source
from automl_meta.metadb.changed_files import check_files, refuse_changed_files, settle_changed_files
from automl_meta.metadb.parallel import WorkerLost, map_surviving_crashes
from automl_meta.metadb.task_learners import (
    TaskLearner,
    by_source,
    check_learner_names,
    portfolio,
    redo_command,
    register_task,
    shown_names,
    version_order,
)
from automl_meta.metadb.units import (
    IMPORT_KINDS, METAFEATURES, REDO_METAFEATURES, UNAVAILABLE, BuildOptions, DatasetRef, describe_unit, failed_dataset, lost_unit_record, run_unit,
)
from automl_meta.versions import installed_versions

logger = logging.getLogger(__name__)


@dataclass
class BuildProgress:
    """Dataset-level progress, passed to the progress callback after every committed unit."""

    total: int
    done: int = 0
    failed: int = 0
    evaluations: int = 0
    metafeatures: int = 0
    skipped: int = 0
    retried: int = 0  # stored timeouts run again under this build's larger --timeout
    timed_out: int = 0  # evaluations this build stored as timeouts
    failures_retried: int = 0  # stored failures run again: they were stored under other library versions
    upgraded: list = field(default_factory=list)  # those versions, "scikit-learn 1.7.2 -> 1.9.1"
    started: float = field(default_factory=time.perf_counter)
    current: str = ""
    failures: list = field(default_factory=list)
    replaced: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # what a dataset's scores are of, where classes were dropped or folds fewer

    @property
    def remaining(self) -> int:
        return self.total - self.done - self.failed

    def as_dict(self) -> dict:
        return {"total": self.total, "done": self.done, "failed": self.failed, "remaining": self.remaining,
                "evaluations_added": self.evaluations, "metafeatures_extracted": self.metafeatures, "already_stored": self.skipped, "timeouts_retried": self.retried,
                "timed_out": self.timed_out, "failures_retried": self.failures_retried, "upgraded": list(self.upgraded), "replaced": list(self.replaced),
                "seconds": round(time.perf_counter() - self.started, 2), "failures": list(self.failures), "notes": list(self.notes)}


def library_versions() -> dict:
    """Versions of what produced the numbers: our package, pymfe, scikit-learn, lightgbm..."""
    return installed_versions(("automl-meta", "pymfe", "scikit-learn", "lightgbm", "numpy", "pandas", "scipy", "torch", "openml"))


def check_build_options(options: BuildOptions) -> None:
    """Refuse, before the database is created, names that do not exist and a --redo that --learners leaves out.

    A ``--redo`` learner missing from ``--learners`` would get no unit, so the build
    would end as if it had recomputed it.
    """
    from automl_meta.exceptions import UsageError
    from automl_meta.metafeatures.groups import resolve_groups

    if options.learners is not None and not options.learners:
        raise UsageError("--learners names no learner; give comma-separated names (`automl-meta learners` lists them) "
                         "or leave it out for the whole portfolio")
    check_learner_names(options.learners)
    redo = [name for name in options.redo if name != REDO_METAFEATURES]
    check_learner_names(redo)
    left_out = [name for name in redo if options.learners is not None and name not in options.learners]
    if left_out:
        one = len(left_out) == 1
        raise UsageError(f"--redo {', '.join(left_out)}: not among --learners ({', '.join(options.learners)}), so this build "
                         f"would not recompute {'it' if one else 'them'}; add {'it' if one else 'them'} to --learners "
                         f"or drop {'it' if one else 'them'} from --redo")
    if options.mf_groups is not None:
        resolve_groups(options.mf_groups)


def build_versions(options: BuildOptions) -> dict:
    from automl_meta.learners import PORTFOLIO_VERSION
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    return {**library_versions(), "extractor": EXTRACTOR_VERSION, "portfolio": PORTFOLIO_VERSION}


@dataclass
class BuildPlan:
    """A build as found before anything is written: everything it can be refused on is checked by then.

    refs : the datasets, under the names the database knows them by.
    stored : name -> (dataset id, task) of this build's datasets already stored and readable now.
    described : name -> :func:`~automl_meta.metadb.units.describe_unit` record (ok or failed) of the datasets to store.
    unavailable : name -> why a stored dataset cannot be read in this run (its results are kept).
    same_data : dataset id -> source hash of stored files saved again with the same data.
    changed : name -> (dataset id, describe record) of stored files whose data changed.
    gone : names stored from a folder this build reads whose files are no longer in it.
    twins : name -> the stored (or earlier listed) dataset holding the same data, for new datasets.
    """

    refs: list
    stored: dict = field(default_factory=dict)
    described: dict = field(default_factory=dict)
    unavailable: dict = field(default_factory=dict)
    same_data: dict = field(default_factory=dict)
    changed: dict = field(default_factory=dict)
    gone: list = field(default_factory=list)
    twins: dict = field(default_factory=dict)

    def tasks(self, replace_changed: bool) -> list[str]:
        """The tasks of the datasets this build will compute on."""
        tasks = {task for name, (_, task) in self.stored.items() if name not in self.changed}
        records = [*self.described.values(), *(record for _, record in self.changed.values() if replace_changed)]
        return sorted(tasks | {record["task"] for record in records if record["status"] == "ok"})


def prepare_build(db, refs: Sequence[DatasetRef], options: BuildOptions, executor) -> BuildPlan:
    """What a build over ``refs`` will do, found without writing anything; refuses a build that cannot serve.

    ``db`` is the database as it is, opened read-only, or None when there is none yet.
    The datasets not stored yet are loaded here to learn their task, so that learners
    serving none of a task's datasets (``--learners ridge`` on classification data), a
    ``--redo`` learner serving none of the build's tasks, or another protocol stop the
    build before the database is created or changed.
    """
    plan = BuildPlan(refs=list(refs))
    usable = {}
    if db is not None:
        db.check_protocol(options.protocol())
        plan.refs = stored_openml_names(db.datasets()[["name", "source_id"]].itertuples(index=False), plan.refs)
        usable = db.usable_datasets()
        plan.stored = {ref.name: (usable[ref.name].id, usable[ref.name].task) for ref in plan.refs if ref.name in usable}
        plan.same_data, plan.changed, plan.unavailable = check_files(usable, plan.refs, executor)
    for ref in plan.refs:  # stored, but OpenML cannot resolve it now: its results stay, nothing is computed
        if ref.name in plan.stored and ref.error is not None:
            plan.unavailable.setdefault(ref.name, ref.error)
    for name in plan.unavailable:
        del plan.stored[name]
    plan.described = _describe_new([ref for ref in plan.refs if ref.name not in plan.stored and ref.name not in plan.unavailable], executor)
    if db is not None:
        refuse_changed_files(db, plan, options.replace_changed, options.learners)
        plan.gone = _warn_removed_files(db, plan.refs)
    plan.twins = _warn_same_data(usable, plan.described)
    check_learners(plan, options)
    return plan


def _warn_same_data(usable: dict, described: dict) -> dict[str, str]:
    """Name the new datasets whose data a stored one (or another new one) holds already: a renamed or copied file.

    Both are stored and computed; selectors learn from one of them
    (:func:`~automl_meta.io.metadb_resolve.selection_data`).
    """
    holder = {(stored.task, stored.content_hash): name for name, stored in usable.items() if stored.content_hash}
    twins = {}
    for name in sorted(described):
        record = described[name]
        if record["status"] != "ok" or not record.get("content_hash"):
            continue
        key = (record["task"], record["content_hash"])
        if key in holder:
            twins[name] = holder[key]
        else:
            holder[key] = name
    for name, other in twins.items():
        where = "which the meta-database holds" if other in usable else "also new in this build"
        logger.warning("%s: the same data as %s, %s (a renamed or copied file?); both are computed and kept, and selectors "
                       "learn from one of them", name, other, where)
    return twins


def _warn_removed_files(db, refs) -> list[str]:
    """Name the datasets stored from a folder this build reads again but whose files are no longer in it: they stay."""
    folders = {ref.source for ref in refs if str(ref.source).startswith("dir:")}
    if not folders:
        return []
    stored = db.datasets()
    listed = {ref.name for ref in refs}
    gone = sorted(str(n) for n, source in zip(stored["name"], stored["source"])
                  if any(same_source(source, folder) for folder in folders) and n not in listed)
    if gone:
        logger.warning("stored from %s, %s: no file there any more; kept in the meta-database, where selectors and "
                       "meta-models still learn from %s (but where a learner added since never ran)", ", ".join(sorted(folders)),
                       shown_names(gone), "it" if len(gone) == 1 else "them")
    return gone


def check_learners(plan: BuildPlan, options: BuildOptions) -> None:
    """Refuse, before any write, a learner list that serves none of some task's learners, or an idle --redo learner."""
    from automl_meta.exceptions import UsageError
    from automl_meta.learners import LEARNERS

    tasks = plan.tasks(options.replace_changed)
    for task in tasks:
        portfolio(task, options.learners)  # raises LearnerError naming the learners that would serve it
    redo = [name for name in options.redo if name != REDO_METAFEATURES]
    idle = [name for name in redo if tasks and not any(LEARNERS[name].supports(task) for task in tasks)]
    if idle:
        raise UsageError(f"--redo {', '.join(idle)}: {'it serves' if len(idle) == 1 else 'they serve'} none of this build's tasks "
                         f"({', '.join(tasks)}), so nothing would be recomputed; drop {'it' if len(idle) == 1 else 'them'} from --redo")


def run_build(db, plan: BuildPlan, options: BuildOptions, executor, source: str,
              command: str | None = None, progress: Callable[[BuildProgress], None] | None = None) -> dict:
    """Build (or resume) the meta-database ``db`` as ``plan`` found it; returns a summary dict.

    Parameters
    ----------
    db : a writable :class:`~automl_meta.metadb.MetaDB`.
    plan : from :func:`prepare_build` on the same database.
    options : the protocol and limits (see :class:`~automl_meta.metadb.units.BuildOptions`).
    executor : from :func:`automl_meta.metadb.parallel.make_executor`.
    source : the ``--source`` text, recorded with the build.
    command : the command line, recorded with the build.
    progress : called with a :class:`BuildProgress` after each dataset-level change.

    A dataset that cannot be loaded in this run (stored earlier, or loaded by its
    description but not by a unit) counts as failed with its reason, and nothing is
    stored for it: that is no result of a learner, and a rerun tries again.
    """
    state = BuildProgress(total=len(plan.refs))
    notify = progress or (lambda _state: None)
    state.replaced = settle_changed_files(db, plan)
    build_id = db.start_build(source, options.protocol(), build_versions(options), options.random_state, command)
    status = "interrupted"
    try:
        datasets = _store_datasets(db, plan, build_id, state, notify)
        learners = _task_learners(db, datasets, options)
        units, pending = _plan_units(db, datasets, learners, options, state, notify)
        protocol = {**options.protocol(), "timeout": options.timeout}
        unloaded: dict[int, str] = {}
        for (dataset_id, what), result in map_surviving_crashes(executor, run_unit, units):
            ref, task = datasets[dataset_id]
            if isinstance(result, WorkerLost):
                result = lost_unit_record(what, result.reason)
            if result["status"] == UNAVAILABLE:
                unloaded.setdefault(dataset_id, result["reason"])
            elif what == METAFEATURES:
                db.add_meta_features(dataset_id, result["values"], result["extractor_version"], seconds=result["seconds"],
                                     n_rows_used=result["n_rows_used"], groups=result["groups"],
                                     status=result["status"], reason=result["reason"])
                state.metafeatures += 1
            else:
                learner = learners[task][what]
                db.add_evaluation(dataset_id, learner.learner_id, result["status"], result["scores"],
                                  reason=result["reason"], fit_seconds=result["fit_seconds"],
                                  predict_seconds=result["predict_seconds"],
                                  protocol={**protocol, "learner_version": learner.version}, build_id=build_id)
                state.evaluations += 1
                state.timed_out += result["status"] == "timeout"
                for note in result.get("notes") or ():  # the same for every learner of the dataset: said once
                    if {"item": ref.name, "note": note} not in state.notes:
                        state.notes.append({"item": ref.name, "note": note})
            pending[dataset_id] -= 1
            state.current = ref.name
            if pending[dataset_id] == 0:
                if dataset_id in unloaded:  # nothing stored at all: not a usable dataset with every result missing
                    db.fail_if_empty(dataset_id, unloaded[dataset_id])
                _finish_dataset(state, ref.name, unloaded.get(dataset_id))
            notify(state)
        status = "finished"
    finally:
        db.finish_build(build_id, status)
    summary = state.as_dict()
    summary.update(build_id=build_id, files_gone=list(plan.gone), same_data=dict(plan.twins))
    return summary


def _finish_dataset(state: BuildProgress, name: str, unloaded: str | None) -> None:
    """Count a dataset whose units all came back: done, or failed when its data could not be loaded."""
    if unloaded is None:
        state.done += 1
        return
    state.failed += 1
    state.failures.append({"item": name, "reason": f"{unloaded}; no meta-features or scores were stored for it in this run, and a rerun computes them"})


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


def _describe_new(refs: Sequence[DatasetRef], executor) -> dict[str, dict]:
    """name -> describe record (ok or failed) of datasets not stored yet; loads them, writes nothing."""
    described = {}
    for name, record in map_surviving_crashes(executor, describe_unit, [(ref.name, (ref,)) for ref in refs]):
        described[name] = failed_dataset(name, f"loading it: {record.reason}") if isinstance(record, WorkerLost) else record
    return described


def _store_datasets(db, plan: BuildPlan, build_id, state, notify) -> dict[int, tuple[DatasetRef, str]]:
    """Store a row for every new dataset (failed ones with their reason); returns id -> (ref, task) of those to compute on."""
    datasets: dict[int, tuple[DatasetRef, str]] = {}
    for ref in plan.refs:
        if ref.name in plan.stored:
            dataset_id, task = plan.stored[ref.name]
            datasets[dataset_id] = (ref, task)
            continue
        if ref.name in plan.unavailable:
            _fail(state, ref.name, f"{plan.unavailable[ref.name]}; its stored results are kept, and a rerun retries it", notify)
            continue
        record = plan.described[ref.name]
        base = {"name": ref.name, "source": ref.source, "source_id": ref.source_id, "licence": ref.licence}
        if record["status"] != "ok":
            task = ref.task if ref.task != "auto" else "unknown"
            db.add_dataset({**base, "task": task, "status": "failed", "reason": record["reason"]}, build_id)
            _fail(state, ref.name, record["reason"], notify)
            continue
        fields = {k: record[k] for k in ("task", "content_hash", "source_hash", "n_rows", "n_features", "n_classes")}
        dataset_id = db.add_dataset({**base, **fields, "licence": record.get("licence") or ref.licence}, build_id)
        _same_data_as_stored(db, dataset_id, ref.name, record["content_hash"])
        datasets[dataset_id] = (ref, record["task"])
    return datasets


def _same_data_as_stored(db, dataset_id: int, name: str, content_hash: str) -> None:
    """Refuse a dataset that another build, running at the same time, stored under this name from other data.

    Planned with no row of that name, both builds would compute and store their
    results under one row, each replacing the other's: scores of one file beside
    the meta-features of another.
    """
    from automl_meta.exceptions import UsageError

    (stored,) = db.conn.execute("SELECT content_hash FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
    if stored and content_hash and stored != content_hash:
        raise UsageError(f"{name}: another build stored a dataset of that name from other data while this one was starting; "
                         f"rerun this build once that one is done (it then names the changed file), or rename the file")


def _fail(state: BuildProgress, name: str, reason: str, notify) -> None:
    state.failures.append({"item": name, "reason": reason})
    state.failed += 1
    state.current = name
    notify(state)


def _task_learners(db, datasets, options) -> dict[str, dict[str, TaskLearner]]:
    by_task: dict[str, list[int]] = {}
    for dataset_id, (_, task) in datasets.items():
        by_task.setdefault(task, []).append(dataset_id)
    return {task: register_task(db, task, options, ids) for task, ids in sorted(by_task.items())}


def _metafeatures_to_extract(db, datasets, options) -> set[int]:
    """The datasets whose meta-features this build extracts: those without any, and with ``--redo metafeatures``
    those stored by an older extractor version; the others' older versions are named in a warning, and newer
    ones (a database written by a later automl-meta) are kept, with a warning to upgrade."""
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    stored = db.metafeature_versions()
    other = {d for d in datasets if d in stored and version_order(stored[d], EXTRACTOR_VERSION) != "same"}
    newer = {d for d in other if version_order(stored[d], EXTRACTOR_VERSION) == "newer"}
    older = other - newer
    if newer:  # --redo would replace them with this older extractor's
        names = sorted(datasets[d][0].name for d in newer)
        logger.warning("the meta-features of %s come from extractor version %s, newer than this automl-meta's %s: this "
                       "build keeps them; upgrade automl-meta to extract alike", shown_names(names),
                       ", ".join(sorted({stored[d] for d in newer})), EXTRACTOR_VERSION)
    redo = REDO_METAFEATURES in options.redo
    if older and not redo:
        names = sorted(datasets[d][0].name for d in older)
        versions = ", ".join(sorted({stored[d] for d in older}))
        logger.warning("the meta-features of %s come from extractor version %s, not %s; rerun with --redo %s to recompute them",
                       shown_names(names), versions, EXTRACTOR_VERSION, REDO_METAFEATURES)
    _warn_older_elsewhere(db, {d for d, v in stored.items() if d not in datasets
                               and version_order(v, EXTRACTOR_VERSION) in ("older", "other")}, EXTRACTOR_VERSION)
    return {d for d in datasets if d not in stored} | (older if redo else set())


def _warn_older_elsewhere(db, older: set, version: str) -> None:
    """Name, per source, the datasets outside this build whose meta-features are older: this build leaves them."""
    for source, (names, command) in by_source(sorted(db.dataset_origins(older).values())).items():
        if source.partition(":")[0] in IMPORT_KINDS:  # their features are imported as they are, not extracted
            continue
        logger.warning("the meta-features of %s (source %s) come from another extractor version than %s, and this build "
                       "does not re-extract them; to do so run: %s",
                       shown_names(names), source, version, redo_command(db, source, command, REDO_METAFEATURES))


NOT_FITTING = ("pymfe", "openml")  # versions no learner's fit depends on: another one of them retries no failure


def _failed_under_other_versions(db) -> dict[tuple[int, int], set[str]]:
    """The stored failures to run again, each with how the versions differ ("scikit-learn 1.7.2 -> 1.9.1"): a failure
    recorded under other library versions (an import error, a parameter an older scikit-learn lacks) may be one of
    those versions, not of the data."""
    current = {k: v for k, v in library_versions().items() if k not in NOT_FITTING}
    failures = {}
    for pair, versions in db.failure_versions().items():
        differ = {f"{key} {versions[key]} -> {value}" for key, value in current.items()
                  if versions is not None and key in versions and versions[key] != value}
        if differ:
            failures[pair] = differ
    return failures


def _plan_units(db, datasets, learners, options, state, notify):
    """The units still to run, in dataset order; and how many each dataset waits for."""
    done = db.evaluated_pairs()
    # a fit that timed out under a smaller limit than this build's is run again: a rerun with more time is how to get it
    limit = math.inf if options.timeout is None else options.timeout
    retry = {pair for pair, stored in db.timeout_limits().items() if stored is not None and stored < limit}
    failures, upgraded = _failed_under_other_versions(db), set()
    extract = _metafeatures_to_extract(db, datasets, options)
    units, pending = [], {}
    for dataset_id, (ref, task) in sorted(datasets.items(), key=lambda item: item[1][0].name):
        todo = []
        if dataset_id in extract:
            todo.append(((dataset_id, METAFEATURES), (METAFEATURES, ref, options)))
        for name, learner in learners[task].items():
            pair = (dataset_id, learner.learner_id)
            if dataset_id not in learner.redo and pair in done:  # stored: kept, unless it is one to run again
                if pair not in retry and pair not in failures:
                    state.skipped += 1
                    continue
                state.retried += pair in retry
                if pair in failures:
                    state.failures_retried += 1
                    upgraded |= failures[pair]
            todo.append(((dataset_id, name), (name, ref, options)))
        pending[dataset_id] = len(todo)
        if not todo:
            state.done += 1
        units.extend(todo)
    state.upgraded = sorted(upgraded)
    notify(state)
    return units, pending
