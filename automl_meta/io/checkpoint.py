"""One file per checkpoint: tensors plus a JSON manifest, loaded without pickle.

The file is ``torch.save({"format": FORMAT, "manifest": "<json>", "state_dict": {...}})``
and is read back with ``torch.load(weights_only=True)``, so a checkpoint from an
untrusted source cannot run code. The manifest records what the tensors mean
(kind, architecture, algorithm, hyperparameters, seed, versions).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from automl_meta.exceptions import ArtifactError
from automl_meta.io.atomic import atomic_path

FORMAT = "automl-meta-checkpoint/1"


def library_versions() -> dict:
    """Versions worth recording next to any trained artifact."""
    from automl_meta import __version__

    return {"automl_meta": __version__, "torch": torch.__version__, "python": platform.python_version()}


def save_checkpoint(path: str | Path, state_dict: dict, manifest: dict) -> Path:
    """Write atomically (temp file + rename): a crash never leaves half a checkpoint."""
    path = Path(path)
    manifest = {**manifest, "versions": {**library_versions(), **manifest.get("versions", {})}}
    tensors = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "manifest": json.dumps(manifest, sort_keys=True), "state_dict": tensors}, tmp)
    return path


def load_checkpoint(path: str | Path, kind: str | None = None) -> tuple[dict, dict]:
    """Return ``(state_dict, manifest)``; ``kind`` checks ``manifest["kind"]``."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise ArtifactError(f"{path}: not a readable automl-meta checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(f"{path}: not an automl-meta checkpoint (format {FORMAT} expected)")
    manifest = json.loads(payload["manifest"])
    if kind is not None and manifest.get("kind") != kind:
        raise ArtifactError(f"{path}: holds a {manifest.get('kind')!r} checkpoint, but a {kind!r} one is needed")
    return payload["state_dict"], manifest
