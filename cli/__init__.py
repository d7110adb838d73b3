"""The `automl-meta` command line: thin Typer commands over the automl_meta library."""
