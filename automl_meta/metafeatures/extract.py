"""Meta-features of a dataset: simple exact counts plus pymfe groups on a sample.

How a :class:`MetaFeatures` vector is made (deterministic for an integer
``random_state``):

1. :func:`~automl_meta.metafeatures.target_stats.simple_features` on the full
   data: counts, missingness, class balance or target shape. They replace
   pymfe's ``general`` counts, so ``nr_inst`` etc. describe the whole dataset.
2. The rows sorted by a hash of their values and the columns by name
   (:func:`~automl_meta.metafeatures.preprocess.in_canonical_order`), so that
   the same table in another row or column order gets the same values.
   A stratified sample of at most ``max_rows`` rows and ``max_cols`` encoded columns,
   imputed and encoded (:mod:`~automl_meta.metafeatures.preprocess`), goes to
   pymfe for the cheap groups; the O(n^2) groups (clustering, complexity,
   concept) get a further stratified sample of at most ``max_rows_costly`` rows.
3. Regression: pymfe has no regression mode (a float target becomes thousands
   of classes). We give it the target's quantile bin (5 bins) as the class, so
   supervised features (landmarking, model-based, info-theory's ``mut_inf``,
   ...) describe how well the features predict the target's rough level.
   A point mass at the target's minimum (the zeros of a zero-inflated amount)
   is a bin of its own, else it would share the lowest bin with the values
   above it, and be the only bin when it holds 80% of the rows or more.
   Features that would only describe the binning itself (``freq_class``,
   ``class_ent``) are None for regression; ``nr_class`` is 0.
4. The names are fixed for a (groups, summary) pair: always the simple
   features plus every name pymfe produces for those groups; what could not be
   computed is None.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from automl_meta.dataset import Dataset
from automl_meta.exceptions import UsageError
from automl_meta.metafeatures.groups import resolve_groups, resolve_summary, split_groups
from automl_meta.metafeatures.preprocess import in_canonical_order, prepare, sample_columns, stratified_rows, target_strata
from automl_meta.metafeatures.pymfe_run import run_pymfe, template_names
from automl_meta.metafeatures.target_stats import SIMPLE_FEATURES, simple_features
from automl_meta.numbers import check_seed

logger = logging.getLogger(__name__)

# 8: sd_ratio null where attributes depend exactly on each other (a categorical's one-hot columns: it came and went
#    with the seed), target_cv kept for targets far below 1 (its guard against a zero mean was absolute);
# 7: rows sorted by a hash of their values and columns by name first, so that the samples and pymfe's
#    landmarking folds no longer follow the file's order (a shuffled copy of a table got other landmarkers);
# 6: sd_ratio without pymfe 0.4.4's flip of the class covariances (it was wrong or missing);
# 5: a point mass at a regression target's minimum is a stratum of its own (zero-inflated targets were one
#    class), the relative group gives pymfe's *.relative ranks (it gave landmarking's values);
# 4: fewer rows per class past 200 classes, no pairwise complexity past 30; 3: closed-form can_cor
EXTRACTOR_VERSION = "8"
MAX_ROWS = 2000
MAX_COLS = 64
MAX_ROWS_COSTLY = 1000
BINNING_ONLY_FEATURES = ("freq_class", "class_ent")  # None for regression (see module doc)


@dataclass(frozen=True)
class MetaFeatures:
    """A meta-feature vector and how it was made.

    ``values`` maps each name to a float or None (not computable); ``seconds``
    is the time this call took (a cache hit is near 0 and has ``cached``);
    ``n_rows_used`` is the size of the sample pymfe saw.
    """

    values: dict[str, float | None]
    seconds: float
    n_rows_used: int
    groups: tuple[str, ...]
    cached: bool = False
    n_cols_used: int = 0
    summary: tuple[str, ...] = field(default=("mean", "sd"))

    def to_dict(self) -> dict:
        """Plain JSON types (see :meth:`from_dict`)."""
        return {
            "values": dict(self.values),
            "seconds": self.seconds,
            "n_rows_used": self.n_rows_used,
            "n_cols_used": self.n_cols_used,
            "groups": list(self.groups),
            "summary": list(self.summary),
        }

    @classmethod
    def from_dict(cls, data: dict, cached: bool = False, seconds: float | None = None) -> MetaFeatures:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            values={str(k): (None if v is None else float(v)) for k, v in data["values"].items()},
            seconds=float(data["seconds"] if seconds is None else seconds),
            n_rows_used=int(data["n_rows_used"]),
            groups=tuple(data["groups"]),
            cached=cached,
            n_cols_used=int(data.get("n_cols_used", 0)),
            summary=tuple(data.get("summary", ("mean", "sd"))),
        )


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def extract_metafeatures(
    dataset: Dataset,
    groups: str | tuple[str, ...] | list[str] | None = None,
    summary: str | tuple[str, ...] | list[str] | None = ("mean", "sd"),
    random_state: int | None = 0,
    max_rows: int = MAX_ROWS,
    max_cols: int = MAX_COLS,
    max_rows_costly: int = MAX_ROWS_COSTLY,
) -> MetaFeatures:
    """Meta-features of ``dataset`` (see the module docstring for the method).

    Parameters
    ----------
    dataset : Dataset
        From :func:`automl_meta.io.load_dataset` or :func:`automl_meta.dataset.make_dataset`.
    groups : str or sequence of str, optional
        pymfe groups; None or ``"default"``: :data:`DEFAULT_GROUPS`; ``"all"``: every group.
    summary : sequence of str
        pymfe summary functions for multi-valued features.
    random_state : int or None
        Seed for the row and column samples and for pymfe. Global random
        states are left unchanged.
    max_rows, max_cols, max_rows_costly : int
        Sample sizes (see module doc).

    Returns
    -------
    MetaFeatures
    """
    start = time.perf_counter()
    groups = resolve_groups(groups)
    summary = resolve_summary(summary)
    max_rows = _check_int("max_rows", max_rows, 10)
    max_cols = _check_int("max_cols", max_cols, 1)
    max_rows_costly = _check_int("max_rows_costly", max_rows_costly, 10)
    random_state = check_seed(random_state)

    dataset = in_canonical_order(dataset)  # before the target's moments too: their sums follow the row order
    simple = simple_features(dataset)
    rng = np.random.default_rng(random_state)
    strata = target_strata(dataset)
    rows = stratified_rows(strata, max_rows, rng)
    columns = sample_columns(dataset, max_cols, rng)
    cheap, costly = split_groups(groups)
    computed = run_pymfe(prepare(dataset, rows, columns, strata), cheap, summary, random_state)
    if costly:
        small = rows[stratified_rows(strata[rows], max_rows_costly, rng)]
        computed.update(run_pymfe(prepare(dataset, small, columns, strata), costly, summary, random_state))

    names = template_names(groups, summary)
    extra = set(computed) - set(names)
    if extra:
        logger.debug("dropping pymfe outputs not in the template: %s", sorted(extra))
    values: dict[str, float | None] = dict(simple)
    for name in names:
        if name not in values:
            values[name] = computed.get(name)
    if dataset.task == "regression":
        for name in names:
            if name.split(".")[0] in BINNING_ONLY_FEATURES:
                values[name] = None
    missing = [n for n in names if values[n] is None and n not in SIMPLE_FEATURES]
    if missing:
        logger.debug("%d meta-features could not be computed on %s: %s", len(missing), dataset.name, missing)
    return MetaFeatures(
        values=values,
        seconds=time.perf_counter() - start,
        n_rows_used=len(rows),
        groups=groups,
        n_cols_used=len(columns),
        summary=summary,
    )
