"""Everything that opens files: data tables, caches and artifacts.

``load_dataset`` and ``read_table`` are loaded on first use (PEP 562), so that
importing a light submodule (``automl_meta.io.mf_background``) does not import pandas.
"""

__all__ = ["load_dataset", "read_table"]


def __getattr__(name: str):
    if name in __all__:
        from automl_meta.io import tables

        return getattr(tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
