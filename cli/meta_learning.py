"""Commands: meta-train, meta-eval, finetune (learned initializations: MAML, FOMAML, Reptile)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from automl_meta.cli._common import DayFirstOption, JsonOption, SeedOption, SepOption, TargetOption, err, fmt, no_limit, out, positive_finite, print_json, progress_bar, refuse_given, seconds_limit

SOURCES = ("sinusoid", "omniglot", "tabular")
ALGOS = ("maml", "fomaml", "reptile")
# Inner learning rate and query size when not given: MAML paper values for sinusoid and Omniglot.
DEFAULT_INNER_LR = {"sinusoid": 0.01, "omniglot": 0.4, "tabular": 0.1}
DEFAULT_QUERIES = {"sinusoid": 10, "omniglot": 15, "tabular": 10}

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="tabular: a multi-class data file, or a folder of files sharing one schema (one task per file); "
        "omniglot: the folder with omniglot_*_28.npz (default: $AUTOML_META_OMNIGLOT).",
    ),
]
DeviceOption = Annotated[str, typer.Option("--device", help="auto (cuda when available), cpu or cuda.")]


def import_torch() -> None:
    """Import numpy and torch with Ctrl-C (and SIGTERM) held back until both are loaded (about a second), then let it through.

    torch's C extension imports numpy and, when that import fails, clears the
    error and goes on: a Ctrl-C landing there was swallowed, or numpy was left
    half-loaded and the next ``import numpy`` failed with "cannot load module
    more than once per process". Blocked, the SIGINT waits and is raised as
    KeyboardInterrupt right after the import, inside the command, where the
    CLI's boundary reports it (exit 130). Call it first in a neural command.
    """
    import signal
    import sys
    import threading

    hold = "torch" not in sys.modules and threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
    # SIGTERM too: the CLI raises it as an exception (Terminated), which the import would mishandle alike
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}) if hold else None
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _device(name: str):
    import torch

    from automl_meta.exceptions import UsageError

    if name not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, not {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda but no CUDA device is visible; use --device cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return torch.device(name)


def _table_files(folder: Path) -> list[Path]:
    """The data files of a task-family folder, in name order (one task per file)."""
    from automl_meta.io.tables import is_table_file

    return sorted(p for p in folder.iterdir() if is_table_file(p))


def _input_files(source: str, data: Path | None) -> dict:
    """Every file the command reads, by what it is: ``--out`` and ``--plot`` must be none of them.

    A checkpoint written into the ``--data`` folder under an input's name would
    replace that table or Omniglot array (a read-only file too: it is renamed over).
    """
    if source == "omniglot":
        from automl_meta.io.omniglot import FILES, omniglot_folder

        folder = omniglot_folder(data)
        return {f"the Omniglot file {name}": folder / name for name in FILES}
    if source != "tabular" or data is None:
        return {}
    if data.is_dir():
        return {f"a file of the --data folder ({f.name})": f for f in _table_files(data)}
    return {"the --data file": data}


def _target_in(frame, target: str | None, recorded) -> str | None:
    """``--target``, else an init's own target column ``recorded`` where ``frame`` has it (wherever it stands), else
    None: the usual default."""
    if target is None and isinstance(recorded, str) and recorded in [str(c) for c in frame.columns]:
        return recorded
    return target


def _load_tables(path: Path, target, sep, day_first, recorded: str | None = None):
    """The table(s) of ``--data``; without ``target``, a table holding the column ``recorded`` (an init's own target,
    wherever it stands) takes it, else the usual default."""
    from automl_meta.dataset import make_dataset
    from automl_meta.exceptions import DatasetError
    from automl_meta.io.tables import read_table, table_name

    def load(file: Path):
        frame = read_table(file, sep=sep)
        return make_dataset(frame, target=_target_in(frame, target, recorded), task="classification", name=table_name(file), day_first=day_first)

    if path.is_dir():
        files = _table_files(path)
        if len(files) < 2:
            raise DatasetError(f"{path}: a task family needs at least 2 data files, found {len(files)}")
        return [load(f) for f in files]
    return load(path)


USED_BY = {  # the options of a task source's data, and the sources that read each
    "--data": ("omniglot", "tabular"), "--target": ("tabular",), "--sep": ("tabular",), "--day-first/--month-first": ("tabular",),
    "--bn": ("omniglot",),
}


def _refuse_unused(source: str, **given) -> None:
    """Refuse, by name, the options given (not None) that ``source`` does not read: silently ignored, they would mislead."""
    flags = {"data": "--data", "target": "--target", "sep": "--sep", "day_first": "--day-first/--month-first", "bn": "--bn"}
    unused = {flags[name]: value for name, value in given.items() if value is not None and source not in USED_BY[flags[name]]}
    users = sorted({s for flag in unused for s in USED_BY[flag]})
    refuse_given(unused, ("is", "are"), f"not read by the {source} task source (only by {' and '.join(users)})")


def _task_data(source: str, data: Path | None, target, sep, day_first=None, recorded: str | None = None):
    from automl_meta.exceptions import UsageError

    if source == "sinusoid":
        return None
    if source == "omniglot":
        from automl_meta.io.omniglot import load_omniglot

        return load_omniglot(data)[0]
    if data is None:
        raise UsageError("meta-train tabular needs --data FILE (held-out classes) or --data FOLDER (one task per file)")
    return _load_tables(data, target, sep, day_first, recorded)


def _plot(path: Path, history: list, validation: list, metric: str) -> None:
    import matplotlib

    from automl_meta.io.plots import save_figure

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    if history and any(h["score"] is not None for h in history):
        ax.plot([h["iteration"] for h in history], [h["score"] for h in history], label=f"train query {metric}", alpha=0.6)
    if validation:
        ax.errorbar([v["iteration"] for v in validation], [v["score"] for v in validation], yerr=[v["ci95"] for v in validation], label=f"validation {metric}", marker="o")
    ax.set_xlabel("meta-iteration")
    ax.set_ylabel(metric)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=120)
    finally:
        plt.close(fig)


def meta_train_command(
    source: Annotated[str, typer.Argument(help="Task source: sinusoid, omniglot or tabular.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Where to write the init checkpoint (.pt).")],
    algo: Annotated[str, typer.Option("--algo", help="maml (second order), fomaml (first order) or reptile.")] = "maml",
    ways: Annotated[int, typer.Option("--ways", help="Classes per episode (ignored by sinusoid).")] = 5,
    shots: Annotated[int, typer.Option("--shots", help="Support examples per class (sinusoid: support points).")] = 1,
    queries: Annotated[int | None, typer.Option("--queries", help="Query examples per class (default 15 omniglot, 10 others).")] = None,
    inner_steps: Annotated[int, typer.Option("--inner-steps", help="Inner-loop steps per task.")] = 1,
    inner_lr: Annotated[
        float | None, typer.Option("--inner-lr", callback=positive_finite, help="Inner step size (default 0.4 omniglot, 0.01 sinusoid, 0.1 tabular; 1e-3 for Reptile's Adam).")
    ] = None,
    inner_optimizer: Annotated[str, typer.Option("--inner-optimizer", help="Reptile's inner optimizer: sgd or adam.")] = "sgd",
    inner_batch: Annotated[
        int | None, typer.Option("--inner-batch", help="Reptile: each inner step takes the next N of the task's shuffled examples (paper: 10).")
    ] = None,
    fresh_inner_adam: Annotated[
        bool, typer.Option("--fresh-inner-adam", help="Reptile: start every task's inner Adam from fresh moments (default: carried over, as in the paper's code).")
    ] = False,
    train_queries: Annotated[
        int | None, typer.Option("--train-queries", help="omniglot: query examples per class of training episodes only (Reptile paper: 9, i.e. 10 shots).")
    ] = None,
    meta_batch: Annotated[int, typer.Option("--meta-batch", help="Tasks per meta-iteration.")] = 32,
    iterations: Annotated[int, typer.Option("--iterations", help="Meta-iterations.")] = 1000,
    meta_lr: Annotated[float, typer.Option("--meta-lr", callback=positive_finite, help="Adam learning rate of MAML/FOMAML.")] = 1e-3,
    outer_step: Annotated[float, typer.Option("--outer-step", callback=positive_finite, help="Reptile's outer step, annealed linearly to 0.")] = 1.0,
    bn: Annotated[str | None, typer.Option("--bn", help="omniglot BatchNorm: transductive (query statistics, as the papers; the default) or support (non-transductive).")] = None,
    meta_sgd: Annotated[bool, typer.Option("--meta-sgd", help="Also meta-learn one inner learning rate per weight (MAML/FOMAML).")] = False,
    validate_every: Annotated[
        int, typer.Option("--validate-every", min=0, help="Validate (and write the checkpoint) every N iterations, and at the end (0: only at the end).")
    ] = 100,
    validation_tasks: Annotated[int, typer.Option("--validation-tasks", min=1, help="Tasks per validation.")] = 100,
    time_limit: Annotated[float | None, typer.Option("--time-limit", callback=seconds_limit, help="Stop after this many seconds of training (inf: no limit).")] = None,
    cosine: Annotated[bool, typer.Option("--cosine", help="Anneal --meta-lr to 0 with a cosine (over --iterations or --time-limit).")] = False,
    compile_: Annotated[bool, typer.Option("--compile", help="torch.compile the meta-step: MAML's meta-gradient, Reptile's adaptation (worth it on GPU).")] = False,
    device: DeviceOption = "auto",
    data: DataOption = None,
    target: TargetOption = None,
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the learning curve to this PNG file (.png is added to a name without one).")] = None,
    seed: SeedOption = 0,
    json_: JsonOption = False,
) -> None:
    """Meta-learn an initialization (MAML, first-order MAML or Reptile) and save it as a checkpoint (at each validation too)."""
    import_torch()  # first: a Ctrl-C during the import is held until it is done
    from automl_meta.exceptions import UsageError
    from automl_meta.io.checkpoint import check_output_path, save_checkpoint
    from automl_meta.neural.initializations import init_manifest, learner_options, new_backbone, non_finite_tensors
    from automl_meta.neural.meta_learners import make_meta_learner
    from automl_meta.neural.meta_training import MetaTrainConfig, MetaTrainResult, meta_train
    from automl_meta.neural.task_sources import make_task_source

    if source not in SOURCES:
        raise UsageError(f"unknown task source {source!r}; choose from {', '.join(SOURCES)}")
    if algo not in ALGOS:
        raise UsageError(f"unknown --algo {algo!r}; choose from {', '.join(ALGOS)}")
    if inner_optimizer not in ("sgd", "adam"):
        raise UsageError(f"--inner-optimizer must be sgd or adam, not {inner_optimizer!r}")
    _refuse_unused(source, data=data, target=target, sep=sep, day_first=day_first, bn=bn)
    bn = "transductive" if bn is None else bn
    if bn not in ("transductive", "support"):
        raise UsageError(f"--bn must be transductive or support, not {bn!r}")
    if meta_sgd and (algo == "reptile" or source == "tabular"):
        raise UsageError("--meta-sgd works with maml/fomaml on sinusoid or omniglot (tabular inits must keep the plain MLP keys)")
    if min(ways, shots, inner_steps, meta_batch, iterations) < 1 or any(v is not None and v < 1 for v in (queries, inner_batch, train_queries)):
        raise UsageError("--ways, --shots, --queries, --train-queries, --inner-steps, --inner-batch, --meta-batch and --iterations must be >= 1")
    if (inner_batch is not None or fresh_inner_adam or inner_optimizer != "sgd") and algo != "reptile":
        raise UsageError("--inner-optimizer, --inner-batch and --fresh-inner-adam are Reptile's; MAML adapts on the whole support set with SGD")
    if source != "sinusoid" and ways < 2:
        raise UsageError(f"--ways {ways}: an episode needs at least 2 classes (a 1-way episode cannot be wrong, so it scores 1.0 and teaches nothing)")
    if train_queries is not None and source != "omniglot":
        raise UsageError("--train-queries works with the omniglot task source")
    inputs = {"the --data file": data, **_input_files(source, data)}
    out_path = check_output_path(out_path, "init.pt", inputs)
    if plot is not None:
        plot = check_output_path(plot, "curve.png", {**inputs, "the --out checkpoint": out_path}, suffix=".png")
    dev = _device(device)
    queries = DEFAULT_QUERIES[source] if queries is None else queries
    if inner_lr is None:  # Reptile's inner Adam takes the Reptile paper's 1e-3
        inner_lr = 1e-3 if algo == "reptile" and inner_optimizer == "adam" else DEFAULT_INNER_LR[source]
    splits = make_task_source(
        source, _task_data(source, data, target, sep, day_first), ways=ways, shots=shots, queries=queries, device=dev, bn_mode=bn,
        split_seed=1 if source == "omniglot" else seed, train_queries=train_queries,
    )
    hyper = {
        "inner_lr": inner_lr,
        "inner_steps": inner_steps,
        "inner_optimizer": inner_optimizer if algo == "reptile" else "sgd",
        "inner_batch": inner_batch,
        "persistent_adam": not fresh_inner_adam,
        "meta_batch": meta_batch,
        "iterations": iterations,
        "meta_lr": meta_lr,
        "outer_step": outer_step,
        "learn_inner_lr": meta_sgd,
        "compile": compile_,
        "cosine": cosine,
    }
    options = learner_options(hyper, splits.loss, splits.bn_mode, algo)
    if algo == "reptile":
        options["seed"] = seed  # the order of inner minibatches
    learner = make_meta_learner(algo, new_backbone(splits.architecture, seed), **options).to(dev)
    config = MetaTrainConfig(iterations, meta_batch, meta_lr, outer_step, validate_every, validation_tasks, seed, no_limit(time_limit), cosine=cosine)
    metric = "accuracy" if splits.loss == "cross_entropy" else "mse"

    saved = {"iteration": None}  # the last iteration written (None: nothing yet)

    def save(result: MetaTrainResult) -> None:
        state = learner.state_dict()
        if non_finite_tensors(state):  # diverged: keep what an earlier validation wrote rather than NaN weights
            return
        manifest = init_manifest(algorithm=algo, source=source, splits=splits, hyperparameters=hyper, seed=seed, result=result)
        save_checkpoint(out_path, state, manifest)
        saved["iteration"] = result.iterations

    with progress_bar(f"meta-train {source} {algo}", total=iterations) as advance:

        def callback(event: dict) -> None:
            if event["event"] == "iteration":
                advance()
            elif event["event"] == "validation":  # checkpoint what was validated: an interrupt keeps it
                record = {k: v for k, v in event.items() if k != "event"}
                save(MetaTrainResult(validation=[record], iterations=record["iteration"], seconds=record["seconds"]))
                advance(0, description=f"meta-train {source} {algo} | val {metric} {event['score']:.4f}")

        result = meta_train(learner, splits, config, callback)
    save(result)
    diverged = saved["iteration"] != result.iterations
    if diverged:
        _report_diverged_weights(learner.state_dict(), out_path, saved["iteration"], result.iterations)
    if plot is not None:
        _plot(plot, result.history, result.validation, metric)
    final = result.validation[-1] if result.validation else {"score": None, "ci95": None, "diverged": 0}
    summary = {
        "out": str(out_path),
        "diverged": diverged,  # the weights became non-finite; out holds those of saved_iteration
        "saved_iteration": saved["iteration"],
        "source": source,
        "algorithm": algo,
        "device": str(dev),
        "iterations": result.iterations,
        "seconds": round(result.seconds, 2),
        "metric": metric,
        "validation": {"mean": final["score"], "ci95": final["ci95"], "tasks": validation_tasks, "diverged": final.get("diverged", 0)},
        "bn_mode": splits.bn_mode,
        "history": result.validation,
        "plot": str(plot) if plot else None,
    }
    if final.get("diverged"):
        _warn_diverged_tasks(final["diverged"], validation_tasks, "validation tasks")
    if json_:
        print_json(summary)
        return
    out.print(f"[bold]{algo}[/] on {source}: {result.iterations} meta-iterations in {result.seconds:.1f} s on {dev} (BatchNorm: {splits.bn_mode})")
    out.print(f"validation {metric}: {fmt(final['score'])} +- {fmt(final['ci95'])} over {validation_tasks} tasks")
    out.print(escape(f"init written to {out_path}" + (f" (iteration {saved['iteration']})" if diverged else "") + (f"; learning curve in {plot}" if plot else "")))


def _report_diverged_weights(state: dict, out_path: Path, saved_iteration: int | None, iterations: int) -> None:
    """Say that meta-training diverged: warn that ``out_path`` keeps an earlier init, or fail when nothing was written."""
    from automl_meta.exceptions import AutomlMetaError
    from automl_meta.neural.initializations import non_finite_tensors

    names = non_finite_tensors(state)
    what = f"meta-training diverged: after {iterations} iterations the weights are not finite ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
    advice = "lower --inner-lr or --meta-lr (--outer-step for reptile)"
    if saved_iteration is None:
        raise AutomlMetaError(f"{what}; nothing was written to {out_path}; {advice}")
    err.print(escape(f"warning: {what}; {out_path} keeps the init validated at iteration {saved_iteration}; {advice}"), style="yellow", soft_wrap=True)


def _warn_diverged_tasks(diverged: int, tasks: int, what: str, advice: str = "lower --inner-lr or the number of inner steps") -> None:
    """One yellow line: ``diverged`` of ``tasks`` adaptations (``what``: "validation tasks") gave a non-finite loss, so no mean."""
    err.print(
        escape(f"warning: {diverged} of {tasks} {what} diverged (non-finite loss after adaptation), so no mean is reported; {advice}"),
        style="yellow",
        soft_wrap=True,
    )


def _episodes(source: str, info: dict) -> str:
    """How an init's episodes read in a summary: N-way K-shot, or K-shot regression (sinusoid has no classes)."""
    return f"{info['shots']}-shot regression" if source == "sinusoid" else f"{info['ways']}-way {info['shots']}-shot"


