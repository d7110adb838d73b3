"""Baseline selectors: the random order per dataset and the runtime SBS; the input checks every selector shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_meta.exceptions import UsageError
from automl_meta.selection import KNNSelector, MetaModel, RandomSelector, SimpleFeatureNN, SingleBest
from automl_meta.selection.multi_forest import MultiOutputForest
from automl_meta.selection.pairwise_forest import PairwiseForest
from automl_meta.selection.protocols import SelectorSpec, evaluate_selectors
from test_selection_pairwise_forest import switching_meta

# Every selector, small and seeded; the first two read no meta-feature.
SELECTORS = {
    "SBS": lambda: SingleBest(),
    "random": lambda: RandomSelector(random_state=0),
    "kNN": lambda: KNNSelector(k=3),
    "FLAML 1-NN": lambda: SimpleFeatureNN(),
    "pairwise RF": lambda: PairwiseForest(n_estimators=5, random_state=0),
    "multi-output RF": lambda: MultiOutputForest(n_estimators=5, random_state=0),
    "meta-model": lambda: MetaModel(n_estimators=5, random_state=0),
}
READING = [name for name in SELECTORS if name not in ("SBS", "random")]
LEARNING = [name for name in READING if name != "FLAML 1-NN"]  # those that learn from any meta-feature


def random_meta(n: int = 30, n_learners: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    index = [f"ds{i:02d}" for i in range(n)]
    meta = pd.DataFrame({"f1": rng.normal(size=n), "f2": rng.normal(size=n)}, index=index)
    scores = pd.DataFrame(rng.uniform(0.5, 0.9, size=(n, n_learners)), index=index,
                          columns=[f"learner{j}" for j in range(n_learners)])
    return meta, scores


def spiky_runtimes(n: int = 30) -> pd.DataFrame:
    """'spiky' is fastest on 2/3 of the instances and times out (PAR10 10,000 s) on the rest; 'steady'
    takes 10 s everywhere: 'spiky' wins the mean log-scaled score, 'steady' the mean PAR10."""
    spiky = [10_000.0 if i % 3 == 0 else 1.0 for i in range(n)]
    return pd.DataFrame({"spiky": spiky, "steady": 10.0, "slow": 20.0}, index=[f"inst{i:02d}" for i in range(n)])


def random_picks(seed: int) -> pd.Series:
    meta, scores = random_meta()
    result = evaluate_selectors(meta, scores, True, {"random": SelectorSpec(lambda s: RandomSelector(random_state=s))},
                                seeds=[seed], n_boot=0)
    return result["random"].per_dataset["selected"]


def test_random_baseline_spreads_its_picks_over_the_learners_under_leave_one_out():
    picks = random_picks(seed=0)
    assert len(picks) == 30
    assert picks.nunique() >= 4 and picks.value_counts().max() <= 15  # not one learner for every dataset
    assert picks.equals(random_picks(seed=0))  # the same seed, the same picks
    assert not picks.equals(random_picks(seed=1))


def test_random_order_of_a_dataset_does_not_depend_on_the_datasets_predicted_with_it():
    meta, scores = random_meta()
    selector = RandomSelector(random_state=3).fit(meta, scores)
    together = selector.predict(meta)
    alone = pd.concat([selector.predict(meta.loc[[name]]) for name in reversed(meta.index)])
    pd.testing.assert_frame_equal(together, alone.loc[together.index])
    refitted = RandomSelector(random_state=3).fit(meta.iloc[:10], scores.iloc[:10]).predict(meta.iloc[20:])
    pd.testing.assert_frame_equal(refitted, together.iloc[20:])


def test_runtime_sbs_is_the_lowest_mean_par10_and_other_scores_keep_the_normalized_mean():
    runtimes = spiky_runtimes()
    meta = pd.DataFrame(index=runtimes.index)
    sbs = SingleBest(log_scores=True).fit(meta, runtimes, maximize=False)
    assert sbs.best_ == "steady"
    assert list(sbs.predict(meta.iloc[:1]).iloc[0].sort_values(ascending=False).index) == ["steady", "slow", "spiky"]
    # accuracy-like scores: the best mean normalized score, not the best raw mean
    accuracy = pd.DataFrame({"often_best": [0.90, 0.90, 0.10], "never_bad": [0.89, 0.89, 0.80]}, index=list("abc"))
    assert SingleBest().fit(pd.DataFrame(index=accuracy.index), accuracy).best_ == "often_best"


def test_sbs_counts_a_missing_or_failed_run_as_the_datasets_worst_as_it_is_judged():
    # 'patchy' is best where it ran, but ran on two of five datasets; the evaluation counts the other three as the
    # worst run there (regret 0.45 each: mean regret 0.27 against 'steady''s 0.02), so 'steady' is the single best
    scores = pd.DataFrame({"patchy": [0.95, 0.95, np.nan, np.nan, np.nan], "steady": [0.90, 0.90, 0.95, 0.95, 0.95],
                           "weak": [0.50] * 5}, index=list("abcde"))
    meta = pd.DataFrame(index=scores.index)
    sbs = SingleBest().fit(meta, scores)
    assert sbs.best_ == "steady"
    assert sbs.predict(meta.iloc[:1]).iloc[0].sort_values(ascending=False).index.tolist() == ["steady", "patchy", "weak"]


def simple_meta(n: int = 40):
    """:func:`switching_meta` plus the four simple features the FLAML-style baseline reads."""
    meta, scores = switching_meta(n)
    return meta.assign(nr_inst=np.linspace(50, 5000, n), nr_attr=np.arange(n) % 7 + 2.0, nr_class=2.0,
                       pct_numeric=1.0), scores


@pytest.mark.parametrize("name", LEARNING)
def test_integer_column_labels_are_read_as_at_fit(name):
    meta, scores = switching_meta()
    as_ints = meta.set_axis(range(meta.shape[1]), axis=1)  # "x" is column 0
    as_text = as_ints.set_axis([str(c) for c in as_ints.columns], axis=1)
    model = SELECTORS[name]().fit(as_ints.iloc[:30], scores.iloc[:30])
    predicted = model.predict(as_ints.iloc[30:])
    assert predicted.idxmax(axis=1).nunique() == 2  # read as all-missing, every dataset got the same order
    expected = SELECTORS[name]().fit(as_text.iloc[:30], scores.iloc[:30]).predict(as_text.iloc[30:])
    pd.testing.assert_frame_equal(predicted, expected)
    pd.testing.assert_frame_equal(model.predict(as_text.iloc[30:]), expected)


@pytest.mark.parametrize("name", READING)
def test_a_query_sharing_no_meta_feature_is_refused_with_the_expected_names(name):
    meta, scores = simple_meta()
    model = SELECTORS[name]().fit(meta, scores)
    with pytest.raises(UsageError, match="shares no meta-feature.*such as '"):
        model.predict(pd.DataFrame({"typo": [1.0]}, index=["new"]))
    partial = meta.iloc[:2].drop(columns="noise")  # a missing meta-feature is NaN by design
    assert model.predict(partial).shape == (2, 4)


@pytest.mark.parametrize("name", SELECTORS)
def test_no_datasets_to_predict_give_an_empty_frame_of_the_learners(name):
    meta, scores = simple_meta()
    model = SELECTORS[name]().fit(meta, scores)
    for result in (model.predict(meta.iloc[:0]), model.rank(meta.iloc[:0])):
        assert result.shape == (0, 4) and list(result.columns) == ["lin", "tree", "dummy", "twin"]


@pytest.mark.parametrize("name", SELECTORS)
def test_predict_refuses_what_is_not_a_dataframe(name):
    meta, scores = simple_meta()
    model = SELECTORS[name]().fit(meta, scores)
    with pytest.raises(UsageError, match="meta_X must be a pandas DataFrame"):
        model.predict(meta.iloc[:2].to_numpy())


def bad_tables(meta: pd.DataFrame, scores: pd.DataFrame) -> dict:
    text_scores = scores.astype(object)
    text_scores.iloc[3, 1] = "failed"
    return {
        "dataset 'ds00' appears twice in the index of meta_X": (pd.concat([meta, meta.iloc[:1]]), scores),
        "dataset 'ds00' appears twice in the index of scores": (meta, pd.concat([scores, scores.iloc[:1]])),
        "learner 'lin' appears twice in the columns of scores": (meta, pd.concat([scores, scores[["lin"]]], axis=1)),
        "meta-feature 'x' appears twice in the columns of meta_X": (pd.concat([meta, meta[["x"]]], axis=1), scores),
        "meta-feature 'source' holds a non-numeric value \\('pmlb'": (meta.assign(source="pmlb"), scores),
        "learner 'tree' holds a non-numeric value \\('failed' for dataset 'ds03'": (meta, text_scores),
    }


@pytest.mark.parametrize("name", SELECTORS)
def test_bad_training_tables_are_refused_with_one_usage_error(name):
    meta, scores = simple_meta()
    for message, (bad_meta, bad_scores) in bad_tables(meta, scores).items():
        with pytest.raises(UsageError, match=message):
            SELECTORS[name]().fit(bad_meta, bad_scores)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: KNNSelector(k=0), "k == 0, must be >= 1"),
    (lambda: RandomSelector(random_state="seven"), "random_state must be an integer"),
    (lambda: PairwiseForest(n_estimators=0), "n_estimators == 0, must be >= 1"),
    (lambda: PairwiseForest(max_features="auto"), "max_features must be 'sqrt', 'log2'"),
    (lambda: PairwiseForest(n_jobs=0), "n_jobs must be a non-zero integer"),
    (lambda: MultiOutputForest(min_samples_leaf=0), "min_samples_leaf == 0, must be >= 1"),
    (lambda: MultiOutputForest(max_features=1.5), "max_features must be .* got 1.5"),
])
def test_invalid_parameters_are_refused_at_fit_not_at_construction(make, message):
    meta, scores = simple_meta()
    selector = make()  # scikit-learn style: the constructor only stores
    with pytest.raises(UsageError, match=message):
        selector.fit(meta, scores)


def test_flaml_1nn_ranks_each_dataset_from_its_own_row_whatever_the_others_of_the_query():
    # OpenML's percentage was told from a share by the query's largest value: one dataset's pick changed with its batch
    cols = ["NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "PercentageOfNumericFeatures"]
    train = pd.DataFrame([[1000, 10, 2, 0.0], [1000, 10, 2, 90.0]], index=["nominal", "numeric"], columns=cols)
    model = SimpleFeatureNN().fit(train, pd.DataFrame({"naive_bayes": [0.9, 0.5], "svm": [0.5, 0.9]}, index=train.index))
    query = pd.DataFrame([[1000, 10, 2, 1.0], [1000, 10, 2, 95.0]], index=["one_pct_numeric", "other"], columns=cols)
    alone = model.predict(query.iloc[:1]).idxmax(axis=1)["one_pct_numeric"]
    together = model.predict(query).idxmax(axis=1)["one_pct_numeric"]
    assert alone == together == "naive_bayes"  # 1% numeric is nearest the nominal dataset


@pytest.mark.parametrize("maximize", ["False", "no", 0, None])
def test_maximize_that_is_no_bool_is_refused_not_read_by_its_truth(maximize):
    # "False" was read as True: the ranking reversed, exit 0
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.rand(10, 2), columns=["mf0", "mf1"], index=[f"d{i}" for i in range(10)])
    S = pd.DataFrame({"fast": rng.rand(10), "slow": 100 + rng.rand(10)}, index=X.index)
    for selector in (SingleBest(), MetaModel(n_estimators=5)):
        with pytest.raises(UsageError, match="maximize must be True or False"):
            selector.fit(X, S, maximize=maximize)
    assert SingleBest().fit(X, S, maximize=np.bool_(False)).best_ == "fast"
