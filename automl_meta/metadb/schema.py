"""The meta-database schema, its version and the migrations between versions.

The version lives in SQLite's ``PRAGMA user_version``. A new database gets the
base schema (version 1) and then every migration in order, so a fresh file and
a migrated old file end up identical. A file written by a newer automl-meta
raises :class:`~automl_meta.exceptions.MetaDBVersionError`. A read-only open
takes files from :data:`OLDEST_READABLE` on as they are (later migrations only
add columns that builds use), so an older database stays byte-identical; the
first build into it migrates it.

Tables
------
meta            key/value settings: the build protocol, the default metric per task
builds          one row per `db build` run: source, command, seed, versions, times, its process (pid, host)
datasets        one row per (task, name): source, content hash, source hash, shape, licence, status
meta_features   (dataset, name) -> value, with the extractor version
mf_runs         one row per dataset whose meta-features were computed (or failed, with a reason)
learners        one row per (task, name): parameters, portfolio version
metrics         name -> direction (maximize or minimize)
evaluations     one row per (dataset, learner): status, reason, timings, protocol
scores          one row per (dataset, learner, metric): mean, std, fold scores (JSON)
"""

from __future__ import annotations

import functools
import re
import sqlite3

SCHEMA_VERSION = 3
OLDEST_READABLE = 2

BASE_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE builds (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    command     TEXT,
    random_state INTEGER,
    protocol    TEXT NOT NULL,
    versions    TEXT NOT NULL,
    started     TEXT NOT NULL,
    finished    TEXT,
    status      TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE datasets (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    task         TEXT NOT NULL,
    source       TEXT NOT NULL,
    source_id    TEXT,
    content_hash TEXT,
    n_rows       INTEGER,
    n_features   INTEGER,
    n_classes    INTEGER,
    licence      TEXT,
    status       TEXT NOT NULL DEFAULT 'ok',
    reason       TEXT,
    build_id     INTEGER REFERENCES builds(id),
    UNIQUE (task, name)
);
CREATE TABLE meta_features (
    dataset_id        INTEGER NOT NULL REFERENCES datasets(id),
    name              TEXT NOT NULL,
    value             REAL,
    extractor_version TEXT NOT NULL,
    PRIMARY KEY (dataset_id, name)
);
CREATE TABLE mf_runs (
    dataset_id        INTEGER PRIMARY KEY REFERENCES datasets(id),
    extractor_version TEXT NOT NULL,
    status            TEXT NOT NULL,
    reason            TEXT,
    seconds           REAL,
    n_rows_used       INTEGER,
    groups            TEXT
);
CREATE TABLE learners (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    task              TEXT NOT NULL,
    params            TEXT NOT NULL DEFAULT '{}',
    portfolio_version TEXT NOT NULL,
    UNIQUE (task, name)
);
CREATE TABLE metrics (
    name     TEXT PRIMARY KEY,
    maximize INTEGER NOT NULL
);
CREATE TABLE evaluations (
    dataset_id      INTEGER NOT NULL REFERENCES datasets(id),
    learner_id      INTEGER NOT NULL REFERENCES learners(id),
    status          TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')),
    reason          TEXT,
    fit_seconds     REAL,
    predict_seconds REAL,
    protocol        TEXT NOT NULL,
    build_id        INTEGER REFERENCES builds(id),
    PRIMARY KEY (dataset_id, learner_id)
);
CREATE TABLE scores (
    dataset_id  INTEGER NOT NULL,
    learner_id  INTEGER NOT NULL,
    metric      TEXT NOT NULL REFERENCES metrics(name),
    mean        REAL,
    std         REAL,
    fold_scores TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (dataset_id, learner_id, metric),
    FOREIGN KEY (dataset_id, learner_id) REFERENCES evaluations(dataset_id, learner_id)
);
"""

# version reached -> statements that take the previous version there
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: the official cross-validation fold of a dataset (ASlib cv.arff), and an index for task filters
    2: (
        "ALTER TABLE datasets ADD COLUMN fold INTEGER",
        "CREATE INDEX IF NOT EXISTS datasets_task ON datasets(task)",
    ),
    # 3: what a dataset was read from, its file's bytes with the target and task (a resumed folder
    # build notices a changed file), and the process of a build (`db info` tells a build still
    # running from one that was killed)
    3: (
        "ALTER TABLE datasets ADD COLUMN source_hash TEXT",
        "ALTER TABLE builds ADD COLUMN pid INTEGER",
        "ALTER TABLE builds ADD COLUMN host TEXT",
    ),
}


_ADD_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)")


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for an empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


TABLES = ("meta", "builds", "datasets", "meta_features", "mf_runs", "learners", "metrics", "evaluations", "scores")


def has_tables(conn: sqlite3.Connection) -> bool:
    """Whether the file holds every table of a meta-database (another application's file does not)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return set(TABLES) <= names


def version(conn: sqlite3.Connection) -> int:
    """The schema version of the file: the one it records, or the one its tables show where that is later.

    ``sqlite3 FILE .dump`` and ``.recover`` copy the tables but not ``user_version``: such a
    copy records 0, and a build into it tried to create or migrate what it already had.
    The tables show a version by the columns each migration adds.
    """
    recorded = user_version(conn)
    if recorded > SCHEMA_VERSION:
        return recorded
    if has_column(conn, "datasets", "source_hash") and has_column(conn, "builds", "pid"):
        shown = 3
    else:
        shown = 2 if has_column(conn, "datasets", "fold") else 1
    return max(recorded, shown)


def is_empty(conn: sqlite3.Connection) -> bool:
    """Whether the file has no tables at all."""
    return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0


def has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    """Whether ``table`` has ``column`` (a file opened read-only may predate the migration that adds it)."""
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))  # table: our own names only


@functools.lru_cache(maxsize=1)
def expected_columns() -> dict[str, frozenset]:
    """table -> the columns :data:`SCHEMA_VERSION` gives it (the schema made and migrated in memory)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        create(conn)
        return {table: frozenset(row[1] for row in conn.execute(f"PRAGMA table_info({table})")) for table in TABLES}
    finally:
        conn.close()


def missing_columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """table -> the columns of :data:`SCHEMA_VERSION` that a file recording that version lacks (dropped by hand)."""
    missing = {}
    for table, columns in expected_columns().items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # table: our own names only
        if columns - present:
            missing[table] = sorted(columns - present)
    return missing


def create(conn: sqlite3.Connection) -> bool:
    """Create the schema at version 1, then migrate to :data:`SCHEMA_VERSION`.

    Returns False, having changed nothing, when another process created the schema
    between the caller's look at the empty file and this call's write lock.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not is_empty(conn):
            conn.execute("ROLLBACK")
            return False
        for statement in BASE_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    migrate(conn)
    return True


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply the missing migrations, each in its own transaction; returns the versions reached.

    Each step takes the write lock before it reads the version, so two processes
    opening one old file at once migrate it once.
    """
    reached = []
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = version(conn)  # read under the write lock: another process may be migrating the same file
            step = current + 1 if current < SCHEMA_VERSION else None
            for statement in MIGRATIONS[step] if step else ():
                added = _ADD_COLUMN.match(statement)
                if added and has_column(conn, *added.groups()):  # a copy missing only some of the step's columns
                    continue
                conn.execute(statement)
            if step or current != user_version(conn):  # a copy that lost its record of the version gets it back
                conn.execute(f"PRAGMA user_version = {int(step or current)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if step is None:
            return reached
        reached.append(step)
