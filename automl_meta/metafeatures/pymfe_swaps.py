"""Faster replacements for four slow pymfe helpers, two that NumPy 2 broke and one that is wrong, swapped in while we extract.

* Info-theory: pymfe calls ``pd.crosstab`` once per column (``class_conc``, the
  joint entropies behind ``mut_inf``) and once per attribute pair
  (``attr_conc``); each call costs 8-20 ms of pandas overhead on 2,000 rows,
  which made info-theory the slowest default group (about 1.5 s of a 3.5 s run
  on 50k x 20 on the shared 2-core machine). A contingency table of two
  integer-coded vectors is one ``np.bincount``; :func:`calc_conc` and
  :func:`calc_joint_ent` are pymfe 0.4.4's formulas, term for term.
* Statistical: the canonical correlations between the numeric attributes and
  the one-hot target (``can_cor``, ``w_lambda``, ``roy_root``, the traces) come
  from scikit-learn's iterative ``CCA``, one NIPALS loop of up to 500 steps per
  component: about 3 s of a 5.5 s ``recommend`` on a table with 150 classes
  (``benchmarks/recommend_latency.py --classes 150``). :func:`calc_can_cors` computes them in closed form (the
  singular values of the classes' sums of an orthonormal basis of the
  centred attributes), as many of them as scikit-learn's loop keeps. On the 79 PMLB
  classification tables the features built on them agree within 0.3% with
  scikit-learn's (but where a correlation is 1: see :func:`calc_can_cors`),
  and the shipped meta-model ranks every table the same (its predicted scores
  move on two tables, by at most 0.0011).
* Landmarking: ``worst_node`` and ``elite_nn`` read each fold's feature
  importance ranks, which pymfe precomputes from one full decision tree per
  cross-validation fold, one after the other: about 0.8 s of a 1.7 s
  extraction on a 5,000 x 500 table (2,000 x 64 sampled).
  :func:`precompute_landmarking_kfolds` fits those seeded trees in threads,
  so the ranks are the same.
* Statistical: ``sd_ratio`` (Box's M) paired the class covariance matrices
  with the wrong class sizes and negated their determinants for 2 or 3 mod 4
  attributes, so it was wrong or missing: :func:`ft_sd_ratio` is the formula
  without that flip.
* Summaries: pymfe's ``quantiles`` and ``nanquantiles`` pass ``interpolation=``
  to ``np.quantile``, a keyword NumPy 2.4 refuses, so every feature summarized
  by them was missing. :func:`sum_quantiles` and :func:`sum_nanquantiles` pass
  the same choice as ``method=``.

Each is tested against pymfe's own method in ``tests/test_metafeatures.py``.
:func:`fast_pymfe` swaps them in while our extraction runs and puts pymfe's
back afterwards (reference-counted under a lock, so nested or concurrent calls
are safe). When pymfe's class lacks one of them (another pymfe version), that
class keeps its own code.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

import numpy as np

_LOCK = threading.Lock()
_DEPTH = 0
_ORIGINALS: dict[tuple[type, str], object] = {}
_SUMMARY_ORIGINALS: dict[str, object] = {}  # pymfe's summary functions while ours stand in
MAX_CAN_COR_GAP = 1e-7  # canonical correlations stop this far below 1 (see calc_can_cors)
LANDMARK_THREADS = min(4, os.cpu_count() or 1)  # threads fitting the landmarking folds' importance trees
MIN_CELLS_THREADED = 10_000  # below this many sampled values (rows x attributes) they are fitted in turn
QUARTILES = (0.0, 0.25, 0.5, 0.75, 1.0)  # what pymfe's quantiles summaries give


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


def _orthonormal_basis(block: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning the centred ``block``'s column space, as many as its numerical rank."""
    centred = block - block.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    if not s.size or s[0] <= 0:
        return u[:, :0]
    return u[:, s > s[0] * max(centred.shape) * np.finfo(float).eps]


