"""The candidate portfolio: a registry of named learners that build scikit-learn pipelines.

>>> from automl_meta.learners import get_learners
>>> [s.name for s in get_learners("regression")][:3]
['dummy', 'ridge', 'elastic_net']
"""

from automl_meta.learners.portfolio import LEARNERS, PORTFOLIO_VERSION
from automl_meta.learners.registry import LearnerSpec, select_learners


def get_learners(task: str, names=None) -> list[LearnerSpec]:
    """The portfolio's learners for ``task``: all of them, or ``names`` (a list, or "a,b").

    Raises :class:`~automl_meta.exceptions.LearnerError` listing the valid names
    when a name is unknown or does not serve the task.
    """
    return select_learners(LEARNERS, task, names)


__all__ = ["LEARNERS", "PORTFOLIO_VERSION", "LearnerSpec", "get_learners"]
