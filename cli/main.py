"""The `automl-meta` application: one Typer app, one error boundary.

Each command module registers its commands with ``register(app)``; they import
the heavy parts of automl_meta inside the command functions, so ``--help`` and
``--version`` start fast.
"""

from __future__ import annotations

import errno
import gc
import os
import signal
import sqlite3
import sys
import traceback
from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperGroup

from automl_meta.cli import db, evaluate, meta_learning, metafeatures, optimizer, recommend, selector
from automl_meta.cli._common import err, warning_lines
from automl_meta.exceptions import AutomlMetaError

_PASS_THROUGH = (typer.Exit, typer.Abort)
BROKEN_PIPE_EXIT = 1  # what click and rich exit with when the reader of stdout goes away
TERMINATED_EXIT = 128 + signal.SIGTERM  # a shell's code for a process ended by SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a batch scheduler, ``docker stop``), raised as Ctrl-C is: the same cleanup runs,
    worker processes included, which the default action (an immediate exit) left running."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: its reader went away (`| head`), and the final flush must not fail."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test runner's buffer): nothing to flush into a pipe
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _is_usage_error(exc: BaseException) -> bool:
    """Click's UsageError family (typer may vendor its own click, so match by shape)."""
    return hasattr(exc, "format_message") and getattr(exc, "exit_code", None) == 2


def _say(message: str) -> None:
    """One red line on stderr (the message's own newlines are folded); plain text where rich cannot run (out of memory)."""
    line = " ".join(message.split())
    try:
        err.print(f"[red]error:[/] {escape(line)}", soft_wrap=True)
    except (MemoryError, ImportError):  # rich imports some of its modules lazily
        sys.stderr.write(f"error: {line}\n")


def _blank_flag_types(command) -> None:
    """Typer prints ``<bool>`` after every flag (``--json <bool>``), as if it took a value: blank it, ``--help`` too."""
    help_option = command.get_help_option(typer.Context(command))
    for option in [*command.params, *([help_option] if help_option is not None else [])]:
        if getattr(option, "is_flag", False) and option.metavar is None:
            option.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _blank_flag_types(sub)


def _empty_argument(args: list[str]) -> str | None:
    """What to say of the first empty argument of a command line (an unset shell variable, ``--learners ""``), else None.

    No option or argument of ours means anything by an empty value, and taken as
    "not given" it would silently run the default (a whole-portfolio build).
    """
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if eq and flag.startswith("--") and not value:  # not whitespace: --sep " " is a separator
            return f"{flag}: an empty value; give one, or leave {flag} out for its default"
        if not arg:  # after an option that takes a value, or after a flag or command: not told apart from here
            return "an empty argument" + (f" after {args[i - 1]}" if i else "") + "; give a value there, or leave it out"
    return None


def _db_argument(args: list[str]) -> str | None:
    """The value of ``--db`` on a command line, where one was given."""
    for i, arg in enumerate(args):
        if arg == "--db" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--db="):
            return arg.partition("=")[2]
    return None


