"""Small numeric helpers shared across modules."""

from __future__ import annotations

import math


def finite_or_none(value) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
