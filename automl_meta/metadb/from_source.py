"""One entry point for ``automl-meta db build``: pick the builder for a ``--source``.

``dir:PATH``, ``openml:...`` and ``openml-runs:...``, ``aslib:PATH`` (see
:mod:`~automl_meta.metadb.build_dir`, :mod:`~automl_meta.metadb.build_openml`
and :mod:`~automl_meta.metadb.import_aslib`).
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Iterator

from automl_meta.exceptions import MetaDBVersionError, UsageError
from automl_meta.metadb.build import BuildProgress, check_build_options, library_versions, prepare_build, run_build
from automl_meta.metadb.parallel import make_executor
from automl_meta.metadb import schema
from automl_meta.metadb.schema import SCHEMA_VERSION
from automl_meta.metadb.store import MetaDB
from automl_meta.metadb.units import BuildOptions

logger = logging.getLogger(__name__)

SOURCE_KINDS = ("dir", "openml", "openml-runs", "aslib")


def source_kind(source: str) -> str:
    """``dir``, ``openml``, ``openml-runs`` or ``aslib``; a clear error for anything else."""
    kind, sep, rest = source.partition(":")
    if not sep or kind not in SOURCE_KINDS or not rest:
        raise UsageError(
            f"unknown source {source!r}; use dir:FOLDER, openml:suite=ID|tasks=IDS|datasets=IDS, "
            "openml-runs:tasks=IDS|runs=IDS or aslib:SCENARIO_FOLDER"
        )
    return kind


def build_metadb(source: str, db_path: str | Path, options: BuildOptions, jobs: int = 1, dask: str | None = None,
                 scheduler: str | None = None, openml_config=None, command: str | None = None,
                 progress: Callable[[BuildProgress], None] | None = None, on_total: Callable[[int], None] | None = None) -> dict:
    """Build or resume the meta-database at ``db_path`` from ``source``; returns a summary dict.

    ``on_total`` is called once with the number of datasets (or instances/items) before work starts.
    """
    kind = source_kind(source)
    rest = source.partition(":")[2]
    if kind.startswith("openml") and openml_config is not None:
        from automl_meta.io.openml_client import check_cache_dir

        check_cache_dir(openml_config)  # before the database is created
    if kind == "aslib":
        return _import_aslib(Path(rest), db_path, command, progress, on_total, options.replace_changed)
    if kind == "openml-runs":
        return _import_openml_runs(source, db_path, openml_config, command, progress, on_total)
    check_build_options(options)  # before the database is created or anything computed
    if kind == "dir":
        from automl_meta.metadb.build_dir import dir_refs

        refs = dir_refs(Path(rest), source=source)
    else:
        from automl_meta.io.openml_client import OpenMLConfig
        from automl_meta.metadb.build_openml import openml_refs, parse_source

        refs = openml_refs(parse_source(source), openml_config or OpenMLConfig(), source)
    with _as_it_is(db_path) as stored:  # the common refusal first, before a progress bar is shown (planning checks it too)
        if stored is not None:
            stored.check_protocol(options.protocol())
    executor = make_executor(jobs=jobs, dask=dask, scheduler=scheduler)
    if on_total is not None:
        on_total(len(refs))
    try:
        with _as_it_is(db_path) as stored:  # a refused build leaves an existing file as it was, and creates none
            plan = prepare_build(stored, refs, options, executor)
        with MetaDB.open(db_path, create=True) as db:
            summary = run_build(db, plan, options, executor, source, command=command, progress=progress)
    finally:
        executor.close()
    summary["executor"] = executor.name
    return summary


def _holds_nothing(path: Path) -> bool:
    """Whether ``path`` is empty, or an SQLite file with no table at all."""
    if path.stat().st_size == 0:
        return True
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            return schema.is_empty(conn)
    except sqlite3.DatabaseError:  # not SQLite, or unreadable: MetaDB.open names which
        return False


@contextmanager
def _as_it_is(db_path) -> Iterator[MetaDB | None]:
    """The database at ``db_path`` opened read-only for planning a build, or None where there is none yet.

    An empty file is none yet (a build fills it), and so is an SQLite file without any
    table (a first build that stopped before creating them: a full disk). A file of a
    schema too old to read as it is gets planned on a migrated copy: the file itself is
    migrated only by a build that goes ahead.
    """
    path = Path(db_path)
    if not path.exists() or (path.is_file() and _holds_nothing(path)):
        yield None
        return
    try:
        db = MetaDB.open(path)
    except MetaDBVersionError as exc:
        if not isinstance(exc.found, int) or exc.found > SCHEMA_VERSION:
            raise
        with tempfile.TemporaryDirectory(prefix="automl-meta-plan-") as folder:
            copy = Path(folder) / path.name
            with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
                source.backup(target)
            source.close()
            target.close()
            with MetaDB.open(copy, readonly=False) as migrated:
                migrated.path = path  # what the plan's messages name
                yield migrated
        return
    with db:
        yield db


def _import_aslib(folder: Path, db_path, command, progress, on_total, replace_changed: bool = False) -> dict:
    from automl_meta.io.aslib import read_scenario
    from automl_meta.metadb.import_aslib import changes_since_import, forget_scenario, import_scenario

    scenario = read_scenario(folder)
    state = BuildProgress(total=scenario.n_instances)
    if on_total is not None:
        on_total(state.total)

    def step(_instance, _ok):
        state.done += 1
        if progress is not None:
            progress(state)

    with _as_it_is(db_path) as stored:  # refused before anything is written
        changes = [] if stored is None else changes_since_import(stored, scenario)
    if changes and not replace_changed:
        raise UsageError(f"{db_path}: holds scenario {scenario.name} as it was when imported, and it has changed since "
                         f"({'; '.join(changes)}); rerun with --replace-changed to replace what it holds of it, "
                         "or import it into a new database")
    with MetaDB.open(db_path, create=True) as db:
        build_id = db.start_build(f"aslib:{scenario.name}", None, library_versions(), None, command)
        status = "interrupted"
        try:
            # a replacement drops and imports again in one transaction: an interrupt keeps the scenario as stored
            with db.transaction() if changes else nullcontext():
                replaced = forget_scenario(db, scenario) if changes else 0
                added = import_scenario(db, scenario, build_id=build_id, on_instance=step)
            status = "finished"
        finally:
            db.finish_build(build_id, status)
    state.evaluations, state.skipped = added["evaluations"], added["skipped"]
    summary = {**state.as_dict(), "build_id": build_id, "executor": "serial", "failures": []}
    if changes:  # as a folder build names its changed files
        summary.update(replaced=[scenario.name], replaced_instances=replaced, changes=changes)
    return summary


def _import_openml_runs(source: str, db_path, openml_config, command, progress, on_total) -> dict:
    from automl_meta.io.openml_client import OpenMLConfig
    from automl_meta.metadb.build_openml import import_runs, parse_source

    parsed = parse_source(source)
    state = BuildProgress(total=len(parsed.ids))
    if on_total is not None:
        on_total(state.total)

    def step(_item, ok):
        if ok:
            state.done += 1
        else:
            state.failed += 1
        if progress is not None:
            progress(state)

    with MetaDB.open(db_path, create=True) as db:
        build_id = db.start_build(source, None, library_versions(), None, command)
        status = "interrupted"
        try:
            added = import_runs(db, parsed, openml_config or OpenMLConfig(), source, build_id=build_id, on_item=step)
            status = "finished"
        finally:
            db.finish_build(build_id, status)
    state.evaluations, state.skipped = added["evaluations"], added["skipped"]
    return {**state.as_dict(), "build_id": build_id, "executor": "serial", "failures": added["failures"]}
