"""The shipped meta-database and meta-model (installed as ``automl_meta.meta_db``).

Files here are data, not code: ``metadb.sqlite`` (built by ``automl-meta db build``
from the PMLB corpus), the meta-model as LightGBM text plus a JSON manifest, and
``MANIFEST.json`` with versions and the datasets the database knows.
"""

from importlib.resources import files
from pathlib import Path


def shipped_path(name: str) -> Path:
    """Path of a file shipped in this package (it may not exist yet)."""
    return Path(str(files(__name__).joinpath(name)))
