"""The torch MLP candidate: scikit-learn estimator checks, early stopping, and the two neural hooks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl_meta.exceptions import ArtifactError, UsageError
from automl_meta.io.checkpoint import save_checkpoint
from automl_meta.learners.mlp_torch import MLPTorchClassifier, MLPTorchRegressor
from automl_meta.neural.models import mlp, mlp_architecture

# Every check that applies runs; none is excluded. The ones that do not apply are
# skipped by scikit-learn itself from the estimators' tags: sample weights (fit has
# no sample_weight), sparse input (dense only), multi-output and multi-label
# targets (single output), and the array API check (needs SCIPY_ARRAY_API=1).
# Smaller networks than the portfolio's keep the ~50 checks per estimator fast.
CHECKED = [
    MLPTorchClassifier(hidden=(16,), max_epochs=30, batch_size=32, random_state=0),
    MLPTorchRegressor(hidden=(16,), max_epochs=30, batch_size=32, random_state=0),
]


@parametrize_with_checks(CHECKED)
def test_mlp_torch_passes_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _blobs(n=300, n_classes=3, seed=0):
    X, y = make_classification(n, 6, n_informative=4, n_classes=n_classes, n_clusters_per_class=1, random_state=seed)
    return X, np.array(["c%d" % v for v in y])


def test_mlp_torch_same_random_state_gives_identical_predictions_without_global_seeding():
    X, y = _blobs()
    torch.manual_seed(123)
    first = MLPTorchClassifier(random_state=7, max_epochs=15).fit(X, y).predict_proba(X)
    torch.manual_seed(999)  # a different global seed must not matter
    second = MLPTorchClassifier(random_state=7, max_epochs=15).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = MLPTorchClassifier(random_state=8, max_epochs=15).fit(X, y).predict_proba(X)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("estimator", [MLPTorchClassifier, MLPTorchRegressor])
def test_mlp_torch_leaves_torchs_global_generator_where_it_was(estimator):
    X, y = _blobs()
    torch.manual_seed(5)
    expected = torch.random.get_rng_state()
    estimator(random_state=0, max_epochs=2).fit(X, y if estimator is MLPTorchClassifier else X[:, 0])
    assert torch.equal(torch.random.get_rng_state(), expected)


def test_building_a_network_to_load_weights_into_leaves_torchs_global_generator_where_it_was():
    from automl_meta.neural.conv4 import build_backbone, conv4_architecture
    from automl_meta.neural.initializations import new_backbone

    torch.manual_seed(5)
    expected = torch.random.get_rng_state()
    build_backbone(mlp_architecture(4, (8,), 2))
    build_backbone(conv4_architecture(3, filters=4, image_size=28))
    assert torch.equal(torch.random.get_rng_state(), expected)
    first, second = (new_backbone(mlp_architecture(4, (8,), 2), seed=3) for _ in range(2))  # seeded inits stay seeded
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


def test_mlp_torch_early_stopping_ends_before_max_epochs_and_keeps_best_epoch():
    X, y = make_regression(200, 5, noise=30.0, random_state=1)
    model = MLPTorchRegressor(max_epochs=400, patience=5, learning_rate=1e-2, random_state=0).fit(X, y)
    assert model.early_stopping_on_ == "validation"
    assert model.n_iter_ < 400
    assert model.n_iter_ == model.best_epoch_ + 5
    assert model.best_loss_ == pytest.approx(min(model.loss_curve_))


def test_mlp_torch_classifier_learns_string_classes():
    X, y = _blobs(400)
    model = MLPTorchClassifier(random_state=0).fit(X, y)
    assert set(model.classes_) == {"c0", "c1", "c2"}
    assert (model.predict(X) == y).mean() > 0.85
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_mlp_torch_rejects_unknown_optimizer():
    X, y = _blobs(60)
    with pytest.raises(UsageError, match="unknown optimizer 'rmsprop'"):
        MLPTorchClassifier(optimizer="rmsprop").fit(X, y)


# -- init=PATH ----------------------------------------------------------------------------

def _init_checkpoint(path, in_features=4, hidden=(16, 16), out_features=3, columns=("a", "b", "c", "d")):
    net = mlp(in_features, hidden, out_features, "relu")
    for p in net.parameters():  # recognisable values
        torch.nn.init.constant_(p, 0.05)
    manifest = {
        "kind": "init",
        "architecture": mlp_architecture(in_features, hidden, out_features, "relu"),
        "input_columns": list(columns),
    }
    save_checkpoint(path, net.state_dict(), manifest)
    return net.state_dict()


def _frame(n=60, columns=("a", "b", "c", "d"), n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(columns))), columns=list(columns))
    y = np.array(["k%d" % (i % n_classes) for i in range(n)])
    return X, y


def test_mlp_torch_init_loads_every_matching_layer(tmp_path):
    state = _init_checkpoint(tmp_path / "init.pt")
    X, y = _frame()
    # learning rate 0: training leaves the loaded weights as they are
    model = MLPTorchClassifier(hidden=(16, 16), init=str(tmp_path / "init.pt"), optimizer="sgd", learning_rate=0.0, max_epochs=2)
    model.fit(X, y)
    for key, value in model.module_.state_dict().items():
        torch.testing.assert_close(value, state[key])


def test_mlp_torch_init_reinitializes_the_head_when_the_class_count_differs(tmp_path):
    state = _init_checkpoint(tmp_path / "init.pt", out_features=3)
    X, y = _frame(n_classes=2)
    model = MLPTorchClassifier(hidden=(16, 16), init=str(tmp_path / "init.pt"), optimizer="sgd", learning_rate=0.0, max_epochs=2, random_state=0)
    model.fit(X, y)
    loaded = model.module_.state_dict()
    torch.testing.assert_close(loaded["0.weight"], state["0.weight"])
    torch.testing.assert_close(loaded["2.weight"], state["2.weight"])
    assert loaded["4.weight"].shape == (2, 16)
    assert not torch.allclose(loaded["4.weight"], torch.full((2, 16), 0.05))


@pytest.mark.parametrize("n_classes", [3, 2], ids=["same-classes", "other-classes"])
def test_mlp_torch_init_adopts_the_init_hidden_sizes_and_loads_every_tensor_but_a_resized_head(tmp_path, n_classes):
    # meta-train tabular builds 40-40, the portfolio 64-64: only the output bias used to load
    state = _init_checkpoint(tmp_path / "init.pt", hidden=(40, 40), out_features=3)
    X, y = _frame(n_classes=n_classes)
    model = MLPTorchClassifier(init=str(tmp_path / "init.pt"), optimizer="sgd", learning_rate=0.0, max_epochs=2, random_state=0).fit(X, y)
    loaded = model.module_.state_dict()
    assert [layer.out_features for layer in model.module_ if isinstance(layer, torch.nn.Linear)] == [40, 40, n_classes]
    resized = {"4.weight", "4.bias"} if n_classes != 3 else set()
    for key, value in state.items():
        if key not in resized:
            torch.testing.assert_close(loaded[key], value)
    assert all(loaded[key].shape[0] == n_classes for key in resized)


def test_mlp_torch_init_refuses_other_explicit_hidden_sizes(tmp_path):
    _init_checkpoint(tmp_path / "init.pt", hidden=(40, 40))
    X, y = _frame()
    with pytest.raises(ArtifactError, match=r"meta-trained with hidden=\(40, 40\), not \(64, 64\); leave hidden unset"):
        MLPTorchClassifier(hidden=(64, 64), init=str(tmp_path / "init.pt")).fit(X, y)
    assert MLPTorchClassifier(max_epochs=1).fit(X, y).module_[0].out_features == 64  # no init: 64-64 as before


def test_the_portfolio_candidate_takes_an_init_meta_trained_on_a_table_with_a_categorical_column(tmp_path):
    from typer.testing import CliRunner

    from automl_meta.cli.main import app
    from automl_meta.dataset import make_dataset
    from automl_meta.learners.portfolio import LEARNERS

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(12), 12)
    frame = pd.DataFrame(rng.normal(size=(len(y), 3)) + y[:, None] * 0.3, columns=list("abc"))
    frame["colour"] = rng.choice(["red", "green", "blue"], len(y))  # one-hot: colour_blue, ... after preprocessing
    frame["label"] = [f"c{v}" for v in y]
    frame.to_csv(tmp_path / "t.csv", index=False)
    init = tmp_path / "init.pt"
    trained = CliRunner().invoke(app, ["meta-train", "tabular", "--data", str(tmp_path / "t.csv"), "--ways", "3", "--shots", "2",
                                       "--queries", "2", "--iterations", "2", "--meta-batch", "2", "--validation-tasks", "2",
                                       "--device", "cpu", "--out", str(init)])
    assert trained.exit_code == 0, trained.stderr
    dataset = make_dataset(frame, target="label", task="classification")
    pipeline = LEARNERS["mlp_torch"].build(dataset, 0).set_params(model__init=str(init), model__max_epochs=1)
    pipeline.fit(dataset.X, dataset.y)  # the candidate as the portfolio builds it, only init= added
    assert pipeline[-1].hidden_ == (40, 40)  # the init's sizes, its tensors loaded
    # a table (or a cross-validation fold) without one of the levels: was "expects 7 input features, but the data has 6"
    fewer = make_dataset(frame.assign(colour=frame["colour"].replace({"blue": "red"})), target="label", task="classification")
    narrowed = LEARNERS["mlp_torch"].build(fewer, 0).set_params(model__init=init, model__max_epochs=1).fit(fewer.X, fewer.y)
    assert narrowed[-1].module_[0].in_features == pipeline[-1].module_[0].in_features
    assert narrowed.predict_proba(fewer.X).shape == (len(frame), 12)
    # saved with its init given as a Path (was refused: pathlib.PosixPath is no trusted type) and its input matching
    from automl_meta.io.fitted_models import describe_columns, load_fitted_model, save_fitted_model

    saved = save_fitted_model(tmp_path / "m.skops", narrowed, {"learner": "mlp_torch", "task": "classification", "target": "label",
                                                               "columns": describe_columns(fewer.X), "class_values": None})
    np.testing.assert_allclose(load_fitted_model(saved).pipeline.predict_proba(fewer.X), narrowed.predict_proba(fewer.X))
    import hashlib
    import json

    recorded = json.loads(saved.with_name("m.skops.json").read_text())["init"]  # which init the model started from
    assert recorded == {"path": str(init), "sha256": hashlib.sha256(init.read_bytes()).hexdigest()}


def test_mlp_torch_init_matches_the_data_columns_to_its_inputs_by_name(tmp_path, caplog):
    _init_checkpoint(tmp_path / "init.pt")
    X, y = _frame()
    frozen = dict(hidden=(16, 16), init=str(tmp_path / "init.pt"), optimizer="sgd", learning_rate=0.0, max_epochs=1)
    reference = MLPTorchClassifier(**frozen).fit(X, y).predict_proba(X)
    shuffled = X[["d", "b", "a", "c"]]  # another order: the same inputs, by name
    np.testing.assert_allclose(MLPTorchClassifier(**frozen).fit(shuffled, y).predict_proba(shuffled), reference)
    with caplog.at_level("WARNING", logger="automl_meta"):
        wider = X.assign(e=1.0)[["e", "a", "b", "c", "d"]]  # a column it never saw: left out
        np.testing.assert_allclose(MLPTorchClassifier(**frozen).fit(wider, y).predict_proba(wider), reference)
        narrower = X.drop(columns="d")  # an input the data lacks: 0
        expected = MLPTorchClassifier(**frozen).fit(X.assign(d=0.0), y).predict_proba(X.assign(d=0.0))
        np.testing.assert_allclose(MLPTorchClassifier(**frozen).fit(narrower, y).predict_proba(narrower), expected)
    assert "it never saw the columns e (left out)" in caplog.text and "the data lacks its inputs d (given as 0)" in caplog.text
    with pytest.raises(UsageError, match="init is an empty path"):  # was ". : a folder, not a checkpoint"
        MLPTorchClassifier(init="").fit(X, y)


def test_mlp_torch_init_refuses_data_it_shares_no_input_with_or_cannot_match(tmp_path):
    _init_checkpoint(tmp_path / "init.pt")
    X, y = _frame(columns=("p", "q", "r", "s"))
    with pytest.raises(ArtifactError, match="none of the initialization's 4 inputs .* is among the data's"):
        MLPTorchClassifier(hidden=(16, 16), init=str(tmp_path / "init.pt")).fit(X, y)
    X, y = _frame(columns=("a", "b", "c", "d", "e"))
    with pytest.raises(ArtifactError, match="expects 4 input features, but the data has 5"):  # no names to match by
        MLPTorchClassifier(hidden=(16, 16), init=str(tmp_path / "init.pt")).fit(X.to_numpy(), y)


def test_mlp_torch_refuses_an_init_of_another_task_source(tmp_path):
    net = mlp(1, (40, 40), 1, "relu")
    save_checkpoint(tmp_path / "sin.pt", net.state_dict(), {"kind": "init", "task_source": "sinusoid", "loss": "mse",
                                                              "architecture": mlp_architecture(1, (40, 40), 1, "relu")})
    X, y = _frame(columns=("x",))
    with pytest.raises(ArtifactError, match="a 'sinusoid' initialization, whose inputs are no table's columns"):
        MLPTorchClassifier(init=str(tmp_path / "sin.pt")).fit(X, y)


def test_mlp_torch_refuses_weight_decay_or_no_path_with_a_learned_optimizer():
    X, y = _frame()
    with pytest.raises(UsageError, match="a learned optimizer takes none: leave weight_decay at 0"):
        MLPTorchClassifier(optimizer="learned:opt.pt", weight_decay=0.5).fit(X, y)
    with pytest.raises(UsageError, match="needs the learned optimizer's checkpoint: learned:PATH"):
        MLPTorchClassifier(optimizer="learned:").fit(X, y)


def test_mlp_torch_init_must_be_an_init_checkpoint(tmp_path):
    net = mlp(4, (8,), 2)
    save_checkpoint(tmp_path / "other.pt", net.state_dict(), {"kind": "learned_optimizer"})
    X, y = _frame()
    with pytest.raises(ArtifactError, match="'init' one is needed"):
        MLPTorchClassifier(hidden=(8,), init=str(tmp_path / "other.pt")).fit(X, y)


# -- optimizer="learned:PATH" ---------------------------------------------------------------

def test_mlp_torch_trains_with_a_learned_optimizer_checkpoint(tmp_path):
    lstm = pytest.importorskip("automl_meta.neural.lstm_optimizer")
    pytest.importorskip("automl_meta.neural.learned_optimizer")
    net = lstm.CoordinatewiseLSTM()
    save_checkpoint(tmp_path / "opt.pt", net.state_dict(), {"kind": "learned_optimizer", "net": net.config()})
    X, y = _blobs(120)
    model = MLPTorchClassifier(hidden=(8,), optimizer=f"learned:{tmp_path / 'opt.pt'}", max_epochs=3, random_state=0)
    untrained = MLPTorchClassifier(hidden=(8,), max_epochs=1, optimizer="sgd", learning_rate=0.0, random_state=0).fit(X, y)
    model.fit(X, y)
    assert np.isfinite(model.predict_proba(X)).all()
    # same seed, same initial weights: any difference comes from the learned optimizer's steps
    assert not torch.allclose(model.module_[0].weight, untrained.module_[0].weight)


@pytest.mark.parametrize("params", [{"hidden": "16"}, {"hidden": (16, 0)}, {"hidden": (8.5,)}, {"validation_fraction": "0.2"},
                                    {"batch_size": "32"}, {"batch_size": 2.7}, {"patience": True}, {"max_epochs": 0},
                                    {"learning_rate": -1.0}, {"learning_rate": float("nan")}, {"weight_decay": -1.0},
                                    {"weight_decay": "0.1"}])
def test_parameters_of_the_wrong_kind_are_refused_in_one_line(params):
    # hidden="16" built layers of 1 and 6, "32" was read as 32, 2.7 cut to 2; others raised raw TypeErrors
    from automl_meta.exceptions import UsageError
    from automl_meta.learners.mlp_torch import MLPTorchClassifier

    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 3), (np.arange(40) % 2)
    with pytest.raises(UsageError, match=f"{next(iter(params))} must be"):
        MLPTorchClassifier(**{"max_epochs": 3, **params}).fit(X, y)


def test_an_integer_hidden_is_one_layer_of_that_width_as_in_scikit_learn():
    from automl_meta.learners.mlp_torch import MLPTorchClassifier

    rng = np.random.RandomState(0)
    fitted = MLPTorchClassifier(hidden=16, max_epochs=2, random_state=0).fit(rng.rand(40, 3), np.arange(40) % 2)
    assert fitted.hidden_ == (16,)  # was TypeError: 'int' object is not iterable