def _rebuild_splits(manifest: dict, data: Path | None, target, sep, day_first, dev):
    from automl_meta.exceptions import DatasetError, UsageError
    from automl_meta.neural.few_shot import check_input_columns, check_rebuilt_tasks, in_init_order
    from automl_meta.neural.task_sources import make_task_source

    source = manifest["task_source"]
    tasks = manifest["tasks"]
    if source == "tabular" and data is None:
        raise UsageError("this init was meta-trained on a table; give the same --data FILE or FOLDER to rebuild its held-out test tasks")
    task_data = _task_data(source, data, target, sep, day_first, tasks.get("target") if source == "tabular" else None)
    if source == "tabular":
        task_data = in_init_order(manifest, task_data)
        check_input_columns(manifest, list((task_data[0] if isinstance(task_data, list) else task_data).X.columns))
    try:
        splits = make_task_source(
            source,
            task_data,
            ways=tasks["ways"],
            shots=tasks["shots"],
            queries=tasks["queries"],
            device=dev,
            bn_mode=manifest["bn_mode"],
            split_seed=tasks.get("split_seed", 0),
        )
    except DatasetError:  # its advice (fewer shots...) is meta-train's: here the episodes are the init's
        if source != "tabular":
            raise
        raise UsageError(f"the init's {tasks['ways']}-way {tasks['shots']}-shot episodes ({tasks['queries']} queries: "
                         f"{tasks['shots'] + tasks['queries']} rows a class) cannot be drawn from {data}; "
                         "give the --data it was meta-trained on") from None
    check_rebuilt_tasks(manifest, splits)
    return splits


