"""Exact NumPy replacements for pymfe's two pandas-crosstab helpers, used in a scope.

pymfe's info-theory group calls ``pd.crosstab`` once per column (``class_conc``,
the joint entropies behind ``mut_inf``) and once per attribute pair
(``attr_conc``); each call costs 8-20 ms of pandas overhead on 2,000 rows, which
made info-theory the slowest default group (about 1.5 s of a 3.5 s run on
50k x 20 on the shared 2-core machine). A contingency table of two integer-
coded vectors is one ``np.bincount``; the formulas below are pymfe 0.4.4's,
term for term (tested against pymfe's own methods in
``tests/test_metafeatures.py``).

:func:`fast_info_theory` swaps ``MFEInfoTheory._calc_conc`` and
``_calc_joint_ent`` for these while our extraction runs and puts pymfe's back
afterwards (reference-counted under a lock, so nested or concurrent calls are
safe). When pymfe's class lacks them (another pymfe version), nothing is
swapped and pymfe's own code runs.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np

_LOCK = threading.Lock()
_DEPTH = 0
_ORIGINALS: dict[str, object] = {}


def contingency(vec_x: np.ndarray, vec_y: np.ndarray) -> np.ndarray:
    """Joint relative frequencies, rows: values of ``vec_x``, columns: values of ``vec_y`` (observed only)."""
    _, ix = np.unique(np.asarray(vec_x), return_inverse=True)
    _, iy = np.unique(np.asarray(vec_y), return_inverse=True)
    ix, iy = ix.ravel(), iy.ravel()
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    counts = np.bincount(ix * ny + iy, minlength=nx * ny).reshape(nx, ny).astype(float)
    return counts / counts.sum()


def calc_conc(cls, vec_x: np.ndarray, vec_y: np.ndarray, epsilon: float = 1.0e-8) -> float:
    """pymfe's concentration coefficient (``MFEInfoTheory._calc_conc``)."""
    pij = contingency(vec_x, vec_y) + epsilon
    isum = pij.sum(axis=0)
    jsum2 = np.sum(pij.sum(axis=1) ** 2)
    return (np.sum(pij**2 / isum) - jsum2) / (1.0 - jsum2)


def calc_joint_ent(cls, vec_x: np.ndarray, vec_y: np.ndarray, epsilon: float = 1.0e-8) -> float:
    """pymfe's joint entropy (``MFEInfoTheory._calc_joint_ent``)."""
    joint = contingency(vec_y, vec_x) + epsilon
    return -1.0 * np.sum(np.multiply(joint, np.log2(joint)))


_REPLACEMENTS = {"_calc_conc": calc_conc, "_calc_joint_ent": calc_joint_ent}


@contextmanager
def fast_info_theory() -> Iterator[None]:
    """Use the NumPy helpers inside pymfe's info-theory group for the duration of the block."""
    global _DEPTH
    from pymfe.info_theory import MFEInfoTheory

    swappable = all(isinstance(MFEInfoTheory.__dict__.get(n), classmethod) for n in _REPLACEMENTS)
    if not swappable:
        yield
        return
    with _LOCK:
        if _DEPTH == 0:
            for name, func in _REPLACEMENTS.items():
                _ORIGINALS[name] = MFEInfoTheory.__dict__[name]
                setattr(MFEInfoTheory, name, classmethod(func))
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                for name, original in _ORIGINALS.items():
                    setattr(MFEInfoTheory, name, original)
                _ORIGINALS.clear()