def calc_can_cors(cls, N: np.ndarray, y: np.ndarray, max_iter: int = 500) -> np.ndarray:
    """pymfe's canonical correlations of ``N`` and the one-hot ``y`` (``MFEStatistical._calc_can_cors``), in closed form.

    They are the singular values of ``Qx.T @ Qy``, orthonormal bases of the two
    centred blocks. For a one-hot block, ``Qy @ Qy.T`` projects onto the class
    indicators, so they are also the singular values of the classes' sums of
    ``Qx``'s rows, each divided by the square root of its class size: a
    classes x attributes matrix, where a basis of the one-hot block took an SVD
    of rows x classes (0.5 s of a 1.9 s extraction with 1,000 classes).

    As many as scikit-learn's loop returns: the number of classes less one or
    the number of attributes, whichever is fewer. Where collinear or constant
    attributes leave fewer directions, scikit-learn's extra ones are rounding
    noise (below 0.01) and come back here as 0. A correlation of 1 (classes a
    linear function of the attributes) is capped at ``1 - MAX_CAN_COR_GAP``:
    scikit-learn's iteration stops short of 1 too (1e-4 to 1e-7 below it on the
    shipped corpus), so the eigenvalue features (``lh_trace``, ``roy_root``) stay
    finite, of the same order, instead of turning infinite (missing).
    ``max_iter`` belongs to the iterative fit and is ignored.
    """
    N = np.asarray(N, dtype=float)
    _, codes = np.unique(np.asarray(y).ravel(), return_inverse=True)
    codes = codes.ravel()
    classes = int(codes.max()) + 1
    count = max(min(classes - 1, N.shape[1]), 0)
    basis_x = _orthonormal_basis(N)
    sizes = np.bincount(codes, minlength=classes)
    sums = np.zeros((classes, basis_x.shape[1]))
    np.add.at(sums, codes, basis_x)
    found = np.linalg.svd(sums / np.sqrt(sizes)[:, None], compute_uv=False) if basis_x.size else np.zeros(0)
    can_cors = np.zeros(count)
    can_cors[: min(count, found.size)] = np.clip(found[:count], 0.0, 1.0 - MAX_CAN_COR_GAP)
    return can_cors


SINGULAR_EIGENVALUE = 1e-10  # of a correlation matrix (eigenvalues 0 to its size): below it, attributes depend exactly


def _positive_definite(covariance: np.ndarray) -> bool:
    """Whether a covariance matrix is positive definite beyond rounding, judged on its correlations (free of the
    attributes' scales). The one-hot columns of a categorical sum to one: their covariance is singular, and the sign
    of its determinant is whatever rounding made it, so a sign test gave a value or none by the seed."""
    scale = np.sqrt(np.diag(covariance))
    if not (np.isfinite(covariance).all() and (scale > 0).all()):
        return False
    return bool(np.linalg.eigvalsh(covariance / np.outer(scale, scale)).min() > SINGULAR_EIGENVALUE)


def ft_sd_ratio(cls, N: np.ndarray, y: np.ndarray, ddof: int = 1, classes=None, class_freqs=None) -> float:
    """pymfe's SD ratio (``MFEStatistical.ft_sd_ratio``, from Box's M test), each class's covariance beside its own size.

    pymfe 0.4.4 flips its stack of class covariance matrices along the first
    two axes before use. That pairs each matrix with another class's size, so
    the value changes when two class names are swapped, and it reverses the
    rows of every matrix, which negates the determinant when the attributes
    number 2 or 3 mod 4, so the value came back missing there (71 of the 79
    PMLB classification tables). Here the formula is pymfe's, term for term,
    without the flip, and log-determinants come from ``slogdet`` (no overflow
    on hundreds of attributes). A class covariance or the pooled one that is
    not positive definite (a class with no more rows than attributes, an
    attribute constant within a class, attributes that depend exactly on each
    other, such as a categorical's one-hot columns) leaves the statistic
    undefined: NaN, as pymfe gives for an infinite M.
    """
    N = np.asarray(N, dtype=float)
    y = np.asarray(y).ravel()
    if classes is None or class_freqs is None:
        classes, class_freqs = np.unique(y, return_counts=True)
    n_rows, n_cols = N.shape
    n_classes = len(classes)
    weights = np.asarray(class_freqs, dtype=float) - 1.0
    if n_classes < 2 or n_cols == 0 or (weights <= 0).any():
        return float("nan")
    covariances = np.array([np.atleast_2d(np.cov(N[y == c], rowvar=False, ddof=ddof)) for c in classes])
    pooled = np.tensordot(weights, covariances, axes=1) / (n_rows - n_classes)
    gamma = 1.0 - ((2.0 * n_cols**2 + 3.0 * n_cols - 1.0) / (6.0 * (n_cols + 1.0) * (n_classes - 1.0))) * (
        np.sum(1.0 / weights) - 1.0 / (n_rows - n_classes))
    if not all(_positive_definite(matrix) for matrix in (pooled, *covariances)):
        return float("nan")
    pooled_logdet = np.linalg.slogdet(pooled)[1]
    logdets = np.linalg.slogdet(covariances)[1]
    m_factor = gamma * ((n_rows - n_classes) * pooled_logdet - weights @ logdets)
    return float(np.exp(m_factor / (n_cols * (n_rows - n_classes))))


def landmark_threads() -> int:
    """:data:`LANDMARK_THREADS`, or fewer where ``OMP_NUM_THREADS`` caps the process (parallel database builds set 1)."""
    try:
        cap = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        cap = LANDMARK_THREADS
    return max(1, min(LANDMARK_THREADS, cap))


