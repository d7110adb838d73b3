"""Meta-feature extraction: robustness, fixed names, determinism, caching (real pymfe)."""

from __future__ import annotations

import json
import math
import random
import warnings

import numpy as np
import pandas as pd
import pytest

from automl_meta.dataset import make_dataset
from automl_meta.exceptions import UsageError
from automl_meta.io.mf_cache import cache_key, cached_metafeatures
from automl_meta.metafeatures import (
    DEFAULT_GROUPS,
    EXTRACTOR_VERSION,
    SIMPLE_FEATURES,
    MetaFeatures,
    available_groups,
    extract_metafeatures,
)
from automl_meta.metafeatures.preprocess import stratified_rows, target_strata
from conftest import make_mixed_frame

# small samples keep every test fast on a shared 2-core machine
FAST = dict(max_rows=150)


@pytest.fixture(scope="module")
def mixed_classification():
    return make_dataset(make_mixed_frame(240, seed=1), target="target")


@pytest.fixture(scope="module")
def mixed_regression():
    return make_dataset(make_mixed_frame(240, seed=2, task="regression"), target="target", task="regression")


@pytest.fixture(scope="module")
def mf_classification(mixed_classification):
    return extract_metafeatures(mixed_classification, **FAST)


def _is_number_or_none(value) -> bool:
    return value is None or (isinstance(value, float) and math.isfinite(value))


def test_public_api_names_and_defaults():
    from pymfe.mfe import MFE

    from automl_meta.metafeatures.groups import KNOWN_GROUPS, KNOWN_SUMMARIES

    assert DEFAULT_GROUPS == ("general", "statistical", "info-theory", "model-based", "landmarking")
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION
    # the static lists (which spare a cache hit the pymfe import) match the installed pymfe
    assert set(available_groups()) == set(KNOWN_GROUPS)
    assert set(MFE.valid_summary()) == set(KNOWN_SUMMARIES)


def test_categorical_and_missing_data_give_finite_values(mixed_classification, mf_classification):
    assert mixed_classification.categorical_columns  # the fixture really has categoricals and NaN
    assert mixed_classification.X.isna().any().any()
    mf = mf_classification
    assert isinstance(mf, MetaFeatures)
    assert all(_is_number_or_none(v) for v in mf.values.values())
    computed = [k for k, v in mf.values.items() if v is not None]
    assert len(computed) > 80
    for name in ("attr_ent.mean", "mut_inf.mean", "best_node.mean", "leaves", "cor.mean"):
        assert mf.values[name] is not None, name


def test_simple_features_describe_the_full_data(mixed_classification, mf_classification):
    values = mf_classification.values
    X = mixed_classification.X
    assert mf_classification.n_rows_used == 150
    assert values["nr_inst"] == 240
    assert values["nr_attr"] == X.shape[1]
    assert values["nr_class"] == 2
    assert values["nr_cat"] == len(mixed_classification.categorical_columns)
    assert values["pct_numeric"] == pytest.approx(values["nr_num"] / values["nr_attr"])
    assert values["pct_missing"] == pytest.approx(X.isna().to_numpy().mean())
    assert values["log_nr_inst"] == pytest.approx(math.log(240))
    assert 0 < values["class_imbalance"] <= 1
    assert values["target_skew"] is None  # a regression-only feature


def test_regression_target_gets_target_statistics(mixed_regression):
    mf = extract_metafeatures(mixed_regression, **FAST)
    values = mf.values
    y = mixed_regression.y.to_numpy(dtype=float)
    assert values["nr_class"] == 0
    assert values["target_skew"] == pytest.approx(pd.Series(y).skew(), rel=0.05, abs=0.02)
    assert values["target_kurtosis"] is not None and values["target_cv"] is not None
    assert values["class_imbalance"] is None
    assert values["freq_class.mean"] is None and values["class_ent"] is None  # artefacts of the binning
    assert values["best_node.mean"] is not None  # landmarking on the target's quantile bins
    assert values["mut_inf.mean"] is not None


