"""Task sources: sinusoid, Omniglot (MAML protocol) and tabular episodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from automl_meta.dataset import make_dataset
from automl_meta.exceptions import DatasetError
from automl_meta.io.omniglot import ENV_VAR, load_omniglot, omniglot_folder
from automl_meta.neural.models import mlp_architecture
from automl_meta.neural.task_sources import TASK_SOURCES, make_task_source, omniglot_tasks


def _classes_frame(n_classes=12, rows=30, seed=0, prefix="c") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.repeat([f"{prefix}{i}" for i in range(n_classes)], rows)
    centers = rng.normal(size=(n_classes, 3)) * 3
    x = centers[np.repeat(np.arange(n_classes), rows)] + rng.normal(size=(len(labels), 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["color"] = rng.choice(["red", "blue"], size=len(labels))
    frame["label"] = labels
    return frame


def test_registry_lists_the_three_task_sources():
    assert set(TASK_SOURCES) == {"sinusoid", "omniglot", "tabular"}
    assert TASK_SOURCES["omniglot"].bn_mode == "transductive"


def test_sinusoid_tasks_follow_the_maml_paper_ranges():
    splits = make_task_source("sinusoid", shots=5, queries=7)
    batch = splits.train.sample(200, torch.Generator().manual_seed(0))
    assert batch.xs.shape == (200, 5, 1) and batch.xq.shape == (200, 7, 1)
    assert batch.xs.min() >= -5 and batch.xs.max() <= 5
    assert batch.ys.abs().max() <= 5.0
    assert splits.architecture == mlp_architecture(1, (40, 40), 1, "relu")


@pytest.fixture(scope="module")
def omniglot_images(shared_dir):
    folder = shared_dir / "omniglot"
    if not (folder / "omniglot_background_28.npz").is_file():
        pytest.skip("needs ../shared/omniglot")
    return load_omniglot(folder)[0]


def test_omniglot_loader_joins_both_alphabets_sets(omniglot_images):
    assert omniglot_images.shape == (1623, 20, 28, 28)
    assert omniglot_images.dtype == np.uint8


def test_omniglot_folder_comes_from_the_environment(shared_dir, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(shared_dir / "omniglot"))
    assert omniglot_folder() == shared_dir / "omniglot"
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(DatasetError, match=ENV_VAR):
        omniglot_folder()


def test_omniglot_splits_use_disjoint_characters_with_rotations(omniglot_images):
    images = omniglot_images[:40]
    splits = omniglot_tasks(images, ways=3, shots=1, queries=2, n_train=24, n_validation=6)
    assert (splits.train.n_classes, splits.validation.n_classes, splits.test.n_classes) == (96, 24, 40)
    assert splits.info["characters"] == {"train": 24, "validation": 6, "test": 10}
    train = {bytes(c[0].numpy()) for c in splits.train.data}
    test = {bytes(c[0].numpy()) for c in splits.test.data}
    assert not train & test
    rotated = splits.train.data[1, 0]
    assert torch.equal(rotated, torch.rot90(splits.train.data[0, 0], 1, dims=(-2, -1)))


def test_omniglot_episode_is_n_way_k_shot_with_distinct_drawings(omniglot_images):
    splits = omniglot_tasks(omniglot_images[:40], ways=5, shots=2, queries=3, n_train=24, n_validation=6)
    batch = splits.test.sample(4, torch.Generator().manual_seed(1))
    assert batch.xs.shape == (4, 10, 28, 28) and batch.xq.shape == (4, 15, 28, 28)
    assert batch.ys[0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert 0.0 <= batch.xs.min() and batch.xs.max() <= 1.0
    assert batch.xs.mean() < 0.5  # ink = 1 on a mostly empty page
    for t in range(4):
        for c in range(5):
            drawings = torch.cat([batch.xs[t, 2 * c : 2 * c + 2], batch.xq[t, 3 * c : 3 * c + 3]]).flatten(1)
            assert len(torch.unique(drawings, dim=0)) == 5


def test_tabular_tasks_hold_out_classes_for_testing():
    dataset = make_dataset(_classes_frame(), target="label", task="classification")
    splits = make_task_source("tabular", dataset, ways=3, shots=2, queries=4)
    names = splits.info["classes"]
    assert not set(names["train"]) & set(names["test"])
    assert not set(names["validation"]) & set(names["test"])
    assert splits.architecture == mlp_architecture(5, (40, 40), 3, "relu")  # 3 numeric + one-hot of 2 colors
    assert splits.info["input_columns"] == ["a", "b", "c", "color"]
    batch = splits.test.sample(2, torch.Generator().manual_seed(0))
    assert batch.xs.shape == (2, 6, 5) and batch.xq.shape == (2, 12, 5)


def test_tabular_family_draws_each_episode_from_one_table():
    tables = [make_dataset(_classes_frame(4, 15, seed=i, prefix=f"t{i}_"), target="label", task="classification") for i in range(6)]
    splits = make_task_source("tabular", tables, ways=3, shots=2, queries=3)
    assert splits.info["family"] is True
    sampler = splits.train
    batch_classes = sampler._classes(20, torch.Generator().manual_seed(0))
    group_of = {int(c): g for g, members in enumerate(sampler.groups) for c in members}
    for row in batch_classes.tolist():
        assert len({group_of[c] for c in row}) == 1


def test_tabular_tasks_reject_too_few_classes():
    dataset = make_dataset(_classes_frame(n_classes=4), target="label", task="classification")
    with pytest.raises(DatasetError, match="held-out test classes"):
        make_task_source("tabular", dataset, ways=3, shots=2, queries=4)


def test_tabular_tasks_say_when_classes_have_too_few_rows_for_an_episode():
    dataset = make_dataset(_classes_frame(n_classes=8, rows=5), target="label", task="classification")
    message = "0 of its 8 classes have the 6 rows an episode takes (--shots 2 + --queries 4) and 6 are needed"
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        make_task_source("tabular", dataset, ways=3, shots=2, queries=4)


def test_tabular_tasks_say_a_continuous_target_is_no_class_label():
    frame = _classes_frame(n_classes=12, rows=30)
    frame["label"] = np.random.default_rng(0).normal(size=len(frame)).round(1)  # repeats: make_dataset refuses no repeat
    dataset = make_dataset(frame, target="label", task="classification")  # as meta-train reads tables
    with pytest.raises(DatasetError, match="target 'label' is continuous .* need a classification target"):
        make_task_source("tabular", dataset, ways=3, shots=2, queries=4)


def test_omniglot_train_queries_change_only_the_training_episodes():
    images = np.random.default_rng(0).integers(0, 256, size=(40, 20, 28, 28), dtype=np.uint8)
    splits = omniglot_tasks(images, ways=5, shots=1, queries=15, n_train=24, n_validation=6, train_queries=9)
    g = torch.Generator().manual_seed(0)
    train, test = splits.train.sample(2, g), splits.test.sample(2, g)
    assert train.xs.shape[1] + train.xq.shape[1] == 50  # Reptile's 10 examples per class
    assert test.xs.shape[1] == 5 and test.xq.shape[1] == 75
    assert splits.info["train_queries"] == 9 and splits.info["queries"] == 15
