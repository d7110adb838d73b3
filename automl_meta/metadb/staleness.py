"""What a meta-database holds that this automl-meta would compute differently: warnings for the commands that read it.

``db build`` names stale meta-features and scores of the datasets it builds over
(:mod:`automl_meta.metadb.build`, :mod:`automl_meta.metadb.task_learners`). The
commands that only read a database (``recommend --db``, ``selector evaluate``)
would otherwise compare a new dataset's meta-features with those of another
extractor version or pymfe, or rank learners by scores of an older definition,
without a word. :func:`stale_data_warnings` gives one line per kind, with the command that
recomputes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from automl_meta.metadb.task_learners import by_source, redo_command, shown_names, stale_version, version_order
from automl_meta.metadb.units import IMPORT_KINDS, REDO_METAFEATURES


def _fix(store, rows, redo: str) -> str:
    """The command that recomputes ``rows`` (dataset, source, command): one per source, the first shown."""
    sources = by_source(rows)
    source, (_, command) = next(iter(sources.items()))
    first = redo_command(store, source, command, redo)
    kind, _, folder = source.partition(":")
    where = (f" (in the folder that build ran in: {folder} is relative to it)"
             if kind in ("dir", "aslib") and folder and not Path(folder).is_absolute() else "")
    return (f"run: {first}{where}" if len(sources) == 1
            else f"run each of their {len(sources)} builds again with --redo {redo}, e.g. {first}{where}")


def _metafeature_warnings(store, task: str, datasets: set[str]) -> list[str]:
    from automl_meta.metafeatures import EXTRACTOR_VERSION

    runs = store.metafeature_versions_of(task)
    order = runs["version"].astype(str).map(lambda v: version_order(v, EXTRACTOR_VERSION))
    differ = runs["dataset"].isin(datasets) & (order != "same")
    runs, order = runs[differ], order[differ]
    lines = []
    for how, group in runs.groupby(order):
        names = sorted(group["dataset"])
        versions = ", ".join(sorted(set(group["version"].astype(str))))
        what = (f"the meta-features of {len(names)} {task} dataset(s) ({shown_names(names, 5)}) come from extractor version "
                f"{versions}, not this automl-meta's {EXTRACTOR_VERSION}: a new dataset's are compared with them")
        if how == "newer":
            lines.append(f"{what}; they were written by a newer automl-meta: upgrade automl-meta to read them alike")
        else:
            rows = group[["dataset", "source", "command"]].itertuples(index=False, name=None)
            lines.append(f"{what}; to recompute them {_fix(store, rows, REDO_METAFEATURES)}")
    return lines


def _score_warnings(store, task: str, datasets: set[str], learners: Iterable[str]) -> list[str]:
    from automl_meta.learners.portfolio import LEARNERS, PORTFOLIO_VERSION, learner_version

    recorded = {str(versions.get("portfolio")) for _, versions in store.build_versions(task, of="evaluations")}
    if recorded <= {PORTFOLIO_VERSION}:  # every evaluation was computed by this portfolio: none is stale (a cheap look first)
        return []
    current = {name: learner_version(LEARNERS[name], task) for name in learners if name in LEARNERS}
    pairs = [(learner, version) for learner, version, _ in store.learner_version_counts(task)
             if learner in current and stale_version(version, current[learner])]
    if not pairs:
        return []
    rows = store.evaluations_of_versions(task, pairs)
    rows = rows[rows["dataset"].isin(datasets)]
    if rows.empty:
        return []
    stale = sorted(set(rows["learner"]))
    names = sorted(set(rows["dataset"]))
    where = rows[["dataset", "source", "command"]].drop_duplicates().itertuples(index=False, name=None)
    return [f"{task}: the scores of {shown_names(stale, 5)} on {len(names)} dataset(s) ({shown_names(names, 5)}) come from "
            f"older definitions of {'that learner' if len(stale) == 1 else 'those learners'}; to recompute them "
            f"{_fix(store, where, ','.join(stale))}"]


def pymfe_warnings(store, task: str) -> list[str]:
    """``task``'s meta-features were extracted with other pymfe versions than the one installed (the extractor version does
    not say): judged on the builds of its datasets' sources, imports (features taken as they are) left out. A database
    where some build used the installed pymfe gets no warning: which datasets it extracted is not recorded."""
    from automl_meta.versions import installed_version

    if task not in ("classification", "regression"):
        return []
    stored = sorted({str(v["pymfe"]) for source, v in store.build_versions(task, of="metafeatures")
                     if v.get("pymfe") and source.partition(":")[0] not in IMPORT_KINDS})
    installed = installed_version("pymfe")
    if installed is None or not stored or installed in stored:  # some of them may come from the installed one: nothing sure to say
        return []
    return [f"the {task} meta-features were extracted with pymfe {', '.join(stored)}, and none with the installed pymfe "
            f"{installed}: a new dataset's may differ from theirs where pymfe changed; install pymfe=={stored[-1]} to extract alike"]


def unknown_learners(task: str, learners: Iterable[str]) -> list[str]:
    """The learners of a database's ``task`` that this automl-meta has not (written by another version): they cannot run."""
    from automl_meta.learners.portfolio import LEARNERS

    if task not in ("classification", "regression"):  # an imported scenario's algorithms are no learners of ours
        return []
    return sorted(name for name in learners if name not in LEARNERS or not LEARNERS[name].supports(task))


def stale_data_warnings(store, task: str, datasets: Iterable[str] | None = None, learners: Iterable[str] | None = None
                        ) -> list[str]:
    """One line per kind of stored data, among ``datasets`` and ``learners`` of ``task`` (None: all), that this version
    would compute otherwise: meta-features of another extractor version or pymfe, scores of an older learner definition."""
    if task not in ("classification", "regression"):  # imported scenarios: features and runs are taken as they are
        return []
    datasets = set(store.datasets(task)["name"] if datasets is None else datasets)
    learners = list(store.learners(task)["name"] if learners is None else learners)
    return (_metafeature_warnings(store, task, datasets) + pymfe_warnings(store, task)
            + _score_warnings(store, task, datasets, learners))
