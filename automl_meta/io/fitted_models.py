"""Save and load a fitted winner pipeline without pickle: skops files plus a JSON sidecar.

Format (``automl-meta-fitted-model/1``)
---------------------------------------
``MODEL`` (any name, ``.skops`` by convention)
    The fitted scikit-learn :class:`~sklearn.pipeline.Pipeline` (preprocessing
    and estimator) written by :func:`skops.io.dump`. skops stores an object
    tree as JSON plus numpy arrays in a zip file and rebuilds it on load
    without unpickling, so loading cannot run code unless a type in the file
    is explicitly trusted.
``MODEL.json`` (the sidecar)
    ``format``, ``learner``, ``task``, ``target``, ``columns`` (name and kind,
    ``numeric`` or ``categorical``, in training order; a categorical column
    also its ``categories``, optional), ``classes`` and ``class_values``
    (classification: the labels as text, as the pipeline predicts them, and
    each as the training table held it, an int, float, bool or text, which
    predictions are given back as), ``date_columns`` and ``date_formats`` (how each text date
    column was written), ``metric`` and the scores known when the model was
    chosen, ``n_rows``, ``dataset`` (name and content hash), ``random_state``,
    ``versions`` of the libraries that fitted it, and ``sha256`` of ``MODEL``.

Loading checks the sidecar's format, structure and checksum, then asks skops which types
in the file are outside its own default trust list and refuses the file unless
every one of them is on :data:`TRUSTED_TYPES` (numpy dtypes, the compiled tree
and neighbour structures of scikit-learn, LightGBM's booster and estimators).
Anything else, such as a function or a class from an unknown module, raises
:class:`~automl_meta.exceptions.ArtifactError` naming the types. A sidecar
whose columns differ from those the pipeline was fitted on is refused too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_meta.dataset import ISO_DATES, MAX_ABS_FEATURE, as_dates, date_parts, known_category_strings, markers_as_missing
from automl_meta.exceptions import ArtifactError, DatasetError, format_problem
from automl_meta.io.atomic import check_output_file, write_files_atomic
from automl_meta.io.model_structure import check_model_structure
from automl_meta.numbers import content_checksum, jsonable
from automl_meta.versions import installed_versions

logger = logging.getLogger(__name__)

FORMAT = "automl-meta-fitted-model/1"
CHECKSUM_KEY = "sidecar_sha256"  # of the sidecar's own content: what it says of the model (task, classes, columns)
SIDECAR_SUFFIX = ".json"
REQUIRED_KEYS = ("learner", "task", "target", "columns")
COLUMN_KINDS = ("numeric", "categorical")

# Types beyond skops' default trust list that a portfolio pipeline legitimately
# holds. Patterns use fnmatch syntax; keep them as narrow as the classes allow.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "collections.OrderedDict",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.metrics._dist_metrics.*DistanceMetric*",
    "sklearn.metrics._dist_metrics.*Distance64",
    "sklearn.metrics._dist_metrics.*Distance32",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn._loss.loss.*Loss",
    "sklearn._loss.link.*Link",
    "sklearn._loss.link.Interval",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    # HistGradientBoosting keeps FunctionTransformer(partial(check_array, ...)) for its
    # categorical columns; the partial's function is a node of its own, checked separately.
    "functools.partial",
    "sklearn.utils.validation.check_array",
    # The portfolio's torch MLP, saved with its network as arrays (see _torch_as_arrays).
    "automl_meta.learners.mlp_torch.MLPTorchClassifier",
    "automl_meta.learners.mlp_torch.MLPTorchRegressor",
)
TORCH_ARRAYS = "module_arrays_"
MAX_RECORDED_CATEGORIES = 10_000  # a categorical column with more levels is saved without its list


@dataclass(frozen=True)
class FittedModel:
    """A loaded pipeline and its sidecar (see the module docstring for the keys)."""

    pipeline: Any
    info: dict
    path: Path

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.info["columns"]]


def sidecar_path(path: str | Path) -> Path:
    """Where the JSON sidecar of the model file ``path`` lives (``MODEL.json``)."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def library_versions() -> dict:
    """Versions of the libraries that fit and read a saved pipeline."""
    return installed_versions(("automl-meta", "scikit-learn", "skops", "lightgbm", "numpy", "pandas"))


