"""A folder of dataset files, optionally described by a manifest.

Every CSV/TSV (optionally compressed), parquet and ARFF file in the folder is a
dataset, named after its file without the table and compression suffixes. A
``MANIFEST.csv`` (PMLB style: ``name,task,...``, optionally ``target``) gives the
task (and target) of the datasets it lists, each named by its dataset name or
its file name (``t2`` or ``t2.csv``); datasets it does not list use the usual
rules (target column ``target``/``class``/``label``/``y`` or the last one; task
inferred), and names it lists that match no file are named in a warning.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from automl_meta.dataset import TASKS
from automl_meta.exceptions import DatasetError
from automl_meta.io.tables import TABLE_SUFFIXES, decode_text, is_table_file

logger = logging.getLogger(__name__)

def is_manifest(path: Path) -> bool:
    """Whether ``path`` is a folder's manifest (its name MANIFEST.csv in any case), which is never a dataset."""
    return path.name.lower() == "manifest.csv" and path.is_file()
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip")


@dataclass(frozen=True)
class FolderEntry:
    """One dataset file of a folder, with what the manifest says about it."""

    name: str
    path: Path
    task: str = "auto"
    target: str | None = None


def dataset_name(path: Path) -> str:
    """The file name without its compression and table suffixes (``1027_ESL.tsv.gz`` -> ``1027_ESL``)."""
    name = path.name
    lower = name.lower()
    for suffix in _COMPRESSION:
        if lower.endswith(suffix):
            name, lower = name[: -len(suffix)], lower[: -len(suffix)]
            break
    for suffix in TABLE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def source_hash(path: str | Path, target: str | None, task: str) -> str:
    """A hash of what a dataset is read from: the file's bytes, the target column and the task asked for.

    A resumed build compares it with the stored one, so a file edited (or replaced by
    another of the same name) since its results were stored is not taken for them.
    """
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
    digest.update(f"\x1f{target or ''}\x1f{task}".encode())
    return digest.hexdigest()


# how a folder build, which has no --sep or --target, says the reader's fixes: in the file or the manifest
FOLDER_FIXES = {
    "sep": "save it with one of , ; TAB | between fields",
    "target": "name the target in the folder's MANIFEST.csv: name,task,target",
    "task": "give its task in the folder's MANIFEST.csv: name,task,target",
}


def read_manifest(folder: Path) -> dict[str, dict]:
    """name -> {"task", "target"} from the folder's manifest (empty without one)."""
    path = next((p for p in sorted(folder.iterdir()) if is_manifest(p)), None)  # Manifest.csv, MANIFEST.CSV too
    if path is None:
        return {}
    text = decode_text(path.read_bytes(), str(path))  # as a data file is read: Excel on Windows may have saved it
    lines = csv.reader(io.StringIO(text, newline=""))
    header = [field.strip().lower() for field in next(lines, [])]  # "name, task, target" as Excel may write it
    rows = [dict(zip(header, (field.strip() for field in fields))) for fields in lines if any(f.strip() for f in fields)]
    if rows and "name" not in header:
        raise DatasetError(f"{path}: a manifest needs a 'name' column (found {', '.join(header)})")
    entries, lines = {}, {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        if not row.get("name"):
            raise DatasetError(f"{path}: line {line} names no file (the line has fewer fields than the header "
                               f"{', '.join(header)}, or an empty name); give each line a name, as t2 or t2.csv")
        task = (row.get("task") or "auto").strip().lower()
        if task not in (*TASKS, "auto"):
            raise DatasetError(f"{path}: task {task!r} of {row['name']!r} is not classification, regression or auto")
        if row["name"] in entries:  # the later row would silently replace the earlier one
            raise DatasetError(f"{path}: lines {lines[row['name']]} and {line} both describe {row['name']!r}; give each file one "
                               "line (a copy of the file under another name can serve another task or target)")
        entries[row["name"]] = {"task": task, "target": (row.get("target") or "").strip() or None}
        lines[row["name"]] = line
    return entries


def list_dataset_folder(folder: str | Path) -> list[FolderEntry]:
    """The datasets of ``folder``, sorted by name (the manifest file itself is not a dataset)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{str(folder)!r}: not a folder; give dir:PATH with a folder of CSV/TSV/parquet/ARFF files")
    manifest = read_manifest(folder)
    entries, matched, skipped = [], set(), []
    for path in sorted(folder.iterdir()):
        if is_manifest(path) or path.name.startswith("."):
            continue
        if not is_table_file(path):
            if path.is_file() or path.is_symlink():  # a broken link, b.gz, data without a suffix: said, not silently dropped
                skipped.append(path.name)
            continue
        name = dataset_name(path)
        if name != path.name and name in manifest and path.name in manifest:
            raise DatasetError(f"{folder}: the manifest describes {path.name} twice, as {name!r} and as {path.name!r}; keep one line")
        key = name if name in manifest else path.name  # a row may name the file (t2.csv) or the dataset (t2)
        info = manifest.get(key, {})
        matched.add(key)
        entries.append(FolderEntry(name=name, path=path, task=info.get("task", "auto"), target=info.get("target")))
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        logger.warning("%s: %d file(s) skipped, their names not those of a data file (%s); a dataset needs a name "
                       "ending in .csv, .tsv, .parquet or .arff (compressed: .csv.gz ...)", folder, len(skipped), shown)
    if not entries:
        raise DatasetError(f"{folder}: no CSV, TSV, parquet or ARFF files in this folder")
    stray = sorted(set(manifest) - matched)
    if stray:
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        logger.warning("%s: the manifest lists %d name(s) that match no file of the folder (%s); their rows are not used",
                       folder, len(stray), shown)
    unlisted = [e.name for e in entries if manifest and e.name not in manifest]
    if unlisted:
        logger.info("%s: %d datasets are not in the manifest; their task is inferred", folder, len(unlisted))
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DatasetError(f"{folder}: several files give the dataset name(s) {', '.join(duplicates)}; rename them")
    return entries
