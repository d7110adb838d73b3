"""Commands: `selector evaluate` (meta-model vs baselines, held-out datasets) and `selector train`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
from rich.markup import escape

from automl_meta.cli._common import JsonOption, err, fit_columns, fmt, glyph, out, print_json, progress_bar, refuse_without, sized_table
from automl_meta.numbers import MAX_SEED

group = typer.Typer(
    help="Evaluate the meta-model against baselines on held-out datasets, and train the shipped meta-model.",
    no_args_is_help=True,
)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Meta-database built by `automl-meta db build` (default: the shipped one)."),
]
AslibOption = Annotated[
    Path | None,
    typer.Option("--aslib", help="ASlib scenario folder: evaluate on it with its cv.arff folds instead of a meta-database."),
]
SelTaskOption = Annotated[str | None, typer.Option(
    "--task", help="classification (default), regression, or the task of an imported ASlib scenario, aslib:NAME "
    "(`db info` lists a database's tasks; meta-database only).")]
MetricOption = Annotated[str | None, typer.Option(
    "--metric", help="Score to select by (default: the database's default for the task, or the scenario's first performance measure)."
)]
SeedsOption = Annotated[int, typer.Option("--seeds", min=1, help="Number of seeds (0..N-1) of the seeded selectors.")]
MaxDatasetsOption = Annotated[
    int | None,
    typer.Option("--max-datasets", min=3, help="Evaluate on a random subset of this many datasets (quick checks: "
                 "selectors are trained and judged on that subset alone; --folds keeps every dataset)."),
]
BootOption = Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals (0: none).")]
FoldsOption = Annotated[int | None, typer.Option(
    "--folds", min=2, help="With --db: K folds over the datasets (shuffled, seed 0) instead of leaving each dataset out: "
    "K fits per selector and seed instead of one per dataset, for a large database.")]
PairwiseOption = Annotated[bool, typer.Option(
    "--pairwise-rf",
    help="Also evaluate SATzilla-style pairwise random forests (300 trees per pair of learners: slow, "
    "about 11 minutes per seed on OPENML-WEKA-2017's 30 learners with --jobs 2)."
)]
ForestOption = Annotated[bool, typer.Option(
    "--forest",
    help="Also evaluate one multi-output random forest over all learners (1,000 trees without bootstrap; "
    "seconds; it picks the learner with the least regret on the datasets sharing the new one's leaves): the best "
    "selector here on OPENML-WEKA-2017, a little worse than the meta-model on the shipped database."
)]
ProbeOption = Annotated[Path | None, typer.Option(
    "--probe",
    help="Folder the meta-database was built from (db build --source dir:FOLDER): probe every dataset as "
    "`recommend --probe` does, and evaluate the probe alone and the meta-model blended with it. Slow the "
    "first time (about 10-30 s per dataset); probes are cached, so a rerun or a resumed one is quick."
)]
ProbeSeedOption = Annotated[int | None, typer.Option("--probe-seed", min=0, help="Seed of the probes' subsamples and folds (default 0).")]
ProbeWeightOption = Annotated[float | None, typer.Option(
    "--probe-weight", min=0.0, max=1.0, help="Weight of the probe's ranks in the blend (default: the one `recommend --probe` uses).")]
JobsOption = Annotated[int, typer.Option(
    "--jobs", "-j", min=1, help="Worker processes over the folds (the numbers do not depend on it), and over the learners "
    "of a probe run now: under its time budget, which learners a probe finishes depends on them (cached probes are "
    "reused whatever --jobs)."
)]

_COLUMNS = (
    ("top1_accuracy", "top-1"),
    ("mean_regret", "regret"),
    ("remaining_gap", "gap\nleft"),
    ("gap_closed", "gap\nclosed"),
    ("ndcg_at_3", "NDCG\n@3"),
    ("spearman", "Spear-\nman"),
)


def _task_recording(db: Path | None, metric: str) -> str | None:
    """The one task of the database whose scores are in ``metric`` (``--metric r2`` alone means regression), else None."""
    from automl_meta.io.metadb_resolve import resolve_db_path
    from automl_meta.metadb import MetaDB

    with MetaDB.open(resolve_db_path(db)) as store:
        having = store.tasks_recording(metric)
    return having[0] if len(having) == 1 else None


class _DbData(NamedTuple):
    """What the selector commands read of one task of a database."""

    path: Path
    metric: str
    maximize: bool
    meta_X: Any
    scores: Any
    evaluations: Any  # fold scores, for the noise floor
    runtime: bool  # the minimized runtime (PAR10) of an ASlib import
    imported: dict  # that import's stored settings (performance type, cutoff...); {} for other tasks


def _load_db(db: Path | None, task: str, metric: str | None) -> _DbData:
    """The database's data for ``task``, as the selectors see them."""
    from automl_meta.exceptions import MetaDBContentError
    from automl_meta.io.metadb_resolve import resolve_db_path, selection_data
    from automl_meta.metadb import MetaDB

    path = resolve_db_path(db)
    with MetaDB.open(path) as store:
        metric = metric or store.default_metric(task)
        maximize = bool(store.maximize(metric))
        meta_X, scores = selection_data(store, task, metric)
        evaluations = store.evaluations(task)  # fold scores, for the noise floor (~0.05 s)
        evaluations = evaluations[evaluations["dataset"].isin(scores.index) & evaluations["learner"].isin(scores.columns)]  # as the selectors see them
        aslib = (store.get_meta(task) if task.startswith("aslib:") else None) or {}  # set by the ASlib import
    if meta_X.empty or scores.dropna(how="all").empty:
        raise MetaDBContentError(f"{path}: no {task} datasets with meta-features and {metric} scores; pass another --task or --db")
    runtime = aslib.get("performance_type") == "runtime" and aslib.get("performance_measure") == metric and not maximize
    return _DbData(path, metric, maximize, meta_X, scores, evaluations, runtime, aslib)


