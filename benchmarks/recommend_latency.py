"""Wall time of `automl-meta recommend FILE --json` as a whole process, with a cold meta-feature cache.

Each run is a fresh process (interpreter start-up, imports, reading the file,
meta-features, loading or training the meta-model, ranking) with an empty
``AUTOML_META_CACHE_DIR``; a second run per file shows the warm-cache time.
CPU seconds (user + system of the child) are printed too: on a shared machine
they say more than wall time about what the command itself costs.

Usage::

    python benchmarks/recommend_latency.py [--db PATH] [--runs 3] [FILE ...]

Without files it times ``examples/churn.csv`` and synthetic CSVs of 5,000 and
20,000 rows (12 numeric and 3 categorical columns, with missing values),
written to a temporary folder. Target: under 3 s per cold call up to 20k rows.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def synthetic_csv(folder: Path, n_rows: int, seed: int = 0) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_rows, 12)), columns=[f"x{i}" for i in range(12)])
    for j, levels in enumerate((3, 5, 12)):
        frame[f"c{j}"] = rng.choice([f"level{k}" for k in range(levels)], size=n_rows)
    frame.loc[rng.choice(n_rows, n_rows // 20, replace=False), "x3"] = np.nan
    signal = frame["x0"] - 0.5 * frame["x1"].fillna(0) + (frame["c0"] == "level1")
    frame["target"] = np.where(signal + rng.normal(scale=0.5, size=n_rows) > 0, "yes", "no")
    path = folder / f"synthetic_{n_rows}.csv"
    frame.to_csv(path, index=False)
    return path


def timed_run(argv: list[str], env: dict) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(done.stderr.strip(), file=sys.stderr)
    return wall, cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--db", default=None, help="meta-database (default: the shipped one)")
    parser.add_argument("--runs", type=int, default=3, help="cold runs per file (each with an empty cache)")
    args = parser.parse_args()
    exe = shutil.which("automl-meta") or str(Path(sys.executable).with_name("automl-meta"))
    base = [exe] if Path(exe).exists() else [sys.executable, "-m", "automl_meta"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = args.files or [REPO / "examples" / "churn.csv", synthetic_csv(tmp, 5000), synthetic_csv(tmp, 20000)]
        print(f"{'file':<24}{'rows':>7}{'cold wall s (min/med/max)':>28}{'cold cpu s':>12}{'warm wall s':>13}")
        for path in files:
            rows = sum(1 for _ in open(path, "rb")) - 1 if path.suffix == ".csv" else -1
            argv = [*base, "recommend", str(path), "--json", *(["--db", args.db] if args.db else [])]
            walls, cpus = [], []
            for run in range(args.runs):
                cache = tmp / f"cache-{path.stem}-{run}"
                env = {**os.environ, "AUTOML_META_CACHE_DIR": str(cache), "OMP_WAIT_POLICY": "PASSIVE"}
                wall, cpu, code = timed_run(argv, env)
                if code != 0:
                    raise SystemExit(f"{path.name}: recommend exited with {code}")
                walls.append(wall)
                cpus.append(cpu)
            warm, _, _ = timed_run(argv, env)  # same cache as the last cold run
            print(f"{path.name[:23]:<24}{rows:>7}{min(walls):>10.2f}{statistics.median(walls):>9.2f}{max(walls):>9.2f}"
                  f"{statistics.median(cpus):>12.2f}{warm:>13.2f}")
    print(f"load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
