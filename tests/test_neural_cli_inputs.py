"""Bad input to meta-train, meta-eval, finetune and `optimizer train`: one line, exit 2, before any training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.io.checkpoint import FORMAT, load_checkpoint

torch.set_num_threads(1)
runner = CliRunner()
TINY = ["--iterations", "2", "--meta-batch", "2", "--validate-every", "0", "--validation-tasks", "2", "--device", "cpu"]


def _table(path, target="classes", n_classes=12, rows=20, seed=0):
    """Four numeric features; a class label, or a continuous target (``target="continuous"``)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_classes * rows, 4)), columns=["f1", "f2", "f3", "f4"])
    # a continuous target with repeats (one value a row is refused before episodes: no class to learn)
    frame["label"] = np.repeat([f"k{i}" for i in range(n_classes)], rows) if target == "classes" else rng.normal(size=len(frame)).round(1)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tabular_init(tmp_path_factory):
    """A tiny tabular init and the table it was meta-trained on."""
    folder = tmp_path_factory.mktemp("tab")
    data, init = _table(folder / "classes.csv"), folder / "tab.pt"
    result = runner.invoke(app, ["meta-train", "tabular", "--data", str(data), "--ways", "3", "--shots", "2", "--queries", "2", *TINY, "--out", str(init)])
    assert result.exit_code == 0, result.stderr
    return init, data


@pytest.fixture(scope="module")
def sinusoid_init(tmp_path_factory):
    init = tmp_path_factory.mktemp("sin") / "sin.pt"
    result = runner.invoke(app, ["meta-train", "sinusoid", *TINY, "--out", str(init)])
    assert result.exit_code == 0, result.stderr
    return init


@pytest.mark.parametrize(
    "case, message",
    [
        ("out-is-a-folder", "is a folder"),
        ("out-under-a-file", "is a file, not a folder"),
        ("plot-not-png", "ending in .png"),
        ("out-is-the-data", "is the --data file"),
        ("plot-is-the-out", "is the --out checkpoint"),
    ],
)
def test_meta_train_refuses_an_unwritable_out_or_plot_before_training(tmp_path, case, message):
    data = _table(tmp_path / "classes.csv")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    out, plot = tmp_path / "init.pt", None
    if case == "out-is-a-folder":
        out = tmp_path / "adir"
    elif case == "out-under-a-file":
        out = tmp_path / "afile" / "x.pt"
    elif case == "plot-not-png":
        plot = tmp_path / "curve.txt"
    elif case == "out-is-the-data":
        out = data
    else:
        out, plot = tmp_path / "curve.png", tmp_path / "curve"
    before = data.read_bytes()
    args = ["meta-train", "tabular", "--data", str(data), "--ways", "3", "--shots", "2", "--queries", "2", *TINY, "--out", str(out)]
    result = runner.invoke(app, args + (["--plot", str(plot)] if plot else []))
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "meta-train tabular" not in result.stderr  # no progress bar: no training
    assert data.read_bytes() == before
    assert not (tmp_path / "curve.png").exists() and not (tmp_path / "init.pt").exists()