def _subset(index, n: int | None, seed: int = 0):
    import numpy as np

    if n is None or n >= len(index):
        return index
    rng = np.random.default_rng(seed)
    return index[np.sort(rng.choice(len(index), size=n, replace=False))]


def evaluate_command(
    db: DbOption = None,
    aslib: AslibOption = None,
    task: SelTaskOption = None,
    metric: MetricOption = None,
    seeds: SeedsOption = 5,
    max_datasets: MaxDatasetsOption = None,
    folds_k: FoldsOption = None,
    bootstrap: BootOption = 1000,
    forest: ForestOption = False,
    pairwise_rf: PairwiseOption = False,
    probe: ProbeOption = None,
    probe_seed: ProbeSeedOption = None,
    probe_weight: ProbeWeightOption = None,
    jobs: JobsOption = 1,
    json: JsonOption = False,
) -> None:
    """Leave-one-dataset-out over a meta-database (or an ASlib scenario's folds): meta-model vs baselines."""
    from automl_meta.exceptions import UsageError
    from automl_meta.selection.suite import default_selectors, evaluate_suite

    asked_metric = metric  # the probe measures the task's default metric unless one was asked for
    if db is not None and aslib is not None:
        raise UsageError("give either --db or --aslib, not both")
    if probe is not None and aslib is not None:
        raise UsageError("--probe reads the datasets of a meta-database from their files; an ASlib scenario has none: drop --probe")
    refuse_without("--probe", probe is not None, "--probe FOLDER", {"--probe-seed": probe_seed, "--probe-weight": probe_weight})
    if aslib is not None and task is not None:
        raise UsageError("--task picks a task of a meta-database (--db); an ASlib scenario has one of its own: drop --task")
    if aslib is not None and folds_k is not None:
        raise UsageError("--folds splits a meta-database's datasets; an ASlib scenario has its own cv.arff folds: drop --folds")
    if task is None and aslib is None and metric is not None:
        task = _task_recording(db, metric)
    task = task or "classification"
    if aslib is not None:
        from automl_meta.io.aslib import read_scenario

        scenario = read_scenario(aslib, measure=metric)
        meta_X, scores, maximize = scenario.features, scenario.performance, scenario.maximize
        folds = scenario.folds if len(scenario.folds) else None
        source = {"db": None, "aslib": scenario.name, "task": None, "metric": scenario.performance_measure,
                  "performance_type": scenario.performance_type, "cutoff": scenario.cutoff}
        log_scores = scenario.performance_type == "runtime"
    else:
        data = _load_db(db, task, metric)
        path, metric, maximize, meta_X, scores, evaluations = data[:6]
        log_scores, imported = data.runtime, data.imported
        folds = None
        # an imported ASlib scenario's own settings, else null
        source = {"db": str(path), "aslib": None, "task": task, "metric": metric,
                  "performance_type": imported.get("performance_type"), "cutoff": imported.get("cutoff")}
    keep = _subset(meta_X.index.intersection(scores.dropna(how="all").index), max_datasets)
    meta_X, scores = meta_X.loc[keep], scores.loc[keep]
    if folds_k is not None:
        from automl_meta.selection.protocols import shuffled_folds

        folds = shuffled_folds(keep, folds_k)
    if folds is not None:
        folds = folds.reindex(keep)
        if folds.nunique() < 2:
            fix = "raise --max-datasets" if max_datasets is not None else "give a cv.arff with at least 2 folds"
            raise UsageError(f"the chosen datasets fall in fewer than 2 folds of cv.arff; {fix}")
    probed = None
    if probe is not None:
        from automl_meta.selection.probe import PROBE_WEIGHT

        probe_weight = PROBE_WEIGHT if probe_weight is None else probe_weight
        meta_X, probed = _with_probes(path, task, asked_metric, meta_X, list(scores.columns), probe, probe_seed or 0, jobs, quiet=json)
    n_units = len(keep) if folds is None else int(folds.nunique())
    with progress_bar("selector evaluation", n_units, enabled=not json) as advance:
        report = evaluate_suite(meta_X, scores, maximize, folds=folds, seeds=range(seeds), log_scores=log_scores,
                                n_boot=bootstrap, progress=advance, n_jobs=jobs,
                                selectors=default_selectors(log_scores, pairwise_forest=pairwise_rf, forest=forest,
                                                            probe_weight=None if probe is None else probe_weight))
    report = {**source, **report}
    if folds_k is not None:
        report["protocol"] = f"{folds_k}-fold over the datasets (shuffled, seed 0)"
    # the same keys from --db and --aslib, null where one does not apply
    report["probe"] = None if probed is None else {**probed, "weight": probe_weight}
    report["fold_peeking_selector"] = None if aslib is not None else _noise_floor(evaluations, metric, maximize, scores)
    if json:
        print_json(report)
        return
    _render(report)