@pytest.mark.parametrize("scale, shift", [(1e78, 0.0), (1e-6, 1e10)])  # squares overflow; nearly identical values
def test_target_statistics_of_extreme_targets_warn_nothing_and_are_finite_or_none(mixed_regression, scale, shift):
    from dataclasses import replace

    from automl_meta.metafeatures.target_stats import simple_features

    extreme = replace(mixed_regression, y=mixed_regression.y * scale + shift)  # past the loader's checks, as a library caller can
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = simple_features(extreme)
    assert all(_is_number_or_none(values[k]) for k in ("target_skew", "target_kurtosis", "target_cv"))


def test_target_cv_does_not_depend_on_the_targets_scale(mixed_regression):
    from dataclasses import replace

    from automl_meta.metafeatures.target_stats import simple_features

    y = mixed_regression.y + 0.5
    values = [simple_features(replace(mixed_regression, y=y * scale))["target_cv"] for scale in (1.0, 1e-13, 1e-30, 1e30)]
    assert values[0] == pytest.approx(y.std() / abs(y.mean()))
    assert values[1:] == pytest.approx([values[0]] * 3, rel=1e-9)  # 1e-13 and 1e-30 came back None
    assert simple_features(replace(mixed_regression, y=y - y.mean()))["target_cv"] is None  # a mean of zero: no CV


def test_key_set_is_the_same_for_every_dataset(mf_classification, mixed_regression):
    other = make_dataset(
        pd.DataFrame({"a": np.arange(60.0) % 7, "b": np.linspace(0, 1, 60), "target": ["u", "v", "w"] * 20}),
        target="target",
    )
    mf_other = extract_metafeatures(other, **FAST)
    mf_reg = extract_metafeatures(mixed_regression, **FAST)
    assert list(mf_other.values) == list(mf_classification.values)
    assert list(mf_reg.values) == list(mf_classification.values)
    assert set(SIMPLE_FEATURES) <= set(mf_classification.values)


def test_same_random_state_gives_identical_values(mixed_classification, mf_classification):
    again = extract_metafeatures(mixed_classification, **FAST)
    assert again.values == mf_classification.values


def test_the_hubs_of_the_complexity_group_are_the_same_on_every_run():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 5)), columns=[f"c{i}" for i in range(5)])
    frame["target"] = np.where(frame["c0"] + rng.normal(size=300) > 0, "a", "b")
    dataset = make_dataset(frame, target="target")
    runs = [extract_metafeatures(dataset, groups="complexity", random_state=0).values for _ in range(4)]
    assert runs[0]["hubs.mean"] is not None and 0 < runs[0]["hubs.mean"] < 1
    assert all(run == runs[0] for run in runs[1:])


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_same_table_in_another_row_and_column_order_gets_the_same_values(task):
    frame = make_mixed_frame(400, seed=4, task=task)  # more rows than the sample: the sample, not only the folds, must agree
    frame = frame.sort_values("x1", kind="stable").reset_index(drop=True)  # a file sorted by one column
    shuffled = frame.sample(frac=1.0, random_state=5)[list(frame.columns[::-1])]
    options = dict(groups="default", max_rows=200, max_rows_costly=100)
    first = extract_metafeatures(make_dataset(frame, target="target", task=task), **options).values
    second = extract_metafeatures(make_dataset(shuffled, target="target", task=task), **options).values
    assert first["one_nn.mean"] is not None and first["best_node.mean"] is not None
    assert second == first


def test_different_random_state_draws_a_different_sample(mixed_classification, mf_classification):
    other = extract_metafeatures(mixed_classification, random_state=7, **FAST)
    assert other.values != mf_classification.values
    assert other.values["nr_inst"] == mf_classification.values["nr_inst"]


def test_global_random_states_are_left_unchanged(mixed_classification):
    np.random.seed(123)
    random.seed(123)
    np_before, py_before = np.random.get_state(), random.getstate()
    extract_metafeatures(mixed_classification, groups="info-theory,landmarking", **FAST)
    np_after = np.random.get_state()
    assert np_after[0] == np_before[0] and np.array_equal(np_after[1], np_before[1]) and np_after[2:] == np_before[2:]
    assert random.getstate() == py_before


