"""Few-shot evaluation (mean with a 95% confidence interval) and fine-tuning on a user's table.

The interval is ``1.96 * std / sqrt(tasks)`` over per-task scores, as the
MAML and Reptile papers report it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import torch

from automl_meta.exceptions import ArtifactError, DatasetError, UsageError

logger = logging.getLogger(__name__)


def mean_ci95(scores) -> tuple[float, float]:
    """Mean and half-width of the normal 95% confidence interval of ``scores``."""
    values = np.asarray(scores, dtype=float)
    if len(values) < 2:
        return float(values.mean()) if len(values) else float("nan"), float("nan")
    return float(values.mean()), float(1.96 * values.std(ddof=1) / math.sqrt(len(values)))


EVALUATION_STREAM = 0x5EED  # the episodes of an evaluation come from a stream of their own (:func:`evaluation_generator`)


def evaluation_generator(seed: int, device="cpu") -> torch.Generator:
    """The generator of an evaluation's episodes under ``seed``: never a training run's.

    Meta-training draws its tasks from ``torch.Generator().manual_seed(seed)``;
    an evaluation seeded alike drew the very same tasks, so on a source without
    a split of classes (sinusoid) ``meta-eval`` at both commands' default seed
    scored the training tasks.
    """
    derived = int(np.random.SeedSequence([EVALUATION_STREAM, int(seed)]).generate_state(1)[0])
    return torch.Generator(device=device).manual_seed(derived)


def evaluate_learner(learner, sampler, tasks: int = 600, steps: int | None = None, batch_size: int = 32, seed: int = 0,
                     progress=None) -> dict:
    """Adapt ``learner``'s initialization on ``tasks`` episodes of ``sampler``; score the query sets.

    Returns ``{"metric", "mean", "ci95", "tasks", "steps", "diverged", "scores"}``; the
    metric is accuracy (classification) or MSE (regression). ``diverged`` counts
    the tasks whose adapted loss was not finite (inner steps too large for that
    many steps, e.g. Meta-SGD rates learned for one step); the mean is then NaN.
    """
    device = next(iter(learner.params.values())).device
    generator = evaluation_generator(seed, device)
    scores = []
    remaining = tasks
    while remaining > 0:
        n = min(batch_size, remaining)
        scores.append(learner.evaluate(sampler.sample(n, generator), steps=steps).float().cpu())
        remaining -= n
        if progress is not None:
            progress(n)  # tasks done
    values = torch.cat(scores).numpy() if scores else np.zeros(0)
    mean, ci95 = mean_ci95(values)
    metric = "accuracy" if learner.net.loss == "cross_entropy" else "mse"
    used_steps = learner.inner.steps if steps is None else steps
    diverged = int((~np.isfinite(values)).sum())
    return {"metric": metric, "mean": mean, "ci95": ci95, "tasks": int(tasks), "steps": int(used_steps),
            "diverged": diverged, "scores": values.tolist()}


def _support_split(labels: np.ndarray, shots: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    support = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        support.extend(rng.choice(rows, shots, replace=False))
    support = np.sort(np.asarray(support))
    held_out = np.setdiff1d(np.arange(len(labels)), support)
    return support, held_out


def _held_out_accuracy(task, x_support, x_held_out, y_held_out) -> float:
    """Accuracy of an adapted task learner, NaN when its loss is not finite.

    Diverged weights give NaN logits, whose argmax still picks a class: the
    accuracy would read as chance instead of as the failure it is.
    """
    with torch.no_grad():
        logits = task(x_held_out, support=x_support)
        if not torch.isfinite(torch.nn.functional.cross_entropy(logits, y_held_out)):
            return float("nan")
        return float((logits.argmax(-1) == y_held_out).float().mean())


def check_support(labels: np.ndarray, ways: int, shots: int) -> None:
    """Raise :class:`UsageError` unless ``labels`` (classes ``0..n-1``) fit a ``ways``-way head and leave rows out after ``shots``."""
    n_classes = int(labels.max()) + 1
    if n_classes > ways:
        raise UsageError(f"the data has {n_classes} classes but the initialization was meta-trained for {ways}-way tasks; "
                         f"meta-train one with --ways {n_classes} or more")
    counts = np.bincount(labels)
    if counts.min() <= shots:
        raise UsageError(f"a class has only {counts.min()} rows; --shots {shots} leaves nothing held out")


def finetune_table(
    learner, baseline, X: np.ndarray, labels: np.ndarray, ways: int, shots: int, steps: int, repeats: int = 10, seed: int = 0,
    progress=None,
) -> dict:
    """Adapt on ``shots`` rows per class and score the other rows, from the learned and a random init.

    ``X`` is the preprocessed float matrix and ``labels`` integer classes
    ``0..n-1`` with ``n <= ways`` (the head's width); ``baseline`` is the same
    meta-learner type on a freshly initialized network. Each repeat draws a new
    support set. ``diverged`` (``random_init_diverged``) counts the repeats whose
    adapted loss was not finite; the mean is then NaN, as in :func:`evaluate_learner`.
    ``progress`` (optional) is called once per repeat done.
    """
    check_support(labels, ways, shots)
    n_classes = int(labels.max()) + 1
    rng = np.random.default_rng(seed)
    device = next(iter(learner.params.values())).device
    x = torch.as_tensor(X, dtype=torch.float32, device=device)
    y = torch.as_tensor(labels, dtype=torch.long, device=device)
    found = {"init": [], "random": []}
    for _ in range(repeats):
        support, held_out = _support_split(labels, shots, rng)
        for name, model in (("init", learner), ("random", baseline)):
            task = model.clone()
            task.inner = replace(task.inner, steps=steps)
            task.adapt(x[support], y[support])
            found[name].append(_held_out_accuracy(task, x[support], x[held_out], y[held_out]))
        if progress is not None:
            progress()
    init_mean, init_ci = mean_ci95(found["init"])
    rand_mean, rand_ci = mean_ci95(found["random"])
    return {
        "metric": "accuracy",
        "mean": init_mean,
        "ci95": init_ci,
        "diverged": int(np.isnan(found["init"]).sum()),
        "random_init_mean": rand_mean,
        "random_init_ci95": rand_ci,
        "random_init_diverged": int(np.isnan(found["random"]).sum()),
        "repeats": repeats,
        "shots": shots,
        "steps": steps,
        "classes": n_classes,
        "held_out_rows": int(len(labels) - n_classes * shots),
    }


def check_input_columns(manifest: dict, columns: list) -> None:
    """Raise :class:`ArtifactError` unless the data has the columns the init was trained on."""
    expected = manifest.get("input_columns")
    if expected is None:
        raise ArtifactError("this initialization was not meta-trained on tables (no input_columns); use a tabular init")
    if list(columns) != list(expected):
        missing = sorted(set(expected) - set(columns))
        extra = sorted(set(columns) - set(expected))
        if not missing and not extra:
            raise ArtifactError("the data holds the init's columns in another order; give them in the order the init was meta-trained on")
        raise ArtifactError(f"the data's columns differ from the init's (missing {missing}, extra {extra}); give a table with the same schema")


def in_init_order(manifest: dict, task_data):
    """The table (or tables) with the init's columns in the init's order, when they hold the same ones.

    ``meta-eval`` rebuilds the init's episodes from them, and the held-out rows' digest
    reads the columns in order; :func:`init_inputs` (``finetune``) takes any order too.
    """
    from dataclasses import replace

    expected = list(manifest.get("input_columns") or [])

    def ordered(dataset):
        return replace(dataset, X=dataset.X[expected]) if expected and set(dataset.X.columns) == set(expected) else dataset

    return [ordered(d) for d in task_data] if isinstance(task_data, list) else ordered(task_data)


def check_rebuilt_tasks(manifest: dict, splits) -> None:
    """Raise :class:`ArtifactError` unless ``splits``, rebuilt from the user's data, are those the init was meta-trained on.

    The rebuilt test classes (tabular) must be those the manifest records, and so
    must the held-out tables (names and contents) or rows: class names alone
    ('0', '1', '2') match any table of the same schema, whose test score would
    then say nothing about the init. The data must also give the init's input
    width (categorical levels set it). Inits written before the held-out data
    was recorded are checked on classes and width only.
    """
    expected = manifest.get("tasks", {}).get("classes", {}).get("test")
    found = splits.info.get("classes", {}).get("test")
    if expected is not None and found != expected:
        raise ArtifactError(
            f"the data's held-out test classes {found} are not those the init was meta-trained with {expected}; "
            "give the same --data (and --target) as meta-train"
        )
    _check_held_out(manifest.get("tasks", {}).get("held_out"), splits.info.get("held_out"))
    width, expected_width = splits.architecture.get("in_features"), manifest["architecture"].get("in_features")
    if width != expected_width:
        raise ArtifactError(
            f"the preprocessed data has {width} features but the init expects {expected_width}; "
            "give the same --data as meta-train (its categorical levels set the input width)"
        )


def _check_held_out(expected: dict | None, found: dict | None) -> None:
    """Raise :class:`ArtifactError` unless the rebuilt held-out tables or rows are those recorded at meta-training."""
    if expected is None or found is None or expected == found:
        return
    if "tables" in expected and "tables" in found:
        names = [t["name"] for t in expected["tables"]]
        found_names = [t["name"] for t in found["tables"]]
        what = (f"the held-out tables {found_names} are not those the init was meta-trained with {names}" if names != found_names
                else f"the held-out tables {names} have other contents than at meta-training")
    else:
        what = "the held-out test rows differ from those the init was meta-trained with"
    raise ArtifactError(f"{what}; give the same --data (and --target) as meta-train")


def _non_numeric(values) -> list:
    """The distinct values of ``values`` that are present but are not numbers (missing ones are not counted)."""
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    return list(pd.unique(values[values.notna() & numbers.isna()]))


def check_numeric_columns(X, numeric: list) -> None:
    """Raise :class:`DatasetError` naming the init's numeric columns that hold text in ``X``.

    Coercing them would turn every such value into a missing value, which the
    preprocessor then imputes: a column of 'low'/'high' would become a column
    of zeros and the accuracy a guess, with nothing said.
    """
    bad = {c: _non_numeric(X[c]) for c in numeric}
    bad = {c: values for c, values in bad.items() if values}
    if bad:
        several = len(bad) > 1
        shown = "; ".join((f"{c!r}: " if several else "") + ", ".join(repr(str(v)) for v in values[:3]) for c, values in bad.items())
        raise DatasetError(
            f"the init's numeric column{'s' if several else ''} {', '.join(map(repr, bad))} hold{'' if several else 's'} "
            f"text in this table ({shown}); give numbers there (missing values are fine)"
        )


def init_inputs(dataset, raw, manifest: dict) -> np.ndarray:
    """A new table as the input matrix of a tabular init: the init's columns, their kinds and its one-hot levels.

    ``dataset`` is the table read as a classification problem and ``raw`` the
    frame it was made from. A column the reader dropped because it is constant
    here (a few classes of a larger table often make some so) or ID-like is
    taken back from ``raw`` (text there is then named as such, below). Categorical columns are one-hot encoded with the levels the
    init was meta-trained with (a level it never saw encodes as zeros; those that
    shared its "infrequent" column share it again), so the width does not depend
    on which levels this table holds; numeric columns are
    imputed and standardized on this table's rows (no labels involved), and
    text in one of them is refused (:func:`check_numeric_columns`).
    """
    import pandas as pd

    from automl_meta.dataset import category_strings
    from automl_meta.learners.preprocessing import share_rare_levels, tabular_preprocessor

    tasks = manifest.get("tasks", {})
    expected = list(manifest.get("input_columns") or [])  # none: not a tabular init, refused below
    X = dataset.X.copy()
    kept = raw[dataset.target].notna().to_numpy()  # the rows that have a label, as the reader kept them
    dropped = set(dataset.profile.constant) | set(dataset.profile.id_like)  # left out by the reader, still in the file
    for column in expected:
        if column not in X.columns and column in dropped and kept.sum() == len(X):
            X[column] = raw.loc[kept, column].to_numpy()
    # the same columns in any order; a missing or an extra one is refused by name
    check_input_columns(manifest, expected if set(X.columns) == set(expected) else list(X.columns))
    categorical = list(tasks.get("categorical_columns", dataset.categorical_columns))
    numeric = [c for c in expected if c not in set(categorical)]
    X = X[expected]
    rare = tasks.get("rare_levels") or {}
    for column in categorical:
        X[column] = category_strings(X[column])
        if column in rare:  # the levels that shared one "infrequent" column at meta-training share it here
            X[column] = share_rare_levels(X[column], rare[column])
    check_numeric_columns(X, numeric)
    for column in numeric:
        X[column] = pd.to_numeric(X[column], errors="coerce")
    levels = tasks.get("categories")
    for column in categorical if levels else ():
        known = set(levels.get(column, ()))
        if known and not X[column].dropna().isin(known).any():  # every row then encodes as zeros there
            logger.warning("%s: none of its levels (%s) is one the init was meta-trained with (%s): the column encodes "
                           "as zeros on every row", column, ", ".join(map(str, X[column].dropna().unique()[:3])),
                           ", ".join(sorted(map(str, known))[:3]))
    pre = tabular_preprocessor(categorical, numeric, categories=levels if levels is not None and categorical else None)
    matrix = np.asarray(pre.fit_transform(X), dtype=np.float32)
    in_features = manifest["architecture"]["in_features"]
    if matrix.shape[1] != in_features:
        raise ArtifactError(
            f"the preprocessed table has {matrix.shape[1]} features but the init expects {in_features}; "
            + ("categorical levels differ from the meta-training table" if levels is None else "give a table with the init's columns")
        )
    return matrix
