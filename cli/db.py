"""Commands: `db build`, `db info`, `db export` (the meta-database)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from automl_meta.cli._common import JsonOption, err, fmt, no_limit, out, print_json, progress_bar, refuse_given, seconds_limit, shown
from automl_meta.numbers import MAX_SEED

SHIPPED = "metadb.sqlite"
EXPORT_TABLES = ("evaluations", "datasets", "meta-features", "scores", "fit-seconds", "learners", "builds", "metrics", "mf_runs", "meta")

group = typer.Typer(help="Build, inspect and export the meta-database (meta-features and learner scores).", no_args_is_help=True)

DbOption = Annotated[Path | None, typer.Option("--db", help="Meta-database file (default: the one shipped with automl-meta).")]


def _db_path(db: Path | None) -> Path:
    if db is not None:
        return db
    from automl_meta.meta_db import shipped_path

    return shipped_path(SHIPPED)


@group.command("build")
def build(
    source: Annotated[str, typer.Option("--source", help="dir:FOLDER, openml:suite=ID|tasks=IDS|datasets=IDS, openml-runs:tasks=IDS|runs=IDS or aslib:SCENARIO_FOLDER.")],
    db: Annotated[Path, typer.Option("--db", help="Meta-database file to create or resume.")],
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes (with --dask local: Dask workers; default 1).")] = None,
    dask: Annotated[str | None, typer.Option("--dask", help="'local': run the work on a Dask LocalCluster.")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Address of a running Dask scheduler, e.g. tcp://HOST:8786.")] = None,
    cv: Annotated[int | None, typer.Option("--cv", min=2, help="Cross-validation folds (default 5).")] = None,
    repeats: Annotated[int | None, typer.Option("--repeats", min=1, help="Repeat the k-fold split with fresh shuffles (less noise in every score; costs REPEATS times as much; default 1).")] = None,
    max_rows: Annotated[int | None, typer.Option("--max-rows", min=10, help="Row cap per dataset for evaluation and meta-features (stratified sample; default 2000).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.1, callback=seconds_limit, help="Seconds allowed per fit; slower learners are recorded as timeout (inf: no limit).")] = None,
    learners: Annotated[str | None, typer.Option("--learners", help="Comma-separated learner names (default: the whole portfolio of each task).")] = None,
    redo: Annotated[str | None, typer.Option("--redo", help="Comma-separated learners whose evaluations on this build's datasets, stored under an older definition of the learner, are recomputed (each replaced as its new result is stored; other sources' stay, and are named); 'metafeatures' re-extracts those stored by an older extractor version (a newer one's are kept).")] = None,
    mf_groups: Annotated[str | None, typer.Option("--mf-groups", help="Comma-separated pymfe groups (default: the extractor's default set).")] = None,
    replace_changed: Annotated[bool, typer.Option("--replace-changed", help="Files whose data changed since their results were stored: drop those results and recompute them; with aslib:, replace what the database holds of a changed scenario (without it, the build stops and names them).")] = False,
    random_state: Annotated[int | None, typer.Option("--random-state", "--seed", min=0, max=MAX_SEED, help="Seed for every random choice (default 0).")] = None,
    openml_cache: Annotated[Path | None, typer.Option("--openml-cache", help="openml-python cache folder (default: openml's own); openml-python unpickles its files, so give only one it filled for you.")] = None,
    openml_server: Annotated[str | None, typer.Option("--openml-server", help="OpenML server URL (default: www.openml.org).")] = None,
    openml_retries: Annotated[int | None, typer.Option("--openml-retries", min=1, help="Tries per OpenML request before giving up on that dataset (default 2).")] = None,
    openml_timeout: Annotated[float | None, typer.Option("--openml-timeout", min=1, help="Seconds per OpenML request (default 30).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Build the meta-database from a folder, OpenML or an ASlib scenario; rerunning resumes it."""
    from automl_meta.io.openml_client import OpenMLConfig
    from automl_meta.metadb.from_source import build_metadb, source_kind
    from automl_meta.metadb.units import IMPORT_KINDS, BuildOptions

    kind = source_kind(source)
    computing = {"--cv": cv, "--repeats": repeats, "--max-rows": max_rows, "--timeout": timeout, "--learners": learners,
                 "--redo": redo, "--mf-groups": mf_groups, "--replace-changed": replace_changed or None}
    if kind == "aslib":  # a changed scenario is replaced whole
        computing.pop("--replace-changed")
    running = {"--jobs": jobs, "--dask": dask, "--scheduler": scheduler, "--random-state": random_state}
    reaching = {"--openml-cache": openml_cache, "--openml-server": openml_server, "--openml-retries": openml_retries,
                "--openml-timeout": openml_timeout}
    sets = ("sets", "set")
    if kind in IMPORT_KINDS:
        refuse_given(computing, sets, f"how learners are evaluated, and an {kind}: source imports its runs as they are")
        refuse_given(running, sets, f"how the work is run, and an {kind}: source is imported in one process, drawing nothing at random")
    if kind in ("aslib", "dir"):
        refuse_given(reaching, sets, f"how OpenML is reached, and {'an' if kind == 'aslib' else 'a'} {kind}: source reads nothing from it")
    cv, repeats, max_rows = (5 if cv is None else cv), (1 if repeats is None else repeats), (2000 if max_rows is None else max_rows)
    jobs, random_state = (1 if jobs is None else jobs), (0 if random_state is None else random_state)
    openml_retries, openml_timeout = (2 if openml_retries is None else openml_retries), (30.0 if openml_timeout is None else openml_timeout)
    names = tuple(n.strip() for n in learners.split(",") if n.strip()) if learners else None
    groups = tuple(g.strip() for g in mf_groups.split(",") if g.strip()) if mf_groups else None
    options = BuildOptions(cv=cv, repeats=repeats, max_rows=max_rows, timeout=no_limit(timeout), random_state=random_state, learners=names,
                           mf_max_rows=max_rows or 2000, mf_groups=groups,
                           redo=tuple(n.strip() for n in redo.split(",") if n.strip()) if redo else (), replace_changed=replace_changed)
    config = OpenMLConfig(cache_dir=None if openml_cache is None else str(openml_cache), server=openml_server,
                          n_retries=openml_retries, timeout=openml_timeout)
    command = _command_line(source, db, jobs, dask, scheduler, cv, repeats, max_rows, timeout, learners, mf_groups, redo, random_state,
                            replace_changed, openml=config, kind=kind)
    from automl_meta.exceptions import UsageError
    from automl_meta.io.atomic import check_writable

    # a folder that takes no file is refused before the plan and its progress bar (a --db that is a folder, later)
    check_writable(db.parent, db, "my.sqlite")
    if len(db.name.encode("utf-8")) > 255 - len("-journal"):  # SQLite's side files add their suffix to the name
        raise UsageError(f"--db {db.name[:40]}...: the name is {len(db.name.encode('utf-8'))} bytes long, too long for "
                         "SQLite's side files (name-journal, name-wal); give a name of at most 247 bytes")
    with _BuildBar(enabled=not quiet) as bar:
        summary = build_metadb(source, db, options, jobs=jobs, dask=dask, scheduler=scheduler, openml_config=config,
                               command=command, progress=bar.update, on_total=bar.start)
    if json_output:
        print_json({"db": str(db), **summary})
        _refuse_if_nothing_usable(summary, source, where="the JSON's failures")
        return
    if summary.get("changes"):  # an ASlib scenario
        err.print(f"[yellow]replaced:[/] scenario {escape(summary['replaced'][0])} ({escape('; '.join(summary['changes']))}): "
                  f"its {summary['replaced_instances']} stored instances were dropped and the scenario imported again", soft_wrap=True)
    elif summary.get("replaced"):
        err.print(f"[yellow]replaced:[/] {escape(', '.join(summary['replaced']))}: their files changed, so their results were recomputed",
                  soft_wrap=True)
    if summary.get("timeouts_retried"):
        err.print(f"retried: {summary['timeouts_retried']} evaluations that timed out under a smaller --timeout than this build's",
                  soft_wrap=True)
    if summary.get("timed_out"):
        err.print(f"timed out: {summary['timed_out']} evaluations ran past --timeout and were stored as timeouts; "
                  "a rerun with a larger --timeout runs them again", soft_wrap=True)
    if summary.get("failures_retried"):
        err.print(f"retried: {summary['failures_retried']} evaluations that failed under other library versions "
                  f"({escape(', '.join(summary['upgraded']))})", soft_wrap=True)
    for note in summary.get("notes", ()):  # stored as each evaluation's reason too
        err.print(f"[yellow]note:[/] {escape(str(note['item']))}: {escape(str(note['note']))}", soft_wrap=True)
    for failure in summary["failures"]:
        err.print(f"[yellow]failed:[/] {escape(str(failure['item']))}: {escape(str(failure['reason']))}", soft_wrap=True)
    n_extracted = summary.get("metafeatures_extracted", 0)
    extracted = f", meta-features of {n_extracted} extracted" if n_extracted or "metafeatures" in options.redo else ""
    out.print(
        f"{escape(str(db))}: {summary['done']} datasets done, {summary['failed']} failed, {summary['remaining']} left; "
        f"{summary['evaluations_added']} evaluations added, {summary['already_stored']} already stored{extracted} "
        f"({summary['seconds']:.0f} s, {summary['executor']})"
    )
    _refuse_if_nothing_usable(summary, source)