class _ErrorBoundary(TyperGroup):
    """Turns our errors into one red line and an exit code (2 input/usage, 1 runtime)."""

    def make_context(self, info_name, args, parent=None, **extra):
        empty = None
        if parent is None:  # the whole tree, once, before any help is printed
            _blank_flag_types(self)
            empty = _empty_argument(list(args))
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except Exception as exc:  # the root's own options (--bogus, --json before a command): one line, as a command's
            if parent is not None or not _is_usage_error(exc) or type(exc).__name__ == "NoArgsIsHelpError":
                raise
            _say(f"{exc.format_message()} (see `{info_name or 'automl-meta'} --help`)")
            raise typer.Exit(2) from None
        ctx.meta["automl_meta.empty_argument"] = empty  # refused by invoke, inside the boundary
        if parent is None:
            ctx.meta["automl_meta.args"] = list(args)  # the command line, for what an error names
        return ctx

    def invoke(self, ctx: typer.Context):
        debug = bool(ctx.params.get("debug")) or os.environ.get("AUTOML_META_DEBUG") == "1"
        if ctx.meta.get("automl_meta.empty_argument"):
            _say(ctx.meta["automl_meta.empty_argument"])
            raise typer.Exit(2)
        try:
            os.getcwd()
        except FileNotFoundError:  # relative paths name nothing, and torch's libraries do not even load
            _say("the current folder no longer exists (it was deleted); cd to a folder that exists and run again")
            raise typer.Exit(2) from None
        try:
            with warning_lines():
                return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except AutomlMetaError as exc:
            if debug:  # the traceback, then the same line and exit code as without --debug
                traceback.print_exc()
            _say(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except Terminated:
            _say("terminated; what was already written is kept")
            raise typer.Exit(TERMINATED_EXIT) from None
        except KeyboardInterrupt:
            _say("interrupted; what was already written is kept")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader of our output stopped reading: stop quietly, as Unix tools do
            _quiet_stdout()
            raise typer.Exit(BROKEN_PIPE_EXIT) from None
        except Exception as exc:  # the boundary: anything else is a bug or an environment failure
            if debug:
                traceback.print_exc()
            if type(exc) is sqlite3.DatabaseError:  # damage found mid-query (a locked file, a constraint: subclasses)
                db = _db_argument(ctx.meta.get("automl_meta.args", [])) or "the shipped meta-database"
                _say(f"{db}: damaged ({exc}); restore a copy of it, or build it again with `automl-meta db build`")
                raise typer.Exit(2) from None
            if isinstance(exc, MemoryError):
                _say(f"out of memory ({str(exc) or 'an allocation failed'}); free memory, or give the command fewer rows "
                     "(--max-rows where it has one); what was already written is kept")
                raise typer.Exit(1) from None
            full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC or isinstance(exc, sqlite3.OperationalError) \
                and "disk is full" in str(exc)
            if full:
                where = f" writing {exc.filename}" if getattr(exc, "filename", None) else ""
                _say(f"no space left on the device{where} ({exc}); free some space and run the command again; what was "
                     "already written is kept")
                raise typer.Exit(1) from None
            if _is_usage_error(exc):
                sub = getattr(exc, "ctx", None)
                hint = f" (see `{sub.command_path} --help`)" if sub is not None else ""
                message = exc.format_message()
                if not message and isinstance(getattr(sub, "command", None), TyperGroup):  # a group given no command
                    message = f"missing command; give one of {', '.join(sorted(sub.command.commands))}"
                _say(f"{message}{hint}")
                raise typer.Exit(2) from None
            _say(f"{type(exc).__name__}: {exc}{'' if debug else ' (run with --debug for the traceback)'}")
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_ErrorBoundary,
    name="automl-meta",
    help="Recommend learners for a tabular dataset, and meta-learn how gradient-trained models start and step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from automl_meta import __version__

        typer.echo(f"automl-meta {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Add the full traceback to a one-line error (its exit code stays).")] = False,
) -> None:
    """Recommend learners for a tabular dataset, and meta-learn how gradient-trained models start and step."""


for _module in (metafeatures, evaluate, db, recommend, selector, meta_learning, optimizer):
    _module.register(app)


def _standard_streams() -> str | None:
    """Open a closed standard input or error on /dev/null (``<&-``, ``2>&-``); what to say of a closed output, else None.

    Inheritable, as a shell gives them: a build's loky workers, started without a stderr,
    died at once (faulthandler needs one), and every unit was recorded as a dead worker.
    """
    for fd, name in ((0, "stdin"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
            os.set_inheritable(opened, True)  # os.open's are not: the worker processes would have none
            if getattr(sys, name) is None:
                setattr(sys, name, open(opened, "r" if fd == 0 else "w", closefd=False))
    try:
        os.fstat(1)
    except OSError:
        return "standard output is closed; redirect it to a file, or to /dev/null to discard it"
    return None


def main() -> None:
    """Console-script entry point.

    On the way out the collector is frozen: the interpreter's final garbage
    collections then skip every object alive at that point. After a command
    that imported scikit-learn, pymfe and LightGBM those passes took 0.3-0.4 s
    of a 3 s ``recommend``; exit handlers and finalizers still run as usual.
    """
    # multiprocessing's and loky's resource trackers take this process's -W options when they start: after a Ctrl-C
    # or SIGTERM stopped the worker processes, they warned of "leaked semaphore objects" that they clean up themselves
    sys.warnoptions.append("ignore:resource_tracker:UserWarning")
    closed = _standard_streams()
    if closed:
        _say(closed)
        sys.exit(2)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # a parent that set its own disposition keeps it
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        app(prog_name="automl-meta")
    except BrokenPipeError:  # raised outside a command (the group's own --help)
        _quiet_stdout()
        sys.exit(BROKEN_PIPE_EXIT)
    except OSError as exc:  # the group's own --help or --version written to a full disk (/dev/full)
        _say(f"cannot write the output ({exc.strerror or exc})")
        sys.exit(1)
    except Terminated:  # outside a command: nothing to clean up or say
        sys.exit(TERMINATED_EXIT)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a SIGTERM while the interpreter shuts down: just go
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
