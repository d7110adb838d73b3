"""Selecting learners for a dataset: the LightGBM meta-model, baselines, metrics and protocols.

``MetaModel`` is what ``recommend`` uses; the rest serves ``automl-meta selector evaluate``.
"""

from automl_meta.selection.baselines import KNNSelector, RandomSelector, SimpleFeatureNN, SingleBest
from automl_meta.selection.metamodel import MetaModel

__all__ = ["KNNSelector", "MetaModel", "RandomSelector", "SimpleFeatureNN", "SingleBest"]
