"""Inputs the neural commands must refuse or report, not turn into lost files or plausible numbers.

Each test builds its own small data: a checkpoint written over an input file,
diverged adaptations read as chance accuracy, another table set accepted as the
meta-training one, text read as zeros, mixed column kinds across a family, a
Ctrl-C lost while torch loads, and a junk Omniglot file.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from automl_meta.cli.main import app
from automl_meta.exceptions import ArtifactError, DatasetError
from automl_meta.io.checkpoint import FORMAT, load_checkpoint
from automl_meta.io.omniglot import load_omniglot
from automl_meta.neural import meta_training
from automl_meta.neural.few_shot import evaluate_learner
from automl_meta.neural.meta_learners import MAML
from automl_meta.neural.models import mlp
from automl_meta.neural.task_sources import ClassPoolSampler
from conftest import interruptible

torch.set_num_threads(1)
runner = CliRunner()
TINY = ["--iterations", "2", "--meta-batch", "2", "--validate-every", "0", "--validation-tasks", "2", "--device", "cpu"]
EPISODES = ["--ways", "3", "--shots", "2", "--queries", "2"]


def _frame(n_classes=12, rows=20, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_classes * rows, 4)), columns=["f1", "f2", "f3", "f4"])
    frame["label"] = np.repeat([f"k{i}" for i in range(n_classes)], rows)
    return frame


def _family(folder, seed=0, n_tables=6):
    """``n_tables`` files of one schema, 4 classes each: one task per file."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_tables):
        _frame(n_classes=4, rows=12, seed=seed * 100 + i).to_csv(folder / f"t{i}.csv", index=False)
    return folder


