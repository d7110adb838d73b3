"""The application shell: version, fast help, one-line usage errors, python -m."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from automl_meta import __version__
from automl_meta.cli.main import app

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


def test_unknown_command_is_a_one_line_usage_error():
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "no-such-command" in lines[0]


def test_python_dash_m_runs_the_same_app():
    done = subprocess.run([sys.executable, "-m", "automl_meta", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.strip() == f"automl-meta {__version__}"
