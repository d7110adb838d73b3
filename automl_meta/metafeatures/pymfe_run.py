"""Call pymfe safely: no global RNG side effects, no warnings, no crashes.

* ``MFE(random_state=...)`` seeds NumPy's global generator (and ``attr_conc``
  reseeds it); :func:`preserved_global_rng` restores the caller's state. igraph
  (the ``hubs`` feature) has its own generator, seeded for the call by
  :func:`seeded_igraph`. Since
  pymfe draws from that shared generator, calls are serialised by a lock: two
  threads extracting at once would otherwise reseed each other (processes, as
  in a process pool or Dask workers with one thread, run in parallel).
* pymfe reports a feature it cannot compute as NaN; we turn it into None.
* pymfe skips its ``relative`` group when given ``features=`` (as we give it,
  to leave features out); :func:`_relative_landmarking` runs that step.
* pymfe's info-theory helpers run on NumPy instead of ``pd.crosstab``, and its
  canonical correlations in closed form instead of scikit-learn's iterative CCA
  (:mod:`~automl_meta.metafeatures.pymfe_swaps`): the same values, far faster.
* When a whole pymfe call raises, each group is retried alone, and a group that
  still fails gives None for its features (logged at debug level).
* The set of output names is fixed per (groups, summary) by
  :func:`template_names`, from one run on a tiny reference dataset (or, for
  the default extraction, a table of that run's answer): a run on
  real data that lacks a name reports None for it, and extra names are dropped.
"""

from __future__ import annotations

import logging
import random
import threading
import warnings
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import numpy as np

from automl_meta.metafeatures.groups import FEATURE_ARGS, MAX_PAIRWISE_CLASSES, PAIRWISE_FEATURES, features_for, mfe_class
from automl_meta.metafeatures.known_names import KNOWN_TEMPLATES, PYMFE_VERSION
from automl_meta.metafeatures.preprocess import PreparedData
from automl_meta.metafeatures.pymfe_swaps import fast_pymfe
from automl_meta.numbers import finite_or_none

logger = logging.getLogger(__name__)

N_CV_FOLDS = 10
_PYMFE_LOCK = threading.RLock()


@contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Restore NumPy's and Python's global random states on exit."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


@contextmanager
def seeded_igraph(random_state: int | None, groups: tuple[str, ...]) -> Iterator[None]:
    """Seed igraph's generator for the call, then give igraph back Python's ``random`` (its default).

    The complexity group's ``hubs`` comes from igraph's hub scores, whose ARPACK
    start vector igraph draws from that generator: unseeded, two runs on the same
    data differed in the last digits. Only for that group: importing igraph
    brings matplotlib with it (0.3 s and 30 MB a ``recommend``).
    """
    if random_state is None or "complexity" not in groups:
        yield
        return
    try:
        import igraph
    except ImportError:  # pymfe's other groups do without it
        yield
        return
    igraph.set_random_number_generator(random.Random(random_state))
    try:
        yield
    finally:
        igraph.set_random_number_generator(random)


def _extract(
    data: PreparedData, groups: tuple[str, ...], summary: tuple[str, ...], random_state: int | None, n_folds: int
) -> dict:
    features = features_for(groups)
    classes = len(np.unique(data.y))
    if classes > MAX_PAIRWISE_CLASSES and PAIRWISE_FEATURES.intersection(features):
        left_out = sorted(PAIRWISE_FEATURES.intersection(features))
        logger.warning(
            "%d classes: the complexity features %s compare every pair of classes and are left out (missing) "
            "above %d classes", classes, ", ".join(left_out), MAX_PAIRWISE_CLASSES,
        )
        features = tuple(f for f in features if f not in PAIRWISE_FEATURES)
    mfe = mfe_class()(
        groups=list(groups),
        features=list(features),
        summary=list(summary),
        num_cv_folds=n_folds,
        random_state=random_state,
        suppress_warnings=True,
    )
    mfe.fit(data.X, data.y, cat_cols=list(data.cat_cols), suppress_warnings=True)
    args = {name: kw for name, kw in FEATURE_ARGS.items() if name in features}
    names, values = mfe.extract(suppress_warnings=True, **args)
    if "relative" in groups and "relative" not in mfe.groups:
        names, values = _relative_landmarking(mfe, names, values)
    return {str(n): finite_or_none(v) for n, v in zip(names, values)}