def _checkpoint_id(path: Path) -> dict:
    """Which init a result comes from: its path and the SHA-256 of its bytes (a file written again at the same path differs)."""
    from automl_meta.io.fitted_models import file_identity

    identity = file_identity(path)
    return {"init": identity["path"], "init_sha256": identity["sha256"]}


def meta_eval_command(
    init: Annotated[Path, typer.Argument(help="An init checkpoint written by meta-train.")],
    tasks: Annotated[int, typer.Option("--tasks", help="Test tasks to average over.")] = 600,
    steps: Annotated[int | None, typer.Option("--steps", help="Inner steps at test time (default: as in training).")] = None,
    data: DataOption = None,
    target: TargetOption = None,
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    device: DeviceOption = "auto",
    seed: SeedOption = 0,
    json_: JsonOption = False,
) -> None:
    """Mean test accuracy (or MSE) of an init after adaptation, with a 95% confidence interval."""
    import_torch()  # first: a Ctrl-C during the import is held until it is done
    from automl_meta.exceptions import UsageError
    from automl_meta.io.checkpoint import about, load_checkpoint
    from automl_meta.neural.few_shot import evaluate_learner
    from automl_meta.neural.initializations import learner_from_init

    if tasks < 1 or (steps is not None and steps < 0):
        raise UsageError("--tasks must be >= 1 and --steps >= 0")
    state, manifest = load_checkpoint(init, kind="init")
    dev = _device(device)
    with about(init):
        learner = learner_from_init(state, manifest, dev)  # checks the manifest before the splits read it
    _refuse_unused(manifest["task_source"], data=data, target=target, sep=sep, day_first=day_first)
    splits = _rebuild_splits(manifest, data, target, sep, day_first, dev)
    with progress_bar("meta-eval tasks", total=tasks, enabled=not json_) as advance:
        result = evaluate_learner(learner, splits.test, tasks=tasks, steps=steps, batch_size=manifest["hyperparameters"].get("meta_batch", 32),
                                  seed=seed, progress=advance)
    info = manifest["tasks"]
    payload = {
        "metric": result["metric"],
        "mean": result["mean"],
        "ci95": result["ci95"],
        "tasks": result["tasks"],
        "ways": info["ways"],
        "shots": info["shots"],
        "steps": result["steps"],
        "diverged": result["diverged"],
        "source": manifest["task_source"],
        "algorithm": manifest["algorithm"],
        "bn_mode": manifest["bn_mode"],
        **_checkpoint_id(init),
    }
    if json_:
        print_json(payload)
    else:
        what = "MSE" if result["metric"] == "mse" else "accuracy"
        out.print(
            f"{manifest['algorithm']} init on {manifest['task_source']} ({_episodes(manifest['task_source'], info)}, {result['steps']} steps, "
            f"BatchNorm {manifest['bn_mode']}): {what} {fmt(result['mean'])} +- {fmt(result['ci95'])} (95% CI, {tasks} tasks)"
        )
    if result["diverged"]:  # on stderr with --json too: the null mean alone does not say why
        err.print(f"[yellow]{result['diverged']} of {tasks} tasks diverged (non-finite loss) after {result['steps']} inner "
                  "steps: the inner step sizes are too large for that many steps; try fewer --steps[/]", soft_wrap=True)


