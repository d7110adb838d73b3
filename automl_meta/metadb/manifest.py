"""The manifest of a shipped meta-database, and preparing the file for shipping."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

from automl_meta.metadb import schema
from automl_meta.metadb.store import MetaDB


def _plain(value):
    """A JSON value: None for a missing one (pandas reads a NULL text column as NaN)."""
    return None if value is None or pd.isna(value) else value


def _int(value) -> int | None:
    return None if _plain(value) is None else int(value)


def _build(row: dict) -> dict:
    """One build of the manifest, its versions as an object."""
    versions = _plain(row.get("versions"))
    return {**{k: _plain(v) for k, v in row.items() if k != "versions"}, "versions": json.loads(versions) if versions else {}}


def manifest(db: MetaDB) -> dict:
    """What a shipped meta-database holds and how it was made: versions, build commands, datasets.

    ``versions`` are those that produced the stored data (:meth:`MetaDB.data_versions`, with
    ``mixed_versions`` where its builds disagree); each build lists its own ``versions``.
    """
    info = db.info()
    datasets = db.datasets(include_failed=True)
    builds = db.builds()
    return {
        "format": "automl-meta-metadb-manifest/1",
        "file": db.path.name,
        "schema_version": info["schema_version"],
        "versions": info["versions"],
        "mixed_versions": info["mixed_versions"],
        "protocol": info["protocol"],
        "builds": [_build(row) for row in builds.to_dict("records")],
        "tasks": info["tasks"],
        "n_datasets": info["n_datasets"],
        "n_learners": info["n_learners"],
        "n_evaluations": info["n_evaluations"],
        "n_missing_pairs": info["n_missing_pairs"],
        "learners": {task: sorted(db.learners(task)["name"]) for task in info["tasks"]},
        "datasets": [
            {"name": r["name"], "task": r["task"], "n_rows": _int(r["n_rows"]), "n_features": _int(r["n_features"]),
             "n_classes": _int(r["n_classes"]), "content_hash": _plain(r["content_hash"]), "source": r["source"],
             "status": r["status"], **({"reason": r["reason"]} if _plain(r["reason"]) else {})}
            for r in datasets.to_dict("records")
        ],
    }


def finalize_for_shipping(path: str | Path) -> None:
    """Fold the write-ahead log into the file, switch to a rollback journal and vacuum.

    A shipped file must be readable where nothing can be written (an installed package):
    a WAL-mode file needs its ``-shm`` companion, a rollback-journal file does not. The
    process ids and machine names of finished builds are dropped: they say nothing to
    the file's users, and a machine's name is not the builder's to publish.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if schema.has_column(conn, "builds", "pid"):
            conn.execute("UPDATE builds SET pid = NULL, host = NULL WHERE status != 'running'")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("VACUUM")
    finally:
        conn.close()