def _relative_landmarking(mfe, names, values) -> tuple[list, list]:
    """``names`` and ``values`` after pymfe's relative post-processing, which ``mfe.extract`` skipped.

    Given ``features=``, pymfe keeps only the groups that own one of them, and
    ``relative`` owns none (it ranks the landmarking features per summary after
    extraction), so ``MFE.extract`` never ran it: ``--groups relative`` gave
    landmarking's names and values. We run the step ``MFE.extract`` runs, with
    the groups pymfe keeps without ``features=``: ``*.relative`` replace the
    landmarking features when landmarking was only added as relative's
    prerequisite, else join them.
    """
    from pymfe import _internal

    names, values = list(names), list(values)
    _internal.post_processing(
        results=(names, values, [0.0] * len(names)),
        groups=tuple(mfe.groups) + ("relative",),
        suppress_warnings=True,
        inserted_group_dep=mfe.inserted_group_dep,
    )
    return names, values


def run_pymfe(
    data: PreparedData,
    groups: tuple[str, ...],
    summary: tuple[str, ...],
    random_state: int | None,
    n_folds: int | None = None,
) -> dict[str, float | None]:
    """pymfe meta-features of ``data`` for ``groups``; failed ones are None or absent.

    ``n_folds`` (landmarking cross-validation) defaults to pymfe's 10, fewer for tiny samples.
    """
    if not groups:
        return {}
    if n_folds is None:
        # StratifiedKFold refuses more folds than the largest class has members
        n_folds = int(min(N_CV_FOLDS, max(2, np.unique(data.y, return_counts=True)[1].max())))
    with (_PYMFE_LOCK, preserved_global_rng(), seeded_igraph(random_state, groups), fast_pymfe(), warnings.catch_warnings(),
          np.errstate(all="ignore")):
        warnings.simplefilter("ignore")
        try:
            return _extract(data, groups, summary, random_state, n_folds)
        except Exception as exc:  # pymfe and the libraries under it raise many types
            if len(groups) == 1:
                logger.debug("pymfe group %s failed on %s rows: %r", groups[0], len(data.y), exc)
                return {}
            logger.debug("pymfe failed on groups %s (%r); retrying one group at a time", groups, exc)
    values: dict[str, float | None] = {}
    for group in groups:
        values.update(run_pymfe(data, (group,), summary, random_state, n_folds))
    return values


def _reference_data() -> PreparedData:
    """24 rows, one numeric and one categorical column, three classes: names only, so tiny."""
    rng = np.random.default_rng(0)
    n = 24
    y = np.repeat(np.array(["a", "b", "c"]), n // 3)
    X = np.column_stack([rng.normal(size=n) + (y == "a"), rng.integers(0, 3, size=n).astype(float)])
    return PreparedData(X=X, y=y, cat_cols=(1,), columns=("n1", "c1"))


def template_names(groups: tuple[str, ...], summary: tuple[str, ...]) -> tuple[str, ...]:
    """The names pymfe produces for ``groups`` and ``summary``.

    From :data:`~automl_meta.metafeatures.known_names.KNOWN_TEMPLATES` when it
    has them for the installed pymfe, or has them for more groups with the same
    summary (the names of these groups' features, as when the work is split
    between two processes), else from :func:`reference_names`.
    """
    import pymfe

    if pymfe.__version__ == PYMFE_VERSION:
        if (groups, summary) in KNOWN_TEMPLATES:
            return KNOWN_TEMPLATES[groups, summary]
        for (known_groups, known_summary), names in KNOWN_TEMPLATES.items():
            if known_summary == summary and set(groups) <= set(known_groups):
                wanted = set(features_for(groups))
                return tuple(n for n in names if n.split(".")[0] in wanted)
    return reference_names(groups, summary)


@lru_cache(maxsize=64)
def reference_names(groups: tuple[str, ...], summary: tuple[str, ...]) -> tuple[str, ...]:
    """The names pymfe produces for ``groups`` and ``summary`` on a tiny reference dataset."""
    # run_pymfe retries group by group when the joint call fails, so a failing
    # group does not hide the names of the others; 2 folds: names do not depend on it
    return tuple(sorted(run_pymfe(_reference_data(), groups, summary, random_state=0, n_folds=2)))