def finetune_command(
    data: Annotated[Path, typer.Argument(help="Data file of the new task (same columns as the init's table).")],
    init: Annotated[Path, typer.Option("--init", help="A tabular init checkpoint written by meta-train tabular.")],
    shots: Annotated[int, typer.Option("--shots", help="Labelled rows per class used to adapt; the rest is held out.")] = 5,
    steps: Annotated[int, typer.Option("--steps", help="Gradient steps on those rows.")] = 10,
    repeats: Annotated[int, typer.Option("--repeats", help="Support sets drawn (mean and 95% CI over them).")] = 10,
    target: TargetOption = None,
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    device: DeviceOption = "cpu",
    seed: SeedOption = 0,
    json_: JsonOption = False,
) -> None:
    """Adapt a learned tabular init to a new table from a few rows per class; report held-out accuracy."""
    import_torch()  # first: a Ctrl-C during the import is held until it is done
    import numpy as np

    from automl_meta.exceptions import ArtifactError, UsageError
    from automl_meta.io.checkpoint import about, load_checkpoint
    from automl_meta.dataset import make_dataset
    from automl_meta.io.dataset_folder import dataset_name
    from automl_meta.io.tables import read_table
    from automl_meta.neural.few_shot import check_support, finetune_table, init_inputs
    from automl_meta.neural.initializations import learner_from_init
    from automl_meta.neural.task_sources import check_class_target

    if shots < 1 or steps < 0 or repeats < 1:
        raise UsageError("--shots and --repeats must be >= 1 and --steps >= 0")
    state, manifest = load_checkpoint(init, kind="init")
    dev = _device(device)
    with about(init):
        learner = learner_from_init(state, manifest, dev)  # checks the manifest
    if manifest.get("task_source") != "tabular":
        raise ArtifactError(f"{init} was meta-trained on {manifest.get('task_source')}, not on tables; finetune needs a tabular init, which `automl-meta meta-train tabular` writes")
    raw = read_table(data, sep=sep)  # kept beside the dataset: init_inputs takes back the columns constant here
    dataset = make_dataset(raw, target=_target_in(raw, target, manifest["tasks"].get("target")), task="classification", name=dataset_name(Path(data)), day_first=day_first)
    check_class_target(dataset)
    X = init_inputs(dataset, raw, manifest)  # the init's columns and one-hot levels; constant columns taken back
    _, labels = np.unique(dataset.y.to_numpy(), return_inverse=True)
    baseline = learner_from_init(_fresh_state(manifest, seed), manifest, dev)
    check_support(labels, manifest["architecture"]["out_features"], shots)  # before the bar: a refused table shows none
    with progress_bar("finetune support draws", total=repeats, enabled=not json_) as advance:
        result = finetune_table(learner, baseline, X, labels, manifest["architecture"]["out_features"], shots, steps, repeats, seed,
                                progress=advance)
    if json_:
        print_json({**result, **_checkpoint_id(init)})
    else:
        out.print(
            f"held-out accuracy after {steps} steps on {shots} rows per class: {fmt(result['mean'])} +- {fmt(result['ci95'])} "
            f"(random init: {fmt(result['random_init_mean'])} +- {fmt(result['random_init_ci95'])}; {repeats} support draws)"
        )
    for key, what in (("diverged", "support draws from the init"), ("random_init_diverged", "support draws from a random init")):
        if result[key]:
            _warn_diverged_tasks(result[key], repeats, what, "the init's inner step size is too large for that many --steps; try fewer")


def _fresh_state(manifest: dict, seed: int) -> dict:
    from automl_meta.neural.initializations import new_backbone

    return new_backbone(manifest["architecture"], seed + 1).state_dict()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("meta-train")(meta_train_command)
    app.command("meta-eval")(meta_eval_command)
    app.command("finetune")(finetune_command)
