"""Find the meta-database to recommend from, and the meta-model that goes with it.

``--db PATH`` names any database built by ``automl-meta db build``; without it
the shipped one (``automl_meta/meta_db/metadb.sqlite``) is used. For the
shipped database the meta-model is loaded from its shipped LightGBM text
artifacts when they exist for the task; otherwise (a user database, an
excluded dataset, or no shipped artifact) it is trained on the fly from the
database (a few seconds for a hundred datasets) and kept in the user's cache
folder, so the next call with the same database file loads it in milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_meta.exceptions import AutomlMetaError, MetaDBContentError, MetaDBError, MetaDBPathError
from automl_meta.io.atomic import expanded

logger = logging.getLogger(__name__)

SHIPPED_DB = "metadb.sqlite"
CACHE_ENV = "AUTOML_META_CACHE_DIR"


@dataclass(frozen=True)
class Selector:
    """A fitted meta-model and where it came from."""

    model: Any
    task: str
    metric: str
    maximize: bool
    db_path: Path
    source: str  # "shipped meta-model" or "meta-model trained on the fly"
    n_datasets: int | None = None
    excluded: tuple[str, ...] = field(default_factory=tuple)
    mf_options: dict = field(default_factory=dict)  # extract_metafeatures options the database used


def shipped_db_path() -> Path:
    from automl_meta.meta_db import shipped_path

    return shipped_path(SHIPPED_DB)


def resolve_db_path(db: str | Path | None = None) -> Path:
    """``db`` if given, else the shipped meta-database; a clear error when the file is absent."""
    if db is None:
        path = shipped_db_path()
        if not path.is_file():
            raise MetaDBError(
                "no shipped meta-database in this installation; pass --db PATH "
                "(build one with `automl-meta db build --source dir:FOLDER --db PATH`)"
            )
        return path
    path = Path(db)
    if path.is_dir():
        raise MetaDBPathError(f"{path}: a folder, not a meta-database file; give the .sqlite file (`automl-meta db build --db FILE` makes one)")
    if not path.is_file():
        raise MetaDBPathError(f"{path}: no such meta-database file (build one with `automl-meta db build --db {path}`)")
    return path


def _shipped_model(task: str, metric: str | None):
    """``(model, info)`` of the shipped meta-model for ``task`` (and ``metric`` if given), or None; see
    :func:`~automl_meta.io.metamodel_files.load_shipped_metamodel`."""
    from automl_meta.io.metamodel_files import load_shipped_metamodel

    return load_shipped_metamodel(task=task, metric=metric)


def _matches(shipped: tuple, db_path: Path) -> bool:
    """Whether a shipped ``(model, info)`` was trained the current way (the loader gives no model
    otherwise) and on this database (its recorded checksum, if any)."""
    model, info = shipped
    if model is None:
        return False
    recorded = info.get("db_sha256")
    if not recorded:
        return True
    return hashlib.sha256(db_path.read_bytes()).hexdigest() == recorded


def check_ranking_datasets(path, task: str, n: int) -> None:
    """Refuse to learn a ranking of ``task`` from fewer than ``MIN_RANKING_DATASETS`` datasets with scores."""
    from automl_meta.selection.metamodel import MIN_RANKING_DATASETS

    if n < MIN_RANKING_DATASETS:
        raise MetaDBContentError(
            f"the meta-database {path} has only {n} {task} dataset(s) with meta-features and scores; "
            f"at least {MIN_RANKING_DATASETS} are needed to learn a ranking (add datasets with `automl-meta db build`)"
        )


def model_cache_dir() -> Path:
    """``$AUTOML_META_CACHE_DIR/metamodels``, else the user cache directory's ``automl-meta/metamodels``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return expanded(env, f"{CACHE_ENV}=") / "metamodels"
    import platformdirs

    return Path(platformdirs.user_cache_dir("automl-meta", appauthor=False)) / "metamodels"


