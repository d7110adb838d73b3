"""Probes of a meta-database's datasets, read again from their files and kept in a resumable cache.

``automl-meta selector evaluate --probe FOLDER`` scores ``recommend --probe``
under leave-one-dataset-out: each dataset of a database built from a folder
(``db build --source dir:FOLDER``) is read again from ``FOLDER``, checked
against the content hash the build stored, and probed as ``recommend --probe``
probes a new dataset (:func:`automl_meta.probe.probe_scores`, the same rows,
folds, draws, per-fit limit and budget). Each probe is appended to a JSON-lines
file as it finishes, so an interrupted run resumes where it stopped; the file
is named by the probe's settings, and a dataset's entry is keyed by its
content hash, so changed data or settings are probed again.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from automl_meta.exceptions import UsageError
from automl_meta.selection.probe import PROBE_BUDGET, PROBE_CV, PROBE_DRAWS, PROBE_PREFIX, PROBE_ROWS, PROBE_TIMEOUT

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeSettings:
    """How each dataset is probed: those of ``recommend --probe`` unless changed."""

    metric: str | None = None  # None: the task's default (balanced_accuracy, r2)
    rows: int = PROBE_ROWS
    cv: int = PROBE_CV
    draws: int = PROBE_DRAWS
    seed: int = 0
    timeout: float = PROBE_TIMEOUT
    budget: float = PROBE_BUDGET

    def file_name(self) -> str:
        metric = "" if self.metric is None else f"{re.sub(r'[^A-Za-z0-9]+', '-', self.metric)}_"
        return (f"probes_{metric}rows{self.rows}_cv{self.cv}_draws{self.draws}_seed{self.seed}"
                f"_timeout{self.timeout:g}_budget{self.budget:g}.jsonl")


def probe_cache_dir() -> Path:
    """Where probe files are kept: a ``probes`` folder in the meta-feature cache folder."""
    from automl_meta.io.mf_cache import default_cache_dir

    return default_cache_dir() / "probes"


def dataset_files(datasets: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Dataset name -> its file in ``folder``, for the datasets of a folder build; refuses the others by name."""
    if not Path(folder).is_dir():
        what = "a file, not a folder" if Path(folder).exists() else "no such folder"
        raise UsageError(f"--probe {folder}: {what}; give the folder the meta-database was built from (its dir: source)")
    not_files = datasets[~datasets["source"].astype(str).str.startswith("dir:")]
    if len(not_files):
        raise UsageError(f"--probe reads each dataset from its file, but {len(not_files)} datasets come from "
                         f"{', '.join(sorted(set(not_files['source'].astype(str))))}; probe a database built with --source dir:FOLDER")
    files = {row.name: Path(folder) / str(row.source_id) for row in datasets.itertuples()}
    missing = sorted(name for name, path in files.items() if not path.is_file())
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise UsageError(f"--probe {folder}: {len(missing)} of the {len(files)} datasets have no file there ({shown}); "
                         "give the folder the meta-database was built from (its dir: source), with every file it held "
                         "(a probe runs on each dataset the meta-database holds)")
    return files


