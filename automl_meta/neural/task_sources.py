"""Task sources: a registry returning train / validation / test task samplers.

Every sampler has ``sample(n_tasks, generator) -> TaskBatch`` with tensors
stacked over tasks, built with tensor operations on the sampler's device (no
Python loop over examples, so episodes are drawn on the GPU when the data is
there). Labels of an N-way episode are ``0..N-1`` in a random class order.

* ``sinusoid``: ``y = A sin(x - phase)``, ``A ~ U[0.1, 5]``, ``phase ~ U[0, pi]``,
  ``x ~ U[-5, 5]``; MLP 40-40 ReLU (MAML paper, section 5.1).
* ``omniglot``: the 1623 characters in a fixed seeded order, 1100 for
  meta-training, 100 for validation and the remaining 423 for testing (the
  MAML protocol: 1200 characters for training including validation), each
  character also rotated by 90, 180 and 270 degrees as new classes; conv4.
* ``tabular``: rows of one multi-class table, with meta-training on some
  classes and validation / test on held-out classes; or a family of tables
  sharing one schema, one task per table (tables split into train /
  validation / test). MLP backbone on the shared preprocessor's features.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import torch

from automl_meta.exceptions import DatasetError, UsageError
from automl_meta.neural.conv4 import conv4_architecture
from automl_meta.neural.models import mlp_architecture

logger = logging.getLogger(__name__)


class TaskBatch(NamedTuple):
    """A meta-batch: support inputs and targets, query inputs and targets, tasks first."""

    xs: torch.Tensor
    ys: torch.Tensor
    xq: torch.Tensor
    yq: torch.Tensor


class SinusoidSampler:
    """Regression tasks ``y = A sin(x - phase)`` with ``shots`` support and ``queries`` query points."""

    loss = "mse"

    def __init__(self, shots: int, queries: int, device="cpu"):
        self.shots, self.queries, self.device = shots, queries, torch.device(device)
        self.ways = 1

    def sample(self, n_tasks: int, generator: torch.Generator) -> TaskBatch:
        opts = {"generator": generator, "device": self.device}
        amplitude = 0.1 + 4.9 * torch.rand(n_tasks, 1, 1, **opts)
        phase = math.pi * torch.rand(n_tasks, 1, 1, **opts)
        x = -5.0 + 10.0 * torch.rand(n_tasks, self.shots + self.queries, 1, **opts)
        y = amplitude * torch.sin(x - phase)
        k = self.shots
        return TaskBatch(x[:, :k], y[:, :k], x[:, k:], y[:, k:])


class ClassPoolSampler:
    """N-way K-shot episodes from a pool of classes stored as ``data[class, row, ...]``.

    Parameters
    ----------
    data : Tensor
        ``(n_classes, max_rows, *features)``; rows past ``counts[c]`` are padding.
    counts : Tensor
        Rows available per class.
    groups : list of LongTensor, optional
        Classes that may share an episode (one group per table of a family);
        default: one group with every class.
    transform : callable, optional
        Applied to gathered inputs (e.g. uint8 images to float ink).
    """

    loss = "cross_entropy"

    def __init__(self, data, counts, ways, shots, queries, groups=None, transform=None):
        self.data, self.counts = data, counts.to(data.device)
        self.ways, self.shots, self.queries = ways, shots, queries
        self.groups = groups
        self.transform = transform
        self.device = data.device

    @property
    def n_classes(self) -> int:
        return self.data.shape[0]

    def _classes(self, n_tasks: int, generator) -> torch.Tensor:
        if self.groups is None:
            keys = torch.rand(n_tasks, self.n_classes, generator=generator, device=self.device)
            return keys.argsort(dim=1)[:, : self.ways]
        picks = torch.randint(len(self.groups), (n_tasks,), generator=generator, device=self.device).tolist()
        rows = []
        for g in picks:
            members = self.groups[g]
            order = torch.randperm(len(members), generator=generator, device=self.device)[: self.ways]
            rows.append(members[order])
        return torch.stack(rows)

    def sample(self, n_tasks: int, generator: torch.Generator) -> TaskBatch:
        n, k, q = self.ways, self.shots, self.queries
        classes = self._classes(n_tasks, generator)  # (B, N)
        max_rows = self.data.shape[1]
        keys = torch.rand(n_tasks, n, max_rows, generator=generator, device=self.device)
        valid = torch.arange(max_rows, device=self.device) < self.counts[classes][..., None]
        rows = torch.where(valid, keys, 2.0).argsort(dim=-1)[..., : k + q]  # (B, N, K+Q) without replacement
        x = self.data[classes[..., None], rows]  # (B, N, K+Q, ...)
        if self.transform is not None:
            x = self.transform(x)
        feature_shape = x.shape[3:]
        labels = torch.arange(n, device=self.device)
        xs = x[:, :, :k].reshape(n_tasks, n * k, *feature_shape)
        xq = x[:, :, k:].reshape(n_tasks, n * q, *feature_shape)
        ys = labels.repeat_interleave(k).expand(n_tasks, -1)
        yq = labels.repeat_interleave(q).expand(n_tasks, -1)
        return TaskBatch(xs, ys, xq, yq)


@dataclass(frozen=True)
class TaskSplits:
    """Samplers for meta-training, validation and testing, and what the backbone must be."""

    train: object
    validation: object
    test: object
    architecture: dict
    loss: str
    bn_mode: str
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSourceSpec:
    """One entry of :data:`TASK_SOURCES`."""

    name: str
    description: str
    loss: str
    bn_mode: str
    build: Callable[..., TaskSplits]


def sinusoid_tasks(shots: int = 5, queries: int = 10, hidden=(40, 40), device="cpu", **_) -> TaskSplits:
    """Sinusoid regression (train, validation and test come from the same distribution)."""
    sampler = SinusoidSampler(shots, queries, device)
    return TaskSplits(
        sampler,
        sampler,
        sampler,
        mlp_architecture(1, hidden, 1, "relu"),
        "mse",
        "none",
        {"shots": shots, "queries": queries, "ways": 1},
    )


def _ink(x: torch.Tensor) -> torch.Tensor:
    return 1.0 - x.float() / 255.0


def omniglot_tasks(
    images: np.ndarray,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    n_train: int = 1100,
    n_validation: int = 100,
    rotations: bool = True,
    split_seed: int = 1,
    device="cpu",
    bn_mode: str = "transductive",
    train_queries: int | None = None,
    **_,
) -> TaskSplits:
    """Omniglot episodes from uint8 images ``(n_chars, 20, 28, 28)`` (255 = background).

    ``train_queries`` (default ``queries``) sets the query rows per class of the
    training episodes only: Reptile trains on 10 examples per class of a 1-shot
    task (``train_queries=9``) and is tested with the usual 15 queries.
    """
    train_queries = queries if train_queries is None else train_queries
    n_chars = images.shape[0]
    if n_train + n_validation >= n_chars:
        raise UsageError(f"{n_chars} Omniglot characters cannot give {n_train} training and {n_validation} validation characters plus a test set")
    order = np.random.default_rng(split_seed).permutation(n_chars)
    parts = {"train": order[:n_train], "validation": order[n_train : n_train + n_validation], "test": order[n_train + n_validation :]}
    if shots + max(queries, train_queries) > images.shape[1]:
        raise UsageError(f"shots + queries = {shots + max(queries, train_queries)} exceeds the {images.shape[1]} drawings per Omniglot character")
    samplers = {}
    for split, chars in parts.items():
        base = torch.as_tensor(images[np.sort(chars)])
        if rotations:
            base = torch.stack([torch.rot90(base, r, dims=(-2, -1)) for r in range(4)], dim=1).flatten(0, 1)
        if len(base) < ways:
            raise UsageError(f"{split}: only {len(base)} classes for {ways}-way episodes")
        data = base.to(device)
        counts = torch.full((len(data),), data.shape[1], dtype=torch.long)
        samplers[split] = ClassPoolSampler(data, counts, ways, shots, train_queries if split == "train" else queries, transform=_ink)
    info = {
        "ways": ways,
        "shots": shots,
        "queries": queries,
        "train_queries": train_queries,
        "characters": {k: int(len(v)) for k, v in parts.items()},
        "rotations": rotations,
        "split_seed": split_seed,
    }
    return TaskSplits(samplers["train"], samplers["validation"], samplers["test"], conv4_architecture(ways), "cross_entropy", bn_mode, info)


def _class_pool(X: np.ndarray, labels: np.ndarray, min_rows: int) -> tuple[torch.Tensor, torch.Tensor, list]:
    classes = [c for c in np.unique(labels) if (labels == c).sum() >= min_rows]
    max_rows = max((int((labels == c).sum()) for c in classes), default=0)
    data = torch.zeros(len(classes), max_rows, X.shape[1], dtype=torch.float32)
    counts = torch.zeros(len(classes), dtype=torch.long)
    for i, c in enumerate(classes):
        rows = X[labels == c]
        data[i, : len(rows)] = torch.as_tensor(rows, dtype=torch.float32)
        counts[i] = len(rows)
    return data, counts, classes


def _preprocessor(dataset):
    from automl_meta.learners.preprocessing import tabular_preprocessor

    return tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns)


def _dense(matrix) -> np.ndarray:
    matrix = matrix.toarray() if hasattr(matrix, "toarray") else matrix
    return np.asarray(matrix, dtype=np.float32)


def _split_sizes(n: int, ways: int, what: str) -> tuple[int, int]:
    """How many of ``n`` classes (or tables) go to test and validation; validation may be 0."""
    n_test = max(ways if what == "classes" else 1, round(0.25 * n))
    n_val = max(ways if what == "classes" else 1, round(0.2 * n))
    if n - n_test < (ways if what == "classes" else 1):
        raise DatasetError(f"{n} usable {what} cannot hold {ways}-way meta-training and held-out test {what}; use fewer ways or more {what}")
    if n - n_test - n_val < (ways if what == "classes" else 1):
        n_val = 0
    return n_test, n_val


def check_class_target(dataset) -> None:
    """Raise :class:`DatasetError` when the target is continuous: numbers with fractions are no classes.

    Tables are read as classification for episodes, so a regression target
    would make every distinct value a class; say so instead.
    """
    values = pd.to_numeric(dataset.y, errors="coerce")
    if values.notna().all() and (values != values.round()).any():
        raise DatasetError(
            f"{dataset.name}: target {dataset.target!r} is continuous ({values.nunique()} distinct numbers); "
            "few-shot episodes need a classification target: pass --target with a class column"
        )


def _schema_difference(d, first) -> str:
    """How ``d``'s feature columns differ from ``first``'s, naming a column that reading left out and why."""
    def why(table, column):
        profile = table.profile
        reasons = {"constant": profile.constant, "ID-like": profile.id_like, "nested": profile.nested}
        return next((f"{column!r} is {reason} in {table.name}, so reading left it out" for reason, found in reasons.items()
                     if column in found), None)

    for table, other in ((d, first), (first, d)):
        for column in [c for c in other.X.columns if c not in set(table.X.columns)]:
            reason = why(table, column)
            if reason:
                return f"column {reason} (give it varied values there, or drop it from every file)"
    missing = [c for c in first.X.columns if c not in set(d.X.columns)]
    extra = [c for c in d.X.columns if c not in set(first.X.columns)]
    if not missing and not extra:
        return f"it holds {first.name}'s columns in another order"
    return f"its columns differ from {first.name}'s (missing {missing}, extra {extra})"


def check_family_schema(tables: list) -> None:
    """Raise :class:`DatasetError` unless every table has the first one's columns, each of the same kind.

    One preprocessor encodes the whole family: a column that is text in one
    file and numbers in another cannot be both one-hot encoded and scaled.
    """
    first = tables[0]
    columns, text = list(first.X.columns), set(first.categorical_columns)
    for d in tables[1:]:
        if list(d.X.columns) != columns:
            raise DatasetError(f"{d.name}: {_schema_difference(d, first)}; a task family must share one schema")
        differ = [c for c in columns if (c in text) != (c in set(d.categorical_columns))]
        if differ:
            here, there = ("text", "numeric") if differ[0] in d.categorical_columns else ("numeric", "text")
            raise DatasetError(
                f"{d.name}: column {differ[0]!r} is {here} here but {there} in {first.name}; a task family must share one schema "
                "(give that column numbers in every file, or text in every file)"
            )


def _rows_digest(X: pd.DataFrame, y: np.ndarray) -> str:
    """A SHA-256 of some rows' features and labels (what identifies a single table's held-out rows)."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(pd.Series(y, dtype=str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def tabular_tasks(
    datasets,
    ways: int = 5,
    shots: int = 5,
    queries: int = 10,
    hidden=(40, 40),
    split_seed: int = 0,
    device="cpu",
    **_,
) -> TaskSplits:
    """Episodes over rows of one multi-class table, or one task per table of a family.

    ``datasets`` is a :class:`~automl_meta.dataset.Dataset` (held-out classes) or
    a list of them sharing one schema (held-out tables). The preprocessor is
    fitted on the meta-training rows only. Validation uses the meta-training
    classes when there are too few classes for a separate validation split.
    """
    from automl_meta.learners.preprocessing import onehot_levels, rare_levels

    family = isinstance(datasets, (list, tuple))
    tables = list(datasets) if family else [datasets]
    for d in tables:
        if d.task != "classification":
            raise DatasetError(f"{d.name}: tabular episodes need a classification target, found {d.task}")
        check_class_target(d)
    columns = list(tables[0].X.columns)
    check_family_schema(tables)
    rng = np.random.default_rng(split_seed)
    min_rows = shots + queries
    if family:
        order = rng.permutation(len(tables))
        n_test, n_val = _split_sizes(len(tables), 1, "tables")
        ids = {"test": order[:n_test], "validation": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
        fit_rows = [tables[i] for i in ids["train"]]
        parts = {split: [(tables[i].X, tables[i].y.to_numpy()) for i in idx] for split, idx in ids.items()}
        held_out = {"tables": [{"name": tables[i].name, "sha256": tables[i].content_hash()} for i in ids["test"]]}
    else:
        d = tables[0]
        y = d.y.to_numpy()
        names, sizes = np.unique(y, return_counts=True)
        usable = names[sizes >= min_rows]
        if len(usable) < len(names):
            logger.info("%s: %d classes have fewer than %d rows and are left out", d.name, len(names) - len(usable), min_rows)
        if len(usable) < 2 * ways:  # say why first: too few rows per class, not too few classes
            raise DatasetError(
                f"{d.name}: {len(usable)} of its {len(names)} classes have the {min_rows} rows an episode takes "
                f"(--shots {shots} + --queries {queries}) and {2 * ways} are needed for {ways}-way meta-training and "
                "held-out test classes; use fewer shots, queries or ways, or a table with more rows per class"
            )
        order = rng.permutation(usable)
        n_test, n_val = _split_sizes(len(order), ways, "classes")
        chosen = {"test": order[:n_test], "validation": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
        parts = {split: [(d.X[np.isin(y, cl)], y[np.isin(y, cl)])] for split, cl in chosen.items() if len(cl)}
        fit_rows = None
        test_X, test_y = parts["test"][0]
        held_out = {"rows": len(test_y), "sha256": _rows_digest(test_X, test_y)}
    preprocessor = _preprocessor(tables[0])
    fit_frame = pd.concat([X for X, _ in parts["train"]]) if fit_rows is None else pd.concat([t.X for t in fit_rows])
    preprocessor.fit(fit_frame)
    samplers = {}
    class_names = {}
    for split, tables_of_split in parts.items():
        pools, groups, names, start = [], [], [], 0
        for X, y in tables_of_split:
            data, counts, classes = _class_pool(_dense(preprocessor.transform(X)), y, min_rows)
            if len(classes) >= ways:
                pools.append((data, counts))
                groups.append(torch.arange(start, start + len(classes)))
                names += [str(c) for c in classes]
                start += len(classes)
        if not pools:
            raise DatasetError(f"{split} split: no table with {ways} classes of >= {min_rows} rows; lower --ways, --shots or the query size")
        max_rows = max(p[0].shape[1] for p in pools)
        data = torch.cat([torch.nn.functional.pad(p[0], (0, 0, 0, max_rows - p[0].shape[1])) for p in pools]).to(device)
        counts = torch.cat([p[1] for p in pools])
        samplers[split] = ClassPoolSampler(data, counts, ways, shots, queries, groups=groups if family else None)
        class_names[split] = names
    if "validation" not in samplers:
        logger.info("too few classes for a validation split; validation uses the meta-training classes")
        samplers["validation"] = samplers["train"]
    in_features = samplers["train"].data.shape[-1]
    info = {
        "ways": ways,
        "shots": shots,
        "queries": queries,
        "input_columns": columns,
        "encoded_columns": [str(c) for c in preprocessor.get_feature_names_out()],  # what mlp_torch's preprocessing names them
        "categorical_columns": tables[0].categorical_columns,
        "numeric_columns": tables[0].numeric_columns,
        "categories": onehot_levels(preprocessor),  # finetune encodes a new table with these levels, not its own
        "rare_levels": rare_levels(preprocessor),  # ... and these as the one "infrequent" level
        "target": tables[0].target,
        "classes": class_names,
        "family": family,
        "held_out": held_out,  # meta-eval checks that it rebuilds these test tables or rows, not just their class names
        "split_seed": split_seed,
    }
    architecture = mlp_architecture(in_features, hidden, ways, "relu")
    return TaskSplits(samplers["train"], samplers["validation"], samplers["test"], architecture, "cross_entropy", "none", info)


TASK_SOURCES = {
    "sinusoid": TaskSourceSpec("sinusoid", "sine waves, K-shot regression (MAML 5.1)", "mse", "none", sinusoid_tasks),
    "omniglot": TaskSourceSpec("omniglot", "Omniglot N-way K-shot, conv4 (MAML protocol)", "cross_entropy", "transductive", omniglot_tasks),
    "tabular": TaskSourceSpec("tabular", "held-out classes of a table, or one task per table", "cross_entropy", "none", tabular_tasks),
}


def make_task_source(name: str, data=None, **options) -> TaskSplits:
    """Build the splits of task source ``name``; ``data`` is the images (omniglot) or dataset(s) (tabular)."""
    if name not in TASK_SOURCES:
        raise UsageError(f"unknown task source {name!r}; choose from {', '.join(TASK_SOURCES)}")
    if name == "sinusoid":
        return sinusoid_tasks(**options)
    if data is None:
        raise UsageError(f"the {name} task source needs data")
    return TASK_SOURCES[name].build(data, **options)
