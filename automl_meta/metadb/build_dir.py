"""``--source dir:PATH``: every data file of a folder is a dataset of the meta-database."""

from __future__ import annotations

from automl_meta.io.dataset_folder import list_dataset_folder
from automl_meta.metadb.units import DatasetRef


def dir_refs(folder, source: str | None = None) -> list[DatasetRef]:
    """One :class:`DatasetRef` per data file of ``folder`` (task and target from its manifest when listed)."""
    source = source or f"dir:{folder}"
    return [
        DatasetRef(name=e.name, source=source, source_id=e.path.name, path=str(e.path.resolve()), target=e.target, task=e.task)
        for e in list_dataset_folder(folder)
    ]
