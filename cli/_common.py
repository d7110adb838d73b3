"""Shared pieces of the CLI: consoles, option types, JSON output, progress bars.

Only typer, rich and the standard library are imported here: `automl-meta --help`
must not pay for torch, lightgbm, pymfe or openml.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator

import typer
from rich.console import Console
from rich.markup import escape

from automl_meta.numbers import MAX_SEED, jsonable

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """``text`` with its control characters (an escape sequence from a file's column or a database's name) spelt out
    as ``\\x1b``, so that printing it cannot drive the terminal; newlines and tabs stay."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class _Console(Console):
    """A console that spells out control characters in the text it prints (see :func:`shown`)."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(shown(o) if isinstance(o, str) else o for o in objects), **kwargs)


out = _Console(highlight=False)
err = _Console(stderr=True, highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
TargetOption = Annotated[
    str | None,
    typer.Option("--target", "-t", help="Target column (default: target/class/label/y, case-insensitive, else the last column)."),
]
TaskOption = Annotated[
    str,
    typer.Option(
        "--task",
        help="classification, regression or auto (non-numeric target, or <= 20 integer values seen twice each on average: classification).",
    ),
]
SepOption = Annotated[
    str | None,
    typer.Option("--sep", help="Field delimiter of a text table: one character, or tab, comma, semicolon, pipe, space, whitespace (runs of spaces; default: sniffed)."),
]
DayFirstOption = Annotated[
    bool | None,
    typer.Option(
        "--day-first/--month-first",
        help="Read text dates whose day and month cannot be told apart (03/04/2021 throughout) day first or month first (default: such a column stays text, with a warning).",
    ),
]
SeedOption = Annotated[
    int,
    typer.Option("--random-state", "--seed", min=0, max=MAX_SEED, help="Seed for every random choice."),
]
DataArgument = Annotated[Path, typer.Argument(help="Data file: CSV, TSV (optionally .gz/.bz2/.xz/.zip), parquet or ARFF.")]


def print_json(payload: Any) -> None:
    """Write ``payload`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(jsonable(payload), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic garbage collection off for a short, import-heavy phase of a command.

    Importing pandas, scikit-learn, pymfe and LightGBM leaves about 140,000
    objects for the collector to track, and CPython's full collections rescan
    them all, again and again while the imports and the meta-feature extraction
    allocate (with the exit's collections, 12% of a cold ``recommend`` on 20k
    rows on the development machine). Inside the block nothing is collected
    automatically (memory is still freed by reference counting; only cycles
    wait). On the way out everything alive is moved to the collector's
    permanent generation (``gc.freeze``), so later collections, kept on for long
    phases such as ``--evaluate-top``, skip the imported modules. A forked child
    started inside the block inherits it.
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def glyph(fancy: str, plain: str) -> str:
    """``fancy`` (``≤``, ``±``) where standard output can encode it, else ``plain``: an ASCII or Latin-1 output
    (``PYTHONIOENCODING``, a C locale) failed on them once the work was done."""
    try:
        fancy.encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return plain
    return fancy


class _WarningLines(logging.Handler):
    """automl-meta's warnings as one yellow line each on stderr, as the commands' other messages are shown."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(f"[yellow]warning:[/] {escape(' '.join(record.getMessage().split()))}", soft_wrap=True)


@contextmanager
def warning_lines() -> Iterator[None]:
    """Route the library's warnings through :class:`_WarningLines` while a command runs.

    Without it they would go to Python's last-resort handler as bare text, or, once
    openml-python or another library has configured the root logger, as raw
    ``WARNING:automl_meta...`` lines; they stop at this handler instead.
    """
    handler = _WarningLines(logging.WARNING)
    loggers = [logging.getLogger(name) for name in ("automl_meta", "matplotlib")]  # matplotlib: an unwritable config folder
    propagate = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, before in zip(loggers, propagate):
            logger.removeHandler(handler)
            logger.propagate = before


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr; yields ``advance(n=1, description=None)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if not enabled:
        yield lambda n=1, description=None: None
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            progress.update(task, advance=n, **({"description": description} if description else {}))

        yield advance


def refuse_without(main: str, given: bool, add: str, options: dict[str, Any]) -> None:
    """Refuse, by name, the ``options`` that only shape how ``main`` runs when ``main`` is not ``given``.

    ``options``: flag -> value, None where the user left it out; ``add`` is what to add
    (``--evaluate-top K``). Ignored silently, they would let a user think they took effect.
    """
    named = [flag for flag, value in options.items() if value is not None]
    if named and not given:
        from automl_meta.exceptions import UsageError

        raise UsageError(f"{' and '.join(named)} set{'s' if len(named) == 1 else ''} how {main} runs; add {add}")


def profile_line(profile) -> str | None:
    """One dim line on what reading the table changed (dates, columns left out, rows without a target), or None."""
    dates = [f"{d} ({profile.date_formats[d]})" if d in profile.date_formats else d for d in profile.dates]
    said = [f"dates as numeric parts: {', '.join(dates)}"] if dates else []
    said += [f"ignored as ID-like: {', '.join(profile.id_like)}"] if profile.id_like else []
    said += [f"ignored as constant or empty: {', '.join(profile.constant)}"] if profile.constant else []
    said += [f"ignored as nested (lists, mappings): {', '.join(profile.nested)}"] if profile.nested else []
    said += [f"{profile.rows_without_target} rows without a target dropped"] if profile.rows_without_target else []
    return f"[dim]{escape('; '.join(said))} (automl-meta metafeatures shows the rest)[/]" if said else None


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a table cell (blank for missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) >= 1e4 or (value != 0 and abs(value) < 1e-3) else f"{value:.{digits}f}"
    return str(value)


def _cell_width(text: str) -> int:
    from rich.text import Text

    return max(Text.from_markup(line).cell_len for line in text.split("\n"))


def fit_columns(headers: list[str], rows: list[list[str]], optional=(), width: int | None = None, gap: int = 2):
    """Drop ``optional`` columns, first named first, until the table fits ``width`` (default: the terminal's).

    A column needs its widest cell line and its widest header word; ``gap`` spaces
    separate columns (:func:`sized_table`'s layout). Returns ``(headers, rows, dropped)``.
    """
    width = out.width if width is None else width
    dropped = []

    def needed() -> int:
        sizes = [max([_cell_width(row[i]) for row in rows] + [len(w) for w in headers[i].split()]) for i in range(len(headers))]
        return sum(sizes) + gap * (len(headers) - 1)

    for name in optional:
        if needed() <= width:
            break
        if name in headers:
            i = headers.index(name)
            headers = headers[:i] + headers[i + 1:]
            rows = [row[:i] + row[i + 1:] for row in rows]
            dropped.append(name)
    return headers, rows, dropped


def sized_table(title: str | None, headers: list[str], rows: list[list[str]], left=("learner",), wrap=()):
    """A rich table that fits an 80-column terminal without cutting a cell (:func:`fit_columns` drops what does not fit).

    Every column is at least as wide as its widest cell line (markup aside), so only headers
    wrap (give long ones a line break); the ``wrap`` columns wrap their cells instead.
    No box edges, collapsed padding; ``left`` columns are left-justified, the rest right.
    """
    from rich import box
    from rich.table import Table

    headers, rows = [shown(h) for h in headers], [[shown(c) for c in row] for row in rows]
    table = Table(title=None if title is None else shown(title), title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False, collapse_padding=True)
    for i, header in enumerate(headers):
        width = None if header in wrap else max((_cell_width(row[i]) for row in rows), default=None)
        table.add_column(header, justify="left" if header in left or header in wrap else "right", min_width=width,
                         ratio=1 if header in wrap else None)  # wrapping columns share what the others leave
    for row in rows:
        table.add_row(*row)
    return table


def seconds_limit(value: float | None) -> float | None:
    """Typer callback of a time-limit option: refuse (exit 2) NaN and <= 0; ``inf`` passes (no limit: see :func:`no_limit`)."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be a positive number of seconds, or inf for no limit, not {value}")
    return value


def no_limit(seconds: float | None) -> float | None:
    """A time limit as the library takes it: ``inf`` is None, no limit (checked as given before, so never ignored)."""
    return None if seconds == math.inf else seconds


def refuse_given(options: dict[str, Any], verbs: tuple[str, str], why: str) -> None:
    """Refuse, by name, the ``options`` (flag -> value, None where left out) that were given: they do not apply here.

    The message is the flags, ``verbs[0]`` (one flag) or ``verbs[1]`` (several), then ``why``.
    """
    named = [flag for flag, value in options.items() if value is not None]
    if named:
        from automl_meta.exceptions import UsageError

        one = len(named) == 1
        raise UsageError(f"{', '.join(named)} {verbs[0] if one else verbs[1]} {why}; drop {'it' if one else 'them'}")


def positive_finite(value: float | None) -> float | None:
    """Typer callback of a float option: refuse (exit 2) one that is not a positive finite number; None is not given."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive finite number, not {value}")
    return value
