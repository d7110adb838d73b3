"""Save and load a fitted :class:`~automl_meta.selection.MetaModel` without pickle.

Two files per model, both text:

- ``<prefix>.lgb.txt``: every LightGBM booster as ``Booster.model_to_string()``,
  each after a line ``#@booster <key>``;
- ``<prefix>.json``: the manifest: format, versions, hyperparameters, learner and
  meta-feature names, training datasets, direction and normalization of the scores,
  the min-max statistics of the meta-features (for ``nearest``), the training scores
  (for ``predict_interval``) and the SHA-256 of the booster file.

Both files are built and serialized in full before either is written, then
written beside their targets and moved in together, so a save that fails
leaves the previous pair loadable. JSON has no NaN or infinity: a non-finite
number is stored as ``null`` (read back as NaN).

LightGBM is imported only when a model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from automl_meta.exceptions import ArtifactError, MetaDBVersionError, UsageError
from automl_meta.io.atomic import write_files_atomic
from automl_meta.numbers import content_checksum, jsonable

FORMAT = "automl-meta-metamodel"
FORMAT_VERSION = 1
CHECKSUM_KEY = "manifest_sha256"  # of the manifest's own content: its learners, scores and space, which the booster's checksum does not cover
MARK = "#@booster "


def _paths(directory: str | Path, prefix: str) -> tuple[Path, Path]:
    directory = Path(directory)
    return directory / f"{prefix}.json", directory / f"{prefix}.lgb.txt"


def _versions() -> dict:
    import lightgbm
    import sklearn

    from automl_meta import __version__

    return {"automl_meta": __version__, "lightgbm": lightgbm.__version__, "scikit_learn": sklearn.__version__,
            "python": platform.python_version()}


def _stored_param(name: str, value):
    """A hyperparameter as JSON keeps it: a numpy scalar as its Python number (np.int64 from a parameter grid, np.bool_);
    a random_state that is a generator as None (the boosters hold what it drew); anything else is refused, since a
    parameter written as null would load as another model."""
    value = jsonable(value)  # a numpy scalar as its Python number (an array as a list: refused below)
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if name == "random_state":
        return None
    raise UsageError(f"cannot save the meta-model: its parameter {name}={value!r} is no number, text or bool; "
                     "give it as one (e.g. an int, not a numpy array)")


def _manifest(model, boosters: list[str], booster_path: Path, text: str, extra: dict | None) -> dict:
    """Everything but the boosters, as JSON values."""
    from automl_meta.selection.metamodel import TRAINING_VERSION

    return jsonable({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "training_version": TRAINING_VERSION,
        "versions": _versions(),
        "params": {k: _stored_param(k, v) for k, v in model.get_params().items()},
        "learners": model.learners_,
        "feature_names": model.feature_names_,
        "landmarkers": model.landmarkers_,
        "training_datasets": model.training_datasets_,
        "maximize": model.maximize_,
        "normalization": {"orient": "higher is better", "log10": bool(model.log_scores), "per_dataset": "min-max",
                          "floor": model.score_floor},
        "portfolio": model.portfolio_,
        "mean_normalized": model.mean_normalized_.to_dict(),
        "pairwise_constants": model.constants_,
        "boosters": boosters,
        "space": model.space_.to_dict(),
        "train_scores": model.train_scores_.to_numpy().tolist(),
        "booster_file": booster_path.name,
        "booster_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "extra": extra or {},
    })


def _write_pair(booster_path: Path, text: str, manifest_path: Path, manifest_text: str) -> None:
    """Write both files beside their targets, then move both in: an error while writing leaves the old pair."""
    write_files_atomic([(booster_path, text.encode("utf-8")), (manifest_path, manifest_text.encode("utf-8"))])


def save_metamodel(model, directory: str | Path, prefix: str = "metamodel", extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``<prefix>.json`` and ``<prefix>.lgb.txt`` in ``directory``; returns both paths.

    ``extra`` is stored in the manifest as is (e.g. the task, metric and meta-database it came from).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "boosters_")
    manifest_path, booster_path = _paths(directory, prefix)
    boosters = {f"model:{k}": b for k, b in model.boosters_.items()}
    boosters.update({f"range:{k}": b for k, b in model.range_boosters_.items()})
    text = "".join(f"{MARK}{key}\n{b.model_to_string()}\n" for key, b in boosters.items())
    manifest = _manifest(model, list(boosters), booster_path, text, extra)
    try:
        manifest[CHECKSUM_KEY] = content_checksum(manifest, CHECKSUM_KEY)
        manifest_text = json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:  # only ``extra`` can hold what JSON cannot store
        raise UsageError(f"{manifest_path}: not saved, the manifest cannot be written as JSON ({exc}); "
                         "pass extra with text, numbers, lists and dicts only") from None
    _write_pair(booster_path, text, manifest_path, manifest_text)
    return manifest_path, booster_path


def read_manifest(directory: str | Path, prefix: str = "metamodel") -> dict:
    """The JSON manifest alone (cheap: no LightGBM import)."""
    manifest_path, _ = _paths(directory, prefix)
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path}: no meta-model manifest; train one with `automl-meta selector train`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{manifest_path}: not valid JSON ({type(exc).__name__ if isinstance(exc, RecursionError) else exc}); retrain with `automl-meta selector train`") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{manifest_path}: not an automl-meta meta-model manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise MetaDBVersionError(manifest.get("format_version"), FORMAT_VERSION, what="meta-model format", where=manifest_path,
                                 remake="retrain it with `automl-meta selector train`")
    return manifest


def _split_boosters(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    key, lines = None, []
    for line in text.splitlines(keepends=True):
        if line.startswith(MARK):
            if key is not None:
                parts[key] = "".join(lines)
            key, lines = line[len(MARK):].strip(), []
        else:
            lines.append(line)
    if key is not None:
        parts[key] = "".join(lines)
    return parts


def load_metamodel(directory: str | Path, prefix: str = "metamodel"):
    """Rebuild the fitted :class:`~automl_meta.selection.MetaModel` saved by :func:`save_metamodel`."""
    manifest = read_manifest(directory, prefix)
    manifest_path, booster_path = _paths(directory, prefix)
    if CHECKSUM_KEY in manifest and manifest[CHECKSUM_KEY] != content_checksum(manifest, CHECKSUM_KEY):  # older ones have none
        raise ArtifactError(f"{manifest_path}: checksum differs from its content (edited or damaged); retrain the meta-model")
    try:
        return _rebuild(manifest, manifest_path, booster_path)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a field missing or of another shape
        raise ArtifactError(f"{manifest_path}: does not describe a meta-model ({type(exc).__name__}: {exc}); "
                            "retrain the meta-model") from None


def _rebuild(manifest: dict, manifest_path: Path, booster_path: Path):
    import lightgbm as lgb

    from automl_meta.selection.metamodel import MetaModel
    from automl_meta.selection.neighbours import MinMaxSpace

    if not booster_path.is_file():
        raise ArtifactError(f"{booster_path}: booster file missing beside {manifest_path.name}; retrain the meta-model")
    text = booster_path.read_text(encoding="utf-8")
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != manifest.get("booster_sha256"):
        raise ArtifactError(f"{booster_path}: checksum differs from the manifest (edited or truncated); retrain the meta-model")
    texts = _split_boosters(text)
    missing = [k for k in manifest["boosters"] if k not in texts]
    if missing:
        raise ArtifactError(f"{booster_path}: boosters {missing[:3]} listed in the manifest are absent")
    try:
        boosters = {k: lgb.Booster(model_str=texts[k]) for k in manifest["boosters"]}
    except lgb.basic.LightGBMError as exc:
        raise ArtifactError(f"{booster_path}: LightGBM cannot read it ({exc})") from None
    model = MetaModel(**manifest["params"])
    model.maximize_ = bool(manifest["maximize"])
    model.learners_ = list(manifest["learners"])
    model.feature_names_ = list(manifest["feature_names"])
    model.landmarkers_ = list(manifest.get("landmarkers", []))  # absent before landmarker contrasts existed
    model.training_datasets_ = list(manifest["training_datasets"])
    model.portfolio_ = list(manifest["portfolio"])
    model.mean_normalized_ = pd.Series(manifest["mean_normalized"], dtype=float).reindex(model.learners_)
    model.constants_ = {k: np.nan if v is None else float(v) for k, v in manifest["pairwise_constants"].items()}
    model.boosters_ = {k.split(":", 1)[1]: b for k, b in boosters.items() if k.startswith("model:")}
    model.range_boosters_ = {k.split(":", 1)[1]: b for k, b in boosters.items() if k.startswith("range:")}
    if set(model.range_boosters_) != {"high", "spread"}:
        raise ArtifactError(
            f"{manifest_path}: trained by an older automl-meta (score range {sorted(model.range_boosters_)}); "
            "retrain it with `automl-meta selector train`"
        )
    model.space_ = MinMaxSpace.from_dict(manifest["space"])
    values = np.array([[np.nan if v is None else v for v in row] for row in manifest["train_scores"]], dtype=float)
    model.train_scores_ = pd.DataFrame(values.reshape(len(model.training_datasets_), len(model.learners_)),
                                       index=model.training_datasets_, columns=model.learners_)
    model.manifest_ = manifest
    return model


def shipped_prefix(task: str) -> str:
    """File prefix of the shipped meta-model of ``task`` (``meta_db/metamodel_<task>.json``; ``aslib:X`` as ``aslib_X``)."""
    return "metamodel_" + "".join(c if c.isalnum() or c in "-_." else "_" for c in task)


def load_shipped_metamodel(task: str, metric: str | None = None):
    """``(model, info)`` for the meta-model shipped in ``automl_meta/meta_db``, or None when absent.

    ``info`` holds ``task``, ``metric``, ``maximize``, ``n_datasets`` and ``training_version``; a
    shipped model trained for another metric than ``metric`` counts as absent, and one trained
    another way (``training_version``) comes back as ``(None, info)``: its files may not load.
    """
    from automl_meta.meta_db import shipped_path
    from automl_meta.selection.metamodel import TRAINING_VERSION

    directory = shipped_path("")
    if not (directory / f"{shipped_prefix(task)}.json").is_file():
        return None
    manifest = read_manifest(directory, shipped_prefix(task))
    info = dict(manifest.get("extra") or {})
    if metric is not None and info.get("metric") != metric:
        return None
    info.setdefault("training_version", manifest.get("training_version", "1"))
    info.setdefault("maximize", manifest.get("maximize", True))
    info.setdefault("n_datasets", len(manifest.get("training_datasets", [])))
    if info["training_version"] != TRAINING_VERSION:
        return None, info
    return load_metamodel(directory, shipped_prefix(task)), info
