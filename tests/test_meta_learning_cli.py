"""The meta-train, meta-eval and finetune commands, end to end on tiny runs."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.io.checkpoint import load_checkpoint
from conftest import interruptible

runner = CliRunner()


def _classes_csv(path, n_classes=12, rows=25, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([f"k{i}" for i in range(n_classes)], rows)
    centers = rng.normal(size=(n_classes, 4)) * 2
    x = centers[np.repeat(np.arange(n_classes), rows)] + rng.normal(size=(len(labels), 4))
    frame = pd.DataFrame(x, columns=["f1", "f2", "f3", "f4"])
    frame["label"] = labels
    frame.to_csv(path, index=False)
    return path


def test_meta_train_sinusoid_writes_an_init_checkpoint_and_json_summary(tmp_path):
    out = tmp_path / "sin.pt"
    result = runner.invoke(
        app,
        ["meta-train", "sinusoid", "--algo", "maml", "--shots", "5", "--meta-batch", "4", "--iterations", "3",
         "--validate-every", "2", "--validation-tasks", "8", "--device", "cpu", "--out", str(out), "--plot", str(tmp_path / "c.png"), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["iterations"] == 3 and summary["metric"] == "mse"
    assert [v["iteration"] for v in summary["history"]] == [2, 3]
    assert (tmp_path / "c.png").stat().st_size > 0
    state, manifest = load_checkpoint(out, kind="init")
    assert manifest["algorithm"] == "maml" and manifest["task_source"] == "sinusoid"
    assert manifest["bn_mode"] == "none" and manifest["seed"] == 0
    assert manifest["hyperparameters"]["inner_lr"] == 0.01
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}


def test_meta_eval_reports_mean_and_ci95_as_json(tmp_path):
    out = tmp_path / "sin.pt"
    runner.invoke(app, ["meta-train", "sinusoid", "--iterations", "2", "--meta-batch", "2", "--validate-every", "0",
                        "--validation-tasks", "4", "--device", "cpu", "--out", str(out)])
    result = runner.invoke(app, ["meta-eval", str(out), "--tasks", "20", "--steps", "3", "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"metric", "mean", "ci95", "tasks", "ways", "shots", "steps"} <= set(payload)
    assert payload["metric"] == "mse" and payload["tasks"] == 20 and payload["steps"] == 3 and payload["shots"] == 1
    assert payload["ci95"] > 0 and payload["diverged"] == 0


def test_meta_eval_counts_and_reports_diverged_tasks(tmp_path):
    out = tmp_path / "sin.pt"
    runner.invoke(app, ["meta-train", "sinusoid", "--iterations", "1", "--meta-batch", "2", "--validate-every", "0",
                        "--validation-tasks", "4", "--inner-lr", "1000", "--device", "cpu", "--out", str(out)])
    result = runner.invoke(app, ["meta-eval", str(out), "--tasks", "8", "--steps", "10", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    assert "tasks diverged" in result.stderr and "fewer --steps" in result.stderr


def test_meta_eval_rejects_a_checkpoint_of_another_kind(tmp_path):
    from automl_meta.io.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "other.pt", {}, {"kind": "learned_optimizer"})
    result = runner.invoke(app, ["meta-eval", str(path), "--json"])
    assert result.exit_code == 2
    assert "but an 'init' one is needed (written by `automl-meta meta-train`)" in " ".join(result.stderr.split())


def test_meta_train_tabular_without_data_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["meta-train", "tabular", "--out", str(tmp_path / "t.pt"), "--device", "cpu"])
    assert result.exit_code == 2
    assert "--data" in result.stderr


@pytest.mark.parametrize("algo", [["fomaml"], ["reptile", "--inner-optimizer", "adam"]], ids=["fomaml", "reptile-adam"])
def test_tabular_init_finetunes_and_loads_into_mlp_torch(tmp_path, algo):
    pytest.importorskip("automl_meta.learners.mlp_torch")
    from automl_meta.io import load_dataset
    from automl_meta.learners.mlp_torch import MLPTorchClassifier
    from automl_meta.learners.preprocessing import tabular_preprocessor

    data = _classes_csv(tmp_path / "classes.csv")
    init = tmp_path / "tab.pt"
    result = runner.invoke(
        app,
        ["meta-train", "tabular", "--data", str(data), "--algo", *algo, "--ways", "3", "--shots", "3", "--inner-steps", "2",
         "--meta-batch", "4", "--iterations", "20", "--validate-every", "0", "--validation-tasks", "8", "--device", "cpu",
         "--out", str(init), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    state, manifest = load_checkpoint(init, kind="init")
    assert manifest["input_columns"] == ["f1", "f2", "f3", "f4"]
    assert any(k.startswith("adam.") for k in state) == (algo[0] == "reptile")  # Reptile's carried moments travel with it

    evaluation = runner.invoke(app, ["meta-eval", str(init), "--data", str(data), "--tasks", "10", "--device", "cpu", "--json"])
    assert evaluation.exit_code == 0, evaluation.stderr
    assert json.loads(evaluation.stdout)["metric"] == "accuracy"
    digest = hashlib.sha256(init.read_bytes()).hexdigest()  # which init the figures come from
    assert (json.loads(evaluation.stdout)["init"], json.loads(evaluation.stdout)["init_sha256"]) == (str(init), digest)

    new_task = _classes_csv(tmp_path / "new.csv", n_classes=3, rows=20, seed=5)
    tuned = runner.invoke(app, ["finetune", str(new_task), "--init", str(init), "--shots", "3", "--steps", "5", "--repeats", "3", "--json"])
    assert tuned.exit_code == 0, tuned.stderr
    payload = json.loads(tuned.stdout)
    assert 0.0 <= payload["mean"] <= 1.0 and 0.0 <= payload["random_init_mean"] <= 1.0
    assert payload["held_out_rows"] == 60 - 9
    assert (payload["init"], payload["init_sha256"]) == (str(init), digest)

    dataset = load_dataset(new_task, target="label", task="classification")
    X = pd.DataFrame(tabular_preprocessor(dataset.categorical_columns, dataset.numeric_columns).fit_transform(dataset.X), columns=dataset.X.columns)
    # no hidden=: the init's 40-40 is adopted, and with as many classes as ways every tensor loads
    model = MLPTorchClassifier(init=str(init), optimizer="sgd", learning_rate=0.0, max_epochs=1, random_state=0).fit(X, dataset.y)
    assert model.predict(X).shape == (60,)
    for key, value in model.module_.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_finetune_rejects_a_table_with_other_columns(tmp_path):
    data = _classes_csv(tmp_path / "classes.csv")
    init = tmp_path / "tab.pt"
    runner.invoke(app, ["meta-train", "tabular", "--data", str(data), "--ways", "3", "--shots", "2", "--meta-batch", "2",
                        "--iterations", "1", "--validate-every", "0", "--validation-tasks", "2", "--device", "cpu", "--out", str(init)])
    other = tmp_path / "other.csv"
    pd.read_csv(data).rename(columns={"f4": "g4"}).to_csv(other, index=False)
    result = runner.invoke(app, ["finetune", str(other), "--init", str(init), "--shots", "2"])
    assert result.exit_code == 2
    assert "columns differ" in result.stderr


@pytest.fixture
def omniglot_env(shared_dir, monkeypatch):
    """$AUTOML_META_OMNIGLOT pointing at ../shared/omniglot (skips without it)."""
    if not (shared_dir / "omniglot" / "omniglot_background_28.npz").is_file():
        pytest.skip("needs ../shared/omniglot")
    monkeypatch.setenv("AUTOML_META_OMNIGLOT", str(shared_dir / "omniglot"))


def test_meta_train_omniglot_tiny_run(omniglot_env, tmp_path):
    out = tmp_path / "omni.pt"
    result = runner.invoke(
        app,
        ["meta-train", "omniglot", "--algo", "fomaml", "--ways", "3", "--shots", "1", "--queries", "2", "--meta-batch", "2",
         "--iterations", "2", "--validate-every", "0", "--validation-tasks", "4", "--device", "cpu", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    _, manifest = load_checkpoint(out, kind="init")
    assert manifest["architecture"]["kind"] == "conv4" and manifest["bn_mode"] == "transductive"
    assert manifest["tasks"]["characters"] == {"train": 1100, "validation": 100, "test": 423}
    evaluation = runner.invoke(app, ["meta-eval", str(out), "--tasks", "4", "--device", "cpu", "--json"])
    assert evaluation.exit_code == 0, evaluation.stderr
    payload = json.loads(evaluation.stdout)
    assert payload["ways"] == 3 and payload["metric"] == "accuracy"


def test_meta_train_reptile_with_inner_adam_records_its_hyperparameters(tmp_path):
    out = tmp_path / "rep.pt"
    result = runner.invoke(
        app,
        ["meta-train", "sinusoid", "--algo", "reptile", "--inner-optimizer", "adam", "--inner-steps", "3", "--meta-batch", "3",
         "--iterations", "2", "--validate-every", "0", "--validation-tasks", "4", "--device", "cpu", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    _, manifest = load_checkpoint(out, kind="init")
    assert manifest["algorithm"] == "reptile"
    assert manifest["hyperparameters"]["inner_optimizer"] == "adam" and manifest["hyperparameters"]["inner_lr"] == 1e-3
    evaluation = runner.invoke(app, ["meta-eval", str(out), "--tasks", "6", "--device", "cpu", "--json"])
    assert evaluation.exit_code == 0, evaluation.stderr
    assert json.loads(evaluation.stdout)["steps"] == 3
    state, _ = load_checkpoint(out, kind="init")
    assert float(state["adam.t"]) == 2 * 3  # iterations x inner steps


def test_meta_train_omniglot_reptile_with_the_papers_inner_batches(omniglot_env, tmp_path):
    out = tmp_path / "rep.pt"
    result = runner.invoke(
        app,
        ["meta-train", "omniglot", "--algo", "reptile", "--inner-optimizer", "adam", "--inner-steps", "2", "--inner-batch", "6",
         "--ways", "3", "--shots", "1", "--queries", "2", "--train-queries", "3", "--meta-batch", "2", "--iterations", "2",
         "--validate-every", "0", "--validation-tasks", "3", "--device", "cpu", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    _, manifest = load_checkpoint(out, kind="init")
    assert manifest["hyperparameters"]["inner_batch"] == 6 and manifest["hyperparameters"]["persistent_adam"] is True
    assert manifest["tasks"]["train_queries"] == 3 and manifest["tasks"]["queries"] == 2


def test_meta_train_rejects_inner_batches_for_maml(tmp_path):
    result = runner.invoke(app, ["meta-train", "sinusoid", "--algo", "maml", "--inner-batch", "4", "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2
    assert "--inner-batch and --fresh-inner-adam are Reptile's" in result.stderr


def test_meta_train_rejects_an_unknown_algorithm(tmp_path):
    result = runner.invoke(app, ["meta-train", "sinusoid", "--algo", "protonet", "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2
    assert "unknown --algo" in result.stderr


def test_day_first_reaches_meta_train_meta_eval_and_finetune(tmp_path):
    def with_dates(path, **kw):
        frame = pd.read_csv(_classes_csv(path, **kw))
        frame.insert(0, "when", pd.date_range("2015-01-01", periods=len(frame), freq="MS").strftime("%d/%m/%Y"))  # always the 1st
        frame.to_csv(path, index=False)
        return path

    data, init = with_dates(tmp_path / "classes.csv"), tmp_path / "tab.pt"
    train = ["meta-train", "tabular", "--data", str(data), "--ways", "3", "--shots", "2", "--meta-batch", "2", "--iterations", "1",
             "--validate-every", "0", "--validation-tasks", "2", "--device", "cpu", "--out", str(init), "--day-first"]
    assert runner.invoke(app, train).exit_code == 0
    columns = load_checkpoint(init, kind="init")[1]["input_columns"]
    assert "when" not in columns and "when.month" in columns  # read as dates, not as one text column

    evaluation = runner.invoke(app, ["meta-eval", str(init), "--data", str(data), "--tasks", "4", "--device", "cpu", "--day-first", "--json"])
    assert evaluation.exit_code == 0, evaluation.stderr
    new_task = with_dates(tmp_path / "new.csv", n_classes=3, rows=20, seed=5)
    tune = ["finetune", str(new_task), "--init", str(init), "--shots", "2", "--steps", "1", "--repeats", "2", "--json"]
    assert runner.invoke(app, [*tune, "--day-first"]).exit_code == 0
    plain = runner.invoke(app, tune)  # without it the dates stay one text column: not the init's columns
    assert plain.exit_code == 2 and "columns differ" in plain.stderr


def interrupt_after_first_checkpoint(args: list[str], out, wait_s: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``automl-meta ARGS`` in a subprocess, send it Ctrl-C (SIGINT) once ``out`` appears, and return what it did."""
    proc = subprocess.Popen([sys.executable, "-m", "automl_meta", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=interruptible)
    deadline = time.monotonic() + wait_s
    while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None or not out.exists():
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"no checkpoint during training (exit {proc.returncode}): {stderr[-500:]}")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def test_interrupted_meta_train_keeps_its_last_validated_checkpoint(tmp_path):
    out = tmp_path / "sin.pt"
    run = interrupt_after_first_checkpoint(
        ["meta-train", "sinusoid", "--iterations", "1000000", "--meta-batch", "2", "--validate-every", "1", "--validation-tasks", "2",
         "--time-limit", "120", "--device", "cpu", "--out", str(out)],
        out,
    )
    assert run.returncode == 130 and "interrupted; what was already written is kept" in run.stderr
    state, manifest = load_checkpoint(out, kind="init")
    training = manifest["training"]
    assert 1 <= training["iterations"] < 1000000 and training["validation"][-1]["iteration"] == training["iterations"]
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}


