"""Learned initializations as checkpoint contents: the manifest and the way back to a meta-learner.

No file I/O here: :func:`automl_meta.io.checkpoint.save_checkpoint` and
``load_checkpoint(path, kind="init")`` write and read what these functions
build. The ``state_dict`` keys are the backbone's own (for an MLP exactly those
of :func:`automl_meta.neural.models.mlp`), so the portfolio's ``mlp_torch``
loads a tabular init directly; Meta-SGD rates are extra ``inner_lr.*`` keys.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch

from automl_meta.exceptions import ArtifactError
from automl_meta.neural.conv4 import build_backbone
from automl_meta.neural.functional import BN_MODES, LOSSES
from automl_meta.neural.meta_learners import ALGORITHMS, make_meta_learner
from automl_meta.neural.task_sources import TASK_SOURCES


@contextmanager
def _seeded(seed: int):
    """Seed torch's default generator inside the block only (module constructors draw from it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def new_backbone(architecture: dict, seed: int) -> torch.nn.Module:
    """A freshly initialized backbone, reproducible from ``seed`` without touching global state."""
    with _seeded(seed):
        return build_backbone(architecture)


def learner_options(hyperparameters: dict, loss: str, bn_mode: str, algorithm: str) -> dict:
    """Constructor options of the meta-learner from a manifest's hyperparameters."""
    options = {"inner_lr": hyperparameters["inner_lr"], "inner_steps": hyperparameters["inner_steps"], "loss": loss, "bn_mode": bn_mode}
    options["compile"] = bool(hyperparameters.get("compile", False))
    if algorithm == "reptile":
        options["inner_optimizer"] = hyperparameters.get("inner_optimizer", "sgd")
        options["inner_batch"] = hyperparameters.get("inner_batch")
        options["persistent_adam"] = bool(hyperparameters.get("persistent_adam", True))
    else:
        options["learn_inner_lr"] = bool(hyperparameters.get("learn_inner_lr", False))
    return options


def non_finite_tensors(state_dict: dict) -> list[str]:
    """The names of the tensors of ``state_dict`` holding a NaN or an infinity (a diverged meta-training)."""
    return [k for k, v in state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def init_manifest(*, algorithm, source, splits, hyperparameters: dict, seed: int, result=None) -> dict:
    """The JSON manifest of a learned initialization (``kind="init"``)."""
    manifest = {
        "kind": "init",
        "architecture": splits.architecture,
        "task_source": source,
        "algorithm": algorithm,
        "loss": splits.loss,
        "bn_mode": splits.bn_mode,
        "hyperparameters": hyperparameters,
        "seed": int(seed),
        "tasks": {k: v for k, v in splits.info.items() if k not in ("input_columns",)},
    }
    if "input_columns" in splits.info:
        manifest["input_columns"] = list(splits.info["input_columns"])
    if result is not None:
        manifest["training"] = {"iterations": result.iterations, "seconds": round(result.seconds, 2), "validation": result.validation[-1:]}
    return manifest


def check_init_manifest(manifest: dict) -> None:
    """Raise :class:`ArtifactError` naming the first entry an init manifest lacks or holds wrong."""

    def is_count(value, least: int = 1) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= least

    def is_rate(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0

    def are_names(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    tasks = manifest.get("tasks")
    hyper = manifest.get("hyperparameters")
    tabular = manifest.get("task_source") == "tabular"
    problems = [
        (manifest.get("task_source") in TASK_SOURCES, f"task_source (one of {', '.join(TASK_SOURCES)})"),
        (manifest.get("algorithm") in ALGORITHMS, f"algorithm (one of {', '.join(ALGORITHMS)})"),
        (isinstance(manifest.get("architecture"), dict), "architecture (an object)"),
        (manifest.get("loss") in LOSSES, f"loss (one of {', '.join(LOSSES)})"),
        (manifest.get("bn_mode") in BN_MODES, f"bn_mode (one of {', '.join(BN_MODES)})"),
        (isinstance(hyper, dict) and is_rate(hyper.get("inner_lr")) and is_count(hyper.get("inner_steps"), 0)
         and is_count(hyper.get("meta_batch", 1)), "hyperparameters (inner_lr > 0, inner_steps >= 0, meta_batch >= 1)"),
        (isinstance(tasks, dict) and all(is_count(tasks.get(k)) for k in ("ways", "shots", "queries")), "tasks (ways, shots and queries >= 1)"),
        (not tabular or isinstance(tasks, dict) and all(are_names(tasks.get(k, [])) for k in
                                                         ("input_columns", "categorical_columns", "numeric_columns")),
         "tasks (input, categorical and numeric columns as lists of names)"),
    ]
    wrong = next((what for ok, what in problems if not ok), None)
    if wrong is not None:
        raise ArtifactError(f"the init checkpoint's manifest lacks a valid {wrong}; write it again with `automl-meta meta-train`")


def learner_from_init(state_dict: dict, manifest: dict, device="cpu", seed: int = 0, **overrides):
    """Rebuild the meta-learner of a checkpoint (``overrides`` replace constructor options)."""
    check_init_manifest(manifest)
    try:
        module = new_backbone(manifest["architecture"], seed)
        options = learner_options(manifest["hyperparameters"], manifest["loss"], manifest["bn_mode"], manifest["algorithm"])
        options.update(overrides)
        learner = make_meta_learner(manifest["algorithm"], module, **options)
        learner.load_state_dict(state_dict)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"the init checkpoint does not match its manifest ({type(exc).__name__}: {exc}); "
                            "write it again with `automl-meta meta-train`") from None
    return learner.to(device)
