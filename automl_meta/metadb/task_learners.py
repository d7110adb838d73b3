"""The learners of each task in a build: who serves it, which metrics it reports, and which stored scores are stale.

Each evaluation records the version of the learner's definition it was computed
with, and staleness is judged per evaluation, so scores recomputed on some
datasets do not pass for current on others (see :func:`register_task`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Sequence

from automl_meta.exceptions import LearnerError
from automl_meta.metadb.units import BuildOptions

logger = logging.getLogger(__name__)


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


def metric_directions(task: str) -> dict[str, bool]:
    """metric name -> maximize, for every metric the protocol reports on ``task``."""
    from automl_meta.learners.metrics import METRICS

    return {name: bool(spec.greater_is_better) for name, spec in METRICS.items() if spec.task == task}


def default_metric(task: str) -> str:
    """The metric the protocol ranks learners by on ``task`` (balanced_accuracy, r2)."""
    from automl_meta.learners.metrics import default_metric as protocol_default

    return protocol_default(task)


@dataclass(frozen=True)
class TaskLearner:
    """A learner of one task in a build: its id, the version of its definition, the datasets it is recomputed on."""

    learner_id: int
    version: str
    redo: frozenset = frozenset()


def register_task(db, task: str, options: BuildOptions, dataset_ids) -> dict[str, TaskLearner]:
    """Register the portfolio of ``task`` for a build over ``dataset_ids``; returns name -> :class:`TaskLearner`.

    Each evaluation records the learner version it was computed with, and staleness is
    judged per evaluation, so scores recomputed on some datasets do not pass for current
    on others. ``--redo`` recomputes a learner's stale evaluations on this build's own
    datasets only (the stored one is replaced when its new result commits: a build that
    stops keeps it); what stays stale is named in a warning with the command that
    recomputes it.
    """
    for metric, maximize in metric_directions(task).items():
        db.register_metric(metric, maximize)
    db.set_default_metric(task, default_metric(task))
    own = set(dataset_ids)
    learners, left = {}, {}
    from automl_meta.learners.portfolio import learner_version

    for spec in portfolio(task, options.learners):
        version = learner_version(spec, task)
        learner_id = db.add_learner(spec.name, task, _params(spec), version)
        (registered,) = db.conn.execute("SELECT portfolio_version FROM learners WHERE id = ?", (learner_id,)).fetchone()
        if spec.name in options.redo and stale_version(registered, version):  # the row names the definition builds use from now on
            db.set_learner_definition(learner_id, _params(spec), version)
        stale = {d for d, stored in db.evaluation_versions(learner_id).items() if stale_version(stored, version)}
        redo = frozenset(stale & own) if spec.name in options.redo else frozenset()
        if redo:
            logger.info("%s (%s): recomputing %d evaluations stored under an older definition", spec.name, task, len(redo))
        if stale - redo:
            left[spec.name] = (learner_id, stale - redo)
        learners[spec.name] = TaskLearner(learner_id, version, redo)
    for name, (learner_id, stale) in left.items():
        _warn_stale(db, task, name, learner_id, stale, own)
    return learners


def _warn_stale(db, task: str, learner: str, learner_id: int, stale: set, own: set) -> None:
    """Name the datasets whose ``learner`` scores stay from an older definition, and how to recompute them."""
    origins = db.evaluation_origins(learner_id, stale)
    here = sorted(origins[d][0] for d in stale & own)
    if here:
        logger.warning("%s: the stored scores of %s on %s come from an older definition of that learner; "
                       "rerun with --redo %s to recompute them", task, learner, shown_names(here), learner)
    for source, (names, command) in by_source(origins[d] for d in sorted(stale - own)).items():
        logger.warning("%s: the stored scores of %s on %s (source %s) come from an older definition of that learner, "
                       "and this build does not recompute them; to recompute them run: %s",
                       task, learner, shown_names(sorted(names)), source, redo_command(db, source, command, learner))


def by_source(origins: Iterable[tuple[str, str, str | None]]) -> dict[str, tuple[list[str], str | None]]:
    """(dataset name, source, build command) rows grouped by source: source -> (its names, the first command known), sorted."""
    grouped: dict[str, tuple[list[str], str | None]] = {}
    for name, source, command in origins:
        names, known = grouped.setdefault(source, ([], None))
        grouped[source] = ([*names, name], known or command)
    return dict(sorted(grouped.items()))


def shown_names(names: Sequence[str], shown: int = 10) -> str:
    """At most ``shown`` names, then how many more: a warning stays one readable line on a database of thousands."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def redo_command(db, source: str, command: str | None, learner: str) -> str:
    """The recorded command of the build that stored those results, on the database at hand, with ``--redo learner``
    (a learner's name, or ``metafeatures``)."""
    import shlex

    base = with_db_path(command, db.path) if command else f"automl-meta db build --source {shlex.quote(source)} --db {shlex.quote(str(db.path))}"
    return f"{base} --redo {shlex.quote(learner)}"


def with_db_path(command: str, path) -> str:
    """A recorded ``db build`` command naming ``path`` as its ``--db``: the file may have moved since it ran."""
    import shlex

    parts = shlex.split(command)
    if "--db" in parts[:-1]:
        parts[parts.index("--db") + 1] = str(path)
    return " ".join(shlex.quote(part) for part in parts)


def version_order(stored: str, current: str) -> str:
    """``older``, ``same`` or ``newer`` by number ("08" is "8"); ``other`` for a different version that is not a number."""
    try:
        a, b = int(stored), int(current)
    except (TypeError, ValueError):
        return "same" if str(stored) == str(current) else "other"
    return "older" if a < b else "newer" if a > b else "same"


def stale_version(stored: str | None, version: str) -> bool:
    """Whether scores stored under portfolio version ``stored`` predate a learner's definition ``version``.

    A database built at a later portfolio version than the learner's last change is current
    for it ("2" for a learner unchanged since "1"); a version that is not a number must match.
    """
    return stored is not None and version_order(stored, version) in ("older", "other")


def _params(spec) -> dict:
    params = getattr(spec, "params", None)
    return dict(params) if isinstance(params, dict) else {}