def test_costly_groups_use_the_smaller_sample(mixed_classification):
    mf = extract_metafeatures(
        mixed_classification, groups="clustering,complexity", max_rows=200, max_rows_costly=60
    )
    assert mf.groups == ("clustering", "complexity")
    assert "f1v.mean" not in mf.values  # excluded: breaks on numpy 2.4
    assert mf.values["n1"] is not None and mf.values["sil"] is not None
    assert all(_is_number_or_none(v) for v in mf.values.values())


def test_all_groups_never_crash_on_a_tiny_awkward_dataset():
    # 12 rows, one class with two members, a categorical column with 30% missing, a nearly constant column
    frame = pd.DataFrame(
        {
            "x": [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            "near_const": [1.0] * 11 + [2.0],
            "cat": ["a", None, "b", "a", None, "c", "a", "b", None, "c", None, "a"],
            "target": ["p"] * 5 + ["q"] * 5 + ["r"] * 2,
        }
    )
    dataset = make_dataset(frame, target="target")
    mf = extract_metafeatures(dataset, groups="all")
    assert all(_is_number_or_none(v) for v in mf.values.values())
    assert mf.values["nr_inst"] == 12
    assert any(v is None for v in mf.values.values())  # some features are not computable here, and that is fine


def test_wide_data_samples_columns_but_counts_all(mixed_classification):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(80, 30)), columns=[f"c{i}" for i in range(30)])
    frame["target"] = np.where(frame["c0"] > 0, "hi", "lo")
    mf = extract_metafeatures(make_dataset(frame, target="target"), groups="general,statistical", max_cols=8)
    assert mf.n_cols_used == 8
    assert mf.values["nr_attr"] == 30


def test_unknown_group_or_summary_is_a_usage_error(mixed_classification):
    with pytest.raises(UsageError, match="unknown meta-feature group 'nope'"):
        extract_metafeatures(mixed_classification, groups="general,nope")
    with pytest.raises(UsageError, match="unknown summary"):
        extract_metafeatures(mixed_classification, summary=("mean", "average"))
    with pytest.raises(UsageError, match="max_rows"):
        extract_metafeatures(mixed_classification, max_rows=3)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64])
def test_a_seed_outside_numpys_range_is_a_usage_error(mixed_classification, seed):
    with pytest.raises(UsageError, match=f"random_state must be an integer from 0 to 4294967295, got {seed}"):
        extract_metafeatures(mixed_classification, random_state=seed)


def test_other_summaries_change_the_names(mixed_classification):
    mf = extract_metafeatures(mixed_classification, groups="statistical", summary=("median", "max"), **FAST)
    assert "cor.median" in mf.values and "cor.max" in mf.values and "cor.mean" not in mf.values


def test_quantile_summaries_give_the_minimum_quartiles_and_maximum(mixed_classification):
    summary = ("min", "median", "max", "quantiles", "nanquantiles")
    values = extract_metafeatures(mixed_classification, groups="statistical", summary=summary, **FAST).values
    for kind in ("quantiles", "nanquantiles"):  # were all missing: pymfe passes NumPy 2.4 a keyword it refuses
        assert [values[f"cor.{kind}.{i}"] for i in (0, 2, 4)] == pytest.approx([values["cor.min"], values["cor.median"], values["cor.max"]])
        assert values[f"cor.{kind}.0"] <= values[f"cor.{kind}.1"] <= values[f"cor.{kind}.2"] <= values[f"cor.{kind}.3"]


def test_stratified_sample_keeps_rare_classes_and_proportions():
    strata = np.array(["a"] * 9000 + ["b"] * 990 + ["c"] * 10)
    rows = stratified_rows(strata, 1000, np.random.default_rng(0))
    labels, counts = np.unique(strata[rows], return_counts=True)
    assert dict(zip(labels, counts)) == {"a": 900, "b": 99, "c": 10}
    again = stratified_rows(strata, 1000, np.random.default_rng(0))
    assert np.array_equal(rows, again)


