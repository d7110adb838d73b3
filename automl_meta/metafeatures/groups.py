"""Which pymfe groups and features we compute, and what they cost.

pymfe is imported lazily (inside functions): importing this module is cheap.

Choices, each measured on the 2-core development machine (see
``benchmarks/metafeatures_speed.py``):

* ``DEFAULT_GROUPS`` are pymfe's own defaults.
* ``COSTLY_GROUPS`` (clustering, complexity, concept) need pairwise distances,
  O(n^2) time and memory (pymfe used 20 GB at 50k rows); they run on a
  smaller stratified subsample of at most ``max_rows_costly`` rows.
* ``EXCLUDED_FEATURES`` are features we never ask pymfe for, with the reason;
  ``PAIRWISE_FEATURES`` those left out for more than ``MAX_PAIRWISE_CLASSES``
  classes, as their cost grows with the square of the classes.
* ``FEATURE_ARGS`` are per-feature arguments passed to ``MFE.extract``
  (none needed now: ``attr_conc``, 1.1 s with pandas crosstabs, takes 30 ms
  with :mod:`~automl_meta.metafeatures.pymfe_swaps`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

from automl_meta.exceptions import UsageError

DEFAULT_GROUPS: tuple[str, ...] = ("general", "statistical", "info-theory", "model-based", "landmarking")
COSTLY_GROUPS: frozenset[str] = frozenset({"clustering", "complexity", "concept"})
DEFAULT_SUMMARY: tuple[str, ...] = ("mean", "sd")

# pymfe 0.4.4's groups and summaries, so that checking a selection (and a cache
# hit) does not import pymfe, which takes seconds; available_groups() asks pymfe.
KNOWN_GROUPS: tuple[str, ...] = DEFAULT_GROUPS + ("relative", "clustering", "complexity", "concept", "itemset")
KNOWN_SUMMARIES: tuple[str, ...] = tuple(
    prefix + name
    for name in (
        "mean", "sd", "var", "count", "histogram", "iq_range", "kurtosis", "max", "median",
        "min", "quantiles", "range", "skewness", "sum", "powersum", "pnorm",
    )
    for prefix in ("", "nan")
)


@dataclass(frozen=True)
class Exclusion:
    """A pymfe feature we do not compute, and why."""

    group: str
    reason: str


EXCLUDED_FEATURES: dict[str, Exclusion] = {
    "f1v": Exclusion("complexity", "raises inside pymfe 0.4.4 with numpy >= 2.4 (ragged array construction)"),
}

# complexity features computed for every pair of classes (one against one): their cost grows with the
# square of the classes (l1-l3 fit a linear SVM per pair: 19 s of 20 s with 60 classes on 1,000 rows,
# 53 s for the group with 100 classes, hours with a thousand); left out (missing) above MAX_PAIRWISE_CLASSES
PAIRWISE_FEATURES: frozenset[str] = frozenset({"f2", "f3", "f4", "l1", "l2", "l3"})
MAX_PAIRWISE_CLASSES = 30

FEATURE_ARGS: dict[str, dict] = {}


def mfe_class():
    """pymfe's ``MFE`` class, imported without matplotlib.

    pymfe imports python-igraph (for its complexity group) and igraph imports
    ``matplotlib.pyplot`` for plotting when it can: 0.3 s of pymfe's 0.55 s
    import, paid by every cold ``recommend``. Extraction never plots, so while
    pymfe is first imported matplotlib is hidden (igraph then keeps its own
    stand-in for the drawing helpers) and made importable again right after.
    A process that already imported matplotlib or pymfe is left as it is.
    """
    if "pymfe.mfe" not in sys.modules and "matplotlib" not in sys.modules:
        sys.modules["matplotlib"] = None  # makes `import matplotlib` raise ImportError
        try:
            import pymfe.mfe  # noqa: F401
        finally:
            if "matplotlib" in sys.modules and sys.modules["matplotlib"] is None:
                del sys.modules["matplotlib"]
    from pymfe.mfe import MFE

    return MFE


def available_groups() -> tuple[str, ...]:
    """Every meta-feature group pymfe offers (``MFE.valid_groups()``)."""
    return tuple(mfe_class().valid_groups())


def available_summaries() -> tuple[str, ...]:
    """Every summary function pymfe offers (``MFE.valid_summary()``)."""
    return tuple(mfe_class().valid_summary())


def resolve_groups(groups: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """Normalise a group selection to a tuple of pymfe group names.

    ``None`` or ``"default"`` gives :data:`DEFAULT_GROUPS`; ``"all"`` gives
    every group; a comma-separated string or a sequence is checked name by name
    (``info_theory`` and ``info-theory`` both work). The order is pymfe's.
    """
    if groups is None:
        return DEFAULT_GROUPS
    names = groups.split(",") if isinstance(groups, str) else list(groups)
    names = [str(n).strip().lower().replace("_", "-") for n in names if str(n).strip()]
    valid = KNOWN_GROUPS
    chosen: set[str] = set()
    for name in names:
        if name == "all":
            chosen.update(valid)
        elif name == "default":
            chosen.update(DEFAULT_GROUPS)
        elif name in valid:
            chosen.add(name)
        else:
            raise UsageError(f"unknown meta-feature group {name!r}; choose from: {', '.join(valid)}, default, all")
    if not chosen:
        raise UsageError("no meta-feature group given; name some, e.g. general,statistical (or all)")
    return tuple(g for g in KNOWN_GROUPS if g in chosen)


def resolve_summary(summary: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """Normalise and check summary function names (default mean and sd)."""
    if summary is None:
        return DEFAULT_SUMMARY
    names = summary.split(",") if isinstance(summary, str) else list(summary)
    names = tuple(str(n).strip() for n in names if str(n).strip())
    valid = KNOWN_SUMMARIES
    for name in names:
        if name not in valid:
            raise UsageError(f"unknown summary {name!r}; choose from: {', '.join(valid)}")
    if not names:
        raise UsageError("no summary function given; e.g. mean,sd")
    return names


@lru_cache(maxsize=None)
def features_for(groups: tuple[str, ...]) -> tuple[str, ...]:
    """The pymfe feature names we request for ``groups`` (exclusions removed)."""
    names = mfe_class().valid_metafeatures(groups=list(groups))
    return tuple(sorted(n for n in set(names) if n not in EXCLUDED_FEATURES))


def split_groups(groups: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(cheap, costly)``: the groups run on the main sample and on the small one."""
    return tuple(g for g in groups if g not in COSTLY_GROUPS), tuple(g for g in groups if g in COSTLY_GROUPS)
