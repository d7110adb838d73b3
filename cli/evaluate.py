"""Commands: ``evaluate`` (cross-validate the portfolio on a dataset) and ``learners`` (list it)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from automl_meta.cli._common import (
    DataArgument,
    DayFirstOption,
    JsonOption,
    SeedOption,
    SepOption,
    TargetOption,
    TaskOption,
    err,
    fmt,
    no_limit,
    out,
    print_json,
    profile_line,
    progress_bar,
    seconds_limit,
    sized_table,
)

LearnersOption = Annotated[
    str, typer.Option("--learners", "-l", help="'all' or comma-separated learner names (see `automl-meta learners`).")
]
CvOption = Annotated[int, typer.Option("--cv", help="Number of cross-validation folds (stratified for classification).")]
RepeatsOption = Annotated[int, typer.Option("--repeats", help="Repeat the k-fold split this many times with fresh shuffles.")]
MetricOption = Annotated[
    str | None,
    typer.Option(
        "--metric",
        "-m",
        help="Ranking metric: balanced_accuracy (default), accuracy, roc_auc, log_loss; r2 (default), rmse, mae. "
        "Losses are reported in their units, lower first.",
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout", callback=seconds_limit,
        help="Seconds allowed per fit (one fold); a learner over it is killed and recorded as timeout (inf: no limit).",
    ),
]
JobsOption = Annotated[int, typer.Option("--jobs", "-j", help="Learners evaluated in parallel (one core each); -1 for all cores.")]
MaxRowsOption = Annotated[
    int | None, typer.Option("--max-rows", help="Cross-validate a stratified subsample of at most this many rows.")
]


def evaluate_command(
    data: DataArgument,
    target: TargetOption = None,
    task: TaskOption = "auto",
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    learners: LearnersOption = "all",
    cv: CvOption = 5,
    repeats: RepeatsOption = 1,
    metric: MetricOption = None,
    timeout: TimeoutOption = None,
    jobs: JobsOption = 1,
    max_rows: MaxRowsOption = None,
    random_state: SeedOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Cross-validate every candidate learner (or those named) on DATA and rank them."""
    from automl_meta.evaluation import evaluate
    from automl_meta.io import load_dataset
    from automl_meta.learners import get_learners

    dataset = load_dataset(data, target=target, task=task, sep=sep, day_first=day_first)
    specs = get_learners(dataset.task, None if learners.strip() == "all" else learners)
    with progress_bar(f"evaluating {len(specs)} learners", total=len(specs), enabled=err.is_terminal) as advance:
        result = evaluate(
            dataset,
            learners=specs,
            cv=cv,
            metric=metric,
            timeout=no_limit(timeout),
            n_jobs=jobs,
            random_state=random_state,
            max_rows=max_rows,
            repeats=repeats,
            on_result=lambda r: advance(1, description=f"{r.learner}: {r.status}"),
        )
    if json_output:
        print_json({"dataset": dataset.name, "target": dataset.target, **result.as_dict(), "columns": dataset.profile.as_dict()})
        return
    _render(dataset, result)


def _render(dataset, result) -> None:
    direction = "higher" if result.greater_is_better else "lower"
    line = profile_line(dataset.profile)
    if line:
        out.print(line)
    title = (
        f"{escape(dataset.name)}: {result.task} (target {escape(repr(dataset.target))}), {result.n_rows} rows x {result.n_features} features, "
        f"{result.cv}-fold{f' x {result.repeats}' if result.repeats > 1 else ''} CV, {result.metric} ({direction} is better)"
    )
    rows = []
    for rank, r in enumerate(result.results, start=1):
        status = "ok" if r.status == "ok" else f"[red]{r.status}[/]"
        if r.reason:
            status += " *"
        rows.append([str(rank), r.learner, fmt(r.mean), fmt(r.std), fmt(r.fit_seconds, 3), fmt(r.predict_seconds, 3), status])
    out.print(sized_table(title, ["#", "learner", "score", "std", "fit s", "predict s", "status"], rows, left=("learner", "status")))
    for r in result.results:
        if r.reason:
            out.print(f"* {r.learner} ({r.status}): {r.reason}", soft_wrap=True, markup=False)
    for note in result.notes:
        out.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


def learners_command(
    task: Annotated[str | None, typer.Option("--task", help="Only learners serving classification or regression.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List the candidate learners: names, tasks, families and parameters."""
    from automl_meta.exceptions import UsageError
    from automl_meta.learners import LEARNERS, PORTFOLIO_VERSION

    if task is not None and task not in ("classification", "regression"):
        raise UsageError(f"unknown task {task!r}: use classification or regression")
    specs = [s for s in LEARNERS.values() if task is None or s.supports(task)]
    if json_output:
        print_json({"portfolio_version": PORTFOLIO_VERSION, "learners": [s.as_dict() for s in specs]})
        return
    rows = []
    for s in specs:
        params = ", ".join(f"{k}={v}" for k, v in s.params.items())
        rows.append([s.name, s.task, s.family, s.description + (f"\n[dim]{escape(params)}[/]" if params else "")])
    headers = ["name", "tasks", "family", "description, [dim]parameters[/]"]
    out.print(sized_table(f"candidate learners (portfolio version {PORTFOLIO_VERSION})", headers, rows,
                          left=headers[:3], wrap=headers[3:]))


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``learners`` to ``app``."""
    app.command("evaluate")(evaluate_command)
    app.command("learners")(learners_command)
