"""The `automl-meta` command line: thin Typer commands over the automl_meta library."""


def main() -> None:
    """Console-script entry point: a Ctrl-C while the CLI itself imports stops with one line too (exit 130).

    :func:`automl_meta.cli.main.main` reports a Ctrl-C inside a command; one in the
    first tenth of a second, while Typer, rich and the command modules load, came
    before it and printed a traceback.
    """
    import sys

    try:
        from automl_meta.cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        raise SystemExit(130) from None
    run()
