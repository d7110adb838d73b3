"""Cold-start time of the CLI: `automl-meta --help` and `--version` as whole processes.

Usage: python benchmarks/cli_startup.py [--runs 10]
Prints min / median / max wall seconds per command (target: <= 0.5 s).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def time_command(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = shutil.which("automl-meta")
    commands = {
        "automl-meta --help": [exe, "--help"] if exe else [sys.executable, "-m", "automl_meta", "--help"],
        "automl-meta --version": [exe, "--version"] if exe else [sys.executable, "-m", "automl_meta", "--version"],
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
    }
    print(f"{'command':<28}{'min s':>8}{'median s':>10}{'max s':>8}")
    for name, argv in commands.items():
        t = time_command(argv, args.runs)
        print(f"{name:<28}{min(t):>8.3f}{statistics.median(t):>10.3f}{max(t):>8.3f}")


if __name__ == "__main__":
    main()
