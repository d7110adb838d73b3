"""Wall time of `automl-meta recommend FILE --json` as a whole process, with a cold meta-feature cache.

Each run is a fresh process (interpreter start-up, imports, reading the file,
meta-features, loading or training the meta-model, ranking) with an empty
``AUTOML_META_CACHE_DIR``; a second run per file shows the warm-cache time.
CPU seconds (user + system of the child) are printed too: on a shared machine
they say more than wall time about what the command itself costs.

Usage::

    python benchmarks/recommend_latency.py [--db PATH] [--runs 3] [--rows 5000 20000] [FILE ...]
    python benchmarks/recommend_latency.py --baseline OTHER/automl-meta [...]
    python benchmarks/recommend_latency.py --probe [...]     # `recommend --probe`: the probe's cost
    python benchmarks/recommend_latency.py --classes 150 --rows 3000 20000   # many classes
    python benchmarks/recommend_latency.py --numeric 500 --rows 5000          # a wide table

Without files it times ``examples/churn.csv`` and synthetic CSVs of 5,000 and
20,000 rows (12 numeric, or ``--numeric N``, and 3 categorical columns, with
missing values; a yes/no target, or ``--classes K`` equal-frequency classes), written to a
temporary folder. Target: under 3 s per cold call up to 20k rows.
Peak memory is the largest resident size of the command or its forked child.

``--baseline EXE`` compares with another installation's ``automl-meta`` (say,
a checkout of an earlier commit in its own virtual environment): the two
alternate run by run (A B A B ...), so a machine whose speed drifts affects
both alike, and the ratio of the medians is printed per file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from machine import print_machine  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script

REPO = Path(__file__).resolve().parents[1]


def synthetic_csv(folder: Path, n_rows: int, classes: int = 2, seed: int = 0, numeric: int = 12) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_rows, numeric)), columns=[f"x{i}" for i in range(numeric)])
    for j, levels in enumerate((3, 5, 12)):
        frame[f"c{j}"] = rng.choice([f"level{k}" for k in range(levels)], size=n_rows)
    frame.loc[rng.choice(n_rows, n_rows // 20, replace=False), "x3"] = np.nan
    signal = frame["x0"] - 0.5 * frame["x1"].fillna(0) + (frame["c0"] == "level1")
    noisy = signal + rng.normal(scale=0.5, size=n_rows)
    if classes == 2:
        frame["target"] = np.where(noisy > 0, "yes", "no")
    else:  # equal-frequency bins of the same signal
        frame["target"] = [f"class{k}" for k in pd.qcut(noisy, classes, labels=False)]
    stem = f"synthetic_{n_rows}" + (f"_{classes}_classes" if classes != 2 else "") + (f"_{numeric}_numeric" if numeric != 12 else "")
    path = folder / f"{stem}.csv"
    frame.to_csv(path, index=False)
    return path


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the command and its forked child
    peak_mib: float  # largest resident size of the command or its child
    code: int


def timed_run(argv: list[str], env: dict) -> Run:
    """One whole-process run; its resource use comes from ``wait4`` on that very process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if code != 0:
            errors.seek(0)
            print(errors.read().decode(errors="replace").strip(), file=sys.stderr)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


def cache_env(path: Path, tmp: Path, tag: str, run: int) -> dict:
    """The environment of run ``run`` of ``tag`` on ``path``: a meta-feature cache of its own."""
    return {**os.environ, "AUTOML_META_CACHE_DIR": str(tmp / f"cache-{tag}-{path.stem}-{run}"), "OMP_WAIT_POLICY": "PASSIVE"}


def cold_run(argv: list[str], path: Path, tmp: Path, tag: str, run: int) -> Run:
    """A run with an empty meta-feature cache of its own."""
    done = timed_run(argv, cache_env(path, tmp, tag, run))
    if done.code != 0:
        raise SystemExit(f"{path.name}: recommend ({tag}) exited with {done.code}")
    return done


def warm_run(argv: list[str], path: Path, tmp: Path, tag: str, run: int) -> float:
    """A run on the cache the cold run ``run`` filled."""
    return timed_run(argv, cache_env(path, tmp, tag, run)).wall


def row(label: str, rows: int, runs: list[Run], warm: float) -> str:
    walls = [r.wall for r in runs]
    return (f"{label[:23]:<24}{rows:>7}{min(walls):>10.2f}{statistics.median(walls):>9.2f}{max(walls):>9.2f}"
            f"{statistics.median(r.cpu for r in runs):>12.2f}{max(r.peak_mib for r in runs):>10.0f}{warm:>13.2f}")


def command(exe: str | None) -> list[str]:
    if exe:
        return [exe]
    found = shutil.which("automl-meta") or str(Path(sys.executable).with_name("automl-meta"))
    return [found] if Path(found).exists() else [sys.executable, "-m", "automl_meta"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--db", default=None, help="meta-database (default: the shipped one)")
    parser.add_argument("--runs", type=at_least(1), default=3, help="cold runs per file (each with an empty cache)")
    parser.add_argument("--rows", type=at_least(10), nargs="+", default=[5000, 20000], help="sizes of the synthetic CSVs")
    parser.add_argument("--classes", type=at_least(2), default=2, help="classes of the synthetic CSVs' target")
    parser.add_argument("--numeric", type=at_least(1), default=12, help="numeric columns of the synthetic CSVs (wide tables: 500)")
    parser.add_argument("--baseline", default=None, help="another automl-meta executable to alternate with")
    parser.add_argument("--probe", action="store_true", help="time `recommend --probe` (every learner probed first, with its defaults)")
    args = parser.parse_args()
    print_machine()
    commands = {"this": command(None), **({"baseline": command(args.baseline)} if args.baseline else {})}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = args.files or [REPO / "examples" / "churn.csv", *(synthetic_csv(tmp, n, args.classes, numeric=args.numeric) for n in args.rows)]
        print(f"{'file':<24}{'rows':>7}{'cold wall s (min/med/max)':>28}{'cold cpu s':>12}{'peak MiB':>10}{'warm wall s':>13}")
        for path in files:
            rows = sum(1 for _ in open(path, "rb")) - 1 if path.suffix == ".csv" else -1
            extra = (["--db", args.db] if args.db else []) + (["--probe"] if args.probe else [])
            runs: dict[str, list[Run]] = {tag: [] for tag in commands}
            for run in range(args.runs):
                for tag, base in commands.items():  # in turn: A B A B ...
                    runs[tag].append(cold_run([*base, "recommend", str(path), "--json", *extra], path, tmp, tag, run))
            for tag, base in commands.items():
                warm = warm_run([*base, "recommend", str(path), "--json", *extra], path, tmp, tag, args.runs - 1)
                label = path.name if tag == "this" else "  baseline"
                print(row(label, rows, runs[tag], warm))
            if args.baseline:
                ratio = statistics.median(r.wall for r in runs["this"]) / statistics.median(r.wall for r in runs["baseline"])
                print(f"  this / baseline, median cold wall: {ratio:.3f}")
    print(f"load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    run_script(main)
