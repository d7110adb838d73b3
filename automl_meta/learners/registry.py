"""The registry of candidate learners: names, specs and how each becomes a pipeline.

A :class:`LearnerSpec` is a small frozen record; its ``build(dataset,
random_state)`` returns an unfitted :class:`sklearn.pipeline.Pipeline` with two
steps, ``"preprocess"`` (a :func:`tabular_preprocessor` suited to the learner)
and ``"model"`` (the estimator). Names are stable identifiers shared by the
meta-database, the meta-model and the CLI. A learner that exists for both tasks
(``random_forest``, ``lightgbm``, ``mlp_torch``, ...) is one spec with
``task="both"`` whose ``build`` makes the classifier or the regressor that the
dataset's task calls for, as FLAML's learners do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from automl_meta.exceptions import LearnerError, UsageError

TASKS = ("classification", "regression")
SPEC_TASKS = (*TASKS, "both")


@dataclass(frozen=True)
class Preprocessing:
    """Arguments of :func:`~automl_meta.learners.preprocessing.tabular_preprocessor` for one learner."""

    scale: bool = True
    encode: str = "onehot"
    impute_numeric: bool = True
    pandas_output: bool = False  # hand column names to the estimator (the MLP checks them against an init)

    def as_dict(self) -> dict:
        return {"scale": self.scale, "encode": self.encode, "impute_numeric": self.impute_numeric}


@dataclass(frozen=True)
class PipelineBuilder:
    """``builder(dataset, random_state)``: preprocessing plus the task's estimator.

    ``estimators`` maps a task to ``factory(dataset, random_state, **params)``;
    every part is a module-level object, so a builder pickles into worker processes.
    """

    estimators: tuple[tuple[str, Callable[..., Any]], ...]
    params: tuple[tuple[str, Any], ...] = ()
    preprocessing: Preprocessing = Preprocessing()

    def __call__(self, dataset, random_state=None):
        from sklearn.pipeline import Pipeline

        from automl_meta.learners.preprocessing import tabular_preprocessor

        factories = dict(self.estimators)
        if dataset.task not in factories:
            raise LearnerError(f"this learner serves {', '.join(factories)} only, not {dataset.task}")
        prep = self.preprocessing
        pre = tabular_preprocessor(
            dataset.categorical_columns,
            dataset.numeric_columns,
            scale=prep.scale,
            encode=prep.encode,
            impute_numeric=prep.impute_numeric,
        )
        if prep.pandas_output:
            pre.set_output(transform="pandas")
        model = factories[dataset.task](dataset, random_state, **dict(self.params))
        return Pipeline([("preprocess", pre), ("model", model)])


@dataclass(frozen=True)
class LearnerSpec:
    """One named candidate of the portfolio.

    Attributes
    ----------
    name : str
        Stable identifier (``random_forest``, ``lightgbm``, ``mlp_torch``, ...).
    task : {"classification", "regression", "both"}
        The task(s) it serves; see :meth:`supports`.
    family : str
        Its inductive bias in one word (``linear``, ``forest``, ``boosting``, ...).
    params : dict
        The estimator's non-default hyperparameters, for listing and for the
        meta-database (the pipeline is built from them).
    description : str
        One line for ``automl-meta learners``.
    build : callable
        ``build(dataset, random_state) -> unfitted sklearn Pipeline``.
    preprocessing : dict
        How the inputs are prepared (``scale``, ``encode``, ``impute_numeric``).
    version : str
        The portfolio version in which this learner's definition last changed;
        a meta-database holding its scores under another version is stale for
        this learner only (``db build --redo NAME`` recomputes them).
    """

    name: str
    task: str
    family: str
    params: dict = field(default_factory=dict, hash=False)
    description: str = ""
    build: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    preprocessing: dict = field(default_factory=dict, hash=False)
    version: str = "1"

    def supports(self, task: str) -> bool:
        """Whether this learner serves ``task`` ("classification" or "regression")."""
        return self.task in (task, "both")

    @property
    def tasks(self) -> tuple[str, ...]:
        return TASKS if self.task == "both" else (self.task,)

    def as_dict(self) -> dict:
        """JSON-ready description (everything but ``build``)."""
        return {
            "name": self.name,
            "task": self.task,
            "tasks": list(self.tasks),
            "family": self.family,
            "params": dict(self.params),
            "preprocessing": dict(self.preprocessing),
            "description": self.description,
            "version": self.version,
        }


def learner(
    name: str,
    family: str,
    description: str,
    *,
    classification: Callable | None = None,
    regression: Callable | None = None,
    params: dict | None = None,
    preprocessing: Preprocessing = Preprocessing(),
    version: str = "1",
) -> LearnerSpec:
    """A :class:`LearnerSpec` whose pipeline uses the given estimator factories."""
    estimators = tuple((t, f) for t, f in (("classification", classification), ("regression", regression)) if f is not None)
    if not estimators:
        raise UsageError(f"learner {name!r} needs a classification or a regression estimator")
    task = "both" if len(estimators) == 2 else estimators[0][0]
    params = dict(params or {})
    builder = PipelineBuilder(estimators=estimators, params=tuple(params.items()), preprocessing=preprocessing)
    return LearnerSpec(
        name=name,
        task=task,
        family=family,
        params=params,
        description=description,
        build=builder,
        preprocessing=preprocessing.as_dict(),
        version=version,
    )


def make_registry(specs) -> dict[str, LearnerSpec]:
    """``{name: spec}``, refusing duplicate names."""
    registry: dict[str, LearnerSpec] = {}
    for spec in specs:
        if spec.name in registry:
            raise UsageError(f"learner name {spec.name!r} is registered twice")
        registry[spec.name] = spec
    return registry


def select_learners(registry: dict[str, LearnerSpec], task: str, names=None) -> list[LearnerSpec]:
    """The specs serving ``task``, all of them or the ``names`` given (in that order)."""
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}: use classification or regression")
    available = [s for s in registry.values() if s.supports(task)]
    if names is None or (isinstance(names, str) and names == "all"):
        return available
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    valid = {s.name: s for s in available}
    chosen, seen = [], set()
    for name in names:
        if name not in valid:
            other = registry.get(name)
            why = f"it does not serve {task}" if other is not None else "no such learner"
            raise LearnerError(f"unknown learner {name!r} for {task} ({why}); valid names: {', '.join(valid)}")
        if name not in seen:
            chosen.append(valid[name])
            seen.add(name)
    if not chosen:
        raise LearnerError(f"no learner named; valid names for {task}: {', '.join(valid)}")
    return chosen
