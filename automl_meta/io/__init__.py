"""Everything that opens files: data tables, caches and artifacts."""

from automl_meta.io.tables import load_dataset, read_table

__all__ = ["load_dataset", "read_table"]
