"""Extracting the default groups in two parts, as `recommend` does in two processes, gives one extraction's vector."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from automl_meta.dataset import make_dataset
from automl_meta.metafeatures import DEFAULT_GROUPS, extract_metafeatures
from automl_meta.metafeatures.combine import MIN_SPLIT_CELLS, combine_metafeatures, two_way_split
from conftest import make_mixed_frame


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_two_parts_combine_into_the_vector_of_one_extraction(task):
    dataset = make_dataset(make_mixed_frame(300, seed=5, task=task), task=task)
    split = (("landmarking",), tuple(g for g in DEFAULT_GROUPS if g != "landmarking"))
    parts = [extract_metafeatures(dataset, groups=groups, max_rows=200, random_state=3) for groups in split]
    whole = extract_metafeatures(dataset, max_rows=200, random_state=3)
    combined = combine_metafeatures(parts)
    assert list(combined.values.items()) == list(whole.values.items())  # the same values, in the same order
    assert (combined.groups, combined.n_rows_used, combined.n_cols_used, combined.summary) == (
        whole.groups, whole.n_rows_used, whole.n_cols_used, whole.summary)
    assert sum(v is not None for v in parts[0].values.values()) < sum(v is not None for v in combined.values.values())
    with pytest.raises(ValueError, match="different samples"):
        combine_metafeatures([parts[0], dataclasses.replace(parts[1], n_rows_used=parts[1].n_rows_used + 1)])


def test_the_work_is_split_only_on_larger_samples_with_landmarking_and_more():
    small = make_dataset(make_mixed_frame(120, seed=1))
    assert two_way_split(small) is None
    frame = make_mixed_frame(2500, seed=1)
    for j in range(10):
        frame[f"extra{j}"] = np.random.default_rng(j).normal(size=len(frame))
    large = make_dataset(frame)
    assert 2000 * large.n_features >= MIN_SPLIT_CELLS  # the default sample of 2,000 rows
    child, ours = two_way_split(large)
    assert child == ("landmarking",) and ours == tuple(g for g in DEFAULT_GROUPS if g != "landmarking")
    assert two_way_split(large, max_rows=100) is None  # the sample decides, not the file
    assert two_way_split(large, groups="general,statistical") is None
    assert two_way_split(large, groups="landmarking") is None
