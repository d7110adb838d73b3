"""Cold-start time of the CLI: `automl-meta --help` and `--version` as whole processes.

Usage: python benchmarks/cli_startup.py [--runs 10]
Prints min / median / max wall seconds per command (target: <= 0.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import print_machine  # benchmarks/machine.py, beside this script
from script_cli import at_least, run_script  # benchmarks/script_cli.py, beside this script


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
    parser.add_argument("--runs", type=at_least(1), default=10)
    args = parser.parse_args()
    print_machine()
    # the automl-meta of this Python's environment, as recommend_latency.py finds it, not another one on PATH
    beside = Path(sys.executable).with_name("automl-meta")
    base = [str(beside)] if beside.exists() else [sys.executable, "-m", "automl_meta"]
    print(f"# timing: {' '.join(base)}")
    commands = {
        "automl-meta --help": [*base, "--help"],
        "automl-meta --version": [*base, "--version"],
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
    }
    print(f"{'command':<28}{'min s':>8}{'median s':>10}{'max s':>8}")
    for name, argv in commands.items():
        t = time_command(argv, args.runs)
        print(f"{name:<28}{min(t):>8.3f}{statistics.median(t):>10.3f}{max(t):>8.3f}")


if __name__ == "__main__":
    run_script(main)
