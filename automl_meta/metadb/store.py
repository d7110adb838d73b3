"""`MetaDB`: the SQLite meta-database, read as pandas frames and written one evaluation at a time.

Every write is one short transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), so a
process killed at any moment leaves either the whole row set of one
evaluation or none of it; a caller may hold one longer around several writes
(they become savepoints of it), as replacing an ASlib scenario does. All SQL
is parameterized; dataset and learner names are data, never SQL text. Writers
open the file in WAL mode; readers open it read-only and never change it.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple

import pandas as pd

from automl_meta.exceptions import MetaDBContentError, MetaDBError, MetaDBPathError, MetaDBVersionError, UsageError
from automl_meta.metadb import schema
from automl_meta.numbers import finite_or_none

logger = logging.getLogger(__name__)

TABLES = ("datasets", "meta_features", "mf_runs", "learners", "metrics", "evaluations", "scores", "builds", "meta")
DATASET_COLUMNS = ["name", "source", "source_id", "content_hash", "task", "n_rows", "n_features", "n_classes", "licence"]


def now() -> str:
    """UTC timestamp in ISO 8601, as stored in ``builds``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class StoredDataset(NamedTuple):
    """A usable dataset row, as a build plans with it: what it is read from and what it held."""

    id: int
    task: str
    content_hash: str | None
    source_hash: str | None


