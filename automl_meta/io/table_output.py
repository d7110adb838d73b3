"""Write a result table in the format its file name asks for: CSV, TSV (either compressed) or parquet."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from automl_meta.exceptions import UsageError
from automl_meta.io.atomic import atomic_path

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
FORMATS = {".csv": ",", ".tsv": "\t", ".parquet": None}


def output_format(path: str | Path) -> tuple[str, str | None]:
    """``(suffix, compression)`` of an output table's name, e.g. ``(".csv", "gzip")`` for ``a.csv.gz``.

    Anything else is refused (:class:`UsageError`) before any work: pandas would
    write comma-separated text under a ``.parquet`` or ``.xlsx`` name.
    """
    name = Path(path).name
    if not name or Path(path).is_dir():  # '/', '.', or a folder that exists
        raise UsageError(f"{path}: is a folder; give a file name, e.g. results.csv")
    if name.startswith(".") and not Path(path).suffixes:  # '.csv' is a hidden file's name, with no extension ('.preds.csv' has one)
        raise UsageError(f"{name}: give the file a name before its extension, e.g. results{name}")
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    base = (suffixes[-2] if len(suffixes) >= 2 else "") if compression else (suffixes[-1] if suffixes else "")
    if base in (".csv", ".tsv") or (base == ".parquet" and compression is None):
        return base, compression
    raise UsageError(
        f"{Path(path).name}: give an output file ending in .csv, .tsv or .parquet "
        f"(.csv and .tsv may be compressed: {', '.join('.csv' + c for c in COMPRESSIONS)})"
    )


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (without its index) to ``path`` in its name's format; an existing file is replaced only by a complete one."""
    suffix, compression = output_format(path)
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            if compression == "gzip":  # the gzip header names the file, not the temporary one (gunzip -N restores it)
                with open(tmp, "wb") as raw, gzip.GzipFile(filename=Path(path).name, mode="wb", fileobj=raw) as packed:
                    frame.to_csv(packed, index=False, sep=FORMATS[suffix])
                return
            options = None if compression is None else {"method": compression}
            if compression == "zip":  # the member is named after the file, not the temporary one
                options["archive_name"] = Path(path).name[: -len(".zip")]
            frame.to_csv(tmp, index=False, sep=FORMATS[suffix], compression=options)