def _with_probes(path: Path, task: str, metric: str | None, meta_X, learners: list[str], folder: Path, seed: int, jobs: int, quiet: bool):
    """``meta_X`` with the ``probe:<learner>`` columns of every dataset's probe in ``metric`` (None: the task's default;
    cached), and the probe's summary."""
    from automl_meta.io.probe_runs import ProbeSettings, probe_table
    from automl_meta.metadb import MetaDB

    with MetaDB.open(path) as store:
        datasets = store.datasets(task).set_index("name").loc[meta_X.index].reset_index()
    with progress_bar("probing datasets", len(datasets), enabled=not quiet) as advance:
        table, summary = probe_table(datasets, folder, learners, ProbeSettings(metric=metric, seed=seed), n_jobs=jobs, progress=advance)
    return meta_X.join(table), summary


def _noise_floor(evaluations, metric: str, maximize: bool, scores) -> dict | None:
    """The fold-peeking selector's remaining gap (see automl_meta.selection.noise), or None without fold scores."""
    from automl_meta.exceptions import UsageError
    from automl_meta.selection.noise import noise_floor

    try:
        return noise_floor(evaluations, scores, metric, maximize)
    except UsageError:
        return None


def _render(report: dict) -> None:
    what = escape(str(report.get("aslib") or report.get("db")))
    metric = escape(str(report.get("metric"))) + ("" if report.get("maximize", True) else ", lower is better")
    no_choice = report.get("n_no_choice") or 0
    tied = f" ({no_choice} where every learner ties, left out of top-1 and NDCG@3)" if no_choice else ""
    title = (f"{what}: {report['protocol']}, {report['n_datasets']} datasets{tied} x {report['n_learners']} learners, "
             f"{metric} (the regret's unit), {len(report['seeds'])} seed(s); mean and {glyph('±', '+-')} spread over seeds")
    rows = []
    for name, res in report["selectors"].items():
        if res.get("error"):  # the reason was logged when the selector was skipped
            rows.append([name, *["n/a"] * len(_COLUMNS), "n/a"])
            continue
        cells = []
        for key, _ in _COLUMNS:
            mean, std = res["mean"][key], res["std"][key]
            cells.append(fmt(mean, 3) + ("" if not (std and math.isfinite(std)) else f"\n{glyph('±', '+-')}{std:.3f}"))
        ci = res["interval95"].get("remaining_gap")
        rows.append([name, *cells, f"[{ci[0]:.2f},{ci[1]:.2f}]" if ci else "-"])
    headers = ["selector", *(label for _, label in _COLUMNS), "gap left\n95% CI"]
    # gap closed is 1 - gap left: the first to go on a narrow terminal, then NDCG@3
    headers, rows, dropped = fit_columns(headers, rows, optional=("gap\nclosed", "NDCG\n@3", "regret"))
    out.print(sized_table(title, headers, rows, left=("selector",)))
    if dropped:
        names = " and ".join(f"'{name.replace(chr(10), ' ')}'" for name in dropped)
        out.print(f"[dim]{names} left out to fit the terminal; --json has every column[/]")
    err.print("gap left = (oracle - selected) / (oracle - SBS), summed over held-out datasets: 0 = oracle, 1 = SBS.")
    probe = report.get("probe")
    if probe:
        err.print(escape(
            f"probe ({probe['rows']} rows x {probe['cv']} folds x {probe['draws']} draws, seed {probe['seed']}; blend weight "
            f"{probe['weight']:g}): {probe['probed']} datasets probed now, {probe['cached']} from {probe['file']}"), soft_wrap=True)
    floor = report.get("fold_peeking_selector")
    if floor:
        err.print(
            f"noise floor: choosing each dataset's learner from {floor['choose_folds']} of its own fold scores and judging "
            f"on the other {floor['judge_folds']} leaves {floor['remaining_gap']:.2f} of the gap "
            f"({floor['min']:.2f}-{floor['max']:.2f} over {floor['splits']} splits); a selector that knew every "
            f"learner's mean would leave {floor['perfect_knowledge_remaining_gap']:.2f} to fold noise in the judge."
        )


