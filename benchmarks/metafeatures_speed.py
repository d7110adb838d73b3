"""Time our meta-feature extractor against plain pymfe defaults, side by side.

For each synthetic dataset (seeded ``make_classification``; default 50k x 20
and 5k x 200, 3 classes) this prints: seconds for
``automl_meta.metafeatures.extract_metafeatures`` (default groups, stratified
sample of 2,000 rows and at most 64 columns), seconds for plain
``pymfe.mfe.MFE().fit(X, y).extract()`` on all the data, the speed-up, and the
Spearman correlation between our vector and pymfe's full-data vector over the
features both produce (finite in both).

Both tools are imported before timing (pymfe's import alone takes seconds);
our first call includes the one-off per-process name template (with
``--repeat N`` the median of N calls is shown). The CPU time of our call is
printed too: on a shared machine it shows the cost without other processes'
load. BLAS threads: run with ``OMP_NUM_THREADS=1`` on a shared machine. The goals from
issue 2: ours <= 2 s on 50k x 20 and <= 5 s on 5k x 200, Spearman >= 0.95.

Usage::

    python benchmarks/metafeatures_speed.py                 # full run (pymfe takes minutes)
    python benchmarks/metafeatures_speed.py --skip-pymfe    # ours only
    python benchmarks/metafeatures_speed.py --sizes 20000x20 --seed 1
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import numpy as np
import pandas as pd
from machine import print_machine  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script


def make_data(n_rows: int, n_cols: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_rows,
        n_features=n_cols,
        n_informative=min(10, max(2, n_cols // 2)),
        n_redundant=min(5, n_cols // 4),
        n_classes=3,
        random_state=seed,
    )
    return X, y


def run_ours(
    X: np.ndarray, y: np.ndarray, seed: int, max_rows: int, max_cols: int, repeat: int
) -> tuple[float, float, dict]:
    from automl_meta.dataset import make_dataset
    from automl_meta.metafeatures import extract_metafeatures

    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["target"] = [f"c{v}" for v in y]
    dataset = make_dataset(frame, target="target", task="classification", name="synthetic")
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        mf = extract_metafeatures(dataset, random_state=seed, max_rows=max_rows, max_cols=max_cols)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
    return float(np.median(walls)), float(np.median(cpus)), mf.values


def run_pymfe(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, dict]:
    from pymfe.mfe import MFE

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe = MFE(random_state=seed, suppress_warnings=True)
        mfe.fit(X, y, suppress_warnings=True)
        names, values = mfe.extract(suppress_warnings=True)
    return time.perf_counter() - start, dict(zip(names, values))


def spearman(ours: dict, full: dict) -> tuple[float, int]:
    from scipy.stats import spearmanr

    common = [
        k
        for k in ours
        if k in full
        and ours[k] is not None
        and full[k] is not None
        and math.isfinite(float(ours[k]))
        and math.isfinite(float(full[k]))
    ]
    if len(common) < 3:
        return float("nan"), len(common)
    rho = spearmanr([float(ours[k]) for k in common], [float(full[k]) for k in common]).statistic
    return float(rho), len(common)



def _sizes(text: str) -> list[tuple[int, int]]:
    """``"50000x20,5000x200"`` as (rows, columns) pairs; argparse's one-line error otherwise."""
    pairs = []
    for size in text.split(","):
        try:
            n_rows, n_cols = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{size!r} is not ROWSxCOLS (e.g. 5000x200)") from None
        if n_rows < 10 or n_cols < 6:  # make_data's 3 classes need 3 informative columns, half of them at most
            raise argparse.ArgumentTypeError(f"{size!r}: at least 10 rows and 6 columns")
        pairs.append((n_rows, n_cols))
    return pairs

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default="50000x20,5000x200", help="comma-separated ROWSxCOLS (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rows", type=at_least(10), default=2000)
    parser.add_argument("--max-cols", type=at_least(1), default=64)
    parser.add_argument("--repeat", type=at_least(1), default=1, help="time our extractor this many times, report the median")
    parser.add_argument("--skip-pymfe", action="store_true", help="time only our extractor (no Spearman)")
    args = parser.parse_args()
    print_machine()

    import pymfe.mfe  # noqa: F401  (imported before timing, for both tools)

    import automl_meta.metafeatures  # noqa: F401

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (ours cpu s: CPU time, load-independent)")
    header = (
        f"{'data':>12} | {'ours s':>7} | {'ours cpu s':>10} | {'pymfe s':>8} | {'speed-up':>8} | "
        f"{'Spearman':>8} | {'common':>6} | {'goal s':>6}"
    )
    print(header)
    print("-" * len(header))
    for n_rows, n_cols in args.sizes:
        size = f"{n_rows}x{n_cols}"
        X, y = make_data(n_rows, n_cols, args.seed)
        ours_s, ours_cpu, ours = run_ours(X, y, args.seed, args.max_rows, args.max_cols, args.repeat)
        goal = 2.0 if n_cols <= 20 else 5.0
        if args.skip_pymfe:
            pymfe_s, rho, n_common = float("nan"), float("nan"), 0
        else:
            pymfe_s, full = run_pymfe(X, y, args.seed)
            rho, n_common = spearman(ours, full)
        speedup = pymfe_s / ours_s if math.isfinite(pymfe_s) else float("nan")
        print(
            f"{size:>12} | {ours_s:7.2f} | {ours_cpu:10.2f} | {pymfe_s:8.1f} | {speedup:8.1f} | "
            f"{rho:8.3f} | {n_common:6d} | {goal:6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    run_script(main)