def test_optimizer_train_refuses_a_folder_as_out_before_training(tmp_path):
    result = runner.invoke(app, ["optimizer", "train", "--steps", "2", "--unroll", "1", "--epochs", "1", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.stderr
    assert "is a folder" in result.stderr and "meta-training on" not in result.stderr


def test_optimizer_train_refuses_its_data_file_as_out(tmp_path):
    data = _table(tmp_path / "classes.csv", n_classes=2)
    before = data.read_bytes()
    result = runner.invoke(app, ["optimizer", "train", "--optimizee", f"tabular:{data}", "--steps", "2", "--unroll", "1", "--epochs", "1", "--out", str(data)])
    assert result.exit_code == 2, result.stderr
    assert "is the --optimizee data file" in result.stderr and data.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ["meta-train", "sinusoid", "--meta-lr", "-1"],
        ["meta-train", "sinusoid", "--meta-lr", "nan"],
        ["meta-train", "sinusoid", "--algo", "reptile", "--outer-step", "-1"],
        ["meta-train", "sinusoid", "--inner-lr", "nan"],
        ["meta-train", "sinusoid", "--time-limit", "-1"],
        ["meta-train", "sinusoid", "--time-limit", "nan"],
        ["meta-train", "sinusoid", "--validate-every", "-1"],
        ["meta-train", "sinusoid", "--validation-tasks", "0"],
        ["optimizer", "train", "--meta-lr", "-1"],
        ["optimizer", "train", "--p", "0"],
        ["optimizer", "train", "--output-scale", "inf"],
    ],
    ids=lambda a: " ".join(a[1:]),
)
def test_invalid_numeric_options_are_usage_errors(tmp_path, args):
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2, result.stderr
    option = next(a for a in args[2:] if a.startswith("--") and a not in ("--algo",))
    assert f"Invalid value for '{option}'" in result.stderr
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize(("source", "args", "message"), [
    ("sinusoid", ["--data", "absent.csv", "--target", "y", "--bn", "support"],
     "--data, --target, --bn are not read by the sinusoid task source (only by omniglot and tabular)"),
    ("omniglot", ["--sep", ";", "--day-first"], "--sep, --day-first/--month-first are not read by the omniglot task source (only by tabular)"),
    ("tabular", ["--data", "absent.csv", "--bn", "support"], "--bn is not read by the tabular task source (only by omniglot)"),
])
def test_meta_train_refuses_options_its_task_source_does_not_read(tmp_path, source, args, message):
    result = runner.invoke(app, ["meta-train", source, *args, "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())
    assert not (tmp_path / "x.pt").exists()


def test_meta_eval_refuses_data_options_a_sinusoid_init_does_not_read(tmp_path):
    init = tmp_path / "s.pt"
    made = runner.invoke(app, ["meta-train", "sinusoid", "--iterations", "1", "--meta-batch", "2", "--validation-tasks", "2",
                               "--validate-every", "0", "--device", "cpu", "--out", str(init)])
    assert made.exit_code == 0, made.stderr
    result = runner.invoke(app, ["meta-eval", str(init), "--tasks", "2", "--target", "y"])
    assert result.exit_code == 2 and "--target is not read by the sinusoid task source" in result.stderr


def test_optimizer_train_refuses_an_option_suffix_on_a_family_without_data(tmp_path):
    result = runner.invoke(app, ["optimizer", "train", "--optimizee", "quadratic:foo", "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2
    assert "takes no ':foo'" in result.stderr


def test_meta_train_and_finetune_say_a_continuous_target_is_no_class_label(tmp_path, tabular_init):
    init, _ = tabular_init
    data = _table(tmp_path / "regr.csv", target="continuous")
    train = runner.invoke(app, ["meta-train", "tabular", "--data", str(data), *TINY, "--out", str(tmp_path / "x.pt")])
    tune = runner.invoke(app, ["finetune", str(data), "--init", str(init)])
    for result in (train, tune):
        assert result.exit_code == 2, result.stderr
        assert "target 'label' is continuous" in result.stderr and "classification target" in result.stderr
        assert "shots" not in result.stderr and "classes but" not in result.stderr


def _rewrite(src, dst, manifest=None, state=None, drop=None, raw_manifest=None):
    """A copy of checkpoint ``src`` with its manifest or tensors replaced, or one of its entries dropped."""
    state_dict, original = load_checkpoint(src)
    payload = {"format": FORMAT, "manifest": json.dumps(original if manifest is None else manifest), "state_dict": state_dict if state is None else state}
    if raw_manifest is not None:
        payload["manifest"] = raw_manifest
    payload.pop(drop, None)
    torch.save(payload, dst)
    return dst


@pytest.mark.parametrize(
    "case, message",
    [
        ("not-json", "manifest is not JSON"),
        ("no-manifest", "no manifest entry"),
        ("no-state-dict", "no state_dict entry"),
        ("list-manifest", "manifest is a JSON list"),
        ("no-task-source", "valid task_source"),
        ("zero-shots", "shots and queries >= 1"),
        ("wrong-shapes", "0.weight has shape (40, 3)"),
        ("nan-weights", "the checkpoint's '0.weight' holds values that are not finite (NaN or inf); the file is damaged"),
        ("changed-weight", "damaged (its checksum differs from the one written with it)"),
        ("half-weights", "the checkpoint's '0.weight' is torch.float16, not float32"),
    ],
)
def test_meta_eval_names_what_is_wrong_with_a_malformed_checkpoint(tmp_path, sinusoid_init, case, message):
    state, manifest = load_checkpoint(sinusoid_init)
    bad = tmp_path / "bad.pt"
    if case == "not-json":
        _rewrite(sinusoid_init, bad, raw_manifest="{not json")
    elif case == "no-manifest":
        _rewrite(sinusoid_init, bad, drop="manifest")
    elif case == "no-state-dict":
        _rewrite(sinusoid_init, bad, drop="state_dict")
    elif case == "list-manifest":
        _rewrite(sinusoid_init, bad, raw_manifest="[1, 2]")
    elif case == "no-task-source":
        _rewrite(sinusoid_init, bad, manifest={k: v for k, v in manifest.items() if k != "task_source"})
    elif case == "zero-shots":
        _rewrite(sinusoid_init, bad, manifest={**manifest, "tasks": {**manifest["tasks"], "shots": 0}})
    elif case == "changed-weight":  # one weight off by a little, as a flipped byte leaves it: was evaluated, exit 0
        payload = torch.load(sinusoid_init, weights_only=True)
        payload["state_dict"]["0.weight"][0, 0] += 1e-3
        torch.save(payload, bad)
    elif case == "half-weights":  # converted, its checksum kept: named by its dtype, not as damage
        payload = torch.load(sinusoid_init, weights_only=True)
        torch.save({**payload, "state_dict": {k: v.half() for k, v in payload["state_dict"].items()}}, bad)
    elif case == "nan-weights":
        _rewrite(sinusoid_init, bad, state={**state, "0.weight": torch.full_like(state["0.weight"], float("nan"))})
    else:
        _rewrite(sinusoid_init, bad, state={**state, "0.weight": torch.zeros(40, 3)})
    result = runner.invoke(app, ["meta-eval", str(bad), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "--debug" not in result.stderr  # ours, not a raw exception
    assert result.stderr.startswith(f"error: {bad}: ")  # the manifest's and the tensors' checks named no file


def test_meta_eval_refuses_a_table_with_other_columns(tmp_path, tabular_init):
    init, data = tabular_init
    other = tmp_path / "other.csv"
    pd.read_csv(data).rename(columns={"f4": "g4"}).to_csv(other, index=False)
    result = runner.invoke(app, ["meta-eval", str(init), "--data", str(other), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.stderr
    assert "columns differ" in result.stderr


def test_meta_eval_refuses_a_table_without_the_recorded_test_classes(tmp_path, tabular_init):
    init, data = tabular_init
    renamed = tmp_path / "renamed.csv"
    frame = pd.read_csv(data)
    frame["label"] = "z" + frame["label"]
    frame.to_csv(renamed, index=False)
    result = runner.invoke(app, ["meta-eval", str(init), "--data", str(renamed), "--tasks", "2", "--device", "cpu", "--json"])
    assert result.exit_code == 2, result.stderr
    assert "held-out test classes" in result.stderr and result.stdout == ""
    same = runner.invoke(app, ["meta-eval", str(init), "--data", str(data), "--tasks", "2", "--device", "cpu", "--json"])
    assert same.exit_code == 0, same.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["tabular", "--ways", "1"], "--ways 1: an episode needs at least 2 classes"),  # a 1-way episode scores 1.0
    (["sinusoid", "--algo", "maml", "--inner-optimizer", "adam"], "--inner-optimizer, --inner-batch and --fresh-inner-adam are Reptile's"),
])
def test_meta_train_refuses_settings_it_would_run_without_meaning(tmp_path, args, message):
    data = _table(tmp_path / "classes.csv")
    extra = ["--data", str(data)] if args[0] == "tabular" else []
    result = runner.invoke(app, ["meta-train", *args, *extra, *TINY, "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2 and message in result.stderr and not (tmp_path / "x.pt").exists()


def test_meta_eval_takes_the_inits_columns_in_another_order(tmp_path, tabular_init):
    init, data = tabular_init
    shuffled = tmp_path / "shuffled.csv"
    frame = pd.read_csv(data)
    frame[list(reversed(frame.columns))].to_csv(shuffled, index=False)
    runs = [runner.invoke(app, ["meta-eval", str(init), "--data", str(path), "--tasks", "4", "--device", "cpu", "--json"])
            for path in (data, shuffled)]
    assert [r.exit_code for r in runs] == [0, 0], runs[1].stderr
    assert json.loads(runs[0].stdout)["mean"] == json.loads(runs[1].stdout)["mean"]


def test_a_family_file_whose_column_reading_left_out_is_named_with_the_reason(tmp_path):
    family = tmp_path / "fam"
    family.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        y = rng.integers(0, 3, 40)
        frame = pd.DataFrame(rng.normal(size=(40, 3)) + y[:, None], columns=["p", "q", "r"])
        frame["kind"] = "u" if i == 3 else rng.choice(["u", "v"], 40)
        frame.assign(label=[f"k{v}" for v in y]).to_csv(family / f"t{i}.csv", index=False)
    result = runner.invoke(app, ["meta-train", "tabular", "--data", str(family), "--ways", "3", "--shots", "2", "--queries", "2",
                                 *TINY, "--out", str(tmp_path / "fam.pt")])
    assert result.exit_code == 2
    assert "t3: column 'kind' is constant in t3, so reading left it out" in " ".join(result.stderr.split())


def test_optimizer_refuses_table_options_without_a_tabular_optimizee(tmp_path):
    result = runner.invoke(app, ["optimizer", "train", "--task", "regression", "--target", "y", "--epochs", "1", "--steps", "4",
                                 "--unroll", "2", "--out", str(tmp_path / "q.pt")])
    assert result.exit_code == 2 and "--target and --task set how a tabular optimizee runs; add --optimizee tabular:DATA" in result.stderr


def test_finetune_names_an_init_column_read_as_id_like_text(tmp_path, tabular_init):
    init, data = tabular_init
    frame = pd.read_csv(data)
    frame = frame[frame["label"].isin(["k0", "k1", "k2"])].copy()
    frame["f1"] = [f"t{i}" for i in range(len(frame))]  # every value distinct text: read as an ID column and left out
    frame.to_csv(tmp_path / "ids.csv", index=False)
    result = runner.invoke(app, ["finetune", str(tmp_path / "ids.csv"), "--init", str(init), "--shots", "2"])
    assert result.exit_code == 2 and "the init's numeric column 'f1' holds text in this table ('t0', 't1', 't2')" in result.stderr


def test_a_sinusoid_init_is_summarized_as_k_shot_regression_and_a_refused_finetune_draws_no_bar(tmp_path, sinusoid_init, tabular_init):
    result = runner.invoke(app, ["meta-eval", str(sinusoid_init), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 0 and "-shot regression" in result.stdout and "-way" not in result.stdout
    init, data = tabular_init  # 12 classes against a 3-way head: refused before any support draw
    refused = runner.invoke(app, ["finetune", str(data), "--init", str(init), "--shots", "2"])
    assert refused.exit_code == 2 and "classes but the initialization was meta-trained for 3-way tasks" in refused.stderr
    assert "meta-train one with --ways 12 or more" in " ".join(refused.stderr.split())
    assert "support draws" not in refused.stderr


def test_a_pickle_given_as_a_checkpoint_is_refused_in_one_line_without_torchs_warning(tmp_path, recwarn):
    import pickle

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"w": [1]}))
    result = runner.invoke(app, ["meta-eval", str(path), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2 and "not a readable automl-meta checkpoint" in result.stderr
    assert not [str(w.message) for w in recwarn], "torch's 'Detected pickle protocol' warning reached the user"


def test_a_checkpoint_of_a_newer_format_says_to_upgrade(tmp_path, sinusoid_init):
    payload = torch.load(sinusoid_init, weights_only=True)
    torch.save({**payload, "format": "automl-meta-checkpoint/2"}, tmp_path / "newer.pt")
    result = runner.invoke(app, ["meta-eval", str(tmp_path / "newer.pt"), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2  # was "not an automl-meta checkpoint (format automl-meta-checkpoint/1 expected)"
    assert "written by a newer automl-meta; upgrade automl-meta to read it" in " ".join(result.stderr.split())