class MetaDB:
    """A meta-database file. Use :meth:`open` (a context manager) rather than the constructor."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self.conn = conn
        self.path = path
        self.readonly = readonly

    # -- opening -----------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, create: bool = False, readonly: bool | None = None) -> "MetaDB":
        """Open the meta-database at ``path``.

        Parameters
        ----------
        path : the SQLite file.
        create : create the file (and its folder) when absent, and open it for writing in WAL mode.
        readonly : open without any right to write (default: ``not create``). A read-only open
            never changes the file, so a shipped database stays byte-identical.
        """
        path = Path(path)
        readonly = (not create) if readonly is None else readonly
        if path.is_dir():
            raise MetaDBPathError(f"{path}: a folder, not a meta-database file; give the .sqlite file (`automl-meta db build --db FILE` makes one)")
        if not path.exists():
            if not create:
                raise MetaDBPathError(f"{path}: no meta-database there; build one with `automl-meta db build --db {path}`")
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly:
                conn = _connect_readonly(path)
            else:
                conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA foreign_keys = ON")
            empty = schema.is_empty(conn)
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):  # another kind of file: bad input
                raise MetaDBPathError(f"{path}: not an SQLite file, so not a meta-database; give a file `automl-meta db build` made") from None
            if "malformed" in str(exc):  # cut short, or pages overwritten
                raise MetaDBPathError(f"{path}: damaged ({exc}); restore a copy of it, or build it again with `automl-meta db build`") from None
            if not readonly and not os.access(path if path.exists() else path.parent, os.W_OK):
                raise MetaDBError(f"{path}: cannot write there ({exc}); check the permissions of the file and its folder") from None
            raise MetaDBError(f"{path}: not a readable SQLite meta-database ({exc})") from None
        db = cls(conn, path, readonly)
        try:
            db._prepare(empty, create)
        except BaseException:
            conn.close()
            raise
        return db

    def _prepare(self, empty: bool, create: bool) -> None:
        if empty:
            if self.readonly:
                raise MetaDBPathError(f"{self.path}: an empty file, not a meta-database; build one with `automl-meta db build`")
            self._write_ahead()
            if schema.create(self.conn):
                return
            # another process created the schema meanwhile: go on as with any existing file
        if not schema.has_tables(self.conn):  # checked before anything is written: another application's file is left as it was
            raise MetaDBPathError(f"{self.path}: an SQLite file, but not an automl-meta meta-database; give a file `automl-meta db build` made")
        if not self.readonly:
            self._write_ahead()
        self.conn.execute("BEGIN")  # one snapshot of the record and the tables: another process may be migrating the file
        try:
            recorded, found = schema.user_version(self.conn), schema.version(self.conn)
        finally:
            self.conn.execute("COMMIT")
        if found != recorded and self.readonly:  # a build into it records the version (schema.migrate)
            _warn_unrecorded_version(str(self.path), recorded, found)
        if found > schema.SCHEMA_VERSION:
            raise MetaDBVersionError(found, schema.SCHEMA_VERSION, where=self.path)
        if recorded < schema.SCHEMA_VERSION:
            if self.readonly:
                if found >= schema.OLDEST_READABLE:
                    return
                raise MetaDBVersionError(found, schema.SCHEMA_VERSION, where=self.path, fix=(
                    f"a build into it migrates it: rerun the command that made it (`automl-meta db build ... --db {self.path}`)"))
            logger.info("%s: migrating schema %d -> %d", self.path, found, schema.SCHEMA_VERSION)
            schema.migrate(self.conn)
        lacking = schema.missing_columns(self.conn)
        if lacking:  # a file of this version whose columns were dropped by hand: no command could read all of it
            raise self.damaged("; ".join(f"its table {table} lacks {', '.join(columns)}" for table, columns in lacking.items()))

    def _write_ahead(self) -> None:
        """Switch to write-ahead logging; retried while another process holds the file.

        SQLite's busy timeout does not cover this switch, so two builds opening one
        new file at once had one fail with "database is locked".
        """
        for wait in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 0.0):
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or not wait:
                    raise
                time.sleep(wait)
        self.conn.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        """Checkpoint the write-ahead log (writers) and close."""
        if self.conn is None:
            return
        if not self.readonly:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:  # another reader holds the log; it will be checkpointed later
                pass
        self.conn.close()
        self.conn = None

    def __enter__(self) -> "MetaDB":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it.

        Inside another one it is a savepoint of that one: undone alone when it fails,
        and committed (or rolled back) with the outer transaction.
        """
        if self.readonly:
            raise MetaDBError(f"{self.path}: opened read-only")
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT inner")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK TO inner")
                self.conn.execute("RELEASE inner")
                raise
            self.conn.execute("RELEASE inner")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _frame(self, sql: str, params: tuple = ()) -> pd.DataFrame:
        cursor = self.conn.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)

    # -- settings ------------------------------------------------------------------------------------

    def damaged(self, what: str) -> MetaDBPathError:
        """The error for content no build writes (an edited or broken file): bad input, with the fix."""
        return MetaDBPathError(f"{self.path}: damaged ({what}); restore a copy of it, or build it again with `automl-meta db build`")

    def _json(self, text, what: str):
        try:
            return json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise self.damaged(f"{what} is not JSON") from None

    def get_meta(self, key: str, default=None):
        """A setting as stored (JSON); the settings a build writes as mappings are checked to be mappings."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if not row:
            return default
        value = self._json(row[0], f"its {key!r} setting")
        mapping = key in ("default_metric", "protocol") or key.startswith("aslib:")
        if mapping and not isinstance(value, dict) or key == "default_metric" and not all(isinstance(v, str) for v in value.values()):
            raise self.damaged(f"its {key!r} setting is not a mapping{' of tasks to metric names' if key == 'default_metric' else ''}")
        return value

    def set_meta(self, key: str, value) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def register_metric(self, name: str, maximize: bool) -> None:
        """Record a metric's direction (first record wins; a conflicting one is an error)."""
        row = self.conn.execute("SELECT maximize FROM metrics WHERE name = ?", (name,)).fetchone()
        if row is not None:
            if bool(row[0]) != bool(maximize):
                raise MetaDBError(f"metric {name!r} is recorded as {'maximized' if row[0] else 'minimized'}; cannot change its direction")
            return
        with self.transaction() as conn:
            conn.execute("INSERT INTO metrics(name, maximize) VALUES (?, ?)", (name, int(bool(maximize))))

    def set_default_metric(self, task: str, metric: str) -> None:
        defaults = self.get_meta("default_metric", {})
        if defaults.get(task) not in (None, metric):
            logger.info("default metric of %s stays %s (asked: %s)", task, defaults[task], metric)
            return
        self.set_meta("default_metric", {**defaults, task: metric})

    def default_metric(self, task: str) -> str:
        """The metric recorded as the default for ``task`` (balanced_accuracy, r2, an ASlib measure...)."""
        defaults = self.get_meta("default_metric", {})
        if task not in defaults:
            # every build records it for the tasks of the datasets it loaded (one that failed to load records none)
            if self.conn.execute("SELECT 1 FROM datasets WHERE task = ? AND status = 'ok' LIMIT 1", (task,)).fetchone():
                raise self.damaged(f"it holds {task} datasets but records no default metric for them")
            known = ", ".join(sorted(defaults)) or "none"
            raise MetaDBContentError(f"{self.path}: no task {task!r} in this database (its tasks: {known}); name one with --task")
        return defaults[task]

    def maximize(self, metric: str) -> bool:
        """Whether larger values of ``metric`` are better."""
        row = self.conn.execute("SELECT maximize FROM metrics WHERE name = ?", (metric,)).fetchone()
        if row is None:
            known = ", ".join(r[0] for r in self.conn.execute("SELECT name FROM metrics ORDER BY name")) or "none"
            raise MetaDBContentError(f"{self.path}: unknown metric {metric!r} (recorded: {known})")
        return bool(row[0])

    def metrics(self) -> dict[str, bool]:
        return {name: bool(m) for name, m in self.conn.execute("SELECT name, maximize FROM metrics ORDER BY name")}

    # -- builds --------------------------------------------------------------------------------------

    def start_build(self, source: str, protocol: Mapping | None, versions: Mapping, random_state: int | None = None,
                    command: str | None = None) -> int:
        """Record a build; returns its id.

        A database holds one evaluation protocol (``protocol``: CV folds, row cap, seed...), so a
        compute build with a different one is refused. Imports (ASlib, OpenML runs) pass ``None``.
        A build still running on this machine refuses another (each would compute and store
        what the other does, the last one's results replacing the first's).
        """
        with self.transaction() as conn:  # checked under the write lock: another build may record its protocol first
            self.check_protocol(protocol)
            if protocol is not None:
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('protocol', ?)", (json.dumps(dict(protocol), sort_keys=True),))
            for build_id, pid, host, started in conn.execute("SELECT id, pid, host, started FROM builds WHERE status = 'running'").fetchall():
                if _build_status("running", pid, host, started) != "running":  # its process died without closing it
                    conn.execute("UPDATE builds SET status = 'interrupted' WHERE id = ?", (build_id,))
                elif host == socket.gethostname() and pid != os.getpid():  # two builds would each compute what the other does
                    raise MetaDBError(f"{self.path}: build {build_id} (process {pid}) is writing it now; wait for it to finish "
                                      "or stop it (what it stored is kept), then run this command again")
            cursor = conn.execute(
                "INSERT INTO builds(source, command, random_state, protocol, versions, started, pid, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, command, random_state, json.dumps(dict(protocol or {}), sort_keys=True), json.dumps(dict(versions), sort_keys=True), now(),
                 os.getpid(), socket.gethostname()),
            )
            return int(cursor.lastrowid)

    def check_protocol(self, protocol: Mapping | None) -> None:
        """Refuse a compute build whose protocol differs from the one the database holds (reads only)."""
        recorded = self.get_meta("protocol")
        if protocol is not None and recorded is not None and recorded != dict(protocol):
            raise UsageError(
                f"{self.path} was built with protocol {recorded}, not {dict(protocol)}; "
                "rerun with the same options or give a new --db"
            )

    def finish_build(self, build_id: int, status: str = "finished") -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE builds SET finished = ?, status = ? WHERE id = ?", (now(), status, build_id))

    # -- datasets ------------------------------------------------------------------------------------

    def dataset_id(self, name: str, task: str) -> int | None:
        row = self.conn.execute("SELECT id FROM datasets WHERE task = ? AND name = ?", (task, name)).fetchone()
        return None if row is None else int(row[0])

    def add_dataset(self, record: Mapping, build_id: int | None = None) -> int:
        """Insert a dataset (keys of :data:`DATASET_COLUMNS`, plus status/reason/fold) or return the existing id.

        A dataset already present under the same (task, name) keeps its row; a different
        content hash is logged, since its scores were computed on other data.
        """
        existing = self.conn.execute(
            "SELECT id, content_hash, status FROM datasets WHERE task = ? AND name = ?", (record["task"], record["name"])
        ).fetchone()
        if existing is not None:
            dataset_id, old_hash, old_status = existing
            new_hash = record.get("content_hash")
            if old_hash and new_hash and old_hash != new_hash:
                logger.warning("%s: content changed since it was stored (hash %s -> %s); keeping the stored results", record["name"], old_hash[:12], new_hash[:12])
            if old_status != "ok" and record.get("status", "ok") == "ok":
                with self.transaction() as conn:
                    conn.execute("UPDATE datasets SET status = 'ok', reason = NULL, content_hash = ?, source_hash = ?, n_rows = ?, n_features = ?,"
                                 " n_classes = ? WHERE id = ?",
                                 (new_hash, record.get("source_hash"), record.get("n_rows"), record.get("n_features"), record.get("n_classes"), dataset_id))
            return int(dataset_id)
        with self.transaction() as conn:
            if record.get("status", "ok") == "ok":  # it loads now: an earlier failure of it is history
                conn.execute(
                    "DELETE FROM datasets WHERE status = 'failed' AND (name = ? OR (source_id IS NOT NULL AND source_id = ?))"
                    " AND id NOT IN (SELECT dataset_id FROM meta_features) AND id NOT IN (SELECT dataset_id FROM mf_runs)"
                    " AND id NOT IN (SELECT dataset_id FROM evaluations)",
                    (record["name"], _opt_str(record.get("source_id"))),
                )
            cursor = conn.execute(
                "INSERT INTO datasets(name, task, source, source_id, content_hash, source_hash, n_rows, n_features, n_classes, licence, status,"
                " reason, fold, build_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["name"], record["task"], record.get("source", ""), _opt_str(record.get("source_id")),
                    record.get("content_hash"), record.get("source_hash"), _opt_int(record.get("n_rows")), _opt_int(record.get("n_features")),
                    _opt_int(record.get("n_classes")), record.get("licence"), record.get("status", "ok"),
                    record.get("reason"), _opt_int(record.get("fold")), build_id,
                ),
            )
            return int(cursor.lastrowid)

    def usable_datasets(self) -> dict[str, StoredDataset]:
        """name -> :class:`StoredDataset` of every usable dataset (the first stored under a name)."""
        source = "source_hash" if schema.has_column(self.conn, "datasets", "source_hash") else "NULL"  # read-only, before schema 3
        rows = self.conn.execute(f"SELECT name, id, task, content_hash, {source} FROM datasets WHERE status = 'ok' ORDER BY id DESC").fetchall()
        return {name: StoredDataset(int(dataset_id), task, content, hashed) for name, dataset_id, task, content, hashed in rows}

    def fail_if_empty(self, dataset_id: int, reason: str) -> None:
        """Mark a dataset failed, with ``reason``, if nothing is stored for it (its data went away before any result).

        A later build that loads it makes it usable again (:meth:`add_dataset`).
        """
        with self.transaction() as conn:
            conn.execute(
                "UPDATE datasets SET status = 'failed', reason = ? WHERE id = ? AND id NOT IN (SELECT dataset_id FROM mf_runs)"
                " AND id NOT IN (SELECT dataset_id FROM evaluations)", (reason, dataset_id))

    def set_source_hash(self, dataset_id: int, source_hash: str) -> None:
        """Record what a stored dataset is read from now (its file was saved again with the same data)."""
        with self.transaction() as conn:
            conn.execute("UPDATE datasets SET source_hash = ? WHERE id = ?", (source_hash, dataset_id))

    def forget_datasets(self, dataset_ids) -> None:
        """Drop datasets (their data changed, or a scenario is replaced) with their meta-features and evaluations in one
        transaction: all or none."""
        rows = [(int(d),) for d in dataset_ids]
        with self.transaction() as conn:
            for table in ("scores", "evaluations", "meta_features", "mf_runs"):
                conn.executemany(f"DELETE FROM {table} WHERE dataset_id = ?", rows)  # table: our own names only
            conn.executemany("DELETE FROM datasets WHERE id = ?", rows)

    def dataset_ids(self, task: str) -> list[int]:
        """The ids of every dataset row of ``task``, failed ones included."""
        return [int(d) for (d,) in self.conn.execute("SELECT id FROM datasets WHERE task = ? ORDER BY id", (task,))]

    def datasets(self, task: str | None = None, include_failed: bool = False) -> pd.DataFrame:
        """One row per dataset: name, source, source_id, content_hash, task, n_rows, n_features, n_classes, licence (+ status, reason, fold)."""
        where, params = _task_filter("d", task, include_failed)
        frame = self._frame(
            f"SELECT name, source, source_id, content_hash, task, n_rows, n_features, n_classes, licence, status, reason, fold"
            f" FROM datasets d {where} ORDER BY task, name",
            params,
        )
        for column in ("n_rows", "n_features", "n_classes", "fold"):
            frame[column] = frame[column].astype("Int64")
        return frame

    # -- meta-features -------------------------------------------------------------------------------

    def metafeature_versions(self) -> dict[int, str]:
        """dataset id -> the extractor version of its stored meta-features (a failed extraction included)."""
        return {int(d): str(v) for d, v in self.conn.execute("SELECT dataset_id, extractor_version FROM mf_runs")}

    def has_meta_features(self, dataset_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM mf_runs WHERE dataset_id = ?", (dataset_id,)).fetchone() is not None

    def metafeature_status(self, dataset_id: int) -> str | None:
        """``ok`` or ``failed`` for a dataset's stored meta-feature run; None when it has none."""
        row = self.conn.execute("SELECT status FROM mf_runs WHERE dataset_id = ?", (dataset_id,)).fetchone()
        return None if row is None else str(row[0])

    def add_meta_features(self, dataset_id: int, values: Mapping[str, float | None], extractor_version: str,
                          seconds: float | None = None, n_rows_used: int | None = None, groups=None,
                          status: str = "ok", reason: str | None = None) -> None:
        """Store a dataset's meta-features and their run record in one transaction (replacing earlier ones)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM meta_features WHERE dataset_id = ?", (dataset_id,))
            conn.executemany(
                "INSERT INTO meta_features(dataset_id, name, value, extractor_version) VALUES (?, ?, ?, ?)",
                [(dataset_id, str(name), finite_or_none(value), str(extractor_version)) for name, value in values.items()],
            )
            conn.execute(
                "INSERT OR REPLACE INTO mf_runs(dataset_id, extractor_version, status, reason, seconds, n_rows_used, groups) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (dataset_id, str(extractor_version), status, reason, finite_or_none(seconds), _opt_int(n_rows_used), json.dumps(list(groups or []))),
            )

    def find_by_content(self, task: str, content_hash: str) -> str | None:
        """The name of a usable dataset of ``task`` holding exactly these data (same content hash), if any.

        Of several (a renamed or copied file stored again), the one :meth:`duplicates` keeps.
        """
        row = self.conn.execute(f"SELECT name FROM datasets d WHERE status = 'ok' AND task = ? AND content_hash = ? {_KEPT_FIRST}",
                                (task, content_hash)).fetchone()
        return None if row is None else str(row[0])

    def duplicates(self, task: str) -> dict[str, str]:
        """name -> the name kept in its place, for the usable datasets of ``task`` holding the same data as another.

        A renamed or copied file is stored again under its new name. Selectors learn from
        one of them, so that one dataset does not count twice: the one with the most
        successful evaluations, then the latest stored.
        """
        rows = self.conn.execute(f"SELECT name, content_hash FROM datasets d WHERE status = 'ok' AND task = ? "
                                 f"AND content_hash IS NOT NULL {_KEPT_FIRST}", (task,)).fetchall()
        kept: dict[str, str] = {}
        dropped = {}
        for name, content in rows:
            if content in kept:
                dropped[str(name)] = kept[content]
            else:
                kept[content] = str(name)
        return dropped

    def meta_features(self, task: str | None = None) -> pd.DataFrame:
        """Wide frame: index = dataset name, columns = meta-feature names (float, NaN for missing)."""
        where, params = _task_filter("d", task)
        long = self._frame(f"SELECT d.name AS dataset, m.name AS feature, m.value FROM meta_features m JOIN datasets d ON d.id = m.dataset_id {where}", params)
        return self._numbers(long, "dataset", "feature", "a meta-feature value")

    # -- learners and evaluations ----------------------------------------------------------------------

    def add_learner(self, name: str, task: str, params: Mapping | None, portfolio_version: str) -> int:
        """Register a learner for a task (idempotent); returns its id."""
        row = self.conn.execute("SELECT id FROM learners WHERE task = ? AND name = ?", (task, name)).fetchone()
        if row is not None:
            return int(row[0])
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO learners(name, task, params, portfolio_version) VALUES (?, ?, ?, ?)",
                (name, task, json.dumps(dict(params or {}), sort_keys=True, default=str), str(portfolio_version)),
            )
            return int(cursor.lastrowid)

    def evaluation_versions(self, learner_id: int) -> dict[int, str]:
        """dataset id -> the learner version each stored evaluation of ``learner_id`` was computed with.

        A build records the version in the evaluation's protocol (``learner_version``);
        an evaluation stored before it did reads the version of the learner's row.
        """
        rows = self.conn.execute(f"SELECT e.dataset_id, {self._EVALUATION_VERSION} FROM evaluations e"
                                 " JOIN learners l ON l.id = e.learner_id WHERE e.learner_id = ?", (learner_id,)).fetchall()
        return {int(dataset_id): str(version) for dataset_id, version in rows}

    def metafeature_versions_of(self, task: str) -> pd.DataFrame:
        """One row per dataset of ``task`` with stored meta-features: dataset, extractor version, source, and the
        command of the build that stored the dataset."""
        return self._frame(
            "SELECT d.name AS dataset, r.extractor_version AS version, d.source, b.command FROM mf_runs r"
            " JOIN datasets d ON d.id = r.dataset_id LEFT JOIN builds b ON b.id = d.build_id WHERE d.task = ?", (task,))

    def build_versions(self, task: str, of: str) -> list[tuple[str, dict]]:
        """(source, recorded versions) of the builds behind ``task``'s rows: ``of="metafeatures"``, every build of the sources
        of its datasets with meta-features; ``of="evaluations"``, the builds that stored its evaluations still held."""
        if of == "metafeatures":  # every build of those datasets' sources: one that re-extracted them (--redo) stored no dataset
            where = "source IN (SELECT d.source FROM datasets d JOIN mf_runs r ON r.dataset_id = d.id WHERE d.task = ?)"
        else:
            where = "id IN (SELECT e.build_id FROM evaluations e JOIN datasets d ON d.id = e.dataset_id WHERE d.task = ?)"
        rows = self.conn.execute(f"SELECT source, versions FROM builds WHERE {where} ORDER BY id", (task,)).fetchall()
        return [(str(source), self._json(v, "a build's versions") if isinstance(v, str) else {}) for source, v in rows]

    # the learner version an evaluation was computed with: its protocol's, else its learner row's (see evaluation_versions)
    _EVALUATION_VERSION = ("CAST(COALESCE(CASE WHEN json_valid(e.protocol) THEN json_extract(e.protocol, '$.learner_version') END,"
                           " l.portfolio_version) AS TEXT)")

    def learner_version_counts(self, task: str) -> list[tuple[str, str, int]]:
        """(learner, the version its evaluations were computed with, how many) for ``task``: one row per pair."""
        return [(str(name), str(version), int(n)) for name, version, n in self.conn.execute(
            f"SELECT l.name, {self._EVALUATION_VERSION} AS v, COUNT(*) FROM evaluations e JOIN datasets d ON d.id = e.dataset_id"
            " JOIN learners l ON l.id = e.learner_id WHERE d.task = ? GROUP BY l.name, v", (task,))]

    def evaluations_of_versions(self, task: str, pairs: list[tuple[str, str]]) -> pd.DataFrame:
        """dataset, learner, source and the storing build's command of ``task``'s evaluations computed with one of the
        (learner, version) ``pairs``, in one pass over the evaluations."""
        values = ", ".join("(?, ?)" for _ in pairs)
        return self._frame(
            f"WITH wanted(learner, version) AS (VALUES {values}) SELECT d.name AS dataset, l.name AS learner, d.source,"
            " COALESCE(b.command, o.command) AS command FROM evaluations e"
            " JOIN datasets d ON d.id = e.dataset_id JOIN learners l ON l.id = e.learner_id"
            f" JOIN wanted w ON w.learner = l.name AND w.version = {self._EVALUATION_VERSION}"
            " LEFT JOIN builds b ON b.id = e.build_id LEFT JOIN builds o ON o.id = d.build_id WHERE d.task = ?",
            (*[v for pair in pairs for v in pair], task))

    def dataset_origins(self, dataset_ids) -> dict[int, tuple[str, str, str | None]]:
        """dataset id -> (dataset name, its source, the command of the build that stored it, or None)."""
        wanted = {int(i) for i in dataset_ids}
        rows = self.conn.execute("SELECT d.id, d.name, d.source, b.command FROM datasets d LEFT JOIN builds b ON b.id = d.build_id").fetchall()
        return {int(i): (name, source, command) for i, name, source, command in rows if int(i) in wanted}

    def evaluation_origins(self, learner_id: int, dataset_ids) -> dict[int, tuple[str, str, str | None]]:
        """dataset id -> (dataset name, its source, the command of the build that stored the evaluation) for ``learner_id``.

        The command is that of the build which computed the evaluation, else of the one
        which stored the dataset, else None (a build run from Python records none).
        """
        wanted = {int(i) for i in dataset_ids}
        rows = self.conn.execute(
            "SELECT e.dataset_id, d.name, d.source, COALESCE(b.command, o.command) FROM evaluations e JOIN datasets d ON d.id = e.dataset_id"
            " LEFT JOIN builds b ON b.id = e.build_id LEFT JOIN builds o ON o.id = d.build_id WHERE e.learner_id = ?", (learner_id,)).fetchall()
        return {int(i): (name, source, command) for i, name, source, command in rows if int(i) in wanted}

    def set_learner_definition(self, learner_id: int, params: Mapping | None, portfolio_version: str) -> None:
        """Record a learner's new definition, all or none, without changing what its stored evaluations were computed with.

        Evaluations that carry no version of their own (stored before builds recorded it)
        get the row's old one first: the row then names the definition builds use now, and
        each evaluation the one that computed it, so those not recomputed stay stale.
        """
        row = self.conn.execute("SELECT portfolio_version FROM learners WHERE id = ?", (learner_id,)).fetchone()
        if row is None or row[0] == str(portfolio_version):
            return
        with self.transaction() as conn:
            for dataset_id, text in conn.execute("SELECT dataset_id, protocol FROM evaluations WHERE learner_id = ?", (learner_id,)).fetchall():
                protocol = _protocol(text)
                if "learner_version" not in protocol:
                    conn.execute("UPDATE evaluations SET protocol = ? WHERE dataset_id = ? AND learner_id = ?",
                                 (json.dumps({**protocol, "learner_version": row[0]}, sort_keys=True), dataset_id, learner_id))
            conn.execute("UPDATE learners SET params = ?, portfolio_version = ? WHERE id = ?",
                         (json.dumps(dict(params or {}), sort_keys=True, default=str), str(portfolio_version), learner_id))

    def learners(self, task: str | None = None) -> pd.DataFrame:
        """One row per (task, learner): name, task, params (JSON text), portfolio_version (the definition builds use now).

        Each evaluation records the version it was computed with (:meth:`evaluation_versions`).
        """
        where = "WHERE task = ?" if task else ""
        return self._frame(f"SELECT name, task, params, portfolio_version FROM learners {where} ORDER BY task, name", (task,) if task else ())

    def timeout_limits(self) -> dict[tuple[int, int], float | None]:
        """(dataset_id, learner_id) -> the per-fit limit in seconds (None: not recorded) of each evaluation stored as a timeout."""
        rows = self.conn.execute("SELECT dataset_id, learner_id, protocol FROM evaluations WHERE status = 'timeout'")
        return {(int(d), int(l)): _protocol(p).get("timeout") for d, l, p in rows}

    def failure_versions(self) -> dict[tuple[int, int], dict | None]:
        """(dataset_id, learner_id) -> the library versions of the build that stored it (None: not recorded), of each
        evaluation stored as failed."""
        rows = self.conn.execute("SELECT e.dataset_id, e.learner_id, b.versions FROM evaluations e LEFT JOIN builds b "
                                 "ON b.id = e.build_id WHERE e.status = 'failed'")
        return {(int(d), int(l)): (self._json(v, "a build's versions") if v else None) for d, l, v in rows}

    def evaluation_statuses(self, dataset: str, task: str) -> dict[str, str]:
        """learner -> the status (ok, failed, timeout) of its stored evaluation on dataset ``dataset`` of ``task``."""
        rows = self.conn.execute("SELECT l.name, e.status FROM evaluations e JOIN datasets d ON d.id = e.dataset_id "
                                 "JOIN learners l ON l.id = e.learner_id WHERE d.name = ? AND d.task = ?", (dataset, task))
        return {str(learner): str(status) for learner, status in rows}

    def unrun_pairs(self, task: str) -> dict[str, list[str]]:
        """learner -> the usable datasets of ``task`` it has no evaluation of (none stored, not even a failure):
        :meth:`missing_pairs` by learner. A learner added to a build after some files were gone has them."""
        unrun: dict[str, list[str]] = {}
        for dataset, learner in self.missing_pairs(task)[["dataset", "learner"]].itertuples(index=False):
            unrun.setdefault(str(learner), []).append(str(dataset))
        return unrun

    def evaluated_pairs(self) -> set[tuple[int, int]]:
        """(dataset_id, learner_id) of every recorded evaluation, whatever its status."""
        return {(int(d), int(l)) for d, l in self.conn.execute("SELECT dataset_id, learner_id FROM evaluations")}

    def add_evaluation(self, dataset_id: int, learner_id: int, status: str, scores: Mapping[str, Mapping] | None = None,
                       reason: str | None = None, fit_seconds: float | None = None, predict_seconds: float | None = None,
                       protocol: Mapping | None = None, build_id: int | None = None) -> None:
        """Store one (dataset, learner) evaluation with its per-metric scores, in one transaction.

        ``scores`` maps metric -> {"mean", "std", "folds"}; a metric must be registered first.
        """
        self.add_evaluations([dict(dataset_id=dataset_id, learner_id=learner_id, status=status, scores=scores, reason=reason,
                                   fit_seconds=fit_seconds, predict_seconds=predict_seconds, protocol=protocol, build_id=build_id)])

    def add_evaluations(self, evaluations: list[Mapping]) -> None:
        """Store several evaluations (keyword dicts of :meth:`add_evaluation`) in one transaction: all or none.

        Imports use it per instance; computed evaluations go one by one through :meth:`add_evaluation`.
        """
        for item in evaluations:
            if item["status"] not in ("ok", "failed", "timeout"):
                raise MetaDBError(f"evaluation status must be ok, failed or timeout, not {item['status']!r}")
        with self.transaction() as conn:
            for item in evaluations:
                key = (item["dataset_id"], item["learner_id"])
                conn.execute("DELETE FROM scores WHERE dataset_id = ? AND learner_id = ?", key)
                conn.execute(
                    "INSERT OR REPLACE INTO evaluations(dataset_id, learner_id, status, reason, fit_seconds, predict_seconds, protocol, build_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*key, item["status"], item.get("reason"), finite_or_none(item.get("fit_seconds")), finite_or_none(item.get("predict_seconds")),
                     json.dumps(dict(item.get("protocol") or {}), sort_keys=True), item.get("build_id")),
                )
                conn.executemany(
                    "INSERT INTO scores(dataset_id, learner_id, metric, mean, std, fold_scores) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (*key, metric, finite_or_none(s.get("mean")), finite_or_none(s.get("std")), json.dumps([finite_or_none(v) for v in s.get("folds") or []]))
                        for metric, s in (item.get("scores") or {}).items()
                    ],
                )

    def scores(self, metric: str, task: str | None = None) -> pd.DataFrame:
        """Wide frame: index = dataset name, columns = learner name, mean CV score.

        NaN where the learner failed or timed out (no score is stored then), except where the
        source defines a penalty score for failures (ASlib runtime scenarios: PAR10). A task
        whose scores are in other metrics only is refused (``task`` given) or left out.
        """
        where, params = _task_filter("d", task)
        long = self._frame(
            "SELECT d.name AS dataset, d.task AS task, l.name AS learner, s.mean AS value"
            " FROM evaluations e JOIN datasets d ON d.id = e.dataset_id JOIN learners l ON l.id = e.learner_id"
            f" LEFT JOIN scores s ON s.dataset_id = e.dataset_id AND s.learner_id = e.learner_id AND s.metric = ? {where}",
            (metric, *params),
        )
        if long["value"].notna().sum() == 0 and metric not in self.metrics():
            raise MetaDBContentError(f"{self.path}: no scores for metric {metric!r} (recorded: {', '.join(self.metrics()) or 'none'})")
        # a task with no score in this metric: in other metrics (left out, or refused), or every run failed (NaN: failures)
        empty = [t for t, values in long.groupby("task")["value"] if values.notna().sum() == 0]
        other = sorted(t for t in empty if self.conn.execute(
            "SELECT 1 FROM scores s JOIN datasets d ON d.id = s.dataset_id WHERE d.task = ? LIMIT 1", (t,)).fetchone())
        if task is not None and other:
            raise MetaDBContentError(f"{self.path}: {task} records no {metric} scores (it records: "
                                     f"{', '.join(self.recorded_metrics()[task])})")
        return self._numbers(long[~long["task"].isin(other)].drop(columns="task"), "dataset", "learner", "a score")

    def fit_seconds(self, task: str | None = None) -> pd.DataFrame:
        """Wide frame like :meth:`scores`: mean fit seconds per fold (NaN where unknown)."""
        where, params = _task_filter("d", task)
        long = self._frame(
            "SELECT d.name AS dataset, l.name AS learner, e.fit_seconds AS value FROM evaluations e"
            f" JOIN datasets d ON d.id = e.dataset_id JOIN learners l ON l.id = e.learner_id {where}",
            params,
        )
        return self._numbers(long, "dataset", "learner", "a score")

    def evaluations(self, task: str | None = None) -> pd.DataFrame:
        """Long frame: one row per (dataset, learner, metric); failed evaluations have metric None.

        Columns: dataset, task, learner, metric, status, reason, mean, std, fold_scores (list),
        fit_seconds, predict_seconds, protocol (dict).
        """
        where, params = _task_filter("d", task)
        frame = self._frame(
            "SELECT d.name AS dataset, d.task AS task, l.name AS learner, s.metric, e.status, e.reason, s.mean, s.std,"
            " s.fold_scores, e.fit_seconds, e.predict_seconds, e.protocol FROM evaluations e"
            " JOIN datasets d ON d.id = e.dataset_id JOIN learners l ON l.id = e.learner_id"
            f" LEFT JOIN scores s ON s.dataset_id = e.dataset_id AND s.learner_id = e.learner_id {where}"
            " ORDER BY d.task, d.name, l.name, s.metric",
            params,
        )
        frame["fold_scores"] = [self._json(v, "a score's folds") if isinstance(v, str) else [] for v in frame["fold_scores"]]
        frame["protocol"] = [self._json(v, "an evaluation's protocol") if isinstance(v, str) else {} for v in frame["protocol"]]
        try:
            for column in ("mean", "std", "fit_seconds", "predict_seconds"):
                frame[column] = frame[column].astype(float)
        except (TypeError, ValueError):
            raise self.damaged("a score or time is not a number") from None
        return frame

    def _numbers(self, long: pd.DataFrame, index: str, columns: str, what: str) -> pd.DataFrame:
        try:
            return _wide(long, index, columns, "value")
        except (TypeError, ValueError):  # text where a build writes numbers
            raise self.damaged(f"{what} is not a number") from None

    def builds(self) -> pd.DataFrame:
        """One row per build run: id, source, command, random_state, started, finished, status, versions (JSON).

        A build recorded as running whose process (on this machine) is gone reads as
        ``interrupted``: it was killed before it could close its record.
        """
        if not schema.has_column(self.conn, "builds", "pid"):  # a file from before schema 3, opened read-only
            frame = self._frame("SELECT id, source, command, random_state, started, finished, status, versions FROM builds ORDER BY id")
        else:
            frame = self._frame("SELECT id, source, command, random_state, started, finished, status, versions, pid, host FROM builds ORDER BY id")
            frame["status"] = [_build_status(*row) for row in zip(frame["status"], frame["pid"], frame["host"], frame["started"])]
            frame = frame.drop(columns=["pid", "host"])
        frame["random_state"] = pd.Series([None if pd.isna(v) else int(v) for v in frame["random_state"]], index=frame.index,
                                          dtype=object)  # an int, or None (imports): pandas made 0 a float beside a NULL
        return frame

    def data_versions(self, builds: pd.DataFrame | None = None) -> tuple[dict, dict]:
        """The versions that produced the stored data: (per key, the latest value; keys with several values).

        Only builds whose rows are still stored count (a dataset row or an evaluation
        records its build; a recomputed evaluation records the build that recomputed it):
        a resume that added nothing made none of the data, and an import that recorded no
        extractor or portfolio version leaves those of the builds that did. Per key, the
        value of the latest such build that recorded one wins; where those builds recorded
        different values, the second dict gives them all, oldest first. A database with no
        stored rows reports its last build's versions. The extractor is read from the
        meta-feature runs themselves, and the portfolio is never "mixed": each learner's
        scores carry the version of its definition, and ``db build`` names stale ones.
        """
        builds = self.builds() if builds is None else builds
        storing = {int(b) for (b,) in self.conn.execute(
            "SELECT build_id FROM datasets WHERE build_id IS NOT NULL UNION SELECT build_id FROM evaluations WHERE build_id IS NOT NULL")}
        recorded = [self._json(v, "a build's versions") if isinstance(v, str) else {} for v in builds["versions"]] if len(builds) else []
        chosen = [v for build_id, v in zip(builds["id"] if len(builds) else [], recorded) if int(build_id) in storing]
        if not chosen:
            return (recorded[-1] if recorded else {}), {}
        versions, seen = {}, {}
        for entry in chosen:  # oldest first: a later value replaces an earlier one
            for key, value in entry.items():
                if value is not None or key not in versions:
                    versions[key] = value
                if value is not None and value not in seen.setdefault(key, []):
                    seen[key].append(value)
        # the rows themselves say it better for these two: each meta-feature run records its extractor, and each
        # learner's scores its own definition (learners unchanged since an older portfolio are current)
        # our extractor's versions are numbers; an import records where its features came from (aslib:X), not a version
        extractors = sorted((v for (v,) in self.conn.execute("SELECT DISTINCT extractor_version FROM mf_runs") if str(v).isdigit()), key=int)
        if extractors:
            versions["extractor"], seen["extractor"] = extractors[-1], extractors
        seen.pop("portfolio", None)
        return versions, {key: values for key, values in seen.items() if len(values) > 1}

    def tasks_recording(self, metric: str) -> list[str]:
        """The tasks whose stored scores include ``metric`` (r2: regression)."""
        return [task for task, metrics in self.recorded_metrics().items() if metric in metrics]

    def recorded_metrics(self) -> dict[str, list[str]]:
        """task -> the metrics its stored scores are in."""
        recorded: dict[str, list[str]] = {}
        for task, metric in self.conn.execute(
                "SELECT DISTINCT d.task, s.metric FROM scores s JOIN datasets d ON d.id = s.dataset_id ORDER BY d.task, s.metric"):
            recorded.setdefault(task, []).append(metric)
        return recorded

    def metafeature_runs(self, task: str | None = None) -> pd.DataFrame:
        """One row per meta-feature extraction: the dataset's name and task, the extractor version, status, reason, seconds..."""
        where, params = _task_filter("d", task, include_failed=True)
        return self._frame(
            "SELECT d.name AS dataset, d.task, r.extractor_version, r.status, r.reason, r.seconds, r.n_rows_used, r.groups"
            f" FROM mf_runs r JOIN datasets d ON d.id = r.dataset_id {where} ORDER BY d.task, d.name", params)

    def table(self, name: str) -> pd.DataFrame:
        """A raw table, for export (names from :data:`TABLES` only)."""
        if name not in TABLES:
            raise UsageError(f"unknown table {name!r}; choose one of {', '.join(TABLES)}")
        return self._frame(f"SELECT * FROM {name}")  # name is checked against a fixed list above

    # -- summary -------------------------------------------------------------------------------------

    def missing_pairs(self, task: str | None = None) -> pd.DataFrame:
        """(dataset, learner) pairs of the same task with neither a result nor a recorded reason."""
        where, params = _task_filter("d", task)
        return self._frame(
            "SELECT d.name AS dataset, d.task, l.name AS learner FROM datasets d JOIN learners l ON l.task = d.task"
            f" LEFT JOIN evaluations e ON e.dataset_id = d.id AND e.learner_id = l.id {where}"
            f" {'AND' if where else 'WHERE'} e.status IS NULL ORDER BY d.task, d.name, l.name",
            params,
        )

    def info(self) -> dict:
        """Counts per task, the versions and protocol the database was built with, and what is missing.

        ``versions`` and ``mixed_versions`` are those of :meth:`data_versions`.
        """
        one = lambda sql, params=(): self.conn.execute(sql, params).fetchone()[0]  # noqa: E731
        tasks = {}
        for (task,) in self.conn.execute("SELECT DISTINCT task FROM datasets WHERE status = 'ok' ORDER BY task"):
            counts = dict(self.conn.execute(
                "SELECT e.status, count(*) FROM evaluations e JOIN datasets d ON d.id = e.dataset_id WHERE d.task = ? GROUP BY e.status", (task,)
            ).fetchall())
            tasks[task] = {
                "n_datasets": one("SELECT count(*) FROM datasets WHERE task = ? AND status = 'ok'", (task,)),
                "n_learners": one("SELECT count(*) FROM learners WHERE task = ?", (task,)),
                "n_evaluations": sum(counts.values()),
                "n_ok": counts.get("ok", 0),
                "n_failed": counts.get("failed", 0),
                "n_timeout": counts.get("timeout", 0),
                "n_missing": len(self.missing_pairs(task)),
                "n_meta_features": one("SELECT count(DISTINCT m.name) FROM meta_features m JOIN datasets d ON d.id = m.dataset_id WHERE d.task = ?", (task,)),
                "default_metric": self.get_meta("default_metric", {}).get(task),
            }
        builds = self.builds()
        versions, mixed = self.data_versions(builds)
        return {
            "path": str(self.path),
            "schema_version": schema.version(self.conn),
            "n_datasets": one("SELECT count(*) FROM datasets WHERE status = 'ok'"),
            "n_failed_datasets": one("SELECT count(*) FROM datasets WHERE status != 'ok'"),
            # the learners of the tasks it holds data of, as the tables per task count them
            "n_learners": one("SELECT count(DISTINCT name) FROM learners WHERE task IN (SELECT task FROM datasets WHERE status = 'ok')"),
            "n_evaluations": one("SELECT count(*) FROM evaluations"),
            "n_missing_pairs": sum(t["n_missing"] for t in tasks.values()),
            "tasks": tasks,
            "metrics": self.metrics(),
            "protocol": self.get_meta("protocol"),
            "versions": versions,
            "mixed_versions": mixed,
            "builds": [
                {k: (None if pd.isna(v) else v) for k, v in row.items() if k != "versions"}
                for row in builds.to_dict("records")
            ],
        }


@functools.lru_cache(maxsize=None)
def _warn_unrecorded_version(path: str, recorded: int, found: int) -> None:
    """Once per file and process: a command opens its database several times."""
    logger.warning("%s: records schema version %d, but its tables are those of version %d (a copy made by sqlite3's "
                   ".dump or .recover keeps no version); read as version %d, and any `automl-meta db build` into it "
                   "records that", path, recorded, found, found)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Read-only; a file in a folder we cannot write (an installed package) is opened as immutable."""
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        check_no_pending_log(path)
        conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    return conn


def check_no_pending_log(path: Path) -> None:
    """Refuse a database opened as immutable whose write-ahead log holds changes: SQLite would read it without them.

    A file in a folder we cannot write is opened as immutable, which skips the ``-wal`` file beside it
    (a killed build's, copied without its ``-shm``); its committed changes would silently be missing.
    """
    log = path.with_name(f"{path.name}-wal")
    if log.is_file() and log.stat().st_size > 0:
        raise MetaDBPathError(f"{path}: its write-ahead log {log.name} holds changes that SQLite cannot read in a folder it "
                              "cannot write; copy the database with its -wal file to a writable folder and open it there")


def _build_status(status: str, pid, host, started=None) -> str:
    """``running`` only while the build's process lives; a build of another machine cannot be checked.

    A process of that number that started after the build did is another one (numbers are
    reused, after a reboot soonest), as is a zombie: the build's own died without closing
    its record.
    """
    if status != "running" or pid is None or pd.isna(pid) or host != socket.gethostname():
        return status
    import psutil

    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return "interrupted"
        since = process.create_time()
    except psutil.NoSuchProcess:
        return "interrupted"
    except psutil.AccessDenied:  # alive, under another user
        return status
    if started and since > datetime.fromisoformat(str(started)).timestamp() + 1:  # the record keeps whole seconds
        return "interrupted"
    return status


# of datasets holding the same data, the one with the most successful evaluations, then the latest stored
_KEPT_FIRST = "ORDER BY (SELECT COUNT(*) FROM evaluations e WHERE e.dataset_id = d.id AND e.status = 'ok') DESC, d.id DESC"


def _task_filter(alias: str, task: str | None, include_failed: bool = False) -> tuple[str, tuple]:
    clauses, params = [], []
    if not include_failed:
        clauses.append(f"{alias}.status = 'ok'")
    if task is not None:
        clauses.append(f"{alias}.task = ?")
        params.append(task)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _wide(long: pd.DataFrame, index: str, columns: str, values: str) -> pd.DataFrame:
    if long.empty:
        return pd.DataFrame(dtype=float)
    wide = long.pivot_table(index=index, columns=columns, values=values, aggfunc="first", dropna=False, sort=True)
    wide = wide.astype(float)
    wide.index.name = index
    wide.columns.name = columns
    return wide


def _opt_int(value) -> int | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _protocol(text) -> dict:
    """An evaluation's protocol column as a dict ({} when absent or not an object)."""
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _opt_str(value) -> str | None:
    return None if value is None else str(value)