def test_meta_train_plot_without_a_suffix_reports_the_png_it_wrote(tmp_path):
    result = runner.invoke(
        app,
        ["meta-train", "sinusoid", "--iterations", "2", "--meta-batch", "2", "--validate-every", "0", "--validation-tasks", "2",
         "--device", "cpu", "--out", str(tmp_path / "sin.pt"), "--plot", str(tmp_path / "curve"), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    written = tmp_path / "curve.png"
    assert json.loads(result.stdout)["plot"] == str(written) and written.read_bytes()[:4] == b"\x89PNG"


def test_meta_train_validate_every_zero_validates_once_at_the_end(tmp_path):
    result = runner.invoke(
        app,
        ["meta-train", "sinusoid", "--iterations", "3", "--meta-batch", "2", "--validate-every", "0", "--validation-tasks", "4",
         "--device", "cpu", "--out", str(tmp_path / "sin.pt"), "--json"],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [v["iteration"] for v in summary["history"]] == [3] and summary["validation"]["mean"] is not None


def _tiny_tabular_init(frame: pd.DataFrame, folder) -> Path:
    """A 3-way tabular init meta-trained for 2 iterations on ``frame`` (its ``label`` column), saved in ``folder``."""
    data, init = folder / "classes.csv", folder / "tab.pt"
    frame.to_csv(data, index=False)
    result = runner.invoke(app, ["meta-train", "tabular", "--data", str(data), "--ways", "3", "--shots", "3", "--meta-batch", "2",
                                 "--iterations", "2", "--validate-every", "0", "--validation-tasks", "2", "--device", "cpu", "--out", str(init)])
    assert result.exit_code == 0, result.stderr
    return init


def test_finetune_encodes_a_new_table_with_the_init_levels_and_keeps_its_constant_columns(tmp_path):
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(12), 25)
    frame = pd.DataFrame(rng.normal(size=(len(labels), 3)) + labels[:, None] * 0.3, columns=["f1", "f2", "f3"])
    frame["color"] = [f"c{(k + r) % 6}" for k, r in zip(labels, rng.integers(0, 2, len(labels)))]  # levels vary with the class
    frame["site"] = np.where(labels < 6, "north", "south")
    frame["label"] = [f"k{k}" for k in labels]
    init = _tiny_tabular_init(frame, tmp_path)
    assert load_checkpoint(init, kind="init")[1]["tasks"]["categories"]["color"] == [f"c{i}" for i in range(6)]
    # three classes: four of the six colours, one site (a constant column, which the reader drops)
    new_task = tmp_path / "new.csv"
    frame[frame["label"].isin(["k0", "k1", "k2"])].sample(frac=1, random_state=0).to_csv(new_task, index=False)
    tuned = runner.invoke(app, ["finetune", str(new_task), "--init", str(init), "--shots", "3", "--steps", "2", "--repeats", "2", "--json"])
    assert tuned.exit_code == 0, tuned.stderr
    assert json.loads(tuned.stdout)["classes"] == 3
    assert "encodes as zeros on every row" not in tuned.stderr  # four of its six colours: known levels
    other = tmp_path / "other.csv"
    frame[frame["label"].isin(["k0", "k1", "k2"])].assign(color="magenta").to_csv(other, index=False)
    unseen = runner.invoke(app, ["finetune", str(other), "--init", str(init), "--shots", "3", "--steps", "1", "--repeats", "1"])
    assert unseen.exit_code == 0, unseen.stderr
    assert "color: none of its levels (magenta) is one the init was meta-trained with" in " ".join(unseen.stderr.split())


def test_finetune_rebuilds_the_infrequent_column_of_a_column_with_more_levels_than_one_hot_keeps(tmp_path):
    from automl_meta.learners.preprocessing import INFREQUENT_LEVEL, MAX_ONEHOT_CATEGORIES

    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(12), 25)
    frame = pd.DataFrame(rng.normal(size=(len(labels), 2)) + labels[:, None] * 0.3, columns=["f1", "f2"])
    frame["shop"] = [f"s{v}" for v in rng.zipf(1.3, len(labels)) % 60]  # a long tail of rare levels
    frame["label"] = [f"k{k}" for k in labels]
    init = _tiny_tabular_init(frame, tmp_path)
    tasks = load_checkpoint(init, kind="init")[1]["tasks"]
    assert len(tasks["categories"]["shop"]) == MAX_ONEHOT_CATEGORIES and tasks["categories"]["shop"][-1] == INFREQUENT_LEVEL
    assert tasks["rare_levels"]["shop"] and not set(tasks["rare_levels"]["shop"]) & set(tasks["categories"]["shop"])
    new_task = tmp_path / "new.csv"
    frame[frame["label"].isin(["k0", "k1", "k2"])].to_csv(new_task, index=False)
    tuned = runner.invoke(app, ["finetune", str(new_task), "--init", str(init), "--shots", "3", "--steps", "2", "--repeats", "2", "--json"])
    assert tuned.exit_code == 0, tuned.stderr
    assert json.loads(tuned.stdout)["classes"] == 3


def test_the_recorded_levels_encode_a_table_as_the_fitted_preprocessor_did():
    from automl_meta.learners.preprocessing import (
        INFREQUENT_LEVEL, MISSING_CATEGORY, onehot_levels, rare_levels, share_rare_levels, tabular_preprocessor,
    )

    rng = np.random.default_rng(0)
    shop = pd.Series([f"s{v}" for v in rng.zipf(1.3, 400) % 80], dtype=object)
    shop[7] = np.nan  # missing (NaN, as the reader gives it) is one more level, and a rare one here
    X = pd.DataFrame({"shop": shop, "x": rng.normal(size=400)})
    fitted = tabular_preprocessor(["shop"], ["x"]).fit(X)
    levels, rare = onehot_levels(fitted), rare_levels(fitted)
    assert levels["shop"][-1] == INFREQUENT_LEVEL and MISSING_CATEGORY in rare["shop"]
    again = X.copy()
    again["shop"] = share_rare_levels(again["shop"], rare["shop"])
    rebuilt = tabular_preprocessor(["shop"], ["x"], categories=levels).fit(again)
    np.testing.assert_array_equal(rebuilt.transform(again), fitted.transform(X))


_SIGNAL_DURING_TORCH_IMPORT = """
import signal, sys, threading, time
from automl_meta.cli.main import _raise_terminated
from automl_meta.cli.meta_learning import import_torch

signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, _raise_terminated)
main = threading.main_thread().ident
assert "torch" not in sys.modules and "numpy" not in sys.modules

def send():
    while "torch" not in sys.modules:
        time.sleep(0.0005)
    time.sleep(0.05)  # inside torch's import, which takes about a second
    signal.pthread_kill(main, signal.{name})

threading.Thread(target=send, daemon=True).start()
try:
    import_torch()
    print("not raised")
except KeyboardInterrupt as exc:
    torch = sys.modules.get("torch")
    print(type(exc).__name__, torch is not None and hasattr(torch, "ones"))
import numpy, torch
print(float(torch.ones(3).sum()), numpy.__name__)
"""


@pytest.mark.parametrize(("name", "raised"), [("SIGINT", "KeyboardInterrupt"), ("SIGTERM", "Terminated")])
def test_a_signal_during_the_torch_import_waits_until_torch_is_loaded(name, raised):
    """import_torch holds Ctrl-C and SIGTERM back: raised mid-import, torch was left half-loaded (or the signal lost)."""
    run = subprocess.run([sys.executable, "-c", _SIGNAL_DURING_TORCH_IMPORT.replace("{name}", name)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-800:]
    assert run.stdout.split("\n")[:2] == [f"{raised} True", "3.0 numpy"], run.stdout + run.stderr[-800:]


def test_meta_eval_and_finetune_take_the_inits_target_column_wherever_it_stands(tmp_path, monkeypatch):
    # with the columns in another order the default target was the last column, and the error blamed the schema
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(12), 25)
    frame = pd.DataFrame(rng.normal(size=(len(labels), 3)) + labels[:, None] * 0.3, columns=["f1", "f2", "f3"])
    frame["cls"] = [f"k{k}" for k in labels]  # no default target name: the last column when meta-trained
    init = tmp_path / "tab.pt"
    frame.to_csv(tmp_path / "train.csv", index=False)
    trained = runner.invoke(app, ["meta-train", "tabular", "--data", str(tmp_path / "train.csv"), "--ways", "3", "--shots", "3",
                                  "--meta-batch", "2", "--iterations", "2", "--validate-every", "0", "--validation-tasks", "2",
                                  "--device", "cpu", "--out", str(init)])
    assert trained.exit_code == 0, trained.stderr
    reordered = tmp_path / "reordered.csv"
    frame[["cls", "f1", "f2", "f3"]].to_csv(reordered, index=False)
    import automl_meta.io.tables as tables

    reads = []
    monkeypatch.setattr(tables, "read_table", lambda *a, _read=tables.read_table, **k: reads.append(a[0]) or _read(*a, **k))
    evaluated = runner.invoke(app, ["meta-eval", str(init), "--data", str(reordered), "--tasks", "3", "--device", "cpu", "--json"])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert len(reads) == 1  # the init's target is looked for in the table read for the tasks, not in a second read
    new_task = tmp_path / "new.csv"
    frame.loc[frame["cls"].isin(["k0", "k1", "k2"]), ["cls", "f3", "f1", "f2"]].to_csv(new_task, index=False)
    tuned = runner.invoke(app, ["finetune", str(new_task), "--init", str(init), "--shots", "3", "--steps", "1", "--repeats", "2", "--json"])
    assert tuned.exit_code == 0, tuned.stderr
    assert json.loads(tuned.stdout)["classes"] == 3
