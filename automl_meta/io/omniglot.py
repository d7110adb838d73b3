"""Read the Omniglot 28x28 arrays (``omniglot_background_28.npz``, ``omniglot_evaluation_28.npz``).

The folder comes from the caller (a CLI option) or the environment variable
``AUTOML_META_OMNIGLOT``; nothing is hard-coded. Both files are read with
``np.load`` without pickle and joined in ``char_id`` order (1..1623).
"""

from __future__ import annotations

import os
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


def load_omniglot(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, char_id)``: uint8 ``(1623, 20, 28, 28)`` with 255 = background, and int ids."""
    folder = omniglot_folder(path)
    images, ids = [], []
    for name in FILES:
        try:
            with np.load(folder / name, allow_pickle=False) as z:
                images.append(np.asarray(z["images"], dtype=np.uint8))
                ids.append(np.asarray(z["char_id"], dtype=np.int64))
        except (OSError, ValueError, KeyError) as exc:
            raise DatasetError(f"{folder / name}: not a readable Omniglot array file ({exc})") from None
    images_all, ids_all = np.concatenate(images), np.concatenate(ids)
    if images_all.ndim != 4 or images_all.shape[1:] != (20, 28, 28):
        raise DatasetError(f"{folder}: expected images of shape (n, 20, 28, 28), found {images_all.shape}")
    order = np.argsort(ids_all, kind="stable")
    return images_all[order], ids_all[order]