def precompute_landmarking_kfolds(
    cls, N: np.ndarray, y: np.ndarray | None = None, num_cv_folds: int = 10, shuffle_cv_folds: bool | None = False,
    random_state: int | None = None, lm_sample_frac: float = 1.0, **kwargs,
) -> dict:
    """pymfe's landmarking precomputation (``MFELandmarking.precompute_landmarking_kfolds``), its folds' trees in threads.

    The per-fold feature-importance ranks come from one full decision tree per
    fold, fitted with ``random_state``, so fitting them at once gives the same
    ranks; scikit-learn builds trees without holding the GIL. Without a seed the
    trees draw from NumPy's global generator, so they are fitted one by one, as
    they are on small samples, where threads cost more than they save.
    """
    from sklearn.model_selection import StratifiedKFold

    precomp_vals: dict = {}
    if N is None or N.size == 0 or y is None:
        return precomp_vals
    if "skf" not in kwargs:
        precomp_vals["skf"] = StratifiedKFold(
            n_splits=num_cv_folds, shuffle=shuffle_cv_folds, random_state=random_state if shuffle_cv_folds else None
        )
    if not shuffle_cv_folds or random_state is not None and "cv_folds_imp_rank" not in kwargs:
        skf = precomp_vals.get("skf", kwargs.get("skf"))
        N, y = cls._sample_data(
            N=N, y=y, lm_sample_frac=lm_sample_frac, random_state=random_state, sample_inds=kwargs.get("sample_inds")
        )

        def rank(train: np.ndarray) -> np.ndarray:
            return cls._rank_feat_importance(N=N[train, :], y=y[train], random_state=random_state)

        trains = [train for train, _ in skf.split(N, y)]
        threaded = random_state is not None and N.size >= MIN_CELLS_THREADED
        workers = min(landmark_threads(), len(trains)) if threaded else 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            precomp_vals["cv_folds_imp_rank"] = np.array(list(pool.map(rank, trains)), dtype=int)
    return precomp_vals


def sum_quantiles(values, numpy_interpolation: str = "linear") -> np.ndarray:
    """pymfe's ``quantiles`` summary (``_summary.sum_quantiles``): the minimum, the quartiles and the maximum."""
    return np.quantile(values, QUARTILES, method=numpy_interpolation) if len(values) else np.full(len(QUARTILES), np.nan)


def sum_nanquantiles(values, numpy_interpolation: str = "linear") -> np.ndarray:
    """pymfe's ``nanquantiles`` summary (``_summary.sum_nanquantiles``): :func:`sum_quantiles`, NaN left out."""
    return np.nanquantile(values, QUARTILES, method=numpy_interpolation) if len(values) else np.full(len(QUARTILES), np.nan)


def _replacements() -> dict:
    """pymfe class -> {method name: our function}."""
    from pymfe.info_theory import MFEInfoTheory
    from pymfe.landmarking import MFELandmarking
    from pymfe.statistical import MFEStatistical

    return {
        MFEInfoTheory: {"_calc_conc": calc_conc, "_calc_joint_ent": calc_joint_ent},
        MFEStatistical: {"_calc_can_cors": calc_can_cors, "ft_sd_ratio": ft_sd_ratio},
        MFELandmarking: {"precompute_landmarking_kfolds": precompute_landmarking_kfolds},
    }


def _summary_replacements() -> tuple[dict, dict]:
    """pymfe's table of summary functions, and {summary name: our function}."""
    from pymfe._summary import SUMMARY_METHODS

    return SUMMARY_METHODS, {"quantiles": sum_quantiles, "nanquantiles": sum_nanquantiles}


@contextmanager
def fast_pymfe() -> Iterator[None]:
    """Use the NumPy helpers inside pymfe's info-theory, statistical and landmarking groups and summaries for the duration of the block."""
    global _DEPTH
    with _LOCK:
        if _DEPTH == 0:
            for owner, functions in _replacements().items():
                if all(isinstance(owner.__dict__.get(n), classmethod) for n in functions):
                    for name, func in functions.items():
                        _ORIGINALS[owner, name] = owner.__dict__[name]
                        setattr(owner, name, classmethod(func))
            table, summaries = _summary_replacements()
            _SUMMARY_ORIGINALS.update({name: table[name] for name in summaries if name in table})
            table.update({name: summaries[name] for name in _SUMMARY_ORIGINALS})
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                for (owner, name), original in _ORIGINALS.items():
                    setattr(owner, name, original)
                _ORIGINALS.clear()
                _summary_replacements()[0].update(_SUMMARY_ORIGINALS)
                _SUMMARY_ORIGINALS.clear()
