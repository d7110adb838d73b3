"""A file cache of meta-feature vectors, keyed by the data's content hash.

One JSON file per (data, options): the key hashes ``dataset.content_hash()``,
the extraction options, :data:`~automl_meta.metafeatures.EXTRACTOR_VERSION` and
the pymfe version, so a changed file, option or extractor never hits a stale
entry. The folder is ``cache_dir``, else ``$AUTOML_META_CACHE_DIR``, else
``<user cache dir>/automl-meta/metafeatures`` (platformdirs). Writes are atomic
(temporary file, then rename); an unreadable entry is recomputed and replaced.
Calls with ``random_state=None`` are not reproducible and are never cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import time
from pathlib import Path

from automl_meta.dataset import Dataset
from automl_meta.io.atomic import expanded, write_text_atomic
from automl_meta.numbers import content_checksum

logger = logging.getLogger(__name__)

ENV_VAR = "AUTOML_META_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$AUTOML_META_CACHE_DIR``, else the user cache directory's ``automl-meta/metafeatures``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return expanded(env, f"{ENV_VAR}=")
    import platformdirs

    return Path(platformdirs.user_cache_dir("automl-meta", appauthor=False)) / "metafeatures"


def cache_key(dataset: Dataset, **kwargs) -> str:
    """The cache entry name for ``dataset`` and the :func:`extract_metafeatures` options."""
    from automl_meta.metafeatures import EXTRACTOR_VERSION
    from automl_meta.versions import installed_version
    from automl_meta.metafeatures.groups import resolve_groups, resolve_summary

    from automl_meta.metafeatures import extract_metafeatures

    # every option with its default filled in, so equivalent calls share an entry
    bound = inspect.signature(extract_metafeatures).bind(dataset, **kwargs)
    bound.apply_defaults()
    options = {k: v for k, v in bound.arguments.items() if k != "dataset"}
    options["groups"] = list(resolve_groups(options["groups"]))
    options["summary"] = list(resolve_summary(options["summary"]))
    payload = {
        "data": dataset.content_hash(),
        "options": options,
        "extractor": EXTRACTOR_VERSION,
        "pymfe": installed_version("pymfe"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


CHECKSUM_KEY = "entry_sha256"  # of the entry's own content: an entry cut to some of its values was a hit


def _read(path: Path):
    from automl_meta.metafeatures import MetaFeatures

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if CHECKSUM_KEY in data and data[CHECKSUM_KEY] != content_checksum(data, CHECKSUM_KEY):  # entries before it have none
            raise ValueError("its checksum differs from its content")
        return MetaFeatures.from_dict(data, cached=True, seconds=0.0)
    except (FileNotFoundError, NotADirectoryError):  # no entry, or no cache folder (a file where it would be): a miss
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:  # AttributeError: "values" not a mapping
        logger.warning("ignoring unreadable meta-feature cache entry %s (%s); recomputing", path.name, exc)
        if path.is_file():  # the recomputed values replace it anyway; removed, a second lookup (recommend's child) is a plain miss
            try:
                path.unlink()
            except OSError:
                pass
        return None


def cache_lookup(dataset: Dataset, cache_dir: str | Path | None = None, **kwargs):
    """The cached :class:`~automl_meta.metafeatures.MetaFeatures` of ``dataset`` for these options, or None.

    ``seconds`` is the time of the lookup; nothing is extracted (so pymfe is not imported).
    """
    start = time.perf_counter()
    if not _cacheable(kwargs):
        return None
    return _lookup(_entry(dataset, cache_dir, **kwargs), start)


def _cacheable(options: dict) -> bool:
    """Unseeded extractions (``random_state=None``) are not reproducible, so never cached."""
    return options.get("random_state", 0) is not None


def _lookup(path: Path, start: float):
    hit = _read(path)
    return None if hit is None else dataclasses.replace(hit, seconds=time.perf_counter() - start)


def _entry(dataset: Dataset, cache_dir: str | Path | None, **kwargs) -> Path:
    folder = expanded(cache_dir, "cache folder ") if cache_dir is not None else default_cache_dir()
    return folder / f"{cache_key(dataset, **kwargs)}.json"


def cached_metafeatures(dataset: Dataset, cache_dir: str | Path | None = None, **kwargs):
    """:func:`~automl_meta.metafeatures.extract_metafeatures`, read from or written to the cache.

    Takes the same keyword arguments. A hit returns the stored values with
    ``cached=True`` and ``seconds`` the time of the lookup. A cache folder that
    cannot be written is logged and skipped (the values are still returned).
    """
    from automl_meta.metafeatures import extract_metafeatures

    start = time.perf_counter()
    if not _cacheable(kwargs):
        return extract_metafeatures(dataset, **kwargs)
    path = _entry(dataset, cache_dir, **kwargs)
    hit = _lookup(path, start)
    if hit is not None:
        return hit
    result = extract_metafeatures(dataset, **kwargs)
    _write(path, result)
    return result


def cache_store(dataset: Dataset, metafeatures, cache_dir: str | Path | None = None, **kwargs) -> None:
    """Store ``metafeatures``, extracted from ``dataset`` with these options, as :func:`cached_metafeatures` would."""
    if _cacheable(kwargs):
        _write(_entry(dataset, cache_dir, **kwargs), metafeatures)


def _write(path: Path, metafeatures) -> None:
    try:
        entry = metafeatures.to_dict()
        write_text_atomic(path, json.dumps({**entry, CHECKSUM_KEY: content_checksum(entry, CHECKSUM_KEY)}, allow_nan=False))
    except OSError as exc:
        logger.warning("cannot write the meta-feature cache in %s (%s); continuing without it", path.parent, exc)
