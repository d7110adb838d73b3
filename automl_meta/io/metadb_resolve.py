"""Find the meta-database to recommend from, and the meta-model that goes with it.

``--db PATH`` names any database built by ``automl-meta db build``; without it
the shipped one (``automl_meta/meta_db/metadb.sqlite``) is used. For the
shipped database the meta-model is loaded from its shipped LightGBM text
artifacts when they exist for the task; otherwise (a user database, an
excluded dataset, or no shipped artifact) it is trained on the fly from the
database, which takes a second or two for a few hundred datasets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_meta.exceptions import MetaDBError

logger = logging.getLogger(__name__)

SHIPPED_DB = "metadb.sqlite"


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
    if not path.is_file():
        raise MetaDBError(f"{path}: no such meta-database file (build one with `automl-meta db build --db {path}`)")
    return path


def _shipped_model(task: str, metric: str | None):
    """The shipped meta-model for ``task`` (and ``metric`` if given), or None."""
    try:
        from automl_meta.io.metamodel_files import load_shipped_metamodel
    except ImportError:
        return None
    return load_shipped_metamodel(task=task, metric=metric)


def load_selector(
    task: str,
    db: str | Path | None = None,
    metric: str | None = None,
    exclude=(),
    random_state: int = 0,
    prefer_shipped: bool = True,
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
        non-empty ``exclude`` always trains on the fly.
    """
    from automl_meta.metadb import MetaDB

    exclude = tuple(exclude)
    path = resolve_db_path(db)
    with MetaDB.open(path) as store:
        options = mf_options(store.get_meta("protocol") or {})
        if db is None and prefer_shipped and not exclude:
            shipped = _shipped_model(task, metric)
            if shipped is not None:
                model, info = shipped
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
            raise MetaDBError(
                f"the meta-database {path} has no {task} datasets (it covers: {', '.join(tasks) or 'nothing'}); "
                f"build one that covers {task} (`automl-meta db build`) or pass another --db"
            )
        metric = metric or store.default_metric(task)
        maximize = bool(store.maximize(metric))
        meta_X = store.meta_features(task)
        scores = store.scores(metric, task)
    if exclude:
        meta_X = meta_X.drop(index=[d for d in exclude if d in meta_X.index])
        scores = scores.drop(index=[d for d in exclude if d in scores.index])
    common = meta_X.index.intersection(scores.index)
    scores = scores.loc[common].dropna(axis=1, how="all")
    if len(common) == 0 or scores.shape[1] == 0:
        raise MetaDBError(
            f"the meta-database {path} has no {task} datasets with {metric} scores; "
            f"build one that covers {task} (`automl-meta db build`) or pass another --db"
        )
    if len(common) < 3:
        raise MetaDBError(
            f"the meta-database {path} has only {len(common)} {task} dataset(s); at least 3 are needed to learn a ranking"
        )
    from automl_meta.selection import MetaModel

    model = MetaModel(random_state=random_state).fit(meta_X.loc[common], scores, maximize=maximize)
    logger.info("trained the meta-model on %d %s datasets x %d learners from %s", len(common), task, scores.shape[1], path)
    return Selector(
        model=model,
        task=task,
        metric=metric,
        maximize=maximize,
        db_path=path,
        source="meta-model trained on the fly",
        n_datasets=len(common),
        excluded=exclude,
        mf_options=options,
    )


def mf_options(protocol: dict) -> dict:
    """The :func:`extract_metafeatures` options a database's meta-features were computed with."""
    options = {}
    if protocol.get("mf_max_rows") is not None:
        options["max_rows"] = int(protocol["mf_max_rows"])
    if protocol.get("random_state") is not None:
        options["random_state"] = int(protocol["random_state"])
    return options