def is_trusted(type_name: str) -> bool:
    """Whether ``type_name`` (``module.Qualname``) is on :data:`TRUSTED_TYPES`."""
    if "PyFunc" in type_name:  # a distance metric wrapping an arbitrary Python function: no portfolio learner has one
        return False
    return any(fnmatchcase(type_name, pattern) for pattern in TRUSTED_TYPES)


def _checked_types(data: bytes, where: str) -> list[str]:
    """The file's types outside skops' defaults, if all are trusted; else ArtifactError."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a zip or schema error from skops: not a model file
        raise ArtifactError(f"{where}: not a readable skops model file ({type(exc).__name__}: {exc})") from None
    refused = sorted(t for t in untrusted if not is_trusted(t))
    if refused:
        raise ArtifactError(
            f"{where}: refusing types that are not on the trusted list: {', '.join(refused)}; "
            "only load models written by `automl-meta recommend --fit`"
        )
    return list(untrusted)


def describe_columns(X: pd.DataFrame) -> list[dict]:
    """Name and kind (numeric or categorical) of each feature column, in order.

    A categorical column also lists its ``categories`` (sorted), up to
    :data:`MAX_RECORDED_CATEGORIES` of them, so that new data can be checked
    for values the model never saw (:func:`unseen_categories`).
    """
    columns = []
    for c in X.columns:
        if X[c].dtype != object:
            columns.append({"name": str(c), "kind": "numeric"})
            continue
        levels = sorted(X[c].dropna().unique().tolist())
        columns.append({"name": str(c), "kind": "categorical",
                        **({"categories": levels} if len(levels) <= MAX_RECORDED_CATEGORIES else {})})
    return columns


def unseen_categories(X: pd.DataFrame, info: dict, shown: int = 5) -> dict[str, dict]:
    """Categorical columns of conformed features ``X`` holding values absent when the model was fitted.

    ``{column: {"rows": how many rows, "distinct": how many such values, "values": the first ``shown``, sorted}}``;
    columns whose categories the sidecar does not list (older sidecars, very many levels) are not checked.
    """
    found = {}
    for column in info["columns"]:
        if column["kind"] != "categorical" or "categories" not in column:
            continue
        values = X[column["name"]]
        new = values.notna() & ~values.isin(column["categories"])
        if new.any():
            distinct = sorted(values[new].unique().tolist())
            found[column["name"]] = {"rows": int(new.sum()), "distinct": len(distinct), "values": distinct[:shown]}
    return found


def save_fitted_model(path: str | Path, pipeline: Any, info: dict) -> Path:
    """Write ``pipeline`` to ``path`` (skops) and ``info`` plus format, versions and checksum to the sidecar.

    ``info`` must hold at least ``learner``, ``task``, ``target`` and ``columns``
    (see :func:`describe_columns`). The pipeline is refused before anything is
    written if it holds a type that :func:`load_fitted_model` would refuse.
    Both files are written atomically (temp file, then rename).
    """
    import skops.io as sio

    problem = sidecar_problem(info)
    if problem:
        raise ArtifactError(f"fitted-model sidecar {problem}")
    path = check_output_file(path, "model.skops")
    data = sio.dumps(_torch_as_arrays(pipeline))
    _checked_types(data, f"{path} (not written)")
    sidecar = jsonable({
        "format": FORMAT,
        **info,
        **_checkpoints_used(pipeline),
        "model_file": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "versions": library_versions(),
    })
    sidecar[CHECKSUM_KEY] = content_checksum(sidecar, CHECKSUM_KEY)
    # both written before either replaces its old file: a full disk leaves the old pair, not a new model beside an old sidecar
    write_files_atomic([(path, data), (sidecar_path(path), json.dumps(sidecar, indent=2).encode())])
    logger.info("saved %s (%d bytes) and its sidecar", path, len(data))
    return path


def file_identity(path: str | Path) -> dict:
    """``{"path", "sha256"}`` of a file as it is now (sha256 None where it is gone): which one a result came from."""
    path = Path(path)
    if not path.is_file():
        return {"path": str(path), "sha256": None}
    with open(path, "rb") as handle:
        return {"path": str(path), "sha256": hashlib.file_digest(handle, "sha256").hexdigest()}


def _checkpoints_used(pipeline) -> dict:
    """The learned initialization and optimizer a fitted torch MLP started from or stepped with, each as
    :func:`file_identity` (the weights are in the model; these say where they came from)."""
    used = {}
    for _, step in getattr(pipeline, "steps", []):
        optimizer = str(getattr(step, "optimizer", ""))
        sources = {"init": getattr(step, "init", None),
                   "learned_optimizer": optimizer.removeprefix("learned:") if optimizer.startswith("learned:") else None}
        used.update({key: file_identity(value) for key, value in sources.items() if value})
    return used


def sidecar_problem(info: dict) -> str | None:
    """What makes ``info`` unusable as a sidecar (missing keys, malformed columns), or None when it is usable."""
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        return f"lacks {', '.join(missing)}"
    if not isinstance(info["learner"], str) or not isinstance(info["target"], str):
        return "holds a 'learner' or 'target' that is not text"
    if info["task"] not in ("classification", "regression"):
        return f"holds task {info['task']!r}, neither classification nor regression"
    columns = info["columns"]
    if not isinstance(columns, list) or not columns:
        return "holds no list of 'columns'"
    for i, column in enumerate(columns, 1):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            return f"holds column {i} without a 'name'"
        if column.get("kind") not in COLUMN_KINDS:
            return f"gives column {column['name']!r} the kind {column.get('kind')!r}, not {' or '.join(COLUMN_KINDS)}"
        categories = column.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, (str, int, float, bool, type(None))) for c in categories):
            return f"gives column {column['name']!r} 'categories' that are not a list of values"
    for key, kind in (("date_columns", list), ("date_formats", dict), ("classes", (list, type(None))), ("class_values", (list, type(None))),
                      ("versions", dict)):
        if key in info and not isinstance(info[key], kind):
            return f"holds {key!r} of the wrong type ({type(info[key]).__name__})"
    if info.get("class_values") is not None and len(info["class_values"]) != len(info.get("classes") or ()):
        return "holds 'class_values' that do not pair with its 'classes'"
    return None


def read_sidecar(path: str | Path) -> dict:
    """The sidecar of the model file ``path``, checked for format and structure (no model loaded).

    Its ``model_file`` becomes ``path``'s name: the pair may have been renamed since it was saved.
    """
    path = Path(path)
    if path.is_dir():
        raise ArtifactError(f"{path}: a folder, not a model file; give the file `automl-meta recommend DATA --fit FILE` wrote")
    if not path.is_file():
        raise ArtifactError(f"{path}: no such model file (write one with `automl-meta recommend DATA --fit {path.name}`)")
    side = sidecar_path(path)
    if not side.is_file():
        raise ArtifactError(f"{path}: its sidecar {side.name} is missing; keep the two files together")
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested past any sidecar
        raise ArtifactError(f"{side}: not a readable JSON sidecar ({type(exc).__name__ if isinstance(exc, RecursionError) else exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ArtifactError(f"{side}: {format_problem(info.get('format') if isinstance(info, dict) else None, FORMAT, 'model sidecar')}")
    if CHECKSUM_KEY in info and info[CHECKSUM_KEY] != content_checksum(info, CHECKSUM_KEY):  # sidecars before it have none
        raise ArtifactError(f"{side}: edited since it was written with the model (its checksum differs); "
                            "restore the one written with the model, or refit")
    problem = sidecar_problem(info)
    if problem:
        raise ArtifactError(f"{side}: the sidecar {problem}; restore the one written with the model, or refit")
    return {**info, "model_file": path.name}


def load_fitted_model(path: str | Path) -> FittedModel:
    """Load a model written by :func:`save_fitted_model`, refusing untrusted or altered files."""
    import skops.io as sio

    path = Path(path)
    info = read_sidecar(path)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != info.get("sha256"):
        raise ArtifactError(f"{path}: checksum differs from its sidecar; the file was changed or belongs to another sidecar")
    trusted = _checked_types(data, str(path))
    try:
        pipeline = _torch_from_arrays(sio.loads(data, trusted=trusted))
        check_model_structure(pipeline, str(path))  # compiled trees follow their stored indices unchecked
    except ArtifactError:
        raise
    except Exception as exc:  # skops raises many types while rebuilding objects
        raise ArtifactError(f"{path}: cannot rebuild the model ({type(exc).__name__}: {exc})") from None
    fitted_on = getattr(pipeline, "feature_names_in_", None)
    listed = [c["name"] for c in info["columns"]]
    if fitted_on is not None and list(fitted_on) != listed:
        raise ArtifactError(
            f"{sidecar_path(path)}: lists the columns {_names(listed)}, but the model was fitted on {_names(fitted_on)}; "
            "restore the sidecar written with the model, or refit"
        )
    _check_task_and_classes(pipeline, info, sidecar_path(path))
    saved, current = info.get("versions") or {}, library_versions()
    rebuilt = ("scikit-learn", "lightgbm") if str(info.get("learner", "")).startswith("lightgbm") else ("scikit-learn",)
    for package in rebuilt:  # the libraries whose objects the file rebuilds
        if saved.get(package) and current.get(package) and saved[package].split(".")[:2] != current[package].split(".")[:2]:
            logger.warning("%s was fitted with %s %s; this is %s: refit it if its predictions look off",
                           path, package, saved[package], current[package])
    if info.get("task") == "classification" and "class_values" not in info:
        logger.warning("%s was saved by an earlier automl-meta that did not record its labels' types: its predictions come "
                       "back as text; refit it (`automl-meta recommend DATA --fit %s`) for labels as the table wrote them",
                       path, shlex.quote(str(path)))
    return FittedModel(pipeline=pipeline, info=info, path=path)


def _check_task_and_classes(pipeline, info: dict, side: Path) -> None:
    """The sidecar's task and classes must be the model's: predictions are read and labelled by them."""
    classes = getattr(pipeline, "classes_", None)
    if (info["task"] == "classification") != (classes is not None):
        raise ArtifactError(f"{side}: says the task is {info['task']}, but the model is a "
                            f"{'classifier' if classes is not None else 'regressor'}; restore the sidecar written with it, or refit")
    if classes is not None and info.get("classes") is not None and not {str(c) for c in classes} <= set(map(str, info["classes"])):
        raise ArtifactError(f"{side}: lists the classes {_names(info['classes'])}, but the model predicts {_names(classes)}; "
                            "restore the sidecar written with it, or refit")


def _names(names, shown: int = 10) -> str:
    """The first ``shown`` of ``names``, comma-separated, with ``...`` when there are more."""
    names = list(names)
    return ", ".join(map(str, names[:shown])) + (", ..." if len(names) > shown else "")


def _torch_as_arrays(pipeline):
    """A copy of ``pipeline`` whose torch networks (``module_``) are replaced by numpy arrays.

    skops cannot store torch tensors safely; the portfolio's MLP keeps a plain
    ``nn.Sequential`` built by :func:`automl_meta.neural.models.mlp`, which is
    fully described by its Linear layers' weights and the estimator's
    ``activation``. The pipeline passed in is left unchanged.
    """
    import copy
    import sys

    torch = sys.modules.get("torch")
    steps = getattr(pipeline, "steps", None)
    if torch is None or steps is None:
        return pipeline
    changed = []
    for name, step in steps:
        module = getattr(step, "module_", None)
        if isinstance(module, torch.nn.Module):
            step = copy.copy(step)
            del step.module_
            if isinstance(getattr(step, "init", None), os.PathLike):  # a Path is no type skops may load: the same path as text
                step.init = os.fspath(step.init)
            state = {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}
            setattr(step, TORCH_ARRAYS, {"activation": str(step.activation_), "state_dict": state})  # as built, not None
        changed.append((name, step))
    out = copy.copy(pipeline)
    out.steps = changed
    return out


def _torch_from_arrays(pipeline):
    """Rebuild the torch networks that :func:`_torch_as_arrays` stored as arrays (in place)."""
    for _, step in getattr(pipeline, "steps", []):
        stored = getattr(step, TORCH_ARRAYS, None)
        if stored is None:
            continue
        import torch

        from automl_meta.neural.models import mlp

        state = stored["state_dict"]
        weights = [state[k] for k in sorted((k for k in state if k.endswith(".weight")), key=lambda k: int(k.split(".")[0]))]
        if not weights:
            raise ArtifactError("a saved MLP has no layer weights")
        hidden = tuple(int(w.shape[0]) for w in weights[:-1])
        module = mlp(int(weights[0].shape[1]), hidden, int(weights[-1].shape[0]), stored["activation"])
        try:
            module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
        except RuntimeError as exc:
            raise ArtifactError(f"a saved MLP does not match its architecture ({exc})") from None
        module.eval()
        delattr(step, TORCH_ARRAYS)
        step.module_ = module
    return pipeline


def conform_features(frame: pd.DataFrame, info: dict, name: str = "data") -> pd.DataFrame:
    """The columns a saved model was fitted on, in its order and type convention.

    Extra columns (the target, ID columns) are ignored; date columns listed in
    ``info["date_columns"]`` become the same numeric parts as at fitting time
    (:func:`~automl_meta.dataset.date_parts`), read in the format they had then
    (``info["date_formats"]``; ISO 8601 when absent); a missing column, a
    non-numeric value in a numeric column, a number beyond
    :data:`~automl_meta.dataset.MAX_ABS_FEATURE` (refused at fitting too), a
    value that is no date in that format, or a table without rows raises
    :class:`DatasetError`.
    """
    if len(frame) == 0:
        raise DatasetError(f"{name}: no data rows (header only?); give at least one row to predict")
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    markers_as_missing(frame)  # an empty cell or '?' is missing, as it was when the model was fitted
    spec = info["columns"]
    # a model fitted before parquet and ARFF names lost their surrounding spaces knows 'x ': the table's 'x' is it
    padded = {c["name"].strip(): c["name"] for c in spec if c["name"] != c["name"].strip() and c["name"] not in frame.columns}
    frame = frame.rename(columns={k: v for k, v in padded.items() if k in frame.columns and k not in {c["name"] for c in spec}})
    formats = info.get("date_formats", {})  # older sidecars: ISO 8601 text or datetime columns
    for date in info.get("date_columns", []):  # replaced by their numeric parts when the model was fitted
        if date not in frame.columns:
            continue
        fmt = formats.get(date, ISO_DATES)
        stamps = as_dates(frame[date], fmt)
        unread = frame[date].notna() & stamps.isna()
        if unread.any():
            example = frame[date][unread].iloc[0]
            written = "ISO 8601 dates" if fmt == ISO_DATES else f"dates as {fmt}"
            raise DatasetError(
                f"{name}: column {date!r} held {written} when the model was fitted, but holds {example!r}; "
                "fix the value or refit"
            )
        for part, values in date_parts(date, stamps, varying_only=False).items():
            if part not in frame.columns:
                frame[part] = values
    missing = [c["name"] for c in spec if c["name"] not in frame.columns]
    if missing:
        dates = info.get("date_columns", [])
        # a missing date part means its date column is missing: name the column of the table
        missing = list(dict.fromkeys(next((d for d in dates if m.startswith(f"{d}.")), m) for m in missing))
        inputs = list(dict.fromkeys(next((d for d in dates if c["name"].startswith(f"{d}.")), c["name"]) for c in spec))
        raise DatasetError(
            f"{name}: columns the model was fitted on are missing: {_names(missing)} "
            f"(it reads {len(inputs)} columns; its sidecar {info.get('model_file', 'MODEL')}.json lists them)"
        )
    columns = {}
    for column in spec:
        raw = frame[column["name"]]
        if column["kind"] == "numeric":
            values = raw.astype("float64") if raw.dtype == bool else pd.to_numeric(raw, errors="coerce")
            bad = values.isna() & raw.notna()
            if bad.any():
                example = raw[bad].iloc[0]
                raise DatasetError(
                    f"{name}: column {column['name']!r} was numeric when the model was fitted, "
                    f"but holds {example!r}; fix the value or refit"
                )
            values = values.astype("float64").replace([np.inf, -np.inf], np.nan)
            too_large = values.abs() > MAX_ABS_FEATURE
            if too_large.any():
                raise DatasetError(
                    f"{name}: column {column['name']!r} holds {values[too_large].iloc[0]:.3g}, beyond {MAX_ABS_FEATURE:.3g}, "
                    "the largest float32 that tree learners read (fitting refuses it too); fix the value or rescale "
                    "the column as it was when the model was fitted"
                )
            columns[column["name"]] = values
        else:
            columns[column["name"]] = known_category_strings(raw, column.get("categories"))
    return pd.DataFrame(columns, index=frame.index).reset_index(drop=True)
