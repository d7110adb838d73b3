"""Write a file so that a crash or an error never leaves half of it, nor loses the old one."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from automl_meta.exceptions import ArtifactError, UsageError


def check_output_file(path: str | Path, example: str, inputs: dict[str, str | Path | None] | None = None) -> Path:
    """``path`` as a Path, refused before any work when writing it would fail or lose a file.

    :class:`ArtifactError` when ``path`` is a folder (an empty name is the current
    folder) or lies under a file; :class:`UsageError` when it is the same file as
    one of ``inputs`` (``{"the model": path, ...}``; None values are skipped),
    whether it exists yet or not. ``example`` is a file name to suggest.
    """
    path = Path(path)
    if path.is_dir():
        raise ArtifactError(f"{path}: is a folder; give a file name, e.g. {example}")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ArtifactError(f"{path}: {parent} is a file, not a folder; give a path in a folder, e.g. {example}")
    if parent is not None:
        check_writable(parent, path, example)
    for what, source in (inputs or {}).items():
        if source is not None and (path.resolve() == Path(source).resolve() or (path.exists() and Path(source).exists() and path.samefile(source))):
            raise UsageError(f"{path}: is {what}; writing there would replace it, give another file, e.g. {example}")
    return path


def check_writable(folder: Path, path: str | Path, example: str) -> None:
    """Refuse ``path`` (:class:`ArtifactError`) when ``folder``, where it will be written, takes no new file: a folder
    that refuses one fails the last write, after all the work, so one is tried now (and removed). A folder still to be
    made is judged by its nearest existing one."""
    folder = next((p for p in (Path(folder), *Path(folder).parents) if p.exists()), Path(folder))
    try:
        handle, probe = tempfile.mkstemp(prefix=".automl-meta-probe.", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot write in {folder} ({exc.strerror or exc}); check its permissions, "
                            f"or give a path in another folder, e.g. {example}") from None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    The parent folder is created. Write the whole file to the yielded path
    (``torch.save``, ``DataFrame.to_csv``, ``Path.write_bytes`` ...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fresh name the writer creates itself, so the file gets the usual permissions (umask), not mkstemp's 0600
    # the name cut to 200 bytes' worth: a legal name of up to 255 bytes must not make an illegal temporary one
    stem = path.name.encode("utf-8")[:200].decode("utf-8", errors="ignore")
    tmp = path.with_name(f".{stem}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_files_atomic(files: Sequence[tuple[str | Path, bytes]]) -> None:
    """Write every ``(path, data)`` beside its target, then move all in: an error while writing (a full disk)
    leaves every old file as it was, never a new file beside an old one it belongs with (a model and its sidecar)."""
    with contextlib.ExitStack() as stack:
        for path, data in files:
            stack.enter_context(atomic_path(path)).write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def expanded(path: str | Path, given_as: str) -> Path:
    """``path`` with ``~`` expanded; a home folder that cannot be found is a usage error naming where the path came from."""
    try:
        return Path(path).expanduser()
    except RuntimeError as exc:  # ~nosuchuser, or no HOME at all
        raise UsageError(f"{given_as}{path}: {str(exc).rstrip('.')}; give a path without ~, or with the ~ of a user that exists") from None