def test_stratified_sample_of_many_classes_stays_near_max_rows():
    # 10 rows for each of 400 classes would be a sample of 4,000 rows, twice max_rows
    strata = np.repeat(np.arange(400), 25)
    counts = np.unique(strata[stratified_rows(strata, 2000, np.random.default_rng(0))], return_counts=True)[1]
    assert len(counts) == 400 and counts.sum() == 2000 and counts.min() == 5
    # still two of each class past max_rows / 2 classes, so cross-validation keeps two folds
    strata = np.repeat(np.arange(1500), 4)
    counts = np.unique(strata[stratified_rows(strata, 2000, np.random.default_rng(0))], return_counts=True)[1]
    assert len(counts) == 1500 and counts.min() == 2


def test_pairwise_complexity_features_are_left_out_past_30_classes(caplog):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(240, 3)), columns=["a", "b", "c"])
    for classes in (3, 40):
        frame["target"] = [f"k{i % classes}" for i in range(240)]
        frame["a"] += (np.arange(240) % classes) * 0.1  # some signal, so the features are defined
        with caplog.at_level("WARNING", logger="automl_meta.metafeatures.pymfe_run"):
            mf = extract_metafeatures(make_dataset(frame), groups="complexity")
        assert mf.values["n1"] is not None
        if classes == 3:
            assert mf.values["l1.mean"] is not None and mf.values["f2.mean"] is not None and not caplog.text
    assert mf.values["l1.mean"] is None and mf.values["f4.mean"] is None  # 40 classes: 780 pairs
    assert "40 classes: the complexity features f2, f3, f4, l1, l2, l3 compare every pair" in caplog.text


def test_regression_strata_are_quantile_bins(mixed_regression):
    strata = target_strata(mixed_regression)
    _, counts = np.unique(strata, return_counts=True)
    assert len(counts) == 5 and counts.min() >= 0.8 * counts.max()


