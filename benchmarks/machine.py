"""The machine a benchmark ran on, in one line: CPU model, cores, memory, load and library versions.

Every script under ``benchmarks/`` prints it first (or records it under
``"machine"`` in its JSON), so that a pasted figure says where it came from.
"""

from __future__ import annotations

import os
import platform

from automl_meta.versions import installed_version

LIBRARIES = ("numpy", "scikit-learn", "lightgbm", "torch", "pymfe")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        return "memory unknown"


def describe(libraries=LIBRARIES) -> str:
    """``"AMD EPYC ..., 2 cores, 24 GiB, load 0.6; Python 3.11.7, numpy 2.4.1, ..."``."""
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    found = {name: installed_version(name) for name in libraries}
    versions = [f"{name} {v}" for name, v in found.items() if v]
    return (f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gib()}{load}; "
            f"Python {platform.python_version()}, {', '.join(versions)}")


def print_machine() -> None:
    """The line, as a comment above a table: ``# machine: ...``."""
    print(f"# machine: {describe()}", flush=True)
