"""Commands: `recommend` (rank the portfolio for a dataset, optionally check and fit the winner) and `predict`."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from automl_meta.cli._common import (
    DataArgument,
    DayFirstOption,
    JsonOption,
    SepOption,
    TargetOption,
    TaskOption,
    collector_paused,
    err,
    fit_columns,
    fmt,
    glyph,
    out,
    print_json,
    profile_line,
    progress_bar,
    refuse_without,
    shown,
    sized_table,
)
from automl_meta.numbers import MAX_SEED


TopOption = Annotated[int, typer.Option("--top", "-k", min=1, help="How many learners to show (all are ranked).")]
DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Meta-database built by `automl-meta db build` (default: the shipped one)."),
]
ExplainOption = Annotated[
    bool,
    typer.Option("--explain", help="Show the meta-features that pushed each top learner up or down (LightGBM pred_contrib)."),
]
EvaluateTopOption = Annotated[
    int,
    typer.Option(
        "--evaluate-top",
        min=0,
        help="Cross-validate the top K learners (successive halving over rows) and show real scores beside predicted ones.",
    ),
]
EvaluateTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="With --evaluate-top: seconds allowed per fit (one fold); a learner over it is stopped and shown as timeout.",
    ),
]
FitOption = Annotated[
    Path | None,
    typer.Option(
        "--fit",
        help="Fit the winner (best real score with --evaluate-top, else the top-ranked learner) on all rows and "
        "save it here (skops file + PATH.json sidecar) for `automl-meta predict`.",
    ),
]
FitTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--fit-timeout",
        help="With --fit: seconds allowed for the fit on all rows; it runs in a worker process on one thread, "
        "as a cross-validation fit does, and past the limit it is stopped and nothing is saved.",
    ),
]
ProbeOption = Annotated[
    bool,
    typer.Option(
        "--probe",
        help="Cross-validate every candidate on small subsamples first (--probe-draws draws of --probe-rows rows, 3 folds, "
        "averaged) and blend that order with the meta-model's: a few seconds more, a better ranking (README: 'Probing').",
    ),
]
ProbeRowsOption = Annotated[
    int | None, typer.Option("--probe-rows", min=6, help="Rows each probe draw cross-validates (default 1000; implies --probe).")
]
ProbeDrawsOption = Annotated[
    int | None,
    typer.Option("--probe-draws", min=1, help="Subsamples the probe averages (default 3; implies --probe): fewer is faster and noisier."),
]
ProbeBudgetOption = Annotated[
    float | None,
    typer.Option("--probe-budget", min=1, help="Seconds for the whole probe (default 30; implies --probe): learners not probed by then keep the meta-model's order."),
]
CvOption = Annotated[int | None, typer.Option("--cv", min=2, help="Folds for --evaluate-top (default 5).")]
HalvingOption = Annotated[
    bool | None, typer.Option("--halving/--no-halving", help="Successive halving over rows for --evaluate-top (default: on).")
]



RecommendSeedOption = Annotated[
    int,
    typer.Option(
        "--random-state", "--seed", min=0, max=MAX_SEED,
        help="Seed of --probe, --evaluate-top, --fit and of a meta-model trained from --db. The meta-features are "
             "extracted with the meta-database's own seed, as its datasets' were, so the shipped meta-model's ranking "
             "does not change with it.",
    ),
]


def recommend_command(
    data: DataArgument,
    target: TargetOption = None,
    task: TaskOption = "auto",
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    top: TopOption = 10,
    db: DbOption = None,
    explain: ExplainOption = False,
    probe: ProbeOption = False,
    probe_rows: ProbeRowsOption = None,
    probe_budget: ProbeBudgetOption = None,
    probe_draws: ProbeDrawsOption = None,
    evaluate_top: EvaluateTopOption = 0,
    timeout: EvaluateTimeoutOption = None,
    cv: CvOption = None,
    halving: HalvingOption = None,
    fit: FitOption = None,
    fit_timeout: FitTimeoutOption = None,
    random_state: RecommendSeedOption = 0,
    json: JsonOption = False,
) -> None:
    """Rank the candidate learners for DATA from its meta-features, before running any of them."""
    start = time.perf_counter()
    refuse_without("--evaluate-top", bool(evaluate_top), "--evaluate-top K",  # checked before the work starts
                   {"--timeout": timeout, "--cv": cv, "--halving/--no-halving": halving})
    refuse_without("--fit", fit is not None, "--fit MODEL", {"--fit-timeout": fit_timeout})
    for flag, seconds in (("--timeout", timeout), ("--fit-timeout", fit_timeout)):
        if seconds is not None and not seconds > 0:
            from automl_meta.exceptions import UsageError

            raise UsageError(f"{flag} must be a positive number of seconds, got {seconds}")
    cv = 5 if cv is None else cv
    halving = True if halving is None else halving
    if fit is not None:  # a folder, or an input (through the model or its sidecar), is refused before the work
        from automl_meta.io.atomic import check_output_file
        from automl_meta.io.fitted_models import sidecar_path
        from automl_meta.meta_db import shipped_path

        inputs = {"the data": data, "the meta-database": db if db is not None else shipped_path("metadb.sqlite")}
        check_output_file(fit, "model.skops", inputs)
        check_output_file(sidecar_path(fit), "model.skops", inputs)
    with collector_paused():
        from automl_meta.io.rank_file import rank_file

        def training(n: int) -> None:  # a cold call on a large database trains for seconds to minutes: say so first
            where = escape(shown(Path(db).name)) if db is not None else "the shipped meta-database"
            err.print(f"training the meta-model on {n} datasets of {where} (cached for the next call)")

        dataset, selector, rec = rank_file(
            data, target=target, task=task, sep=sep, day_first=day_first, db=db, random_state=random_state,
            explain=top if explain else 0, on_training=None if json else training,
        )
    if probe or probe_rows is not None or probe_budget is not None or probe_draws is not None:
        from automl_meta.probe import with_probe
        from automl_meta.selection.probe import PROBE_DRAWS

        draws = PROBE_DRAWS if probe_draws is None else probe_draws
        with progress_bar("probing every candidate", total=len(rec.ranking) * draws, enabled=not json) as advance:
            rec = with_probe(
                dataset, rec, rows=probe_rows, random_state=random_state, on_result=lambda _: advance(1), budget=probe_budget, draws=draws
            )
    if evaluate_top:
        from automl_meta.recommend import evaluate_top as run_evaluate_top
        from automl_meta.recommend import halving_schedule

        rungs = len(halving_schedule(dataset.n_rows, min(evaluate_top, len(rec.ranking)))) if halving else 1
        with progress_bar("evaluating the top learners", total=rungs, enabled=not json) as advance:
            rec = run_evaluate_top(
                dataset, rec, k=evaluate_top, cv=cv, halving=halving, timeout=timeout, random_state=random_state,
                progress=advance,
            )
    saved = None
    if fit is not None:
        with progress_bar(f"fitting {rec.winner().learner} on all {rec.n_rows:,} rows", total=1, enabled=not json) as advance:
            saved = _fit_and_save(dataset, rec, fit, random_state, fit_timeout)
            advance(1)
    total = time.perf_counter() - start
    if json:
        payload = rec.as_dict(top=max(top, evaluate_top))
        payload["db"] = str(selector.db_path)
        payload["meta_model"] = selector.source
        payload["columns"] = dataset.profile.as_dict()  # dates, ignored columns: what the table view says above it
        if hasattr(selector.model, "predict_interval"):
            k = getattr(selector.model, "interval_neighbors_", "k")
            payload["interval_meaning"] = (
                f"lowest and highest real {rec.metric} of the learner on the {k} meta-database datasets "
                "nearest in meta-feature space, a failed run counted as its dataset's worst score "
                "(a spread, not a calibrated interval)"
            )
        payload["total_seconds"] = total
        if saved is not None:
            payload["fitted_model"] = saved
        print_json(payload)
        return
    _render(rec, selector, top=max(top, evaluate_top), explain=explain, total=total, profile=dataset.profile)
    if saved is not None:
        out.print(
            f"saved [bold]{saved['learner']}[/] fitted on {rec.n_rows} rows to {escape(saved['path'])} "
            f"(+ {escape(Path(saved['path']).name)}.json); use `automl-meta predict {escape(shlex.quote(str(saved['path'])))} DATA`"
        )


def _fit_and_save(dataset, rec, path: Path, random_state: int, timeout: float | None) -> dict:
    from automl_meta.api import fit_recommended

    fitted = fit_recommended(dataset, rec, random_state=random_state, timeout=timeout)
    fitted.save(path)
    return {"path": str(path), "learner": fitted.learner, "chosen_by": fitted.info["chosen_by"]}


def _probe_cell(r, probe: dict) -> str:
    """The probe column: its score, or why there is none."""
    if r.probe_score is not None:
        return fmt(r.probe_score)
    if r.learner in probe["too_slow"]:
        return "too slow"
    return "not probed" if r.learner in probe["not_probed"] else "failed"


def _render(rec, selector, top: int, explain: bool, total: float, profile=None) -> None:
    out.print(
        f"[bold]{escape(rec.dataset)}[/]: {rec.n_rows} rows, {rec.n_features} features, {rec.task} (target {escape(repr(rec.target))}); "
        f"meta-features in {rec.metafeature_seconds:.2f} s" + (" (cached)" if rec.metafeatures_cached else "")
    )
    line = profile_line(profile) if profile is not None else None
    if line:
        out.print(line)
    scale = "" if rec.score_scale == "metric" else f" ({rec.score_scale})"
    listed = rec.top(top)
    headers = ["rank", "learner", "predicted"]
    fit_header = range_header = None
    if rec.probe:
        fit_header = "probe\nfit s"
        headers += ["probe", fit_header]
    ranged = any(r.lower is not None for r in listed)
    if ranged:
        k = getattr(selector.model, "interval_neighbors_", None)
        range_header = f"range on\n{k} nearest" if k else "interval"
        headers.append(range_header)
    if rec.in_metadb:
        headers.append("measured")
    evaluated = bool(rec.evaluated)
    if evaluated:
        headers.append(f"real {glyph('±', '+-')} sd")
    best = rec.best_evaluated()
    winner = best.learner if best is not None else None
    rows, halved = [], False
    widest = max((r.real_rows or 0 for r in rec.evaluated), default=0)  # the last rung's rows
    for r in listed:
        bound = glyph("≤ ", "<= ") if rec.maximize else glyph("≥ ", ">= ")  # at most as good: a loss at least that
        predicted = (bound if r.predicted_at_most else "") + fmt(r.predicted_score)
        rank = f"{r.rank} ({r.model_rank})" if rec.probe else str(r.rank)
        cells = [rank, r.learner + (" *" if r.learner == winner else ""), predicted]
        if rec.probe:
            cells += [_probe_cell(r, rec.probe), fmt(r.probe_fit_seconds, 2) if r.probe_fit_seconds is not None else "-"]
        if ranged:
            cells.append(f"{fmt(r.lower, 3)} to {fmt(r.upper, 3)}" if r.lower is not None else "-")
        if rec.in_metadb:
            cells.append(fmt(r.measured_score) if r.measured_score is not None else r.measured_status or "failed")
        if evaluated:  # on fewer rows: successive halving dropped the learner early
            fewer = f" on {r.real_rows:,}" if r.real_rows is not None and r.real_rows < widest else ""
            halved = halved or bool(fewer)
            if r.real_status is None:
                cells.append("")
            elif r.real_status != "ok":
                cells.append(r.real_status + fewer)
            else:
                cells.append(f"{fmt(r.real_score)} {glyph('±', '+-')} {fmt(r.real_std, 2)}{fewer}")
        rows.append(cells)
    headers, rows, dropped = fit_columns(headers, rows, optional=(fit_header, range_header))
    direction = "" if rec.maximize else " (lower is better)"
    out.print(sized_table(f"recommended learners, {rec.metric}{direction}{scale}", headers, rows))  # the metric named once
    if dropped:
        names = " and ".join(f"'{name.replace(chr(10), ' ')}'" for name in dropped)
        out.print(f"[dim]{names} left out to fit the terminal; --json has every column[/]")
    if explain:
        _render_explanations(listed)
    if rec.nearest_datasets:
        near = ", ".join(f"{escape(d)} ({fmt(dist, 3)})" for d, dist in rec.nearest_datasets)
        out.print(f"nearest meta-database datasets: {near}")
    if rec.outside_training:
        from automl_meta.recommend import SIZE_FEATURES

        what = "; ".join(
            f"{o['value']:,.0f} {SIZE_FEATURES.get(o['feature'], o['feature'])} (its datasets: {o['min']:,.0f}-{o['max']:,.0f})"
            for o in rec.outside_training
        )
        out.print(
            f"[yellow]outside the meta-database:[/] {what}. The meta-model extrapolates here: "
            "check its top learners on the data with --probe or --evaluate-top"
        )
    if rec.in_metadb:
        out.print(
            f"[yellow]these data are {escape(repr(rec.in_metadb))} in the meta-database:[/] 'measured' is its stored cross-validated "
            f"{rec.metric}, and the meta-model was trained on it, so its predictions here are no test of it"
        )
    if rec.probe:
        p = rec.probe
        out.print(
            f"ranked by the probe ({p['draws']} x {p['rows']} rows, {p['cv']} folds, {p['seconds']:.1f} s) and the meta-model, "
            f"weights {p['weight']:.2g} / {1 - p['weight']:.2g} on their ranks; in brackets, the meta-model's own rank"
            + ("" if fit_header in dropped else
               f"; fit s: seconds per fit on its training folds of about {p['rows'] - p['rows'] // p['cv']:,} rows")
        )
        if p["too_slow"]:
            out.print(
                f"[yellow]too slow for the probe ({p['timeout']:g} s per fit), so last by it:[/] "
                + ", ".join(p["too_slow"])
            )
        if p["not_probed"]:
            out.print(
                f"[yellow]not probed to the end before its {p['budget']:g} s ran out (kept in the meta-model's order; "
                f"--probe-budget gives it more):[/] " + ", ".join(p["not_probed"])
            )
        if p["fewer_draws"]:
            out.print(
                f"[yellow]probed on fewer than {p['draws']} draws before the {p['budget']:g} s ran out (scored on those):[/] "
                + ", ".join(p["fewer_draws"])
            )
        if p["weight"] < p["full_weight"]:
            out.print(
                f"[yellow]the probe saw {p['rows']:,} of {p['of_rows']:,} rows, too few to trust fully on data this "
                "large, hence its smaller weight[/]" + ("" if evaluated else "; --evaluate-top 3 checks the top 3 on all rows")
            )
    if evaluated:
        mark = "* best real score; " if winner else "no evaluated learner succeeded; "
        note = "; 'on N': dropped by successive halving after N rows" if halved else ""  # as shown above
        out.print(f"{mark}evaluation took {rec.evaluation_seconds:.1f} s{note}")
        for line in rec.evaluation_notes:
            out.print(f"[yellow]note:[/] {escape(line)}", soft_wrap=True)
    out.print(
        f"[dim]{len(rec.ranking)} candidate{'' if len(rec.ranking) == 1 else 's'} ranked by the {selector.source} ({escape(str(selector.db_path))}); "
        f"{total:.2f} s in all[/]"
    )


def _render_explanations(shown, per_side: int = 3) -> None:
    rows = []
    for r in shown:
        if not r.contributions:
            continue
        named = [(f, c) for f, c in r.contributions if f not in ("bias", "(other meta-features)")]
        ups = [f"{f} +{fmt(c, 3)}" for f, c in sorted(named, key=lambda x: -x[1]) if c > 0][:per_side]
        downs = [f"{f} {fmt(c, 3)}" for f, c in sorted(named, key=lambda x: x[1]) if c < 0][:per_side]
        bias = dict(r.contributions).get("bias")
        rows.append([r.learner, "\n".join(ups) or "-", "\n".join(downs) or "-", fmt(bias, 3)])
    title = "why: meta-features that moved each learner's utility (LightGBM pred_contrib)"
    out.print(sized_table(title, ["learner", "pushed up by", "pushed down by", "bias"], rows,
                          wrap=("pushed up by", "pushed down by")))


def predict_command(
    model: Annotated[Path, typer.Argument(help="A model saved by `automl-meta recommend DATA --fit MODEL`.")],
    data: DataArgument,
    sep: SepOption = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write every prediction to this file: .csv, .tsv (either may end in .gz, .bz2, .xz or .zip) or .parquet."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Predict DATA with a saved winner; columns are checked against the model's sidecar."""
    from automl_meta.io.atomic import check_output_file
    from automl_meta.io.fitted_models import conform_features, load_fitted_model, sidecar_path, unseen_categories
    from automl_meta.io.table_output import output_format, write_table
    from automl_meta.io.tables import read_table
    from automl_meta.recommend import describe_unseen, predict_conformed, target_score

    if out_path is not None:  # before any work, and never over an input
        inputs = {"the model": model, "the model's sidecar": sidecar_path(model), "the data": data}
        check_output_file(out_path, "predictions.csv", inputs)
        output_format(out_path)
    fitted = load_fitted_model(model)
    frame = read_table(data, sep=sep)
    X = conform_features(frame, fitted.info, name=Path(data).name)
    unseen = unseen_categories(X, fitted.info)
    predictions = predict_conformed(fitted.pipeline, fitted.info, X)
    score = target_score(fitted.info, frame, predictions)
    if out_path is not None:
        write_table(predictions, out_path)
    info = fitted.info
    if json:
        payload = {
            "model": str(model),
            "learner": info["learner"],
            "task": info["task"],
            "target": info["target"],
            "n_rows": len(predictions),
            "predictions": predictions["prediction"].tolist(),
            "out": str(out_path) if out_path is not None else None,
            "score": score,
            "unseen_categories": unseen,
        }
        proba = [c for c in predictions.columns if c.startswith("proba_")]
        if proba:
            payload["probabilities"] = {c[len("proba_") :]: predictions[c].tolist() for c in proba}
        print_json(payload)
        return
    out.print(f"{info['learner']} predictions of {escape(repr(info['target']))}")  # above the table, which may be narrower
    # itertuples keeps each column's type (iterrows would show integer labels as 3.0000 beside the probabilities);
    # a class label is shown as written (0.12345 and 0.12349 are two classes), a number rounded
    label = info["task"] == "classification"
    rows = [[fmt(v) if isinstance(v, float) and not (label and j == 0) else escape(str(v)) for j, v in enumerate(row)]
            for row in predictions.head(20).itertuples(index=False)]
    headers = [escape(str(c)) for c in predictions.columns]
    headers, rows, dropped = fit_columns(headers, rows, optional=headers[:0:-1])  # probabilities, last class first
    out.print(sized_table(None, headers, rows, left=()))
    if dropped:
        out.print(f"[dim]{len(dropped)} probability columns left out to fit the terminal; --out FILE or --json has them[/]")
    if score is not None and score["value"] is not None:
        out.print(f"{score['metric']} against the {escape(repr(info['target']))} column: {fmt(score['value'])} ({score['n_rows']} rows)")
    if score is not None and score.get("note"):
        out.print(f"[yellow]note:[/] {escape(score['note'])}", soft_wrap=True)
    for line in describe_unseen(unseen):
        out.print(f"[yellow]note:[/] {escape(line)}", soft_wrap=True)
    where = (f"all {len(predictions)} written to {escape(str(out_path))}" if out_path else f"all {len(predictions)} shown"
             if len(predictions) <= 20 else f"first 20 of {len(predictions)} shown; --out FILE writes all")
    err.print(where)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("recommend")(recommend_command)
    app.command("predict")(predict_command)