def _zero_inflated(share_zero: float, n: int = 500, seed: int = 0):
    """An insurance-claims-like target: 0 for ``share_zero`` of the rows, else a lognormal amount that ``a`` predicts."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    zero = np.argsort(frame["a"].to_numpy() + rng.normal(scale=0.5, size=n))[: round(share_zero * n)]
    frame["target"] = np.round(np.exp(1 + frame["b"] + rng.normal(scale=0.5, size=n)), 2)
    frame.loc[zero, "target"] = 0.0
    return make_dataset(frame, target="target", task="regression")


def _strata_before_v5(y: np.ndarray) -> np.ndarray:
    """The binning of extractor versions up to 4, which put a point mass at the minimum with the values above it."""
    edges = np.unique(np.quantile(y, np.linspace(0, 1, 6)[1:-1]))
    return np.searchsorted(edges, y, side="right").astype(np.int64)


@pytest.mark.parametrize("share_zero", [0.82, 0.3])
def test_zero_inflated_target_has_its_zeros_alone_in_a_stratum(share_zero):
    dataset = _zero_inflated(share_zero)
    y = dataset.y.to_numpy(dtype=float)
    strata = target_strata(dataset)
    assert len(np.unique(strata)) >= 2
    assert set(strata[y == 0]) == {0} and not (strata[y > 0] == 0).any()
    # the rows above the minimum keep the bins they had
    assert np.array_equal(strata[y > 0], _strata_before_v5(y)[y > 0])


def test_zero_inflated_target_gives_supervised_features_of_more_than_one_class():
    mf = extract_metafeatures(_zero_inflated(0.82), groups="model-based,landmarking", **FAST)
    # one stratum gave one leaf and a perfect nearest neighbour
    assert mf.values["leaves"] > 1 and mf.values["one_nn.mean"] < 1


def test_targets_without_a_point_mass_at_the_minimum_keep_their_strata(mixed_regression):
    rng = np.random.default_rng(0)
    continuous = mixed_regression.y.to_numpy(dtype=float)
    capped = np.minimum(rng.normal(size=400), 0.5)  # a point mass at the maximum
    levels = rng.integers(0, 10, size=400).astype(float)  # ties everywhere, a tenth of the rows at the minimum
    for y in (continuous, capped, levels):
        dataset = make_dataset(pd.DataFrame({"x": np.arange(len(y)) % 7, "target": y}), target="target", task="regression")
        assert np.array_equal(target_strata(dataset), _strata_before_v5(y))


def test_cache_hit_returns_same_values_and_is_marked_cached(tmp_path, mixed_classification):
    first = cached_metafeatures(mixed_classification, cache_dir=tmp_path, **FAST)
    second = cached_metafeatures(mixed_classification, cache_dir=tmp_path, **FAST)
    assert not first.cached and second.cached
    assert second.values == first.values
    assert list(second.values) == list(first.values)
    assert second.seconds < first.seconds / 5
    assert len(list(tmp_path.glob("*.json"))) == 1


@pytest.mark.parametrize("values", [[1.0, 2.0], "text", {"nr_inst": "many"}])
def test_a_cache_entry_with_values_of_the_wrong_shape_is_recomputed(mixed_classification, tmp_path, caplog, values):
    first = cached_metafeatures(mixed_classification, cache_dir=tmp_path, **FAST)
    (entry,) = tmp_path.glob("*.json")
    entry.write_text(json.dumps({**json.loads(entry.read_text()), "values": values}))  # was AttributeError on every run
    with caplog.at_level("WARNING", logger="automl_meta"):
        again = cached_metafeatures(mixed_classification, cache_dir=tmp_path, **FAST)
    assert not again.cached and again.values == first.values and "ignoring unreadable meta-feature cache entry" in caplog.text
    assert cached_metafeatures(mixed_classification, cache_dir=tmp_path, **FAST).cached  # written again


def test_a_cache_entry_cut_to_some_of_its_values_is_recomputed(mixed_classification, tmp_path, caplog):
    first = cached_metafeatures(mixed_classification, cache_dir=tmp_path, **FAST)
    (entry,) = tmp_path.glob("*.json")
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "values": dict(list(data["values"].items())[:10])}))  # was a hit with 10 values
    with caplog.at_level("WARNING", logger="automl_meta"):
        again = cached_metafeatures(mixed_classification, cache_dir=tmp_path, **FAST)
    assert not again.cached and again.values == first.values and "its checksum differs from its content" in caplog.text


def test_a_cache_folder_under_a_file_is_a_miss_not_an_unreadable_entry(mixed_classification, tmp_path, caplog):
    (tmp_path / "afile").write_text("x")
    with caplog.at_level("WARNING", logger="automl_meta"):
        mf = cached_metafeatures(mixed_classification, cache_dir=tmp_path / "afile" / "sub", **FAST)
    assert not mf.cached and "cannot write the meta-feature cache" in caplog.text
    assert "unreadable meta-feature cache entry" not in caplog.text  # was said of an entry that could not exist


def test_cache_key_changes_with_data_options_and_default_dir_comes_from_env(
    tmp_path, monkeypatch, mixed_classification, mixed_regression
):
    key = cache_key(mixed_classification, **FAST)
    assert key == cache_key(mixed_classification, max_rows=150, groups="default", max_cols=64, random_state=0)
    assert key != cache_key(mixed_classification, max_rows=151)
    assert key != cache_key(mixed_regression, **FAST)
    monkeypatch.setenv("AUTOML_META_CACHE_DIR", str(tmp_path / "env-cache"))
    cached_metafeatures(mixed_classification, groups="general", **FAST)
    assert len(list((tmp_path / "env-cache").glob("*.json"))) == 1


def test_corrupt_cache_entry_is_recomputed(tmp_path, mixed_classification):
    first = cached_metafeatures(mixed_classification, cache_dir=tmp_path, groups="general", **FAST)
    (entry,) = tmp_path.glob("*.json")
    entry.write_text("{not json")
    again = cached_metafeatures(mixed_classification, cache_dir=tmp_path, groups="general", **FAST)
    assert not again.cached and again.values == first.values


def test_fast_pymfe_helpers_match_pymfe_and_are_restored():
    from pymfe.info_theory import MFEInfoTheory
    from pymfe.statistical import MFEStatistical

    from automl_meta.metafeatures.pymfe_swaps import calc_conc, calc_joint_ent, fast_pymfe

    rng = np.random.default_rng(5)
    for _ in range(5):
        a = rng.integers(0, rng.integers(2, 9), 300).astype(float)
        b = rng.choice(np.array(["x", "y", "z"]), 300)
        assert calc_conc(None, a, b) == pytest.approx(MFEInfoTheory._calc_conc(a, b), rel=1e-12)
        assert calc_conc(None, b, a) == pytest.approx(MFEInfoTheory._calc_conc(b, a), rel=1e-12)
        assert calc_joint_ent(None, a, b) == pytest.approx(MFEInfoTheory._calc_joint_ent(a, b), rel=1e-12)
    originals = MFEInfoTheory.__dict__["_calc_conc"], MFEStatistical.__dict__["_calc_can_cors"]
    with fast_pymfe():
        with fast_pymfe():
            assert MFEInfoTheory.__dict__["_calc_conc"] is not originals[0]
        assert MFEStatistical.__dict__["_calc_can_cors"] is not originals[1]
    assert (MFEInfoTheory.__dict__["_calc_conc"], MFEStatistical.__dict__["_calc_can_cors"]) == originals


def test_quantile_summaries_match_pymfes_definition_and_are_restored():
    from pymfe._summary import SUMMARY_METHODS

    from automl_meta.metafeatures.pymfe_swaps import fast_pymfe, sum_nanquantiles, sum_quantiles

    values = np.random.default_rng(6).normal(size=41)
    for method in ("linear", "lower", "higher", "nearest", "midpoint"):  # pymfe's numpy_interpolation choices
        expected = np.percentile(values, [0, 25, 50, 75, 100], method=method)
        assert sum_quantiles(values, numpy_interpolation=method) == pytest.approx(expected, rel=1e-15)
        assert sum_nanquantiles(np.append(values, np.nan), numpy_interpolation=method) == pytest.approx(expected, rel=1e-15)
    assert np.isnan(sum_quantiles(np.array([]))).all() and len(sum_nanquantiles(np.array([]))) == 5  # as pymfe's
    originals = SUMMARY_METHODS["quantiles"], SUMMARY_METHODS["nanquantiles"]
    with fast_pymfe():
        assert (SUMMARY_METHODS["quantiles"], SUMMARY_METHODS["nanquantiles"]) == (sum_quantiles, sum_nanquantiles)
    assert (SUMMARY_METHODS["quantiles"], SUMMARY_METHODS["nanquantiles"]) == originals


def _box_sd_ratio(groups: list[np.ndarray]) -> float:
    """SD ratio from its textbook definition (Michie et al. 1994): exp(M / (p * sum(n_i - 1))), M = (1 - c) * sum (n_i - 1) log(|S| / |S_i|)."""
    p, k = groups[0].shape[1], len(groups)
    dofs = [len(g) - 1 for g in groups]
    covs = [np.atleast_2d(np.cov(g, rowvar=False)) for g in groups]
    pooled = sum(d * c for d, c in zip(dofs, covs)) / sum(dofs)
    c = (2 * p * p + 3 * p - 1) / (6 * (p + 1) * (k - 1)) * (sum(1 / d for d in dofs) - 1 / sum(dofs))
    m = (1 - c) * sum(d * np.log(np.linalg.det(pooled) / np.linalg.det(s)) for d, s in zip(dofs, covs))
    return float(np.exp(m / (p * sum(dofs))))


@pytest.mark.parametrize("attributes", [1, 3, 6, 7])
def test_sd_ratio_is_box_m_of_each_class_with_its_own_size_whatever_the_names(attributes):
    from automl_meta.metafeatures.pymfe_swaps import ft_sd_ratio

    rng = np.random.default_rng(attributes)
    sizes, scales = (30, 55, 90), (1.0, 2.0, 0.5)
    groups = [rng.normal(scale=s, size=(n, attributes)) @ rng.normal(size=(attributes, attributes)) for n, s in zip(sizes, scales)]
    N = np.vstack(groups)
    y = np.repeat(np.array(["a", "b", "c"]), sizes)
    expected = _box_sd_ratio(groups)
    assert np.isfinite(expected) and expected > 1  # unequal covariances
    assert ft_sd_ratio(None, N, y) == pytest.approx(expected, rel=1e-10)
    renamed = np.array(["c", "a", "b"])[np.searchsorted(["a", "b", "c"], y)]  # the same classes under other names
    assert ft_sd_ratio(None, N, renamed) == pytest.approx(expected, rel=1e-10)
    assert np.isnan(ft_sd_ratio(None, N[:, [0] * (attributes + 1)], y))  # a repeated column: singular covariances, undefined


@pytest.mark.parametrize("seed", range(6))
def test_sd_ratio_is_undefined_beside_the_one_hot_columns_of_a_categorical_whatever_the_rows(seed):
    """The one-hot columns sum to one: every class covariance is singular, so no value, not one by the sign of rounding."""
    from automl_meta.metafeatures.pymfe_swaps import ft_sd_ratio

    rng = np.random.default_rng(seed)
    n = 1500
    levels = rng.integers(0, 3, n)
    numeric = rng.normal(size=(n, 2)) * [1.0, 1e4]  # attributes of very different scales are no reason for a null
    y = rng.integers(0, 2, n)
    assert np.isfinite(ft_sd_ratio(None, numeric, y))
    assert np.isnan(ft_sd_ratio(None, np.column_stack([numeric, np.eye(3)[levels]]), y))


def test_sd_ratio_equals_pymfes_where_its_flip_does_no_harm_and_is_swapped_in():
    from pymfe.statistical import MFEStatistical

    from automl_meta.metafeatures.pymfe_swaps import fast_pymfe, ft_sd_ratio

    rng = np.random.default_rng(11)
    y = np.repeat([0, 1], 60)  # equal class sizes and 4 attributes: pymfe's reordering changes nothing
    N = rng.normal(size=(120, 4)) * np.where(y[:, None] == 1, 2.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = MFEStatistical.ft_sd_ratio(N, y)
    assert ft_sd_ratio(None, N, y) == pytest.approx(expected, rel=1e-10)
    original = MFEStatistical.__dict__["ft_sd_ratio"]
    with fast_pymfe():
        assert MFEStatistical.ft_sd_ratio(N[:, :3], y) == pytest.approx(ft_sd_ratio(None, N[:, :3], y), rel=1e-12)
    assert MFEStatistical.__dict__["ft_sd_ratio"] is original


@pytest.mark.parametrize(("classes", "attributes"), [(2, 4), (3, 6), (12, 5), (7, 3)])
def test_closed_form_canonical_correlations_match_pymfes_iterative_ones(classes, attributes):
    from pymfe.statistical import MFEStatistical

    from automl_meta.metafeatures.pymfe_swaps import calc_can_cors

    rng = np.random.default_rng(classes)
    y = rng.integers(0, classes, 400)
    N = rng.normal(size=(400, attributes))
    N[:, 0] += y  # one strong and one weak direction, so the correlations differ
    N[:, 1] += 0.3 * (y % 2)
    N = np.column_stack([N, N[:, 0] - N[:, 1]])  # collinear: scikit-learn still gives it a (near-zero) correlation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = MFEStatistical._calc_can_cors(N, y)
    got = calc_can_cors(None, N, y)
    assert len(got) == len(expected) == min(classes - 1, attributes + 1)
    rank = min(classes - 1, attributes)  # scikit-learn's one further direction, if any, is rounding noise
    assert got[:rank] == pytest.approx(expected[:rank], abs=1e-4)
    assert (got[rank:] == 0).all() and (expected[rank:] < 0.01).all()


def test_threaded_landmarking_importance_ranks_equal_pymfes_and_are_swapped_in(monkeypatch):
    from pymfe.landmarking import MFELandmarking

    from automl_meta.metafeatures import pymfe_swaps

    monkeypatch.setattr(pymfe_swaps, "LANDMARK_THREADS", 3)
    monkeypatch.setattr(pymfe_swaps, "MIN_CELLS_THREADED", 0)  # threads even on this small sample
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what a parallel database build's workers set
    assert pymfe_swaps.landmark_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert pymfe_swaps.landmark_threads() == 3
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 300)
    N = rng.normal(size=(300, 12))
    N[:, 2] += y  # one informative attribute, so the ranks are not arbitrary
    expected = MFELandmarking.precompute_landmarking_kfolds(N, y, num_cv_folds=5, random_state=0)
    got = pymfe_swaps.precompute_landmarking_kfolds(MFELandmarking, N, y, num_cv_folds=5, random_state=0)
    assert got["cv_folds_imp_rank"].shape == (5, 12)
    assert (got["cv_folds_imp_rank"] == expected["cv_folds_imp_rank"]).all()
    assert (got["cv_folds_imp_rank"][:, -1] == 2).all()
    assert got["skf"].get_n_splits() == 5
    original = MFELandmarking.__dict__["precompute_landmarking_kfolds"]
    with pymfe_swaps.fast_pymfe():
        assert MFELandmarking.__dict__["precompute_landmarking_kfolds"] is not original
    assert MFELandmarking.__dict__["precompute_landmarking_kfolds"] is original


def test_a_perfect_canonical_correlation_stays_below_one_so_its_eigenvalue_is_finite():
    from automl_meta.metafeatures.pymfe_swaps import MAX_CAN_COR_GAP, calc_can_cors

    y = np.repeat([0, 1, 2], 20)
    N = np.column_stack([y, np.random.default_rng(0).normal(size=60)])  # the first attribute is the class
    got = calc_can_cors(None, N, y)
    assert got[0] == 1.0 - MAX_CAN_COR_GAP and 0 <= got[1] < 0.5


def test_concurrent_threads_get_the_same_values_as_sequential_calls():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(120, 16)), columns=[f"c{i}" for i in range(16)])
    frame["target"] = np.where(frame["c0"] + rng.normal(size=120) > 0, "a", "b")
    dataset = make_dataset(frame, target="target")
    # attr_conc samples 12 of the 16 attributes with NumPy's global generator
    expected = [extract_metafeatures(dataset, groups="info-theory", random_state=s).values for s in (0, 1)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(lambda s: extract_metafeatures(dataset, groups="info-theory", random_state=s).values, (0, 1)))
    assert got == expected


def test_relative_group_gives_pymfes_relative_landmarking():
    from pymfe.mfe import MFE

    from automl_meta.metafeatures.preprocess import PreparedData
    from automl_meta.metafeatures.pymfe_run import run_pymfe

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] + rng.normal(size=120) > 0, "a", "b")
    ours = run_pymfe(PreparedData(X=X, y=y, cat_cols=(), columns=("a", "b", "c")), ("relative",), ("mean", "sd"), 0)
    mfe = MFE(groups=["relative"], summary=["mean", "sd"], random_state=0, suppress_warnings=True)
    names, values = mfe.fit(X, y, suppress_warnings=True).extract(suppress_warnings=True)
    assert ours == dict(zip(names, values))  # pymfe called directly: the landmarking features' ranks
    assert len(ours) == 14 and all(name.endswith(".relative") for name in ours)


def test_relative_features_rank_the_landmarking_features_they_join(mixed_classification):
    from scipy.stats import rankdata

    values = extract_metafeatures(mixed_classification, groups="landmarking,relative", **FAST).values
    relative = sorted(n for n in values if n.endswith(".mean.relative"))
    assert len(relative) == 7  # were absent: relative gave landmarking's names again
    landmarking = [values[n.removesuffix(".relative")] for n in relative]
    assert [values[n] for n in relative] == list(rankdata(landmarking))
    alone = extract_metafeatures(mixed_classification, groups="relative", **FAST).values
    assert {n: v for n, v in alone.items() if n.endswith(".relative")} == {n: v for n, v in values.items() if n.endswith(".relative")}
    assert not any(n.startswith("one_nn") and not n.endswith(".relative") for n in alone)


def test_the_default_groups_do_not_import_matplotlib_through_igraph():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from automl_meta.dataset import make_dataset\n"
        "from automl_meta.metafeatures import extract_metafeatures\n"
        "rng = np.random.default_rng(0)\n"
        "frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list('abcd'))\n"
        "frame['target'] = np.where(frame['a'] > 0, 'x', 'y')\n"
        "extract_metafeatures(make_dataset(frame, target='target'), random_state=0)\n"
        "print('matplotlib' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.split() == ["False"]  # 0.3 s and 30 MB of every recommend