def train_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for metamodel_<task>.json and metamodel_<task>.lgb.txt.")],
    db: DbOption = None,
    task: Annotated[str | None, typer.Option("--task", help="classification, regression or an imported scenario's aslib:NAME (default: every task in the database).")] = None,
    metric: MetricOption = None,
    random_state: Annotated[int, typer.Option("--random-state", "--seed", min=0, max=MAX_SEED, help="Seed of the meta-model.")] = 0,
    json: JsonOption = False,
) -> None:
    """Train the meta-model on a whole meta-database and write it as LightGBM text + a JSON manifest."""
    import hashlib
    import time

    from automl_meta.exceptions import MetaDBContentError, MetaDBError, UsageError
    from automl_meta.io.metadb_resolve import check_ranking_datasets, resolve_db_path
    from automl_meta.io.metamodel_files import save_metamodel, shipped_prefix
    from automl_meta.metadb import MetaDB
    from automl_meta.selection import MetaModel

    if out_dir.exists() and not out_dir.is_dir():  # before the training, not after it
        raise UsageError(f"--out {out_dir}: is a file; give a folder for metamodel_<task>.json and metamodel_<task>.lgb.txt")
    blocking = next((p for p in out_dir.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UsageError(f"--out {out_dir}: {blocking} is a file, not a folder; give a path in a folder")
    from automl_meta.io.atomic import check_writable

    check_writable(out_dir, out_dir, "metamodels/")
    path = resolve_db_path(db)
    with MetaDB.open(path) as store:
        tasks = [task] if task else sorted(store.datasets()["task"].dropna().unique().tolist())
        if metric is not None:
            store.maximize(metric)  # an unknown metric is the answer, not a reason to skip every task
            recording = store.tasks_recording(metric)
            if not task and len(recording) == 1:  # --metric r2 alone: regression, not a skipped classification too
                tasks = recording
    if not tasks:
        raise MetaDBContentError(f"{path}: holds no datasets; build it first with `automl-meta db build`")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    written, skipped = [], []
    for name in tasks:
        try:
            data = _load_db(path, name, metric)
            used_metric, maximize, meta_X, scores, runtime = data.metric, data.maximize, data.meta_X, data.scores, data.runtime
            common = meta_X.index.intersection(scores.dropna(how="all").index)
            check_ranking_datasets(path, name, len(common))  # as `recommend` asks of the database
            start = time.perf_counter()
            model = MetaModel(random_state=random_state, log_scores=runtime)  # runtimes: log10, as selector evaluate fits it
            model.fit(meta_X.loc[common], scores.loc[common], maximize=maximize)
        except (MetaDBError, UsageError) as exc:  # no data, or too few datasets, for this task
            if task:  # asked for by name: the error is the answer
                raise
            err.print(f"[yellow]skipped {escape(name)}:[/] {escape(str(exc))}")
            skipped.append(str(exc))
            continue
        seconds = time.perf_counter() - start
        extra = {"task": name, "metric": used_metric, "maximize": maximize, "n_datasets": len(common),
                 "db_file": path.name, "db_sha256": digest}
        manifest, boosters = save_metamodel(model, out_dir, shipped_prefix(name), extra=extra)
        written.append({**extra, "n_learners": len(model.learners_), "fit_seconds": seconds,
                        "files": [str(manifest), str(boosters)]})
    if not written:
        raise MetaDBContentError(f"no task of {path} can be trained: {'; '.join(skipped)}")
    if json:
        print_json({"db": str(path), "models": written})
        return
    for item in written:
        out.print(escape(f"{item['task']}: {item['n_datasets']} datasets x {item['n_learners']} learners ({item['metric']}), "
                         f"fitted in {item['fit_seconds']:.2f} s -> {item['files'][0]}, {item['files'][1]}"))


def register(app: typer.Typer) -> None:
    """Add the ``selector`` group to ``app``."""
    group.command("evaluate")(evaluate_command)
    group.command("train")(train_command)
    app.add_typer(group, name="selector")
