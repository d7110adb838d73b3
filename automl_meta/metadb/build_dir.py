"""``--source dir:PATH``: every data file of a folder is a dataset of the meta-database."""

from __future__ import annotations

from pathlib import Path

from automl_meta.io.dataset_folder import list_dataset_folder
from automl_meta.metadb.units import DatasetRef


def dir_refs(folder, source: str | None = None) -> list[DatasetRef]:
    """One :class:`DatasetRef` per data file of ``folder`` (task and target from its manifest when listed)."""
    source = source or f"dir:{folder}"
    return [
        DatasetRef(name=e.name, source=source, source_id=e.path.name, path=str(e.path.resolve()), target=e.target, task=e.task)
        for e in list_dataset_folder(folder)
    ]


def same_source(a, b) -> bool:
    """Whether two recorded sources are one: ``dir:data`` and the same folder by its absolute path are one (resolved from here)."""
    a, b = str(a), str(b)
    if a.startswith("dir:") and b.startswith("dir:"):
        return Path(a[4:]).resolve() == Path(b[4:]).resolve()
    return a == b