def _refuse_if_nothing_usable(summary: dict, source: str, where: str = "above") -> None:
    """A build whose every dataset failed made nothing a selector can learn from: a non-zero exit, so a script notices
    (2 when every dataset was unusable data, 1 when something else failed, OpenML out of reach for instance). With
    ``--json`` the summary is printed first all the same: its ``failures`` hold the reasons (``where`` says so)."""
    if summary["failed"] and not summary["done"] and not summary["remaining"]:
        from automl_meta.exceptions import AutomlMetaError, DatasetError

        data_only = all(str(f["reason"]).startswith("DatasetError") for f in summary["failures"])
        first = summary["failures"][0] if summary["failures"] else None
        reasons = "reasons above" if where == "above" else f"reasons in {where}" + (f"; the first: {first['item']}: {first['reason']}" if first else "")
        raise (DatasetError if data_only else AutomlMetaError)(
            f"no dataset of {source} could be used: all {summary['failed']} failed ({reasons}); "
            "fix what they name, then run the same command again")


def _command_line(source, db, jobs, dask, scheduler, cv, repeats, max_rows, timeout, learners, mf_groups, redo, random_state,
                  replace_changed=False, openml=None, kind="dir") -> str:
    """The build as one reproducible command, recorded in the database (`db info` offers it to resume a killed build).

    Every option that changes what the build reads or computes is written out; for an
    OpenML source that includes where and how it reaches OpenML (``openml``, the
    :class:`~automl_meta.io.openml_client.OpenMLConfig`): another server or cache is
    other data, and the tries and timeout decide what is delivered. ``--quiet`` and
    ``--json`` only change what is shown, so they are left out, as are the options an
    import (``kind`` ``aslib`` or ``openml-runs``) refuses: the command must run again.
    """
    from automl_meta.metadb.units import IMPORT_KINDS

    parts = ["automl-meta", "db", "build", "--source", source, "--db", str(db)]
    if kind in IMPORT_KINDS:
        if replace_changed:
            parts.append("--replace-changed")
        if kind == "openml-runs":
            parts += _openml_parts(openml)
        return " ".join(shlex.quote(p) for p in parts)
    parts += ["--jobs", str(jobs), "--cv", str(cv)]
    if repeats != 1:
        parts += ["--repeats", str(repeats)]
    for flag, value in (("--dask", dask), ("--scheduler", scheduler), ("--max-rows", max_rows), ("--timeout", timeout),
                        ("--learners", learners), ("--mf-groups", mf_groups), ("--redo", redo)):
        if value is not None:
            parts += [flag, str(value)]
    if replace_changed:
        parts.append("--replace-changed")
    parts += ["--random-state", str(random_state)]
    if kind == "openml":
        parts += _openml_parts(openml)
    return " ".join(shlex.quote(p) for p in parts)