def _meta_train(args, out):
    result = runner.invoke(app, ["meta-train", *args, *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def _with_nan_weights(init, dst):
    """A copy of ``init`` whose tensors are all NaN: what a diverged meta-training used to save."""
    state, manifest = load_checkpoint(init)
    nan = {k: torch.full_like(v, float("nan")) for k, v in state.items()}
    torch.save({"format": FORMAT, "manifest": json.dumps(manifest), "state_dict": nan}, dst)
    return dst


def _with_inner_lr(init, dst, lr):
    """A copy of ``init`` whose recorded inner step size is ``lr``: finite weights whose adaptation can diverge."""
    state, manifest = load_checkpoint(init)
    manifest["hyperparameters"]["inner_lr"] = lr
    torch.save({"format": FORMAT, "manifest": json.dumps(manifest), "state_dict": state}, dst)
    return dst


# -- 1. --out must not be a file the command reads ------------------------------------------

def test_meta_train_refuses_an_out_that_is_a_table_of_the_data_folder(tmp_path):
    family = _family(tmp_path / "fam")
    before = {p.name: p.read_bytes() for p in family.iterdir()}
    result = runner.invoke(app, ["meta-train", "tabular", "--data", str(family), *EPISODES, *TINY, "--out", str(family / "t0.csv")])
    assert result.exit_code == 2, result.stderr
    assert "is a file of the --data folder (t0.csv)" in result.stderr and "meta-train tabular" not in result.stderr
    plot = runner.invoke(app, ["meta-train", "tabular", "--data", str(family), *EPISODES, *TINY, "--out", str(tmp_path / "i.pt"),
                               "--plot", str(family / "t1.png")])
    assert plot.exit_code == 0, plot.stderr  # a new file in the folder is fine: only the inputs are protected
    assert {p.name: p.read_bytes() for p in family.iterdir() if p.suffix == ".csv"} == before


def _npz_folder(folder, text_background=False):
    """Both Omniglot file names; tiny arrays (the --out check runs before they are read)."""
    folder.mkdir()
    for name in ("omniglot_background_28.npz", "omniglot_evaluation_28.npz"):
        np.savez(folder / name, images=np.zeros((2, 20, 28, 28), dtype=np.uint8), char_id=np.arange(2))
    if text_background:
        (folder / "omniglot_background_28.npz").write_text("not npz\n")
    return folder


@pytest.mark.parametrize("via", ["--data", "environment"])
def test_meta_train_refuses_an_out_that_is_an_omniglot_file(tmp_path, monkeypatch, via):
    folder = _npz_folder(tmp_path / "omni")
    target = folder / "omniglot_evaluation_28.npz"
    before = target.read_bytes()
    args = ["meta-train", "omniglot", *TINY, "--out", str(target)]
    if via == "--data":
        args += ["--data", str(folder)]
    else:
        monkeypatch.setenv("AUTOML_META_OMNIGLOT", str(folder))
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.stderr
    assert "is the Omniglot file omniglot_evaluation_28.npz" in result.stderr
    assert target.read_bytes() == before


# -- 2. diverged classification adaptations -----------------------------------------------

def _nan_learner():
    learner = MAML(mlp(4, (8,), 3), inner_lr=0.1, inner_steps=1, loss="cross_entropy")
    learner.params = {k: torch.full_like(v, float("nan")).requires_grad_() for k, v in learner.params.items()}
    return learner


def test_evaluate_learner_counts_nan_logits_as_diverged_not_as_chance_accuracy():
    data = torch.randn(6, 10, 4)
    sampler = ClassPoolSampler(data, torch.full((6,), 10), ways=3, shots=2, queries=3)
    result = evaluate_learner(_nan_learner(), sampler, tasks=4, batch_size=2)
    assert result["diverged"] == 4
    assert np.isnan(result["mean"])


def test_evaluation_episodes_are_not_the_training_tasks_of_the_same_seed():
    """Sinusoid has no split of classes: an evaluation seeded as the training run drew exactly its tasks."""
    from automl_meta.neural.task_sources import SinusoidSampler

    class Recording(SinusoidSampler):
        drawn: list = []

        def sample(self, n_tasks, generator):
            batch = super().sample(n_tasks, generator)
            self.drawn.append(batch.xs)
            return batch

    sampler = Recording(shots=5, queries=10)
    training = [sampler.sample(4, torch.Generator().manual_seed(0)).xs]  # as meta_train draws them under seed 0
    sampler.drawn.clear()
    learner = MAML(mlp(1, (8,), 1), inner_lr=0.01, inner_steps=1, loss="mse")
    first = evaluate_learner(learner, sampler, tasks=4, batch_size=4, seed=0)
    assert not torch.equal(sampler.drawn[0], training[0])
    assert evaluate_learner(learner, sampler, tasks=4, batch_size=4, seed=0)["scores"] == first["scores"]  # still seeded
    assert evaluate_learner(learner, sampler, tasks=4, batch_size=4, seed=1)["scores"] != first["scores"]


def test_meta_eval_and_finetune_report_a_diverged_tabular_init(tmp_path):
    data = tmp_path / "classes.csv"
    _frame().to_csv(data, index=False)
    init = _meta_train(["tabular", "--data", str(data), *EPISODES], tmp_path / "tab.pt")
    for command in (["meta-eval", str(_with_nan_weights(init, tmp_path / "damaged.pt")), "--data", str(data)],
                    ["finetune", str(data), "--init", str(tmp_path / "damaged.pt")]):
        refused = runner.invoke(app, command)  # NaN weights: a damaged file (training never writes them), refused at load
        assert refused.exit_code == 2 and "holds values that are not finite (NaN or inf); the file is damaged" in refused.stderr
    nan = _with_inner_lr(init, tmp_path / "nan.pt", 1e30)  # finite weights, an inner step that blows them up
    evaluated = runner.invoke(app, ["meta-eval", str(nan), "--data", str(data), "--tasks", "4", "--device", "cpu", "--json"])
    assert evaluated.exit_code == 0, evaluated.stderr
    payload = json.loads(evaluated.stdout)
    assert payload["diverged"] == 4 and payload["mean"] is None
    assert "4 of 4 tasks diverged" in evaluated.stderr
    new = tmp_path / "new.csv"
    _frame(n_classes=3, rows=15, seed=5).to_csv(new, index=False)
    tuned = runner.invoke(app, ["finetune", str(new), "--init", str(nan), "--shots", "2", "--steps", "1", "--repeats", "3", "--json"])
    assert tuned.exit_code == 0, tuned.stderr
    result = json.loads(tuned.stdout)
    assert result["diverged"] == 3 and result["mean"] is None
    assert result["random_init_diverged"] == 3  # the same step size blows up the random start too
    assert "3 of 3 support draws from the init diverged" in tuned.stderr


def _poison_after(monkeypatch, iteration):
    """Make meta-training's weights NaN from ``iteration`` on (as a too large step size does), deterministically."""
    real = meta_training.meta_train

    def run(learner, splits, config, callback):
        def spy(event):
            if event["event"] == "iteration" and event["iteration"] >= iteration:
                with torch.no_grad():
                    for p in learner.params.values():
                        p.fill_(float("nan"))
            callback(event)

        return real(learner, splits, config, spy)

    monkeypatch.setattr(meta_training, "meta_train", run)


def test_meta_train_writes_no_nan_weights_and_fails_when_nothing_finite_was_validated(tmp_path, monkeypatch):
    _poison_after(monkeypatch, 1)
    out = tmp_path / "sin.pt"
    result = runner.invoke(app, ["meta-train", "sinusoid", *TINY, "--out", str(out)])
    assert result.exit_code == 1
    assert "meta-training diverged" in result.stderr and "nothing was written" in result.stderr
    assert not out.exists()


def test_meta_train_keeps_the_last_finite_checkpoint_and_warns_when_it_diverges(tmp_path, monkeypatch):
    _poison_after(monkeypatch, 2)
    out = tmp_path / "sin.pt"
    args = ["meta-train", "sinusoid", "--iterations", "3", "--meta-batch", "2", "--validate-every", "1", "--validation-tasks", "2",
            "--device", "cpu", "--out", str(out), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["diverged"] is True and summary["saved_iteration"] == 1
    assert summary["validation"]["mean"] is None and summary["validation"]["diverged"] == 2
    assert "keeps the init validated at iteration 1" in result.stderr
    state, manifest = load_checkpoint(out, kind="init")
    assert manifest["training"]["iterations"] == 1
    assert all(torch.isfinite(v).all() for v in state.values())


# -- 4. meta-eval must rebuild the held-out data of meta-training -------------------------------

def test_meta_eval_refuses_another_folder_of_the_same_schema(tmp_path):
    family, other = _family(tmp_path / "famA"), _family(tmp_path / "famB", seed=1)
    init = _meta_train(["tabular", "--data", str(family), *EPISODES], tmp_path / "fam.pt")
    same = runner.invoke(app, ["meta-eval", str(init), "--data", str(family), "--tasks", "2", "--device", "cpu"])
    assert same.exit_code == 0, same.stderr
    result = runner.invoke(app, ["meta-eval", str(init), "--data", str(other), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.stderr
    assert "held-out tables" in result.stderr and "give the same --data" in result.stderr


def test_meta_eval_refuses_a_table_whose_held_out_rows_changed(tmp_path):
    data = tmp_path / "classes.csv"
    frame = _frame()
    frame.to_csv(data, index=False)
    init = _meta_train(["tabular", "--data", str(data), *EPISODES], tmp_path / "tab.pt")
    _, manifest = load_checkpoint(init)
    test_classes = manifest["tasks"]["classes"]["test"]
    changed = tmp_path / "changed.csv"
    frame.loc[frame["label"].isin(test_classes), "f1"] += 1.0  # same classes and schema, other held-out rows
    frame.to_csv(changed, index=False)
    result = runner.invoke(app, ["meta-eval", str(init), "--data", str(changed), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.stderr
    assert "held-out test rows differ" in result.stderr and "give the same --data" in result.stderr


def test_meta_eval_on_a_table_too_small_for_the_inits_episodes_asks_for_the_meta_train_data(tmp_path):
    data = tmp_path / "classes.csv"
    _frame().to_csv(data, index=False)
    init = _meta_train(["tabular", "--data", str(data), *EPISODES], tmp_path / "tab.pt")
    small = tmp_path / "small.csv"
    _frame(n_classes=12, rows=3, seed=5).to_csv(small, index=False)  # 3 rows a class: an episode takes 2 + 2
    result = runner.invoke(app, ["meta-eval", str(init), "--data", str(small), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.stderr
    text = " ".join(result.stderr.split())
    assert f"the init's 3-way 2-shot episodes (2 queries: 4 rows a class) cannot be drawn from {small}" in text
    assert "give the --data it was meta-trained on" in text and "--shots" not in text


def test_meta_eval_still_reads_an_init_written_before_the_held_out_data_was_recorded(tmp_path):
    data = tmp_path / "classes.csv"
    _frame().to_csv(data, index=False)
    init = _meta_train(["tabular", "--data", str(data), *EPISODES], tmp_path / "tab.pt")
    state, manifest = load_checkpoint(init)
    assert manifest["tasks"]["held_out"]["rows"] == 3 * 20
    manifest["tasks"].pop("held_out")
    old = tmp_path / "old.pt"
    torch.save({"format": FORMAT, "manifest": json.dumps(manifest), "state_dict": state}, old)
    result = runner.invoke(app, ["meta-eval", str(old), "--data", str(data), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr


# -- 5. finetune: text in a numeric column of the init ---------------------------------------

def test_finetune_refuses_text_in_a_numeric_column_and_accepts_missing_values(tmp_path):
    data = tmp_path / "classes.csv"
    _frame().to_csv(data, index=False)
    init = _meta_train(["tabular", "--data", str(data), *EPISODES], tmp_path / "tab.pt")
    new = _frame(n_classes=3, rows=15, seed=5)
    with_text = new.assign(f2=np.where(np.arange(len(new)) % 2, "low", "high"))
    with_text.to_csv(tmp_path / "text.csv", index=False)
    tune = ["--init", str(init), "--shots", "2", "--steps", "1", "--repeats", "2", "--json"]
    result = runner.invoke(app, ["finetune", str(tmp_path / "text.csv"), *tune])
    assert result.exit_code == 2, result.stderr
    assert "numeric column 'f2'" in result.stderr and "'high'" in result.stderr
    new.loc[::4, "f2"] = np.nan
    new.to_csv(tmp_path / "missing.csv", index=False)
    assert runner.invoke(app, ["finetune", str(tmp_path / "missing.csv"), *tune]).exit_code == 0


# -- 6. a family whose column is text in one file, numbers in another ---------------------------

@pytest.mark.parametrize("text_file", ["t0.csv", "t3.csv"])
def test_meta_train_refuses_a_family_with_a_column_of_two_kinds(tmp_path, text_file):
    family = _family(tmp_path / "fam")
    frame = pd.read_csv(family / text_file)
    frame["f1"] = np.where(frame["f1"] > 0, "hi", "lo")
    frame.to_csv(family / text_file, index=False)
    result = runner.invoke(app, ["meta-train", "tabular", "--data", str(family), *EPISODES, *TINY, "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2, result.stderr
    assert "column 'f1' is" in result.stderr and "share one schema" in result.stderr and "--debug" not in result.stderr
    assert ("t3" if text_file == "t3.csv" else "t1") in result.stderr


# -- 7. Ctrl-C while torch loads --------------------------------------------------------------

CTRL_C_DURING_NUMPY_IMPORT = """
import os, signal, sys

class CtrlCOnNumpy:
    # Ctrl-C exactly when numpy is first imported: inside torch's C extension, which swallowed it
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCOnNumpy())
from automl_meta.cli.main import main
sys.argv = ["automl-meta", *sys.argv[1:]]
main()
"""


def test_ctrl_c_while_torch_imports_interrupts_the_command(tmp_path):
    out = tmp_path / "sin.pt"
    args = ["meta-train", "sinusoid", *TINY, "--out", str(out)]
    run = subprocess.run([sys.executable, "-c", CTRL_C_DURING_NUMPY_IMPORT, *args], capture_output=True, text=True, timeout=120, check=False,
                         preexec_fn=interruptible)
    assert run.returncode == 130, run.stderr
    assert "interrupted" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()


# -- 8. a junk Omniglot file ---------------------------------------------------------------------

def test_a_text_file_named_like_an_omniglot_npz_is_said_to_be_no_npz_archive(tmp_path):
    folder = _npz_folder(tmp_path / "omni", text_background=True)
    with pytest.raises(DatasetError, match="not an npz archive.*omniglot_evaluation_28.npz") as caught:
        load_omniglot(folder)
    assert "pickle" not in str(caught.value)


@pytest.fixture(scope="module")
def sinusoid_init(tmp_path_factory):
    init = tmp_path_factory.mktemp("init") / "sin.pt"
    result = CliRunner().invoke(app, ["meta-train", "sinusoid", "--iterations", "2", "--meta-batch", "2", "--validate-every", "0",
                                      "--validation-tasks", "2", "--device", "cpu", "--out", str(init)])
    assert result.exit_code == 0, result.stderr
    return init


@pytest.mark.parametrize(("key", "value"), [("meta_batch", 0), ("meta_batch", "x"), ("meta_batch", -3), ("inner_lr", "fast"),
                                            ("inner_steps", -1)])
def test_an_init_whose_manifest_holds_a_value_of_the_wrong_kind_is_refused_in_one_line(sinusoid_init, tmp_path, key, value):
    # written with a matching checksum, these gave IndexError, TypeError or RuntimeError, exit 1
    from automl_meta.io.checkpoint import save_checkpoint

    state, manifest = load_checkpoint(sinusoid_init)
    manifest["hyperparameters"][key] = value
    edited = save_checkpoint(tmp_path / "edited.pt", state, manifest)
    result = CliRunner().invoke(app, ["meta-eval", str(edited), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    assert "lacks a valid hyperparameters" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("key", ["bn_mode", "loss"])
def test_an_init_whose_manifest_lacks_its_batch_norm_mode_or_loss_names_it_and_the_fix(sinusoid_init, tmp_path, key):
    from automl_meta.io.checkpoint import save_checkpoint

    state, manifest = load_checkpoint(sinusoid_init)
    del manifest[key]  # was "does not match its manifest (KeyError: 'bn_mode')", with no fix
    edited = save_checkpoint(tmp_path / "edited.pt", state, manifest)
    result = CliRunner().invoke(app, ["meta-eval", str(edited), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    assert f"lacks a valid {key} (one of" in result.stderr and "write it again with `automl-meta meta-train`" in result.stderr


def test_a_manifest_nested_past_any_depth_is_refused_as_unreadable(sinusoid_init, tmp_path):
    state, manifest = load_checkpoint(sinusoid_init)
    deep = tmp_path / "deep.pt"
    torch.save({"format": FORMAT, "manifest": "[" * 100_000 + "]" * 100_000, "state_dict": state}, deep)
    result = CliRunner().invoke(app, ["meta-eval", str(deep), "--tasks", "2", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    assert "manifest is not JSON" in result.stderr


def test_a_checkpoint_on_a_full_disk_is_an_os_error_naming_the_file_and_the_old_one_stays(tmp_path, monkeypatch):
    import errno
    import pathlib

    from automl_meta.io.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "c.pt", {"w": torch.ones(3)}, {"kind": "init"})
    before = path.read_bytes()
    real = pathlib.Path.write_bytes

    def full_disk(self, data):
        if self.name.startswith(".c.pt."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full_disk)
    with pytest.raises(OSError) as raised:  # was torch's "enforce fail ... unexpected pos 128 vs 0"
        save_checkpoint(path, {"w": torch.zeros(3)}, {"kind": "init"})
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_a_checkpoint_of_the_other_kind_names_both_kinds_and_the_command_that_writes_the_right_one(tmp_path):
    from automl_meta.io.checkpoint import load_checkpoint, save_checkpoint

    path = save_checkpoint(tmp_path / "i.pt", {"w": torch.ones(2)}, {"kind": "init"})
    with pytest.raises(ArtifactError, match="holds an 'init' checkpoint, but a 'learned_optimizer' one is needed "
                                            r"\(written by `automl-meta optimizer train`\)"):
        load_checkpoint(path, kind="learned_optimizer")
