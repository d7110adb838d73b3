"""Small numeric helpers shared across modules (standard library only: the CLI imports them at start-up)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


MAX_SEED = 2**32 - 1  # the largest seed NumPy's legacy generator (pymfe, scikit-learn) takes


def check_seed(random_state: int | None) -> int | None:
    """``random_state`` as an int from 0 to :data:`MAX_SEED`, or None; a :class:`~automl_meta.exceptions.UsageError` otherwise."""
    from numbers import Integral

    from automl_meta.exceptions import UsageError

    if random_state is None:
        return None
    if isinstance(random_state, bool) or not isinstance(random_state, Integral) or not 0 <= random_state <= MAX_SEED:
        raise UsageError(f"random_state must be an integer from 0 to {MAX_SEED}, got {random_state!r}")
    return int(random_state)


def finite_or_none(value) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def jsonable(value: Any) -> Any:
    """Plain JSON types: NaN and infinities as null, numpy scalars and arrays unwrapped, paths as strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy scalar
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def content_checksum(document: dict, own_key: str) -> str:
    """SHA-256 of a JSON document's content but its own checksum (kept under ``own_key``), as it reads back from JSON
    (keys as text, sorted): what a file's own checksum covers that a checksum of another file it names does not."""
    import hashlib  # here, not at the top: the CLI imports this module at start-up, and hashlib loads OpenSSL
    import json

    content = jsonable({k: v for k, v in document.items() if k != own_key})
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()