def _cached(path: Path) -> dict[str, dict] | None:
    """Content hash -> every learner's probe score stored for it, later lines first, and the seconds they took.

    Databases with other learners probe the same data for other learners; each line
    holds those probed then, so a dataset's lines together hold all of them. A line
    cut short by a kill is skipped. None, with a warning, when the file cannot be read.
    """
    records: dict[str, dict] = {}
    try:
        text = path.read_text() if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("cannot read the probe cache %s (%s); probing without it", path, exc)
        return None
    if text:
        for line in text.splitlines():
            try:
                record = json.loads(line)
                known = records.setdefault(record["content_hash"], {"scores": {}, "seconds": 0.0})
                known["scores"].update(record["scores"])
                known["seconds"] += float(record["seconds"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                continue
    return records


def _open_sink(path: Path):
    """``path`` opened to append records on a line of their own, or None (with a warning) where it cannot be written.

    A line cut short by a kill has no newline: the next record would join it and be skipped with it.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torn = False
        if path.exists() and path.stat().st_size > 0:
            with path.open("rb") as handle:
                handle.seek(-1, 2)
                torn = handle.read(1) != b"\n"
        sink = path.open("a")
        if torn:
            sink.write("\n")
        return sink
    except OSError as exc:
        logger.warning("cannot write the probe cache %s (%s); continuing without it", path, exc)
        return None


def probe_table(
    datasets: pd.DataFrame,
    folder: Path,
    learners: list[str],
    settings: ProbeSettings = ProbeSettings(),
    cache_dir: Path | None = None,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """The probe scores of ``datasets`` (rows of ``MetaDB.datasets``: name, task, source, source_id, content_hash).

    Returns a datasets x ``probe:<learner>`` table of raw metric values (NaN where a
    learner failed, was too slow or was not probed) and a summary: datasets probed
    now, taken from the cache, the file, and the probes' seconds. ``progress(1)``
    is called after each dataset.
    """
    from automl_meta.io.tables import load_dataset
    from automl_meta.probe import probe_scores

    files = dataset_files(datasets, folder)
    path = (cache_dir or probe_cache_dir()) / settings.file_name()
    cached = _cached(path)
    table_rows, probed, seconds = {}, 0, []
    sink = None if cached is None else _open_sink(path)  # one that cannot be read is not written to either
    cached = cached or {}
    try:
        for row in datasets.itertuples():
            known = cached.setdefault(str(row.content_hash), {"scores": {}, "seconds": 0.0})
            missing = [name for name in learners if name not in known["scores"]]
            if missing:  # only the learners no earlier probe of these data ran
                start = time.perf_counter()
                data = load_dataset(files[row.name], task=row.task, name=row.name)
                if data.content_hash() != row.content_hash:
                    raise UsageError(f"{files[row.name]}: its data are not those the meta-database stored for {row.name} "
                                     "(the file changed since the build); rebuild the database from this folder, or give the folder it was built from")
                probe = probe_scores(data, missing, rows=settings.rows, cv=settings.cv, metric=settings.metric, timeout=settings.timeout,
                                     n_jobs=n_jobs, random_state=settings.seed, budget=settings.budget, draws=settings.draws)
                record = {"dataset": row.name, "content_hash": row.content_hash, "task": row.task, "rows": probe.rows,
                          "seconds": time.perf_counter() - start,
                          "scores": {name: (None if math.isnan(value) else value) for name, value in probe.scores.items()}}
                if sink is not None:
                    try:
                        sink.write(json.dumps(record) + "\n")
                        sink.flush()
                    except OSError as exc:
                        logger.warning("cannot write the probe cache %s (%s); continuing without it", path, exc)
                        sink.close()
                        sink = None
                known["scores"].update(record["scores"])
                known["seconds"] += record["seconds"]
                probed += 1
            seconds.append(known["seconds"])
            table_rows[row.name] = {PROBE_PREFIX + name: known["scores"][name] for name in learners}
            if progress is not None:
                progress(1)
    finally:
        if sink is not None:
            sink.close()
    table = pd.DataFrame.from_dict(table_rows, orient="index", columns=[PROBE_PREFIX + name for name in learners]).astype(float)
    summary = {**asdict(settings), "folder": str(folder), "file": str(path), "probed": probed, "cached": len(table_rows) - probed,
               "median_seconds": float(pd.Series(seconds).median()) if seconds else None}
    if summary["metric"] is None and len(datasets):  # the task's default, which the probe measured: named, not null
        from automl_meta.learners.metrics import DEFAULT_METRICS

        summary["metric"] = DEFAULT_METRICS.get(str(datasets["task"].iloc[0]))
    return table, summary