def _openml_parts(openml) -> list[str]:
    """The options of where and how OpenML is reached, as a build command gives them."""
    parts = []
    if openml is not None:
        for flag, value in (("--openml-server", openml.server), ("--openml-cache", openml.cache_dir),
                            ("--openml-retries", openml.n_retries), ("--openml-timeout", openml.timeout)):
            if value is not None:
                parts += [flag, str(value)]
    return parts


class _BuildBar:
    """The progress bar of `db build`: datasets done / failed / remaining and elapsed time, on stderr."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._context = None
        self._advance = None
        self._seen = 0

    def __enter__(self):
        return self

    def start(self, total: int) -> None:
        self._context = progress_bar("datasets", total=total, enabled=self.enabled)
        self._advance = self._context.__enter__()

    def update(self, state) -> None:
        if self._advance is None:
            return
        finished = state.done + state.failed
        text = f"datasets: {state.done} done, {state.failed} failed, {state.remaining} left"
        self._advance(finished - self._seen, description=text)
        self._seen = finished

    def __exit__(self, *exc):
        if self._context is not None:
            self._context.__exit__(*exc)
        return False


@group.command("info")
def info(db: DbOption = None, json_output: JsonOption = False) -> None:
    """What the meta-database holds: datasets, learners, evaluations per task, the versions that produced its data, and
    what of it this automl-meta would compute otherwise."""
    from automl_meta.metadb import MetaDB
    from automl_meta.metadb.staleness import stale_data_warnings
    from automl_meta.metadb.task_learners import with_db_path

    with MetaDB.open(_db_path(db)) as store:
        summary = store.info()
        # what recommend --db and the selectors will warn of: meta-features or scores this version computes otherwise
        summary["stale"] = [line for task in summary["tasks"] for line in stale_data_warnings(store, task)]
    if json_output:
        print_json(summary)
        return
    from rich.table import Table

    out.print(f"{escape(str(summary['path']))} (schema {summary['schema_version']}): {summary['n_datasets']} datasets, "
              f"{summary['n_learners']} learners, {summary['n_evaluations']} evaluations, "
              f"{summary['n_missing_pairs']} pairs missing, {summary['n_failed_datasets']} datasets failed")
    # one column per task, so that the table fits an 80-column terminal
    tasks = summary["tasks"]
    table = Table("", *(escape(shown(t)) for t in tasks))
    rows = {"datasets": "n_datasets", "learners": "n_learners", "evaluations": "n_evaluations", "ok": "n_ok",
            "failed": "n_failed", "timeout": "n_timeout", "missing": "n_missing", "meta-features": "n_meta_features"}
    for label, key in rows.items():
        table.add_row(label, *(fmt(t[key]) for t in tasks.values()))
    table.add_row("default metric", *(escape(shown(str(t["default_metric"]))) for t in tasks.values()))
    out.print(table)
    versions = ", ".join(f"{k} {v}" for k, v in summary["versions"].items() if v)
    if versions:
        out.print(f"built with {escape(versions)}", soft_wrap=True)
    mixed = "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in summary.get("mixed_versions", {}).items())
    if mixed:
        out.print(f"stored data come from several versions: {escape(mixed)}", soft_wrap=True)
    if summary["protocol"]:
        out.print(f"protocol: {escape(str(summary['protocol']))}", soft_wrap=True)
    for line in summary["stale"]:
        out.print(f"[yellow]stale:[/] {escape(line)}", soft_wrap=True)
    last = summary["builds"][-1] if summary["builds"] else None
    if last is not None and last["status"] != "finished":
        command = with_db_path(str(last["command"]), summary["path"]) if last["command"] else None
        resume = f"; rerun its command to resume it: {escape(command)}{_relative_source_note(command)}" \
            if last["status"] == "interrupted" and command else ""
        out.print(f"[yellow]build {last['id']} ({escape(str(last['started']))}) is {last['status']}[/]{resume}", soft_wrap=True)


def _relative_source_note(command: str) -> str:
    """A warning where the command's data folder is relative and not here: it only resumes from where the build ran."""
    parts = shlex.split(command)
    source = parts[parts.index("--source") + 1] if "--source" in parts[:-1] else ""
    kind, _, folder = source.partition(":")
    if kind in ("dir", "aslib") and folder and not Path(folder).is_absolute() and not Path(folder).exists():
        return f" (from the folder that build ran in: {folder} is relative to it and is not found from here)"
    return ""


