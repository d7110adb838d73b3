"""Read the Omniglot 28x28 arrays (``omniglot_background_28.npz``, ``omniglot_evaluation_28.npz``).

The folder comes from the caller (a CLI option) or the environment variable
``AUTOML_META_OMNIGLOT``; nothing is hard-coded. Both files are read with
``np.load`` without pickle and joined in ``char_id`` order (1..1623).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from automl_meta.exceptions import DatasetError

ENV_VAR = "AUTOML_META_OMNIGLOT"
FILES = ("omniglot_background_28.npz", "omniglot_evaluation_28.npz")


def omniglot_folder(path: str | Path | None = None) -> Path:
    """The folder holding the npz files: ``path``, else ``$AUTOML_META_OMNIGLOT``."""
    if path is None:
        path = os.environ.get(ENV_VAR)
    if not path:
        raise DatasetError(f"no Omniglot folder given; pass --data or set {ENV_VAR} to the folder with {FILES[0]}")
    folder = Path(path)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise DatasetError(f"{folder}: missing {', '.join(missing)}; point --data or {ENV_VAR} at the Omniglot npz folder")
    return folder


NEEDED = f"the Omniglot folder needs {FILES[0]} and {FILES[1]}, npz archives with 'images' and 'char_id' arrays"


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images, char_id)`` of one npz file, refused with what the folder needs when it is not one.

    An npz is a zip archive; anything else (a text file, a lone .npy) made
    ``np.load`` talk about pickles or return a bare array, which says nothing
    about what is wrong with the file.
    """
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path}: not an npz archive; {NEEDED}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [key for key in ("images", "char_id") if key not in z.files]
            if missing:
                raise DatasetError(f"{path}: the archive has no {' or '.join(map(repr, missing))} array; {NEEDED}")
            images, ids = np.asarray(z["images"], dtype=np.uint8), np.asarray(z["char_id"], dtype=np.int64)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: not a readable Omniglot array file ({exc}); {NEEDED}") from None
    if images.ndim != 4 or images.shape[1:] != (20, 28, 28) or ids.shape != images.shape[:1]:
        raise DatasetError(f"{path}: expected images of shape (n, 20, 28, 28) and n char_id values, found {images.shape} and {ids.shape}")
    return images, ids


def load_omniglot(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, char_id)``: uint8 ``(1623, 20, 28, 28)`` with 255 = background, and int ids."""
    folder = omniglot_folder(path)
    images, ids = zip(*(_read_npz(folder / name) for name in FILES))
    images_all, ids_all = np.concatenate(images), np.concatenate(ids)
    order = np.argsort(ids_all, kind="stable")
    return images_all[order], ids_all[order]
