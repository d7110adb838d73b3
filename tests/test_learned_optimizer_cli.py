"""`automl-meta optimizer train|benchmark` on tiny runs, and the tabular optimizee."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.dataset import make_dataset
from automl_meta.io.checkpoint import load_checkpoint
from automl_meta.neural.optimizees import make_tasks, optimizee_spec
from automl_meta.neural.optimizer_benchmark import LR_GRID
from conftest import make_mixed_frame
from test_meta_learning_cli import interrupt_after_first_checkpoint

torch.set_num_threads(1)
runner = CliRunner()


@pytest.fixture(scope="module")
def quadratic_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("opt") / "opt.pt"
    result = runner.invoke(
        app,
        ["optimizer", "train", "--optimizee", "quadratic", "--steps", "10", "--unroll", "5", "--epochs", "2", "--tasks-per-epoch", "8", "--out", str(path), "--seed", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)


def test_optimizer_train_json_reports_and_writes_a_manifest(quadratic_checkpoint):
    path, summary = quadratic_checkpoint
    assert summary["out"] == str(path)
    assert summary["optimizee"] == {"family": "quadratic", "dim": 10}
    assert summary["net"] == {"hidden_size": 20, "num_layers": 2, "preprocessing": "log_and_sign", "p": 10.0, "output_scale": 0.1}
    assert summary["epochs"] == 2 and summary["n_parameters"] == 5301
    state_dict, manifest = load_checkpoint(path, kind="learned_optimizer")
    assert manifest["training"]["steps"] == 10 and manifest["training"]["unroll"] == 5
    assert manifest["training"]["seed"] == 3 and manifest["training"]["second_order"] is False
    assert manifest["training"]["tasks_per_epoch"] == 8
    assert len(manifest["history"]) == 2
    assert set(state_dict) >= {"head.weight", "cells.0.weight_ih", "cells.1.weight_hh"}


def test_optimizer_benchmark_json_schema_and_plot(quadratic_checkpoint, tmp_path):
    path, _ = quadratic_checkpoint
    plot = tmp_path / "curves.png"
    result = runner.invoke(
        app,
        ["optimizer", "benchmark", str(path), "--tasks", "6", "--steps", "8", "--tune-tasks", "4", "--plot", str(plot), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["optimizee"]["family"] == "quadratic"
    assert report["steps"] == 8 and report["tasks"] == 6
    names = {"learned", "adam", "rmsprop", "sgd", "nag"}
    assert set(report["final_loss"]) == names
    assert set(report["tuned_lr"]) == names - {"learned"}
    assert all(lr in LR_GRID for lr in report["tuned_lr"].values())
    assert set(report["spread"]["learned"]) == {"std", "median", "q25", "q75", "diverged"}
    assert len(report["curves"]["adam"]["mean"]) == 9
    assert report["best_baseline"] in names
    assert [t["variant"] for t in report["transfer"]] == ["16 steps"]
    assert report["transfer"][0]["steps"] == 16
    assert report["overhead"]["learned"]["step_ms"] > 0 and report["overhead"]["coordinates"] == 10
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_optimizer_benchmark_refuses_a_plot_that_is_not_png_before_benchmarking(quadratic_checkpoint, tmp_path):
    path, _ = quadratic_checkpoint
    result = runner.invoke(app, ["optimizer", "benchmark", str(path), "--tasks", "2", "--steps", "2", "--tune-tasks", "1", "--plot", str(tmp_path / "curves.txt")])
    assert result.exit_code == 2, result.output
    assert "ending in .png" in result.stderr and "benchmark on" not in result.stderr and "benchmark:" not in result.stderr  # no progress: no work
    assert not list(tmp_path.iterdir())


def test_interrupted_optimizer_train_keeps_the_best_weights_so_far(tmp_path):
    out = tmp_path / "opt.pt"
    run = interrupt_after_first_checkpoint(
        ["optimizer", "train", "--steps", "4", "--unroll", "2", "--epochs", "1000000", "--tasks-per-epoch", "2", "--validate-every", "1", "--out", str(out)],
        out,
    )
    assert run.returncode == 130 and "interrupted; what was already written is kept" in run.stderr
    state_dict, manifest = load_checkpoint(out, kind="learned_optimizer")
    scores = [r["validation_loss"] for r in manifest["history"]]
    assert 1 <= len(scores) < 1000000 and None not in scores
    assert manifest["best_validation_loss"] == min(scores)
    assert set(state_dict) >= {"head.weight", "cells.0.weight_ih", "cells.1.weight_hh"}


def test_optimizer_train_that_never_updates_fails_and_keeps_an_earlier_file(tmp_path):
    out = tmp_path / "opt.pt"
    out.write_bytes(b"an earlier checkpoint")
    result = runner.invoke(app, ["optimizer", "train", "--epochs", "2", "--steps", "10", "--unroll", "5", "--tasks-per-epoch", "8",
                                 "--validate-every", "1", "--preprocessing", "raw", "--output-scale", "1e30", "--out", str(out)])
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert "meta-training made no update: in each of the 2 epochs the meta-loss was not finite; nothing was written to" in text
    assert "epoch 1: non-finite meta-loss at step 0" in text and "epoch 2: non-finite" in text and "epoch 0" not in text  # as the history counts
    assert out.read_bytes() == b"an earlier checkpoint"


def test_an_unknown_weighting_is_one_line_before_any_progress(tmp_path):
    result = runner.invoke(app, ["optimizer", "train", "--weighting", "foo", "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2 and result.stderr.splitlines() == ["error: unknown weighting 'foo'; choose from ['uniform', 'linear', 'last']"]


def test_optimizer_benchmark_table_output(quadratic_checkpoint):
    path, _ = quadratic_checkpoint
    result = runner.invoke(app, ["optimizer", "benchmark", str(path), "--tasks", "4", "--steps", "5", "--tune-tasks", "2", "--no-transfer"])
    assert result.exit_code == 0, result.output
    assert "learned / best tuned baseline" in result.stdout
    assert "rmsprop" in result.stdout


def test_optimizer_train_rejects_unknown_optimizee(tmp_path):
    result = runner.invoke(app, ["optimizer", "train", "--optimizee", "cubic", "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2
    assert "unknown optimizee" in result.stderr
    assert not (tmp_path / "x.pt").exists()


def test_optimizer_benchmark_rejects_a_non_checkpoint(tmp_path):
    bogus = tmp_path / "bogus.pt"
    bogus.write_text("not a checkpoint")
    result = runner.invoke(app, ["optimizer", "benchmark", str(bogus)])
    assert result.exit_code == 2
    assert "checkpoint" in result.stderr


def test_a_folder_given_as_a_checkpoint_is_named_a_folder(tmp_path):
    for command in (["optimizer", "benchmark"], ["meta-eval"]):
        result = runner.invoke(app, [*command, str(tmp_path)])
        assert result.exit_code == 2, command
        assert "a folder, not a checkpoint; give the .pt file" in " ".join(result.stderr.split()), command


def test_optimizer_train_on_tabular_data_file(tmp_path):
    from automl_meta.io import load_dataset

    data = tmp_path / "mixed.csv"
    frame = make_mixed_frame(120, seed=1)
    frame.insert(0, "when", pd.date_range("2015-01-01", periods=120, freq="MS").strftime("%d/%m/%Y"))  # day and month ambiguous
    frame.to_csv(data, index=False)
    out = tmp_path / "tab.pt"
    result = runner.invoke(
        app,
        ["optimizer", "train", "--optimizee", f"tabular:{data}", "--steps", "4", "--unroll", "2", "--epochs", "1", "--tasks-per-epoch", "2",
         "--validate-every", "0", "--out", str(out), "--day-first", "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["optimizee"]["family"] == "tabular" and summary["optimizee"]["hidden"] == [64, 64]
    assert load_checkpoint(out)[1]["training"]["tasks_per_epoch"] == 2
    assert summary["optimizee"]["dataset"] == "mixed"
    # the data were read with the dates day first, not as text
    assert summary["optimizee"]["dataset_hash"] == load_dataset(data, day_first=True).content_hash()[:16] != load_dataset(data).content_hash()[:16]


def test_tabular_optimizee_uses_held_out_rows_and_portfolio_network():
    dataset = make_dataset(make_mixed_frame(200, seed=0), target="target", task="classification")
    spec = optimizee_spec("tabular", hidden=[16])
    train = make_tasks(spec, 3, "train", seed=0, dataset=dataset)
    test = make_tasks(spec, 3, "test", seed=0, dataset=dataset)
    assert len(train.X) == 100 and len(test.X) == 100
    assert not torch.equal(train.X[:5], test.X[:5])
    params = train.init_params()
    assert params["0.weight"].shape == (3, 16, train.X.shape[1]) and params["2.weight"].shape == (3, 2, 16)
    losses = train.loss(params, 0)
    assert losses.shape == (3,) and torch.isfinite(losses).all()
    # classification with 2 classes starts near log(2) nats
    assert float(test.eval_loss(test.init_params()).mean()) == pytest.approx(0.69, abs=0.2)


def test_tabular_optimizee_regression_standardizes_the_target():
    dataset = make_dataset(make_mixed_frame(200, seed=0, task="regression"), target="target", task="regression")
    tasks = make_tasks(optimizee_spec("tabular"), 2, "train", seed=0, dataset=dataset)
    assert tasks.objective == "mse"
    assert float(tasks.y.mean()) == pytest.approx(0.0, abs=1e-5) and float(tasks.y.std()) == pytest.approx(1.0, abs=0.02)