@group.command("export")
def export(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv, .tsv (either may end in .gz, .bz2, .xz or .zip) or .parquet.")],
    db: DbOption = None,
    table: Annotated[str, typer.Option("--table", help=f"What to export: {', '.join(EXPORT_TABLES)}.")] = "evaluations",
    metric: Annotated[str | None, typer.Option("--metric", help="Metric for --table scores (default: the task's default metric; a database of several tasks needs --task or --metric).")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Only this task (e.g. classification, regression, aslib:SAT11-HAND).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Export a table of the meta-database to CSV or parquet."""
    import json

    from automl_meta.exceptions import UsageError
    from automl_meta.io.atomic import check_output_file
    from automl_meta.io.table_output import output_format, write_table
    from automl_meta.metadb import MetaDB

    suffix, _ = output_format(out_file)
    if table not in EXPORT_TABLES:
        raise UsageError(f"unknown table {table!r}; choose one of {', '.join(EXPORT_TABLES)}")
    if metric is not None and table != "scores":
        raise UsageError(f"--metric chooses the scores of --table scores; drop it for --table {table}")
    if task is not None and table in ("builds", "metrics", "meta"):
        raise UsageError(f"--table {table} is not kept per task; drop --task")
    check_output_file(out_file, f"{table}{suffix}", {"the meta-database": _db_path(db)})
    direction = None  # the metric of --table scores and which way it is better
    with MetaDB.open(_db_path(db)) as store:
        tasks = list(store.info()["tasks"])
        if task is not None and task not in tasks:
            raise UsageError(f"the database has no task {task!r}; its tasks: {', '.join(tasks) or 'none yet'}")
        if table == "evaluations":
            frame = store.evaluations(task)
            frame["fold_scores"] = [json.dumps(v) for v in frame["fold_scores"]]
            frame["protocol"] = [json.dumps(v, sort_keys=True) for v in frame["protocol"]]
        elif table == "datasets":
            frame = store.datasets(task, include_failed=True)
        elif table == "meta-features":
            frame = store.meta_features(task).reset_index()
        elif table == "scores":
            frame, metric = _scores(store, tasks, task, metric)
            direction = {"metric": metric, "maximize": bool(store.maximize(metric))}
        elif table == "fit-seconds":
            frame = store.fit_seconds(task).reset_index()
        elif table == "learners":
            frame = store.learners(task)
        elif table == "mf_runs":
            frame = store.metafeature_runs(task)
        else:
            frame = store.table(table)
    frame.columns = [str(c) for c in frame.columns]
    write_table(frame, out_file)
    if json_output:
        print_json({"out": str(out_file), "table": table, "rows": len(frame), "columns": len(frame.columns),
                    "metric": None, "maximize": None, **(direction or {})})
    else:
        what = table if direction is None else \
            f"{table} of {direction['metric']}, {'higher' if direction['maximize'] else 'lower'} is better"
        out.print(f"{escape(str(out_file))}: {len(frame)} rows x {len(frame.columns)} columns ({escape(what)})")


def _scores(store, tasks: list[str], task: str | None, metric: str | None):
    """(the wide score table of ``metric`` for ``task``, or for the one task that records ``metric``; the metric).

    Refuses a task without it."""
    from automl_meta.exceptions import UsageError

    if metric is None:
        tasks = [task] if task else tasks
        if not tasks:
            raise UsageError("the database holds no scores yet; finish `automl-meta db build` first")
        if len(tasks) != 1:
            raise UsageError(f"the database has several tasks ({', '.join(tasks)}); give --task or --metric")
        metric = store.default_metric(tasks[0])
        return store.scores(metric, tasks[0]).reset_index(), metric
    store.maximize(metric)  # an unknown metric: one line naming the known ones
    having = [t for t in store.tasks_recording(metric) if t in ([task] if task else tasks)]
    if not having:
        where = f"{task} records" if task else "no task records"
        known = "; ".join(f"{t}: {', '.join(m)}" for t, m in store.recorded_metrics().items()) or "none yet"
        raise UsageError(f"{where} no {metric} scores; give a metric a task records ({known})")
    if len(having) > 1:  # one wide table per task: dataset names and learners are those of a task
        raise UsageError(f"several tasks record {metric} scores ({', '.join(having)}); give --task")
    return store.scores(metric, having[0]).reset_index(), metric


@group.command("manifest")
def manifest_command(
    db: Annotated[Path, typer.Option("--db", help="Meta-database file to describe.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Manifest file to write (JSON).")],
    finalize: Annotated[bool, typer.Option("--finalize", help="Also prepare the file for shipping (rollback journal, vacuumed).")] = False,
    note: Annotated[list[str] | None, typer.Option("--note", help="A line of provenance to record in the manifest (repeatable).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Write the manifest of a meta-database: versions, build commands and the datasets it knows."""
    import json

    from automl_meta.io.atomic import check_output_file, write_text_atomic
    from automl_meta.metadb import MetaDB
    from automl_meta.metadb.manifest import finalize_for_shipping, manifest

    check_output_file(out_file, "MANIFEST.json", {"the meta-database": db})
    with MetaDB.open(db) as store:  # a file that is not a meta-database is refused before --finalize changes it
        document = manifest(store)
    if finalize:
        finalize_for_shipping(db)
    if note:
        document["notes"] = list(note)
    write_text_atomic(out_file, json.dumps(document, indent=1, sort_keys=False, allow_nan=False) + "\n")
    if json_output:
        print_json({"out": str(out_file), "n_datasets": document["n_datasets"], "n_evaluations": document["n_evaluations"]})
    else:
        out.print(f"{escape(str(out_file))}: {document['n_datasets']} datasets, {document['n_evaluations']} evaluations")


def register(app: typer.Typer) -> None:
    """Add the `db` command group to ``app``."""
    app.add_typer(group, name="db")
