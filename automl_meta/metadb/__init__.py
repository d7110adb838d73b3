"""The meta-database: an SQLite store of meta-features and learner scores, and its builders.

Read it with ``MetaDB.open(path)``; build it with ``automl-meta db build`` (see
:mod:`automl_meta.metadb.build_dir`, :mod:`~automl_meta.metadb.build_openml` and
:mod:`~automl_meta.metadb.import_aslib`).
"""

from automl_meta.metadb.schema import SCHEMA_VERSION
from automl_meta.metadb.store import MetaDB

__all__ = ["MetaDB", "SCHEMA_VERSION"]
