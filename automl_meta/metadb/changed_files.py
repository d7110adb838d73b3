"""Stored datasets whose file changed since their results were stored: found while reading only, then refused or dropped."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Sequence

from automl_meta.metadb.build_dir import same_source
from automl_meta.metadb.parallel import WorkerLost, map_surviving_crashes
from automl_meta.metadb.task_learners import shown_names
from automl_meta.metadb.units import DatasetRef, describe_unit, failed_dataset

if TYPE_CHECKING:
    from automl_meta.metadb.build import BuildPlan

logger = logging.getLogger(__name__)


def check_files(stored: dict, refs: Sequence[DatasetRef], executor) -> tuple[dict, dict, dict]:
    """Which stored datasets' files changed since their results were stored; reads only.

    ``stored`` is :meth:`~automl_meta.metadb.store.MetaDB.usable_datasets`, read once by the plan.

    A stored dataset read from a file is checked by its source hash (the file's bytes,
    target and task). Where that differs, or was never recorded (a database from before
    it was), the file is loaded again: the same data (a file saved again) keeps its
    results. A file that cannot be read now (deleted or moved since the folder was
    listed) has nothing to compare: its results are kept and this run leaves it out.
    Returns (dataset id -> new source hash of same-data files, name -> (dataset id,
    describe record) of changed files, name -> why a file cannot be read).
    """
    from automl_meta.io.dataset_folder import source_hash

    suspects, unreadable = {}, {}
    for ref in refs:
        if ref.path is None or ref.name not in stored:
            continue
        dataset_id, content, known = stored[ref.name].id, stored[ref.name].content_hash, stored[ref.name].source_hash
        try:
            now = source_hash(ref.path, ref.target, ref.task)
        except OSError as exc:
            unreadable[ref.name] = f"cannot read {ref.path} ({exc.strerror or exc})"
            continue
        if now != known:
            suspects[ref.name] = (ref, dataset_id, content)
    same, changed = {}, {}
    for name, record in map_surviving_crashes(executor, describe_unit, [(name, (ref,)) for name, (ref, _, _) in suspects.items()]):
        _, dataset_id, content = suspects[name]
        if isinstance(record, WorkerLost):
            record = failed_dataset(name, f"loading it: {record.reason}")
        if record["status"] == "ok" and record["content_hash"] == content:
            same[dataset_id] = record["source_hash"]
        else:
            changed[name] = (dataset_id, record)
    return same, changed, unreadable


def refuse_changed_files(db, plan: BuildPlan, replace: bool, learners: tuple | None = None) -> None:
    """Raise :class:`~automl_meta.exceptions.UsageError`, before anything is written, when stored files changed.

    Unless ``replace``: then :func:`settle_changed_files` drops their results so that
    the build recomputes them, which it refuses too where ``learners`` (``--learners``)
    leaves out a learner whose results it would drop: they would be lost, not recomputed.
    """
    from automl_meta.exceptions import UsageError

    changed = sorted(plan.changed)
    if not changed:
        return
    stored = {name: db.conn.execute("SELECT source, task FROM datasets WHERE id = ?", (plan.changed[name][0],)).fetchone()
              for name in changed}  # (source, task) as stored
    if not replace:
        shown = [_why_changed(name, *stored[name], plan) for name in changed]
        raise UsageError(f"{len(changed)} dataset file{'s' if len(changed) > 1 else ''} changed since {db.path} stored "
                         f"{'their' if len(changed) > 1 else 'its'} results: {shown_names(shown)}; rerun with --replace-changed to drop "
                         "those results and recompute them, or give the changed files new names to keep both")
    from automl_meta.learners import LEARNERS

    def recomputable(learner: str, name: str) -> bool:  # by a build that names it: it serves the file's task as read now
        record = plan.changed[name][1]
        return learner in LEARNERS and record.get("status") == "ok" and LEARNERS[learner].supports(record["task"])

    lost = sorted({learner for name in changed for learner in db.evaluation_statuses(name, stored[name][1])
                   if learners is not None and learner not in learners and recomputable(learner, name)})
    if lost:
        raise UsageError(f"--replace-changed drops every stored result of {shown_names(changed)}, and --learners leaves out "
                         f"{', '.join(lost)}, so {'its' if len(lost) == 1 else 'their'} results there would be lost, not recomputed; "
                         f"add {', '.join(lost)} to --learners")


def _why_changed(name: str, source: str, task: str, plan: BuildPlan) -> str:
    """``name``, with what is known of why its stored results (from ``source``, of ``task``) no longer fit."""
    ref = next(r for r in plan.refs if r.name == name)
    record = plan.changed[name][1]
    if not same_source(ref.source, source):
        return f"{name} (stored from {source}, with other data)"
    if record.get("status") == "ok" and record.get("task") != task:
        return f"{name} (now {record['task']}, stored as {task})"
    return name


def settle_changed_files(db, plan: BuildPlan) -> list[str]:
    """Record the checks of :func:`check_files` in a build that goes ahead; returns the names whose results it drops.

    Files saved again with the same data get their new hash (they are not loaded again
    next time); the results of changed ones (``--replace-changed``, :func:`refuse_changed_files`
    let the build through) are dropped so that the build recomputes them.
    """
    for dataset_id, hashed in plan.same_data.items():
        db.set_source_hash(dataset_id, hashed)
    changed = sorted(plan.changed)
    db.forget_datasets([plan.changed[name][0] for name in changed])  # all or none
    for name in changed:
        logger.warning("%s: its file changed since its results were stored; recomputing them", name)
        plan.stored.pop(name, None)
        plan.described[name] = plan.changed[name][1]
    return changed
