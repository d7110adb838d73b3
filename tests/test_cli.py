"""The application shell: version, fast help, one-line usage errors, python -m."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from automl_meta import __version__
from automl_meta.cli.main import _ErrorBoundary, app

runner = CliRunner()
HEAVY = ("torch", "lightgbm", "pymfe", "openml", "sklearn")


def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"automl-meta {__version__}"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from automl_meta.cli.main import app\n"
        "try:\n    app(['--help'], prog_name='automl-meta')\nexcept SystemExit:\n    pass\n"
        f"print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "LOADED="


def test_every_command_help_works_without_heavy_imports():
    code = (
        "import sys\n"
        "import typer.main\n"
        "from typer.testing import CliRunner\n"
        "from automl_meta.cli.main import app\n"
        "runner = CliRunner()\n"
        "def paths(cmd, prefix):\n"
        "    subs = getattr(cmd, 'commands', {})\n"
        "    yield prefix\n"
        "    for name, sub in subs.items():\n"
        "        yield from paths(sub, prefix + [name])\n"
        "for path in paths(typer.main.get_command(app), []):\n"
        "    result = runner.invoke(app, path + ['--help'])\n"
        "    print('HELP', ' '.join(path) or '-', result.exit_code)\n"
        f"print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    helps = [line.split() for line in lines if line.startswith("HELP ")]
    assert len(helps) > 1, "no command is registered"
    assert all(code == "0" for *_, code in helps), helps
    assert lines[-1] == "LOADED="


def test_flags_show_no_value_placeholder_in_help():
    import typer.main

    def paths(cmd, prefix):
        yield prefix
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from paths(sub, prefix + [name])

    for path in paths(typer.main.get_command(app), []):
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).stdout
        flagged = [line for line in text.splitlines() if "<bool>" in line]
        assert not flagged, (path, flagged)  # `--json <bool>` reads as if it took a value; `--help` too


def test_unknown_command_is_a_one_line_usage_error():
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "no-such-command" in lines[0]


def test_an_empty_value_is_refused_not_taken_for_the_default(tmp_path):
    data = tmp_path / "a b.csv"
    data.write_text("x y target\n" + "".join(f"{i} {i % 5} {'ab'[i % 2]}\n" for i in range(20)))
    cases = [
        (["db", "build", "--source", f"dir:{tmp_path}", "--db", str(tmp_path / "m.sqlite"), "--learners", ""], "an empty argument after --learners"),
        (["selector", "evaluate", "--task", "", "--max-datasets", "3"], "an empty argument after --task"),
        (["recommend", "--json", ""], "an empty argument after --json; give a value there, or leave it out"),
        (["metafeatures", str(data), "--cache-dir="], "--cache-dir: an empty value"),
        (["predict", "", str(data)], "an empty argument after predict"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1, args
    assert not (tmp_path / "m.sqlite").exists()
    spaced = runner.invoke(app, ["metafeatures", str(data), "--sep", " ", "--groups", "general", "--no-cache", "--json"])
    assert spaced.exit_code == 0, spaced.stderr  # a space is a value: a separator


def test_a_folder_where_a_file_is_meant_is_named_a_folder(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,target\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(20)))
    folder = tmp_path / "adir"
    folder.mkdir()
    cases = [
        (["predict", str(folder), str(data)], "adir: a folder, not a model file"),
        (["recommend", str(data), "--db", str(folder)], "adir: a folder, not a meta-database file"),
        (["db", "export", "--out", str(folder)], "adir: is a folder; give a file name, e.g. results.csv"),
        (["meta-train", "sinusoid", "--iterations", "1", "--out", str(tmp_path / "s.pt"), "--plot", "/"], "/: is a folder; give a file name"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in " ".join(result.stderr.split()), (args, result.stderr)


def test_option_pairs_that_contradict_and_out_of_range_seeds_are_one_line_usage_errors(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,target\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(20)))
    cases = [
        (["metafeatures", str(data), "--no-cache", "--cache-dir", str(tmp_path / "cache")], "give one or the other"),
        (["selector", "train", "--out", str(tmp_path / "st"), "--random-state", "-1"], "Invalid value for '--random-state'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1, (args, result.stderr)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "st").exists()


def test_python_dash_m_runs_the_same_app():
    done = subprocess.run([sys.executable, "-m", "automl_meta", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.strip() == f"automl-meta {__version__}"


def test_a_closed_output_pipe_ends_quietly():
    # `automl-meta recommend --help | head -40` once printed "error: BrokenPipeError": click's echo after
    # rich's help met the closed pipe inside the error boundary. A command that meets one stops quietly.
    boundary = typer.Typer(cls=_ErrorBoundary)

    @boundary.command()
    def write() -> None:
        raise BrokenPipeError(32, "Broken pipe")

    @boundary.command()
    def other() -> None:
        pass

    result = runner.invoke(boundary, ["write"])
    assert result.exit_code == 1  # as click and rich do
    assert result.stderr == "" and result.stdout == ""


BAD_INPUTS = {
    "empty.csv": ("", "empty"),
    "header.csv": ("a,b,target\n", "no data rows"),
    "few.csv": ("a,target\n" + "".join(f"{i},{i % 2}\n" for i in range(5)), "at least 10"),
    "onecol.csv": ("target\n" + "".join(f"{i % 2}\n" for i in range(20)), "delimiter"),
    "binary.csv": (b"\x00\x01\x02\xff" * 100, "unreadable bytes"),
    "allmissing.csv": ("a,target\n" + "".join(f"{i},\n" for i in range(20)), "all values missing"),
    "oneclass.csv": ("a,target\n" + "".join(f"{i},yes\n" for i in range(20)), "one class"),
}


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_bad_input_files_exit_2_with_one_line(tmp_path):
    for name, (content, message) in BAD_INPUTS.items():
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        result = runner.invoke(app, ["metafeatures", str(path), "--json"])
        assert result.exit_code == 2, (name, result.stderr)
        assert message in _one_error_line(result), name


def test_missing_file_and_absent_target_exit_2(tmp_path):
    result = runner.invoke(app, ["metafeatures", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "no such file" in _one_error_line(result)
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)))
    result = runner.invoke(app, ["metafeatures", str(path), "--target", "nope"])
    assert result.exit_code == 2 and "columns are: 'a', 'b', 'label'" in _one_error_line(result)


def test_ctrl_c_while_the_cli_itself_imports_is_one_line_and_exit_130():
    import subprocess
    import sys

    code = (
        "import builtins, automl_meta.cli as cli\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name == 'typer':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "cli.main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 130 and result.stderr == "error: interrupted\n", result.stderr


def test_library_warnings_are_one_warning_line_in_every_command_even_with_a_configured_root_logger(tmp_path):
    rows = "\n".join(f"{i},{(i * 7) % 11 / 3:.3f},{'ab'[i % 2]}" for i in range(200))
    (tmp_path / "rownum.csv").write_text("n,x,target\n" + rows + "\n")
    code = (
        "import logging, sys\n"
        "logging.basicConfig()\n"  # as openml-python or a user's script may have done
        "from automl_meta.cli.main import main\n"
        "sys.argv = ['automl-meta', 'metafeatures', 'rownum.csv', '--json']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [line for line in lines if line.startswith("warning: ")] and len(lines) == 1, done.stderr
    assert "'n' holds distinct consecutive integers" in lines[0]


@pytest.mark.parametrize("args", [["learners", "--task", "bogus"], ["recommend", "no-such-file.csv", "--json"]])
def test_debug_adds_the_traceback_and_keeps_the_exit_code_and_the_line(args, monkeypatch):
    # with --debug an input error exited 1, as any uncaught exception does, instead of 2
    plain = CliRunner().invoke(app, args)
    debugged = CliRunner().invoke(app, ["--debug", *args])
    assert plain.exit_code == debugged.exit_code == 2
    assert "Traceback (most recent call last)" in debugged.stderr and "Traceback" not in plain.stderr
    assert debugged.stderr.strip().splitlines()[-1] == plain.stderr.strip()
    monkeypatch.setenv("AUTOML_META_DEBUG", "1")
    assert CliRunner().invoke(app, args).exit_code == 2


def test_a_root_option_error_is_one_line_as_a_commands_is():
    # Typer's five-line box before: "Usage: ... / Try ... / ╭─ Error ─╮ ..."
    for args in (["--bogus"], ["--json", "learners"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: No such option:") and len(result.stderr.strip().splitlines()) == 1
        assert "see `automl-meta --help`" in result.stderr


def test_a_group_given_no_command_names_what_is_missing():
    result = runner.invoke(app, ["db"])
    assert result.exit_code == 2  # the help on stdout, then one line on stderr: it was "error: (see ...)", naming nothing
    assert "error: missing command; give one of build, export, info, manifest" in " ".join(result.stderr.split())


@pytest.mark.parametrize(("raised", "said"), [
    (MemoryError(), "error: out of memory (an allocation failed); free memory, or give the command fewer rows"),
    (OSError(28, "No space left on device", "out.csv"), "error: no space left on the device writing out.csv"),
    (sqlite3.OperationalError("database or disk is full"), "error: no space left on the device (database or disk is full)"),
], ids=["memory", "disk-full", "sqlite-disk-full"])
def test_running_out_of_memory_or_disk_is_one_line_naming_it_with_exit_1(monkeypatch, raised, said):
    from automl_meta.metadb import MetaDB

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(MetaDB, "open", fail)
    result = runner.invoke(app, ["db", "info"])
    assert result.exit_code == 1 and said in " ".join(result.stderr.split())
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