def _cache_key(meta_X, scores, maximize: bool, task: str, metric: str, random_state: int) -> str:
    """Changes whenever what the meta-model learns from (meta-features, scores), the options, automl-meta, LightGBM or the
    training change.

    Keyed on the training data themselves, not on the database file's size and
    time stamp: an edited database that kept both (whole pages, a restored
    time) would otherwise be answered with the model of its former content.
    """
    import pandas as pd

    from automl_meta import __version__
    from automl_meta.selection import MetaModel
    from automl_meta.selection.metamodel import TRAINING_VERSION

    data = hashlib.sha256()
    for frame in (meta_X, scores):
        data.update(json.dumps([list(map(str, frame.index)), list(map(str, frame.columns))]).encode())
        data.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    payload = {
        "data": data.hexdigest(),
        "maximize": bool(maximize),
        "task": task,
        "metric": metric,
        "random_state": random_state,
        "params": {k: repr(v) for k, v in MetaModel(random_state=random_state).get_params().items()},
        "automl_meta": __version__,
        "training": TRAINING_VERSION,
        "lightgbm": _lightgbm_version(),  # another LightGBM may grow other trees: an upgrade retrains
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _lightgbm_version() -> str | None:
    from automl_meta.versions import installed_version

    return installed_version("lightgbm")


def _train(meta_X, scores, maximize: bool, random_state: int, cache_key: str | None, on_training=None):
    """Fit a MetaModel, or load the one trained earlier for the same database and options."""
    from automl_meta.io.metamodel_files import load_metamodel, save_metamodel
    from automl_meta.selection import MetaModel

    folder = model_cache_dir()
    if cache_key is not None and (folder / f"{cache_key}.json").is_file():
        try:
            model = load_metamodel(folder, cache_key)
        except AutomlMetaError as exc:
            logger.warning("ignoring unreadable cached meta-model %s (%s); retraining", cache_key, exc)
        else:
            with contextlib.suppress(OSError):
                os.utime(folder / f"{cache_key}.json")  # used now: the last to be pruned
            return model, True
    if on_training is not None:
        on_training(len(meta_X))
    model = MetaModel(random_state=random_state).fit(meta_X, scores, maximize=maximize)
    if cache_key is not None:
        try:
            save_metamodel(model, folder, cache_key)
            _prune_cache(folder)
        except OSError as exc:
            logger.warning("cannot cache the meta-model in %s (%s); continuing without it: the next call trains it again", folder, exc)
    return model, False


CACHED_METAMODELS = 16  # meta-models trained on the fly kept, the most recently used (each database version adds one)


def _prune_cache(folder: Path, keep: int = CACHED_METAMODELS) -> None:
    """Remove all but the ``keep`` most recently used cached meta-models: the cache grew by one a database version."""
    manifests = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in manifests[keep:]:
        for path in (old, old.with_name(f"{old.stem}.lgb.txt")):
            path.unlink(missing_ok=True)


def selection_data(store, task: str, metric: str):
    """``(meta_X, scores)`` of ``task`` in ``store`` as selectors learn from and are judged on.

    A metric in the targets' own units (rmse, mae) is refused. A dataset stored twice
    under two names (a renamed or copied file) counts once
    (:meth:`~automl_meta.metadb.store.MetaDB.duplicates`). Where a learner was never
    run on some datasets (no result stored, not even a failure: added after their files
    were gone), selectors would count it as failed there, the dataset's worst; instead
    those learners, or those datasets, are left out, whichever keeps more scores.
    Both are warned of, and so are meta-features or scores this version would compute
    otherwise (:func:`~automl_meta.metadb.staleness.stale_data_warnings`).
    """
    from automl_meta.exceptions import UsageError
    from automl_meta.learners.metrics import TARGET_UNIT_METRICS
    from automl_meta.metadb.staleness import stale_data_warnings
    from automl_meta.metadb.task_learners import shown_names

    if metric in TARGET_UNIT_METRICS:
        raise UsageError(f"{metric} is in each dataset's own target units, so selectors cannot pool it across datasets (the few "
                         "largest targets would decide every ranking and every regret); select by r2, which has no units (--metric r2)")
    meta_X = store.meta_features(task)
    scores = store.scores(metric, task)
    twins = {name: kept for name, kept in store.duplicates(task).items() if name in scores.index or name in meta_X.index}
    if twins:
        logger.warning("%s: the same data as %s (renamed or copied files stored again); selectors learn from the latter only",
                       shown_names(sorted(twins)), shown_names(sorted(set(twins.values()))))
        meta_X = meta_X.drop(index=[n for n in twins if n in meta_X.index])
        scores = scores.drop(index=[n for n in twins if n in scores.index])
    unrun = {learner: [n for n in names if n in scores.index] for learner, names in store.unrun_pairs(task).items()}
    # of learners and datasets with some result: one never evaluated at all is no column or row of scores
    unrun = {learner: names for learner, names in unrun.items() if names and learner in scores.columns}
    if unrun:
        datasets = sorted({n for names in unrun.values() for n in names})
        # the results (failures included) each way loses: those of the learners, or those on the datasets
        learners_results = sum(len(scores) - len(names) for names in unrun.values())
        datasets_results = sum(scores.shape[1] - sum(d in names for names in unrun.values()) for d in datasets)
        how = "; run `automl-meta db build` again with their files and learners to fill them"
        if learners_results <= datasets_results:
            for learner, names in unrun.items():
                logger.warning("%s was never run on %d of the %d %s datasets (%s): left out of the selectors%s",
                               learner, len(names), len(scores), task, shown_names(names, 5), how)
            scores = scores.drop(columns=list(unrun))
        else:
            logger.warning("%s: left out of the selectors, as %s never ran on %s%s", shown_names(datasets, 5),
                           shown_names(sorted(unrun)), "it" if len(datasets) == 1 else "them", how)
            scores = scores.drop(index=datasets)
            meta_X = meta_X.drop(index=[n for n in datasets if n in meta_X.index])
    for line in stale_data_warnings(store, task, scores.index, scores.columns):
        logger.warning("%s", line)
    return meta_X, scores


def load_selector(
    task: str,
    db: str | Path | None = None,
    metric: str | None = None,
    exclude=(),
    random_state: int = 0,
    prefer_shipped: bool = True,
    cache: bool = True,
    on_training=None,
) -> Selector:
    """A fitted meta-model for ``task``: shipped when possible, else trained from the database.

    Parameters
    ----------
    task : str
        ``classification`` or ``regression``: only datasets of this task train it.
    db : path, optional
        A meta-database; default: the shipped one.
    metric : str, optional
        Score to rank by; default: the database's default metric for the task.
    exclude : iterable of str
        Dataset names to leave out of training (leave-one-out benchmarks); a
        non-empty ``exclude`` always trains on the fly and is never cached.
    on_training : callable, optional
        Called with the number of training datasets just before a meta-model is trained
        (not when the shipped or a cached one serves): a cold call on a large database
        trains for seconds to minutes.
    cache : bool
        Keep a meta-model trained on the fly as LightGBM text + JSON in
        :func:`model_cache_dir`, keyed by the data it learns from and the options
        (:func:`_cache_key`), and reuse it on the next call; the
        :data:`CACHED_METAMODELS` most recently used are kept.
    """
    from automl_meta.metadb import MetaDB
    from automl_meta.metadb.staleness import pymfe_warnings, unknown_learners

    exclude = tuple(exclude)
    path = resolve_db_path(db)
    with MetaDB.open(path) as store:
        options = mf_options(store.get_meta("protocol") or {})
        if db is None and prefer_shipped and not exclude:
            shipped = _shipped_model(task, metric)
            if shipped is not None and not _matches(shipped, path):
                logger.warning(
                    "the shipped %s meta-model was trained on another version of %s or by an older automl-meta; "
                    "training one on the fly",
                    task, path.name,
                )
                shipped = None
            if shipped is not None:
                model, info = shipped
                # it matches this database and automl-meta (_matches): only the installed pymfe can differ
                for line in pymfe_warnings(store, task):
                    logger.warning("%s", line)
                return Selector(
                    model=model,
                    task=task,
                    metric=info["metric"],
                    maximize=bool(info.get("maximize", True)),
                    db_path=path,
                    source="shipped meta-model",
                    n_datasets=info.get("n_datasets"),
                    mf_options=options,
                )
        tasks = store.datasets()["task"].unique().tolist()
        if task not in tasks:
            raise MetaDBContentError(
                f"the meta-database {path} has no {task} datasets (it covers: {', '.join(tasks) or 'nothing'}); "
                f"build one that covers {task} (`automl-meta db build`) or pass another --db"
            )
        metric = metric or store.default_metric(task)
        maximize = bool(store.maximize(metric))
        meta_X, scores = selection_data(store, task, metric)
    cannot_run = unknown_learners(task, scores.columns)
    if cannot_run:
        logger.warning("the meta-database's %s learner(s) %s are not in this automl-meta (a database written by another "
                       "version): left out of the ranking, as they cannot be run; to rank them, use the automl-meta that "
                       "wrote the database", task, ", ".join(cannot_run))
        scores = scores.drop(columns=cannot_run)
        if scores.shape[1] == 0:
            raise MetaDBContentError(f"none of the meta-database {path}'s {task} learners is in this automl-meta (it was "
                                     "written by another version); use the automl-meta that wrote it, or build one with this")
    if exclude:
        meta_X = meta_X.drop(index=[d for d in exclude if d in meta_X.index])
        scores = scores.drop(index=[d for d in exclude if d in scores.index])
    common = meta_X.index.intersection(scores.index)
    scores = scores.loc[common].dropna(axis=1, how="all")
    if len(common) == 0 or scores.shape[1] == 0:
        raise MetaDBContentError(
            f"the meta-database {path} has no {task} datasets with {metric} scores; "
            f"build one that covers {task} (`automl-meta db build`) or pass another --db"
        )
    check_ranking_datasets(path, task, len(common))
    meta_X = meta_X.loc[common]
    key = _cache_key(meta_X, scores, maximize, task, metric, random_state) if cache and not exclude else None
    model, cached = _train(meta_X, scores, maximize, random_state, key, on_training)
    logger.info("%s the meta-model of %d %s datasets x %d learners from %s",
                "loaded (cache)" if cached else "trained", len(common), task, scores.shape[1], path)
    return Selector(
        model=model,
        task=task,
        metric=metric,
        maximize=maximize,
        db_path=path,
        source="meta-model trained on the fly" + (" (cached)" if cached else ""),
        n_datasets=len(common),
        excluded=exclude,
        mf_options=options,
    )


def stored_scores(db_path: Path, dataset, metric: str, metafeatures: Mapping[str, float] | None = None
                  ) -> tuple[str, dict[str, float], dict[str, str]] | None:
    """``(name, {learner: mean score}, {learner: stored status})`` when the meta-database holds these very data, else None.

    The status is the stored evaluation's (``ok``, ``failed``, ``timeout``); a learner the
    database never evaluated on these data has none.

    Matched by content hash and task, so a renamed copy is found and a changed file is not.
    The hash follows the file's row and column order. Given ``metafeatures`` (extracted with
    the database's options), the match is by them instead, for a copy in another order: the
    stored dataset of the same task and shape whose every meta-feature is the same. They do
    not depend on the order (extractor version 7), and a table that differs in one value
    changes some. Callers try the hash first, while the meta-features are still extracted.
    """
    from automl_meta.metadb import MetaDB

    with MetaDB.open(db_path) as store:
        if metafeatures is None:
            name = store.find_by_content(dataset.task, dataset.content_hash())
        else:
            name = _same_metafeatures(store, dataset, metafeatures)
        if name is None:
            if metafeatures is None:  # the first of the two tries: said once
                _other_task_hint(store, dataset)
            return None
        scores = store.scores(metric, dataset.task)
        statuses = store.evaluation_statuses(name, dataset.task)
    if name not in scores.index:  # held, but every learner failed on it
        return name, {}, statuses
    return name, {str(learner): float(value) for learner, value in scores.loc[name].dropna().items()}, statuses


def _other_task_hint(store, dataset) -> None:
    """Say so where the meta-database holds a dataset of this name and shape under the other task: the
    task inferred here (integer codes read as classes) may not be the one its data were stored as."""
    others = store.datasets()
    others = others[(others["name"] == dataset.name) & (others["task"] != dataset.task)
                    & (others["n_rows"] == dataset.n_rows) & (others["n_features"] == dataset.n_features)]
    if not others.empty:
        task = others["task"].iloc[0]
        logger.warning("the meta-database holds a dataset %r of this shape as %s, not %s: if these are its data, pass --task %s "
                       "(task=%r in Python) to compare with its stored scores", dataset.name, task, dataset.task, task, task)


MIN_FINGERPRINT = 20  # meta-features two tables must share, all equal, to be taken as the same data


def _same_metafeatures(store, dataset, metafeatures: Mapping[str, float]) -> str | None:
    """The stored dataset of ``dataset``'s task and shape whose every stored meta-feature equals ``metafeatures``, or None."""
    import numpy as np
    import pandas as pd

    shapes = store.datasets(dataset.task)
    shapes = shapes[(shapes["n_rows"] == dataset.n_rows) & (shapes["n_features"] == dataset.n_features)]
    if shapes.empty:
        return None
    stored = store.meta_features(dataset.task).reindex(index=sorted(shapes["name"]))
    query = pd.Series(metafeatures, dtype=float).reindex(stored.columns)
    for name, row in stored.iterrows():
        known = row.notna() | query.notna()
        if known.sum() >= MIN_FINGERPRINT and np.allclose(row[known], query[known], rtol=1e-9, atol=1e-12, equal_nan=False):
            return str(name)
    return None


def db_mf_options(db: str | Path | None = None) -> dict:
    """The :func:`extract_metafeatures` options of a meta-database (default: the shipped one)."""
    from automl_meta.metadb import MetaDB

    with MetaDB.open(resolve_db_path(db)) as store:
        return mf_options(store.get_meta("protocol") or {})


def mf_options(protocol: dict) -> dict:
    """The :func:`extract_metafeatures` options a database's meta-features were computed with."""
    options = {}
    if protocol.get("mf_groups"):  # db build --mf-groups; absent: the extractor's default groups
        options["groups"] = tuple(protocol["mf_groups"])
    if protocol.get("mf_max_rows") is not None:
        options["max_rows"] = int(protocol["mf_max_rows"])
    if protocol.get("random_state") is not None:
        options["random_state"] = int(protocol["random_state"])
    return options
