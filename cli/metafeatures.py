"""`automl-meta metafeatures DATA`: meta-features of one data file (table or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from automl_meta.cli._common import (
    DataArgument,
    DayFirstOption,
    JsonOption,
    SeedOption,
    SepOption,
    TargetOption,
    TaskOption,
    fmt,
    out,
    print_json,
    shown,
)

GroupsOption = Annotated[
    str,
    typer.Option(
        "--groups",
        "-g",
        help="Comma-separated pymfe groups: general, statistical, info-theory, model-based, landmarking (the default), "
        "relative, clustering, complexity, concept, itemset; or all.",
    ),
]
SummaryOption = Annotated[str, typer.Option("--summary", help="Comma-separated pymfe summary functions.")]
MaxRowsOption = Annotated[
    int, typer.Option("--max-rows", min=10, help="Rows in the stratified sample given to pymfe (counts use all rows).")
]
MaxColsOption = Annotated[
    int,
    typer.Option(
        "--max-cols",
        min=1,
        help="Encoded columns in the sample given to pymfe (a categorical counts as its levels - 1, at most 9).",
    ),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        file_okay=False,
        help="Meta-feature cache folder (default: $AUTOML_META_CACHE_DIR, else the user cache directory).",
    ),
]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Compute afresh; neither read nor write the cache.")]


def metafeatures(
    data: DataArgument,
    target: TargetOption = None,
    task: TaskOption = "auto",
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    groups: GroupsOption = "default",
    summary: SummaryOption = "mean,sd",
    max_rows: MaxRowsOption = 2000,
    max_cols: MaxColsOption = 64,
    random_state: SeedOption = 0,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    as_json: JsonOption = False,
) -> None:
    """Describe a dataset by its meta-features (pymfe groups on a stratified sample, counts on all rows)."""
    from automl_meta.io import load_dataset
    from automl_meta.io.mf_cache import cached_metafeatures
    from automl_meta.metafeatures import extract_metafeatures

    if no_cache and cache_dir is not None:
        from automl_meta.exceptions import UsageError

        raise UsageError("--cache-dir names the cache that --no-cache leaves alone; give one or the other")
    dataset = load_dataset(data, target=target, task=task, sep=sep, day_first=day_first)
    options = dict(groups=groups, summary=summary, random_state=random_state, max_rows=max_rows, max_cols=max_cols)
    if no_cache:
        mf = extract_metafeatures(dataset, **options)
    else:
        mf = cached_metafeatures(dataset, cache_dir=cache_dir, **options)

    if as_json:
        print_json(
            {
                "n_rows": dataset.n_rows,
                "n_features": dataset.n_features,
                "task": dataset.task,
                "target": dataset.target,
                "metafeatures": mf.values,
                "seconds": round(mf.seconds, 4),
                "cached": mf.cached,
                "n_rows_used": mf.n_rows_used,
                "n_cols_used": mf.n_cols_used,
                "groups": list(mf.groups),
                "columns": dataset.profile.as_dict(),
            }
        )
        return
    _render(dataset, mf)


def _names(columns, limit: int = 5) -> str:
    from rich.markup import escape

    columns = [str(c) for c in columns]
    if not columns:
        return "none"
    return escape(", ".join(columns[:limit]) + (f", ... ({len(columns)} in all)" if len(columns) > limit else ""))


def _render(dataset, mf) -> None:
    from rich.markup import escape
    from rich.table import Table

    profile = dataset.profile
    source = "cache hit" if mf.cached else f"sample of {mf.n_rows_used} rows x {mf.n_cols_used} columns"
    out.print(
        f"[bold]{escape(dataset.name)}[/]: {dataset.n_rows} rows, {dataset.n_features} features, "
        f"{dataset.task}, target [bold]{escape(dataset.target)}[/]"
    )
    out.print(f"  categorical: {_names(profile.categorical)}")
    out.print(f"  with missing values: {_names(profile.missing)}")
    out.print(f"  ID-like (dropped): {_names(profile.id_like)};  constant or empty (dropped): {_names(profile.constant)}")
    if profile.nested:
        out.print(f"  lists or other nested values (dropped): {_names(profile.nested)}")
    if profile.dates:
        named = [f"{d} ({profile.date_formats[d]})" if d in profile.date_formats else d for d in profile.dates]
        out.print(f"  dates (as numeric parts: year, month, day, day of week, hour, days): {_names(named)}")
    if profile.row_numbers:
        out.print(f"  row-number-like (kept): {_names(profile.row_numbers)}")
    if profile.rows_without_target:
        out.print(f"  rows without a target (dropped): {profile.rows_without_target}")
    out.print(f"  {len(mf.values)} meta-features in {mf.seconds:.2f} s ({source}); groups: {', '.join(mf.groups)}")
    table = Table(show_header=True, header_style="bold", box=None)
    table.add_column("meta-feature")
    table.add_column("value", justify="right")
    for name, value in mf.values.items():
        table.add_row(escape(shown(name)), fmt(value))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``metafeatures`` to ``app``."""
    app.command("metafeatures")(metafeatures)
