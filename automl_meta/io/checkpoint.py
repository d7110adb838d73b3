"""One file per checkpoint: tensors plus a JSON manifest, loaded without pickle.

The file is ``torch.save({"format": FORMAT, "manifest": "<json>", "state_dict": {...},
"sha256": "<hex>"})`` and is read back with ``torch.load(weights_only=True)``, so a
checkpoint from an untrusted source cannot run code. The manifest records what the
tensors mean (kind, architecture, algorithm, hyperparameters, seed, versions); the
checksum covers the tensors and the manifest, so a damaged byte is refused rather
than trained or evaluated with (torch checks no checksum of its own on loading).
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from automl_meta.exceptions import ArtifactError, UsageError, format_problem
from automl_meta.io.atomic import check_output_file, write_bytes_atomic

FORMAT = "automl-meta-checkpoint/1"
WRITTEN_DTYPES = (torch.float32, torch.float64)  # weights, and Reptile's Adam step count


def library_versions() -> dict:
    """Versions worth recording next to any trained artifact."""
    from automl_meta import __version__

    return {"automl_meta": __version__, "torch": torch.__version__, "python": platform.python_version()}


def save_checkpoint(path: str | Path, state_dict: dict, manifest: dict) -> Path:
    """Write atomically (temp file + rename): a crash never leaves half a checkpoint."""
    path = Path(path)
    manifest = {**manifest, "versions": {**library_versions(), **manifest.get("versions", {})}}
    tensors = {k: v.detach().cpu().clone() for k, v in state_dict.items()}
    text = json.dumps(manifest, sort_keys=True)
    buffer = io.BytesIO()  # serialized first: torch's own file writer reports a full disk as "unexpected pos"
    torch.save({"format": FORMAT, "manifest": text, "state_dict": tensors, "sha256": checksum(tensors, text)}, buffer)
    try:
        write_bytes_atomic(path, buffer.getvalue())
    except OSError as exc:  # a full disk: name the file
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    return path


def checksum(tensors: dict, manifest_text: str) -> str:
    """SHA-256 of the manifest's text and of each tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256(manifest_text.encode("utf-8"))
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"\0{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode("utf-8"))
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_checkpoint(path: str | Path, kind: str | None = None) -> tuple[dict, dict]:
    """Return ``(state_dict, manifest)``; ``kind`` checks ``manifest["kind"]``."""
    path = Path(path)
    if path.is_dir():
        raise ArtifactError(f"{path}: a folder, not a checkpoint; give the .pt file that meta-train or optimizer train wrote")
    if not path.is_file():
        raise ArtifactError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():  # torch warns of the pickle protocol of a file that is no checkpoint: refused below
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise ArtifactError(f"{path}: not a readable automl-meta checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(f"{path}: {format_problem(payload.get('format') if isinstance(payload, dict) else None, FORMAT, 'checkpoint')}")
    missing = [key for key in ("manifest", "state_dict") if key not in payload]
    if missing:
        raise ArtifactError(f"{path}: the checkpoint has no {' or '.join(missing)} entry; write it again with the command that made it")
    try:
        manifest = json.loads(payload["manifest"])
    except (TypeError, ValueError, RecursionError):  # not a string, not JSON, or nested past any manifest
        raise ArtifactError(f"{path}: the checkpoint's manifest is not JSON; write it again with the command that made it") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: the checkpoint's manifest is a JSON {type(manifest).__name__}, not an object; write it again with the command that made it")
    state_dict = payload["state_dict"]
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ArtifactError(f"{path}: the checkpoint's state_dict is not a mapping of names to tensors; write it again with the command that made it")
    odd = next((k for k, v in state_dict.items() if v.dtype not in WRITTEN_DTYPES and not k.endswith("num_batches_tracked")), None)
    if odd is not None:  # half precision or integer weights: a file made or converted elsewhere (BatchNorm's counter aside)
        raise ArtifactError(f"{path}: the checkpoint's {odd!r} is {state_dict[odd].dtype}, not float32 as automl-meta writes "
                            "its weights; write it again with the command that made it")
    if "sha256" in payload and payload["sha256"] != checksum(state_dict, payload["manifest"]):  # older files have none
        raise ArtifactError(f"{path}: damaged (its checksum differs from the one written with it); "
                            "write it again with the command that made it")
    if kind is not None and manifest.get("kind") != kind:
        maker = {"init": "`automl-meta meta-train`", "learned_optimizer": "`automl-meta optimizer train`"}.get(kind)
        held = manifest.get("kind")
        article = lambda word: "an" if str(word)[:1] in "aeiou" else "a"  # noqa: E731
        raise ArtifactError(f"{path}: holds {article(held)} {held!r} checkpoint, but {article(kind)} "
                            f"{kind!r} one is needed" + (f" (written by {maker})" if maker else ""))
    broken = next((k for k, v in state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if broken is not None:  # training never writes them (a diverged run writes nothing), so the file was damaged
        raise ArtifactError(f"{path}: the checkpoint's {broken!r} holds values that are not finite (NaN or inf); "
                            "the file is damaged: write it again with the command that made it")
    return state_dict, manifest


@contextmanager
def about(path: str | Path) -> Iterator[None]:
    """Inside, an :class:`ArtifactError` that does not name ``path`` is raised again naming it first: what reads a
    checkpoint's manifest and tensors (a learner, an optimizer) does not know the file they came from."""
    try:
        yield
    except ArtifactError as exc:
        if str(path) in str(exc):
            raise
        raise ArtifactError(f"{path}: {exc}") from None


def check_output_path(path: str | Path, example: str, inputs: dict | None = None, suffix: str | None = None) -> Path:
    """An output file (a checkpoint, a figure) checked before any training, so a bad path costs no work.

    What :func:`~automl_meta.io.atomic.check_output_file` refuses (exit 2), and
    with ``suffix`` (``".png"``) a name without one gets it, as
    matplotlib would, and another suffix is refused. Returns the path to write.
    """
    path = Path(path)
    if suffix is not None and path.name and not path.is_dir():  # a folder ('.', '/') is refused below, named as given
        if not path.suffix:
            path = path.with_name(path.name + suffix)
        elif path.suffix.lower() != suffix:
            raise UsageError(f"{path}: the figure is written as {suffix[1:].upper()}; give a name ending in {suffix}, e.g. {example}")
    return check_output_file(path, example, inputs)
