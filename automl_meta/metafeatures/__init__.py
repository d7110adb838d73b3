"""Meta-features of tabular datasets: a fast, robust wrapper around pymfe.

``extract_metafeatures(dataset)`` gives a :class:`MetaFeatures` whose set of
names depends only on the task-independent choice of groups and summaries.
pymfe itself is imported only when features are computed.
"""

from automl_meta.metafeatures.extract import EXTRACTOR_VERSION, MetaFeatures, extract_metafeatures
from automl_meta.metafeatures.groups import DEFAULT_GROUPS, EXCLUDED_FEATURES, available_groups, resolve_groups
from automl_meta.metafeatures.target_stats import SIMPLE_FEATURES

__all__ = [
    "DEFAULT_GROUPS",
    "EXCLUDED_FEATURES",
    "EXTRACTOR_VERSION",
    "SIMPLE_FEATURES",
    "MetaFeatures",
    "available_groups",
    "extract_metafeatures",
    "resolve_groups",
]
