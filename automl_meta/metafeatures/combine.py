"""One meta-feature vector from extractions of different groups, so that two processes can share the work.

``recommend`` extracts in a forked child while the main process loads the
meta-model, and the main process then waits: on a wide table (5,000 x 500)
or with a thousand classes, the child's extraction is the whole critical
path. :func:`two_way_split` hands pymfe's landmarking group (the larger part:
1.0 of 1.3 s on the wide table) to the child and the other groups to the main
process, and :func:`combine_metafeatures` joins the halves.

The halves equal one extraction of all the groups: every call draws the same
row and column samples from the same seed, and pymfe computes each group on
its own (checked on 41 PMLB tables, every value identical, and by a test).
"""

from __future__ import annotations

from typing import Sequence

from automl_meta.dataset import Dataset
from automl_meta.metafeatures.extract import MAX_ROWS, MetaFeatures
from automl_meta.metafeatures.groups import resolve_groups
from automl_meta.metafeatures.pymfe_run import template_names
from automl_meta.metafeatures.target_stats import SIMPLE_FEATURES

CHILD_GROUP = "landmarking"
# pymfe's sample has at least this many values (rows x columns) before the work is split: on
# smaller tables the main process's own import of pymfe (0.2 s) costs more than it takes over
MIN_SPLIT_CELLS = 20_000


def two_way_split(
    dataset: Dataset, groups: str | Sequence[str] | None = None, max_rows: int | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """``(child's groups, main process's groups)`` for extracting ``groups`` of ``dataset`` in two processes.

    None where one process should extract them all: landmarking is not among
    them, or pymfe's sample of at most ``max_rows`` rows has fewer than
    :data:`MIN_SPLIT_CELLS` values.
    """
    groups = resolve_groups(groups)
    rows = min(dataset.n_rows, MAX_ROWS if max_rows is None else max_rows)
    if CHILD_GROUP not in groups or len(groups) < 2 or rows * dataset.n_features < MIN_SPLIT_CELLS:
        return None
    return (CHILD_GROUP,), tuple(g for g in groups if g != CHILD_GROUP)


def combine_metafeatures(parts: Sequence[MetaFeatures]) -> MetaFeatures:
    """The vector of all ``parts``' groups, as one extraction would give it; ``seconds`` is the longest part's.

    The parts must come from the same data and options but for their groups
    (the same sample sizes and summaries), else ``ValueError``.
    """
    first = parts[0]
    if any((p.n_rows_used, p.n_cols_used, p.summary) != (first.n_rows_used, first.n_cols_used, first.summary) for p in parts):
        raise ValueError("meta-feature parts of different samples or summaries cannot be combined")
    groups = resolve_groups([g for p in parts for g in p.groups])
    merged = {name: value for p in parts for name, value in p.values.items()}
    values = {name: merged[name] for name in SIMPLE_FEATURES if name in merged}  # the exact counts first, as extracted
    for name in template_names(groups, first.summary):
        values.setdefault(name, merged.get(name))
    return MetaFeatures(
        values=values,
        seconds=max(p.seconds for p in parts),
        n_rows_used=first.n_rows_used,
        groups=groups,
        n_cols_used=first.n_cols_used,
        summary=first.summary,
    )
