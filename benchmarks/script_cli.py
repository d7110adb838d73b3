"""What every script under ``benchmarks/`` shares on its command line: counts checked by argparse, and errors as one line.

``at_least(n)`` is an argparse ``type`` that refuses a number below ``n`` with
argparse's own one-line message (exit 2); ``run_script(main)`` calls a script's
``main`` and turns automl-meta's errors into one line with their exit code (2
for input to fix, 1 for a runtime failure), as the ``automl-meta`` command does.
"""

from __future__ import annotations

import argparse
import sys

from automl_meta.exceptions import AutomlMetaError


def at_least(least: int):
    """An argparse type: an integer ``>= least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is below {least}")
        return value

    parse.__name__ = f"integer >= {least}"  # what argparse names in its message
    return parse


def run_script(main) -> None:
    """``sys.exit(main())``, with automl-meta's errors and a missing file as one line on stderr."""
    try:
        code = main()
    except AutomlMetaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)
