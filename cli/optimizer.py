"""Commands: `optimizer train` and `optimizer benchmark` (the coordinatewise LSTM learned optimizer)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from automl_meta.cli._common import (
    DayFirstOption, JsonOption, SeedOption, SepOption, TargetOption, TaskOption, err, fmt, out, positive_finite, print_json, progress_bar,
    refuse_without,
)
from automl_meta.cli.meta_learning import import_torch

group = typer.Typer(
    help="Meta-train and benchmark a coordinatewise LSTM optimizer (Andrychowicz et al. 2016).",
    no_args_is_help=True,
)

OptimizeeOption = Annotated[
    str,
    typer.Option("--optimizee", help="quadratic (10-d ||Wx-y||^2), mlp-digits (sigmoid MLP on 8x8 digits) or tabular:DATA (the portfolio MLP on a data file)."),
]


def _optimizee_parts(value: str) -> tuple[str, str | None]:
    """``(family, data file)`` of an ``--optimizee`` value; only tabular takes (and needs) ``:DATA``."""
    from automl_meta.exceptions import UsageError

    family, colon, data = value.partition(":")
    if family == "tabular" and not data:
        raise UsageError("--optimizee tabular needs a data file: --optimizee tabular:DATA")
    if family != "tabular" and colon:
        raise UsageError(f"--optimizee {family} takes no ':{data}'; only tabular:DATA names a data file")
    return family, data or None


def _optimizee(value: str, target, task, sep, day_first, trained: dict | None = None):
    """``(spec, dataset)`` for an ``--optimizee`` value; a family already trained on keeps its trained options."""
    from automl_meta.neural.optimizees import optimizee_spec

    family, data = _optimizee_parts(value)
    refuse_without("a tabular optimizee", family == "tabular", "--optimizee tabular:DATA",
                   {"--target": target, "--task": None if task == "auto" else task, "--sep": sep, "--day-first": day_first})
    dataset = None
    if family == "tabular":
        from automl_meta.io import load_dataset

        dataset = load_dataset(data, target=target, task=task, sep=sep, day_first=day_first)
    spec = optimizee_spec(family)
    if trained is not None and trained.get("family") == family:
        spec = {**spec, **trained}
    if dataset is not None:
        spec = {**spec, "dataset": dataset.name, "dataset_hash": dataset.content_hash()[:16]}
    return spec, dataset


def train(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint file to write (.pt).")],
    optimizee: OptimizeeOption = "quadratic",
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimizee steps per trajectory (T).")] = 100,
    unroll: Annotated[int, typer.Option("--unroll", min=1, help="Steps per truncated-BPTT chunk.")] = 20,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Trajectories of fresh training tasks.")] = 100,
    tasks_per_epoch: Annotated[int | None, typer.Option("--tasks-per-epoch", min=1, help="Tasks per trajectory (default: 128 quadratics, 4 networks).")] = None,
    hidden_size: Annotated[int, typer.Option("--hidden-size", min=1, help="LSTM units per layer.")] = 20,
    layers: Annotated[int, typer.Option("--layers", min=1, help="Stacked LSTM layers.")] = 2,
    preprocessing: Annotated[str, typer.Option("--preprocessing", help="log_and_sign (p=--p) or raw gradients.")] = "log_and_sign",
    p: Annotated[float, typer.Option("--p", callback=positive_finite, help="LogAndSign constant.")] = 10.0,
    output_scale: Annotated[float, typer.Option("--output-scale", callback=positive_finite, help="Multiplier of the LSTM's output.")] = 0.1,
    meta_lr: Annotated[float, typer.Option("--meta-lr", callback=positive_finite, help="Adam learning rate of the meta-optimizer.")] = 3e-3,
    clip_norm: Annotated[float, typer.Option("--clip-norm", callback=positive_finite, help="Meta-gradient norm clip.")] = 1.0,
    second_order: Annotated[bool, typer.Option("--second-order/--first-order", help="Backpropagate through optimizee gradients (the paper does not).")] = False,
    weighting: Annotated[str, typer.Option("--weighting", help="Meta-loss step weights: uniform, linear or last.")] = "uniform",
    validate_every: Annotated[
        int, typer.Option("--validate-every", min=0, help="Epochs between validations (best weights kept and checkpointed; 0: keep the last).")
    ] = 10,
    seed: SeedOption = 0,
    target: TargetOption = None,
    task: TaskOption = "auto",
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    json: JsonOption = False,
) -> None:
    """Meta-train the LSTM optimizer by truncated BPTT and write a checkpoint (at each validation too)."""
    import_torch()  # first: a Ctrl-C during the import is held until it is done
    import torch

    from automl_meta.io.checkpoint import check_output_path, save_checkpoint
    from automl_meta.neural.l2l_training import checkpoint_manifest, meta_train, step_weights
    from automl_meta.neural.lstm_optimizer import CoordinatewiseLSTM
    from automl_meta.neural.optimizees import FAMILIES

    step_weights(weighting, 0, 1, steps)  # an unknown --weighting is refused before anything is loaded or drawn
    out_path = check_output_path(out_path, "optimizer.pt", {"the --optimizee data file": _optimizee_parts(optimizee)[1]})
    spec, dataset = _optimizee(optimizee, target, task, sep, day_first)
    tasks_per_epoch = tasks_per_epoch or FAMILIES[spec["family"]].meta_batch
    try:
        net = CoordinatewiseLSTM(hidden_size, layers, preprocessing, p, output_scale)
    except ValueError as exc:
        from automl_meta.exceptions import UsageError

        raise UsageError(str(exc)) from None
    net.reset_parameters(torch.Generator().manual_seed(seed))
    training = {
        "steps": steps,
        "unroll": unroll,
        "epochs": epochs,
        "tasks_per_epoch": tasks_per_epoch,
        "meta_optimizer": "adam",
        "meta_lr": meta_lr,
        "clip_norm": clip_norm,
        "second_order": second_order,
        "weighting": weighting,
        "validate_every": validate_every,
        "seed": seed,
    }
    started = time.perf_counter()

    def save(state_dict: dict, history: list[dict]) -> dict:
        manifest = checkpoint_manifest(net, spec, {**training, "seconds": round(time.perf_counter() - started, 2)}, history)
        save_checkpoint(out_path, state_dict, manifest)
        return manifest

    with progress_bar(f"meta-training on {spec['family']}", total=epochs) as advance:

        def report(record: dict) -> None:
            val = record.get("validation_loss")
            advance(description=f"meta-training on {spec['family']} (meta-loss {fmt(record['meta_loss'])}" + (f", validation {fmt(val)})" if val is not None else ")"))

        history = meta_train(
            net, spec, epochs, steps, unroll, tasks_per_epoch, meta_lr, clip_norm, second_order, weighting, validate_every, seed=seed, dataset=dataset,
            callback=report, on_validation=save,  # the best weights so far: an interrupt keeps them
        )
    seconds = time.perf_counter() - started
    if all(record["meta_loss"] is None for record in history):
        from automl_meta.exceptions import AutomlMetaError

        raise AutomlMetaError(f"meta-training made no update: in each of the {epochs} epochs the meta-loss was not finite; nothing was "
                              f"written to {out_path}; lower --output-scale or --meta-lr, or use --preprocessing log_and_sign")
    manifest = save(net.state_dict(), history)
    summary = {
        "out": str(out_path),
        "optimizee": spec,
        "net": manifest["net"],
        "n_parameters": manifest["n_parameters"],
        "epochs": epochs,
        "final_meta_loss": history[-1]["meta_loss"],
        "best_validation_loss": manifest["best_validation_loss"],
        "seconds": seconds,
    }
    if json:
        print_json(summary)
        return
    out.print(
        f"wrote [bold]{escape(str(out_path))}[/]: LSTM {hidden_size}x{layers} ({summary['n_parameters']} weights) for {spec['family']}, "
        f"{epochs} epochs in {seconds:.1f}s; best validation loss {fmt(summary['best_validation_loss'])}"
    )


def benchmark(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint written by `automl-meta optimizer train`.")],
    optimizee: Annotated[str | None, typer.Option("--optimizee", help="Optimizee to test on (default: the one it was trained on; tabular needs tabular:DATA).")] = None,
    tasks: Annotated[int, typer.Option("--tasks", min=1, help="Held-out tasks.")] = 100,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimizee steps.")] = 100,
    tune_tasks: Annotated[int, typer.Option("--tune-tasks", min=1, help="Training tasks used to tune each baseline's learning rate.")] = 32,
    transfer: Annotated[bool, typer.Option("--transfer/--no-transfer", help="Also test 2x steps, and on a network optimizee (mlp-digits, tabular:) 2x hidden units and ReLU.")] = True,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the loss curves to this PNG (.png is added to a name without one).")] = None,
    seed: SeedOption = 0,
    target: TargetOption = None,
    task: TaskOption = "auto",
    sep: SepOption = None,
    day_first: DayFirstOption = None,
    json: JsonOption = False,
) -> None:
    """Compare the learned optimizer with SGD, NAG, RMSprop and Adam (each lr tuned on training tasks) on held-out tasks."""
    import_torch()  # first: a Ctrl-C during the import is held until it is done
    from automl_meta.exceptions import UsageError
    from automl_meta.io.checkpoint import about, check_output_path, load_checkpoint
    from automl_meta.neural.learned_optimizer import CHECKPOINT_KIND
    from automl_meta.neural.lstm_optimizer import net_from_checkpoint
    from automl_meta.neural.optimizer_benchmark import benchmark as run_benchmark
    from automl_meta.neural.optimizer_benchmark import n_benchmark_stages

    if plot is not None:
        data = _optimizee_parts(optimizee)[1] if optimizee is not None else None
        plot = check_output_path(plot, "curves.png", {"the checkpoint": checkpoint, "the --optimizee data file": data}, suffix=".png")
    state_dict, manifest = load_checkpoint(checkpoint, kind=CHECKPOINT_KIND)
    with about(checkpoint):
        net = net_from_checkpoint(state_dict, manifest)
    trained = manifest.get("optimizee", {})
    if optimizee is None:
        if trained.get("family") == "tabular":
            raise UsageError("this optimizer was trained on tabular data: give the data with --optimizee tabular:DATA")
        optimizee = trained.get("family", "quadratic")
    spec, dataset = _optimizee(optimizee, target, task, sep, day_first, trained)
    with progress_bar(f"benchmark on {spec['family']}", total=n_benchmark_stages(spec, transfer)) as advance:
        result = run_benchmark(net, spec, steps, tasks, tune_tasks, seed, dataset, transfer, progress=lambda name: advance(description=f"benchmark: {name}"))
    result["checkpoint"] = str(checkpoint)
    result["trained_on"] = trained
    if plot is not None:
        from automl_meta.io.plots import save_loss_curves

        save_loss_curves(plot, result["curves"], title=f"{spec['family']}: {tasks} held-out tasks")
        result["plot"] = str(plot)
    if json:
        print_json(result)
        return
    _render(result)


def _render(result: dict) -> None:
    from rich.table import Table

    table = Table(title=f"{result['optimizee']['family']}: mean final loss after {result['steps']} steps on {result['tasks']} held-out tasks")
    for column in ("optimizer", "tuned lr", "mean", "median", "q25-q75", "diverged"):
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for name, mean in result["final_loss"].items():
        spread = result["spread"][name]
        lr = result["tuned_lr"].get(name)
        table.add_row(name, fmt(lr) if lr is not None else "-", fmt(mean), fmt(spread["median"]), f"{fmt(spread['q25'])}-{fmt(spread['q75'])}", str(spread["diverged"]))
    out.print(table)
    out.print(f"learned / best tuned baseline ({result['best_baseline']}): [bold]{fmt(result['ratio_to_best_baseline'])}[/] (< 1: learned wins)")
    for item in result["transfer"]:
        out.print(
            f"transfer to {item['variant']}: learned {fmt(item['final_loss']['learned'])} vs {item['best_baseline']} "
            f"{fmt(item['final_loss'][item['best_baseline']])} (ratio {fmt(item['ratio_to_best_baseline'])})"
        )
    overhead = result["overhead"]
    out.print(
        f"step() time: learned {fmt(overhead['learned']['step_ms'])} ms vs Adam {fmt(overhead['adam']['step_ms'])} ms "
        f"({fmt(overhead['step_ratio'], 2)}x); full training step {fmt(overhead['train_step_ratio'], 2)}x, {overhead['coordinates']} coordinates"
    )
    if "plot" in result:
        err.print(f"wrote {escape(str(result['plot']))}")


group.command("train")(train)
group.command("benchmark")(benchmark)


def register(app: typer.Typer) -> None:
    """Add the `optimizer` command group to ``app``."""
    app.add_typer(group, name="optimizer")
